/* freeze.c - a frozen export's I/O and the merge of a thaw (see freeze.h). */
#include "config.h"
#include "io/freeze/freeze.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#define FZ_PATH_MAX 4096

struct freeze {
	struct shadow s;
	struct backing sb;	/* the shadow's data area, for the engine */
	int rd_fd;		/* the shadow, buffered: sector-sized reads */
	struct backing *base;
	struct engine *e;
	struct loop *loop;
	char name[16];
	char path[FZ_PATH_MAX], record[FZ_PATH_MAX];
	uint64_t max, marked, refused;
	uint64_t merge_total, merged, merge_pos, rate;
	bool dsync;		/* the base is O_DSYNC: so is the bitmap */
	bool full_logged;
	unsigned busy;		/* our I/Os with the engine */
	struct eng_io *writes;	/* writes in flight (fz_next) */
	struct eng_io *done_head;	/* finished here, their done() to run */
	struct loop_task done_task;
	struct loop_timer merge_timer;
	uint8_t *buf;		/* a merge window, aligned */
	void (*finished)(void *ctx);
	void *ctx;
};

static uint64_t first_sector(const struct freeze *fz, const struct eng_io *io)
{
	return (io->off - fz->base->offset) / 512;
}

/* ------------------------------------------------------- completions */

/* io finished here, not by the engine: its done() runs from the loop. */
static void finish_later(struct freeze *fz, struct eng_io *io, int res)
{
	io->res = res;
	io->fz_next = fz->done_head;
	fz->done_head = io;
	loop_defer(fz->loop, &fz->done_task);
}

static void done_due(struct loop_task *t)
{
	struct freeze *fz = t->ctx;

	while (fz->done_head) {
		struct eng_io *io = fz->done_head;
		fz->done_head = io->fz_next;
		io->done(io);
	}
}

static void unlink_write(struct freeze *fz, struct eng_io *io)
{
	for (struct eng_io **pp = &fz->writes; *pp; pp = &(*pp)->fz_next)
		if (*pp == io) {
			*pp = io->fz_next;
			return;
		}
}

static void full(struct freeze *fz, const char *why)
{
	fz->refused++;
	if (fz->full_logged)
		return;
	fz->full_logged = true;
	log_err("%s: shadow %s is full (%s): writes fail with an ATA error until the "
		"export is thawed; the base is untouched", fz->name, fz->path, why);
}

/* O_DSYNC: the bitmap pages of n sectors from s0 durable, as the data is. */
static void sync_bits(struct freeze *fz, uint64_t s0, uint64_t n)
{
	uint64_t a = (s0 >> 3) & ~(uint64_t)4095, b = (((s0 + n - 1) >> 3) | 4095) + 1;

	msync(fz->s.bits + a, b - a, MS_SYNC);
}

static void wrapped_done(struct eng_io *io)
{
	struct freeze *fz = io->fz_ctx;
	uint64_t s0, n;

	fz->busy--;
	io->done = io->fz_done;
	if (io->fz_b) {		/* it went to the shadow: as the queue sent it */
		io->b = io->fz_b;
		io->off = io->fz_off;
	}
	if (io->op == ENG_WRITE) {
		unlink_write(fz, io);
		s0 = first_sector(fz, io);
		n = io->len / 512;
		if (io->res == -ENOSPC || io->res == -EDQUOT)
			full(fz, strerror(-io->res));
		if (io->res >= 0 && fz->s.phase == SHADOW_FROZEN) {
			/* the data is in: now its bits, then the reply */
			fz->marked += shadow_mark(&fz->s, s0, n, true);
			if (fz->dsync)
				sync_bits(fz, s0, n);
		} else if (io->res >= 0) {
			/* merging: the base has it now, newer than the shadow */
			fz->marked -= shadow_mark(&fz->s, s0, n, false);
		}
	}
	io->done(io);
}

static void submit_wrapped(struct freeze *fz, struct eng_io *io, bool to_shadow)
{
	io->fz_done = io->done;
	io->fz_ctx = fz;
	io->fz_b = NULL;
	io->done = wrapped_done;
	if (to_shadow) {
		io->fz_b = io->b;
		io->fz_off = io->off;
		io->b = &fz->sb;
		io->off = fz->sb.offset + (io->off - fz->base->offset);
	}
	if (io->op == ENG_WRITE) {
		io->fz_next = fz->writes;
		fz->writes = io;
	}
	fz->busy++;
	engine_submit(fz->e, io);
}

/* -------------------------------------------------------------- reads */

/* Lay the shadow's marked sectors of io (already read from the base into
 * its buffers) over it, sector by sector through the buffered fd. */
static int overlay(struct freeze *fz, const struct eng_io *io)
{
	uint64_t s0 = first_sector(fz, io), at = 0;

	for (unsigned i = 0; i < io->iovcnt; i++) {
		uint8_t *p = io->iov[i].iov_base;
		for (size_t k = 0; k < io->iov[i].iov_len; k += 512, at++) {
			if (!shadow_bit(&fz->s, s0 + at))
				continue;
			if (pread(fz->rd_fd, p + k, 512, (off_t)(fz->s.data_off + (s0 + at) * 512)) != 512)
				return -EIO;
		}
	}
	return 0;
}

static void read_mixed(struct freeze *fz, struct eng_io *io)
{
	ssize_t n = preadv(fz->base->fd, io->iov, (int)io->iovcnt, (off_t)io->off);

	finish_later(fz, io, n < 0 ? -errno : (size_t)n != io->len ? -EIO : overlay(fz, io));
}

/* ------------------------------------------------------------- submit */

void freeze_submit(struct freeze *fz, struct eng_io *io)
{
	uint64_t s0 = first_sector(fz, io), n = io->len / 512, in;
	bool frozen = fz->s.phase == SHADOW_FROZEN;

	switch (io->op) {
	case ENG_WRITE:
		in = shadow_count(&fz->s, s0, n);
		if (frozen && fz->max && (fz->marked + n - in) * 512 > fz->max) {
			full(fz, "its max-size");
			finish_later(fz, io, -ENOSPC);
			return;
		}
		submit_wrapped(fz, io, frozen);
		return;
	case ENG_READ:
		in = shadow_count(&fz->s, s0, n);
		if (in == 0)
			engine_submit(fz->e, io);
		else if (in == n)
			submit_wrapped(fz, io, true);
		else
			read_mixed(fz, io);
		return;
	case ENG_FLUSH:
		if (frozen) {
			submit_wrapped(fz, io, true);	/* the base has nothing new */
			return;
		}
		/* merging: what is acknowledged is in one or the other */
		if (fdatasync(fz->s.fd) < 0) {
			finish_later(fz, io, -errno);
			return;
		}
		engine_submit(fz->e, io);
		return;
	}
}

/* -------------------------------------------------------------- merge */

static bool write_overlaps(const struct freeze *fz, uint64_t s0, uint64_t n)
{
	for (const struct eng_io *w = fz->writes; w; w = w->fz_next) {
		uint64_t a = (w->fz_b ? w->fz_off : w->off) - fz->base->offset;
		if (a / 512 < s0 + n && s0 < a / 512 + w->len / 512)
			return true;
	}
	return false;
}

/* Copy back the window at sector s0 (n sectors): the base's bytes, the
 * shadow's sectors over them, written to the base, then the bits
 * cleared.  Returns 0, 1 when a write in flight overlaps (later), -errno. */
static int merge_window(struct freeze *fz, uint64_t s0, uint64_t n)
{
	size_t len = (size_t)n * 512;
	off_t at = (off_t)(fz->base->offset + s0 * 512);
	uint64_t was;

	if (write_overlaps(fz, s0, n))
		return 1;
	if (pread(fz->base->fd, fz->buf, len, at) != (ssize_t)len)
		return -errno ? -errno : -EIO;
	for (uint64_t i = 0; i < n; i++)
		if (shadow_bit(&fz->s, s0 + i) &&
		    pread(fz->rd_fd, fz->buf + i * 512, 512, (off_t)(fz->s.data_off + (s0 + i) * 512)) != 512)
			return -EIO;
	if (pwrite(fz->base->fd, fz->buf, len, at) != (ssize_t)len)
		return -errno ? -errno : -EIO;
	was = shadow_mark(&fz->s, s0, n, false);
	fz->marked -= was;
	fz->merged += was;
	return 0;
}

static void merge_end(struct freeze *fz)
{
	char why[64] = "";

	if (fdatasync(fz->base->fd) < 0 || shadow_record_remove(fz->record) < 0) {
		snprintf(why, sizeof why, "%s", strerror(errno));
		log_err("%s: thaw: cannot finish (%s); retrying", fz->name, why);
		loop_timer_at(fz->loop, &fz->merge_timer, loop_now(fz->loop) + 1000000000ULL);
		return;
	}
	unlink(fz->path);
	log_notice("%s: thawed: %llu sectors merged back from %s, which is removed", fz->name,
		   (unsigned long long)fz->merged, fz->path);
	fz->merge_pos = fz->s.sectors;	/* over */
	if (fz->finished)
		fz->finished(fz->ctx);
}

static void merge_due(struct loop_timer *t)
{
	struct freeze *fz = t->ctx;
	uint64_t win = FREEZE_WINDOW / 512;
	/* the rate: a window every WINDOW / rate seconds, or, faster than one
	 * window a step, several a step */
	uint64_t every = FREEZE_WINDOW * 1000000000ULL / fz->rate, budget;

	if (every < FREEZE_STEP_NS)
		every = FREEZE_STEP_NS;
	budget = fz->rate * every / 1000000000ULL / FREEZE_WINDOW;
	for (budget = budget ? budget : 1; budget > 0; budget--) {
		uint64_t s = shadow_next(&fz->s, fz->merge_pos), s0, n;
		int rc;

		if (s >= fz->s.sectors) {
			if (!freeze_idle(fz))	/* our last I/Os still out */
				break;
			merge_end(fz);
			return;
		}
		s0 = s / win * win;
		n = fz->s.sectors - s0 < win ? fz->s.sectors - s0 : win;
		rc = merge_window(fz, s0, n);
		if (rc == 1)
			break;	/* a write in flight there: next time */
		if (rc < 0) {
			log_err("%s: thaw: copying back sectors %llu..%llu failed (%s); retrying",
				fz->name, (unsigned long long)s0, (unsigned long long)(s0 + n - 1),
				strerror(-rc));
			break;
		}
		fz->merge_pos = s0 + n;
	}
	loop_timer_at(fz->loop, &fz->merge_timer, loop_now(fz->loop) + every);
}

static void start_merge(struct freeze *fz)
{
	fz->merge_total = fz->marked;
	fz->merged = 0;
	fz->merge_pos = 0;
	loop_timer_at(fz->loop, &fz->merge_timer, loop_now(fz->loop));
}

int freeze_thaw(struct freeze *fz, char *err, size_t errlen)
{
	int rc;

	if (fz->s.phase == SHADOW_MERGING) {
		snprintf(err, errlen, "%s is being thawed already", fz->name);
		return -1;
	}
	if ((rc = shadow_set_phase(&fz->s, SHADOW_MERGING)) < 0) {
		snprintf(err, errlen, "shadow %s: %s", fz->path, strerror(-rc));
		return -1;
	}
	log_notice("%s: thaw: merging %llu sectors back from %s", fz->name,
		   (unsigned long long)fz->marked, fz->path);
	start_merge(fz);
	return 0;
}

/* ------------------------------------------------------- life and end */

static struct freeze *setup(struct loop *l, struct engine *e, struct backing *base,
			    const char *name, const char *path, uint64_t max, const char *record,
			    uint64_t rate, bool create, char *err, size_t errlen)
{
	struct freeze *fz = calloc(1, sizeof *fz);
	struct backing_opts bo = { .direct = base->direct };
	uint64_t sectors = base->size / 512;
	int rc;

	if (!fz) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	err[0] = 0;
	fz->s.fd = fz->rd_fd = fz->sb.fd = -1;
	rc = create ? shadow_create(&fz->s, path, sectors, err, errlen) :
		      shadow_open(&fz->s, path, sectors, err, errlen);
	if (rc < 0)
		goto fail;
	fz->dsync = (fcntl(base->fd, F_GETFL) & O_DSYNC) != 0;
	bo.sync = fz->dsync;
	bo.offset = fz->s.data_off;
	bo.length = sectors * 512;
	if (backing_open(&fz->sb, path, &bo, err, errlen) < 0)
		goto fail;
	/* the queue aligns I/O for the base: a shadow that needs more (a
	 * 4K-sector file system under a 512-byte store) goes buffered */
	if (fz->sb.direct && fz->sb.lbs > base->lbs) {
		backing_close(&fz->sb);
		bo.direct = false;
		if (backing_open(&fz->sb, path, &bo, err, errlen) < 0)
			goto fail;
	}
	if ((fz->rd_fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
	    !(fz->buf = aligned_alloc(4096, FREEZE_WINDOW))) {
		if (!err[0])
			snprintf(err, errlen, "shadow %s: %s", path, strerror(errno));
		goto fail;
	}
	fz->base = base;
	fz->e = e;
	fz->loop = l;
	fz->max = max;
	fz->rate = rate;
	snprintf(fz->name, sizeof fz->name, "%s", name);
	snprintf(fz->path, sizeof fz->path, "%s", path);
	snprintf(fz->record, sizeof fz->record, "%s", record);
	fz->marked = shadow_count(&fz->s, 0, sectors);
	fz->done_task = (struct loop_task){ .fn = done_due, .ctx = fz, .phase = LOOP_PHASE_DISPATCH };
	fz->merge_timer.fn = merge_due;
	fz->merge_timer.ctx = fz;
	return fz;
fail:
	if (create && fz->s.fd >= 0)
		unlink(path);
	freeze_free(fz);
	return NULL;
}

struct freeze *freeze_new(struct loop *l, struct engine *e, struct backing *base,
			  const char *name, const char *path, uint64_t max, const char *record,
			  uint64_t rate, char *err, size_t errlen)
{
	struct freeze *fz = setup(l, e, base, name, path, max, record, rate, true, err, errlen);

	if (!fz)
		return NULL;
	/* the record last: until it is there, nothing was written into the
	 * shadow, and a restart rightly serves the base as it is */
	if (shadow_record_save(record, path, max, err, errlen) < 0) {
		unlink(path);
		freeze_free(fz);
		return NULL;
	}
	log_notice("%s: frozen: the base stays as it is, writes go to %s%s", name, path,
		   max ? " (with a max-size)" : "");
	return fz;
}

int freeze_resume(struct loop *l, struct engine *e, struct backing *base, const char *name,
		  const char *record, uint64_t rate, struct freeze **out, char *err, size_t errlen)
{
	char path[FZ_PATH_MAX];
	uint64_t max;
	int rc = shadow_record_load(record, path, sizeof path, &max, err, errlen);

	*out = NULL;
	if (rc <= 0)
		return rc;
	if (!(*out = setup(l, e, base, name, path, max, record, rate, false, err, errlen)))
		return -1;
	log_notice("%s: %s again from %s: %llu sectors in the shadow", name,
		   (*out)->s.phase == SHADOW_MERGING ? "merging" : "frozen", path,
		   (unsigned long long)(*out)->marked);
	if ((*out)->s.phase == SHADOW_MERGING)
		start_merge(*out);
	return 0;
}

void freeze_set_finished(struct freeze *fz, void (*fn)(void *ctx), void *ctx)
{
	fz->finished = fn;
	fz->ctx = ctx;
}

bool freeze_idle(const struct freeze *fz)
{
	return fz->busy == 0 && !fz->done_head;
}

void freeze_free(struct freeze *fz)
{
	if (!fz)
		return;
	if (fz->loop) {
		loop_timer_cancel(fz->loop, &fz->merge_timer);
		loop_defer_cancel(fz->loop, &fz->done_task);
	}
	if (fz->sb.fd >= 0)
		backing_close(&fz->sb);
	if (fz->rd_fd >= 0)
		close(fz->rd_fd);
	shadow_close(&fz->s);
	free(fz->buf);
	free(fz);
}

const char *freeze_phase(const struct freeze *fz)
{
	return fz->s.phase == SHADOW_MERGING ? "merging" : "frozen";
}

void freeze_status(const struct freeze *fz, struct freeze_status *st)
{
	struct stat sb;

	memset(st, 0, sizeof *st);
	st->phase = freeze_phase(fz);
	st->path = fz->path;
	st->since = fz->s.since;
	st->shadow_bytes = fz->marked * 512;
	if (fstat(fz->s.fd, &sb) == 0)
		st->allocated = (uint64_t)sb.st_blocks * 512;
	st->max_size = fz->max;
	st->merge_total = fz->merge_total;
	st->merged = fz->merged;
	st->refused = fz->refused;
}
