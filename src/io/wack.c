/* wack.c - coalesced write acknowledgements of a device (see wack.h). */
#include "config.h"
#include "io/wack.h"
#include "io/request.h"
#include "proto/aoe.h"
#include "proto/wack.h"

#include <stdlib.h>
#include <string.h>

struct wack {
	struct iface *ifc;	/* NULL: not open */
	unsigned n, max;	/* acks in the frame, at most */
	bool crc;
	uint8_t *frame;
};

static void send_frame(struct device *d, struct wack *w)
{
	size_t len = wack_finish(w->frame, w->crc);

	if (w->n > 1) {
		d->st.wack_frames++;
		d->st.wack_acks += w->n;
	}
	req_send(w->ifc, d, w->frame, len);
	w->ifc = NULL;
	w->n = 0;
}

static struct wack *open_frame(struct device *d, struct iface *ifc, const uint8_t *rep,
			       bool crc)
{
	struct wack *w = NULL;

	for (unsigned i = 0; i < WACK_OPEN; i++) {
		struct wack *c = &d->wack[i];

		if (c->ifc == ifc && c->crc == crc && memcmp(c->frame, rep, 6) == 0)
			return c;
		if (!w && !c->ifc)
			w = c;
	}
	if (!w) {		/* more initiators than frames: make room */
		w = &d->wack[d->wack_next++ % WACK_OPEN];
		send_frame(d, w);
	}
	w->ifc = ifc;
	w->crc = crc;
	w->max = wack_max(device_mtu(d, ifc), crc);
	return w;
}

void wack_put(struct device *d, struct iface *ifc, const uint8_t *rep, bool crc)
{
	struct wack *w = open_frame(d, ifc, rep, crc);

	if (w->n++ == 0)
		wack_start(w->frame, rep);
	else
		wack_add(w->frame, rep);
	if (w->n == w->max)
		send_frame(d, w);
	else
		loop_defer(d->loop, &d->wack_task);
}

void wack_flush(struct device *d)
{
	for (unsigned i = 0; d->wack && i < WACK_OPEN; i++)
		if (d->wack[i].ifc)
			send_frame(d, &d->wack[i]);
}

static void flush_due(struct loop_task *t)
{
	wack_flush(t->ctx);
}

int wack_init(struct device *d, size_t cap)
{
	d->wack = calloc(WACK_OPEN, sizeof *d->wack);
	if (!d->wack)
		return -1;
	for (unsigned i = 0; i < WACK_OPEN; i++)
		if (!(d->wack[i].frame = malloc(cap)))
			return -1;
	d->wack_task = (struct loop_task){ .fn = flush_due, .ctx = d, .phase = LOOP_PHASE_REPLY };
	return 0;
}

void wack_free(struct device *d)
{
	if (d->loop)
		loop_defer_cancel(d->loop, &d->wack_task);
	for (unsigned i = 0; d->wack && i < WACK_OPEN; i++)
		free(d->wack[i].frame);
	free(d->wack);
	d->wack = NULL;
}
