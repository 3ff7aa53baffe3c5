/*
 * t_wack.c - unit tests of coalesced write acknowledgements
 * (aoexd_coalesced_ack, proto/wack): the frame the target builds and the
 * initiator reads back, its limits per MTU, the check with crc8x4, and
 * which outcomes of the dispatcher may be coalesced (per initiator, writes
 * with the W flag only).
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/aoe.h"
#include "proto/crc8x4.h"
#include "proto/target.h"
#include "proto/wack.h"
#include "proto/wire.h"
#include "frames.h"
#include "tap.h"

/* The header with a big-endian tag value. */
static void mkhdr_be(const uint8_t src[6], uint8_t cmd, uint32_t tag)
{
	uint8_t t[4];

	put_be32(t, tag);
	mkhdr(src, cmd, t);
}

static size_t mkata(const uint8_t src[6], uint32_t tag, uint8_t aflags, uint8_t cmd,
		    uint64_t lba, uint8_t n)
{
	size_t len = ATA_HDR_LEN + ((cmd == ATA_WRITE || cmd == ATA_WRITE_EXT) ? n * 512u : 0);

	mkhdr_be(src, AOE_CMD_ATA, tag);
	req[ATA_OFF_AFLAGS] = aflags;
	req[ATA_OFF_SCNT] = n;
	req[ATA_OFF_CMD] = cmd;
	put_le48(req + ATA_OFF_LBA, lba);
	return len < 60 ? 60 : len;
}

/* The plain 36-byte reply to a write with tag and lba: what an ack is. */
static void plain_reply(uint8_t r[36], uint32_t tag, uint64_t lba, uint8_t status, uint8_t err)
{
	memcpy(r, MAC_A, 6);
	memcpy(r + 6, MYMAC, 6);
	put_be16(r + 12, AOE_ETHERTYPE);
	r[14] = 0x18;
	r[15] = 0;
	put_be16(r + 16, 1);
	r[18] = 2;
	r[19] = AOE_CMD_ATA;
	put_be32(r + 20, tag);
	r[24] = 0x41;
	r[25] = err;
	r[26] = 0;
	r[27] = status;
	put_le48(r + 28, lba);
	r[34] = r[35] = 0;
}

static void test_frame(void)
{
	uint8_t f[1600], rep[36], got[36];
	size_t len;
	bool bad;

	is_int(wack_max(1500, false), 93, "MTU 1500: 1 + (1514 - 37) / 16 = 93 acks a frame");
	is_int(wack_max(1500, true), 93, "... 93 with room for the crc8x4 check too");
	is_int(wack_max(9000, false), 256, "MTU 9000: 1 + 255 (the count byte's limit)");
	is_int(wack_max(60, false), 3, "a tiny MTU: what fits");

	memset(f, 0, sizeof f);
	plain_reply(rep, 100, 8, ATA_ST_DRDY, 0);
	wack_start(f, rep);
	is_int(wack_finish(f, false), 36, "one ack: the plain reply, 36 bytes (padded like any)");
	ok(memcmp(f, rep, 36) == 0 && f[36] == 0, "... byte for byte, count 0 where the padding is");
	is_int(wack_count(f, 60, false, &bad), 0, "the initiator finds no entries in it");

	for (uint32_t i = 1; i <= 3; i++) {
		plain_reply(rep, 100 + i, 8 + 2 * i, i == 2 ? ATA_ST_DRDY | ATA_ST_ERR : ATA_ST_DRDY,
			    i == 2 ? ATA_ER_ABRT : 0);
		wack_add(f, rep);
	}
	len = wack_finish(f, false);
	is_int(len, 37 + 3 * 16, "four acks: 37 + 3 entries of 16 bytes");
	is_int(f[36], 3, "count byte 3");
	is_int(wack_count(f, len, false, &bad), 3, "the initiator reads 3 entries");
	bool all = true;
	for (uint32_t i = 1; i <= 3; i++) {
		plain_reply(rep, 100 + i, 8 + 2 * i, i == 2 ? ATA_ST_DRDY | ATA_ST_ERR : ATA_ST_DRDY,
			    i == 2 ? ATA_ER_ABRT : 0);
		wack_entry(f, i - 1, got);
		all = all && memcmp(got, rep, 36) == 0;
	}
	ok(all, "each entry rebuilds its plain reply exactly, the failed one's status 0x41/ABRT too");
	is_int(wack_count(f, len - 1, false, &bad), 2, "an entry cut off by the frame's end is ignored");
	f[ATA_OFF_AFLAGS] &= (uint8_t)~ATA_AFLAG_W;
	is_int(wack_count(f, len, false, &bad), 0, "no W flag: not a write's reply, byte 36 is data");
	f[ATA_OFF_AFLAGS] |= ATA_AFLAG_W;

	len = wack_finish(f, true);
	is_int(len, 37 + 48 + 4, "with crc8x4: the check after the entries");
	ok(crc8x4_ok(f, 37 + 48), "... over bytes 24 .. the last entry");
	is_int(wack_count(f, len, true, &bad), 3, "the initiator checks and reads it");
	ok(!bad, "... not bad");
	f[40] ^= 0x04;
	is_int(wack_count(f, len, true, &bad), 0, "a flipped bit in an entry: nothing taken");
	ok(bad, "... and the whole frame is bad (its first ack too)");
	f[40] ^= 0x04;
	wack_count(f, len - 4, true, &bad);
	ok(bad, "a missing check is bad");
}

static void test_outcome(void)
{
	target_reset(1000);

	run(mkata(MAC_A, 5, 0x41, ATA_WRITE_EXT, 8, 2));
	ok(O.v == AOE_V_IO && !O.wack, "without negotiation: a write is not coalesced");
	NEG(MAC_A, "aoexd_coalesced_ack\0tag_inc_be\0\0");
	ok(O.v == AOE_V_REPLY && memcmp(out + EXT_OFF_TABLE, "AOEXD_COALESCED_ACK\0TAG_INC_BE\0\0", 32) == 0,
	   "aoexd_coalesced_ack negotiated: upper-cased");
	ok(!O.wack, "the Extensions reply is not coalesced");
	run(mkata(MAC_A, 6, 0x41, ATA_WRITE_EXT, 8, 2));
	ok(O.v == AOE_V_IO && O.wack, "a WRITE EXT with W: may be coalesced");
	run(mkata(MAC_A, 6, 0x41, ATA_WRITE_EXT, 8, 2));
	ok(O.v == AOE_V_DUPWRITE && O.wack, "its tag_inc duplicate too (answered like the write)");
	run(mkata(MAC_A, 7, 0x01, ATA_WRITE, 8, 2));
	ok(O.v == AOE_V_IO && O.wack, "a WRITE (LBA28) with W too");
	run(mkata(MAC_A, 8, 0x40, ATA_WRITE_EXT, 8, 2));
	ok(O.v == AOE_V_IO && !O.wack, "a write without the W flag: plain (byte 36 could not tell)");
	run(mkata(MAC_A, 9, 0x41, ATA_WRITE_EXT, 999, 2));
	ok(O.v == AOE_V_REPLY && !O.wack, "a write refused by the ATA rules (IDNF): answered at once, plain");
	run(mkata(MAC_A, 10, 0x41, ATA_WRITE_EXT, 8, 9));
	ok(O.v == AOE_V_REPLY && !O.wack && (out[AOE_OFF_VERFLAGS] & AOE_FLAG_E),
	   "an AoE error (count beyond the frame): plain, the E flag cannot be an entry");
	run(mkata(MAC_A, 11, 0x40, ATA_READ_EXT, 8, 2));
	ok(O.v == AOE_V_IO && !O.wack, "a read: never");
	mkata(MAC_A, 12, 0x00, ATA_FLUSH_EXT, 0, 0);
	req[ATA_OFF_CMD] = ATA_FLUSH_EXT;
	run(60);
	ok(O.v == AOE_V_IO && !O.wack, "FLUSH: never");
	run(mkata(MAC_B, 13, 0x41, ATA_WRITE_EXT, 8, 2));
	ok(O.v == AOE_V_IO && !O.wack, "another initiator that did not negotiate: plain");
	NEG(MAC_A, "reset\0\0");
	run(mkata(MAC_A, 14, 0x41, ATA_WRITE_EXT, 8, 2));
	ok(O.v == AOE_V_IO && !O.wack, "after reset: plain");
}

int main(void)
{
	test_frame();
	test_outcome();
	return done_testing();
}
