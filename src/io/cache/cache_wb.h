/* cache_wb.h - the write-back policy (cache_wb.c), for cache.c. */
#ifndef AOEX_CACHE_WB_H
#define AOEX_CACHE_WB_H

#include <stdbool.h>
#include <stdint.h>

#include "io/cache/cache_int.h"

struct wb;

/* Write-back for c as c->conf says (write_back on).  Uses c->q, c->loop,
 * c->st, c->failed and c->on_failure, and the hooks stale, submit_write,
 * reread and sweep_arm.  NULL when out of memory. */
struct wb *wb_new(struct cache *c, const struct cache_hooks *h);
void wb_free(struct wb *wb);
/* What cache_read(), cache_write(), cache_flush() and
 * cache_writeback_all() are under write-back; wb_read() answers
 * CACHE_MISS when no dirty data overlaps io. */
enum cache_verdict wb_read(struct wb *wb, struct qio *io);
enum cache_verdict wb_write(struct wb *wb, struct qio *io);
enum cache_verdict wb_flush(struct wb *wb, struct qio *io);
void wb_writeback_all(struct wb *wb);
/* Take the writes that wait, in order, as far as room allows (a write
 * that waited for submit_write() may go now). */
void wb_pump(struct wb *wb);
/* Is a write-out of [off, off + len) in flight? */
bool wb_writing(const struct wb *wb, uint64_t off, size_t len);
/* Whether a buffer (dirty or being written) holds data of [off, off + len). */
bool wb_holds(const struct wb *wb, uint64_t off, size_t len);
bool wb_idle(const struct wb *wb);
/* Free buffers unused since CACHE_IDLE_NS; true while memory is held. */
bool wb_sweep(struct wb *wb, uint64_t now);

#endif
