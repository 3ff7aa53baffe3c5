/* frame.c - AoE common header. */
#include "config.h"
#include "frame.h"
#include "aoe.h"
#include "wire.h"

#include <string.h>

bool aoe_hdr_parse(const uint8_t *frame, size_t len, struct aoe_hdr *h)
{
	if (len < AOE_HDR_LEN || get_be16(frame + AOE_OFF_TYPE) != AOE_ETHERTYPE)
		return false;
	h->version = frame[AOE_OFF_VERFLAGS] >> 4;
	h->flags = frame[AOE_OFF_VERFLAGS] & 0x0f;
	h->error = frame[AOE_OFF_ERROR];
	h->shelf = get_be16(frame + AOE_OFF_MAJOR);
	h->slot = frame[AOE_OFF_MINOR];
	h->cmd = frame[AOE_OFF_CMD];
	h->tag = get_be32(frame + AOE_OFF_TAG);
	return true;
}

bool aoe_addressed(uint16_t shelf, uint8_t slot, uint16_t my_shelf, uint8_t my_slot)
{
	return (shelf == my_shelf || shelf == AOE_SHELF_ANY) &&
	       (slot == my_slot || slot == AOE_SLOT_ANY);
}

void aoe_reply_hdr(uint8_t *out, const uint8_t *req, const uint8_t my_mac[6],
		   uint16_t my_shelf, uint8_t my_slot)
{
	uint8_t requester[6];

	memcpy(requester, req + AOE_OFF_SRC, 6);	/* out may alias req */
	memmove(out + AOE_OFF_CMD, req + AOE_OFF_CMD, 5);	/* command + tag */
	memcpy(out + AOE_OFF_DST, requester, 6);
	memcpy(out + AOE_OFF_SRC, my_mac, 6);
	put_be16(out + AOE_OFF_TYPE, AOE_ETHERTYPE);
	out[AOE_OFF_VERFLAGS] = (uint8_t)(AOE_VERSION << 4 | AOE_FLAG_R);
	out[AOE_OFF_ERROR] = 0;
	put_be16(out + AOE_OFF_MAJOR, my_shelf);
	out[AOE_OFF_MINOR] = my_slot;
}

void aoe_set_error(uint8_t *reply, uint8_t err)
{
	reply[AOE_OFF_VERFLAGS] |= AOE_FLAG_E;
	reply[AOE_OFF_ERROR] = err;
}

size_t aoe_pad(uint8_t *frame, size_t len)
{
	if (len < AOE_MIN_FRAME) {
		memset(frame + len, 0, AOE_MIN_FRAME - len);
		return AOE_MIN_FRAME;
	}
	return len;
}

const char *aoe_error_name(unsigned err)
{
	static const char *const names[] = {
		[0] = "no error",
		[AOE_ERR_BADCMD] = "unrecognized command",
		[AOE_ERR_BADARG] = "bad argument",
		[AOE_ERR_DEVUNAVAIL] = "device unavailable",
		[AOE_ERR_CFGSET] = "config string present",
		[AOE_ERR_BADVER] = "unsupported version",
		[AOE_ERR_RESERVED] = "target reserved",
	};
	return err < sizeof names / sizeof names[0] ? names[err] : "unknown error";
}
