/*
 * engine_sync.c - backing stores and the synchronous engine: pread/pwrite/
 * fdatasync done in the loop.  Used where Linux AIO is missing, and as the
 * baseline the AIO engine is measured against.
 */
#include "config.h"
#include "engine.h"
#include "log.h"
#include "util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define BOUNCE_MAX (256u * 1024)	/* largest request: 255 sectors + slack */

struct engine {
	const char *name;
	uint8_t *bounce;	/* aligned buffer for O_DIRECT requests that are not */
};

static int open_null(struct backing *b, const char *spec, char *err, size_t errlen)
{
	uint64_t size;

	if (parse_size(spec, &size) < 0 || size < 512) {
		snprintf(err, errlen, "null:%s: bad size (want e.g. null:4G)", spec);
		return -EINVAL;
	}
	b->is_null = true;
	b->size = size & ~511ULL;
	b->lbs = 512;
	return 0;
}

static int store_size(struct backing *b, const struct stat *st, uint64_t *size)
{
	if (S_ISBLK(st->st_mode)) {
		int lbs = 512;
		b->is_blockdev = true;
		if (ioctl(b->fd, BLKGETSIZE64, size) < 0)
			return -errno;
		if (ioctl(b->fd, BLKSSZGET, &lbs) == 0 && lbs >= 512)
			b->lbs = (unsigned)lbs;
		return 0;
	}
	if (!S_ISREG(st->st_mode))
		return -EINVAL;
	*size = (uint64_t)st->st_size;
	return 0;
}

int backing_open(struct backing *b, const char *path, const struct backing_opts *o,
		 char *err, size_t errlen)
{
	struct stat st;
	uint64_t size;
	int flags, rc = 0;

	memset(b, 0, sizeof *b);
	b->fd = -1;
	b->lbs = 512;
	b->readonly = o->readonly;
	snprintf(b->path, sizeof b->path, "%s", path);
	if (strncmp(path, "null:", 5) == 0) {
		rc = open_null(b, path + 5, err, errlen);
		if (rc < 0)
			return rc;
		size = b->size;
		goto region;
	}
	flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->sync ? O_SYNC : 0);
	b->fd = open(path, flags | (o->direct ? O_DIRECT : 0));
	if (b->fd < 0 && o->direct && errno == EINVAL) {
		/* tmpfs and some FUSE file systems have no O_DIRECT */
		log_warn("%s: no O_DIRECT on this file system; using buffered I/O", path);
		b->fd = open(path, flags);
	} else if (b->fd >= 0 && o->direct) {
		b->direct = true;
	}
	if (b->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return rc;
	}
	if (fstat(b->fd, &st) < 0 || (rc = store_size(b, &st, &size)) < 0) {
		rc = rc ? rc : -errno;
		snprintf(err, errlen, "%s: %s", path, rc == -EINVAL ?
			 "not a regular file or block device" : strerror(-rc));
		backing_close(b);
		return rc;
	}
region:
	if (o->offset % 512 || o->length % 512) {
		snprintf(err, errlen, "%s: offset and length must be multiples of 512", path);
		backing_close(b);
		return -EINVAL;
	}
	if (o->offset >= size) {
		snprintf(err, errlen, "%s: offset %llu is past the end (size %llu bytes)", path,
			 (unsigned long long)o->offset, (unsigned long long)size);
		backing_close(b);
		return -EINVAL;
	}
	b->offset = o->offset;
	b->size = (size - o->offset) & ~511ULL;
	if (o->length) {
		if (o->length > b->size) {
			snprintf(err, errlen, "%s: length %llu exceeds the %llu bytes after the offset",
				 path, (unsigned long long)o->length, (unsigned long long)b->size);
			backing_close(b);
			return -EINVAL;
		}
		b->size = o->length;
	}
	if (b->size < 512) {
		snprintf(err, errlen, "%s: smaller than one sector", path);
		backing_close(b);
		return -EINVAL;
	}
	return 0;
}

void backing_close(struct backing *b)
{
	if (b->fd >= 0)
		close(b->fd);
	b->fd = -1;
}

static int full_pread(int fd, uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pread(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0) {		/* past EOF of a file that shrank */
			memset(buf, 0, len);
			return 0;
		}
		buf += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

static int full_pwrite(int fd, const uint8_t *buf, size_t len, uint64_t off)
{
	while (len) {
		ssize_t n = pwrite(fd, buf, len, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -ENOSPC;
		buf += n, len -= (size_t)n, off += (uint64_t)n;
	}
	return 0;
}

static bool aligned(const struct backing *b, const void *p, uint64_t off, size_t len)
{
	unsigned a = b->lbs;
	return ((uintptr_t)p % a) == 0 && off % a == 0 && len % a == 0;
}

/* O_DIRECT needs block-aligned buffer, offset and length: go through the
 * bounce buffer, reading the partial blocks first when writing (RMW). */
static int direct_io(struct engine *e, struct backing *b, struct eng_io *io, uint64_t off)
{
	uint64_t start = off - off % b->lbs;
	uint64_t end = off + io->len;
	size_t span;
	int rc;

	end = (end + b->lbs - 1) / b->lbs * b->lbs;
	span = (size_t)(end - start);
	if (span > BOUNCE_MAX)
		return -EINVAL;
	if (io->op == ENG_READ) {
		rc = full_pread(b->fd, e->bounce, span, start);
		if (rc == 0)
			memcpy(io->buf, e->bounce + (off - start), io->len);
		return rc;
	}
	if (start != off || end != off + io->len) {
		rc = full_pread(b->fd, e->bounce, span, start);
		if (rc < 0)
			return rc;
	}
	memcpy(e->bounce + (off - start), io->buf, io->len);
	return full_pwrite(b->fd, e->bounce, span, start);
}

static int do_io(struct engine *e, struct backing *b, struct eng_io *io)
{
	uint64_t off = b->offset + io->off;

	if (io->op == ENG_FLUSH)
		return b->is_null || fdatasync(b->fd) == 0 ? 0 : -errno;
	if (io->off + io->len > b->size)
		return -EINVAL;
	if (b->is_null) {
		if (io->op == ENG_READ)
			memset(io->buf, 0, io->len);
		return 0;
	}
	if (io->op == ENG_WRITE && b->readonly)
		return -EROFS;
	if (b->direct && !aligned(b, io->buf, off, io->len))
		return direct_io(e, b, io, off);
	if (io->op == ENG_READ)
		return full_pread(b->fd, io->buf, io->len, off);
	return full_pwrite(b->fd, io->buf, io->len, off);
}

void engine_submit(struct engine *e, struct backing *b, struct eng_io *io)
{
	io->res = do_io(e, b, io);
	io->done(io);
}

struct engine *engine_sync_new(void)
{
	struct engine *e = calloc(1, sizeof *e);

	if (!e)
		return NULL;
	e->name = "sync";
	e->bounce = aligned_alloc(4096, BOUNCE_MAX);
	if (!e->bounce) {
		free(e);
		return NULL;
	}
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	free(e->bounce);
	free(e);
}

const char *engine_name(const struct engine *e)
{
	return e->name;
}
