/*
 * reserve.h - Reserve/Release (AoE command 3).  While the list is non-empty
 * only the initiators in it may issue ATA commands (IDENTIFY excepted, as
 * vblade does, so others can still see what the device is).
 */
#ifndef AOEX_RESERVE_H
#define AOEX_RESERVE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RESERVE_MAX 64

struct reserve {
	unsigned n;
	uint8_t mac[RESERVE_MAX][6];
};

/* May mac use the device?  True when nothing is reserved or mac holds it. */
bool reserve_allows(const struct reserve *r, const uint8_t mac[6]);

/*
 * Handle a Reserve/Release request (len >= 26); out holds the reply's
 * common header.  read: reply with the list.  set: replace the list if the
 * requester may (else AoE error 6); zero MACs releases.  force set: always
 * replace.  More MACs than the frame holds or than RESERVE_MAX, or an
 * unknown RCmd: AoE error 2.  Returns the reply length.
 */
size_t reserve_handle(struct reserve *r, const uint8_t *req, size_t len,
		      uint8_t *out, bool *changed);

#endif
