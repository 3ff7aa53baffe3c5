/*
 * ifaces.c - attach and detach the interfaces the configuration wants (see
 * ifaces.h); the rtnetlink side is hotplug.c.
 */
#include "config.h"
#include "ifaces/ifaces_int.h"
#include "common/log.h"
#include "common/rawsock.h"
#include "common/util.h"
#include "proto/target.h"

#include <errno.h>
#include <fnmatch.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

void ifaces_init(struct ifaces *s, struct loop *l, const struct ifaces_ops *ops, void *ctx)
{
	memset(s, 0, sizeof *s);
	s->loop = l;
	s->ops = *ops;
	s->ctx = ctx;
	s->nl_watch.fd = -1;
	for (unsigned i = 0; i < IFACES_MAX; i++)
		s->ifc[i].fd = -1;
}

int ifaces_find(const struct ifaces *s, const char *name)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->ifc[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* ------------------------------------------------------------- wanted */

static bool is_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

/* Configured for name: named exactly, or matched by a pattern or the empty
 * list when it is an Ethernet interface other than loopback. */
static bool named(const struct aoexd_conf *c, const char *name)
{
	for (unsigned k = 0; k < c->n_interfaces; k++)
		if (!is_glob(c->interfaces[k]) && strcmp(c->interfaces[k], name) == 0)
			return true;
	return false;
}

bool ifaces_wanted_link(const struct ifaces *s, const char *name, unsigned type, unsigned flags)
{
	const struct aoexd_conf *c = s->conf;

	if (!c)
		return false;
	if (named(c, name))
		return true;
	return (flags & IFF_UP) && conf_iface_served(c, name) && type == ARPHRD_ETHER &&
	       !(flags & IFF_LOOPBACK);
}

/* /sys/class/net/NAME/FILE as a number (type is decimal, flags hex) */
static long sysfs_net_long(const char *name, const char *file)
{
	char path[96], buf[32];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/sys/class/net/%s/%s", name, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof buf, f))
		v = strtol(buf, NULL, 0);
	fclose(f);
	return v;
}

bool ifaces_wanted(const struct ifaces *s, const char *name)
{
	long type = sysfs_net_long(name, "type"), flags = sysfs_net_long(name, "flags");

	if (flags < 0)
		flags = 0;	/* gone from sysfs: only a name given exactly counts */
	return ifaces_wanted_link(s, name, type < 0 ? 0xffff : (unsigned)type, (unsigned)flags);
}

int ifaces_pick(const struct ifaces *s, const char *file, char names[][IFACES_NAME_LEN],
		char *err, size_t errlen)
{
	const struct aoexd_conf *c = s->conf;
	struct if_nameindex *all = if_nameindex(), *p;
	int n = 0;

	if (!all) {
		snprintf(err, errlen, "cannot list the network interfaces: %s", strerror(errno));
		return -1;
	}
	for (unsigned k = 0; k < c->n_interfaces; k++) {
		const char *pat = c->interfaces[k];
		bool found = false;
		for (p = all; p->if_name && !found; p++)
			found = is_glob(pat) ? fnmatch(pat, p->if_name, 0) == 0
					     : strcmp(pat, p->if_name) == 0;
		if (found)
			continue;
		if (is_glob(pat)) {
			log_warn("%s: no interface matches \"%s\" (in interfaces)", file, pat);
		} else {
			if (file)
				snprintf(err, errlen, "%s: interface %s (in interfaces) does not exist",
					 file, pat);
			else
				snprintf(err, errlen, "interface %s: no such interface", pat);
			if_freenameindex(all);
			return -1;
		}
	}
	for (p = all; p->if_name; p++) {
		if (!ifaces_wanted(s, p->if_name))
			continue;
		if (n == IFACES_MAX) {
			snprintf(err, errlen, "more than %d interfaces to serve: list them in "
				 "interfaces", IFACES_MAX);
			if_freenameindex(all);
			return -1;
		}
		snprintf(names[n++], IFACES_NAME_LEN, "%s", p->if_name);
	}
	if_freenameindex(all);
	return n;
}

/* ------------------------------------------------------ attach, detach */

static void readable(struct loop_watch *w, uint32_t events)
{
	struct ifaces *s = w->ctx;
	unsigned i = (unsigned)(w - s->watch);
	struct iface *ifc = &s->ifc[i];
	unsigned n = 0;
	const uint8_t *f;
	size_t len;

	if (ifc->fd < 0)
		return;		/* detached earlier in this wakeup */
	if (events & (EPOLLERR | EPOLLHUP)) {
		int e = 0;
		socklen_t l = sizeof e;
		getsockopt(ifc->fd, SOL_SOCKET, SO_ERROR, &e, &l);
		/* the interface went away before its netlink message came */
		if (if_nametoindex(ifc->name) != (unsigned)ifc->ifindex) {
			ifaces_detach(s, i, e ? strerror(e) : "gone");
			return;
		}
	}
	while (n++ < IFACES_RX_BUDGET && (f = iface_rx_next(ifc, &len)) && ifc->fd >= 0)
		s->ops.frame(s->ctx, i, ifc, f, len);
	iface_rx_done(ifc);
}

static void opts_for(const struct ifaces *s, const char *name, struct net_opts *no)
{
	struct conf_iface ci;

	conf_iface_get(s->conf, name, &ci);
	memset(no, 0, sizeof *no);
	no->no_rx_ring = s->no_rx_ring;
	no->no_tx_ring = s->no_tx_ring;
	no->no_mmsg = s->no_mmsg;
	no->mtu_max = ci.set.mtu;
	no->rx_frames = ci.set.rx_ring_frames;
	no->tx_frames = ci.set.tx_ring_frames;
}

/* The slot for name: its old one, a new one, or a detached one of another
 * name when all are used; -1 when every slot is attached. */
static int pick_slot(const struct ifaces *s, const char *name)
{
	int i = ifaces_find(s, name);

	if (i >= 0)
		return i;
	if (s->n < IFACES_MAX)
		return (int)s->n;
	for (unsigned k = 0; k < s->n; k++)
		if (!ifaces_attached(s, k))
			return (int)k;
	return -1;
}

int ifaces_attach(struct ifaces *s, const char *name, bool announce, char *err, size_t errlen)
{
	int slot = pick_slot(s, name);
	struct iface_stats keep = {0};
	struct net_opts no;
	struct iface *ifc;
	char macs[MAC_STRLEN];
	bool same;
	unsigned i;

	if (slot < 0) {
		snprintf(err, errlen, "%s: more than %d interfaces attached", name, IFACES_MAX);
		return -1;
	}
	i = (unsigned)slot;
	ifc = &s->ifc[i];
	same = i < s->n && strcmp(ifc->name, name) == 0;
	if (same && ifc->fd >= 0)
		return slot;
	if (same)
		keep = ifc->st;		/* shown again where it left off */
	opts_for(s, name, &no);
	if (iface_open(ifc, s->loop, name, &no, err, errlen) < 0) {
		snprintf(ifc->name, sizeof ifc->name, "%s", name);
		if (i == s->n)
			s->n++;		/* named and counted, not attached */
		return -1;
	}
	ifc->st = keep;
	if (aoe_max_sectors(ifc->mtu) < 1) {
		snprintf(err, errlen, "%s: MTU %u is too small for AoE (at least 548)", name, ifc->mtu);
		iface_close(ifc);
		return -1;
	}
	s->kmtu[i] = ifc->mtu;
	iface_info(name, NULL, NULL, &s->kmtu[i]);
	s->watch[i] = (struct loop_watch){ .fd = ifc->fd, .fn = readable, .ctx = s };
	if (loop_add(s->loop, &s->watch[i], EPOLLIN) < 0) {
		snprintf(err, errlen, "%s: epoll: %s", name, strerror(errno));
		iface_close(ifc);
		return -1;
	}
	if (i == s->n)
		s->n++;
	log_info("%s: mac %s, mtu %u, %u sectors per frame, %s", ifc->name,
		 format_mac(ifc->mac, macs), ifc->mtu, aoe_max_sectors(ifc->mtu),
		 iface_path_name(ifc));
	s->ops.attached(s->ctx, i, announce);
	return slot;
}

void ifaces_detach(struct ifaces *s, unsigned i, const char *why)
{
	struct iface *ifc = &s->ifc[i];

	if (!ifaces_attached(s, i))
		return;
	s->ops.detached(s->ctx, i);
	iface_tx_flush(ifc);	/* what its devices answered so far */
	loop_del(s->loop, &s->watch[i]);
	iface_close(ifc);
	log_notice("%s: detached (%s); its counters are kept", ifc->name, why);
}

void ifaces_attach_now(struct ifaces *s, const char *name)
{
	char err[320];

	if (ifaces_attach(s, name, true, err, sizeof err) < 0)
		log_err("%s", err);
	else
		log_notice("%s: attached", name);
}

/* Attached interfaces whose settings (mtu, ring sizes) change: reopened. */
static void reopen_changed(struct ifaces *s, const struct aoexd_conf *old)
{
	for (unsigned i = 0; i < s->n; i++) {
		struct conf_iface a, b;
		char name[IFACES_NAME_LEN];
		if (!ifaces_attached(s, i))
			continue;
		conf_iface_get(old, s->ifc[i].name, &a);
		conf_iface_get(s->conf, s->ifc[i].name, &b);
		if (tunables_iface_equal(&a.set, &b.set))
			continue;
		snprintf(name, sizeof name, "%s", s->ifc[i].name);
		ifaces_detach(s, i, "settings changed: reopening");
		ifaces_attach_now(s, name);
	}
}

void ifaces_configure(struct ifaces *s, const struct aoexd_conf *old)
{
	struct if_nameindex *all, *p;

	if (old)
		reopen_changed(s, old);
	for (unsigned i = 0; i < s->n; i++) {
		struct iface *ifc = &s->ifc[i];
		if (!ifaces_attached(s, i))
			continue;
		if (if_nametoindex(ifc->name) != (unsigned)ifc->ifindex)
			ifaces_detach(s, i, "gone");
		else if (!ifaces_wanted(s, ifc->name))
			ifaces_detach(s, i, "no longer configured");
	}
	all = if_nameindex();
	if (!all) {
		log_err("cannot list the network interfaces: %s", strerror(errno));
		return;
	}
	for (p = all; p->if_name; p++) {
		int i = ifaces_find(s, p->if_name);
		if ((i < 0 || !ifaces_attached(s, (unsigned)i)) && ifaces_wanted(s, p->if_name))
			ifaces_attach_now(s, p->if_name);
	}
	if_freenameindex(all);
}

void ifaces_poll_drops(struct ifaces *s)
{
	for (unsigned i = 0; i < s->n; i++)
		iface_poll_drops(&s->ifc[i]);
}

void ifaces_close(struct ifaces *s)
{
	if (s->nl_watch.fd >= 0) {
		loop_del(s->loop, &s->nl_watch);
		close(s->nl_watch.fd);
		s->nl_watch.fd = -1;
	}
	for (unsigned i = 0; i < s->n; i++)
		if (ifaces_attached(s, i)) {
			loop_del(s->loop, &s->watch[i]);
			iface_close(&s->ifc[i]);
		}
}
