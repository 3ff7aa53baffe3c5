/* xfer.c - the windowed transfer engine of aoex (see xfer.h). */
#include "config.h"
#include "tools/aoex/xfer.h"
#include "tools/aoex/client.h"
#include "proto/coalesce.h"
#include "proto/crc8x4.h"
#include "proto/frame.h"
#include "proto/request.h"
#include "proto/wack.h"
#include "proto/wire.h"
#include "common/util.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

/* One I/O of a frame: the ATA read/write itself (subs[0]) or, in a
 * coalesced read, one of its descriptors. */
struct sub {
	struct aoex_io io;
	uint32_t tag;
	uint64_t lba_sent;	/* the LBA bits as sent: a crc8x4 reply echoes them */
	bool done;		/* its reply came (or failed) */
};

struct slot {
	uint8_t *frame;
	size_t len;
	struct sub *subs;	/* max_ios of them */
	unsigned nsub;		/* in this frame */
	unsigned pending;	/* without a reply yet */
	uint64_t deadline;
	unsigned sends;		/* transmissions so far */
	bool busy;
};

#define RX_BATCH 64

/* owner[] entries: slot index + 1 in the low 16 bits, sub index above */
#define OWNER(slot, sub)	((uint32_t)(sub) << 16 | ((slot) + 1))
#define OWNER_SLOT(o)		(((o) & 0xFFFF) - 1)
#define OWNER_SUB(o)		((o) >> 16)

struct aoex_xfer {
	struct aoex_client *c;
	unsigned window, max_sect, max_ios;
	size_t frame_cap;
	struct slot *slots;
	struct sub *subs;	/* window * max_ios */
	struct aoex_io *pending_ios;	/* max_ios: one frame being filled */
	struct cr_desc *descs;	/* max_ios - 1: its descriptors */
	uint8_t *frames;	/* window send frames + RX_BATCH receive buffers */
	/* Tags are a counter, so tag & mask indexes a direct-mapped table;
	 * a new tag whose entry is still held by a straggler is skipped. */
	uint32_t *owner;	/* OWNER(), 0 = free */
	uint32_t owner_mask;
	unsigned *free_slots;
	unsigned nfree;
	uint64_t next_check;	/* earliest deadline of a busy slot */
	struct mmsghdr tx[AOEX_MAX_WINDOW];
	struct iovec tx_iov[AOEX_MAX_WINDOW];
	struct mmsghdr rx[RX_BATCH];
	struct iovec rx_iov[RX_BATCH];
	struct sockaddr_ll rx_from[RX_BATCH];
};

struct aoex_xfer *aoex_xfer_new(struct aoex_client *c, unsigned window, unsigned max_sect)
{
	return aoex_xfer_new_coalesced(c, window, max_sect, 1);
}

struct aoex_xfer *aoex_xfer_new_coalesced(struct aoex_client *c, unsigned window,
					  unsigned max_sect, unsigned max_ios)
{
	struct aoex_xfer *x;
	uint32_t tsize = 64;

	if (window < 1 || window > AOEX_MAX_WINDOW || max_sect < 1 || max_sect > 255 ||
	    max_ios < 1 || max_ios > aoex_coalesce_max(c))
		return NULL;
	x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->c = c;
	x->window = window;
	x->max_sect = max_sect;
	x->max_ios = max_ios;
	x->frame_cap = aoex_frame_cap(c);
	if (x->frame_cap < ATA_HDR_LEN + (size_t)max_sect * ATA_SECTOR + CRC8X4_LEN)
		x->frame_cap = ATA_HDR_LEN + (size_t)max_sect * ATA_SECTOR + CRC8X4_LEN;
	while (tsize < 4 * window * max_ios)
		tsize <<= 1;
	x->owner_mask = tsize - 1;
	x->slots = calloc(window, sizeof *x->slots);
	x->subs = calloc((size_t)window * max_ios, sizeof *x->subs);
	x->pending_ios = calloc(max_ios, sizeof *x->pending_ios);
	x->descs = calloc(max_ios, sizeof *x->descs);
	x->free_slots = calloc(window, sizeof *x->free_slots);
	x->owner = calloc(tsize, sizeof *x->owner);
	x->frames = malloc((window + RX_BATCH) * x->frame_cap);
	if (!x->slots || !x->subs || !x->pending_ios || !x->descs || !x->free_slots ||
	    !x->owner || !x->frames) {
		aoex_xfer_free(x);
		return NULL;
	}
	/* Bench writes send the frame as it is: make it a non-zero pattern
	 * so no backend can shortcut zeroes. */
	memset(x->frames, 0xA5, window * x->frame_cap);
	for (unsigned i = 0; i < window; i++) {
		x->slots[i].frame = x->frames + i * x->frame_cap;
		x->slots[i].subs = x->subs + (size_t)i * max_ios;
		x->free_slots[i] = window - 1 - i;
	}
	x->nfree = window;
	for (unsigned i = 0; i < RX_BATCH; i++) {
		x->rx_iov[i].iov_base = x->frames + (window + i) * x->frame_cap;
		x->rx_iov[i].iov_len = x->frame_cap;
		x->rx[i].msg_hdr.msg_iov = &x->rx_iov[i];
		x->rx[i].msg_hdr.msg_iovlen = 1;
	}
	return x;
}

void aoex_xfer_free(struct aoex_xfer *x)
{
	if (!x)
		return;
	free(x->slots);
	free(x->subs);
	free(x->pending_ios);
	free(x->descs);
	free(x->free_slots);
	free(x->owner);
	free(x->frames);
	free(x);
}

static uint32_t claim_tag(struct aoex_xfer *x, unsigned slot, unsigned sub)
{
	uint32_t t;

	do
		t = aoex_new_tag(x->c);
	while (x->owner[t & x->owner_mask]);
	x->owner[t & x->owner_mask] = OWNER(slot, sub);
	return t;
}

/* The busy slot and pending I/O a reply tag belongs to, or NULL. */
static struct slot *slot_by_tag(struct aoex_xfer *x, uint32_t tag, unsigned *sub)
{
	uint32_t o = x->owner[tag & x->owner_mask];
	struct slot *s;

	if (!o)
		return NULL;
	s = &x->slots[OWNER_SLOT(o)];
	*sub = OWNER_SUB(o);
	if (!s->busy || *sub >= s->nsub || s->subs[*sub].tag != tag || s->subs[*sub].done)
		return NULL;
	return s;
}

static void release_slot(struct aoex_xfer *x, struct slot *s)
{
	for (unsigned k = 0; k < s->nsub; k++)
		x->owner[s->subs[k].tag & x->owner_mask] = 0;
	s->busy = false;
	x->free_slots[x->nfree++] = (unsigned)(s - x->slots);
}

/* Build the request for ios[0..n) in a free slot; returns the slot.  n > 1
 * only for reads: ios[1..n) become coalesced-read descriptors. */
static struct slot *start_frame(struct aoex_xfer *x, const struct aoex_job *job,
				const struct aoex_io *ios, unsigned n)
{
	unsigned i = x->free_slots[--x->nfree];
	struct slot *s = &x->slots[i];
	const struct aoex_io *io = &ios[0];
	const struct aoe_req_addr *to = &x->c->to;
	struct req_ata_regs q = { .aflags = job->lba48 ? ATA_AFLAG_E : 0, .count = (uint8_t)io->nsect,
				  .lba = io->lba, .lba48 = job->lba48 };
	size_t datalen = 0;

	for (unsigned k = 0; k < n; k++) {
		s->subs[k].io = ios[k];
		s->subs[k].tag = claim_tag(x, i, k);
		s->subs[k].done = false;
	}
	s->nsub = s->pending = n;
	if (job->write) {
		q.cmd = job->lba48 ? ATA_WRITE_EXT : ATA_WRITE;
		q.aflags |= ATA_AFLAG_W;
		datalen = (size_t)io->nsect * ATA_SECTOR;
	} else {
		q.cmd = job->lba48 ? ATA_READ_EXT : ATA_READ;
	}
	/* frame_cap holds the largest I/O, so neither builder can fail; a
	 * write without data sends what the frame holds (bench) */
	s->len = req_ata(s->frame, x->frame_cap, to, s->subs[0].tag, &q, io->data, datalen);
	s->subs[0].lba_sent = get_le48(s->frame + ATA_OFF_LBA);
	if (job->write && x->c->crc8x4)	/* the target verifies it */
		s->len = aoe_pad(s->frame, crc8x4_append(s->frame, ATA_HDR_LEN + datalen));
	if (n > 1) {
		/* the LBA goes out as given, also under a 0x20 primary, whose
		 * command (28-bit addressing) the target applies to all */
		for (unsigned k = 1; k < n; k++) {
			struct cr_desc *d = &x->descs[k - 1];

			req_tag_put(to, d->tag, s->subs[k].tag);
			d->lba = ios[k].lba;
			d->count = (uint8_t)ios[k].nsect;
			s->subs[k].lba_sent = ios[k].lba;
		}
		s->len = req_cr(s->frame, x->frame_cap, x->descs, n - 1);
	}
	s->sends = 0;
	s->busy = true;
	return s;
}

/* Send slots with sendmmsg; waits briefly when the queue is full. */
static int send_batch(struct aoex_xfer *x, struct slot **batch, unsigned n)
{
	unsigned done = 0;
	uint64_t deadline;

	for (unsigned i = 0; i < n; i++) {
		x->tx_iov[i].iov_base = batch[i]->frame;
		x->tx_iov[i].iov_len = batch[i]->len;
		memset(&x->tx[i].msg_hdr, 0, sizeof x->tx[i].msg_hdr);
		x->tx[i].msg_hdr.msg_iov = &x->tx_iov[i];
		x->tx[i].msg_hdr.msg_iovlen = 1;
		if (x->c->verbose)
			aoex_dump("send", batch[i]->frame, batch[i]->len);
	}
	while (done < n) {
		int r = sendmmsg(x->c->rs.fd, x->tx + done, n - done, 0);

		if (r > 0) {
			done += (unsigned)r;
			continue;
		}
		if (r < 0 && errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
			return -errno;
		struct pollfd pfd = { .fd = x->c->rs.fd, .events = POLLOUT };
		poll(&pfd, 1, 10);
	}
	/* the clock starts when the frame leaves */
	deadline = now_ns() + (uint64_t)x->c->timeout_ms * 1000000;
	for (unsigned i = 0; i < n; i++) {
		batch[i]->sends++;
		batch[i]->deadline = deadline;
	}
	if (n && deadline < x->next_check)
		x->next_check = deadline;
	return 0;
}

/* Top the window up from the generator, job->coalesce I/Os per read frame.
 * *more turns false once the generator is exhausted. */
static int fill_window(struct aoex_xfer *x, const struct aoex_job *job, bool *more,
		       struct aoex_result *res)
{
	struct slot *batch[AOEX_MAX_WINDOW];
	unsigned nb = 0, per = !job->write && job->coalesce > 1 ? job->coalesce : 1;

	while (*more && x->nfree) {
		unsigned n = 0;

		while (n < per) {
			struct aoex_io *io = &x->pending_ios[n];

			if (!job->next(job->ctx, io)) {
				*more = false;
				break;
			}
			if (io->nsect < 1 || io->nsect > x->max_sect)
				return -EINVAL;
			n++;
		}
		if (!n)
			break;
		batch[nb++] = start_frame(x, job, x->pending_ios, n);
		res->req_frames++;
	}
	return send_batch(x, batch, nb);
}

static void record_failure(struct aoex_result *res, const struct aoex_io *io,
			   const struct req_ata_reply *r, bool is_short)
{
	res->errors++;
	if (res->errors > 1)
		return;
	res->fail_lba = io->lba;
	res->fail_short = is_short;
	res->fail = *r;
}

/* The reply for I/O k of a busy slot.  Returns true on success. */
static bool complete_io(struct aoex_xfer *x, const struct aoex_job *job, struct slot *s,
			unsigned k, const uint8_t *f, size_t len, struct aoex_result *res)
{
	struct sub *u = &s->subs[k];
	struct req_ata_reply r;
	size_t bytes = (size_t)u->io.nsect * ATA_SECTOR;
	bool is_short, ok = true;

	req_parse_ata(f, len, &r);
	is_short = !job->write && len < ATA_HDR_LEN + bytes;
	u->done = true;
	s->pending--;
	res->replies++;
	if (req_ata_failed(&r) || is_short) {
		record_failure(res, &u->io, &r, is_short && !req_ata_failed(&r));
		ok = false;
	} else {
		if (!job->write && u->io.data)
			memcpy(u->io.data, f + ATA_OFF_DATA, bytes);
		res->frames++;
		res->bytes += bytes;
		if (job->on_ack)
			job->on_ack(job->ack_ctx, &u->io);
	}
	if (!s->pending)
		release_slot(x, s);
	return ok;
}

/* crc8x4: the read reply f for I/O k of s is what the target sent. */
static bool crc_ok(const struct slot *s, unsigned k, const uint8_t *f, size_t len)
{
	const struct sub *u = &s->subs[k];

	return req_ata_crc_ok(f, len, (size_t)u->io.nsect * ATA_SECTOR, u->lba_sent);
}

/* One reply (a frame, or an ack rebuilt from a coalesced one). */
static void take_reply(struct aoex_xfer *x, const struct aoex_job *job, const uint8_t *f,
		       size_t len, struct aoex_result *res, bool *failed)
{
	unsigned k;
	struct slot *s = slot_by_tag(x, req_tag_get(&x->c->to, f + AOE_OFF_TAG), &k);

	if (!s)
		return;
	if (!job->write && x->c->crc8x4 && !crc_ok(s, k, f, len)) {
		/* not taken: the whole frame goes again now */
		x->c->crc_bad++;
		s->deadline = x->next_check = 0;
		return;
	}
	if (!complete_io(x, job, s, k, f, len, res) && !job->keep_going)
		*failed = true;
}

/* Drain what the socket holds.  Returns frames taken (>= 0) or -errno;
 * *failed is set when a target error should stop the job. */
static int receive_batch(struct aoex_xfer *x, const struct aoex_job *job,
			 struct aoex_result *res, bool *failed)
{
	int n;

	for (unsigned i = 0; i < RX_BATCH; i++) {
		x->rx[i].msg_hdr.msg_name = &x->rx_from[i];
		x->rx[i].msg_hdr.msg_namelen = sizeof x->rx_from[i];
	}
	n = recvmmsg(x->c->rs.fd, x->rx, RX_BATCH, MSG_DONTWAIT, NULL);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		const uint8_t *f = x->rx_iov[i].iov_base;
		size_t len = x->rx[i].msg_len;
		uint8_t rep[ATA_HDR_LEN];
		unsigned acks;
		bool bad = false;

		if (x->rx_from[i].sll_pkttype == PACKET_OUTGOING)
			continue;
		if (x->c->verbose)
			aoex_dump("recv", f, len);
		if (!req_reply_for(&x->c->to, f, len) || f[AOE_OFF_CMD] != AOE_CMD_ATA)
			continue;
		res->reply_frames++;
		acks = x->c->wack ? wack_count(f, len, x->c->crc8x4, &bad) : 0;
		if (x->c->wack && bad) {	/* its first ack is covered too */
			x->c->crc_bad++;
			continue;
		}
		take_reply(x, job, f, len, res, failed);
		for (unsigned e = 0; e < acks; e++) {
			wack_entry(f, e, rep);
			take_reply(x, job, rep, sizeof rep, res, failed);
		}
	}
	return n;
}

/* Retransmit expired frames whole, with their tags; give up after the
 * retries. */
static int check_timeouts(struct aoex_xfer *x, struct aoex_result *res)
{
	uint64_t now = now_ns();

	x->next_check = UINT64_MAX;
	for (unsigned i = 0; i < x->window; i++) {
		struct slot *s = &x->slots[i];

		if (!s->busy)
			continue;
		if (s->deadline <= now) {
			if (s->sends > x->c->retries) {
				for (unsigned k = 0; k < s->nsub; k++)
					if (!s->subs[k].done) {
						res->fail_lba = s->subs[k].io.lba;
						break;
					}
				return AOEX_NO_REPLY;
			}
			int rc = aoex_send(x->c, s->frame, s->len);
			if (rc < 0)
				return rc;
			s->sends++;
			s->deadline = now + (uint64_t)x->c->timeout_ms * 1000000;
			res->retransmits++;
		}
		if (s->deadline < x->next_check)
			x->next_check = s->deadline;
	}
	return AOEX_OK;
}

static void wait_readable(struct aoex_xfer *x)
{
	struct pollfd pfd = { .fd = x->c->rs.fd, .events = POLLIN };
	int ms = x->next_check == UINT64_MAX ? 1000 : aoex_ms_until(x->next_check);

	if (ms > 0)
		poll(&pfd, 1, ms);
}

static void abandon_all(struct aoex_xfer *x)
{
	for (unsigned i = 0; i < x->window; i++)
		if (x->slots[i].busy)
			release_slot(x, &x->slots[i]);
}

int aoex_xfer_run(struct aoex_xfer *x, const struct aoex_job *job, struct aoex_result *res)
{
	bool more = true, failed = false;
	int rc = AOEX_OK;

	if (!job->write && job->coalesce > x->max_ios)
		return -EINVAL;
	x->next_check = UINT64_MAX;
	while (more || x->nfree < x->window) {
		int n;

		rc = fill_window(x, job, &more, res);
		if (rc < 0)
			break;
		n = receive_batch(x, job, res, &failed);
		if (n < 0 || failed) {
			rc = n < 0 ? n : AOEX_TARGET_ERROR;
			break;
		}
		if (now_ns() >= x->next_check) {
			rc = check_timeouts(x, res);
			if (rc != AOEX_OK)
				break;
		}
		if (n == 0 && x->nfree < x->window)
			wait_readable(x);
	}
	/* leave the engine reusable; late replies to these tags are ignored */
	abandon_all(x);
	if (rc == AOEX_OK && res->errors)
		rc = AOEX_TARGET_ERROR;
	return rc;
}
