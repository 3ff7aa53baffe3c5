/*
 * t_wb.c - the write-back policy (src/io/cache/cache_wb.c), through the
 * cache's entry points (cache.h) with read-ahead off, over a real queue
 * and a fake engine (fake_engine.h): buffering and immediate
 * acknowledgement, joining buffers, the max-dirty bound and arrival
 * order, pass-through, reads of dirty data, FLUSH, failed write-outs.
 */
#include "config.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event/loop.h"
#include "io/cache/cache.h"
#include "io/queue/queue.h"
#include "fake_engine.h"
#include "tap.h"

#define NREQ 32
#define KiB 1024u

static struct loop L;
static struct backing B;
static struct dq Q;
static struct cache C;
#define E (F.e)
static struct fake_req R[NREQ];
#define buf (F.buf)		/* NREQ x 1 MiB */
static int failures;

/* Request i: op on [off, off + len), its data filled with fill. */
static struct qio *req(unsigned i, enum eng_op op, uint64_t off, size_t len, int fill)
{
	struct qio *io = fake_req_set(&R[i], op, off, len, buf + (size_t)i * 1024 * KiB);

	if (fill >= 0)
		memset(io->data, fill, len);
	return io;
}

/* What device.c does with a verdict. */
static enum cache_verdict go(struct qio *io)
{
	enum cache_verdict v = io->op == ENG_READ ? cache_read(&C, io) :
			       io->op == ENG_WRITE ? cache_write(&C, io) : cache_flush(&C, io);

	if (v == CACHE_MISS)
		dq_submit(&Q, io);
	else if (v == CACHE_DONE)
		io->done(io);
	return v;
}

static void on_failure(void *ctx)
{
	(void)ctx;
	failures++;
}

static void setup(size_t max_dirty)
{
	struct cache_conf cf = CACHE_CONF_DEFAULTS;

	cf.ra_chunk = 0;
	cf.write_back = true;
	cf.wb_chunk = 64 * KiB;
	cf.wb_max_dirty = max_dirty;
	cf.wb_max_age_ms = 100000;	/* no write-out by age during a test */
	memset(&B, 0, sizeof B);
	B.fd = -1;
	snprintf(B.path, sizeof B.path, "fake");
	B.lbs = 512;
	B.size = FAKE_DISK;
	memset(F.disk, 0, FAKE_DISK);
	fake_reset();
	failures = 0;
	if (dq_init(&Q, &L, &B, E, 16) < 0 || cache_init(&C, &cf, &Q, &L) < 0) {
		printf("Bail out! init\n");
		exit(1);
	}
	C.on_failure = on_failure;
}

/* Let every write-out land, then free the cache and the queue. */
static void teardown(void)
{
	cache_writeback_all(&C);
	fake_settle(&L, 1000);
	cache_free(&C);
	dq_free(&Q);
}

/* ------------------------------------------------------------ tests */

static void test_buffered(void)
{
	setup(256 * KiB);
	is_int(go(req(0, ENG_WRITE, 0, 4 * KiB, 'a')), CACHE_DONE, "take: a write is buffered");
	ok(R[0].ndone == 1 && R[0].q.res == 0, "take: and acknowledged at once");
	loop_run_deferred(&L);
	is_int(F.n, 0, "take: nothing went to the store");
	ok(C.st.wb_buffered == 1 && C.st.dirty_bytes == 4 * KiB, "take: counted, 4 KiB dirty");
	ok(!cache_idle(&C), "take: the cache is not idle with dirty data");
	teardown();
	ok(fake_bytes(F.disk, 'a', 4 * KiB), "take: written back at the end");
}

static void test_join(void)
{
	enum cache_verdict v;
	bool right;
	int w;

	setup(256 * KiB);
	go(req(0, ENG_WRITE, 16 * KiB, 4 * KiB, 'b'));
	go(req(1, ENG_WRITE, 24 * KiB, 4 * KiB, 'c'));
	is_int(C.st.dirty_bytes, 8 * KiB, "join: two separate dirty ranges");
	is_int(go(req(2, ENG_WRITE, 20 * KiB, 4 * KiB, 'd')), CACHE_DONE,
	       "join: a write bridging them is buffered");
	is_int(C.st.dirty_bytes, 12 * KiB, "join: 12 KiB dirty, none counted twice");
	v = go(req(3, ENG_READ, 18 * KiB, 8 * KiB, 0));
	right = fake_bytes(R[3].q.data, 'b', 2 * KiB) && fake_bytes(R[3].q.data + 2 * KiB, 'd', 4 * KiB) &&
		fake_bytes(R[3].q.data + 6 * KiB, 'c', 2 * KiB);
	ok(v == CACHE_DONE && right, "join: a read across all three is served from one buffer");
	is_int(C.st.wb_read_hits, 1, "join: counted a read hit");
	cache_writeback_all(&C);
	loop_run_deferred(&L);
	w = fake_find(0, ENG_WRITE, 16 * KiB);
	ok(F.n == 1 && w == 0 && F.rec[0].len == 12 * KiB, "join: written as one 12 KiB write-out");
	is_int(C.st.wb_flushes, 1, "join: one buffer write-out");
	fake_complete_all(0);
	loop_run_deferred(&L);
	ok(C.st.dirty_bytes == 0 && cache_idle(&C), "join: nothing dirty after it landed");
	ok(fake_bytes(F.disk + 16 * KiB, 'b', 4 * KiB) && fake_bytes(F.disk + 20 * KiB, 'd', 4 * KiB) &&
	   fake_bytes(F.disk + 24 * KiB, 'c', 4 * KiB), "join: the store has all three");
	teardown();
}

static void test_max_dirty(void)
{
	uint64_t most = 0;

	setup(16 * KiB);
	ok(go(req(0, ENG_WRITE, 0, 8 * KiB, '1')) == CACHE_DONE &&
	   go(req(1, ENG_WRITE, 64 * KiB, 8 * KiB, '2')) == CACHE_DONE,
	   "bound: 16 KiB in two buffers are taken (the bound is 16 KiB)");
	loop_run_deferred(&L);
	ok(F.n == 1 && F.rec[0].off == 0, "bound: past half the bound the oldest is written out");
	is_int(go(req(2, ENG_WRITE, 128 * KiB, 12 * KiB, '3')), CACHE_PENDING,
	       "bound: a write that would pass the bound waits");
	is_int(go(req(3, ENG_WRITE, 192 * KiB, 512, '4')), CACHE_PENDING,
	       "bound: a small one behind it waits too");
	loop_run_deferred(&L);
	ok(F.n == 2 && F.rec[1].off == 64 * KiB, "bound: the waiting write had the next buffer written");
	fake_complete(0, 0);
	loop_run_deferred(&L);
	if (C.st.dirty_bytes > most)
		most = C.st.dirty_bytes;
	ok(!R[2].ndone && !R[3].ndone,
	   "bound: with 8 KiB dirty, the 12 KiB write still waits, and the 512 bytes behind it");
	is_int(go(req(5, ENG_WRITE, 320 * KiB, 512, '6')), CACHE_PENDING,
	       "bound: a new write that would fit waits behind them too");
	fake_complete(1, 0);
	loop_run_deferred(&L);
	if (C.st.dirty_bytes > most)
		most = C.st.dirty_bytes;
	ok(R[2].ndone == 1 && R[3].ndone == 1 && R[5].ndone == 1 && R[2].order < R[3].order &&
	   R[3].order < R[5].order, "bound: once room was made all are taken, in arrival order");
	ok(most <= 16 * KiB && C.st.dirty_bytes == 13 * KiB, "bound: never past the bound");
	cache_writeback_all(&C);
	fake_settle(&L, 4);
	is_int(C.st.dirty_bytes, 0, "bound: all written back");
	is_int(go(req(4, ENG_WRITE, 256 * KiB, 20 * KiB, '5')), CACHE_DONE,
	       "bound: with nothing dirty one write larger than the bound is taken");
	teardown();
	ok(fake_bytes(F.disk + 128 * KiB, '3', 12 * KiB) && fake_bytes(F.disk + 192 * KiB, '4', 512) &&
	   fake_bytes(F.disk + 256 * KiB, '5', 20 * KiB) && fake_bytes(F.disk + 320 * KiB, '6', 512),
	   "bound: and everything landed");
}

static void test_pass_through(void)
{
	size_t big = 9 * 64 * KiB;	/* more buffers than one write may span */

	setup(4096 * KiB);
	go(req(0, ENG_WRITE, 1024 * KiB, 4 * KiB, 'x'));
	is_int(go(req(1, ENG_WRITE, 1024 * KiB, big, 'y')), CACHE_PENDING,
	       "pass: a write over 9 buffers is not buffered");
	is_int(C.st.wb_buffered, 1, "pass: only the first write was buffered");
	loop_run_deferred(&L);
	ok(F.n == 1 && F.rec[0].len == 4 * KiB,
	   "pass: the dirty buffer it overlaps is written first, the big write waits in the queue");
	fake_complete(0, 0);
	loop_run_deferred(&L);
	ok(F.n == 2 && F.rec[1].len == big && !R[1].ndone, "pass: then the big write goes to the store");
	fake_complete(1, 0);
	ok(R[1].ndone == 1 && R[1].q.res == 0, "pass: acknowledged once on the store");
	ok(fake_bytes(F.disk + 1024 * KiB, 'y', big), "pass: the newer data is on the store");
	teardown();
}

static void test_reads(void)
{
	bool right;

	setup(256 * KiB);
	memset(F.disk + 2044 * KiB, 'o', 4 * KiB);
	go(req(0, ENG_WRITE, 2048 * KiB, 4 * KiB, 'r'));
	ok(go(req(1, ENG_READ, 2048 * KiB + 1024, 2 * KiB, 0)) == CACHE_DONE &&
	   fake_bytes(R[1].q.data, 'r', 2 * KiB), "read: inside a dirty buffer: served from it");
	is_int(go(req(2, ENG_READ, 2044 * KiB, 8 * KiB, 0)), CACHE_PENDING,
	       "read: straddling dirty data: waits");
	loop_run_deferred(&L);
	ok(F.n == 1 && fake_is(0, ENG_WRITE, 2048 * KiB, 4 * KiB),
	   "read: the dirty data it needs is written out first, the read not yet issued");
	fake_complete(0, 0);
	loop_run_deferred(&L);
	ok(F.n == 2 && fake_is(1, ENG_READ, 2044 * KiB, 8 * KiB),
	   "read: once written, it reads from the store");
	fake_complete(1, 0);
	right = fake_bytes(R[2].q.data, 'o', 4 * KiB) && fake_bytes(R[2].q.data + 4 * KiB, 'r', 4 * KiB);
	ok(R[2].ndone == 1 && right, "read: and gets the old bytes and the acknowledged new ones");
	is_int(go(req(3, ENG_READ, 0, 4 * KiB, 0)), CACHE_MISS, "read: no dirty data: a miss");
	teardown();
}

static void test_flush(void)
{
	int fl;

	setup(256 * KiB);
	is_int(go(req(0, ENG_FLUSH, 0, 0, -1)), CACHE_MISS, "flush: nothing dirty: to the queue as it is");
	fake_settle(&L, 2);
	fake_reset();
	go(req(1, ENG_WRITE, 3072 * KiB, 4 * KiB, 'f'));
	go(req(2, ENG_WRITE, 3200 * KiB, 4 * KiB, 'g'));
	is_int(go(req(3, ENG_FLUSH, 0, 0, -1)), CACHE_PENDING, "flush: with dirty data: held");
	loop_run_deferred(&L);
	ok(F.n == 2 && F.rec[0].op == ENG_WRITE && F.rec[1].op == ENG_WRITE,
	   "flush: every dirty buffer is written out, no fdatasync yet");
	fake_complete(0, 0);
	loop_run_deferred(&L);
	is_int(fake_find(0, ENG_FLUSH, 0), -1, "flush: none after one of the two write-outs");
	fake_complete(1, 0);
	loop_run_deferred(&L);
	fl = fake_find(0, ENG_FLUSH, 0);
	ok(fl == 2 && !R[3].ndone, "flush: the fdatasync goes after both landed; the flush waits for it");
	fake_complete(2, 0);
	ok(R[3].ndone == 1 && R[3].q.res == 0, "flush: done when the fdatasync completed");
	teardown();
}

static void test_failure(void)
{
	setup(256 * KiB);
	go(req(0, ENG_WRITE, 4096 * KiB, 4 * KiB, 'e'));
	go(req(1, ENG_WRITE, 4224 * KiB, 4 * KiB, 'e'));
	cache_writeback_all(&C);
	loop_run_deferred(&L);
	is_int(F.n, 2, "failure: two write-outs");
	fake_complete(0, -EIO);
	loop_run_deferred(&L);
	ok(failures == 1 && C.failed && C.st.wb_errors == 1,
	   "failure: a failed write-out turns the cache failed and tells the owner");
	fake_complete(1, -EIO);
	loop_run_deferred(&L);
	ok(failures == 1 && C.st.wb_errors == 2, "failure: the owner is told once, every error counted");
	ok(C.st.dirty_bytes == 0, "failure: the lost data is no longer counted dirty");
	is_int(go(req(2, ENG_FLUSH, 0, 0, -1)), CACHE_PENDING, "failure: a later flush is held");
	loop_run_deferred(&L);
	ok(F.n == 3 && F.rec[2].op == ENG_FLUSH, "failure: its fdatasync goes");
	fake_complete(2, 0);
	ok(R[2].ndone == 1 && R[2].q.res == -EIO, "failure: and the flush reports the loss (-EIO)");
	/* the owner stops taking writes (the device turns read-only); what
	 * still comes is no longer acknowledged before it is on the store */
	is_int(go(req(3, ENG_WRITE, 0, 4 * KiB, 'z')), CACHE_PENDING,
	       "failure: a later write is not acknowledged from a buffer");
	loop_run_deferred(&L);
	ok(F.n == 4 && F.rec[3].op == ENG_WRITE && !R[3].ndone, "failure: it goes to the store");
	fake_complete(3, 0);
	ok(R[3].ndone == 1 && R[3].q.res == 0 && C.st.wb_buffered == 2,
	   "failure: acknowledged when it landed");
	teardown();
}

int main(void)
{
	static void (*const tests[])(void) = {
		test_buffered, test_join, test_max_dirty, test_pass_through,
		test_reads, test_flush, test_failure,
	};

	return fake_main(&L, (size_t)NREQ * 1024 * KiB, tests, sizeof tests / sizeof tests[0]);
}
