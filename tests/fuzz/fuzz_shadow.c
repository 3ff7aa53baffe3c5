/*
 * fuzz_shadow.c - libFuzzer target for what a restarted aoexd reads back of
 * a freeze: the shadow file's header (shadow_header_parse) and the record
 * in the state directory (shadow_record_parse).  The first input byte picks
 * the export size the header is checked against; the rest is the header,
 * then the same bytes as a record.  Checks: a header taken is consistent
 * (bitmap right after it, one bit per sector, data right after the
 * bitmap); a record taken names an absolute, NUL-terminated path that fits.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "io/freeze/shadow.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(c) do { if (!(c)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint64_t sizes[] = { 0, 1, 8, 4096, 1ULL << 21, 1ULL << 40 };
	struct shadow s;
	char path[64];
	uint64_t max;
	uint8_t *h;

	if (size < 1)
		return 0;
	uint64_t sectors = sizes[data[0] % 6];
	/* an exact-size copy: ASan sees any read past it */
	h = malloc(size - 1 ? size - 1 : 1);
	memcpy(h, data + 1, size - 1);
	memset(&s, 0, sizeof s);
	if (!shadow_header_parse(h, size - 1, sectors, &s)) {
		check(s.sectors == sectors && s.bitmap_off == 4096);
		check(s.bitmap_len * 8 >= sectors && s.bitmap_len % 4096 == 0);
		check(s.data_off == s.bitmap_off + s.bitmap_len);
		check(s.phase == SHADOW_FROZEN || s.phase == SHADOW_MERGING);
	}
	if (!shadow_record_parse((const char *)h, size - 1, path, sizeof path, &max))
		check(path[0] == '/' && strlen(path) < sizeof path);
	free(h);
	return 0;
}
