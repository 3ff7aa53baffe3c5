/*
 * conf.c - the configuration as the daemon uses it: defaults, the queries
 * the frame path and the interface code ask, comparisons for reload, and
 * finding a device's store.  Loading is conf_load.c, printing conf_print.c.
 */
#include "config.h"
#include "config/conf_int.h"
#include "common/util.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#ifdef HAVE_BLKID
#include <blkid.h>
#endif

/* index = enum value; log levels are consecutive from LOG_ERR */
const char *const conf_log_targets[] = { "stderr", "syslog", NULL };
const char *const conf_log_levels[] = { "error", "warning", "notice", "info", "debug", NULL };

int conf_name_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *conf_log_level_name(int level)
{
	return level >= LOG_ERR && level <= LOG_DEBUG ? conf_log_levels[level - LOG_ERR] : "?";
}

void conf_copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)	/* the checks keep this from happening */
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

void conf_defaults(struct aoexd_conf *c)
{
	memset(c, 0, sizeof *c);
	tunables_iface_defaults(&c->ifset);
	tunables_device_defaults(&c->defaults);
	conf_copy_str(c->control_socket, sizeof c->control_socket, CONF_DEF_CONTROL_SOCKET);
	conf_copy_str(c->control_group, sizeof c->control_group, CONF_DEF_CONTROL_GROUP);
	conf_copy_str(c->state_directory, sizeof c->state_directory, CONF_DEF_STATE_DIRECTORY);
	conf_copy_str(c->pid_file, sizeof c->pid_file, CONF_DEF_PID_FILE);
	c->log_target = CONF_DEF_LOG_TARGET;
	c->log_level = CONF_DEF_LOG_LEVEL;
}

bool conf_macs_has(const struct conf_macs *m, const uint8_t mac[6])
{
	for (unsigned i = 0; i < m->n; i++)
		if (memcmp(m->mac[i], mac, 6) == 0)
			return true;
	return false;
}

/* false when full; a MAC already there is not added twice */
bool conf_macs_add(struct conf_macs *m, const uint8_t mac[6])
{
	if (conf_macs_has(m, mac))
		return true;
	if (m->n == CONF_MAX_ACL_MACS)
		return false;
	memcpy(m->mac[m->n++], mac, 6);
	return true;
}

bool conf_pattern_covers(const char *pattern, const char *name)
{
	return strcmp(pattern, name) == 0 || fnmatch(pattern, name, 0) == 0;
}

bool conf_macs_equal(const struct conf_macs *a, const struct conf_macs *b)
{
	return a->n == b->n && memcmp(a->mac, b->mac, 6 * (size_t)a->n) == 0;
}

bool conf_iface_names_equal(const struct conf_device *a, const struct conf_device *b)
{
	if (a->n_interfaces != b->n_interfaces)
		return false;
	for (unsigned i = 0; i < a->n_interfaces; i++)
		if (strcmp(a->interfaces[i], b->interfaces[i]) != 0)
			return false;
	return true;
}

bool conf_device_equal(const struct conf_device *a, const struct conf_device *b)
{
	return strcmp(a->name, b->name) == 0 && strcmp(a->path, b->path) == 0 &&
	       strcmp(a->uuid, b->uuid) == 0 && strcmp(a->label, b->label) == 0 &&
	       a->shelf == b->shelf && a->slot == b->slot && a->read_only == b->read_only &&
	       a->broadcast == b->broadcast && a->offset == b->offset && a->length == b->length &&
	       conf_iface_names_equal(a, b) && tunables_device_equal(&a->tune, &b->tune) &&
	       conf_macs_equal(&a->accept, &b->accept) && conf_macs_equal(&a->deny, &b->deny) &&
	       conf_macs_equal(&a->mask, &b->mask) &&
	       strcmp(a->model, b->model) == 0 && strcmp(a->serial, b->serial) == 0 &&
	       strcmp(a->freeze_shadow, b->freeze_shadow) == 0 &&
	       a->freeze_max_size == b->freeze_max_size;
}

const struct conf_device *conf_device_find(const struct aoexd_conf *c, const char *name)
{
	for (unsigned i = 0; i < c->n_devices; i++)
		if (strcmp(c->devices[i].name, name) == 0)
			return &c->devices[i];
	return NULL;
}

bool conf_mac_allowed(const struct conf_device *d, const uint8_t mac[6])
{
	if (d->accept.n && !conf_macs_has(&d->accept, mac))
		return false;
	return !conf_macs_has(&d->deny, mac);
}

/* An empty interfaces list means every interface. */
static bool list_covers(const char (*names)[CONF_IFNAME_MAX], unsigned n, const char *ifname)
{
	if (!n)
		return true;
	for (unsigned i = 0; i < n; i++)
		if (conf_pattern_covers(names[i], ifname))
			return true;
	return false;
}

bool conf_iface_served(const struct aoexd_conf *c, const char *ifname)
{
	return list_covers(c->interfaces, c->n_interfaces, ifname);
}

bool conf_device_on_iface(const struct conf_device *d, const char *ifname)
{
	return list_covers(d->interfaces, d->n_interfaces, ifname);
}

void conf_iface_get(const struct aoexd_conf *c, const char *ifname, struct conf_iface *out)
{
	for (unsigned i = 0; i < c->n_ifaces; i++) {
		if (conf_pattern_covers(c->ifaces[i].name, ifname)) {
			*out = c->ifaces[i];
			return;
		}
	}
	memset(out, 0, sizeof *out);
	conf_copy_str(out->name, sizeof out->name, ifname);
	out->set = c->ifset;
}

static int copy_out(char *buf, size_t len, const char *s)
{
	if (strlen(s) >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

int conf_device_resolve(const struct conf_device *d, char *buf, size_t len)
{
	if (d->path[0])
		return copy_out(buf, len, d->path);
#ifdef HAVE_BLKID
	char *dev = d->uuid[0] ? blkid_evaluate_tag("UUID", d->uuid, NULL)
			       : blkid_evaluate_tag("LABEL", d->label, NULL);
	int rc;

	if (!dev) {
		errno = ENOENT;
		return -1;
	}
	rc = copy_out(buf, len, dev);
	free(dev);
	return rc;
#else
	errno = ENOTSUP;
	return -1;
#endif
}
