/*
 * aoex_client.h - a small AoE r11 initiator: frame building, request/reply
 * matching by tag, retransmission, and windowed multi-frame transfers.
 *
 * Used by the aoex command line tool.  Everything goes through one AF_PACKET
 * socket (rawsock.h); frames are built and parsed byte by byte with the
 * wire.h helpers and the offsets of aoe.h.
 *
 * Replies are accepted when they carry EtherType 0x88A2, the R flag, the
 * expected tag and command, are addressed to our source MAC, and come from
 * the target's shelf/slot (each half only checked when it is not the
 * broadcast value).  Everything else on the wire is ignored.
 *
 * The AoEde extensions (command 0x23, see README.extensions) are spoken
 * too: negotiation (aoex_ext_*), tags encoded big- or little-endian for the
 * target's tag_inc_be/tag_inc_le duplicate-write window, and coalesced
 * reads in the windowed engine (aoex_job.coalesce).
 */
#ifndef AOEX_CLIENT_H
#define AOEX_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "proto/aoe.h"
#include "common/rawsock.h"

/* Exit codes of aoex; the library returns them too (or -errno). */
enum aoex_status {
	AOEX_OK = 0,
	AOEX_TARGET_ERROR = 1,	/* E flag, ATA ERR, or a malformed reply */
	AOEX_LOCAL_ERROR = 2,	/* usage or local failure */
	AOEX_NO_REPLY = 3,	/* nothing after all retransmits */
};

#define AOEX_MAX_WINDOW		1024

/* How a tag's 32-bit counter value goes into the 4 tag bytes (of the AoE
 * header and of coalesced-read descriptors).  Big-endian is what aoex has
 * always sent; a target with tag_inc_le active reads them little-endian. */
enum aoex_tag_order {
	AOEX_TAG_BE = 0,
	AOEX_TAG_LE = 1,
};

struct aoex_client {
	struct rawsock rs;
	uint8_t src[6];		/* source MAC we send with (ours or -m) */
	uint8_t dst[6];		/* target MAC; broadcast until learned */
	uint16_t shelf;		/* target; AOE_SHELF_ANY matches any shelf */
	uint8_t slot;		/* AOE_SLOT_ANY matches any slot */
	int timeout_ms;		/* per try */
	unsigned retries;	/* retransmits after the first try */
	bool verbose;		/* hex dump every frame to stderr */
	uint32_t next_tag;
	/* --- AoEde extensions */
	enum aoex_tag_order tag_order;	/* default AOEX_TAG_BE */
	bool tag_order_fixed;	/* chosen by the user: negotiation keeps it */
	bool split_tags;	/* aoex_set_first_tag() was called */
	uint32_t next_ctl_tag;	/* control tags count down from first - 1 */
};

/* A parsed Query Config reply. */
struct aoex_config {
	uint8_t mac[6];
	uint16_t shelf;
	uint8_t slot;
	uint8_t flags, error;	/* AoE header flags and error code */
	uint16_t bufcnt, fwver;
	uint8_t scnt, ver, ccmd;
	uint16_t cslen;		/* as much of the string as the frame holds */
	uint8_t cs[QC_CS_MAX];
};

/* A parsed ATA reply header. */
struct aoex_ata_reply {
	uint8_t flags, aoe_error;
	uint8_t err, scnt, status;
	uint64_t lba;
	size_t len;		/* whole frame, as received */
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
void aoex_set_tag_order(struct aoex_client *c, enum aoex_tag_order order, bool fixed);
/* Write/read a tag value at p (4 bytes) in the client's tag order. */
void aoex_put_tag(const struct aoex_client *c, uint8_t *p, uint32_t tag);
uint32_t aoex_get_tag(const struct aoex_client *c, const uint8_t *p);

/* Ethernet + AoE header for cmd to the client's target.  Returns 24. */
size_t aoex_put_header(const struct aoex_client *c, uint8_t *f, uint8_t cmd, uint32_t tag);
/* ATA header after aoex_put_header.  lba48 false writes LBA28 with 0xE0 in
 * the top nibble of LBA byte 3, like Linux.  Returns 36. */
size_t aoex_put_ata(uint8_t *f, uint8_t aflags, uint8_t cmd, uint8_t feature,
		    uint8_t count, uint64_t lba, bool lba48);

/* Whether f is a reply for us from our target (tag and command unchecked). */
bool aoex_reply_for_us(const struct aoex_client *c, const uint8_t *f, size_t len);

/* Send req (its tag already set) and wait for the matching reply, retrying
 * with the same tag; tries is the total number of transmissions.  Returns
 * the reply length, 0 if none came, or -errno. */
ssize_t aoex_exchange(struct aoex_client *c, const uint8_t *req, size_t reqlen,
		      unsigned tries, uint8_t *rep, size_t repmax);

/* Receive one frame before monotonic time deadline (ns): its length, 0 at
 * the deadline, or -errno.  Hex-dumped when verbose. */
ssize_t aoex_recv_until(struct aoex_client *c, uint8_t *buf, size_t cap, uint64_t deadline);

/* Send one frame (hex-dumped when verbose). */
int aoex_send(struct aoex_client *c, const uint8_t *f, size_t len);

int aoex_parse_config(const uint8_t *f, size_t len, struct aoex_config *qc);
void aoex_parse_ata(const uint8_t *f, size_t len, struct aoex_ata_reply *r);
bool aoex_ata_failed(const struct aoex_ata_reply *r);

/* Query Config read to the target with retries.  Learns the target's MAC
 * unless learn_mac is false.  Returns AOEX_OK, AOEX_NO_REPLY or -errno. */
int aoex_query(struct aoex_client *c, bool learn_mac, struct aoex_config *qc);

/*
 * AoEde Extensions (AoE command 0x23).  Request: AoE header, the 16-bit
 * LITTLE-endian length L of a string table at 24, the table at 26:
 * NUL-terminated names ended by an empty string.  Reply: the request
 * echoed with every name the target now has active upper-cased.
 */
#define AOEX_EXT_MAX_NAMES	256

/* One string of a reply's table. */
struct aoex_ext_str {
	const char *s;		/* into aoex_ext_reply.table, NUL-terminated */
	size_t len;
	bool active;		/* the target upper-cased it: it differs from
				 * what we sent and equals its upper case */
};

struct aoex_ext_reply {
	uint8_t flags, error;	/* AoE header flags (E) and error code */
	bool malformed;		/* length field, frame length or table bytes
				 * differ from the request beyond letter case */
	uint16_t len;		/* the reply's table length field */
	size_t avail;		/* table bytes the reply frame holds (<= len) */
	char *table;		/* malloc'ed copy of them, plus a NUL */
	unsigned nstr;		/* strings before the empty terminator */
	struct aoex_ext_str *strs;	/* malloc'ed, nstr of them */
	unsigned missing;	/* negotiate: known names not activated */
	const char *missing_name[AOEX_EXT_MAX_NAMES];	/* the caller's names */
};

/* Names aoex knows as features (reset, coalesced_read, tag_inc_le,
 * tag_inc_be, tag_random, congestion): a negotiation fails when one of them
 * is requested and not upper-cased in the reply. */
bool aoex_ext_known(const char *name);
/* Largest number of reads one coalesced frame may carry on our interface:
 * 1 primary + min(255, (MTU + 14 - 37) / 16) descriptors (93 at MTU 1500). */
unsigned aoex_coalesce_max(const struct aoex_client *c);
/* The string table for names (each NUL-terminated, then one more NUL) into
 * table.  Returns its length, or 0 if it does not fit in max or a name is
 * empty. */
size_t aoex_ext_table(const char *const names[], unsigned n, uint8_t *table, size_t max);
/* A whole Extensions request in f (frame-cap bytes): header with tag, the
 * length field lenfield (normally tlen), the tlen table bytes, padded with
 * zeros to 60.  Returns the frame length, or 0 if it does not fit. */
size_t aoex_ext_frame(const struct aoex_client *c, uint8_t *f, uint32_t tag,
		      const uint8_t *table, size_t tlen, uint16_t lenfield);
/* Parse an Extensions reply against the request it answers.  Returns 0 or
 * -ENOMEM; free r with aoex_ext_reply_free(). */
int aoex_ext_parse(const uint8_t *req, size_t reqlen, const uint8_t *rep, size_t replen,
		   struct aoex_ext_reply *r);
void aoex_ext_reply_free(struct aoex_ext_reply *r);
/* One Extensions exchange with tag, tries transmissions.  Returns AOEX_OK
 * with r filled (check r->flags for E and r->malformed), AOEX_NO_REPLY, or
 * -errno (-EMSGSIZE: does not fit a frame).  r is zeroed first. */
int aoex_ext_request(struct aoex_client *c, uint32_t tag, const uint8_t *table, size_t tlen,
		     uint16_t lenfield, unsigned tries, struct aoex_ext_reply *r);
/* Negotiate names (in this order, one request, tag from aoex_ctl_tag, with
 * the client's retries).  Returns AOEX_OK when the reply came, is well
 * formed, and every known name in it was upper-cased, except those a later
 * name turns off again (any name before a reset, a tag mode before another
 * tag mode: the target reports what is active at the end, though AoEde
 * upper-cases them too); AOEX_TARGET_ERROR on
 * the E flag, a malformed reply, or known names left lowercase (listed in
 * r->missing_name); AOEX_NO_REPLY; -errno.  On AOEX_OK the tag order
 * follows the last tag mode activated (tag_inc_le: little-endian,
 * tag_inc_be: big-endian) unless it is fixed.  r may be NULL; else free it
 * with aoex_ext_reply_free() whatever the result. */
int aoex_ext_negotiate(struct aoex_client *c, const char *const names[], unsigned n,
		       struct aoex_ext_reply *r);

/* "unrecognized command", ... for AoE error codes 1..6, else "unknown". */
const char *aoex_error_name(unsigned code);
/* Hex dump to stderr, one 16-byte row per line. */
void aoex_dump(const char *what, const uint8_t *f, size_t len);

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
	struct aoex_ata_reply fail;
	uint64_t req_frames;	/* request frames built (first transmissions) */
	uint64_t replies;	/* replies taken, one per I/O (repeats not) */
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
