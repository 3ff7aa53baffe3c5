/*
 * engine.h - disk I/O without blocking the loop.
 *
 * An engine takes reads, writes and flushes on backing stores and reports
 * their completion through a callback from the event loop.  engine_submit()
 * defers the engine's kick to the loop's SUBMIT phase, after every queue
 * has dispatched: the I/Os of one wakeup go to the kernel together (one
 * io_submit); completions arrive on an eventfd that sits in the epoll set
 * and are reaped in batches.
 *
 * Two kinds: "aio" (Linux native AIO through libaio) and "sync"
 * (pread/pwrite in the kick: where io_setup is missing, as under
 * qemu-user, and as the baseline the AIO engine is measured against).
 * A null: store has an engine of its own, "null" (engine_null.c), that
 * lives with the daemon's engine: engine_for_backing() picks it.
 * The engine knows nothing of AoE; it never merges or realigns: the device
 * queue (queue.c) hands it I/Os that are ready to go.
 */
#ifndef AOEX_ENGINE_H
#define AOEX_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "io/engine/backing.h"

struct loop;

enum eng_op { ENG_READ, ENG_WRITE, ENG_FLUSH };

struct eng_io {
	enum eng_op op;
	struct backing *b;
	uint64_t off;		/* bytes from the start of the store (the
				 * export's offset already added) */
	size_t len;		/* total bytes of iov */
	const struct iovec *iov;
	unsigned iovcnt;
	int res;		/* 0 or -errno when done() runs */
	void (*done)(struct eng_io *io);
	/* engine-private */
	struct eng_io *next;
	void *priv;		/* the kernel's iocb */
	/* the freeze layer's (io/freeze/freeze.c) while it holds the I/O */
	void (*fz_done)(struct eng_io *io);
	struct backing *fz_b;
	uint64_t fz_off;
	struct eng_io *fz_next;
	void *fz_ctx;
};

enum engine_kind { ENGINE_AIO, ENGINE_SYNC };

struct engine_stats {
	uint64_t submitted;	/* I/Os handed to the kernel */
	uint64_t submit_calls;	/* io_submit() calls (batches) */
	uint64_t eagain;	/* io_submit said the kernel queue is full */
	uint64_t reaped;	/* completions */
	uint64_t reap_calls;	/* io_getevents() calls */
	uint64_t sync_flush_fallback;	/* FDSYNC done synchronously */
	uint64_t inline_done;		/* done in the kick: a store in memory, a
					 * read the page cache held */
};

/* Make an engine of kind want whose I/Os complete through loop l; max is
 * how many I/Os may be with the kernel at once.  An AIO engine that cannot
 * be set up (ENOSYS, EAGAIN on aio-max-nr) falls back to "sync" with a
 * warning.  Returns NULL (and err) only when out of memory. */
struct engine *engine_new(struct loop *l, enum engine_kind want, unsigned max,
			  char *err, size_t errlen);
void engine_free(struct engine *e);
const char *engine_name(const struct engine *e);
const struct engine_stats *engine_stats(const struct engine *e);

/* The engine the I/O of store b goes to: e itself, or for a null: store
 * the null engine that lives with e (made on first need, freed with e;
 * NULL when out of memory). */
struct engine *engine_for_backing(struct engine *e, const struct backing *b);

/* Queue io and defer the engine's kick to the loop's SUBMIT phase.  done()
 * is always called from the loop, never inside engine_submit(). */
void engine_submit(struct engine *e, struct eng_io *io);
/* Hand everything queued to the kernel now, on e and on the null engine
 * that lives with it (what the deferred kick does; shutdown). */
void engine_kick(struct engine *e);
/* Whether I/Os wait for a kick, on e or its null engine. */
bool engine_queued(const struct engine *e);
/* Wait for every I/O of e and its null engine to complete, running done()
 * callbacks (shutdown, sync). */
void engine_drain(struct engine *e);

#endif
