/*
 * engine_aio.c - Linux native AIO through libaio.
 *
 * Every iocb carries IOCB_FLAG_RESFD, so completions bump an eventfd that
 * sits in the epoll set: no signals, no threads.  The deferred kick hands
 * all I/Os queued during a wakeup to one io_submit(), after the ones that
 * need no device (engine_try_inline) are done.  Completions are reaped
 * from the completion ring the kernel maps into our memory (as fio's
 * userspace_reap does), so a completion costs no system call: the eventfd
 * is edge-triggered and never read (each completion is an edge).  Where
 * the ring is not the one we know, io_getevents() with a zero timeout
 * reaps instead (which also sidesteps libaio's 32-bit time_t trap under
 * musl 1.2: a zero timespec is zero in both layouts).  File systems without
 * asynchronous fdatasync (IOCB_CMD_FDSYNC answers EINVAL) get a synchronous
 * one, once warned.
 */
#include "config.h"
#include "io/engine/engine_impl.h"
#include "common/log.h"

#include <errno.h>
#include <libaio.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define REAP_BATCH 64

/* The kernel's completion ring (fs/aio.c), mapped at the io_context_t. */
struct aio_ring {
	unsigned id, nr, head, tail, magic, compat_features, incompat_features, header_length;
	struct io_event io_events[];
};
#define AIO_RING_MAGIC 0xa10a10a1

struct aio {
	io_context_t ctx;
	struct aio_ring *ring;		/* NULL: reap with io_getevents() */
	struct loop_watch watch;	/* the eventfd */
	struct iocb *cbs;		/* max of them */
	struct iocb **free;		/* stack of unused cbs */
	unsigned nfree;
	bool no_async_fsync;
};

/* Up to max completions from the ring, without a system call. */
static int ring_reap(struct aio_ring *r, struct io_event *ev, int max)
{
	unsigned head = r->head, tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
	int n = 0;

	while (head != tail && n < max) {
		ev[n++] = r->io_events[head];
		head = (head + 1) % r->nr;
	}
	__atomic_store_n(&r->head, head, __ATOMIC_RELEASE);
	return n;
}

static void reap(struct engine *e, long min)
{
	struct aio *a = e->impl;
	struct io_event ev[REAP_BATCH];
	struct timespec zero = { 0, 0 };
	int n;

	do {
		if (a->ring && !min) {
			n = ring_reap(a->ring, ev, REAP_BATCH);
		} else {
			n = io_getevents(a->ctx, min, REAP_BATCH, ev, min ? NULL : &zero);
			e->st.reap_calls++;
		}
		if (n < 0) {
			if (n == -EINTR)
				continue;
			log_err("io_getevents: %s", strerror(-n));
			return;
		}
		for (int i = 0; i < n; i++) {
			struct iocb *cb = ev[i].obj;
			struct eng_io *io = cb->data;
			a->free[a->nfree++] = cb;
			e->busy--;
			e->st.reaped++;
			engine_complete(io, (long)ev[i].res);
		}
		min = 0;
	} while (n == REAP_BATCH);
	/* what the kernel had no room for (EAGAIN, every iocb in use) goes
	 * now that completions made some */
	if (e->waiting.head)
		engine_defer_kick(e);
}

static void eventfd_readable(struct loop_watch *w, uint32_t events)
{
	struct engine *e = w->ctx;
	struct aio *a = e->impl;
	uint64_t count;

	(void)events;
	/* edge-triggered with the ring: each completion is an edge, and the
	 * counter needs no reset; level-triggered without it */
	if (!a->ring && read(w->fd, &count, sizeof count) < 0 && errno != EAGAIN)
		log_err("aio eventfd: %s", strerror(errno));
	reap(e, 0);
}

static void prep(struct aio *a, struct iocb *cb, struct eng_io *io)
{
	int fd = io->b->fd;
	long long off = (long long)io->off;

	switch (io->op) {
	case ENG_READ:
		if (io->iovcnt == 1)
			io_prep_pread(cb, fd, io->iov[0].iov_base, io->iov[0].iov_len, off);
		else
			io_prep_preadv(cb, fd, io->iov, (int)io->iovcnt, off);
		break;
	case ENG_WRITE:
		if (io->iovcnt == 1)
			io_prep_pwrite(cb, fd, io->iov[0].iov_base, io->iov[0].iov_len, off);
		else
			io_prep_pwritev(cb, fd, io->iov, (int)io->iovcnt, off);
		break;
	case ENG_FLUSH:
		io_prep_fdsync(cb, fd);
		break;
	}
	cb->data = io;
	io_set_eventfd(cb, a->watch.fd);
}

/* An I/O the kernel refused at submission: finish it here. */
static void refused(struct engine *e, struct eng_io *io, int err)
{
	struct aio *a = e->impl;

	if (err == -EAGAIN) {
		/* nothing of ours is in flight, so no completion would ever
		 * retry it: do it now */
		engine_complete(io, engine_do_sync(io));
		return;
	}
	if (io->op == ENG_FLUSH && err == -EINVAL) {
		if (!a->no_async_fsync)
			log_warn("%s: no asynchronous fdatasync on this file system; "
				 "flushes block the loop", io->b->path);
		a->no_async_fsync = true;
		e->st.sync_flush_fallback++;
		engine_complete(io, engine_do_sync(io));
		return;
	}
	engine_complete(io, err);
}

static void aio_kick(struct engine *e)
{
	struct aio *a = e->impl;
	struct iocb *batch[REAP_BATCH * 4];
	unsigned n = 0;
	struct eng_io *io;

	while (n < sizeof batch / sizeof batch[0] && a->nfree > n && (io = eng_fifo_pop(&e->waiting))) {
		if (engine_try_inline(e, io))
			continue;
		if (io->op == ENG_FLUSH && a->no_async_fsync) {
			e->st.sync_flush_fallback++;
			engine_complete(io, engine_do_sync(io));
			continue;
		}
		batch[n] = a->free[a->nfree - 1 - n];
		prep(a, batch[n], io);
		n++;
	}
	a->nfree -= n;
	for (unsigned done = 0; done < n;) {
		int rc = io_submit(a->ctx, (long)(n - done), batch + done);
		e->st.submit_calls++;
		if (rc > 0) {
			e->busy += (unsigned)rc;
			e->st.submitted += (unsigned)rc;
			done += (unsigned)rc;
			continue;
		}
		if (rc == -EAGAIN && e->busy > 0) {
			/* the kernel's queue is full: the rest waits for the
			 * completions that will wake us up (reap() kicks again) */
			e->st.eagain++;
			while (n > done) {
				struct iocb *cb = batch[--n];
				eng_fifo_unpop(&e->waiting, cb->data);
				a->free[a->nfree++] = cb;
			}
			return;
		}
		/* the first iocb is bad (or EAGAIN with nothing in flight):
		 * finish it without the kernel and go on with the others */
		a->free[a->nfree++] = batch[done];
		refused(e, batch[done]->data, rc == 0 ? -EAGAIN : rc);
		done++;
	}
	if (e->waiting.head && a->nfree)
		aio_kick(e);	/* done() callbacks queued more */
}

static void aio_wait_one(struct engine *e)
{
	reap(e, 1);
}

static void aio_free(struct engine *e)
{
	struct aio *a = e->impl;

	if (!a)
		return;
	io_destroy(a->ctx);
	if (a->watch.fd >= 0) {
		loop_del(e->loop, &a->watch);
		close(a->watch.fd);
	}
	free(a->cbs);
	free(a->free);
	free(a);
	e->impl = NULL;
}

static const struct engine_ops aio_ops = {
	.name = "aio", .kick = aio_kick, .wait_one = aio_wait_one, .free = aio_free,
};

int engine_aio_init(struct engine *e, char *err, size_t errlen)
{
	struct aio *a = calloc(1, sizeof *a);
	int rc;

	if (!a)
		return -ENOMEM;
	a->watch.fd = -1;
	e->impl = a;
	e->ops = &aio_ops;
	rc = io_setup((int)e->max, &a->ctx);
	if (rc < 0) {
		snprintf(err, errlen, "io_setup(%u): %s", e->max, strerror(-rc));
		free(a);
		e->impl = NULL;
		return rc;
	}
	a->cbs = calloc(e->max, sizeof *a->cbs);
	a->free = calloc(e->max, sizeof *a->free);
	a->watch.fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	a->watch.fn = eventfd_readable;
	a->watch.ctx = e;
	/* the ring as fs/aio.c lays it out since 2.6.x: anything else (a
	 * kernel with new incompatible features) reaps by system call */
	a->ring = (struct aio_ring *)(void *)a->ctx;
	if (!a->ring || a->ring->magic != AIO_RING_MAGIC || a->ring->incompat_features ||
	    a->ring->header_length != sizeof *a->ring || getenv("AOEXD_AIO_NO_RING"))
		a->ring = NULL;
	if (!a->cbs || !a->free || a->watch.fd < 0 ||
	    loop_add(e->loop, &a->watch, a->ring ? EPOLLIN | EPOLLET : EPOLLIN) < 0) {
		snprintf(err, errlen, "aio setup: %s", strerror(errno));
		aio_free(e);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < e->max; i++)
		a->free[a->nfree++] = &a->cbs[i];
	return 0;
}
