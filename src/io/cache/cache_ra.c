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
 * Coherence: a write to a chunk's range drops it, or, while it loads,
 * marks it stale: its waiters then go to the queue as ordinary reads.  A
 * load is not started over a write the cache still has in flight.
 */
#include "config.h"
#include "io/cache/cache_int.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define RA_SLACK	(64u * 1024)	/* how far from "next" a read still continues a stream */
#define RA_MIN_RUN	(64u * 1024)	/* sequential bytes before read-ahead starts */

int ra_init(struct cache *c)
{
	struct cache_impl *I = c->impl;
	size_t chunk = c->conf.ra_chunk;

	if (!chunk || !c->conf.ra_streams)
		return 0;
	I->chunk = (chunk + CACHE_MEM_ALIGN - 1) / CACHE_MEM_ALIGN * CACHE_MEM_ALIGN;
	I->nstreams = c->conf.ra_streams;
	I->nchunks = 2 * I->nstreams;
	I->streams = calloc(I->nstreams, sizeof *I->streams);
	I->chunks = calloc(I->nchunks, sizeof *I->chunks);
	if (!I->streams || !I->chunks)
		return -ENOMEM;
	for (unsigned i = 0; i < I->nchunks; i++)
		I->chunks[i].owner = -1;
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

void ra_free(struct cache *c)
{
	struct cache_impl *I = c->impl;

	if (I->chunks)
		for (unsigned i = 0; i < I->nchunks; i++)
			chunk_release(&I->chunks[i]);
	free(I->chunks);
	free(I->streams);
	I->chunks = NULL;
	I->streams = NULL;
	I->chunk = 0;
}

static bool usable(const struct chunk *k)
{
	return k->state != CH_EMPTY && !k->stale;
}

static struct chunk *chunk_at(struct cache_impl *I, uint64_t pos)
{
	for (unsigned i = 0; i < I->nchunks; i++) {
		struct chunk *k = &I->chunks[i];
		if (usable(k) && k->off <= pos && pos < k->off + k->len)
			return k;
	}
	return NULL;
}

/* Serve io from chunks only (no stream bookkeeping): a read may lie in one
 * chunk or straddle two adjacent ones. */
enum cache_verdict ra_serve(struct cache *c, struct qio *io, int *owner)
{
	struct cache_impl *I = c->impl;
	uint64_t off = io->off, end = io->off + io->len, now;
	struct chunk *a, *b = NULL;
	size_t first;

	*owner = -1;
	if (!io->len || !(a = chunk_at(I, off)))
		return CACHE_MISS;
	*owner = a->owner;
	if (end > a->off + a->len) {
		b = chunk_at(I, a->off + a->len);
		if (!b || end > b->off + b->len)
			return CACHE_MISS;
	}
	if (a->state == CH_LOADING || (b && b->state == CH_LOADING)) {
		/* looked at again when that load completes */
		qlist_push(a->state == CH_LOADING ? &a->waiters : &b->waiters, io);
		return CACHE_PENDING;
	}
	now = now_ns();
	first = b ? (size_t)(a->off + a->len - off) : io->len;
	memcpy(io->data, a->mem + (off - a->off), first);
	a->used = now;
	if (b) {
		memcpy(io->data + first, b->mem, io->len - first);
		b->used = now;
	}
	io->res = 0;
	c->st.ra_hits++;
	return CACHE_DONE;
}

static void load_done(struct xfer *x)
{
	struct chunk *k = x->owner;
	struct cache *c = x->c;
	struct qio *io, *next;

	c->impl->loading--;
	if (x->err || k->stale) {
		/* never serve it: the waiters read from the store (and get the
		 * error themselves, or the data the write put there) */
		k->state = CH_EMPTY;
		k->owner = -1;
	} else {
		k->state = CH_VALID;
	}
	k->stale = false;
	k->used = now_ns();
	for (io = qlist_take(&k->waiters); io; io = next) {
		next = io->next;
		cache_reread(c, io);
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
static struct chunk *chunk_slot(struct cache_impl *I, int si, uint64_t X, uint64_t keep)
{
	struct chunk *best = NULL;
	unsigned owned = 0;

	for (unsigned i = 0; i < I->nchunks; i++)
		owned += I->chunks[i].owner == si;
	for (int pass = owned < 2 ? 0 : 1; pass < 2 && !best; pass++) {
		for (unsigned i = 0; i < I->nchunks; i++) {
			struct chunk *k = &I->chunks[i];
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
static void want(struct cache *c, int si, uint64_t X, uint64_t keep)
{
	struct cache_impl *I = c->impl;
	const struct backing *b = c->q->b;
	struct chunk *k;
	uint64_t len;

	for (unsigned i = 0; i < I->nchunks; i++) {
		k = &I->chunks[i];
		if (usable(k) && k->off == X) {
			k->owner = si;
			return;
		}
	}
	len = b->size - X < I->chunk ? b->size - X : I->chunk;
	if (b->direct)
		len = len / b->lbs * b->lbs;	/* an unaligned tail is read directly */
	/* a write in flight there may land before or after our read: what we
	 * would load could be older than what was acknowledged */
	if (!len || cache_write_in_flight(c, X, (size_t)len))
		return;
	if (!(k = chunk_slot(I, si, X, keep)))
		return;
	if (!k->mem) {
		k->mem = aligned_alloc(CACHE_MEM_ALIGN, I->chunk);
		if (!k->mem)
			return;
		if (xfer_alloc(&k->x, c, I->chunk, load_done, k) < 0) {
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
	k->used = now_ns();
	I->loading++;
	c->st.ra_loads++;
	xfer_start(&k->x, ENG_READ, X, (size_t)len, k->mem);
	cache_sweep_arm(c);
}

/* The reader of stream si will read at pos next: have the chunk holding
 * pos and the one after it. */
static void ahead(struct cache *c, int si, uint64_t pos)
{
	struct cache_impl *I = c->impl;
	uint64_t size = c->q->b->size, X;

	if (pos >= size)
		return;
	X = pos / I->chunk * I->chunk;
	want(c, si, X, X + I->chunk);
	if (X + I->chunk < size)
		want(c, si, X + I->chunk, X);
}

static struct stream *stream_for(struct cache *c, const struct qio *io, int owner)
{
	struct cache_impl *I = c->impl;
	uint64_t off = io->off, end = io->off + io->len;
	struct stream *s = NULL, *victim = &I->streams[0];	/* ra_init: at least 1 */

	if (owner >= 0 && I->streams[owner].active)
		s = &I->streams[owner];
	for (unsigned i = 0; !s && i < I->nstreams; i++) {
		struct stream *t = &I->streams[i];
		if (t->active && off + RA_SLACK >= t->next && off <= t->next + RA_SLACK)
			s = t;
	}
	if (s) {
		s->reads++;
		s->run += io->len;
		if (end > s->next)
			s->next = end;
		s->tick = ++I->tick;
		if (!s->established && s->reads >= 2 && s->run >= RA_MIN_RUN)
			s->established = true;
		return s;
	}
	/* replace: an unused slot, else the least recently used candidate,
	 * else the least recently used established stream */
	for (unsigned i = 0; i < I->nstreams; i++) {
		struct stream *t = &I->streams[i];
		if (!t->active) {
			victim = t;
			break;
		}
		if ((victim->established && !t->established) ||
		    (victim->established == t->established && t->tick < victim->tick))
			victim = t;
	}
	/* its chunks stay servable until another stream needs them */
	for (unsigned i = 0; i < I->nchunks; i++)
		if (I->chunks[i].owner == (int)(victim - I->streams))
			I->chunks[i].owner = -1;
	*victim = (struct stream){ .active = true, .reads = 1, .run = io->len, .next = end,
				   .tick = ++I->tick };
	return victim;
}

enum cache_verdict ra_read(struct cache *c, struct qio *io)
{
	struct cache_impl *I = c->impl;
	enum cache_verdict v;
	struct stream *s;
	int owner;

	v = ra_serve(c, io, &owner);
	s = stream_for(c, io, owner);
	if (s->established) {
		if (v == CACHE_MISS)
			c->st.ra_misses++;
		ahead(c, (int)(s - I->streams), io->off + io->len);
	} else if (v == CACHE_MISS) {
		c->st.ra_bypass++;
	}
	return v;
}

void ra_invalidate(struct cache *c, uint64_t off, size_t len)
{
	struct cache_impl *I = c->impl;

	for (unsigned i = 0; i < I->nchunks; i++) {
		struct chunk *k = &I->chunks[i];
		if (!usable(k) || !ranges_overlap(k->off, k->off + k->len, off, off + len))
			continue;
		c->st.ra_stale++;
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

bool ra_sweep(struct cache *c, uint64_t now)
{
	struct cache_impl *I = c->impl;
	bool held = false;

	for (unsigned i = 0; i < I->nchunks; i++) {
		struct chunk *k = &I->chunks[i];
		if (!k->mem)
			continue;
		if (k->state != CH_LOADING && now - k->used >= CACHE_IDLE_NS)
			chunk_release(k);
		else
			held = true;
	}
	return held;
}
