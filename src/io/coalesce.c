/* coalesce.c - coalesced reads: sub-reads in order, continuation slots
 * (see coalesce.h). */
#include "config.h"
#include "io/coalesce.h"
#include "proto/aoe.h"

#include <stdlib.h>
#include <string.h>

struct coal {
	bool busy;
	struct req *primary;	/* NULL: not started yet (no buffer at all) */
	struct iface *ifc;
	unsigned next, n;	/* next descriptor to issue, how many */
	size_t len;
	uint8_t *frame;		/* copy of the request */
	struct aoe_outcome o;	/* the primary's, when not started */
	uint8_t reply[ATA_HDR_LEN];
};

unsigned coalesce_reserve(const struct device *d)
{
	return d->nreqs / 8;
}

static void link_member(struct req *g, struct req *r)
{
	r->group = g;
	r->next = NULL;
	/* when every reply so far went, the old tail is gone (freed) */
	if (g->gnext_unsent)
		g->gtail->next = r;
	else
		g->gnext_unsent = r;
	g->gtail = r;
}

/* Issue sub-reads first..n-1 of frame while buffers last; returns the
 * index of the first one not issued. */
static unsigned issue_subreads(struct device *d, struct iface *ifc, const uint8_t *frame,
			       size_t len, struct req *g, unsigned first, unsigned n)
{
	unsigned i;

	for (i = first; i < n && d->nfree > coalesce_reserve(d); i++) {
		struct aoe_outcome o;
		struct req *r = req_get(d);
		aoe_target_subread(&d->t, frame, len, i, ifc->mac, device_mtu(d, ifc), r->frame, &o);
		if (o.v == AOE_V_DROP) {
			req_put(r);
			continue;
		}
		r->ifc = ifc;
		r->ata = o.ata;
		r->len = o.len;
		r->crc = g->crc;	/* the sender's crc8x4, as for the primary */
		memcpy(r->src, frame + AOE_OFF_SRC, 6);
		r->tag = o.tag;
		link_member(g, r);
		if (o.v == AOE_V_IO)
			req_start_io(d, r);
		else
			req_finish(r);
	}
	return i;
}

static struct coal *free_slot(struct device *d)
{
	for (unsigned k = 0; k < DEVICE_COAL_SLOTS; k++)
		if (!d->coal[k].busy)
			return &d->coal[k];
	d->st.queue_full++;
	return NULL;
}

/* The primary leads its group; it stays until every reply has gone. */
static void open_group(struct req *g)
{
	g->group = g;
	g->gnext_unsent = g;
	g->gtail = g;
	g->gopen = true;
}

static void close_group(struct req *g)
{
	g->gopen = false;
	if (!g->gnext_unsent)
		req_put(g);
}

/* Start the group of primary g; false if its sub-reads cannot all be
 * issued now and no continuation slot is free (the frame is dropped and
 * counted: the initiator retransmits it). */
bool coalesce_start(struct device *d, struct iface *ifc, const uint8_t *frame, size_t len,
		      struct req *g, unsigned nsub)
{
	struct coal *c = NULL;
	unsigned done;

	if (nsub + coalesce_reserve(d) > d->nfree) {
		if (!(c = free_slot(d)))
			return false;
	}
	open_group(g);
	done = issue_subreads(d, ifc, frame, len, g, 0, nsub);
	if (done == nsub) {
		g->gopen = false;	/* freed by req_finish() once all went */
		return true;
	}
	c->busy = true;
	d->coal_waiting++;
	c->primary = g;
	c->ifc = ifc;
	c->next = done;
	c->n = nsub;
	c->len = len;
	memcpy(c->frame, frame, len);
	d->st.coalesce_waits++;
	return true;
}

void coalesce_continue(struct device *d)
{
	for (unsigned k = 0; k < DEVICE_COAL_SLOTS && d->nfree > coalesce_reserve(d); k++) {
		struct coal *c = &d->coal[k];
		if (!c->busy)
			continue;
		if (!c->primary) {
			struct req *g = req_get(d);
			req_fill(g, c->ifc, c->reply, &c->o);
			memcpy(g->frame, c->reply, c->o.v == AOE_V_IO ? ATA_HDR_LEN : c->o.len);
			open_group(g);
			c->primary = g;
			req_start_primary(d, g, &c->o);
		}
		c->next = issue_subreads(d, c->ifc, c->frame, c->len, c->primary, c->next, c->n);
		if (c->next == c->n) {
			c->busy = false;
			d->coal_waiting--;
			close_group(c->primary);
		}
	}
}


/* A coalesced read that found no buffer at all: park it whole. */
void coalesce_park(struct device *d, struct iface *ifc, const uint8_t *frame,
			   size_t len, const uint8_t *reply, const struct aoe_outcome *o)
{
	struct coal *c = free_slot(d);

	if (!c)
		return;		/* counted; the initiator retransmits */
	c->busy = true;
	d->coal_waiting++;
	c->primary = NULL;
	c->ifc = ifc;
	c->next = 0;
	c->n = o->nsub;
	c->len = len;
	c->o = *o;
	memcpy(c->frame, frame, len);
	memcpy(c->reply, reply, ATA_HDR_LEN);
	d->st.coalesce_waits++;
}

static void continue_due(struct loop_task *t)
{
	coalesce_continue(t->ctx);
}

int coalesce_init(struct device *d, size_t cap)
{
	d->coal = calloc(DEVICE_COAL_SLOTS, sizeof *d->coal);
	if (!d->coal)
		return -1;
	for (unsigned k = 0; k < DEVICE_COAL_SLOTS; k++)
		if (!(d->coal[k].frame = malloc(cap)))
			return -1;
	d->coal_task = (struct loop_task){ .fn = continue_due, .ctx = d,
					   .phase = LOOP_PHASE_DISPATCH };
	return 0;
}

void coalesce_free(struct device *d)
{
	if (d->loop)
		loop_defer_cancel(d->loop, &d->coal_task);
	for (unsigned k = 0; d->coal && k < DEVICE_COAL_SLOTS; k++)
		free(d->coal[k].frame);
	free(d->coal);
	d->coal = NULL;
}

bool coalesce_busy(const struct device *d)
{
	return d->coal_waiting > 0;
}
