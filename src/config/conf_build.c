/* conf_build.c - the plain structs of conf.h from what libconfuse read:
 * globals first (the defaults of every device), acls, interface sections,
 * then the devices, each inheriting what it does not set. */
#include "config.h"
#include "config/conf_int.h"
#include "common/util.h"

#include <string.h>

static unsigned get_uint(cfg_t *sec, const char *name, unsigned dflt)
{
	return conf_has(sec, name) ? (unsigned)cfg_getint(sec, name) : dflt;
}

static bool get_bool(cfg_t *sec, const char *name, bool dflt)
{
	return conf_has(sec, name) ? cfg_getbool(sec, name) == cfg_true : dflt;
}

static uint64_t get_size(cfg_t *sec, const char *name, uint64_t dflt)
{
	uint64_t v = dflt;

	if (conf_has(sec, name) && parse_size(cfg_getstr(sec, name), &v) < 0)
		v = dflt;	/* checked while parsing */
	return v;
}

static int get_enum(cfg_t *sec, const char *name, const char *const *names, int dflt)
{
	int i = conf_has(sec, name) ? conf_name_index(names, cfg_getstr(sec, name)) : -1;

	return i >= 0 ? i : dflt;
}

static void get_str(cfg_t *sec, const char *name, char *out, size_t len)
{
	if (conf_has(sec, name))
		conf_copy_str(out, len, cfg_getstr(sec, name));
}

static unsigned get_names(cfg_t *sec, const char *name, char out[][CONF_IFNAME_MAX])
{
	unsigned n = cfg_size(sec, name);

	for (unsigned i = 0; i < n; i++)
		conf_copy_str(out[i], CONF_IFNAME_MAX, cfg_getnstr(sec, name, i));
	return n;
}

/* A tunable's value as read (checked while parsing), into base. */
static void get_tunable(cfg_t *sec, const struct tunable *tu, void *base)
{
	uint64_t v;

	if (!conf_has(sec, tu->key))
		return;
	switch (tu->kind) {
	case TUNE_BOOL:
		v = cfg_getbool(sec, tu->key) == cfg_true;
		break;
	case TUNE_UINT:
	case TUNE_MTU:
		v = (uint64_t)cfg_getint(sec, tu->key);
		break;
	default:
		if (tunable_parse(tu, cfg_getstr(sec, tu->key), &v) < 0)
			return;
		break;
	}
	tunable_set(tu, base, v);
}

/* Every tunable of a table set in sec into base, which holds the
 * inherited values. */
static void get_tunables(cfg_t *sec, const struct tunable *t, unsigned n, void *base)
{
	for (unsigned i = 0; i < n; i++)
		get_tunable(sec, &t[i], base);
}

static void build_globals(cfg_t *root, struct aoexd_conf *c)
{
	c->n_interfaces = get_names(root, "interfaces", c->interfaces);
	get_tunables(root, tunables_iface, tunables_iface_n, &c->ifset);
	get_tunables(root, tunables_device, tunables_device_n, &c->defaults);
	get_str(root, "control-socket", c->control_socket, sizeof c->control_socket);
	get_str(root, "control-group", c->control_group, sizeof c->control_group);
	get_str(root, "state-directory", c->state_directory, sizeof c->state_directory);
	get_str(root, "pid-file", c->pid_file, sizeof c->pid_file);
	c->log_target = (enum conf_log_target)get_enum(root, "log-target", conf_log_targets, (int)c->log_target);
	c->log_level = LOG_ERR + get_enum(root, "log-level", conf_log_levels, c->log_level - LOG_ERR);
}

static void build_acls(cfg_t *root, struct aoexd_conf *c)
{
	c->n_acls = cfg_size(root, "acl");
	for (unsigned i = 0; i < c->n_acls; i++) {
		cfg_t *sec = cfg_getnsec(root, "acl", i);
		struct conf_acl *a = &c->acls[i];
		conf_copy_str(a->name, sizeof a->name, cfg_title(sec));
		for (unsigned j = 0; j < cfg_size(sec, "accept"); j++) {
			uint8_t mac[6];
			if (parse_mac(cfg_getnstr(sec, "accept", j), mac) == 0)
				conf_macs_add(&a->macs, mac);
		}
	}
}

static void build_ifaces(cfg_t *root, struct aoexd_conf *c)
{
	c->n_ifaces = cfg_size(root, "interface");
	for (unsigned i = 0; i < c->n_ifaces; i++) {
		cfg_t *sec = cfg_getnsec(root, "interface", i);
		struct conf_iface *f = &c->ifaces[i];
		conf_copy_str(f->name, sizeof f->name, cfg_title(sec));
		f->set = c->ifset;
		get_tunables(sec, tunables_iface, tunables_iface_n, &f->set);
	}
}

static const struct conf_acl *find_acl(const struct aoexd_conf *c, const char *name)
{
	for (unsigned i = 0; i < c->n_acls; i++)
		if (strcmp(c->acls[i].name, name) == 0)
			return &c->acls[i];
	return NULL;
}

/* accept/deny: MACs and acl names into one MAC list */
static int expand_macs(cfg_t *sec, const char *opt, const struct aoexd_conf *c, struct conf_macs *out)
{
	for (unsigned i = 0; i < cfg_size(sec, opt); i++) {
		int line = conf_value_line(sec, opt, i);
		const char *s = cfg_getnstr(sec, opt, i);
		const struct conf_acl *acl;
		uint8_t mac[6];
		bool room = true;

		if (parse_mac(s, mac) == 0) {
			room = conf_macs_add(out, mac);
		} else if ((acl = find_acl(c, s))) {
			for (unsigned j = 0; j < acl->macs.n && room; j++)
				room = conf_macs_add(out, acl->macs.mac[j]);
		} else {
			return conf_fail_at(sec, line, "%s: unknown acl \"%s\"", opt, s);
		}
		if (!room)
			return conf_fail_at(sec, line, "%s holds more than %d MAC addresses once its acls "
				       "are expanded", opt, CONF_MAX_ACL_MACS);
	}
	return 0;
}

static int build_device(cfg_t *sec, const struct aoexd_conf *c, struct conf_device *d)
{
	conf_copy_str(d->name, sizeof d->name, cfg_title(sec));
	d->line = conf_section_line(sec);
	get_str(sec, "path", d->path, sizeof d->path);
	get_str(sec, "uuid", d->uuid, sizeof d->uuid);
	get_str(sec, "label", d->label, sizeof d->label);
	d->shelf = get_uint(sec, "shelf", 0);
	d->slot = get_uint(sec, "slot", 0);
	d->read_only = get_bool(sec, "read-only", false);
	d->broadcast = get_bool(sec, "broadcast", true);
	d->offset = get_size(sec, "offset", 0);
	d->length = get_size(sec, "length", 0);
	d->n_interfaces = get_names(sec, "interfaces", d->interfaces);
	d->tune = c->defaults;
	get_tunables(sec, tunables_device, tunables_device_n, &d->tune);
	conf_copy_str(d->model, sizeof d->model, CONF_DEF_MODEL);
	get_str(sec, "model", d->model, sizeof d->model);
	conf_copy_str(d->serial, sizeof d->serial, CONF_DEF_SERIAL);
	get_str(sec, "serial", d->serial, sizeof d->serial);
	get_str(sec, "freeze-shadow", d->freeze_shadow, sizeof d->freeze_shadow);
	d->freeze_max_size = get_size(sec, "freeze-max-size", 0);
	if (expand_macs(sec, "accept", c, &d->accept) < 0 || expand_macs(sec, "deny", c, &d->deny) < 0 ||
	    expand_macs(sec, "mask", c, &d->mask) < 0)
		return -1;
	return 0;
}

static int build_devices(cfg_t *root, struct aoexd_conf *c)
{
	c->n_devices = cfg_size(root, "device");
	for (unsigned i = 0; i < c->n_devices; i++) {
		cfg_t *sec = cfg_getnsec(root, "device", i);
		struct conf_device *d = &c->devices[i];

		if (build_device(sec, c, d) < 0)
			return -1;
		for (unsigned j = 0; j < i; j++) {
			const struct conf_device *o = &c->devices[j];
			if (o->shelf == d->shelf && o->slot == d->slot)
				return conf_fail_at(sec, d->line, "shelf %u slot %u (e%u.%u) is already used by "
					       "device %s (line %d)", d->shelf, d->slot, d->shelf, d->slot,
					       o->name, o->line);
		}
	}
	return 0;
}

/* The global list decides what is served: a name outside it is unused. */
static void warn_unserved(cfg_t *root, const struct aoexd_conf *c)
{
	for (unsigned i = 0; i < c->n_devices; i++) {
		const struct conf_device *d = &c->devices[i];
		cfg_t *sec = cfg_getnsec(root, "device", i);
		for (unsigned j = 0; j < d->n_interfaces; j++)
			if (!conf_iface_served(c, d->interfaces[j]))
				conf_warn_at(sec, conf_value_line(sec, "interfaces", j), "interface %s is not in the "
					"global interfaces list: the device is not served there",
					d->interfaces[j]);
	}
	for (unsigned i = 0; i < c->n_ifaces; i++) {
		cfg_t *sec = cfg_getnsec(root, "interface", i);
		if (!conf_iface_served(c, c->ifaces[i].name))
			conf_warn_at(sec, conf_section_line(sec), "not in the global interfaces list: these "
				"settings are not used");
	}
}

/* queue-depth named the advertised buffer count in files before 0.2; it
 * is the disk queue depth now, as --queue-depth always was.  A file that
 * sets it without buffer-count probably means the old thing. */
static void warn_old_queue_depth(cfg_t *root)
{
	bool depth = conf_has(root, "queue-depth"), count = conf_has(root, "buffer-count");
	int line = depth ? conf_value_line(root, "queue-depth", 0) : 0;

	for (unsigned i = 0; i < cfg_size(root, "device"); i++) {
		cfg_t *sec = cfg_getnsec(root, "device", i);
		count |= conf_has(sec, "buffer-count");
		if (!depth && conf_has(sec, "queue-depth")) {
			depth = true;
			line = conf_value_line(sec, "queue-depth", 0);
		}
	}
	if (depth && !count)
		conf_warn_at(NULL, line, "queue-depth is the number of disk I/Os in flight (as "
			     "--queue-depth); the buffer count advertised to initiators is "
			     "buffer-count");
}

int conf_build(cfg_t *root, struct aoexd_conf *c)
{
	conf_defaults(c);
	build_globals(root, c);
	build_acls(root, c);
	build_ifaces(root, c);
	if (build_devices(root, c) < 0)
		return -1;
	warn_unserved(root, c);
	warn_old_queue_depth(root);
	return conf_L->failed ? -1 : 0;
}
