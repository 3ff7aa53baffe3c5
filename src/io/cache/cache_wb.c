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
#include "io/cache/cache_wb.h"
#include "io/cache/cache_xfer.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define WB_MAX_PARTS	8	/* buffers one write may span; more: passed through */
#define WB_AGE_SLACK_NS	(1000ULL * 1000)	/* write together what is due within 1 ms */

enum wb_state { WB_FREE, WB_DIRTY, WB_WRITING };

struct wbuf {
	uint8_t *mem;		/* covers [base, base + wchunk) */
	struct xfer x;
	struct wb *wb;
	enum wb_state state;
	uint64_t base;
	uint64_t lo, hi;	/* the dirty range, contiguous */
	uint64_t seq;		/* of the last write copied in: newest wins */
	uint64_t serial;	/* write-out number (flushes wait by it) */
	uint64_t t_first;	/* when its oldest data was acknowledged */
	uint64_t freed_at;
	struct wbuf *prev, *next;	/* the active list, or the free list */
};

struct wb {
	struct cache *c;
	const struct cache_hooks *h;
	size_t wchunk;		/* wb_chunk rounded up to CACHE_MEM_ALIGN */
	unsigned nbuf_max, nbuf, nfree;
	struct wbuf *active_head, *active_tail;	/* DIRTY and WRITING, by age */
	struct wbuf *free;
	unsigned writing;	/* buffers being written */
	uint64_t open_bytes;	/* dirty bytes of DIRTY buffers (not being written) */
	uint64_t seq, serial;
	bool eager;		/* write everything at once until idle (shutdown) */
	int first_err;
	struct qlist wwait;	/* writes not yet taken, in arrival order */
	struct qlist rwait;	/* reads waiting for dirty data to be written */
	struct qlist fwait;	/* flushes waiting for write-outs */
	struct qlist fready;	/* flushes waiting for the next fdatasync */
	struct qlist fsync;	/* flushes riding the fdatasync in flight */
	struct qio syncq;
	bool sync_busy;
	struct loop_timer age_timer;
};

static void age_due(struct loop_timer *t);
static void sync_done(struct qio *q);

struct wb *wb_new(struct cache *c, const struct cache_hooks *h)
{
	size_t w = c->conf.wb_chunk < CACHE_MEM_ALIGN ? CACHE_MEM_ALIGN : c->conf.wb_chunk;
	struct wb *wb = calloc(1, sizeof *wb);
	size_t n;

	if (!wb)
		return NULL;
	wb->c = c;
	wb->h = h;
	wb->wchunk = (w + CACHE_MEM_ALIGN - 1) / CACHE_MEM_ALIGN * CACHE_MEM_ALIGN;
	/* enough buffers for max_dirty of full ones plus one filling, and for
	 * a write of one frame that crosses buffer boundaries */
	n = (c->conf.wb_max_dirty + wb->wchunk - 1) / wb->wchunk + 1;
	wb->nbuf_max = n < 4 ? 4 : n > 65536 ? 65536 : (unsigned)n;
	wb->age_timer.fn = age_due;
	wb->age_timer.ctx = wb;
	wb->syncq.op = ENG_FLUSH;
	wb->syncq.done = sync_done;
	wb->syncq.ctx = wb;
	return wb;
}

static void buf_destroy(struct wbuf *w)
{
	free(w->mem);
	xfer_release(&w->x);
	free(w);
}

void wb_free(struct wb *wb)
{
	struct wbuf *w, *next;

	if (!wb)
		return;
	loop_timer_cancel(wb->c->loop, &wb->age_timer);
	for (w = wb->active_head; w; w = next) {
		next = w->next;
		buf_destroy(w);
	}
	for (w = wb->free; w; w = next) {
		next = w->next;
		buf_destroy(w);
	}
	free(wb);
}

/* ------------------------------------------------------------ buffers */

static void written(struct xfer *x);

static bool buf_alloc(struct wb *wb)
{
	struct wbuf *w = calloc(1, sizeof *w);

	if (!w)
		return false;
	w->mem = aligned_alloc(CACHE_MEM_ALIGN, wb->wchunk);
	if (!w->mem || xfer_alloc(&w->x, wb->c->q, wb->wchunk, written, w) < 0) {
		free(w->mem);
		free(w);
		return false;
	}
	w->wb = wb;
	w->freed_at = loop_now(wb->c->loop);
	w->next = wb->free;
	wb->free = w;
	wb->nfree++;
	wb->nbuf++;
	wb->h->sweep_arm(wb->c);
	return true;
}

/* A free buffer, appended to the active list (so that list is by age). */
static struct wbuf *buf_get(struct wb *wb)
{
	struct wbuf *w = wb->free;

	wb->free = w->next;
	wb->nfree--;
	w->prev = wb->active_tail;
	w->next = NULL;
	if (wb->active_tail)
		wb->active_tail->next = w;
	else
		wb->active_head = w;
	wb->active_tail = w;
	w->state = WB_DIRTY;
	return w;
}

static void buf_put(struct wb *wb, struct wbuf *w)
{
	if (w->prev)
		w->prev->next = w->next;
	else
		wb->active_head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	else
		wb->active_tail = w->prev;
	w->state = WB_FREE;
	w->freed_at = loop_now(wb->c->loop);
	w->prev = NULL;
	w->next = wb->free;
	wb->free = w;
	wb->nfree++;
}

static bool buf_full(const struct wb *wb, const struct wbuf *w)
{
	struct cache *c = wb->c;
	uint64_t end = w->base + wb->wchunk;

	if (end > c->q->b->size)
		end = c->q->b->size;
	return w->lo == w->base && w->hi == end;
}

static struct wbuf *oldest_dirty(struct wb *wb)
{
	struct wbuf *o = NULL;

	for (struct wbuf *w = wb->active_head; w; w = w->next)
		if (w->state == WB_DIRTY && (!o || w->t_first < o->t_first))
			o = w;
	return o;
}

/* Arm the age timer for the oldest open buffer.  It is not moved when
 * that buffer is written early: it then fires for nothing and re-arms. */
static void age_arm(struct wb *wb)
{
	struct cache *c = wb->c;
	struct wbuf *o = oldest_dirty(wb);

	if (o)
		loop_timer_at(c->loop, &wb->age_timer,
			      o->t_first + (uint64_t)c->conf.wb_max_age_ms * 1000000ULL);
}

static void write_out(struct wb *wb, struct wbuf *w)
{
	struct cache *c = wb->c;
	size_t len = (size_t)(w->hi - w->lo);

	w->state = WB_WRITING;
	w->serial = ++wb->serial;
	wb->writing++;
	wb->open_bytes -= len;
	c->st.wb_flushes++;
	c->st.wb_flush_bytes += len;
	/* a copy of the old data around the dirty range may have been
	 * loaded meanwhile; from now on the store changes under it */
	wb->h->stale(c, w->lo, len);
	xfer_start(&w->x, ENG_WRITE, w->lo, len, w->mem + (w->lo - w->base));
}

static void age_due(struct loop_timer *t)
{
	struct wb *wb = t->ctx;
	struct cache *c = wb->c;
	uint64_t age = (uint64_t)c->conf.wb_max_age_ms * 1000000ULL;
	uint64_t now = now_ns();

	for (struct wbuf *w = wb->active_head; w; w = w->next)
		if (w->state == WB_DIRTY && w->t_first + age <= now + WB_AGE_SLACK_NS)
			write_out(wb, w);
	age_arm(wb);
}

bool wb_writing(const struct wb *wb, uint64_t off, size_t len)
{
	for (const struct wbuf *w = wb->active_head; w; w = w->next)
		if (w->state == WB_WRITING && ranges_overlap(w->lo, w->hi, off, off + len))
			return true;
	return false;
}

/* -------------------------------------------------------------- reads */

bool wb_holds(const struct wb *wb, uint64_t off, size_t len)
{
	for (const struct wbuf *w = wb->active_head; w; w = w->next)
		if (ranges_overlap(w->lo, w->hi, off, off + len))
			return true;
	return false;
}

enum cache_verdict wb_read(struct wb *wb, struct qio *io)
{
	struct cache *c = wb->c;
	uint64_t off = io->off, end = io->off + io->len;
	struct wbuf *n = NULL, *w;

	for (w = wb->active_head; w; w = w->next)
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
	for (w = wb->active_head; w; w = w->next)
		if (w->state == WB_DIRTY && ranges_overlap(w->lo, w->hi, off, end))
			write_out(wb, w);
	qlist_push(&wb->rwait, io);
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

static unsigned split(const struct wb *wb, const struct qio *io, struct part *p)
{
	uint64_t W = wb->wchunk, pos = io->off, end = io->off + io->len;
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
static enum take pass_through(struct wb *wb, struct qio *io)
{
	for (struct wbuf *w = wb->active_head; w; w = w->next)
		if (w->state == WB_DIRTY && ranges_overlap(w->lo, w->hi, io->off, io->off + io->len))
			write_out(wb, w);
	return wb->h->submit_write(wb->c, io) ? TAKE_SUBMITTED : TAKE_WAIT;
}

/* Buffer write io whole, or pass it through, or say it must wait. */
static enum take take(struct wb *wb, struct qio *io)
{
	struct cache *c = wb->c;
	struct part p[WB_MAX_PARTS];
	unsigned n = split(wb, io, p), need = 0;
	uint64_t added = 0, now;
	struct wbuf *w, *next;

	if (c->failed || n > WB_MAX_PARTS || n > wb->nbuf_max)
		return pass_through(wb, io);
	/* plan: what each part adds to the dirty total, and which need a
	 * new buffer; nothing changes unless all parts can be taken */
	for (unsigned i = 0; i < n; i++) {
		uint64_t lo = p[i].a, hi = p[i].b, old = 0;
		bool found = false;
		for (w = wb->active_head; w; w = w->next) {
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
	while (wb->nfree < need && wb->nbuf < wb->nbuf_max && buf_alloc(wb))
		;
	if (wb->nfree < need)	/* out of memory with nothing to wait for: write it */
		return wb->active_head ? TAKE_WAIT : pass_through(wb, io);

	now = loop_now(c->loop);
	for (unsigned i = 0; i < n; i++) {
		struct wbuf *t = NULL;
		uint64_t before = 0;
		for (w = wb->active_head; w; w = next) {
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
			wb->open_bytes -= w->hi - w->lo;
			t->lo = w->lo < t->lo ? w->lo : t->lo;
			t->hi = w->hi > t->hi ? w->hi : t->hi;
			if (w->t_first < t->t_first)
				t->t_first = w->t_first;
			buf_put(wb, w);
		}
		if (!t) {
			t = buf_get(wb);
			t->base = p[i].base;
			t->lo = p[i].a;
			t->hi = p[i].b;
			t->t_first = now;
		}
		memcpy(t->mem + (p[i].a - t->base), io->data + (p[i].a - io->off),
		       (size_t)(p[i].b - p[i].a));
		t->lo = p[i].a < t->lo ? p[i].a : t->lo;
		t->hi = p[i].b > t->hi ? p[i].b : t->hi;
		t->seq = ++wb->seq;
		c->st.dirty_bytes += (t->hi - t->lo) - before;
		wb->open_bytes += (t->hi - t->lo) - before;
		p[i].into = t;
	}
	c->st.wb_buffered++;
	/* acknowledged now: no copy of the old data may be served any more */
	wb->h->stale(c, io->off, io->len);
	for (unsigned i = 0; i < n; i++)
		if (p[i].into->state == WB_DIRTY && (wb->eager || buf_full(wb, p[i].into)))
			write_out(wb, p[i].into);
	while (wb->open_bytes > c->conf.wb_max_dirty / 2 && (w = oldest_dirty(wb)))
		write_out(wb, w);
	if (!wb->age_timer.armed)
		age_arm(wb);
	return TAKE_BUFFERED;
}

/* A write waits: make sure a write-out is under way that will free room. */
static void make_room(struct wb *wb)
{
	struct wbuf *o = oldest_dirty(wb);

	if (o)
		write_out(wb, o);
}

void wb_pump(struct wb *wb)
{
	struct qio *io;

	/* popped before it is taken: a write passed through is submitted,
	 * and dq_submit() relinks io->next */
	while ((io = qlist_pop(&wb->wwait))) {
		enum take r = take(wb, io);
		if (r == TAKE_WAIT) {
			qlist_unpop(&wb->wwait, io);
			make_room(wb);
			return;
		}
		if (r == TAKE_BUFFERED) {
			io->res = 0;
			io->done(io);
		}
	}
}

enum cache_verdict wb_write(struct wb *wb, struct qio *io)
{
	if (!wb->wwait.head) {
		switch (take(wb, io)) {
		case TAKE_BUFFERED:
			io->res = 0;
			return CACHE_DONE;
		case TAKE_SUBMITTED:
			return CACHE_PENDING;
		case TAKE_WAIT:
			make_room(wb);
			break;
		}
	}
	qlist_push(&wb->wwait, io);
	return CACHE_PENDING;
}

/* ------------------------------------------------------------ flushes */

/* Flushes wait, in order, for the write-outs started before them (their
 * serial is in io->off while the cache holds them: a flush has no range),
 * then for an fdatasync submitted after those completed. */
static void flush_progress(struct wb *wb)
{
	struct cache *c = wb->c;
	uint64_t minw = UINT64_MAX;

	for (struct wbuf *w = wb->active_head; w; w = w->next)
		if (w->state == WB_WRITING && w->serial < minw)
			minw = w->serial;
	while (wb->fwait.head && wb->fwait.head->off < minw)
		qlist_push(&wb->fready, qlist_pop(&wb->fwait));
	if (!wb->sync_busy && wb->fready.head) {
		wb->fsync = wb->fready;
		wb->fready.head = wb->fready.tail = NULL;
		wb->sync_busy = true;
		wb->syncq.res = 0;
		wb->syncq.off = 0;
		wb->syncq.len = 0;
		wb->syncq.data = NULL;
		dq_submit(c->q, &wb->syncq);
	}
}

static void sync_done(struct qio *q)
{
	struct wb *wb = q->ctx;
	struct cache *c = wb->c;
	struct qio *io, *next;

	wb->sync_busy = false;
	for (io = qlist_take(&wb->fsync); io; io = next) {
		next = io->next;
		io->off = 0;
		io->res = c->failed ? (wb->first_err ? wb->first_err : -EIO) : q->res;
		io->done(io);
	}
	flush_progress(wb);
}

enum cache_verdict wb_flush(struct wb *wb, struct qio *io)
{
	struct cache *c = wb->c;

	/* a failed cache reports its loss to every later flush */
	if (!c->failed && !wb->active_head)
		return CACHE_MISS;
	wb_writeback_all(wb);
	io->off = wb->serial;
	qlist_push(&wb->fwait, io);
	flush_progress(wb);
	return CACHE_PENDING;
}

void wb_writeback_all(struct wb *wb)
{
	for (struct wbuf *w = wb->active_head; w; w = w->next)
		if (w->state == WB_DIRTY)
			write_out(wb, w);
	/* what waiting writes buffer next is written at once too, until all
	 * is written: at shutdown no timer runs to do it later */
	wb->eager = wb->active_head || wb->wwait.head;
}

/* ---------------------------------------------------- write-out done */

static void written(struct xfer *x)
{
	struct wbuf *w = x->owner;
	struct wb *wb = w->wb;
	struct cache *c = wb->c;
	uint64_t len = w->hi - w->lo;
	struct qio *io, *next;

	wb->writing--;
	if (x->err) {
		c->st.wb_errors++;
		if (!wb->first_err)
			wb->first_err = x->err;
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
	buf_put(wb, w);
	/* reads that waited for the store to catch up, writes that waited
	 * for room, flushes that waited for this write-out */
	for (io = qlist_take(&wb->rwait); io; io = next) {
		next = io->next;
		wb->h->reread(wb->c, io);
	}
	wb_pump(wb);
	flush_progress(wb);
	if (!wb->active_head && !wb->wwait.head)
		wb->eager = false;
}

/* --------------------------------------------------------------- idle */

bool wb_idle(const struct wb *wb)
{
	return !wb->active_head && !wb->rwait.head && !wb->fwait.head && !wb->fready.head &&
	       !wb->sync_busy;
}

bool wb_sweep(struct wb *wb, uint64_t now)
{
	struct wbuf **pp = &wb->free;

	while (*pp) {
		struct wbuf *w = *pp;
		if (now - w->freed_at >= CACHE_IDLE_NS) {
			*pp = w->next;
			buf_destroy(w);
			wb->nfree--;
			wb->nbuf--;
		} else {
			pp = &w->next;
		}
	}
	return wb->nbuf > 0;
}
