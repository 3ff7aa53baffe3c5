/* reserve.c - Reserve/Release. */
#include "config.h"
#include "reserve.h"
#include "aoe.h"
#include "frame.h"

#include <string.h>

bool reserve_allows(const struct reserve *r, const uint8_t mac[6])
{
	if (r->n == 0)
		return true;
	for (unsigned i = 0; i < r->n; i++)
		if (memcmp(r->mac[i], mac, 6) == 0)
			return true;
	return false;
}

size_t reserve_handle(struct reserve *r, const uint8_t *req, size_t len,
		      uint8_t *out, bool *changed)
{
	uint8_t rcmd = req[RES_OFF_RCMD];
	unsigned n = req[RES_OFF_NMACS];
	uint8_t err = 0;

	*changed = false;
	switch (rcmd) {
	case RES_READ:
		break;
	case RES_SET:
		if (!reserve_allows(r, req + AOE_OFF_SRC)) {
			err = AOE_ERR_RESERVED;
			break;
		}
		/* fall through */
	case RES_FORCE_SET:
		if (n > RESERVE_MAX || (size_t)n * 6 > len - RES_HDR_LEN) {
			err = AOE_ERR_BADARG;
			break;
		}
		memmove(r->mac, req + RES_OFF_MACS, (size_t)n * 6);
		r->n = n;
		*changed = true;
		break;
	default:
		err = AOE_ERR_BADARG;
		break;
	}
	out[RES_OFF_RCMD] = rcmd;
	if (err)
		aoe_set_error(out, err);
	out[RES_OFF_NMACS] = (uint8_t)r->n;
	memcpy(out + RES_OFF_MACS, r->mac, (size_t)r->n * 6);
	return RES_HDR_LEN + r->n * 6;
}
