/*
 * cache.h - read-ahead and write-behind for one export, between the
 * device's requests and its I/O queue (queue.h).
 *
 * Read-ahead: sequential streams (several at once) are detected per device;
 * once a stream is established, the cache reads ahead of it in large
 * aligned chunks with asynchronous reads and serves the reader from them.
 * Random reads pass through.  Memory is bounded (streams x 2 chunks) and
 * idle chunks are released.
 *
 * Write-behind, two policies:
 *  - write-through (default): writes pass through to the queue (which
 *    merges adjacent ones into one I/O) and are acknowledged when the I/O
 *    that contains them completed; the cache only drops read-ahead data
 *    they make stale.
 *  - write-back (opt-in): a write is copied into a dirty buffer and
 *    acknowledged at once; contiguous writes gather into large buffers
 *    written as one I/O when full, when the dirty total passes its bound
 *    (oldest first), when older than max_age, and on cache_flush().
 *    Reads see the latest acknowledged data: a read inside a dirty buffer
 *    is served from it; one that straddles dirty data waits until that
 *    data is written.  A failed write-back is logged, counted, and turns
 *    the cache "failed": the device goes read-only and FLUSH reports an
 *    error, rather than dropping data silently.
 */
#ifndef AOEX_CACHE_H
#define AOEX_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/loop.h"
#include "io/queue/queue.h"

struct cache_conf {
	size_t ra_chunk;	/* read-ahead chunk bytes; 0 disables read-ahead */
	unsigned ra_streams;	/* sequential streams tracked */
	bool write_back;	/* the write-back policy */
	size_t wb_chunk;	/* write-back buffer bytes */
	size_t wb_max_dirty;	/* dirty bytes at most before writing the oldest */
	unsigned wb_max_age_ms;	/* dirty data older than this is written */
};

#define CACHE_CONF_DEFAULTS { .ra_chunk = 256 * 1024, .ra_streams = 4, \
	.write_back = false, .wb_chunk = 512 * 1024, .wb_max_dirty = 4 * 1024 * 1024, \
	.wb_max_age_ms = 500 }

struct cache_stats {
	uint64_t ra_hits;	/* reads served from read-ahead chunks */
	uint64_t ra_misses;	/* reads of an established stream that missed */
	uint64_t ra_bypass;	/* random reads */
	uint64_t ra_loads;	/* chunk reads issued */
	uint64_t ra_stale;	/* chunks dropped because a write hit them */
	uint64_t wb_buffered;	/* writes acknowledged from a buffer */
	uint64_t wb_flushes;	/* buffer write-outs */
	uint64_t wb_flush_bytes;
	uint64_t wb_read_hits;	/* reads served from dirty buffers */
	uint64_t wb_errors;	/* failed write-outs */
	uint64_t dirty_bytes;	/* now */
};

/* While the cache owns a request (CACHE_PENDING) it may link it through
 * io->next (as the queue does: a request is in one of them at a time), and
 * a flush's io->off (a flush has no range) holds a number; io->ctx is not
 * touched.  The cache may also submit the request to the queue itself. */
enum cache_verdict {
	CACHE_MISS,		/* not handled: submit io to the queue */
	CACHE_DONE,		/* handled now: io->res is set, call nothing */
	CACHE_PENDING,		/* the cache owns io; io->done() runs later */
};

struct cache_impl;

struct cache {
	struct cache_conf conf;
	struct dq *q;
	struct loop *loop;
	bool failed;		/* a write-back failed: data was lost */
	struct cache_stats st;
	struct cache_impl *impl;
	/* Called once, when a write-back first fails: acknowledged data is
	 * lost, so the owner must stop taking writes (the device turns
	 * read-only).  Set by the owner after cache_init(), which clears it. */
	void (*on_failure)(void *ctx);
	void *failure_ctx;
};

int cache_init(struct cache *c, const struct cache_conf *cf, struct dq *q, struct loop *l);
void cache_free(struct cache *c);

/* A piece of cache memory a read may copy from. */
struct cache_span {
	const uint8_t *p;
	size_t len;
};

/* An initiator's read served straight from cache memory, if it can be now
 * (read-ahead holds all of it, no buffered write has a newer version):
 * 1 or 2 spans to copy from (until the next call into the cache), the
 * read counted; else 0, nothing counted, and the caller uses cache_read().
 * The reply can then be built in its TX slot with one copy. */
unsigned cache_read_map(struct cache *c, uint64_t off, size_t len, struct cache_span sp[2]);
/* An initiator's read (io->data, io->off, io->len). */
enum cache_verdict cache_read(struct cache *c, struct qio *io);
/* An initiator's write.  CACHE_DONE means buffered (write-back only). */
enum cache_verdict cache_write(struct cache *c, struct qio *io);
/* FLUSH CACHE: io (op ENG_FLUSH) completes once everything acknowledged
 * before it is durable: dirty buffers written, then fdatasync.  Always
 * CACHE_PENDING or CACHE_MISS (nothing buffered: submit the flush). */
enum cache_verdict cache_flush(struct cache *c, struct qio *io);
/* Start writing every dirty buffer now (SIGHUP, SIGTERM). */
void cache_writeback_all(struct cache *c);
/* Nothing dirty, no cache I/O in flight, no request waiting in the cache. */
bool cache_idle(const struct cache *c);

#endif
