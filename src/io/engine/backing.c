/* backing.c - opening backing stores and learning their geometry. */
#include "config.h"
#include "io/engine/backing.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

static unsigned probe_dio_align(int fd, uint64_t size);

#define TMPFS_MAGIC_	0x01021994
#define RAMFS_MAGIC_	0x858458f6

/* A file on tmpfs or ramfs: its reads and writes are memory copies. */
static bool in_memory(int fd)
{
	struct statfs sf;

	return fstatfs(fd, &sf) == 0 &&
	       ((unsigned long)sf.f_type == TMPFS_MAGIC_ || (unsigned long)sf.f_type == RAMFS_MAGIC_);
}

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
	bool no_direct = false;

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
	flags = (o->readonly ? O_RDONLY : O_RDWR) | O_CLOEXEC | (o->sync ? O_DSYNC : 0);
	b->fd = open(path, flags | (o->direct ? O_DIRECT : 0));
	if (b->fd < 0 && o->direct && errno == EINVAL) {
		/* tmpfs and some FUSE file systems have no O_DIRECT (warned
		 * below, once we know it is a store at all) */
		b->fd = open(path, flags);
		no_direct = true;
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
	if (no_direct)
		log_warn("%s: no O_DIRECT on this file system; using buffered I/O", path);
	b->in_memory = in_memory(b->fd);	/* with O_DIRECT or not (Linux 6.6+) */
	if (b->direct && !b->is_blockdev)
		b->lbs = probe_dio_align(b->fd, size);
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

/* O_DIRECT alignment of a regular file: whatever the file system's device
 * wants, learned by trying (statx's STATX_DIOALIGN needs Linux 6.1, and a
 * NAS kernel is older).  A 512-byte read at offset 512 into a buffer that is
 * 512- but not 4096-aligned fails with EINVAL when 4096 is needed. */
static unsigned probe_dio_align(int fd, uint64_t size)
{
	uint8_t *buf;
	unsigned lbs = 512;

	if (size < 1024)
		return 4096;	/* cannot tell: be safe */
	buf = aligned_alloc(4096, 8192);
	if (!buf)
		return 4096;
	if (pread(fd, buf + 512, 512, 512) < 0 && errno == EINVAL)
		lbs = 4096;
	free(buf);
	return lbs;
}

bool backing_aligned(const struct backing *b, const void *p, uint64_t off, size_t len)
{
	unsigned a = b->lbs;

	if (!b->direct)
		return true;
	return ((uintptr_t)p % a) == 0 && (b->offset + off) % a == 0 && len % a == 0;
}
