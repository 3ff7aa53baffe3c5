/* apply.c - a configuration applied to the registry (see apply.h). */
#include "config.h"
#include "registry/apply.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* what apply_prepare decided for a device that runs now */
enum fate { FATE_SAME, FATE_GONE, FATE_REPLACED, FATE_REFUSED };

unsigned apply_engine_size(const struct aoexd_conf *c)
{
	unsigned total = 0;

	for (unsigned k = 0; k < c->n_devices; k++)
		total += c->devices[k].tune.queue_depth;
	total *= 2;
	return total < 256 ? 256 : total > 4096 ? 4096 : total;
}

/* A failure about device cd: at start-up the end ("FILE:LINE: device NAME:
 * why", or just why for the command line), on reload a log line. */
static int failed(struct apply *a, const struct conf_device *cd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int failed(struct apply *a, const struct conf_device *cd, const char *fmt, ...)
{
	char why[480];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	a->failed++;
	if (!a->file)
		snprintf(a->err, sizeof a->err, "%s", why);
	else
		snprintf(a->err, sizeof a->err, "%s:%d: device %s: %s", a->file, cd->line, cd->name, why);
	if (a->strict)
		return -1;
	log_err("reload: %s", a->err);
	return 0;
}

/* What only a new open and device_init() can apply. */
static bool needs_replace(const struct conf_device *a, const struct conf_device *b)
{
	return strcmp(a->path, b->path) != 0 || strcmp(a->uuid, b->uuid) != 0 ||
	       strcmp(a->label, b->label) != 0 || a->shelf != b->shelf || a->slot != b->slot ||
	       a->offset != b->offset || a->length != b->length ||
	       !tunables_device_equal(&a->tune, &b->tune) || (a->read_only && !b->read_only);
}

/* A device for cd with its store open, or NULL (why in err). */
static struct reg_dev *open_dev(const struct conf_device *cd, char *err, size_t errlen)
{
	struct backing_opts bo = {
		.readonly = cd->read_only, .direct = cd->tune.direct_io, .sync = cd->tune.sync_writes,
		.offset = cd->offset, .length = cd->length,
	};
	char path[CONF_PATH_MAX];
	struct reg_dev *d;

	if (conf_device_resolve(cd, path, sizeof path) < 0) {
		snprintf(err, errlen, "no %s %s: %s", cd->uuid[0] ? "uuid" : "label",
			 cd->uuid[0] ? cd->uuid : cd->label, strerror(errno));
		return NULL;
	}
	if (!(d = calloc(1, sizeof *d))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (unsigned i = 0; i < IFACES_MAX; i++)
		d->lock_fd[i] = -1;
	d->conf = *cd;
	snprintf(d->dev.name, sizeof d->dev.name, "e%u.%u", cd->shelf, cd->slot);
	d->dev.t.shelf = (uint16_t)cd->shelf;
	d->dev.t.slot = (uint8_t)cd->slot;
	if (backing_open(&d->dev.b, path, &bo, err, errlen) < 0) {
		free(d);
		return NULL;
	}
	return d;
}

static struct reg_dev *by_title(struct reg_dev *list, const char *name)
{
	for (; list; list = list->next)
		if (strcmp(list->conf.name, name) == 0)
			return list;
	return NULL;
}

static void add_pending(struct registry *r, struct reg_dev *d)
{
	struct reg_dev **pp = &r->pending;

	while (*pp)
		pp = &(*pp)->next;
	d->next = NULL;
	*pp = d;
}

int apply_prepare(struct registry *r, const struct aoexd_conf *c, struct apply *a)
{
	char err[400];

	for (struct reg_dev *d = r->devs; d; d = d->next) {
		const struct conf_device *cd = conf_device_find(c, d->conf.name);
		d->fate = !cd ? FATE_GONE : needs_replace(&d->conf, cd) ? FATE_REPLACED : FATE_SAME;
	}
	for (unsigned k = 0; k < c->n_devices; k++) {
		const struct conf_device *cd = &c->devices[k];
		struct reg_dev *old = by_title(r->devs, cd->name), *d;
		if (old && old->fate != FATE_REPLACED)
			continue;
		/* a replacement whose new store does not open keeps the old
		 * device: tried before anything is torn down */
		if (!(d = open_dev(cd, err, sizeof err))) {
			if (old)
				old->fate = FATE_REFUSED;
			if (failed(a, cd, old ? "%s; keeping %s as it was" : "%s%s", err,
				   old ? old->dev.name : "") < 0)
				return -1;
			continue;
		}
		add_pending(r, d);
	}
	return 0;
}

void apply_prune(struct registry *r, struct apply *a)
{
	struct reg_dev *d, *next;

	for (d = r->devs; d; d = next) {
		char name[sizeof d->dev.name];
		uint64_t t0 = now_ns();
		next = d->next;
		if (d->fate == FATE_GONE) {
			log_notice("reload: removing %s (%s)", d->dev.name, d->conf.name);
			a->removed++;
		} else if (d->fate == FATE_REPLACED) {
			log_notice("reload: %s (%s): store, address or tuning changed: replacing it",
				   d->dev.name, d->conf.name);
			a->replaced++;
		} else {
			continue;
		}
		snprintf(name, sizeof name, "%s", d->dev.name);
		registry_remove(r, d);
		log_info("reload: %s closed after %llu us (requests in hand answered, written back)",
			 name, (unsigned long long)((now_ns() - t0) / 1000));
	}
}

static void add_word(char *buf, size_t len, const char *w)
{
	size_t n = strlen(buf);
	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", w);
}

/* freeze-shadow set, or removed (a thaw), by a reload. */
static void refreeze(struct registry *r, struct reg_dev *d, const struct conf_device *cd,
		     char *what, size_t len)
{
	char err[400] = "", rec[CONF_PATH_MAX + 32];
	int rc = 0;

	if (cd->freeze_shadow[0] && !d->dev.fz && r->state_dir[0]) {
		registry_freeze_record(r, d, rec, sizeof rec);
		rc = device_freeze(&d->dev, cd->freeze_shadow, cd->freeze_max_size, rec,
				   cd->tune.thaw_rate, err, sizeof err);
		add_word(what, len, "frozen");
	} else if (!cd->freeze_shadow[0] && d->dev.fz) {
		rc = device_thaw(&d->dev, err, sizeof err);
		add_word(what, len, "thawing");
	} else {
		snprintf(err, sizeof err, "freeze-shadow: %s", r->state_dir[0] ?
			 "a frozen device keeps its shadow until it is thawed" : "no state directory");
		rc = -1;
	}
	if (rc < 0)
		log_err("reload: %s: %s", d->dev.name, err);
}

/* ACLs and broadcast are read from d->conf on every frame; IDENTIFY's
 * strings and read-only from the target; interfaces re-bound. */
static void change_in_place(struct registry *r, struct reg_dev *d, const struct conf_device *cd)
{
	struct ata_dev *ata = &d->dev.t.ata;
	uint32_t before = d->iface_mask;
	char what[160] = "", err[320];
	bool ifaces;

	if (cd->read_only && !d->conf.read_only) {
		ata->readonly = true;
		cache_writeback_all(&d->dev.cache);
		add_word(what, sizeof what, "read-only");
	}
	if (strcmp(cd->model, d->conf.model) != 0) {
		snprintf(ata->model, sizeof ata->model, "%s", cd->model);
		add_word(what, sizeof what, "model");
	}
	if (strcmp(cd->serial, d->conf.serial) != 0) {
		if (cd->serial[0])
			snprintf(ata->serial, sizeof ata->serial, "%s", cd->serial);
		else
			registry_default_serial(r, d);
		add_word(what, sizeof what, "serial");
	}
	if (!conf_macs_equal(&cd->accept, &d->conf.accept) || !conf_macs_equal(&cd->deny, &d->conf.deny))
		add_word(what, sizeof what, "access lists");
	if (!conf_macs_equal(&cd->mask, &d->conf.mask))
		add_word(what, sizeof what, "initial mask list (on restart)");
	if (cd->broadcast != d->conf.broadcast)
		add_word(what, sizeof what, "broadcast");
	if (strcmp(cd->freeze_shadow, d->conf.freeze_shadow) != 0)
		refreeze(r, d, cd, what, sizeof what);
	ifaces = !conf_iface_names_equal(cd, &d->conf);
	d->conf = *cd;
	if (ifaces) {
		add_word(what, sizeof what, "interfaces");
		if (registry_bind(r, d, err, sizeof err) < 0)
			log_err("reload: %s", err);
		if (d->iface_mask & ~before) {
			uint32_t keep = d->iface_mask;
			d->iface_mask &= ~before;	/* announce on the new ones only */
			registry_advertise_dev(r, d);
			d->iface_mask = keep;
		}
	}
	log_notice("reload: %s (%s) changed in place: %s", d->dev.name, cd->name,
		   what[0] ? what : "nothing visible");
}

/* Start a prepared device; at start-up a failure is the end. */
static int start(struct registry *r, struct reg_dev *d, struct apply *a)
{
	char err[400];

	if (registry_bind(r, d, err, sizeof err) < 0 || registry_start(r, d, err, sizeof err) < 0) {
		int rc = failed(a, &d->conf, "%s", err) < 0 ? -1 : 1;
		registry_unbind_all(r, d);
		if (d->started)
			device_free(&d->dev);
		backing_close(&d->dev.b);
		free(d);
		return rc;
	}
	if (a->announce) {
		log_notice("reload: added %s (%s): %s, %llu sectors", d->dev.name, d->conf.name,
			   d->dev.b.path, (unsigned long long)d->dev.t.ata.sectors);
		registry_advertise_dev(r, d);
	}
	a->added++;
	return 0;
}

/* The devices in the order of the configuration (status lists them so). */
static void reorder(struct registry *r, const struct aoexd_conf *c)
{
	struct reg_dev *list = r->devs, **tail = &r->devs;

	r->devs = NULL;
	for (unsigned k = 0; k < c->n_devices; k++) {
		struct reg_dev **pp = &list;
		while (*pp && strcmp((*pp)->conf.name, c->devices[k].name) != 0)
			pp = &(*pp)->next;
		if (!*pp)
			continue;
		struct reg_dev *d = *pp;
		*pp = d->next;
		d->next = NULL;
		*tail = d;
		tail = &d->next;
	}
	*tail = list;	/* none should be left; keep them rather than lose them */
}

int apply_commit(struct registry *r, const struct aoexd_conf *c, struct apply *a)
{
	int rc = 0;

	for (struct reg_dev *d = r->devs; d; d = d->next) {
		const struct conf_device *cd = conf_device_find(c, d->conf.name);
		if (!cd || d->fate == FATE_REFUSED)
			continue;
		if (!conf_device_equal(&d->conf, cd)) {
			change_in_place(r, d, cd);
			a->changed++;
		} else {
			d->conf.line = cd->line;
			a->same++;
		}
	}
	while (r->pending) {
		struct reg_dev *d = r->pending, *below = r->devs;
		r->pending = d->next;
		if (rc < 0) {		/* after a start-up failure: just close */
			backing_close(&d->dev.b);
			free(d);
			continue;
		}
		d->next = below;	/* bound and started as one of the list */
		r->devs = d;
		if (start(r, d, a) != 0) {
			r->devs = below;	/* start() freed d */
			rc = a->strict ? -1 : 0;
		}
	}
	reorder(r, c);
	return rc;
}
