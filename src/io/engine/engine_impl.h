/*
 * engine_impl.h - what the engine kinds share (engine.c) and what each
 * provides (engine_aio.c, engine_sync.c, engine_null.c).  Not for users of
 * engine.h; the unit tests build a fake kind on it.
 */
#ifndef AOEX_ENGINE_IMPL_H
#define AOEX_ENGINE_IMPL_H

#include "common/fifo.h"
#include "io/engine/engine.h"

/* I/Os waiting for the kick: eng_fifo_push, _pop, _unpop (the kernel
 * could not take it: back at the front). */
FIFO_DEFINE(eng_fifo, eng_io, next)
#include "event/loop.h"

struct engine_ops {
	const char *name;
	/* hand queued I/Os (e->waiting) to the kernel; may leave some queued */
	void (*kick)(struct engine *e);
	/* block until at least one submitted I/O completes and reap it;
	 * NULL for a kind whose kick completes everything (busy stays 0) */
	void (*wait_one)(struct engine *e);
	void (*free)(struct engine *e);	/* NULL: no state of its own */
};

struct engine {
	const struct engine_ops *ops;
	struct loop *loop;
	unsigned max;			/* I/Os with the kernel at most */
	unsigned busy;			/* I/Os with the kernel now */
	struct eng_fifo waiting;	/* for the kick */
	struct loop_task kick;		/* deferred by engine_submit() */
	struct engine *null;		/* null: stores' engine, made on first need */
	struct engine_stats st;
	void *impl;			/* the kind's own state */
};

/* A zeroed engine on loop l with its deferred kick set up; the caller
 * sets ops (and impl).  NULL when out of memory. */
struct engine *engine_alloc(struct loop *l, unsigned max);
/* Have the kick run at the end of this wakeup (I/Os wait, or the kernel
 * had no room for them and a completion made some). */
void engine_defer_kick(struct engine *e);

/* Finish io with result res (bytes moved, or -errno) and call done(). */
void engine_complete(struct eng_io *io, long res);
/* Finish io now, in the kick, when that cannot wait for a device: a store
 * in memory (tmpfs), or a buffered read of pages the page cache holds
 * (preadv2 RWF_NOWAIT).  Then done() runs from the kick and the reply
 * leaves in the same wakeup, without the eventfd round trip.  False:
 * submit it. */
bool engine_try_inline(struct engine *e, struct eng_io *io);
/* Do io now with plain system calls (sync engine, and fallbacks). */
long engine_do_sync(struct eng_io *io);

int engine_aio_init(struct engine *e, char *err, size_t errlen);
int engine_sync_init(struct engine *e);
/* The engine of null: stores, on loop l (engine_for_backing()). */
struct engine *engine_null_new(struct loop *l);

#endif
