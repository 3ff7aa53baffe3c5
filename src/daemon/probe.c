/*
 * probe.c - is another target already answering as one of our shelf.slot
 * addresses on an interface?  Ask each with a Query Config read and listen
 * briefly (once for all of them) for a reply from another MAC.
 *
 * In two halves, so that the 50 ms of listening overlap the set-up of
 * rings, engine and devices (and the windows of several interfaces overlap
 * each other): probe_send() asks, probe_finish() listens out the rest of
 * the window and reads what is queued.  The probe goes out before our own
 * sockets exist, so they never see (and answer) it.
 */
#include "config.h"
#include "daemon/daemon.h"
#include "common/rawsock.h"
#include "common/util.h"
#include "proto/aoe.h"
#include "proto/frame.h"
#include "proto/request.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PROBE_WINDOW_NS (50 * 1000000ULL)

struct probe_iface {
	struct rawsock rs;
	unsigned first, n;	/* its addresses in probe.addr[] */
};

struct probe {
	unsigned n_ifaces;
	uint64_t deadline;
	uint32_t *addr;		/* shelf << 8 | slot */
	struct probe_iface ifc[IFACES_MAX];
};

static void send_one(struct probe_iface *pi, uint32_t addr)
{
	struct aoe_req_addr a = { .shelf = (uint16_t)(addr >> 8), .slot = (uint8_t)addr,
				  .tag_order = AOE_TAG_BE };
	uint8_t req[AOE_MIN_FRAME];
	size_t len;

	memset(a.dst, 0xff, 6);
	memcpy(a.src, pi->rs.mac, 6);
	len = req_qc(req, sizeof req, &a, 0x70726f62 /* "prob" */, QC_READ, NULL, 0);
	if (rawsock_send(&pi->rs, req, len) < 0)
		daemon_die("%s: cannot send: %s", pi->rs.ifname, strerror(errno));
}

struct probe *probe_send(const struct aoexd_conf *c, char names[][IFACES_NAME_LEN], unsigned n)
{
	struct probe *p = calloc(1, sizeof *p);
	unsigned used = 0;
	char err[200];

	if (!p || !(p->addr = calloc((size_t)c->n_devices * n + 1, sizeof *p->addr)))
		daemon_die("out of memory");
	for (unsigned i = 0; i < n; i++) {
		struct probe_iface *pi = &p->ifc[p->n_ifaces];
		pi->first = used;
		for (unsigned k = 0; k < c->n_devices; k++)
			if (conf_device_on_iface(&c->devices[k], names[i]))
				p->addr[used++] = (uint32_t)c->devices[k].shelf << 8 | c->devices[k].slot;
		pi->n = used - pi->first;
		if (!pi->n)
			continue;
		if (rawsock_open(&pi->rs, names[i], err, sizeof err) < 0)
			daemon_die("%s", err);
		for (unsigned k = 0; k < pi->n; k++)
			send_one(pi, p->addr[pi->first + k]);
		p->n_ifaces++;
	}
	p->deadline = now_ns() + PROBE_WINDOW_NS;
	return p;
}

/* The rest of the window on one interface, then what is queued. */
static void finish_one(struct probe *p, struct probe_iface *pi)
{
	uint8_t buf[9216];
	char macs[MAC_STRLEN];

	for (;;) {
		uint64_t now = now_ns();
		int wait = now < p->deadline ? (int)((p->deadline - now) / 1000000) + 1 : 0;
		ssize_t r = rawsock_recv(&pi->rs, buf, sizeof buf, wait);
		struct aoe_hdr h;
		if (r <= 0 && !wait)
			break;		/* window over, queue empty */
		if (r <= 0 || !aoe_hdr_parse(buf, (size_t)r, &h))
			continue;
		if (!(h.flags & AOE_FLAG_R) || memcmp(buf + AOE_OFF_SRC, pi->rs.mac, 6) == 0)
			continue;
		for (unsigned k = 0; k < pi->n; k++)
			if (((uint32_t)h.shelf << 8 | h.slot) == p->addr[pi->first + k])
				daemon_die("e%u.%u is already served on %s by %s; pick another shelf/slot",
					   h.shelf, h.slot, pi->rs.ifname,
					   format_mac(buf + AOE_OFF_SRC, macs));
	}
	rawsock_close(&pi->rs);
}

void probe_finish(struct probe *p)
{
	if (!p)
		return;
	for (unsigned i = 0; i < p->n_ifaces; i++)
		finish_one(p, &p->ifc[i]);
	free(p->addr);
	free(p);
}
