/*
 * fuzz_frame.c - libFuzzer target for the whole AoE request dispatcher.
 *
 * Input: one byte of knobs (MTU, read-only), then a frame.  The same target
 * state lives across inputs, so mask lists, reservations and config strings
 * set by one input shape how the next is handled.  Besides ASan/UBSan, the
 * target checks the dispatcher's promises: a reply fits its buffer and the
 * MTU, and an I/O it asks for lies inside the device.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aoe.h"
#include "target.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct aoe_target t = {
	.shelf = 1, .slot = 2, .bufcnt = 16,
	.ata = { .sectors = 4096, .model = "fuzz", .serial = "fz", .firmware = "1" },
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
	static uint8_t out[16384];
	uint8_t *req;
	struct aoe_outcome o;
	unsigned mtu;

	if (size < 1 || size > 9100)
		return 0;
	mtu = (data[0] & 1) ? 9000 : 1500;
	t.ata.readonly = data[0] & 2;
	if (data[0] & 4) {	/* sometimes start from a clean state */
		t.mask.n = 0;
		t.res.n = 0;
	}
	/* a private copy so ASan catches reads past the frame's end */
	req = malloc(size - 1 ? size - 1 : 1);
	memcpy(req, data + 1, size - 1);
	aoe_target_handle(&t, req, size - 1, mac, mtu, out, &o);
	if (o.v != AOE_V_DROP) {
		if (o.len > aoe_reply_capacity(mtu) || o.len > sizeof out)
			abort();
		if (o.cmd == AOE_CMD_ATA && o.len > mtu + 14u)
			abort();
	}
	/* an acknowledged duplicate write writes nothing */
	if (o.v == AOE_V_DUPWRITE && (o.len != 36 || o.ata.op != ATA_OP_NONE))
		abort();
	if (o.v == AOE_V_IO && o.ata.op != ATA_OP_FLUSH) {
		if (o.ata.lba + o.ata.nsect > t.ata.sectors || o.ata.nsect > aoe_max_sectors(mtu))
			abort();
		if (o.ata.op == ATA_OP_WRITE && 36 + (size_t)o.ata.nsect * 512 > size - 1)
			abort();
		if (t.ata.readonly && o.ata.op == ATA_OP_WRITE)
			abort();
	}
	free(req);
	return 0;
}
