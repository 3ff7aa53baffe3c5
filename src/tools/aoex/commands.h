/*
 * commands.h - the commands of aoex as main.c's table lists them: a name,
 * the options opt.c parses for it, and the function that runs it.  Each
 * command group has its file: io.c (read, write, ata, flush), admin.c
 * (discover, identify, config, mask, reserve, raw), extcmd.c (ext, probe)
 * and bench.c.
 */
#ifndef AOEX_COMMANDS_H
#define AOEX_COMMANDS_H

#include "tools/aoex/opt.h"
#include "tools/aoex/session.h"

#define CMD_WORDS	0x1	/* no options: run gets the words as given
				 * (free-form words, or no options at all) */
#define CMD_OPTS_FIRST	0x2	/* the first operand ends the options (raw:
				 * a HEX word like -1 is no option) */
#define CMD_NO_EXT	0x4	/* -x does not apply */
#define CMD_NO_HELP	0x8	/* -h and --help among the words are words */
#define CMD_IFACES	0x10	/* -i may list several interfaces (attach) */
#define CMD_NO_IFACE	0x20	/* needs no interface (detach) */

struct cmd {
	const char *name;
	const struct opt *opts;
	unsigned nopts;
	unsigned flags;
	void *args;		/* the command's argument struct, holding its
				 * defaults; the options are parsed into it */
	/* argv: the operands (argv[0] the first), after the options */
	int (*run)(struct session *s, void *args, int argc, char **argv);
	void (*done)(void *args);	/* NULL, or frees what options took */
};

#define CMD_OPTS(tab)	.opts = (tab), .nopts = (unsigned)(sizeof (tab) / sizeof (tab)[0])

extern const struct cmd io_cmd_read, io_cmd_write, io_cmd_ata, io_cmd_flush;
extern const struct cmd admin_cmd_discover, admin_cmd_identify, admin_cmd_config,
	admin_cmd_mask, admin_cmd_reserve, admin_cmd_raw;
extern const struct cmd extcmd_cmd_ext, extcmd_cmd_probe;
extern const struct cmd bench_cmd_bench;
extern const struct cmd attach_cmd_attach, attach_cmd_detach;

#endif
