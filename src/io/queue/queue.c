/* queue.c - depth limit, write ordering, merging and bounce buffers. */
#include "config.h"
#include "io/queue/queue.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KICK_MAX 512	/* requests looked at per kick */

enum phase { PH_DIRECT, PH_BOUNCE_READ, PH_RMW_READ, PH_BOUNCE_WRITE };

struct qbatch {
	struct eng_io io;
	struct iovec iov[DQ_MERGE_IOV];
	struct dq *q;
	struct qbatch *next;	/* free list */
	struct qbatch *wnext, **wprev;	/* q->writes, while a busy write */
	enum eng_op op;
	struct qio *first;	/* members, linked by mnext */
	uint64_t off;		/* the members' exact range */
	size_t len;
	uint64_t lo, hi;	/* the blocks it touches, as store offsets */
	enum phase phase;
	int bounce;		/* index in q->bounce, or -1 */
};

static void busy_chunks(struct dq *q, const struct qbatch *bt, int d);

/* a is a power of two (a sector or logical block size): masks, not the
 * divisions that ARMv5 does in software */
static uint64_t align_down(uint64_t v, unsigned a) { return v & ~(uint64_t)(a - 1); }
static uint64_t align_up(uint64_t v, unsigned a) { return align_down(v + a - 1, a); }

static void dispatch_due(struct loop_task *t)
{
	dq_kick(t->ctx);
}

/* The delay is over: dispatch what was held. */
static void hold_due(struct loop_timer *t)
{
	struct dq *q = t->ctx;

	loop_defer(q->loop, &q->dispatch);
}

int dq_init(struct dq *q, struct loop *l, struct backing *b, struct engine *e, unsigned depth)
{
	memset(q, 0, sizeof *q);
	q->loop = l;
	q->b = b;
	q->e = engine_for_backing(e, b);
	if (!q->e)
		return -ENOMEM;
	q->dispatch.fn = dispatch_due;
	q->dispatch.ctx = q;
	q->dispatch.phase = LOOP_PHASE_DISPATCH;
	q->hold_timer.fn = hold_due;
	q->hold_timer.ctx = q;
	q->depth = depth ? depth : 1;
	q->batches = calloc(q->depth, sizeof *q->batches);
	if (!q->batches)
		return -ENOMEM;
	for (unsigned i = 0; i < q->depth; i++) {
		q->batches[i].q = q;
		q->batches[i].next = q->free;
		q->free = &q->batches[i];
	}
	q->bounce_size = DQ_MERGE_BYTES + 2 * 4096;
	return 0;
}

void dq_set_merge_delay(struct dq *q, unsigned delay_us)
{
	q->merge_delay_ns = (uint64_t)delay_us * 1000;
}

void dq_free(struct dq *q)
{
	if (q->loop) {	/* NULL: dq_init() never ran */
		loop_timer_cancel(q->loop, &q->hold_timer);
		loop_defer_cancel(q->loop, &q->dispatch);
	}
	for (unsigned i = 0; i < DQ_BOUNCE; i++)
		free(q->bounce[i]);
	free(q->batches);
	q->batches = NULL;
}

bool dq_idle(const struct dq *q)
{
	return q->busy == 0 && q->wait.head == NULL;
}

void dq_submit(struct dq *q, struct qio *io)
{
	io->mnext = NULL;
	io->picked = false;
	qlist_push(&q->wait, io);
	q->waiting_bytes += io->len;
	q->st.requests++;
	if (++q->waiting > q->st.waiting_max)
		q->st.waiting_max = q->waiting;
	loop_defer(q->loop, &q->dispatch);
}

/* ---------------------------------------------------------- completion */

static void finish(struct qbatch *bt, int res)
{
	struct dq *q = bt->q;
	struct qio *m = bt->first;

	if (bt->bounce >= 0)
		q->bounce_busy[bt->bounce] = false;
	if (bt->op == ENG_WRITE) {
		busy_chunks(q, bt, -1);
		if (bt->wnext)
			bt->wnext->wprev = bt->wprev;
		*bt->wprev = bt->wnext;
	}
	bt->next = q->free;
	q->free = bt;
	q->busy--;
	if (res < 0)
		q->st.errors++;
	/* depth (and maybe a bounce buffer) came free, and the blocks this
	 * batch owned: what waited for them may go */
	if (q->wait.head)
		loop_defer(q->loop, &q->dispatch);
	while (m) {
		struct qio *next = m->mnext;
		m->res = res;
		m->done(m);	/* may free m */
		m = next;
	}
}

/* Copy between the members' buffers and the bounce buffer. */
static void bounce_copy(struct qbatch *bt, bool to_members)
{
	uint8_t *bb = bt->q->bounce[bt->bounce];

	for (struct qio *m = bt->first; m; m = m->mnext) {
		uint8_t *at = bb + (bt->q->b->offset + m->off - bt->lo);
		if (to_members)
			memcpy(m->data, at, m->len);
		else
			memcpy(at, m->data, m->len);
	}
}

/* To the engine, or to the freeze layer of a frozen export. */
static void submit_io(struct dq *q, struct eng_io *io)
{
	if (q->fz)
		freeze_submit(q->fz, io);
	else
		engine_submit(q->e, io);
}

static void submit_span(struct qbatch *bt, enum eng_op op)
{
	struct dq *q = bt->q;

	bt->iov[0].iov_base = q->bounce[bt->bounce];
	bt->iov[0].iov_len = (size_t)(bt->hi - bt->lo);
	bt->io.op = op;
	bt->io.off = bt->lo;
	bt->io.len = bt->iov[0].iov_len;
	bt->io.iovcnt = 1;
	submit_io(q, &bt->io);
}

static void batch_done(struct eng_io *io)
{
	struct qbatch *bt = (struct qbatch *)io;

	if (io->res < 0) {
		finish(bt, io->res);
		return;
	}
	switch (bt->phase) {
	case PH_BOUNCE_READ:
		bounce_copy(bt, true);
		break;
	case PH_RMW_READ:
		/* the partial blocks are in: lay the new data over them */
		bounce_copy(bt, false);
		bt->phase = PH_BOUNCE_WRITE;
		submit_span(bt, ENG_WRITE);
		return;
	default:
		break;
	}
	finish(bt, 0);
}

/* ------------------------------------------------------------ dispatch */

static int take_bounce(struct dq *q)
{
	for (int i = 0; i < DQ_BOUNCE; i++) {
		if (q->bounce_busy[i])
			continue;
		if (!q->bounce[i]) {
			q->bounce[i] = aligned_alloc(4096, q->bounce_size);
			if (!q->bounce[i])
				return -1;
		}
		q->bounce_busy[i] = true;
		return i;
	}
	return -1;
}

static bool members_aligned(const struct dq *q, const struct qio *m)
{
	for (; m; m = m->mnext)
		if (!backing_aligned(q->b, m->data, m->off, m->len))
			return false;
	return true;
}

/* Start the I/O of a batch whose members are linked: 1 when started, 0
 * when it needs a bounce buffer and none is free (the members keep
 * waiting), -1 when it is too large for one (a caller's bug: failed). */
static int start(struct dq *q, struct qbatch *bt)
{
	unsigned n = 0;

	bt->io.b = q->b;
	bt->io.done = batch_done;
	bt->io.iov = bt->iov;
	bt->bounce = -1;
	if (bt->op == ENG_FLUSH || members_aligned(q, bt->first)) {
		for (struct qio *m = bt->first; m; m = m->mnext) {
			bt->iov[n].iov_base = m->data;
			bt->iov[n++].iov_len = m->len;
		}
		bt->phase = PH_DIRECT;
		bt->io.op = bt->op;
		bt->io.off = q->b->offset + bt->off;
		bt->io.len = bt->len;
		bt->io.iovcnt = n;
		submit_io(q, &bt->io);
		return 1;
	}
	if (bt->hi - bt->lo > q->bounce_size) {
		log_err("%s: unaligned I/O of %zu bytes is larger than a bounce buffer",
			q->b->path, bt->len);
		return -1;
	}
	if ((bt->bounce = take_bounce(q)) < 0)
		return 0;
	q->st.bounced++;
	if (bt->op == ENG_READ) {
		bt->phase = PH_BOUNCE_READ;
		submit_span(bt, ENG_READ);
	} else if (bt->lo == q->b->offset + bt->off && bt->hi == bt->lo + bt->len) {
		bounce_copy(bt, false);
		bt->phase = PH_BOUNCE_WRITE;
		submit_span(bt, ENG_WRITE);
	} else {
		q->st.rmw++;
		bt->phase = PH_RMW_READ;
		submit_span(bt, ENG_READ);
	}
	return 1;
}

/* The whole blocks (store offsets) a request of the export touches. */
static void span_of(const struct dq *q, uint64_t off, size_t len, uint64_t *lo, uint64_t *hi)
{
	unsigned a = q->b->direct ? q->b->lbs : 512;
	uint64_t start = q->b->offset + off;

	*lo = align_down(start, a);
	*hi = align_up(start + len, a);
}

/*
 * Write ordering without a scan per write.  A span is mapped to the 64 KiB
 * chunks it touches, hashed into DQ_CHUNKS slots: a write none of whose
 * slots is taken overlaps nothing, which is the answer almost always (the
 * sequential and the random case alike); only a taken slot costs the exact
 * look at the spans.
 */
#define CHUNK_SHIFT	16
#define SPAN_CHUNKS_MAX	16	/* more: no filter, always the exact look */

static unsigned chunk_slot(uint64_t chunk) { return (unsigned)(chunk % DQ_CHUNKS); }

static bool span_chunks(uint64_t lo, uint64_t hi, uint64_t *first, uint64_t *last)
{
	*first = lo >> CHUNK_SHIFT;
	*last = (hi - 1) >> CHUNK_SHIFT;
	return *last - *first < SPAN_CHUNKS_MAX;
}

/* Count a busy write's chunks in (+1) or out (-1). */
static void busy_chunks(struct dq *q, const struct qbatch *bt, int d)
{
	uint64_t c, last;

	if (!span_chunks(bt->lo, bt->hi, &c, &last)) {
		q->writes_wide += d;
		return;
	}
	for (; c <= last; c++)
		q->write_chunks[chunk_slot(c)] += d;
}

/* The writes a kick has looked at, in arrival order, their hull (a write
 * past it, the sequential case, overlaps none) and their slots. */
struct held {
	uint64_t span[KICK_MAX][2];
	unsigned n;
	uint64_t lo, hi;
	bool wide;
	uint64_t taken[DQ_CHUNKS / 64];
};

static bool held_maybe(const struct held *h, uint64_t lo, uint64_t hi)
{
	uint64_t c, last;

	if (!h->n || !ranges_overlap(lo, hi, h->lo, h->hi))
		return false;
	if (h->wide || !span_chunks(lo, hi, &c, &last))
		return true;
	for (; c <= last; c++)
		if (h->taken[chunk_slot(c) / 64] & (1ull << (chunk_slot(c) % 64)))
			return true;
	return false;
}

static void held_add(struct held *h, uint64_t lo, uint64_t hi)
{
	uint64_t c, last;

	if (!h->n || lo < h->lo)
		h->lo = lo;
	if (!h->n || hi > h->hi)
		h->hi = hi;
	h->span[h->n][0] = lo;
	h->span[h->n][1] = hi;
	h->n++;
	if (!span_chunks(lo, hi, &c, &last)) {
		h->wide = true;
		return;
	}
	for (; c <= last; c++)
		h->taken[chunk_slot(c) / 64] |= 1ull << (chunk_slot(c) % 64);
}

static bool busy_maybe(const struct dq *q, uint64_t lo, uint64_t hi)
{
	uint64_t c, last;

	if (!q->writes)
		return false;
	if (q->writes_wide || !span_chunks(lo, hi, &c, &last))
		return true;
	for (; c <= last; c++)
		if (q->write_chunks[chunk_slot(c)])
			return true;
	return false;
}

/* A write may start only when no write in flight and no earlier waiting
 * write touches its blocks: writes to the same blocks land in arrival
 * order, and a read-modify-write never races another write. */
static bool write_blocked(const struct dq *q, uint64_t lo, uint64_t hi, const struct held *h)
{
	if (busy_maybe(q, lo, hi))
		for (const struct qbatch *bt = q->writes; bt; bt = bt->wnext)
			if (ranges_overlap(lo, hi, bt->lo, bt->hi))
				return true;
	if (held_maybe(h, lo, hi))
		for (unsigned i = 0; i < h->n; i++)
			if (ranges_overlap(lo, hi, h->span[i][0], h->span[i][1]))
				return true;
	return false;
}

static bool before(const struct qio *x, const struct qio *y)
{
	return x->op != y->op ? x->op < y->op : x->off < y->off;
}

/* By operation, then offset, stable (overlapping writes keep their arrival
 * order).  Insertion sort: a kick sees a few requests, often in order
 * already, where it costs one comparison each. */
static void sort_candidates(struct qio **cand, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct qio *x = cand[i];
		unsigned j = i;
		while (j > 0 && before(x, cand[j - 1])) {
			cand[j] = cand[j - 1];
			j--;
		}
		cand[j] = x;
	}
}

/* Pick the waiting requests that may go now, in arrival order. */
static unsigned pick(struct dq *q, struct qio **cand)
{
	static struct held held;
	unsigned n = 0;

	held.n = 0;
	held.wide = false;
	memset(held.taken, 0, sizeof held.taken);
	for (struct qio *io = q->wait.head; io && n < KICK_MAX; io = io->next) {
		if (io->op == ENG_WRITE) {
			uint64_t lo, hi;
			span_of(q, io->off, io->len, &lo, &hi);
			bool blocked = write_blocked(q, lo, hi, &held);
			held_add(&held, lo, hi);
			if (blocked) {
				q->st.overlap_waits++;
				continue;
			}
		}
		cand[n++] = io;
	}
	return n;
}

/* Link cand[i..] into one batch while they are adjacent; returns how many. */
static unsigned gather(struct dq *q, struct qbatch *bt, struct qio **cand, unsigned i, unsigned n)
{
	unsigned k = 1;

	bt->op = cand[i]->op;
	bt->first = cand[i];
	bt->off = cand[i]->off;
	bt->len = cand[i]->len;
	cand[i]->mnext = NULL;
	while (bt->op != ENG_FLUSH && i + k < n && k < DQ_MERGE_IOV) {
		struct qio *p = cand[i + k - 1], *m = cand[i + k];
		if (m->op != bt->op || m->off != p->off + p->len ||
		    bt->len + m->len > DQ_MERGE_BYTES)
			break;
		p->mnext = m;
		m->mnext = NULL;
		bt->len += m->len;
		k++;
	}
	span_of(q, bt->off, bt->len, &bt->lo, &bt->hi);
	return k;
}

static void unlink_picked(struct dq *q)
{
	struct qio **pp = &q->wait.head;

	q->wait.tail = NULL;
	while (*pp) {
		if ((*pp)->picked) {
			q->waiting_bytes -= (*pp)->len;
			*pp = (*pp)->next;
			q->waiting--;
		} else {
			q->wait.tail = *pp;
			pp = &(*pp)->next;
		}
	}
}

/* Whether to hold what waits a little longer: the delay is on, nothing of
 * this queue is in flight (otherwise its completion brings the next kick
 * and what arrives meanwhile merges anyway), less than one full merged I/O
 * waits, and the first kick that found it is recent. */
static bool hold_back(struct dq *q)
{
	uint64_t now;

	if (!q->merge_delay_ns || !q->wait.head || q->busy)
		return false;
	if (q->waiting >= DQ_MERGE_IOV || q->waiting_bytes >= DQ_MERGE_BYTES)
		return false;
	now = loop_now(q->loop);
	if (!q->hold_since) {
		q->hold_since = now;
		loop_timer_at(q->loop, &q->hold_timer, now + q->merge_delay_ns);
	}
	if (now - q->hold_since < q->merge_delay_ns) {
		q->st.held++;
		return true;
	}
	return false;
}

void dq_kick(struct dq *q)
{
	if (hold_back(q))
		return;
	dq_kick_now(q);
}

void dq_kick_now(struct dq *q)
{
	static struct qio *cand[KICK_MAX];
	struct qbatch *failed[KICK_MAX];
	unsigned n, i = 0, nfailed = 0;

	q->hold_since = 0;
	if (!q->wait.head || !q->free)
		goto out;
	n = pick(q, cand);
	sort_candidates(cand, n);
	while (i < n && q->free) {
		struct qbatch *bt = q->free;
		unsigned k = gather(q, bt, cand, i, n);
		int rc = start(q, bt);
		i += k;
		if (rc == 0)
			continue;	/* no bounce buffer: these wait */
		q->free = bt->next;
		if (bt->op == ENG_WRITE) {
			bt->wnext = q->writes;
			if (q->writes)
				q->writes->wprev = &bt->wnext;
			bt->wprev = &q->writes;
			q->writes = bt;
			busy_chunks(q, bt, +1);
		}
		q->busy++;
		q->st.ios++;
		q->st.merged += k - 1;
		for (struct qio *m = bt->first; m; m = m->mnext)
			m->picked = true;
		if (rc < 0)
			failed[nfailed++] = bt;
	}
	unlink_picked(q);
	for (unsigned f = 0; f < nfailed; f++)
		finish(failed[f], -EINVAL);
out:
	if (q->wait.head)
		q->st.stalls++;
}
