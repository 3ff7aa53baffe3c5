/* aoex_client.c - AoE initiator library for aoex (see aoex_client.h). */
#include "config.h"
#include "tools/aoex/client.h"
#include "proto/frame.h"
#include "common/util.h"
#include "proto/wire.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---------------------------------------------------------------- setup */

static uint32_t random_tag_base(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
		return v;
	/* early boot or an old kernel: still different per run */
	return (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
}

/* Needed only when posing as another MAC on a real NIC: veth and bridges
 * hand every frame to packet sockets anyway.  The membership goes away
 * with the socket. */
static void enable_promisc(struct rawsock *rs)
{
	struct packet_mreq mr;

	memset(&mr, 0, sizeof mr);
	mr.mr_ifindex = rs->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	setsockopt(rs->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
}

int aoex_open(struct aoex_client *c, const char *ifname, const uint8_t *src_mac,
	      char *err, size_t errlen)
{
	int one = 1;
	int rc;

	memset(c, 0, sizeof *c);
	rc = rawsock_open(&c->rs, ifname, err, errlen);
	if (rc < 0)
		return rc;
	memcpy(c->src, src_mac ? src_mac : c->rs.mac, 6);
	memcpy(c->dst, bcast_mac, 6);
	c->shelf = AOE_SHELF_ANY;
	c->slot = AOE_SLOT_ANY;
	c->timeout_ms = 1000;
	c->retries = 3;
	c->next_tag = random_tag_base();
	if (memcmp(c->src, c->rs.mac, 6) != 0)
		enable_promisc(&c->rs);
	/* Our own requests would otherwise come back on the socket and halve
	 * the receive rate; rawsock_recv still filters them on old kernels. */
	setsockopt(c->rs.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
	/* Room for a full window of jumbo replies without drops. */
	rawsock_set_buffers(c->rs.fd, 4 << 20, 8 << 20);
	return 0;
}

void aoex_close(struct aoex_client *c)
{
	rawsock_close(&c->rs);
}

size_t aoex_frame_cap(const struct aoex_client *c)
{
	size_t cap = (size_t)c->rs.mtu + 14;

	return cap < 1514 ? 1514 : cap;
}

unsigned aoex_mtu_sectors(const struct aoex_client *c)
{
	unsigned n = c->rs.mtu > ATA_HDR_LEN ? (c->rs.mtu - ATA_HDR_LEN) / ATA_SECTOR : 0;

	return n ? n : 1;
}

uint32_t aoex_new_tag(struct aoex_client *c)
{
	uint32_t t = c->next_tag++;

	if (t == 0)
		t = c->next_tag++;
	return t;
}

void aoex_set_first_tag(struct aoex_client *c, uint32_t first)
{
	c->next_tag = first;
	c->next_ctl_tag = first - 1;
	c->split_tags = true;
}

uint32_t aoex_ctl_tag(struct aoex_client *c)
{
	uint32_t t;

	if (!c->split_tags)
		return aoex_new_tag(c);
	t = c->next_ctl_tag--;
	if (t == 0)
		t = c->next_ctl_tag--;
	return t;
}

void aoex_set_tag_order(struct aoex_client *c, enum aoex_tag_order order, bool fixed)
{
	c->tag_order = order;
	c->tag_order_fixed = fixed;
}

void aoex_put_tag(const struct aoex_client *c, uint8_t *p, uint32_t tag)
{
	if (c->tag_order == AOEX_TAG_LE)
		put_le32(p, tag);
	else
		put_be32(p, tag);
}

uint32_t aoex_get_tag(const struct aoex_client *c, const uint8_t *p)
{
	return c->tag_order == AOEX_TAG_LE ? get_le32(p) : get_be32(p);
}

const char *aoex_error_name(unsigned code)
{
	/* the names live in proto/frame.c, shared with the daemon */
	if (code >= AOE_ERR_BADCMD && code <= AOE_ERR_RESERVED)
		return aoe_error_name(code);
	return "unknown";
}

void aoex_dump(const char *what, const uint8_t *f, size_t len)
{
	fprintf(stderr, "aoex: %s %zu bytes\n", what, len);
	for (size_t i = 0; i < len; i += 16) {
		fprintf(stderr, "  %04zx ", i);
		for (size_t j = i; j < i + 16 && j < len; j++)
			fprintf(stderr, " %02x", f[j]);
		fputc('\n', stderr);
	}
}

/* ------------------------------------------------------ frame building */

size_t aoex_put_header(const struct aoex_client *c, uint8_t *f, uint8_t cmd, uint32_t tag)
{
	memcpy(f + AOE_OFF_DST, c->dst, 6);
	memcpy(f + AOE_OFF_SRC, c->src, 6);
	put_be16(f + AOE_OFF_TYPE, AOE_ETHERTYPE);
	f[AOE_OFF_VERFLAGS] = AOE_VERSION << 4;
	f[AOE_OFF_ERROR] = 0;
	put_be16(f + AOE_OFF_MAJOR, c->shelf);
	f[AOE_OFF_MINOR] = c->slot;
	f[AOE_OFF_CMD] = cmd;
	aoex_put_tag(c, f + AOE_OFF_TAG, tag);
	return AOE_HDR_LEN;
}

size_t aoex_put_ata(uint8_t *f, uint8_t aflags, uint8_t cmd, uint8_t feature,
		    uint8_t count, uint64_t lba, bool lba48)
{
	f[ATA_OFF_AFLAGS] = aflags;
	f[ATA_OFF_FEATURE] = feature;
	f[ATA_OFF_SCNT] = count;
	f[ATA_OFF_CMD] = cmd;
	if (lba48) {
		put_le48(f + ATA_OFF_LBA, lba);
	} else {
		/* 28 bits; byte 3 doubles as the device register, where
		 * Linux sets the obsolete bits and LBA mode: 0xE0. */
		put_le48(f + ATA_OFF_LBA, lba & 0x00FFFFFF);
		f[ATA_OFF_LBA + 3] = (uint8_t)(0xE0 | ((lba >> 24) & 0x0F));
	}
	f[ATA_OFF_RES] = 0;
	f[ATA_OFF_RES + 1] = 0;
	return ATA_HDR_LEN;
}

/* ------------------------------------------------------ reply matching */

bool aoex_reply_for_us(const struct aoex_client *c, const uint8_t *f, size_t len)
{
	if (len < AOE_HDR_LEN)
		return false;
	if (get_be16(f + AOE_OFF_TYPE) != AOE_ETHERTYPE)
		return false;
	if (!(f[AOE_OFF_VERFLAGS] & AOE_FLAG_R))
		return false;
	/* On veth a packet socket sees frames for every MAC: only take the
	 * ones sent to the address we speak as. */
	if (memcmp(f + AOE_OFF_DST, c->src, 6) != 0)
		return false;
	if (c->shelf != AOE_SHELF_ANY && get_be16(f + AOE_OFF_MAJOR) != c->shelf)
		return false;
	if (c->slot != AOE_SLOT_ANY && f[AOE_OFF_MINOR] != c->slot)
		return false;
	return true;
}

static bool reply_matches(const struct aoex_client *c, const uint8_t *rep, size_t len,
			  const uint8_t *req)
{
	return aoex_reply_for_us(c, rep, len) &&
	       rep[AOE_OFF_CMD] == req[AOE_OFF_CMD] &&
	       memcmp(rep + AOE_OFF_TAG, req + AOE_OFF_TAG, 4) == 0;
}

int aoex_send(struct aoex_client *c, const uint8_t *f, size_t len)
{
	ssize_t n;

	if (c->verbose)
		aoex_dump("send", f, len);
	n = rawsock_send(&c->rs, f, len);
	if (n < 0)
		return (int)n;
	return n == (ssize_t)len ? 0 : -EIO;
}

static int ms_until(uint64_t deadline)
{
	uint64_t now = now_ns();

	if (now >= deadline)
		return 0;
	/* round up so we never spin on a sub-millisecond remainder */
	return (int)((deadline - now + 999999) / 1000000);
}

ssize_t aoex_recv_until(struct aoex_client *c, uint8_t *buf, size_t cap, uint64_t deadline)
{
	int ms = ms_until(deadline);
	ssize_t n;

	if (ms == 0)
		return 0;
	n = rawsock_recv(&c->rs, buf, cap, ms);
	if (n > 0 && c->verbose)
		aoex_dump("recv", buf, (size_t)n);
	return n;
}

ssize_t aoex_exchange(struct aoex_client *c, const uint8_t *req, size_t reqlen,
		      unsigned tries, uint8_t *rep, size_t repmax)
{
	for (unsigned t = 0; t < tries; t++) {
		int rc = aoex_send(c, req, reqlen);
		uint64_t deadline = now_ns() + (uint64_t)c->timeout_ms * 1000000;
		ssize_t n;

		if (rc < 0)
			return rc;
		while ((n = aoex_recv_until(c, rep, repmax, deadline)) > 0)
			if (reply_matches(c, rep, (size_t)n, req))
				return n;
		if (n < 0)
			return n;
	}
	return 0;
}

/* ------------------------------------------------------- reply parsing */

int aoex_parse_config(const uint8_t *f, size_t len, struct aoex_config *qc)
{
	size_t avail;

	if (len < QC_HDR_LEN)
		return -1;
	memset(qc, 0, sizeof *qc);
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
	return 0;
}

void aoex_parse_ata(const uint8_t *f, size_t len, struct aoex_ata_reply *r)
{
	memset(r, 0, sizeof *r);
	r->len = len;
	r->flags = f[AOE_OFF_VERFLAGS] & 0x0F;
	r->aoe_error = f[AOE_OFF_ERROR];
	if (len < ATA_HDR_LEN)
		return;
	r->err = f[ATA_OFF_ERR];
	r->scnt = f[ATA_OFF_SCNT];
	r->status = f[ATA_OFF_STATUS];
	r->lba = get_le48(f + ATA_OFF_LBA);
}

bool aoex_ata_failed(const struct aoex_ata_reply *r)
{
	if (r->flags & AOE_FLAG_E)
		return true;
	/* a reply too short to hold the ATA registers is no success either */
	return r->len < ATA_HDR_LEN || (r->status & ATA_ST_ERR);
}

int aoex_query(struct aoex_client *c, bool learn_mac, struct aoex_config *qc)
{
	size_t cap = aoex_frame_cap(c);
	uint8_t *req = calloc(1, cap), *rep = malloc(cap);
	ssize_t n;
	int rc = AOEX_NO_REPLY;

	if (!req || !rep) {
		rc = -ENOMEM;
		goto out;
	}
	aoex_put_header(c, req, AOE_CMD_CONFIG, aoex_ctl_tag(c));
	req[QC_OFF_VERCMD] = (AOE_VERSION << 4) | QC_READ;
	/* pad to the Ethernet minimum like every real initiator */
	n = aoex_exchange(c, req, AOE_MIN_FRAME, c->retries + 1, rep, cap);
	if (n < 0) {
		rc = (int)n;
	} else if (n > 0 && aoex_parse_config(rep, (size_t)n, qc) == 0) {
		if (learn_mac)
			memcpy(c->dst, qc->mac, 6);
		rc = AOEX_OK;
	}
out:
	free(req);
	free(rep);
	return rc;
}

/* ------------------------------------------------- AoEde extensions */

static const char *const known_ext[] = {
	"reset", "coalesced_read", "tag_inc_le", "tag_inc_be", "tag_random", "congestion",
};

bool aoex_ext_known(const char *name)
{
	for (size_t i = 0; i < sizeof known_ext / sizeof known_ext[0]; i++)
		if (strcmp(name, known_ext[i]) == 0)
			return true;
	return false;
}

unsigned aoex_coalesce_max(const struct aoex_client *c)
{
	size_t d = (aoex_frame_cap(c) - CR_OFF_DESC) / CR_DESC_LEN;

	return 1 + (unsigned)(d > 255 ? 255 : d);
}

size_t aoex_ext_table(const char *const names[], unsigned n, uint8_t *table, size_t max)
{
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(names[i]);

		if (!l || len + l + 1 >= max)	/* keep room for the final NUL */
			return 0;
		memcpy(table + len, names[i], l + 1);
		len += l + 1;
	}
	if (len + 1 > max)
		return 0;
	table[len++] = '\0';
	if (len < 2)	/* no names: the table is two NULs */
		table[len++] = '\0';
	return len;
}

size_t aoex_ext_frame(const struct aoex_client *c, uint8_t *f, uint32_t tag,
		      const uint8_t *table, size_t tlen, uint16_t lenfield)
{
	size_t len = EXT_OFF_TABLE + tlen;

	if (len > aoex_frame_cap(c))
		return 0;
	aoex_put_header(c, f, AOE_CMD_EXT, tag);
	put_le16(f + EXT_OFF_LEN_LE, lenfield);
	memcpy(f + EXT_OFF_TABLE, table, tlen);
	if (len < AOE_MIN_FRAME) {
		memset(f + len, 0, AOE_MIN_FRAME - len);
		len = AOE_MIN_FRAME;
	}
	return len;
}

static int ascii_lower(int ch)
{
	return ch >= 'A' && ch <= 'Z' ? ch + ('a' - 'A') : ch;
}

static int ascii_upper(int ch)
{
	return ch >= 'a' && ch <= 'z' ? ch - ('a' - 'A') : ch;
}

void aoex_ext_reply_free(struct aoex_ext_reply *r)
{
	free(r->table);
	free(r->strs);
	r->table = NULL;
	r->strs = NULL;
	r->nstr = 0;
}

int aoex_ext_parse(const uint8_t *req, size_t reqlen, const uint8_t *rep, size_t replen,
		   struct aoex_ext_reply *r)
{
	uint16_t sent = reqlen >= EXT_HDR_LEN ? get_le16(req + EXT_OFF_LEN_LE) : 0;
	size_t req_avail, cmp, pos, cap;

	memset(r, 0, sizeof *r);
	r->flags = rep[AOE_OFF_VERFLAGS] & 0x0F;
	r->error = rep[AOE_OFF_ERROR];
	if (replen < EXT_HDR_LEN) {
		r->malformed = true;
		return 0;
	}
	r->len = get_le16(rep + EXT_OFF_LEN_LE);
	r->avail = replen - EXT_HDR_LEN < r->len ? replen - EXT_HDR_LEN : r->len;
	req_avail = reqlen > EXT_HDR_LEN ? reqlen - EXT_HDR_LEN : 0;
	/* the reply echoes the request at the same length */
	if (r->len != sent || r->avail < r->len || replen < reqlen)
		r->malformed = true;
	cmp = r->avail < req_avail ? r->avail : req_avail;
	for (size_t i = 0; i < cmp; i++)
		if (ascii_lower(rep[EXT_OFF_TABLE + i]) != ascii_lower(req[EXT_OFF_TABLE + i]))
			r->malformed = true;
	r->table = malloc(r->avail + 1);
	if (!r->table)
		return -ENOMEM;
	memcpy(r->table, rep + EXT_OFF_TABLE, r->avail);
	r->table[r->avail] = '\0';
	/* strings up to the empty one; an unterminated tail counts as one */
	cap = 0;
	for (pos = 0; pos < r->avail && r->table[pos]; pos += strlen(r->table + pos) + 1)
		cap++;
	r->strs = calloc(cap ? cap : 1, sizeof *r->strs);
	if (!r->strs) {
		aoex_ext_reply_free(r);
		return -ENOMEM;
	}
	for (pos = 0; pos < r->avail && r->table[pos]; pos += strlen(r->table + pos) + 1) {
		struct aoex_ext_str *st = &r->strs[r->nstr++];
		bool changed = false, upper = true;

		st->s = r->table + pos;
		st->len = strlen(st->s);
		for (size_t i = 0; i < st->len; i++) {
			int q = pos + i < req_avail ? req[EXT_OFF_TABLE + pos + i] : -1;
			int a = (uint8_t)st->s[i];

			if (a != q)
				changed = true;
			if (q < 0 || a != ascii_upper(q))
				upper = false;
		}
		st->active = changed && upper;
	}
	return 0;
}

int aoex_ext_request(struct aoex_client *c, uint32_t tag, const uint8_t *table, size_t tlen,
		     uint16_t lenfield, unsigned tries, struct aoex_ext_reply *r)
{
	size_t cap = aoex_frame_cap(c), len;
	uint8_t *req = calloc(1, cap), *rep = malloc(cap);
	ssize_t n;
	int rc;

	memset(r, 0, sizeof *r);
	if (!req || !rep) {
		rc = -ENOMEM;
		goto out;
	}
	len = aoex_ext_frame(c, req, tag, table, tlen, lenfield);
	if (!len) {
		rc = -EMSGSIZE;
		goto out;
	}
	n = aoex_exchange(c, req, len, tries, rep, cap);
	if (n < 0)
		rc = (int)n;
	else if (n == 0)
		rc = AOEX_NO_REPLY;
	else
		rc = aoex_ext_parse(req, len, rep, (size_t)n, r);
out:
	free(req);
	free(rep);
	return rc;
}

static bool is_tag_mode(const char *name)
{
	return strcmp(name, "tag_inc_le") == 0 || strcmp(name, "tag_inc_be") == 0 ||
	       strcmp(name, "tag_random") == 0;
}

/* Whether a later name turns names[i] off again: a later reset turns off
 * everything, a later tag mode the earlier ones.  The target need not
 * report such a name active. */
static bool superseded(const char *const names[], unsigned n, unsigned i)
{
	for (unsigned j = i + 1; j < n; j++)
		if (strcmp(names[j], "reset") == 0 ||
		    (is_tag_mode(names[i]) && is_tag_mode(names[j])))
			return true;
	return false;
}

int aoex_ext_negotiate(struct aoex_client *c, const char *const names[], unsigned n,
		       struct aoex_ext_reply *out)
{
	size_t cap = aoex_frame_cap(c), tlen;
	struct aoex_ext_reply local, *r = out ? out : &local;
	uint8_t *table;
	int rc, order = -1;

	memset(r, 0, sizeof *r);
	if (n > AOEX_EXT_MAX_NAMES)
		return -E2BIG;
	table = malloc(cap);
	if (!table)
		return -ENOMEM;
	tlen = aoex_ext_table(names, n, table, cap - EXT_OFF_TABLE);
	rc = tlen ? aoex_ext_request(c, aoex_ctl_tag(c), table, tlen, (uint16_t)tlen,
				     c->retries + 1, r) : -EMSGSIZE;
	free(table);
	if (rc != AOEX_OK)
		goto out;
	if ((r->flags & AOE_FLAG_E) || r->malformed || r->nstr != n) {
		rc = AOEX_TARGET_ERROR;
		goto out;
	}
	for (unsigned i = 0; i < n; i++) {
		if (aoex_ext_known(names[i]) && !superseded(names, n, i) && !r->strs[i].active)
			r->missing_name[r->missing++] = names[i];
		if (!r->strs[i].active)
			continue;
		/* the last tag mode wins; without tag_inc (tag_random, reset)
		 * the order does not matter: back to the default */
		if (strcmp(names[i], "tag_inc_le") == 0)
			order = AOEX_TAG_LE;
		else if (is_tag_mode(names[i]) || strcmp(names[i], "reset") == 0)
			order = AOEX_TAG_BE;
	}
	if (r->missing) {
		rc = AOEX_TARGET_ERROR;
		goto out;
	}
	if (order >= 0 && !c->tag_order_fixed)
		c->tag_order = (enum aoex_tag_order)order;
out:
	if (!out)
		aoex_ext_reply_free(&local);
	return rc;
}

/* --------------------------------------------------- windowed transfers */

/* One I/O of a frame: the ATA read/write itself (subs[0]) or, in a
 * coalesced read, one of its descriptors. */
struct sub {
	struct aoex_io io;
	uint32_t tag;
	bool done;		/* its reply came (or failed) */
};

struct slot {
	uint8_t *frame;
	size_t len;
	struct sub *subs;	/* max_ios of them */
	unsigned nsub;		/* in this frame */
	unsigned pending;	/* without a reply yet */
	uint64_t deadline;
	unsigned sends;		/* transmissions so far */
	bool busy;
};

#define RX_BATCH 64

/* owner[] entries: slot index + 1 in the low 16 bits, sub index above */
#define OWNER(slot, sub)	((uint32_t)(sub) << 16 | ((slot) + 1))
#define OWNER_SLOT(o)		(((o) & 0xFFFF) - 1)
#define OWNER_SUB(o)		((o) >> 16)

struct aoex_xfer {
	struct aoex_client *c;
	unsigned window, max_sect, max_ios;
	size_t frame_cap;
	struct slot *slots;
	struct sub *subs;	/* window * max_ios */
	struct aoex_io *pending_ios;	/* max_ios: one frame being filled */
	uint8_t *frames;	/* window send frames + RX_BATCH receive buffers */
	/* Tags are a counter, so tag & mask indexes a direct-mapped table;
	 * a new tag whose entry is still held by a straggler is skipped. */
	uint32_t *owner;	/* OWNER(), 0 = free */
	uint32_t owner_mask;
	unsigned *free_slots;
	unsigned nfree;
	uint64_t next_check;	/* earliest deadline of a busy slot */
	struct mmsghdr tx[AOEX_MAX_WINDOW];
	struct iovec tx_iov[AOEX_MAX_WINDOW];
	struct mmsghdr rx[RX_BATCH];
	struct iovec rx_iov[RX_BATCH];
	struct sockaddr_ll rx_from[RX_BATCH];
};

struct aoex_xfer *aoex_xfer_new(struct aoex_client *c, unsigned window, unsigned max_sect)
{
	return aoex_xfer_new_coalesced(c, window, max_sect, 1);
}

struct aoex_xfer *aoex_xfer_new_coalesced(struct aoex_client *c, unsigned window,
					  unsigned max_sect, unsigned max_ios)
{
	struct aoex_xfer *x;
	uint32_t tsize = 64;

	if (window < 1 || window > AOEX_MAX_WINDOW || max_sect < 1 || max_sect > 255 ||
	    max_ios < 1 || max_ios > aoex_coalesce_max(c))
		return NULL;
	x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->c = c;
	x->window = window;
	x->max_sect = max_sect;
	x->max_ios = max_ios;
	x->frame_cap = aoex_frame_cap(c);
	if (x->frame_cap < ATA_HDR_LEN + (size_t)max_sect * ATA_SECTOR)
		x->frame_cap = ATA_HDR_LEN + (size_t)max_sect * ATA_SECTOR;
	while (tsize < 4 * window * max_ios)
		tsize <<= 1;
	x->owner_mask = tsize - 1;
	x->slots = calloc(window, sizeof *x->slots);
	x->subs = calloc((size_t)window * max_ios, sizeof *x->subs);
	x->pending_ios = calloc(max_ios, sizeof *x->pending_ios);
	x->free_slots = calloc(window, sizeof *x->free_slots);
	x->owner = calloc(tsize, sizeof *x->owner);
	x->frames = malloc((window + RX_BATCH) * x->frame_cap);
	if (!x->slots || !x->subs || !x->pending_ios || !x->free_slots || !x->owner ||
	    !x->frames) {
		aoex_xfer_free(x);
		return NULL;
	}
	/* Bench writes send the frame as it is: make it a non-zero pattern
	 * so no backend can shortcut zeroes. */
	memset(x->frames, 0xA5, window * x->frame_cap);
	for (unsigned i = 0; i < window; i++) {
		x->slots[i].frame = x->frames + i * x->frame_cap;
		x->slots[i].subs = x->subs + (size_t)i * max_ios;
		x->free_slots[i] = window - 1 - i;
	}
	x->nfree = window;
	for (unsigned i = 0; i < RX_BATCH; i++) {
		x->rx_iov[i].iov_base = x->frames + (window + i) * x->frame_cap;
		x->rx_iov[i].iov_len = x->frame_cap;
		x->rx[i].msg_hdr.msg_iov = &x->rx_iov[i];
		x->rx[i].msg_hdr.msg_iovlen = 1;
	}
	return x;
}

void aoex_xfer_free(struct aoex_xfer *x)
{
	if (!x)
		return;
	free(x->slots);
	free(x->subs);
	free(x->pending_ios);
	free(x->free_slots);
	free(x->owner);
	free(x->frames);
	free(x);
}

static uint32_t claim_tag(struct aoex_xfer *x, unsigned slot, unsigned sub)
{
	uint32_t t;

	do
		t = aoex_new_tag(x->c);
	while (x->owner[t & x->owner_mask]);
	x->owner[t & x->owner_mask] = OWNER(slot, sub);
	return t;
}

/* The busy slot and pending I/O a reply tag belongs to, or NULL. */
static struct slot *slot_by_tag(struct aoex_xfer *x, uint32_t tag, unsigned *sub)
{
	uint32_t o = x->owner[tag & x->owner_mask];
	struct slot *s;

	if (!o)
		return NULL;
	s = &x->slots[OWNER_SLOT(o)];
	*sub = OWNER_SUB(o);
	if (!s->busy || *sub >= s->nsub || s->subs[*sub].tag != tag || s->subs[*sub].done)
		return NULL;
	return s;
}

static void release_slot(struct aoex_xfer *x, struct slot *s)
{
	for (unsigned k = 0; k < s->nsub; k++)
		x->owner[s->subs[k].tag & x->owner_mask] = 0;
	s->busy = false;
	x->free_slots[x->nfree++] = (unsigned)(s - x->slots);
}

/* Build the request for ios[0..n) in a free slot; returns the slot.  n > 1
 * only for reads: ios[1..n) become coalesced-read descriptors. */
static struct slot *start_frame(struct aoex_xfer *x, const struct aoex_job *job,
				const struct aoex_io *ios, unsigned n)
{
	unsigned i = x->free_slots[--x->nfree];
	struct slot *s = &x->slots[i];
	const struct aoex_io *io = &ios[0];
	uint8_t cmd, aflags = job->lba48 ? ATA_AFLAG_E : 0;
	size_t len = ATA_HDR_LEN;

	for (unsigned k = 0; k < n; k++) {
		s->subs[k].io = ios[k];
		s->subs[k].tag = claim_tag(x, i, k);
		s->subs[k].done = false;
	}
	s->nsub = s->pending = n;
	if (job->write) {
		cmd = job->lba48 ? ATA_WRITE_EXT : ATA_WRITE;
		aflags |= ATA_AFLAG_W;
		len += (size_t)io->nsect * ATA_SECTOR;
		if (io->data)
			memcpy(s->frame + ATA_OFF_DATA, io->data, (size_t)io->nsect * ATA_SECTOR);
	} else {
		cmd = job->lba48 ? ATA_READ_EXT : ATA_READ;
	}
	aoex_put_header(x->c, s->frame, AOE_CMD_ATA, s->subs[0].tag);
	aoex_put_ata(s->frame, aflags, cmd, 0, (uint8_t)io->nsect, io->lba, job->lba48);
	if (n > 1) {
		/* the LBA goes out as given, also under a 0x20 primary, whose
		 * command (28-bit addressing) the target applies to all */
		s->frame[CR_OFF_COUNT] = (uint8_t)(n - 1);
		for (unsigned k = 1; k < n; k++) {
			uint8_t *d = s->frame + CR_OFF_DESC + (size_t)(k - 1) * CR_DESC_LEN;

			aoex_put_tag(x->c, d + CR_D_TAG, s->subs[k].tag);
			put_le48(d + CR_D_LBA, ios[k].lba);
			memset(d + CR_D_LBA + 6, 0, CR_D_SCNT - (CR_D_LBA + 6));
			d[CR_D_SCNT] = (uint8_t)ios[k].nsect;
		}
		len = CR_OFF_DESC + (size_t)(n - 1) * CR_DESC_LEN;
	}
	if (len < AOE_MIN_FRAME) {
		memset(s->frame + len, 0, AOE_MIN_FRAME - len);
		len = AOE_MIN_FRAME;
	}
	s->len = len;
	s->sends = 0;
	s->busy = true;
	return s;
}

/* Send slots with sendmmsg; waits briefly when the queue is full. */
static int send_batch(struct aoex_xfer *x, struct slot **batch, unsigned n)
{
	unsigned done = 0;
	uint64_t deadline;

	for (unsigned i = 0; i < n; i++) {
		x->tx_iov[i].iov_base = batch[i]->frame;
		x->tx_iov[i].iov_len = batch[i]->len;
		memset(&x->tx[i].msg_hdr, 0, sizeof x->tx[i].msg_hdr);
		x->tx[i].msg_hdr.msg_iov = &x->tx_iov[i];
		x->tx[i].msg_hdr.msg_iovlen = 1;
		if (x->c->verbose)
			aoex_dump("send", batch[i]->frame, batch[i]->len);
	}
	while (done < n) {
		int r = sendmmsg(x->c->rs.fd, x->tx + done, n - done, 0);

		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (r < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
			return -errno;
		struct pollfd pfd = { .fd = x->c->rs.fd, .events = POLLOUT };
		poll(&pfd, 1, 10);
	}
	/* the clock starts when the frame leaves */
	deadline = now_ns() + (uint64_t)x->c->timeout_ms * 1000000;
	for (unsigned i = 0; i < n; i++) {
		batch[i]->sends++;
		batch[i]->deadline = deadline;
	}
	if (n && deadline < x->next_check)
		x->next_check = deadline;
	return 0;
}

/* Top the window up from the generator, job->coalesce I/Os per read frame.
 * *more turns false once the generator is exhausted. */
static int fill_window(struct aoex_xfer *x, const struct aoex_job *job, bool *more,
		       struct aoex_result *res)
{
	struct slot *batch[AOEX_MAX_WINDOW];
	unsigned nb = 0, per = !job->write && job->coalesce > 1 ? job->coalesce : 1;

	while (*more && x->nfree) {
		unsigned n = 0;

		while (n < per) {
			struct aoex_io *io = &x->pending_ios[n];

			if (!job->next(job->ctx, io)) {
				*more = false;
				break;
			}
			if (io->nsect < 1 || io->nsect > x->max_sect)
				return -EINVAL;
			n++;
		}
		if (!n)
			break;
		batch[nb++] = start_frame(x, job, x->pending_ios, n);
		res->req_frames++;
	}
	return send_batch(x, batch, nb);
}

static void record_failure(struct aoex_result *res, const struct aoex_io *io,
			   const struct aoex_ata_reply *r, bool is_short)
{
	res->errors++;
	if (res->errors > 1)
		return;
	res->fail_lba = io->lba;
	res->fail_short = is_short;
	res->fail = *r;
}

/* The reply for I/O k of a busy slot.  Returns true on success. */
static bool complete_io(struct aoex_xfer *x, const struct aoex_job *job, struct slot *s,
			unsigned k, const uint8_t *f, size_t len, struct aoex_result *res)
{
	struct sub *u = &s->subs[k];
	struct aoex_ata_reply r;
	size_t bytes = (size_t)u->io.nsect * ATA_SECTOR;
	bool is_short, ok = true;

	aoex_parse_ata(f, len, &r);
	is_short = !job->write && len < ATA_HDR_LEN + bytes;
	u->done = true;
	s->pending--;
	res->replies++;
	if (aoex_ata_failed(&r) || is_short) {
		record_failure(res, &u->io, &r, is_short && !aoex_ata_failed(&r));
		ok = false;
	} else {
		if (!job->write && u->io.data)
			memcpy(u->io.data, f + ATA_OFF_DATA, bytes);
		res->frames++;
		res->bytes += bytes;
		if (job->on_ack)
			job->on_ack(job->ack_ctx, &u->io);
	}
	if (!s->pending)
		release_slot(x, s);
	return ok;
}

/* Drain what the socket holds.  Returns frames taken (>= 0) or -errno;
 * *failed is set when a target error should stop the job. */
static int receive_batch(struct aoex_xfer *x, const struct aoex_job *job,
			 struct aoex_result *res, bool *failed)
{
	int n;

	for (unsigned i = 0; i < RX_BATCH; i++) {
		x->rx[i].msg_hdr.msg_name = &x->rx_from[i];
		x->rx[i].msg_hdr.msg_namelen = sizeof x->rx_from[i];
	}
	n = recvmmsg(x->c->rs.fd, x->rx, RX_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		const uint8_t *f = x->rx_iov[i].iov_base;
		size_t len = x->rx[i].msg_len;
		struct slot *s;
		unsigned k;

		if (x->rx_from[i].sll_pkttype == PACKET_OUTGOING)
			continue;
		if (x->c->verbose)
			aoex_dump("recv", f, len);
		if (!aoex_reply_for_us(x->c, f, len) || f[AOE_OFF_CMD] != AOE_CMD_ATA)
			continue;
		s = slot_by_tag(x, aoex_get_tag(x->c, f + AOE_OFF_TAG), &k);
		if (s && !complete_io(x, job, s, k, f, len, res) && !job->keep_going)
			*failed = true;
	}
	return n;
}

/* Retransmit expired frames whole, with their tags; give up after the
 * retries. */
static int check_timeouts(struct aoex_xfer *x, struct aoex_result *res)
{
	uint64_t now = now_ns();

	x->next_check = UINT64_MAX;
	for (unsigned i = 0; i < x->window; i++) {
		struct slot *s = &x->slots[i];

		if (!s->busy)
			continue;
		if (s->deadline <= now) {
			if (s->sends > x->c->retries) {
				for (unsigned k = 0; k < s->nsub; k++)
					if (!s->subs[k].done) {
						res->fail_lba = s->subs[k].io.lba;
						break;
					}
				return AOEX_NO_REPLY;
			}
			int rc = aoex_send(x->c, s->frame, s->len);
			if (rc < 0)
				return rc;
			s->sends++;
			s->deadline = now + (uint64_t)x->c->timeout_ms * 1000000;
			res->retransmits++;
		}
		if (s->deadline < x->next_check)
			x->next_check = s->deadline;
	}
	return AOEX_OK;
}

static void wait_readable(struct aoex_xfer *x)
{
	struct pollfd pfd = { .fd = x->c->rs.fd, .events = POLLIN };
	int ms = x->next_check == UINT64_MAX ? 1000 : ms_until(x->next_check);

	if (ms > 0)
		poll(&pfd, 1, ms);
}

static void abandon_all(struct aoex_xfer *x)
{
	for (unsigned i = 0; i < x->window; i++)
		if (x->slots[i].busy)
			release_slot(x, &x->slots[i]);
}

int aoex_xfer_run(struct aoex_xfer *x, const struct aoex_job *job, struct aoex_result *res)
{
	bool more = true, failed = false;
	int rc = AOEX_OK;

	if (!job->write && job->coalesce > x->max_ios)
		return -EINVAL;
	x->next_check = UINT64_MAX;
	while (more || x->nfree < x->window) {
		int n;

		rc = fill_window(x, job, &more, res);
		if (rc < 0)
			break;
		n = receive_batch(x, job, res, &failed);
		if (n < 0 || failed) {
			rc = n < 0 ? n : AOEX_TARGET_ERROR;
			break;
		}
		if (now_ns() >= x->next_check) {
			rc = check_timeouts(x, res);
			if (rc != AOEX_OK)
				break;
		}
		if (n == 0 && x->nfree < x->window)
			wait_readable(x);
	}
	/* leave the engine reusable; late replies to these tags are ignored */
	abandon_all(x);
	if (rc == AOEX_OK && res->errors)
		rc = AOEX_TARGET_ERROR;
	return rc;
}
