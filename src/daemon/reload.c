/*
 * reload.c - a configuration applied to the daemon: the first one at
 * start-up, to an empty daemon, and each one a reload reads later.  The
 * registry does the devices (registry/apply.h); here the interfaces are
 * changed between its steps, and start-up's extra duties are done: the
 * address probe, the engine, failures that end the program.
 */
#include "config.h"
#include "daemon/daemon.h"
#include "common/log.h"
#include "registry/apply.h"
#include "sys/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Interfaces to attach at start, the address probe, the engine. */
static struct probe *start_ifaces(struct daemon *dm, const struct aoexd_conf *c)
{
	static char names[IFACES_MAX][IFACES_NAME_LEN];
	struct probe *pr = NULL;
	char err[400];
	int n = ifaces_pick(&dm->ifs, dm->config_file, names, err, sizeof err);

	if (n < 0)
		daemon_die("%s", err);
	if (!n)
		log_warn("no interface to serve");
	if (dm->config_file && !c->n_devices)
		log_warn("%s configures no device: nothing to serve", dm->config_file);
	if (dm->opts->probe)
		pr = probe_send(c, names, (unsigned)n);
	for (int i = 0; i < n; i++)
		if (ifaces_attach(&dm->ifs, names[i], false, err, sizeof err) < 0)
			daemon_die("%s", err);
	dm->eng = engine_new(&dm->loop, dm->opts->engine, apply_engine_size(c), err, sizeof err);
	if (!dm->eng)
		daemon_die("%s", err);
	registry_set_engine(&dm->reg, dm->eng, apply_engine_size(c));
	return pr;
}

int daemon_apply(struct daemon *dm, struct aoexd_conf *c, bool start)
{
	struct apply a = { .file = dm->config_file, .strict = start, .announce = !start };
	struct aoexd_conf *old = dm->conf;
	struct probe *pr = NULL;
	unsigned total = 0;

	/* the backing stores first: a missing file is the likeliest mistake */
	if (apply_prepare(&dm->reg, c, &a) < 0)
		daemon_die("%s", a.err);
	apply_prune(&dm->reg, &a);
	dm->conf = c;
	dm->ifs.conf = c;
	if (start)
		pr = start_ifaces(dm, c);
	else
		ifaces_configure(&dm->ifs, old);
	if (apply_commit(&dm->reg, c, &a) < 0)
		daemon_die("%s", a.err);
	if (start) {
		dm->cmds.eng = &dm->eng;
		probe_finish(pr);	/* its 50 ms overlapped the set-up */
		return 0;
	}
	for (struct reg_dev *d = dm->reg.devs; d; d = d->next)
		total += d->conf.tune.queue_depth;
	if (total > dm->reg.eng_max)
		log_notice("reload: queue depths now add up to %u, more than the %u I/Os the "
			   "engine was sized for at start: the rest wait in aoexd's queues "
			   "(a restart sizes it anew)", total, dm->reg.eng_max);
	free(old);
	log_notice("SIGHUP: configuration reloaded from %s: %u added, %u removed, %u replaced, "
		   "%u changed in place, %u unchanged%s", dm->config_file, a.added, a.removed,
		   a.replaced, a.changed, a.same, a.failed ? ", some failed (see above)" : "");
	return 0;
}

/* What a reload cannot change. */
static void globals_needing_restart(const struct aoexd_conf *old, const struct aoexd_conf *c)
{
	if (strcmp(old->state_directory, c->state_directory) != 0)
		log_warn("reload: state-directory changes on restart only");
	if (strcmp(old->pid_file, c->pid_file) != 0)
		log_warn("reload: pid-file changes on restart only");
	if (old->log_target != c->log_target)
		log_warn("reload: log-target changes on restart only");
}

static int reload_file(struct daemon *dm)
{
	struct aoexd_conf *c = malloc(sizeof *c);
	char err[CONF_MSG_MAX];

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
	if (!dm->opts->log_level_set)
		log_set_level(c->log_level);
	globals_needing_restart(dm->conf, c);
	return daemon_apply(dm, c, false);
}

int daemon_reload(struct daemon *dm)
{
	int rc = 0;

	notify_reloading();
	if (dm->config_file)
		rc = reload_file(dm);
	else
		log_notice("SIGHUP: writing back buffered data (no configuration file to reload)");
	registry_writeback_all(&dm->reg);
	notify_ready();
	return rc;
}
