/* engine.c - the engine's queue and what both kinds share. */
#include "config.h"
#include "io/engine/engine_impl.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static void kick_due(struct loop_task *t)
{
	engine_kick(t->ctx);
}

struct engine *engine_alloc(struct loop *l, unsigned max)
{
	struct engine *e = calloc(1, sizeof *e);

	if (!e)
		return NULL;
	e->loop = l;
	e->max = max ? max : 1;
	e->kick.fn = kick_due;
	e->kick.ctx = e;
	e->kick.phase = LOOP_PHASE_SUBMIT;
	return e;
}

struct engine *engine_new(struct loop *l, enum engine_kind want, unsigned max,
			  char *err, size_t errlen)
{
	struct engine *e = engine_alloc(l, max);

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	if (want == ENGINE_AIO && engine_aio_init(e, err, errlen) == 0)
		return e;
	if (want == ENGINE_AIO)
		log_warn("Linux AIO is not usable (%s): falling back to synchronous I/O, "
			 "which stalls the network while the disk works", err);
	if (engine_sync_init(e) < 0) {
		free(e);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	return e;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	engine_free(e->null);
	loop_defer_cancel(e->loop, &e->kick);
	if (e->ops->free)
		e->ops->free(e);
	free(e);
}

struct engine *engine_for_backing(struct engine *e, const struct backing *b)
{
	if (!b->is_null)
		return e;
	if (!e->null)
		e->null = engine_null_new(e->loop);
	return e->null;
}

const char *engine_name(const struct engine *e)
{
	return e->ops->name;
}

const struct engine_stats *engine_stats(const struct engine *e)
{
	return &e->st;
}

void engine_submit(struct engine *e, struct eng_io *io)
{
	eng_fifo_push(&e->waiting, io);
	engine_defer_kick(e);
}

void engine_defer_kick(struct engine *e)
{
	loop_defer(e->loop, &e->kick);
}

void engine_kick(struct engine *e)
{
	if (e->waiting.head)
		e->ops->kick(e);
	if (e->null)
		engine_kick(e->null);
}

bool engine_queued(const struct engine *e)
{
	return e->waiting.head != NULL || (e->null && engine_queued(e->null));
}

void engine_drain(struct engine *e)
{
	/* busy is 0 on kinds whose kick completes everything (sync, null) */
	while (engine_queued(e) || e->busy) {
		engine_kick(e);
		if (e->busy)
			e->ops->wait_one(e);
	}
}

void engine_complete(struct eng_io *io, long res)
{
	if (res >= 0 && (size_t)res < io->len && io->op != ENG_FLUSH) {
		if (io->op == ENG_WRITE) {
			res = -ENOSPC;	/* a short write: the store is full */
		} else {
			/* past the end of a file that shrank: zeros, as a hole */
			size_t at = (size_t)res;
			for (unsigned i = 0; i < io->iovcnt; i++) {
				const struct iovec *v = &io->iov[i];
				if (at < v->iov_len)
					memset((uint8_t *)v->iov_base + at, 0, v->iov_len - at);
				at = at > v->iov_len ? at - v->iov_len : 0;
			}
		}
	}
	io->res = res < 0 ? (int)res : 0;
	io->done(io);
}

#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

/* preadv2(..., RWF_NOWAIT) by its system call: musl has no wrapper, and a
 * kernel before 4.14 says ENOSYS or EOPNOTSUPP (then never tried again). */
static long read_nowait(struct eng_io *io)
{
#ifdef SYS_preadv2
	unsigned long lo = (unsigned long)io->off;
	unsigned long hi = (unsigned long)(io->off >> (sizeof(long) * 4) >> (sizeof(long) * 4));

	return syscall(SYS_preadv2, io->b->fd, io->iov, (int)io->iovcnt, lo, hi, RWF_NOWAIT);
#else
	(void)io;
	errno = ENOSYS;
	return -1;
#endif
}

bool engine_try_inline(struct engine *e, struct eng_io *io)
{
	long r;

	if (io->b->in_memory) {
		e->st.inline_done++;
		engine_complete(io, engine_do_sync(io));
		return true;
	}
	if (io->op != ENG_READ || io->b->direct || io->b->no_nowait)
		return false;
	r = read_nowait(io);
	if (r == (long)io->len) {
		e->st.inline_done++;
		engine_complete(io, r);
		return true;
	}
	if (r < 0 && errno != EAGAIN && errno != EINTR)
		io->b->no_nowait = true;	/* ENOSYS, EOPNOTSUPP, EINVAL */
	return false;	/* not all cached: the kernel reads it for us */
}

long engine_do_sync(struct eng_io *io)
{
	struct iovec iov[io->iovcnt ? io->iovcnt : 1];
	unsigned cnt = io->iovcnt, first = 0;
	off_t off = (off_t)io->off;
	size_t done = 0;

	if (io->op == ENG_FLUSH)
		return fdatasync(io->b->fd) == 0 ? 0 : -errno;
	memcpy(iov, io->iov, cnt * sizeof *iov);
	while (done < io->len) {
		ssize_t n = io->op == ENG_READ ?
			preadv(io->b->fd, iov + first, (int)(cnt - first), off) :
			pwritev(io->b->fd, iov + first, (int)(cnt - first), off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;		/* EOF, or a full store: engine_complete() decides */
		done += (size_t)n;
		off += n;
		/* step over what was moved */
		while (n > 0 && first < cnt) {
			if ((size_t)n >= iov[first].iov_len) {
				n -= (ssize_t)iov[first].iov_len;
				first++;
			} else {
				iov[first].iov_base = (uint8_t *)iov[first].iov_base + n;
				iov[first].iov_len -= (size_t)n;
				n = 0;
			}
		}
	}
	return (long)done;
}
