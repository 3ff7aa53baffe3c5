/*
 * served.c - one export's life in the daemon: opened and started (at
 * start or by a reload), advertised, its state persisted when requests
 * change it, and removed with every request in hand answered first.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "common/log.h"
#include "state/state.h"

void served_init(struct served *s)
{
	memset(s, 0, sizeof *s);
	for (unsigned i = 0; i < DM_MAX_IFACES; i++)
		s->lock_fd[i] = -1;
}

bool served_wants(const struct daemon *dm, const struct served *s, const char *ifname)
{
	return !dm->conf || conf_device_on_iface(&s->conf, ifname);
}

void served_unlock(struct served *s, unsigned i)
{
	if (s->lock_fd[i] >= 0)
		close(s->lock_fd[i]);
	s->lock_fd[i] = -1;
}

int served_bind_ifaces(struct daemon *dm, struct served *s, char *err, size_t errlen)
{
	int rc = 0;

	for (unsigned i = 0; i < dm->n_ifaces; i++) {
		const struct iface *ifc = &dm->ifaces[i];
		if (!ifc->name[0] || !served_wants(dm, s, ifc->name)) {
			s->iface_mask &= ~(1u << i);
			served_unlock(s, i);
			continue;
		}
		s->iface_mask |= 1u << i;
		if (!dm_iface_attached(ifc) || s->lock_fd[i] >= 0)
			continue;
		int fd = dm_lock_address(s->dev.t.shelf, s->dev.t.slot, ifc->name, err, errlen);
		if (fd == -2) {
			s->iface_mask &= ~(1u << i);
			rc = -1;
		}
		s->lock_fd[i] = fd < 0 ? -1 : fd;
	}
	return rc;
}

void served_default_serial(const struct daemon *dm, struct served *s)
{
	char buf[96] = "";

	/* SHELF.SLOT:hostname, cut to IDENTIFY's 20 characters */
	snprintf(buf, sizeof buf, "%u.%u:%s", s->dev.t.shelf, s->dev.t.slot, dm->host);
	memcpy(s->dev.t.ata.serial, buf, sizeof s->dev.t.ata.serial - 1);
	s->dev.t.ata.serial[sizeof s->dev.t.ata.serial - 1] = 0;
}

void served_advertise(struct daemon *dm, struct served *s, struct iface *ifc)
{
	unsigned mtu = device_mtu(&s->dev, ifc);

	if (!dm->conf || s->conf.broadcast) {
		device_advertise(&s->dev, ifc);
		return;
	}
	for (unsigned m = 0; m < s->conf.accept.n; m++) {
		const uint8_t *mac = s->conf.accept.mac[m];
		uint8_t *out;
		if (!conf_mac_allowed(&s->conf, mac) || !(out = iface_tx_get(ifc)))
			continue;
		iface_tx_put(ifc, aoe_target_advert(&s->dev.t, ifc->mac, mtu, mac, out));
	}
	iface_tx_flush(ifc);
}

void served_load_state(struct daemon *dm, struct served *s)
{
	struct aoe_target *t = &s->dev.t;
	char err[1400];
	int rc;

	if (!dm->state_dir[0])
		return;
	rc = state_load(dm->state_dir, t, err, sizeof err);
	if (rc < 0)
		log_warn("%s: state file %s; ignored", s->dev.name, err);
	else if (rc > 0)
		log_notice("%s: state restored: config string of %u bytes, %u in the mask list, "
			   "%u reserved", s->dev.name, t->qc.len, t->mask.n, t->res.n);
}

void served_persist(struct daemon *dm, struct served *s)
{
	char err[1400];

	if (!s->dev.changed)
		return;
	s->dev.changed = 0;
	if (dm->state_dir[0] && state_save(dm->state_dir, &s->dev.t, err, sizeof err) < 0)
		log_err("%s: cannot save its state: %s", s->dev.name, err);
}

int served_start(struct daemon *dm, struct served *s, char *err, size_t errlen)
{
	const struct conf_device *cd = &s->conf;
	const struct conf_tuning *tu = &cd->tune;
	struct device *d = &s->dev;
	struct device_conf dc = {
		.queue_depth = tu->queue_depth > CONF_MIN_DISK_DEPTH ? tu->queue_depth : CONF_MIN_DISK_DEPTH,
		.merge_delay_us = tu->merge_delay_us,
		/* room for jumbo frames: an interface may come or grow later */
		.mtu_max = 9000,
		.cache = {
			.ra_chunk = (size_t)tu->read_ahead,
			.ra_streams = tu->read_ahead_streams,
			.write_back = tu->write_policy == CONF_WRITE_BACK,
			.wb_chunk = tu->write_behind ? (size_t)tu->write_behind : 512 * 1024,
			.wb_max_dirty = (size_t)tu->write_back_max_dirty,
			.wb_max_age_ms = tu->write_back_max_age_ms,
		},
	};

	d->t.bufcnt = (uint16_t)tu->queue_depth;
	d->t.ata.sectors = d->b.size / 512;
	d->t.ata.readonly = cd->read_only;
	d->t.ata.wcache = dc.cache.write_back;
	snprintf(d->t.ata.model, sizeof d->t.ata.model, "%s", cd->model);
	if (cd->serial[0])
		snprintf(d->t.ata.serial, sizeof d->t.ata.serial, "%s", cd->serial);
	else
		served_default_serial(dm, s);
	snprintf(d->t.ata.firmware, sizeof d->t.ata.firmware, "%s", PACKAGE_VERSION);
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		if ((s->iface_mask & (1u << i)) && dm->ifaces[i].mtu > dc.mtu_max)
			dc.mtu_max = dm->ifaces[i].mtu;
	if (device_init(d, dm->eng, &dm->loop, &dc, err, errlen) < 0)
		return -1;
	served_load_state(dm, s);
	return 0;
}

static void unlock_all(struct served *s)
{
	for (unsigned i = 0; i < DM_MAX_IFACES; i++)
		served_unlock(s, i);
}

/* A free slot: a retired one, or one more at the end. */
static struct served *free_slot(struct daemon *dm)
{
	for (unsigned k = 0; k < dm->n_devs; k++)
		if (dm->devs[k].retired)
			return &dm->devs[k];
	return dm->n_devs < dm->cap_devs ? &dm->devs[dm->n_devs] : NULL;
}

int served_open(struct served *s, const struct conf_device *cd, char *err, size_t errlen)
{
	struct backing_opts bo = {
		.readonly = cd->read_only, .direct = cd->tune.direct_io,
		.offset = cd->offset, .length = cd->length,
	};
	char path[CONF_PATH_MAX], berr[320];

	served_init(s);
	s->conf = *cd;
	s->acl = true;
	snprintf(s->dev.name, sizeof s->dev.name, "e%u.%u", cd->shelf, cd->slot);
	s->dev.t.shelf = (uint16_t)cd->shelf;
	s->dev.t.slot = (uint8_t)cd->slot;
	if (conf_device_resolve(cd, path, sizeof path) < 0) {
		snprintf(err, errlen, "no %s %s: %s", cd->uuid[0] ? "uuid" : "label",
			 cd->uuid[0] ? cd->uuid : cd->label, strerror(errno));
		return -1;
	}
	if (backing_open(&s->dev.b, path, &bo, berr, sizeof berr) < 0) {
		snprintf(err, errlen, "%s", berr);
		return -1;
	}
	return 0;
}

int served_add(struct daemon *dm, const struct conf_device *cd, char *err, size_t errlen)
{
	struct served *s = free_slot(dm);

	if (!s) {
		snprintf(err, errlen, "no room for more than %u devices", dm->cap_devs);
		return -1;
	}
	if (served_open(s, cd, err, errlen) < 0) {
		s->retired = true;
		return -1;
	}
	if (served_bind_ifaces(dm, s, err, errlen) < 0 || served_start(dm, s, err, errlen) < 0) {
		device_free(&s->dev);
		backing_close(&s->dev.b);
		unlock_all(s);
		s->iface_mask = 0;
		s->retired = true;
		return -1;
	}
	if (s == &dm->devs[dm->n_devs])
		dm->n_devs++;
	return 0;
}

void served_remove(struct daemon *dm, struct served *s)
{
	s->iface_mask = 0;		/* no new frames */
	device_quiesce(&s->dev);	/* what is in hand is answered */
	device_sync(&s->dev);		/* written back and flushed */
	served_persist(dm, s);
	device_free(&s->dev);
	backing_close(&s->dev.b);
	unlock_all(s);
	s->retired = true;
	while (dm->n_devs && dm->devs[dm->n_devs - 1].retired)
		dm->n_devs--;
}
