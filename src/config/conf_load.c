/*
 * conf_load.c - load aoexd.conf with libconfuse.
 *
 * libconfuse checks the syntax, the option names and the types.  Our
 * checks (conf_rules.c) run from its callbacks on every value (the
 * validate callback, and for list elements the parse callback, which runs
 * once per element), while its line counter still points at that value,
 * so each error names its line.  The checks that need the whole file (acl
 * names used before they are defined, two devices on one address,
 * interfaces nobody serves) run after the parse (conf_build.c), with the
 * lines the callbacks noted on the way (marks, below).
 *
 * libconfuse 3.3 miscounts lines after comments and refuses comments inside
 * lists, so it is handed the file with its comments blanked out
 * (conf_lex.c).
 */
#include "config.h"
#include "config/conf_int.h"
#include "common/util.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ------------------------------------------------------------------ options */

/*
 * No option has a libconfuse default: an option that is not set must stay
 * visible as such, so that a device can inherit the global value.  The
 * defaults live in conf.h (CONF_DEF_*) and are applied while building.
 */
#define NODEF		CFGF_NODEFAULT
#define SECTIONS	(CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES)

/* the tunables (tunables.h), by kind; sizes are strings ("256K") */
#define CFG_TUNE_UINT(key)	CFG_INT(key, 0, NODEF)
#define CFG_TUNE_MTU(key)	CFG_INT(key, 0, NODEF)
#define CFG_TUNE_SIZE(key)	CFG_STR(key, NULL, NODEF)
#define CFG_TUNE_BOOL(key)	CFG_BOOL(key, cfg_false, NODEF)
#define CFG_TUNE_POLICY(key)	CFG_STR(key, NULL, NODEF)
#define CFG_TUNE(field, kind, key, ...) CFG_TUNE_##kind(key),

static cfg_opt_t acl_opts[] = {
	CFG_STR_LIST("accept", NULL, NODEF),
	CFG_END()
};

static cfg_opt_t iface_opts[] = {
	IFACE_TUNABLES(CFG_TUNE)
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
	DEVICE_TUNABLES(CFG_TUNE)
	CFG_STR_LIST("accept", NULL, NODEF),
	CFG_STR_LIST("deny", NULL, NODEF),
	CFG_STR_LIST("mask", NULL, NODEF),
	CFG_BOOL("broadcast", cfg_true, NODEF),
	CFG_STR("model", NULL, NODEF),
	CFG_STR("serial", NULL, NODEF),
	CFG_STR("freeze-shadow", NULL, NODEF),
	CFG_STR("freeze-max-size", NULL, NODEF),
	CFG_END()
};

static cfg_opt_t root_opts[] = {
	CFG_STR_LIST("interfaces", NULL, NODEF),
	IFACE_TUNABLES(CFG_TUNE)
	DEVICE_TUNABLES(CFG_TUNE)
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

struct conf_loading *conf_L;

void conf_appendf(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strlen(buf);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

bool conf_is_root(const cfg_t *sec)
{
	return !sec || sec == conf_L->root;
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
		conf_appendf(buf, len, "%s:%d: ", conf_L->path, line);
	else
		conf_appendf(buf, len, "%s: ", conf_L->path);
	if (!conf_is_root(sec))
		conf_appendf(buf, len, "%s %s: ", sec->name, sec->title);
	size_t used = strlen(buf);
	if (used + 1 < len)
		vsnprintf(buf + used, len - used, fmt, ap);
}

/* Record the first error (the parse stops there); returns -1 for callers. */
int conf_fail_at(const cfg_t *sec, int line, const char *fmt, ...)
{
	va_list ap;

	if (conf_L->failed)
		return -1;
	conf_L->failed = true;
	va_start(ap, fmt);
	format_msg(conf_L->err, conf_L->errlen, sec, line, fmt, ap);
	va_end(ap);
	return -1;
}

void conf_warn_at(const cfg_t *sec, int line, const char *fmt, ...)
{
	struct aoexd_conf *c = conf_L->conf;
	va_list ap;

	if (c->n_warnings == CONF_MAX_WARNINGS)
		return;
	va_start(ap, fmt);
	format_msg(c->warnings[c->n_warnings++], CONF_MSG_MAX, sec, line, fmt, ap);
	va_end(ap);
}

/* from the end: the latest assignment, and the current section's are near */
static struct conf_mark *find_mark(const cfg_t *sec, const char *opt, unsigned index)
{
	for (size_t i = conf_L->n_marks; i-- > 0;) {
		struct conf_mark *m = &conf_L->marks[i];
		if (m->sec == sec && m->index == index &&
		    (opt ? m->opt && strcmp(m->opt, opt) == 0 : !m->opt))
			return m;
	}
	return NULL;
}

static struct conf_mark *add_mark(const cfg_t *sec, const char *opt, unsigned index, int line)
{
	if (conf_L->n_marks == conf_L->cap_marks) {
		size_t cap = conf_L->cap_marks ? 2 * conf_L->cap_marks : 256;
		struct conf_mark *m = realloc(conf_L->marks, cap * sizeof *m);
		if (!m)
			return NULL;
		conf_L->marks = m;
		conf_L->cap_marks = cap;
	}
	conf_L->marks[conf_L->n_marks] = (struct conf_mark){ sec, opt, index, line };
	return &conf_L->marks[conf_L->n_marks++];
}

int conf_section_line(const cfg_t *sec)
{
	const struct conf_mark *m = find_mark(sec, NULL, 0);
	return m ? m->line : 0;
}

/* The line of an option's value; its section's when it was not set. */
int conf_value_line(const cfg_t *sec, const char *opt, unsigned index)
{
	const struct conf_mark *m = find_mark(sec, opt, index);
	return m ? m->line : conf_section_line(sec);
}

/* Note where value `index` of the option just read is; a later assignment
 * of the option adds a later note. */
static int note_value(cfg_t *sec, cfg_opt_t *opt, unsigned index)
{
	return add_mark(sec, opt->name, index, sec->line) ? 0 : conf_fail_at(NULL, 0, "out of memory");
}

/*
 * While libconfuse reads a section it counts lines in the section's cfg_t;
 * the root's counter stays on the line of the section's opening brace.
 */
static int note_section(const cfg_t *sec, int line)
{
	if (sec == conf_L->noted || find_mark(sec, NULL, 0))
		return 0;
	conf_L->noted = sec;
	return add_mark(sec, NULL, 0, line) ? 0 : conf_fail_at(NULL, 0, "out of memory");
}

#define NO_PATHS	"'|' in an option name"

bool conf_has(cfg_t *sec, const char *name)
{
	return cfg_size(sec, name) > 0;
}

static int check_title(cfg_t *sec, int line)
{
	const char *t = sec->title;

	if (conf_scope_of(sec) == S_IFACE) {
		if (!conf_ifname_ok(t))
			return conf_fail_at(NULL, line, "interface \"%s\": not an interface name or pattern "
				       "(1 to 15 characters, no '/', ':' or spaces)", t);
		return 0;
	}
	uint8_t mac[6];
	if (conf_scope_of(sec) == S_ACL && parse_mac(t, mac) == 0)
		return conf_fail_at(NULL, line, "acl \"%s\": an acl name must not look like a MAC address", t);
	if (!conf_name_ok(t))
		return conf_fail_at(NULL, line, "%s \"%s\": a title is 1 to %d letters, digits, '.', '_' "
			       "or '-'", sec->name, t, CONF_NAME_MAX - 1);
	return 0;
}

static int check_device(cfg_t *sec, int line)
{
	int sources = conf_has(sec, "path") + conf_has(sec, "uuid") + conf_has(sec, "label");

	if (!sources)
		return conf_fail_at(sec, line, "no path, uuid or label");
	if (sources > 1)
		return conf_fail_at(sec, line, "path, uuid and label exclude each other: give one");
	if (!conf_has(sec, "shelf"))
		return conf_fail_at(sec, line, "shelf is missing");
	if (!conf_has(sec, "slot"))
		return conf_fail_at(sec, line, "slot is missing");
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
	line = conf_section_line(sec);
	for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++)
		if (strcmp(opt->name, limits[i].kind) == 0 && n > limits[i].max)
			return conf_fail_at(NULL, line, "more than %u %s", limits[i].max, limits[i].plural);
	if (check_title(sec, line) < 0)
		return -1;
	return conf_scope_of(sec) == S_DEVICE ? check_device(sec, line) : 0;
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
		return conf_fail_at(sec, sec->line, NO_PATHS);
	if (!conf_is_root(sec) && note_section(sec, conf_L->root->line) < 0)
		return -1;
	return note_value(sec, opt, index);
}

/* libconfuse's validate callback, on the options that are not lists */
static int on_value(cfg_t *sec, cfg_opt_t *opt)
{
	if (opt->type == CFGT_SEC)
		return section_done(sec, opt);
	if (note(sec, opt, 0) < 0)
		return -1;
	return conf_check_value(sec, opt);
}

/*
 * libconfuse's parse callback, on the string lists: it runs once for each
 * element, after the element's slot is added.  (Their validate callback
 * would also run at the closing brace, with nothing to tell it apart.)
 */
static int on_list_value(cfg_t *sec, cfg_opt_t *opt, const char *value, void *result)
{
	unsigned index = cfg_opt_size(opt) - 1;

	if (note(sec, opt, index) < 0 || conf_check_item(sec, opt, value, index) < 0)
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
			 first->name, title, conf_section_line(first));
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
	else if (strcmp(fmt, "found duplicate title '%s'") == 0 && conf_is_root(cfg))
		duplicate_title(msg, sizeof msg, conf_L->root, va_arg(ap, const char *));
	else
		vsnprintf(msg, sizeof msg, fmt, ap);
	conf_fail_at(cfg, cfg ? cfg->line : 0, "%s", msg);
}

#define MAX_FILE	(16u << 20)	/* a configuration, not a database */

/* conf_lex, its verdict recorded as the load's error */
static int lex(char *text, size_t len)
{
	const char *why;
	int line;

	return conf_lex(text, len, &line, &why) < 0 ? conf_fail_at(NULL, line, "%s", why) : 0;
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
		return conf_fail_at(NULL, 0, "%s", strerror(errno));
	if (fstat(fileno(f), &st) < 0)
		rc = conf_fail_at(NULL, 0, "%s", strerror(errno));
	else if (!S_ISREG(st.st_mode))
		rc = conf_fail_at(NULL, 0, "not a regular file");
	else if (st.st_size > MAX_FILE)
		rc = conf_fail_at(NULL, 0, "larger than %u MiB", MAX_FILE >> 20);
	else if (!(*text = malloc((size_t)st.st_size + 1)))
		rc = conf_fail_at(NULL, 0, "out of memory");
	if (rc == 0) {
		got = fread(*text, 1, (size_t)st.st_size, f);
		(*text)[got] = '\0';
		rc = ferror(f) ? conf_fail_at(NULL, 0, "%s", strerror(errno)) : lex(*text, got);
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
		return conf_fail_at(NULL, 0, "out of memory");
	conf_L->root = cfg;
	cfg_set_error_function(cfg, on_confuse_error);
	if (cfg_parse_buf(cfg, text) == CFG_SUCCESS)
		rc = conf_build(cfg, out);
	else	/* libconfuse says nothing about an empty option name, as in "" = 1 */
		rc = conf_fail_at(NULL, cfg->line, "syntax error");	/* if nobody said why */
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
		return conf_fail_at(NULL, 0, "larger than %u MiB", MAX_FILE >> 20);
	if (!(text = malloc(len + 1)))
		return conf_fail_at(NULL, 0, "out of memory");
	memcpy(text, buf, len);
	text[len] = '\0';
	rc = lex(text, len);
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
	struct conf_loading load = { .path = path, .err = err, .errlen = errlen };
	struct aoexd_conf *fresh = malloc(sizeof *fresh);
	int rc;

	if (!err || !errlen) {
		load.err = spare;
		load.errlen = sizeof spare;
	}
	load.err[0] = '\0';
	conf_L = &load;
	if (!fresh) {
		rc = conf_fail_at(NULL, 0, "out of memory");
	} else {
		load.conf = fresh;
		rc = buf ? parse_buf(buf, len, fresh) : parse(path, fresh);
	}
	if (rc == 0)
		memcpy(c, fresh, sizeof *c);
	free(fresh);
	free(load.marks);
	conf_L = NULL;
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
