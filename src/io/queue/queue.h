/*
 * queue.h - a device's I/O queue: between the requests of one export and
 * the engine.
 *
 * It bounds what is in flight (depth engine I/Os), keeps writes that
 * overlap in arrival order (a later write to the same blocks waits for the
 * earlier one; a read-modify-write owns its whole blocks), merges adjacent
 * reads or writes queued in the same wakeup into one vectored I/O, and
 * sends what O_DIRECT cannot take as it is (unaligned buffers, offsets or
 * lengths: 1 KiB frames on a 4K-sector disk, odd -o offsets) through
 * aligned bounce buffers, reading the partial blocks first when writing.
 * Reads are not ordered against writes: a read queued after an overlapping
 * write may be served before it (neither is acknowledged yet; the cache
 * orders what it needs).  Knows nothing of AoE.
 *
 * The queue asks for its own dispatch: dq_submit(), a completion that
 * lets waiting requests through and the merge-delay timer defer it to the
 * loop's DISPATCH phase, before the engine's SUBMIT phase.  The I/O of a
 * null: store goes to the null engine (engine_for_backing()).
 */
#ifndef AOEX_QUEUE_H
#define AOEX_QUEUE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "common/fifo.h"
#include "io/engine/engine.h"
#include "io/freeze/freeze.h"
#include "event/loop.h"

#define DQ_MERGE_IOV	128		/* requests in one merged I/O */
#define DQ_MERGE_BYTES	(256u * 1024)	/* bytes in one merged I/O */
#define DQ_BOUNCE	8		/* bounce buffers per queue */
#define DQ_CHUNKS	1024		/* write-ordering filter slots (queue.c) */

struct qbatch;

struct qio {
	enum eng_op op;
	uint64_t off;		/* bytes in the exported region */
	size_t len;
	uint8_t *data;		/* read destination / write source */
	int res;		/* 0 or -errno when done() runs */
	void (*done)(struct qio *q);
	void *ctx;
	/* queue-private */
	struct qio *next;	/* waiting list (struct qlist) */
	struct qio *mnext;	/* next in the same merged I/O */
	bool picked;
};

/* A FIFO of requests linked through qio.next (the queue's waiting list,
 * and the cache's waiters): qlist_push, _pop, _unpop, _take. */
FIFO_DEFINE(qlist, qio, next)

/* Whether byte ranges [a, b) and [c, d) share a byte. */
static inline bool ranges_overlap(uint64_t a, uint64_t b, uint64_t c, uint64_t d)
{
	return a < d && c < b;
}

struct dq_stats {
	uint64_t requests;	/* qios queued */
	uint64_t ios;		/* engine I/Os issued */
	uint64_t merged;	/* qios that rode in another's I/O */
	uint64_t bounced;	/* I/Os through a bounce buffer */
	uint64_t rmw;		/* of those, read-modify-write */
	uint64_t overlap_waits;	/* a write waited for an earlier overlapping one */
	uint64_t stalls;	/* kicks that left requests waiting (depth, order, bounce) */
	uint64_t errors;	/* engine I/Os that failed */
	uint64_t waiting_max;	/* most requests waiting at once */
	uint64_t held;		/* kicks that held requests back (merge delay) */
};

struct dq {
	struct backing *b;
	struct engine *e;
	unsigned depth;		/* engine I/Os at most */
	unsigned busy;		/* engine I/Os now */
	unsigned waiting;
	struct qlist wait;	/* in arrival order */
	struct qbatch *batches;	/* depth of them */
	struct qbatch *free;
	struct qbatch *writes;	/* the busy write batches */
	uint16_t write_chunks[DQ_CHUNKS];	/* busy writes per filter slot */
	unsigned writes_wide;	/* busy writes too wide for the filter */
	uint8_t *bounce[DQ_BOUNCE];	/* allocated on first need */
	bool bounce_busy[DQ_BOUNCE];
	size_t bounce_size;
	/* merge delay: hold a small batch back this long for neighbours */
	uint64_t merge_delay_ns;	/* 0 = off */
	uint64_t hold_since;		/* when the held requests were first kicked */
	uint64_t waiting_bytes;
	struct loop *loop;
	struct loop_timer hold_timer;
	struct loop_task dispatch;	/* deferred dq_kick() */
	struct dq_stats st;
	struct freeze *fz;	/* frozen export: its engine I/Os go there */
};

/* A queue on loop l for store b, whose I/O goes to engine e (or, for a
 * null: store, to the null engine that lives with e).  0 or -ENOMEM. */
int dq_init(struct dq *q, struct loop *l, struct backing *b, struct engine *e, unsigned depth);
void dq_free(struct dq *q);
/* Hold requests back up to delay_us after they are first kicked, while
 * fewer than a full merged I/O wait, so that neighbours arriving in the
 * next wakeups ride in the same I/O (ggaoed's merge-delay).  0 = off. */
void dq_set_merge_delay(struct dq *q, unsigned delay_us);

/* Queue io and defer the queue's dispatch to the end of this wakeup.
 * done() runs from the loop once the I/O that carries it completes, never
 * inside dq_submit(). */
void dq_submit(struct dq *q, struct qio *io);
/* Dispatch what depth and ordering allow now (what the deferred dispatch
 * does); honours the merge delay. */
void dq_kick(struct dq *q);
/* The same, at once whatever the merge delay (shutdown, sync). */
void dq_kick_now(struct dq *q);
/* Requests waiting or in flight. */
bool dq_idle(const struct dq *q);

#endif
