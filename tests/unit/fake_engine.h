/*
 * fake_engine.h - an engine kind for the unit tests of the queue and the
 * cache (t_queue, t_wb): its kick records the I/Os it is handed, in
 * order, and they complete when the test says, with the result it
 * chooses, against a RAM disk (store offsets), so the data that lands can
 * be checked too.  Built on engine_impl.h like the real kinds, so
 * engine_submit()'s deferred kick and engine_complete() are the daemon's.
 */
#ifndef AOEX_FAKE_ENGINE_H
#define AOEX_FAKE_ENGINE_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "io/engine/engine_impl.h"
#include "tap.h"

#define FAKE_MAX	4096
#define FAKE_DISK	(8u << 20)

/* What an I/O looked like when the engine got it (the queue reuses its
 * eng_io once it completed). */
struct fake_rec {
	struct eng_io *io;	/* NULL once completed */
	enum eng_op op;
	uint64_t off;
	size_t len;
	unsigned iovcnt;
	const void *base0;	/* iov[0].iov_base */
};

static struct fake {
	struct engine *e;
	uint8_t *buf;		/* the tests' request data, 4K-aligned */
	struct fake_rec rec[FAKE_MAX];
	unsigned n;		/* recorded */
	unsigned kicks;
	uint8_t *disk;
} F;

static inline void fake_kick(struct engine *e)
{
	struct eng_io *io;

	F.kicks++;
	while ((io = eng_fifo_pop(&e->waiting)) && F.n < FAKE_MAX) {
		F.rec[F.n++] = (struct fake_rec){ .io = io, .op = io->op, .off = io->off,
			.len = io->len, .iovcnt = io->iovcnt,
			.base0 = io->iovcnt ? io->iov[0].iov_base : NULL };
		e->busy++;
		e->st.submitted++;
	}
}

/* Complete recorded I/O i: res 0 moves the data (and reports every byte),
 * a negative res fails it. */
static inline void fake_complete(unsigned i, int res)
{
	struct eng_io *io = i < F.n ? F.rec[i].io : NULL;
	uint64_t at;

	/* a test that expected an I/O that is not there fails, not crashes */
	if (!io) {
		ok(0, "fake: I/O %d is outstanding, to be completed", (int)i);
		return;
	}
	at = io->off;
	F.rec[i].io = NULL;
	F.e->busy--;
	F.e->st.reaped++;
	if (res == 0 && io->op != ENG_FLUSH) {
		for (unsigned k = 0; k < io->iovcnt; k++) {
			const struct iovec *v = &io->iov[k];
			if (io->op == ENG_READ)
				memcpy(v->iov_base, F.disk + at, v->iov_len);
			else
				memcpy(F.disk + at, v->iov_base, v->iov_len);
			at += v->iov_len;
		}
		res = (int)io->len;
	}
	engine_complete(io, res);
}

/* I/Os recorded and not completed. */
static inline unsigned fake_outstanding(void)
{
	unsigned n = 0;

	for (unsigned i = 0; i < F.n; i++)
		n += F.rec[i].io != NULL;
	return n;
}

/* Complete every outstanding I/O with res, oldest first. */
static inline void fake_complete_all(int res)
{
	for (unsigned i = 0; i < F.n; i++)
		if (F.rec[i].io)
			fake_complete(i, res);
}

/* The first recorded I/O of op at off from index from on, or -1. */
static inline int fake_find(unsigned from, enum eng_op op, uint64_t off)
{
	for (unsigned i = from; i < F.n; i++)
		if (F.rec[i].op == op && F.rec[i].off == off)
			return (int)i;
	return -1;
}

/* Whether recorded I/O i is op on [off, off + len). */
static inline bool fake_is(unsigned i, enum eng_op op, uint64_t off, size_t len)
{
	return i < F.n && F.rec[i].op == op && F.rec[i].off == off && F.rec[i].len == len;
}

static inline void fake_wait_one(struct engine *e)
{
	(void)e;
	for (unsigned i = 0; i < F.n; i++)
		if (F.rec[i].io) {
			fake_complete(i, 0);
			return;
		}
}

static const struct engine_ops fake_ops = {
	.name = "fake", .kick = fake_kick, .wait_one = fake_wait_one,
};

/* Set up loop l, a fake engine on it, the RAM disk and bufsize bytes of
 * request data, or bail out. */
static inline struct engine *fake_new(struct loop *l, size_t bufsize)
{
	if (loop_init(l) < 0 || !(F.e = engine_alloc(l, FAKE_MAX)) ||
	    !(F.disk = calloc(1, FAKE_DISK)) || !(F.buf = aligned_alloc(4096, bufsize))) {
		printf("Bail out! no loop or no memory for the fake engine\n");
		exit(1);
	}
	F.e->ops = &fake_ops;
	setvbuf(stdout, NULL, _IOLBF, 0);	/* what ran before a crash is seen */
	return F.e;
}

/* Run the deferred tasks and complete what that issued, until nothing
 * is outstanding or rounds ran out. */
static inline void fake_settle(struct loop *l, int rounds)
{
	while (rounds-- > 0) {
		loop_run_deferred(l);
		if (!fake_outstanding())
			break;
		fake_complete_all(0);
	}
}

/* A request of a test, and when its done() ran. */
struct fake_req {
	struct qio q;
	int ndone;
	int order;		/* 1 for the first done() since fake_reset() */
};

static int fake_done_seq;

static inline void fake_req_done(struct qio *q)
{
	struct fake_req *r = (struct fake_req *)q;

	r->ndone++;
	r->order = ++fake_done_seq;
}

static inline struct qio *fake_req_set(struct fake_req *r, enum eng_op op, uint64_t off,
				       size_t len, uint8_t *data)
{
	memset(r, 0, sizeof *r);
	r->q.op = op;
	r->q.off = off;
	r->q.len = len;
	r->q.data = data;
	r->q.done = fake_req_done;
	return &r->q;
}

static inline bool fake_bytes(const uint8_t *p, uint8_t v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != v)
			return false;
	return true;
}

/* Forget what was recorded (every I/O completed). */
static inline void fake_reset(void)
{
	F.n = 0;
	F.kicks = 0;
	fake_done_seq = 0;
}

static inline void fake_free(struct loop *l)
{
	engine_free(F.e);
	free(F.disk);
	free(F.buf);
	loop_close(l);
}

/* A test's main(): run each of the n tests, then report. */
static inline int fake_main(struct loop *l, size_t bufsize, void (*const *tests)(void), size_t n)
{
	fake_new(l, bufsize);
	for (size_t i = 0; i < n; i++)
		tests[i]();
	fake_free(l);
	return done_testing();
}

#endif
