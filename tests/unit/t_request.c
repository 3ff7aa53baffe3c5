/*
 * t_request.c - unit tests of the initiator's side of proto/ (request.c
 * and the name rules of ext.c): the builders write the bytes AoE r11 and
 * README.extensions lay down, the parsers refuse what is short or wrong,
 * and a request built here, handled by the target, parses back.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/aoe.h"
#include "proto/coalesce.h"
#include "proto/ext.h"
#include "proto/request.h"
#include "proto/target.h"
#include "proto/wire.h"
#include "tap.h"

#define N(a) (sizeof (a) / sizeof (a)[0])

/* the target, two initiators, broadcast */
static const uint8_t MYMAC[6] = { 2, 0, 0, 0, 0, 1 }, MAC_A[6] = { 2, 0, 0, 0, 0, 0xaa },
		     MAC_B[6] = { 2, 0, 0, 0, 0, 0xbb }, BCAST[6] = { 255, 255, 255, 255, 255, 255 };

/* the frame built (and the reply parsed) by the test, the target's reply */
static uint8_t f[9216], out[9216];
static struct aoe_target T;
static struct aoe_outcome O;

/* A's view of the target e1.2 at MYMAC. */
static struct aoe_req_addr addr(const uint8_t src[6], enum aoe_tag_order order)
{
	struct aoe_req_addr a = { .shelf = 1, .slot = 2, .tag_order = order };

	memcpy(a.dst, MYMAC, 6);
	memcpy(a.src, src, 6);
	return a;
}

/* e1.2 with 16 buffers and no state */
static void target_reset(uint64_t sectors)
{
	T = (struct aoe_target){ .shelf = 1, .slot = 2, .bufcnt = 16, .ata.sectors = sectors };
}

/* The one call of the dispatcher, so a change of its signature is made
 * here alone. */
static void handle(size_t len)
{
	memset(out, 0xee, sizeof out);
	aoe_target_handle(&T, f, len, MYMAC, 1500, out, &O);
}

static bool zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

/* ---- builders ------------------------------------------------------- */

static void test_header(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_BE);
	static const uint8_t want[24] = {
		0x02, 0, 0, 0, 0, 0x01,  0x02, 0, 0, 0, 0, 0xaa,  0x88, 0xa2,
		0x10, 0x00,  0x00, 0x01,  0x02,  0x23,  0x11, 0x22, 0x33, 0x44,
	};

	memset(f, 0xee, sizeof f);
	is_int(req_hdr(f, &a, AOE_CMD_EXT, 0x11223344), 24, "header: 24 bytes");
	ok(memcmp(f, want, 24) == 0, "header: dst, src, 0x88a2, version 1 no flags, error 0, shelf, slot, cmd, tag BE");
	ok(f[24] == 0xee, "header: nothing written past byte 23");
	a.tag_order = AOE_TAG_LE;
	a.shelf = 0xabcd;
	req_hdr(f, &a, AOE_CMD_ATA, 0x11223344);
	ok(f[20] == 0x44 && f[21] == 0x33 && f[22] == 0x22 && f[23] == 0x11, "header: tag little-endian with AOE_TAG_LE");
	ok(f[16] == 0xab && f[17] == 0xcd, "header: shelf big-endian");
	is_int(req_tag_get(&a, f + AOE_OFF_TAG), 0x11223344, "tag: read back in the same order");
}

static void test_ata(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_BE);
	struct req_ata_regs q = { .aflags = ATA_AFLAG_E, .cmd = ATA_READ_EXT, .count = 2,
				  .lba = 0x0000060504030201ULL, .lba48 = true };
	static const uint8_t want48[12] = { 0x40, 0, 2, 0x24, 1, 2, 3, 4, 5, 6, 0, 0 };
	static const uint8_t want28[12] = { 0x00, 0, 1, 0x20, 0xf1, 0xde, 0xbc, 0xea, 0, 0, 0, 0 };
	uint8_t data[1024];
	size_t len;

	memset(f, 0xee, sizeof f);
	len = req_ata(f, sizeof f, &a, 7, &q, NULL, 0);
	is_int(len, 60, "ATA read: padded to 60");
	ok(f[AOE_OFF_CMD] == AOE_CMD_ATA, "ATA: command 0");
	ok(memcmp(f + 24, want48, 12) == 0, "ATA LBA48: aflags E, feature, count, cmd, LBA least significant first, reserved 0");
	ok(zero(f + 36, 24), "ATA: padding is zeros");
	q = (struct req_ata_regs){ .cmd = ATA_READ, .count = 1, .lba = 0x0abcdef1, .lba48 = false };
	req_ata(f, sizeof f, &a, 7, &q, NULL, 0);
	ok(memcmp(f + 24, want28, 12) == 0, "ATA LBA28: byte 3 is 0xE0 | LBA bits 24..27, bytes 4-5 zero");
	for (size_t i = 0; i < sizeof data; i++)
		data[i] = (uint8_t)(i * 13);
	q = (struct req_ata_regs){ .aflags = ATA_AFLAG_E | ATA_AFLAG_W, .cmd = ATA_WRITE_EXT,
				   .count = 2, .lba = 9, .lba48 = true };
	len = req_ata(f, sizeof f, &a, 7, &q, data, sizeof data);
	is_int(len, 36 + 1024, "ATA write: header and data, no padding");
	ok(memcmp(f + 36, data, sizeof data) == 0, "ATA write: the data at 36");
	memset(f + 36, 0xa5, 1024);
	req_ata(f, sizeof f, &a, 8, &q, NULL, 1024);
	ok(f[36] == 0xa5 && f[36 + 1023] == 0xa5, "ATA write without data: the buffer's bytes stay");
	is_int(req_ata(f, 36 + 1023, &a, 7, &q, data, sizeof data), 0, "ATA: 0 when it does not fit cap");
	is_int(req_ata(f, 40, &a, 7, &q, NULL, 0), 0, "ATA: 0 when the padding does not fit cap");
}

static void test_cr(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_LE);
	struct req_ata_regs q = { .aflags = ATA_AFLAG_E, .cmd = ATA_READ_EXT, .count = 1, .lba48 = true };
	struct cr_desc d[3];
	struct cr_desc back;
	size_t len;

	for (unsigned i = 0; i < N(d); i++) {
		req_tag_put(&a, d[i].tag, 0x100 + i);
		d[i].lba = 0x010203040506ULL + i;
		d[i].count = (uint8_t)(i + 1);
	}
	memset(f, 0xee, sizeof f);
	req_ata(f, sizeof f, &a, 0xff, &q, NULL, 0);
	len = req_cr(f, sizeof f, d, 1);
	is_int(len, 60, "coalesced read, one descriptor: 37 + 16 padded to 60");
	ok(f[CR_OFF_COUNT] == 1, "coalesced read: count byte at 36");
	ok(f[37] == 0x00 && f[38] == 0x01 && f[39] == 0 && f[40] == 0, "descriptor: tag in the tag order (LE)");
	ok(f[41] == 0x06 && f[46] == 0x01, "descriptor: LBA least significant first at +4");
	ok(zero(f + 47, 5) && f[52] == 1, "descriptor: 5 reserved zeros, sector count at +15");
	ok(zero(f + 53, 7), "coalesced read: padding zeros");
	len = req_cr(f, sizeof f, d, 3);
	is_int(len, 37 + 48, "coalesced read, three descriptors: 85 bytes");
	cr_desc_get(f, 2, &back);
	ok(memcmp(back.tag, d[2].tag, 4) == 0 && back.lba == d[2].lba && back.count == 3,
	   "cr_desc_get reads back what cr_desc_put wrote");
	is_int(req_cr(f, sizeof f, d, 0), 0, "coalesced read: no descriptor is no coalesced read");
	is_int(req_cr(f, 84, d, 3), 0, "coalesced read: 0 when it does not fit cap");
}

static void test_qc(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_BE);
	uint8_t probe[60] = { 0 };
	size_t len;

	memset(f, 0xee, sizeof f);
	len = req_qc(f, sizeof f, &a, 9, QC_TEST_PREFIX, (const uint8_t *)"abc", 3);
	is_int(len, 60, "Query Config: padded to 60");
	ok(f[AOE_OFF_CMD] == AOE_CMD_CONFIG, "Query Config: command 1");
	ok(zero(f + 24, 5), "Query Config: buffer count, firmware version, sector count 0");
	is_int(f[QC_OFF_VERCMD], 0x12, "Query Config: byte 29 is version 1 << 4 | CCmd");
	is_int(get_be16(f + QC_OFF_CSLEN), 3, "Query Config: string length big-endian at 30");
	ok(memcmp(f + 32, "abc", 3) == 0 && zero(f + 35, 25), "Query Config: the string at 32, then zeros");
	is_int(req_qc(f, sizeof f, &a, 9, 16, NULL, 0), 0, "Query Config: CCmd over 15 refused");
	is_int(req_qc(f, 100, &a, 9, QC_SET, f + 1000, 69), 0, "Query Config: 0 when the string does not fit cap");

	/* the daemon's address probe: broadcast, tag "prob", a read */
	memset(a.dst, 0xff, 6);
	a.shelf = 7;
	a.slot = 3;
	len = req_qc(f, sizeof f, &a, 0x70726f62, QC_READ, NULL, 0);
	memset(probe, 0xff, 6);
	memcpy(probe + 6, MAC_A, 6);
	probe[12] = 0x88;
	probe[13] = 0xa2;
	probe[14] = 0x10;
	probe[17] = 7;
	probe[18] = 3;
	probe[19] = 1;
	memcpy(probe + 20, "prob", 4);
	probe[29] = 0x10;
	ok(len == 60 && memcmp(f, probe, 60) == 0, "Query Config: the probe frame, byte for byte");
}

static void test_mask_res(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_BE);
	uint8_t dirs[2 * MASK_DIR_LEN], macs[12];
	static const uint8_t want_dir[8] = { 0, 2, 0x02, 0, 0, 0, 0, 0xbb };
	size_t len;

	req_mask_dir(dirs, MASK_DIR_ADD, MAC_A);
	req_mask_dir(dirs + 8, MASK_DIR_DEL, MAC_B);
	ok(memcmp(dirs + 8, want_dir, 8) == 0, "mask directive: reserved 0, DCmd, MAC");
	memset(f, 0xee, sizeof f);
	len = req_mask(f, sizeof f, &a, 1, MASK_EDIT, dirs, 2);
	is_int(len, 60, "mask: 28 + 16 padded to 60");
	ok(f[AOE_OFF_CMD] == AOE_CMD_MASK && f[24] == 0 && f[25] == MASK_EDIT && f[26] == 0 && f[27] == 2,
	   "mask: reserved, MCmd, MError 0, directive count");
	ok(memcmp(f + 28, dirs, 16) == 0, "mask: the directives at 28");
	is_int(req_mask(f, sizeof f, &a, 1, MASK_EDIT, dirs, 256), 0, "mask: over 255 directives refused");

	memcpy(macs, MAC_A, 6);
	memcpy(macs + 6, MAC_B, 6);
	memset(f, 0xee, sizeof f);
	len = req_res(f, sizeof f, &a, 1, RES_FORCE_SET, macs, 2);
	is_int(len, 60, "reserve: 26 + 12 padded to 60");
	ok(f[AOE_OFF_CMD] == AOE_CMD_RESERVE && f[24] == RES_FORCE_SET && f[25] == 2,
	   "reserve: RCmd, MAC count");
	ok(memcmp(f + 26, macs, 12) == 0 && zero(f + 38, 22), "reserve: the MACs at 26, then zeros");
	is_int(req_res(f, 30, &a, 1, RES_SET, macs, 2), 0, "reserve: 0 when it does not fit cap");
}

static void test_ext_build(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_BE);
	const char *names[] = { "tag_inc_le", "42" }, *empty[] = { "" };
	uint8_t table[64];
	size_t tlen, len;

	tlen = ext_table_build(names, 2, table, sizeof table);
	is_int(tlen, 15, "ext table: each name and its NUL, then one more NUL");
	ok(memcmp(table, "tag_inc_le\0" "42\0\0", 15) == 0, "ext table: the bytes");
	is_int(ext_table_build(names, 0, table, sizeof table), 2, "ext table: no names is two NULs");
	ok(table[0] == 0 && table[1] == 0, "ext table: ... both zero");
	is_int(ext_table_build(empty, 1, table, sizeof table), 0, "ext table: an empty name would end it: refused");
	is_int(ext_table_build(names, 2, table, 14), 0, "ext table: 0 when it does not fit max");
	memset(f, 0xee, sizeof f);
	len = req_ext(f, sizeof f, &a, 5, table, ext_table_build(names, 2, table, sizeof table), 15);
	is_int(len, 60, "Extensions: 26 + 15 padded to 60");
	ok(f[AOE_OFF_CMD] == 0x23 && f[24] == 15 && f[25] == 0, "Extensions: command 0x23, length little-endian at 24");
	ok(memcmp(f + 26, table, 15) == 0 && zero(f + 41, 19), "Extensions: the table at 26, then zeros");
	req_ext(f, sizeof f, &a, 5, table, 15, 0x1234);
	ok(f[24] == 0x34 && f[25] == 0x12, "Extensions: the length field as given (a test may lie)");
}

/* ---- parsers -------------------------------------------------------- */

/* A reply from the target to A as it would arrive. */
static size_t mkreply(uint8_t cmd, size_t len)
{
	memset(f, 0, sizeof f);
	memcpy(f, MAC_A, 6);
	memcpy(f + 6, MYMAC, 6);
	put_be16(f + 12, AOE_ETHERTYPE);
	f[14] = 0x18;
	put_be16(f + 16, 1);
	f[18] = 2;
	f[19] = cmd;
	put_be32(f + 20, 0xcafe0001);
	return len;
}

static void test_reply_for(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_BE);
	uint8_t req[60];
	size_t len;

	len = mkreply(AOE_CMD_ATA, 60);
	ok(req_reply_for(&a, f, len), "reply: accepted from e1.2 to us");
	ok(!req_reply_for(&a, f, 23), "reply: shorter than the header refused");
	f[13] = 0xa3;
	ok(!req_reply_for(&a, f, len), "reply: another EtherType refused");
	mkreply(AOE_CMD_ATA, 60);
	f[14] = 0x10;
	ok(!req_reply_for(&a, f, len), "reply: without the R flag (a request) refused");
	mkreply(AOE_CMD_ATA, 60);
	memcpy(f, MAC_B, 6);
	ok(!req_reply_for(&a, f, len), "reply: to another MAC refused");
	mkreply(AOE_CMD_ATA, 60);
	f[17] = 9;
	ok(!req_reply_for(&a, f, len), "reply: from another shelf refused");
	a.shelf = AOE_SHELF_ANY;
	ok(req_reply_for(&a, f, len), "reply: any shelf when we asked the broadcast shelf");
	f[18] = 9;
	ok(!req_reply_for(&a, f, len), "reply: from another slot refused");
	a.slot = AOE_SLOT_ANY;
	ok(req_reply_for(&a, f, len), "reply: any slot when we asked the broadcast slot");

	a = addr(MAC_A, AOE_TAG_BE);
	req_hdr(req, &a, AOE_CMD_ATA, 0xcafe0001);
	mkreply(AOE_CMD_ATA, 60);
	ok(req_reply_answers(&a, f, len, req), "answers: same command and tag");
	f[23] = 2;
	ok(!req_reply_answers(&a, f, len, req), "answers: another tag is not the answer");
	mkreply(AOE_CMD_CONFIG, 60);
	ok(!req_reply_answers(&a, f, len, req), "answers: another command is not the answer");
}

static void test_parse(void)
{
	struct req_qc_reply qc;
	struct req_ata_reply r;
	struct req_mask_reply m;
	struct req_res_reply rr;

	mkreply(AOE_CMD_CONFIG, 0);
	put_be16(f + 24, 16);
	put_be16(f + 26, 0x4019);
	f[28] = 2;
	f[29] = 0x10;
	put_be16(f + 30, 500);
	memcpy(f + 32, "hello", 5);
	ok(!req_parse_qc(f, 31, &qc), "Query Config reply: 31 bytes refused");
	ok(req_parse_qc(f, 60, &qc), "Query Config reply: 60 bytes read");
	ok(qc.bufcnt == 16 && qc.fwver == 0x4019 && qc.scnt == 2 && qc.ver == 1 && qc.ccmd == 0 &&
	   qc.shelf == 1 && qc.slot == 2 && memcmp(qc.mac, MYMAC, 6) == 0,
	   "Query Config reply: fields, the target's MAC from the source");
	is_int(qc.cslen, 28, "Query Config reply: a string length past the frame is cut to it");
	ok(req_parse_qc(f, 2000, &qc) && qc.cslen == 500 && memcmp(qc.cs, "hello", 5) == 0,
	   "Query Config reply: the string as long as the field says when the frame holds it");
	put_be16(f + 30, 2000);
	ok(req_parse_qc(f, 4000, &qc) && qc.cslen == QC_CS_MAX, "Query Config reply: the string capped at 1024");

	mkreply(AOE_CMD_ATA, 0);
	f[14] |= AOE_FLAG_E;
	f[15] = 3;
	f[25] = 0x04;
	f[26] = 5;
	f[27] = 0x51;
	put_le48(f + 28, 0x123456);
	ok(!req_parse_ata(f, 23, &r) && r.flags == 0 && req_ata_failed(&r), "ATA reply: 23 bytes: nothing read, failed");
	ok(!req_parse_ata(f, 30, &r) && (r.flags & AOE_FLAG_E) && r.aoe_error == 3 && r.status == 0,
	   "ATA reply: 30 bytes: the AoE error is read, the registers not");
	f[14] &= (uint8_t)~AOE_FLAG_E;
	ok(!req_parse_ata(f, 30, &r) && req_ata_failed(&r), "ATA reply: too short for the registers is a failure");
	ok(req_parse_ata(f, 60, &r) && r.err == 4 && r.scnt == 5 && r.status == 0x51 && r.lba == 0x123456 &&
	   r.len == 60, "ATA reply: registers, LBA least significant first, length");
	ok(req_ata_failed(&r), "ATA reply: status ERR is a failure");
	f[27] = ATA_ST_DRDY;
	req_parse_ata(f, 60, &r);
	ok(!req_ata_failed(&r), "ATA reply: DRDY alone is success");

	mkreply(AOE_CMD_MASK, 0);
	f[14] |= AOE_FLAG_E;
	f[15] = 2;
	ok(!req_parse_mask(f, 27, &m) && (m.flags & AOE_FLAG_E) && m.error == 2,
	   "mask reply: 27 bytes refused, its E flag still read");
	f[14] &= (uint8_t)~AOE_FLAG_E;
	f[27] = 5;
	req_mask_dir(f + 28, 0, MAC_B);
	ok(req_parse_mask(f, 28 + 8 + 7, &m) && m.dcount == 5 && m.ndirs == 1 &&
	   memcmp(m.dirs + 2, MAC_B, 6) == 0, "mask reply: directives cut to what the frame holds");

	mkreply(AOE_CMD_RESERVE, 0);
	ok(!req_parse_res(f, 25, &rr), "reserve reply: 25 bytes refused");
	f[24] = 1;
	f[25] = 3;
	memcpy(f + 26, MAC_A, 6);
	ok(req_parse_res(f, 26 + 6 + 5, &rr) && rr.rcmd == 1 && rr.nmacs == 3 && rr.nfit == 1 &&
	   memcmp(rr.macs, MAC_A, 6) == 0, "reserve reply: MACs cut to what the frame holds");
}

/* An Extensions request of table tab (tlen bytes) in req, its reply (the
 * same, then changed by the test) in f. */
static uint8_t ereq[128];

static size_t ext_pair(const void *tab, size_t tlen)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_BE);
	size_t len = req_ext(ereq, sizeof ereq, &a, 1, tab, tlen, (uint16_t)tlen);

	mkreply(AOE_CMD_EXT, 0);
	memcpy(f + 24, ereq + 24, len - 24);
	return len;
}

static void test_parse_ext(void)
{
	struct req_ext_reply r;
	struct req_ext_str s[4];
	size_t len, pos;
	unsigned n;

	len = ext_pair("reset\0foo\0tag_inc_le\0\0", 22);
	memcpy(f + 26, "RESET", 5);
	memcpy(f + 36, "TAG_INC_LE", 10);
	ok(req_parse_ext(ereq, len, f, len, &r) && !r.malformed && r.nstr == 3 && r.len == 22,
	   "ext reply: an echo with letters upper-cased is well formed, three strings");
	for (n = 0, pos = 0; n < N(s) && req_ext_next(&r, &pos, &s[n]); n++)
		;
	ok(n == 3 && s[0].active && !s[1].active && s[2].active, "ext reply: upper-cased = active, unchanged = not");
	ok(s[1].len == 3 && memcmp(s[1].s, "foo", 3) == 0, "ext reply: the strings as they came");

	len = ext_pair("foo\0\0", 5);
	memcpy(f + 26, "FoO", 3);
	req_parse_ext(ereq, len, f, len, &r);
	pos = 0;
	ok(req_ext_next(&r, &pos, &s[0]) && !s[0].active && !r.malformed,
	   "ext reply: a partly upper-cased name is no activation, and not malformed");

	len = ext_pair("foo\0\0", 5);
	f[27] = 'x';
	req_parse_ext(ereq, len, f, len, &r);
	ok(r.malformed, "ext reply: a byte changed beyond case is malformed");
	len = ext_pair("foo\0\0", 5);
	f[24] = 6;
	req_parse_ext(ereq, len, f, len, &r);
	ok(r.malformed, "ext reply: another length field is malformed");
	len = ext_pair("foo\0\0", 5);
	req_parse_ext(ereq, len, f, len - 30, &r);
	ok(r.malformed && r.avail == 4, "ext reply: shorter than the request is malformed");
	ok(!req_parse_ext(ereq, len, f, 25, &r) && r.malformed && r.nstr == 0,
	   "ext reply: shorter than its header refused");

	/* an unterminated tail counts as one string */
	len = ext_pair("ab\0cd", 5);
	req_parse_ext(ereq, len, f, 26 + 5, &r);
	is_int(r.nstr, 2, "ext reply: an unterminated tail is a string");
	pos = 0;
	req_ext_next(&r, &pos, &s[0]);
	ok(req_ext_next(&r, &pos, &s[1]) && s[1].len == 2 && !req_ext_next(&r, &pos, &s[2]),
	   "ext reply: ... ending at the table's end");
}

/* ---- name rules ----------------------------------------------------- */

static void test_names(void)
{
	static const struct {
		const char *names[5];
		/* 1: the target upper-cases it (ext_in_force); 2: and no later
		 * name undoes it (what aoex -x requires) */
		int want[5];
		const char *what;
	} tab[] = {
		{ { "coalesced_read", "tag_inc_le" }, { 2, 2 }, "features alone: in force, required" },
		{ { "coalesced_read", "reset" }, { 0, 2 }, "reset undoes an earlier feature" },
		{ { "reset", "coalesced_read" }, { 2, 2 }, "a feature after reset stays" },
		{ { "tag_inc_le", "tag_inc_be", "tag_random" }, { 0, 0, 2 }, "the last tag mode wins" },
		{ { "tag_inc_le", "coalesced_read" }, { 2, 2 }, "a feature does not undo a tag mode" },
		{ { "reset", "reset" }, { 1, 2 }, "an earlier reset: upper-cased, not required" },
		{ { "congestion", "reset" }, { 1, 2 }, "congestion before reset: upper-cased, not required" },
		{ { "foo", "tag_inc_le" }, { 0, 2 }, "unknown names: never" },
	};

	for (size_t i = 0; i < N(tab); i++) {
		struct ext_marks m = { 0, 0 };
		bool good = true;

		for (size_t j = 0; j < 5 && tab[i].names[j]; j++)
			ext_mark(&m, ext_name_of((const uint8_t *)tab[i].names[j], strlen(tab[i].names[j])),
				 j + 1);
		for (size_t j = 0; j < 5 && tab[i].names[j]; j++) {
			enum ext_name n = ext_name_of((const uint8_t *)tab[i].names[j],
						      strlen(tab[i].names[j]));
			bool force = ext_in_force(&m, n, j + 1);
			bool need = n != EXT_NAME_UNKNOWN && !ext_undone(&m, n, j + 1);

			if (force != (tab[i].want[j] != 0) || need != (tab[i].want[j] == 2))
				good = false;
		}
		ok(good, "names: %s", tab[i].what);
	}
	for (int n = EXT_NAME_RESET; n <= EXT_NAME_CONGESTION; n++) {
		const char *s = ext_name_str((enum ext_name)n);
		ok(s && ext_name_of((const uint8_t *)s, strlen(s)) == (enum ext_name)n, "names: %s spelled back", s);
	}
	ok(ext_name_of((const uint8_t *)"RESET", 5) == EXT_NAME_UNKNOWN, "names: only lowercase is a name");
	ok(ext_name_of((const uint8_t *)"rese", 4) == EXT_NAME_UNKNOWN, "names: no prefixes");
	ok(ext_name_str(EXT_NAME_UNKNOWN) == NULL, "names: no spelling for unknown");
	ok(ext_upcased((const uint8_t *)"a1b", 3, (const uint8_t *)"A1B", 3), "upcased: letters up, digits kept");
	ok(!ext_upcased((const uint8_t *)"42", 2, (const uint8_t *)"42", 2), "upcased: nothing changed is no activation");
	ok(!ext_upcased((const uint8_t *)"ab", 1, (const uint8_t *)"AB", 2), "upcased: a byte past what was sent is a mismatch");
}

/* ---- round trips through the target ---------------------------------- */

static void test_round_qc(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_BE);
	struct req_qc_reply qc;
	uint8_t req[60];
	size_t len;

	target_reset(1000);
	len = req_qc(f, sizeof f, &a, 77, QC_SET, (const uint8_t *)"hi there", 8);
	memcpy(req, f, 60);
	handle(len);
	ok(O.v == AOE_V_REPLY && req_reply_answers(&a, out, O.len, req), "round trip: config set answered, to us, same tag");
	ok(req_parse_qc(out, O.len, &qc) && !(qc.flags & AOE_FLAG_E) && qc.cslen == 8 &&
	   memcmp(qc.cs, "hi there", 8) == 0 && qc.ccmd == QC_SET, "round trip: config set reply carries the string");
	len = req_qc(f, sizeof f, &a, 78, QC_READ, NULL, 0);
	handle(len);
	ok(req_parse_qc(out, O.len, &qc) && qc.bufcnt == 16 && qc.scnt == aoe_max_sectors(1500) &&
	   qc.shelf == 1 && qc.slot == 2 && memcmp(qc.mac, MYMAC, 6) == 0 && qc.cslen == 8 && qc.ver == 1,
	   "round trip: config read: buffer count, sectors, address, string");
	len = req_qc(f, sizeof f, &a, 79, QC_SET, (const uint8_t *)"other", 5);
	handle(len);
	ok(req_parse_qc(out, O.len, &qc) && (qc.flags & AOE_FLAG_E) && qc.error == AOE_ERR_CFGSET,
	   "round trip: config set over another string: error 4");
	a.shelf = AOE_SHELF_ANY;
	a.slot = AOE_SLOT_ANY;
	memcpy(a.dst, BCAST, 6);
	len = req_qc(f, sizeof f, &a, 80, QC_READ, NULL, 0);
	handle(len);
	a = addr(MAC_A, AOE_TAG_BE);
	ok(O.v == AOE_V_REPLY && req_parse_qc(out, O.len, &qc) && qc.shelf == 1 && qc.slot == 2,
	   "round trip: a broadcast query is answered with the target's address");
}

static void test_round_ata(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_BE);
	struct req_ata_regs q = { .cmd = ATA_IDENTIFY, .count = 1, .lba48 = true };
	struct req_ata_reply r;
	uint8_t data[512];
	size_t len;

	target_reset(1000);
	len = req_ata(f, sizeof f, &a, 1, &q, NULL, 0);
	handle(len);
	ok(req_parse_ata(out, O.len, &r) && !req_ata_failed(&r) && r.len == 36 + 512,
	   "round trip: IDENTIFY succeeds with 512 bytes of data");
	is_int(get_le64(out + 36 + 200), 1000, "round trip: ... giving the capacity");

	q = (struct req_ata_regs){ .aflags = ATA_AFLAG_E, .cmd = ATA_READ_EXT, .count = 2, .lba = 998,
				   .lba48 = true };
	handle(req_ata(f, sizeof f, &a, 2, &q, NULL, 0));
	ok(O.v == AOE_V_IO && O.ata.op == ATA_OP_READ && O.ata.lba == 998 && O.ata.nsect == 2,
	   "round trip: READ EXT of the last two sectors is an I/O of them");
	q.lba = 999;
	handle(req_ata(f, sizeof f, &a, 3, &q, NULL, 0));
	ok(req_parse_ata(out, O.len, &r) && req_ata_failed(&r) && (r.err & ATA_ER_IDNF),
	   "round trip: READ past the end: the parser sees IDNF, a failure");

	q = (struct req_ata_regs){ .cmd = ATA_READ, .count = 1, .lba = 0x123, .lba48 = false };
	handle(req_ata(f, sizeof f, &a, 4, &q, NULL, 0));
	ok(O.v == AOE_V_IO && O.ata.lba == 0x123, "round trip: LBA28 READ with 0xE0 in byte 3 reads the LBA sent");

	memset(data, 0x5a, sizeof data);
	q = (struct req_ata_regs){ .aflags = ATA_AFLAG_E | ATA_AFLAG_W, .cmd = ATA_WRITE_EXT, .count = 1,
				   .lba = 7, .lba48 = true };
	handle(req_ata(f, sizeof f, &a, 5, &q, data, sizeof data));
	ok(O.v == AOE_V_IO && O.ata.op == ATA_OP_WRITE && O.ata.lba == 7 && O.ata.nsect == 1,
	   "round trip: WRITE EXT with its data is a write");

	q = (struct req_ata_regs){ .aflags = ATA_AFLAG_E, .cmd = ATA_FLUSH_EXT, .lba48 = true };
	handle(req_ata(f, sizeof f, &a, 6, &q, NULL, 0));
	ok(O.v == AOE_V_IO && O.ata.op == ATA_OP_FLUSH, "round trip: FLUSH CACHE EXT is a flush");
}

static void test_round_mask_res(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_BE), b = addr(MAC_B, AOE_TAG_BE);
	struct req_mask_reply m;
	struct req_res_reply rr;
	struct req_ata_reply r;
	struct req_ata_regs q = { .aflags = ATA_AFLAG_E, .cmd = ATA_READ_EXT, .count = 1, .lba48 = true };
	uint8_t dirs[16];

	target_reset(1000);
	req_mask_dir(dirs, MASK_DIR_ADD, MAC_A);
	req_mask_dir(dirs + 8, MASK_DIR_ADD, MAC_B);
	handle(req_mask(f, sizeof f, &a, 1, MASK_EDIT, dirs, 2));
	ok(req_parse_mask(out, O.len, &m) && !m.merror && m.ndirs == 2 &&
	   memcmp(m.dirs + 2, MAC_A, 6) == 0 && memcmp(m.dirs + 8 + 2, MAC_B, 6) == 0,
	   "round trip: mask edit adds both, the reply lists them");
	req_mask_dir(dirs, 7, MAC_A);
	handle(req_mask(f, sizeof f, &a, 2, MASK_EDIT, dirs, 1));
	ok(req_parse_mask(out, O.len, &m) && m.merror == MASK_ERR_BADDIR,
	   "round trip: an unknown DCmd comes back as MError 2");
	handle(req_mask(f, sizeof f, &a, 3, MASK_READ, NULL, 0));
	ok(req_parse_mask(out, O.len, &m) && m.ndirs == 2, "round trip: mask read lists them");

	target_reset(1000);
	handle(req_res(f, sizeof f, &a, 1, RES_SET, MAC_A, 1));
	ok(req_parse_res(out, O.len, &rr) && !(rr.flags & AOE_FLAG_E) && rr.nfit == 1 &&
	   memcmp(rr.macs, MAC_A, 6) == 0, "round trip: reserve set, the reply lists the MAC");
	handle(req_ata(f, sizeof f, &b, 2, &q, NULL, 0));
	ok(req_parse_ata(out, O.len, &r) && (r.flags & AOE_FLAG_E) && r.aoe_error == AOE_ERR_RESERVED &&
	   req_ata_failed(&r), "round trip: another initiator's READ: error 6, a failure");
	handle(req_res(f, sizeof f, &b, 3, RES_SET, NULL, 0));
	ok(req_parse_res(out, O.len, &rr) && (rr.flags & AOE_FLAG_E) && rr.error == AOE_ERR_RESERVED,
	   "round trip: another initiator's release: error 6");
}

static void test_round_ext(void)
{
	struct aoe_req_addr a = addr(MAC_A, AOE_TAG_LE);
	const char *names[] = { "tag_inc_le", "coalesced_read", "foo" };
	struct req_ext_reply r;
	struct req_ext_str s;
	struct req_ata_regs q;
	struct cr_desc d[2];
	uint8_t table[64], req[128], data[512];
	size_t tlen, len, pos = 0;
	bool good = true;

	target_reset(1000);
	tlen = ext_table_build(names, 3, table, sizeof table);
	len = req_ext(f, sizeof f, &a, 0x100, table, tlen, (uint16_t)tlen);
	memcpy(req, f, len);
	handle(len);
	ok(O.v == AOE_V_REPLY && req_parse_ext(req, len, out, O.len < 60 ? 60 : O.len, &r) &&
	   !r.malformed && r.nstr == 3, "round trip: Extensions reply well formed, three strings");
	for (unsigned i = 0; req_ext_next(&r, &pos, &s); i++)
		if (s.active != (i < 2))
			good = false;
	ok(good, "round trip: the two known names active, foo not");

	/* coalesced read: the descriptors the target reads are ours */
	q = (struct req_ata_regs){ .aflags = ATA_AFLAG_E, .cmd = ATA_READ_EXT, .count = 1, .lba = 10,
				   .lba48 = true };
	for (unsigned i = 0; i < 2; i++) {
		req_tag_put(&a, d[i].tag, 0x201 + i);
		d[i].lba = 20 + i;
		d[i].count = 1;
	}
	req_ata(f, sizeof f, &a, 0x200, &q, NULL, 0);
	len = req_cr(f, sizeof f, d, 2);
	memcpy(req, f, len);
	handle(len);
	ok(O.v == AOE_V_IO && O.nsub == 2, "round trip: a READ with two descriptors: the primary and two sub-reads");
	aoe_target_subread(&T, req, len, 1, MYMAC, 1500, out, &O);
	ok(O.v == AOE_V_IO && O.ata.lba == 21 && req_tag_get(&a, out + AOE_OFF_TAG) == 0x202,
	   "round trip: sub-read 1 reads its LBA under its tag (little-endian)");

	/* tag_inc_le: the window reads our little-endian tags */
	memset(data, 1, sizeof data);
	q = (struct req_ata_regs){ .aflags = ATA_AFLAG_E | ATA_AFLAG_W, .cmd = ATA_WRITE_EXT,
				   .count = 1, .lba = 5, .lba48 = true };
	handle(req_ata(f, sizeof f, &a, 0x300, &q, data, sizeof data));
	ok(O.v == AOE_V_IO, "round trip: tag_inc_le: a write with tag 0x300 is written");
	handle(req_ata(f, sizeof f, &a, 0x301, &q, data, sizeof data));
	ok(O.v == AOE_V_IO, "round trip: ... tag 0x301 too");
	handle(req_ata(f, sizeof f, &a, 0x300, &q, data, sizeof data));
	ok(O.v == AOE_V_DUPWRITE, "round trip: ... tag 0x300 again is a duplicate");
}

int main(void)
{
	test_header();
	test_ata();
	test_cr();
	test_qc();
	test_mask_res();
	test_ext_build();
	test_reply_for();
	test_parse();
	test_parse_ext();
	test_names();
	test_round_qc();
	test_round_ata();
	test_round_mask_res();
	test_round_ext();
	return done_testing();
}
