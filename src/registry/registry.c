/*
 * registry.c - the exports, their interface bindings and the frame
 * dispatch (see registry.h).  Adding and removing them by configuration is
 * apply.c; the address lock files are lock.c.
 */
#include "config.h"
#include "registry/registry.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/aoe.h"
#include "proto/frame.h"
#include "proto/mask.h"
#include "state/state.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void persist_due(struct loop_task *t);

void registry_init(struct registry *r, struct loop *l, struct ifaces *ifs, const char *state_dir)
{
	memset(r, 0, sizeof *r);
	r->loop = l;
	r->ifs = ifs;
	snprintf(r->state_dir, sizeof r->state_dir, "%s", state_dir);
	gethostname(r->host, sizeof r->host - 1);
	r->persist_task = (struct loop_task){ .fn = persist_due, .ctx = r, .phase = LOOP_PHASE_AFTER };
}

void registry_set_engine(struct registry *r, struct engine *e, unsigned eng_max)
{
	r->eng = e;
	r->eng_max = eng_max;
}

const char *registry_dev_name(const struct reg_dev *d)
{
	return d->conf.name[0] ? d->conf.name : d->dev.name;
}

struct reg_dev *registry_find(struct registry *r, const char *name)
{
	for (struct reg_dev *d = r->devs; d; d = d->next)
		if (strcmp(d->conf.name, name) == 0 || strcmp(d->dev.name, name) == 0)
			return d;
	return NULL;
}

/* ------------------------------------------------------------ the index */

static uint32_t addr_of(unsigned shelf, unsigned slot)
{
	return (uint32_t)shelf << 8 | slot;
}

/* The index of slot i again, from the devices bound to it (bindings change
 * at attach, detach and apply only: rebuilding is simpler than editing). */
static void reindex(struct registry *r, unsigned i)
{
	struct reg_index *x = &r->idx[i];
	unsigned n = 0;

	for (struct reg_dev *d = r->devs; d; d = d->next)
		n += (d->iface_mask >> i) & 1;
	if (n > x->cap) {
		struct reg_entry *e = realloc(x->e, n * sizeof *e);
		if (!e) {
			log_err("out of memory indexing the devices of %s: it serves none now",
				r->ifs->ifc[i].name);
			x->n = 0;
			return;
		}
		x->e = e;
		x->cap = n;
	}
	x->n = 0;
	for (struct reg_dev *d = r->devs; d; d = d->next) {
		if (!((d->iface_mask >> i) & 1))
			continue;
		/* insertion sort: a handful of devices per interface */
		uint32_t a = addr_of(d->dev.t.shelf, d->dev.t.slot);
		unsigned k = x->n++;
		while (k > 0 && x->e[k - 1].addr > a) {
			x->e[k] = x->e[k - 1];
			k--;
		}
		x->e[k] = (struct reg_entry){ a, d };
	}
}

static struct reg_dev *lookup(const struct reg_index *x, uint32_t a)
{
	unsigned lo = 0, hi = x->n;

	while (lo < hi) {
		unsigned mid = (lo + hi) / 2;
		if (x->e[mid].addr < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < x->n && x->e[lo].addr == a ? x->e[lo].d : NULL;
}

/* ------------------------------------------------------- the frame path */

/* A request for d: its access list, the initiators seen, the device. */
static void deliver(struct registry *r, struct reg_dev *d, struct iface *ifc,
		    const struct aoe_hdr *h, const uint8_t *f, size_t len)
{
	const uint8_t *src = f + AOE_OFF_SRC;

	if (!conf_mac_allowed(&d->conf, src)) {
		d->acl_denied++;
		return;
	}
	seen_note(&d->seen, src);
	device_frame(&d->dev, ifc, h, f, len);
	if (d->dev.changed)	/* config string, mask or reservation: to disk */
		loop_defer(r->loop, &r->persist_task);
}

void registry_frame(struct registry *r, unsigned i, struct iface *ifc, const uint8_t *f, size_t len)
{
	const struct reg_index *x = &r->idx[i];
	struct aoe_hdr h;
	bool found = false;

	if (!aoe_hdr_parse(f, len, &h)) {
		ifc->st.runts++;
		return;
	}
	if (h.flags & AOE_FLAG_R) {
		ifc->st.responses++;	/* another target's, or our own looped back */
		return;
	}
	if (h.shelf != AOE_SHELF_ANY && h.slot != AOE_SLOT_ANY) {
		struct reg_dev *d = lookup(x, addr_of(h.shelf, h.slot));
		if (d) {
			deliver(r, d, ifc, &h, f, len);
			return;
		}
	} else {
		/* a broadcast shelf or slot reaches every device it matches */
		for (unsigned k = 0; k < x->n; k++) {
			struct reg_dev *d = x->e[k].d;
			if (!aoe_addressed(h.shelf, h.slot, d->dev.t.shelf, d->dev.t.slot))
				continue;
			found = true;
			deliver(r, d, ifc, &h, f, len);
		}
		if (found)
			return;
	}
	ifc->st.not_addressed++;
}

/* ---------------------------------------------------- bindings, locks */

static void unlock(struct reg_dev *d, unsigned i)
{
	if (d->lock_fd[i] >= 0)
		close(d->lock_fd[i]);
	d->lock_fd[i] = -1;
}

int registry_bind(struct registry *r, struct reg_dev *d, char *err, size_t errlen)
{
	const struct ifaces *s = r->ifs;
	uint32_t before = d->iface_mask;
	int rc = 0;

	for (unsigned i = 0; i < s->n; i++) {
		const char *name = s->ifc[i].name;
		if (!ifaces_attached(s, i) || !conf_device_on_iface(&d->conf, name)) {
			d->iface_mask &= ~(1u << i);
			unlock(d, i);
			continue;
		}
		if (d->lock_fd[i] < 0) {
			int fd = registry_lock_address(d->dev.t.shelf, d->dev.t.slot, name, err, errlen);
			if (fd == -2) {
				d->iface_mask &= ~(1u << i);
				rc = -1;
				continue;
			}
			d->lock_fd[i] = fd < 0 ? -1 : fd;
		}
		d->iface_mask |= 1u << i;
	}
	for (unsigned i = 0; i < s->n; i++)
		if (((before ^ d->iface_mask) >> i) & 1)
			reindex(r, i);
	return rc;
}

void registry_unbind_all(struct registry *r, struct reg_dev *d)
{
	uint32_t before = d->iface_mask;

	d->iface_mask = 0;
	for (unsigned i = 0; i < IFACES_MAX; i++) {
		unlock(d, i);
		if ((before >> i) & 1)
			reindex(r, i);
	}
}

void registry_iface_attached(struct registry *r, unsigned i, bool announce)
{
	char err[320];

	for (struct reg_dev *d = r->devs; d; d = d->next)
		if (conf_device_on_iface(&d->conf, r->ifs->ifc[i].name) &&
		    registry_bind(r, d, err, sizeof err) < 0)
			log_err("%s; not serving it on %s", err, r->ifs->ifc[i].name);
	if (announce)
		registry_advertise(r, i);
}

void registry_iface_detached(struct registry *r, unsigned i)
{
	for (struct reg_dev *d = r->devs; d; d = d->next) {
		d->iface_mask &= ~(1u << i);
		unlock(d, i);
	}
	r->idx[i].n = 0;
}

static void ops_frame(void *ctx, unsigned i, struct iface *ifc, const uint8_t *f, size_t len)
{
	registry_frame(ctx, i, ifc, f, len);
}

static void ops_attached(void *ctx, unsigned i, bool announce)
{
	registry_iface_attached(ctx, i, announce);
}

static void ops_detached(void *ctx, unsigned i)
{
	registry_iface_detached(ctx, i);
}

const struct ifaces_ops registry_ifaces_ops = {
	.frame = ops_frame, .attached = ops_attached, .detached = ops_detached,
};

/* ------------------------------------------------------- advertisement */

/* To everyone when broadcast (to the mask list, when it has entries), else
 * to each MAC of the accept list. */
static void advertise(struct reg_dev *d, struct iface *ifc)
{
	unsigned mtu = device_mtu(&d->dev, ifc);

	if (d->conf.broadcast) {
		device_advertise(&d->dev, ifc);
		return;
	}
	for (unsigned m = 0; m < d->conf.accept.n; m++) {
		const uint8_t *mac = d->conf.accept.mac[m];
		uint8_t *out;
		if (!conf_mac_allowed(&d->conf, mac) || !(out = iface_tx_get(ifc)))
			continue;
		iface_tx_put(ifc, aoe_target_advert(&d->dev.t, ifc->mac, mtu, mac, out));
	}
}

void registry_advertise(struct registry *r, unsigned i)
{
	for (struct reg_dev *d = r->devs; d; d = d->next)
		if ((d->iface_mask >> i) & 1)
			advertise(d, &r->ifs->ifc[i]);
}

void registry_advertise_dev(struct registry *r, struct reg_dev *d)
{
	for (unsigned i = 0; i < r->ifs->n; i++)
		if (((d->iface_mask >> i) & 1) && ifaces_attached(r->ifs, i))
			advertise(d, &r->ifs->ifc[i]);
}

/* --------------------------------------------------------------- state */

void registry_default_serial(const struct registry *r, struct reg_dev *d)
{
	char buf[96] = "";

	/* SHELF.SLOT:hostname, cut to IDENTIFY's 20 characters */
	snprintf(buf, sizeof buf, "%u.%u:%s", d->dev.t.shelf, d->dev.t.slot, r->host);
	memcpy(d->dev.t.ata.serial, buf, sizeof d->dev.t.ata.serial - 1);
	d->dev.t.ata.serial[sizeof d->dev.t.ata.serial - 1] = 0;
}

static void persist(struct registry *r, struct reg_dev *d)
{
	char err[1400];

	if (!d->dev.changed)
		return;
	d->dev.changed = 0;
	if (r->state_dir[0] && state_save(r->state_dir, &d->dev.t, err, sizeof err) < 0)
		log_err("%s: cannot save its state: %s", d->dev.name, err);
}

static void persist_due(struct loop_task *t)
{
	struct registry *r = t->ctx;

	for (struct reg_dev *d = r->devs; d; d = d->next)
		persist(r, d);
}

void registry_changed(struct registry *r, struct reg_dev *d, unsigned what)
{
	d->dev.changed |= what;
	loop_defer(r->loop, &r->persist_task);
}

/* -------------------------------------------------------- life and end */

static void load_state(struct registry *r, struct reg_dev *d)
{
	struct aoe_target *t = &d->dev.t;
	char err[1400];
	int rc;

	if (!r->state_dir[0])
		return;
	rc = state_load(r->state_dir, t, err, sizeof err);
	if (rc < 0)
		log_warn("%s: state file %s; ignored", d->dev.name, err);
	else if (rc > 0)
		log_notice("%s: state restored: config string of %u bytes, %u in the mask list, "
			   "%u reserved", d->dev.name, t->qc.len, t->mask.n, t->res.n);
}

int registry_start(struct registry *r, struct reg_dev *d, char *err, size_t errlen)
{
	const struct conf_device *cd = &d->conf;
	const struct conf_tuning *tu = &cd->tune;
	struct aoe_target *t = &d->dev.t;
	struct device_conf dc = {
		.queue_depth = tu->queue_depth,
		.merge_delay_us = tu->merge_delay_us,
		/* room for jumbo frames: an interface may come or grow later */
		.mtu_max = 9000,
		.cache = {
			.ra_chunk = (size_t)tu->read_ahead,
			.ra_streams = tu->read_ahead_streams,
			.write_back = tu->write_policy == CONF_WRITE_BACK,
			.wb_chunk = (size_t)tu->write_behind,
			.wb_max_dirty = (size_t)tu->max_dirty,
			.wb_max_age_ms = tu->max_age_ms,
		},
	};

	t->bufcnt = (uint16_t)tu->bufcnt;
	t->ata.sectors = d->dev.b.size / 512;
	t->ata.readonly = cd->read_only;
	t->ata.wcache = dc.cache.write_back;
	for (unsigned i = 0; i < cd->mask.n; i++)
		mask_add(&t->mask, cd->mask.mac[i]);	/* -m; the state file may replace it */
	snprintf(t->ata.model, sizeof t->ata.model, "%s", cd->model);
	if (cd->serial[0])
		snprintf(t->ata.serial, sizeof t->ata.serial, "%s", cd->serial);
	else
		registry_default_serial(r, d);
	snprintf(t->ata.firmware, sizeof t->ata.firmware, "%s", PACKAGE_VERSION);
	for (unsigned i = 0; i < r->ifs->n; i++)
		if (ifaces_attached(r->ifs, i) && r->ifs->ifc[i].mtu > dc.mtu_max)
			dc.mtu_max = r->ifs->ifc[i].mtu;
	if (device_init(&d->dev, r->eng, r->loop, &dc, err, errlen) < 0)
		return -1;
	d->started = true;
	load_state(r, d);
	/* a freeze (aoexctl freeze) outlives the process: frozen or merging
	 * again, or the device does not start (its base alone is stale) */
	if (r->state_dir[0]) {
		char rec[CONF_PATH_MAX + 32];

		registry_freeze_record(r, d, rec, sizeof rec);
		if (device_freeze_resume(&d->dev, rec, tu->thaw_rate, err, errlen) < 0)
			return -1;
		if (!d->dev.fz && cd->freeze_shadow[0] &&
		    device_freeze(&d->dev, cd->freeze_shadow, cd->freeze_max_size, rec,
				  tu->thaw_rate, err, errlen) < 0)
			return -1;
	} else if (cd->freeze_shadow[0]) {
		snprintf(err, errlen, "%s: freeze-shadow needs a state directory", d->dev.name);
		return -1;
	}
	return 0;
}

void registry_freeze_record(const struct registry *r, const struct reg_dev *d, char *buf,
			    size_t len)
{
	char p[CONF_PATH_MAX + 16];

	state_path(r->state_dir, &d->dev.t, p, sizeof p);
	snprintf(buf, len, "%s.freeze", p);
}

void registry_log_serving(const struct registry *r, const struct reg_dev *d)
{
	const struct conf_tuning *tu = &d->conf.tune;
	const struct device *dev = &d->dev;
	char on[IFACES_MAX * (IFACES_NAME_LEN + 1) + 1] = "", name[CONF_NAME_MAX + 3] = "";

	for (unsigned i = 0; i < r->ifs->n; i++) {
		if (!((d->iface_mask >> i) & 1))
			continue;
		if (on[0])
			strcat(on, ",");
		strcat(on, r->ifs->ifc[i].name);
	}
	if (strcmp(d->conf.name, dev->name) != 0)
		snprintf(name, sizeof name, " (%s)", d->conf.name);
	log_notice("serving %s%s on %s: %s, %llu sectors, %s, %s (alignment %u), "
		   "bufcnt %u, engine %s, queue depth %u, %s, read-ahead %lluK x %u, accept %u, deny %u",
		   dev->name, name, on[0] ? on : "no interface", dev->b.path,
		   (unsigned long long)dev->t.ata.sectors,
		   d->conf.read_only ? "read-only" : "read-write",
		   dev->b.direct ? "O_DIRECT" : "buffered", dev->b.lbs, dev->t.bufcnt,
		   engine_name(r->eng), tu->queue_depth, conf_write_policy_name(tu->write_policy),
		   (unsigned long long)(tu->read_ahead / 1024), tu->read_ahead_streams,
		   d->conf.accept.n, d->conf.deny.n);
	if (!d->iface_mask)
		log_warn("device %s (%s) is served on no interface", d->conf.name, dev->name);
}

void registry_writeback_all(struct registry *r)
{
	for (struct reg_dev *d = r->devs; d; d = d->next)
		cache_writeback_all(&d->dev.cache);
}

void registry_remove(struct registry *r, struct reg_dev *d)
{
	struct reg_dev **pp;

	registry_unbind_all(r, d);	/* no new frames */
	if (d->started) {
		device_quiesce(&d->dev);	/* what is in hand is answered */
		device_sync(&d->dev);		/* written back and flushed */
		persist(r, d);
		device_free(&d->dev);
	}
	backing_close(&d->dev.b);
	for (pp = &r->devs; *pp; pp = &(*pp)->next)
		if (*pp == d) {
			*pp = d->next;
			break;
		}
	free(d);
}

int registry_sync_all(struct registry *r)
{
	int rc = 0;

	for (struct reg_dev *d = r->devs; d; d = d->next)
		if (device_sync(&d->dev) < 0)
			rc = -EIO;
	return rc;
}

void registry_close(struct registry *r)
{
	while (r->devs) {
		struct reg_dev *d = r->devs;
		r->devs = d->next;
		registry_unbind_all(r, d);
		persist(r, d);
		device_free(&d->dev);
		backing_close(&d->dev.b);
		free(d);
	}
	loop_defer_cancel(r->loop, &r->persist_task);
	for (unsigned i = 0; i < IFACES_MAX; i++)
		free(r->idx[i].e);
}
