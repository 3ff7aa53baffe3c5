/*
 * blk.h - aoex attach's block engine: block requests of any size in, AoE
 * frames out, on the project's event loop (src/event), one process, no
 * threads.  The front ends (nbdsrv.c: NBD clients on a Unix socket and the
 * kernel's nbd device) hand it requests and get a callback per request.
 *
 * - A request is cut into frames of at most the target's sectors per
 *   frame; reads that are queued together go into coalesced frames (a
 *   primary and descriptors) on paths where coalesced_read is active.
 * - Every new frame takes the next value of one tag counter (strictly
 *   increasing: the target's tag_inc window protects its writes); a
 *   retransmission reuses its tags, and a write is retransmitted on the
 *   path it first took (the window is per initiator MAC).
 * - The window counts I/Os at the target (a coalesced frame's every read
 *   is one): it starts at the target's buffer count, capped by the
 *   congestion probe; grows by one per reply below ssthresh and by 1/cwnd
 *   above it; halves (at most once per smoothed RTT) on a timeout.
 * - The retransmission timeout is RFC 6298's (SRTT + 4 RTTVAR, clamped),
 *   sampled only from frames sent once (Karn), doubled per retransmission
 *   of a frame.
 * - Several paths (interface, target MAC): frames go round robin over the
 *   live ones; a path whose frames time out 4 times in a row while another
 *   answers is taken out and probed with a Query Config every second.
 * - A frame unanswered for the dead time fails its requests with EIO, and
 *   so does everything queued or sent after it until the target answers
 *   again (Query Config probes every second, or its advertisement); then
 *   the extensions are negotiated again and I/O resumes.
 */
#ifndef AOEX_BLK_H
#define AOEX_BLK_H

#include <stdbool.h>
#include <stdint.h>

#include "event/loop.h"
#include "proto/request.h"
#include "tools/aoex/client.h"

#define BLK_MAX_PATHS	8
#define BLK_MAX_IFACES	4

enum blk_op { BLK_READ, BLK_WRITE, BLK_FLUSH };

struct blk_req;
typedef void (*blk_done_fn)(struct blk_req *r, int error);	/* 0 or EIO */

struct blk_req {
	enum blk_op op;
	bool fua;		/* a write: flushed before it completes */
	uint64_t lba;
	uint32_t nsect;
	uint8_t *data;		/* nsect * 512 bytes */
	blk_done_fn done;
	void *ctx;
	/* engine-private */
	uint32_t next;		/* sectors not yet in a frame */
	unsigned frames;	/* frames (or sub-reads) not yet answered */
	int error;
	struct blk_req *qnext;
};

/* The counters of the stats line; the names are the line's keys. */
#define BLK_COUNTERS(X) \
	X(requests) X(frames) X(retransmits) X(timeouts) X(coalesced_frames) \
	X(sub_reads) X(tag_inc_writes) X(flushes) X(eio) X(renegotiations) \
	X(path_down) X(target_dead)

struct blk_stats {
#define BLK_FIELD(n) uint64_t n;
	BLK_COUNTERS(BLK_FIELD)
#undef BLK_FIELD
};

/* What start-up learned about the target and the session. */
struct blk_config {
	uint64_t sectors;	/* capacity */
	bool lba48;
	unsigned spf;		/* sectors per frame */
	unsigned window;	/* initial and largest window, in I/Os */
	unsigned coalesce;	/* reads per coalesced frame (1: none) */
	bool flush_ext;		/* FLUSH CACHE EXT (else FLUSH CACHE) */
	uint64_t dead_ms;	/* dead time */
	unsigned rto_min_ms, rto_max_ms, rto_init_ms;
	bool tag_inc;		/* negotiated tag_inc_le at start (any interface) */
	bool coalesced_read;	/* negotiated coalesced_read at start (any) */
	bool if_tag_inc[BLK_MAX_IFACES], if_coalesce[BLK_MAX_IFACES];	/* each */
};

struct blk;

/* ifaces: the open clients, one per interface, the target's MAC learned
 * (to.dst) and the tag order set; the first one's counter gives every
 * tag.  The engine takes their sockets into the loop. */
struct blk *blk_new(struct loop *l, struct aoex_client *ifaces, unsigned nifaces,
		    const struct blk_config *cfg);
void blk_free(struct blk *b);

/* Queue a request; its done callback comes later (never from inside
 * blk_submit). */
void blk_submit(struct blk *b, struct blk_req *r);
/* Requests queued or in flight. */
unsigned blk_busy(const struct blk *b);

/* One line of counters ("frames=N retransmits=N ..."), with the current
 * window, SRTT and RTO. */
void blk_format_stats(const struct blk *b, char *buf, size_t len);
const struct blk_stats *blk_stats(const struct blk *b);

#endif
