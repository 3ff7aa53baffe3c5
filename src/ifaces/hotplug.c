/*
 * hotplug.c - interfaces that come and go while the daemon runs, from
 * rtnetlink link events in the loop: one that appears or comes up and is
 * wanted is attached and advertised on; one that vanishes, goes down or is
 * renamed is detached; an MTU change reopens it (the sector count it
 * advertises changes).  Lost events (ENOBUFS) lead to a full rescan.
 */
#include "config.h"
#include "ifaces/ifaces_int.h"
#include "common/log.h"
#include "net/netlink.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

static int find_attached(const struct ifaces *s, int ifindex)
{
	for (unsigned i = 0; i < s->n; i++)
		if (ifaces_attached(s, i) && s->ifc[i].ifindex == ifindex)
			return (int)i;
	return -1;
}

static void on_link(void *ctx, const struct nl_link *l)
{
	struct ifaces *s = ctx;
	int i = find_attached(s, l->ifindex);

	if (l->removed || !(l->flags & IFF_UP)) {
		if (i >= 0)
			ifaces_detach(s, (unsigned)i, l->removed ? "removed" : "down");
		return;
	}
	if (i >= 0) {
		if (strcmp(s->ifc[i].name, l->name) != 0 && l->name[0]) {
			ifaces_detach(s, (unsigned)i, "renamed");
		} else if (l->mtu && l->mtu != s->kmtu[i]) {
			log_notice("%s: mtu %u -> %u: reopening it", s->ifc[i].name, s->kmtu[i], l->mtu);
			ifaces_detach(s, (unsigned)i, "mtu change");
			ifaces_attach_now(s, l->name);
			return;
		} else {
			return;
		}
	}
	if (l->name[0] && ifaces_wanted_link(s, l->name, l->type, l->flags))
		ifaces_attach_now(s, l->name);
}

static void netlink_readable(struct loop_watch *w, uint32_t events)
{
	struct ifaces *s = w->ctx;
	int rc;

	(void)events;
	rc = nl_read(w->fd, on_link, s);
	if (rc == -ENOBUFS) {
		log_warn("rtnetlink: events lost (socket buffer full): rescanning the interfaces");
		ifaces_configure(s, NULL);
	} else if (rc < 0) {
		log_err("rtnetlink: %s", strerror(-rc));
	}
}

int ifaces_hotplug_start(struct ifaces *s)
{
	int fd = nl_open();

	s->nl_watch.fd = -1;
	if (fd < 0)
		return fd;
	s->nl_watch = (struct loop_watch){ .fd = fd, .fn = netlink_readable, .ctx = s };
	if (loop_add(s->loop, &s->nl_watch, EPOLLIN) < 0) {
		int e = errno;
		close(fd);
		s->nl_watch.fd = -1;
		return -e;
	}
	return 0;
}
