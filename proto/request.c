/* request.c - AoE requests as an initiator builds them, replies as it
 * reads them (see request.h). */
#include "config.h"
#include "request.h"
#include "aoe.h"
#include "coalesce.h"
#include "crc8x4.h"
#include "ext.h"
#include "frame.h"
#include "wire.h"

#include <string.h>

void req_tag_put(const struct aoe_req_addr *a, uint8_t p[4], uint32_t tag)
{
	if (a->tag_order == AOE_TAG_LE)
		put_le32(p, tag);
	else
		put_be32(p, tag);
}

uint32_t req_tag_get(const struct aoe_req_addr *a, const uint8_t p[4])
{
	return a->tag_order == AOE_TAG_LE ? get_le32(p) : get_be32(p);
}

/* ------------------------------------------------------------ builders */

size_t req_hdr(uint8_t *f, const struct aoe_req_addr *a, uint8_t cmd, uint32_t tag)
{
	memcpy(f + AOE_OFF_DST, a->dst, 6);
	memcpy(f + AOE_OFF_SRC, a->src, 6);
	put_be16(f + AOE_OFF_TYPE, AOE_ETHERTYPE);
	f[AOE_OFF_VERFLAGS] = AOE_VERSION << 4;
	f[AOE_OFF_ERROR] = 0;
	put_be16(f + AOE_OFF_MAJOR, a->shelf);
	f[AOE_OFF_MINOR] = a->slot;
	f[AOE_OFF_CMD] = cmd;
	req_tag_put(a, f + AOE_OFF_TAG, tag);
	return AOE_HDR_LEN;
}

size_t req_ata(uint8_t *f, size_t cap, const struct aoe_req_addr *a, uint32_t tag,
	       const struct req_ata_regs *q, const uint8_t *data, size_t datalen)
{
	size_t len = ATA_HDR_LEN + datalen;

	/* the padding is written too, so the minimum must fit as well */
	if (len > cap || cap < AOE_MIN_FRAME)
		return 0;
	req_hdr(f, a, AOE_CMD_ATA, tag);
	f[ATA_OFF_AFLAGS] = q->aflags;
	f[ATA_OFF_FEATURE] = q->feature;
	f[ATA_OFF_SCNT] = q->count;
	f[ATA_OFF_CMD] = q->cmd;
	if (q->lba48) {
		put_le48(f + ATA_OFF_LBA, q->lba);
	} else {
		/* 28 bits; byte 3 doubles as the device register, where
		 * Linux sets the obsolete bits and LBA mode: 0xE0. */
		put_le48(f + ATA_OFF_LBA, q->lba & 0x00FFFFFF);
		f[ATA_OFF_LBA + 3] = (uint8_t)(0xE0 | ((q->lba >> 24) & 0x0F));
	}
	f[ATA_OFF_RES] = 0;
	f[ATA_OFF_RES + 1] = 0;
	if (data && datalen)
		memcpy(f + ATA_OFF_DATA, data, datalen);
	return aoe_pad(f, len);
}

size_t req_cr(uint8_t *f, size_t cap, const struct cr_desc *d, unsigned n)
{
	size_t len = CR_OFF_DESC + (size_t)n * CR_DESC_LEN;

	if (n < 1 || n > 255 || len > cap || cap < AOE_MIN_FRAME)
		return 0;
	f[CR_OFF_COUNT] = (uint8_t)n;
	for (unsigned i = 0; i < n; i++)
		cr_desc_put(f, i, &d[i]);
	return aoe_pad(f, len);
}

size_t req_qc(uint8_t *f, size_t cap, const struct aoe_req_addr *a, uint32_t tag,
	      uint8_t ccmd, const uint8_t *cs, size_t cslen)
{
	size_t len = QC_HDR_LEN + cslen;

	if (cslen > 0xFFFF || ccmd > 0x0F || len > cap || cap < AOE_MIN_FRAME)
		return 0;
	req_hdr(f, a, AOE_CMD_CONFIG, tag);
	memset(f + AOE_HDR_LEN, 0, QC_HDR_LEN - AOE_HDR_LEN);
	f[QC_OFF_VERCMD] = (uint8_t)((AOE_VERSION << 4) | ccmd);
	put_be16(f + QC_OFF_CSLEN, (uint16_t)cslen);
	if (cslen)
		memcpy(f + QC_OFF_CS, cs, cslen);
	return aoe_pad(f, len);
}

void req_mask_dir(uint8_t d[MASK_DIR_LEN], uint8_t dcmd, const uint8_t mac[6])
{
	d[0] = 0;
	d[1] = dcmd;
	memcpy(d + 2, mac, 6);
}

size_t req_mask(uint8_t *f, size_t cap, const struct aoe_req_addr *a, uint32_t tag,
		uint8_t mcmd, const uint8_t *dirs, unsigned ndirs)
{
	size_t len = MASK_HDR_LEN + (size_t)ndirs * MASK_DIR_LEN;

	if (ndirs > 255 || len > cap || cap < AOE_MIN_FRAME)
		return 0;
	req_hdr(f, a, AOE_CMD_MASK, tag);
	f[MASK_OFF_RES] = 0;
	f[MASK_OFF_MCMD] = mcmd;
	f[MASK_OFF_MERROR] = 0;
	f[MASK_OFF_DCOUNT] = (uint8_t)ndirs;
	if (ndirs)
		memmove(f + MASK_OFF_DIRS, dirs, (size_t)ndirs * MASK_DIR_LEN);
	return aoe_pad(f, len);
}

size_t req_res(uint8_t *f, size_t cap, const struct aoe_req_addr *a, uint32_t tag,
	       uint8_t rcmd, const uint8_t *macs, unsigned nmacs)
{
	size_t len = RES_HDR_LEN + (size_t)nmacs * 6;

	if (nmacs > 255 || len > cap || cap < AOE_MIN_FRAME)
		return 0;
	req_hdr(f, a, AOE_CMD_RESERVE, tag);
	f[RES_OFF_RCMD] = rcmd;
	f[RES_OFF_NMACS] = (uint8_t)nmacs;
	if (nmacs)
		memmove(f + RES_OFF_MACS, macs, (size_t)nmacs * 6);
	return aoe_pad(f, len);
}

size_t req_ext(uint8_t *f, size_t cap, const struct aoe_req_addr *a, uint32_t tag,
	       const uint8_t *table, size_t tlen, uint16_t lenfield)
{
	size_t len = EXT_OFF_TABLE + tlen;

	if (len > cap || cap < AOE_MIN_FRAME)
		return 0;
	req_hdr(f, a, AOE_CMD_EXT, tag);
	put_le16(f + EXT_OFF_LEN_LE, lenfield);
	if (tlen)
		memmove(f + EXT_OFF_TABLE, table, tlen);
	return aoe_pad(f, len);
}

/* ------------------------------------------------------------- parsers */

bool req_reply_for(const struct aoe_req_addr *a, const uint8_t *f, size_t len)
{
	if (len < AOE_HDR_LEN)
		return false;
	if (get_be16(f + AOE_OFF_TYPE) != AOE_ETHERTYPE)
		return false;
	if (!(f[AOE_OFF_VERFLAGS] & AOE_FLAG_R))
		return false;
	if (memcmp(f + AOE_OFF_DST, a->src, 6) != 0)
		return false;
	if (a->shelf != AOE_SHELF_ANY && get_be16(f + AOE_OFF_MAJOR) != a->shelf)
		return false;
	if (a->slot != AOE_SLOT_ANY && f[AOE_OFF_MINOR] != a->slot)
		return false;
	return true;
}

bool req_reply_answers(const struct aoe_req_addr *a, const uint8_t *f, size_t len,
		       const uint8_t *req)
{
	return req_reply_for(a, f, len) && f[AOE_OFF_CMD] == req[AOE_OFF_CMD] &&
	       memcmp(f + AOE_OFF_TAG, req + AOE_OFF_TAG, 4) == 0;
}

bool req_parse_qc(const uint8_t *f, size_t len, struct req_qc_reply *qc)
{
	size_t avail;

	memset(qc, 0, sizeof *qc);
	if (len < QC_HDR_LEN)
		return false;
	memcpy(qc->mac, f + AOE_OFF_SRC, 6);
	qc->shelf = get_be16(f + AOE_OFF_MAJOR);
	qc->slot = f[AOE_OFF_MINOR];
	qc->flags = f[AOE_OFF_VERFLAGS] & 0x0F;
	qc->error = f[AOE_OFF_ERROR];
	qc->bufcnt = get_be16(f + QC_OFF_BUFCNT);
	qc->fwver = get_be16(f + QC_OFF_FWVER);
	qc->scnt = f[QC_OFF_SCNT];
	qc->ver = f[QC_OFF_VERCMD] >> 4;
	qc->ccmd = f[QC_OFF_VERCMD] & 0x0F;
	/* trust the length field only as far as the frame goes */
	avail = len - QC_HDR_LEN;
	qc->cslen = get_be16(f + QC_OFF_CSLEN);
	if (qc->cslen > avail)
		qc->cslen = (uint16_t)avail;
	if (qc->cslen > QC_CS_MAX)
		qc->cslen = QC_CS_MAX;
	memcpy(qc->cs, f + QC_OFF_CS, qc->cslen);
	return true;
}

/* Start reading a reply into r (size bytes, zeroed first): the AoE flags
 * and error when the frame holds the common header (so an E reply too
 * short for its command can still be reported), and whether it holds the
 * command's hdr bytes as well. */
static bool begin(void *r, size_t size, const uint8_t *f, size_t len, size_t hdr,
		  uint8_t *flags, uint8_t *error)
{
	memset(r, 0, size);
	if (len >= AOE_HDR_LEN) {
		*flags = f[AOE_OFF_VERFLAGS] & 0x0F;
		*error = f[AOE_OFF_ERROR];
	}
	return len >= hdr;
}

/* How many of count entries of each bytes after hdr the frame holds. */
static unsigned held(size_t len, size_t hdr, size_t each, unsigned count)
{
	size_t fit = (len - hdr) / each;

	return count < fit ? count : (unsigned)fit;
}

bool req_parse_ata(const uint8_t *f, size_t len, struct req_ata_reply *r)
{
	bool whole = begin(r, sizeof *r, f, len, ATA_HDR_LEN, &r->flags, &r->aoe_error);

	r->len = len;
	if (!whole)
		return false;
	r->err = f[ATA_OFF_ERR];
	r->scnt = f[ATA_OFF_SCNT];
	r->status = f[ATA_OFF_STATUS];
	r->lba = get_le48(f + ATA_OFF_LBA);
	return true;
}

bool req_ata_failed(const struct req_ata_reply *r)
{
	if (r->flags & AOE_FLAG_E)
		return true;
	/* a reply too short to hold the ATA registers is no success either */
	return r->len < ATA_HDR_LEN || (r->status & ATA_ST_ERR);
}

bool req_ata_crc_ok(const uint8_t *f, size_t len, size_t data, uint64_t lba)
{
	struct req_ata_reply r;
	bool whole = req_parse_ata(f, len, &r);

	if (!data)
		return true;
	/* a reply long enough to carry the data is checked whatever its
	 * status says: the status byte is covered too */
	if (len >= ATA_HDR_LEN + data + CRC8X4_LEN)
		return crc8x4_ok(f, ATA_HDR_LEN + data) && r.lba == (lba & 0xFFFFFFFFFFFFULL);
	/* shorter: only an error reply, which carries neither */
	return !whole || req_ata_failed(&r);
}

size_t req_ata_reply_data(const uint8_t *req)
{
	switch (req[ATA_OFF_CMD]) {
	case ATA_READ:
	case ATA_READ_EXT:
		return (size_t)req[ATA_OFF_SCNT] * ATA_SECTOR;
	case ATA_IDENTIFY:
		return 512;
	default:
		return 0;
	}
}

bool req_parse_mask(const uint8_t *f, size_t len, struct req_mask_reply *r)
{
	if (!begin(r, sizeof *r, f, len, MASK_HDR_LEN, &r->flags, &r->error))
		return false;
	r->mcmd = f[MASK_OFF_MCMD];
	r->merror = f[MASK_OFF_MERROR];
	r->dcount = f[MASK_OFF_DCOUNT];
	r->ndirs = held(len, MASK_HDR_LEN, MASK_DIR_LEN, r->dcount);
	r->dirs = f + MASK_OFF_DIRS;
	return true;
}

bool req_parse_res(const uint8_t *f, size_t len, struct req_res_reply *r)
{
	if (!begin(r, sizeof *r, f, len, RES_HDR_LEN, &r->flags, &r->error))
		return false;
	r->rcmd = f[RES_OFF_RCMD];
	r->nmacs = f[RES_OFF_NMACS];
	r->nfit = held(len, RES_HDR_LEN, 6, r->nmacs);
	r->macs = f + RES_OFF_MACS;
	return true;
}

/* The string at pos of the avail table bytes: its length up to a NUL or
 * the end, 0 at the empty string that ends the list (or past the end). */
static size_t ext_str_len(const uint8_t *table, size_t avail, size_t pos)
{
	const uint8_t *nul;

	if (pos >= avail)
		return 0;
	nul = memchr(table + pos, 0, avail - pos);
	return nul ? (size_t)(nul - (table + pos)) : avail - pos;
}

bool req_parse_ext(const uint8_t *req, size_t reqlen, const uint8_t *rep, size_t replen,
		   struct req_ext_reply *r)
{
	uint16_t sent = reqlen >= EXT_HDR_LEN ? get_le16(req + EXT_OFF_LEN_LE) : 0;
	bool whole = begin(r, sizeof *r, rep, replen, EXT_HDR_LEN, &r->flags, &r->error);
	size_t cmp, len;

	r->sent_avail = reqlen > EXT_HDR_LEN ? reqlen - EXT_HDR_LEN : 0;
	r->sent = r->sent_avail ? req + EXT_OFF_TABLE : req;
	if (!whole) {
		r->malformed = true;
		return false;
	}
	r->len = get_le16(rep + EXT_OFF_LEN_LE);
	r->avail = replen - EXT_HDR_LEN < r->len ? replen - EXT_HDR_LEN : r->len;
	r->table = rep + EXT_OFF_TABLE;
	/* the reply echoes the request at the same length */
	if (r->len != sent || r->avail < r->len || replen < reqlen)
		r->malformed = true;
	cmp = r->avail < r->sent_avail ? r->avail : r->sent_avail;
	if (!ext_same_but_case(r->table, r->sent, cmp))
		r->malformed = true;
	for (size_t pos = 0; (len = ext_str_len(r->table, r->avail, pos)) != 0; pos += len + 1)
		r->nstr++;
	return true;
}

bool req_ext_next(const struct req_ext_reply *r, size_t *pos, struct req_ext_str *s)
{
	size_t len = ext_str_len(r->table, r->avail, *pos);

	if (!len)
		return false;
	s->s = r->table + *pos;
	s->len = len;
	/* what the request held at the same place: a name the target
	 * accepted comes back upper-cased */
	if (*pos < r->sent_avail)
		s->active = ext_upcased(r->sent + *pos, r->sent_avail - *pos, s->s, len);
	else
		s->active = false;	/* nothing was sent there */
	*pos += len + 1;
	return true;
}
