/*
 * request.c - the request pool of a device, a request's disk I/O through
 * the cache and the queue, and its reply: in request order for a group
 * (a coalesced read), together with the duplicates waiting for it.
 */
#include "config.h"
#include "io/request.h"
#include "io/wack.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/aoe.h"
#include "proto/frame.h"

#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------ the pool */

struct req *req_get(struct device *d)
{
	struct req *r = d->free;

	if (!r) {
		d->st.queue_full++;
		return NULL;
	}
	d->free = r->next;
	r->next = NULL;
	r->dups = NULL;
	r->group = NULL;
	r->gnext_unsent = NULL;
	r->gtail = NULL;
	r->gopen = false;
	r->crc = r->wack = false;	/* set by req_fill(): nothing of the last use */
	r->state = RQ_IO;
	d->nfree--;
	return r;
}

void req_put(struct req *r)
{
	struct device *d = r->d;

	if (r->state == RQ_FREE) {
		log_err("BUG: request %p freed twice", (void *)r);
		abort();
	}
	r->state = RQ_FREE;
	r->next = d->free;
	d->free = r;
	d->nfree++;
	if (d->coal_waiting)	/* a buffer for a parked coalesced read */
		loop_defer(d->loop, &d->coal_task);
}

/* ------------------------------------------------------------- replies */

void req_send(struct iface *ifc, struct device *d, const uint8_t *frame, size_t len)
{
	uint8_t *out = iface_tx_get(ifc);

	if (!out) {
		d->st.tx_full++;
		return;
	}
	if (out != frame)	/* the slot may already hold it (built in place) */
		memcpy(out, frame, len);
	iface_tx_put(ifc, aoe_pad(out, len));
}

void req_reply(struct req *r)
{
	if (r->wack) {		/* a write's reply: 36 bytes, no data */
		wack_put(r->d, r->ifc, r->frame, r->crc);
		return;
	}
	if (r->crc)
		r->len = aoe_reply_crc(r->frame, r->len);
	req_send(r->ifc, r->d, r->frame, r->len);
}

/* A request's reply may go once every reply of its group before it went. */
void req_finish(struct req *r)
{
	struct req *g = r->group;

	r->state = RQ_DONE;
	if (!g) {
		req_reply(r);
		req_put(r);
		return;
	}
	while (g->gnext_unsent && g->gnext_unsent->state == RQ_DONE) {
		struct req *m = g->gnext_unsent;
		req_reply(m);
		g->gnext_unsent = m->next;
		if (m != g)
			req_put(m);
	}
	if (!g->gnext_unsent && !g->gopen)
		req_put(g);
}

static const char *const opname[] = { "read", "write", "flush" };

static void io_done(struct qio *io)
{
	struct req *r = (struct req *)io;
	struct device *d = r->d;
	struct req *dup, *next;

	if (io->res < 0) {
		d->st.io_errors++;
		d->t.st.ata_errors++;
		log_err("%s: %s of %zu bytes at sector %llu failed: %s", d->name,
			opname[io->op], io->len, (unsigned long long)r->ata.lba, strerror(-io->res));
		r->len = ata_io_failed(r->frame, &r->ata);
		/* the initiator will retry: its retransmission must be written,
		 * not acknowledged as a duplicate of what never reached the disk */
		if (io->op == ENG_WRITE)
			aoe_target_forget_write(&d->t, r->src, r->frame + AOE_OFF_TAG);
	}
	d->st.service_ns += loop_now(d->loop) - r->t0;
	d->st.serviced++;
	for (dup = r->dups; dup; dup = next) {
		next = dup->next;
		if (io->res < 0)
			dup->len = ata_io_failed(dup->frame, &dup->ata);
		req_reply(dup);
		req_put(dup);
	}
	r->dups = NULL;
	req_finish(r);
}

/* ------------------------------------------------------------- the I/O */

void req_start_io(struct device *d, struct req *r)
{
	struct qio *io = &r->io;
	enum cache_verdict v;

	io->off = r->ata.lba * ATA_SECTOR;
	io->len = (size_t)r->ata.nsect * ATA_SECTOR;
	io->data = r->frame + ATA_HDR_LEN;
	io->done = io_done;
	io->res = 0;
	r->t0 = loop_now(d->loop);
	switch (r->ata.op) {
	case ATA_OP_READ:
		io->op = ENG_READ;
		d->st.reads++;
		d->st.read_bytes += io->len;
		v = cache_read(&d->cache, io);
		break;
	case ATA_OP_WRITE:
		io->op = ENG_WRITE;
		d->st.writes++;
		d->st.write_bytes += io->len;
		v = cache_write(&d->cache, io);
		break;
	default:
		io->op = ENG_FLUSH;
		io->len = 0;
		d->st.flushes++;
		v = cache_flush(&d->cache, io);
		break;
	}
	if (v == CACHE_MISS)
		dq_submit(&d->q, io);
	else if (v == CACHE_DONE)
		io_done(io);
}

/* Copy the parts of a request that outlive the RX slot into r.  The reply
 * is usually built in r's own buffer already (device_frame). */
void req_fill(struct req *r, struct iface *ifc, const uint8_t *reply,
		     const struct aoe_outcome *o)
{
	r->ifc = ifc;
	r->ata = o->ata;
	r->len = o->len;
	r->crc = o->crc;
	r->wack = o->wack;
	if (r->frame != reply)
		memcpy(r->frame, reply, ATA_HDR_LEN);
	memcpy(r->src, reply + AOE_OFF_DST, 6);	/* the reply goes to the sender */
	r->tag = o->tag;
}


/* A read, or the primary of a coalesced one: its own I/O, or its error reply. */
void req_start_primary(struct device *d, struct req *r, const struct aoe_outcome *o)
{
	if (o->v == AOE_V_IO)
		req_start_io(d, r);
	else
		req_finish(r);
}
