/*
 * cache_xfer.h - moving a range of cache memory (a read-ahead chunk, a
 * write-back buffer) to or from the store through the device's queue.
 *
 * The range is cut into pieces because the queue realigns an unaligned
 * request through a bounce buffer of DQ_MERGE_BYTES (+ 2 blocks): a larger
 * unaligned request would not fit, so only aligned pieces may be larger.
 * The pieces are allocated once with the memory they move, not per
 * transfer.
 */
#ifndef AOEX_CACHE_XFER_H
#define AOEX_CACHE_XFER_H

#include <stddef.h>
#include <stdint.h>

#include "io/queue/queue.h"

struct xfer {
	struct dq *q;
	struct qio *pio;	/* room for npio pieces */
	unsigned npio;
	unsigned pending;	/* pieces not completed */
	int err;		/* first piece error */
	void (*done)(struct xfer *x);	/* every piece completed */
	void *owner;
};

/* Room for transfers of up to maxlen bytes through q.  0 or -ENOMEM. */
int xfer_alloc(struct xfer *x, struct dq *q, size_t maxlen, void (*done)(struct xfer *),
	       void *owner);
void xfer_release(struct xfer *x);
/* Move [off, off + len) of the export between the store and mem (op
 * ENG_READ or ENG_WRITE); x->done() runs from the loop with x->err set. */
void xfer_start(struct xfer *x, enum eng_op op, uint64_t off, size_t len, uint8_t *mem);

#endif
