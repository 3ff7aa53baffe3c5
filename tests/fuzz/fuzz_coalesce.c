/*
 * fuzz_coalesce.c - libFuzzer target for coalesced-read descriptors
 * (proto/coalesce.c) and the sub-reads the dispatcher decides from them.
 *
 * Input: [knobs] [the frame from byte 24 on: ATA header, count, descriptors]
 *   knobs bit 0: MTU 9000; bit 1: the sender negotiated coalesced_read;
 *         bit 2: ... and tag_inc_le; bit 3: a 64-sector device (else 2^40);
 *         bit 4: the sender is reserved out; bit 5: command 0x20, else
 *         0x24, unless bit 6 keeps the input's command byte.
 * The AoE header (addressed to shelf 1 slot 2, tag 01020304) is fixed so
 * the fuzzer spends its time on the descriptors.
 *
 * Checks, besides ASan/UBSan: cr_count() never claims a descriptor past
 * the frame and accounts for every one the count byte names; a
 * synthesized request differs from the primary only in tag, count and
 * LBA; the dispatcher gives sub-reads only to a sender that negotiated
 * them and whose primary was not refused; every sub-read reply carries
 * its descriptor's tag, fits one frame, and asks for a read inside the
 * device and no larger than the MTU allows.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/aoe.h"
#include "proto/coalesce.h"
#include "proto/target.h"
#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(c) do { if (!(c)) abort(); } while (0)

static const uint8_t MYMAC[6] = { 2, 0, 0, 0, 0, 1 };
static const uint8_t PEER[6] = { 2, 0, 0, 0, 1, 7 };
static const uint8_t OTHER[6] = { 2, 0, 0, 0, 1, 8 };
static struct aoe_target t;
static uint8_t out[16384], sub[16384];

static void header(uint8_t *f, const uint8_t src[6], uint8_t cmd)
{
	memcpy(f, MYMAC, 6);
	memcpy(f + AOE_OFF_SRC, src, 6);
	put_be16(f + AOE_OFF_TYPE, AOE_ETHERTYPE);
	f[AOE_OFF_VERFLAGS] = 0x10;
	f[AOE_OFF_ERROR] = 0;
	put_be16(f + AOE_OFF_MAJOR, 1);
	f[AOE_OFF_MINOR] = 2;
	f[AOE_OFF_CMD] = cmd;
	put_be32(f + AOE_OFF_TAG, 0x01020304);
}

static void send_table(const uint8_t src[6], const char *tab, size_t tlen)
{
	uint8_t f[64] = { 0 };
	struct aoe_outcome o;

	header(f, src, AOE_CMD_EXT);
	put_le16(f + EXT_OFF_LEN_LE, (uint16_t)tlen);
	memcpy(f + EXT_OFF_TABLE, tab, tlen);
	aoe_target_handle(&t, f, 60, MYMAC, 1500, out, &o);
	check(o.v == AOE_V_REPLY);
}

/* OTHER reserves the device, so PEER is refused. */
static void reserve_out(void)
{
	uint8_t f[64] = { 0 };
	struct aoe_outcome o;

	header(f, OTHER, AOE_CMD_RESERVE);
	f[RES_OFF_RCMD] = RES_SET;
	f[RES_OFF_NMACS] = 1;
	memcpy(f + RES_OFF_MACS, OTHER, 6);
	aoe_target_handle(&t, f, 60, MYMAC, 1500, out, &o);
	check(o.v == AOE_V_REPLY && !(out[AOE_OFF_VERFLAGS] & AOE_FLAG_E));
}

static void fresh_target(uint8_t knobs)
{
	memset(&t, 0, sizeof t);
	t.shelf = 1;
	t.slot = 2;
	t.bufcnt = 16;
	t.ata.sectors = (knobs & 8) ? 64 : 1ULL << 40;
	if (knobs & 4)
		send_table(PEER, "tag_inc_le\0coalesced_read\0\0", 28);
	else if (knobs & 2)
		send_table(PEER, "coalesced_read\0\0", 16);
	if (knobs & 16)
		reserve_out();
}

/* The descriptor layer alone. */
static void descriptors(const uint8_t *req, size_t len)
{
	unsigned n, ignored;
	struct cr_desc d;
	uint8_t f[ATA_HDR_LEN];

	n = cr_count(req, len, &ignored);
	if (len <= CR_OFF_COUNT) {
		check(n == 0 && ignored == 0);
		return;
	}
	check(n + ignored == req[CR_OFF_COUNT]);
	check(CR_OFF_DESC + (size_t)n * CR_DESC_LEN <= len);
	check(ignored == 0 || CR_OFF_DESC + (size_t)(n + 1) * CR_DESC_LEN > len);
	for (unsigned i = 0; i < n; i++) {
		cr_desc_get(req, i, &d);
		cr_synthesize(req, &d, f);
		check(memcmp(f, req, AOE_OFF_TAG) == 0);
		check(memcmp(f + AOE_OFF_TAG, d.tag, 4) == 0);
		check(memcmp(f + ATA_OFF_AFLAGS, req + ATA_OFF_AFLAGS, 2) == 0);
		check(f[ATA_OFF_SCNT] == d.count && f[ATA_OFF_CMD] == req[ATA_OFF_CMD]);
		check(get_le48(f + ATA_OFF_LBA) == d.lba && d.lba < (1ULL << 48));
		check(memcmp(f + ATA_OFF_RES, req + ATA_OFF_RES, 2) == 0);
	}
}

static void subreads(const uint8_t *req, size_t len, unsigned mtu, unsigned nsub)
{
	struct aoe_outcome s;
	uint64_t lim;

	for (unsigned i = 0; i < nsub; i++) {
		aoe_target_subread(&t, req, len, i, MYMAC, mtu, sub, &s);
		check(s.v == AOE_V_IO || s.v == AOE_V_REPLY);
		check(s.len >= ATA_HDR_LEN && s.len <= mtu + 14u);
		check(memcmp(sub + AOE_OFF_TAG, req + CR_OFF_DESC + i * CR_DESC_LEN, 4) == 0);
		check(memcmp(sub + AOE_OFF_DST, req + AOE_OFF_SRC, 6) == 0);
		if (s.v != AOE_V_IO)
			continue;
		/* a 28-bit primary limits its sub-reads to 28-bit LBAs */
		lim = req[ATA_OFF_CMD] == ATA_READ ? ATA_LBA28_MAX : t.ata.sectors;
		check(s.ata.op == ATA_OP_READ);
		check(s.ata.nsect >= 1 && s.ata.nsect <= aoe_max_sectors(mtu));
		check(s.ata.lba + s.ata.nsect <= t.ata.sectors && s.ata.lba + s.ata.nsect <= lim);
		check(ATA_HDR_LEN + (size_t)s.ata.nsect * 512 <= mtu + 14u);
	}
	aoe_target_subread(&t, req, len, nsub, MYMAC, mtu, sub, &s);
	check(nsub == 0 || s.v == AOE_V_DROP);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t knobs, *req;
	unsigned mtu;
	size_t len;
	struct aoe_outcome o;

	if (size < 1 || size > 9100)
		return 0;
	knobs = data[0];
	mtu = (knobs & 1) ? 9000 : 1500;
	fresh_target(knobs);
	/* a buffer of the frame's exact size: ASan sees any read past it */
	len = AOE_HDR_LEN + size - 1;
	req = malloc(len);
	header(req, PEER, AOE_CMD_ATA);
	memcpy(req + AOE_HDR_LEN, data + 1, size - 1);
	if (len > ATA_OFF_CMD && !(knobs & 64))
		req[ATA_OFF_CMD] = (knobs & 32) ? ATA_READ : ATA_READ_EXT;

	descriptors(req, len);
	aoe_target_handle(&t, req, len, MYMAC, mtu, out, &o);
	if (!(knobs & 6) || (knobs & 16) || len < ATA_HDR_LEN ||
	    (req[ATA_OFF_CMD] != ATA_READ && req[ATA_OFF_CMD] != ATA_READ_EXT))
		check(o.nsub == 0 && o.sub_ignored == 0);
	check(o.nsub <= (len > CR_OFF_COUNT ? req[CR_OFF_COUNT] : 0u));
	subreads(req, len, mtu, o.nsub);
	free(req);
	return 0;
}
