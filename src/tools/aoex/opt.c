/* opt.c - aoex's table-driven option parser (see opt.h). */
#include "config.h"
#include "tools/aoex/opt.h"
#include "tools/aoex/cli.h"
#include "common/util.h"

#include <stdbool.h>
#include <string.h>

/* An exact name wins; else a prefix of exactly one name (two: ambiguous,
 * reported as unknown like getopt_long did). */
static const struct opt *find_long(const struct opt *tab, unsigned n, const char *name,
				   size_t len)
{
	const struct opt *found = NULL;

	for (unsigned i = 0; i < n; i++)
		if (strlen(tab[i].name) == len && memcmp(tab[i].name, name, len) == 0)
			return &tab[i];
	for (unsigned i = 0; i < n; i++) {
		if (strncmp(tab[i].name, name, len) != 0)
			continue;
		if (found)
			return NULL;
		found = &tab[i];
	}
	return found;
}

static const struct opt *find_short(const struct opt *tab, unsigned n, char letter)
{
	for (unsigned i = 0; i < n; i++)
		if (tab[i].letter && tab[i].letter == letter)
			return &tab[i];
	return NULL;
}

static int apply(const struct opt *o, void *args, char *arg)
{
	char *field = (char *)args + o->off;

	switch (o->kind) {
	case OPT_K_FLAG:
		if (o->call)
			return o->call(args, NULL);
		*(bool *)field = true;
		return 0;
	case OPT_K_STR:
		*(char **)field = arg;
		return 0;
	case OPT_K_UINT:
		if (parse_uint(arg, o->min, o->max, (uint64_t *)field) == 0)
			return 0;
		if (o->hint)
			return cli_usage_error("%s '%s'%s", o->what, arg, o->hint);
		return cli_usage_error("%s '%s' (%llu..%llu)", o->what, arg,
				       (unsigned long long)o->min, (unsigned long long)o->max);
	case OPT_K_CALL:
		return o->call(args, arg);
	}
	return 0;
}

static int unknown(const char *cmd, const char *word)
{
	return cli_usage_error("%s: unknown option '%s'", cmd, word);
}

static int needs_arg(const char *cmd, const char *word)
{
	return cli_usage_error("%s: option '%s' needs an argument", cmd, word);
}

/* --name, --name=arg or --name arg at argv[*i]; *i moves past what it
 * takes. */
static int long_opt(const char *cmd, const struct opt *tab, unsigned n, void *args,
		    int argc, char **argv, int *i)
{
	char *word = argv[*i], *name = word + 2, *eq = strchr(name, '=');
	const struct opt *o = find_long(tab, n, name, eq ? (size_t)(eq - name) : strlen(name));

	if (!o)
		return unknown(cmd, word);
	if (o->kind == OPT_K_FLAG)
		return eq ? unknown(cmd, word) : apply(o, args, NULL);
	if (eq)
		return apply(o, args, eq + 1);
	if (*i + 1 >= argc)
		return needs_arg(cmd, word);
	return apply(o, args, argv[++*i]);
}

/* A cluster of short options at argv[*i]: -v, -vW500, -W 500. */
static int short_opts(const char *cmd, const struct opt *tab, unsigned n, void *args,
		      int argc, char **argv, int *i)
{
	char *word = argv[*i];

	for (char *p = word + 1; *p; p++) {
		const struct opt *o = find_short(tab, n, *p);
		int rc;

		if (!o)
			return unknown(cmd, word);
		if (o->kind == OPT_K_FLAG) {
			if ((rc = apply(o, args, NULL)))
				return rc;
			continue;
		}
		/* the rest of the word is the argument, else the next word */
		if (p[1])
			return apply(o, args, p + 1);
		if (*i + 1 >= argc)
			return needs_arg(cmd, word);
		return apply(o, args, argv[++*i]);
	}
	return 0;
}

int opt_parse(const char *cmd, const struct opt *tab, unsigned n, bool opts_first,
	      void *args, int argc, char **argv, int *nops)
{
	/* operands are moved down to argv[out]; out never passes i, so no
	 * word is overwritten before it is read */
	int i, out = 1, rc = 0;

	for (i = 1; i < argc && !rc; i++) {
		char *w = argv[i];

		if (strcmp(w, "--") == 0) {
			i++;
			break;
		}
		if (w[0] != '-' || w[1] == '\0') {
			if (opts_first)
				break;
			argv[out++] = w;
			continue;
		}
		rc = w[1] == '-' ? long_opt(cmd, tab, n, args, argc, argv, &i) :
				   short_opts(cmd, tab, n, args, argc, argv, &i);
	}
	if (rc)
		return rc;
	for (; i < argc; i++)
		argv[out++] = argv[i];
	*nops = out - 1;
	return 0;
}
