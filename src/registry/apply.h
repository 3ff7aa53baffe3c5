/*
 * apply.h - the only way an export is born or dies: applying a
 * configuration to the registry.  Start-up applies the first one to an
 * empty registry; SIGHUP and aoexctl reload apply the next.
 *
 * Devices are matched by their section title (the command line's one
 * device is called eSHELF.SLOT):
 *   gone                   removed (requests in hand answered, written
 *                          back, closed)
 *   store, address, tuning changed, or read-only lifted
 *                          removed, then added again (the simple safe thing);
 *                          kept as it was when the new store does not open
 *   ACL, broadcast, model, serial, interfaces, read-only set
 *                          changed in place
 *   same                   untouched: state, counters, I/O in flight kept
 *   new                    opened, started, advertised
 *
 * In three steps, so that the daemon can change its interfaces in
 * between: apply_prepare() opens the stores of what is new (a missing
 * file is the likeliest mistake and is reported first), apply_prune()
 * removes what goes (so a replacement finds its shelf.slot and lock free),
 * apply_commit() changes what stays and starts what is new.
 */
#ifndef AOEX_APPLY_H
#define AOEX_APPLY_H

#include <stdbool.h>

#include "config/conf.h"
#include "registry/registry.h"

struct apply {
	const char *file;	/* the configuration file, for messages; NULL:
				 * the command line */
	bool strict;		/* start-up: the first failure ends it, in err */
	bool announce;		/* advertise what starts (not at start-up: the
				 * daemon advertises once everything is set up) */
	char err[640];
	unsigned added, removed, replaced, changed, same, failed;
};

int apply_prepare(struct registry *r, const struct aoexd_conf *c, struct apply *a);
void apply_prune(struct registry *r, struct apply *a);
int apply_commit(struct registry *r, const struct aoexd_conf *c, struct apply *a);

/* The engine size a configuration wants: twice the sum of its queue
 * depths, 256..4096.  The engine is made once, at start; devices a reload
 * adds share it (I/Os beyond it wait in the devices' queues). */
unsigned apply_engine_size(const struct aoexd_conf *c);

#endif
