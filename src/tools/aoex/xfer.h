/*
 * xfer.h - aoex's windowed transfer engine: read, write and bench move
 * their data through it.
 */
#ifndef AOEX_XFER_H
#define AOEX_XFER_H

#include <stdbool.h>
#include <stdint.h>

#include "proto/request.h"
#include "tools/aoex/client.h"

#define AOEX_MAX_WINDOW		1024

/*
 * Windowed transfers.  A job pulls I/Os from its generator (each fits one
 * frame), keeps up to `window` of them outstanding, matches replies by tag,
 * retransmits on timeout and hands read data back through io.data.
 * Frames, buffers and the tag table are allocated once per engine, so the
 * per-frame path does no malloc and sends/receives in batches
 * (sendmmsg/recvmmsg).
 *
 * Coalesced reads (AoEde coalesced_read, which the target must have
 * active): with job.coalesce N > 1 a read frame carries up to N I/Os of the
 * generator, the first as the ATA read itself, the others as descriptors
 * (count byte at 36, 16 bytes each from 37: tag, LBA, 5 reserved, sector
 * count), each with its own tag.  The target answers each I/O in its own
 * reply frame; the frame is complete when all its I/Os are, and is
 * retransmitted whole (same tags) when any reply is missing at the timeout.
 *
 * Coalesced write acknowledgements (aoexd_coalesced_ack, which the target
 * must have active: client.wack): a write's reply frame may carry the acks
 * of more writes after its own (proto/wack.h); each is taken as the plain
 * reply it stands for.
 */
struct aoex_io {
	uint64_t lba;
	unsigned nsect;		/* 1 .. engine's max_sect */
	uint8_t *data;		/* write source / read destination; NULL:
				 * reads are discarded, writes send whatever
				 * the frame holds (bench) */
};

/* Fill *io with the next I/O; false when there is none (any more). */
typedef bool (*aoex_next_fn)(void *ctx, struct aoex_io *io);

struct aoex_job {
	bool write;
	bool lba48;
	bool keep_going;	/* count target errors instead of stopping */
	aoex_next_fn next;
	void *ctx;
	unsigned coalesce;	/* reads: I/Os per frame (0, 1: one, plain
				 * reads); at most the engine's max_ios */
	/* optional: called for each I/O the target acknowledged with
	 * success, in the order the replies came (write --log-acks) */
	void (*on_ack)(void *ack_ctx, const struct aoex_io *io);
	void *ack_ctx;
};

struct aoex_result {
	uint64_t frames, bytes, retransmits, errors;	/* frames: I/Os done */
	/* the first failure, when the run did not return AOEX_OK */
	uint64_t fail_lba;
	bool fail_short;	/* read reply shorter than requested */
	struct req_ata_reply fail;
	uint64_t req_frames;	/* request frames built (first transmissions) */
	uint64_t replies;	/* replies taken, one per I/O (repeats not) */
	uint64_t reply_frames;	/* ATA reply frames received for us, repeats
				 * included (with aoexd_coalesced_ack one may
				 * acknowledge several writes) */
};

struct aoex_xfer;

struct aoex_xfer *aoex_xfer_new(struct aoex_client *c, unsigned window, unsigned max_sect);
/* The same with room for max_ios I/Os per frame (1 .. aoex_coalesce_max). */
struct aoex_xfer *aoex_xfer_new_coalesced(struct aoex_client *c, unsigned window,
					  unsigned max_sect, unsigned max_ios);
void aoex_xfer_free(struct aoex_xfer *x);
/* Run the job to completion.  Returns AOEX_OK, AOEX_TARGET_ERROR (first
 * error, unless keep_going), AOEX_NO_REPLY, or -errno (-EINVAL: an I/O or
 * job.coalesce out of the engine's range).  res accumulates. */
int aoex_xfer_run(struct aoex_xfer *x, const struct aoex_job *job, struct aoex_result *res);

#endif
