/*
 * engine_null.c - the engine of null: stores (reads zeros, writes and
 * flushes succeed, no system call): for measuring the network path alone.
 *
 * Its own kind rather than a test inside the others, so the aio and sync
 * engines only ever see real file descriptors.  One lives with the
 * daemon's engine (engine_for_backing()), on the same loop: its kick runs
 * in the SUBMIT phase like theirs and completes everything queued there
 * and then, which frees queue depth at once; the loop then goes back to
 * the DISPATCH phase for what that lets through.
 */
#include "config.h"
#include "io/engine/engine_impl.h"

#include <stdlib.h>
#include <string.h>

static void null_kick(struct engine *e)
{
	struct eng_io *io;

	/* done() may queue more: they complete in this kick too */
	while ((io = eng_fifo_pop(&e->waiting))) {
		e->st.submitted++;
		if (io->op == ENG_READ)
			for (unsigned i = 0; i < io->iovcnt; i++)
				memset(io->iov[i].iov_base, 0, io->iov[i].iov_len);
		engine_complete(io, (long)io->len);
		e->st.reaped++;
	}
}

/* nothing is ever outstanding: no wait_one; no state: no free */
static const struct engine_ops null_ops = { .name = "null", .kick = null_kick };

struct engine *engine_null_new(struct loop *l)
{
	struct engine *e = engine_alloc(l, 0);

	if (e)
		e->ops = &null_ops;
	return e;
}
