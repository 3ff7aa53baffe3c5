/*
 * t_proto.c - unit tests of the pure AoE core (proto/): every rule of the
 * foundation issue, table-driven where the rule is a table.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/aoe.h"
#include "proto/ata.h"
#include "proto/frame.h"
#include "proto/target.h"
#include "proto/wire.h"
#include "tap.h"

static const uint8_t MYMAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0xaa };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0xbb };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static uint8_t req[9216], out[9216];
static struct aoe_target T;
static struct aoe_outcome O;

static void target_reset(uint64_t sectors)
{
	memset(&T, 0, sizeof T);
	T.shelf = 1;
	T.slot = 2;
	T.bufcnt = 16;
	T.ata.sectors = sectors;
	strcpy(T.ata.model, "aoexd test model");
	strcpy(T.ata.serial, "SER123");
	strcpy(T.ata.firmware, "0.1.0");
}

/* Build a request header; returns the header length (24). */
static size_t mkhdr(const uint8_t src[6], uint8_t verflags, uint16_t shelf, uint8_t slot,
		    uint8_t cmd, uint32_t tag)
{
	memset(req, 0, sizeof req);
	memcpy(req + AOE_OFF_DST, MYMAC, 6);
	memcpy(req + AOE_OFF_SRC, src, 6);
	put_be16(req + AOE_OFF_TYPE, AOE_ETHERTYPE);
	req[AOE_OFF_VERFLAGS] = verflags;
	put_be16(req + AOE_OFF_MAJOR, shelf);
	req[AOE_OFF_MINOR] = slot;
	req[AOE_OFF_CMD] = cmd;
	put_be32(req + AOE_OFF_TAG, tag);
	return AOE_HDR_LEN;
}

static size_t mkata(const uint8_t src[6], uint8_t aflags, uint8_t cmd, uint64_t lba,
		    uint8_t count, size_t payload)
{
	mkhdr(src, 0x10, 1, 2, AOE_CMD_ATA, 0x11223344);
	req[ATA_OFF_AFLAGS] = aflags;
	req[ATA_OFF_SCNT] = count;
	req[ATA_OFF_CMD] = cmd;
	put_le48(req + ATA_OFF_LBA, lba);
	for (size_t i = 0; i < payload; i++)
		req[ATA_OFF_DATA + i] = (uint8_t)(i * 7);
	return ATA_HDR_LEN + payload;
}

static void run(size_t len, unsigned mtu)
{
	memset(out, 0xee, sizeof out);
	aoe_target_handle(&T, req, len, MYMAC, mtu, out, &O);
}

static int reply_err(void)
{
	return (out[AOE_OFF_VERFLAGS] & AOE_FLAG_E) ? out[AOE_OFF_ERROR] : 0;
}

/* ---- header and addressing ------------------------------------------ */

static void test_addressing(void)
{
	static const struct { uint16_t shelf; uint8_t slot; int answered; } tab[] = {
		{ 1, 2, 1 }, { 0xffff, 0xff, 1 }, { 1, 0xff, 1 }, { 0xffff, 2, 1 },
		{ 1, 3, 0 }, { 2, 2, 0 }, { 0xffff, 3, 0 }, { 2, 0xff, 0 }, { 0, 0, 0 },
	};
	target_reset(1000);
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		mkhdr(MAC_A, 0x10, tab[i].shelf, tab[i].slot, AOE_CMD_CONFIG, 7);
		run(60, 1500);
		ok((O.v == AOE_V_REPLY) == tab[i].answered, "address %u.%u %s",
		   tab[i].shelf, tab[i].slot, tab[i].answered ? "answered" : "ignored");
		if (O.v == AOE_V_REPLY) {
			ok(get_be16(out + AOE_OFF_MAJOR) == 1 && out[AOE_OFF_MINOR] == 2,
			   "reply to %u.%u carries the target's own 1.2", tab[i].shelf, tab[i].slot);
		}
	}
}

static void test_reply_header(void)
{
	target_reset(1000);
	mkhdr(MAC_A, 0x10, 0xffff, 0xff, AOE_CMD_CONFIG, 0xdeadbeef);
	run(60, 1500);
	ok(memcmp(out + AOE_OFF_DST, MAC_A, 6) == 0, "reply goes to the requester");
	ok(memcmp(out + AOE_OFF_SRC, MYMAC, 6) == 0, "reply comes from the interface MAC");
	is_int(get_be16(out + AOE_OFF_TYPE), AOE_ETHERTYPE, "reply EtherType 0x88a2");
	is_int(out[AOE_OFF_VERFLAGS], 0x18, "reply version 1 with R set, E clear");
	is_int(get_be32(out + AOE_OFF_TAG), 0xdeadbeef, "tag echoed unchanged");
	is_int(out[AOE_OFF_CMD], AOE_CMD_CONFIG, "command echoed");

	mkhdr(MAC_A, 0x18, 1, 2, AOE_CMD_CONFIG, 1);
	run(60, 1500);
	ok(O.v == AOE_V_DROP && O.drop == AOE_DROP_RESPONSE, "frame with R set is ignored");

	size_t answered_len = 0;
	for (size_t len = 0; len < AOE_HDR_LEN && !answered_len; len++) {
		/* an unknown command: no per-command length check can hide
		 * a wrong common-header rule */
		mkhdr(MAC_A, 0x10, 1, 2, 0x42, 1);
		run(len, 1500);
		if (O.v != AOE_V_DROP || O.drop != AOE_DROP_SHORT)
			answered_len = len ? len : 100;
	}
	is_int(answered_len, 0, "frames of 0..23 bytes are dropped as short");
	mkhdr(MAC_A, 0x10, 1, 2, AOE_CMD_CONFIG, 1);
	put_be16(req + AOE_OFF_TYPE, 0x0800);
	run(60, 1500);
	ok(O.v == AOE_V_DROP, "wrong EtherType is dropped");
}

static void test_padding(void)
{
	uint8_t f[64];
	memset(f, 0xaa, sizeof f);
	is_int(aoe_pad(f, 24), 60, "24-byte reply padded to 60");
	ok(f[24] == 0 && f[59] == 0, "padding is zeros (no stale bytes)");
	is_int(aoe_pad(f, 61), 61, "long reply not padded");
}

static void test_version_and_unknown(void)
{
	target_reset(1000);
	mkhdr(MAC_A, 0x20, 1, 2, AOE_CMD_CONFIG, 5);
	run(60, 1500);
	ok(O.v == AOE_V_REPLY && reply_err() == AOE_ERR_BADVER, "version 2 -> AoE error 5");
	is_int(out[AOE_OFF_VERFLAGS] >> 4, 1, "error 5 reply speaks version 1");

	mkhdr(MAC_A, 0x10, 1, 2, 0x42, 6);
	memset(req + 24, 0x5a, 36);
	run(60, 1500);
	ok(O.v == AOE_V_REPLY && reply_err() == AOE_ERR_BADCMD, "unknown command 0x42 -> AoE error 1");
	is_int(O.len, 60, "unknown command echoed at the request length");
	ok(out[40] == 0x5a, "unknown command body echoed");
	mkhdr(MAC_A, 0x10, 1, 2, 0x66, 6);
	run(1609, 1500);
	ok(reply_err() == AOE_ERR_BADCMD && O.len == 1514,
	   "regression (fuzz): oversized unknown command echo capped at one 1514-byte frame");
	mkhdr(MAC_A, 0x10, 1, 2, 0xf0, 6);
	run(24, 1500);
	ok(reply_err() == AOE_ERR_BADCMD, "vendor command 0xf0 -> AoE error 1");
}

/* ---- ATA -------------------------------------------------------------- */

struct ata_case {
	const char *what;
	uint8_t aflags, cmd;
	uint64_t lba;
	uint8_t count;
	size_t payload;
	bool readonly;
	unsigned mtu;
	enum aoe_verdict v;
	enum ata_op op;
	uint8_t aoe_err, status, err;
	size_t len;
	uint64_t want_lba;
};

static const struct ata_case ata_cases[] = {
	{ "READ EXT 2 sectors", 0x40, 0x24, 0, 2, 0, 0, 1500, AOE_V_IO, ATA_OP_READ, 0, 0x40, 0, 36 + 1024, 0 },
	{ "READ (LBA28) 1 sector", 0x00, 0x20, 5, 1, 0, 0, 1500, AOE_V_IO, ATA_OP_READ, 0, 0x40, 0, 36 + 512, 5 },
	{ "READ LBA28 ignores the 0xE0 device bits", 0x00, 0x20, 0xE0000007ULL, 1, 0, 0, 1500, AOE_V_IO, ATA_OP_READ, 0, 0x40, 0, 548, 7 },
	{ "READ EXT 17 sectors at MTU 9000", 0x40, 0x24, 10, 17, 0, 0, 9000, AOE_V_IO, ATA_OP_READ, 0, 0x40, 0, 36 + 17 * 512, 10 },
	{ "READ 3 sectors at MTU 1500 -> error 2", 0x40, 0x24, 0, 3, 0, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 2, 0x40, 0, 36, 0 },
	{ "READ 18 sectors at MTU 9000 -> error 2", 0x40, 0x24, 0, 18, 0, 0, 9000, AOE_V_REPLY, ATA_OP_NONE, 2, 0x40, 0, 36, 0 },
	{ "READ last sector", 0x40, 0x24, 999, 1, 0, 0, 1500, AOE_V_IO, ATA_OP_READ, 0, 0x40, 0, 548, 999 },
	{ "READ across the end -> IDNF", 0x40, 0x24, 999, 2, 0, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 0, 0x41, 0x10, 36, 0 },
	{ "READ one past the end -> IDNF", 0x40, 0x24, 1000, 1, 0, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 0, 0x41, 0x10, 36, 0 },
	{ "READ huge LBA48 -> IDNF", 0x40, 0x24, 0xffffffffffffULL, 1, 0, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 0, 0x41, 0x10, 36, 0 },
	{ "READ 0 sectors: nothing to do", 0x40, 0x24, 0, 0, 0, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 0, 0x40, 0, 36, 0 },
	{ "WRITE EXT 2 sectors", 0x41, 0x34, 4, 2, 1024, 0, 1500, AOE_V_IO, ATA_OP_WRITE, 0, 0x40, 0, 36, 4 },
	{ "WRITE (LBA28) 1 sector", 0x01, 0x30, 4, 1, 512, 0, 1500, AOE_V_IO, ATA_OP_WRITE, 0, 0x40, 0, 36, 4 },
	{ "WRITE short payload -> error 2", 0x41, 0x34, 4, 2, 1000, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 2, 0x40, 0, 36, 0 },
	{ "WRITE no payload -> error 2", 0x41, 0x34, 4, 1, 0, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 2, 0x40, 0, 36, 0 },
	{ "WRITE 3 sectors at MTU 1500 -> error 2", 0x41, 0x34, 4, 3, 1536, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 2, 0x40, 0, 36, 0 },
	{ "WRITE past the end -> IDNF", 0x41, 0x34, 1000, 1, 512, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 0, 0x41, 0x10, 36, 0 },
	{ "WRITE read-only export -> ABRT", 0x41, 0x34, 4, 1, 512, 1, 1500, AOE_V_REPLY, ATA_OP_NONE, 0, 0x41, 0x04, 36, 0 },
	{ "IDENTIFY", 0x00, 0xec, 0, 1, 0, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 0, 0x40, 0, 548, 0 },
	{ "CHECK POWER MODE", 0x00, 0xe5, 0, 0, 0, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 0, 0x40, 0, 36, 0 },
	{ "FLUSH CACHE", 0x00, 0xe7, 0, 0, 0, 0, 1500, AOE_V_IO, ATA_OP_FLUSH, 0, 0x40, 0, 36, 0 },
	{ "FLUSH CACHE EXT", 0x40, 0xea, 0, 0, 0, 0, 1500, AOE_V_IO, ATA_OP_FLUSH, 0, 0x40, 0, 36, 0 },
	{ "unknown ATA 0x99 -> ABRT", 0x00, 0x99, 0, 0, 0, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 0, 0x41, 0x04, 36, 0 },
	{ "SET FEATURES -> ABRT", 0x00, 0xef, 0, 0, 0, 0, 1500, AOE_V_REPLY, ATA_OP_NONE, 0, 0x41, 0x04, 36, 0 },
};

static void test_ata_table(void)
{
	for (size_t i = 0; i < sizeof ata_cases / sizeof ata_cases[0]; i++) {
		const struct ata_case *c = &ata_cases[i];
		target_reset(1000);
		T.ata.readonly = c->readonly;
		size_t len = mkata(MAC_A, c->aflags, c->cmd, c->lba, c->count, c->payload);
		run(len < 60 ? 60 : len, c->mtu);
		if (c->payload && len >= 60)
			run(len, c->mtu);
		bool pass = O.v == c->v && O.ata.op == c->op && reply_err() == c->aoe_err &&
			    out[ATA_OFF_STATUS] == c->status && out[ATA_OFF_ERR] == c->err &&
			    O.len == c->len && (c->op == ATA_OP_NONE || c->op == ATA_OP_FLUSH || O.ata.lba == c->want_lba);
		ok(pass, "ATA: %s", c->what);
		if (!pass)
			printf("#   v=%d op=%d aoe_err=%d status=0x%02x err=0x%02x len=%zu lba=%llu\n",
			       O.v, O.ata.op, reply_err(), out[ATA_OFF_STATUS], out[ATA_OFF_ERR],
			       O.len, (unsigned long long)O.ata.lba);
	}
	target_reset(1000);
	mkata(MAC_A, 0x41, 0x34, 4, 2, 1024);
	run(36 + 1024 - 1, 1500);
	ok(reply_err() == AOE_ERR_BADARG && O.v == AOE_V_REPLY, "WRITE truncated by one byte -> error 2, nothing written");
	mkata(MAC_A, 0x40, 0x24, 0, 1, 0);
	size_t ata_answered = 0;
	for (size_t len = AOE_HDR_LEN; len < ATA_HDR_LEN && !ata_answered; len++) {
		run(len, 1500);
		if (O.v != AOE_V_DROP || O.drop != AOE_DROP_SHORT)
			ata_answered = len;
	}
	is_int(ata_answered, 0, "ATA headers of 24..35 bytes are dropped as short");
	mkata(MAC_A, 0x40, 0x24, 0, 1, 0);
	run(60, 1500);
	is_int(out[ATA_OFF_SCNT], 0, "successful READ reply has sector count 0");
	is_int(get_le48(out + ATA_OFF_LBA), 0, "reply echoes the LBA");
	is_int(out[ATA_OFF_AFLAGS], 0x40, "reply echoes aflags");
	mkata(MAC_A, 0, 0xe5, 0, 0, 0);
	run(60, 1500);
	is_int(out[ATA_OFF_SCNT], 0xff, "CHECK POWER MODE reports active (0xff)");

	/* 28-bit commands stop at the LBA28 capacity IDENTIFY reports */
	target_reset(0x20000000ULL);
	mkata(MAC_A, 0x00, 0x20, 0x0ffffffeULL, 1, 0);
	run(60, 1500);
	ok(O.v == AOE_V_IO && O.ata.lba == 0x0ffffffeULL, "READ (LBA28) of the last LBA28 sector");
	mkata(MAC_A, 0x00, 0x20, 0x0ffffffeULL, 2, 0);
	run(60, 1500);
	ok(O.v == AOE_V_REPLY && out[ATA_OFF_ERR] == ATA_ER_IDNF, "READ (LBA28) across 2^28 -> IDNF");
	mkata(MAC_A, 0x01, 0x30, 0x0fffffffULL, 1, 512);
	run(36 + 512, 1500);
	ok(O.v == AOE_V_REPLY && out[ATA_OFF_ERR] == ATA_ER_IDNF, "WRITE (LBA28) at sector 2^28-1 -> IDNF");
	mkata(MAC_A, 0x40, 0x24, 0x0fffffffULL, 2, 0);
	run(60, 1500);
	ok(O.v == AOE_V_IO, "READ EXT across 2^28 is fine");
}

static void test_ata_io_failed(void)
{
	struct ata_req r = { .op = ATA_OP_READ };
	uint8_t f[64] = {0};
	is_int(ata_io_failed(f, &r), 36, "failed read reply is header only");
	ok(f[ATA_OFF_STATUS] == 0x41 && f[ATA_OFF_ERR] == ATA_ER_UNC, "failed read -> DRDY|ERR, UNC");
	r.op = ATA_OP_WRITE;
	ata_io_failed(f, &r);
	ok(f[ATA_OFF_STATUS] == 0x41 && f[ATA_OFF_ERR] == ATA_ER_ABRT, "failed write -> DRDY|ERR, ABRT");
}

static uint16_t idw(const uint8_t *id, unsigned w) { return get_le16(id + 2 * w); }

static void test_identify(void)
{
	uint8_t id[512];
	struct ata_dev d = { .sectors = 0x123456789ULL };
	strcpy(d.model, "aoexd model");
	strcpy(d.serial, "S1");
	strcpy(d.firmware, "1.0");
	ata_identify(&d, id);
	ok(idw(id, 49) & (1u << 9), "IDENTIFY: LBA supported (word 49 bit 9)");
	ok((idw(id, 83) & 0xf400) == 0x7400, "IDENTIFY: word 83 bits 14, 13 (FLUSH EXT), 12 (FLUSH), 10 (LBA48)");
	ok((idw(id, 86) & 0x3400) == 0x3400, "IDENTIFY: word 86 FLUSH, FLUSH EXT, LBA48 enabled");
	is_int(get_le64(id + 200), 0x123456789LL, "IDENTIFY: LBA48 capacity in words 100-103");
	is_int(idw(id, 60) | (uint32_t)idw(id, 61) << 16, 0x0fffffff, "IDENTIFY: LBA28 capacity capped at 0x0fffffff");
	ok(memcmp(id + 54, "oaxe dom", 8) == 0, "IDENTIFY: model string byte-swapped per word");
	ok(id[54 + 38] == ' ' && id[54 + 39] == ' ', "IDENTIFY: model string space padded");
	ok(memcmp(id + 20, "1S", 2) == 0, "IDENTIFY: serial byte-swapped (words 10-19)");
	ok(memcmp(id + 46, ".1 0", 4) == 0, "IDENTIFY: firmware byte-swapped (words 23-26)");
	ok(!(idw(id, 85) & (1u << 5)), "IDENTIFY: no volatile write cache by default");
	d.sectors = 1000;
	d.wcache = true;
	ata_identify(&d, id);
	is_int(idw(id, 60) | (uint32_t)idw(id, 61) << 16, 1000, "IDENTIFY: small disk LBA28 capacity exact");
	ok((idw(id, 82) & (1u << 5)) && (idw(id, 85) & (1u << 5)), "IDENTIFY: write-back advertises a write cache");
	target_reset(1000);
	mkata(MAC_A, 0, 0xec, 0, 1, 0);
	run(60, 1500);
	is_int(get_le64(out + 36 + 200), 1000, "IDENTIFY via the dispatcher reports 1000 sectors");
}

/* ---- Query Config ------------------------------------------------------ */

static size_t mkqc(const uint8_t src[6], uint8_t ccmd, const char *s, int cslen_override)
{
	size_t n = s ? strlen(s) : 0;
	mkhdr(src, 0x10, 1, 2, AOE_CMD_CONFIG, 9);
	req[QC_OFF_VERCMD] = (uint8_t)(0x10 | ccmd);
	put_be16(req + QC_OFF_CSLEN, (uint16_t)(cslen_override >= 0 ? (unsigned)cslen_override : n));
	if (n)
		memcpy(req + QC_OFF_CS, s, n);
	return QC_HDR_LEN + n < 60 ? 60 : QC_HDR_LEN + n;
}

static bool qc_string_is(const char *s)
{
	size_t n = strlen(s);
	return get_be16(out + QC_OFF_CSLEN) == n && memcmp(out + QC_OFF_CS, s, n) == 0;
}

static void test_qconfig(void)
{
	struct { const char *what; uint8_t ccmd; const char *s; int cslen; const char *preset;
		 int replied; int err; const char *after; } tab[] = {
		{ "read, empty", QC_READ, NULL, -1, "", 1, 0, "" },
		{ "read returns the string", QC_READ, NULL, -1, "abc", 1, 0, "abc" },
		{ "test exact match replies", QC_TEST, "abc", -1, "abc", 1, 0, "abc" },
		{ "test mismatch is silent", QC_TEST, "abd", -1, "abc", 0, 0, "abc" },
		{ "test shorter is silent", QC_TEST, "ab", -1, "abc", 0, 0, "abc" },
		{ "test-prefix match replies", QC_TEST_PREFIX, "ab", -1, "abc", 1, 0, "abc" },
		{ "test-prefix empty matches", QC_TEST_PREFIX, "", -1, "abc", 1, 0, "abc" },
		{ "test-prefix longer is silent", QC_TEST_PREFIX, "abcd", -1, "abc", 0, 0, "abc" },
		{ "test-prefix mismatch is silent", QC_TEST_PREFIX, "x", -1, "abc", 0, 0, "abc" },
		{ "set when empty sets", QC_SET, "new", -1, "", 1, 0, "new" },
		{ "set when equal succeeds", QC_SET, "abc", -1, "abc", 1, 0, "abc" },
		{ "set when different -> error 4", QC_SET, "xyz", -1, "abc", 1, AOE_ERR_CFGSET, "abc" },
		{ "force set overwrites", QC_FORCE_SET, "xyz", -1, "abc", 1, 0, "xyz" },
		{ "force set empty clears", QC_FORCE_SET, "", -1, "abc", 1, 0, "" },
		{ "ccmd 5 -> error 2", 5, NULL, -1, "abc", 1, AOE_ERR_BADARG, "abc" },
		{ "ccmd 15 -> error 2", 15, NULL, -1, "abc", 1, AOE_ERR_BADARG, "abc" },
		{ "set with length past the frame is ignored", QC_SET, "ab", 200, "", 0, 0, "" },
		{ "force set with length over 1024 is ignored", QC_FORCE_SET, "ab", 1025, "abc", 0, 0, "abc" },
	};
	for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++) {
		target_reset(1000);
		T.qc.len = (uint16_t)strlen(tab[i].preset);
		memcpy(T.qc.str, tab[i].preset, T.qc.len);
		size_t len = mkqc(MAC_A, tab[i].ccmd, tab[i].s, tab[i].cslen);
		run(len, 1500);
		bool pass = (O.v == AOE_V_REPLY) == tab[i].replied &&
			    (!tab[i].replied || reply_err() == tab[i].err) &&
			    T.qc.len == strlen(tab[i].after) && memcmp(T.qc.str, tab[i].after, T.qc.len) == 0;
		if (pass && tab[i].replied)
			pass = qc_string_is(tab[i].after);
		ok(pass, "Query Config: %s", tab[i].what);
	}
	target_reset(1000);
	mkqc(MAC_A, QC_READ, NULL, -1);
	run(60, 1500);
	is_int(get_be16(out + QC_OFF_BUFCNT), 16, "config reply: buffer count");
	is_int(out[QC_OFF_SCNT], 2, "config reply: 2 sectors at MTU 1500");
	is_int(out[QC_OFF_VERCMD], 0x10, "config reply: version 1, ccmd echoed");
	run(60, 9000);
	is_int(out[QC_OFF_SCNT], 17, "config reply: 17 sectors at MTU 9000");
	is_int(aoe_max_sectors(1500), 2, "max sectors (1500-36)/512 = 2");
	is_int(aoe_max_sectors(9000), 17, "max sectors (9000-36)/512 = 17");
	is_int(aoe_max_sectors(65535), 127, "max sectors at MTU 65535 = 127");
	is_int(aoe_max_sectors(200000), 255, "max sectors capped at 255");
	mkqc(MAC_A, QC_READ, NULL, -1);
	run(31, 1500);
	ok(O.v == AOE_V_DROP, "config request shorter than 32 bytes dropped");

	char big[1025];
	memset(big, 'q', 1024);
	big[1024] = 0;
	size_t len = mkqc(MAC_A, QC_FORCE_SET, big, -1);
	run(len, 1500);
	ok(O.v == AOE_V_REPLY && T.qc.len == 1024 && O.len == 32 + 1024, "1024-byte config string accepted and returned");

	uint8_t adv[128];
	target_reset(1000);
	size_t alen = aoe_target_advert(&T, MYMAC, 1500, BCAST, adv);
	ok(alen == 60 && memcmp(adv, BCAST, 6) == 0 && (adv[14] & 0x08) && adv[19] == 1 &&
	   get_be32(adv + 20) == 0 && adv[QC_OFF_SCNT] == 2 && get_be16(adv + 24) == 16,
	   "advertisement: broadcast config reply, R set, tag 0, fields filled");
}

/* ---- MAC Mask List ------------------------------------------------------ */

static size_t mkmask(const uint8_t src[6], uint8_t mcmd, unsigned n, const uint8_t (*dirs)[8])
{
	mkhdr(src, 0x10, 1, 2, AOE_CMD_MASK, 3);
	req[MASK_OFF_MCMD] = mcmd;
	req[MASK_OFF_DCOUNT] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++)
		memcpy(req + MASK_OFF_DIRS + 8 * i, dirs[i], 8);
	size_t len = MASK_HDR_LEN + 8 * n;
	return len < 60 ? 60 : len;
}

static void dir(uint8_t d[8], uint8_t dcmd, uint8_t last)
{
	static const uint8_t base[6] = { 0x02, 0x10, 0, 0, 0, 0 };
	memset(d, 0, 8);
	d[1] = dcmd;
	memcpy(d + 2, base, 6);
	d[7] = last;
}

static void test_mask(void)
{
	uint8_t d[80][8];
	size_t len;

	target_reset(1000);
	len = mkmask(MAC_A, MASK_READ, 0, NULL);
	run(len, 1500);
	ok(O.v == AOE_V_REPLY && out[MASK_OFF_DCOUNT] == 0 && O.len == 28, "mask read: empty list");

	for (int i = 0; i < 3; i++)
		dir(d[i], MASK_DIR_ADD, (uint8_t)i);
	len = mkmask(MAC_A, MASK_EDIT, 3, d);
	run(len, 1500);
	ok(T.mask.n == 3 && out[MASK_OFF_DCOUNT] == 3 && out[MASK_OFF_MERROR] == 0 && O.len == 28 + 24,
	   "mask edit: three adds, list returned");
	ok(out[MASK_OFF_DIRS + 1] == 0 && out[MASK_OFF_DIRS + 7] == 0, "mask reply entries have DCmd 0");
	ok(O.changed & AOE_CHANGED_MASK, "mask edit reports a change");

	/* MAC_A is not in the list now: its frames are ignored */
	len = mkmask(MAC_A, MASK_READ, 0, NULL);
	run(len, 1500);
	ok(O.v == AOE_V_DROP && O.drop == AOE_DROP_MASKED, "sender outside a non-empty mask list is ignored");
	mkata(MAC_A, 0x40, 0x24, 0, 1, 0);
	run(60, 1500);
	ok(O.v == AOE_V_DROP, "masked sender's ATA read is ignored");

	uint8_t in_list[6] = { 0x02, 0x10, 0, 0, 0, 1 };
	dir(d[0], MASK_DIR_DEL, 1);
	dir(d[1], MASK_DIR_NONE, 9);
	dir(d[2], MASK_DIR_ADD, 0);	/* already there */
	len = mkmask(in_list, MASK_EDIT, 3, d);
	run(len, 1500);
	ok(T.mask.n == 2 && out[MASK_OFF_MERROR] == 0, "mask edit: delete, no-op, duplicate add");

	target_reset(1000);
	dir(d[0], MASK_DIR_ADD, 1);
	dir(d[1], 7, 2);
	dir(d[2], MASK_DIR_ADD, 3);
	len = mkmask(MAC_A, MASK_EDIT, 3, d);
	run(len, 1500);
	ok(out[MASK_OFF_MERROR] == MASK_ERR_BADDIR && out[MASK_OFF_DCOUNT] == 1 && !(out[14] & AOE_FLAG_E),
	   "mask edit: bad directive -> MError 2 at index 1");
	is_int(T.mask.n, 1, "directives before the bad one stay applied");

	target_reset(1000);
	for (int i = 0; i < 70; i++)
		dir(d[i], MASK_DIR_ADD, (uint8_t)(i + 1));
	len = mkmask(MAC_A, MASK_EDIT, 70, d);
	run(len, 1500);
	ok(out[MASK_OFF_MERROR] == MASK_ERR_FULL && out[MASK_OFF_DCOUNT] == MASK_MAX,
	   "mask edit: list full -> MError 3 at index 64");
	is_int(T.mask.n, MASK_MAX, "64 entries held");
	uint8_t first[6] = { 0x02, 0x10, 0, 0, 0, 1 };
	len = mkmask(first, MASK_READ, 0, NULL);
	run(len, 1500);
	ok(out[MASK_OFF_DCOUNT] == MASK_MAX && O.len == 28 + 8 * MASK_MAX, "mask read returns all 64 entries");

	target_reset(1000);
	dir(d[0], MASK_DIR_ADD, 1);
	len = mkmask(MAC_A, MASK_EDIT, 1, d);
	req[MASK_OFF_DCOUNT] = 5;	/* claims 5, carries 1 (+ padding up to 60) */
	run(36, 1500);
	ok(reply_err() == AOE_ERR_BADARG && T.mask.n == 0, "mask edit count past the frame -> error 2, nothing changed");
	len = mkmask(MAC_A, 9, 0, NULL);
	run(len, 1500);
	ok(reply_err() == AOE_ERR_BADARG, "unknown MCmd -> error 2");
	run(27, 1500);
	ok(O.v == AOE_V_DROP, "mask request shorter than 28 bytes dropped");
}

/* ---- Reserve/Release ---------------------------------------------------- */

static size_t mkres(const uint8_t src[6], uint8_t rcmd, unsigned n, const uint8_t *const *macs)
{
	mkhdr(src, 0x10, 1, 2, AOE_CMD_RESERVE, 4);
	req[RES_OFF_RCMD] = rcmd;
	req[RES_OFF_NMACS] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++)
		memcpy(req + RES_OFF_MACS + 6 * i, macs[i], 6);
	size_t len = RES_HDR_LEN + 6 * n;
	return len < 60 ? 60 : len;
}

static void test_reserve(void)
{
	const uint8_t *a[1] = { MAC_A }, *b[1] = { MAC_B };
	size_t len;

	target_reset(1000);
	len = mkres(MAC_A, RES_READ, 0, NULL);
	run(len, 1500);
	ok(O.v == AOE_V_REPLY && out[RES_OFF_NMACS] == 0, "reserve read: empty");
	len = mkres(MAC_A, RES_SET, 1, a);
	run(len, 1500);
	ok(reply_err() == 0 && T.res.n == 1 && out[RES_OFF_NMACS] == 1 &&
	   memcmp(out + RES_OFF_MACS, MAC_A, 6) == 0, "reserve set by A: list is [A]");
	mkata(MAC_B, 0x40, 0x24, 0, 1, 0);
	run(60, 1500);
	ok(reply_err() == AOE_ERR_RESERVED && O.v == AOE_V_REPLY, "B's READ while A holds it -> error 6");
	mkata(MAC_B, 0x41, 0x34, 0, 1, 512);
	run(36 + 512, 1500);
	ok(reply_err() == AOE_ERR_RESERVED && O.ata.op == ATA_OP_NONE, "B's WRITE -> error 6, not written");
	mkata(MAC_B, 0, 0xec, 0, 1, 0);
	run(60, 1500);
	ok(reply_err() == 0 && O.len == 548, "B's IDENTIFY is still answered");
	mkata(MAC_A, 0x40, 0x24, 0, 1, 0);
	run(60, 1500);
	ok(reply_err() == 0 && O.v == AOE_V_IO, "A's READ is served");
	len = mkres(MAC_B, RES_SET, 1, b);
	run(len, 1500);
	ok(reply_err() == AOE_ERR_RESERVED && T.res.n == 1 && memcmp(T.res.mac[0], MAC_A, 6) == 0,
	   "B's reserve set -> error 6, list unchanged");
	len = mkres(MAC_B, RES_FORCE_SET, 1, b);
	run(len, 1500);
	ok(reply_err() == 0 && memcmp(T.res.mac[0], MAC_B, 6) == 0, "B's force set takes it");
	len = mkres(MAC_B, RES_SET, 0, NULL);
	run(len, 1500);
	ok(reply_err() == 0 && T.res.n == 0, "set with zero MACs releases");
	len = mkres(MAC_A, RES_SET, 1, a);
	req[RES_OFF_NMACS] = 40;	/* 240 bytes claimed, frame is 60 */
	run(60, 1500);
	ok(reply_err() == AOE_ERR_BADARG && T.res.n == 0, "reserve set past the frame -> error 2");
	len = mkres(MAC_A, 3, 0, NULL);
	run(len, 1500);
	ok(reply_err() == AOE_ERR_BADARG, "unknown RCmd -> error 2");
	run(25, 1500);
	ok(O.v == AOE_V_DROP, "reserve request shorter than 26 bytes dropped");
}

/* The daemon persists exactly what o.changed names (see src/state.c):
 * every state-changing command sets its bit, nothing else sets any. */
static void test_changed(void)
{
	const uint8_t *a[1] = { MAC_A }, *b[1] = { MAC_B };
	uint8_t d[1][8];

	target_reset(1000);
	run(mkqc(MAC_A, QC_READ, NULL, -1), 1500);
	is_int(O.changed, 0, "changed: config read changes nothing");
	run(mkqc(MAC_A, QC_SET, "x", -1), 1500);
	is_int(O.changed, AOE_CHANGED_CONFIG, "changed: config set -> CONFIG");
	run(mkqc(MAC_A, QC_SET, "y", -1), 1500);
	is_int(O.changed, 0, "changed: a refused config set (error 4) changes nothing");
	run(mkqc(MAC_A, QC_TEST, "x", -1), 1500);
	is_int(O.changed, 0, "changed: config test changes nothing");
	run(mkqc(MAC_A, QC_FORCE_SET, "z", -1), 1500);
	is_int(O.changed, AOE_CHANGED_CONFIG, "changed: config force set -> CONFIG");

	run(mkmask(MAC_A, MASK_READ, 0, NULL), 1500);
	is_int(O.changed, 0, "changed: mask read changes nothing");
	memset(d[0], 0, 8);
	d[0][1] = MASK_DIR_ADD;
	memcpy(d[0] + 2, MAC_A, 6);
	run(mkmask(MAC_A, MASK_EDIT, 1, (const uint8_t (*)[8])d), 1500);
	is_int(O.changed, AOE_CHANGED_MASK, "changed: mask add -> MASK");
	run(mkmask(MAC_A, MASK_EDIT, 1, (const uint8_t (*)[8])d), 1500);
	is_int(O.changed, 0, "changed: adding a MAC already listed changes nothing");

	run(mkres(MAC_A, RES_READ, 0, NULL), 1500);
	is_int(O.changed, 0, "changed: reserve read changes nothing");
	run(mkres(MAC_A, RES_SET, 1, a), 1500);
	is_int(O.changed, AOE_CHANGED_RESERVE, "changed: reserve set -> RESERVE");
	run(mkres(MAC_A, RES_SET, 1, b), 1500);
	ok(O.changed & AOE_CHANGED_RESERVE, "changed: the holder's set to another MAC -> RESERVE");
	run(mkres(MAC_A, RES_SET, 1, a), 1500);
	is_int(O.changed, 0, "changed: a refused reserve set (error 6) changes nothing");

	mkata(MAC_B, 0x40, 0x24, 0, 1, 0);
	run(60, 1500);
	is_int(O.changed, 0, "changed: an ATA read changes nothing");
}

int main(void)
{
	test_addressing();
	test_reply_header();
	test_padding();
	test_version_and_unknown();
	test_ata_table();
	test_ata_io_failed();
	test_identify();
	test_qconfig();
	test_mask();
	test_reserve();
	test_changed();
	return done_testing();
}
