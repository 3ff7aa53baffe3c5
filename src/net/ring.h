/*
 * ring.h - PACKET_MMAP rings (TPACKET_V2) for one packet socket.
 *
 * The RX ring lets the loop drain every queued frame without a syscall; the
 * TX ring lets it write replies in place and hand them all to the kernel
 * with one send().  Old kernels (or qemu-user) refuse the socket options:
 * ring_setup() then fails and net.c falls back to recvmmsg/sendmmsg.
 */
#ifndef AOEX_RING_H
#define AOEX_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ring {
	uint8_t *base;		/* start of this ring inside the mapping */
	unsigned frame_size;
	unsigned frames_per_block;
	unsigned block_size;
	unsigned frame_nr;
	unsigned head;		/* next frame to look at */
};

struct ring_pair {
	uint8_t *map;
	size_t map_len;
	struct ring rx, tx;	/* frame_nr == 0: that ring is not in use */
};

/* Frame size for an MTU: room for the TPACKET_V2 header and the frame. */
unsigned ring_frame_size(unsigned mtu);

/* Set up the rings asked for (rx_frames/tx_frames may be 0) and map them.
 * Returns 0 or -errno with a message in err. */
int ring_setup(int fd, struct ring_pair *rp, unsigned mtu,
	       unsigned rx_frames, unsigned tx_frames, char *err, size_t errlen);
void ring_teardown(struct ring_pair *rp);

/* RX: the next frame the kernel filled, or NULL.  *pkttype is the sll
 * packet type (PACKET_HOST, PACKET_BROADCAST, PACKET_OTHERHOST...). */
const uint8_t *ring_rx_peek(struct ring *r, size_t *len, int *pkttype);
void ring_rx_release(struct ring *r);

/* TX: a free slot's data area (room for frame_size - 32 bytes), or NULL. */
uint8_t *ring_tx_slot(struct ring *r);
/* Mark the current slot ready with len bytes and move on. */
void ring_tx_commit(struct ring *r, size_t len);
/* Is any slot still waiting for the kernel to take it (the socket buffer
 * was full)?  Frames it took and is sending do not count. */
bool ring_tx_pending(const struct ring *r);

#endif
