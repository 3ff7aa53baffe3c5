/*
 * cache_wb.c - the write-back policy.
 *
 * A buffer covers [base, base + wchunk) of the export, base a multiple of
 * wchunk, and holds one contiguous dirty range [lo, hi).  A write is cut
 * at buffer boundaries; each part is merged into the open (DIRTY) buffer
 * of its window whose dirty range it overlaps or touches, or gets a new
 * buffer.  Open buffers therefore never overlap: when a part touches two
 * of them, they are joined into one.  A buffer being written (WRITING) is
 * frozen: later writes to its range open a new buffer, whose write-out
 * goes to the queue after it, and the queue keeps overlapping writes in
 * submission order.  Where buffers overlap, the one written to last
 * (highest seq) has the newest data.
 *
 * A buffer is written when full, when the open dirty bytes pass half of
 * wb_max_dirty (oldest first: the writers keep moving while it is
 * written), when its oldest data is wb_max_age_ms old, when a read needs
 * what it holds on disk, on cache_writeback_all() and on cache_flush().
 * Acknowledged-but-unwritten bytes (dirty_bytes, open and being written)
 * never exceed wb_max_dirty (but one write is always taken when nothing
 * is dirty): a write that would pass it, or that finds no buffer (at most
 * nbuf_max), waits in arrival order until a write-out completes.  Later writes wait behind it, so buffered data never
 * overtakes older data.
 *
 * A failed write-out loses acknowledged data: it is logged, counted, the
 * cache turns failed (flushes report the error from then on, later writes
 * are no longer acknowledged before they are on disk) and the owner is
 * told through on_failure.
 */
#include "config.h"
#include "io/cache/cache_int.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WB_MAX_PARTS	8	/* buffers one write may span; more: passed through */
#define WB_AGE_SLACK_NS	(1000ULL * 1000)	/* write together what is due within 1 ms */

static void age_due(struct loop_timer *t);
static void sync_done(struct qio *q);

void wb_init(struct cache *c)
{
	struct cache_impl *I = c->impl;
	size_t w = c->conf.wb_chunk < CACHE_MEM_ALIGN ? CACHE_MEM_ALIGN : c->conf.wb_chunk;
	size_t n;

	if (!c->conf.write_back)
		return;
	I->wchunk = (w + CACHE_MEM_ALIGN - 1) / CACHE_MEM_ALIGN * CACHE_MEM_ALIGN;
	/* enough buffers for max_dirty of full ones plus one filling, and for
	 * a write of one frame that crosses buffer boundaries */
	n = (c->conf.wb_max_dirty + I->wchunk - 1) / I->wchunk + 1;
	I->nbuf_max = n < 4 ? 4 : n > 65536 ? 65536 : (unsigned)n;
	I->age_timer.fn = age_due;
	I->age_timer.ctx = c;
	I->syncq.op = ENG_FLUSH;
	I->syncq.done = sync_done;
	I->syncq.ctx = c;
}

static void buf_destroy(struct wbuf *w)
{
	free(w->mem);
	xfer_release(&w->x);
	free(w);
}

void wb_free(struct cache *c)
{
	struct cache_impl *I = c->impl;
	struct wbuf *w, *next;

	if (!c->conf.write_back)
		return;
	loop_timer_cancel(c->loop, &I->age_timer);
	for (w = I->active_head; w; w = next) {
		next = w->next;
		buf_destroy(w);
	}
	for (w = I->free; w; w = next) {
		next = w->next;
		buf_destroy(w);
	}
	I->active_head = I->active_tail = I->free = NULL;
	I->nbuf = I->nfree = 0;
}

/* ------------------------------------------------------------ buffers */

static void written(struct xfer *x);

static bool buf_alloc(struct cache *c)
{
	struct cache_impl *I = c->impl;
	struct wbuf *w = calloc(1, sizeof *w);

	if (!w)
		return false;
	w->mem = aligned_alloc(CACHE_MEM_ALIGN, I->wchunk);
	if (!w->mem || xfer_alloc(&w->x, c, I->wchunk, written, w) < 0) {
		free(w->mem);
		free(w);
		return false;
	}
	w->freed_at = now_ns();
	w->next = I->free;
	I->free = w;
	I->nfree++;
	I->nbuf++;
	cache_sweep_arm(c);
	return true;
}

/* A free buffer, appended to the active list (so that list is by age). */
static struct wbuf *buf_get(struct cache_impl *I)
{
	struct wbuf *w = I->free;

	I->free = w->next;
	I->nfree--;
	w->prev = I->active_tail;
	w->next = NULL;
	if (I->active_tail)
		I->active_tail->next = w;
	else
		I->active_head = w;
	I->active_tail = w;
	w->state = WB_DIRTY;
	return w;
}

static void buf_put(struct cache_impl *I, struct wbuf *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		I->active_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		I->active_tail = w->prev;
	w->state = WB_FREE;
	w->freed_at = now_ns();
	w->prev = NULL;
	w->next = I->free;
	I->free = w;
	I->nfree++;
}

static bool buf_full(const struct cache *c, const struct wbuf *w)
{
	uint64_t end = w->base + c->impl->wchunk;

	if (end > c->q->b->size)
		end = c->q->b->size;
	return w->lo == w->base && w->hi == end;
}

static struct wbuf *oldest_dirty(struct cache_impl *I)
{
	struct wbuf *o = NULL;

	for (struct wbuf *w = I->active_head; w; w = w->next)
		if (w->state == WB_DIRTY && (!o || w->t_first < o->t_first))
			o = w;
	return o;
}

/* Arm the age timer for the oldest open buffer.  It is not moved when
 * that buffer is written early: it then fires for nothing and re-arms. */
static void age_arm(struct cache *c)
{
	struct cache_impl *I = c->impl;
	struct wbuf *o = oldest_dirty(I);

	if (o)
		loop_timer_at(c->loop, &I->age_timer,
			      o->t_first + (uint64_t)c->conf.wb_max_age_ms * 1000000ULL);
}

static void write_out(struct cache *c, struct wbuf *w)
{
	struct cache_impl *I = c->impl;
	size_t len = (size_t)(w->hi - w->lo);

	w->state = WB_WRITING;
	w->serial = ++I->serial;
	I->writing++;
	I->open_bytes -= len;
	c->st.wb_flushes++;
	c->st.wb_flush_bytes += len;
	/* read-ahead may have loaded the old data around the dirty range
	 * meanwhile; from now on the store changes under it */
	ra_invalidate(c, w->lo, len);
	xfer_start(&w->x, ENG_WRITE, w->lo, len, w->mem + (w->lo - w->base));
}

static void age_due(struct loop_timer *t)
{
	struct cache *c = t->ctx;
	struct cache_impl *I = c->impl;
	uint64_t age = (uint64_t)c->conf.wb_max_age_ms * 1000000ULL;
	uint64_t now = now_ns();

	for (struct wbuf *w = I->active_head; w; w = w->next)
		if (w->state == WB_DIRTY && w->t_first + age <= now + WB_AGE_SLACK_NS)
			write_out(c, w);
	age_arm(c);
}

bool wb_writing_overlaps(const struct cache *c, uint64_t off, size_t len)
{
	for (const struct wbuf *w = c->impl->active_head; w; w = w->next)
		if (w->state == WB_WRITING && ranges_overlap(w->lo, w->hi, off, off + len))
			return true;
	return false;
}

/* -------------------------------------------------------------- reads */

enum cache_verdict wb_read(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;
	uint64_t off = io->off, end = io->off + io->len;
	struct wbuf *n = NULL, *w;

	for (w = I->active_head; w; w = w->next)
		if (ranges_overlap(w->lo, w->hi, off, end) && (!n || w->seq > n->seq))
			n = w;
	if (!n)
		return CACHE_MISS;
	if (n->lo <= off && end <= n->hi) {
		/* the newest data of every byte asked for is here */
		memcpy(io->data, n->mem + (off - n->base), io->len);
		io->res = 0;
		c->st.wb_read_hits++;
		return CACHE_DONE;
	}
	/* part on disk, part (maybe in several versions) here: let the store
	 * catch up, then read it from there */
	for (w = I->active_head; w; w = w->next)
		if (w->state == WB_DIRTY && ranges_overlap(w->lo, w->hi, off, end))
			write_out(c, w);
	qlist_push(&I->rwait, io);
	return CACHE_PENDING;
}

/* ------------------------------------------------------------- writes */

enum take { TAKE_BUFFERED, TAKE_SUBMITTED, TAKE_WAIT };

struct part {
	uint64_t base, a, b;
	struct wbuf *into;
};

static bool touches(const struct wbuf *w, const struct part *p)
{
	return w->state == WB_DIRTY && w->base == p->base && w->lo <= p->b && p->a <= w->hi;
}

static unsigned split(const struct cache *c, const struct qio *io, struct part *p)
{
	uint64_t W = c->impl->wchunk, pos = io->off, end = io->off + io->len;
	unsigned n = 0;

	while (pos < end) {
		uint64_t base = pos / W * W, pe = base + W < end ? base + W : end;
		if (n == WB_MAX_PARTS)
			return n + 1;
		p[n++] = (struct part){ .base = base, .a = pos, .b = pe };
		pos = pe;
	}
	return n;
}

/* Send io to the store itself, after every open buffer it overlaps: the
 * queue keeps overlapping writes in submission order, so the older
 * buffered data cannot land on top of it. */
static enum take pass_through(struct cache *c, struct qio *io)
{
	for (struct wbuf *w = c->impl->active_head; w; w = w->next)
		if (w->state == WB_DIRTY && ranges_overlap(w->lo, w->hi, io->off, io->off + io->len))
			write_out(c, w);
	return cache_submit_write(c, io) ? TAKE_SUBMITTED : TAKE_WAIT;
}

/* Buffer write io whole, or pass it through, or say it must wait. */
static enum take take(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;
	struct part p[WB_MAX_PARTS];
	unsigned n = split(c, io, p), need = 0;
	uint64_t added = 0, now;
	struct wbuf *w, *next;

	if (c->failed || n > WB_MAX_PARTS || n > I->nbuf_max)
		return pass_through(c, io);
	/* plan: what each part adds to the dirty total, and which need a
	 * new buffer; nothing changes unless all parts can be taken */
	for (unsigned i = 0; i < n; i++) {
		uint64_t lo = p[i].a, hi = p[i].b, old = 0;
		bool found = false;
		for (w = I->active_head; w; w = w->next) {
			if (!touches(w, &p[i]))
				continue;
			found = true;
			lo = w->lo < lo ? w->lo : lo;
			hi = w->hi > hi ? w->hi : hi;
			old += w->hi - w->lo;
		}
		added += (hi - lo) - old;
		need += !found;
	}
	if (c->st.dirty_bytes && c->st.dirty_bytes + added > c->conf.wb_max_dirty)
		return TAKE_WAIT;
	while (I->nfree < need && I->nbuf < I->nbuf_max && buf_alloc(c))
		;
	if (I->nfree < need)	/* out of memory with nothing to wait for: write it */
		return I->active_head ? TAKE_WAIT : pass_through(c, io);

	now = now_ns();
	for (unsigned i = 0; i < n; i++) {
		struct wbuf *t = NULL;
		uint64_t before = 0;
		for (w = I->active_head; w; w = next) {
			next = w->next;
			if (!touches(w, &p[i]))
				continue;
			if (!t) {
				t = w;
				before = t->hi - t->lo;
				continue;
			}
			/* the part bridges two open buffers: join them (they are
			 * disjoint, and the part fills the gap between them) */
			memcpy(t->mem + (w->lo - w->base), w->mem + (w->lo - w->base),
			       (size_t)(w->hi - w->lo));
			c->st.dirty_bytes -= w->hi - w->lo;
			I->open_bytes -= w->hi - w->lo;
			t->lo = w->lo < t->lo ? w->lo : t->lo;
			t->hi = w->hi > t->hi ? w->hi : t->hi;
			if (w->t_first < t->t_first)
				t->t_first = w->t_first;
			buf_put(I, w);
		}
		if (!t) {
			t = buf_get(I);
			t->base = p[i].base;
			t->lo = p[i].a;
			t->hi = p[i].b;
			t->t_first = now;
		}
		memcpy(t->mem + (p[i].a - t->base), io->data + (p[i].a - io->off),
		       (size_t)(p[i].b - p[i].a));
		t->lo = p[i].a < t->lo ? p[i].a : t->lo;
		t->hi = p[i].b > t->hi ? p[i].b : t->hi;
		t->seq = ++I->seq;
		c->st.dirty_bytes += (t->hi - t->lo) - before;
		I->open_bytes += (t->hi - t->lo) - before;
		p[i].into = t;
	}
	c->st.wb_buffered++;
	/* acknowledged now: read-ahead must not serve the old data any more */
	ra_invalidate(c, io->off, io->len);
	for (unsigned i = 0; i < n; i++)
		if (p[i].into->state == WB_DIRTY && (I->eager || buf_full(c, p[i].into)))
			write_out(c, p[i].into);
	while (I->open_bytes > c->conf.wb_max_dirty / 2 && (w = oldest_dirty(I)))
		write_out(c, w);
	if (!I->age_timer.armed)
		age_arm(c);
	return TAKE_BUFFERED;
}

/* A write waits: make sure a write-out is under way that will free room. */
static void make_room(struct cache *c)
{
	struct wbuf *o = oldest_dirty(c->impl);

	if (o)
		write_out(c, o);
}

void wb_pump(struct cache *c)
{
	struct cache_impl *I = c->impl;
	struct qio *io;

	/* popped before it is taken: a write passed through is submitted,
	 * and dq_submit() relinks io->next */
	while ((io = qlist_pop(&I->wwait))) {
		enum take r = take(c, io);
		if (r == TAKE_WAIT) {
			qlist_unpop(&I->wwait, io);
			make_room(c);
			return;
		}
		if (r == TAKE_BUFFERED) {
			io->res = 0;
			io->done(io);
		}
	}
}

enum cache_verdict wb_write(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;

	if (!I->wwait.head) {
		switch (take(c, io)) {
		case TAKE_BUFFERED:
			io->res = 0;
			return CACHE_DONE;
		case TAKE_SUBMITTED:
			return CACHE_PENDING;
		case TAKE_WAIT:
			make_room(c);
			break;
		}
	}
	qlist_push(&I->wwait, io);
	return CACHE_PENDING;
}

/* ------------------------------------------------------------ flushes */

/* Flushes wait, in order, for the write-outs started before them (their
 * serial is in io->off while the cache holds them: a flush has no range),
 * then for an fdatasync submitted after those completed. */
static void flush_progress(struct cache *c)
{
	struct cache_impl *I = c->impl;
	uint64_t minw = UINT64_MAX;

	for (struct wbuf *w = I->active_head; w; w = w->next)
		if (w->state == WB_WRITING && w->serial < minw)
			minw = w->serial;
	while (I->fwait.head && I->fwait.head->off < minw)
		qlist_push(&I->fready, qlist_pop(&I->fwait));
	if (!I->sync_busy && I->fready.head) {
		I->fsync = I->fready;
		I->fready.head = I->fready.tail = NULL;
		I->sync_busy = true;
		I->syncq.res = 0;
		I->syncq.off = 0;
		I->syncq.len = 0;
		I->syncq.data = NULL;
		dq_submit(c->q, &I->syncq);
	}
}

static void sync_done(struct qio *q)
{
	struct cache *c = q->ctx;
	struct cache_impl *I = c->impl;
	struct qio *io, *next;

	I->sync_busy = false;
	for (io = qlist_take(&I->fsync); io; io = next) {
		next = io->next;
		io->off = 0;
		io->res = c->failed ? (I->first_err ? I->first_err : -EIO) : q->res;
		io->done(io);
	}
	flush_progress(c);
}

enum cache_verdict wb_flush(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;

	/* a failed cache reports its loss to every later flush */
	if (!c->failed && !I->active_head)
		return CACHE_MISS;
	wb_writeback_all(c);
	io->off = I->serial;
	qlist_push(&I->fwait, io);
	flush_progress(c);
	return CACHE_PENDING;
}

void wb_writeback_all(struct cache *c)
{
	struct cache_impl *I = c->impl;

	for (struct wbuf *w = I->active_head; w; w = w->next)
		if (w->state == WB_DIRTY)
			write_out(c, w);
	/* what waiting writes buffer next is written at once too, until all
	 * is written: at shutdown no timer runs to do it later */
	I->eager = I->active_head || I->wwait.head;
}

/* ---------------------------------------------------- write-out done */

static void written(struct xfer *x)
{
	struct wbuf *w = x->owner;
	struct cache *c = x->c;
	struct cache_impl *I = c->impl;
	uint64_t len = w->hi - w->lo;
	struct qio *io, *next;

	I->writing--;
	if (x->err) {
		c->st.wb_errors++;
		if (!I->first_err)
			I->first_err = x->err;
		log_err("%s: write-back of %llu bytes at offset %llu failed: %s: "
			"%llu bytes of acknowledged data are lost", c->q->b->path,
			(unsigned long long)len, (unsigned long long)w->lo, strerror(-x->err),
			(unsigned long long)len);
		if (!c->failed) {
			c->failed = true;
			log_err("%s: write-back failed: FLUSH reports errors from now on and "
				"writes are no longer acknowledged before they are on disk",
				c->q->b->path);
			if (c->on_failure)
				c->on_failure(c->failure_ctx);
		}
	}
	c->st.dirty_bytes -= len;
	buf_put(I, w);
	/* reads that waited for the store to catch up, writes that waited
	 * for room, flushes that waited for this write-out */
	for (io = qlist_take(&I->rwait); io; io = next) {
		next = io->next;
		cache_reread(c, io);
	}
	wb_pump(c);
	flush_progress(c);
	if (!I->active_head && !I->wwait.head)
		I->eager = false;
}

/* --------------------------------------------------------------- idle */

bool wb_idle(const struct cache *c)
{
	const struct cache_impl *I = c->impl;

	return !I->active_head && !I->rwait.head && !I->fwait.head && !I->fready.head &&
	       !I->sync_busy;
}

bool wb_sweep(struct cache *c, uint64_t now)
{
	struct cache_impl *I = c->impl;
	struct wbuf **pp = &I->free;

	while (*pp) {
		struct wbuf *w = *pp;
		if (now - w->freed_at >= CACHE_IDLE_NS) {
			*pp = w->next;
			buf_destroy(w);
			I->nfree--;
			I->nbuf--;
		} else {
			pp = &w->next;
		}
	}
	return I->nbuf > 0;
}
