/* crc8x4.c - AoEde's four interleaved CRC-8s (see crc8x4.h). */
#include "config.h"
#include "crc8x4.h"

#include <string.h>

/* The reflected CRC-8 of one byte, eight shift steps of polynomial 0xB2,
 * worked out by the preprocessor so the table is data, not start-up code. */
#define C1(c)	(((c) >> 1) ^ (((c) & 1) * 0xB2))
#define C8(c)	C1(C1(C1(C1(C1(C1(C1(C1(c))))))))
#define R4(i)	C8(i), C8((i) + 1), C8((i) + 2), C8((i) + 3)
#define R16(i)	R4(i), R4((i) + 4), R4((i) + 8), R4((i) + 12)
#define R64(i)	R16(i), R16((i) + 16), R16((i) + 32), R16((i) + 48)

static const uint8_t table[256] = { R64(0), R64(64), R64(128), R64(192) };

uint8_t crc8x4_table(uint8_t i)
{
	return table[i];
}

void crc8x4(const uint8_t *p, size_t n, uint8_t out[CRC8X4_LEN])
{
	uint8_t c0 = 0xFF, c1 = 0xFF, c2 = 0xFF, c3 = 0xFF;
	size_t i = 0;

	/* four lanes side by side: no lane's step waits for another's */
	for (; i + 4 <= n; i += 4) {
		c0 = table[c0 ^ p[i]];
		c1 = table[c1 ^ p[i + 1]];
		c2 = table[c2 ^ p[i + 2]];
		c3 = table[c3 ^ p[i + 3]];
	}
	if (i < n)
		c0 = table[c0 ^ p[i++]];
	if (i < n)
		c1 = table[c1 ^ p[i++]];
	if (i < n)
		c2 = table[c2 ^ p[i++]];
	out[0] = c0;
	out[1] = c1;
	out[2] = c2;
	out[3] = c3;
}

size_t crc8x4_append(uint8_t *frame, size_t len)
{
	crc8x4(frame + CRC8X4_FROM, len - CRC8X4_FROM, frame + len);
	return len + CRC8X4_LEN;
}

bool crc8x4_ok(const uint8_t *frame, size_t end)
{
	uint8_t c[CRC8X4_LEN];

	crc8x4(frame + CRC8X4_FROM, end - CRC8X4_FROM, c);
	return memcmp(c, frame + end, CRC8X4_LEN) == 0;
}
