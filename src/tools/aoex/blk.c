/* blk.c - aoex attach's block engine: requests, frames, replies (see
 * blk.h; paths, timers and the window are blkpath.c's). */
#include "config.h"
#include "tools/aoex/blk_int.h"
#include "proto/coalesce.h"
#include "proto/request.h"
#include "proto/wire.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#define OWNER(slot, sub)	((uint32_t)(sub) << 16 | ((slot) + 1))
#define OWNER_SLOT(o)		(((o) & 0xFFFF) - 1)
#define OWNER_SUB(o)		((o) >> 16)

static void dispatch_task(struct loop_task *t);
static void send_task(struct loop_task *t);
static void if_readable(struct loop_watch *w, uint32_t events);

/* ------------------------------------------------------------- set-up */

static int if_init(struct blk *b, struct blk_if *bi, struct aoex_client *c)
{
	bi->b = b;
	bi->c = c;
	bi->tx = calloc(b->nslots, sizeof *bi->tx);
	bi->msg = calloc(b->nslots, sizeof *bi->msg);
	bi->iov = calloc(b->nslots, sizeof *bi->iov);
	bi->ext_req = malloc(b->frame_cap);
	if (!bi->tx || !bi->msg || !bi->iov || !bi->ext_req)
		return -ENOMEM;
	bi->w.fd = c->rs.fd;
	bi->w.fn = if_readable;
	bi->w.ctx = bi;
	return loop_add(b->l, &bi->w, EPOLLIN);
}

struct blk *blk_new(struct loop *l, struct aoex_client *ifaces, unsigned nifaces,
		    const struct blk_config *cfg)
{
	struct blk *b = calloc(1, sizeof *b);
	uint32_t tsize = 64;
	size_t rxbytes;
	unsigned ios;

	if (!b || nifaces < 1 || nifaces > BLK_MAX_IFACES)
		goto fail;
	b->l = l;
	b->cfg = *cfg;
	if (b->cfg.coalesce < 1)
		b->cfg.coalesce = 1;
	b->nslots = cfg->window < BLK_MAX_SLOTS ? cfg->window : BLK_MAX_SLOTS;
	if (b->nslots < 1)
		b->nslots = 1;
	for (unsigned i = 0; i < nifaces; i++) {
		size_t cap = aoex_frame_cap(&ifaces[i]);

		if (cap > b->frame_cap)
			b->frame_cap = cap;
	}
	ios = b->nslots * b->cfg.coalesce;
	while (tsize < 4 * ios)
		tsize <<= 1;
	b->owner_mask = tsize - 1;
	b->owner = calloc(tsize, sizeof *b->owner);
	b->slots = calloc(b->nslots, sizeof *b->slots);
	b->subs = calloc(ios, sizeof *b->subs);
	b->free_slots = calloc(b->nslots, sizeof *b->free_slots);
	rxbytes = (size_t)nifaces * BLK_RX_BATCH * b->frame_cap;
	b->frames = malloc(b->nslots * b->frame_cap + rxbytes);
	b->ctl = malloc(b->frame_cap);
	if (!b->owner || !b->slots || !b->subs || !b->free_slots || !b->frames || !b->ctl)
		goto fail;
	for (unsigned i = 0; i < b->nslots; i++) {
		b->slots[i].frame = b->frames + i * b->frame_cap;
		b->slots[i].subs = b->subs + (size_t)i * b->cfg.coalesce;
		b->free_slots[i] = b->nslots - 1 - i;
	}
	b->nfree = b->nslots;
	b->qtail = &b->qhead;
	b->nifs = nifaces;
	for (unsigned i = 0; i < nifaces; i++) {
		struct blk_if *bi = &b->ifs[i];
		uint8_t *rx = b->frames + b->nslots * b->frame_cap +
			      (size_t)i * BLK_RX_BATCH * b->frame_cap;

		if (if_init(b, bi, &ifaces[i]) < 0)
			goto fail;
		bi->coalesce = cfg->if_coalesce[i] && b->cfg.coalesce > 1;
		bi->tag_inc = cfg->if_tag_inc[i];
		for (unsigned k = 0; k < BLK_RX_BATCH; k++) {
			bi->rx_iov[k].iov_base = rx + k * b->frame_cap;
			bi->rx_iov[k].iov_len = b->frame_cap;
			bi->rx[k].msg_hdr.msg_iov = &bi->rx_iov[k];
			bi->rx[k].msg_hdr.msg_iovlen = 1;
		}
	}
	b->dispatch.fn = dispatch_task;
	b->dispatch.ctx = b;
	b->dispatch.phase = LOOP_PHASE_DISPATCH;
	b->send.fn = send_task;
	b->send.ctx = b;
	b->send.phase = LOOP_PHASE_SEND;
	blkpath_init(b);
	return b;
fail:
	blk_free(b);
	return NULL;
}

void blk_free(struct blk *b)
{
	if (!b)
		return;
	loop_timer_cancel(b->l, &b->rexmit);
	loop_timer_cancel(b->l, &b->tick);
	loop_defer_cancel(b->l, &b->dispatch);
	loop_defer_cancel(b->l, &b->send);
	for (unsigned i = 0; i < b->nifs; i++) {
		struct blk_if *bi = &b->ifs[i];

		if (bi->w.fn)
			loop_del(b->l, &bi->w);
		free(bi->tx);
		free(bi->msg);
		free(bi->iov);
		free(bi->ext_req);
	}
	free(b->owner);
	free(b->slots);
	free(b->subs);
	free(b->free_slots);
	free(b->frames);
	free(b->ctl);
	free(b);
}

const struct blk_stats *blk_stats(const struct blk *b)
{
	return &b->st;
}

unsigned blk_busy(const struct blk *b)
{
	return b->nreq;
}

void blk_format_stats(const struct blk *b, char *buf, size_t len)
{
	int n = 0;

#define BLK_FMT(f) \
	if (n >= 0 && (size_t)n < len) \
		n += snprintf(buf + n, len - (size_t)n, "%s" #f "=%llu", n ? " " : "", \
			      (unsigned long long)b->st.f);
	BLK_COUNTERS(BLK_FMT)
#undef BLK_FMT
	if (n >= 0 && (size_t)n < len)
		snprintf(buf + n, len - (size_t)n,
			 " window=%u ssthresh=%u inflight=%u srtt_us=%llu rttvar_us=%llu rto_ms=%u"
			 " coalesce=%s tag_inc=%s", (unsigned)b->cwnd, (unsigned)b->ssthresh,
			 b->inflight, (unsigned long long)b->srtt_us,
			 (unsigned long long)b->rttvar_us, b->rto_ms,
			 b->ifs[0].coalesce ? "on" : "off", b->ifs[0].tag_inc ? "on" : "off");
}

/* ------------------------------------------------------------ requests */

static void req_finish(struct blk *b, struct blk_req *r)
{
	if (r->op == BLK_WRITE && r->fua && !r->error) {
		/* FUA: the write is done, now the flush that makes it stable */
		r->op = BLK_FLUSH;
		r->fua = false;
		r->next = 0;
		r->qnext = NULL;
		*b->qtail = r;
		b->qtail = &r->qnext;
		loop_defer(b->l, &b->dispatch);
		return;
	}
	if (r->error)
		b->st.eio++;
	b->nreq--;
	r->done(r, r->error);
}

void blk_submit(struct blk *b, struct blk_req *r)
{
	r->next = 0;
	r->frames = 0;
	r->error = 0;
	r->qnext = NULL;
	*b->qtail = r;
	b->qtail = &r->qnext;
	b->nreq++;
	b->st.requests++;
	loop_defer(b->l, &b->dispatch);
}

/* Sectors a request still has to put in frames (a flush: one command). */
static uint32_t req_left(const struct blk_req *r)
{
	return r->op == BLK_FLUSH ? (r->next ? 0 : 1) : r->nsect - r->next;
}

static void queue_pop_done(struct blk *b)
{
	while (b->qhead && !req_left(b->qhead)) {
		b->qhead = b->qhead->qnext;
		if (!b->qhead)
			b->qtail = &b->qhead;
	}
}

/* The next chunk of request r into sub u. */
static void take_chunk(struct blk *b, struct blk_req *r, struct blk_sub *u)
{
	uint32_t n = r->op == BLK_FLUSH ? 0 : r->nsect - r->next;

	if (n > b->cfg.spf)
		n = b->cfg.spf;
	u->req = r;
	u->lba = r->lba + r->next;
	u->nsect = n;
	u->data = r->data ? r->data + (size_t)r->next * ATA_SECTOR : NULL;
	u->done = false;
	r->next += r->op == BLK_FLUSH ? 1 : n;
	r->frames++;
}

static uint32_t claim_tag(struct blk *b, unsigned slot, unsigned sub)
{
	uint32_t t;

	/* the counter only goes up: a tag still held by a straggler is
	 * skipped, never reused */
	do
		t = aoex_new_tag(b->ifs[0].c);
	while (b->owner[t & b->owner_mask]);
	b->owner[t & b->owner_mask] = OWNER(slot, sub);
	return t;
}

void blk_build_frame(struct blk *b, struct blk_slot *s)
{
	const struct blk_path *p = &b->paths[s->path];
	struct blk_sub *first = NULL;
	struct cr_desc descs[256];
	unsigned nd = 0;
	bool lba48 = b->cfg.lba48;
	struct req_ata_regs q = { .lba48 = lba48, .aflags = lba48 ? ATA_AFLAG_E : 0 };

	/* only the I/Os still unanswered; the first is the ATA command */
	for (unsigned k = 0; k < s->nsub; k++) {
		struct blk_sub *u = &s->subs[k];

		if (u->done)
			continue;
		if (!first) {
			first = u;
			continue;
		}
		req_tag_put(&p->to, descs[nd].tag, u->tag);
		descs[nd].lba = u->lba;
		descs[nd].count = (uint8_t)u->nsect;
		nd++;
	}
	if (!first)
		return;
	q.lba = first->lba;
	q.count = (uint8_t)first->nsect;
	switch (s->op) {
	case BLK_READ:
		q.cmd = lba48 ? ATA_READ_EXT : ATA_READ;
		s->len = req_ata(s->frame, b->frame_cap, &p->to, first->tag, &q, NULL, 0);
		if (nd)
			s->len = req_cr(s->frame, b->frame_cap, descs, nd);
		break;
	case BLK_WRITE:
		q.cmd = lba48 ? ATA_WRITE_EXT : ATA_WRITE;
		q.aflags |= ATA_AFLAG_W;
		s->len = req_ata(s->frame, b->frame_cap, &p->to, first->tag, &q, first->data,
				 (size_t)first->nsect * ATA_SECTOR);
		break;
	case BLK_FLUSH:
		q.cmd = b->cfg.flush_ext ? ATA_FLUSH_EXT : ATA_FLUSH;
		q.lba = 0;
		q.count = 0;
		s->len = req_ata(s->frame, b->frame_cap, &p->to, first->tag, &q, NULL, 0);
		break;
	}
}

/* Start a frame on path pi from the queue head: up to `room` reads
 * (coalesced), or one write or flush chunk.  Returns the I/Os it holds. */
static unsigned start_frame(struct blk *b, int pi, unsigned room)
{
	unsigned si = b->free_slots[--b->nfree], n = 0;
	struct blk_slot *s = &b->slots[si];
	struct blk_req *r = b->qhead;
	struct blk_if *bi = &b->ifs[b->paths[pi].ifi];
	unsigned max = r->op == BLK_READ && bi->coalesce ? b->cfg.coalesce : 1;

	if (max > room)
		max = room;
	s->op = r->op;
	s->path = (unsigned)pi;
	while (n < max && r && r->op == s->op) {
		take_chunk(b, r, &s->subs[n]);
		s->subs[n].tag = claim_tag(b, si, n);
		n++;
		if (!req_left(r)) {
			queue_pop_done(b);
			r = b->qhead;
		}
	}
	s->nsub = s->pending = n;
	s->sends = 0;
	s->rto_ms = b->rto_ms;
	s->busy = true;
	b->st.frames++;
	if (n > 1) {
		b->st.coalesced_frames++;
		b->st.sub_reads += n - 1;
	}
	if (s->op == BLK_WRITE && bi->tag_inc)
		b->st.tag_inc_writes++;
	if (s->op == BLK_FLUSH)
		b->st.flushes++;
	blk_build_frame(b, s);
	blk_queue_tx(b, s);
	return n;
}

static void fail_queued(struct blk *b)
{
	/* detached first: a done callback may submit again (those wait for
	 * the next dispatch) */
	struct blk_req *r = b->qhead, *next;

	b->qhead = NULL;
	b->qtail = &b->qhead;
	for (; r; r = next) {
		next = r->qnext;
		r->error = EIO;
		/* its frames already out are failed by blk_fail_all */
		r->next = r->op == BLK_FLUSH ? 1 : r->nsect;
		if (!r->frames)
			req_finish(b, r);
	}
}

static void dispatch_task(struct loop_task *t)
{
	struct blk *b = t->ctx;

	if (b->dead) {
		fail_queued(b);
		return;
	}
	while (b->qhead && b->nfree && b->inflight < (unsigned)b->cwnd) {
		bool reads = b->qhead->op == BLK_READ;
		int pi = blkpath_pick(b, reads && b->cfg.coalesce > 1);

		if (pi < 0)
			break;	/* every path is out: the probes bring one back */
		b->inflight += start_frame(b, pi, (unsigned)b->cwnd - b->inflight);
	}
}

/* ------------------------------------------------------------- sending */

void blk_queue_tx(struct blk *b, struct blk_slot *s)
{
	struct blk_if *bi = &b->ifs[b->paths[s->path].ifi];

	if (s->queued)
		return;
	s->queued = true;
	bi->tx[bi->ntx++] = s;
	loop_defer(b->l, &b->send);
}

static void send_if(struct blk *b, struct blk_if *bi)
{
	unsigned done = 0;
	uint64_t now;

	for (unsigned i = 0; i < bi->ntx; i++) {
		memset(&bi->msg[i].msg_hdr, 0, sizeof bi->msg[i].msg_hdr);
		bi->iov[i].iov_base = bi->tx[i]->frame;
		bi->iov[i].iov_len = bi->tx[i]->len;
		bi->msg[i].msg_hdr.msg_iov = &bi->iov[i];
		bi->msg[i].msg_hdr.msg_iovlen = 1;
		if (bi->c->verbose)
			aoex_dump("send", bi->tx[i]->frame, bi->tx[i]->len);
	}
	while (done < bi->ntx) {
		int r = sendmmsg(bi->c->rs.fd, bi->msg + done, bi->ntx - done, 0);

		if (r <= 0) {
			if (r < 0 && errno == EINTR)
				continue;
			/* a full queue (EAGAIN, ENOBUFS) or a link gone: the
			 * frames count as sent and the timer resends them */
			break;
		}
		done += (unsigned)r;
	}
	now = now_ns();
	for (unsigned i = 0; i < bi->ntx; i++) {
		struct blk_slot *s = bi->tx[i];

		s->queued = false;
		if (!s->busy)
			continue;
		if (!s->sends)
			s->first_sent = now;
		s->sends++;
		s->sent = now;
		s->deadline = now + (uint64_t)s->rto_ms * 1000000;
		blkpath_arm_rexmit(b, s->deadline);
	}
	bi->ntx = 0;
}

static void send_task(struct loop_task *t)
{
	struct blk *b = t->ctx;

	for (unsigned i = 0; i < b->nifs; i++)
		if (b->ifs[i].ntx)
			send_if(b, &b->ifs[i]);
}

/* ----------------------------------------------------------- replies */

static void release_slot(struct blk *b, struct blk_slot *s)
{
	for (unsigned k = 0; k < s->nsub; k++)
		b->owner[s->subs[k].tag & b->owner_mask] = 0;
	s->busy = false;
	b->free_slots[b->nfree++] = (unsigned)(s - b->slots);
}

static void sub_done(struct blk *b, struct blk_slot *s, struct blk_sub *u, int error)
{
	struct blk_req *r = u->req;

	u->done = true;
	s->pending--;
	b->inflight--;
	if (error)
		r->error = error;
	r->frames--;
	if (!r->frames && !req_left(r))
		req_finish(b, r);
}

static void ata_reply(struct blk *b, struct blk_if *bi, const uint8_t *f, size_t len)
{
	uint32_t tag = req_tag_get(&bi->c->to, f + AOE_OFF_TAG);
	uint32_t o = b->owner[tag & b->owner_mask];
	struct req_ata_reply r;
	struct blk_slot *s;
	struct blk_sub *u;
	int error = 0;

	if (!o)
		return;
	s = &b->slots[OWNER_SLOT(o)];
	if (!s->busy || OWNER_SUB(o) >= s->nsub)
		return;
	u = &s->subs[OWNER_SUB(o)];
	if (u->tag != tag || u->done)
		return;		/* a late repeat: the first reply counted */
	req_parse_ata(f, len, &r);
	if (req_ata_failed(&r) ||
	    (s->op == BLK_READ && len < ATA_HDR_LEN + (size_t)u->nsect * ATA_SECTOR)) {
		if (b->st.eio < 8)
			log_warn("e%u.%u: %s at lba %llu failed: aoe_error=%u status=0x%02x "
				 "error=0x%02x", bi->c->to.shelf, bi->c->to.slot,
				 s->op == BLK_READ ? "read" : s->op == BLK_WRITE ? "write" : "flush",
				 (unsigned long long)u->lba, r.flags & AOE_FLAG_E ? r.aoe_error : 0,
				 r.status, r.err);
		error = EIO;
	} else if (s->op == BLK_READ && u->data) {
		memcpy(u->data, f + ATA_OFF_DATA, (size_t)u->nsect * ATA_SECTOR);
	}
	sub_done(b, s, u, error);
	blkpath_ios_done(b, 1);
	if (!s->pending) {
		if (s->sends == 1)	/* Karn: a resent frame's time says nothing */
			blkpath_rtt_sample(b, (now_ns() - s->sent) / 1000);
		release_slot(b, s);
	}
	loop_defer(b->l, &b->dispatch);
}

void blk_frame_in(struct blk_if *bi, const uint8_t *f, size_t len)
{
	struct blk *b = bi->b;
	unsigned ifi = (unsigned)(bi - b->ifs);

	if (!req_reply_for(&bi->c->to, f, len)) {
		/* the advertisement of a (re)started target goes to
		 * broadcast (or to each MAC of its mask list) */
		struct aoe_req_addr bc = bi->c->to;

		memset(bc.src, 0xff, 6);
		if (req_reply_for(&bc, f, len) && f[AOE_OFF_CMD] == AOE_CMD_CONFIG &&
		    get_be32(f + AOE_OFF_TAG) == 0)
			blkpath_reply(b, ifi, f + AOE_OFF_SRC, true);
		return;
	}
	switch (f[AOE_OFF_CMD]) {
	case AOE_CMD_ATA:
		blkpath_reply(b, ifi, f + AOE_OFF_SRC, false);
		ata_reply(b, bi, f, len);
		break;
	case AOE_CMD_CONFIG:
		/* tag 0: the target's advertisement at its start */
		blkpath_reply(b, ifi, f + AOE_OFF_SRC, get_be32(f + AOE_OFF_TAG) == 0);
		break;
	case AOE_CMD_EXT:
		blkpath_reply(b, ifi, f + AOE_OFF_SRC, false);
		blkpath_ext_reply(bi, f, len);
		break;
	}
}

static void if_readable(struct loop_watch *w, uint32_t events)
{
	struct blk_if *bi = w->ctx;

	(void)events;
	for (int round = 0; round < 16; round++) {
		int n;

		for (unsigned i = 0; i < BLK_RX_BATCH; i++) {
			bi->rx[i].msg_hdr.msg_name = &bi->rx_from[i];
			bi->rx[i].msg_hdr.msg_namelen = sizeof bi->rx_from[i];
		}
		n = recvmmsg(w->fd, bi->rx, BLK_RX_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			return;
		for (int i = 0; i < n; i++) {
			if (bi->rx_from[i].sll_pkttype == PACKET_OUTGOING)
				continue;
			if (bi->c->verbose)
				aoex_dump("recv", bi->rx_iov[i].iov_base, bi->rx[i].msg_len);
			blk_frame_in(bi, bi->rx_iov[i].iov_base, bi->rx[i].msg_len);
		}
		if (n < BLK_RX_BATCH)
			return;
	}
}

void blk_kick_troubled(struct blk *b, unsigned ifi)
{
	uint64_t now = now_ns();
	bool any = false;

	/* frames that timed out already: the target may have been without
	 * our state (coalesced descriptors ignored); go again now */
	for (unsigned i = 0; i < b->nslots; i++) {
		struct blk_slot *s = &b->slots[i];

		if (s->busy && !s->queued && s->sends > 1 && b->paths[s->path].ifi == ifi) {
			s->deadline = now;
			any = true;
		}
	}
	if (any)
		loop_timer_at(b->l, &b->rexmit, now);
}

/* Fail every frame in flight and everything queued: the dead time ran
 * out.  Late replies to these tags find no owner and are ignored. */
void blk_fail_all(struct blk *b)
{
	for (unsigned i = 0; i < b->nslots; i++) {
		struct blk_slot *s = &b->slots[i];

		if (!s->busy)
			continue;
		for (unsigned k = 0; k < s->nsub; k++)
			if (!s->subs[k].done)
				sub_done(b, s, &s->subs[k], EIO);
		release_slot(b, s);
	}
	fail_queued(b);
}
