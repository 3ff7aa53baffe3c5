/*
 * opt.h - aoex's one option parser, driven by tables: the global options
 * and, for each command, its options (the command table is main.c's).
 *
 * It reads options the way getopt_long() did for aoex before, so the
 * command lines the suites and users type mean what they meant: short
 * options (-W 500, -W500, clusters like -vi eth1), long ones (--wait 500,
 * --wait=500, any unambiguous prefix such as --wa), "--" ends the options,
 * "-" is an operand.  Options and operands may mix (read 1.2 0 8 -o f)
 * unless the table says the options come first (the global ones, raw's).
 * Errors are usage errors naming the word: "CMD: unknown option 'WORD'"
 * (an ambiguous prefix too) and "CMD: option 'WORD' needs an argument".
 */
#ifndef AOEX_OPT_H
#define AOEX_OPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum opt_kind {
	OPT_K_FLAG,	/* no argument: sets a bool, or calls call(args, NULL) */
	OPT_K_STR,	/* sets a char * to the argument */
	OPT_K_UINT,	/* sets a uint64_t to the argument, min..max, decimal
			 * or 0x hex; else "WHAT 'ARG' (MIN..MAX)", or with
			 * hint "WHAT 'ARG'HINT" */
	OPT_K_CALL,	/* call(args, argument): the options with rules of
			 * their own */
};

struct opt {
	const char *name;	/* long name, without the dashes */
	char letter;		/* short option; 0: none */
	enum opt_kind kind;
	size_t off;		/* _FLAG, _STR, _UINT: the field in the
				 * command's argument struct */
	uint64_t min, max;	/* _UINT */
	const char *what;	/* _UINT: the message up to the argument */
	const char *hint;	/* _UINT: after it, instead of the range */
	/* _CALL (and _FLAG when set): acts at once, in command-line order;
	 * returns 0 or the exit status of the error it reported */
	int (*call)(void *args, char *arg);
};

/* The entries of a table; type and field name the argument struct's
 * member that takes the value. */
#define OPT_FLAG(nm, ltr, type, field) \
	{ .name = (nm), .letter = (ltr), .kind = OPT_K_FLAG, .off = offsetof(type, field) }
#define OPT_STR(nm, ltr, type, field) \
	{ .name = (nm), .letter = (ltr), .kind = OPT_K_STR, .off = offsetof(type, field) }
#define OPT_UINT(nm, ltr, type, field, mn, mx, wh, hn) \
	{ .name = (nm), .letter = (ltr), .kind = OPT_K_UINT, .off = offsetof(type, field), \
	  .min = (mn), .max = (mx), .what = (wh), .hint = (hn) }
#define OPT_CALL(nm, ltr, fn) \
	{ .name = (nm), .letter = (ltr), .kind = OPT_K_CALL, .call = (fn) }
/* no argument, but an action (the global -h) */
#define OPT_ACT(nm, ltr, fn) \
	{ .name = (nm), .letter = (ltr), .kind = OPT_K_FLAG, .call = (fn) }

/*
 * Parse the options of argv[1..argc) by the n options of tab, into args;
 * cmd names the command in messages ("read: unknown option '--x'").
 * opts_first: the first operand ends the options.  The operands are moved,
 * in order, to argv[1..*nops + 1).  Returns 0 or the exit status of the
 * usage error it reported.
 */
int opt_parse(const char *cmd, const struct opt *tab, unsigned n, bool opts_first,
	      void *args, int argc, char **argv, int *nops);

#endif
