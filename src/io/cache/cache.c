/*
 * cache.c - read-ahead and write-behind: the entry points, the coherence
 * between read-ahead (cache_ra.c) and write-back (cache_wb.c), which never
 * call each other but this file's hooks, writes tracked until they land
 * (cache_track.c) so read-ahead does not load over them, and the sweep
 * that gives idle memory back.
 */
#include "config.h"
#include "io/cache/cache_int.h"
#include "io/cache/cache_ra.h"
#include "io/cache/cache_track.h"
#include "io/cache/cache_wb.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CACHE_SWEEP_NS	(1000ULL * 1000 * 1000)		/* idle sweep period */

struct cache_impl {
	struct ra *ra;		/* NULL: read-ahead is off */
	struct wb *wb;		/* NULL: write-through */
	struct track_pool tracks;	/* only with read-ahead: it needs to know */
	struct qlist wwait;	/* write-through: writes waiting for a tracker */
	struct loop_timer sweep_timer;
};

/* ---------------------------------------------------------- coherence */

static void hook_stale(struct cache *c, uint64_t off, size_t len)
{
	if (c->impl->ra)
		ra_invalidate(c->impl->ra, off, len);
}

static bool hook_writing(const struct cache *c, uint64_t off, size_t len)
{
	const struct cache_impl *I = c->impl;

	return track_overlaps(&I->tracks, off, len) || (I->wb && wb_writing(I->wb, off, len));
}

static void hook_sweep_arm(struct cache *c)
{
	struct cache_impl *I = c->impl;

	if (!I->sweep_timer.armed)
		loop_timer_at(c->loop, &I->sweep_timer, now_ns() + CACHE_SWEEP_NS);
}

static bool hook_submit_write(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;

	if (!I->ra) {
		dq_submit(c->q, io);	/* nothing to keep coherent */
		return true;
	}
	if (!track_submit(&I->tracks, io))
		return false;
	if (I->tracks.tracks)
		hook_sweep_arm(c);
	/* the write is on its way: read-ahead data of its range is old now,
	 * and a load that is reading it may see either version */
	ra_invalidate(I->ra, io->off, io->len);
	return true;
}

static void hook_reread(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;
	enum cache_verdict v = CACHE_MISS;

	if (I->wb)
		v = wb_read(I->wb, io);
	if (v == CACHE_MISS && I->ra)
		v = ra_serve(I->ra, io);
	if (v == CACHE_DONE)
		io->done(io);
	else if (v == CACHE_MISS)
		dq_submit(c->q, io);
}

static const struct cache_hooks hooks = {
	.stale = hook_stale,
	.writing = hook_writing,
	.submit_write = hook_submit_write,
	.reread = hook_reread,
	.sweep_arm = hook_sweep_arm,
};

/* A tracker came free: writes that waited for one go first, in order. */
static void pump_writes(void *ctx)
{
	struct cache *c = ctx;
	struct cache_impl *I = c->impl;
	struct qio *io;

	if (I->wb) {
		wb_pump(I->wb);
		return;
	}
	/* popped before it is submitted: dq_submit() relinks io->next */
	while ((io = qlist_pop(&I->wwait))) {
		if (!hook_submit_write(c, io)) {
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

	if (I->ra)
		held |= ra_sweep(I->ra, now);
	if (I->wb)
		held |= wb_sweep(I->wb, now);
	held |= track_sweep(&I->tracks, now);
	if (held)
		loop_timer_at(c->loop, &I->sweep_timer, now + CACHE_SWEEP_NS);
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
	track_init(&I->tracks, q, pump_writes, c);
	if (ra_new(c, &hooks, &I->ra) < 0 || (cf->write_back && !(I->wb = wb_new(c, &hooks)))) {
		cache_free(c);
		return -ENOMEM;
	}
	return 0;
}

void cache_free(struct cache *c)
{
	struct cache_impl *I = c->impl;

	if (!I)
		return;
	loop_timer_cancel(c->loop, &I->sweep_timer);
	ra_free(I->ra);
	wb_free(I->wb);
	track_free(&I->tracks);
	free(I);
	c->impl = NULL;
}

enum cache_verdict cache_read(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;
	enum cache_verdict v;

	if (I->wb && (v = wb_read(I->wb, io)) != CACHE_MISS)
		return v;
	if (I->ra)
		return ra_read(I->ra, io);
	return CACHE_MISS;
}

unsigned cache_read_map(struct cache *c, uint64_t off, size_t len, struct cache_span sp[2])
{
	struct cache_impl *I = c->impl;

	if (!I->ra || (I->wb && wb_holds(I->wb, off, len)))
		return 0;
	return ra_peek(I->ra, off, len, sp);
}

enum cache_verdict cache_write(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;

	if (I->wb)
		return wb_write(I->wb, io);
	if (!I->ra)
		return CACHE_MISS;	/* nothing to keep coherent */
	/* write-through: the write goes to the queue as it is, only tracked
	 * until it lands; one held for a tracker holds the later ones so
	 * overlapping writes still reach the queue in arrival order */
	if (I->wwait.head || !hook_submit_write(c, io))
		qlist_push(&I->wwait, io);
	return CACHE_PENDING;
}

enum cache_verdict cache_flush(struct cache *c, struct qio *io)
{
	if (c->impl->wb)
		return wb_flush(c->impl->wb, io);
	return CACHE_MISS;	/* write-through: nothing acknowledged is buffered */
}

void cache_writeback_all(struct cache *c)
{
	if (c->impl->wb)
		wb_writeback_all(c->impl->wb);
}

bool cache_idle(const struct cache *c)
{
	const struct cache_impl *I = c->impl;

	if (!I)
		return true;
	return (!I->ra || ra_idle(I->ra)) && I->tracks.busy == 0 && !I->wwait.head &&
	       (!I->wb || wb_idle(I->wb));
}
