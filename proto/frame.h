/*
 * frame.h - the AoE common header: parse, address match, reply header.
 */
#ifndef AOEX_FRAME_H
#define AOEX_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct aoe_hdr {
	uint8_t version;	/* high nibble of byte 14 */
	uint8_t flags;		/* low nibble of byte 14 */
	uint8_t error;
	uint16_t shelf;
	uint8_t slot;
	uint8_t cmd;
	uint32_t tag;		/* big-endian view; the raw bytes are echoed */
};

/* Decode the common header.  Returns false when the frame is shorter than
 * the header or is not of the AoE EtherType. */
bool aoe_hdr_parse(const uint8_t *frame, size_t len, struct aoe_hdr *h);

/* Does a request for (shelf, slot) reach the target at (my_shelf, my_slot)?
 * Exact, broadcast shelf 0xffff, broadcast slot 0xff and their mixes. */
bool aoe_addressed(uint16_t shelf, uint8_t slot, uint16_t my_shelf, uint8_t my_slot);

/* Write the reply's common header into out: destination = the requester,
 * source = my_mac, version 1, R set, E cleared, the target's shelf/slot, the
 * request's command and tag bytes unchanged. */
void aoe_reply_hdr(uint8_t *out, const uint8_t *req, const uint8_t my_mac[6],
		   uint16_t my_shelf, uint8_t my_slot);

/* Mark a reply as an AoE error. */
void aoe_set_error(uint8_t *reply, uint8_t err);

/* Zero-pad a frame to the Ethernet minimum; returns the new length. */
size_t aoe_pad(uint8_t *frame, size_t len);

const char *aoe_error_name(unsigned err);

#endif
