/*
 * shadow.h - the shadow file of a frozen export, and the record that lets
 * a restarted aoexd find it.
 *
 * Layout (sparse; holes read as zeros):
 *   0      4096 bytes  header: magic "AOEXSHD1", then little-endian u64s:
 *                      version 1, phase (1 frozen, 2 merging), sectors of
 *                      the export, bitmap offset, bitmap bytes, data
 *                      offset, frozen since (Unix time)
 *   4096   bitmap      one bit per 512-byte sector of the export, bit s % 8
 *                      of byte s / 8: set = the sector's data is in the
 *                      shadow; a multiple of 4096 bytes
 *   data   data area   sector s at data + 512 s (4096-aligned, so O_DIRECT
 *                      takes the same I/O as the base)
 * The bitmap is mapped shared: a bit set is in the page cache at once, so a
 * kill -9 keeps it, and fdatasync of the file makes it durable with the
 * data.
 *
 * The record, DIR/eSHELF.SLOT.freeze in the state directory, two lines
 * "shadow PATH" and "max-size BYTES", replaced atomically.
 */
#ifndef AOEX_SHADOW_H
#define AOEX_SHADOW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum shadow_phase { SHADOW_FROZEN = 1, SHADOW_MERGING = 2 };

struct shadow {
	int fd;
	enum shadow_phase phase;
	uint64_t sectors;
	uint64_t bitmap_off, bitmap_len, data_off;
	uint64_t since;		/* Unix time of the freeze */
	uint8_t *bits;		/* bitmap_len bytes, mapped shared */
};

/* Create path (it must not exist) for an export of sectors: header,
 * size, bitmap mapped; durable (fdatasync, directory fsync) before it
 * returns.  0, or -errno with err. */
int shadow_create(struct shadow *s, const char *path, uint64_t sectors, char *err, size_t errlen);
/* Open an existing one for an export of sectors; -errno and err when it is
 * no shadow or of another size. */
int shadow_open(struct shadow *s, const char *path, uint64_t sectors, char *err, size_t errlen);
void shadow_close(struct shadow *s);
/* Write the phase into the header and make it durable. */
int shadow_set_phase(struct shadow *s, enum shadow_phase p);

static inline bool shadow_bit(const struct shadow *s, uint64_t sect)
{
	return (s->bits[sect >> 3] >> (sect & 7)) & 1;
}
/* Set or clear n bits from sect; returns how many changed. */
uint64_t shadow_mark(struct shadow *s, uint64_t sect, uint64_t n, bool set);
/* Bits set among n from sect. */
uint64_t shadow_count(const struct shadow *s, uint64_t sect, uint64_t n);
/* The first sector >= sect whose bit is set, or s->sectors. */
uint64_t shadow_next(const struct shadow *s, uint64_t sect);

/* The header h (len bytes) of a shadow for an export of sectors, into s:
 * NULL, or why it is no good.  Pure (fuzzed: fuzz_shadow). */
const char *shadow_header_parse(const uint8_t *h, size_t len, uint64_t sectors, struct shadow *s);
/* A record's text (len bytes): its shadow path (absolute) and max-size;
 * NULL, or why it is no good.  Pure (fuzzed). */
const char *shadow_record_parse(const char *buf, size_t len, char *path, size_t pathlen,
				uint64_t *max);

/* The record: save (atomic), load (1 found, 0 none, -1 bad: err), remove. */
int shadow_record_save(const char *file, const char *path, uint64_t max, char *err, size_t errlen);
int shadow_record_load(const char *file, char *path, size_t pathlen, uint64_t *max,
		       char *err, size_t errlen);
int shadow_record_remove(const char *file);

#endif
