/*
 * engine_sync.c - the synchronous engine: each queued I/O is done with
 * preadv/pwritev/fdatasync in the engine's kick, in the loop's SUBMIT
 * phase (its done() callbacks free queue depth, and the loop goes back to
 * the queues' DISPATCH phase for what that lets through).  The loop
 * stalls while the disk works; used where Linux AIO is missing and as the
 * baseline the AIO engine is measured against.
 */
#include "config.h"
#include "io/engine/engine_impl.h"

static void sync_kick(struct engine *e)
{
	struct eng_io *io;

	/* done() may queue more (a read-modify-write's second half) */
	while ((io = eng_fifo_pop(&e->waiting))) {
		e->st.submitted++;
		engine_complete(io, engine_do_sync(io));
		e->st.reaped++;
	}
}

/* nothing is ever outstanding: no wait_one; no state: no free */
static const struct engine_ops sync_ops = { .name = "sync", .kick = sync_kick };

int engine_sync_init(struct engine *e)
{
	e->ops = &sync_ops;
	return 0;
}
