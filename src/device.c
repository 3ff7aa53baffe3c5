/* device.c - from a request frame to the disk and back to a reply. */
#include "config.h"
#include "device.h"
#include "aoe.h"
#include "frame.h"
#include "log.h"

#include <string.h>

struct frame_io {
	struct eng_io io;
	struct device *d;
	struct iface *ifc;
	struct aoe_outcome *o;
	uint8_t *out;
};

static void io_done(struct eng_io *io)
{
	struct frame_io *fio = (struct frame_io *)io;
	struct device *d = fio->d;
	struct aoe_outcome *o = fio->o;

	if (io->res < 0) {
		static const char *const opname[] = { "read", "write", "flush" };
		d->st.io_errors++;
		d->t.st.ata_errors++;
		log_err("%s: %s of %zu bytes at sector %llu failed: %s", d->name,
			opname[io->op], io->len, (unsigned long long)o->ata.lba, strerror(-io->res));
		o->len = ata_io_failed(fio->out, &o->ata);
	}
	iface_tx_put(fio->ifc, aoe_pad(fio->out, o->len));
}

static void start_io(struct device *d, struct iface *ifc, const uint8_t *frame,
		     uint8_t *out, struct aoe_outcome *o)
{
	struct frame_io fio = { .d = d, .ifc = ifc, .o = o, .out = out };
	size_t bytes = (size_t)o->ata.nsect * ATA_SECTOR;

	fio.io.off = o->ata.lba * ATA_SECTOR;
	fio.io.len = bytes;
	fio.io.done = io_done;
	switch (o->ata.op) {
	case ATA_OP_READ:
		fio.io.op = ENG_READ;
		fio.io.buf = out + ATA_OFF_DATA;	/* straight into the reply */
		d->st.reads++;
		d->st.read_bytes += bytes;
		break;
	case ATA_OP_WRITE:
		fio.io.op = ENG_WRITE;
		fio.io.buf = (uint8_t *)frame + ATA_OFF_DATA;
		d->st.writes++;
		d->st.write_bytes += bytes;
		break;
	default:
		fio.io.op = ENG_FLUSH;
		d->st.flushes++;
		break;
	}
	/* the synchronous engine completes before returning, so fio may live
	 * on this stack frame */
	engine_submit(d->eng, &d->b, &fio.io);
}

void device_frame(struct device *d, struct iface *ifc, const uint8_t *frame, size_t len)
{
	struct aoe_outcome o;
	uint8_t *out = iface_tx_get(ifc);

	if (!out) {
		d->st.tx_full++;
		return;
	}
	aoe_target_handle(&d->t, frame, len, ifc->mac, ifc->mtu, out, &o);
	switch (o.v) {
	case AOE_V_DROP:
		return;		/* the buffer stays free */
	case AOE_V_REPLY:
		if (o.cmd == AOE_CMD_ATA)
			d->st.other++;
		iface_tx_put(ifc, aoe_pad(out, o.len));
		break;
	case AOE_V_IO:
		start_io(d, ifc, frame, out, &o);
		break;
	}
	if (o.changed)
		log_info("%s: %s changed by a request", d->name,
			 o.changed & AOE_CHANGED_CONFIG ? "config string" :
			 o.changed & AOE_CHANGED_MASK ? "mask list" : "reservation");
}

static void flush_done(struct eng_io *io)
{
	struct device *d = io->ctx;

	if (io->res < 0)
		log_err("%s: final flush of %s failed: %s", d->name, d->b.path, strerror(-io->res));
}

void device_flush(struct device *d)
{
	/* the synchronous engine completes before engine_submit() returns */
	struct eng_io io = { .op = ENG_FLUSH, .done = flush_done, .ctx = d };

	if (!d->b.readonly)
		engine_submit(d->eng, &d->b, &io);
}

void device_advertise(struct device *d, struct iface *ifc)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	unsigned n = d->t.mask.n;

	for (unsigned i = 0; i < (n ? n : 1); i++) {
		uint8_t *out = iface_tx_get(ifc);
		if (!out)
			return;
		size_t len = aoe_target_advert(&d->t, ifc->mac, ifc->mtu,
					       n ? d->t.mask.mac[i] : bcast, out);
		iface_tx_put(ifc, len);
	}
	iface_tx_flush(ifc);
}
