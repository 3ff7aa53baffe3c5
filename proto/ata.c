/* ata.c - ATA command decisions and IDENTIFY DEVICE for an AoE target. */
#include "config.h"
#include "ata.h"
#include "aoe.h"
#include "frame.h"
#include "wire.h"

#include <string.h>

void ata_put_string(uint8_t *dst, size_t len, const char *s)
{
	size_t n = strlen(s);

	for (size_t i = 0; i < len; i++) {
		/* ATA strings store the first character in the high byte */
		uint8_t c = i < n ? (uint8_t)s[i] : ' ';
		dst[i ^ 1] = c;
	}
}

static void put_word(uint8_t *id, unsigned word, uint16_t v)
{
	put_le16(id + 2 * word, v);
}

void ata_identify(const struct ata_dev *dev, uint8_t id[512])
{
	uint64_t lba28 = dev->sectors > ATA_LBA28_MAX ? ATA_LBA28_MAX : dev->sectors;
	uint16_t wc = dev->wcache ? 1u << 5 : 0;

	memset(id, 0, 512);
	put_word(id, 0, 0x0040);		/* fixed device */
	put_word(id, 1, 16383);			/* CHS: the ATA "big disk" values */
	put_word(id, 3, 16);
	put_word(id, 6, 63);
	ata_put_string(id + 2 * 10, 20, dev->serial);
	ata_put_string(id + 2 * 23, 8, dev->firmware);
	ata_put_string(id + 2 * 27, 40, dev->model);
	put_word(id, 47, 0x8000);		/* no READ/WRITE MULTIPLE */
	put_word(id, 49, 1u << 9);		/* LBA supported */
	put_word(id, 50, 0x4000);
	put_word(id, 53, 1u << 1 | 1u << 2);	/* words 64-70 and 88 valid */
	put_word(id, 60, (uint16_t)lba28);
	put_word(id, 61, (uint16_t)(lba28 >> 16));
	put_word(id, 80, 0x00f0);		/* ATA/ATAPI-4 .. 7 */
	put_word(id, 82, wc);			/* write cache supported only if volatile */
	put_word(id, 83, 1u << 14 | 1u << 13 | 1u << 12 | 1u << 10);
	put_word(id, 84, 1u << 14);
	put_word(id, 85, wc);
	put_word(id, 86, 1u << 13 | 1u << 12 | 1u << 10);
	put_word(id, 87, 1u << 14);
	put_word(id, 93, 0x400b);
	put_le64(id + 2 * 100, dev->sectors);	/* LBA48 capacity, words 100-103 */
	put_word(id, 106, 0x4000);		/* one logical sector per physical */
}

static bool is_rw(uint8_t cmd)
{
	return cmd == ATA_READ || cmd == ATA_READ_EXT ||
	       cmd == ATA_WRITE || cmd == ATA_WRITE_EXT;
}

static size_t reply_error(uint8_t *out, struct ata_req *r, uint8_t err)
{
	r->op = ATA_OP_NONE;
	r->ata_error = err;
	out[ATA_OFF_ERR] = err;
	out[ATA_OFF_STATUS] = ATA_ST_DRDY | ATA_ST_ERR;
	return ATA_HDR_LEN;
}

static size_t aoe_error(uint8_t *out, struct ata_req *r, uint8_t err)
{
	r->op = ATA_OP_NONE;
	r->aoe_error = err;
	aoe_set_error(out, err);
	return ATA_HDR_LEN;
}

static size_t handle_rw(const struct ata_dev *dev, const uint8_t *req, size_t len,
			unsigned maxsect, uint8_t *out, struct ata_req *r)
{
	uint8_t cmd = req[ATA_OFF_CMD];
	bool ext = cmd == ATA_READ_EXT || cmd == ATA_WRITE_EXT;
	bool write = cmd == ATA_WRITE || cmd == ATA_WRITE_EXT;
	uint64_t lba = get_le48(req + ATA_OFF_LBA);
	/* A count of 0 moves nothing, as vblade and the Linux initiator agree;
	 * the ATA meaning (256/65536) could never fit in one frame anyway. */
	uint32_t n = req[ATA_OFF_SCNT];

	if (!ext)
		lba &= ATA_LBA28_MAX;	/* top nibble of byte 3 is device/head */
	if (n > maxsect)
		return aoe_error(out, r, AOE_ERR_BADARG);
	if (write && len - ATA_HDR_LEN < (size_t)n * ATA_SECTOR)
		return aoe_error(out, r, AOE_ERR_BADARG);	/* short payload */
	/* a 28-bit command reaches only the capacity IDENTIFY words 60-61
	 * report (found by fuzzing: LBA 0x0FFFFFFF count 2 read sector 2^28) */
	uint64_t cap = ext || dev->sectors < ATA_LBA28_MAX ? dev->sectors : ATA_LBA28_MAX;
	if (lba > cap || n > cap - lba)
		return reply_error(out, r, ATA_ER_IDNF);
	if (write && dev->readonly)
		return reply_error(out, r, ATA_ER_ABRT);
	r->lba = lba;
	r->nsect = n;
	out[ATA_OFF_SCNT] = 0;
	if (n == 0) {
		r->op = ATA_OP_NONE;
		return ATA_HDR_LEN;
	}
	r->op = write ? ATA_OP_WRITE : ATA_OP_READ;
	return ATA_HDR_LEN + (write ? 0 : (size_t)n * ATA_SECTOR);
}

size_t ata_handle(const struct ata_dev *dev, const uint8_t *req, size_t len,
		  unsigned maxsect, uint8_t *out, struct ata_req *r)
{
	uint8_t cmd = req[ATA_OFF_CMD];

	memset(r, 0, sizeof *r);
	memmove(out + ATA_OFF_AFLAGS, req + ATA_OFF_AFLAGS, ATA_HDR_LEN - ATA_OFF_AFLAGS);
	out[ATA_OFF_ERR] = 0;
	out[ATA_OFF_STATUS] = ATA_ST_DRDY;

	if (is_rw(cmd))
		return handle_rw(dev, req, len, maxsect, out, r);

	switch (cmd) {
	case ATA_IDENTIFY:
		if (maxsect < 1)
			return aoe_error(out, r, AOE_ERR_BADARG);
		out[ATA_OFF_SCNT] = 0;
		ata_identify(dev, out + ATA_OFF_DATA);
		return ATA_HDR_LEN + 512;
	case ATA_CHECK_POWER:
		out[ATA_OFF_SCNT] = 0xff;	/* active or idle */
		return ATA_HDR_LEN;
	case ATA_FLUSH:
	case ATA_FLUSH_EXT:
		out[ATA_OFF_SCNT] = 0;
		r->op = ATA_OP_FLUSH;
		return ATA_HDR_LEN;
	default:
		return reply_error(out, r, ATA_ER_ABRT);
	}
}

size_t ata_io_failed(uint8_t *out, const struct ata_req *r)
{
	out[ATA_OFF_ERR] = r->op == ATA_OP_READ ? ATA_ER_UNC : ATA_ER_ABRT;
	out[ATA_OFF_STATUS] = ATA_ST_DRDY | ATA_ST_ERR;
	return ATA_HDR_LEN;
}
