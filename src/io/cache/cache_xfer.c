/* cache_xfer.c - transfers of cache memory through the queue, in pieces
 * the queue can realign. */
#include "config.h"
#include "io/cache/cache_xfer.h"
#include "common/log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void piece_done(struct qio *p)
{
	struct xfer *x = p->ctx;

	if (p->res < 0 && !x->err)
		x->err = p->res;
	if (--x->pending == 0)
		x->done(x);
}

int xfer_alloc(struct xfer *x, struct dq *q, size_t maxlen, void (*done)(struct xfer *),
	       void *owner)
{
	/* an unaligned head, aligned or DQ_MERGE_BYTES-sized middles, a tail */
	unsigned n = 2 + (unsigned)((maxlen + DQ_MERGE_BYTES - 1) / DQ_MERGE_BYTES);

	x->pio = calloc(n, sizeof *x->pio);
	if (!x->pio)
		return -ENOMEM;
	x->npio = n;
	x->q = q;
	x->done = done;
	x->owner = owner;
	x->pending = 0;
	x->err = 0;
	return 0;
}

void xfer_release(struct xfer *x)
{
	free(x->pio);
	x->pio = NULL;
	x->npio = 0;
}

static uint64_t align_up(uint64_t v, uint64_t a) { return (v + a - 1) / a * a; }
static uint64_t align_down(uint64_t v, uint64_t a) { return v / a * a; }

/* How much of [pos, hi) the next piece takes.  The whole rest if it is
 * aligned for O_DIRECT or small enough for a bounce buffer; else the
 * unaligned head up to a block boundary, then the aligned middle (cache
 * memory is aligned like the export offsets it holds), or, when nothing
 * lines up (an -o offset off the block size), DQ_MERGE_BYTES at a time. */
static size_t piece_len(const struct backing *b, const uint8_t *mem, uint64_t pos, uint64_t hi)
{
	uint64_t len = hi - pos, a = b->lbs, m;

	if (len <= DQ_MERGE_BYTES || backing_aligned(b, mem, pos, (size_t)len))
		return (size_t)len;
	if (pos % a)
		return (size_t)(align_up(pos, a) - pos);
	m = align_down(hi, a);
	if (m > pos && backing_aligned(b, mem, pos, (size_t)(m - pos)))
		return (size_t)(m - pos);
	return DQ_MERGE_BYTES;
}

void xfer_start(struct xfer *x, enum eng_op op, uint64_t off, size_t len, uint8_t *mem)
{
	const struct backing *b = x->q->b;
	uint64_t pos = off, hi = off + len;
	unsigned n = 0;

	x->err = 0;
	x->pending = 0;
	while (pos < hi && n < x->npio) {
		size_t l = piece_len(b, mem + (pos - off), pos, hi);
		struct qio *p = &x->pio[n++];
		memset(p, 0, sizeof *p);
		p->op = op;
		p->off = pos;
		p->len = l;
		p->data = mem + (pos - off);
		p->done = piece_done;
		p->ctx = x;
		pos += l;
	}
	if (pos < hi) {
		/* cannot happen: npio is sized for the longest range; be loud
		 * rather than silently short */
		log_err("%s: cache transfer of %zu bytes at %llu needs more than %u pieces",
			b->path, len, (unsigned long long)off, x->npio);
		x->pio[n - 1].len += (size_t)(hi - pos);
	}
	/* done() runs from the loop, never inside dq_submit(): pending is
	 * complete before any piece can finish */
	x->pending = n;
	for (unsigned i = 0; i < n; i++)
		dq_submit(x->q, &x->pio[i]);
}
