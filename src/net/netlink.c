/* netlink.c - RTM_NEWLINK/RTM_DELLINK from an rtnetlink socket. */
#include "config.h"
#include "net/netlink.h"

#include <errno.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int nl_open(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK, .nl_groups = RTMGRP_LINK };
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_ROUTE);

	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		int e = errno;
		close(fd);
		return -e;
	}
	return fd;
}

static void parse_link(const struct nlmsghdr *nh, nl_link_fn fn, void *ctx)
{
	const struct ifinfomsg *ifi = NLMSG_DATA(nh);
	int alen = (int)nh->nlmsg_len - (int)NLMSG_LENGTH(sizeof *ifi);
	struct nl_link l;

	if (alen < 0)
		return;
	memset(&l, 0, sizeof l);
	l.ifindex = ifi->ifi_index;
	l.flags = ifi->ifi_flags;
	l.type = ifi->ifi_type;
	l.removed = nh->nlmsg_type == RTM_DELLINK;
	for (const struct rtattr *a = IFLA_RTA(ifi); RTA_OK(a, alen); a = RTA_NEXT(a, alen)) {
		size_t n = RTA_PAYLOAD(a);
		if (a->rta_type == IFLA_IFNAME && n > 0) {
			if (n > sizeof l.name)
				n = sizeof l.name;
			memcpy(l.name, RTA_DATA(a), n);
			l.name[sizeof l.name - 1] = 0;
		} else if (a->rta_type == IFLA_MTU && n >= sizeof(unsigned)) {
			memcpy(&l.mtu, RTA_DATA(a), sizeof l.mtu);
		}
	}
	fn(ctx, &l);
}

unsigned nl_parse(const void *buf, size_t len, nl_link_fn fn, void *ctx)
{
	const unsigned char *p = buf;
	unsigned count = 0;

	/* NLMSG_OK/NLMSG_NEXT by hand: the macros mix signed and unsigned */
	while (len >= sizeof(struct nlmsghdr)) {
		const struct nlmsghdr *nh = (const void *)p;
		size_t step = NLMSG_ALIGN(nh->nlmsg_len);
		if (nh->nlmsg_len < sizeof *nh || nh->nlmsg_len > len)
			break;
		if (nh->nlmsg_type == NLMSG_DONE || nh->nlmsg_type == NLMSG_ERROR)
			break;
		if (nh->nlmsg_type == RTM_NEWLINK || nh->nlmsg_type == RTM_DELLINK) {
			parse_link(nh, fn, ctx);
			count++;
		}
		if (step >= len)
			break;
		p += step;
		len -= step;
	}
	return count;
}

int nl_read(int fd, nl_link_fn fn, void *ctx)
{
	/* aligned for struct nlmsghdr; 32 KiB holds a burst of link messages */
	static unsigned long buf[32768 / sizeof(unsigned long)];

	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return 0;
			return -errno;
		}
		if (n == 0)
			return 0;
		nl_parse(buf, (size_t)n, fn, ctx);
	}
}
