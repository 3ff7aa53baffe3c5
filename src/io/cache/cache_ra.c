/*
 * cache_ra.c - read-ahead for sequential readers.
 *
 * Streams: each read is matched to a stream whose next expected offset it
 * starts at (within RA_SLACK, since a window of outstanding frames may
 * arrive slightly out of order) or that owns the chunk it hits; a read
 * that matches none replaces the least recently used stream (one not yet
 * established first, so random reads do not push out real readers).  A
 * stream is established after 2 sequential reads that also add up to
 * RA_MIN_RUN bytes: AoE reads are at most one frame, so a random 4 KiB
 * read at MTU 1500 is itself 4 "sequential" 1 KiB reads, and must not cost
 * two chunk loads.
 *
 * Chunks: ra_chunk bytes at ra_chunk-aligned offsets, a pool of 2 per
 * stream.  An established stream keeps the chunk its reader is in and the
 * next one loaded (double buffering): entering chunk N starts loading
 * N+1, into the stream's chunk behind the reader.  Reads inside a loaded
 * chunk are copied from it; reads inside a loading one wait for it.
 *
 * Coherence (cache.c's hooks): a write to a chunk's range drops it
 * (ra_invalidate()), or, while it loads, marks it stale: its waiters then
 * go to the queue as ordinary reads.  A load is not started over a write
 * the cache still has in flight (the hook writing()).
 */
#include "config.h"
#include "io/cache/cache_ra.h"
#include "io/cache/cache_xfer.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RA_SLACK	(64u * 1024)	/* how far from "next" a read still continues a stream */
#define RA_MIN_RUN	(64u * 1024)	/* sequential bytes before read-ahead starts */

enum chunk_state { CH_EMPTY, CH_LOADING, CH_VALID };

struct chunk {
	uint8_t *mem;		/* NULL until first loaded, freed when idle */
	struct xfer x;
	struct ra *r;
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
	uint64_t ahead_x;	/* the chunk ahead() last ran for: once per chunk */
};

struct ra {
	struct cache *c;
	const struct cache_hooks *h;
	size_t chunk;		/* ra_chunk rounded up to CACHE_MEM_ALIGN */
	unsigned nstreams;
	struct stream *streams;
	struct chunk *chunks;	/* 2 per stream */
	unsigned nchunks;
	unsigned loading;	/* chunk loads in flight */
	uint64_t tick;
};

int ra_new(struct cache *c, const struct cache_hooks *h, struct ra **out)
{
	size_t chunk = c->conf.ra_chunk;
	struct ra *r;

	*out = NULL;
	if (!chunk || !c->conf.ra_streams)
		return 0;
	if (!(r = calloc(1, sizeof *r)))
		return -ENOMEM;
	r->c = c;
	r->h = h;
	r->chunk = (chunk + CACHE_MEM_ALIGN - 1) / CACHE_MEM_ALIGN * CACHE_MEM_ALIGN;
	r->nstreams = c->conf.ra_streams;
	r->nchunks = 2 * r->nstreams;
	r->streams = calloc(r->nstreams, sizeof *r->streams);
	r->chunks = calloc(r->nchunks, sizeof *r->chunks);
	if (!r->streams || !r->chunks) {
		ra_free(r);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < r->nchunks; i++) {
		r->chunks[i].owner = -1;
		r->chunks[i].r = r;
	}
	*out = r;
	return 0;
}

static void chunk_release(struct chunk *k)
{
	free(k->mem);
	k->mem = NULL;
	xfer_release(&k->x);
	k->state = CH_EMPTY;
	k->owner = -1;
}

void ra_free(struct ra *r)
{
	if (!r)
		return;
	if (r->chunks)
		for (unsigned i = 0; i < r->nchunks; i++)
			chunk_release(&r->chunks[i]);
	free(r->chunks);
	free(r->streams);
	free(r);
}

static bool usable(const struct chunk *k)
{
	return k->state != CH_EMPTY && !k->stale;
}

static struct chunk *chunk_at(struct ra *r, uint64_t pos)
{
	for (unsigned i = 0; i < r->nchunks; i++) {
		struct chunk *k = &r->chunks[i];
		if (usable(k) && k->off <= pos && pos < k->off + k->len)
			return k;
	}
	return NULL;
}

/* Serve io from chunks only (no stream bookkeeping): a read may lie in one
 * chunk or straddle two adjacent ones. */
static enum cache_verdict serve(struct ra *r, struct qio *io, int *owner)
{
	uint64_t off = io->off, end = io->off + io->len, now;
	struct chunk *a, *b = NULL;
	size_t first;

	*owner = -1;
	if (!io->len || !(a = chunk_at(r, off)))
		return CACHE_MISS;
	*owner = a->owner;
	if (end > a->off + a->len) {
		b = chunk_at(r, a->off + a->len);
		if (!b || end > b->off + b->len)
			return CACHE_MISS;
	}
	if (a->state == CH_LOADING || (b && b->state == CH_LOADING)) {
		/* looked at again when that load completes */
		qlist_push(a->state == CH_LOADING ? &a->waiters : &b->waiters, io);
		return CACHE_PENDING;
	}
	now = loop_now(r->c->loop);
	first = b ? (size_t)(a->off + a->len - off) : io->len;
	memcpy(io->data, a->mem + (off - a->off), first);
	a->used = now;
	if (b) {
		memcpy(io->data + first, b->mem, io->len - first);
		b->used = now;
	}
	io->res = 0;
	r->c->st.ra_hits++;
	return CACHE_DONE;
}

enum cache_verdict ra_serve(struct ra *r, struct qio *io)
{
	int owner;

	return serve(r, io, &owner);
}

static void load_done(struct xfer *x)
{
	struct chunk *k = x->owner;
	struct ra *r = k->r;
	struct qio *io, *next;

	r->loading--;
	if (x->err || k->stale) {
		/* never serve it: the waiters read from the store (and get the
		 * error themselves, or the data the write put there) */
		k->state = CH_EMPTY;
		k->owner = -1;
	} else {
		k->state = CH_VALID;
	}
	k->stale = false;
	k->used = loop_now(r->c->loop);
	for (io = qlist_take(&k->waiters); io; io = next) {
		next = io->next;
		r->h->reread(r->c, io);
	}
}

/* Which of two free chunks to take: empty with memory, then empty, then
 * the least recently used. */
static bool better(const struct chunk *k, const struct chunk *best)
{
	int sk = k->state == CH_EMPTY ? (k->mem ? 3 : 2) : 1;
	int sb = best->state == CH_EMPTY ? (best->mem ? 3 : 2) : 1;

	return sk > sb || (sk == sb && sk == 1 && k->used < best->used);
}

/* A chunk for stream si to load X into: an unowned one while the stream
 * has fewer than 2, else its own that is neither X nor keep (so behind the
 * reader).  Never one that is loading: the queue is reading into it. */
static struct chunk *chunk_slot(struct ra *r, int si, uint64_t X, uint64_t keep)
{
	struct chunk *best = NULL;
	unsigned owned = 0;

	for (unsigned i = 0; i < r->nchunks; i++)
		owned += r->chunks[i].owner == si;
	for (int pass = owned < 2 ? 0 : 1; pass < 2 && !best; pass++) {
		for (unsigned i = 0; i < r->nchunks; i++) {
			struct chunk *k = &r->chunks[i];
			if (k->state == CH_LOADING)
				continue;
			if (pass == 0 && k->owner != -1)
				continue;
			if (pass == 1 && (k->owner != si ||
					  (k->state == CH_VALID && (k->off == X || k->off == keep))))
				continue;
			if (!best || better(k, best))
				best = k;
		}
	}
	return best;
}

/* Have chunk X loaded or loading for stream si. */
static void want(struct ra *r, int si, uint64_t X, uint64_t keep)
{
	struct cache *c = r->c;
	const struct backing *b = c->q->b;
	struct chunk *k;
	uint64_t len;

	for (unsigned i = 0; i < r->nchunks; i++) {
		k = &r->chunks[i];
		if (usable(k) && k->off == X) {
			k->owner = si;
			return;
		}
	}
	len = b->size - X < r->chunk ? b->size - X : r->chunk;
	if (b->direct)
		len = len / b->lbs * b->lbs;	/* an unaligned tail is read directly */
	/* a write in flight there may land before or after our read: what we
	 * would load could be older than what was acknowledged */
	if (!len || r->h->writing(c, X, (size_t)len))
		return;
	if (!(k = chunk_slot(r, si, X, keep)))
		return;
	if (!k->mem) {
		k->mem = aligned_alloc(CACHE_MEM_ALIGN, r->chunk);
		if (!k->mem)
			return;
		if (xfer_alloc(&k->x, c->q, r->chunk, load_done, k) < 0) {
			free(k->mem);
			k->mem = NULL;
			return;
		}
	}
	k->state = CH_LOADING;
	k->stale = false;
	k->off = X;
	k->len = (size_t)len;
	k->owner = si;
	k->used = loop_now(r->c->loop);
	r->loading++;
	c->st.ra_loads++;
	xfer_start(&k->x, ENG_READ, X, (size_t)len, k->mem);
	r->h->sweep_arm(c);
}

/* The reader of stream si will read at pos next: have the chunk holding
 * pos and the one after it. */
static void ahead(struct ra *r, int si, uint64_t pos)
{
	uint64_t size = r->c->q->b->size, X;

	if (pos >= size)
		return;
	X = pos / r->chunk * r->chunk;
	want(r, si, X, X + r->chunk);
	if (X + r->chunk < size)
		want(r, si, X + r->chunk, X);
}

static struct stream *stream_for(struct ra *r, uint64_t off, size_t len, int owner)
{
	uint64_t end = off + len;
	struct stream *s = NULL, *victim = &r->streams[0];	/* ra_new: at least 1 */

	if (owner >= 0 && r->streams[owner].active)
		s = &r->streams[owner];
	for (unsigned i = 0; !s && i < r->nstreams; i++) {
		struct stream *t = &r->streams[i];
		if (t->active && off + RA_SLACK >= t->next && off <= t->next + RA_SLACK)
			s = t;
	}
	if (s) {
		s->reads++;
		s->run += len;
		if (end > s->next)
			s->next = end;
		s->tick = ++r->tick;
		if (!s->established && s->reads >= 2 && s->run >= RA_MIN_RUN)
			s->established = true;
		return s;
	}
	/* replace: an unused slot, else the least recently used candidate,
	 * else the least recently used established stream */
	for (unsigned i = 0; i < r->nstreams; i++) {
		struct stream *t = &r->streams[i];
		if (!t->active) {
			victim = t;
			break;
		}
		if ((victim->established && !t->established) ||
		    (victim->established == t->established && t->tick < victim->tick))
			victim = t;
	}
	/* its chunks stay servable until another stream needs them */
	for (unsigned i = 0; i < r->nchunks; i++)
		if (r->chunks[i].owner == (int)(victim - r->streams))
			r->chunks[i].owner = -1;
	*victim = (struct stream){ .active = true, .reads = 1, .run = len, .next = end,
				   .tick = ++r->tick, .ahead_x = UINT64_MAX };
	return victim;
}

/* A read of [off, off + len) counted against its stream; an established
 * stream reads ahead of it: when the reader enters another chunk (within
 * a chunk both are loaded or loading already), and after a miss (a chunk
 * it wanted may have gone stale). */
static void count_read(struct ra *r, uint64_t off, size_t len, int owner, bool served)
{
	struct cache_stats *st = &r->c->st;
	struct stream *s = stream_for(r, off, len, owner);
	uint64_t x = (off + len) / r->chunk * r->chunk;

	if (!s->established) {
		if (!served)
			st->ra_bypass++;
		return;
	}
	if (!served)
		st->ra_misses++;
	if (!served || x != s->ahead_x) {
		ahead(r, (int)(s - r->streams), off + len);
		s->ahead_x = x;
	}
}

enum cache_verdict ra_read(struct ra *r, struct qio *io)
{
	enum cache_verdict v;
	int owner;

	v = serve(r, io, &owner);
	count_read(r, io->off, io->len, owner, v != CACHE_MISS);
	return v;
}

unsigned ra_peek(struct ra *r, uint64_t off, size_t len, struct cache_span sp[2])
{
	uint64_t end = off + len, now;
	struct chunk *a, *b = NULL;

	if (!len || !(a = chunk_at(r, off)) || a->state != CH_VALID)
		return 0;
	if (end > a->off + a->len) {
		b = chunk_at(r, a->off + a->len);
		if (!b || b->state != CH_VALID || end > b->off + b->len)
			return 0;
	}
	now = loop_now(r->c->loop);
	sp[0].p = a->mem + (off - a->off);
	sp[0].len = b ? (size_t)(a->off + a->len - off) : len;
	a->used = now;
	if (b) {
		sp[1].p = b->mem;
		sp[1].len = len - sp[0].len;
		b->used = now;
	}
	r->c->st.ra_hits++;
	count_read(r, off, len, a->owner, true);
	return b ? 2 : 1;
}

void ra_invalidate(struct ra *r, uint64_t off, size_t len)
{
	for (unsigned i = 0; i < r->nchunks; i++) {
		struct chunk *k = &r->chunks[i];
		if (!usable(k) || !ranges_overlap(k->off, k->off + k->len, off, off + len))
			continue;
		r->c->st.ra_stale++;
		if (k->state == CH_VALID) {
			k->state = CH_EMPTY;	/* the memory stays for the next load */
		} else {
			/* the queue is still reading into it: it finishes unseen,
			 * and its stream may load elsewhere meanwhile */
			k->stale = true;
			k->owner = -1;
		}
	}
}

bool ra_idle(const struct ra *r)
{
	return r->loading == 0;
}

bool ra_sweep(struct ra *r, uint64_t now)
{
	bool held = false;

	for (unsigned i = 0; i < r->nchunks; i++) {
		struct chunk *k = &r->chunks[i];
		if (!k->mem)
			continue;
		if (k->state != CH_LOADING && now - k->used >= CACHE_IDLE_NS)
			chunk_release(k);
		else
			held = true;
	}
	return held;
}
