/*
 * cache_track.h - writes the cache submits on a requester's behalf and
 * tracks until they land, so that it knows a write is in flight: a
 * read-ahead load started while a write to the same range is in flight
 * could read the old data after the write was acknowledged.
 *
 * The trackers are allocated on the first write that needs one and freed
 * after CACHE_IDLE_NS unused (track_sweep()); none is allocated per write.
 */
#ifndef AOEX_CACHE_TRACK_H
#define AOEX_CACHE_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/queue/queue.h"

struct track;

struct track_pool {
	struct dq *q;
	struct track *tracks;	/* NULL until first needed */
	unsigned ntracks, busy;
	bool failed;		/* could not allocate: writes go untracked */
	struct track *free;
	uint64_t idle_at;	/* when busy last fell to 0 */
	/* a tracker came free, before the write's own done() runs: writes
	 * that waited for one go first, in order */
	void (*freed)(void *ctx);
	void *ctx;
};

void track_init(struct track_pool *p, struct dq *q, void (*freed)(void *), void *ctx);
void track_free(struct track_pool *p);
/* Submit write io to the queue, tracked until it lands (untracked when
 * there is no memory for trackers); false when every tracker is busy: the
 * caller keeps io waiting until freed() is called. */
bool track_submit(struct track_pool *p, struct qio *io);
/* Is a tracked write to [off, off + len) in flight? */
bool track_overlaps(const struct track_pool *p, uint64_t off, size_t len);
/* Free idle trackers; true while memory is still held. */
bool track_sweep(struct track_pool *p, uint64_t now);

#endif
