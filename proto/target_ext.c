/* target_ext.c - the Extensions side of the dispatcher: negotiation,
 * duplicate writes, coalesced sub-reads, per-initiator bookkeeping. */
#include "config.h"
#include "target_ext.h"
#include "aoe.h"
#include "coalesce.h"
#include "crc8x4.h"
#include "frame.h"
#include "wire.h"

#include <string.h>

struct ext_peer *aoe_ext_request(struct aoe_target *t, const uint8_t *req, size_t len,
				 unsigned mtu, uint8_t *out, struct aoe_outcome *o)
{
	struct ext_result r;
	struct ext_peer *p;
	size_t tlen;
	bool evicted;

	t->st.ext_requests++;
	/* the reply echoes the table, so it must fit one frame too; a
	 * longer frame cannot have arrived on this interface anyway */
	if (!ext_table_ok(req, len, &tlen) || EXT_HDR_LEN + tlen > (size_t)mtu + 14)
		return NULL;
	p = peers_get(&t->peers, req + AOE_OFF_SRC, &evicted);
	if (evicted)
		t->st.ext_peer_evictions++;
	memcpy(out + EXT_OFF_LEN_LE, req + EXT_OFF_LEN_LE, EXT_HDR_LEN - EXT_OFF_LEN_LE + tlen);
	ext_negotiate(&p->ext, out + EXT_OFF_TABLE, tlen, &r);
	/* a new tag mode (or reset) starts a new counter: old marks would
	 * ack its first writes as duplicates */
	if (r.restart_window)
		tagwin_clear(&p->win);
	if (r.probe)
		t->st.ext_congestion_probes++;
	if (r.delay) {
		t->st.ext_congestion_delays++;
		o->delay_ms = EXT_CONG_DELAY_MS;
	}
	o->len = EXT_HDR_LEN + tlen;
	return p;
}

static bool tag_inc(const struct ext_peer *p)
{
	return p->ext.tagmode == EXT_TAG_INC_LE || p->ext.tagmode == EXT_TAG_INC_BE;
}

static uint32_t tag_value(const struct ext_peer *p, const uint8_t tag[4])
{
	return p->ext.tagmode == EXT_TAG_INC_LE ? get_le32(tag) : get_be32(tag);
}

static bool is_write(uint8_t cmd)
{
	return cmd == ATA_WRITE || cmd == ATA_WRITE_EXT;
}

static bool is_read(uint8_t cmd)
{
	return cmd == ATA_READ || cmd == ATA_READ_EXT;
}

bool aoe_ext_crc_bad(const struct ext_peer *p, const uint8_t *req, size_t len)
{
	size_t end = ATA_HDR_LEN + (size_t)req[ATA_OFF_SCNT] * ATA_SECTOR;

	/* the W flag or the command: one flipped bit cannot hide both */
	if (!p->ext.crc8x4 || !(is_write(req[ATA_OFF_CMD]) || (req[ATA_OFF_AFLAGS] & ATA_AFLAG_W)))
		return false;
	if (len >= end + CRC8X4_LEN)
		return !crc8x4_ok(req, end);
	/* shorter than its count says: the count (covered by the check) or
	 * the frame was damaged; exactly the data and no check is AoEde's
	 * unchecked write */
	return len < end;
}

/* The success reply ata_handle() wrote (DRDY, error 0, count 0, LBA
 * echoed) is already the acknowledgement; only the write is cancelled. */
static void dup_write(struct aoe_target *t, struct aoe_outcome *o)
{
	o->v = AOE_V_DUPWRITE;
	o->ata.op = ATA_OP_NONE;
	o->len = ATA_HDR_LEN;
	t->st.ext_dup_writes++;
}

static void window(struct aoe_target *t, struct ext_peer *p, const uint8_t *req,
		   struct aoe_outcome *o)
{
	uint32_t tag = tag_value(p, req + AOE_OFF_TAG);

	if (!is_write(req[ATA_OFF_CMD])) {
		if (tagwin_pass(&p->win, tag))
			t->st.ext_window_resets++;
		return;
	}
	/* a write refused by the ATA rules changes nothing on disk: its
	 * retransmission must not find it marked */
	if (o->ata.op != ATA_OP_WRITE)
		return;
	switch (tagwin_write(&p->win, tag)) {
	case TAGWIN_DUP:
		dup_write(t, o);
		break;
	case TAGWIN_RESTART:
		t->st.ext_window_resets++;
		break;
	case TAGWIN_EXEC:
		break;
	}
}

void aoe_ext_ata(struct aoe_target *t, struct ext_peer *p, const uint8_t *req,
		 size_t len, struct aoe_outcome *o)
{
	if (!p)
		return;
	if (tag_inc(p))
		window(t, p, req, o);
	if (p->ext.coalesced_read && is_read(req[ATA_OFF_CMD])) {
		o->nsub = cr_count(req, len, &o->sub_ignored);
		t->st.ext_sub_ignored += o->sub_ignored;
	}
}

void aoe_target_subread(struct aoe_target *t, const uint8_t *req, size_t len,
			unsigned i, const uint8_t my_mac[6], unsigned mtu,
			uint8_t *out, struct aoe_outcome *o)
{
	uint8_t f[ATA_HDR_LEN];
	struct cr_desc d;
	unsigned ignored;

	memset(o, 0, sizeof *o);
	o->cmd = AOE_CMD_ATA;
	if (len < ATA_HDR_LEN || !is_read(req[ATA_OFF_CMD]) || i >= cr_count(req, len, &ignored)) {
		o->v = AOE_V_DROP;
		return;
	}
	cr_desc_get(req, i, &d);
	/* a sub-read is the primary read it stands for: the same decision
	 * path, so it can never be more permissive than a primary */
	cr_synthesize(req, &d, f);
	aoe_reply_hdr(out, f, my_mac, t->shelf, t->slot);
	o->tag = get_be32(f + AOE_OFF_TAG);
	aoe_target_ata(t, f, sizeof f, mtu, out, o);
	t->st.ext_sub_reads++;
	if (out[AOE_OFF_VERFLAGS] & AOE_FLAG_E)
		t->st.aoe_errors++;
}

void aoe_target_forget_write(struct aoe_target *t, const uint8_t src[6],
			     const uint8_t tag[4])
{
	struct ext_peer *p = peers_find(&t->peers, src);

	if (p && tag_inc(p))
		tagwin_forget(&p->win, tag_value(p, tag));
}

unsigned aoe_target_peer_count(const struct aoe_target *t)
{
	return t->peers.n;
}

size_t aoe_target_peer_features(const struct aoe_target *t, unsigned i,
				uint8_t mac[6], char *buf, size_t n)
{
	if (i >= t->peers.n) {
		if (n)
			buf[0] = 0;
		return 0;
	}
	memcpy(mac, t->peers.p[i].mac, 6);
	return ext_features_string(&t->peers.p[i].ext, buf, n);
}
