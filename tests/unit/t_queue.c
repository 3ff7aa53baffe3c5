/*
 * t_queue.c - the device queue (src/io/queue/queue.c) against a fake
 * engine (fake_engine.h): deferred dispatch and kick, the depth limit,
 * arrival order of overlapping writes, merging, bounce buffers and
 * read-modify-write on a 4K-sector store, failures, the merge delay, and
 * the null engine of a null: store.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event/loop.h"
#include "io/queue/queue.h"
#include "common/util.h"
#include "fake_engine.h"
#include "tap.h"

#define NREQ 256

static struct loop L;
static struct backing B;
static struct dq Q;
#define E (F.e)
static struct fake_req R[NREQ];
#define buf (F.buf)		/* NREQ x 64 KiB */

/* Request i: op on [off, off + len) of the export, data at buf + boff. */
static struct qio *req(unsigned i, enum eng_op op, uint64_t off, size_t len, size_t boff)
{
	return fake_req_set(&R[i], op, off, len, buf + boff);
}

/* The same for a write whose data is len bytes of fill. */
static struct qio *wreq(unsigned i, uint64_t off, size_t len, size_t boff, uint8_t fill)
{
	memset(buf + boff, fill, len);
	return req(i, ENG_WRITE, off, len, boff);
}

static void submit(struct qio *io)
{
	dq_submit(&Q, io);
}

/* What setup() puts on the RAM disk. */
static uint8_t pattern(uint64_t i)
{
	return (uint8_t)(i * 7 + i / 4096);
}

/* Whether the store's [from, to) still holds the pattern. */
static bool kept(uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++)
		if (F.disk[i] != pattern(i))
			return false;
	return true;
}

/* A fresh queue on a store of lbs-byte blocks, O_DIRECT or not, with the
 * export at offset; the RAM disk holds a pattern. */
static void setup(unsigned lbs, bool direct, uint64_t offset, unsigned depth)
{
	memset(&B, 0, sizeof B);
	B.fd = -1;
	snprintf(B.path, sizeof B.path, "fake");
	B.lbs = lbs;
	B.direct = direct;
	B.offset = offset;
	B.size = FAKE_DISK - offset;
	for (unsigned i = 0; i < FAKE_DISK; i++)
		F.disk[i] = pattern(i);
	fake_reset();
	if (dq_init(&Q, &L, &B, E, depth) < 0) {
		printf("Bail out! dq_init\n");
		exit(1);
	}
}

/* Complete everything until the queue is idle, then free it. */
static void teardown(void)
{
	fake_settle(&L, 1000);
	dq_free(&Q);
}

/* ------------------------------------------------------------ tests */

static void test_deferred_and_depth(void)
{
	setup(512, false, 0, 2);
	for (unsigned i = 0; i < 4; i++)
		submit(req(i, ENG_READ, i * 65536, 4096, i * 65536));
	is_int(F.n, 0, "depth: dq_submit dispatches nothing itself");
	ok(!R[0].ndone && !R[3].ndone, "depth: nothing completes inside dq_submit()");
	ok(Q.dispatch.queued, "depth: dq_submit deferred the dispatch");
	loop_run_deferred(&L);
	is_int(F.n, 2, "depth: the deferred dispatch and kick issue depth (2) I/Os");
	is_int(Q.busy, 2, "depth: 2 in flight");
	is_int(Q.waiting, 2, "depth: 2 wait");
	ok(Q.st.stalls >= 1, "depth: the kick that left requests waiting counted a stall");
	fake_complete(0, 0);
	is_int(R[0].ndone, 1, "depth: the completed request's done() ran once");
	is_int(F.n, 2, "depth: the completion does not dispatch by itself...");
	ok(Q.dispatch.queued, "depth: ...it defers the dispatch");
	loop_run_deferred(&L);
	is_int(F.n, 3, "depth: the freed slot went to the next request");
	is_int(F.rec[2].off, 2 * 65536, "depth: in arrival order");
	fake_complete_all(0);
	loop_run_deferred(&L);
	is_int(F.n, 4, "depth: the last one went");
	fake_complete_all(0);
	ok(R[1].ndone == 1 && R[2].ndone == 1 && R[3].ndone == 1, "depth: every request done once");
	ok(memcmp(R[3].q.data, F.disk + 3 * 65536, 4096) == 0, "depth: the read got the store's bytes");
	ok(dq_idle(&Q), "depth: idle");

	/* dq_kick_now() dispatches at once, the engine's kick is deferred */
	submit(req(4, ENG_READ, 0, 512, 0));
	dq_kick_now(&Q);
	ok(engine_queued(E) && F.n == 4, "kick: dq_kick_now handed the I/O on, the engine holds it");
	ok(E->kick.queued, "kick: engine_submit deferred the engine's kick");
	loop_run_deferred(&L);
	is_int(F.n, 5, "kick: the deferred kick gave it to the engine");
	is_int(F.kicks, 4, "kick: one engine kick per wakeup that had I/O");
	teardown();
}

static void test_overlap_order(void)
{
	setup(512, false, 0, 8);
	memset(buf, 'A', 4096);
	memset(buf + 65536, 'B', 4096);
	memset(buf + 2 * 65536, 'C', 512);
	submit(req(0, ENG_WRITE, 0, 4096, 0));			/* A: [0, 4K) */
	submit(req(1, ENG_WRITE, 2048, 4096, 65536));		/* B: [2K, 6K) */
	submit(req(2, ENG_WRITE, 65536, 512, 2 * 65536));	/* C: elsewhere */
	submit(req(3, ENG_READ, 1024, 1024, 3 * 65536));	/* reads are not ordered */
	loop_run_deferred(&L);
	is_int(F.n, 3, "overlap: A, C and the read go; B waits");
	is_int(fake_find(0, ENG_WRITE, 2048), -1, "overlap: B is not in flight with A");
	is_int(Q.st.overlap_waits, 1, "overlap: overlap_waits counted B");
	fake_complete(fake_find(0, ENG_WRITE, 0), 0);
	loop_run_deferred(&L);
	ok(fake_find(0, ENG_WRITE, 2048) >= 0, "overlap: B goes once A completed");
	fake_complete_all(0);
	ok(R[0].order < R[1].order, "overlap: A done before B");
	ok(fake_bytes(F.disk, 'A', 2048) && fake_bytes(F.disk + 2048, 'B', 4096),
	   "overlap: the later write's bytes are on the store");

	/* one that arrives while an overlapping write is in flight */
	submit(wreq(4, 8192, 1024, 4 * 65536, 'F'));
	loop_run_deferred(&L);
	submit(wreq(5, 8192 + 512, 1024, 5 * 65536, 'G'));
	submit(req(6, ENG_READ, 8192, 512, 6 * 65536));
	loop_run_deferred(&L);
	ok(fake_outstanding() == 2 && fake_find(0, ENG_WRITE, 8192 + 512) < 0,
	   "overlap: a write waits for an overlapping one in flight (a read does not)");
	fake_settle(&L, 4);
	ok(R[4].order < R[5].order && fake_bytes(F.disk + 8192, 'F', 512) &&
	   fake_bytes(F.disk + 8192 + 512, 'G', 1024), "overlap: and lands after it");
	teardown();

	/* a write waits for an earlier one that is itself still waiting */
	setup(512, false, 0, 2);
	memset(buf, 'D', 4096);
	memset(buf + 65536, 'E', 512);
	submit(req(0, ENG_WRITE, 0, 4096, 0));
	submit(req(1, ENG_WRITE, 0, 512, 65536));
	loop_run_deferred(&L);
	is_int(F.n, 1, "overlap: of two waiting overlapping writes only the first goes, depth or not");
	is_int(F.rec[0].len, 4096, "overlap: and it is the first");
	fake_complete_all(0);
	loop_run_deferred(&L);
	fake_complete_all(0);
	ok(fake_bytes(F.disk, 'E', 512) && fake_bytes(F.disk + 512, 'D', 3584),
	   "overlap: the second landed on top of the first");
	teardown();
}

/* The ordering filter (64 KiB chunks) answers "overlaps nothing" without a
 * scan; a span too wide for it (over 16 chunks) always gets the exact look. */
static void test_overlap_filter(void)
{
	static const uint64_t at[] = { 7 * 65536, 1 * 65536 + 512, 5 * 65536, 3 * 65536 + 4096 };

	setup(512, false, 0, 8);
	for (unsigned i = 0; i < 4; i++)
		submit(wreq(i, at[i], 4096, i * 65536, (uint8_t)('a' + i)));
	/* a second write into chunk 5 that does not overlap the first */
	submit(wreq(4, 5 * 65536 + 8192, 4096, 4 * 65536, 'e'));
	loop_run_deferred(&L);
	is_int(F.n, 5, "filter: scattered writes, two sharing a chunk, all go at once");
	is_int(Q.st.overlap_waits, 0, "filter: none counted as an overlap wait");
	fake_settle(&L, 4);
	ok(fake_bytes(F.disk + at[1], 'b', 4096) && fake_bytes(F.disk + 5 * 65536 + 8192, 'e', 4096),
	   "filter: their bytes are on the store");
	teardown();

	setup(512, false, 0, 8);
	submit(wreq(0, 0, 1536 * 1024, 0, 'W'));		/* 24 chunks: too wide */
	loop_run_deferred(&L);
	submit(wreq(1, 4u << 20, 4096, 2u << 20, 'X'));	/* far from it */
	submit(wreq(2, 1024 * 1024 + 512, 1024, 3u << 20, 'Y'));	/* inside it */
	loop_run_deferred(&L);
	ok(fake_find(0, ENG_WRITE, 4u << 20) >= 0 && fake_find(0, ENG_WRITE, 1024 * 1024 + 512) < 0,
	   "filter: beside a wide write in flight a far write goes, an overlapping one waits");
	is_int(Q.st.overlap_waits, 1, "filter: the overlapping one counted");
	fake_settle(&L, 4);
	ok(R[0].order < R[2].order && fake_bytes(F.disk + 1024 * 1024 + 512, 'Y', 1024) &&
	   fake_bytes(F.disk + 1024 * 1024, 'W', 512), "filter: and lands after the wide one");
	/* the filter's counts came back to zero: a write there goes at once */
	submit(wreq(3, 1024 * 1024, 512, 4u << 20, 'Z'));
	loop_run_deferred(&L);
	is_int(fake_outstanding(), 1, "filter: once everything completed, nothing blocks");
	teardown();
}

static void test_merge(void)
{
	const unsigned order[4] = { 2, 0, 1, 3 };
	bool right = true;

	setup(512, false, 0, 8);
	for (unsigned k = 0; k < 4; k++) {
		unsigned i = order[k];
		submit(req(i, ENG_READ, 4096 + i * 512, 512, i * 4096));
	}
	loop_run_deferred(&L);
	is_int(F.n, 1, "merge: 4 adjacent reads, queued out of order, are one I/O");
	ok(F.rec[0].off == 4096 && F.rec[0].len == 2048 && F.rec[0].iovcnt == 4,
	   "merge: at the lowest offset, 2048 bytes in 4 pieces");
	ok(F.rec[0].base0 == R[0].q.data, "merge: the first piece is the lowest request's buffer");
	is_int(Q.st.merged, 3, "merge: 3 rode in another's I/O");
	fake_complete_all(0);
	for (unsigned i = 0; i < 4; i++)
		right &= R[i].ndone == 1 && memcmp(R[i].q.data, F.disk + 4096 + i * 512, 512) == 0;
	ok(right, "merge: every member got its own bytes");
	teardown();

	setup(512, false, 0, 8);
	submit(req(0, ENG_READ, 0, 512, 0));
	submit(req(1, ENG_WRITE, 512, 512, 4096));
	submit(req(2, ENG_READ, 2048, 512, 8192));	/* a gap after the first */
	loop_run_deferred(&L);
	is_int(F.n, 3, "merge: a read, a write and a read after a gap stay apart");
	teardown();

	setup(512, false, 0, 8);
	memset(buf, 'W', 3 * 512);
	for (unsigned i = 0; i < 3; i++)
		submit(req(i, ENG_WRITE, i * 512, 512, i * 512));
	loop_run_deferred(&L);
	ok(F.n == 1 && F.rec[0].iovcnt == 3, "merge: adjacent writes are one I/O too");
	fake_complete_all(0);
	ok(fake_bytes(F.disk, 'W', 1536), "merge: and their bytes land");
	teardown();

	setup(512, false, 0, 8);
	for (unsigned i = 0; i < DQ_MERGE_IOV + 2; i++)
		submit(req(i, ENG_READ, i * 512, 512, i * 512));
	loop_run_deferred(&L);
	ok(F.n == 2 && F.rec[0].iovcnt == DQ_MERGE_IOV && F.rec[1].iovcnt == 2,
	   "merge: at most DQ_MERGE_IOV (%u) requests in one I/O", DQ_MERGE_IOV);
	teardown();

	setup(512, false, 0, 8);
	for (unsigned i = 0; i < 5; i++)
		submit(req(i, ENG_READ, i * 65536, 65536, i * 65536));
	loop_run_deferred(&L);
	ok(F.n == 2 && F.rec[0].len == DQ_MERGE_BYTES && F.rec[0].iovcnt == 4 &&
	   F.rec[1].len == 65536, "merge: at most DQ_MERGE_BYTES (%u) in one I/O", DQ_MERGE_BYTES);
	teardown();
}

static void test_bounce(void)
{
	setup(4096, true, 0, 8);
	submit(wreq(0, 1024, 1024, 0, 'W'));
	loop_run_deferred(&L);
	ok(F.n == 1 && fake_is(0, ENG_READ, 0, 4096),
	   "rmw: a 1 KiB write inside a 4K block first reads the whole block");
	ok(F.rec[0].base0 != R[0].q.data && (uintptr_t)F.rec[0].base0 % 4096 == 0,
	   "rmw: into an aligned bounce buffer");
	ok(Q.st.bounced == 1 && Q.st.rmw == 1, "rmw: counted bounced and rmw");
	fake_complete(0, 0);
	is_int(R[0].ndone, 0, "rmw: not done after the read half");
	loop_run_deferred(&L);
	ok(F.n == 2 && fake_is(1, ENG_WRITE, 0, 4096),
	   "rmw: then writes the whole block");
	fake_complete(1, 0);
	is_int(R[0].ndone, 1, "rmw: done after the write half");
	ok(kept(0, 1024) && fake_bytes(F.disk + 1024, 'W', 1024) && kept(2048, 4096),
	   "rmw: the new bytes in place, the rest of the block kept");

	submit(req(1, ENG_READ, 512, 1024, 65536));
	loop_run_deferred(&L);
	ok(F.n == 3 && fake_is(2, ENG_READ, 0, 4096) &&
	   F.rec[2].base0 != R[1].q.data, "bounce: an unaligned read reads its block into a bounce buffer");
	fake_complete(2, 0);
	ok(R[1].ndone == 1 && memcmp(R[1].q.data, F.disk + 512, 1024) == 0,
	   "bounce: and copies out the bytes asked for");

	memset(buf + 65536 + 512, 'U', 4096);
	submit(req(2, ENG_WRITE, 8192, 4096, 65536 + 512));	/* whole block, buffer off by 512 */
	loop_run_deferred(&L);
	ok(F.n == 4 && F.rec[3].op == ENG_WRITE && F.rec[3].off == 8192 && Q.st.rmw == 1,
	   "bounce: a whole-block write from an unaligned buffer is written without reading");
	fake_complete(3, 0);
	ok(fake_bytes(F.disk + 8192, 'U', 4096) && Q.st.bounced == 3, "bounce: and lands");

	/* two writes to different bytes of one block: the second waits for
	 * the first's read-modify-write, or one would undo the other */
	memset(buf + 2 * 65536, 'X', 512);
	memset(buf + 3 * 65536, 'Y', 512);
	submit(req(3, ENG_WRITE, 16384, 512, 2 * 65536));
	submit(req(4, ENG_WRITE, 16384 + 2048, 512, 3 * 65536));
	loop_run_deferred(&L);
	is_int(fake_outstanding(), 1, "rmw: a write to another part of the same block waits");
	is_int(Q.st.overlap_waits, 1, "rmw: counted as an overlap wait");
	fake_settle(&L, 5);
	ok(R[3].ndone && R[4].ndone && fake_bytes(F.disk + 16384, 'X', 512) &&
	   fake_bytes(F.disk + 16384 + 2048, 'Y', 512), "rmw: both writes' bytes are in the block");

	/* adjacent unaligned writes in neighbouring blocks merge into one
	 * bounced I/O over both blocks */
	memset(buf + 4 * 65536, 'M', 4096);
	submit(req(5, ENG_WRITE, 24576 + 1024, 3072, 4 * 65536));
	submit(req(6, ENG_WRITE, 28672, 1024, 4 * 65536 + 3072));
	loop_run_deferred(&L);
	ok(fake_outstanding() == 1 && F.rec[F.n - 1].op == ENG_READ &&
	   F.rec[F.n - 1].off == 24576 && F.rec[F.n - 1].len == 8192,
	   "rmw: two adjacent unaligned writes share one read of their two blocks");
	fake_settle(&L, 3);
	ok(R[5].ndone && R[6].ndone && fake_bytes(F.disk + 24576 + 1024, 'M', 4096) &&
	   F.rec[F.n - 1].op == ENG_WRITE && F.rec[F.n - 1].len == 8192, "rmw: and one write of them");
	teardown();

	/* an export offset off the block size: every request is bounced */
	setup(4096, true, 512, 8);
	submit(wreq(0, 0, 4096, 0, 'O'));
	loop_run_deferred(&L);
	ok(F.n == 1 && fake_is(0, ENG_READ, 0, 8192),
	   "offset: 4 KiB at export 0 with -o 512 reads the two blocks it touches");
	fake_settle(&L, 3);
	ok(R[0].ndone == 1 && kept(0, 512) && fake_bytes(F.disk + 512, 'O', 4096) && kept(4608, 8192),
	   "offset: and writes them back with the data at store offset 512");
	teardown();
}

static void test_failures(void)
{
	setup(512, false, 0, 8);
	for (unsigned i = 0; i < 3; i++)
		submit(req(i, ENG_READ, i * 512, 512, i * 512));
	loop_run_deferred(&L);
	fake_complete(0, -EIO);
	ok(R[0].q.res == -EIO && R[1].q.res == -EIO && R[2].q.res == -EIO &&
	   R[0].ndone == 1 && R[1].ndone == 1 && R[2].ndone == 1,
	   "failure: every member of a merged I/O gets the error, once");
	is_int(Q.st.errors, 1, "failure: one failed engine I/O counted");
	teardown();

	setup(4096, true, 0, 8);
	submit(req(0, ENG_WRITE, 1024, 1024, 0));
	loop_run_deferred(&L);
	fake_complete(0, -EIO);
	loop_run_deferred(&L);
	ok(R[0].ndone == 1 && R[0].q.res == -EIO && F.n == 1,
	   "failure: a read-modify-write whose read fails fails, and writes nothing");
	submit(req(1, ENG_WRITE, 1024, 1024, 0));
	loop_run_deferred(&L);
	fake_complete(1, 0);
	loop_run_deferred(&L);
	fake_complete(2, -ENOSPC);
	ok(R[1].ndone == 1 && R[1].q.res == -ENOSPC, "failure: one whose write fails gets that error");
	ok(dq_idle(&Q), "failure: the queue is idle again (bounce buffer and slot back)");
	teardown();
}

static void stop_due(struct loop_timer *t)
{
	((struct loop *)t->ctx)->stop = true;
}

/* Run the loop itself for ms milliseconds (the merge-delay timer). */
static void run_loop_ms(unsigned ms)
{
	struct loop_timer stop = { .fn = stop_due, .ctx = &L };

	L.stop = false;
	loop_timer_at(&L, &stop, now_ns() + ms * 1000000ULL);
	loop_run(&L);
}

static void test_merge_delay(void)
{
	setup(512, false, 0, 8);
	dq_set_merge_delay(&Q, 3000);
	submit(req(0, ENG_WRITE, 0, 512, 0));
	loop_run_deferred(&L);
	ok(F.n == 0 && Q.st.held == 1, "delay: an idle queue holds the first write back");
	ok(Q.hold_timer.armed, "delay: with the hold timer armed");
	submit(req(1, ENG_WRITE, 512, 512, 512));
	loop_run_deferred(&L);
	ok(F.n == 0 && Q.st.held == 2, "delay: a neighbour in the next wakeup is held too");
	run_loop_ms(30);
	ok(F.n == 1 && F.rec[0].iovcnt == 2 && F.rec[0].len == 1024,
	   "delay: when the timer fires, both go in one I/O");
	submit(req(2, ENG_WRITE, 65536, 512, 4096));
	loop_run_deferred(&L);
	is_int(F.n, 2, "delay: with I/O in flight nothing is held (its completion brings the next kick)");
	fake_complete_all(0);
	loop_run_deferred(&L);
	for (unsigned i = 0; i < DQ_MERGE_IOV; i++)
		submit(req(3 + i, ENG_WRITE, 131072 + i * 512, 512, 8192 + i * 512));
	loop_run_deferred(&L);
	ok(F.n == 3 && F.rec[2].iovcnt == DQ_MERGE_IOV, "delay: a full merged I/O is not held");
	teardown();
}

static void test_null(void)
{
	struct engine *null;

	memset(&B, 0, sizeof B);
	B.fd = -1;
	B.is_null = true;
	B.lbs = 512;
	B.size = 1 << 30;
	fake_reset();
	if (dq_init(&Q, &L, &B, E, 4) < 0) {
		printf("Bail out! dq_init null\n");
		exit(1);
	}
	null = Q.e;
	ok(null != E && strcmp(engine_name(null), "null") == 0,
	   "null: the queue of a null: store uses the null engine");
	ok(engine_for_backing(E, &B) == null, "null: one null engine lives with the engine");
	memset(buf, 0xff, 16 * 4096);
	for (unsigned i = 0; i < 16; i++)
		submit(req(i, ENG_READ, i * 65536, 4096, i * 4096));
	submit(req(16, ENG_WRITE, 0, 4096, 0));
	ok(!R[0].ndone && !R[16].ndone, "null: nothing completes inside dq_submit()");
	loop_run_deferred(&L);
	ok(R[15].ndone == 1 && R[16].ndone == 1 && R[15].q.res == 0 && R[16].q.res == 0,
	   "null: 17 requests at depth 4 all complete in one wakeup's deferred tasks");
	ok(fake_bytes(buf, 0, 16 * 4096), "null: reads are zeros");
	is_int(F.n, 0, "null: the real engine saw nothing");
	ok(dq_idle(&Q), "null: idle");

	/* shutdown's way: dispatch now, drain the daemon's engine */
	submit(req(0, ENG_FLUSH, 0, 0, 0));
	dq_kick_now(&Q);
	ok(engine_queued(E), "null: engine_queued() sees the null engine's I/O");
	engine_kick(E);
	ok(R[0].ndone == 1 && R[0].q.res == 0, "null: engine_kick() kicks the null engine too");
	submit(req(1, ENG_FLUSH, 0, 0, 0));
	dq_kick_now(&Q);
	if (R[0].ndone)		/* else the drain would never end */
		engine_drain(E);
	ok(R[1].ndone == 1 && !engine_queued(E), "null: engine_drain() drains the null engine too");
	loop_run_deferred(&L);
	dq_free(&Q);
}

int main(void)
{
	static void (*const tests[])(void) = {
		test_deferred_and_depth, test_overlap_order, test_overlap_filter, test_merge, test_bounce,
		test_failures, test_merge_delay, test_null,
	};

	return fake_main(&L, NREQ * 65536, tests, sizeof tests / sizeof tests[0]);
}
