/*
 * crc8x4.h - AoEde's crc8x4 integrity check: four interleaved CRC-8s over
 * the bytes of an ATA frame from offset 24 (the ATA header and the data).
 *
 * Byte i of the covered range feeds lane i mod 4.  Each lane is the
 * reflected (LSB-first) CRC-8 with polynomial 0xB2 (0x4D in normal form),
 * starts at 0xFF and has no final XOR.  The four results follow the
 * covered bytes, lane 0 first.  Wire-compatible with AoEde's crc.c (its
 * lanes are numbered 1..4); the table here is built by the compiler from
 * the polynomial, not copied.
 */
#ifndef AOEX_CRC8X4_H
#define AOEX_CRC8X4_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CRC8X4_LEN	4
#define CRC8X4_FROM	24	/* first covered byte: the ATA header */

/* One reflected CRC-8 step table entry (exposed for the unit tests). */
uint8_t crc8x4_table(uint8_t i);

/* The four lanes over n bytes at p into out[4]. */
void crc8x4(const uint8_t *p, size_t n, uint8_t out[CRC8X4_LEN]);

/* Append the check of frame[24 .. len) at frame + len (the caller has
 * room for 4 more bytes); returns len + 4.  len >= 24. */
size_t crc8x4_append(uint8_t *frame, size_t len);

/* Whether the 4 bytes at frame + end are the check of frame[24 .. end).
 * The caller made sure end + 4 bytes are there and end >= 24. */
bool crc8x4_ok(const uint8_t *frame, size_t end);

#endif
