/*
 * cache.c - read-ahead and write-behind: the entry points, and what
 * read-ahead (cache_ra.c) and write-back (cache_wb.c) share: transfers of
 * cache memory through the queue, writes tracked until they land, and the
 * sweep that gives idle memory back.
 */
#include "config.h"
#include "io/cache/cache_int.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* --------------------------------------------------------- transfers */

static void piece_done(struct qio *p)
{
	struct xfer *x = p->ctx;

	if (p->res < 0 && !x->err)
		x->err = p->res;
	if (--x->pending == 0)
		x->done(x);
}

int xfer_alloc(struct xfer *x, struct cache *c, size_t maxlen, void (*done)(struct xfer *),
	       void *owner)
{
	/* an unaligned head, aligned or DQ_MERGE_BYTES-sized middles, a tail */
	unsigned n = 2 + (unsigned)((maxlen + DQ_MERGE_BYTES - 1) / DQ_MERGE_BYTES);

	x->pio = calloc(n, sizeof *x->pio);
	if (!x->pio)
		return -ENOMEM;
	x->npio = n;
	x->c = c;
	x->done = done;
	x->owner = owner;
	x->pending = 0;
	x->err = 0;
	return 0;
}

void xfer_release(struct xfer *x)
{
	free(x->pio);
	x->pio = NULL;
	x->npio = 0;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
static uint64_t align_down(uint64_t v, uint64_t a) { return v / a * a; }

/* How much of [pos, hi) the next piece takes.  The whole rest if it is
 * aligned for O_DIRECT or small enough for a bounce buffer; else the
 * unaligned head up to a block boundary, then the aligned middle (cache
 * memory is aligned like the export offsets it holds), or, when nothing
 * lines up (an -o offset off the block size), DQ_MERGE_BYTES at a time. */
static size_t piece_len(const struct backing *b, const uint8_t *mem, uint64_t pos, uint64_t hi)
{
	uint64_t len = hi - pos, a = b->lbs, m;

	if (len <= DQ_MERGE_BYTES || backing_aligned(b, mem, pos, (size_t)len))
		return (size_t)len;
	if (pos % a)
		return (size_t)(align_up(pos, a) - pos);
	m = align_down(hi, a);
	if (m > pos && backing_aligned(b, mem, pos, (size_t)(m - pos)))
		return (size_t)(m - pos);
	return DQ_MERGE_BYTES;
}

void xfer_start(struct xfer *x, enum eng_op op, uint64_t off, size_t len, uint8_t *mem)
{
	struct cache *c = x->c;
	uint64_t pos = off, hi = off + len;
	unsigned n = 0;

	x->err = 0;
	x->pending = 0;
	while (pos < hi && n < x->npio) {
		size_t l = piece_len(c->q->b, mem + (pos - off), pos, hi);
		struct qio *p = &x->pio[n++];
		memset(p, 0, sizeof *p);
		p->op = op;
		p->off = pos;
		p->len = l;
		p->data = mem + (pos - off);
		p->done = piece_done;
		p->ctx = x;
		pos += l;
	}
	if (pos < hi) {
		/* cannot happen: npio is sized for the longest range; be loud
		 * rather than silently short */
		log_err("%s: cache transfer of %zu bytes at %llu needs more than %u pieces",
			c->q->b->path, len, (unsigned long long)off, x->npio);
		x->pio[n - 1].len += (size_t)(hi - pos);
	}
	/* done() runs from the loop, never inside dq_submit(): pending is
	 * complete before any piece can finish */
	x->pending = n;
	for (unsigned i = 0; i < n; i++)
		dq_submit(c->q, &x->pio[i]);
}

/* ---------------------------------------------------- tracked writes */

static void track_done(struct qio *q)
{
	struct track *t = q->ctx;
	struct cache *c = t->c;
	struct cache_impl *I = c->impl;
	struct qio *orig = t->orig;

	t->busy = false;
	t->orig = NULL;
	t->next = I->track_free;
	I->track_free = t;
	if (--I->tracks_busy == 0)
		I->tracks_idle_at = now_ns();
	orig->res = q->res;
	/* writes held for a tracker go first, in order, then the reply */
	cache_pump_writes(c);
	orig->done(orig);
}

static bool tracks_alloc(struct cache *c)
{
	struct cache_impl *I = c->impl;
	unsigned n = c->q->depth * 4;

	/* enough that the queue still sees every write it can merge or
	 * dispatch; more simply wait in the cache, in order */
	n = n < 256 ? 256 : n > 4096 ? 4096 : n;
	I->tracks = calloc(n, sizeof *I->tracks);
	if (!I->tracks) {
		log_warn("%s: no memory to track writes: read-ahead may serve data "
			 "a write in flight is replacing", c->q->b->path);
		I->tracks_failed = true;
		return false;
	}
	I->ntracks = n;
	for (unsigned i = n; i-- > 0;) {
		I->tracks[i].next = I->track_free;
		I->track_free = &I->tracks[i];
	}
	I->tracks_idle_at = now_ns();
	cache_sweep_arm(c);
	return true;
}

bool cache_submit_write(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;
	struct track *t;

	if (!I->chunk || (!I->tracks && (I->tracks_failed || !tracks_alloc(c)))) {
		/* nothing to keep coherent, or no way to: submit it as it is */
		ra_invalidate(c, io->off, io->len);
		dq_submit(c->q, io);
		return true;
	}
	if (!(t = I->track_free))
		return false;
	I->track_free = t->next;
	t->busy = true;
	t->orig = io;
	t->c = c;
	memset(&t->q, 0, sizeof t->q);
	t->q.op = ENG_WRITE;
	t->q.off = io->off;
	t->q.len = io->len;
	t->q.data = io->data;
	t->q.done = track_done;
	t->q.ctx = t;
	I->tracks_busy++;
	/* the write is on its way: read-ahead data of its range is old now,
	 * and a load that is reading it may see either version */
	ra_invalidate(c, io->off, io->len);
	dq_submit(c->q, &t->q);
	return true;
}

bool cache_write_in_flight(const struct cache *c, uint64_t off, size_t len)
{
	const struct cache_impl *I = c->impl;

	if (I->tracks_busy)
		for (unsigned i = 0; i < I->ntracks; i++) {
			const struct track *t = &I->tracks[i];
			if (t->busy && ranges_overlap(off, off + len, t->q.off, t->q.off + t->q.len))
				return true;
		}
	return c->conf.write_back && wb_writing_overlaps(c, off, len);
}

void cache_pump_writes(struct cache *c)
{
	struct cache_impl *I = c->impl;
	struct qio *io;

	if (c->conf.write_back) {
		wb_pump(c);
		return;
	}
	/* popped before it is submitted: dq_submit() relinks io->next */
	while ((io = qlist_pop(&I->wwait))) {
		if (!cache_submit_write(c, io)) {
			qlist_unpop(&I->wwait, io);
			break;
		}
	}
}

/* -------------------------------------------------------- idle sweep */

static void sweep_due(struct loop_timer *t)
{
	struct cache *c = t->ctx;
	struct cache_impl *I = c->impl;
	uint64_t now = now_ns();
	bool held = false;

	if (I->chunk)
		held |= ra_sweep(c, now);
	if (c->conf.write_back)
		held |= wb_sweep(c, now);
	if (I->tracks) {
		if (!I->tracks_busy && now - I->tracks_idle_at >= CACHE_IDLE_NS) {
			free(I->tracks);
			I->tracks = NULL;
			I->track_free = NULL;
			I->ntracks = 0;
		} else {
			held = true;
		}
	}
	if (held)
		loop_timer_at(c->loop, &I->sweep_timer, now + CACHE_SWEEP_NS);
}

void cache_sweep_arm(struct cache *c)
{
	struct cache_impl *I = c->impl;

	if (!I->sweep_timer.armed)
		loop_timer_at(c->loop, &I->sweep_timer, now_ns() + CACHE_SWEEP_NS);
}

/* ------------------------------------------------------ entry points */

int cache_init(struct cache *c, const struct cache_conf *cf, struct dq *q, struct loop *l)
{
	struct cache_impl *I;

	memset(c, 0, sizeof *c);
	c->conf = *cf;
	c->q = q;
	c->loop = l;
	c->impl = I = calloc(1, sizeof *I);
	if (!I)
		return -ENOMEM;
	I->sweep_timer.fn = sweep_due;
	I->sweep_timer.ctx = c;
	if (ra_init(c) < 0) {
		cache_free(c);
		return -ENOMEM;
	}
	wb_init(c);
	return 0;
}

void cache_free(struct cache *c)
{
	struct cache_impl *I = c->impl;

	if (!I)
		return;
	loop_timer_cancel(c->loop, &I->sweep_timer);
	ra_free(c);
	wb_free(c);
	free(I->tracks);
	free(I);
	c->impl = NULL;
}

enum cache_verdict cache_read(struct cache *c, struct qio *io)
{
	enum cache_verdict v;

	if (c->conf.write_back && (v = wb_read(c, io)) != CACHE_MISS)
		return v;
	if (c->impl->chunk)
		return ra_read(c, io);
	return CACHE_MISS;
}

void cache_reread(struct cache *c, struct qio *io)
{
	enum cache_verdict v = CACHE_MISS;
	int owner;

	if (c->conf.write_back)
		v = wb_read(c, io);
	if (v == CACHE_MISS && c->impl->chunk)
		v = ra_serve(c, io, &owner);
	if (v == CACHE_DONE)
		io->done(io);
	else if (v == CACHE_MISS)
		dq_submit(c->q, io);
}

enum cache_verdict cache_write(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;

	if (c->conf.write_back)
		return wb_write(c, io);
	if (!I->chunk)
		return CACHE_MISS;	/* nothing to keep coherent */
	/* write-through: the write goes to the queue as it is, only tracked
	 * until it lands; one held for a tracker holds the later ones so
	 * overlapping writes still reach the queue in arrival order */
	if (I->wwait.head || !cache_submit_write(c, io))
		qlist_push(&I->wwait, io);
	return CACHE_PENDING;
}

enum cache_verdict cache_flush(struct cache *c, struct qio *io)
{
	if (c->conf.write_back)
		return wb_flush(c, io);
	return CACHE_MISS;	/* write-through: nothing acknowledged is buffered */
}

void cache_writeback_all(struct cache *c)
{
	if (c->conf.write_back)
		wb_writeback_all(c);
}

bool cache_idle(const struct cache *c)
{
	const struct cache_impl *I = c->impl;

	if (!I)
		return true;
	return I->loading == 0 && I->tracks_busy == 0 && !I->wwait.head &&
	       (!c->conf.write_back || wb_idle(c));
}
