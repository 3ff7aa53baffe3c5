/*
 * reload.c - SIGHUP (and aoexctl reload) with -c: read the file again and
 * apply the difference without a restart.
 *
 * A file that does not load changes nothing.  Otherwise, devices matched
 * by their section title:
 *   gone                   removed (requests in hand answered, written
 *                          back, closed)
 *   store, address, tuning changed, or read-only lifted
 *                          removed, then added again (the simple safe thing);
 *                          kept as it was when the new store does not open
 *   ACL, broadcast, model, serial, interfaces, read-only set
 *                          changed in place
 *   same                   untouched: state, counters, I/O in flight kept
 *   new                    opened, started, advertised
 * Removals go first so a replacement finds its shelf.slot and lock free.
 * Interfaces follow the new patterns (dm_ifaces_resync).
 *
 * The engine keeps the size it got at start (generous: twice the sum of
 * queue depths, at least 256): devices added later share it, I/Os beyond
 * it wait in the daemon's queues.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/daemon.h"
#include "common/log.h"
#include "common/util.h"

/* What only a new open and device_init() can apply. */
static bool needs_replace(const struct conf_device *a, const struct conf_device *b)
{
	return strcmp(a->path, b->path) != 0 || strcmp(a->uuid, b->uuid) != 0 ||
	       strcmp(a->label, b->label) != 0 || a->shelf != b->shelf || a->slot != b->slot ||
	       a->offset != b->offset || a->length != b->length ||
	       !conf_tuning_equal(&a->tune, &b->tune) || (a->read_only && !b->read_only);
}

static void add_word(char *buf, size_t len, const char *w)
{
	size_t n = strlen(buf);
	snprintf(buf + n, len - n, "%s%s", n ? ", " : "", w);
}

/* ACLs and broadcast are read from s->conf on every frame; IDENTIFY's
 * strings and read-only from the target; interfaces re-bound. */
static void change_in_place(struct daemon *dm, struct served *s, const struct conf_device *cd)
{
	struct ata_dev *ata = &s->dev.t.ata;
	uint32_t before = s->iface_mask;
	char what[160] = "", err[320];

	if (cd->read_only && !s->conf.read_only) {
		ata->readonly = true;
		cache_writeback_all(&s->dev.cache);
		add_word(what, sizeof what, "read-only");
	}
	if (strcmp(cd->model, s->conf.model) != 0) {
		snprintf(ata->model, sizeof ata->model, "%s", cd->model);
		add_word(what, sizeof what, "model");
	}
	if (strcmp(cd->serial, s->conf.serial) != 0) {
		if (cd->serial[0])
			snprintf(ata->serial, sizeof ata->serial, "%s", cd->serial);
		else
			served_default_serial(dm, s);
		add_word(what, sizeof what, "serial");
	}
	if (memcmp(&cd->accept, &s->conf.accept, sizeof cd->accept) != 0 ||
	    memcmp(&cd->deny, &s->conf.deny, sizeof cd->deny) != 0)
		add_word(what, sizeof what, "access lists");
	if (cd->broadcast != s->conf.broadcast)
		add_word(what, sizeof what, "broadcast");
	bool ifaces = !conf_iface_names_equal(cd, &s->conf);
	s->conf = *cd;
	if (ifaces) {
		add_word(what, sizeof what, "interfaces");
		if (served_bind_ifaces(dm, s, err, sizeof err) < 0)
			log_err("reload: %s", err);
		for (unsigned i = 0; i < dm->n_ifaces; i++)
			if ((s->iface_mask & ~before & (1u << i)) && dm_iface_attached(&dm->ifaces[i]))
				served_advertise(dm, s, &dm->ifaces[i]);
	}
	log_notice("reload: %s (%s) changed in place: %s", s->dev.name, cd->name,
		   what[0] ? what : "nothing visible");
}

static bool iface_conf_equal(const struct conf_iface *a, const struct conf_iface *b)
{
	return a->mtu == b->mtu && a->rx_ring_frames == b->rx_ring_frames &&
	       a->tx_ring_frames == b->tx_ring_frames;
}

/* Attached interfaces whose settings (mtu, ring sizes) change: reopened. */
static void reopen_changed_ifaces(struct daemon *dm, const struct aoexd_conf *old)
{
	char err[320];

	for (unsigned i = 0; i < dm->n_ifaces; i++) {
		struct iface *ifc = &dm->ifaces[i];
		struct conf_iface a, b;
		char name[sizeof ifc->name];
		if (!dm_iface_attached(ifc))
			continue;
		conf_iface_get(old, ifc->name, &a);
		conf_iface_get(dm->conf, ifc->name, &b);
		if (iface_conf_equal(&a, &b))
			continue;
		snprintf(name, sizeof name, "%s", ifc->name);
		dm_iface_detach(dm, i, "settings changed: reopening");
		if (dm_iface_attach(dm, name, err, sizeof err) < 0)
			log_err("reload: %s", err);
		else
			dm_iface_advertise(dm, i);
	}
}

static void globals_needing_restart(const struct aoexd_conf *old, const struct aoexd_conf *c)
{
	if (strcmp(old->state_directory, c->state_directory) != 0)
		log_warn("reload: state-directory changes on restart only");
	if (strcmp(old->pid_file, c->pid_file) != 0)
		log_warn("reload: pid-file changes on restart only");
	if (old->log_target != c->log_target)
		log_warn("reload: log-target changes on restart only");
}

static struct served *find_served(struct daemon *dm, const char *name)
{
	for (unsigned k = 0; k < dm->n_devs; k++)
		if (!dm->devs[k].retired && strcmp(dm->devs[k].conf.name, name) == 0)
			return &dm->devs[k];
	return NULL;
}

struct tally { unsigned added, removed, replaced, changed, same, failed; };

/* A replacement whose new store does not open keeps the old device: try
 * it before anything is torn down. */
static bool new_store_opens(const struct conf_device *cd, char *err, size_t errlen)
{
	struct backing_opts bo = {
		.readonly = cd->read_only, .direct = cd->tune.direct_io,
		.offset = cd->offset, .length = cd->length,
	};
	char path[CONF_PATH_MAX];
	struct backing b;

	if (conf_device_resolve(cd, path, sizeof path) < 0) {
		snprintf(err, errlen, "no %s %s", cd->uuid[0] ? "uuid" : "label",
			 cd->uuid[0] ? cd->uuid : cd->label);
		return false;
	}
	if (backing_open(&b, path, &bo, err, errlen) < 0)
		return false;
	backing_close(&b);
	return true;
}

static void remove_old(struct daemon *dm, const struct aoexd_conf *c, struct tally *n)
{
	char err[400];

	for (unsigned k = 0; k < dm->n_devs; k++) {
		struct served *s = &dm->devs[k];
		const struct conf_device *cd;
		if (s->retired)
			continue;
		cd = conf_device_find(c, s->conf.name);
		if (!cd) {
			log_notice("reload: removing %s (%s)", s->dev.name, s->conf.name);
			n->removed++;
		} else if (needs_replace(&s->conf, cd)) {
			if (!new_store_opens(cd, err, sizeof err)) {
				log_err("reload: %s:%d: device %s: %s; keeping %s as it was",
					dm->config_file, cd->line, cd->name, err, s->dev.name);
				n->failed++;
				continue;
			}
			log_notice("reload: %s (%s): store, address or tuning changed: replacing it",
				   s->dev.name, s->conf.name);
			n->replaced++;
		} else {
			continue;
		}
		uint64_t t0 = now_ns();
		char name[sizeof s->dev.name];
		snprintf(name, sizeof name, "%s", s->dev.name);
		served_remove(dm, s);
		log_info("reload: %s closed after %llu us (requests in hand answered, written back)",
			 name, (unsigned long long)((now_ns() - t0) / 1000));
	}
}

static void add_new(struct daemon *dm, const struct aoexd_conf *c, struct tally *n)
{
	char err[400];

	for (unsigned k = 0; k < c->n_devices; k++) {
		const struct conf_device *cd = &c->devices[k];
		struct served *s = find_served(dm, cd->name);
		if (s) {
			if (needs_replace(&s->conf, cd))
				continue;	/* its replacement was refused above */
			if (!conf_device_equal(&s->conf, cd)) {
				change_in_place(dm, s, cd);
				n->changed++;
			} else {
				s->conf.line = cd->line;
				n->same++;
			}
			continue;
		}
		if (served_add(dm, cd, err, sizeof err) < 0) {
			log_err("reload: %s:%d: device %s (e%u.%u): %s; not served", dm->config_file,
				cd->line, cd->name, cd->shelf, cd->slot, err);
			n->failed++;
			continue;
		}
		s = find_served(dm, cd->name);
		log_notice("reload: added %s (%s): %s, %llu sectors", s->dev.name, cd->name,
			   s->dev.b.path, (unsigned long long)s->dev.t.ata.sectors);
		for (unsigned i = 0; i < dm->n_ifaces; i++)
			if ((s->iface_mask & (1u << i)) && dm_iface_attached(&dm->ifaces[i]))
				served_advertise(dm, s, &dm->ifaces[i]);
		n->added++;
	}
}

static void check_engine_size(const struct daemon *dm)
{
	unsigned total = 0;

	for (unsigned k = 0; k < dm->n_devs; k++)
		if (!dm->devs[k].retired)
			total += dm->devs[k].conf.tune.queue_depth;
	if (total > dm->eng_max)
		log_notice("reload: queue depths now add up to %u, more than the %u I/Os the "
			   "engine was sized for at start: the rest wait in aoexd's queues "
			   "(a restart sizes it anew)", total, dm->eng_max);
}

int reload(struct daemon *dm)
{
	struct aoexd_conf *c = malloc(sizeof *c), *old = dm->conf;
	char err[CONF_MSG_MAX];
	struct tally n = {0};

	if (!c) {
		log_err("SIGHUP: out of memory reading %s; keeping the running configuration",
			dm->config_file);
		return -1;
	}
	if (conf_load(dm->config_file, c, err, sizeof err) < 0) {
		log_err("SIGHUP: %s; keeping the running configuration", err);
		free(c);
		return -1;
	}
	for (unsigned i = 0; i < c->n_warnings; i++)
		log_warn("%s", c->warnings[i]);
	if (!dm->log_level_set)
		log_set_level(c->log_level);
	globals_needing_restart(old, c);

	remove_old(dm, c, &n);
	dm->conf = c;
	reopen_changed_ifaces(dm, old);
	dm_ifaces_resync(dm);
	add_new(dm, c, &n);
	check_engine_size(dm);
	free(old);
	log_notice("SIGHUP: configuration reloaded from %s: %u added, %u removed, %u replaced, "
		   "%u changed in place, %u unchanged%s", dm->config_file, n.added, n.removed,
		   n.replaced, n.changed, n.same, n.failed ? ", some failed (see above)" : "");
	return 0;
}
