/*
 * aoexctl.c - monitor and control a running aoexd through its control
 * socket: one request line out, one response back (ctl_proto.h).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/ctl_proto.h"
#include "common/util.h"

enum { EXIT_OK = 0, EXIT_DAEMON = 1, EXIT_USAGE = 2, EXIT_CONNECT = 3 };

#define ANSWER_TIMEOUT_S 10

static const char usage_text[] =
"Usage: aoexctl [-s PATH] COMMAND [ARGUMENTS]\n"
"\n"
"Monitor and control a running aoexd (the ATA over Ethernet target) through\n"
"its control socket.  NAME is a device's name in the configuration file\n"
"(the title of its device section), its AoE address eSHELF.SLOT (e1.2), or,\n"
"where the command says so, a network interface aoexd serves on.\n"
"\n"
"Commands:\n"
"  status [--json]\n"
"      The daemon (version, pid, uptime, configuration file), each device\n"
"      (name, eSHELF.SLOT, backing path, size, state: serving, read-only,\n"
"      idle (on no interface) or failed (a write-back lost data), write\n"
"      policy, buffer count, disk queue depth, interfaces; frozen: freeze,\n"
"      shadow, frozen_since, shadow_bytes, merge_percent, ...) with the\n"
"      initiators it has heard\n"
"      from (MAC, requests, negotiated AoE extensions), and each interface\n"
"      (MAC, MTU, sectors per frame, receive and send paths: the\n"
"      PACKET_RX_RING/TX_RING rings or recvmmsg/sendmmsg).\n"
"  stats [--json] [NAME...]\n"
"      Counters since start (or since clear-stats) of the named devices and\n"
"      interfaces, all of them without NAME.  As text, one line per device\n"
"      or interface: \"device NAME key=value ...\", \"iface NAME key=value ...\",\n"
"      and the disk engine's: \"engine KIND key=value ...\" (the daemon's stop\n"
"      log prints the same counters under the same names).\n"
"      Devices: reads, writes, read_bytes, write_bytes, flushes, merged,\n"
"      queue_depth/busy/waiting/stalls, queue_full, ra_hits, ra_misses, wb_flushes,\n"
"      ata_errors, aoe_errors, protocol_errors, acl_denied, dup_writes\n"
"      (duplicate writes skipped), sub_reads (coalesced), congestion_probes,\n"
"      avg_service_us and more.  Interfaces: rx/tx frames and bytes,\n"
"      wakeups, frames_per_wakeup, ring_drops (the kernel's\n"
"      PACKET_STATISTICS drops), ignored, broadcasts, tx_dropped.\n"
"  monitor [--count N] [INTERVAL] [NAME...]\n"
"      Rates every INTERVAL seconds (default 1, fractions allowed), like\n"
"      iostat: reads and writes per second, MB/s, merges, read-ahead hit\n"
"      ratio, queue, service time, errors; frames, MB/s, frames per\n"
"      wakeup and drops per interface.  On a terminal the screen is\n"
"      redrawn in place; piped, each report is printed as plain lines\n"
"      with a time stamp.  --count N stops after N reports.\n"
"  reload\n"
"      Re-read the configuration file, as SIGHUP does.  Fails (exit 1)\n"
"      when the file is refused; the running configuration is kept.\n"
"  show-config [--json] NAME     the device's AoE config string\n"
"  show-macmask [--json] NAME    its MAC mask list, one MAC per line\n"
"  show-reserve [--json] NAME    its reservation list, one MAC per line\n"
"  clear-stats [NAME...]         zero the counters (all without NAME)\n"
"  clear-macmask NAME            empty the device's MAC mask list\n"
"  clear-reserve NAME            release the device's reservation\n"
"  freeze NAME --shadow PATH [--max-size SIZE]\n"
"      Freeze the device: from now on its backing store does not change by\n"
"      one byte (copy it for a backup: cp, dd, a snapshot); writes\n"
"      go to PATH, a new sparse shadow file, reads of what was written come\n"
"      from there.  SIZE (K/M/G suffixes) caps the data the shadow takes:\n"
"      beyond it, or when its file system is full, writes fail with an ATA\n"
"      error and a log line.  The daemon needs a state directory, where it\n"
"      records the freeze: a restarted aoexd is frozen again.\n"
"  thaw NAME\n"
"      Merge the shadow back into the store in the background (at most\n"
"      the device's thaw-rate per second) while the device keeps serving;\n"
"      then the shadow is removed.  status shows the progress; a restart\n"
"      goes on merging.\n"
"\n"
"Options:\n"
"  -s, --socket PATH   the control socket (default " CTL_DEFAULT_SOCKET ",\n"
"                      or aoexd's --control / control-socket setting)\n"
"  -h, --help          show this help and exit\n"
"  -V, --version       show the version and exit\n"
"\n"
"The socket admits root and the members of aoexd.conf's control-group;\n"
"others are refused (\"permission denied\", exit 1).\n"
"\n"
"Exit status: 0 success; 1 the daemon answered with an error (unknown\n"
"NAME, refused configuration, permission denied); 2 usage error; 3 cannot\n"
"connect to the socket (aoexd not running, wrong path) or no answer\n"
"within " "10" " seconds.\n"
"\n"
"Examples:\n"
"  aoexctl status\n"
"  aoexctl stats --json e1.2 | jq .devices[0].reads\n"
"  aoexctl monitor 2\n"
"  aoexctl -s /run/aoexd-test.sock clear-stats eth0\n";

static const char *sock_path = CTL_DEFAULT_SOCKET;

static int cmd_plain(int argc, char **argv);

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "aoexctl: ");
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'aoexctl --help' for more information.\n");
	return EXIT_USAGE;
}

/* ------------------------------------------------------------ talking */

/* Send line, read the whole response into resp.  0, or EXIT_CONNECT after
 * saying why. */
static int exchange(const char *line, struct ctl_buf *resp)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = ANSWER_TIMEOUT_S };
	size_t len = strlen(line), off = 0;
	char buf[65536];
	int fd;

	if (strlen(sock_path) >= sizeof sa.sun_path) {
		fprintf(stderr, "aoexctl: %s: path too long for a socket\n", sock_path);
		return EXIT_CONNECT;
	}
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		fprintf(stderr, "aoexctl: cannot connect to %s: %s%s\n", sock_path, strerror(errno),
			errno == ENOENT || errno == ECONNREFUSED ?
			" (is aoexd running?  -s PATH names another socket)" : "");
		if (fd >= 0)
			close(fd);
		return EXIT_CONNECT;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	/* a refused client is answered and closed before it writes: a failed
	 * send still leaves the daemon's reason to read */
	while (off < len) {
		ssize_t n = send(fd, line + off, len - off, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
	}
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		if (n < 0 && errno == EINTR)
			continue;
		/* the daemon closed with input of ours unread (it refused us
		 * early, or the request was too long): its answer came first */
		if (n < 0 && errno == ECONNRESET && resp->len)
			break;
		if (n < 0) {
			fprintf(stderr, "aoexctl: %s: %s\n", sock_path,
				errno == EAGAIN ? "no answer within 10 seconds" : strerror(errno));
			close(fd);
			return EXIT_CONNECT;
		}
		if (n == 0)
			break;
		ctl_put(resp, buf, (size_t)n);
	}
	close(fd);
	if (resp->overflow) {
		fprintf(stderr, "aoexctl: %s: response larger than %u bytes\n", sock_path, CTL_RESP_MAX);
		return EXIT_CONNECT;
	}
	return 0;
}

/* One request: the response's body into body (from *start), or an exit code. */
static int request(const struct ctl_request *r, struct ctl_buf *resp, size_t *start)
{
	char line[CTL_REQ_MAX + 2], msg[512];
	int rc, st;

	if (ctl_format_request(r, line, sizeof line) < 0)
		return usage_error("request too long, or a NAME with blanks or control characters");
	ctl_buf_reset(resp);
	rc = exchange(line, resp);
	if (rc)
		return rc;
	st = resp->p ? ctl_parse_status(resp->p, resp->len, msg, sizeof msg, start) : -1;
	if (st < 0) {
		fprintf(stderr, "aoexctl: %s: not an aoexd control socket (no status line)\n", sock_path);
		return EXIT_CONNECT;
	}
	if (st == 0) {
		fprintf(stderr, "aoexctl: %s: %s\n", ctl_cmd_name(r->cmd), msg);
		return EXIT_DAEMON;
	}
	return 0;
}

/* ------------------------------------------------------------ monitor */

#define MON_MAX 512	/* records (devices + interfaces) in one report */

struct sample {
	unsigned n;
	double t;
	struct ctl_rec *rec;
};

static double mono_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int take_sample(const struct ctl_request *r, struct ctl_buf *resp, struct sample *s)
{
	size_t start, i;
	int rc = request(r, resp, &start);

	if (rc)
		return rc;
	s->t = mono_s();
	s->n = 0;
	for (i = start; i < resp->len && s->n < MON_MAX;) {
		const char *nl = memchr(resp->p + i, '\n', resp->len - i);
		size_t ll = nl ? (size_t)(nl - (resp->p + i)) : resp->len - i;
		if (ctl_rec_parse(resp->p + i, ll, &s->rec[s->n]) == 0)
			s->n++;
		i += ll + 1;
	}
	return 0;
}

static uint64_t val(const struct ctl_rec *r, const char *key)
{
	const struct ctl_kv *kv = r ? ctl_rec_get(r, key) : NULL;

	return kv && kv->type == CTL_V_U64 ? kv->v : 0;
}

static const struct ctl_rec *find_rec(const struct sample *s, const struct ctl_rec *like)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->rec[i].kind, like->kind) == 0 && strcmp(s->rec[i].name, like->name) == 0)
			return &s->rec[i];
	return NULL;
}

/* per second, of key between the two records (0 if the counter went back:
 * cleared meanwhile) */
static double rate(const struct ctl_rec *a, const struct ctl_rec *b, const char *key, double dt)
{
	uint64_t x = val(a, key), y = val(b, key);

	return y >= x && dt > 0 ? (double)(y - x) / dt : 0;
}

static uint64_t delta(const struct ctl_rec *a, const struct ctl_rec *b, const char *key)
{
	uint64_t x = val(a, key), y = val(b, key);

	return y >= x ? y - x : 0;
}

static void report(const struct sample *prev, const struct sample *cur, bool tty)
{
	double dt = cur->t - prev->t;
	char stamp[32];
	time_t now = time(NULL);
	bool head = false;

	strftime(stamp, sizeof stamp, "%H:%M:%S", localtime(&now));
	if (tty)
		printf("\033[H\033[2J");	/* redraw in place */
	printf("%s  interval %.2fs\n", stamp, dt);
	for (unsigned i = 0; i < cur->n; i++) {
		const struct ctl_rec *b = &cur->rec[i], *a = find_rec(prev, b);
		uint64_t hits, misses, serv, svc;
		if (strcmp(b->kind, "device") != 0)
			continue;
		if (!head)
			printf("%-16s %9s %9s %8s %8s %9s %6s %5s %5s %7s %7s\n", "device", "r/s", "w/s",
			       "rMB/s", "wMB/s", "merged/s", "ra_hit", "busy", "wait", "svc_us",
			       "errors");
		head = true;
		hits = delta(a, b, "ra_hits");
		misses = delta(a, b, "ra_misses");
		serv = delta(a, b, "serviced");
		/* the average over the interval, from the running average */
		svc = serv ? (val(b, "avg_service_us") * val(b, "serviced") -
			      val(a, "avg_service_us") * val(a, "serviced")) / serv : 0;
		if (svc > 1000000000)
			svc = 0;	/* rounding of the two averages went below zero */
		printf("%-16s %9.1f %9.1f %8.2f %8.2f %9.1f ", b->name, rate(a, b, "reads", dt),
		       rate(a, b, "writes", dt), rate(a, b, "read_bytes", dt) / 1e6,
		       rate(a, b, "write_bytes", dt) / 1e6, rate(a, b, "merged", dt));
		if (hits + misses)
			printf("%5.1f%%", 100.0 * (double)hits / (double)(hits + misses));
		else
			printf("%6s", "-");
		printf(" %5llu %5llu %7llu %7llu\n", (unsigned long long)val(b, "queue_busy"),
		       (unsigned long long)val(b, "queue_waiting"), (unsigned long long)svc,
		       (unsigned long long)(delta(a, b, "ata_errors") + delta(a, b, "aoe_errors") +
					    delta(a, b, "protocol_errors") + delta(a, b, "io_errors")));
	}
	head = false;
	for (unsigned i = 0; i < cur->n; i++) {
		const struct ctl_rec *b = &cur->rec[i], *a = find_rec(prev, b);
		uint64_t wk;
		if (strcmp(b->kind, "iface") != 0)
			continue;
		if (!head)
			printf("%-16s %9s %9s %8s %8s %9s %7s %7s\n", "interface", "rx/s", "tx/s",
			       "rxMB/s", "txMB/s", "fr/wakeup", "drops/s", "ign/s");
		head = true;
		wk = delta(a, b, "wakeups");
		printf("%-16s %9.1f %9.1f %8.2f %8.2f %9.2f %7.1f %7.1f\n", b->name,
		       rate(a, b, "rx_frames", dt), rate(a, b, "tx_frames", dt),
		       rate(a, b, "rx_bytes", dt) / 1e6, rate(a, b, "tx_bytes", dt) / 1e6,
		       wk ? (double)delta(a, b, "rx_frames") / (double)wk : 0.0,
		       rate(a, b, "ring_drops", dt), rate(a, b, "ignored", dt));
	}
	if (!tty)
		printf("\n");
	fflush(stdout);
}

static void sleep_s(double s)
{
	struct timespec ts = { .tv_sec = (time_t)s, .tv_nsec = (long)((s - (double)(time_t)s) * 1e9) };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static int cmd_monitor(int argc, char **argv)
{
	static struct ctl_rec recs[2][MON_MAX];
	struct ctl_request r = { .cmd = CTL_STATS };
	struct sample s[2] = { { .rec = recs[0] }, { .rec = recs[1] } };
	struct ctl_buf resp;
	double interval = 1;
	long count = -1;
	bool have_interval = false, tty = isatty(STDOUT_FILENO);
	int rc, cur = 0;

	for (int i = 1; i < argc; i++) {
		char *end;
		if (strcmp(argv[i], "--count") == 0 || strcmp(argv[i], "-c") == 0) {
			if (i + 1 == argc)
				return usage_error("monitor: %s needs a number", argv[i]);
			count = strtol(argv[++i], &end, 10);
			if (*end || count < 1)
				return usage_error("monitor: bad count '%s' (want 1 or more)", argv[i]);
		} else if (strncmp(argv[i], "--count=", 8) == 0) {
			count = strtol(argv[i] + 8, &end, 10);
			if (*end || count < 1)
				return usage_error("monitor: bad count '%s' (want 1 or more)", argv[i] + 8);
		} else if (!have_interval && argv[i][0] >= '0' && argv[i][0] <= '9') {
			interval = strtod(argv[i], &end);
			if (*end || interval < 0.05 || interval > 3600)
				return usage_error("monitor: bad interval '%s' (seconds, 0.05 to 3600)", argv[i]);
			have_interval = true;
		} else if (argv[i][0] == '-') {
			return usage_error("monitor: unknown option '%s'", argv[i]);
		} else {
			if (r.nargs == CTL_ARGS_MAX)
				return usage_error("monitor: at most %d names", CTL_ARGS_MAX);
			if (strlen(argv[i]) >= CTL_ARG_MAX)
				return usage_error("monitor: name too long: '%s'", argv[i]);
			snprintf(r.args[r.nargs++], CTL_ARG_MAX, "%s", argv[i]);
		}
	}
	ctl_buf_init(&resp, CTL_RESP_MAX);
	rc = take_sample(&r, &resp, &s[cur]);
	while (!rc && count != 0) {
		sleep_s(interval);
		rc = take_sample(&r, &resp, &s[!cur]);
		if (rc)
			break;
		report(&s[cur], &s[!cur], tty);
		cur = !cur;
		if (count > 0)
			count--;
	}
	ctl_buf_free(&resp);
	return rc;
}

/* ------------------------------------------------------------- main */

/* Every command but monitor: argv as one request, the body to stdout. */
/* freeze NAME --shadow PATH [--max-size SIZE]: as the daemon's "freeze
 * NAME ABSPATH BYTES" (a relative PATH is made absolute here: the daemon
 * runs elsewhere). */
static int cmd_freeze(int argc, char **argv)
{
	char abs[CTL_ARG_MAX], max[24] = "0", *args[4];
	const char *name = NULL, *path = NULL;
	uint64_t v;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--shadow") == 0 && i + 1 < argc) {
			path = argv[++i];
		} else if (strcmp(argv[i], "--max-size") == 0 && i + 1 < argc) {
			if (parse_size(argv[++i], &v) < 0)
				return usage_error("freeze: bad --max-size '%s'", argv[i]);
			snprintf(max, sizeof max, "%llu", (unsigned long long)v);
		} else if (argv[i][0] == '-' || name) {
			return usage_error("freeze: usage: freeze NAME --shadow PATH [--max-size SIZE]");
		} else {
			name = argv[i];
		}
	}
	if (!name || !path)
		return usage_error("freeze: usage: freeze NAME --shadow PATH [--max-size SIZE]");
	if (path[0] == '/') {
		snprintf(abs, sizeof abs, "%s", path);
	} else {
		char cwd[CTL_ARG_MAX];
		if (!getcwd(cwd, sizeof cwd) ||
		    snprintf(abs, sizeof abs, "%s/%s", cwd, path) >= (int)sizeof abs)
			return usage_error("freeze: the shadow path is too long");
	}
	args[0] = argv[0];
	args[1] = (char *)name;
	args[2] = abs;
	args[3] = max;
	return cmd_plain(4, args);
}

static int cmd_plain(int argc, char **argv)
{
	struct ctl_request r;
	struct ctl_buf resp;
	char line[CTL_REQ_MAX + 2], err[200];
	size_t len = 0, start;
	int rc;

	for (int i = 0; i < argc; i++) {
		size_t n = strlen(argv[i]);
		if (len + n + 2 > sizeof line)
			return usage_error("%s: arguments too long", argv[0]);
		memcpy(line + len, argv[i], n);
		len += n;
		line[len++] = i + 1 < argc ? ' ' : '\n';
	}
	/* the daemon's own parser: a bad command or count is a usage error
	 * here, before connecting */
	if (ctl_parse_request(line, len, &r, err, sizeof err) < 0)
		return usage_error("%s", err);
	ctl_buf_init(&resp, CTL_RESP_MAX + 4096);
	rc = request(&r, &resp, &start);
	if (!rc && resp.len > start && fwrite(resp.p + start, 1, resp.len - start, stdout) !=
	    resp.len - start)
		rc = EXIT_DAEMON;
	ctl_buf_free(&resp);
	if (fflush(stdout) != 0) {
		fprintf(stderr, "aoexctl: standard output: %s\n", strerror(errno));
		return EXIT_DAEMON;
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "+s:hV", opts, NULL)) != -1) {
		switch (c) {
		case 's': sock_path = optarg; break;
		case 'h': fputs(usage_text, stdout); return EXIT_OK;
		case 'V': printf("aoexctl %s\n", PACKAGE_VERSION); return EXIT_OK;
		default: fprintf(stderr, "Try 'aoexctl --help' for more information.\n"); return EXIT_USAGE;
		}
	}
	if (optind == argc)
		return usage_error("no command (status, stats, monitor, reload, show-config, "
				   "show-macmask, show-reserve, clear-stats, clear-macmask, clear-reserve, "
				   "freeze, thaw)");
	for (int i = optind; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			fputs(usage_text, stdout);
			return EXIT_OK;
		}
	if (strcmp(argv[optind], "monitor") == 0)
		return cmd_monitor(argc - optind, argv + optind);
	if (strcmp(argv[optind], "freeze") == 0)
		return cmd_freeze(argc - optind, argv + optind);
	return cmd_plain(argc - optind, argv + optind);
}
