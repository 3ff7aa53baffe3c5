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
#include "mask.h"
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
	AOE_DROP__COUNT
};

enum aoe_verdict {
	AOE_V_DROP,		/* no reply */
	AOE_V_REPLY,		/* out holds a complete reply of len bytes */
	AOE_V_IO,		/* do ata, then send out (len bytes) */
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
};

struct aoe_target_stats {
	uint64_t drops[AOE_DROP__COUNT];
	uint64_t aoe_errors;	/* replies with the E flag */
	uint64_t ata_errors;	/* replies with ATA ERR status */
	uint64_t reserved_refused;
	uint64_t bad_version;
	uint64_t unknown_cmd;
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
 * ata_io_failed(out, &o->ata) for the new length.
 */
void aoe_target_handle(struct aoe_target *t, const uint8_t *req, size_t len,
		       const uint8_t my_mac[6], unsigned mtu,
		       uint8_t *out, struct aoe_outcome *o);

/* The unsolicited Query Config reply sent at start (tag 0): builds the frame
 * for destination dst into out and returns its length (padded). */
size_t aoe_target_advert(const struct aoe_target *t, const uint8_t my_mac[6],
			 unsigned mtu, const uint8_t dst[6], uint8_t *out);

const char *aoe_drop_name(enum aoe_drop d);

#endif
