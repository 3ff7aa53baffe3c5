/*
 * net.h - one served network interface: its packet socket, how frames come
 * in (RX ring or recvmmsg) and go out (TX ring or sendmmsg), batched so a
 * loop wakeup costs one receive pass and one send.
 */
#ifndef AOEX_NET_H
#define AOEX_NET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "event/loop.h"
#include "net/ring.h"

struct net_opts {
	bool no_rx_ring;	/* force the recvmmsg path */
	bool no_tx_ring;	/* force the sendmmsg path */
	bool no_mmsg;		/* force recvfrom/sendto, a frame per call (what
				 * kernels before 2.6.33 / 3.0 get anyway) */
	unsigned rx_frames;	/* RX ring size in frames */
	unsigned tx_frames;	/* TX ring size in frames */
	unsigned mtu_max;	/* 0 or a lower MTU to use */
};

struct iface_stats {
	uint64_t rx_frames, rx_bytes;
	uint64_t tx_frames, tx_bytes;
	uint64_t wakeups;		/* receive passes that found frames */
	uint64_t ignored;		/* not for our MAC, or runts */
	uint64_t broadcasts;		/* requests to the broadcast MAC */
	uint64_t tx_dropped;		/* replies we could not send */
	uint64_t ring_drops;		/* the kernel's drops (PACKET_STATISTICS) */
	/* counted by the frame dispatch (registry.c), once per frame */
	uint64_t runts;			/* shorter than an AoE header */
	uint64_t responses;		/* R flag set: another target's reply */
	uint64_t not_addressed;		/* requests for no device served here */
};

#define NET_BATCH 32	/* recvmmsg/sendmmsg batch in the fallback paths */

struct iface {
	char name[16];
	int ifindex;
	uint8_t mac[6];
	unsigned mtu;
	int fd;
	struct ring_pair rings;
	bool rx_ring, tx_ring;		/* which paths are in use */
	bool rx_plain, tx_plain;	/* no ring and no recvmmsg/sendmmsg either */
	/* fallback buffers: NET_BATCH frames each way */
	unsigned frame_cap;
	uint8_t *rx_buf, *tx_buf;
	struct mmsghdr rx_msg[NET_BATCH], tx_msg[NET_BATCH];
	struct iovec rx_iov[NET_BATCH], tx_iov[NET_BATCH];
	unsigned char rx_addr[NET_BATCH][32];	/* struct sockaddr_ll */
	unsigned tx_count;
	unsigned rx_i, rx_n;		/* the recvmmsg batch: next, how many */
	bool rx_held;			/* a ring slot is lent to the caller */
	unsigned rx_pass;		/* frames seen in this receive pass */
	struct loop *loop;
	struct loop_task flush_task;	/* sends the wakeup's replies at its end */
	struct iface_stats st;
};

/* Open ifc on interface name; its replies are sent once per wakeup of
 * loop l. */
int iface_open(struct iface *ifc, struct loop *l, const char *name, const struct net_opts *o,
	       char *err, size_t errlen);
/* The same with a descriptor already open (a packet socket handed over by
 * a privileged process, or a test's socket pair) and the interface's
 * facts; ifc owns fd from now on. */
int iface_open_fd(struct iface *ifc, struct loop *l, int fd, const char *name, int ifindex,
		  const uint8_t mac[6], unsigned mtu, const struct net_opts *o, char *err, size_t errlen);
/* Closed (fd -1): receiving finds nothing, iface_tx_get() gives NULL, the
 * name and counters stay, so a detached interface can be opened again. */
void iface_close(struct iface *ifc);
const char *iface_path_name(const struct iface *ifc);	/* "rx-ring/tx-ring" ... */

/* The next frame addressed to us (or broadcast), or NULL when none is
 * queued.  It stays valid until the next call: a ring slot goes back to
 * the kernel then.  After the last call of a receive pass, iface_rx_done()
 * gives back what is still lent.  Counts rx_frames, ignored, broadcasts. */
const uint8_t *iface_rx_next(struct iface *ifc, size_t *len);
void iface_rx_done(struct iface *ifc);

/* A buffer to build one outgoing frame in (at least frame_cap bytes), or
 * NULL when nothing is free even after a flush.  Not committing it leaves
 * it free for the next caller. */
uint8_t *iface_tx_get(struct iface *ifc);
/* Commit the frame of len bytes; it is sent at the end of the wakeup. */
void iface_tx_put(struct iface *ifc, size_t len);
/* Hand every committed frame to the kernel now. */
void iface_tx_flush(struct iface *ifc);

/* Add the frames the kernel dropped since the last call (its counters
 * reset when read) to st.ring_drops: when stats are asked for, at exit. */
void iface_poll_drops(struct iface *ifc);

#endif
