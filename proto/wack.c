/* wack.c - coalesced write acknowledgements, both sides (see wack.h). */
#include "config.h"
#include "wack.h"
#include "aoe.h"
#include "crc8x4.h"

#include <string.h>

unsigned wack_max(unsigned mtu, bool crc)
{
	size_t frame = (size_t)mtu + 14, room;

	if (frame < WACK_OFF_ENTRY + (crc ? CRC8X4_LEN : 0))
		return 1;
	room = (frame - WACK_OFF_ENTRY - (crc ? CRC8X4_LEN : 0)) / WACK_ENTRY_LEN;
	return 1 + (unsigned)(room > 255 ? 255 : room);
}

void wack_start(uint8_t *f, const uint8_t *rep)
{
	memcpy(f, rep, ATA_HDR_LEN);
	f[WACK_OFF_COUNT] = 0;
}

void wack_add(uint8_t *f, const uint8_t *rep)
{
	unsigned n = f[WACK_OFF_COUNT]++;

	memcpy(f + WACK_OFF_ENTRY + (size_t)n * WACK_ENTRY_LEN, rep + WACK_ENTRY_FROM,
	       WACK_ENTRY_LEN);
}

size_t wack_finish(uint8_t *f, bool crc)
{
	size_t len;

	if (!f[WACK_OFF_COUNT])
		return ATA_HDR_LEN;	/* one ack: the plain reply, byte for byte */
	len = WACK_OFF_ENTRY + (size_t)f[WACK_OFF_COUNT] * WACK_ENTRY_LEN;
	return crc ? crc8x4_append(f, len) : len;
}

unsigned wack_count(const uint8_t *f, size_t len, bool crc, bool *bad)
{
	size_t end;
	unsigned n;

	*bad = false;
	if (len <= WACK_OFF_COUNT || !(f[ATA_OFF_AFLAGS] & ATA_AFLAG_W) || !f[WACK_OFF_COUNT])
		return 0;
	n = f[WACK_OFF_COUNT];
	end = WACK_OFF_ENTRY + (size_t)n * WACK_ENTRY_LEN;
	if (crc) {
		*bad = len < end + CRC8X4_LEN || !crc8x4_ok(f, end);
		return *bad ? 0 : n;
	}
	if (len < end)		/* only entries wholly inside the frame */
		n = (unsigned)((len - WACK_OFF_ENTRY) / WACK_ENTRY_LEN);
	return n;
}

void wack_entry(const uint8_t *f, unsigned i, uint8_t rep[36])
{
	memcpy(rep, f, WACK_ENTRY_FROM);
	memcpy(rep + WACK_ENTRY_FROM, f + WACK_OFF_ENTRY + (size_t)i * WACK_ENTRY_LEN,
	       WACK_ENTRY_LEN);
}
