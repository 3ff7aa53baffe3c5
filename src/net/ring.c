/* ring.c - TPACKET_V2 RX and TX rings. */
#include "config.h"
#include "net/ring.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define RING_BLOCK_MAX	(64u * 1024)	/* contiguous kernel allocation per block */

/* Offset of the frame data in a TX slot (no PACKET_TX_HAS_OFF). */
#define TX_DATA_OFF	(TPACKET2_HDRLEN - sizeof(struct sockaddr_ll))

unsigned ring_frame_size(unsigned mtu)
{
	/* header + sockaddr_ll, aligned, plus 16 bytes of mac slack, plus the
	 * Ethernet frame (and a VLAN tag's worth to be safe) */
	unsigned need = TPACKET_ALIGN(TPACKET2_HDRLEN + 16) + mtu + 14 + 4;
	return TPACKET_ALIGN(need);
}

static void ring_geometry(struct ring *r, struct tpacket_req *req,
			  unsigned frame_size, unsigned frames)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned block = RING_BLOCK_MAX;

	if (page <= 0)
		page = 4096;
	while (block < frame_size)
		block *= 2;
	/* round the block to whole pages */
	block = (unsigned)(((block + page - 1) / page) * page);
	r->frame_size = frame_size;
	r->block_size = block;
	r->frames_per_block = block / frame_size;
	unsigned blocks = (frames + r->frames_per_block - 1) / r->frames_per_block;
	r->frame_nr = blocks * r->frames_per_block;
	r->head = 0;
	req->tp_block_size = block;
	req->tp_block_nr = blocks;
	req->tp_frame_size = frame_size;
	req->tp_frame_nr = r->frame_nr;
}

static inline void *ring_frame(const struct ring *r, unsigned i)
{
	unsigned b = i / r->frames_per_block, f = i % r->frames_per_block;
	return r->base + (size_t)b * r->block_size + (size_t)f * r->frame_size;
}

int ring_setup(int fd, struct ring_pair *rp, unsigned mtu,
	       unsigned rx_frames, unsigned tx_frames, char *err, size_t errlen)
{
	int ver = TPACKET_V2;
	struct tpacket_req rxq = {0}, txq = {0};
	unsigned fs = ring_frame_size(mtu);
	size_t rx_len = 0, tx_len = 0;

	memset(rp, 0, sizeof *rp);
	if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0) {
		snprintf(err, errlen, "PACKET_VERSION TPACKET_V2: %s", strerror(errno));
		return -errno;
	}
	if (rx_frames) {
		ring_geometry(&rp->rx, &rxq, fs, rx_frames);
		if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &rxq, sizeof rxq) < 0) {
			snprintf(err, errlen, "PACKET_RX_RING: %s", strerror(errno));
			return -errno;
		}
		rx_len = (size_t)rxq.tp_block_size * rxq.tp_block_nr;
	}
	if (tx_frames) {
		ring_geometry(&rp->tx, &txq, fs, tx_frames);
		if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &txq, sizeof txq) < 0) {
			snprintf(err, errlen, "PACKET_TX_RING: %s", strerror(errno));
			return -errno;
		}
		tx_len = (size_t)txq.tp_block_size * txq.tp_block_nr;
	}
	if (rx_len + tx_len == 0)
		return 0;
	/* the kernel maps the RX ring first, then the TX ring, in one mapping */
	rp->map = mmap(NULL, rx_len + tx_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (rp->map == MAP_FAILED) {
		rp->map = NULL;
		snprintf(err, errlen, "mmap of packet rings (%zu bytes): %s", rx_len + tx_len, strerror(errno));
		return -errno;
	}
	rp->map_len = rx_len + tx_len;
	rp->rx.base = rp->map;
	rp->tx.base = rp->map + rx_len;
	if (!rx_frames)
		rp->rx.frame_nr = 0;
	if (!tx_frames)
		rp->tx.frame_nr = 0;
	return 0;
}

void ring_teardown(struct ring_pair *rp)
{
	if (rp->map)
		munmap(rp->map, rp->map_len);
	memset(rp, 0, sizeof *rp);
}

const uint8_t *ring_rx_peek(struct ring *r, size_t *len, int *pkttype)
{
	struct tpacket2_hdr *h = ring_frame(r, r->head);

	if (!(__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) & TP_STATUS_USER))
		return NULL;
	const struct sockaddr_ll *sll = (const void *)((uint8_t *)h + TPACKET_ALIGN(sizeof *h));
	*pkttype = sll->sll_pkttype;
	*len = h->tp_snaplen;
	return (const uint8_t *)h + h->tp_mac;
}

void ring_rx_release(struct ring *r)
{
	struct tpacket2_hdr *h = ring_frame(r, r->head);

	__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL, __ATOMIC_RELEASE);
	r->head = (r->head + 1) % r->frame_nr;
}

uint8_t *ring_tx_slot(struct ring *r)
{
	struct tpacket2_hdr *h = ring_frame(r, r->head);
	unsigned st = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

	if (st == TP_STATUS_WRONG_FORMAT)	/* the kernel refused it: reuse */
		st = TP_STATUS_AVAILABLE;
	if (st != TP_STATUS_AVAILABLE)
		return NULL;
	return (uint8_t *)h + TX_DATA_OFF;
}

void ring_tx_commit(struct ring *r, size_t len)
{
	struct tpacket2_hdr *h = ring_frame(r, r->head);

	h->tp_len = (uint32_t)len;
	__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST, __ATOMIC_RELEASE);
	r->head = (r->head + 1) % r->frame_nr;
}

bool ring_tx_pending(const struct ring *r)
{
	/* the slot before head is the newest; the kernel takes them in order,
	 * so if it took that one, it took everything before it.  A frame it
	 * took (SENDING: the driver still holds its skb, as virtio-net does
	 * until its TX interrupt) is the kernel's business now: waiting for
	 * it would cost a poll per wakeup for nothing */
	unsigned last = (r->head + r->frame_nr - 1) % r->frame_nr;
	const struct tpacket2_hdr *h = ring_frame(r, last);

	return __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) == TP_STATUS_SEND_REQUEST;
}
