/*
 * ata.h - the ATA side of an AoE target: command decisions and IDENTIFY.
 *
 * Pure: ata_handle() says what a request needs (nothing, a read, a write or
 * a flush of the backing store) and writes the ATA part of the reply; the
 * daemon does the I/O and calls ata_io_failed() if it fails.
 */
#ifndef AOEX_ATA_H
#define AOEX_ATA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ata_dev {
	uint64_t sectors;	/* exported size in 512-byte sectors */
	bool readonly;
	bool wcache;		/* volatile write cache (write-back policy) */
	char model[41];		/* IDENTIFY strings, space padded on the wire */
	char serial[21];
	char firmware[9];
};

enum ata_op {
	ATA_OP_NONE,		/* reply is complete as written */
	ATA_OP_READ,		/* read nsect sectors at lba into reply + 36 */
	ATA_OP_WRITE,		/* write nsect sectors from request + 36 at lba */
	ATA_OP_FLUSH,		/* make earlier writes durable, then reply */
};

struct ata_req {
	enum ata_op op;
	uint64_t lba;
	uint32_t nsect;
	uint8_t aoe_error;	/* non-zero: the reply carries this AoE error */
	uint8_t ata_error;	/* ATA error register of the reply (0 = ok) */
};

/*
 * Decide the ATA command in req (len >= 36).  out already holds the reply's
 * common header; ata_handle() fills bytes 24..35 (and the IDENTIFY data).
 * maxsect is how many sectors fit in one frame on the receiving interface.
 * Returns the reply length before padding; for ATA_OP_READ that includes
 * the nsect * 512 data bytes the caller must place at out + 36.
 */
size_t ata_handle(const struct ata_dev *dev, const uint8_t *req, size_t len,
		  unsigned maxsect, uint8_t *out, struct ata_req *r);

/* The backing store failed the I/O of r: turn the reply into an ATA error
 * (DRDY|ERR with UNC for reads, ABRT otherwise).  Returns the new length. */
size_t ata_io_failed(uint8_t *out, const struct ata_req *r);

/* Build the 512-byte IDENTIFY DEVICE data. */
void ata_identify(const struct ata_dev *dev, uint8_t id[512]);

/* Fill an ATA string field: space padded, two bytes of each word swapped. */
void ata_put_string(uint8_t *dst, size_t len, const char *s);

#endif
