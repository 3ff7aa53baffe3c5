/*
 * mask.h - the MAC Mask List (AoE command 2).  A non-empty list restricts
 * the target to the initiators in it; frames from others are ignored.
 */
#ifndef AOEX_MASK_H
#define AOEX_MASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MASK_MAX 64	/* entries; a read reply of 64 fits any MTU >= 576 */

struct macmask {
	unsigned n;
	uint8_t mac[MASK_MAX][6];
};

bool mask_allows(const struct macmask *m, const uint8_t mac[6]);
/* 1 added, 0 already there, -1 full */
int mask_add(struct macmask *m, const uint8_t mac[6]);
bool mask_del(struct macmask *m, const uint8_t mac[6]);

/*
 * Handle a MAC Mask List request (len >= 28); out holds the reply's common
 * header.  Read returns the list; edit applies the directives in order and
 * returns the list, or stops at the first bad one with MError 2 (bad
 * directive) or 3 (list full) and the directive count set to its index
 * (the directives before it stay applied, as in vblade).  A directive count
 * that runs past the frame, or an unknown MCmd, is AoE error 2 and changes
 * nothing.  Returns the reply length; *changed tells whether the list moved.
 */
size_t mask_handle(struct macmask *m, const uint8_t *req, size_t len,
		   uint8_t *out, bool *changed);

#endif
