/*
 * target.h - one exported AoE device as the protocol sees it, and the
 * dispatcher that turns a request frame into a reply or an I/O to do.
 *
 * Pure: no sockets, no files, no clocks.  The daemon feeds frames in and
 * performs what the outcome asks (see device.c).
 */
#ifndef AOEX_TARGET_H
#define AOEX_TARGET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ata.h"
#include "frame.h"
#include "mask.h"
#include "peers.h"
#include "qconfig.h"
#include "reserve.h"

#define AOEX_FWVER 0x0100	/* firmware version in Query Config replies */

/* Why a frame got no reply: each is counted. */
enum aoe_drop {
	AOE_DROP_NONE,
	AOE_DROP_SHORT,		/* shorter than its command's header */
	AOE_DROP_RESPONSE,	/* R flag set: another target's reply */
	AOE_DROP_NOT_ADDRESSED,	/* for another shelf/slot */
	AOE_DROP_MASKED,	/* sender not in the MAC mask list */
	AOE_DROP_QC_NOMATCH,	/* config test/prefix did not match */
	AOE_DROP_QC_BADLEN,	/* config string longer than 1024 or the frame */
	AOE_DROP_EXT_BADTABLE,	/* Extensions request with an invalid table */
	AOE_DROP_CRC,		/* crc8x4 write whose check does not match */
	AOE_DROP__COUNT
};

enum aoe_verdict {
	AOE_V_DROP,		/* no reply */
	AOE_V_REPLY,		/* out holds a complete reply of len bytes */
	AOE_V_IO,		/* do ata, then send out (len bytes) */
	AOE_V_DUPWRITE,		/* tag_inc duplicate of a write already on disk:
				 * send out (len bytes), write nothing */
};

/* What changed in state an admin wants persisted. */
#define AOE_CHANGED_CONFIG	0x1
#define AOE_CHANGED_MASK	0x2
#define AOE_CHANGED_RESERVE	0x4

struct aoe_outcome {
	enum aoe_verdict v;
	enum aoe_drop drop;
	size_t len;		/* reply length before padding */
	struct ata_req ata;	/* for AOE_V_IO */
	unsigned changed;
	uint8_t cmd;		/* the request's AoE command */
	uint32_t tag;		/* the request's tag bytes read big-endian */
	uint32_t delay_ms;	/* AOE_V_REPLY of an Extensions probe: send
				 * after this delay (0 = at once) */
	unsigned nsub;		/* coalesced READ: sub-reads 0..nsub-1 to
				 * answer with aoe_target_subread() */
	unsigned sub_ignored;	/* descriptors cut off by the frame's end */
	bool tag_random;	/* sender negotiated tag_random: the daemon may
				 * skip (src, tag) duplicates still queued */
	bool wack;		/* sender negotiated aoexd_coalesced_ack and this
				 * is a WRITE with the W flag: its reply may
				 * share a frame with others (wack.h) */
	bool crc;		/* sender negotiated crc8x4: once its data is in
				 * place, an ATA reply longer than 36 bytes gets
				 * the check appended (aoe_reply_crc) */
};

struct aoe_target_stats {
	uint64_t drops[AOE_DROP__COUNT];
	uint64_t aoe_errors;	/* replies with the E flag */
	uint64_t ata_errors;	/* replies with ATA ERR status */
	uint64_t reserved_refused;
	uint64_t bad_version;
	uint64_t unknown_cmd;
	uint64_t ext_requests;		/* Extensions requests, valid or not */
	uint64_t ext_dup_writes;	/* writes acked as tag_inc duplicates */
	uint64_t ext_sub_reads;		/* coalesced sub-reads decided */
	uint64_t ext_sub_ignored;	/* descriptors past the frame's end */
	uint64_t ext_congestion_probes;	/* requests with a congestion id */
	uint64_t ext_congestion_delays;	/* ... whose id was new: delayed */
	uint64_t ext_peer_evictions;	/* peer table full: LRU replaced */
	uint64_t ext_window_resets;	/* tag windows restarted by a far tag */
};

struct aoe_target {
	uint16_t shelf;
	uint8_t slot;
	uint16_t bufcnt;	/* advertised queue depth, >= 2 */
	struct ata_dev ata;
	struct qconfig qc;
	struct macmask mask;
	struct reserve res;
	struct aoe_target_stats st;
	struct ext_peers peers;	/* Extensions state per initiator */
};

/* Minimum buffer size for out: the largest reply for a given MTU. */
size_t aoe_reply_capacity(unsigned mtu);

/* Sectors per ATA command for an interface MTU: (MTU - 36) / 512, max 255. */
unsigned aoe_max_sectors(unsigned mtu);

/*
 * Handle one received frame addressed to this target's interface.
 * my_mac/mtu describe the receiving interface.  out (at least
 * aoe_reply_capacity(mtu) bytes, not overlapping req) receives the reply.
 * For AOE_V_IO the caller performs o->ata and, on failure, calls
 * ata_io_failed(out, &o->ata) for the new length; when that failed I/O was a
 * write it must also call aoe_target_forget_write().  For AOE_V_DUPWRITE
 * it sends out without writing (o->ata keeps lba/nsect for logging, op is
 * ATA_OP_NONE).  After the primary reply of a READ (AOE_V_IO or an error
 * AOE_V_REPLY) it answers sub-reads 0..o->nsub-1 with aoe_target_subread().
 */
void aoe_target_handle(struct aoe_target *t, const uint8_t *req, size_t len,
		       const uint8_t my_mac[6], unsigned mtu,
		       uint8_t *out, struct aoe_outcome *o);
/* The same for a frame whose header the caller parsed already (h, from
 * aoe_hdr_parse() of req): the daemon parses each frame once, to find the
 * devices it is for. */
void aoe_target_handle_hdr(struct aoe_target *t, const struct aoe_hdr *h,
			   const uint8_t *req, size_t len, const uint8_t my_mac[6],
			   unsigned mtu, uint8_t *out, struct aoe_outcome *o);

/* An ATA reply of len bytes whose outcome said crc: the crc8x4 check
 * appended when it carries data (len > 36: read data, IDENTIFY), as AoEde
 * does; returns the new length.  out has room for 4 more bytes (every
 * reply buffer of aoe_reply_capacity() does: a reply with data is at most
 * MTU bytes). */
size_t aoe_reply_crc(uint8_t *out, size_t len);

/* The unsolicited Query Config reply sent at start (tag 0): builds the frame
 * for destination dst into out and returns its length (padded). */
size_t aoe_target_advert(const struct aoe_target *t, const uint8_t my_mac[6],
			 unsigned mtu, const uint8_t dst[6], uint8_t *out);

const char *aoe_drop_name(enum aoe_drop d);

/*
 * Coalesced read: decide sub-read i (< o->nsub of the primary's outcome) of
 * the primary READ req/len into out (same buffer rules as
 * aoe_target_handle).  The reply is the primary's header with the
 * descriptor's tag, LBA and sector count, decided like a primary READ with
 * the primary's command (a 0x20 primary limits it to 28-bit LBAs; too many
 * sectors -> AoE error 2; out of range -> IDNF).  o->v: AOE_V_IO (read into
 * out + 36) or AOE_V_REPLY; AOE_V_DROP if there is no descriptor i.
 */
void aoe_target_subread(struct aoe_target *t, const uint8_t *req, size_t len,
			unsigned i, const uint8_t my_mac[6], unsigned mtu,
			uint8_t *out, struct aoe_outcome *o);

/* The write with these raw tag bytes from src failed on disk: forget it in
 * src's tag window, so the retransmission is written instead of acked as a
 * duplicate (never acknowledge data that is not on disk). */
void aoe_target_forget_write(struct aoe_target *t, const uint8_t src[6],
			     const uint8_t tag[4]);

/* Initiators with Extensions state (<= AOE_PEERS_MAX). */
unsigned aoe_target_peer_count(const struct aoe_target *t);

/* Peer i (< aoe_target_peer_count()): its MAC into mac and its features as
 * "tag_inc_le,coalesced_read" ("" for none) into buf (n > 0: always
 * NUL-terminated).  Returns the string's full length, 0 for no peer i. */
size_t aoe_target_peer_features(const struct aoe_target *t, unsigned i,
				uint8_t mac[6], char *buf, size_t n);

#endif
