/*
 * engine.h - the disk side: a backing store (file, block device or null:)
 * and an engine that performs reads, writes and flushes on it.
 *
 * The interface is asynchronous in shape (submit + completion callback) so
 * the libaio engine drops in; the synchronous engine completes each request
 * inside engine_submit(), before it returns.
 */
#ifndef AOEX_ENGINE_H
#define AOEX_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct backing_opts {
	bool readonly;
	bool direct;		/* O_DIRECT (falls back to buffered with a warning) */
	bool sync;		/* O_SYNC */
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
	unsigned lbs;		/* alignment O_DIRECT needs (logical block size) */
	uint64_t offset;	/* bytes */
	uint64_t size;		/* bytes exported */
};

/* Open path ("null:SIZE" for a store that reads zeros and discards writes).
 * Returns 0, or -errno with a message naming the path in err. */
int backing_open(struct backing *b, const char *path, const struct backing_opts *o,
		 char *err, size_t errlen);
void backing_close(struct backing *b);

enum eng_op { ENG_READ, ENG_WRITE, ENG_FLUSH };

struct eng_io {
	enum eng_op op;
	uint64_t off;		/* bytes, relative to the exported region */
	size_t len;
	uint8_t *buf;		/* read destination or write source */
	int res;		/* 0 or -errno, set before done() */
	void (*done)(struct eng_io *io);
	void *ctx;
};

struct engine;

struct engine *engine_sync_new(void);
/* Start io on b; done() is called once it completes (for the synchronous
 * engine: before this returns). */
void engine_submit(struct engine *e, struct backing *b, struct eng_io *io);
void engine_free(struct engine *e);
const char *engine_name(const struct engine *e);

#endif
