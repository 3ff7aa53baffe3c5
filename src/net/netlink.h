/*
 * netlink.h - interface events from the kernel: an rtnetlink socket
 * subscribed to RTMGRP_LINK, read from the epoll loop.  Knows nothing of
 * AoE: it turns RTM_NEWLINK/RTM_DELLINK messages into struct nl_link.
 */
#ifndef AOEX_NETLINK_H
#define AOEX_NETLINK_H

#include <stdbool.h>
#include <stddef.h>

struct nl_link {
	int ifindex;
	char name[16];		/* "" when the message carried none */
	unsigned flags;		/* IFF_* */
	unsigned mtu;		/* 0 when not carried */
	unsigned short type;	/* ARPHRD_* */
	bool removed;		/* RTM_DELLINK */
};

typedef void (*nl_link_fn)(void *ctx, const struct nl_link *l);

/* A non-blocking NETLINK_ROUTE socket bound to RTMGRP_LINK: fd or -errno. */
int nl_open(void);

/* Call fn for each link message in buf/len (one datagram); returns how
 * many.  Pure, for the unit test. */
unsigned nl_parse(const void *buf, size_t len, nl_link_fn fn, void *ctx);

/* Read and parse every datagram waiting on fd.  0, or -ENOBUFS when the
 * kernel dropped messages (the caller rescans the interfaces), or another
 * -errno. */
int nl_read(int fd, nl_link_fn fn, void *ctx);

#endif
