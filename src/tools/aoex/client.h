/*
 * client.h - a small AoE r11 initiator: one raw socket, tags, request/reply
 * matching, retransmission and the AoEde Extensions negotiation.
 *
 * Used by the aoex command line tool.  Everything goes through one AF_PACKET
 * socket (rawsock.h); frames are built and read by proto/request.h, so what
 * aoex sends is what the unit tests round-trip through the target.  The
 * windowed multi-frame engine is xfer.h's.
 *
 * Replies are accepted when they carry EtherType 0x88A2, the R flag, the
 * expected tag and command, are addressed to our source MAC, and come from
 * the target's shelf/slot (each half only checked when it is not the
 * broadcast value).  Everything else on the wire is ignored.
 *
 * The AoEde extensions (command 0x23, see README.extensions) are spoken
 * too: negotiation (aoex_ext_*) and tags encoded big- or little-endian for
 * the target's tag_inc_be/tag_inc_le duplicate-write window.
 */
#ifndef AOEX_CLIENT_H
#define AOEX_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/aoe.h"
#include "proto/request.h"
#include "common/rawsock.h"

/* Exit codes of aoex; the library returns them too (or -errno). */
enum aoex_status {
	AOEX_OK = 0,
	AOEX_TARGET_ERROR = 1,	/* E flag, ATA ERR, or a malformed reply */
	AOEX_LOCAL_ERROR = 2,	/* usage or local failure */
	AOEX_NO_REPLY = 3,	/* nothing after all retransmits */
};

struct aoex_client {
	struct rawsock rs;
	/* our source MAC (ours or -m), the target's MAC (broadcast until
	 * learned), its shelf/slot (broadcast halves match any) and the
	 * byte order of tags: what every request is built with */
	struct aoe_req_addr to;
	int timeout_ms;		/* per try */
	unsigned retries;	/* retransmits after the first try */
	bool verbose;		/* hex dump every frame to stderr */
	uint32_t next_tag;
	/* --- AoEde extensions */
	bool tag_order_fixed;	/* chosen by the user: negotiation keeps it */
	bool split_tags;	/* aoex_set_first_tag() was called */
	uint32_t next_ctl_tag;	/* control tags count down from first - 1 */
	bool crc8x4;		/* negotiated: writes carry the check, replies
				 * with data must pass req_ata_crc_ok() */
	uint64_t crc_bad;	/* replies that failed it (ignored, retried) */
	bool wack;		/* aoexd_coalesced_ack negotiated: a write's
				 * reply may acknowledge others (proto/wack.h) */
};

/* Open the socket on ifname; src_mac NULL sends with the interface's MAC.
 * When src_mac differs from it, the interface is put in promiscuous mode
 * (for this socket only) so replies to the borrowed MAC still arrive. */
int aoex_open(struct aoex_client *c, const char *ifname, const uint8_t *src_mac,
	      char *err, size_t errlen);
void aoex_close(struct aoex_client *c);

/* Largest frame our interface carries (MTU + Ethernet header, at least
 * 1514): the size of every send and receive buffer. */
size_t aoex_frame_cap(const struct aoex_client *c);
/* Sectors per ATA frame our MTU allows: (MTU - 36) / 512, at least 1. */
unsigned aoex_mtu_sectors(const struct aoex_client *c);
/* Largest number of reads one coalesced frame may carry on our interface:
 * 1 primary + min(255, (MTU + 14 - 37) / 16) descriptors (93 at MTU 1500). */
unsigned aoex_coalesce_max(const struct aoex_client *c);

/* Next tag of the counter; never 0 (unsolicited announcements use it). */
uint32_t aoex_new_tag(struct aoex_client *c);

/* Start the counter at first (nonzero) instead of a random value, and from
 * then on hand out the tags of control frames (aoex_ctl_tag) from a second
 * counter that counts DOWN from first - 1 (skipping 0).  So the frames a
 * command sends on its own behalf (Query Config to learn the MAC, the
 * Extensions negotiation, ...) never take one of the tags first,
 * first + 1, ... that its data frames use, and they stay just behind them
 * (inside a tag_inc window that ends at first). */
void aoex_set_first_tag(struct aoex_client *c, uint32_t first);
/* Tag for a control frame: aoex_new_tag() unless aoex_set_first_tag() was
 * called (see there).  Never 0. */
uint32_t aoex_ctl_tag(struct aoex_client *c);

/* Byte order of tags on the wire.  fixed: later negotiations of
 * tag_inc_le/tag_inc_be no longer change it. */
void aoex_set_tag_order(struct aoex_client *c, enum aoe_tag_order order, bool fixed);

/* Milliseconds from now to the monotonic deadline (ns), rounded up; 0 once
 * it has passed. */
int aoex_ms_until(uint64_t deadline);

/* Send one frame (hex-dumped when verbose). */
int aoex_send(struct aoex_client *c, const uint8_t *f, size_t len);

/* Receive one frame before monotonic time deadline (ns): its length, 0 at
 * the deadline, or -errno.  Hex-dumped when verbose. */
ssize_t aoex_recv_until(struct aoex_client *c, uint8_t *buf, size_t cap, uint64_t deadline);

/* Called for each frame aoex_collect receives; returns true when it has
 * seen what it waited for. */
typedef bool (*aoex_frame_fn)(void *ctx, const uint8_t *f, size_t len);

/* Receive frames into buf (cap bytes) until the deadline, handing each to
 * fn, or until fn returns true.  Returns 1 when fn did, 0 at the deadline,
 * or -errno.  Every wait for replies of aoex goes through here. */
int aoex_collect(struct aoex_client *c, uint8_t *buf, size_t cap, uint64_t deadline,
		 aoex_frame_fn fn, void *ctx);

/* Send req (its tag already set) and wait for the matching reply, retrying
 * with the same tag; tries is the total number of transmissions.  With
 * crc8x4 active, a reply to an ATA read or IDENTIFY that fails its check
 * is counted (crc_bad) and not taken: the wait goes on, then the retry.
 * Returns the reply length, 0 if none came, or -errno. */
ssize_t aoex_exchange(struct aoex_client *c, const uint8_t *req, size_t reqlen,
		      unsigned tries, uint8_t *rep, size_t repmax);

/* Query Config read to the target with retries.  Learns the target's MAC
 * unless learn_mac is false.  Returns AOEX_OK, AOEX_NO_REPLY or -errno. */
int aoex_query(struct aoex_client *c, bool learn_mac, struct req_qc_reply *qc);

/*
 * AoEde Extensions (AoE command 0x23).  Request: AoE header, the 16-bit
 * LITTLE-endian length L of a string table at 24, the table at 26:
 * NUL-terminated names ended by an empty string.  Reply: the request
 * echoed with every name the target now has active upper-cased.
 */
#define AOEX_EXT_MAX_NAMES	256

struct aoex_ext_reply {
	struct req_ext_reply p;	/* the parsed reply; points into rep */
	uint8_t *req, *rep;	/* malloc'ed request and reply frames */
	unsigned missing;	/* negotiate: known names not activated */
	const char *missing_name[AOEX_EXT_MAX_NAMES];	/* the caller's names */
};

/* One Extensions exchange with tag, tries transmissions.  Returns AOEX_OK
 * with r filled (check r->p.flags for E and r->p.malformed),
 * AOEX_NO_REPLY, or -errno (-EMSGSIZE: does not fit a frame).  r is zeroed
 * first; free it with aoex_ext_reply_free() whatever the result. */
int aoex_ext_request(struct aoex_client *c, uint32_t tag, const uint8_t *table, size_t tlen,
		     uint16_t lenfield, unsigned tries, struct aoex_ext_reply *r);
void aoex_ext_reply_free(struct aoex_ext_reply *r);
/* Negotiate names (in this order, one request, tag from aoex_ctl_tag, with
 * the client's retries).  Returns AOEX_OK when the reply came, is well
 * formed, and every name proto/ext.h knows was upper-cased, except those a
 * later name undoes (ext_undone: any name before a reset, a tag mode
 * before another tag mode: the target reports what is active at the end,
 * though AoEde upper-cases them too); AOEX_TARGET_ERROR on the E flag, a
 * malformed reply, or known names left lowercase (listed in
 * r->missing_name); AOEX_NO_REPLY; -errno.  On AOEX_OK the tag order
 * follows the last tag mode activated (tag_inc_le: little-endian,
 * tag_inc_be: big-endian) unless it is fixed, and c->crc8x4 and c->wack
 * whether crc8x4 and aoexd_coalesced_ack are active (an active reset
 * turns them off).  r may be NULL; else free it
 * with aoex_ext_reply_free() whatever the result. */
int aoex_ext_negotiate(struct aoex_client *c, const char *const names[], unsigned n,
		       struct aoex_ext_reply *r);

/* "unrecognized command", ... for AoE error codes 1..6, else "unknown". */
const char *aoex_error_name(unsigned code);
/* Hex dump to stderr, one 16-byte row per line. */
void aoex_dump(const char *what, const uint8_t *f, size_t len);

#endif
