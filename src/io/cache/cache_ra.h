/* cache_ra.h - read-ahead for sequential readers (cache_ra.c), for
 * cache.c. */
#ifndef AOEX_CACHE_RA_H
#define AOEX_CACHE_RA_H

#include <stdbool.h>
#include <stdint.h>

#include "io/cache/cache_int.h"

struct ra;

/* Read-ahead for c as c->conf says, or *out NULL when it is off.  Uses
 * c->q, c->st and the hooks writing, reread and sweep_arm.  0 or -ENOMEM. */
int ra_new(struct cache *c, const struct cache_hooks *h, struct ra **out);
void ra_free(struct ra *r);
/* An initiator's read: served from a chunk, held for a loading one, or
 * CACHE_MISS; counts it against its stream and reads ahead of it. */
enum cache_verdict ra_read(struct ra *r, struct qio *io);
/* Where [off, off + len) is in loaded chunks right now (1 or 2 spans, the
 * read counted as served), or 0 and nothing counted: the caller reads it
 * the usual way.  Chunk memory stays valid until the next call into the
 * cache. */
unsigned ra_peek(struct ra *r, uint64_t off, size_t len, struct cache_span sp[2]);
/* The same without stream bookkeeping (a held read run again). */
enum cache_verdict ra_serve(struct ra *r, struct qio *io);
/* Forget what is cached of [off, off + len) (the coherence hook's stale). */
void ra_invalidate(struct ra *r, uint64_t off, size_t len);
/* No chunk load in flight. */
bool ra_idle(const struct ra *r);
/* Free chunks unused since CACHE_IDLE_NS; true while memory is held. */
bool ra_sweep(struct ra *r, uint64_t now);

#endif
