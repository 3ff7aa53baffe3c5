/*
 * cache_int.h - what the parts of the cache share: cache.c (the entry
 * points and coherence), cache_ra.c (read-ahead), cache_wb.c (write-back)
 * and cache_track.c (writes tracked until they land).
 *
 * Requests the cache holds (CACHE_PENDING) wait on intrusive lists linked
 * through qio.next: a request is either in the queue or in the cache,
 * never both, and dq_submit() rewrites next anyway.  Nothing is allocated
 * per request: chunk, buffer and tracker memory comes when first needed
 * and goes back after CACHE_IDLE_NS unused.
 */
#ifndef AOEX_CACHE_INT_H
#define AOEX_CACHE_INT_H

#include "io/cache/cache.h"

#define CACHE_MEM_ALIGN	4096u	/* O_DIRECT on any sector size we meet */
#define CACHE_IDLE_NS	(3ULL * 1000 * 1000 * 1000)	/* unused this long: freed */

/*
 * The coherence hook, owned by cache.c: read-ahead and write-back each
 * tell the cache what they do to the store and ask it what is in flight,
 * and never call each other (each works, and is tested, without the
 * other).  Each part uses the calls it needs.
 */
struct cache_hooks {
	/* The store's data of [off, off + len) is being replaced, or newer
	 * data for it was acknowledged: copies of it are stale. */
	void (*stale)(struct cache *c, uint64_t off, size_t len);
	/* Whether a write to [off, off + len) is on its way to the store (a
	 * read of it now may see either version). */
	bool (*writing)(const struct cache *c, uint64_t off, size_t len);
	/* Submit write io for its requester, so that writing() sees it until
	 * it lands (and stale() is called); false when that cannot be now:
	 * the caller keeps io waiting until the cache's pump runs again. */
	bool (*submit_write)(struct cache *c, struct qio *io);
	/* Run a read the part held again, from the top, without counting it
	 * as a new read: served, held again, or submitted to the queue. */
	void (*reread)(struct cache *c, struct qio *io);
	/* The part allocated memory: have the idle sweep run. */
	void (*sweep_arm)(struct cache *c);
};

#endif
