/* cache_track.c - writes tracked until they land. */
#include "config.h"
#include "io/cache/cache_track.h"
#include "io/cache/cache_int.h"
#include "common/log.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>

struct track {
	struct qio q;		/* what the queue sees */
	struct track_pool *p;
	struct qio *orig;	/* the requester's write */
	struct track *next;	/* free list */
	bool busy;
};

void track_init(struct track_pool *p, struct dq *q, void (*freed)(void *), void *ctx)
{
	memset(p, 0, sizeof *p);
	p->q = q;
	p->freed = freed;
	p->ctx = ctx;
}

void track_free(struct track_pool *p)
{
	free(p->tracks);
	p->tracks = NULL;
	p->free = NULL;
	p->ntracks = 0;
}

static void track_done(struct qio *q)
{
	struct track *t = q->ctx;
	struct track_pool *p = t->p;
	struct qio *orig = t->orig;

	t->busy = false;
	t->orig = NULL;
	t->next = p->free;
	p->free = t;
	if (--p->busy == 0)
		p->idle_at = loop_now(p->q->loop);
	orig->res = q->res;
	/* writes held for a tracker go first, in order, then the reply */
	p->freed(p->ctx);
	orig->done(orig);
}

static bool track_alloc(struct track_pool *p)
{
	unsigned n = p->q->depth * 4;

	/* enough that the queue still sees every write it can merge or
	 * dispatch; more simply wait in the cache, in order */
	n = n < 256 ? 256 : n > 4096 ? 4096 : n;
	p->tracks = calloc(n, sizeof *p->tracks);
	if (!p->tracks) {
		log_warn("%s: no memory to track writes: read-ahead may serve data "
			 "a write in flight is replacing", p->q->b->path);
		p->failed = true;
		return false;
	}
	p->ntracks = n;
	for (unsigned i = n; i-- > 0;) {
		p->tracks[i].p = p;
		p->tracks[i].next = p->free;
		p->free = &p->tracks[i];
	}
	p->idle_at = loop_now(p->q->loop);
	return true;
}

bool track_submit(struct track_pool *p, struct qio *io)
{
	struct track *t;

	if (!p->tracks && (p->failed || !track_alloc(p))) {
		dq_submit(p->q, io);	/* no way to track it: as it is */
		return true;
	}
	if (!(t = p->free))
		return false;
	p->free = t->next;
	t->busy = true;
	t->orig = io;
	memset(&t->q, 0, sizeof t->q);
	t->q.op = ENG_WRITE;
	t->q.off = io->off;
	t->q.len = io->len;
	t->q.data = io->data;
	t->q.done = track_done;
	t->q.ctx = t;
	p->busy++;
	dq_submit(p->q, &t->q);
	return true;
}

bool track_overlaps(const struct track_pool *p, uint64_t off, size_t len)
{
	if (p->busy)
		for (unsigned i = 0; i < p->ntracks; i++) {
			const struct track *t = &p->tracks[i];
			if (t->busy && ranges_overlap(off, off + len, t->q.off, t->q.off + t->q.len))
				return true;
		}
	return false;
}

bool track_sweep(struct track_pool *p, uint64_t now)
{
	if (!p->tracks)
		return false;
	if (p->busy || now - p->idle_at < CACHE_IDLE_NS)
		return true;
	track_free(p);
	return false;
}
