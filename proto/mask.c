/* mask.c - MAC Mask List. */
#include "config.h"
#include "mask.h"
#include "aoe.h"
#include "frame.h"

#include <string.h>

static int mask_find(const struct macmask *m, const uint8_t mac[6])
{
	for (unsigned i = 0; i < m->n; i++)
		if (memcmp(m->mac[i], mac, 6) == 0)
			return (int)i;
	return -1;
}

bool mask_allows(const struct macmask *m, const uint8_t mac[6])
{
	return m->n == 0 || mask_find(m, mac) >= 0;
}

int mask_add(struct macmask *m, const uint8_t mac[6])
{
	if (mask_find(m, mac) >= 0)
		return 0;
	if (m->n >= MASK_MAX)
		return -1;
	memcpy(m->mac[m->n++], mac, 6);
	return 1;
}

bool mask_del(struct macmask *m, const uint8_t mac[6])
{
	int i = mask_find(m, mac);

	if (i < 0)
		return false;
	memmove(m->mac[i], m->mac[i + 1], (m->n - (unsigned)i - 1) * 6);
	m->n--;
	return true;
}

/* Apply the directives; returns 0 or the MError of the one that failed. */
static uint8_t mask_edit(struct macmask *m, const uint8_t *dir, unsigned count,
			 unsigned *failed_at, bool *changed)
{
	for (unsigned i = 0; i < count; i++, dir += MASK_DIR_LEN) {
		const uint8_t *mac = dir + 2;

		*failed_at = i;
		switch (dir[1]) {
		case MASK_DIR_NONE:
			break;
		case MASK_DIR_ADD: {
			int r = mask_add(m, mac);
			if (r < 0)
				return MASK_ERR_FULL;
			*changed |= r > 0;
			break;
		}
		case MASK_DIR_DEL:
			*changed |= mask_del(m, mac);
			break;
		default:
			return MASK_ERR_BADDIR;
		}
	}
	return 0;
}

size_t mask_handle(struct macmask *m, const uint8_t *req, size_t len,
		   uint8_t *out, bool *changed)
{
	uint8_t mcmd = req[MASK_OFF_MCMD];
	unsigned count = req[MASK_OFF_DCOUNT];
	unsigned failed_at = 0;

	*changed = false;
	out[MASK_OFF_RES] = req[MASK_OFF_RES];
	out[MASK_OFF_MCMD] = mcmd;
	out[MASK_OFF_MERROR] = 0;
	out[MASK_OFF_DCOUNT] = 0;

	if (mcmd == MASK_EDIT) {
		if ((size_t)count * MASK_DIR_LEN > len - MASK_HDR_LEN) {
			aoe_set_error(out, AOE_ERR_BADARG);
			return MASK_HDR_LEN;
		}
		uint8_t merr = mask_edit(m, req + MASK_OFF_DIRS, count, &failed_at, changed);
		if (merr) {
			out[MASK_OFF_MERROR] = merr;
			out[MASK_OFF_DCOUNT] = (uint8_t)failed_at;
			return MASK_HDR_LEN;
		}
	} else if (mcmd != MASK_READ) {
		aoe_set_error(out, AOE_ERR_BADARG);
		return MASK_HDR_LEN;
	}

	out[MASK_OFF_DCOUNT] = (uint8_t)m->n;
	for (unsigned i = 0; i < m->n; i++) {
		uint8_t *d = out + MASK_OFF_DIRS + i * MASK_DIR_LEN;
		d[0] = 0;
		d[1] = MASK_DIR_NONE;
		memcpy(d + 2, m->mac[i], 6);
	}
	return MASK_HDR_LEN + m->n * MASK_DIR_LEN;
}
