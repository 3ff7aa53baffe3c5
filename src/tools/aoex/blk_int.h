/*
 * blk_int.h - the block engine's insides, shared by blk.c (requests,
 * frames, replies) and blkpath.c (paths, RTT and window, timers, probes,
 * the negotiation at run time).
 */
#ifndef AOEX_BLK_INT_H
#define AOEX_BLK_INT_H

#include "tools/aoex/blk.h"

#include <linux/if_packet.h>
#include <sys/socket.h>

#define BLK_RX_BATCH	32
#define BLK_MAX_SLOTS	256
#define BLK_PATH_FAILS	4	/* timeouts in a row that take a path out */
#define BLK_TICK_NS	1000000000ULL
#define BLK_RENEG_TICKS	10	/* keep the target's state fresh (LRU) */

/* One I/O of a frame: the ATA command itself or a coalesced descriptor. */
struct blk_sub {
	struct blk_req *req;
	uint64_t lba;
	unsigned nsect;
	uint8_t *data;
	uint32_t tag;
	bool done;
};

struct blk_slot {
	uint8_t *frame;
	size_t len;
	struct blk_sub *subs;
	unsigned nsub, pending;
	enum blk_op op;
	unsigned path;
	uint64_t first_sent, sent, deadline;
	unsigned rto_ms;	/* this frame's timeout, doubled per resend */
	unsigned sends;
	bool busy, queued;	/* queued: waiting in its interface's TX batch */
};

/* One interface: its socket, and the initiator the target sees (the
 * extensions are per source MAC, so per interface). */
struct blk_if {
	struct blk *b;
	struct aoex_client *c;
	struct loop_watch w;
	bool coalesce;		/* coalesced_read active now */
	bool tag_inc;		/* tag_inc_le active now */
	uint32_t ext_tag;	/* the negotiation in flight, 0: none */
	uint8_t *ext_req;	/* its request frame */
	size_t ext_len;
	struct blk_slot **tx;	/* frames to send at the end of the wakeup */
	unsigned ntx;
	struct mmsghdr *msg;
	struct iovec *iov;
	struct mmsghdr rx[BLK_RX_BATCH];
	struct iovec rx_iov[BLK_RX_BATCH];
	struct sockaddr_ll rx_from[BLK_RX_BATCH];
};

/* One path: an interface and one of the target's MACs reachable on it. */
struct blk_path {
	unsigned ifi;
	struct aoe_req_addr to;
	bool up;
	unsigned fails;		/* timeouts in a row */
	uint64_t last_reply;
};

struct blk {
	struct loop *l;
	struct blk_config cfg;
	struct blk_if ifs[BLK_MAX_IFACES];
	unsigned nifs;
	struct blk_path paths[BLK_MAX_PATHS];
	unsigned npaths, rr;
	size_t frame_cap;
	struct blk_slot *slots;
	unsigned nslots, nfree, *free_slots;
	struct blk_sub *subs;
	uint8_t *frames;	/* nslots send frames, then the RX buffers */
	uint8_t *ctl;		/* a frame for control requests */
	uint32_t *owner;	/* tag & mask -> slot + 1 | sub << 16 */
	uint32_t owner_mask;
	struct blk_req *qhead, **qtail;
	unsigned nreq;		/* requests queued or in flight */
	/* the window, in I/Os at the target */
	double cwnd, ssthresh;
	unsigned inflight;
	uint64_t last_shrink;
	/* RFC 6298, microseconds */
	bool have_rtt;
	uint64_t srtt_us, rttvar_us;
	unsigned rto_ms;
	bool dead;
	unsigned ticks;
	struct loop_timer rexmit, tick;
	struct loop_task dispatch, send;
	struct blk_stats st;
};

/* blk.c */
void blk_fail_all(struct blk *b);
void blk_queue_tx(struct blk *b, struct blk_slot *s);
void blk_build_frame(struct blk *b, struct blk_slot *s);
void blk_frame_in(struct blk_if *bi, const uint8_t *f, size_t len);
/* Resend at once the frames on interface ifi that timed out before. */
void blk_kick_troubled(struct blk *b, unsigned ifi);

/* blkpath.c */
void blkpath_init(struct blk *b);
/* The next live path; want_coalesce: one whose interface has coalesced
 * reads on, if any.  -1: none is up. */
int blkpath_pick(struct blk *b, bool want_coalesce);
/* A reply came on interface ifi from MAC src. */
void blkpath_reply(struct blk *b, unsigned ifi, const uint8_t *src, bool advert);
void blkpath_ext_reply(struct blk_if *bi, const uint8_t *f, size_t len);
/* A slot's I/Os answered: the window grows, the RTT is sampled. */
void blkpath_ios_done(struct blk *b, unsigned n);
void blkpath_rtt_sample(struct blk *b, uint64_t us);
void blkpath_arm_rexmit(struct blk *b, uint64_t deadline);
void blkpath_negotiate(struct blk *b, struct blk_if *bi);

#endif
