/*
 * ifaces.c - the daemon's interfaces over time: attach (open the packet
 * socket, take the address locks, watch it), detach (counters kept), the
 * rtnetlink hotplug watch, and a rescan for reload and lost events.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "common/log.h"
#include "net/netlink.h"
#include "common/rawsock.h"
#include "common/util.h"

/* Another aoexd on this host with the same address on the same interface
 * cannot be seen on the wire (its replies leave through our own port), so
 * each daemon holds a lock file per interface and address. */
int dm_lock_address(unsigned shelf, unsigned slot, const char *ifname, char *err, size_t errlen)
{
	const char *dirs[] = { "/run/aoexd", "/tmp" };
	char path[160], pidbuf[32] = "";
	struct stat ns;
	int fd = -1;

	/* interface names repeat across network namespaces: key on both; an
	 * interface that does not exist gets no lock */
	if (iface_info(ifname, NULL, NULL, NULL) < 0)
		return -1;
	if (stat("/proc/self/ns/net", &ns) < 0)
		ns.st_ino = 0;
	for (size_t i = 0; i < 2 && fd < 0; i++) {
		mkdir(dirs[i], 0755);
		snprintf(path, sizeof path, "%s/%s-e%u.%u-ns%llu.lock", dirs[i], ifname,
			 shelf, slot, (unsigned long long)ns.st_ino);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return -1;	/* no writable lock directory: the wire probe remains */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, pidbuf, sizeof pidbuf - 1, 0);
		pidbuf[n > 0 ? n : 0] = 0;
		pidbuf[strcspn(pidbuf, "\n")] = 0;
		snprintf(err, errlen, "e%u.%u is already served on %s by aoexd pid %s (%s)",
			 shelf, slot, ifname, pidbuf[0] ? pidbuf : "?", path);
		close(fd);
		return -2;
	}
	if (ftruncate(fd, 0) == 0) {
		int n = snprintf(pidbuf, sizeof pidbuf, "%ld\n", (long)getpid());
		if (pwrite(fd, pidbuf, (size_t)n, 0) < 0)
			log_debug("%s: %s", path, strerror(errno));
	}
	return fd;	/* open (and locked) until the device or interface goes */
}

static void iface_readable(struct loop_watch *w, uint32_t events)
{
	struct daemon *dm = w->ctx;
	unsigned i = (unsigned)(w - dm->if_watch);
	struct iface *ifc = &dm->ifaces[i];

	if (!dm_iface_attached(ifc))
		return;		/* detached earlier in this batch */
	if (events & (EPOLLERR | EPOLLHUP)) {
		int e = 0;
		socklen_t l = sizeof e;
		getsockopt(ifc->fd, SOL_SOCKET, SO_ERROR, &e, &l);
		/* the interface went away before its netlink message came */
		if (if_nametoindex(ifc->name) != (unsigned)ifc->ifindex) {
			dm_iface_detach(dm, i, e ? strerror(e) : "gone");
			return;
		}
	}
	iface_rx(ifc, dm_on_frame, dm, RX_BUDGET);
}

static void iface_opts(const struct daemon *dm, const char *name, struct net_opts *no)
{
	*no = dm->net;
	if (dm->conf) {
		struct conf_iface ci;
		conf_iface_get(dm->conf, name, &ci);
		no->mtu_max = ci.mtu;
		no->rx_frames = ci.rx_ring_frames;
		no->tx_frames = ci.tx_ring_frames;
	}
}

/* The slot for name: its old one, a new one, or a detached one of another
 * name when all are used; -1 when every slot is attached. */
static int pick_slot(const struct daemon *dm, const char *name)
{
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		if (strcmp(dm->ifaces[i].name, name) == 0)
			return (int)i;
	if (dm->n_ifaces < DM_MAX_IFACES)
		return (int)dm->n_ifaces;
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		if (!dm_iface_attached(&dm->ifaces[i]))
			return (int)i;
	return -1;
}

int dm_iface_attach(struct daemon *dm, const char *name, char *err, size_t errlen)
{
	int slot = pick_slot(dm, name);
	struct iface *ifc;
	struct iface_stats keep = {0};
	struct net_opts no;
	char macs[MAC_STRLEN];
	bool same;
	unsigned i;

	if (slot < 0) {
		snprintf(err, errlen, "%s: more than %d interfaces attached", name, DM_MAX_IFACES);
		return -1;
	}
	i = (unsigned)slot;
	ifc = &dm->ifaces[i];
	same = i < dm->n_ifaces && strcmp(ifc->name, name) == 0;
	if (same && dm_iface_attached(ifc))
		return slot;
	if (same)
		keep = ifc->st;		/* shown again where it left off */
	iface_opts(dm, name, &no);
	if (iface_open(ifc, name, &no, err, errlen) < 0) {
		ifc->fd = -1;
		snprintf(ifc->name, sizeof ifc->name, "%s", name);
		goto fail;
	}
	ifc->st = keep;
	if (aoe_max_sectors(ifc->mtu) < 1) {
		snprintf(err, errlen, "%s: MTU %u is too small for AoE (at least 548)", name, ifc->mtu);
		iface_close(ifc);
		goto fail;
	}
	dm->if_kmtu[i] = ifc->mtu;
	iface_info(name, NULL, NULL, &dm->if_kmtu[i]);
	dm->if_watch[i].fd = ifc->fd;
	dm->if_watch[i].fn = iface_readable;
	dm->if_watch[i].ctx = dm;
	if (loop_add(&dm->loop, &dm->if_watch[i], EPOLLIN) < 0) {
		snprintf(err, errlen, "%s: epoll: %s", name, strerror(errno));
		iface_close(ifc);
		goto fail;
	}
	if (i == dm->n_ifaces)
		dm->n_ifaces++;
	log_info("%s: mac %s, mtu %u, %u sectors per frame, %s", ifc->name,
		 format_mac(ifc->mac, macs), ifc->mtu, aoe_max_sectors(ifc->mtu),
		 iface_path_name(ifc));
	/* which devices listen here, and their address locks */
	for (unsigned k = 0; k < dm->n_devs; k++) {
		struct served *s = &dm->devs[k];
		char lerr[320];
		if (s->retired)
			continue;
		s->iface_mask &= ~(1u << i);
		if (served_wants(dm, s, name) && served_bind_ifaces(dm, s, lerr, sizeof lerr) < 0)
			log_err("%s; not serving it on %s", lerr, name);
	}
	return slot;
fail:
	if (i < dm->n_ifaces && !same)
		for (unsigned k = 0; k < dm->n_devs; k++)
			dm->devs[k].iface_mask &= ~(1u << i);
	return -1;
}

void dm_iface_detach(struct daemon *dm, unsigned i, const char *why)
{
	struct iface *ifc = &dm->ifaces[i];

	if (!dm_iface_attached(ifc))
		return;
	loop_del(&dm->loop, &dm->if_watch[i]);
	iface_close(ifc);
	for (unsigned k = 0; k < dm->n_devs; k++)
		served_unlock(&dm->devs[k], i);
	log_notice("%s: detached (%s); its counters are kept", ifc->name, why);
}

void dm_iface_advertise(struct daemon *dm, unsigned i)
{
	for (unsigned k = 0; k < dm->n_devs; k++) {
		struct served *s = &dm->devs[k];
		if (!s->retired && (s->iface_mask & (1u << i)))
			served_advertise(dm, s, &dm->ifaces[i]);
	}
}

/* Configured for name: named exactly (-c's interfaces, or the command
 * line), or matched by a pattern or the empty list when it is an Ethernet
 * interface other than loopback. */
static bool wanted(const struct daemon *dm, const char *name, unsigned type, unsigned flags)
{
	const struct aoexd_conf *c = dm->conf;

	if (!c) {
		for (unsigned k = 0; k < dm->n_cli_ifnames; k++)
			if (strcmp(dm->cli_ifnames[k], name) == 0)
				return true;
		return false;
	}
	for (unsigned k = 0; k < c->n_interfaces; k++)
		if (!dm_is_glob(c->interfaces[k]) && strcmp(c->interfaces[k], name) == 0)
			return true;
	return conf_iface_served(c, name) && type == ARPHRD_ETHER && !(flags & IFF_LOOPBACK);
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

bool dm_iface_wanted(const struct daemon *dm, const char *name)
{
	long type = sysfs_net_long(name, "type"), flags = sysfs_net_long(name, "flags");

	if (flags < 0 || !(flags & IFF_UP))
		return wanted(dm, name, 0xffff, 0) && dm->conf;	/* named: as at start */
	return wanted(dm, name, (unsigned)type, (unsigned)flags);
}

static void attach_and_advertise(struct daemon *dm, const char *name)
{
	char err[320];
	int i = dm_iface_attach(dm, name, err, sizeof err);

	if (i < 0) {
		log_err("%s", err);
		return;
	}
	log_notice("%s: attached", name);
	dm_iface_advertise(dm, (unsigned)i);
}

void dm_ifaces_resync(struct daemon *dm)
{
	struct if_nameindex *all, *p;

	for (unsigned i = 0; i < dm->n_ifaces; i++) {
		struct iface *ifc = &dm->ifaces[i];
		if (!dm_iface_attached(ifc))
			continue;
		if (if_nametoindex(ifc->name) != (unsigned)ifc->ifindex)
			dm_iface_detach(dm, i, "gone");
		else if (!dm_iface_wanted(dm, ifc->name))
			dm_iface_detach(dm, i, "no longer configured");
	}
	all = if_nameindex();
	if (!all) {
		log_err("cannot list the network interfaces: %s", strerror(errno));
		return;
	}
	for (p = all; p->if_name; p++) {
		int slot = pick_slot(dm, p->if_name);
		if (slot >= 0 && (unsigned)slot < dm->n_ifaces &&
		    dm_iface_attached(&dm->ifaces[slot]) &&
		    strcmp(dm->ifaces[slot].name, p->if_name) == 0)
			continue;
		if (dm_iface_wanted(dm, p->if_name))
			attach_and_advertise(dm, p->if_name);
	}
	if_freenameindex(all);
}

static int find_attached(const struct daemon *dm, const struct nl_link *l)
{
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		if (dm_iface_attached(&dm->ifaces[i]) && dm->ifaces[i].ifindex == l->ifindex)
			return (int)i;
	return -1;
}

static void on_link(void *ctx, const struct nl_link *l)
{
	struct daemon *dm = ctx;
	int i = find_attached(dm, l);

	if (l->removed || !(l->flags & IFF_UP)) {
		if (i >= 0)
			dm_iface_detach(dm, (unsigned)i, l->removed ? "removed" : "down");
		return;
	}
	if (i >= 0) {
		if (strcmp(dm->ifaces[i].name, l->name) != 0 && l->name[0]) {
			dm_iface_detach(dm, (unsigned)i, "renamed");
		} else if (l->mtu && l->mtu != dm->if_kmtu[i]) {
			log_notice("%s: mtu %u -> %u: reopening it", dm->ifaces[i].name,
				   dm->if_kmtu[i], l->mtu);
			dm_iface_detach(dm, (unsigned)i, "mtu change");
			attach_and_advertise(dm, l->name);
			return;
		} else {
			return;
		}
	}
	if (l->name[0] && wanted(dm, l->name, l->type, l->flags))
		attach_and_advertise(dm, l->name);
}

static void netlink_readable(struct loop_watch *w, uint32_t events)
{
	struct daemon *dm = w->ctx;
	int rc;

	(void)events;
	rc = nl_read(w->fd, on_link, dm);
	if (rc == -ENOBUFS) {
		log_warn("rtnetlink: events lost (socket buffer full): rescanning the interfaces");
		dm_ifaces_resync(dm);
	} else if (rc < 0) {
		log_err("rtnetlink: %s", strerror(-rc));
	}
}

int dm_hotplug_start(struct daemon *dm)
{
	int fd = nl_open();

	dm->nl_watch.fd = -1;
	if (fd < 0)
		return fd;
	dm->nl_watch.fd = fd;
	dm->nl_watch.fn = netlink_readable;
	dm->nl_watch.ctx = dm;
	if (loop_add(&dm->loop, &dm->nl_watch, EPOLLIN) < 0) {
		int e = errno;
		close(fd);
		dm->nl_watch.fd = -1;
		return -e;
	}
	return 0;
}
