/*
 * device.h - one export: the protocol target, its backing store, its I/O
 * queue and the pool of requests in progress.
 *
 * device_frame() takes a received frame: answers at once what needs no
 * disk, else copies the request into a pooled request (the receive ring
 * slot goes back to the kernel right away) and queues its I/O.  The reply
 * is built in place: the AoE/ATA header sits in the headroom just in front
 * of the block-aligned data, so a read lands where the reply needs it and
 * goes to the TX ring with one copy.
 */
#ifndef AOEX_DEVICE_H
#define AOEX_DEVICE_H

#include <stdint.h>

#include "io/engine/backing.h"
#include "io/cache/cache.h"
#include "io/engine/engine.h"
#include "event/loop.h"
#include "net/iface.h"
#include "io/queue/queue.h"
#include "proto/frame.h"
#include "proto/target.h"

struct device_stats {
	uint64_t reads, writes, flushes, other;
	uint64_t read_bytes, write_bytes;
	uint64_t io_errors;
	uint64_t tx_full;	/* replies dropped: no TX buffer free */
	uint64_t queue_full;	/* requests dropped: every request buffer busy */
	uint64_t dup_in_flight;	/* duplicate writes answered after the original */
	uint64_t tag_random_skipped;	/* retransmissions of a request in progress */
	uint64_t delayed;	/* replies held by a congestion probe */
	uint64_t coalesce_waits;	/* coalesced reads that waited for buffers */
	uint64_t wack_frames;	/* reply frames acknowledging 2 writes or more */
	uint64_t wack_acks;	/* writes they acknowledged */
	uint64_t service_ns;	/* summed request service time (disk requests) */
	uint64_t serviced;
};

struct req;
struct coal;
struct wack;

#define DEVICE_COAL_SLOTS 32	/* coalesced reads waiting for buffers */

struct device_conf {
	unsigned queue_depth;	/* engine I/Os in flight at most */
	unsigned requests;	/* request buffers (0: from bufcnt) */
	unsigned mtu_max;	/* largest MTU of the interfaces served */
	unsigned merge_delay_us;	/* see dq_set_merge_delay(); 0 = off */
	struct cache_conf cache;
};

struct device {
	char name[16];		/* "e1.2" */
	struct aoe_target t;
	struct backing b;
	struct engine *eng;	/* shared by all devices */
	struct loop *loop;
	struct dq q;
	struct cache cache;
	struct req *reqs;	/* the pool */
	unsigned nreqs;
	struct req *free;
	unsigned nfree;
	struct coal *coal;	/* DEVICE_COAL_SLOTS of them */
	unsigned coal_waiting;	/* of them busy: each freed request defers coal_task */
	struct loop_task coal_task;	/* issues what the freed buffers allow */
	struct wack *wack;	/* WACK_OPEN frames of coalesced write acks */
	unsigned wack_next;	/* the one to send when all are open */
	struct loop_task wack_task;	/* sends them at the end of the wakeup */
	uint8_t *bufs;		/* one aligned allocation for all requests */
	uint8_t *scratch;	/* a reply when no request is free */
	size_t stride, headroom;
	unsigned mtu_cap;	/* largest MTU the request buffers hold */
	unsigned changed;	/* AOE_CHANGED_* since the daemon last persisted */
	struct freeze *fz;	/* frozen or merging (io/freeze/freeze.h), or NULL */
	struct device_stats st;
};

/* After t, b, name are filled: set up the queue and the request pool. */
int device_init(struct device *d, struct engine *e, struct loop *l,
		const struct device_conf *c, char *err, size_t errlen);
void device_free(struct device *d);

/* Handle a frame addressed to d that arrived on ifc, its header parsed
 * (h); queues the reply on ifc, if any. */
void device_frame(struct device *d, struct iface *ifc, const struct aoe_hdr *h,
		  const uint8_t *frame, size_t len);

/* Write back everything buffered, wait for all I/O, fdatasync (shutdown,
 * SIGHUP).  Logs a failure; returns 0 or -errno. */
int device_sync(struct device *d);

/* The MTU to speak on ifc: its own, capped at what the buffers hold (an
 * interface whose MTU grew after device_init advertises no more). */
unsigned device_mtu(const struct device *d, const struct iface *ifc);

/* Before device_free() with the daemon running on (reload removing the
 * device): finish and answer every request in hand, waiting for its I/O
 * (this blocks the loop for as long), delayed replies sent at once. */
void device_quiesce(struct device *d);

/* Freeze d (aoexctl freeze): its writes go to a new shadow file path, at
 * most max bytes of data (0: no limit); record names the file that lets a
 * restart find it (in the state directory); rate bytes/s for the merge of
 * a later thaw.  Writes back and syncs first (blocking the loop for as
 * long).  0, or -1 and err. */
int device_freeze(struct device *d, const char *path, uint64_t max, const char *record,
		  uint64_t rate, char *err, size_t errlen);
/* Thaw d: merge the shadow back in the background.  0, or -1 and err. */
int device_thaw(struct device *d, char *err, size_t errlen);
/* At start: a freeze recorded in record goes on (frozen or merging).
 * 0 (also: none), or -1 and err when the shadow cannot be used. */
int device_freeze_resume(struct device *d, const char *record, uint64_t rate,
			 char *err, size_t errlen);

/* Send the unsolicited Query Config advertisement on ifc: to broadcast, or
 * to each MAC of the mask list when it is not empty. */
void device_advertise(struct device *d, struct iface *ifc);

#endif
