/* coalesce.c - coalesced read descriptors. */
#include "config.h"
#include "coalesce.h"
#include "aoe.h"
#include "wire.h"

#include <string.h>

unsigned cr_count(const uint8_t *req, size_t len, unsigned *ignored)
{
	unsigned n, fit;

	*ignored = 0;
	if (len <= CR_OFF_COUNT)
		return 0;
	n = req[CR_OFF_COUNT];
	fit = (unsigned)((len - CR_OFF_DESC) / CR_DESC_LEN);
	if (n <= fit)
		return n;
	*ignored = n - fit;
	return fit;
}

void cr_desc_get(const uint8_t *req, unsigned i, struct cr_desc *d)
{
	const uint8_t *p = req + CR_OFF_DESC + (size_t)i * CR_DESC_LEN;

	memcpy(d->tag, p + CR_D_TAG, 4);
	d->lba = get_le48(p + CR_D_LBA);
	d->count = p[CR_D_SCNT];
}

void cr_desc_put(uint8_t *req, unsigned i, const struct cr_desc *d)
{
	uint8_t *p = req + CR_OFF_DESC + (size_t)i * CR_DESC_LEN;

	memcpy(p + CR_D_TAG, d->tag, 4);
	put_le48(p + CR_D_LBA, d->lba);
	memset(p + CR_D_LBA + 6, 0, CR_D_SCNT - (CR_D_LBA + 6));	/* reserved */
	p[CR_D_SCNT] = d->count;
}

void cr_synthesize(const uint8_t *req, const struct cr_desc *d, uint8_t f[36])
{
	memcpy(f, req, ATA_HDR_LEN);
	memcpy(f + AOE_OFF_TAG, d->tag, 4);
	f[ATA_OFF_SCNT] = d->count;
	put_le48(f + ATA_OFF_LBA, d->lba);
}
