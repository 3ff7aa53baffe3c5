/*
 * conf.c - load aoexd.conf with libconfuse.
 *
 * libconfuse checks the syntax, the option names and the types.  Our
 * checks run from its callbacks on every value (the validate callback, and
 * for list elements the parse callback, which runs once per element), while
 * its line counter still points at that value, so each error names its
 * line.  The checks that need the whole file (acl names used before they
 * are defined, two devices on one address, interfaces nobody serves) run
 * after the parse, with the lines the callbacks noted on the way.
 *
 * libconfuse 3.3 miscounts lines after comments and refuses comments inside
 * lists, so it is handed the file with its comments blanked out
 * (blank_comments below).
 *
 * libconfuse's callbacks carry no user pointer, so one load's state lives
 * in a file-level pointer; its lexer is global state anyway.
 */
#include "config.h"
#include "config/conf.h"
#include "common/util.h"

#include <confuse.h>
#include <ctype.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#ifdef HAVE_BLKID
#include <blkid.h>
#endif

#define SECTOR		512
#define MIN_MTU		548	/* 36 bytes of AoE + ATA header and one sector */

/* ------------------------------------------------------------------ options */

/*
 * No option has a libconfuse default: an option that is not set must stay
 * visible as such, so that a device can inherit the global value.  The
 * defaults live in conf.h (CONF_DEF_*) and are applied while building.
 */
#define NODEF		CFGF_NODEFAULT
#define SECTIONS	(CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES)

/* the I/O knobs: global defaults, and the same names in a device */
#define TUNING_OPTS \
	CFG_INT("queue-depth", 0, NODEF), \
	CFG_BOOL("direct-io", cfg_false, NODEF), \
	CFG_STR("write-policy", NULL, NODEF), \
	CFG_STR("read-ahead", NULL, NODEF), \
	CFG_INT("read-ahead-streams", 0, NODEF), \
	CFG_STR("write-behind", NULL, NODEF), \
	CFG_STR("write-back-max-dirty", NULL, NODEF), \
	CFG_INT("write-back-max-age", 0, NODEF), \
	CFG_INT("merge-delay", 0, NODEF)

static cfg_opt_t acl_opts[] = {
	CFG_STR_LIST("accept", NULL, NODEF),
	CFG_END()
};

static cfg_opt_t iface_opts[] = {
	CFG_INT("mtu", 0, NODEF),
	CFG_INT("rx-ring-frames", 0, NODEF),
	CFG_INT("tx-ring-frames", 0, NODEF),
	CFG_END()
};

static cfg_opt_t device_opts[] = {
	CFG_STR("path", NULL, NODEF),
	CFG_STR("uuid", NULL, NODEF),
	CFG_STR("label", NULL, NODEF),
	CFG_INT("shelf", 0, NODEF),
	CFG_INT("slot", 0, NODEF),
	CFG_BOOL("read-only", cfg_false, NODEF),
	CFG_STR("offset", NULL, NODEF),
	CFG_STR("length", NULL, NODEF),
	CFG_STR_LIST("interfaces", NULL, NODEF),
	TUNING_OPTS,
	CFG_STR_LIST("accept", NULL, NODEF),
	CFG_STR_LIST("deny", NULL, NODEF),
	CFG_BOOL("broadcast", cfg_true, NODEF),
	CFG_STR("model", NULL, NODEF),
	CFG_STR("serial", NULL, NODEF),
	CFG_END()
};

static cfg_opt_t root_opts[] = {
	CFG_STR_LIST("interfaces", NULL, NODEF),
	CFG_INT("mtu", 0, NODEF),
	CFG_INT("rx-ring-frames", 0, NODEF),
	CFG_INT("tx-ring-frames", 0, NODEF),
	TUNING_OPTS,
	CFG_STR("control-socket", NULL, NODEF),
	CFG_STR("control-group", NULL, NODEF),
	CFG_STR("state-directory", NULL, NODEF),
	CFG_STR("pid-file", NULL, NODEF),
	CFG_STR("log-target", NULL, NODEF),
	CFG_STR("log-level", NULL, NODEF),
	CFG_SEC("acl", acl_opts, SECTIONS),
	CFG_SEC("interface", iface_opts, SECTIONS),
	CFG_SEC("device", device_opts, SECTIONS),
	CFG_END()
};

/* index = enum value; log levels are consecutive from LOG_ERR */
static const char *const write_policies[] = { "write-through", "write-back", NULL };
static const char *const log_targets[] = { "stderr", "syslog", NULL };
static const char *const log_levels[] = { "error", "warning", "notice", "info", "debug", NULL };

static int name_index(const char *const *names, const char *s)
{
	for (int i = 0; names[i]; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

const char *conf_write_policy_name(enum conf_write_policy p)
{
	return (unsigned)p < 2 ? write_policies[p] : "?";
}

const char *conf_log_level_name(int level)
{
	return level >= LOG_ERR && level <= LOG_DEBUG ? log_levels[level - LOG_ERR] : "?";
}

/* ------------------------------------------------------- one load's state */

/* Where something was in the file: value `index` of an option of a
 * section, or (opt NULL) the section itself. */
struct mark {
	const cfg_t *sec;
	const char *opt;
	unsigned index;
	int line;
};

struct load {
	const char *path;
	char *err;
	size_t errlen;
	bool failed;
	cfg_t *root;
	struct aoexd_conf *conf;	/* being built; takes the warnings */
	struct mark *marks;		/* in file order: the last match is the latest */
	size_t n_marks, cap_marks;
	const cfg_t *noted;		/* the section whose start is noted last */
};

static struct load *L;

static void appendf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

static bool is_root(const cfg_t *sec)
{
	return !sec || sec == L->root;
}

/* "FILE:LINE: device TITLE: " then the message */
static void format_msg(char *buf, size_t len, const cfg_t *sec, int line,
		       const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));
static void format_msg(char *buf, size_t len, const cfg_t *sec, int line,
		       const char *fmt, va_list ap)
{
	if (!len)
		return;
	buf[0] = '\0';
	if (line > 0)
		appendf(buf, len, "%s:%d: ", L->path, line);
	else
		appendf(buf, len, "%s: ", L->path);
	if (!is_root(sec))
		appendf(buf, len, "%s %s: ", sec->name, sec->title);
	size_t used = strlen(buf);
	if (used + 1 < len)
		vsnprintf(buf + used, len - used, fmt, ap);
}

/* Record the first error (the parse stops there); returns -1 for callers. */
static int fail_at(const cfg_t *sec, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail_at(const cfg_t *sec, int line, const char *fmt, ...)
{
	va_list ap;

	if (L->failed)
		return -1;
	L->failed = true;
	va_start(ap, fmt);
	format_msg(L->err, L->errlen, sec, line, fmt, ap);
	va_end(ap);
	return -1;
}

static void warn_at(const cfg_t *sec, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void warn_at(const cfg_t *sec, int line, const char *fmt, ...)
{
	struct aoexd_conf *c = L->conf;
	va_list ap;

	if (c->n_warnings == CONF_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	format_msg(c->warnings[c->n_warnings++], CONF_MSG_MAX, sec, line, fmt, ap);
	va_end(ap);
}

/* from the end: the latest assignment, and the current section's are near */
static struct mark *find_mark(const cfg_t *sec, const char *opt, unsigned index)
{
	for (size_t i = L->n_marks; i-- > 0;) {
		struct mark *m = &L->marks[i];
		if (m->sec == sec && m->index == index &&
		    (opt ? m->opt && strcmp(m->opt, opt) == 0 : !m->opt))
			return m;
	}
	return NULL;
}

static struct mark *add_mark(const cfg_t *sec, const char *opt, unsigned index, int line)
{
	if (L->n_marks == L->cap_marks) {
		size_t cap = L->cap_marks ? 2 * L->cap_marks : 256;
		struct mark *m = realloc(L->marks, cap * sizeof *m);
		if (!m)
			return NULL;
		L->marks = m;
		L->cap_marks = cap;
	}
	L->marks[L->n_marks] = (struct mark){ sec, opt, index, line };
	return &L->marks[L->n_marks++];
}

static int section_line(const cfg_t *sec)
{
	const struct mark *m = find_mark(sec, NULL, 0);
	return m ? m->line : 0;
}

/* The line of an option's value; its section's when it was not set. */
static int value_line(const cfg_t *sec, const char *opt, unsigned index)
{
	const struct mark *m = find_mark(sec, opt, index);
	return m ? m->line : section_line(sec);
}

/* Note where value `index` of the option just read is; a later assignment
 * of the option adds a later note. */
static int note_value(cfg_t *sec, cfg_opt_t *opt, unsigned index)
{
	return add_mark(sec, opt->name, index, sec->line) ? 0 : fail_at(NULL, 0, "out of memory");
}

/*
 * While libconfuse reads a section it counts lines in the section's cfg_t;
 * the root's counter stays on the line of the section's opening brace.
 */
static int note_section(const cfg_t *sec, int line)
{
	if (sec == L->noted || find_mark(sec, NULL, 0))
		return 0;
	L->noted = sec;
	return add_mark(sec, NULL, 0, line) ? 0 : fail_at(NULL, 0, "out of memory");
}

/* ------------------------------------------------------ checks of values */

enum scope { S_ROOT = 1, S_ACL = 2, S_IFACE = 4, S_DEVICE = 8 };

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
		return fail_at(sec, sec->line, "%s %ld is out of range %ld..%ld%s",
			       r->name, v, r->min, r->max, r->why ? r->why : "");
	return 0;
}

/* 0 keeps the interface's MTU, which is why it is not simply a range */
static int check_mtu(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	long v = cfg_opt_getnint(opt, 0);

	if (v != 0 && (v < MIN_MTU || v > 65535))
		return fail_at(sec, sec->line, "mtu %ld is out of range %d..65535 (36 header bytes and "
			       "one 512-byte sector; 0 keeps the interface's own)", v, MIN_MTU);
	return 0;
}

/* the largest unit that divides it exactly: 1M, 512K, 1536 */
static const char *size_str(uint64_t v, char buf[24])
{
	static const char units[] = "TGMK";

	for (int i = 0; v && units[i]; i++) {
		unsigned shift = 10u * (unsigned)(4 - i);
		if (v % (1ULL << shift) == 0) {
			snprintf(buf, 24, "%llu%c", (unsigned long long)(v >> shift), units[i]);
			return buf;
		}
	}
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}

static int size_value(cfg_t *sec, const char *what, const char *s, uint64_t max, uint64_t *out)
{
	char buf[24];

	if (parse_size(s, out) < 0)
		return fail_at(sec, sec->line, "%s \"%s\" is not a size (bytes, or a number with "
			       "K, M, G or T)", what, s);
	if (*out % SECTOR)
		return fail_at(sec, sec->line, "%s %s is not a multiple of 512 bytes", what, s);
	if (max && *out > max)
		return fail_at(sec, sec->line, "%s %s is larger than %s", what, s, size_str(max, buf));
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

	if (name_index(r->names, s) >= 0)
		return 0;
	for (int i = 0; r->names[i]; i++)
		appendf(list, sizeof list, "%s%s", i ? ", " : "", r->names[i]);
	return fail_at(sec, sec->line, "%s \"%s\" is not one of %s", r->name, s, list);
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
		return fail_at(sec, sec->line, "%s is empty", r->name);
	if (len > (size_t)r->max)
		return fail_at(sec, sec->line, "%s is longer than %ld characters", r->name, r->max);
	return 0;
}

/* IDENTIFY strings go to initiators as they are: printable ASCII only */
static int check_ata_text(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	if (check_text(r, sec, opt) < 0)
		return -1;
	if (!printable(cfg_opt_getnstr(opt, 0)))
		return fail_at(sec, sec->line, "%s may only hold printable ASCII", r->name);
	return 0;
}

/* the daemon runs from "/", so relative names would point somewhere else */
static int check_abs_path(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, 0);

	if (check_text(r, sec, opt) < 0)
		return -1;
	if (*s && *s != '/')
		return fail_at(sec, sec->line, "%s \"%s\" is not an absolute path", r->name, s);
	return 0;
}

static int check_path(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
	const char *s = cfg_opt_getnstr(opt, 0);
	uint64_t size;

	if (strncmp(s, "null:", 5) != 0)
		return check_abs_path(r, sec, opt);
	if (parse_size(s + 5, &size) < 0 || !size || size % SECTOR)
		return fail_at(sec, sec->line, "path \"%s\": null:SIZE wants a size, a non-zero "
			       "multiple of 512 bytes", s);
	return 0;
}

static int check_tag(const struct rule *r, cfg_t *sec, cfg_opt_t *opt)
{
#ifdef HAVE_BLKID
	return check_text(r, sec, opt);
#else
	return fail_at(sec, sec->line, "%s needs libblkid, which this aoexd was built without; "
		       "use path", r->name);
#endif
}

/* Linux refuses '/', ':' and white space in interface names */
static bool ifname_ok(const char *s)
{
	size_t len = strlen(s);

	return len >= 1 && len < CONF_IFNAME_MAX && !strpbrk(s, "/: \t\n");
}

static int check_ifname(const struct rule *r, cfg_t *sec, const char *s, unsigned index)
{
	if (index >= CONF_MAX_IFACES)
		return fail_at(sec, sec->line, "interfaces lists more than %d names", CONF_MAX_IFACES);
	if (!ifname_ok(s))
		return fail_at(sec, sec->line, "\"%s\" in interfaces is not an interface name or pattern "
			       "(1 to 15 characters, no '/', ':' or spaces)", s);
	return 0;
}

/* device titles and acl names: words aoexctl can take on its command line */
static bool name_ok(const char *s)
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
		return fail_at(sec, sec->line, "%s lists more than %d MAC addresses", r->name, CONF_MAX_ACL_MACS);
	if (parse_mac(s, mac) < 0)
		return fail_at(sec, sec->line, "bad MAC address \"%s\" in %s", s, r->name);
	return 0;
}

/* a MAC, or an acl name resolved once the whole file is read */
static int check_dev_mac(const struct rule *r, cfg_t *sec, const char *s, unsigned index)
{
	uint8_t mac[6];

	if (index >= CONF_MAX_ACL_MACS)
		return fail_at(sec, sec->line, "%s lists more than %d entries", r->name, CONF_MAX_ACL_MACS);
	if (parse_mac(s, mac) == 0)
		return 0;
	if (strchr(s, ':'))
		return fail_at(sec, sec->line, "bad MAC address \"%s\" in %s", s, r->name);
	if (!name_ok(s))
		return fail_at(sec, sec->line, "\"%s\" in %s is neither a MAC address nor an acl name",
			       s, r->name);
	return 0;
}

#define ALL_IO		(S_ROOT | S_DEVICE)
#define RANGE(lo, hi)	.check = check_int, .min = (lo), .max = (hi)
#define SIZE(hi)	.check = check_size, .size_max = (hi)
#define TEXT(fn, lo, hi) .check = (fn), .min = (lo), .max = (hi)

static const struct rule rules[] = {
	{ "interfaces", ALL_IO, .item = check_ifname },
	{ "mtu", S_ROOT | S_IFACE, .check = check_mtu },
	{ "rx-ring-frames", S_ROOT | S_IFACE, RANGE(8, 65536) },
	{ "tx-ring-frames", S_ROOT | S_IFACE, RANGE(8, 65536) },
	{ "queue-depth", ALL_IO, RANGE(2, 1024), .why = " (initiators stall below 2)" },
	{ "write-policy", ALL_IO, .check = check_enum, .names = write_policies },
	{ "read-ahead", ALL_IO, SIZE(64u << 20) },
	{ "read-ahead-streams", ALL_IO, RANGE(1, 64) },
	{ "write-behind", ALL_IO, SIZE(64u << 20) },
	{ "write-back-max-dirty", ALL_IO, SIZE(1u << 30) },
	{ "write-back-max-age", ALL_IO, RANGE(1, 60000), .why = " (milliseconds)" },
	{ "merge-delay", ALL_IO, RANGE(0, 10000), .why = " (microseconds)" },
	{ "control-socket", S_ROOT, TEXT(check_abs_path, 1, CONF_SOCKET_MAX - 1) },
	{ "control-group", S_ROOT, TEXT(check_text, 0, CONF_NAME_MAX - 1) },
	{ "state-directory", S_ROOT, TEXT(check_abs_path, 1, CONF_PATH_MAX - 1) },
	{ "pid-file", S_ROOT, TEXT(check_abs_path, 0, CONF_PATH_MAX - 1) },
	{ "log-target", S_ROOT, .check = check_enum, .names = log_targets },
	{ "log-level", S_ROOT, .check = check_enum, .names = log_levels },
	{ "accept", S_ACL, .item = check_acl_mac },
	{ "accept", S_DEVICE, .item = check_dev_mac },
	{ "deny", S_DEVICE, .item = check_dev_mac },
	{ "path", S_DEVICE, TEXT(check_path, 1, CONF_PATH_MAX - 1) },
	{ "uuid", S_DEVICE, TEXT(check_tag, 1, CONF_TAG_MAX - 1) },
	{ "label", S_DEVICE, TEXT(check_tag, 1, CONF_TAG_MAX - 1) },
	{ "shelf", S_DEVICE, RANGE(0, 65534), .why = " (65535 is the broadcast shelf)" },
	{ "slot", S_DEVICE, RANGE(0, 254), .why = " (255 is the broadcast slot)" },
	{ "offset", S_DEVICE, SIZE(0) },
	{ "length", S_DEVICE, SIZE(0) },
	{ "model", S_DEVICE, TEXT(check_ata_text, 1, CONF_MODEL_MAX - 1) },
	{ "serial", S_DEVICE, TEXT(check_ata_text, 0, CONF_SERIAL_MAX - 1) },
};

static enum scope scope_of(const cfg_t *sec)
{
	if (is_root(sec))
		return S_ROOT;
	if (strcmp(sec->name, "acl") == 0)
		return S_ACL;
	if (strcmp(sec->name, "interface") == 0)
		return S_IFACE;
	return S_DEVICE;
}

static const struct rule *find_rule(enum scope scope, const char *name)
{
	for (size_t i = 0; i < sizeof rules / sizeof rules[0]; i++)
		if ((rules[i].scopes & scope) && strcmp(rules[i].name, name) == 0)
			return &rules[i];
	return NULL;
}

/* ---------------------------------------------------- checks of sections */

#define NO_PATHS	"'|' in an option name"

static bool has(cfg_t *sec, const char *name)
{
	return cfg_size(sec, name) > 0;
}

static int check_title(cfg_t *sec, int line)
{
	const char *t = sec->title;

	if (scope_of(sec) == S_IFACE) {
		if (!ifname_ok(t))
			return fail_at(NULL, line, "interface \"%s\": not an interface name or pattern "
				       "(1 to 15 characters, no '/', ':' or spaces)", t);
		return 0;
	}
	uint8_t mac[6];
	if (scope_of(sec) == S_ACL && parse_mac(t, mac) == 0)
		return fail_at(NULL, line, "acl \"%s\": an acl name must not look like a MAC address", t);
	if (!name_ok(t))
		return fail_at(NULL, line, "%s \"%s\": a title is 1 to %d letters, digits, '.', '_' "
			       "or '-'", sec->name, t, CONF_NAME_MAX - 1);
	return 0;
}

static int check_device(cfg_t *sec, int line)
{
	int sources = has(sec, "path") + has(sec, "uuid") + has(sec, "label");

	if (!sources)
		return fail_at(sec, line, "no path, uuid or label");
	if (sources > 1)
		return fail_at(sec, line, "path, uuid and label exclude each other: give one");
	if (!has(sec, "shelf"))
		return fail_at(sec, line, "shelf is missing");
	if (!has(sec, "slot"))
		return fail_at(sec, line, "slot is missing");
	return 0;
}

/* Called at a section's closing brace, with the root's line counter there. */
static int section_done(cfg_t *root, cfg_opt_t *opt)
{
	static const struct { const char *kind, *plural; unsigned max; } limits[] = {
		{ "device", "devices", CONF_MAX_DEVICES },
		{ "acl", "acls", CONF_MAX_ACLS },
		{ "interface", "interface sections", CONF_MAX_IFACES },
	};
	unsigned n = cfg_opt_size(opt);
	cfg_t *sec = cfg_opt_getnsec(opt, n - 1);	/* titles are unique: the last is the new one */
	int line;

	if (note_section(sec, root->line) < 0)
		return -1;
	line = section_line(sec);
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
		if (strcmp(opt->name, limits[i].kind) == 0 && n > limits[i].max)
			return fail_at(NULL, line, "more than %u %s", limits[i].max, limits[i].plural);
	if (check_title(sec, line) < 0)
		return -1;
	return scope_of(sec) == S_DEVICE ? check_device(sec, line) : 0;
}

/*
 * libconfuse takes "device|shelf = 7" at the top level for the first
 * device's shelf, calling back with the root and the device's option,
 * where no rule would check it: options reached that way are refused.
 */
static bool own_option(const cfg_t *sec, const cfg_opt_t *opt)
{
	for (const cfg_opt_t *o = sec->opts; o->name; o++)
		if (o == opt)
			return true;
	return false;
}

/* the first value read in a section also tells where the section starts */
static int note(cfg_t *sec, cfg_opt_t *opt, unsigned index)
{
	if (!own_option(sec, opt))
		return fail_at(sec, sec->line, NO_PATHS);
	if (!is_root(sec) && note_section(sec, L->root->line) < 0)
		return -1;
	return note_value(sec, opt, index);
}

/* libconfuse's validate callback, on the options that are not lists */
static int on_value(cfg_t *sec, cfg_opt_t *opt)
{
	const struct rule *r;

	if (opt->type == CFGT_SEC)
		return section_done(sec, opt);
	if (note(sec, opt, 0) < 0)
		return -1;
	r = find_rule(scope_of(sec), opt->name);
	return r && r->check ? r->check(r, sec, opt) : 0;
}

/*
 * libconfuse's parse callback, on the string lists: it runs once for each
 * element, after the element's slot is added.  (Their validate callback
 * would also run at the closing brace, with nothing to tell it apart.)
 */
static int on_list_value(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	unsigned index = cfg_opt_size(opt) - 1;
	const struct rule *r;

	if (note(sec, opt, index) < 0)
		return -1;
	r = find_rule(scope_of(sec), opt->name);
	if (r && r->item && r->item(r, sec, value, index) < 0)
		return -1;
	*(const char **)result = value;
	return 0;
}

static void install_checks(cfg_opt_t *opts)
{
	for (; opts->name; opts++) {
		if (opts->flags & CFGF_LIST)
			opts->parsecb = on_list_value;
		else
			opts->validcb = on_value;
		if (opts->subopts)
			install_checks(opts->subopts);
	}
}

/* "device e1.2 is defined twice (first at line 3)", naming the kind when
 * only one kind of section has that title */
static void duplicate_title(char *msg, size_t len, cfg_t *root, const char *title)
{
	static const char *const kinds[] = { "device", "acl", "interface" };
	const cfg_t *first = NULL;

	for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
		cfg_opt_t *opt = cfg_getopt(root, kinds[k]);
		for (unsigned i = 0; opt && i < cfg_opt_size(opt); i++) {
			cfg_t *sec = cfg_opt_getnsec(opt, i);
			if (strcmp(sec->title, title) != 0)
				continue;
			if (first) {
				snprintf(msg, len, "\"%s\" is defined twice", title);
				return;
			}
			first = sec;
		}
	}
	if (first)
		snprintf(msg, len, "%s %s is defined twice (first at line %d)",
			 first->name, title, section_line(first));
	else
		snprintf(msg, len, "\"%s\" is defined twice", title);
}

/*
 * libconfuse's messages (syntax, unknown options, wrong types) arrive here
 * instead of on stderr.  Two get clearer words; comparing the untranslated
 * format is safe: a translated one just keeps libconfuse's wording.
 */
static void on_confuse_error(cfg_t *cfg, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void on_confuse_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	char msg[CONF_MSG_MAX];

	if (strcmp(fmt, "no such option '%s'") == 0)
		snprintf(msg, sizeof msg, "unknown option '%s'", va_arg(ap, const char *));
	else if (strncmp(fmt, "no sub-section ", 15) == 0)	/* "device|x|path = ..." */
		snprintf(msg, sizeof msg, NO_PATHS);
	else if (strcmp(fmt, "found duplicate title '%s'") == 0 && is_root(cfg))
		duplicate_title(msg, sizeof msg, L->root, va_arg(ap, const char *));
	else
		vsnprintf(msg, sizeof msg, fmt, ap);
	fail_at(cfg, cfg ? cfg->line : 0, "%s", msg);
}

/* ---------------------------------------------- building the conf struct */

static void copy_str(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (n >= len)	/* the checks keep this from happening */
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static unsigned get_uint(cfg_t *sec, const char *name, unsigned dflt)
{
	return has(sec, name) ? (unsigned)cfg_getint(sec, name) : dflt;
}

static bool get_bool(cfg_t *sec, const char *name, bool dflt)
{
	return has(sec, name) ? cfg_getbool(sec, name) == cfg_true : dflt;
}

static uint64_t get_size(cfg_t *sec, const char *name, uint64_t dflt)
{
	uint64_t v = dflt;

	if (has(sec, name) && parse_size(cfg_getstr(sec, name), &v) < 0)
		v = dflt;	/* checked while parsing */
	return v;
}

static int get_enum(cfg_t *sec, const char *name, const char *const *names, int dflt)
{
	int i = has(sec, name) ? name_index(names, cfg_getstr(sec, name)) : -1;

	return i >= 0 ? i : dflt;
}

static void get_str(cfg_t *sec, const char *name, char *out, size_t len)
{
	if (has(sec, name))
		copy_str(out, len, cfg_getstr(sec, name));
}

static unsigned get_names(cfg_t *sec, const char *name, char out[][CONF_IFNAME_MAX])
{
	unsigned n = cfg_size(sec, name);

	for (unsigned i = 0; i < n; i++)
		copy_str(out[i], CONF_IFNAME_MAX, cfg_getnstr(sec, name, i));
	return n;
}

/* a value set in sec, else the one in *inherit (out may be inherit) */
static void get_tuning(cfg_t *sec, const struct conf_tuning *inherit, struct conf_tuning *out)
{
	out->queue_depth = get_uint(sec, "queue-depth", inherit->queue_depth);
	out->direct_io = get_bool(sec, "direct-io", inherit->direct_io);
	out->write_policy = (enum conf_write_policy)get_enum(sec, "write-policy", write_policies,
							     (int)inherit->write_policy);
	out->read_ahead = get_size(sec, "read-ahead", inherit->read_ahead);
	out->read_ahead_streams = get_uint(sec, "read-ahead-streams", inherit->read_ahead_streams);
	out->write_behind = get_size(sec, "write-behind", inherit->write_behind);
	out->write_back_max_dirty = get_size(sec, "write-back-max-dirty", inherit->write_back_max_dirty);
	out->write_back_max_age_ms = get_uint(sec, "write-back-max-age", inherit->write_back_max_age_ms);
	out->merge_delay_us = get_uint(sec, "merge-delay", inherit->merge_delay_us);
}

void conf_defaults(struct aoexd_conf *c)
{
	memset(c, 0, sizeof *c);
	c->mtu = CONF_DEF_MTU;
	c->rx_ring_frames = CONF_DEF_RING_FRAMES;
	c->tx_ring_frames = CONF_DEF_RING_FRAMES;
	c->defaults = (struct conf_tuning){
		.queue_depth = CONF_DEF_QUEUE_DEPTH,
		.direct_io = CONF_DEF_DIRECT_IO,
		.write_policy = CONF_DEF_WRITE_POLICY,
		.read_ahead = CONF_DEF_READ_AHEAD,
		.read_ahead_streams = CONF_DEF_READ_AHEAD_STREAMS,
		.write_behind = CONF_DEF_WRITE_BEHIND,
		.write_back_max_dirty = CONF_DEF_WB_MAX_DIRTY,
		.write_back_max_age_ms = CONF_DEF_WB_MAX_AGE_MS,
		.merge_delay_us = CONF_DEF_MERGE_DELAY_US,
	};
	copy_str(c->control_socket, sizeof c->control_socket, CONF_DEF_CONTROL_SOCKET);
	copy_str(c->control_group, sizeof c->control_group, CONF_DEF_CONTROL_GROUP);
	copy_str(c->state_directory, sizeof c->state_directory, CONF_DEF_STATE_DIRECTORY);
	copy_str(c->pid_file, sizeof c->pid_file, CONF_DEF_PID_FILE);
	c->log_target = CONF_DEF_LOG_TARGET;
	c->log_level = CONF_DEF_LOG_LEVEL;
}

static void build_globals(cfg_t *root, struct aoexd_conf *c)
{
	c->n_interfaces = get_names(root, "interfaces", c->interfaces);
	c->mtu = get_uint(root, "mtu", c->mtu);
	c->rx_ring_frames = get_uint(root, "rx-ring-frames", c->rx_ring_frames);
	c->tx_ring_frames = get_uint(root, "tx-ring-frames", c->tx_ring_frames);
	get_tuning(root, &c->defaults, &c->defaults);
	get_str(root, "control-socket", c->control_socket, sizeof c->control_socket);
	get_str(root, "control-group", c->control_group, sizeof c->control_group);
	get_str(root, "state-directory", c->state_directory, sizeof c->state_directory);
	get_str(root, "pid-file", c->pid_file, sizeof c->pid_file);
	c->log_target = (enum conf_log_target)get_enum(root, "log-target", log_targets, (int)c->log_target);
	c->log_level = LOG_ERR + get_enum(root, "log-level", log_levels, c->log_level - LOG_ERR);
}

static bool macs_has(const struct conf_macs *m, const uint8_t mac[6])
{
	for (unsigned i = 0; i < m->n; i++)
		if (memcmp(m->mac[i], mac, 6) == 0)
			return true;
	return false;
}

/* false when full; a MAC already there is not added twice */
static bool macs_add(struct conf_macs *m, const uint8_t mac[6])
{
	if (macs_has(m, mac))
		return true;
	if (m->n == CONF_MAX_ACL_MACS)
		return false;
	memcpy(m->mac[m->n++], mac, 6);
	return true;
}

static void build_acls(cfg_t *root, struct aoexd_conf *c)
{
	c->n_acls = cfg_size(root, "acl");
	for (unsigned i = 0; i < c->n_acls; i++) {
		cfg_t *sec = cfg_getnsec(root, "acl", i);
		struct conf_acl *a = &c->acls[i];
		copy_str(a->name, sizeof a->name, cfg_title(sec));
		for (unsigned j = 0; j < cfg_size(sec, "accept"); j++) {
			uint8_t mac[6];
			if (parse_mac(cfg_getnstr(sec, "accept", j), mac) == 0)
				macs_add(&a->macs, mac);
		}
	}
}

static void build_ifaces(cfg_t *root, struct aoexd_conf *c)
{
	c->n_ifaces = cfg_size(root, "interface");
	for (unsigned i = 0; i < c->n_ifaces; i++) {
		cfg_t *sec = cfg_getnsec(root, "interface", i);
		struct conf_iface *f = &c->ifaces[i];
		copy_str(f->name, sizeof f->name, cfg_title(sec));
		f->mtu = get_uint(sec, "mtu", c->mtu);
		f->rx_ring_frames = get_uint(sec, "rx-ring-frames", c->rx_ring_frames);
		f->tx_ring_frames = get_uint(sec, "tx-ring-frames", c->tx_ring_frames);
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
		int line = value_line(sec, opt, i);
		const char *s = cfg_getnstr(sec, opt, i);
		const struct conf_acl *acl;
		uint8_t mac[6];
		bool room = true;

		if (parse_mac(s, mac) == 0) {
			room = macs_add(out, mac);
		} else if ((acl = find_acl(c, s))) {
			for (unsigned j = 0; j < acl->macs.n && room; j++)
				room = macs_add(out, acl->macs.mac[j]);
		} else {
			return fail_at(sec, line, "%s: unknown acl \"%s\"", opt, s);
		}
		if (!room)
			return fail_at(sec, line, "%s holds more than %d MAC addresses once its acls "
				       "are expanded", opt, CONF_MAX_ACL_MACS);
	}
	return 0;
}

static int build_device(cfg_t *sec, const struct aoexd_conf *c, struct conf_device *d)
{
	copy_str(d->name, sizeof d->name, cfg_title(sec));
	d->line = section_line(sec);
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
	get_tuning(sec, &c->defaults, &d->tune);
	copy_str(d->model, sizeof d->model, CONF_DEF_MODEL);
	get_str(sec, "model", d->model, sizeof d->model);
	copy_str(d->serial, sizeof d->serial, CONF_DEF_SERIAL);
	get_str(sec, "serial", d->serial, sizeof d->serial);
	if (expand_macs(sec, "accept", c, &d->accept) < 0 || expand_macs(sec, "deny", c, &d->deny) < 0)
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
				return fail_at(sec, d->line, "shelf %u slot %u (e%u.%u) is already used by "
					       "device %s (line %d)", d->shelf, d->slot, d->shelf, d->slot,
					       o->name, o->line);
		}
	}
	return 0;
}

static bool pattern_covers(const char *pattern, const char *name)
{
	return strcmp(pattern, name) == 0 || fnmatch(pattern, name, 0) == 0;
}

/* The global list decides what is served: a name outside it is unused. */
static void warn_unserved(cfg_t *root, const struct aoexd_conf *c)
{
	for (unsigned i = 0; i < c->n_devices; i++) {
		const struct conf_device *d = &c->devices[i];
		cfg_t *sec = cfg_getnsec(root, "device", i);
		for (unsigned j = 0; j < d->n_interfaces; j++)
			if (!conf_iface_served(c, d->interfaces[j]))
				warn_at(sec, value_line(sec, "interfaces", j), "interface %s is not in the "
					"global interfaces list: the device is not served there",
					d->interfaces[j]);
	}
	for (unsigned i = 0; i < c->n_ifaces; i++) {
		cfg_t *sec = cfg_getnsec(root, "interface", i);
		if (!conf_iface_served(c, c->ifaces[i].name))
			warn_at(sec, section_line(sec), "not in the global interfaces list: these "
				"settings are not used");
	}
}

static int build(cfg_t *root, struct aoexd_conf *c)
{
	conf_defaults(c);
	build_globals(root, c);
	build_acls(root, c);
	build_ifaces(root, c);
	if (build_devices(root, c) < 0)
		return -1;
	warn_unserved(root, c);
	return L->failed ? -1 : 0;
}

/* ------------------------------------------------------------- conf_load */

#define MAX_FILE	(16u << 20)	/* a configuration, not a database */
#define MAX_DEPTH	8		/* sections hold lists: 2 is plenty */

struct scan {
	char *s;
	size_t i, len;
	int line;
};

/* the next character, counting lines */
static char scan_take(struct scan *sc)
{
	char ch = sc->s[sc->i++];

	if (ch == '\n')
		sc->line++;
	return ch;
}

static void scan_blank(struct scan *sc)
{
	if (sc->s[sc->i] != '\n')
		sc->s[sc->i] = ' ';
	scan_take(sc);
}

/* blank the comment starting at sc->i, keeping its newlines; false if unterminated */
static bool blank_comment(struct scan *sc)
{
	bool block = sc->s[sc->i] == '/' && sc->s[sc->i + 1] == '*';

	if (block) {	/* its own star must not close it, as in slash-star-slash */
		scan_blank(sc);
		scan_blank(sc);
	}
	while (sc->i < sc->len) {
		if (!block && sc->s[sc->i] == '\n')
			return true;
		if (block && sc->s[sc->i] == '*' && sc->i + 1 < sc->len && sc->s[sc->i + 1] == '/') {
			scan_blank(sc);
			scan_blank(sc);
			return true;
		}
		scan_blank(sc);
	}
	return !block;
}

/* what libconfuse's lexer takes into an unquoted word */
static bool word_char(char ch)
{
	return ch && !strchr(" #\"'\t\n\r={}()+,*", ch);
}

/* skip the string whose quote is at sc->i; false if unterminated */
static bool skip_string(struct scan *sc)
{
	char quote = scan_take(sc);

	while (sc->i < sc->len) {
		char ch = scan_take(sc);
		if (ch == '\\' && sc->i < sc->len)
			scan_take(sc);
		else if (ch == quote)
			return true;
	}
	return false;
}

/*
 * libconfuse 3.3's lexer counts two lines too many for every # or //
 * comment and one for every block comment (lexer.l: qput() and qend() both
 * count), and its parser refuses comments inside lists (libconfuse issue
 * #150).  So it never sees a comment: they are blanked out here, newlines
 * kept, split off where its lexer would split them.  On the way this
 * catches what libconfuse reports badly or not at all: a string or comment
 * running to the end of the file, a '{' never closed (libconfuse takes the
 * end of the file for the missing braces), a '*' outside quotes (its lexer
 * drops it without a word: eth* would read as eth), and NUL bytes.
 */
static int blank_comments(char *text, size_t len)
{
	struct scan sc = { text, 0, len, 1 };
	int open[MAX_DEPTH], depth = 0;

	while (sc.i < sc.len) {
		char ch = sc.s[sc.i], next = sc.i + 1 < sc.len ? sc.s[sc.i + 1] : '\0';
		int line = sc.line;

		if (ch == '\0')
			return fail_at(NULL, line, "NUL byte in the file");
		/* a slash inside an unquoted word, as in /srv//x, is part of it */
		bool word = sc.i > 0 && word_char(sc.s[sc.i - 1]);
		if (ch == '#' || (ch == '/' && !word && (next == '/' || next == '*'))) {
			if (!blank_comment(&sc))
				return fail_at(NULL, line, "comment without its */");
			continue;
		}
		if (ch == '"' || ch == '\'') {
			if (!skip_string(&sc))
				return fail_at(NULL, line, "string without its closing quote");
			continue;
		}
		if (ch == '*')
			return fail_at(NULL, line, "'*' outside quotes (write patterns as \"eth*\")");
		if (ch == '{' && depth == MAX_DEPTH)
			return fail_at(NULL, line, "braces nested too deep");
		if (ch == '{')
			open[depth++] = line;
		else if (ch == '}' && depth)
			depth--;	/* one too many: libconfuse says so */
		scan_take(&sc);
	}
	if (depth)
		return fail_at(NULL, open[depth - 1], "'{' without its '}'");
	return 0;
}

/* The whole file, NUL-terminated, in *text (freed by the caller). */
static int read_file(const char *path, char **text)
{
	FILE *f = fopen(path, "r");
	struct stat st;
	size_t got;
	int rc = 0;

	*text = NULL;
	if (!f)
		return fail_at(NULL, 0, "%s", strerror(errno));
	if (fstat(fileno(f), &st) < 0)
		rc = fail_at(NULL, 0, "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = fail_at(NULL, 0, "not a regular file");
	else if (st.st_size > MAX_FILE)
		rc = fail_at(NULL, 0, "larger than %u MiB", MAX_FILE >> 20);
	else if (!(*text = malloc((size_t)st.st_size + 1)))
		rc = fail_at(NULL, 0, "out of memory");
	if (rc == 0) {
		got = fread(*text, 1, (size_t)st.st_size, f);
		(*text)[got] = '\0';
		rc = ferror(f) ? fail_at(NULL, 0, "%s", strerror(errno)) : blank_comments(*text, got);
	}
	fclose(f);
	return rc;
}

/* Parse text (NUL-terminated, comments already blanked) into *out. */
static int parse_text(char *text, struct aoexd_conf *out)
{
	cfg_t *cfg;
	int rc;

	install_checks(root_opts);
	cfg = cfg_init(root_opts, CFGF_NONE);
	if (!cfg)
		return fail_at(NULL, 0, "out of memory");
	L->root = cfg;
	cfg_set_error_function(cfg, on_confuse_error);
	if (cfg_parse_buf(cfg, text) == CFG_SUCCESS)
		rc = build(cfg, out);
	else	/* libconfuse says nothing about an empty option name, as in "" = 1 */
		rc = fail_at(NULL, cfg->line, "syntax error");	/* if nobody said why */
	cfg_free(cfg);
	return rc;
}

static int parse(const char *path, struct aoexd_conf *out)
{
	char *text;
	int rc = read_file(path, &text);

	if (rc == 0)
		rc = parse_text(text, out);
	free(text);
	return rc;
}

/* Parse len bytes at buf: a NUL-terminated copy, comments blanked. */
static int parse_buf(const char *buf, size_t len, struct aoexd_conf *out)
{
	char *text;
	int rc;

	if (len > MAX_FILE)
		return fail_at(NULL, 0, "larger than %u MiB", MAX_FILE >> 20);
	if (!(text = malloc(len + 1)))
		return fail_at(NULL, 0, "out of memory");
	memcpy(text, buf, len);
	text[len] = '\0';
	rc = blank_comments(text, len);
	if (rc == 0)
		rc = parse_text(text, out);
	free(text);
	return rc;
}

/* conf_load and conf_load_buf: one load's state around parse or parse_buf. */
static int load(const char *path, const char *buf, size_t len,
		struct aoexd_conf *c, char *err, size_t errlen)
{
	char spare[CONF_MSG_MAX];
	struct load load = { .path = path, .err = err, .errlen = errlen };
	struct aoexd_conf *fresh = malloc(sizeof *fresh);
	int rc;

	if (!err || !errlen) {
		load.err = spare;
		load.errlen = sizeof spare;
	}
	load.err[0] = '\0';
	L = &load;
	if (!fresh) {
		rc = fail_at(NULL, 0, "out of memory");
	} else {
		load.conf = fresh;
		rc = buf ? parse_buf(buf, len, fresh) : parse(path, fresh);
	}
	if (rc == 0)
		memcpy(c, fresh, sizeof *c);
	free(fresh);
	free(load.marks);
	L = NULL;
	return rc;
}

int conf_load(const char *path, struct aoexd_conf *c, char *err, size_t errlen)
{
	return load(path, NULL, 0, c, err, errlen);
}

int conf_load_buf(const char *name, const char *buf, size_t len,
		  struct aoexd_conf *c, char *err, size_t errlen)
{
	return load(name, buf ? buf : "", buf ? len : 0, c, err, errlen);	/* NULL: empty */
}

/* ------------------------------------------------------------ conf_print */

/* a double-quoted libconfuse string: \ " and $ ("${VAR}" expands) escaped */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\' || ch == '$')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void put_names(FILE *f, const char *in, const char *opt, const char (*names)[CONF_IFNAME_MAX],
		      unsigned n)
{
	fprintf(f, "%s%s = {", in, opt);
	for (unsigned i = 0; i < n; i++) {
		fputs(i ? ", " : "", f);
		put_str(f, names[i]);
	}
	fputs("}\n", f);
}

static void put_macs(FILE *f, const char *in, const char *opt, const struct conf_macs *m)
{
	char buf[MAC_STRLEN];

	fprintf(f, "%s%s = {", in, opt);
	for (unsigned i = 0; i < m->n; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", format_mac(m->mac[i], buf));
	fputs("}\n", f);
}

static void put_bool(FILE *f, const char *in, const char *opt, bool v)
{
	fprintf(f, "%s%s = %s\n", in, opt, v ? "true" : "false");
}

static void put_opt_str(FILE *f, const char *in, const char *opt, const char *v)
{
	fprintf(f, "%s%s = ", in, opt);
	put_str(f, v);
	fputc('\n', f);
}

static void put_opt_size(FILE *f, const char *in, const char *opt, uint64_t v)
{
	char buf[24];

	fprintf(f, "%s%s = %s\n", in, opt, size_str(v, buf));
}

static void put_tuning(FILE *f, const char *in, const struct conf_tuning *t)
{
	fprintf(f, "%squeue-depth = %u\n", in, t->queue_depth);
	put_bool(f, in, "direct-io", t->direct_io);
	put_opt_str(f, in, "write-policy", conf_write_policy_name(t->write_policy));
	put_opt_size(f, in, "read-ahead", t->read_ahead);
	fprintf(f, "%sread-ahead-streams = %u\n", in, t->read_ahead_streams);
	put_opt_size(f, in, "write-behind", t->write_behind);
	put_opt_size(f, in, "write-back-max-dirty", t->write_back_max_dirty);
	fprintf(f, "%swrite-back-max-age = %u\n", in, t->write_back_max_age_ms);
	fprintf(f, "%smerge-delay = %u\n", in, t->merge_delay_us);
}

static void put_globals(FILE *f, const struct aoexd_conf *c)
{
	put_names(f, "", "interfaces", (const char (*)[CONF_IFNAME_MAX])c->interfaces, c->n_interfaces);
	fprintf(f, "mtu = %u\n", c->mtu);
	fprintf(f, "rx-ring-frames = %u\n", c->rx_ring_frames);
	fprintf(f, "tx-ring-frames = %u\n", c->tx_ring_frames);
	put_tuning(f, "", &c->defaults);
	put_opt_str(f, "", "control-socket", c->control_socket);
	put_opt_str(f, "", "control-group", c->control_group);
	put_opt_str(f, "", "state-directory", c->state_directory);
	put_opt_str(f, "", "pid-file", c->pid_file);
	put_opt_str(f, "", "log-target", c->log_target == CONF_LOG_SYSLOG ? "syslog" : "stderr");
	put_opt_str(f, "", "log-level", conf_log_level_name(c->log_level));
}

static void put_device(FILE *f, const struct conf_device *d)
{
	const char *in = "\t";

	fprintf(f, "\ndevice %s {\n", d->name);
	if (d->path[0])
		put_opt_str(f, in, "path", d->path);
	else if (d->uuid[0])
		put_opt_str(f, in, "uuid", d->uuid);
	else
		put_opt_str(f, in, "label", d->label);
	fprintf(f, "%sshelf = %u\n%sslot = %u\n", in, d->shelf, in, d->slot);
	put_bool(f, in, "read-only", d->read_only);
	put_opt_size(f, in, "offset", d->offset);
	put_opt_size(f, in, "length", d->length);
	put_names(f, in, "interfaces", (const char (*)[CONF_IFNAME_MAX])d->interfaces, d->n_interfaces);
	put_tuning(f, in, &d->tune);
	put_macs(f, in, "accept", &d->accept);
	put_macs(f, in, "deny", &d->deny);
	put_bool(f, in, "broadcast", d->broadcast);
	put_opt_str(f, in, "model", d->model);
	put_opt_str(f, in, "serial", d->serial);
	fputs("}\n", f);
}

void conf_print(const struct aoexd_conf *c, FILE *f)
{
	fputs("# aoexd: the effective configuration, every value spelled out\n", f);
	put_globals(f, c);
	for (unsigned i = 0; i < c->n_acls; i++) {
		fprintf(f, "\nacl %s {\n", c->acls[i].name);
		put_macs(f, "\t", "accept", &c->acls[i].macs);
		fputs("}\n", f);
	}
	for (unsigned i = 0; i < c->n_ifaces; i++) {
		const struct conf_iface *s = &c->ifaces[i];
		fputs("\ninterface ", f);
		put_str(f, s->name);	/* patterns hold '*', which libconfuse wants quoted */
		fprintf(f, " {\n\tmtu = %u\n\trx-ring-frames = %u\n\ttx-ring-frames = %u\n}\n",
			s->mtu, s->rx_ring_frames, s->tx_ring_frames);
	}
	for (unsigned i = 0; i < c->n_devices; i++)
		put_device(f, &c->devices[i]);
}

/* ------------------------------------------------------ queries, compare */

static bool macs_equal(const struct conf_macs *a, const struct conf_macs *b)
{
	return a->n == b->n && memcmp(a->mac, b->mac, 6 * (size_t)a->n) == 0;
}

bool conf_tuning_equal(const struct conf_tuning *a, const struct conf_tuning *b)
{
	return a->queue_depth == b->queue_depth && a->direct_io == b->direct_io &&
	       a->write_policy == b->write_policy && a->read_ahead == b->read_ahead &&
	       a->read_ahead_streams == b->read_ahead_streams && a->write_behind == b->write_behind &&
	       a->write_back_max_dirty == b->write_back_max_dirty &&
	       a->write_back_max_age_ms == b->write_back_max_age_ms &&
	       a->merge_delay_us == b->merge_delay_us;
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
	       conf_iface_names_equal(a, b) && conf_tuning_equal(&a->tune, &b->tune) &&
	       macs_equal(&a->accept, &b->accept) && macs_equal(&a->deny, &b->deny) &&
	       strcmp(a->model, b->model) == 0 && strcmp(a->serial, b->serial) == 0;
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
	if (d->accept.n && !macs_has(&d->accept, mac))
		return false;
	return !macs_has(&d->deny, mac);
}

/* An empty interfaces list means every interface. */
static bool list_covers(const char (*names)[CONF_IFNAME_MAX], unsigned n, const char *ifname)
{
	if (!n)
		return true;
	for (unsigned i = 0; i < n; i++)
		if (pattern_covers(names[i], ifname))
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
		if (pattern_covers(c->ifaces[i].name, ifname)) {
			*out = c->ifaces[i];
			return;
		}
	}
	memset(out, 0, sizeof *out);
	copy_str(out->name, sizeof out->name, ifname);
	out->mtu = c->mtu;
	out->rx_ring_frames = c->rx_ring_frames;
	out->tx_ring_frames = c->tx_ring_frames;
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
