/*
 * fuzz_frame.c - libFuzzer target for the whole AoE request dispatcher:
 * every command, from several initiators, with extensions negotiated and
 * not, so mask lists, reservations, config strings and Extensions state
 * set by one frame shape how the next is handled.
 *
 * Input: [setup] [records...]; each input starts from a fresh target.
 *   setup bits 0-1: what initiator 0 negotiated (nothing, coalesced_read,
 *         tag_inc_le + coalesced_read, tag_random); bits 2-3: initiator 1
 *         (nothing, tag_inc_be, congestion, tag_inc_be + coalesced_read);
 *         bit 4: read-only; bit 5: a 64-sector device (else 4096);
 *         bit 6: mask list = {0, 1}; bit 7: initiator 1 holds a reservation.
 *         Initiator 2 always has crc8x4 and tag_inc_le.
 *   record [who] [knobs] [len lo] [len hi] [len bytes]
 *   who   bits 0-2: sender 02:00:00:00:01:0<n> (7: the broadcast address);
 *         bit 6: sent to the broadcast address; bit 7: the bytes are a
 *         whole frame, else they start at the Ethertype (offset 12)
 *   knobs bit 0: MTU 9000; bit 1: the daemon reports the write as failed;
 *         bit 2: answer the sub-reads; bit 3: append the frame's crc8x4
 *         check (so writes of initiator 2 can pass it)
 *
 * Besides ASan/UBSan it checks the dispatcher's promises: a reply fits its
 * buffer and one frame; an I/O lies inside the device and writes only what
 * the frame carries, never on a read-only device; a masked-out sender gets
 * no answer; a sender reserved out gets no I/O and no sub-reads; a
 * duplicate write writes nothing; sub-read replies carry their
 * descriptor's tag; only the crc8x4 initiator's writes are refused by the
 * check, only its replies get one, and a reply with its check still fits.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/aoe.h"
#include "proto/crc8x4.h"
#include "proto/target.h"
#include "proto/wire.h"
#include "peer_has.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(c) do { if (!(c)) abort(); } while (0)

#define MAX_FRAMES	64
#define MAX_FRAME	9100

static const uint8_t MYMAC[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static struct aoe_target t;
static uint8_t out[16384], sub[16384];

static void sender(unsigned who, uint8_t mac[6])
{
	static const uint8_t base[6] = { 2, 0, 0, 0, 1, 0 };

	who &= 7;
	memcpy(mac, who == 7 ? BCAST : base, 6);
	if (who != 7)
		mac[5] = (uint8_t)who;
}

/* A frame of the given command from initiator who, body after the header. */
static void send(unsigned who, uint8_t cmd, const void *body, size_t n)
{
	uint8_t f[128] = { 0 };
	struct aoe_outcome o;

	memcpy(f, MYMAC, 6);
	sender(who, f + AOE_OFF_SRC);
	put_be16(f + AOE_OFF_TYPE, AOE_ETHERTYPE);
	f[AOE_OFF_VERFLAGS] = 0x10;
	put_be16(f + AOE_OFF_MAJOR, 1);
	f[AOE_OFF_MINOR] = 2;
	f[AOE_OFF_CMD] = cmd;
	memcpy(f + AOE_HDR_LEN, body, n);
	aoe_target_handle(&t, f, AOE_HDR_LEN + n < 60 ? 60 : AOE_HDR_LEN + n, MYMAC, 1500, out, &o);
	check(o.v == AOE_V_REPLY && !(out[AOE_OFF_VERFLAGS] & AOE_FLAG_E));
}

static void negotiate(unsigned who, const char *tab, size_t tlen)
{
	uint8_t b[64];

	put_le16(b, (uint16_t)tlen);
	memcpy(b + 2, tab, tlen);
	send(who, AOE_CMD_EXT, b, 2 + tlen);
}

#define NEG(who, s) negotiate(who, s, sizeof s)	/* with the final NUL pair */

static void setup(uint8_t s)
{
	memset(&t, 0, sizeof t);
	t.shelf = 1;
	t.slot = 2;
	t.bufcnt = 16;
	t.ata.sectors = (s & 32) ? 64 : 4096;
	t.ata.readonly = s & 16;
	NEG(2, "crc8x4\0tag_inc_le\0");
	switch (s & 3) {
	case 1: NEG(0, "coalesced_read\0"); break;
	case 2: NEG(0, "tag_inc_le\0coalesced_read\0"); break;
	case 3: NEG(0, "tag_random\0"); break;
	}
	switch ((s >> 2) & 3) {
	case 1: NEG(1, "tag_inc_be\0"); break;
	case 2: NEG(1, "congestion\0" "12345\0"); break;
	case 3: NEG(1, "tag_inc_be\0coalesced_read\0"); break;
	}
	if (s & 64) {
		uint8_t m[4 + 2 * MASK_DIR_LEN] = { 0, MASK_EDIT, 0, 2 };
		for (unsigned i = 0; i < 2; i++) {
			m[4 + i * MASK_DIR_LEN + 1] = 1;	/* add */
			sender(i, m + 4 + i * MASK_DIR_LEN + 2);
		}
		send(0, AOE_CMD_MASK, m, sizeof m);
	}
	if (s & 128) {
		uint8_t r[8] = { RES_SET, 1 };
		sender(1, r + 2);
		send(1, AOE_CMD_RESERVE, r, sizeof r);
	}
	check(t.mask.n == ((s & 64) ? 2u : 0u) && t.res.n == ((s & 128) ? 1u : 0u));
	check(aoe_target_peer_count(&t) == 1u + !!(s & 3) + !!(s & 12));
}

static void check_io(const struct aoe_outcome *o, size_t len, unsigned mtu)
{
	if (o->v != AOE_V_IO || o->ata.op == ATA_OP_FLUSH)
		return;
	check(o->ata.op == ATA_OP_READ || o->ata.op == ATA_OP_WRITE);
	check(o->ata.lba + o->ata.nsect <= t.ata.sectors);
	check(o->ata.nsect >= 1 && o->ata.nsect <= aoe_max_sectors(mtu));
	if (o->ata.op == ATA_OP_WRITE) {
		check(ATA_HDR_LEN + (size_t)o->ata.nsect * 512 <= len);
		check(!t.ata.readonly);
	}
}

/* What the state before the frame promises about its outcome. */
static void check_access(const uint8_t *req, size_t len, const struct aoe_outcome *o,
			 bool masked_out, bool reserved_out)
{
	if (masked_out)
		check(o->v == AOE_V_DROP);
	if (reserved_out) {
		check(o->v != AOE_V_IO && o->v != AOE_V_DUPWRITE);
		check(o->nsub == 0);
	}
	if (o->v == AOE_V_DROP)
		return;
	check(o->len <= sizeof out && o->len >= AOE_HDR_LEN);
	check(memcmp(out + AOE_OFF_DST, req + AOE_OFF_SRC, 6) == 0);
	check(memcmp(out + AOE_OFF_TAG, req + AOE_OFF_TAG, 4) == 0);
	check(out[AOE_OFF_VERFLAGS] & AOE_FLAG_R);
	if (o->v == AOE_V_DUPWRITE)
		check(o->len == ATA_HDR_LEN && o->ata.op == ATA_OP_NONE);
}

/* crc8x4: only frames of an initiator that has it are refused by it or
 * get it, and the reply with its check (data in place) still fits one frame. */
static void check_crc(const uint8_t *req, size_t len, unsigned mtu, struct aoe_outcome *o,
		      uint8_t *rep)
{
	bool peer = len >= AOE_HDR_LEN && peer_has(&t, req + AOE_OFF_SRC, "crc8x4");
	size_t n;

	if (o->drop == AOE_DROP_CRC)
		check(peer && o->cmd == AOE_CMD_ATA);
	if (!o->crc)
		return;
	check(peer && o->cmd == AOE_CMD_ATA);
	if (o->v == AOE_V_DROP)
		return;
	n = aoe_reply_crc(rep, o->len);
	check(n == o->len || (n == o->len + CRC8X4_LEN && crc8x4_ok(rep, o->len)));
	check(n <= mtu + 14u && n <= aoe_reply_capacity(mtu));
}

static void subreads(const uint8_t *req, size_t len, unsigned mtu, unsigned nsub, bool crc)
{
	struct aoe_outcome s;

	for (unsigned i = 0; i < nsub; i++) {
		aoe_target_subread(&t, req, len, i, MYMAC, mtu, sub, &s);
		check(s.v == AOE_V_IO || s.v == AOE_V_REPLY);
		check(s.len <= mtu + 14u);
		s.crc = crc;	/* the daemon gives sub-reads the primary's */
		check_crc(req, len, mtu, &s, sub);
		check(memcmp(sub + AOE_OFF_TAG, req + CR_OFF_DESC + i * CR_DESC_LEN, 4) == 0);
		check(s.v != AOE_V_IO || s.ata.op == ATA_OP_READ);
		check_io(&s, len, mtu);
	}
}

/* Build the frame of one record into f; returns its length. */
static size_t frame(uint8_t who, const uint8_t *b, size_t n, uint8_t *f)
{
	if (who & 0x80) {
		memcpy(f, b, n);
		return n;
	}
	memcpy(f, (who & 0x40) ? BCAST : MYMAC, 6);
	sender(who, f + AOE_OFF_SRC);
	memcpy(f + AOE_OFF_TYPE, b, n);
	return AOE_OFF_TYPE + n;
}

static void one_record(uint8_t who, uint8_t knobs, const uint8_t *b, size_t n)
{
	static uint8_t f[MAX_FRAME + 12 + CRC8X4_LEN];
	unsigned mtu = (knobs & 1) ? 9000 : 1500;
	size_t len = frame(who, b, n, f);
	bool masked_out = false, reserved_out = false;

	if ((knobs & 8) && len >= CRC8X4_FROM)
		len = crc8x4_append(f, len);
	struct aoe_outcome o;
	uint8_t *req;

	if (len >= AOE_HDR_LEN) {
		masked_out = !mask_allows(&t.mask, f + AOE_OFF_SRC);
		reserved_out = !reserve_allows(&t.res, f + AOE_OFF_SRC);
	}
	/* a buffer of the frame's exact size: ASan sees any read past it */
	req = malloc(len ? len : 1);
	memcpy(req, f, len);
	aoe_target_handle(&t, req, len, MYMAC, mtu, out, &o);
	check_access(req, len, &o, masked_out, reserved_out);
	if (o.v != AOE_V_DROP) {
		check(o.len <= aoe_reply_capacity(mtu));
		if (o.cmd == AOE_CMD_ATA || o.cmd == AOE_CMD_EXT || o.cmd > AOE_CMD_RESERVE)
			check(o.len <= mtu + 14u);
	}
	check_io(&o, len, mtu);
	check_crc(req, len, mtu, &o, out);
	if ((knobs & 2) && o.v == AOE_V_IO && o.ata.op == ATA_OP_WRITE)
		aoe_target_forget_write(&t, req + AOE_OFF_SRC, req + AOE_OFF_TAG);
	if (knobs & 4)
		subreads(req, len, mtu, o.nsub, o.crc);
	check(aoe_target_peer_count(&t) <= AOE_PEERS_MAX);
	free(req);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t at = 1;

	if (size < 1 || size > 65536)
		return 0;
	setup(data[0]);
	for (int k = 0; k < MAX_FRAMES && size - at >= 4; k++) {
		size_t n = get_le16(data + at + 2);
		if (n > size - at - 4)
			n = size - at - 4;
		if (n > MAX_FRAME)
			n = MAX_FRAME;
		one_record(data[at], data[at + 1], data + at + 4, n);
		at += 4 + n;
	}
	return 0;
}
