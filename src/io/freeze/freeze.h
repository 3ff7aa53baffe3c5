/*
 * freeze.h - a frozen export: its base store does not change by one byte
 * while writes go to a sparse shadow file (shadow.h); a thaw merges the
 * shadow back in the background.
 *
 * The layer sits between the device queue and the engine (dq_engine_submit
 * hands every engine I/O of a frozen export here), so the read-ahead and
 * write-back caches, merging, bounce buffers and write ordering above it
 * work as ever:
 *   frozen   writes go to the shadow at the same offsets, and once one has
 *            completed its sectors' bits are set (before the acknowledgement,
 *            so an acknowledged write is in the shadow with its bit; with
 *            O_DSYNC the bitmap page is synced too); reads of sectors all in
 *            the shadow go there, all in the base there, a mix is read from
 *            the base and the shadow's sectors laid over it (synchronously:
 *            a rare case); FLUSH syncs the shadow.  A write that would take
 *            the shadow past its max-size fails with ENOSPC (an ATA error),
 *            and is logged, as is a file system that is full.
 *   merging  writes go to the base and clear their sectors' bits when they
 *            complete; reads as when frozen.  A timer copies the marked
 *            sectors back in windows of FREEZE_WINDOW bytes, at most the
 *            thaw-rate per second, never a window a write in flight
 *            overlaps (so older shadow data never lands over a newer
 *            write); at the end the base is synced, the record removed and
 *            the shadow deleted.
 * Both phases survive a kill -9: the record in the state directory names
 * the shadow, its header the phase, its bitmap the sectors it holds.
 */
#ifndef AOEX_FREEZE_H
#define AOEX_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event/loop.h"
#include "io/engine/backing.h"
#include "io/engine/engine.h"
#include "io/freeze/shadow.h"

#define FREEZE_WINDOW	(64u * 1024)	/* bytes the merge copies at once */
#define FREEZE_STEP_NS	2000000ULL	/* and how often it runs */

struct freeze_status {
	const char *phase;		/* "frozen" or "merging" */
	const char *path;
	uint64_t since;			/* Unix time */
	uint64_t shadow_bytes;		/* data in the shadow */
	uint64_t allocated;		/* the shadow file's blocks */
	uint64_t max_size;		/* 0: none */
	uint64_t merge_total, merged;	/* sectors at the thaw, copied back */
	uint64_t refused;		/* writes failed for a full shadow */
};

struct freeze;

/* Freeze the export on base into a new shadow file path (max bytes of
 * data, 0: no limit), recorded in record.  The caller made sure nothing
 * is in flight and the base is synced.  finished(ctx) runs when a later
 * merge is over (the freeze may then be freed).  NULL and err on failure. */
struct freeze *freeze_new(struct loop *l, struct engine *e, struct backing *base,
			  const char *name, const char *path, uint64_t max, const char *record,
			  uint64_t rate, char *err, size_t errlen);
/* The export's record, if any: resume it (frozen, or merging again).
 * *fz NULL when there is none.  -1 and err when it cannot be. */
int freeze_resume(struct loop *l, struct engine *e, struct backing *base, const char *name,
		  const char *record, uint64_t rate, struct freeze **fz, char *err, size_t errlen);
void freeze_set_finished(struct freeze *fz, void (*fn)(void *ctx), void *ctx);
/* Start merging (the thaw).  -1 and err if it is merging already. */
int freeze_thaw(struct freeze *fz, char *err, size_t errlen);
/* No merge running and nothing of ours in flight: freeze_free may run. */
bool freeze_idle(const struct freeze *fz);
void freeze_free(struct freeze *fz);

/* The engine I/O io of the frozen export: done here (see above). */
void freeze_submit(struct freeze *fz, struct eng_io *io);

void freeze_status(const struct freeze *fz, struct freeze_status *st);
/* "frozen" or "merging". */
const char *freeze_phase(const struct freeze *fz);

#endif
