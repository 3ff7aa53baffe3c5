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
	bool crc8x4;			/* AoEde's integrity check (crc8x4.h) */
	bool wack;			/* aoexd_coalesced_ack (wack.h) */
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
 * end: reset always; coalesced_read, crc8x4 and aoexd_coalesced_ack unless
 * a later reset; among tag modes
 * only the last one, unless a later reset; congestion when followed by a
 * decimal id of 1..20 digits (the id itself is left as is).  Unknown names,
 * and congestion without a valid id, stay unchanged.  Processing stops at
 * the first empty string.
 */
void ext_negotiate(struct ext_state *s, uint8_t *table, size_t tlen,
		   struct ext_result *r);

/*
 * The name rules, one copy for the target (ext_negotiate) and the
 * initiator (aoex checks a reply with them).
 */
enum ext_name {
	EXT_NAME_UNKNOWN,
	EXT_NAME_RESET,
	EXT_NAME_COALESCED,
	EXT_NAME_TAG_LE,
	EXT_NAME_TAG_BE,
	EXT_NAME_TAG_RANDOM,
	EXT_NAME_CONGESTION,
	EXT_NAME_CRC8X4,
	EXT_NAME_WACK,		/* aoexd's own: coalesced write acks */
};

/* The name s (len bytes, lowercase as sent; no NUL needed). */
enum ext_name ext_name_of(const uint8_t *s, size_t len);
/* "reset", "coalesced_read", ...; NULL for EXT_NAME_UNKNOWN. */
const char *ext_name_str(enum ext_name n);
bool ext_name_is_tagmode(enum ext_name n);

/*
 * A later name undoes an earlier one: a reset every name before it, a tag
 * mode the tag modes before it (the last one wins).  Kept as where the last
 * reset and the last tag mode of a list stand (positions from 1, 0: none),
 * so the rule costs the same for every name of a long table.
 */
struct ext_marks {
	size_t reset, tag;
};
/* Name n stands at pos: remember it if it is a reset or a tag mode. */
void ext_mark(struct ext_marks *m, enum ext_name n, size_t pos);
/* Whether a later name of the marked list undoes n at pos. */
bool ext_undone(const struct ext_marks *m, enum ext_name n, size_t pos);
/* Whether the target reports n at pos active (upper-cases it): reset and
 * congestion always (acts, not states: their effect is in force whatever
 * follows), the others while no later name undoes them, unknown never. */
bool ext_in_force(const struct ext_marks *m, enum ext_name n, size_t pos);

/* Upper-case ASCII a-z in place: how the target says "active". */
void ext_upcase(uint8_t *p, size_t n);
/* Whether got (len bytes) is sent upper-cased with at least one letter
 * changed: sent_len bytes of sent are what the request held at the same
 * place (a byte past them counts as a mismatch). */
bool ext_upcased(const uint8_t *sent, size_t sent_len, const uint8_t *got, size_t len);
/* Whether a and b (n bytes) are equal but for ASCII letter case. */
bool ext_same_but_case(const uint8_t *a, const uint8_t *b, size_t n);

/* The string table for names (each NUL-terminated, then one more NUL;
 * two NULs for no names) into table.  Returns its length, or 0 if it does
 * not fit in max or a name is empty (it would end the table). */
size_t ext_table_build(const char *const names[], unsigned n, uint8_t *table, size_t max);

/* All features off.  The congestion id is kept: it is probe bookkeeping,
 * and forgetting it would delay a probe burst again after each reset. */
void ext_features_off(struct ext_state *s);

/* The active features as "tag_inc_le,coalesced_read" ("" for none).
 * Returns the full length; buf (n > 0) is always NUL-terminated. */
size_t ext_features_string(const struct ext_state *s, char *buf, size_t n);

#endif
