/*
 * t_crc.c - unit tests of crc8x4 (proto/crc8x4, its negotiation, the
 * target's check of writes and its check of replies, the initiator's check
 * of replies): the CRC against an independent bitwise definition and
 * fixed vectors, per-initiator state, the tag window left alone by a
 * refused write.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/aoe.h"
#include "proto/crc8x4.h"
#include "proto/request.h"
#include "proto/target.h"
#include "proto/wire.h"
#include "frames.h"
#include "tap.h"

/* The CRC-8 of one byte, bit by bit, as the reference defines it: LSB
 * first, polynomial 0xB2 reflected. */
static uint8_t bitwise(uint8_t c)
{
	for (int i = 0; i < 8; i++)
		c = (uint8_t)((c & 1) ? (c >> 1) ^ 0xB2 : c >> 1);
	return c;
}

/* The four lanes one lane at a time: lane k takes bytes k, k + 4, ... */
static void lanes(const uint8_t *p, size_t n, uint8_t c[4])
{
	for (int k = 0; k < 4; k++) {
		c[k] = 0xFF;
		for (size_t i = (size_t)k; i < n; i += 4)
			c[k] = bitwise((uint8_t)(c[k] ^ p[i]));
	}
}

/* The header with a little-endian tag value. */
static void mkhdr_le(const uint8_t src[6], uint8_t cmd, uint32_t tag)
{
	uint8_t t[4];

	put_le32(t, tag);
	mkhdr(src, cmd, t);
}

/* WRITE EXT of n sectors at lba, little-endian tag, pattern data; with
 * crc the check follows.  Returns the frame length. */
static size_t mkwrite(const uint8_t src[6], uint32_t tag, uint64_t lba, uint8_t n, bool crc)
{
	size_t len = ATA_HDR_LEN + (size_t)n * ATA_SECTOR;

	mkhdr_le(src, AOE_CMD_ATA, tag);
	req[ATA_OFF_AFLAGS] = 0x41;
	req[ATA_OFF_SCNT] = n;
	req[ATA_OFF_CMD] = ATA_WRITE_EXT;
	put_le48(req + ATA_OFF_LBA, lba);
	for (size_t i = 0; i < (size_t)n * ATA_SECTOR; i++)
		req[ATA_OFF_DATA + i] = (uint8_t)(i * 7 + tag);
	if (crc)
		len = crc8x4_append(req, len);
	return len < 60 ? 60 : len;
}

static size_t mkread(const uint8_t src[6], uint32_t tag, uint8_t cmd, uint64_t lba, uint8_t n)
{
	mkhdr_le(src, AOE_CMD_ATA, tag);
	req[ATA_OFF_AFLAGS] = 0x40;
	req[ATA_OFF_SCNT] = n;
	req[ATA_OFF_CMD] = cmd;
	put_le48(req + ATA_OFF_LBA, lba);
	return 60;
}

static void test_crc(void)
{
	uint8_t buf[12 + 2 * 512], a[4], b[4];
	bool all = true;

	is_int(crc8x4_table(1), 0x3E, "table: T[1] = 0x3E");
	is_int(crc8x4_table(0x80), 0xB2, "table: T[0x80] = 0xB2");
	is_int(crc8x4_table(0xFF), 0x15, "table: T[0xFF] = 0x15");
	for (int i = 0; i < 256; i++)
		all = all && crc8x4_table((uint8_t)i) == bitwise((uint8_t)i);
	ok(all, "table: every entry is the bitwise CRC-8 of its index");

	for (size_t i = 0; i < sizeof buf; i++)
		buf[i] = (uint8_t)(i * 131 + 17);
	all = true;
	for (size_t n = 0; n <= sizeof buf; n += n < 40 ? 1 : 509) {
		crc8x4(buf, n, a);
		lanes(buf, n, b);
		all = all && memcmp(a, b, 4) == 0;
	}
	ok(all, "crc8x4: lane k over bytes k, k+4, ... for lengths 0..40, 12 + 512 n");

	crc8x4((const uint8_t *)"123456789", 9, a);
	ok(memcmp(a, "\x69\xa3\x5d\xf8", 4) == 0, "crc8x4(\"123456789\") = 69 a3 5d f8");
	/* the ATA header of a one-sector WRITE EXT at LBA 7 and the data
	 * (i * 7): the 524 bytes AoEde's aoecrc8x4_append() covers */
	memset(buf, 0, 12);
	buf[0] = 0x41;
	buf[3] = 0x40;
	buf[4] = 7;
	for (size_t i = 0; i < 512; i++)
		buf[12 + i] = (uint8_t)(i * 7);
	crc8x4(buf, 12 + 512, a);
	ok(memcmp(a, "\x64\x36\x90\x92", 4) == 0, "crc8x4 of a header and a sector = 64 36 90 92");

	memset(req, 0x5a, 100);
	is_int(crc8x4_append(req, 60), 64, "append: 4 bytes after the covered ones");
	ok(crc8x4_ok(req, 60), "append then ok");
	req[24] ^= 0x01;
	ok(!crc8x4_ok(req, 60), "a flipped bit at offset 24 (the first covered) is caught");
	req[24] ^= 0x01;
	req[63] ^= 0x80;
	ok(!crc8x4_ok(req, 60), "a flipped bit in the check itself is caught");
}

static void test_target_writes(void)
{
	size_t len;

	target_reset(1000);
	len = mkwrite(MAC_A, 10, 8, 2, false);
	req[len - 1] ^= 1;	/* garbage where a check would be: no check asked */
	len += 4;
	run(len);
	ok(O.v == AOE_V_IO && O.ata.op == ATA_OP_WRITE && !O.crc,
	   "plain initiator: trailing bytes after a write are not looked at");

	NEG(MAC_A, "crc8x4\0tag_inc_le\0\0");
	ok(O.v == AOE_V_REPLY && memcmp(out + EXT_OFF_TABLE, "CRC8X4\0TAG_INC_LE\0\0", 19) == 0,
	   "negotiated: CRC8X4 upper-cased");

	run(mkwrite(MAC_A, 11, 8, 2, true));
	ok(O.v == AOE_V_IO && O.ata.op == ATA_OP_WRITE && O.ata.lba == 8 && O.ata.nsect == 2,
	   "crc8x4 write with a good check: written");
	is_int(T.st.drops[AOE_DROP_CRC], 0, "... crc_bad 0");

	bool all = true;
	for (size_t bit = 24 * 8; bit < (36 + 1024 + 4) * 8; bit += bit < 36 * 8 ? 1 : 97) {
		len = mkwrite(MAC_A, 12, 8, 2, true);
		req[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		run(len);
		all = all && O.v == AOE_V_DROP && O.drop == AOE_DROP_CRC;
	}
	ok(all, "one flipped bit anywhere from offset 24 to the check (every header bit: "
	   "count, command, W flag, LBA): dropped, no reply");
	ok(T.st.drops[AOE_DROP_CRC] > 40, "... each counted crc_bad (%llu)",
	   (unsigned long long)T.st.drops[AOE_DROP_CRC]);

	/* tag 12 was never executed: its good retransmission is written */
	run(mkwrite(MAC_A, 12, 8, 2, true));
	ok(O.v == AOE_V_IO && O.ata.op == ATA_OP_WRITE,
	   "the refused write's tag is not marked: its retransmission is written");
	run(mkwrite(MAC_A, 12, 8, 2, true));
	ok(O.v == AOE_V_DUPWRITE, "... and then a duplicate (the window works as ever)");

	run(mkwrite(MAC_A, 13, 8, 2, false));
	ok(O.v == AOE_V_IO, "a write without the 4 bytes is taken unchecked (AoEde's rule)");
	len = mkwrite(MAC_A, 16, 8, 2, false);
	req[ATA_OFF_SCNT] = 3;
	run(len);
	ok(O.v == AOE_V_DROP && O.drop == AOE_DROP_CRC,
	   "a count beyond the frame: dropped as damaged, not error 2");
	len = mkwrite(MAC_A, 14, 8, 0, false);
	run(len);
	ok(O.v == AOE_V_DROP && O.drop == AOE_DROP_CRC,
	   "a zero-sector write padded to 60 bytes is checked (zeros are no check)");
	run(mkwrite(MAC_A, 15, 8, 0, true));
	ok(O.v == AOE_V_REPLY && !(out[AOE_OFF_VERFLAGS] & AOE_FLAG_E),
	   "a zero-sector write with its check: answered");

	len = mkwrite(MAC_B, 20, 8, 2, true);
	req[ATA_OFF_DATA] ^= 1;
	run(len);
	ok(O.v == AOE_V_IO && !O.crc, "another initiator, not negotiated: not checked");

	NEG(MAC_A, "reset\0\0");
	len = mkwrite(MAC_A, 30, 8, 2, true);
	req[ATA_OFF_DATA] ^= 1;
	run(len);
	ok(O.v == AOE_V_IO && !O.crc, "after reset: not checked any more");
}

static void test_target_replies(void)
{
	size_t len;

	target_reset(1000);
	run(mkread(MAC_A, 1, ATA_READ_EXT, 4, 2));
	ok(O.v == AOE_V_IO && !O.crc, "plain initiator: read outcome without crc");
	NEG(MAC_A, "crc8x4\0\0");
	ok(!O.crc, "the Extensions reply itself carries no check");

	run(mkread(MAC_A, 2, ATA_READ_EXT, 4, 2));
	ok(O.v == AOE_V_IO && O.crc && O.len == ATA_HDR_LEN + 1024, "crc8x4 read: outcome says crc");
	for (int i = 0; i < 1024; i++)
		out[ATA_OFF_DATA + i] = (uint8_t)(i ^ 0x3c);	/* the data the disk gave */
	len = aoe_reply_crc(out, O.len);
	is_int(len, ATA_HDR_LEN + 1024 + 4, "aoe_reply_crc: 4 bytes appended");
	ok(req_ata_crc_ok(out, len, 1024, 4), "the initiator's check passes");
	ok(!req_ata_crc_ok(out, len, 1024, 5), "... fails when the LBA echo is not what was sent");
	ok(!req_ata_crc_ok(out, len - 4, 1024, 4), "... fails when the check is missing");
	out[ATA_OFF_DATA + 1000] ^= 0x10;
	ok(!req_ata_crc_ok(out, len, 1024, 4), "... fails for a flipped data bit");
	out[ATA_OFF_DATA + 1000] ^= 0x10;
	out[ATA_OFF_STATUS] ^= ATA_ST_ERR;
	ok(!req_ata_crc_ok(out, len, 1024, 4), "... fails for a flipped status bit (a long 'error')");

	run(mkread(MAC_A, 3, ATA_READ_EXT, 999, 2));
	ok(O.v == AOE_V_REPLY && O.crc && O.len == ATA_HDR_LEN, "out of range: an error reply");
	is_int(aoe_reply_crc(out, O.len), ATA_HDR_LEN, "an error reply carries no data: no check");
	ok(req_ata_crc_ok(out, 60, 1024, 999), "the initiator takes a short error reply");

	mkhdr_le(MAC_A, AOE_CMD_ATA, 4);
	req[ATA_OFF_CMD] = ATA_IDENTIFY;
	req[ATA_OFF_SCNT] = 1;
	run(60);
	ok(O.v == AOE_V_REPLY && O.crc && O.len == ATA_HDR_LEN + 512, "IDENTIFY: outcome says crc");
	len = aoe_reply_crc(out, O.len);
	ok(len == ATA_HDR_LEN + 516 && req_ata_crc_ok(out, len, 512, 0),
	   "IDENTIFY's data carries the check (AoEde appends it to every reply with data)");
	is_int(req_ata_reply_data(req), 512, "req_ata_reply_data: IDENTIFY 512");
	mkread(MAC_A, 5, ATA_READ, 0, 2);
	is_int(req_ata_reply_data(req), 1024, "req_ata_reply_data: READ of 2 sectors");
	mkwrite(MAC_A, 5, 0, 2, false);
	is_int(req_ata_reply_data(req), 0, "req_ata_reply_data: a write 0");

	mkhdr_le(MAC_A, AOE_CMD_CONFIG, 6);
	run(60);
	ok(O.v == AOE_V_REPLY && !O.crc, "Query Config: no check");
	run(mkread(MAC_B, 7, ATA_READ_EXT, 4, 1));
	ok(O.v == AOE_V_IO && !O.crc, "another initiator's read: no check");
}

int main(void)
{
	test_crc();
	test_target_writes();
	test_target_replies();
	return done_testing();
}
