/*
 * coalesce.h - AoEde coalesced read: the descriptors after a READ's header.
 *
 * A READ from an initiator that negotiated coalesced_read may continue
 * after byte 36 with a count byte N and N 16-byte descriptors (tag[4],
 * LBA[6] least significant first, reserved[5], sector count), each asking
 * for one more read answered in its own reply frame.
 */
#ifndef AOEX_COALESCE_H
#define AOEX_COALESCE_H

#include <stddef.h>
#include <stdint.h>

struct cr_desc {
	uint8_t tag[4];		/* raw, echoed as the sub-read reply's tag */
	uint64_t lba;
	uint8_t count;
};

/* How many descriptors of the READ req (len bytes) are usable: only those
 * wholly inside len.  *ignored = how many the count byte claims beyond. */
unsigned cr_count(const uint8_t *req, size_t len, unsigned *ignored);

/* Descriptor i (i < cr_count()). */
void cr_desc_get(const uint8_t *req, unsigned i, struct cr_desc *d);

/* The initiator's side: write descriptor i of the READ req (the count
 * byte is the caller's; req_cr() in request.h writes both). */
void cr_desc_put(uint8_t *req, unsigned i, const struct cr_desc *d);

/* Build in f (36 bytes) the request a sub-read stands for: the primary's
 * header with the descriptor's tag, LBA and sector count, so it can be
 * decided exactly like a primary read. */
void cr_synthesize(const uint8_t *req, const struct cr_desc *d, uint8_t f[36]);

#endif
