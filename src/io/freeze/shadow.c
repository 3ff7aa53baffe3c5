/* shadow.c - the shadow file and its record (see shadow.h). */
#include "config.h"
#include "io/freeze/shadow.h"
#include "proto/wire.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAGIC		"AOEXSHD1"
#define HDR_LEN		4096
#define H_VERSION	8
#define H_PHASE		16
#define H_SECTORS	24
#define H_BITMAP_OFF	32
#define H_BITMAP_LEN	40
#define H_DATA_OFF	48
#define H_SINCE		56

static uint64_t round_up(uint64_t v, uint64_t a)
{
	return (v + a - 1) / a * a;
}

static int fsync_dir_of(const char *path)
{
	char d[4096];
	int fd, rc;

	snprintf(d, sizeof d, "%s", path);
	fd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	rc = fsync(fd) < 0 ? -errno : 0;
	close(fd);
	return rc;
}

static int map_bits(struct shadow *s)
{
	void *p = mmap(NULL, s->bitmap_len, PROT_READ | PROT_WRITE, MAP_SHARED, s->fd,
		       (off_t)s->bitmap_off);

	if (p == MAP_FAILED)
		return -errno;
	s->bits = p;
	return 0;
}

static int fail(struct shadow *s, int rc, char *err, size_t errlen, const char *path,
		const char *what)
{
	snprintf(err, errlen, "shadow %s: %s%s%s", path, what, rc ? ": " : "", rc ? strerror(-rc) : "");
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return rc ? rc : -EINVAL;
}

int shadow_create(struct shadow *s, const char *path, uint64_t sectors, char *err, size_t errlen)
{
	uint8_t h[HDR_LEN] = MAGIC;

	memset(s, 0, sizeof *s);
	s->sectors = sectors;
	s->phase = SHADOW_FROZEN;
	s->since = (uint64_t)time(NULL);
	s->bitmap_off = HDR_LEN;
	s->bitmap_len = round_up((sectors + 7) / 8, 4096);
	s->data_off = s->bitmap_off + s->bitmap_len;
	s->fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s->fd < 0)
		return fail(s, -errno, err, errlen, path, "cannot create it");
	put_le64(h + H_VERSION, 1);
	put_le64(h + H_PHASE, s->phase);
	put_le64(h + H_SECTORS, sectors);
	put_le64(h + H_BITMAP_OFF, s->bitmap_off);
	put_le64(h + H_BITMAP_LEN, s->bitmap_len);
	put_le64(h + H_DATA_OFF, s->data_off);
	put_le64(h + H_SINCE, s->since);
	if (pwrite(s->fd, h, sizeof h, 0) != (ssize_t)sizeof h ||
	    ftruncate(s->fd, (off_t)(s->data_off + sectors * 512)) < 0 || fdatasync(s->fd) < 0) {
		int rc = -errno;
		unlink(path);
		return fail(s, rc, err, errlen, path, "cannot write its header");
	}
	int rc = map_bits(s);
	if (rc == 0)
		rc = fsync_dir_of(path);
	if (rc < 0) {
		unlink(path);
		return fail(s, rc, err, errlen, path, "cannot set it up");
	}
	return 0;
}

const char *shadow_header_parse(const uint8_t *h, size_t len, uint64_t sectors, struct shadow *s)
{
	if (len < HDR_LEN || memcmp(h, MAGIC, 8) != 0 || get_le64(h + H_VERSION) != 1)
		return "not an aoexd shadow file";
	s->phase = (enum shadow_phase)get_le64(h + H_PHASE);
	s->sectors = get_le64(h + H_SECTORS);
	s->bitmap_off = get_le64(h + H_BITMAP_OFF);
	s->bitmap_len = get_le64(h + H_BITMAP_LEN);
	s->data_off = get_le64(h + H_DATA_OFF);
	s->since = get_le64(h + H_SINCE);
	if (s->sectors != sectors)
		return "made for an export of another size";
	if ((s->phase != SHADOW_FROZEN && s->phase != SHADOW_MERGING) || s->bitmap_off != HDR_LEN ||
	    s->bitmap_len != round_up((sectors + 7) / 8, 4096) ||
	    s->data_off != s->bitmap_off + s->bitmap_len)
		return "a damaged header";
	return NULL;
}

int shadow_open(struct shadow *s, const char *path, uint64_t sectors, char *err, size_t errlen)
{
	static uint8_t h[HDR_LEN];
	const char *why;
	int rc;

	memset(s, 0, sizeof *s);
	s->fd = open(path, O_RDWR | O_CLOEXEC);
	if (s->fd < 0)
		return fail(s, -errno, err, errlen, path, "cannot open it");
	memset(h, 0, sizeof h);
	if (pread(s->fd, h, sizeof h, 0) < 0)
		return fail(s, -errno, err, errlen, path, "cannot read it");
	if ((why = shadow_header_parse(h, sizeof h, sectors, s)))
		return fail(s, 0, err, errlen, path, why);
	if ((rc = map_bits(s)) < 0)
		return fail(s, rc, err, errlen, path, "cannot map its bitmap");
	return 0;
}

void shadow_close(struct shadow *s)
{
	if (s->bits)
		munmap(s->bits, s->bitmap_len);
	s->bits = NULL;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
}

int shadow_set_phase(struct shadow *s, enum shadow_phase p)
{
	uint8_t v[8];

	put_le64(v, p);
	if (pwrite(s->fd, v, sizeof v, H_PHASE) != (ssize_t)sizeof v || fdatasync(s->fd) < 0)
		return -errno;
	s->phase = p;
	return 0;
}

uint64_t shadow_mark(struct shadow *s, uint64_t sect, uint64_t n, bool set)
{
	uint64_t changed = 0;

	for (uint64_t i = sect; i < sect + n; i++) {
		uint8_t m = (uint8_t)(1u << (i & 7)), *b = &s->bits[i >> 3];

		if (!!(*b & m) != set) {
			*b ^= m;
			changed++;
		}
	}
	return changed;
}

uint64_t shadow_count(const struct shadow *s, uint64_t sect, uint64_t n)
{
	uint64_t c = 0;

	for (uint64_t i = sect; i < sect + n; i++)
		c += shadow_bit(s, i);
	return c;
}

uint64_t shadow_next(const struct shadow *s, uint64_t sect)
{
	while (sect < s->sectors) {
		if ((sect & 63) == 0 && sect + 64 <= s->sectors) {
			uint64_t w;
			memcpy(&w, s->bits + (sect >> 3), 8);	/* 64 sectors at once */
			if (!w) {
				sect += 64;
				continue;
			}
		}
		if (shadow_bit(s, sect))
			return sect;
		sect++;
	}
	return s->sectors;
}

/* ------------------------------------------------------------ record */

int shadow_record_save(const char *file, const char *path, uint64_t max, char *err, size_t errlen)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof tmp, "%s", file);
	/* the state directory, one level, as state.c makes it */
	if (mkdir(dirname(tmp), 0755) < 0 && errno != EEXIST)
		goto fail;
	snprintf(tmp, sizeof tmp, "%s.tmp", file);
	if (!(f = fopen(tmp, "we")))
		goto fail;
	fprintf(f, "shadow %s\nmax-size %llu\n", path, (unsigned long long)max);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		goto fail;
	}
	if (fclose(f) != 0 || rename(tmp, file) < 0 || fsync_dir_of(file) < 0)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	unlink(tmp);
	return -1;
}

const char *shadow_record_parse(const char *buf, size_t len, char *path, size_t pathlen,
				uint64_t *max)
{
	bool got_path = false;

	*max = 0;
	for (size_t at = 0; at < len;) {
		const char *nl = memchr(buf + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (buf + at)) : len - at;
		const char *l = buf + at;

		if (n > 7 && memcmp(l, "shadow ", 7) == 0) {
			if (n - 7 >= pathlen || memchr(l + 7, 0, n - 7))
				return "shadow path too long";
			memcpy(path, l + 7, n - 7);
			path[n - 7] = 0;
			got_path = true;
		} else if (n > 9 && memcmp(l, "max-size ", 9) == 0) {
			char num[24];
			size_t k = n - 9 < sizeof num - 1 ? n - 9 : sizeof num - 1;
			memcpy(num, l + 9, k);
			num[k] = 0;
			*max = strtoull(num, NULL, 10);
		}
		at += n + 1;
	}
	return got_path && path[0] == '/' ? NULL : "no shadow line with an absolute path";
}

int shadow_record_load(const char *file, char *path, size_t pathlen, uint64_t *max,
		       char *err, size_t errlen)
{
	char buf[8192];
	const char *why;
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC);

	*max = 0;
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", file, strerror(errno));
		return -1;
	}
	n = read(fd, buf, sizeof buf);
	close(fd);
	if (n < 0 || (why = shadow_record_parse(buf, (size_t)n, path, pathlen, max))) {
		snprintf(err, errlen, "%s: %s", file, n < 0 ? strerror(errno) : why);
		return -1;
	}
	return 1;
}

int shadow_record_remove(const char *file)
{
	if (unlink(file) < 0 && errno != ENOENT)
		return -errno;
	return fsync_dir_of(file);
}
