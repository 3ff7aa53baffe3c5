/*
 * coalesce.h - the coalesced reads of one device (io/ internal): each
 * sub-read of a frame is its own request, linked behind the primary so
 * the replies leave in order.  A frame may carry more sub-reads than there
 * are free request buffers: its bytes then wait in one of a few
 * continuation slots and the rest are issued as buffers come free, so no
 * sub-read is ever silently left unanswered.
 */
#ifndef AOEX_COALESCE_H
#define AOEX_COALESCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "io/request.h"

/* The continuation slots, each with room for a frame of cap bytes. */
int coalesce_init(struct device *d, size_t cap);
void coalesce_free(struct device *d);
/* A slot is in use. */
bool coalesce_busy(const struct device *d);

/* Buffers sub-reads leave to plain requests, so one initiator's coalesced
 * reads cannot starve everybody else. */
unsigned coalesce_reserve(const struct device *d);

/* Start the group of primary g (frame's nsub sub-reads); false if they
 * cannot all be issued now and no continuation slot is free (the frame is
 * dropped and counted: the initiator retransmits it). */
bool coalesce_start(struct device *d, struct iface *ifc, const uint8_t *frame, size_t len,
		    struct req *g, unsigned nsub);
/* A coalesced read that found no buffer at all (reply: its primary's
 * reply header, o its outcome): parked whole. */
void coalesce_park(struct device *d, struct iface *ifc, const uint8_t *frame, size_t len,
		   const uint8_t *reply, const struct aoe_outcome *o);
/* Issue what freed buffers allow (deferred by req_put()). */
void coalesce_continue(struct device *d);

#endif
