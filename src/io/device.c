/*
 * device.c - from a request frame to the disk and back to a reply.
 *
 * A frame that needs no disk is answered straight into a TX slot.  One that
 * does gets a request from the device's pool: its header goes into the
 * headroom in front of the aligned data area, write data is copied behind
 * it (the RX slot is released at once), and the I/O goes to the cache and
 * queue.  When it completes the reply is copied into a TX slot.  A
 * coalesced read's replies leave in request order (primary first); a
 * duplicate write (tag_inc) whose original is still in flight is answered
 * when the original completes; a congestion probe's reply waits on a timer.
 */
#include "config.h"
#include "io/device.h"
#include "proto/aoe.h"
#include "proto/frame.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/wire.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum req_state { RQ_FREE, RQ_IO, RQ_DONE, RQ_DELAYED };

struct req {
	struct qio io;
	struct device *d;
	struct iface *ifc;
	enum req_state state;
	struct ata_req ata;
	uint8_t src[6];
	uint32_t tag;
	uint8_t *frame;		/* reply frame; data at frame + 36 */
	size_t len;		/* reply length before padding */
	uint64_t t0;
	struct req *next;	/* free list, or the chain of a group */
	struct req *dups;	/* duplicate writes answered with this one */
	struct req *group;	/* coalesced read: the primary (also on itself) */
	struct req *gnext_unsent;	/* primary only: first reply not sent */
	struct req *gtail;	/* primary only: last member linked */
	bool gopen;		/* primary only: sub-reads still to be issued */
	struct loop_timer timer;	/* congestion delay */
};

/* ------------------------------------------------------------ the pool */

static struct req *req_get(struct device *d)
{
	struct req *r = d->free;

	if (!r) {
		d->st.queue_full++;
		return NULL;
	}
	d->free = r->next;
	r->next = NULL;
	r->dups = NULL;
	r->group = NULL;
	r->gnext_unsent = NULL;
	r->gtail = NULL;
	r->gopen = false;
	r->state = RQ_IO;
	d->nfree--;
	return r;
}

static void req_put(struct req *r)
{
	struct device *d = r->d;

	if (r->state == RQ_FREE) {
		log_err("BUG: request %p freed twice", (void *)r);
		abort();
	}
	r->state = RQ_FREE;
	r->next = d->free;
	d->free = r;
	d->nfree++;
	if (d->coal_waiting)	/* a buffer for a parked coalesced read */
		loop_defer(d->loop, &d->coal_task);
}

/* ------------------------------------------------------------- replies */

static void send_reply(struct iface *ifc, struct device *d, const uint8_t *frame, size_t len)
{
	uint8_t *out = iface_tx_get(ifc);

	if (!out) {
		d->st.tx_full++;
		return;
	}
	if (out != frame)	/* the slot may already hold it (built in place) */
		memcpy(out, frame, len);
	iface_tx_put(ifc, aoe_pad(out, len));
}

/* A request's reply may go once every reply of its group before it went. */
static void req_finish(struct req *r)
{
	struct req *g = r->group;

	r->state = RQ_DONE;
	if (!g) {
		send_reply(r->ifc, r->d, r->frame, r->len);
		req_put(r);
		return;
	}
	while (g->gnext_unsent && g->gnext_unsent->state == RQ_DONE) {
		struct req *m = g->gnext_unsent;
		send_reply(m->ifc, m->d, m->frame, m->len);
		g->gnext_unsent = m->next;
		if (m != g)
			req_put(m);
	}
	if (!g->gnext_unsent && !g->gopen)
		req_put(g);
}

static const char *const opname[] = { "read", "write", "flush" };

static void io_done(struct qio *io)
{
	struct req *r = (struct req *)io;
	struct device *d = r->d;
	struct req *dup, *next;

	if (io->res < 0) {
		d->st.io_errors++;
		d->t.st.ata_errors++;
		log_err("%s: %s of %zu bytes at sector %llu failed: %s", d->name,
			opname[io->op], io->len, (unsigned long long)r->ata.lba, strerror(-io->res));
		r->len = ata_io_failed(r->frame, &r->ata);
		/* the initiator will retry: its retransmission must be written,
		 * not acknowledged as a duplicate of what never reached the disk */
		if (io->op == ENG_WRITE)
			aoe_target_forget_write(&d->t, r->src, r->frame + AOE_OFF_TAG);
	}
	d->st.service_ns += now_ns() - r->t0;
	d->st.serviced++;
	for (dup = r->dups; dup; dup = next) {
		next = dup->next;
		if (io->res < 0)
			dup->len = ata_io_failed(dup->frame, &dup->ata);
		send_reply(dup->ifc, d, dup->frame, dup->len);
		req_put(dup);
	}
	r->dups = NULL;
	req_finish(r);
}

/* ------------------------------------------------------------- the I/O */

static void start_io(struct device *d, struct req *r)
{
	struct qio *io = &r->io;
	enum cache_verdict v;

	io->off = r->ata.lba * ATA_SECTOR;
	io->len = (size_t)r->ata.nsect * ATA_SECTOR;
	io->data = r->frame + ATA_HDR_LEN;
	io->done = io_done;
	io->res = 0;
	r->t0 = now_ns();
	switch (r->ata.op) {
	case ATA_OP_READ:
		io->op = ENG_READ;
		d->st.reads++;
		d->st.read_bytes += io->len;
		v = cache_read(&d->cache, io);
		break;
	case ATA_OP_WRITE:
		io->op = ENG_WRITE;
		d->st.writes++;
		d->st.write_bytes += io->len;
		v = cache_write(&d->cache, io);
		break;
	default:
		io->op = ENG_FLUSH;
		io->len = 0;
		d->st.flushes++;
		v = cache_flush(&d->cache, io);
		break;
	}
	if (v == CACHE_MISS)
		dq_submit(&d->q, io);
	else if (v == CACHE_DONE)
		io_done(io);
}

/* Copy the parts of a request that outlive the RX slot into r.  The reply
 * is usually built in r's own buffer already (device_frame). */
static void req_fill(struct req *r, struct iface *ifc, const uint8_t *reply,
		     const struct aoe_outcome *o)
{
	r->ifc = ifc;
	r->ata = o->ata;
	r->len = o->len;
	if (r->frame != reply)
		memcpy(r->frame, reply, ATA_HDR_LEN);
	memcpy(r->src, reply + AOE_OFF_DST, 6);	/* the reply goes to the sender */
	r->tag = o->tag;
}

static struct req *find_write(struct device *d, const uint8_t src[6], uint32_t tag)
{
	for (unsigned i = 0; i < d->nreqs; i++) {
		struct req *r = &d->reqs[i];
		if (r->state == RQ_IO && r->io.op == ENG_WRITE && r->tag == tag &&
		    memcmp(r->src, src, 6) == 0)
			return r;
	}
	return NULL;
}

static bool in_progress(struct device *d, const uint8_t src[6], uint32_t tag)
{
	for (unsigned i = 0; i < d->nreqs; i++) {
		struct req *r = &d->reqs[i];
		if ((r->state == RQ_IO || r->state == RQ_DELAYED) && r->tag == tag &&
		    memcmp(r->src, src, 6) == 0)
			return true;
	}
	return false;
}

/* A write the extension window says was done before: answer it, but not
 * before the original completes (it may still fail). */
static void dup_write(struct device *d, struct iface *ifc, const uint8_t *reply,
		      const struct aoe_outcome *o)
{
	struct req *orig = find_write(d, reply + AOE_OFF_DST, o->tag);
	struct req *r;

	if (!orig) {
		send_reply(ifc, d, reply, o->len);
		return;
	}
	if (!(r = req_get(d)))
		return;
	req_fill(r, ifc, reply, o);
	r->next = orig->dups;
	orig->dups = r;
	d->st.dup_in_flight++;
}

static void delayed_due(struct loop_timer *t)
{
	struct req *r = t->ctx;

	send_reply(r->ifc, r->d, r->frame, r->len);
	req_put(r);
}

static void delayed_reply(struct device *d, struct iface *ifc, const uint8_t *reply,
			  const struct aoe_outcome *o)
{
	struct req *r = req_get(d);

	if (!r)
		return;
	req_fill(r, ifc, reply, o);
	if (r->frame != reply)
		memcpy(r->frame, reply, o->len);
	r->state = RQ_DELAYED;
	r->timer.fn = delayed_due;
	r->timer.ctx = r;
	loop_timer_at(d->loop, &r->timer, now_ns() + (uint64_t)o->delay_ms * 1000000ULL);
	d->st.delayed++;
}

/*
 * Coalesced reads.  Each sub-read is its own request, linked behind the
 * primary so the replies leave in order.  A frame may carry more sub-reads
 * than there are free request buffers: its bytes then wait in one of a few
 * continuation slots and the rest are issued as buffers come free (at the
 * end of each wakeup), so no sub-read is ever silently left unanswered.
 */
struct coal {
	bool busy;
	struct req *primary;	/* NULL: not started yet (no buffer at all) */
	struct iface *ifc;
	unsigned next, n;	/* next descriptor to issue, how many */
	size_t len;
	uint8_t *frame;		/* copy of the request */
	struct aoe_outcome o;	/* the primary's, when not started */
	uint8_t reply[ATA_HDR_LEN];
};

/* Buffers sub-reads leave to plain requests, so one initiator's coalesced
 * reads cannot starve everybody else. */
static unsigned subread_reserve(const struct device *d)
{
	return d->nreqs / 8;
}

static void link_member(struct req *g, struct req *r)
{
	r->group = g;
	r->next = NULL;
	/* when every reply so far went, the old tail is gone (freed) */
	if (g->gnext_unsent)
		g->gtail->next = r;
	else
		g->gnext_unsent = r;
	g->gtail = r;
}

/* Issue sub-reads first..n-1 of frame while buffers last; returns the
 * index of the first one not issued. */
static unsigned issue_subreads(struct device *d, struct iface *ifc, const uint8_t *frame,
			       size_t len, struct req *g, unsigned first, unsigned n)
{
	unsigned i;

	for (i = first; i < n && d->nfree > subread_reserve(d); i++) {
		struct aoe_outcome o;
		struct req *r = req_get(d);
		aoe_target_subread(&d->t, frame, len, i, ifc->mac, device_mtu(d, ifc), r->frame, &o);
		if (o.v == AOE_V_DROP) {
			req_put(r);
			continue;
		}
		r->ifc = ifc;
		r->ata = o.ata;
		r->len = o.len;
		memcpy(r->src, frame + AOE_OFF_SRC, 6);
		r->tag = o.tag;
		link_member(g, r);
		if (o.v == AOE_V_IO)
			start_io(d, r);
		else
			req_finish(r);
	}
	return i;
}

static struct coal *free_slot(struct device *d)
{
	for (unsigned k = 0; k < DEVICE_COAL_SLOTS; k++)
		if (!d->coal[k].busy)
			return &d->coal[k];
	d->st.queue_full++;
	return NULL;
}

/* The primary leads its group; it stays until every reply has gone. */
static void open_group(struct req *g)
{
	g->group = g;
	g->gnext_unsent = g;
	g->gtail = g;
	g->gopen = true;
}

static void close_group(struct req *g)
{
	g->gopen = false;
	if (!g->gnext_unsent)
		req_put(g);
}

/* Start the group of primary g; false if its sub-reads cannot all be
 * issued now and no continuation slot is free (the frame is dropped and
 * counted: the initiator retransmits it). */
static bool sub_reads(struct device *d, struct iface *ifc, const uint8_t *frame, size_t len,
		      struct req *g, unsigned nsub)
{
	struct coal *c = NULL;
	unsigned done;

	if (nsub + subread_reserve(d) > d->nfree) {
		if (!(c = free_slot(d)))
			return false;
	}
	open_group(g);
	done = issue_subreads(d, ifc, frame, len, g, 0, nsub);
	if (done == nsub) {
		g->gopen = false;	/* freed by req_finish() once all went */
		return true;
	}
	c->busy = true;
	d->coal_waiting++;
	c->primary = g;
	c->ifc = ifc;
	c->next = done;
	c->n = nsub;
	c->len = len;
	memcpy(c->frame, frame, len);
	d->st.coalesce_waits++;
	return true;
}

static void start_primary(struct device *d, struct req *r, const struct aoe_outcome *o);

static void continue_subreads(struct device *d)
{
	for (unsigned k = 0; k < DEVICE_COAL_SLOTS && d->nfree > subread_reserve(d); k++) {
		struct coal *c = &d->coal[k];
		if (!c->busy)
			continue;
		if (!c->primary) {
			struct req *g = req_get(d);
			req_fill(g, c->ifc, c->reply, &c->o);
			memcpy(g->frame, c->reply, c->o.v == AOE_V_IO ? ATA_HDR_LEN : c->o.len);
			open_group(g);
			c->primary = g;
			start_primary(d, g, &c->o);
		}
		c->next = issue_subreads(d, c->ifc, c->frame, c->len, c->primary, c->next, c->n);
		if (c->next == c->n) {
			c->busy = false;
			d->coal_waiting--;
			close_group(c->primary);
		}
	}
}

/* The primary of a coalesced read: its own read, or its error reply. */
static void start_primary(struct device *d, struct req *r, const struct aoe_outcome *o)
{
	if (o->v == AOE_V_IO)
		start_io(d, r);
	else
		req_finish(r);
}

/* A coalesced read that found no buffer at all: park it whole. */
static void park_coalesced(struct device *d, struct iface *ifc, const uint8_t *frame,
			   size_t len, const uint8_t *reply, const struct aoe_outcome *o)
{
	struct coal *c = free_slot(d);

	if (!c)
		return;		/* counted; the initiator retransmits */
	c->busy = true;
	d->coal_waiting++;
	c->primary = NULL;
	c->ifc = ifc;
	c->next = 0;
	c->n = o->nsub;
	c->len = len;
	c->o = *o;
	memcpy(c->frame, frame, len);
	memcpy(c->reply, reply, ATA_HDR_LEN);
	d->st.coalesce_waits++;
}

static void disk_request(struct device *d, struct iface *ifc, const uint8_t *frame, size_t len,
			 const uint8_t *reply, const struct aoe_outcome *o)
{
	struct req *r;

	if (o->nsub && d->nfree <= subread_reserve(d)) {
		park_coalesced(d, ifc, frame, len, reply, o);
		return;
	}
	if (!(r = req_get(d)))
		return;		/* counted; the initiator retransmits */
	req_fill(r, ifc, reply, o);
	if (o->v != AOE_V_IO && r->frame != reply)
		memcpy(r->frame, reply, o->len);	/* an error reply leads */
	else if (o->ata.op == ATA_OP_WRITE)
		memcpy(r->frame + ATA_HDR_LEN, frame + ATA_HDR_LEN,
		       (size_t)o->ata.nsect * ATA_SECTOR);
	if (o->nsub && !sub_reads(d, ifc, frame, len, r, o->nsub)) {
		req_put(r);
		return;
	}
	start_primary(d, r, o);
}

void device_frame(struct device *d, struct iface *ifc, const struct aoe_hdr *h,
		  const uint8_t *frame, size_t len)
{
	struct aoe_outcome o;
	/* The reply is built in the buffer of the request it becomes if it
	 * needs the disk (the next free one: req_get() takes it), so only a
	 * reply sent at once is copied, into a TX slot taken then.  Without a
	 * free request only an immediate reply can be sent anyway. */
	uint8_t *out = d->free ? d->free->frame : d->scratch;

	aoe_target_handle_hdr(&d->t, h, frame, len, ifc->mac, device_mtu(d, ifc), out, &o);
	if (o.v != AOE_V_DROP && o.tag_random && in_progress(d, frame + AOE_OFF_SRC, o.tag)) {
		d->st.tag_random_skipped++;	/* a retransmission of work in hand */
		return;
	}
	switch (o.v) {
	case AOE_V_DROP:
		break;
	case AOE_V_REPLY:
		if (o.cmd == AOE_CMD_ATA)
			d->st.other++;
		if (o.nsub)	/* the primary failed, its sub-reads run */
			disk_request(d, ifc, frame, len, out, &o);
		else if (o.delay_ms)
			delayed_reply(d, ifc, out, &o);
		else
			send_reply(ifc, d, out, o.len);
		break;
	case AOE_V_DUPWRITE:
		dup_write(d, ifc, out, &o);
		break;
	case AOE_V_IO:
		disk_request(d, ifc, frame, len, out, &o);
		break;
	}
	d->changed |= o.changed;	/* the registry persists it after the wakeup */
	if (o.changed)
		log_info("%s: %s changed by a request", d->name,
			 o.changed & AOE_CHANGED_CONFIG ? "config string" :
			 o.changed & AOE_CHANGED_MASK ? "mask list" : "reservation");
}

static void coal_due(struct loop_task *t)
{
	continue_subreads(t->ctx);
}

/* ------------------------------------------------------- set-up, sync */

/* Write-back lost acknowledged data: stop taking more, loudly. */
static void cache_failed(void *ctx)
{
	struct device *d = ctx;

	d->t.ata.readonly = true;
	log_err("%s: acknowledged writes were lost: the device is read-only now", d->name);
}

int device_init(struct device *d, struct engine *e, struct loop *l,
		const struct device_conf *c, char *err, size_t errlen)
{
	size_t cap = aoe_reply_capacity(c->mtu_max ? c->mtu_max : 9000);
	unsigned n = c->requests ? c->requests : 4u * d->t.bufcnt;

	d->eng = e;
	d->loop = l;
	d->mtu_cap = c->mtu_max ? c->mtu_max : 9000;
	d->nreqs = n < 64 ? 64 : n > 4096 ? 4096 : n;
	/* the header sits in the last 36 bytes of the headroom, the data
	 * starts block-aligned right after it */
	d->headroom = d->b.lbs;
	d->stride = d->headroom + (cap + d->b.lbs - 1) / d->b.lbs * d->b.lbs;
	d->bufs = aligned_alloc(d->b.lbs < 4096 ? 4096 : d->b.lbs, d->stride * d->nreqs);
	d->reqs = calloc(d->nreqs, sizeof *d->reqs);
	d->coal = calloc(DEVICE_COAL_SLOTS, sizeof *d->coal);
	d->scratch = malloc(cap);
	if (!d->coal || !d->scratch) {
		snprintf(err, errlen, "%s: out of memory", d->name);
		return -ENOMEM;
	}
	if (!d->bufs || !d->reqs || dq_init(&d->q, l, &d->b, e, c->queue_depth) < 0 ||
	    cache_init(&d->cache, &c->cache, &d->q, l) < 0) {
		snprintf(err, errlen, "%s: out of memory for %u request buffers", d->name, d->nreqs);
		return -ENOMEM;
	}
	dq_set_merge_delay(&d->q, c->merge_delay_us);
	d->coal_task = (struct loop_task){ .fn = coal_due, .ctx = d, .phase = LOOP_PHASE_DISPATCH };
	d->cache.on_failure = cache_failed;	/* after cache_init(), which clears */
	d->cache.failure_ctx = d;
	for (unsigned k = 0; k < DEVICE_COAL_SLOTS; k++) {
		d->coal[k].frame = malloc(cap);
		if (!d->coal[k].frame) {
			snprintf(err, errlen, "%s: out of memory", d->name);
			return -ENOMEM;
		}
	}
	for (unsigned i = d->nreqs; i-- > 0;) {
		struct req *r = &d->reqs[i];
		r->d = d;
		r->frame = d->bufs + i * d->stride + d->headroom - ATA_HDR_LEN;
		r->state = RQ_DONE;
		req_put(r);
	}
	return 0;
}

void device_free(struct device *d)
{
	if (d->loop)
		loop_defer_cancel(d->loop, &d->coal_task);
	for (unsigned k = 0; d->coal && k < DEVICE_COAL_SLOTS; k++)
		free(d->coal[k].frame);
	free(d->coal);
	d->coal = NULL;
	free(d->scratch);
	d->scratch = NULL;
	cache_free(&d->cache);
	dq_free(&d->q);
	free(d->bufs);
	free(d->reqs);
	d->bufs = NULL;
	d->reqs = NULL;
}

static void sync_done(struct qio *io)
{
	*(int *)io->ctx = io->res;
}

int device_sync(struct device *d)
{
	struct qio io = { .op = ENG_FLUSH, .done = sync_done };
	int res = 1;

	io.ctx = &res;
	if (d->b.readonly)
		return 0;
	cache_writeback_all(&d->cache);
	if (cache_flush(&d->cache, &io) == CACHE_MISS)
		dq_submit(&d->q, &io);
	while (res == 1 || !dq_idle(&d->q) || !cache_idle(&d->cache)) {
		dq_kick_now(&d->q);
		engine_drain(d->eng);
	}
	if (res < 0)
		log_err("%s: flush of %s failed: %s", d->name, d->b.path, strerror(-res));
	return res < 0 ? res : d->cache.failed ? -EIO : 0;
}

unsigned device_mtu(const struct device *d, const struct iface *ifc)
{
	return ifc->mtu < d->mtu_cap ? ifc->mtu : d->mtu_cap;
}

/* Requests still held: in flight, waiting for their group, delayed, or
 * parked coalesced reads. */
static bool device_busy(const struct device *d)
{
	if (d->nfree != d->nreqs)
		return true;
	for (unsigned k = 0; k < DEVICE_COAL_SLOTS; k++)
		if (d->coal[k].busy)
			return true;
	return false;
}

void device_quiesce(struct device *d)
{
	unsigned rounds;

	for (rounds = 0; rounds < 100000 && device_busy(d); rounds++) {
		for (unsigned i = 0; i < d->nreqs; i++) {
			struct req *r = &d->reqs[i];
			if (r->state != RQ_DELAYED)
				continue;
			loop_timer_cancel(d->loop, &r->timer);	/* its probe answered now */
			delayed_due(&r->timer);
		}
		continue_subreads(d);
		dq_kick_now(&d->q);
		engine_drain(d->eng);
	}
	if (device_busy(d))
		log_err("%s: %u request buffers still held after %u rounds of waiting; "
			"freeing the device anyway", d->name, d->nreqs - d->nfree, rounds);
}

void device_advertise(struct device *d, struct iface *ifc)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	unsigned n = d->t.mask.n;

	for (unsigned i = 0; i < (n ? n : 1); i++) {
		uint8_t *out = iface_tx_get(ifc);
		if (!out)
			return;
		size_t len = aoe_target_advert(&d->t, ifc->mac, device_mtu(d, ifc),
					       n ? d->t.mask.mac[i] : bcast, out);
		iface_tx_put(ifc, len);
	}
}
