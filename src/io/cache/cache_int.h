/*
 * cache_int.h - what the three parts of the cache share: cache.c (entry
 * points, transfers, tracked writes, the idle sweep), cache_ra.c
 * (read-ahead) and cache_wb.c (write-back).
 *
 * Requests the cache holds (CACHE_PENDING) wait on intrusive lists linked
 * through qio.next: a request is either in the queue or in the cache,
 * never both, and dq_submit() rewrites next anyway.  Nothing is allocated
 * per request: chunk and buffer memory comes when a stream or buffer is
 * first needed and goes back after CACHE_IDLE_NS unused.
 */
#ifndef AOEX_CACHE_INT_H
#define AOEX_CACHE_INT_H

#include "io/cache/cache.h"
#include "io/engine/backing.h"

#define CACHE_MEM_ALIGN	4096u	/* O_DIRECT on any sector size we meet */
#define CACHE_SWEEP_NS	(1000ULL * 1000 * 1000)		/* idle sweep period */
#define CACHE_IDLE_NS	(3ULL * 1000 * 1000 * 1000)	/* unused this long: freed */

/* One range of cache memory moved to or from the store.  It is cut into
 * pieces because the queue realigns an unaligned request through a bounce
 * buffer of DQ_MERGE_BYTES (+ 2 blocks): a larger unaligned request would
 * not fit, so only aligned pieces may be larger. */
struct xfer {
	struct cache *c;
	struct qio *pio;	/* room for npio pieces */
	unsigned npio;
	unsigned pending;	/* pieces not completed */
	int err;		/* first piece error */
	void (*done)(struct xfer *x);
	void *owner;
};

/* A write the cache submits on a requester's behalf, so that it knows
 * when the write has landed: a read-ahead load started while a write to
 * the same range is in flight could read the old data after the write
 * was acknowledged. */
struct track {
	struct qio q;
	struct cache *c;
	struct qio *orig;
	struct track *next;	/* free list */
	bool busy;
};

enum chunk_state { CH_EMPTY, CH_LOADING, CH_VALID };

struct chunk {
	uint8_t *mem;		/* NULL until first loaded, freed when idle */
	struct xfer x;
	enum chunk_state state;
	bool stale;		/* a write hit it while loading: never serve it */
	uint64_t off;
	size_t len;
	int owner;		/* stream index, or -1 */
	uint64_t used;		/* now_ns() of the last load or hit */
	struct qlist waiters;	/* reads served when the load completes */
};

struct stream {
	bool active;
	bool established;
	unsigned reads;		/* sequential reads seen */
	uint64_t run;		/* bytes read sequentially */
	uint64_t next;		/* where the next read should start */
	uint64_t tick;		/* LRU */
};

enum wb_state { WB_FREE, WB_DIRTY, WB_WRITING };

struct wbuf {
	uint8_t *mem;		/* covers [base, base + wchunk) */
	struct xfer x;
	enum wb_state state;
	uint64_t base;
	uint64_t lo, hi;	/* the dirty range, contiguous */
	uint64_t seq;		/* of the last write copied in: newest wins */
	uint64_t serial;	/* write-out number (flushes wait by it) */
	uint64_t t_first;	/* when its oldest data was acknowledged */
	uint64_t freed_at;
	struct wbuf *prev, *next;	/* the active list, or the free list */
};

struct cache_impl {
	/* read-ahead (chunk 0: off) */
	size_t chunk;		/* ra_chunk rounded up to CACHE_MEM_ALIGN */
	unsigned nstreams;
	struct stream *streams;
	struct chunk *chunks;	/* 2 per stream */
	unsigned nchunks;
	unsigned loading;	/* chunk loads in flight */
	uint64_t tick;

	/* tracked writes (allocated on the first write that needs one) */
	struct track *tracks;
	unsigned ntracks, tracks_busy;
	bool tracks_failed;	/* could not allocate: writes go untracked */
	struct track *track_free;
	uint64_t tracks_idle_at;

	/* write-back */
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

	struct loop_timer sweep_timer;
};

/* cache.c */
int xfer_alloc(struct xfer *x, struct cache *c, size_t maxlen, void (*done)(struct xfer *),
	       void *owner);
void xfer_release(struct xfer *x);
void xfer_start(struct xfer *x, enum eng_op op, uint64_t off, size_t len, uint8_t *mem);
/* Submit write io to the queue (tracked when read-ahead is on); false
 * when no tracker is free: the caller keeps io waiting. */
bool cache_submit_write(struct cache *c, struct qio *io);
/* Has the cache a write in flight to [off, off + len)? */
bool cache_write_in_flight(const struct cache *c, uint64_t off, size_t len);
/* Run a read the cache held again, from the top, without counting it as
 * a new read: served, held again, or submitted to the queue. */
void cache_reread(struct cache *c, struct qio *io);
void cache_sweep_arm(struct cache *c);
void cache_pump_writes(struct cache *c);

/* cache_ra.c */
int ra_init(struct cache *c);
void ra_free(struct cache *c);
enum cache_verdict ra_read(struct cache *c, struct qio *io);
enum cache_verdict ra_serve(struct cache *c, struct qio *io, int *owner);
void ra_invalidate(struct cache *c, uint64_t off, size_t len);
bool ra_sweep(struct cache *c, uint64_t now);	/* true: memory still held */

/* cache_wb.c */
void wb_init(struct cache *c);
void wb_free(struct cache *c);
enum cache_verdict wb_read(struct cache *c, struct qio *io);
enum cache_verdict wb_write(struct cache *c, struct qio *io);
enum cache_verdict wb_flush(struct cache *c, struct qio *io);
void wb_writeback_all(struct cache *c);
void wb_pump(struct cache *c);
bool wb_writing_overlaps(const struct cache *c, uint64_t off, size_t len);
bool wb_idle(const struct cache *c);
bool wb_sweep(struct cache *c, uint64_t now);

#endif
