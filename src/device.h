/*
 * device.h - one export: the protocol target, its backing store and
 * counters.  device_frame() takes a received frame to its reply.
 */
#ifndef AOEX_DEVICE_H
#define AOEX_DEVICE_H

#include <stdint.h>

#include "engine.h"
#include "net.h"
#include "target.h"

struct device_stats {
	uint64_t reads, writes, flushes, other;
	uint64_t read_bytes, write_bytes;
	uint64_t io_errors;
	uint64_t tx_full;	/* requests dropped: no TX buffer free */
};

struct device {
	char name[16];		/* "e1.2" */
	struct aoe_target t;
	struct backing b;
	struct engine *eng;
	struct device_stats st;
};

/* Handle a frame that arrived on ifc; queues the reply on ifc, if any. */
void device_frame(struct device *d, struct iface *ifc, const uint8_t *frame, size_t len);

/* Flush the backing store through the engine (shutdown); logs a failure. */
void device_flush(struct device *d);

/* Send the unsolicited Query Config advertisement on ifc: to broadcast, or
 * to each MAC of the mask list when it is not empty. */
void device_advertise(struct device *d, struct iface *ifc);

#endif
