/* target.c - the AoE request dispatcher for one exported device. */
#include "config.h"
#include "target.h"
#include "aoe.h"
#include "crc8x4.h"
#include "frame.h"
#include "target_ext.h"
#include "wire.h"

#include <string.h>

unsigned aoe_max_sectors(unsigned mtu)
{
	unsigned n = mtu > ATA_HDR_LEN ? (mtu - ATA_HDR_LEN) / ATA_SECTOR : 0;
	return n > 255 ? 255 : n;
}

size_t aoe_reply_capacity(unsigned mtu)
{
	size_t n = (size_t)mtu + 14;
	size_t id = ATA_HDR_LEN + 512;
	size_t qc = QC_HDR_LEN + QC_CS_MAX;
	size_t mk = MASK_HDR_LEN + MASK_MAX * MASK_DIR_LEN;

	if (n < id) n = id;
	if (n < qc) n = qc;
	if (n < mk) n = mk;
	return n;
}

static struct qc_params qc_params(const struct aoe_target *t, unsigned mtu)
{
	struct qc_params p = {
		.bufcnt = t->bufcnt,
		.fwver = AOEX_FWVER,
		.maxsect = (uint8_t)aoe_max_sectors(mtu),
	};
	return p;
}

static void drop(struct aoe_target *t, struct aoe_outcome *o, enum aoe_drop why)
{
	o->v = AOE_V_DROP;
	o->drop = why;
	t->st.drops[why]++;
}

void aoe_target_ata(struct aoe_target *t, const uint8_t *req, size_t len,
		    unsigned mtu, uint8_t *out, struct aoe_outcome *o)
{
	o->len = ata_handle(&t->ata, req, len, aoe_max_sectors(mtu), out, &o->ata);
	o->v = o->ata.op == ATA_OP_NONE ? AOE_V_REPLY : AOE_V_IO;
	if (o->ata.ata_error)
		t->st.ata_errors++;
}

static void handle_ata(struct aoe_target *t, struct ext_peer *p, const uint8_t *req,
		       size_t len, unsigned mtu, uint8_t *out, struct aoe_outcome *o)
{
	if (len < ATA_HDR_LEN) {
		drop(t, o, AOE_DROP_SHORT);
		return;
	}
	/* before anything reads the request's registers or marks its tag: a
	 * corrupted write gets no reply, so the initiator sends it again */
	if (p && aoe_ext_crc_bad(p, req, len)) {
		drop(t, o, AOE_DROP_CRC);
		return;
	}
	if (req[ATA_OFF_CMD] != ATA_IDENTIFY && !reserve_allows(&t->res, req + AOE_OFF_SRC)) {
		memcpy(out + ATA_OFF_AFLAGS, req + ATA_OFF_AFLAGS, ATA_HDR_LEN - ATA_OFF_AFLAGS);
		aoe_set_error(out, AOE_ERR_RESERVED);
		t->st.reserved_refused++;
		o->v = AOE_V_REPLY;
		o->len = ATA_HDR_LEN;
		return;
	}
	aoe_target_ata(t, req, len, mtu, out, o);
	aoe_ext_ata(t, p, req, len, o);
}

static void handle_ext(struct aoe_target *t, struct ext_peer **p, const uint8_t *req,
		       size_t len, unsigned mtu, uint8_t *out, struct aoe_outcome *o)
{
	struct ext_peer *np = aoe_ext_request(t, req, len, mtu, out, o);

	if (!np) {
		drop(t, o, AOE_DROP_EXT_BADTABLE);
		return;
	}
	*p = np;
}

void aoe_target_handle(struct aoe_target *t, const uint8_t *req, size_t len,
		       const uint8_t my_mac[6], unsigned mtu,
		       uint8_t *out, struct aoe_outcome *o)
{
	struct aoe_hdr h;

	if (!aoe_hdr_parse(req, len, &h)) {
		memset(o, 0, sizeof *o);
		drop(t, o, AOE_DROP_SHORT);
		return;
	}
	aoe_target_handle_hdr(t, &h, req, len, my_mac, mtu, out, o);
}

void aoe_target_handle_hdr(struct aoe_target *t, const struct aoe_hdr *hp,
			   const uint8_t *req, size_t len, const uint8_t my_mac[6],
			   unsigned mtu, uint8_t *out, struct aoe_outcome *o)
{
	const struct aoe_hdr h = *hp;
	bool changed = false, bad_len = false;
	struct qc_params qp;
	struct ext_peer *p;

	memset(o, 0, sizeof *o);
	o->cmd = h.cmd;
	o->tag = h.tag;
	if (h.flags & AOE_FLAG_R) {
		drop(t, o, AOE_DROP_RESPONSE);
		return;
	}
	if (!aoe_addressed(h.shelf, h.slot, t->shelf, t->slot)) {
		drop(t, o, AOE_DROP_NOT_ADDRESSED);
		return;
	}
	if (!mask_allows(&t->mask, req + AOE_OFF_SRC)) {
		drop(t, o, AOE_DROP_MASKED);
		return;
	}
	/* only initiators that sent an Extensions request have an entry:
	 * everyone else gets plain AoE */
	p = peers_find(&t->peers, req + AOE_OFF_SRC);

	aoe_reply_hdr(out, req, my_mac, t->shelf, t->slot);
	o->v = AOE_V_REPLY;

	/* An unknown version gets error 5 in a version-1 header: the spec
	 * defines the code for exactly this, and a silent target would look
	 * dead to a newer initiator instead of telling it to fall back. */
	if (h.version != AOE_VERSION) {
		aoe_set_error(out, AOE_ERR_BADVER);
		t->st.bad_version++;
		o->len = AOE_HDR_LEN;
		goto done;
	}

	switch (h.cmd) {
	case AOE_CMD_ATA:
		if (p)
			p->did_ata = true;	/* evicted last, see peers_get() */
		handle_ata(t, p, req, len, mtu, out, o);
		break;
	case AOE_CMD_CONFIG:
		if (len < QC_HDR_LEN) {
			drop(t, o, AOE_DROP_SHORT);
			break;
		}
		qp = qc_params(t, mtu);
		o->len = qc_handle(&t->qc, &qp, req, len, out, &changed, &bad_len);
		if (o->len == 0)
			drop(t, o, bad_len ? AOE_DROP_QC_BADLEN : AOE_DROP_QC_NOMATCH);
		/* AoEde resets its features on a config set because it has
		 * one global state; here only the sender's are reset, so one
		 * initiator's config set cannot switch another's tag window
		 * or coalescing off under it */
		if (changed) {
			o->changed |= AOE_CHANGED_CONFIG;
			if (p)
				peer_reset(p);
		}
		break;
	case AOE_CMD_MASK:
		if (len < MASK_HDR_LEN) {
			drop(t, o, AOE_DROP_SHORT);
			break;
		}
		o->len = mask_handle(&t->mask, req, len, out, &changed);
		if (changed)
			o->changed |= AOE_CHANGED_MASK;
		break;
	case AOE_CMD_RESERVE:
		if (len < RES_HDR_LEN) {
			drop(t, o, AOE_DROP_SHORT);
			break;
		}
		o->len = reserve_handle(&t->res, req, len, out, &changed);
		if (changed)
			o->changed |= AOE_CHANGED_RESERVE;
		break;
	case AOE_CMD_EXT:
		handle_ext(t, &p, req, len, mtu, out, o);
		break;
	default:
		/* echo the request, as vblade does, with error 1; never more
		 * than one frame of this interface holds (found by fuzzing:
		 * an oversized request overran the reply buffer) */
		if (len > (size_t)mtu + 14)
			len = (size_t)mtu + 14;
		memcpy(out + AOE_HDR_LEN, req + AOE_HDR_LEN, len - AOE_HDR_LEN);
		aoe_set_error(out, AOE_ERR_BADCMD);
		t->st.unknown_cmd++;
		o->len = len;
		break;
	}
done:
	if (o->v != AOE_V_DROP && (out[AOE_OFF_VERFLAGS] & AOE_FLAG_E))
		t->st.aoe_errors++;
	o->tag_random = p && p->ext.tagmode == EXT_TAG_RANDOM;
	o->crc = p && p->ext.crc8x4 && h.cmd == AOE_CMD_ATA;
	o->wack = p && p->ext.wack && h.cmd == AOE_CMD_ATA && len >= ATA_HDR_LEN &&
		  (o->v == AOE_V_IO || o->v == AOE_V_DUPWRITE) && o->ata.op != ATA_OP_FLUSH &&
		  (req[ATA_OFF_CMD] == ATA_WRITE || req[ATA_OFF_CMD] == ATA_WRITE_EXT) &&
		  (req[ATA_OFF_AFLAGS] & ATA_AFLAG_W);
}

size_t aoe_reply_crc(uint8_t *out, size_t len)
{
	return len > ATA_HDR_LEN ? crc8x4_append(out, len) : len;
}

size_t aoe_target_advert(const struct aoe_target *t, const uint8_t my_mac[6],
			 unsigned mtu, const uint8_t dst[6], uint8_t *out)
{
	struct qc_params qp = qc_params(t, mtu);
	size_t len;

	memset(out, 0, QC_HDR_LEN);
	memcpy(out + AOE_OFF_DST, dst, 6);
	memcpy(out + AOE_OFF_SRC, my_mac, 6);
	put_be16(out + AOE_OFF_TYPE, AOE_ETHERTYPE);
	out[AOE_OFF_VERFLAGS] = (uint8_t)(AOE_VERSION << 4 | AOE_FLAG_R);
	put_be16(out + AOE_OFF_MAJOR, t->shelf);
	out[AOE_OFF_MINOR] = t->slot;
	out[AOE_OFF_CMD] = AOE_CMD_CONFIG;
	len = qc_build_reply(&t->qc, &qp, QC_READ, out);
	return aoe_pad(out, len);
}

const char *aoe_drop_name(enum aoe_drop d)
{
	static const char *const names[AOE_DROP__COUNT] = {
		[AOE_DROP_NONE] = "none",
		[AOE_DROP_SHORT] = "short",
		[AOE_DROP_RESPONSE] = "response",
		[AOE_DROP_NOT_ADDRESSED] = "not_addressed",
		[AOE_DROP_MASKED] = "masked",
		[AOE_DROP_QC_NOMATCH] = "config_nomatch",
		[AOE_DROP_QC_BADLEN] = "config_badlen",
		[AOE_DROP_EXT_BADTABLE] = "ext_badtable",
		[AOE_DROP_CRC] = "crc_bad",
	};
	return (unsigned)d < AOE_DROP__COUNT ? names[d] : "?";
}
