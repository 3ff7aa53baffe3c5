/*
 * ext.h - AoEde Extensions (command 0x23): the string table, the features
 * it negotiates and the casing of the reply.
 *
 * The request carries at offset 24 a little-endian length L and at 26 a
 * table of NUL-terminated lowercase names ended by an empty string.  The
 * reply echoes it with every name whose effect is still in force at the end
 * of the request upper-cased, so the initiator sees what it got.  This file
 * knows names and state only; which initiator owns the state is peers.h's
 * job and the tag window is tagwin.h's.
 */
#ifndef AOEX_EXT_H
#define AOEX_EXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EXT_CONG_ID_MAX		20	/* decimal digits of a congestion id */
#define EXT_CONG_DELAY_MS	500	/* AoEde's 0.5 s */

enum ext_tagmode {
	EXT_TAG_NONE,
	EXT_TAG_INC_LE,
	EXT_TAG_INC_BE,
	EXT_TAG_RANDOM,
};

/* What one initiator negotiated, plus its congestion probe memory. */
struct ext_state {
	bool coalesced_read;
	enum ext_tagmode tagmode;
	bool cong_seen;			/* cong_id holds the last id */
	uint8_t cong_len;
	char cong_id[EXT_CONG_ID_MAX];
};

struct ext_result {
	bool probe;		/* carried at least one valid congestion id */
	bool delay;		/* one of them was new: delay the reply */
	bool restart_window;	/* reset applied or tag mode changed */
};

/*
 * Check the table of an Extensions request of len bytes.  Valid: len >= 26,
 * L >= 2, 26 + L <= len (Ethernet padding may follow), the table ends in
 * two NULs.  On success *tlen = L.
 */
bool ext_table_ok(const uint8_t *req, size_t len, size_t *tlen);

/*
 * Apply the names of a checked table (tlen bytes at table, a writable copy:
 * the reply) to s, in order, and upper-case in place those in force at the
 * end: reset always; coalesced_read unless a later reset; among tag modes
 * only the last one, unless a later reset; congestion when followed by a
 * decimal id of 1..20 digits (the id itself is left as is).  Unknown names,
 * and congestion without a valid id, stay unchanged.  Processing stops at
 * the first empty string.
 */
void ext_negotiate(struct ext_state *s, uint8_t *table, size_t tlen,
		   struct ext_result *r);

/* All features off.  The congestion id is kept: it is probe bookkeeping,
 * and forgetting it would delay a probe burst again after each reset. */
void ext_features_off(struct ext_state *s);

/* The active features as "tag_inc_le,coalesced_read" ("" for none).
 * Returns the full length; buf (n > 0) is always NUL-terminated. */
size_t ext_features_string(const struct ext_state *s, char *buf, size_t n);

#endif
