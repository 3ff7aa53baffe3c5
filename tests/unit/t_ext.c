/*
 * t_ext.c - unit tests of the AoEde Extensions core (proto/ext, tagwin,
 * peers, coalesce and their dispatch): table parser, reply casing, tag
 * windows, duplicate writes, per-initiator state, coalesced reads.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/aoe.h"
#include "proto/coalesce.h"
#include "proto/ext.h"
#include "proto/frame.h"
#include "proto/peers.h"
#include "proto/tagwin.h"
#include "proto/target.h"
#include "proto/wire.h"
#include "tap.h"
#include "frames.h"

static const uint8_t MAC_C[6] = { 0x02, 0, 0, 0, 0, 0xcc };

static struct tagwin W;

#define N(a) (sizeof (a) / sizeof (a)[0])

static size_t mkata(const uint8_t src[6], const uint8_t tag[4], uint8_t aflags, uint8_t cmd,
		    uint64_t lba, uint8_t count, size_t payload)
{
	mkhdr(src, AOE_CMD_ATA, tag);
	req[ATA_OFF_AFLAGS] = aflags;
	req[ATA_OFF_SCNT] = count;
	req[ATA_OFF_CMD] = cmd;
	put_le48(req + ATA_OFF_LBA, lba);
	for (size_t i = 0; i < payload; i++)
		req[ATA_OFF_DATA + i] = (uint8_t)(i * 7);
	return ATA_HDR_LEN + payload < 60 ? 60 : ATA_HDR_LEN + payload;
}

static void be_tag(uint8_t tag[4], uint32_t v) { put_be32(tag, v); }

/* WRITE EXT of one sector at lba with a big-endian tag value. */
static size_t mkwrite(const uint8_t src[6], uint32_t tag, uint64_t lba)
{
	uint8_t t[4];
	be_tag(t, tag);
	return mkata(src, t, 0x41, ATA_WRITE_EXT, lba, 1, 512);
}

static int reply_err(void)
{
	return (out[AOE_OFF_VERFLAGS] & AOE_FLAG_E) ? out[AOE_OFF_ERROR] : 0;
}


/* The features string of the peer with this MAC ("-" if it has no entry). */
static const char *features_of(const uint8_t mac[6])
{
	static char buf[64];
	uint8_t m[6];

	for (unsigned i = 0; i < aoe_target_peer_count(&T); i++) {
		aoe_target_peer_features(&T, i, m, buf, sizeof buf);
		if (memcmp(m, mac, 6) == 0)
			return buf;
	}
	return "-";
}

/* ---- the table parser ---------------------------------------------------- */

struct table_case {
	const char *what;
	const char *tab;
	size_t tlen;		/* bytes copied to offset 26 */
	int lfield;		/* L written at 24; -1: tlen */
	size_t len;		/* frame length; 0: 26 + tlen */
	int valid;
};

#define T_(lit) lit, sizeof(lit) - 1

static const struct table_case table_cases[] = {
	{ "empty list (L = 2)", T_("\0\0"), -1, 0, 1 },
	{ "one name, odd L = 7", T_("reset\0\0"), -1, 0, 1 },
	{ "one name, even L = 12", T_("tag_inc_le\0\0"), -1, 0, 1 },
	{ "two names, L = 27", T_("tag_inc_be\0coalesced_read\0\0"), -1, 0, 1 },
	{ "Ethernet padding after the table", T_("reset\0\0"), -1, 60, 1 },
	{ "non-zero junk after the table", T_("reset\0\0junk"), 7, 0, 1 },
	{ "frame exactly 26 + L", T_("reset\0\0"), -1, 33, 1 },
	{ "frame one short of 26 + L", T_("reset\0\0"), -1, 32, 0 },
	{ "frame of 25 bytes", T_("\0\0"), -1, 25, 0 },
	{ "frame of 24 bytes", T_("\0\0"), -1, 24, 0 },
	{ "L = 0", T_("\0\0"), 0, 60, 0 },
	{ "L = 1", T_("\0\0"), 1, 60, 0 },
	{ "L = 65535 in a 60-byte frame", T_("\0\0"), 65535, 60, 0 },
	{ "no final double NUL", T_("abc\0"), -1, 60, 0 },
	{ "last byte not NUL", T_("ab\0c"), -1, 60, 0 },
	{ "unterminated string", T_("reset"), -1, 60, 0 },
	{ "single NUL, L = 2 with a name byte", T_("a\0"), -1, 60, 0 },
	{ "empty string first, rest ignored", T_("\0a\0\0"), -1, 0, 1 },
};

static void test_table_parser(void)
{
	for (size_t i = 0; i < N(table_cases); i++) {
		const struct table_case *c = &table_cases[i];
		size_t tlen = 0, len;

		mkhdr(MAC_A, AOE_CMD_EXT, TAG_X);
		memcpy(req + EXT_OFF_TABLE, c->tab, c->tlen);
		put_le16(req + EXT_OFF_LEN_LE, (uint16_t)(c->lfield < 0 ? (int)c->tlen : c->lfield));
		len = c->len ? c->len : EXT_HDR_LEN + c->tlen;
		bool got = ext_table_ok(req, len, &tlen);
		ok(got == c->valid, "table: %s -> %s", c->what, c->valid ? "valid" : "invalid");
		if (got)
			is_int(tlen, get_le16(req + EXT_OFF_LEN_LE), "table: %s: L taken from offset 24", c->what);

		/* the dispatcher agrees: no reply and counted, or a reply of
		 * exactly 26 + L bytes */
		target_reset(1000);
		run_mtu(len, 1500);
		if (c->valid)
			ok(O.v == AOE_V_REPLY && O.len == EXT_HDR_LEN + tlen,
			   "dispatch: %s -> reply of 26 + L", c->what);
		else
			ok(O.v == AOE_V_DROP && O.drop == AOE_DROP_EXT_BADTABLE &&
			   T.st.drops[AOE_DROP_EXT_BADTABLE] == 1 && aoe_target_peer_count(&T) == 0,
			   "dispatch: %s -> dropped, counted, no peer", c->what);
	}
	ok(strcmp(aoe_drop_name(AOE_DROP_EXT_BADTABLE), "ext_badtable") == 0, "drop reason named ext_badtable");

	/* L is little-endian: 0x0700 read big-endian would be 1792 */
	mkhdr(MAC_A, AOE_CMD_EXT, TAG_X);
	req[EXT_OFF_LEN_LE] = 7;
	req[EXT_OFF_LEN_LE + 1] = 0;
	memcpy(req + EXT_OFF_TABLE, "reset\0\0", 7);
	size_t tlen;
	ok(ext_table_ok(req, 60, &tlen) && tlen == 7, "L at offset 24 is little-endian");

	/* the reply echoes the table, so it must fit one frame */
	static char big[1700];
	memset(big, 'x', sizeof big);
	big[sizeof big - 2] = big[sizeof big - 1] = 0;
	target_reset(1000);
	size_t len = mkext(MAC_A, big, sizeof big);
	run_mtu(len, 1500);
	ok(O.v == AOE_V_DROP && O.drop == AOE_DROP_EXT_BADTABLE, "table longer than one 1500-MTU frame: dropped");
	run_mtu(len, 9000);
	ok(O.v == AOE_V_REPLY && O.len == len, "the same table at MTU 9000: answered");
	is_int(T.st.ext_requests, 2, "ext_requests counts valid and invalid requests");
}

/* ---- negotiation and reply casing ------------------------------------------ */

struct casing_case {
	const char *what;
	const char *tab, *want;
	size_t tlen;
	const char *features;
	uint32_t delay;
};

#define C_(lit, want) lit, want, sizeof(lit) - 1

static const struct casing_case casing_cases[] = {
	{ "reset", C_("reset\0\0", "RESET\0\0"), "", 0 },
	{ "coalesced_read", C_("coalesced_read\0\0", "COALESCED_READ\0\0"), "coalesced_read", 0 },
	{ "tag_inc_le", C_("tag_inc_le\0\0", "TAG_INC_LE\0\0"), "tag_inc_le", 0 },
	{ "tag_inc_be", C_("tag_inc_be\0\0", "TAG_INC_BE\0\0"), "tag_inc_be", 0 },
	{ "tag_random", C_("tag_random\0\0", "TAG_RANDOM\0\0"), "tag_random", 0 },
	{ "last tag mode wins", C_("tag_inc_le\0tag_inc_be\0\0", "tag_inc_le\0TAG_INC_BE\0\0"), "tag_inc_be", 0 },
	{ "last of three tag modes wins", C_("tag_random\0tag_inc_be\0tag_inc_le\0\0",
	  "tag_random\0tag_inc_be\0TAG_INC_LE\0\0"), "tag_inc_le", 0 },
	{ "same tag mode twice: only the last", C_("tag_inc_le\0tag_inc_le\0\0", "tag_inc_le\0TAG_INC_LE\0\0"), "tag_inc_le", 0 },
	{ "reset after features cancels them", C_("tag_inc_be\0coalesced_read\0reset\0\0",
	  "tag_inc_be\0coalesced_read\0RESET\0\0"), "", 0 },
	{ "reset before features", C_("reset\0coalesced_read\0tag_random\0\0",
	  "RESET\0COALESCED_READ\0TAG_RANDOM\0\0"), "tag_random,coalesced_read", 0 },
	{ "coalesced_read twice: both in force", C_("coalesced_read\0coalesced_read\0\0",
	  "COALESCED_READ\0COALESCED_READ\0\0"), "coalesced_read", 0 },
	{ "unknown names kept lowercase", C_("foo\0coalesced_read\0crc16\0\0", "foo\0COALESCED_READ\0crc16\0\0"), "coalesced_read", 0 },
	{ "crc8x4", C_("crc8x4\0coalesced_read\0\0", "CRC8X4\0COALESCED_READ\0\0"), "coalesced_read,crc8x4", 0 },
	{ "crc8x4 undone by a later reset", C_("crc8x4\0reset\0\0", "crc8x4\0RESET\0\0"), "", 0 },
	{ "names are case-sensitive", C_("Reset\0TAG_INC_LE\0\0", "Reset\0TAG_INC_LE\0\0"), "", 0 },
	{ "no prefix matching", C_("rese\0reset_all\0tag_inc\0\0", "rese\0reset_all\0tag_inc\0\0"), "", 0 },
	{ "congestion with an id", C_("congestion\0" "42\0\0", "CONGESTION\0" "42\0\0"), "", 500 },
	{ "congestion with a 20-digit id", C_("congestion\0" "12345678901234567890\0\0",
	  "CONGESTION\0" "12345678901234567890\0\0"), "", 500 },
	{ "congestion with a 21-digit id: unknown", C_("congestion\0" "123456789012345678901\0\0",
	  "congestion\0" "123456789012345678901\0\0"), "", 0 },
	{ "congestion without an id: unknown", C_("congestion\0\0", "congestion\0\0"), "", 0 },
	{ "congestion with a non-decimal id: unknown", C_("congestion\0" "12a\0\0", "congestion\0" "12a\0\0"), "", 0 },
	{ "congestion then a name: the name is processed", C_("congestion\0reset\0\0", "congestion\0RESET\0\0"), "", 0 },
	{ "congestion id never mistaken for a name", C_("congestion\0" "7\0tag_inc_be\0\0",
	  "CONGESTION\0" "7\0TAG_INC_BE\0\0"), "tag_inc_be", 500 },
	{ "the first empty string ends the list", C_("reset\0\0tag_inc_le\0\0", "RESET\0\0tag_inc_le\0\0"), "", 0 },
	{ "empty list", C_("\0\0", "\0\0"), "", 0 },
};

static void test_casing(void)
{
	for (size_t i = 0; i < N(casing_cases); i++) {
		const struct casing_case *c = &casing_cases[i];
		target_reset(1000);
		size_t len = mkext(MAC_A, c->tab, c->tlen);
		run_mtu(len, 1500);
		bool pass = O.v == AOE_V_REPLY && O.len == EXT_HDR_LEN + c->tlen &&
			    memcmp(out + EXT_OFF_TABLE, c->want, c->tlen) == 0 &&
			    strcmp(features_of(MAC_A), c->features) == 0 && O.delay_ms == c->delay;
		ok(pass, "casing: %s", c->what);
		if (!pass)
			printf("#   v=%d len=%zu features=\"%s\" delay=%u\n", O.v, O.len,
			       features_of(MAC_A), O.delay_ms);
	}

	/* the reply around the table */
	target_reset(1000);
	size_t len = EXT(MAC_A, "tag_inc_le\0\0");
	req[AOE_OFF_MAJOR] = 0xff;
	req[AOE_OFF_MAJOR + 1] = 0xff;
	req[AOE_OFF_MINOR] = 0xff;
	run_mtu(len, 1500);
	ok(memcmp(out + AOE_OFF_DST, MAC_A, 6) == 0 && memcmp(out + AOE_OFF_SRC, MYMAC, 6) == 0,
	   "ext reply: MACs swapped");
	is_int(out[AOE_OFF_VERFLAGS], 0x18, "ext reply: version 1, R set, E never set");
	ok(get_be16(out + AOE_OFF_MAJOR) == 1 && out[AOE_OFF_MINOR] == 2, "ext reply: the target's shelf.slot");
	ok(out[AOE_OFF_CMD] == 0x23 && memcmp(out + AOE_OFF_TAG, TAG_X, 4) == 0, "ext reply: command and tag echoed");
	is_int(get_le16(out + EXT_OFF_LEN_LE), 12, "ext reply: L echoed little-endian");
	is_int(O.len, 38, "ext reply: 26 + L bytes (the caller pads)");
	is_int(O.tag, 0xdeadbeef, "outcome tag: the 4 tag bytes big-endian");

	/* features persist across requests and only change when named */
	target_reset(1000);
	NEG(MAC_A, "coalesced_read\0\0");
	NEG(MAC_A, "tag_inc_le\0unknown\0\0");
	ok(strcmp(features_of(MAC_A), "tag_inc_le,coalesced_read") == 0, "features accumulate across requests");
	ok(memcmp(out + EXT_OFF_TABLE, "TAG_INC_LE\0unknown\0\0", 20) == 0, "a request casing only its own names");
	NEG(MAC_A, "reset\0\0");
	ok(strcmp(features_of(MAC_A), "") == 0, "reset turns everything off");

	/* AoE error 1 stays for other unknown commands; 0x23 gets none */
	mkhdr(MAC_A, 0x22, TAG_X);
	run_mtu(60, 1500);
	ok(O.v == AOE_V_REPLY && reply_err() == AOE_ERR_BADCMD, "command 0x22 still -> AoE error 1");
	EXT(MAC_A, "\0\0");
	req[AOE_OFF_VERFLAGS] = 0x20;
	target_reset(1000);
	run_mtu(60, 1500);
	ok(reply_err() == AOE_ERR_BADVER && aoe_target_peer_count(&T) == 0,
	   "version 2 Extensions request -> error 5, no peer created");
}

/* ---- congestion probes ----------------------------------------------------- */

static void test_congestion(void)
{
	static const struct {
		const uint8_t *mac;
		const char *tab;
		size_t tlen;
		uint32_t delay;
		const char *what;
	} steps[] = {
		{ MAC_A, T_("congestion\0" "7\0\0"), 500, "first id from A: delayed" },
		{ MAC_A, T_("congestion\0" "7\0\0"), 0, "same id again: at once" },
		{ MAC_A, T_("coalesced_read\0congestion\0" "7\0\0"), 0, "same id with other names: at once" },
		{ MAC_A, T_("congestion\0" "8\0\0"), 500, "a new id: delayed" },
		{ MAC_B, T_("congestion\0" "8\0\0"), 500, "same id from B: delayed (per initiator)" },
		{ MAC_A, T_("congestion\0" "8\0\0"), 0, "A's id 8 again: at once" },
		{ MAC_A, T_("congestion\0" "08\0\0"), 500, "08 differs from 8 (ids compare as strings)" },
		{ MAC_A, T_("reset\0\0"), 0, "reset: no probe" },
		{ MAC_A, T_("reset\0congestion\0" "08\0\0"), 0, "reset keeps the last id" },
		{ MAC_A, T_("congestion\0\0"), 0, "congestion without id: no probe" },
		{ MAC_A, T_("congestion\0" "9\0congestion\0" "9\0\0"), 500, "two probes in one request: first new -> delayed" },
	};
	target_reset(1000);
	for (size_t i = 0; i < N(steps); i++) {
		negotiate(steps[i].mac, steps[i].tab, steps[i].tlen);
		ok(O.v == AOE_V_REPLY && O.delay_ms == steps[i].delay, "congestion: %s", steps[i].what);
	}
	is_int(T.st.ext_congestion_probes, 9, "probes counted per request with a valid id");
	is_int(T.st.ext_congestion_delays, 5, "delayed probes counted");
	run_mtu(mkwrite(MAC_A, 1, 0), 1500);
	is_int(O.delay_ms, 0, "no delay outside Extensions replies");
}

/* ---- the window, pure arithmetic ------------------------------------------- */

enum wop { W_WRITE, W_PASS, W_FORGET, W_CLEAR };

struct wstep {
	enum wop op;
	uint32_t tag;
	int want;		/* W_WRITE: verdict; W_PASS: reset? */
	const char *what;
};

#define M0 100000u

static const struct wstep win_steps[] = {
	{ W_WRITE, 100, TAGWIN_EXEC, "empty window: first write executes" },
	{ W_WRITE, 100, TAGWIN_DUP, "same tag again: duplicate" },
	{ W_WRITE, 101, TAGWIN_EXEC, "next tag: new" },
	{ W_WRITE, 99, TAGWIN_EXEC, "older unseen tag in the window: executes" },
	{ W_WRITE, 99, TAGWIN_DUP, "... and is a duplicate after" },
	{ W_WRITE, 110, TAGWIN_EXEC, "jump ahead by 9" },
	{ W_WRITE, 105, TAGWIN_EXEC, "a skipped tag was never seen: executes" },
	{ W_WRITE, 101, TAGWIN_DUP, "a tag before the jump is still remembered" },
	{ W_CLEAR, 0, 0, "-" },
	{ W_WRITE, M0, TAGWIN_EXEC, "M = 100000" },
	{ W_WRITE, M0 - 32767, TAGWIN_EXEC, "32767 behind: inside the window" },
	{ W_WRITE, M0 - 32767, TAGWIN_DUP, "32767 behind again: duplicate" },
	{ W_WRITE, M0 - 32768, TAGWIN_RESTART, "32768 behind: outside, window restarted" },
	{ W_WRITE, M0, TAGWIN_RESTART, "after the restart the old M is 32768 ahead: outside" },
	{ W_WRITE, M0 + 32767, TAGWIN_EXEC, "32767 ahead: new" },
	{ W_WRITE, M0, TAGWIN_DUP, "old M now 32767 behind: still a duplicate" },
	{ W_WRITE, M0 + 32767 + 32768, TAGWIN_RESTART, "32768 ahead: outside, restarted" },
	{ W_CLEAR, 0, 0, "-" },
	{ W_WRITE, 100, TAGWIN_EXEC, "stale bits: write 100" },
	{ W_WRITE, 32000, TAGWIN_EXEC, "M = 32000, 100 still inside" },
	{ W_WRITE, 100, TAGWIN_DUP, "100 is a duplicate at M = 32000" },
	{ W_WRITE, 32869, TAGWIN_EXEC, "M = 32869: skips 32868, whose bit was 100's" },
	{ W_WRITE, 32868, TAGWIN_EXEC, "skipped 32868 executes (the bit was cleared)" },
	{ W_CLEAR, 0, 0, "-" },
	{ W_WRITE, 0xfffffff0u, TAGWIN_EXEC, "wrap: M = 2^32 - 16" },
	{ W_WRITE, 0xffffffffu, TAGWIN_EXEC, "wrap: 2^32 - 1" },
	{ W_WRITE, 5, TAGWIN_EXEC, "wrap: 5 is 6 ahead of 2^32 - 1" },
	{ W_WRITE, 0xffffffffu, TAGWIN_DUP, "wrap: 2^32 - 1 behind 5 is a duplicate" },
	{ W_WRITE, 0xfffffff0u, TAGWIN_DUP, "wrap: 2^32 - 16 still remembered" },
	{ W_WRITE, 0xfffffff5u, TAGWIN_EXEC, "wrap: skipped 2^32 - 11 executes" },
	{ W_WRITE, 5u - 32767u, TAGWIN_EXEC, "wrap: 32767 behind 5, below zero: inside" },
	{ W_WRITE, 5u - 32768u, TAGWIN_RESTART, "wrap: 32768 behind 5, below zero: outside" },
	{ W_CLEAR, 0, 0, "-" },
	{ W_WRITE, 0, TAGWIN_EXEC, "tag 0 on an empty window: executes" },
	{ W_WRITE, 0, TAGWIN_EXEC, "tag 0 again: executes (never tracked)" },
	{ W_WRITE, 3, TAGWIN_EXEC, "tag 3 starts the window (tag 0 did not)" },
	{ W_WRITE, 0, TAGWIN_EXEC, "tag 0 inside a live window: executes" },
	{ W_WRITE, 0, TAGWIN_EXEC, "tag 0 never a duplicate" },
	{ W_CLEAR, 0, 0, "-" },
	{ W_WRITE, M0, TAGWIN_EXEC, "reads: M = 100000" },
	{ W_PASS, M0 + 65536, 0, "read 65536 ahead: window kept" },
	{ W_PASS, M0 - 32768, 0, "read 32768 behind: window kept" },
	{ W_PASS, 0, 0, "read with tag 0: window kept" },
	{ W_WRITE, M0, TAGWIN_DUP, "reads did not move the window" },
	{ W_PASS, M0 + 65537, 1, "read 65537 ahead: window emptied" },
	{ W_WRITE, M0, TAGWIN_EXEC, "after the reset the same tag executes" },
	{ W_PASS, M0 - 32769, 1, "read 32769 behind: window emptied" },
	{ W_PASS, M0 - 32769, 0, "read on an empty window: nothing to reset" },
	{ W_CLEAR, 0, 0, "-" },
	{ W_WRITE, 0xffffff00u, TAGWIN_EXEC, "reads, wrap: M = 2^32 - 256" },
	{ W_PASS, 65536 - 256, 0, "read 65536 ahead across zero: kept" },
	{ W_PASS, 65536 - 255, 1, "read 65537 ahead across zero: emptied" },
	{ W_CLEAR, 0, 0, "-" },
	{ W_WRITE, 10, TAGWIN_EXEC, "forget: write 10" },
	{ W_FORGET, 10, 0, "forget 10" },
	{ W_WRITE, 10, TAGWIN_EXEC, "forgotten write executes again" },
	{ W_WRITE, 10, TAGWIN_DUP, "... and is then a duplicate" },
	{ W_FORGET, 10 + 32768, 0, "forget a tag ahead of M: no effect" },
	{ W_WRITE, 10, TAGWIN_DUP, "10 still a duplicate" },
};

static void test_window(void)
{
	tagwin_clear(&W);
	for (size_t i = 0; i < N(win_steps); i++) {
		const struct wstep *s = &win_steps[i];
		switch (s->op) {
		case W_WRITE:
			is_int(tagwin_write(&W, s->tag), s->want, "window: %s", s->what);
			break;
		case W_PASS:
			is_int(tagwin_pass(&W, s->tag), s->want, "window: %s", s->what);
			break;
		case W_FORGET:
			tagwin_forget(&W, s->tag);
			break;
		case W_CLEAR:
			tagwin_clear(&W);
			break;
		}
	}
	tagwin_clear(&W);
	tagwin_write(&W, 1000);
	tagwin_write(&W, 1005);
	ok(tagwin_seen(&W, 1000) && tagwin_seen(&W, 1005) && !tagwin_seen(&W, 1003) && !tagwin_seen(&W, 0),
	   "window: seen reports written tags only");
}

/* ---- duplicate writes through the dispatcher -------------------------------- */

static void test_dup_write(void)
{
	uint8_t tag[4];

	target_reset(1000);
	NEG(MAC_A, "tag_inc_be\0\0");
	size_t len = mkwrite(MAC_A, 5, 4);
	run_mtu(len, 1500);
	ok(O.v == AOE_V_IO && O.ata.op == ATA_OP_WRITE, "tag_inc_be: first write of tag 5 is written");
	run_mtu(len, 1500);
	ok(O.v == AOE_V_DUPWRITE && O.len == 36 && O.ata.op == ATA_OP_NONE,
	   "same tag again: AOE_V_DUPWRITE, 36 bytes, nothing to write");
	ok(memcmp(out + AOE_OFF_DST, MAC_A, 6) == 0 && out[AOE_OFF_VERFLAGS] == 0x18 &&
	   get_be32(out + AOE_OFF_TAG) == 5 && out[AOE_OFF_CMD] == 0,
	   "dup reply: to the sender, R set, E clear, tag echoed");
	ok(out[ATA_OFF_AFLAGS] == 0x41 && out[ATA_OFF_ERR] == 0 && out[ATA_OFF_SCNT] == 0 &&
	   out[ATA_OFF_STATUS] == ATA_ST_DRDY && get_le48(out + ATA_OFF_LBA) == 4,
	   "dup reply: aflags echoed, error 0, count 0, status DRDY, LBA echoed");
	ok(O.ata.lba == 4 && O.ata.nsect == 1, "dup outcome keeps lba/nsect for the log");
	is_int(T.st.ext_dup_writes, 1, "ext_dup_writes counted");
	is_int(O.tag, 5, "outcome tag of the duplicate");

	/* WRITE (LBA28) is tracked too */
	be_tag(tag, 6);
	len = mkata(MAC_A, tag, 0x01, ATA_WRITE, 4, 1, 512);
	run_mtu(len, 1500);
	run_mtu(len, 1500);
	ok(O.v == AOE_V_DUPWRITE, "WRITE SECTORS (0x30) duplicate detected");

	/* a read of the same tag is never a duplicate */
	be_tag(tag, 5);
	len = mkata(MAC_A, tag, 0x40, ATA_READ_EXT, 4, 1, 0);
	run_mtu(len, 1500);
	ok(O.v == AOE_V_IO && O.ata.op == ATA_OP_READ, "read with a seen tag: read as usual");

	/* writes that would not be written leave the window alone */
	T.ata.readonly = true;
	run_mtu(mkwrite(MAC_A, 7, 4), 1500);
	ok(O.v == AOE_V_REPLY && out[ATA_OFF_ERR] == ATA_ER_ABRT, "read-only: write of tag 7 refused");
	T.ata.readonly = false;
	run_mtu(mkwrite(MAC_A, 7, 4), 1500);
	ok(O.v == AOE_V_IO, "... its retransmission is written, not acked as a duplicate");
	be_tag(tag, 8);
	run_mtu(mkata(MAC_A, tag, 0x41, ATA_WRITE_EXT, 4, 0, 0), 1500);
	ok(O.v == AOE_V_REPLY, "count-0 write of tag 8: nothing written");
	run_mtu(mkwrite(MAC_A, 8, 4), 1500);
	ok(O.v == AOE_V_IO, "tag 8 with a sector: written");
	be_tag(tag, 9);
	run_mtu(mkata(MAC_A, tag, 0x41, ATA_WRITE_EXT, 4, 1, 100), 1500);
	ok(O.v == AOE_V_REPLY && reply_err() == AOE_ERR_BADARG, "short-payload write of tag 9: error 2");
	run_mtu(mkwrite(MAC_A, 9, 4), 1500);
	ok(O.v == AOE_V_IO, "tag 9 complete: written");
	run_mtu(mkwrite(MAC_A, 10, 5000), 1500);
	ok(O.v == AOE_V_REPLY && out[ATA_OFF_ERR] == ATA_ER_IDNF, "out-of-range write of tag 10: IDNF");
	run_mtu(mkwrite(MAC_A, 10, 4), 1500);
	ok(O.v == AOE_V_IO, "tag 10 in range: written");

	/* a reservation refuses before ATA: the window is not touched */
	T.res.n = 1;
	memcpy(T.res.mac[0], MAC_B, 6);
	run_mtu(mkwrite(MAC_A, 11, 4), 1500);
	ok(reply_err() == AOE_ERR_RESERVED, "reserved elsewhere: write of tag 11 -> error 6");
	T.res.n = 0;
	run_mtu(mkwrite(MAC_A, 11, 4), 1500);
	ok(O.v == AOE_V_IO, "released: tag 11 written");

	/* the daemon's write failed: the retransmission must execute */
	run_mtu(mkwrite(MAC_A, 12, 4), 1500);
	be_tag(tag, 12);
	aoe_target_forget_write(&T, MAC_A, tag);
	run_mtu(mkwrite(MAC_A, 12, 4), 1500);
	ok(O.v == AOE_V_IO, "forget_write: the failed write's retransmission is written");
	run_mtu(mkwrite(MAC_A, 12, 4), 1500);
	ok(O.v == AOE_V_DUPWRITE, "... and a later copy is a duplicate again");
	aoe_target_forget_write(&T, MAC_C, tag);
	ok(aoe_target_peer_count(&T) == 1, "forget_write for an unknown MAC: no effect, no entry");

	/* a far read empties the window */
	uint64_t resets = T.st.ext_window_resets;
	be_tag(tag, 12 + 65536);
	run_mtu(mkata(MAC_A, tag, 0x40, ATA_READ_EXT, 0, 1, 0), 1500);
	is_int(T.st.ext_window_resets, resets, "read 65536 ahead: window kept");
	be_tag(tag, 12 + 65537);
	run_mtu(mkata(MAC_A, tag, 0x00, ATA_CHECK_POWER, 0, 0, 0), 1500);
	is_int(T.st.ext_window_resets, resets + 1, "CHECK POWER 65537 ahead: window reset, counted");
	run_mtu(mkwrite(MAC_A, 12, 4), 1500);
	ok(O.v == AOE_V_IO, "after the reset tag 12 is written");
	run_mtu(mkwrite(MAC_A, 12 + 40000, 4), 1500);
	is_int(T.st.ext_window_resets, resets + 2, "write 40000 ahead: window restarted, counted");

	/* without negotiation there is no duplicate detection */
	run_mtu(mkwrite(MAC_B, 5, 4), 1500);
	run_mtu(mkwrite(MAC_B, 5, 4), 1500);
	ok(O.v == AOE_V_IO, "initiator without Extensions: same tag twice is written twice");
	ok(aoe_target_peer_count(&T) == 1, "ATA frames from unknown MACs create no entry");
	NEG(MAC_C, "coalesced_read\0tag_random\0\0");
	run_mtu(mkwrite(MAC_C, 5, 4), 1500);
	run_mtu(mkwrite(MAC_C, 5, 4), 1500);
	ok(O.v == AOE_V_IO, "tag_random / coalesced_read only: no duplicate detection");
	ok(O.tag_random, "tag_random peer: outcome says tag_random");
	run_mtu(mkwrite(MAC_A, 99, 4), 1500);
	ok(!O.tag_random, "tag_inc peer: not tag_random");
	run_mtu(mkwrite(MAC_B, 99, 4), 1500);
	ok(!O.tag_random, "plain initiator: not tag_random");

	/* negotiating a new tag mode starts a fresh window */
	run_mtu(mkwrite(MAC_A, 200, 4), 1500);
	NEG(MAC_A, "tag_inc_le\0\0");
	run_mtu(mkwrite(MAC_A, 200, 4), 1500);
	ok(O.v == AOE_V_IO, "tag mode changed: old marks forgotten");
	NEG(MAC_A, "coalesced_read\0\0");
	run_mtu(mkwrite(MAC_A, 200, 4), 1500);
	ok(O.v == AOE_V_DUPWRITE, "other names leave the window alone");
	NEG(MAC_A, "reset\0tag_inc_le\0\0");
	run_mtu(mkwrite(MAC_A, 200, 4), 1500);
	ok(O.v == AOE_V_IO, "reset + same mode: fresh window");
}

/* Byte order: the same raw tag bytes are neighbours in one order and far
 * apart in the other. */
static void test_byte_order(void)
{
	static const uint8_t le_a[4] = { 0x00, 0x80, 0, 0 };	/* LE 32768, BE 0x00800000 */
	static const uint8_t le_b[4] = { 0xff, 0x7f, 0, 0 };	/* LE 32767, BE 0xff7f0000 */
	static const uint8_t be_a[4] = { 0, 0, 0x80, 0x00 };	/* BE 32768 */
	static const uint8_t be_b[4] = { 0, 0, 0x7f, 0xff };	/* BE 32767 */
	static const struct {
		const char *tab;
		size_t tlen;
		const uint8_t *a, *b;
		enum aoe_verdict third;
		const char *what;
	} cases[] = {
		{ T_("tag_inc_le\0\0"), le_a, le_b, AOE_V_DUPWRITE, "tag_inc_le: LE neighbours, third is a duplicate" },
		{ T_("tag_inc_be\0\0"), le_a, le_b, AOE_V_IO, "tag_inc_be: same bytes are far apart: no duplicate" },
		{ T_("tag_inc_be\0\0"), be_a, be_b, AOE_V_DUPWRITE, "tag_inc_be: BE neighbours, third is a duplicate" },
		{ T_("tag_inc_le\0\0"), be_a, be_b, AOE_V_IO, "tag_inc_le: BE neighbours are far apart in LE" },
	};
	for (size_t i = 0; i < N(cases); i++) {
		target_reset(1000);
		negotiate(MAC_A, cases[i].tab, cases[i].tlen);
		run_mtu(mkata(MAC_A, cases[i].a, 0x41, ATA_WRITE_EXT, 1, 1, 512), 1500);
		enum aoe_verdict v1 = O.v;
		run_mtu(mkata(MAC_A, cases[i].b, 0x41, ATA_WRITE_EXT, 1, 1, 512), 1500);
		enum aoe_verdict v2 = O.v;
		run_mtu(mkata(MAC_A, cases[i].a, 0x41, ATA_WRITE_EXT, 1, 1, 512), 1500);
		ok(v1 == AOE_V_IO && v2 == AOE_V_IO && O.v == cases[i].third, "%s", cases[i].what);
	}
	target_reset(1000);
	NEG(MAC_A, "tag_inc_le\0\0");
	run_mtu(mkata(MAC_A, le_b, 0x41, ATA_WRITE_EXT, 1, 1, 512), 1500);
	is_int(O.tag, 0xff7f0000, "outcome tag is the raw bytes big-endian, whatever the mode");
}

/* ---- per-initiator isolation and the LRU table -------------------------- */

static void test_isolation(void)
{
	target_reset(1000);
	NEG(MAC_A, "tag_inc_be\0coalesced_read\0\0");
	NEG(MAC_B, "tag_inc_be\0\0");
	run_mtu(mkwrite(MAC_A, 5, 4), 1500);
	run_mtu(mkwrite(MAC_B, 5, 4), 1500);
	ok(O.v == AOE_V_IO, "B's tag 5 after A's tag 5: separate windows");
	NEG(MAC_B, "reset\0\0");
	run_mtu(mkwrite(MAC_A, 5, 4), 1500);
	ok(O.v == AOE_V_DUPWRITE, "B's reset leaves A's window");
	ok(strcmp(features_of(MAC_A), "tag_inc_be,coalesced_read") == 0 && strcmp(features_of(MAC_B), "") == 0,
	   "B's reset leaves A's features");
	run_mtu(mkwrite(MAC_B, 5, 4), 1500);
	run_mtu(mkwrite(MAC_B, 5 + 70000, 4), 1500);
	run_mtu(mkwrite(MAC_A, 5, 4), 1500);
	ok(O.v == AOE_V_DUPWRITE, "B's far tags leave A's window");
	NEG(MAC_B, "tag_inc_be\0\0");
	run_mtu(mkwrite(MAC_B, 5, 4), 1500);
	uint8_t tag[4];
	be_tag(tag, 5 + 70000 + 70000);
	run_mtu(mkata(MAC_B, tag, 0x40, ATA_READ_EXT, 0, 1, 0), 1500);
	run_mtu(mkwrite(MAC_A, 5, 4), 1500);
	ok(O.v == AOE_V_DUPWRITE, "B's far read leaves A's window");
	is_int(aoe_target_peer_count(&T), 2, "two peers");

	/* the features string and its bounds */
	char buf[8];
	uint8_t mac[6];
	size_t n = aoe_target_peer_features(&T, 0, mac, buf, sizeof buf);
	ok(n == strlen("tag_inc_be,coalesced_read") && strcmp(buf, "tag_inc") == 0 && memcmp(mac, MAC_A, 6) == 0,
	   "peer_features: full length returned, truncated string NUL-terminated");
	buf[0] = 'x';
	ok(aoe_target_peer_features(&T, 2, mac, buf, sizeof buf) == 0 && buf[0] == 0, "peer_features: no peer 2");
}

static void test_lru(void)
{
	uint8_t mac[6] = { 0x02, 0x77, 0, 0, 0, 0 };
	char buf[64];
	uint8_t m[6];

	target_reset(1000);
	for (unsigned i = 0; i < AOE_PEERS_MAX; i++) {
		mac[5] = (uint8_t)i;
		NEG(mac, "tag_inc_be\0\0");
		run_mtu(mkwrite(mac, 1, 0), 1500);
	}
	ok(aoe_target_peer_count(&T) == 64 && T.st.ext_peer_evictions == 0, "64 peers held, no eviction");
	/* peer 0 is the oldest, but an ATA frame makes it recently used */
	mac[5] = 0;
	run_mtu(mkwrite(mac, 2, 0), 1500);
	mac[5] = 64;
	NEG(mac, "coalesced_read\0\0");
	ok(aoe_target_peer_count(&T) == 64 && T.st.ext_peer_evictions == 1, "65th peer: one evicted, counted");
	bool has0 = false, has1 = false, has64 = false;
	for (unsigned i = 0; i < aoe_target_peer_count(&T); i++) {
		aoe_target_peer_features(&T, i, m, buf, sizeof buf);
		has0 |= m[5] == 0;
		has1 |= m[5] == 1;
		has64 |= m[5] == 64 && strcmp(buf, "coalesced_read") == 0;
	}
	ok(has0 && !has1 && has64, "the least recently used (peer 1) went; peer 0, used by ATA, stayed");
	mac[5] = 1;
	run_mtu(mkwrite(mac, 1, 0), 1500);
	ok(O.v == AOE_V_IO && aoe_target_peer_count(&T) == 64, "evicted peer 1: plain AoE, its window gone");
	mac[5] = 0;
	run_mtu(mkwrite(mac, 2, 0), 1500);
	ok(O.v == AOE_V_DUPWRITE, "peer 0 kept its window");
	NEG(mac, "\0\0");
	is_int(T.st.ext_peer_evictions, 1, "a known peer's request evicts nobody");

	/* a flood of Extensions requests from made-up MACs recycles its own
	 * entries: an initiator that does I/O keeps its window */
	target_reset(1000);
	NEG(MAC_A, "tag_inc_le\0\0");
	run_mtu(mkwrite(MAC_A, 7, 0), 1500);
	for (unsigned i = 0; i < 10 * AOE_PEERS_MAX; i++) {
		mac[4] = (uint8_t)(i >> 8);
		mac[5] = (uint8_t)i;
		NEG(mac, "tag_inc_le\0\0");
	}
	ok(T.st.ext_peer_evictions >= 9 * AOE_PEERS_MAX, "flood: %llu evictions",
	   (unsigned long long)T.st.ext_peer_evictions);
	run_mtu(mkwrite(MAC_A, 7, 0), 1500);
	ok(O.v == AOE_V_DUPWRITE, "flood of 640 made-up MACs: the writing initiator kept its window");

	/* masked senders never reach the table */
	target_reset(1000);
	T.mask.n = 1;
	memcpy(T.mask.mac[0], MAC_B, 6);
	NEG(MAC_A, "tag_inc_le\0\0");
	ok(O.v == AOE_V_DROP && O.drop == AOE_DROP_MASKED && aoe_target_peer_count(&T) == 0,
	   "masked sender's Extensions request: dropped, no entry");
}

/* ---- coalesced reads -------------------------------------------------- */

/* A READ primary plus descriptors; returns the exact (unpadded) length. */
static size_t mkcoalesced(const uint8_t src[6], uint8_t aflags, uint8_t cmd, uint64_t lba,
			  uint8_t count, uint8_t n, unsigned present,
			  const uint64_t *lbas, const uint8_t *counts)
{
	uint8_t tag[4];
	be_tag(tag, 0x1000);
	mkata(src, tag, aflags, cmd, lba, count, 0);
	req[CR_OFF_COUNT] = n;
	for (unsigned i = 0; i < present; i++) {
		uint8_t *d = req + CR_OFF_DESC + i * CR_DESC_LEN;
		put_be32(d + CR_D_TAG, 0x2000 + i);
		put_le48(d + CR_D_LBA, lbas[i]);
		memset(d + 10, 0x5a, 5);	/* reserved: ignored */
		d[CR_D_SCNT] = counts[i];
	}
	return CR_OFF_DESC + (size_t)present * CR_DESC_LEN;
}

static void subread(unsigned i, size_t len, unsigned mtu)
{
	memset(out, 0xee, sizeof out);
	aoe_target_subread(&T, req, len, i, MYMAC, mtu, out, &O);
}

static void test_coalesced(void)
{
	static const uint64_t lbas[] = { 10, 20, 998, 1000, 5 };
	static const uint8_t counts[] = { 1, 2, 2, 1, 3 };
	size_t len;

	target_reset(1000);
	NEG(MAC_A, "coalesced_read\0\0");
	len = mkcoalesced(MAC_A, 0x40, ATA_READ_EXT, 0, 1, 3, 3, lbas, counts);
	run_mtu(len, 1500);
	ok(O.v == AOE_V_IO && O.nsub == 3 && O.sub_ignored == 0, "3 descriptors that fit: nsub 3");
	run_mtu(len - 1, 1500);
	ok(O.nsub == 2 && O.sub_ignored == 1, "last descriptor one byte short: nsub 2, 1 ignored");
	is_int(T.st.ext_sub_ignored, 1, "ext_sub_ignored counted");
	len = mkcoalesced(MAC_A, 0x40, ATA_READ_EXT, 0, 1, 5, 2, lbas, counts);
	run_mtu(len, 1500);
	ok(O.nsub == 2 && O.sub_ignored == 3, "count 5 with 2 present: nsub 2, 3 ignored");
	len = mkcoalesced(MAC_A, 0x40, ATA_READ_EXT, 0, 1, 0, 0, lbas, counts);
	run_mtu(60, 1500);
	ok(O.v == AOE_V_IO && O.nsub == 0 && O.sub_ignored == 0, "plain READ padded to 60 (count byte 0): no sub-reads");
	run_mtu(36, 1500);
	ok(O.nsub == 0, "plain 36-byte READ: no sub-reads");
	run_mtu(37, 1500);
	ok(O.nsub == 0 && O.sub_ignored == 0, "count byte alone, 0: nothing");
	req[CR_OFF_COUNT] = 1;
	run_mtu(37, 1500);
	ok(O.nsub == 0 && O.sub_ignored == 1, "count byte 1 with no descriptor: ignored");

	len = mkcoalesced(MAC_B, 0x40, ATA_READ_EXT, 0, 1, 3, 3, lbas, counts);
	run_mtu(len, 1500);
	ok(O.v == AOE_V_IO && O.nsub == 0 && O.sub_ignored == 0 && O.len == 36 + 512,
	   "without coalesced_read: trailing bytes ignored, plain read");
	NEG(MAC_C, "tag_inc_le\0\0");
	len = mkcoalesced(MAC_C, 0x40, ATA_READ_EXT, 0, 1, 3, 3, lbas, counts);
	run_mtu(len, 1500);
	ok(O.nsub == 0, "peer with other features only: no sub-reads");

	/* the sub-reads */
	len = mkcoalesced(MAC_A, 0x40, ATA_READ_EXT, 0, 1, 5, 5, lbas, counts);
	req[AOE_OFF_MAJOR] = 0xff;
	req[AOE_OFF_MAJOR + 1] = 0xff;
	run_mtu(len, 1500);
	ok(O.nsub == 5, "5 descriptors");
	subread(1, len, 1500);
	ok(O.v == AOE_V_IO && O.ata.op == ATA_OP_READ && O.ata.lba == 20 && O.ata.nsect == 2 &&
	   O.len == 36 + 1024, "sub-read 1: READ of 2 sectors at 20");
	ok(memcmp(out + AOE_OFF_DST, MAC_A, 6) == 0 && memcmp(out + AOE_OFF_SRC, MYMAC, 6) == 0 &&
	   get_be16(out + AOE_OFF_TYPE) == AOE_ETHERTYPE && out[AOE_OFF_VERFLAGS] == 0x18 &&
	   out[AOE_OFF_ERROR] == 0 && get_be16(out + AOE_OFF_MAJOR) == 1 && out[AOE_OFF_MINOR] == 2 &&
	   out[AOE_OFF_CMD] == 0, "sub-read reply: the primary's reply header");
	ok(get_be32(out + AOE_OFF_TAG) == 0x2001 && O.tag == 0x2001, "sub-read reply: the descriptor's tag");
	ok(out[ATA_OFF_AFLAGS] == 0x40 && out[ATA_OFF_ERR] == 0 && out[ATA_OFF_SCNT] == 0 &&
	   out[ATA_OFF_STATUS] == ATA_ST_DRDY && get_le48(out + ATA_OFF_LBA) == 20,
	   "sub-read reply: primary's aflags, status DRDY, count 0, the descriptor's LBA");
	subread(2, len, 1500);
	ok(O.v == AOE_V_IO && O.ata.lba == 998 && O.ata.nsect == 2, "sub-read 2: the last two sectors");
	subread(3, len, 1500);
	ok(O.v == AOE_V_REPLY && out[ATA_OFF_STATUS] == 0x41 && out[ATA_OFF_ERR] == ATA_ER_IDNF &&
	   get_be32(out + AOE_OFF_TAG) == 0x2003, "sub-read past the end: IDNF for its tag");
	subread(4, len, 1500);
	ok(O.v == AOE_V_REPLY && reply_err() == AOE_ERR_BADARG && get_be32(out + AOE_OFF_TAG) == 0x2004,
	   "sub-read of 3 sectors at MTU 1500: AoE error 2 for its tag");
	subread(4, len, 9000);
	ok(O.v == AOE_V_IO && O.ata.nsect == 3, "... the same at MTU 9000: read");
	subread(5, len, 1500);
	ok(O.v == AOE_V_DROP, "no descriptor 5: nothing");
	is_int(T.st.ext_sub_reads, 5, "ext_sub_reads counted");

	/* the primary's command decides: 0x20 masks to 28-bit LBAs */
	static const uint64_t big[] = { 0x100000005ULL };
	static const uint8_t one[] = { 1 };
	target_reset(0x200000000ULL);
	NEG(MAC_A, "coalesced_read\0\0");
	len = mkcoalesced(MAC_A, 0x00, ATA_READ, 0, 1, 1, 1, big, one);
	run_mtu(len, 1500);
	subread(0, len, 1500);
	ok(O.v == AOE_V_IO && O.ata.lba == 5 && out[ATA_OFF_AFLAGS] == 0, "0x20 primary: sub-read LBA limited to 28 bits");
	len = mkcoalesced(MAC_A, 0x40, ATA_READ_EXT, 0, 1, 1, 1, big, one);
	subread(0, len, 1500);
	ok(O.v == AOE_V_IO && O.ata.lba == 0x100000005ULL, "0x24 primary: the full 48-bit LBA");

	/* failed primaries still carry their sub-reads; refused ones do not */
	target_reset(1000);
	NEG(MAC_A, "coalesced_read\0\0");
	len = mkcoalesced(MAC_A, 0x40, ATA_READ_EXT, 5000, 1, 2, 2, lbas, counts);
	run_mtu(len, 1500);
	ok(O.v == AOE_V_REPLY && out[ATA_OFF_ERR] == ATA_ER_IDNF && O.nsub == 2, "primary IDNF: sub-reads still there");
	len = mkcoalesced(MAC_A, 0x40, ATA_READ_EXT, 0, 3, 2, 2, lbas, counts);
	run_mtu(len, 1500);
	ok(O.v == AOE_V_REPLY && reply_err() == AOE_ERR_BADARG && O.nsub == 2, "primary error 2: sub-reads still there");
	len = mkcoalesced(MAC_A, 0x40, ATA_READ_EXT, 0, 0, 2, 2, lbas, counts);
	run_mtu(len, 1500);
	ok(O.v == AOE_V_REPLY && O.nsub == 2, "primary of 0 sectors: sub-reads still there");
	T.res.n = 1;
	memcpy(T.res.mac[0], MAC_B, 6);
	len = mkcoalesced(MAC_A, 0x40, ATA_READ_EXT, 0, 1, 2, 2, lbas, counts);
	run_mtu(len, 1500);
	ok(reply_err() == AOE_ERR_RESERVED && O.nsub == 0, "primary refused by a reservation: no sub-reads");
	T.res.n = 0;
	len = mkata(MAC_A, TAG_X, 0x41, ATA_WRITE_EXT, 0, 1, 512 + 33);
	req[CR_OFF_COUNT] = 2;
	run_mtu(len, 1500);
	ok(O.v == AOE_V_IO && O.nsub == 0, "a WRITE's payload is never read as descriptors");
	subread(0, len, 1500);
	ok(O.v == AOE_V_DROP, "sub-read of a WRITE: nothing");

	/* the descriptor parser alone: a 1514-byte frame holds 92 */
	unsigned ign;
	memset(req, 0, sizeof req);
	req[CR_OFF_COUNT] = 200;
	ok(cr_count(req, 1514, &ign) == 92 && ign == 108, "1514-byte frame: 92 descriptors fit");
}

/* ---- Query Config set resets the sender only ---------------------------------- */

static size_t mkqc(const uint8_t src[6], uint8_t ccmd, const char *s)
{
	size_t n = strlen(s);
	mkhdr(src, AOE_CMD_CONFIG, TAG_X);
	req[QC_OFF_VERCMD] = (uint8_t)(0x10 | ccmd);
	put_be16(req + QC_OFF_CSLEN, (uint16_t)n);
	memcpy(req + QC_OFF_CS, s, n);
	return 60;
}

static void test_config_reset(void)
{
	target_reset(1000);
	NEG(MAC_A, "tag_inc_le\0coalesced_read\0\0");
	NEG(MAC_B, "tag_inc_le\0coalesced_read\0\0");
	run_mtu(mkwrite(MAC_A, 5, 4), 1500);
	run_mtu(mkqc(MAC_A, QC_READ, ""), 1500);
	ok(strcmp(features_of(MAC_A), "tag_inc_le,coalesced_read") == 0, "config read: features kept");
	run_mtu(mkqc(MAC_A, QC_SET, "x"), 1500);
	ok(reply_err() == 0 && (O.changed & AOE_CHANGED_CONFIG), "A's config set succeeds");
	ok(strcmp(features_of(MAC_A), "") == 0, "A's config set reset A's features");
	run_mtu(mkwrite(MAC_A, 5, 4), 1500);
	ok(O.v == AOE_V_IO, "... so A's writes are plain AoE again");
	ok(strcmp(features_of(MAC_B), "tag_inc_le,coalesced_read") == 0, "B's features kept");
	run_mtu(mkqc(MAC_B, QC_SET, "y"), 1500);
	ok(reply_err() == AOE_ERR_CFGSET && strcmp(features_of(MAC_B), "tag_inc_le,coalesced_read") == 0,
	   "B's failed set (error 4): B's features kept");
	run_mtu(mkqc(MAC_B, QC_FORCE_SET, "y"), 1500);
	ok(strcmp(features_of(MAC_B), "") == 0, "B's force set reset B's features");
	run_mtu(mkqc(MAC_C, QC_FORCE_SET, "z"), 1500);
	ok(aoe_target_peer_count(&T) == 2, "config set from an unknown MAC creates no entry");
}

int main(void)
{
	test_table_parser();
	test_casing();
	test_congestion();
	test_window();
	test_dup_write();
	test_byte_order();
	test_isolation();
	test_lru();
	test_coalesced();
	test_config_reset();
	return done_testing();
}
