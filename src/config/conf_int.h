/*
 * conf_int.h - what the parts of the configuration loader share:
 *   conf_load.c   libconfuse's option tables and callbacks, one load
 *   conf_rules.c  the checks of single values, as libconfuse reads them
 *   conf_build.c  the plain structs built from what libconfuse read
 *   conf_lex.c    the text handed to libconfuse (comments blanked)
 *
 * libconfuse's callbacks carry no user pointer, so the state of the load
 * in progress is reached through one file-level pointer (conf_load.c);
 * its lexer is global state anyway.  Not for users of conf.h.
 */
#ifndef AOEX_CONF_INT_H
#define AOEX_CONF_INT_H

#include <confuse.h>
#include <stdbool.h>
#include <stddef.h>

#include "config/conf.h"

#define CONF_SECTOR	512

/* Where something was in the file: value `index` of an option of a
 * section, or (opt NULL) the section itself. */
struct conf_mark {
	const cfg_t *sec;
	const char *opt;
	unsigned index;
	int line;
};

struct conf_loading {
	const char *path;
	char *err;
	size_t errlen;
	bool failed;
	cfg_t *root;
	struct aoexd_conf *conf;	/* being built; takes the warnings */
	struct conf_mark *marks;	/* in file order: the last match is the latest */
	size_t n_marks, cap_marks;
	const cfg_t *noted;		/* the section whose start is noted last */
};

/* The load in progress (conf_load.c). */
extern struct conf_loading *conf_L;

/* Record the first error, "FILE:LINE: [section TITLE: ]message"; the parse
 * stops there.  Returns -1 for callers to pass on. */
int conf_fail_at(const cfg_t *sec, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void conf_warn_at(const cfg_t *sec, int line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Lines noted while libconfuse read the file: a section's first line; the
 * line of value `index` of an option (its section's when it was not set). */
int conf_section_line(const cfg_t *sec);
int conf_value_line(const cfg_t *sec, const char *opt, unsigned index);

bool conf_is_root(const cfg_t *sec);
void conf_appendf(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
bool conf_has(cfg_t *sec, const char *name);
void conf_copy_str(char *dst, size_t len, const char *src);

/* Which kind of section a cfg_t is (rules apply per kind). */
enum conf_scope { S_ROOT = 1, S_ACL = 2, S_IFACE = 4, S_DEVICE = 8 };
enum conf_scope conf_scope_of(const cfg_t *sec);

/* conf_rules.c: check a value just read (libconfuse validate callback), or
 * element `index` of a string list (its parse callback).  0 or -1. */
int conf_check_value(cfg_t *sec, cfg_opt_t *opt);
int conf_check_item(cfg_t *sec, cfg_opt_t *opt, const char *value, unsigned index);
/* Titles of sections, and the names aoexctl takes on its command line. */
bool conf_ifname_ok(const char *s);
bool conf_name_ok(const char *s);

/* conf_build.c: *c from what libconfuse read (defaults filled in). */
int conf_build(cfg_t *root, struct aoexd_conf *c);

/* conf_lex.c: blank the comments of text (len bytes, NUL-terminated),
 * newlines kept, and catch what libconfuse reports badly.  0, or -1 with
 * the line and the reason. */
int conf_lex(char *text, size_t len, int *line, const char **why);

/* The names of the enumerations, index = value (log levels from LOG_ERR). */
extern const char *const conf_log_targets[];
extern const char *const conf_log_levels[];
int conf_name_index(const char *const *names, const char *s);

/* MAC lists (conf.c) */
bool conf_macs_has(const struct conf_macs *m, const uint8_t mac[6]);
bool conf_macs_add(struct conf_macs *m, const uint8_t mac[6]);
bool conf_pattern_covers(const char *pattern, const char *name);

#endif
