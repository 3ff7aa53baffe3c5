/*
 * backing.h - what an export is stored on: a regular file (sparse or not),
 * a block device, or "null:SIZE" (reads zeros, discards writes: for
 * measuring the network path alone).
 */
#ifndef AOEX_BACKING_H
#define AOEX_BACKING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backing_opts {
	bool readonly;
	bool direct;		/* O_DIRECT (falls back to buffered with a warning) */
	bool sync;		/* O_DSYNC: every write durable when it completes */
	uint64_t offset;	/* bytes skipped at the start of the store */
	uint64_t length;	/* bytes exported; 0 = up to the end */
};

struct backing {
	int fd;			/* -1 for null: */
	char path[256];
	bool is_null;
	bool is_blockdev;
	bool readonly;
	bool direct;		/* O_DIRECT is really in effect */
	bool in_memory;		/* tmpfs or ramfs: I/O never waits for a device,
				 * so the engine does it inline */
	bool no_nowait;		/* RWF_NOWAIT refused (old kernel): do not try */
	unsigned lbs;		/* alignment O_DIRECT needs: 512 or 4096 */
	uint64_t offset;	/* bytes */
	uint64_t size;		/* bytes exported */
};

/* Open path.  Returns 0, or -errno with a message naming the path in err. */
int backing_open(struct backing *b, const char *path, const struct backing_opts *o,
		 char *err, size_t errlen);
void backing_close(struct backing *b);

/* Whether buffer p, store offset off (exported-region relative) and len
 * satisfy O_DIRECT's alignment on b (always true without O_DIRECT). */
bool backing_aligned(const struct backing *b, const void *p, uint64_t off, size_t len);

#endif
