/* rawsock.c - AF_PACKET socket bound to the AoE EtherType. */
#include "config.h"
#include "common/rawsock.h"
#include "proto/aoe.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

int iface_info(const char *ifname, int *ifindex, uint8_t mac[6], unsigned *mtu)
{
	struct ifreq ifr;
	int fd, rc = 0;

	if (strlen(ifname) >= IFNAMSIZ)
		return -ENAMETOOLONG;
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		fd = socket(AF_PACKET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof ifr);
	strncpy(ifr.ifr_name, ifname, IFNAMSIZ - 1);
	if (ioctl(fd, SIOCGIFINDEX, &ifr) < 0) {
		rc = -errno;
		goto out;
	}
	if (ifindex)
		*ifindex = ifr.ifr_ifindex;
	if (mac) {
		if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
			rc = -errno;
			goto out;
		}
		memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	}
	if (mtu) {
		if (ioctl(fd, SIOCGIFMTU, &ifr) < 0) {
			rc = -errno;
			goto out;
		}
		*mtu = (unsigned)ifr.ifr_mtu;
	}
out:
	close(fd);
	return rc;
}

void rawsock_set_buffers(int fd, int sndbuf, int rcvbuf)
{
	if (sndbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &sndbuf, sizeof sndbuf) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof sndbuf);
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &rcvbuf, sizeof rcvbuf) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
}

int rawsock_open(struct rawsock *rs, const char *ifname, char *err, size_t errlen)
{
	struct sockaddr_ll sll;
	int rc;

	memset(rs, 0, sizeof *rs);
	rs->fd = -1;
	rc = iface_info(ifname, &rs->ifindex, rs->mac, &rs->mtu);
	if (rc < 0) {
		snprintf(err, errlen, "interface %s: %s", ifname,
			 rc == -ENODEV ? "no such interface" : strerror(-rc));
		return rc;
	}
	snprintf(rs->ifname, sizeof rs->ifname, "%s", ifname);
	/* protocol 0: the socket hears nothing until bind() names the
	 * EtherType and the interface.  Opened with the EtherType, it would
	 * be hooked on every interface first, and bind() would have to unhook
	 * it with synchronize_net(), an RCU grace period: 10-15 ms of start-up
	 * on a busy 2-core box, for aoexd (twice) and every aoex run. */
	rs->fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (rs->fd < 0) {
		rc = -errno;
		snprintf(err, errlen, "packet socket: %s%s", strerror(errno),
			 errno == EPERM ? " (needs root or CAP_NET_RAW)" : "");
		return rc;
	}
	memset(&sll, 0, sizeof sll);
	sll.sll_family = AF_PACKET;
	sll.sll_protocol = htons(AOE_ETHERTYPE);
	sll.sll_ifindex = rs->ifindex;
	if (bind(rs->fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		rc = -errno;
		snprintf(err, errlen, "bind to %s: %s", ifname, strerror(errno));
		close(rs->fd);
		rs->fd = -1;
		return rc;
	}
	return 0;
}

void rawsock_close(struct rawsock *rs)
{
	if (rs->fd >= 0)
		close(rs->fd);
	rs->fd = -1;
}

ssize_t rawsock_send(struct rawsock *rs, const void *frame, size_t len)
{
	for (;;) {
		ssize_t n = send(rs->fd, frame, len, 0);
		if (n >= 0)
			return n;
		if (errno == EINTR)
			continue;
		if (errno == EAGAIN || errno == ENOBUFS) {
			struct pollfd pfd = { .fd = rs->fd, .events = POLLOUT };
			poll(&pfd, 1, 10);
			continue;
		}
		return -errno;
	}
}

ssize_t rawsock_recv(struct rawsock *rs, void *buf, size_t len, int timeout_ms)
{
	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof from;
		ssize_t n = recvfrom(rs->fd, buf, len, MSG_TRUNC, (struct sockaddr *)&from, &fl);
		if (n >= 0) {
			if (from.sll_pkttype == PACKET_OUTGOING)
				continue;
			return n > (ssize_t)len ? (ssize_t)len : n;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN)
			return -errno;
		struct pollfd pfd = { .fd = rs->fd, .events = POLLIN };
		int r = poll(&pfd, 1, timeout_ms);
		if (r == 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}
