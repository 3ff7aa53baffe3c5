/* net.c - packet socket per interface: rings or recvmmsg/sendmmsg. */
#include "config.h"
#include "net/iface.h"
#include "common/log.h"
#include "common/rawsock.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TX_RETRY_MS	20	/* wait for socket buffer room this long */
#define TX_RETRIES	50	/* ... this often before dropping replies */

static int alloc_fallback(struct iface *ifc, bool rx, bool tx)
{
	size_t sz = (size_t)ifc->frame_cap * NET_BATCH;

	if (rx) {
		ifc->rx_buf = aligned_alloc(64, sz);
		if (!ifc->rx_buf)
			return -ENOMEM;
		for (unsigned i = 0; i < NET_BATCH; i++) {
			ifc->rx_iov[i].iov_base = ifc->rx_buf + (size_t)i * ifc->frame_cap;
			ifc->rx_iov[i].iov_len = ifc->frame_cap;
		}
	}
	if (tx) {
		ifc->tx_buf = aligned_alloc(64, sz);
		if (!ifc->tx_buf)
			return -ENOMEM;
		for (unsigned i = 0; i < NET_BATCH; i++)
			ifc->tx_iov[i].iov_base = ifc->tx_buf + (size_t)i * ifc->frame_cap;
	}
	return 0;
}

static void flush_due(struct loop_task *t)
{
	iface_tx_flush(t->ctx);
}

/* Rings (where asked for and the kernel has them), the fallback buffers,
 * the socket buffer sizes, for ifc->fd.  reopen: the interface to open a
 * fresh socket on when a ring fails (a failed setsockopt can leave state);
 * NULL for a descriptor we were given, which then just goes without. */
static int setup(struct iface *ifc, const struct net_opts *o, const char *reopen,
		 char *err, size_t errlen)
{
	struct rawsock rs;
	char rerr[160];
	int rc;

	if (o->mtu_max && o->mtu_max < ifc->mtu)
		ifc->mtu = o->mtu_max;
	ifc->frame_cap = (ifc->mtu + 14 + 63) & ~63u;
	if (ifc->frame_cap < 2048)
		ifc->frame_cap = 2048;	/* room for any reply, see ring_mtu */

	/* slots big enough for any reply, e.g. a 1024-byte config string */
	unsigned ring_mtu = ifc->mtu < 1500 ? 1500 : ifc->mtu;
	unsigned rxn = o->no_rx_ring ? 0 : o->rx_frames;
	unsigned txn = o->no_tx_ring ? 0 : o->tx_frames;
	if (rxn || txn) {
		rc = ring_setup(ifc->fd, &ifc->rings, ring_mtu, rxn, txn, rerr, sizeof rerr);
		if (rc < 0 && rxn && txn) {
			/* an old kernel may have RX rings but no TX ring (< 2.6.31) */
			log_info("%s: %s; trying the RX ring alone", ifc->name, rerr);
			if (reopen) {
				close(ifc->fd);
				if (rawsock_open(&rs, reopen, err, errlen) < 0)
					return -EIO;
				ifc->fd = rs.fd;
			}
			txn = 0;
			rc = ring_setup(ifc->fd, &ifc->rings, ring_mtu, rxn, 0, rerr, sizeof rerr);
		}
		if (rc < 0) {
			log_info("%s: %s; using recvmmsg/sendmmsg", ifc->name, rerr);
			if (reopen) {
				close(ifc->fd);
				if (rawsock_open(&rs, reopen, err, errlen) < 0)
					return -EIO;
				ifc->fd = rs.fd;
			}
			rxn = txn = 0;
		}
	}
	ifc->rx_ring = rxn > 0;
	ifc->tx_ring = txn > 0;
	ifc->rx_plain = !ifc->rx_ring && o->no_mmsg;
	ifc->tx_plain = !ifc->tx_ring && o->no_mmsg;
	if (alloc_fallback(ifc, !ifc->rx_ring, !ifc->tx_ring) < 0) {
		snprintf(err, errlen, "%s: out of memory for packet buffers", ifc->name);
		iface_close(ifc);
		return -ENOMEM;
	}
	/* Room for every TX ring frame in flight, and for a full window of
	 * jumbo frames in the receive queue when there is no RX ring. */
	unsigned fs = ring_frame_size(ifc->mtu);
	rawsock_set_buffers(ifc->fd, (int)(fs * (txn ? txn : 256)), (int)(fs * 256));
	return 0;
}

static void init(struct iface *ifc, struct loop *l, const char *name)
{
	memset(ifc, 0, sizeof *ifc);
	ifc->fd = -1;
	ifc->loop = l;
	ifc->flush_task = (struct loop_task){ .fn = flush_due, .ctx = ifc, .phase = LOOP_PHASE_SEND };
	snprintf(ifc->name, sizeof ifc->name, "%s", name);
}

int iface_open(struct iface *ifc, struct loop *l, const char *name, const struct net_opts *o,
	       char *err, size_t errlen)
{
	struct rawsock rs;
	int rc;

	init(ifc, l, name);
	rc = rawsock_open(&rs, name, err, errlen);
	if (rc < 0)
		return rc;
	ifc->fd = rs.fd;
	ifc->ifindex = rs.ifindex;
	memcpy(ifc->mac, rs.mac, 6);
	ifc->mtu = rs.mtu;
	return setup(ifc, o, name, err, errlen);
}

int iface_open_fd(struct iface *ifc, struct loop *l, int fd, const char *name, int ifindex,
		  const uint8_t mac[6], unsigned mtu, const struct net_opts *o, char *err, size_t errlen)
{
	init(ifc, l, name);
	ifc->fd = fd;
	ifc->ifindex = ifindex;
	memcpy(ifc->mac, mac, 6);
	ifc->mtu = mtu;
	return setup(ifc, o, NULL, err, errlen);
}

void iface_close(struct iface *ifc)
{
	if (ifc->loop)
		loop_defer_cancel(ifc->loop, &ifc->flush_task);
	ring_teardown(&ifc->rings);
	if (ifc->fd >= 0)
		close(ifc->fd);
	ifc->fd = -1;
	ifc->rx_ring = ifc->tx_ring = false;
	ifc->tx_count = 0;
	free(ifc->rx_buf);
	free(ifc->tx_buf);
	ifc->rx_buf = ifc->tx_buf = NULL;
}

void iface_poll_drops(struct iface *ifc)
{
	struct tpacket_stats st;	/* TPACKET_V2 rings and plain sockets alike */
	socklen_t len = sizeof st;

	if (ifc->fd < 0)
		return;
	if (getsockopt(ifc->fd, SOL_PACKET, PACKET_STATISTICS, &st, &len) < 0) {
		log_debug("%s: PACKET_STATISTICS: %s", ifc->name, strerror(errno));
		return;
	}
	ifc->st.ring_drops += st.tp_drops;
}

const char *iface_path_name(const struct iface *ifc)
{
	static const char *const names[3][3] = {	/* [rx][tx]: mmsg, ring, plain */
		{ "recvmmsg/sendmmsg", "recvmmsg/tx-ring(v2)", "recvmmsg/sendto" },
		{ "rx-ring(v2)/sendmmsg", "rx-ring(v2)/tx-ring(v2)", "rx-ring(v2)/sendto" },
		{ "recvfrom/sendmmsg", "recvfrom/tx-ring(v2)", "recvfrom/sendto" },
	};
	int rx = ifc->rx_ring ? 1 : ifc->rx_plain ? 2 : 0;
	int tx = ifc->tx_ring ? 1 : ifc->tx_plain ? 2 : 0;

	return names[rx][tx];
}

/* recvmmsg, or one recvfrom per frame where the kernel has none (before
 * 2.6.33) or --no-mmsg asks for it.  Same result either way. */
static int recv_batch(struct iface *ifc, unsigned n)
{
	unsigned got = 0;

	if (!ifc->rx_plain) {
		int r = recvmmsg(ifc->fd, ifc->rx_msg, n, MSG_DONTWAIT, NULL);
		if (r >= 0 || errno != ENOSYS)
			return r;
		log_warn("%s: no recvmmsg in this kernel: one recvfrom per frame", ifc->name);
		ifc->rx_plain = true;
	}
	for (; got < n; got++) {
		struct msghdr *m = &ifc->rx_msg[got].msg_hdr;
		ssize_t r = recvfrom(ifc->fd, m->msg_iov->iov_base, m->msg_iov->iov_len,
				     MSG_DONTWAIT, m->msg_name, &m->msg_namelen);
		if (r < 0)
			return got ? (int)got : -1;
		ifc->rx_msg[got].msg_len = (unsigned)r;
	}
	return (int)got;
}

/* sendmmsg, or one sendto per frame (kernels before 3.0, --no-mmsg). */
static int send_batch(struct iface *ifc, struct mmsghdr *msg, unsigned n)
{
	unsigned sent = 0;

	if (!ifc->tx_plain) {
		int r = sendmmsg(ifc->fd, msg, n, MSG_DONTWAIT);
		if (r >= 0 || errno != ENOSYS)
			return r;
		log_warn("%s: no sendmmsg in this kernel: one sendto per frame", ifc->name);
		ifc->tx_plain = true;
	}
	for (; sent < n; sent++) {
		const struct iovec *v = msg[sent].msg_hdr.msg_iov;
		if (send(ifc->fd, v->iov_base, v->iov_len, MSG_DONTWAIT) < 0)
			return sent ? (int)sent : -1;
	}
	return (int)sent;
}

static void flush_ring(struct iface *ifc);
static bool wait_writable(struct iface *ifc);

static bool wanted(struct iface *ifc, int pkttype, size_t len)
{
	/* a promiscuous interface also shows frames for other hosts */
	if (pkttype == PACKET_OTHERHOST || pkttype == PACKET_OUTGOING || len < 14) {
		ifc->st.ignored++;
		return false;
	}
	if (pkttype == PACKET_BROADCAST || pkttype == PACKET_MULTICAST)
		ifc->st.broadcasts++;
	ifc->st.rx_frames++;
	ifc->st.rx_bytes += len;
	return true;
}

/* Refill the batch of the recvmmsg/recvfrom path; false when nothing came. */
static bool rx_refill(struct iface *ifc)
{
	int got;

	for (unsigned i = 0; i < NET_BATCH; i++) {
		memset(&ifc->rx_msg[i].msg_hdr, 0, sizeof ifc->rx_msg[i].msg_hdr);
		ifc->rx_msg[i].msg_hdr.msg_iov = &ifc->rx_iov[i];
		ifc->rx_msg[i].msg_hdr.msg_iovlen = 1;
		ifc->rx_msg[i].msg_hdr.msg_name = ifc->rx_addr[i];
		ifc->rx_msg[i].msg_hdr.msg_namelen = sizeof ifc->rx_addr[i];
	}
	ifc->rx_i = ifc->rx_n = 0;
	got = recv_batch(ifc, NET_BATCH);
	if (got <= 0) {
		if (got < 0 && errno != EAGAIN && errno != EINTR)
			log_warn("%s: %s: %s", ifc->name,
				 ifc->rx_plain ? "recvfrom" : "recvmmsg", strerror(errno));
		return false;
	}
	ifc->rx_n = (unsigned)got;
	return true;
}

const uint8_t *iface_rx_next(struct iface *ifc, size_t *len)
{
	const uint8_t *f;
	int pkttype;

	if (ifc->fd < 0)
		return NULL;	/* detached (hotplug): an event of the same wakeup */
	for (;;) {
		if (ifc->rx_ring) {
			if (ifc->rx_held)
				ring_rx_release(&ifc->rings.rx);	/* the frame before */
			ifc->rx_held = false;
			if (!(f = ring_rx_peek(&ifc->rings.rx, len, &pkttype)))
				return NULL;
			ifc->rx_held = true;
		} else {
			/* a short batch means the queue was empty: do not ask again */
			if (ifc->rx_i == ifc->rx_n &&
			    ((ifc->rx_n && ifc->rx_n < NET_BATCH) || !rx_refill(ifc)))
				return NULL;
			const struct sockaddr_ll *sll = (const void *)ifc->rx_addr[ifc->rx_i];
			f = ifc->rx_iov[ifc->rx_i].iov_base;
			*len = ifc->rx_msg[ifc->rx_i].msg_len;
			pkttype = sll->sll_pkttype;
			ifc->rx_i++;
		}
		ifc->rx_pass++;
		if (wanted(ifc, pkttype, *len))
			return f;
	}
}

void iface_rx_done(struct iface *ifc)
{
	if (ifc->rx_held)
		ring_rx_release(&ifc->rings.rx);
	ifc->rx_held = false;
	ifc->rx_i = ifc->rx_n = 0;
	if (ifc->rx_pass)
		ifc->st.wakeups++;
	ifc->rx_pass = 0;
}

uint8_t *iface_tx_get(struct iface *ifc)
{
	if (ifc->fd < 0)
		return NULL;	/* detached: replies of requests still in flight */
	if (ifc->tx_ring) {
		uint8_t *p = ring_tx_slot(&ifc->rings.tx);
		/* ring full: push it out, then wait for the kernel to give the
		 * oldest slot back (it is still sending it) */
		for (int tries = 0; !p && tries < TX_RETRIES; tries++) {
			flush_ring(ifc);
			ifc->tx_count = 0;
			if (!(p = ring_tx_slot(&ifc->rings.tx)))
				wait_writable(ifc);
		}
		return p;
	}
	if (ifc->tx_count == NET_BATCH)
		iface_tx_flush(ifc);
	return ifc->tx_iov[ifc->tx_count].iov_base;
}

void iface_tx_put(struct iface *ifc, size_t len)
{
	ifc->st.tx_frames++;
	ifc->st.tx_bytes += len;
	if (ifc->tx_ring)
		ring_tx_commit(&ifc->rings.tx, len);
	else
		ifc->tx_iov[ifc->tx_count].iov_len = len;
	ifc->tx_count++;
	loop_defer(ifc->loop, &ifc->flush_task);
}

static bool wait_writable(struct iface *ifc)
{
	struct pollfd pfd = { .fd = ifc->fd, .events = POLLOUT };
	return poll(&pfd, 1, TX_RETRY_MS) >= 0;
}

static void flush_ring(struct iface *ifc)
{
	for (int tries = 0; tries < TX_RETRIES; tries++) {
		if (send(ifc->fd, NULL, 0, MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN && errno != ENOBUFS && errno != EINTR) {
			log_warn("%s: send (tx ring): %s", ifc->name, strerror(errno));
			return;
		}
		/* frames the socket buffer had no room for are still marked:
		 * send again, or they would wait for the next request */
		if (!ring_tx_pending(&ifc->rings.tx))
			return;
		wait_writable(ifc);
	}
	log_warn("%s: tx ring still not drained after %d ms", ifc->name, TX_RETRIES * TX_RETRY_MS);
}

static void flush_mmsg(struct iface *ifc)
{
	unsigned done = 0;
	int tries = 0;

	for (unsigned i = 0; i < ifc->tx_count; i++) {
		memset(&ifc->tx_msg[i].msg_hdr, 0, sizeof ifc->tx_msg[i].msg_hdr);
		ifc->tx_msg[i].msg_hdr.msg_iov = &ifc->tx_iov[i];
		ifc->tx_msg[i].msg_hdr.msg_iovlen = 1;
	}
	while (done < ifc->tx_count) {
		int n = send_batch(ifc, ifc->tx_msg + done, ifc->tx_count - done);
		if (n > 0) {
			done += (unsigned)n;
			continue;
		}
		if (n < 0 && (errno == EAGAIN || errno == ENOBUFS || errno == EINTR) && tries++ < TX_RETRIES) {
			wait_writable(ifc);
			continue;
		}
		log_warn("%s: %s: %s; %u replies dropped", ifc->name,
			 ifc->tx_plain ? "sendto" : "sendmmsg",
			 n < 0 ? strerror(errno) : "sent nothing", ifc->tx_count - done);
		ifc->st.tx_dropped += ifc->tx_count - done;
		break;
	}
	ifc->tx_count = 0;
}

void iface_tx_flush(struct iface *ifc)
{
	if (!ifc->tx_count || ifc->fd < 0)
		return;		/* nothing committed since the last flush */
	if (ifc->tx_ring) {
		flush_ring(ifc);
		ifc->tx_count = 0;
	} else {
		flush_mmsg(ifc);
	}
}
