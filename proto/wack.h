/*
 * wack.h - coalesced write acknowledgements (aoexd's extension
 * "aoexd_coalesced_ack", README.extensions section 13): one reply frame
 * acknowledging several writes of one initiator.
 *
 * The frame is the plain reply of its first write (bytes 0..35), then a
 * count byte N at 36 and N entries of 16 bytes from 37: each is bytes
 * 20..35 of the plain reply its write would have had (tag, aflags, ATA
 * error, sector count, status, LBA, reserved).  N = 0 is the plain reply
 * itself (the zero padding).  Only replies to writes with the W flag in
 * aflags are coalesced, so the W bit of byte 24 tells an initiator that
 * byte 36 is a count and not read data.  With crc8x4 also active and
 * N > 0, the crc8x4 check of bytes 24 .. 37 + 16 N - 1 follows the last
 * entry.  Both sides are here: the target builds, the initiator reads.
 */
#ifndef AOEX_WACK_H
#define AOEX_WACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WACK_OFF_COUNT		36
#define WACK_OFF_ENTRY		37
#define WACK_ENTRY_LEN		16
#define WACK_ENTRY_FROM		20	/* an entry is bytes 20..35 of a reply */

/* Writes one frame acknowledges at most on an interface of this MTU (the
 * first one and min(255, room) entries; crc: room for the check too). */
unsigned wack_max(unsigned mtu, bool crc);

/* Target: start frame f with the plain reply rep (36 bytes): one ack. */
void wack_start(uint8_t *f, const uint8_t *rep);
/* Target: add the plain reply rep (36 bytes) of another write of the same
 * initiator as the next entry of f.  The caller keeps the count within
 * wack_max(). */
void wack_add(uint8_t *f, const uint8_t *rep);
/* Target: the length of f before padding: 36 for one ack, else 37 + 16 N,
 * plus the check when crc (which this appends). */
size_t wack_finish(uint8_t *f, bool crc);

/* Initiator: the entries of the ATA reply f (len bytes) from a target with
 * the extension active: 0 unless f is a reply to a write (W in aflags),
 * at least 37 bytes long and N > 0; only entries wholly inside len count.
 * With crc (crc8x4 active too) and N > 0, *bad is set when the check after
 * the N entries is missing or wrong: the whole frame, its first ack too
 * (covered by the check), is to be dropped.  *bad is false otherwise. */
unsigned wack_count(const uint8_t *f, size_t len, bool crc, bool *bad);
/* Initiator: rebuild into rep (36 bytes) the plain reply of entry i
 * (< wack_count()): f's bytes 0..19 and the entry. */
void wack_entry(const uint8_t *f, unsigned i, uint8_t rep[36]);

#endif
