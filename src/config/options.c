/* options.c - command line of aoexd. */
#include "config.h"
#include "config/options.h"
#include "config/conf.h"
#include "common/log.h"
#include "common/util.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage_text[] =
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
"vblade-compatible options:\n"
"  -b, --bufcnt N        requests the target queues, advertised in Query\n"
"                        Config (default 16, at least 2: the Linux initiator\n"
"                        stalls with fewer)\n"
"  -d, --direct          open FILE with O_DIRECT (the default; accepted for\n"
"                        vblade compatibility)\n"
"  -s, --sync            open FILE with O_DSYNC: every write is durable when\n"
"                        it is acknowledged, even on a disk's volatile cache\n"
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
"      --queue-depth N   disk I/Os in flight at most (default 64, 1..1024);\n"
"                        more requests wait in the queue, never dropped while\n"
"                        request buffers remain (4 x bufcnt, at least 64)\n"
"      --merge-delay US  when the disk is idle, hold the first request up to\n"
"                        US microseconds (0..10000, default 0 = off) so that\n"
"                        its neighbours arriving next merge into one I/O\n"
"      --write-policy P  write-through (default): a write is acknowledged\n"
"                        once it is on the backing store.  write-back: a\n"
"                        write is acknowledged once it is in a buffer; up to\n"
"                        --max-dirty bytes, at most --max-age ms old, can be\n"
"                        lost if aoexd is killed (IDENTIFY then reports a\n"
"                        volatile write cache; FLUSH CACHE, SIGTERM and\n"
"                        SIGHUP write it out)\n"
"      --write-back      same as --write-policy write-back\n"
"      --read-ahead SIZE read-ahead chunk for sequential readers (default\n"
"                        256K; 0 disables read-ahead)\n"
"      --read-ahead-streams N  sequential streams tracked (default 4)\n"
"      --write-behind SIZE  write-back buffer size (default 512K)\n"
"      --max-dirty SIZE  write-back: dirty bytes at most (default 4M)\n"
"      --max-age MS      write-back: oldest dirty data age (default 500)\n"
"\n"
"Identity and network:\n"
"      --model STRING    IDENTIFY model string (default \"aoexd\")\n"
"      --serial STRING   IDENTIFY serial string (default SHELF.SLOT:hostname)\n"
"      --state-dir DIR   keep the config string, mask list and reservation\n"
"                        initiators set in DIR/eSHELF.SLOT, restored at start\n"
"                        (default: not kept; -c uses state-directory)\n"
"      --mtu N           use at most this MTU (can only lower it)\n"
"      --rx-frames N     RX ring size in frames (default 256)\n"
"      --tx-frames N     TX ring size in frames (default 256)\n"
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

enum {
	OPT_MODEL = 256, OPT_SERIAL, OPT_MTU, OPT_RXF, OPT_TXF, OPT_NORX, OPT_NOTX,
	OPT_NOPROBE, OPT_LOGLEVEL, OPT_ENGINE, OPT_BUFFERED, OPT_QDEPTH, OPT_WPOLICY,
	OPT_WBACK, OPT_RA, OPT_RASTREAMS, OPT_WBSIZE, OPT_MAXDIRTY, OPT_MAXAGE, OPT_CHECK,
	OPT_MERGEDELAY, OPT_CONTROL, OPT_STATEDIR, OPT_NOMMSG,
};

static const struct option long_opts[] = {
	{ "bufcnt", required_argument, NULL, 'b' },
	{ "direct", no_argument, NULL, 'd' },
	{ "sync", no_argument, NULL, 's' },
	{ "read-only", no_argument, NULL, 'r' },
	{ "mask", required_argument, NULL, 'm' },
	{ "offset", required_argument, NULL, 'o' },
	{ "length", required_argument, NULL, 'l' },
	{ "config", required_argument, NULL, 'c' },
	{ "check", no_argument, NULL, OPT_CHECK },
	{ "control", required_argument, NULL, OPT_CONTROL },
	{ "model", required_argument, NULL, OPT_MODEL },
	{ "serial", required_argument, NULL, OPT_SERIAL },
	{ "mtu", required_argument, NULL, OPT_MTU },
	{ "rx-frames", required_argument, NULL, OPT_RXF },
	{ "tx-frames", required_argument, NULL, OPT_TXF },
	{ "no-rx-ring", no_argument, NULL, OPT_NORX },
	{ "no-tx-ring", no_argument, NULL, OPT_NOTX },
	{ "no-mmsg", no_argument, NULL, OPT_NOMMSG },
	{ "no-probe", no_argument, NULL, OPT_NOPROBE },
	{ "log-level", required_argument, NULL, OPT_LOGLEVEL },
	{ "engine", required_argument, NULL, OPT_ENGINE },
	{ "buffered", no_argument, NULL, OPT_BUFFERED },
	{ "queue-depth", required_argument, NULL, OPT_QDEPTH },
	{ "merge-delay", required_argument, NULL, OPT_MERGEDELAY },
	{ "write-policy", required_argument, NULL, OPT_WPOLICY },
	{ "write-back", no_argument, NULL, OPT_WBACK },
	{ "read-ahead", required_argument, NULL, OPT_RA },
	{ "read-ahead-streams", required_argument, NULL, OPT_RASTREAMS },
	{ "write-behind", required_argument, NULL, OPT_WBSIZE },
	{ "max-dirty", required_argument, NULL, OPT_MAXDIRTY },
	{ "max-age", required_argument, NULL, OPT_MAXAGE },
	{ "state-dir", required_argument, NULL, OPT_STATEDIR },
	{ "daemon", no_argument, NULL, 'D' },
	{ "help", no_argument, NULL, 'h' },
	{ "version", no_argument, NULL, 'V' },
	{ NULL, 0, NULL, 0 },
};

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

static size_t size_arg(const char *s, size_t max, const char *what)
{
	uint64_t v;

	if (parse_size(s, &v) < 0 || v > max)
		bad("bad %s '%s' (want a size such as 512K, at most %zu)", what, s, max);
	return (size_t)v;
}

static void parse_masks(struct macmask *m, char *list)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		uint8_t mac[6];
		if (parse_mac(tok, mac) < 0)
			bad("bad MAC address '%s' in -m", tok);
		if (mask_add(m, mac) < 0)
			bad("too many MAC addresses in -m (at most 64): '%s'", tok);
	}
}

static void parse_ifaces(struct options *o, char *list)
{
	for (char *tok = strtok(list, ","); tok; tok = strtok(NULL, ",")) {
		if (o->n_ifaces == OPT_MAX_IFACES)
			bad("too many interfaces: '%s'", tok);
		if (strlen(tok) >= 16)
			bad("interface name too long: '%s'", tok);
		o->ifnames[o->n_ifaces++] = tok;
	}
	if (!o->n_ifaces)
		bad("no interface given");
}

/* "-b" or "--queue-depth": how the user spelled a single-device option */
static const char *device_opt_name(int c, int li)
{
	static char buf[32];

	if (li >= 0)
		snprintf(buf, sizeof buf, "--%s", long_opts[li].name);
	else
		snprintf(buf, sizeof buf, "-%c", c);
	return buf;
}

void options_parse(struct options *o, int argc, char **argv)
{
	int c, li = -1;

	memset(o, 0, sizeof *o);
	o->bufcnt = 16;
	o->model = "aoexd";
	o->net.rx_frames = 256;
	o->net.tx_frames = 256;
	o->log_level = LOG_INFO;
	o->probe = true;
	o->direct = true;
	o->engine = ENGINE_AIO;
	o->queue_depth = 64;
	o->cache = (struct cache_conf)CACHE_CONF_DEFAULTS;

	while ((c = getopt_long(argc, argv, "b:dsrm:o:l:c:DhV", long_opts, &li)) != -1) {
		switch (c) {
		case 'c': case OPT_CHECK: case OPT_CONTROL: case OPT_NORX: case OPT_NOTX: case OPT_NOMMSG:
		case OPT_NOPROBE:
		case OPT_LOGLEVEL: case OPT_ENGINE: case 'D': case 'h': case 'V': case '?':
			break;
		default:	/* an option that configures the one device */
			if (!o->device_opt)
				o->device_opt = device_opt_name(c, li);
			break;
		}
		li = -1;
		switch (c) {
		case 'b': o->bufcnt = (unsigned)num(optarg, 2, 65535, "buffer count"); break;
		case 'd': o->direct = true; break;
		case 's': o->sync = true; break;
		case 'r': o->readonly = true; break;
		case 'm': parse_masks(&o->mask, optarg); break;
		case 'o': o->offset_sectors = num(optarg, 0, 1ULL << 48, "offset"); break;
		case 'l': o->length_sectors = num(optarg, 1, 1ULL << 48, "length"); break;
		case 'c': o->config_file = optarg; break;
		case OPT_CHECK: o->check = true; break;
		case OPT_CONTROL:
			if (optarg[0] != '/' && strcmp(optarg, "none") != 0)
				bad("--control wants an absolute path or none, not '%s'", optarg);
			if (strlen(optarg) >= 108)
				bad("--control %s: longer than 107 bytes (a socket path's limit)", optarg);
			o->control = optarg;
			break;
		case 'D': o->daemon = true; break;
		case OPT_MODEL: o->model = optarg; break;
		case OPT_SERIAL: o->serial = optarg; break;
		case OPT_STATEDIR:
			if (optarg[0] != '/')
				bad("--state-dir wants an absolute path, not '%s'", optarg);
			o->state_dir = optarg;
			break;
		case OPT_MTU: o->net.mtu_max = (unsigned)num(optarg, 576, 65535, "MTU"); break;
		case OPT_RXF: o->net.rx_frames = (unsigned)num(optarg, 8, 65536, "RX ring size"); break;
		case OPT_TXF: o->net.tx_frames = (unsigned)num(optarg, 8, 65536, "TX ring size"); break;
		case OPT_NORX: o->net.no_rx_ring = true; break;
		case OPT_NOTX: o->net.no_tx_ring = true; break;
		case OPT_NOMMSG: o->net.no_mmsg = true; break;
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
		case OPT_BUFFERED: o->direct = false; break;
		case OPT_QDEPTH: o->queue_depth = (unsigned)num(optarg, 1, 1024, "queue depth"); break;
		case OPT_MERGEDELAY:
			o->merge_delay_us = (unsigned)num(optarg, 0, 10000, "merge delay");
			break;
		case OPT_WPOLICY:
			if (strcmp(optarg, "write-back") == 0)
				o->cache.write_back = true;
			else if (strcmp(optarg, "write-through") == 0)
				o->cache.write_back = false;
			else
				bad("unknown write policy '%s' (write-through or write-back)", optarg);
			break;
		case OPT_WBACK: o->cache.write_back = true; break;
		case OPT_RA: o->cache.ra_chunk = size_arg(optarg, 16u << 20, "read-ahead size"); break;
		case OPT_RASTREAMS:
			o->cache.ra_streams = (unsigned)num(optarg, 1, 64, "read-ahead streams");
			break;
		case OPT_WBSIZE:
			o->cache.wb_chunk = size_arg(optarg, 16u << 20, "write-behind size");
			if (o->cache.wb_chunk < 4096)
				bad("write-behind size must be at least 4K");
			break;
		case OPT_MAXDIRTY: o->cache.wb_max_dirty = size_arg(optarg, 1u << 30, "max dirty"); break;
		case OPT_MAXAGE: o->cache.wb_max_age_ms = (unsigned)num(optarg, 1, 600000, "max age"); break;
		case 'h': fputs(usage_text, stdout); exit(0);
		case 'V': printf("aoexd %s\n", PACKAGE_VERSION); exit(0);
		default: fprintf(stderr, "Try 'aoexd --help' for more information.\n"); exit(2);
		}
	}
	if (o->config_file) {
		if (argc > optind)
			bad("-c %s takes no SHELF SLOT NETIF FILE arguments (got '%s'): "
			    "the file configures the devices", o->config_file, argv[optind]);
		if (o->device_opt)
			bad("%s does not apply with -c: set it in %s", o->device_opt, o->config_file);
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
		fprintf(stderr, "aoexd: expected SHELF SLOT NETIF FILE, got %d argument%s\n%s",
			argc - optind, argc - optind == 1 ? "" : "s", usage_text);
		exit(2);
	}
	o->shelf = (unsigned)num(argv[optind], 0, 65534, "shelf");
	o->slot = (unsigned)num(argv[optind + 1], 0, 254, "slot");
	parse_ifaces(o, argv[optind + 2]);
	o->path = argv[optind + 3];
}
