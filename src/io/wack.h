/*
 * wack.h - the coalesced write acknowledgements of one device (io/
 * internal: request.c and device.c hand replies in, the loop sends them).
 *
 * The reply of a write from an initiator that negotiated
 * aoexd_coalesced_ack is not sent at once: it is added to the open frame
 * of that initiator and interface (proto/wack.h), at the moment its plain
 * reply would have gone, so never before the write is durable under the
 * export's policy.  The frames go to the TX queues at the end of the
 * wakeup (LOOP_PHASE_REPLY, before the interfaces send), or as soon as one
 * is full: an ack is held for the rest of the wakeup at most.  A frame
 * holding one ack is the plain reply, byte for byte.
 */
#ifndef AOEX_IO_WACK_H
#define AOEX_IO_WACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/device.h"

#define WACK_OPEN 8	/* initiators with a frame open at once */

int wack_init(struct device *d, size_t cap);
void wack_free(struct device *d);
/* The 36-byte reply rep of a write of the initiator rep is addressed to,
 * to go on ifc; crc: that initiator has crc8x4 too. */
void wack_put(struct device *d, struct iface *ifc, const uint8_t *rep, bool crc);
/* Send every open frame now (end of the wakeup, quiesce). */
void wack_flush(struct device *d);

#endif
