/*
 * seen.h - the initiators one device has heard from: a small fixed table of
 * source MACs with a frame count each, for aoexctl status.  Noting a frame
 * costs a scan that usually stops at the first entry (the last initiator
 * seen is checked first); no allocation.
 */
#ifndef AOEX_SEEN_H
#define AOEX_SEEN_H

#include <stddef.h>
#include <stdint.h>

#define SEEN_MAX 32

struct seen {
	unsigned n, last;
	uint64_t overflow;		/* requests from MACs past SEEN_MAX */
	struct {
		uint8_t mac[6];
		uint64_t frames;	/* requests addressed to the device */
	} e[SEEN_MAX];
};

/* Count a request from src (addressed to the device: the registry found it). */
void seen_note(struct seen *s, const uint8_t src[6]);

#endif
