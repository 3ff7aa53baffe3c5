/*
 * target_ext.h - between target.c and target_ext.c only: the Extensions
 * side of the dispatcher (per-initiator state applied to requests).
 */
#ifndef AOEX_TARGET_EXT_H
#define AOEX_TARGET_EXT_H

#include <stddef.h>
#include <stdint.h>

#include "target.h"

/* target.c: decide an ATA request that passed the access checks (the ATA
 * part of out, o->v/len/ata, the ATA error count). */
void aoe_target_ata(struct aoe_target *t, const uint8_t *req, size_t len,
		    unsigned mtu, uint8_t *out, struct aoe_outcome *o);

/* An Extensions request: the reply into out (header already written) and
 * the sender's entry, created if need be; NULL when the table is invalid
 * (the caller drops the frame). */
struct ext_peer *aoe_ext_request(struct aoe_target *t, const uint8_t *req, size_t len,
				 unsigned mtu, uint8_t *out, struct aoe_outcome *o);

/* Whether an ATA request of peer p is a crc8x4 write to drop: p negotiated
 * crc8x4, the command is WRITE (EXT) or the W flag is set, and either the
 * frame holds the 4 check bytes after its 36 + count * 512 bytes and they
 * do not match, or it is shorter than 36 + count * 512 (the covered count
 * was damaged).  A frame of exactly the data, no check, is taken as it is
 * (AoEde checks a write only when the check is there). */
bool aoe_ext_crc_bad(const struct ext_peer *p, const uint8_t *req, size_t len);

/* An ATA request of peer p (NULL: plain AoE) was decided by ata_handle():
 * apply the tag window and find coalesced sub-reads. */
void aoe_ext_ata(struct aoe_target *t, struct ext_peer *p, const uint8_t *req,
		 size_t len, struct aoe_outcome *o);

#endif
