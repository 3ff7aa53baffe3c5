/*
 * device.c - from a request frame to the disk and back to a reply.
 *
 * A frame that needs no disk is answered at once, copied into a TX slot.
 * One that does becomes a request of the device's pool (request.c): the
 * core built its reply header in the request's buffer already, write data
 * is copied behind it (the RX slot is released at once), and the I/O goes
 * to the cache and the queue.  When it completes the reply is copied into
 * a TX slot.  A coalesced read's replies leave in request order, primary
 * first (coalesce.c); a duplicate write (tag_inc) whose original is still
 * in flight is answered when the original completes; a congestion probe's
 * reply waits on a timer.
 */
#include "config.h"
#include "io/coalesce.h"
#include "io/request.h"
#include "io/wack.h"
#include "io/freeze/freeze.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/aoe.h"
#include "proto/frame.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
		if (o->wack)
			wack_put(d, ifc, reply, o->crc);
		else
			req_send(ifc, d, reply, o->len);
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

	req_send(r->ifc, r->d, r->frame, r->len);
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


/* A plain read whose data the cache holds now: built in a TX slot with
 * one copy from cache memory, no request, no queue.  False: not held. */
static bool read_from_cache(struct device *d, struct iface *ifc, const uint8_t *reply,
			    const struct aoe_outcome *o)
{
	size_t len = (size_t)o->ata.nsect * ATA_SECTOR, at = ATA_HDR_LEN;
	struct cache_span sp[2];
	unsigned n = cache_read_map(&d->cache, o->ata.lba * ATA_SECTOR, len, sp);
	uint8_t *out;

	if (!n)
		return false;
	d->st.reads++;
	d->st.read_bytes += len;
	d->st.serviced++;	/* in no time: it never waited */
	if (!(out = iface_tx_get(ifc))) {
		d->st.tx_full++;
		return true;
	}
	memcpy(out, reply, ATA_HDR_LEN);
	for (unsigned i = 0; i < n; i++) {
		memcpy(out + at, sp[i].p, sp[i].len);
		at += sp[i].len;
	}
	iface_tx_put(ifc, aoe_pad(out, o->crc ? aoe_reply_crc(out, o->len) : o->len));
	return true;
}

static void disk_request(struct device *d, struct iface *ifc, const uint8_t *frame, size_t len,
			 const uint8_t *reply, const struct aoe_outcome *o)
{
	struct req *r;

	if (o->nsub && d->nfree <= coalesce_reserve(d)) {
		coalesce_park(d, ifc, frame, len, reply, o);
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
	if (o->nsub && !coalesce_start(d, ifc, frame, len, r, o->nsub)) {
		req_put(r);
		return;
	}
	req_start_primary(d, r, o);
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
			req_send(ifc, d, out, o.crc ? aoe_reply_crc(out, o.len) : o.len);
		break;
	case AOE_V_DUPWRITE:
		dup_write(d, ifc, out, &o);
		break;
	case AOE_V_IO:
		if (o.ata.op == ATA_OP_READ && !o.nsub && read_from_cache(d, ifc, out, &o))
			break;
		disk_request(d, ifc, frame, len, out, &o);
		break;
	}
	d->changed |= o.changed;	/* the registry persists it after the wakeup */
	if (o.changed)
		log_info("%s: %s changed by a request", d->name,
			 o.changed & AOE_CHANGED_CONFIG ? "config string" :
			 o.changed & AOE_CHANGED_MASK ? "mask list" : "reservation");
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
	d->scratch = malloc(cap);
	if (!d->scratch || coalesce_init(d, cap) < 0 || wack_init(d, cap) < 0) {
		snprintf(err, errlen, "%s: out of memory", d->name);
		return -ENOMEM;
	}
	if (!d->bufs || !d->reqs || dq_init(&d->q, l, &d->b, e, c->queue_depth) < 0 ||
	    cache_init(&d->cache, &c->cache, &d->q, l) < 0) {
		snprintf(err, errlen, "%s: out of memory for %u request buffers", d->name, d->nreqs);
		return -ENOMEM;
	}
	dq_set_merge_delay(&d->q, c->merge_delay_us);
	d->cache.on_failure = cache_failed;	/* after cache_init(), which clears */
	d->cache.failure_ctx = d;
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
	/* a merge not over goes on at the next start (its record stays) */
	freeze_free(d->fz);
	d->fz = d->q.fz = NULL;
	wack_free(d);
	coalesce_free(d);
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
	return d->nfree != d->nreqs || coalesce_busy(d);
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
		coalesce_continue(d);
		dq_kick_now(&d->q);
		engine_drain(d->eng);
	}
	wack_flush(d);
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


/* ------------------------------------------------------------- freeze */

static void thawed(void *ctx)
{
	struct device *d = ctx;

	d->q.fz = NULL;		/* from now on straight to the engine */
	freeze_free(d->fz);
	d->fz = NULL;
}

static void frozen(struct device *d, struct freeze *fz)
{
	freeze_set_finished(fz, thawed, d);
	d->fz = d->q.fz = fz;
}

int device_freeze(struct device *d, const char *path, uint64_t max, const char *record,
		  uint64_t rate, char *err, size_t errlen)
{
	struct freeze *fz;

	if (d->fz) {
		snprintf(err, errlen, "%s is %s already", d->name,
			 strcmp(freeze_phase(d->fz), "merging") == 0 ? "being thawed" : "frozen");
		return -1;
	}
	if (d->b.is_null) {
		snprintf(err, errlen, "%s is a null: store: nothing to freeze", d->name);
		return -1;
	}
	/* everything acknowledged so far in the base, and on disk: the image
	 * a backup copies is the export at this moment */
	if (device_sync(d) < 0) {
		snprintf(err, errlen, "%s: writing back and syncing %s failed", d->name, d->b.path);
		return -1;
	}
	fz = freeze_new(d->loop, d->q.e, &d->b, d->name, path, max, record, rate, err, errlen);
	if (!fz)
		return -1;
	frozen(d, fz);
	return 0;
}

int device_thaw(struct device *d, char *err, size_t errlen)
{
	if (!d->fz) {
		snprintf(err, errlen, "%s is not frozen", d->name);
		return -1;
	}
	return freeze_thaw(d->fz, err, errlen);
}

int device_freeze_resume(struct device *d, const char *record, uint64_t rate,
			 char *err, size_t errlen)
{
	struct freeze *fz;

	if (freeze_resume(d->loop, d->q.e, &d->b, d->name, record, rate, &fz, err, errlen) < 0)
		return -1;
	if (fz)
		frozen(d, fz);
	return 0;
}
