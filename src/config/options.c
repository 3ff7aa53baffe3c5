/*
 * options.c - aoexd's command line: the daemon's own flags, and vblade's
 * form turned into a one-device configuration.  The tunables (tunables.h)
 * give their options, ranges, defaults and --help lines; the rest is here.
 */
#include "config.h"
#include "config/options.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/mask.h"

#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define OPT_MAX_IFACES 16
#define HELP_COL 24	/* where the help of an option starts */

static const char usage_head[] =
"Usage: aoexd [OPTIONS] SHELF SLOT NETIF[,NETIF...] FILE\n"
"       aoexd -c CONFIG-FILE [--check] [--engine E] [--no-rx-ring] [--no-tx-ring]\n"
"             [--no-probe] [--log-level LVL] [--control PATH|none] [-D]\n"
"\n"
"Export FILE (a regular file, a block device, or null:SIZE) as the ATA over\n"
"Ethernet device eSHELF.SLOT on the network interface(s) NETIF.  aoexd stays\n"
"in the foreground and logs to standard error, like vblade, whose options it\n"
"accepts (with -D it detaches and logs to syslog).  SIGTERM or SIGINT\n"
"finishes in-flight I/O, flushes and exits 0.\n"
"\n"
"vblade-compatible options:\n";

static const char usage_vblade[] =
"  -r, --read-only       export read-only: writes fail with ATA ABRT\n"
"  -m, --mask MAC[,MAC]  start with this MAC mask list: only these\n"
"                        initiators are answered\n"
"  -o, --offset SECTORS  skip this many 512-byte sectors at the start of FILE\n"
"  -l, --length SECTORS  export only this many sectors\n"
"\n"
"Configuration file:\n"
"  -c, --config FILE     serve the devices FILE configures, on the interfaces\n"
"                        it names (see aoexd.conf; many devices, many\n"
"                        interfaces, per-device access lists).  No SHELF SLOT\n"
"                        NETIF FILE then, and none of the single-device\n"
"                        options (-b -d -s -r -m -o -l, --model, --serial,\n"
"                        --mtu, --rx-frames, --tx-frames and the disk I/O\n"
"                        options but --engine): the file sets them.\n"
"                        --log-level, if given, wins over the file's.\n"
"                        SIGHUP re-reads FILE: an error is logged with its\n"
"                        FILE:LINE and the running configuration stays;\n"
"                        a valid file is applied on the fly: devices added,\n"
"                        removed (requests in hand answered first) or\n"
"                        changed, interfaces attached or detached; untouched\n"
"                        devices keep their state and I/O.  SIGHUP also\n"
"                        writes back every device's buffered data.\n"
"                        Interfaces that appear, come up, go down or change\n"
"                        MTU are followed (rtnetlink), in both forms.\n"
"      --control PATH    the control socket aoexctl talks to (default: the\n"
"                        file's control-socket, else " CONF_DEF_CONTROL_SOCKET ");\n"
"                        'none' disables it.  Mode 0660: root and the\n"
"                        file's control-group only.  If another aoexd\n"
"                        answers on PATH, this one runs without a socket\n"
"      --check           with -c: check FILE, print the effective\n"
"                        configuration (every default filled in) to stdout\n"
"                        and exit 0, or print the error and exit 1.  Only\n"
"                        the file is checked: backing stores and interfaces\n"
"                        are not opened\n"
"\n"
"Disk I/O:\n"
"      --engine aio|sync  Linux native AIO (default), or pread/pwrite in the\n"
"                        event loop (stalls the network while the disk works;\n"
"                        used automatically where io_setup is missing)\n"
"      --buffered        do not use O_DIRECT (go through the page cache)\n"
"      --write-back      same as --write-policy write-back\n";

static const char usage_identity[] =
"\n"
"Identity and network:\n"
"      --model STRING    IDENTIFY model string (default \"" CONF_DEF_MODEL "\"; at most\n"
"                        40 printable characters)\n"
"      --serial STRING   IDENTIFY serial string (default SHELF.SLOT:hostname;\n"
"                        at most 20 printable characters)\n"
"      --state-dir DIR   keep the config string, mask list and reservation\n"
"                        initiators set in DIR/eSHELF.SLOT, restored at start\n"
"                        (default: not kept; -c uses state-directory)\n";

static const char usage_tail[] =
"      --no-rx-ring      receive with recvmmsg instead of PACKET_RX_RING\n"
"      --no-tx-ring      send with sendmmsg instead of PACKET_TX_RING\n"
"      --no-mmsg         without a ring, receive and send one frame per\n"
"                        recvfrom/sendto call instead of recvmmsg/sendmmsg\n"
"                        (what kernels before 2.6.33 / 3.0 get by themselves)\n"
"      --no-probe        do not check for another target with our address\n"
"      --log-level LVL   error, warning, notice, info (default) or debug\n"
"  -D, --daemon          detach once serving (start-up errors still go to\n"
"                        standard error, with exit status 1) and log to\n"
"                        syslog (facility daemon).  Not needed under systemd\n"
"  -h, --help            show this help and exit\n"
"  -V, --version         show the version and exit\n"
"\n"
"Examples:\n"
"  aoexd 1 2 eth0 /srv/disk.img        export disk.img as e1.2 on eth0\n"
"  aoexd -r -b 64 0 1 eth0,eth1 /dev/sdb\n"
"  aoexd 9 0 eth0 null:4G              measure the network path alone\n"
"  aoexd -c /etc/aoexd.conf            serve what the file configures\n"
"  aoexd -c /etc/aoexd.conf --check    check the file and show the result\n"
"  aoexd -D -c /etc/aoexd.conf         the same in the background\n"
"\n"
"Exit status: 0 after a clean shutdown, 1 on a start-up error (missing file,\n"
"busy address, no such interface, no permission, an invalid configuration\n"
"file: \"aoexd: error: FILE:LINE: reason\"), 2 on a usage error.\n";

/* One tunable's --help entry: the option, its help wrapped to 80 columns,
 * and a last line "(RANGE, default DEF)" (docs.bats checks the man page
 * says the same).  The vblade section holds the ones with a short option,
 * "Disk I/O" the other device tunables, "Identity and network" the
 * interface ones. */
static void put_tunable_help(FILE *f, const struct tunable *tu)
{
	char opt[64], range[48], def[48];
	const char *p = tu->help;
	int n, col;

	if (tu->sopt)
		n = snprintf(opt, sizeof opt, "  -%c, --%s%s%s", tu->sopt, tu->lopt,
			     tu->arg ? " " : "", tu->arg ? tu->arg : "");
	else
		n = snprintf(opt, sizeof opt, "      --%s%s%s", tu->lopt, tu->arg ? " " : "",
			     tu->arg ? tu->arg : "");
	fputs(opt, f);
	if (n >= HELP_COL - 1)
		fprintf(f, "\n%*s", HELP_COL, "");
	else
		fprintf(f, "%*s", HELP_COL - n, "");
	col = HELP_COL;
	while (*p) {
		size_t w = strcspn(p, " ");
		if (col > HELP_COL && col + 1 + (int)w > 79) {
			fprintf(f, "\n%*s", HELP_COL, "");
			col = HELP_COL;
		} else if (col > HELP_COL) {
			fputc(' ', f);
			col++;
		}
		fprintf(f, "%.*s", (int)w, p);
		col += (int)w;
		p += w + (p[w] == ' ');
	}
	if (tu->kind == TUNE_BOOL)
		fprintf(f, "\n%*s(default %s)\n", HELP_COL, "", tu->def ? "on" : "off");
	else
		fprintf(f, "\n%*s(%s, default %s)\n", HELP_COL, "", tunable_range_str(tu, range),
			tunable_value_str(tu, tu->def, def));
}

static void usage(FILE *f)
{
	fputs(usage_head, f);
	for (unsigned i = 0; i < tunables_device_n; i++)
		if (tunables_device[i].sopt)
			put_tunable_help(f, &tunables_device[i]);
	fputs(usage_vblade, f);
	for (unsigned i = 0; i < tunables_device_n; i++)
		if (!tunables_device[i].sopt)
			put_tunable_help(f, &tunables_device[i]);
	fputs(usage_identity, f);
	for (unsigned i = 0; i < tunables_iface_n; i++)
		put_tunable_help(f, &tunables_iface[i]);
	fputs(usage_tail, f);
}

/* ------------------------------------------------------------ options */

enum {
	OPT_MODEL = 256, OPT_SERIAL, OPT_NORX, OPT_NOTX, OPT_NOPROBE, OPT_LOGLEVEL,
	OPT_ENGINE, OPT_BUFFERED, OPT_WBACK, OPT_CHECK, OPT_CONTROL, OPT_STATEDIR, OPT_NOMMSG,
	OPT_TUNABLE = 512,	/* + index: tunables_device, then tunables_iface */
};

static const struct option fixed_opts[] = {
	{ "read-only", no_argument, NULL, 'r' },
	{ "mask", required_argument, NULL, 'm' },
	{ "offset", required_argument, NULL, 'o' },
	{ "length", required_argument, NULL, 'l' },
	{ "config", required_argument, NULL, 'c' },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "no-rx-ring", no_argument, NULL, OPT_NORX },
	{ "no-tx-ring", no_argument, NULL, OPT_NOTX },
	{ "no-mmsg", no_argument, NULL, OPT_NOMMSG },
	{ "no-probe", no_argument, NULL, OPT_NOPROBE },
	{ "log-level", required_argument, NULL, OPT_LOGLEVEL },
	{ "engine", required_argument, NULL, OPT_ENGINE },
	{ "buffered", no_argument, NULL, OPT_BUFFERED },
	{ "write-back", no_argument, NULL, OPT_WBACK },
	{ "state-dir", required_argument, NULL, OPT_STATEDIR },
	{ "daemon", no_argument, NULL, 'D' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
};
#define N_FIXED (sizeof fixed_opts / sizeof fixed_opts[0])

/* the tunable behind option code c, and its table's struct in dev/ifs */
static const struct tunable *tunable_of(int c, bool *iface)
{
	unsigned i = (unsigned)(c - OPT_TUNABLE);

	*iface = i >= tunables_device_n;
	return *iface ? &tunables_iface[i - tunables_device_n] : &tunables_device[i];
}

/* getopt's tables: the fixed options and one per tunable */
static void build_opts(struct option *lo, char *so, size_t solen)
{
	unsigned n = 0;

	memcpy(lo, fixed_opts, sizeof fixed_opts);
	n = N_FIXED;
	snprintf(so, solen, "rm:o:l:c:DhV");
	for (unsigned i = 0; i < tunables_device_n + tunables_iface_n; i++, n++) {
		bool iface;
		const struct tunable *tu = tunable_of(OPT_TUNABLE + (int)i, &iface);
		lo[n] = (struct option){ tu->lopt, tu->kind == TUNE_BOOL ? no_argument : required_argument,
					 NULL, OPT_TUNABLE + (int)i };
		if (tu->sopt) {
			size_t l = strlen(so);
			snprintf(so + l, solen - l, "%c%s", tu->sopt, tu->kind == TUNE_BOOL ? "" : ":");
		}
	}
	lo[n] = (struct option){ NULL, 0, NULL, 0 };
}

static void bad(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void bad(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "aoexd: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'aoexd --help' for more information.\n");
	exit(2);
}

static uint64_t num(const char *s, uint64_t min, uint64_t max, const char *what)
{
	uint64_t v;

	if (parse_uint(s, min, max, &v) < 0)
		bad("bad %s '%s' (want %llu..%llu)", what, s,
		    (unsigned long long)min, (unsigned long long)max);
	return v;
}

/* "buffer-count" -> "buffer count", "mtu" -> "MTU": for messages */
static const char *human(const char *key, char buf[48])
{
	if (strcmp(key, "mtu") == 0)
		return "MTU";
	snprintf(buf, 48, "%s", key);
	for (char *p = buf; *p; p++)
		if (*p == '-')
			*p = ' ';
	return buf;
}

/* A tunable's value from the command line: checked as the file's is. */
static void set_tunable(const struct tunable *tu, void *base, const char *arg)
{
	char what[48], range[48];
	uint64_t v = 1;

	if (tu->kind != TUNE_BOOL &&
	    (tunable_parse(tu, arg, &v) < 0 || !tunable_in_range(tu, v))) {
		if (tu->kind == TUNE_POLICY)
			bad("unknown %s '%s' (%s)", human(tu->key, what), arg,
			    tunable_range_str(tu, range));
		bad("bad %s '%s' (want %s%s)", human(tu->key, what), arg,
		    tu->kind == TUNE_SIZE ? "a size " : "", tunable_range_str(tu, range));
	}
	tunable_set(tu, base, v);
}

static void parse_masks(struct conf_macs *m, char *list)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		uint8_t mac[6];
		if (parse_mac(tok, mac) < 0)
			bad("bad MAC address '%s' in -m", tok);
		if (m->n == MASK_MAX) 
			bad("too many MAC addresses in -m (at most %d): '%s'", MASK_MAX, tok);
		memcpy(m->mac[m->n++], mac, 6);
	}
}

static void parse_ifaces(struct aoexd_conf *c, char *list)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		if (c->n_interfaces == OPT_MAX_IFACES)
			bad("too many interfaces: '%s'", tok);
		if (strlen(tok) >= CONF_IFNAME_MAX)
			bad("interface name too long: '%s'", tok);
		snprintf(c->interfaces[c->n_interfaces++], CONF_IFNAME_MAX, "%s", tok);
	}
	if (!c->n_interfaces)
		bad("no interface given");
}

/* IDENTIFY strings go to initiators as they are: printable ASCII only */
static void ata_text(char *out, size_t size, const char *s, const char *what)
{
	size_t len = strlen(s);

	for (const char *p = s; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			bad("bad %s '%s' (printable ASCII only)", what, s);
	if (len >= size)
		bad("bad %s '%s' (at most %zu characters)", what, s, size - 1);
	memcpy(out, s, len + 1);
}

/* The store's path as given, made absolute (-D runs from "/"). */
static void store_path(struct conf_device *d, const char *path)
{
	char cwd[PATH_MAX];

	if (path[0] == '/' || strncmp(path, "null:", 5) == 0 || !getcwd(cwd, sizeof cwd))
		snprintf(d->path, sizeof d->path, "%s", path);
	else if ((size_t)snprintf(d->path, sizeof d->path, "%s/%s", cwd, path) >= sizeof d->path)
		bad("path too long: '%s'", path);
}

/* "-b" or "--queue-depth": how the user spelled a single-device option */
static const char *opt_name(int c, const struct option *lo, int li)
{
	static char buf[40];

	if (li >= 0)
		snprintf(buf, sizeof buf, "--%s", lo[li].name);
	else
		snprintf(buf, sizeof buf, "-%c", c);
	return buf;
}

static bool device_option(int c)
{
	return c == 'r' || c == 'm' || c == 'o' || c == 'l' || c == OPT_MODEL || c == OPT_SERIAL ||
	       c == OPT_BUFFERED || c == OPT_WBACK || c == OPT_STATEDIR || c >= OPT_TUNABLE;
}

void options_parse(struct options *o, int argc, char **argv)
{
	static struct option lo[N_FIXED + 32];
	static struct aoexd_conf conf;	/* about 700 KiB: not on the stack */
	struct conf_device *d = &conf.devices[0];
	const char *first_device_opt = NULL;
	uint64_t off_sect = 0, len_sect = 0;
	char so[64];
	int c, li = -1;

	memset(o, 0, sizeof *o);
	o->log_level = LOG_INFO;
	o->probe = true;
	o->engine = ENGINE_AIO;
	conf_defaults(&conf);
	conf.state_directory[0] = '\0';		/* not kept unless --state-dir */
	d->tune = conf.defaults;
	d->broadcast = true;
	snprintf(d->model, sizeof d->model, "%s", CONF_DEF_MODEL);
	build_opts(lo, so, sizeof so);

	while ((c = getopt_long(argc, argv, so, lo, &li)) != -1) {
		int spelled = c;
		for (unsigned i = 0; i < tunables_device_n; i++)
			if (c == tunables_device[i].sopt)
				c = OPT_TUNABLE + (int)i;	/* -b is --bufcnt */
		if (device_option(c) && !first_device_opt)
			first_device_opt = opt_name(spelled, lo, li);
		li = -1;
		if (c >= OPT_TUNABLE) {
			bool iface;
			const struct tunable *tu = tunable_of(c, &iface);
			set_tunable(tu, iface ? (void *)&conf.ifset : (void *)&d->tune, optarg);
			continue;
		}
		switch (c) {
		case 'r': d->read_only = true; break;
		case 'm': parse_masks(&d->mask, optarg); break;
		case 'o': off_sect = num(optarg, 0, 1ULL << 48, "offset"); break;
		case 'l': len_sect = num(optarg, 1, 1ULL << 48, "length"); break;
		case 'c': o->config_file = optarg; break;
		case OPT_CHECK: o->check = true; break;
		case OPT_CONTROL:
			if (optarg[0] != '/' && strcmp(optarg, "none") != 0)
				bad("--control wants an absolute path or none, not '%s'", optarg);
			if (strlen(optarg) >= CONF_SOCKET_MAX)
				bad("--control %s: longer than %d bytes (a socket path's limit)", optarg,
				    CONF_SOCKET_MAX - 1);
			o->control = optarg;
			break;
		case 'D': o->daemon = true; break;
		case OPT_MODEL: ata_text(d->model, sizeof d->model, optarg, "model"); break;
		case OPT_SERIAL: ata_text(d->serial, sizeof d->serial, optarg, "serial"); break;
		case OPT_STATEDIR:
			if (optarg[0] != '/')
				bad("--state-dir wants an absolute path, not '%s'", optarg);
			if (strlen(optarg) >= CONF_PATH_MAX)
				bad("--state-dir: path too long");
			snprintf(conf.state_directory, sizeof conf.state_directory, "%s", optarg);
			break;
		case OPT_NORX: o->no_rx_ring = true; break;
		case OPT_NOTX: o->no_tx_ring = true; break;
		case OPT_NOMMSG: o->no_mmsg = true; break;
		case OPT_NOPROBE: o->probe = false; break;
		case OPT_LOGLEVEL:
			o->log_level = log_level_from_name(optarg);
			if (o->log_level < 0)
				bad("unknown log level '%s'", optarg);
			o->log_level_set = true;
			break;
		case OPT_ENGINE:
			if (strcmp(optarg, "aio") == 0)
				o->engine = ENGINE_AIO;
			else if (strcmp(optarg, "sync") == 0)
				o->engine = ENGINE_SYNC;
			else
				bad("unknown engine '%s' (aio or sync)", optarg);
			break;
		case OPT_BUFFERED: d->tune.direct_io = false; break;
		case OPT_WBACK: d->tune.write_policy = CONF_WRITE_BACK; break;
		case 'h': usage(stdout); exit(0);
		case 'V': printf("aoexd %s\n", PACKAGE_VERSION); exit(0);
		default: fprintf(stderr, "Try 'aoexd --help' for more information.\n"); exit(2);
		}
	}
	if (o->config_file) {
		if (argc > optind)
			bad("-c %s takes no SHELF SLOT NETIF FILE arguments (got '%s'): "
			    "the file configures the devices", o->config_file, argv[optind]);
		if (first_device_opt)
			bad("%s does not apply with -c: set it in %s", first_device_opt, o->config_file);
		/* SIGHUP re-reads it after -D's chdir("/") */
		if (o->daemon && o->config_file[0] != '/') {
			char *abs = realpath(o->config_file, NULL);
			if (abs)
				o->config_file = abs;	/* lives as long as the process */
		}
		return;
	}
	if (o->check)
		bad("--check needs -c FILE");
	if (argc - optind != 4) {
		fprintf(stderr, "aoexd: expected SHELF SLOT NETIF FILE, got %d argument%s\n",
			argc - optind, argc - optind == 1 ? "" : "s");
		usage(stderr);
		exit(2);
	}
	d->shelf = (unsigned)num(argv[optind], 0, CONF_SHELF_MAX, "shelf");
	d->slot = (unsigned)num(argv[optind + 1], 0, CONF_SLOT_MAX, "slot");
	parse_ifaces(&conf, argv[optind + 2]);
	store_path(d, argv[optind + 3]);
	d->offset = off_sect * 512;
	d->length = len_sect * 512;
	snprintf(d->name, sizeof d->name, "e%u.%u", d->shelf, d->slot);
	conf.n_devices = 1;
	o->conf = &conf;
}
