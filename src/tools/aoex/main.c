/*
 * main.c - aoex, a userspace ATA over Ethernet (AoE r11) initiator and test
 * client: the global options and the table of commands.
 *
 * aoex speaks only the wire: one raw AF_PACKET socket on one interface, no
 * kernel aoe driver.  It is the client the bats suites drive aoexd with, so
 * its command line, output lines and exit codes are an interface: change
 * them only together with the tests.  The commands live in io.c, admin.c,
 * extcmd.c and bench.c, the protocol work in client.c, xfer.c and
 * proto/request.c.
 */
#include "config.h"
#include "tools/aoex/commands.h"
#include "tools/aoex/cli.h"
#include "tools/aoex/client.h"
#include "tools/aoex/help.h"
#include "tools/aoex/opt.h"
#include "tools/aoex/session.h"
#include "tools/aoex/xfer.h"
#include "common/util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------ global options */

static int opt_src_mac(void *args, char *arg)
{
	struct session_opts *o = args;

	if (parse_mac(arg, o->src) < 0)
		return cli_usage_error("bad MAC '%s'", arg);
	o->have_src = true;
	return AOEX_OK;
}

static int opt_dst_mac(void *args, char *arg)
{
	struct session_opts *o = args;

	if (parse_mac(arg, o->dst) < 0)
		return cli_usage_error("bad MAC '%s'", arg);
	o->have_dst = true;
	return AOEX_OK;
}

static int opt_ext(void *args, char *arg)
{
	struct session_opts *o = args;

	/* split in place: the names point into argv */
	for (char *name = arg, *comma;; name = comma + 1) {
		comma = strchr(name, ',');
		if (comma)
			*comma = '\0';
		if (!*name)
			return cli_usage_error("bad --ext list: empty name");
		if (o->next == SESSION_MAX_EXT)
			return cli_usage_error("too many extension names (at most %d)", SESSION_MAX_EXT);
		o->ext[o->next++] = name;
		if (!comma)
			return AOEX_OK;
	}
}

static int opt_tag_order(void *args, char *arg)
{
	struct session_opts *o = args;

	if (strcmp(arg, "be") == 0)
		o->tag_order = AOE_TAG_BE;
	else if (strcmp(arg, "le") == 0)
		o->tag_order = AOE_TAG_LE;
	else
		return cli_usage_error("bad --tag-order '%s' (be or le)", arg);
	return AOEX_OK;
}

/* -h: at once, whatever follows (as the options are read in order) */
static int opt_help(void *args, char *arg)
{
	fputs(help_text, stdout);
	exit(AOEX_OK);
}

static const struct opt global_opts[] = {
	OPT_STR("iface", 'i', struct session_opts, iface),
	OPT_UINT("timeout", 't', struct session_opts, timeout_ms, 1, 3600000, "bad timeout",
		 " (1..3600000 ms)"),
	OPT_UINT("retries", 'r', struct session_opts, retries, 0, 1000, "bad retries", NULL),
	OPT_CALL("src-mac", 'm', opt_src_mac),
	OPT_CALL("dst-mac", 'd', opt_dst_mac),
	OPT_UINT("window", 'w', struct session_opts, window, 1, AOEX_MAX_WINDOW, "bad window", NULL),
	OPT_UINT("sectors", 's', struct session_opts, sectors, 1, 255, "bad sector count", NULL),
	OPT_FLAG("verbose", 'v', struct session_opts, verbose),
	OPT_ACT("help", 'h', opt_help),
	OPT_CALL("ext", 'x', opt_ext),
	OPT_UINT("tag", 'T', struct session_opts, first_tag, 1, UINT32_MAX, "bad tag", NULL),
	OPT_CALL("tag-order", 0, opt_tag_order),
};

/* ------------------------------------------------------------ commands */

static const struct cmd *const commands[] = {
	&admin_cmd_discover,
	&admin_cmd_identify,
	&io_cmd_read,
	&io_cmd_write,
	&io_cmd_ata,
	&io_cmd_flush,
	&admin_cmd_config,
	&admin_cmd_mask,
	&admin_cmd_reserve,
	&admin_cmd_raw,
	&bench_cmd_bench,
	&extcmd_cmd_ext,
	&extcmd_cmd_probe,
	&attach_cmd_attach,
	&attach_cmd_detach,
};

static const struct cmd *find_command(const char *name)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(name, commands[i]->name) == 0)
			return commands[i];
	return NULL;
}

/* argv[0] is the command's name; its options are read here, after the
 * socket is open, as they always were (so errors come in the same order). */
static int run_command(struct session *s, const struct cmd *cmd, int argc, char **argv)
{
	int nops = argc - 1, rc;

	if (!(cmd->flags & CMD_WORDS))
		rc = opt_parse(cmd->name, cmd->opts, cmd->nopts, cmd->flags & CMD_OPTS_FIRST,
			       cmd->args, argc, argv, &nops);
	else
		rc = AOEX_OK;
	if (rc == AOEX_OK)
		rc = cmd->run(s, cmd->args, nops, argv + 1);
	if (cmd->done)
		cmd->done(cmd->args);
	return rc;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	struct session s = { .o = { .timeout_ms = 1000, .retries = 3, .window = 16, .tag_order = -1 } };
	const struct cmd *cmd;
	char err[256], first_if[64];
	int nops, rc;

	/* the first operand is the command; its options are its own */
	if ((rc = opt_parse("aoex", global_opts, sizeof global_opts / sizeof global_opts[0], true,
			    &s.o, argc, argv, &nops)))
		return rc;
	if (nops == 0)
		return cli_usage_error("no command given");
	cmd = find_command(argv[1]);
	if (!cmd)
		return cli_usage_error("unknown command '%s'", argv[1]);
	if (s.o.next && (cmd->flags & CMD_NO_EXT))
		return cli_usage_error("-x/--ext does not apply to %s", cmd->name);
	/* `aoex read --help` should not need an interface or root */
	if (!(cmd->flags & CMD_NO_HELP) && wants_help(nops, argv + 1)) {
		fputs(help_text, stdout);
		return AOEX_OK;
	}
	if (cmd->flags & CMD_NO_IFACE)
		return run_command(&s, cmd, nops, argv + 1);
	if (!s.o.iface)
		s.o.iface = getenv("AOEX_IFACE");
	if (!s.o.iface || !*s.o.iface)
		return cli_usage_error("no interface: use -i IFACE or set AOEX_IFACE");
	/* attach takes IFACE,IFACE...: the first is the session's, the
	 * command opens the others */
	snprintf(first_if, sizeof first_if, "%.*s", (int)strcspn(s.o.iface, ","), s.o.iface);
	if (strchr(s.o.iface, ',') && !(cmd->flags & CMD_IFACES))
		return cli_usage_error("several interfaces (-i %s) only with attach", s.o.iface);
	if (aoex_open(&s.c, first_if, s.o.have_src ? s.o.src : NULL, err, sizeof err) < 0)
		return cli_local_error("%s", err);
	s.c.timeout_ms = (int)s.o.timeout_ms;
	s.c.retries = (unsigned)s.o.retries;
	s.c.verbose = s.o.verbose;
	if (s.o.first_tag)
		aoex_set_first_tag(&s.c, (uint32_t)s.o.first_tag);
	if (s.o.tag_order >= 0)
		aoex_set_tag_order(&s.c, (enum aoe_tag_order)s.o.tag_order, true);
	if (s.o.have_dst)
		memcpy(s.c.to.dst, s.o.dst, 6);
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = run_command(&s, cmd, nops, argv + 1);
	fflush(stdout);
	/* the replies crc8x4 caught (each one retried) */
	if (s.c.crc8x4)
		fprintf(stderr, "crc8x4: crc_bad=%llu\n", (unsigned long long)s.c.crc_bad);
	aoex_close(&s.c);
	return rc;
}
