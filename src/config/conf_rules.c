/* conf_rules.c - the checks of single values while libconfuse reads them
 * (each error names its line): the tunables of tunables.h by their kind,
 * the other options by the rules below. */
#include "config.h"
#include "config/conf_int.h"
#include "common/util.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct rule {
	const char *name;
	unsigned scopes;
	int (*check)(const struct rule *r, cfg_t *sec, cfg_opt_t *opt);		/* a value */
	int (*item)(const struct rule *r, cfg_t *sec, const char *s, unsigned index);	/* a list's */
	long min, max;			/* numbers; lengths of strings */
	uint64_t size_max;		/* sizes; 0 = no limit */
	const char *const *names;	/* enumerations */
	const char *why;		/* appended to a range error */
};

static int check_int(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, 0);

	if (v < r->min || v > r->max)
		return conf_fail_at(sec, sec->line, "%s %ld is out of range %ld..%ld%s",
			       r->name, v, r->min, r->max, r->why ? r->why : "");
	return 0;
}

static int size_value(cfg_t *sec, const char *what, const char *s, uint64_t max, uint64_t *out)
{
	char buf[24];

	if (parse_size(s, out) < 0)
		return conf_fail_at(sec, sec->line, "%s \"%s\" is not a size (bytes, or a number with "
			       "K, M, G or T)", what, s);
	if (*out % CONF_SECTOR)
		return conf_fail_at(sec, sec->line, "%s %s is not a multiple of 512 bytes", what, s);
	if (max && *out > max)
		return conf_fail_at(sec, sec->line, "%s %s is larger than %s", what, s, tunable_size_str(max, buf));
	return 0;
}

static int check_size(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	uint64_t v;

	return size_value(sec, r->name, cfg_opt_getnstr(opt, 0), r->size_max, &v);
}

static int check_enum(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, 0);
	char list[128] = "";

	if (conf_name_index(r->names, s) >= 0)
		return 0;
	for (int i = 0; r->names[i]; i++)
		conf_appendf(list, sizeof list, "%s%s", i ? ", " : "", r->names[i]);
	return conf_fail_at(sec, sec->line, "%s \"%s\" is not one of %s", r->name, s, list);
}

static bool printable(const char *s)
{
	for (; *s; s++)
		if (*s < 0x20 || *s > 0x7e)
			return false;
	return true;
}

/* a string for a fixed-size field: r->min..r->max characters */
static int check_text(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, 0);
	size_t len = strlen(s);

	if (len < (size_t)r->min)
		return conf_fail_at(sec, sec->line, "%s is empty", r->name);
	if (len > (size_t)r->max)
		return conf_fail_at(sec, sec->line, "%s is longer than %ld characters", r->name, r->max);
	return 0;
}

/* IDENTIFY strings go to initiators as they are: printable ASCII only */
static int check_ata_text(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	if (check_text(r, sec, opt) < 0)
		return -1;
	if (!printable(cfg_opt_getnstr(opt, 0)))
		return conf_fail_at(sec, sec->line, "%s may only hold printable ASCII", r->name);
	return 0;
}

/* the daemon runs from "/", so relative names would point somewhere else */
static int check_abs_path(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, 0);

	if (check_text(r, sec, opt) < 0)
		return -1;
	if (*s && *s != '/')
		return conf_fail_at(sec, sec->line, "%s \"%s\" is not an absolute path", r->name, s);
	return 0;
}

static int check_path(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, 0);
	uint64_t size;

	if (strncmp(s, "null:", 5) != 0)
		return check_abs_path(r, sec, opt);
	if (parse_size(s + 5, &size) < 0 || !size || size % CONF_SECTOR)
		return conf_fail_at(sec, sec->line, "path \"%s\": null:SIZE wants a size, a non-zero "
			       "multiple of 512 bytes", s);
	return 0;
}

static int check_tag(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
#ifdef HAVE_BLKID
	return check_text(r, sec, opt);
#else
	return conf_fail_at(sec, sec->line, "%s needs libblkid, which this aoexd was built without; "
		       "use path", r->name);
#endif
}

/* Linux refuses '/', ':' and white space in interface names */
bool conf_ifname_ok(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len < CONF_IFNAME_MAX && !strpbrk(s, "/: \t\n");
}

static int check_ifname(const struct rule *r, cfg_t *sec, const char *s, unsigned index)
{
	if (index >= CONF_MAX_IFACES)
		return conf_fail_at(sec, sec->line, "interfaces lists more than %d names", CONF_MAX_IFACES);
	if (!conf_ifname_ok(s))
		return conf_fail_at(sec, sec->line, "\"%s\" in interfaces is not an interface name or pattern "
			       "(1 to 15 characters, no '/', ':' or spaces)", s);
	return 0;
}

/* device titles and acl names: words aoexctl can take on its command line */
bool conf_name_ok(const char *s)
{
	size_t len = strlen(s);

	if (len < 1 || len >= CONF_NAME_MAX)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("._-", *s))
			return false;
	return true;
}

static int check_acl_mac(const struct rule *r, cfg_t *sec, const char *s, unsigned index)
{
	uint8_t mac[6];

	if (index >= CONF_MAX_ACL_MACS)
		return conf_fail_at(sec, sec->line, "%s lists more than %d MAC addresses", r->name, CONF_MAX_ACL_MACS);
	if (parse_mac(s, mac) < 0)
		return conf_fail_at(sec, sec->line, "bad MAC address \"%s\" in %s", s, r->name);
	return 0;
}

/* a MAC, or an acl name resolved once the whole file is read */
static int check_dev_mac(const struct rule *r, cfg_t *sec, const char *s, unsigned index)
{
	uint8_t mac[6];

	if (index >= CONF_MAX_ACL_MACS)
		return conf_fail_at(sec, sec->line, "%s lists more than %d entries", r->name, CONF_MAX_ACL_MACS);
	if (parse_mac(s, mac) == 0)
		return 0;
	if (strchr(s, ':'))
		return conf_fail_at(sec, sec->line, "bad MAC address \"%s\" in %s", s, r->name);
	if (!conf_name_ok(s))
		return conf_fail_at(sec, sec->line, "\"%s\" in %s is neither a MAC address nor an acl name",
			       s, r->name);
	return 0;
}

/* A tunable of tunables.h, by its kind. */
static int check_tunable(const struct tunable *tu, cfg_t *sec, cfg_opt_t *opt)
{
	char a[48], b[48];
	uint64_t v;

	switch (tu->kind) {
	case TUNE_BOOL:
		return 0;	/* libconfuse checks booleans */
	case TUNE_POLICY:
		if (tunable_parse(tu, cfg_opt_getnstr(opt, 0), &v) == 0)
			return 0;
		return conf_fail_at(sec, sec->line, "%s \"%s\" is not one of %s", tu->key,
				    cfg_opt_getnstr(opt, 0), tunable_range_str(tu, a));
	case TUNE_SIZE:
		if (parse_size(cfg_opt_getnstr(opt, 0), &v) < 0)
			return conf_fail_at(sec, sec->line, "%s \"%s\" is not a size (bytes, or a "
					    "number with K, M, G or T)", tu->key, cfg_opt_getnstr(opt, 0));
		if (v > tu->max)
			return conf_fail_at(sec, sec->line, "%s %s is larger than %s", tu->key,
					    cfg_opt_getnstr(opt, 0), tunable_size_str(tu->max, a));
		if (v < tu->min)
			return conf_fail_at(sec, sec->line, "%s %s is smaller than %s", tu->key,
					    cfg_opt_getnstr(opt, 0), tunable_size_str(tu->min, b));
		return 0;
	default: {
		long n = cfg_opt_getnint(opt, 0);
		if (n >= 0 && tunable_in_range(tu, (uint64_t)n))
			return 0;
		return conf_fail_at(sec, sec->line, "%s %ld is out of range %s%s", tu->key, n,
				    tunable_range_str(tu, a), tu->kind == TUNE_MTU ?
				    " (36 header bytes and one 512-byte sector; 0 keeps the "
				    "interface's own)" : "");
	}
	}
}

#define ALL_IO		(S_ROOT | S_DEVICE)
#define RANGE(lo, hi)	.check = check_int, .min = (lo), .max = (hi)
#define SIZE(hi)	.check = check_size, .size_max = (hi)
#define TEXT(fn, lo, hi) .check = (fn), .min = (lo), .max = (hi)

static const struct rule rules[] = {
	{ "interfaces", ALL_IO, .item = check_ifname },
	{ "control-socket", S_ROOT, TEXT(check_abs_path, 1, CONF_SOCKET_MAX - 1) },
	{ "control-group", S_ROOT, TEXT(check_text, 0, CONF_NAME_MAX - 1) },
	{ "state-directory", S_ROOT, TEXT(check_abs_path, 1, CONF_PATH_MAX - 1) },
	{ "pid-file", S_ROOT, TEXT(check_abs_path, 0, CONF_PATH_MAX - 1) },
	{ "log-target", S_ROOT, .check = check_enum, .names = conf_log_targets },
	{ "log-level", S_ROOT, .check = check_enum, .names = conf_log_levels },
	{ "accept", S_ACL, .item = check_acl_mac },
	{ "accept", S_DEVICE, .item = check_dev_mac },
	{ "deny", S_DEVICE, .item = check_dev_mac },
	{ "mask", S_DEVICE, .item = check_dev_mac },
	{ "path", S_DEVICE, TEXT(check_path, 1, CONF_PATH_MAX - 1) },
	{ "uuid", S_DEVICE, TEXT(check_tag, 1, CONF_TAG_MAX - 1) },
	{ "label", S_DEVICE, TEXT(check_tag, 1, CONF_TAG_MAX - 1) },
	{ "shelf", S_DEVICE, RANGE(0, CONF_SHELF_MAX), .why = " (65535 is the broadcast shelf)" },
	{ "slot", S_DEVICE, RANGE(0, CONF_SLOT_MAX), .why = " (255 is the broadcast slot)" },
	{ "offset", S_DEVICE, SIZE(0) },
	{ "length", S_DEVICE, SIZE(0) },
	{ "model", S_DEVICE, TEXT(check_ata_text, 1, CONF_MODEL_MAX - 1) },
	{ "serial", S_DEVICE, TEXT(check_ata_text, 0, CONF_SERIAL_MAX - 1) },
	{ "freeze-shadow", S_DEVICE, TEXT(check_abs_path, 1, CONF_PATH_MAX - 1) },
	{ "freeze-max-size", S_DEVICE, SIZE(0) },
};

enum conf_scope conf_scope_of(const cfg_t *sec)
{
	if (conf_is_root(sec))
		return S_ROOT;
	if (strcmp(sec->name, "acl") == 0)
		return S_ACL;
	if (strcmp(sec->name, "interface") == 0)
		return S_IFACE;
	return S_DEVICE;
}

static const struct rule *find_rule(enum conf_scope scope, const char *name)
{
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if ((rules[i].scopes & scope) && strcmp(rules[i].name, name) == 0)
			return &rules[i];
	return NULL;
}

/* The tunable name is in a section of this scope, or NULL. */
static const struct tunable *find_tunable(enum conf_scope scope, const char *name)
{
	if (scope & (S_ROOT | S_DEVICE))
		for (unsigned i = 0; i < tunables_device_n; i++)
			if (strcmp(tunables_device[i].key, name) == 0)
				return &tunables_device[i];
	if (scope & (S_ROOT | S_IFACE))
		for (unsigned i = 0; i < tunables_iface_n; i++)
			if (strcmp(tunables_iface[i].key, name) == 0)
				return &tunables_iface[i];
	return NULL;
}

int conf_check_value(cfg_t *sec, cfg_opt_t *opt)
{
	enum conf_scope scope = conf_scope_of(sec);
	const struct tunable *tu = find_tunable(scope, opt->name);
	const struct rule *r;

	if (tu)
		return check_tunable(tu, sec, opt);
	r = find_rule(scope, opt->name);
	return r && r->check ? r->check(r, sec, opt) : 0;
}

int conf_check_item(cfg_t *sec, cfg_opt_t *opt, const char *value, unsigned index)
{
	const struct rule *r = find_rule(conf_scope_of(sec), opt->name);

	return r && r->item ? r->item(r, sec, value, index) : 0;
}
