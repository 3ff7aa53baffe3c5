/*
 * rawsock.h - an AF_PACKET socket for AoE frames on one interface.
 *
 * Shared by the daemon (which adds rings on top, see ring.h) and by the
 * bundled initiator aoex.  Errors are returned as -errno with a message in
 * the caller-supplied buffer, so each program reports them its own way.
 */
#ifndef AOEX_RAWSOCK_H
#define AOEX_RAWSOCK_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct rawsock {
	int fd;
	int ifindex;
	unsigned mtu;
	uint8_t mac[6];
	char ifname[16];
};

/* Interface facts without opening a packet socket. -errno on failure. */
int iface_info(const char *ifname, int *ifindex, uint8_t mac[6], unsigned *mtu);

/* Open a non-blocking SOCK_RAW socket bound to ETH_P_AOE on ifname. */
int rawsock_open(struct rawsock *rs, const char *ifname, char *err, size_t errlen);
void rawsock_close(struct rawsock *rs);

/* Send one complete Ethernet frame.  Returns bytes sent or -errno. */
ssize_t rawsock_send(struct rawsock *rs, const void *frame, size_t len);

/* Wait up to timeout_ms (-1: forever) for one frame.  Returns its length,
 * 0 on timeout, or -errno.  Frames the kernel marks as our own outgoing
 * ones are skipped. */
ssize_t rawsock_recv(struct rawsock *rs, void *buf, size_t len, int timeout_ms);

/* Socket buffer sizes (SO_SNDBUFFORCE/SO_RCVBUFFORCE when root). */
void rawsock_set_buffers(int fd, int sndbuf, int rcvbuf);

#endif
