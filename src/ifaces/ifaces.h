/*
 * ifaces.h - the interfaces the daemon serves on, over time: which ones the
 * configuration wants, attaching them (packet socket, rings, a watch in the
 * loop), detaching them (counters kept), following rtnetlink hotplug
 * events, and a rescan after a reload or lost events.
 *
 * Knows nothing of devices: it tells its owner through callbacks when a
 * frame arrives and when an interface comes or goes.  Slots stay once
 * used: a detached interface keeps its name and counters with fd -1 and
 * gets the same slot back when it returns; whoever keeps per-interface
 * state (the registry's bindings) indexes it by slot.
 */
#ifndef AOEX_IFACES_H
#define AOEX_IFACES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config/conf.h"
#include "event/loop.h"
#include "net/iface.h"

#define IFACES_MAX 32	/* = the bits of a device's interface mask */
#define IFACES_RX_BUDGET 256	/* frames per interface per wakeup, for fairness */
#define IFACES_NAME_LEN 16	/* IF_NAMESIZE */

struct ifaces_ops {
	/* A frame arrived on slot i. */
	void (*frame)(void *ctx, unsigned i, struct iface *ifc, const uint8_t *f, size_t len);
	/* Slot i was attached; announce: advertise the devices on it now
	 * (false only while the daemon starts, which advertises at the end). */
	void (*attached)(void *ctx, unsigned i, bool announce);
	/* Slot i is being detached (its socket still open). */
	void (*detached)(void *ctx, unsigned i);
};

struct ifaces {
	struct loop *loop;
	struct iface ifc[IFACES_MAX];
	struct loop_watch watch[IFACES_MAX];
	unsigned kmtu[IFACES_MAX];	/* kernel MTU at attach: hotplug sees changes */
	unsigned n;			/* slots used */
	struct loop_watch nl_watch;	/* rtnetlink link events; fd -1 without */
	const struct aoexd_conf *conf;	/* which interfaces, their settings */
	bool no_rx_ring, no_tx_ring, no_mmsg;
	struct ifaces_ops ops;
	void *ctx;
};

void ifaces_init(struct ifaces *s, struct loop *l, const struct ifaces_ops *ops, void *ctx);

static inline bool ifaces_attached(const struct ifaces *s, unsigned i)
{
	return i < s->n && s->ifc[i].fd >= 0;
}

/* The slot of interface name (attached or not), or -1. */
int ifaces_find(const struct ifaces *s, const char *name);

/* Whether name is to be served now under s->conf: named exactly in its
 * interfaces list, or up, Ethernet, not loopback and matched by a pattern
 * or by the empty list.  Start-up and hotplug use this one rule. */
bool ifaces_wanted(const struct ifaces *s, const char *name);

/* The interfaces conf wants now, in if_nameindex() order, into names (at
 * most IFACES_MAX); -1 with err when a name the list gives exactly does
 * not exist (a start-up error; file names the configuration, or NULL). */
int ifaces_pick(const struct ifaces *s, const char *file, char names[][IFACES_NAME_LEN],
		char *err, size_t errlen);

/* Attach name (a slot: its old one, a new one, or a detached one); the
 * slot, or -1 with err. */
int ifaces_attach(struct ifaces *s, const char *name, bool announce, char *err, size_t errlen);
void ifaces_detach(struct ifaces *s, unsigned i, const char *why);

/* A new configuration (conf set already; old the previous one, or NULL):
 * reopen the attached interfaces whose settings changed, detach what
 * vanished or is no longer wanted, attach what is wanted and present. */
void ifaces_configure(struct ifaces *s, const struct aoexd_conf *old);

/* The rtnetlink watch; 0 or -errno (the daemon runs on without hotplug). */
int ifaces_hotplug_start(struct ifaces *s);

/* Add the kernel's ring drops to each interface's counters (aoexctl stats,
 * the stop log). */
void ifaces_poll_drops(struct ifaces *s);

void ifaces_close(struct ifaces *s);

#endif
