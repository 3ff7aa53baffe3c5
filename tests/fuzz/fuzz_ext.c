/*
 * fuzz_ext.c - libFuzzer target for the AoEde Extensions core.
 *
 * Each input is a sequence of records, each one frame from one of up to
 * 128 initiators to a device on which initiators 0..3 start with
 * extensions negotiated (3: crc8x4, tag_inc_le, coalesced_read and
 * aoexd_coalesced_ack).  Each frame also goes to the table parser alone
 * (and, when valid, to the negotiation on a fresh state):
 *
 *   [who] [knobs] [len lo] [len hi] [len bytes]
 *   who   bits 0-6: sender 02:00:00:00:01:<who>; bit 7: the bytes are a
 *         whole frame, else command (1), tag (4) and the body after a
 *         synthesized AoE header for shelf 1 slot 2
 *   knobs bit 0: MTU 9000; bit 1: read-only; bit 2: the daemon reports the
 *         write as failed (forget_write); bit 3: answer the sub-reads;
 *         bit 4: append the frame's crc8x4 check
 *
 * Besides ASan/UBSan it checks the promises of the outcome: replies fit
 * their buffer and one frame, an I/O lies inside the device, a duplicate
 * write writes nothing, an Extensions reply differs from its request only
 * by upper-cased letters, sub-reads reply with their descriptor's tag.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/aoe.h"
#include "proto/crc8x4.h"
#include "proto/ext.h"
#include "proto/target.h"
#include "proto/wire.h"
#include "peer_has.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define SECTORS		4096
#define MAX_FRAMES	64

static const uint8_t MYMAC[6] = { 2, 0, 0, 0, 0, 1 };
static struct aoe_target t;
static uint8_t out[16384];

#define check(c) do { if (!(c)) abort(); } while (0)

static void sender(uint8_t who, uint8_t mac[6])
{
	static const uint8_t base[6] = { 2, 0, 0, 0, 1, 0 };
	memcpy(mac, base, 6);
	mac[5] = who & 0x7f;
}

/* Feed one frame (copied to a buffer of its exact size, so ASan sees any
 * read past its end). */
static void handle(const uint8_t *f, size_t len, unsigned mtu, struct aoe_outcome *o,
		   uint8_t **copy)
{
	*copy = malloc(len ? len : 1);
	memcpy(*copy, f, len);
	aoe_target_handle(&t, *copy, len, MYMAC, mtu, out, o);
}

static void negotiate(uint8_t who, const char *tab, size_t tlen)
{
	uint8_t f[96] = { 0 }, *copy;
	struct aoe_outcome o;

	memcpy(f, MYMAC, 6);
	sender(who, f + 6);
	put_be16(f + AOE_OFF_TYPE, AOE_ETHERTYPE);
	f[AOE_OFF_VERFLAGS] = 0x10;
	put_be16(f + AOE_OFF_MAJOR, 1);
	f[AOE_OFF_MINOR] = 2;
	f[AOE_OFF_CMD] = AOE_CMD_EXT;
	put_le16(f + EXT_OFF_LEN_LE, (uint16_t)tlen);
	memcpy(f + EXT_OFF_TABLE, tab, tlen);
	handle(f, EXT_HDR_LEN + tlen < 60 ? 60 : EXT_HDR_LEN + tlen, 1500, &o, &copy);
	check(o.v == AOE_V_REPLY);
	free(copy);
}

static void fresh_target(void)
{
	memset(&t, 0, sizeof t);
	t.shelf = 1;
	t.slot = 2;
	t.bufcnt = 16;
	t.ata.sectors = SECTORS;
	negotiate(0, "tag_inc_le\0coalesced_read\0\0", 28);
	negotiate(1, "tag_inc_be\0coalesced_read\0\0", 28);
	negotiate(2, "tag_random\0\0", 12);
	negotiate(3, "crc8x4\0tag_inc_le\0coalesced_read\0aoexd_coalesced_ack\0\0", 55);
}

/* Only a-z may change, and only to A-Z. */
static void check_casing(const uint8_t *in, const uint8_t *cased, size_t n)
{
	for (size_t i = 0; i < n; i++)
		check(cased[i] == in[i] ||
		      (in[i] >= 'a' && in[i] <= 'z' && cased[i] == in[i] - 'a' + 'A'));
}

/* The parser on its own, no dispatcher around it. */
static void fuzz_parser(const uint8_t *data, size_t size)
{
	struct ext_state s = { 0 };
	struct ext_result r;
	uint8_t *tab;
	size_t tlen;

	if (!ext_table_ok(data, size, &tlen))
		return;
	check(EXT_HDR_LEN + tlen <= size && tlen >= 2);
	tab = malloc(tlen);
	memcpy(tab, data + EXT_OFF_TABLE, tlen);
	ext_negotiate(&s, tab, tlen, &r);
	check_casing(data + EXT_OFF_TABLE, tab, tlen);
	check(r.delay == r.probe);	/* fresh state: every probe is new */
	free(tab);
}

static void check_io(const struct aoe_outcome *o, size_t len, unsigned mtu)
{
	if (o->v != AOE_V_IO || o->ata.op == ATA_OP_FLUSH)
		return;
	check(o->ata.lba + o->ata.nsect <= t.ata.sectors);
	check(o->ata.nsect <= aoe_max_sectors(mtu));
	if (o->ata.op == ATA_OP_WRITE) {
		check(36 + (size_t)o->ata.nsect * 512 <= len);
		check(!t.ata.readonly);
	}
}

static void check_reply(const uint8_t *req, size_t len, unsigned mtu,
			const struct aoe_outcome *o)
{
	if (len >= AOE_HDR_LEN && get_be16(req + AOE_OFF_TYPE) == AOE_ETHERTYPE)
		check(o->tag == get_be32(req + AOE_OFF_TAG));
	check(o->delay_ms == 0 || (o->delay_ms == EXT_CONG_DELAY_MS && o->cmd == AOE_CMD_EXT));
	check(aoe_target_peer_count(&t) <= AOE_PEERS_MAX);
	if (o->nsub || o->sub_ignored) {
		check(o->cmd == AOE_CMD_ATA && len > CR_OFF_COUNT);
		check(o->nsub + o->sub_ignored == req[CR_OFF_COUNT]);
		check(CR_OFF_DESC + (size_t)o->nsub * CR_DESC_LEN <= len);
	}
	if (o->v == AOE_V_DROP)
		return;
	check(o->len <= aoe_reply_capacity(mtu) && o->len <= sizeof out);
	if (o->cmd == AOE_CMD_ATA || o->cmd == AOE_CMD_EXT)
		check(o->len <= mtu + 14u);
	if (o->v == AOE_V_DUPWRITE)
		check(o->len == ATA_HDR_LEN && o->ata.op == ATA_OP_NONE &&
		      out[ATA_OFF_STATUS] == ATA_ST_DRDY && o->cmd == AOE_CMD_ATA);
	if (o->cmd == AOE_CMD_EXT && o->v == AOE_V_REPLY && !(out[AOE_OFF_VERFLAGS] & AOE_FLAG_E)) {
		check(o->len == EXT_HDR_LEN + (size_t)get_le16(req + EXT_OFF_LEN_LE));
		check(memcmp(out + EXT_OFF_LEN_LE, req + EXT_OFF_LEN_LE, 2) == 0);
		check_casing(req + EXT_OFF_TABLE, out + EXT_OFF_TABLE, o->len - EXT_HDR_LEN);
	}
	check_io(o, len, mtu);
}

/* crc8x4: only initiators that have it are checked and get checks; a
 * reply with its check still fits one frame. */
static void check_crc(const uint8_t *req, size_t len, unsigned mtu,
		      const struct aoe_outcome *o, uint8_t *rep)
{
	bool peer = len >= AOE_HDR_LEN && peer_has(&t, req + AOE_OFF_SRC, "crc8x4");
	size_t n;

	if (o->drop == AOE_DROP_CRC || o->crc)
		check(peer && o->cmd == AOE_CMD_ATA);
	if (!o->crc || o->v == AOE_V_DROP)
		return;
	n = aoe_reply_crc(rep, o->len);
	check(n == o->len || (n == o->len + CRC8X4_LEN && crc8x4_ok(rep, o->len)));
	check(n <= mtu + 14u && n <= aoe_reply_capacity(mtu));
}

static void subreads(const uint8_t *req, size_t len, unsigned mtu, unsigned nsub, bool crc)
{
	static uint8_t sub[16384];
	struct aoe_outcome s;

	/* past nsub there is no descriptor, unless nsub is 0 because the
	 * sender did not negotiate (sub-reads are only asked for i < nsub) */
	for (unsigned i = 0; i <= nsub; i++) {
		aoe_target_subread(&t, req, len, i, MYMAC, mtu, sub, &s);
		if (i == nsub) {
			if (nsub == 0)
				break;
			check(s.v == AOE_V_DROP);
			break;
		}
		check(s.v == AOE_V_IO || s.v == AOE_V_REPLY);
		check(s.len <= mtu + 14u && s.len <= sizeof sub);
		s.crc = crc;	/* the daemon gives sub-reads the primary's */
		check_crc(req, len, mtu, &s, sub);
		check(memcmp(sub + AOE_OFF_TAG, req + CR_OFF_DESC + i * CR_DESC_LEN, 4) == 0);
		check(s.v != AOE_V_IO || s.ata.op == ATA_OP_READ);
		check_io(&s, len, mtu);
	}
}

static void check_features(void)
{
	char buf[80], small[6];
	uint8_t mac[6];

	for (unsigned i = 0; i < aoe_target_peer_count(&t); i++) {
		size_t n = aoe_target_peer_features(&t, i, mac, buf, sizeof buf);
		check(n < sizeof buf && strlen(buf) == n);
		check(aoe_target_peer_features(&t, i, mac, small, sizeof small) == n);
		check(strlen(small) == (n < sizeof small ? n : sizeof small - 1));
	}
}

/* Build the frame of one record into f; returns its length or 0. */
static size_t frame(uint8_t who, const uint8_t *b, size_t n, uint8_t *f)
{
	if (who & 0x80) {
		memcpy(f, b, n);
		return n;
	}
	if (n < 5)
		return 0;
	memcpy(f, MYMAC, 6);
	sender(who, f + 6);
	put_be16(f + AOE_OFF_TYPE, AOE_ETHERTYPE);
	f[AOE_OFF_VERFLAGS] = 0x10;
	put_be16(f + AOE_OFF_MAJOR, 1);
	f[AOE_OFF_MINOR] = 2;
	f[AOE_OFF_CMD] = b[0];
	memcpy(f + AOE_OFF_TAG, b + 1, 4);
	memcpy(f + AOE_HDR_LEN, b + 5, n - 5);
	return AOE_HDR_LEN + n - 5;
}

static void one_record(uint8_t who, uint8_t knobs, const uint8_t *b, size_t n)
{
	static uint8_t f[10000 + CRC8X4_LEN];
	unsigned mtu = (knobs & 1) ? 9000 : 1500;
	struct aoe_outcome o;
	uint8_t *req;
	size_t len = frame(who, b, n, f);

	if (len == 0)
		return;
	if ((knobs & 16) && len >= CRC8X4_FROM)
		len = crc8x4_append(f, len);
	t.ata.readonly = knobs & 2;
	fuzz_parser(f, len);
	handle(f, len, mtu, &o, &req);
	check_reply(req, len, mtu, &o);
	check_crc(req, len, mtu, &o, out);
	/* only a write's 36-byte reply may share a frame */
	if (o.wack)
		check((o.v == AOE_V_IO && o.ata.op == ATA_OP_WRITE) ||
		      (o.v == AOE_V_DUPWRITE && o.len == ATA_HDR_LEN));
	if ((knobs & 4) && o.v == AOE_V_IO && o.ata.op == ATA_OP_WRITE)
		aoe_target_forget_write(&t, req + AOE_OFF_SRC, req + AOE_OFF_TAG);
	if (knobs & 8)
		subreads(req, len, mtu, o.nsub, o.crc);
	free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 0;

	if (size > 65536)
		return 0;
	fresh_target();
	for (int k = 0; k < MAX_FRAMES && size - at >= 4; k++) {
		size_t n = get_le16(data + at + 2);
		if (n > size - at - 4)
			n = size - at - 4;
		if (n > 9100)
			n = 9100;
		one_record(data[at], data[at + 1], data + at + 4, n);
		at += 4 + n;
	}
	check_features();
	return 0;
}
