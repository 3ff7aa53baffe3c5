/* engine.c - the engine's queue and what both kinds share. */
#include "config.h"
#include "io/engine/engine_impl.h"
#include "common/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct engine *engine_new(struct loop *l, enum engine_kind want, unsigned max,
			  char *err, size_t errlen)
{
	struct engine *e = calloc(1, sizeof *e);

	if (!e) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->loop = l;
	e->max = max ? max : 1;
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
	e->ops->free(e);
	free(e);
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
	io->next = NULL;
	if (e->tail)
		e->tail->next = io;
	else
		e->head = io;
	e->tail = io;
}

struct eng_io *engine_pop(struct engine *e)
{
	struct eng_io *io = e->head;

	if (io) {
		e->head = io->next;
		if (!e->head)
			e->tail = NULL;
		io->next = NULL;
	}
	return io;
}

void engine_unpop(struct engine *e, struct eng_io *io)
{
	io->next = e->head;
	e->head = io;
	if (!e->tail)
		e->tail = io;
}

void engine_kick(struct engine *e)
{
	if (e->head)
		e->ops->kick(e);
}

bool engine_queued(const struct engine *e)
{
	return e->head != NULL;
}

void engine_drain(struct engine *e)
{
	while (e->head || e->busy) {
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

bool engine_null_io(struct eng_io *io)
{
	if (!io->b->is_null)
		return false;
	if (io->op == ENG_READ)
		for (unsigned i = 0; i < io->iovcnt; i++)
			memset(io->iov[i].iov_base, 0, io->iov[i].iov_len);
	engine_complete(io, (long)io->len);
	return true;
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
