/*
 * request.h - a request of one device in progress (io/ internal: device.c
 * and coalesce.c).  The pool lives in struct device; a request's buffer
 * holds its reply frame, the header in the headroom just in front of the
 * block-aligned data, so a read lands where the reply needs it.
 */
#ifndef AOEX_REQUEST_H
#define AOEX_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include "io/device.h"

enum req_state { RQ_FREE, RQ_IO, RQ_DONE, RQ_DELAYED };

struct req {
	struct qio io;
	struct device *d;
	struct iface *ifc;
	enum req_state state;
	struct ata_req ata;
	uint8_t src[6];
	uint32_t tag;
	uint8_t *frame;		/* reply frame; data at frame + 36 */
	size_t len;		/* reply length before padding */
	uint64_t t0;
	struct req *next;	/* free list, or the chain of a group */
	struct req *dups;	/* duplicate writes answered with this one */
	struct req *group;	/* coalesced read: the primary (also on itself) */
	struct req *gnext_unsent;	/* primary only: first reply not sent */
	struct req *gtail;	/* primary only: last member linked */
	bool gopen;		/* primary only: sub-reads still to be issued */
	bool crc;		/* crc8x4 appended to the reply (aoe_reply_crc) */
	bool wack;		/* the reply may share a frame (io/wack.h) */
	struct loop_timer timer;	/* congestion delay */
};


/* A free request, or NULL (counted queue_full: the initiator retransmits).
 * The next one req_get() gives is d->free: device_frame() builds the
 * reply in its buffer before it knows it needs one. */
struct req *req_get(struct device *d);
void req_put(struct req *r);
/* Send len bytes of frame as a reply on ifc (copied into a TX slot). */
void req_send(struct iface *ifc, struct device *d, const uint8_t *frame, size_t len);
/* The finished reply of r, its data in place: with its crc8x4 check, or
 * into a coalesced write ack frame. */
void req_reply(struct req *r);
/* r is answered: its reply goes once every reply of its group before it went. */
void req_finish(struct req *r);
/* The parts of a request that outlive the RX slot into r (the reply is
 * usually built in r's buffer already). */
void req_fill(struct req *r, struct iface *ifc, const uint8_t *reply, const struct aoe_outcome *o);
/* Its disk I/O (r->ata), through the cache and the queue. */
void req_start_io(struct device *d, struct req *r);
/* A read (the primary of a coalesced one too): its I/O, or its error reply. */
void req_start_primary(struct device *d, struct req *r, const struct aoe_outcome *o);

#endif
