/*
 * aoexd.c - the ATA over Ethernet target daemon: start-up, the frame path
 * from each interface to the devices, signals, shutdown.
 *
 * One process, one thread, one epoll loop (loop.c).  A frame travels:
 *   interface RX ring (net.c/ring.c) -> iface_readable() -> device_frame()
 *   -> proto (target.c) -> request (device.c) -> cache.c -> queue.c
 *   -> one io_submit at the end of the wakeup (end_of_batch())
 *   -> AIO eventfd (engine_aio.c) -> reply into the TX ring
 *   -> one flush per interface at the end of that wakeup.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <net/if.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "aoe.h"
#include "conf.h"
#include "daemon.h"
#include "device.h"
#include "frame.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "options.h"
#include "rawsock.h"
#include "util.h"
#include "wire.h"

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "aoexd: error: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* A frame counts against a device's ACL only when it is a request
 * addressed to that device (its own or a broadcast shelf/slot). */
static bool acl_refuses(struct served *s, const uint8_t *frame, size_t len)
{
	struct aoe_hdr h;

	if (len < AOE_OFF_TYPE || conf_mac_allowed(&s->conf, frame + AOE_OFF_SRC))
		return false;
	if (aoe_hdr_parse(frame, len, &h) && !(h.flags & AOE_FLAG_R) &&
	    aoe_addressed(h.shelf, h.slot, s->dev.t.shelf, s->dev.t.slot))
		s->acl_denied++;
	return true;
}

/* Every device served on the interface sees the frame: each decides
 * whether it is addressed (a broadcast shelf/slot reaches them all). */
static void on_frame(struct iface *ifc, const uint8_t *frame, size_t len, void *arg)
{
	struct daemon *dm = arg;
	uint32_t bit = 1u << (ifc - dm->ifaces);

	for (unsigned k = 0; k < dm->n_devs; k++) {
		struct served *s = &dm->devs[k];
		if (!(s->iface_mask & bit) || (s->acl && acl_refuses(s, frame, len)))
			continue;
		device_frame(&s->dev, ifc, frame, len);
	}
}

static void iface_readable(struct loop_watch *w, uint32_t events)
{
	struct daemon *dm = w->ctx;
	struct iface *ifc = &dm->ifaces[w - dm->if_watch];

	iface_rx(ifc, on_frame, dm, RX_BUDGET);
}

static void end_of_batch(void *ctx)
{
	struct daemon *dm = ctx;

	/* The sync engine and null: stores complete inside engine_kick(),
	 * which frees queue slots and request buffers at once: go round
	 * again until nothing new is queued, or nobody would wake us for
	 * what still waits.  With AIO on a file this runs once. */
	for (unsigned round = 0; round < 64; round++) {
		for (unsigned k = 0; k < dm->n_devs; k++)
			device_kick(&dm->devs[k].dev);
		if (!engine_queued(dm->eng))
			break;
		engine_kick(dm->eng);
	}
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		iface_tx_flush(&dm->ifaces[i]);
}

static void log_conf_warnings(const struct aoexd_conf *c)
{
	for (unsigned i = 0; i < c->n_warnings; i++)
		log_warn("%s", c->warnings[i]);
}

/* SIGHUP with -c: check the file again.  Devices and interfaces are not
 * changed on the fly yet: only the log level is applied. */
static void reload(struct daemon *dm)
{
	struct aoexd_conf *c = malloc(sizeof *c);
	char err[CONF_MSG_MAX];

	if (!c) {
		log_err("SIGHUP: out of memory reading %s; keeping the running configuration",
			dm->config_file);
		return;
	}
	if (conf_load(dm->config_file, c, err, sizeof err) < 0) {
		log_err("SIGHUP: %s; keeping the running configuration", err);
		free(c);
		return;
	}
	log_conf_warnings(c);
	if (!dm->log_level_set)
		log_set_level(c->log_level);
	log_notice("SIGHUP: configuration reloaded from %s; changes other than log-level "
		   "need a restart (hot reload of devices and interfaces is not implemented yet)",
		   dm->config_file);
	free(dm->conf);
	dm->conf = c;
}

static void signal_readable(struct loop_watch *w, uint32_t events)
{
	struct daemon *dm = w->ctx;
	struct signalfd_siginfo si;

	while (read(w->fd, &si, sizeof si) == sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_notice("%s received: finishing and exiting", strsignal((int)si.ssi_signo));
			dm->loop.stop = true;
			break;
		case SIGHUP:
			if (dm->config_file)
				reload(dm);
			else
				log_notice("SIGHUP: writing back buffered data (no configuration file to reload)");
			for (unsigned k = 0; k < dm->n_devs; k++)
				cache_writeback_all(&dm->devs[k].dev.cache);
			break;
		}
	}
}

static int setup_signals(struct daemon *dm)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	dm->sig_watch.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (dm->sig_watch.fd < 0)
		return -errno;
	dm->sig_watch.fn = signal_readable;
	dm->sig_watch.ctx = dm;
	return loop_add(&dm->loop, &dm->sig_watch, EPOLLIN);
}

/* Is another target already answering as one of our n shelf.slot addresses
 * on ifname?  Ask each with a Query Config read and listen briefly (once for
 * all of them) for a reply from another MAC. */
static void probe_busy(const uint16_t *shelf, const uint8_t *slot, unsigned n, const char *ifname)
{
	struct rawsock rs;
	char err[200], macs[MAC_STRLEN];
	uint8_t req[AOE_MIN_FRAME] = {0}, buf[9216];
	uint64_t deadline;

	if (!n)
		return;
	if (rawsock_open(&rs, ifname, err, sizeof err) < 0)
		die("%s", err);
	memset(req, 0xff, 6);
	memcpy(req + AOE_OFF_SRC, rs.mac, 6);
	put_be16(req + AOE_OFF_TYPE, AOE_ETHERTYPE);
	req[AOE_OFF_VERFLAGS] = AOE_VERSION << 4;
	req[AOE_OFF_CMD] = AOE_CMD_CONFIG;
	put_be32(req + AOE_OFF_TAG, 0x70726f62);	/* "prob" */
	for (unsigned k = 0; k < n; k++) {
		put_be16(req + AOE_OFF_MAJOR, shelf[k]);
		req[AOE_OFF_MINOR] = slot[k];
		if (rawsock_send(&rs, req, sizeof req) < 0)
			die("%s: cannot send: %s", ifname, strerror(errno));
	}
	deadline = now_ns() + 50 * 1000000ULL;
	for (uint64_t now = now_ns(); now < deadline; now = now_ns()) {
		ssize_t r = rawsock_recv(&rs, buf, sizeof buf, (int)((deadline - now) / 1000000) + 1);
		struct aoe_hdr h;
		if (r <= 0 || !aoe_hdr_parse(buf, (size_t)r, &h))
			continue;
		if (!(h.flags & AOE_FLAG_R) || memcmp(buf + AOE_OFF_SRC, rs.mac, 6) == 0)
			continue;
		for (unsigned k = 0; k < n; k++)
			if (h.shelf == shelf[k] && h.slot == slot[k])
				die("e%u.%u is already served on %s by %s; pick another shelf/slot",
				    shelf[k], slot[k], ifname, format_mac(buf + AOE_OFF_SRC, macs));
	}
	rawsock_close(&rs);
}

/* Another aoexd on this host with the same address on the same interface
 * cannot be seen on the wire (its replies leave through our own port), so
 * each daemon holds a lock file per interface and address. */
static void lock_address(unsigned shelf, unsigned slot, const char *ifname)
{
	const char *dirs[] = { "/run/aoexd", "/tmp" };
	char path[160], pidbuf[32] = "";
	struct stat ns;
	int fd = -1;

	/* interface names repeat across network namespaces: key on both; an
	 * interface that does not exist gets no lock (setup_ifaces reports it) */
	if (iface_info(ifname, NULL, NULL, NULL) < 0)
		return;
	if (stat("/proc/self/ns/net", &ns) < 0)
		ns.st_ino = 0;
	for (size_t i = 0; i < 2 && fd < 0; i++) {
		mkdir(dirs[i], 0755);
		snprintf(path, sizeof path, "%s/%s-e%u.%u-ns%llu.lock", dirs[i], ifname,
			 shelf, slot, (unsigned long long)ns.st_ino);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return;		/* no writable lock directory: the wire probe remains */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, pidbuf, sizeof pidbuf - 1, 0);
		pidbuf[n > 0 ? n : 0] = 0;
		pidbuf[strcspn(pidbuf, "\n")] = 0;
		die("e%u.%u is already served on %s by aoexd pid %s (%s)", shelf, slot,
		    ifname, pidbuf[0] ? pidbuf : "?", path);
	}
	if (ftruncate(fd, 0) == 0) {
		int n = snprintf(pidbuf, sizeof pidbuf, "%ld\n", (long)getpid());
		if (pwrite(fd, pidbuf, (size_t)n, 0) < 0)
			log_debug("%s: %s", path, strerror(errno));
	}
	/* the descriptor stays open (and locked) until the process exits */
}

/* Open the backing store first: a missing file is the likeliest mistake
 * and should be the first thing reported. */
static void open_backing(struct daemon *dm, const struct options *o)
{
	struct backing_opts bo = {
		.readonly = o->readonly, .direct = o->direct, .sync = o->sync,
		.offset = o->offset_sectors * 512, .length = o->length_sectors * 512,
	};
	char err[320];

	if (backing_open(&dm->devs[0].dev.b, o->path, &bo, err, sizeof err) < 0)
		die("%s", err);
}

/* "SHELF.SLOT:hostname", cut to ATA's 20-character serial field (copied by
 * hand: gcc -O1 -Werror refuses a snprintf that may cut a %s) */
static void default_serial(char *buf, size_t n, unsigned shelf, unsigned slot, const char *host)
{
	int w = snprintf(buf, n, "%u.%u:", shelf, slot);
	size_t hl;

	if (w < 0 || (size_t)w >= n)
		return;
	hl = strnlen(host, n - 1 - (size_t)w);
	memcpy(buf + w, host, hl);
	buf[(size_t)w + hl] = '\0';
}

static void setup_device(struct daemon *dm, const struct options *o)
{
	struct device *d = &dm->devs[0].dev;
	struct device_conf dc = { .queue_depth = o->queue_depth, .cache = o->cache };
	char err[320], host[64] = "";

	snprintf(d->name, sizeof d->name, "e%u.%u", o->shelf, o->slot);
	d->t.shelf = (uint16_t)o->shelf;
	d->t.slot = (uint8_t)o->slot;
	d->t.bufcnt = (uint16_t)o->bufcnt;
	d->t.mask = o->mask;
	d->t.ata.sectors = d->b.size / 512;
	d->t.ata.readonly = o->readonly;
	d->t.ata.wcache = o->cache.write_back;
	gethostname(host, sizeof host - 1);
	snprintf(d->t.ata.model, sizeof d->t.ata.model, "%s", o->model);
	if (o->serial)
		snprintf(d->t.ata.serial, sizeof d->t.ata.serial, "%s", o->serial);
	else
		default_serial(d->t.ata.serial, sizeof d->t.ata.serial, o->shelf, o->slot, host);
	snprintf(d->t.ata.firmware, sizeof d->t.ata.firmware, "%s", PACKAGE_VERSION);

	dm->eng = engine_new(&dm->loop, o->engine, o->queue_depth, err, sizeof err);
	if (!dm->eng)
		die("%s", err);
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		if (dm->ifaces[i].mtu > dc.mtu_max)
			dc.mtu_max = dm->ifaces[i].mtu;
	if (device_init(d, dm->eng, &dm->loop, &dc, err, sizeof err) < 0)
		die("%s", err);
}

/* Open and watch one more interface. */
static void add_iface(struct daemon *dm, const char *name, const struct net_opts *no)
{
	char err[320], macs[MAC_STRLEN];
	unsigned i = dm->n_ifaces;
	struct iface *ifc = &dm->ifaces[i];

	if (iface_open(ifc, name, no, err, sizeof err) < 0)
		die("%s", err);
	if (aoe_max_sectors(ifc->mtu) < 1)
		die("%s: MTU %u is too small for AoE (at least 548)", ifc->name, ifc->mtu);
	dm->if_watch[i].fd = ifc->fd;
	dm->if_watch[i].fn = iface_readable;
	dm->if_watch[i].ctx = dm;
	if (loop_add(&dm->loop, &dm->if_watch[i], EPOLLIN) < 0)
		die("epoll: %s", strerror(errno));
	dm->n_ifaces++;
	log_info("%s: mac %s, mtu %u, %u sectors per frame, %s", ifc->name,
		 format_mac(ifc->mac, macs), ifc->mtu, aoe_max_sectors(ifc->mtu),
		 iface_path_name(ifc));
}

static void setup_ifaces(struct daemon *dm, const struct options *o)
{
	for (unsigned i = 0; i < o->n_ifaces; i++)
		add_iface(dm, o->ifnames[i], &o->net);
}

#define U(x) ((unsigned long long)(x))

static void log_device_stats(const struct device *d, const struct engine *e)
{
	const struct aoe_target_stats *ts = &d->t.st;
	const struct dq_stats *qs = &d->q.st;
	const struct cache_stats *cs = &d->cache.st;
	const struct engine_stats *es = engine_stats(e);

	log_notice("stats %s reads=%llu writes=%llu read_bytes=%llu write_bytes=%llu flushes=%llu "
		   "other=%llu io_errors=%llu ata_errors=%llu aoe_errors=%llu reserved_refused=%llu "
		   "bad_version=%llu unknown_cmd=%llu drop_short=%llu drop_masked=%llu "
		   "drop_not_addressed=%llu drop_response=%llu drop_config=%llu tx_full=%llu "
		   "queue_full=%llu avg_service_us=%llu",
		   d->name, U(d->st.reads), U(d->st.writes), U(d->st.read_bytes),
		   U(d->st.write_bytes), U(d->st.flushes), U(d->st.other), U(d->st.io_errors),
		   U(ts->ata_errors), U(ts->aoe_errors), U(ts->reserved_refused),
		   U(ts->bad_version), U(ts->unknown_cmd), U(ts->drops[AOE_DROP_SHORT]),
		   U(ts->drops[AOE_DROP_MASKED]), U(ts->drops[AOE_DROP_NOT_ADDRESSED]),
		   U(ts->drops[AOE_DROP_RESPONSE]),
		   U(ts->drops[AOE_DROP_QC_NOMATCH] + ts->drops[AOE_DROP_QC_BADLEN]),
		   U(d->st.tx_full), U(d->st.queue_full),
		   U(d->st.serviced ? d->st.service_ns / d->st.serviced / 1000 : 0));
	log_notice("stats %s queue requests=%llu ios=%llu merged=%llu bounced=%llu rmw=%llu "
		   "overlap_waits=%llu stalls=%llu waiting_max=%llu submit_calls=%llu "
		   "submitted=%llu eagain=%llu reap_calls=%llu",
		   d->name, U(qs->requests), U(qs->ios), U(qs->merged), U(qs->bounced),
		   U(qs->rmw), U(qs->overlap_waits), U(qs->stalls), U(qs->waiting_max),
		   U(es->submit_calls), U(es->submitted), U(es->eagain), U(es->reap_calls));
	log_notice("stats %s cache ra_hits=%llu ra_misses=%llu ra_bypass=%llu ra_loads=%llu "
		   "ra_stale=%llu wb_buffered=%llu wb_flushes=%llu wb_flush_bytes=%llu "
		   "wb_read_hits=%llu wb_errors=%llu dirty_bytes=%llu",
		   d->name, U(cs->ra_hits), U(cs->ra_misses), U(cs->ra_bypass), U(cs->ra_loads),
		   U(cs->ra_stale), U(cs->wb_buffered), U(cs->wb_flushes), U(cs->wb_flush_bytes),
		   U(cs->wb_read_hits), U(cs->wb_errors), U(cs->dirty_bytes));
	log_notice("stats %s ext ext_requests=%llu dup_writes=%llu dup_in_flight=%llu sub_reads=%llu "
		   "sub_ignored=%llu congestion_probes=%llu congestion_delays=%llu "
		   "peer_evictions=%llu window_resets=%llu tag_random_skipped=%llu bad_tables=%llu "
		   "coalesce_waits=%llu",
		   d->name, U(ts->ext_requests), U(ts->ext_dup_writes), U(d->st.dup_in_flight),
		   U(ts->ext_sub_reads), U(ts->ext_sub_ignored), U(ts->ext_congestion_probes),
		   U(ts->ext_congestion_delays), U(ts->ext_peer_evictions),
		   U(ts->ext_window_resets), U(d->st.tag_random_skipped),
		   U(ts->drops[AOE_DROP_EXT_BADTABLE]), U(d->st.coalesce_waits));
}

static void log_stats(const struct daemon *dm)
{
	for (unsigned k = 0; k < dm->n_devs; k++) {
		const struct served *s = &dm->devs[k];
		log_device_stats(&s->dev, dm->eng);
		if (s->acl)
			log_notice("stats %s acl acl_denied=%llu", s->dev.name, U(s->acl_denied));
	}
	for (unsigned i = 0; i < dm->n_ifaces; i++) {
		const struct iface *ifc = &dm->ifaces[i];
		log_notice("stats %s rx_frames=%llu tx_frames=%llu rx_bytes=%llu tx_bytes=%llu "
			   "wakeups=%llu ignored=%llu broadcasts=%llu tx_dropped=%llu",
			   ifc->name, U(ifc->st.rx_frames), U(ifc->st.tx_frames), U(ifc->st.rx_bytes),
			   U(ifc->st.tx_bytes), U(ifc->st.wakeups), U(ifc->st.ignored),
			   U(ifc->st.broadcasts), U(ifc->st.tx_dropped));
	}
}

/* ---------------------------------------------------------- the command line
 * vblade's form: one device, its options from argv. */
static void start_single(struct daemon *dm, const struct options *o)
{
	struct served *s = &dm->devs[0];
	uint16_t shelf = (uint16_t)o->shelf;
	uint8_t slot = (uint8_t)o->slot;

	dm->n_devs = 1;
	s->iface_mask = ~0u;
	open_backing(dm, o);
	for (unsigned i = 0; i < o->n_ifaces; i++) {
		lock_address(o->shelf, o->slot, o->ifnames[i]);
		if (o->probe)
			probe_busy(&shelf, &slot, 1, o->ifnames[i]);
	}
	setup_ifaces(dm, o);
	setup_device(dm, o);
	if (setup_signals(dm) < 0)
		die("signals: %s", strerror(errno));

	log_notice("serving %s: %s, %llu sectors, %s, %s (alignment %u), bufcnt %u, "
		   "engine %s, queue depth %u, %s, read-ahead %zuK x %u", s->dev.name,
		   s->dev.b.path, (unsigned long long)s->dev.t.ata.sectors,
		   o->readonly ? "read-only" : "read-write",
		   s->dev.b.direct ? "O_DIRECT" : "buffered", s->dev.b.lbs, o->bufcnt,
		   engine_name(dm->eng), o->queue_depth,
		   o->cache.write_back ? "write-back" : "write-through",
		   o->cache.ra_chunk / 1024, o->cache.ra_streams);
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		device_advertise(&s->dev, &dm->ifaces[i]);
}

/* ------------------------------------------------------------- -c FILE */

static bool is_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

/* /sys/class/net/NAME/FILE as a number (type is decimal, flags hex) */
static long sysfs_net_long(const char *name, const char *file)
{
	char path[96], buf[32];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof path, "/sys/class/net/%s/%s", name, file);
	f = fopen(path, "re");
	if (!f)
		return -1;
	if (fgets(buf, sizeof buf, f))
		v = strtol(buf, NULL, 0);
	fclose(f);
	return v;
}

/* What an empty interfaces list serves: up, Ethernet, not loopback. */
static bool iface_auto_ok(const char *name)
{
	long flags = sysfs_net_long(name, "flags");

	return sysfs_net_long(name, "type") == 1 /* ARPHRD_ETHER */ && flags >= 0 &&
	       (flags & IFF_UP) && !(flags & IFF_LOOPBACK);
}

/* The interfaces to serve, in if_nameindex() order: every name the global
 * list names (which must exist), and the interfaces its patterns match (or,
 * when it is empty, every interface that is up and Ethernet, loopback
 * excepted).  Names go to names[], their count is returned. */
static unsigned pick_ifaces(const struct aoexd_conf *c, const char *file,
			    char names[][IF_NAMESIZE])
{
	struct if_nameindex *all = if_nameindex(), *p;
	unsigned n = 0;

	if (!all)
		die("cannot list the network interfaces: %s", strerror(errno));
	for (unsigned k = 0; k < c->n_interfaces; k++) {
		const char *pat = c->interfaces[k];
		bool found = false;
		for (p = all; p->if_name && !found; p++)
			found = is_glob(pat) ? fnmatch(pat, p->if_name, 0) == 0
					     : strcmp(pat, p->if_name) == 0;
		if (!found && !is_glob(pat))
			die("%s: interface %s (in interfaces) does not exist", file, pat);
		if (!found)
			log_warn("%s: no interface matches \"%s\" (in interfaces)", file, pat);
	}
	for (p = all; p->if_name; p++) {
		bool named = false;
		for (unsigned k = 0; k < c->n_interfaces && !named; k++)
			named = strcmp(c->interfaces[k], p->if_name) == 0;
		if (!named && !(conf_iface_served(c, p->if_name) && iface_auto_ok(p->if_name)))
			continue;
		if (n == DM_MAX_IFACES)
			die("more than %d interfaces to serve: list them in interfaces", DM_MAX_IFACES);
		snprintf(names[n++], IF_NAMESIZE, "%s", p->if_name);
	}
	if_freenameindex(all);
	return n;
}

static void write_pid_file(struct daemon *dm, const char *path)
{
	FILE *f;

	if (!path[0])
		return;
	f = fopen(path, "we");
	if (!f)
		die("pid-file %s: %s", path, strerror(errno));
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0)
		die("pid-file %s: %s", path, strerror(errno));
	snprintf(dm->pid_file, sizeof dm->pid_file, "%s", path);
}

static void setup_served(struct daemon *dm, struct served *s, const char *host)
{
	const struct conf_device *cd = &s->conf;
	const struct conf_tuning *tu = &cd->tune;
	struct device *d = &s->dev;
	struct device_conf dc = {
		.queue_depth = tu->queue_depth > 16 ? tu->queue_depth : 16,
		.cache = {
			.ra_chunk = (size_t)tu->read_ahead,
			.ra_streams = tu->read_ahead_streams,
			.write_back = tu->write_policy == CONF_WRITE_BACK,
			.wb_chunk = tu->write_behind ? (size_t)tu->write_behind : 512 * 1024,
			.wb_max_dirty = (size_t)tu->write_back_max_dirty,
			.wb_max_age_ms = tu->write_back_max_age_ms,
		},
	};
	char err[320];

	d->t.bufcnt = (uint16_t)tu->queue_depth;
	d->t.ata.sectors = d->b.size / 512;
	d->t.ata.readonly = cd->read_only;
	d->t.ata.wcache = dc.cache.write_back;
	snprintf(d->t.ata.model, sizeof d->t.ata.model, "%s", cd->model);
	if (cd->serial[0])
		snprintf(d->t.ata.serial, sizeof d->t.ata.serial, "%s", cd->serial);
	else
		default_serial(d->t.ata.serial, sizeof d->t.ata.serial, cd->shelf, cd->slot, host);
	snprintf(d->t.ata.firmware, sizeof d->t.ata.firmware, "%s", PACKAGE_VERSION);
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		if ((s->iface_mask & (1u << i)) && dm->ifaces[i].mtu > dc.mtu_max)
			dc.mtu_max = dm->ifaces[i].mtu;
	if (tu->merge_delay_us)
		log_warn("%s (%s): merge-delay is not supported yet; ignored", d->name, cd->name);
	if (device_init(d, dm->eng, &dm->loop, &dc, err, sizeof err) < 0)
		die("%s", err);
}

/* The start-up advertisement: to everyone when broadcast, else to each
 * accepted MAC (none when the accept list is empty). */
static void advertise_served(struct served *s, struct iface *ifc)
{
	if (s->conf.broadcast) {
		device_advertise(&s->dev, ifc);
		return;
	}
	for (unsigned m = 0; m < s->conf.accept.n; m++) {
		const uint8_t *mac = s->conf.accept.mac[m];
		uint8_t *out;
		if (!conf_mac_allowed(&s->conf, mac) || !(out = iface_tx_get(ifc)))
			continue;
		iface_tx_put(ifc, aoe_target_advert(&s->dev.t, ifc->mac, ifc->mtu, mac, out));
	}
	iface_tx_flush(ifc);
}

static void start_config(struct daemon *dm, const struct options *o)
{
	static char names[DM_MAX_IFACES][IF_NAMESIZE];
	const struct aoexd_conf *c = dm->conf;
	char host[64] = "", path[CONF_PATH_MAX], err[320];
	unsigned n_names, qd_total = 0;

	gethostname(host, sizeof host - 1);
	if (c->log_target == CONF_LOG_SYSLOG)
		log_init("aoexd", dm->log_level_set ? o->log_level : c->log_level, 1);
	n_names = pick_ifaces(c, dm->config_file, names);
	if (!n_names)
		log_warn("no interface to serve");
	if (!c->n_devices)
		log_warn("%s configures no device: nothing to serve", dm->config_file);

	/* the backing stores first: a missing file is the likeliest mistake */
	dm->n_devs = c->n_devices;
	for (unsigned k = 0; k < c->n_devices; k++) {
		struct served *s = &dm->devs[k];
		const struct conf_device *cd = &c->devices[k];
		struct backing_opts bo = {
			.readonly = cd->read_only, .direct = cd->tune.direct_io,
			.offset = cd->offset, .length = cd->length,
		};
		s->conf = *cd;
		s->acl = true;
		snprintf(s->dev.name, sizeof s->dev.name, "e%u.%u", cd->shelf, cd->slot);
		s->dev.t.shelf = (uint16_t)cd->shelf;
		s->dev.t.slot = (uint8_t)cd->slot;
		if (conf_device_resolve(cd, path, sizeof path) < 0)
			die("%s:%d: device %s: no %s %s: %s", dm->config_file, cd->line, cd->name,
			    cd->uuid[0] ? "uuid" : "label", cd->uuid[0] ? cd->uuid : cd->label,
			    strerror(errno));
		if (backing_open(&s->dev.b, path, &bo, err, sizeof err) < 0)
			die("%s:%d: device %s: %s", dm->config_file, cd->line, cd->name, err);
		for (unsigned i = 0; i < n_names; i++)
			if (conf_device_on_iface(cd, names[i]))
				s->iface_mask |= 1u << i;
		if (!s->iface_mask)
			log_warn("device %s (e%u.%u) is served on no interface", cd->name,
				 cd->shelf, cd->slot);
		qd_total += cd->tune.queue_depth > 16 ? cd->tune.queue_depth : 16;
	}

	/* one address check per interface, for all its devices at once */
	for (unsigned i = 0; i < n_names; i++) {
		uint16_t *shelves = calloc(c->n_devices + 1, sizeof *shelves);
		uint8_t *slots = calloc(c->n_devices + 1, sizeof *slots);
		unsigned n = 0;
		if (!shelves || !slots)
			die("out of memory");
		for (unsigned k = 0; k < dm->n_devs; k++) {
			struct served *s = &dm->devs[k];
			if (!(s->iface_mask & (1u << i)))
				continue;
			lock_address(s->conf.shelf, s->conf.slot, names[i]);
			shelves[n] = (uint16_t)s->conf.shelf;
			slots[n++] = (uint8_t)s->conf.slot;
		}
		if (o->probe)
			probe_busy(shelves, slots, n, names[i]);
		free(shelves);
		free(slots);
	}

	for (unsigned i = 0; i < n_names; i++) {
		struct conf_iface ci;
		struct net_opts no = o->net;
		conf_iface_get(c, names[i], &ci);
		no.mtu_max = ci.mtu;
		no.rx_frames = ci.rx_ring_frames;
		no.tx_frames = ci.tx_ring_frames;
		add_iface(dm, names[i], &no);
	}

	dm->eng = engine_new(&dm->loop, o->engine, qd_total ? qd_total : 16, err, sizeof err);
	if (!dm->eng)
		die("%s", err);
	for (unsigned k = 0; k < dm->n_devs; k++)
		setup_served(dm, &dm->devs[k], host);
	if (setup_signals(dm) < 0)
		die("signals: %s", strerror(errno));
	write_pid_file(dm, c->pid_file);

	for (unsigned k = 0; k < dm->n_devs; k++) {
		struct served *s = &dm->devs[k];
		const struct conf_tuning *tu = &s->conf.tune;
		char on[DM_MAX_IFACES * (IF_NAMESIZE + 1) + 1] = "";
		for (unsigned i = 0; i < dm->n_ifaces; i++) {
			if (!(s->iface_mask & (1u << i)))
				continue;
			if (on[0])
				strcat(on, ",");
			strcat(on, dm->ifaces[i].name);
		}
		log_notice("serving %s (%s) on %s: %s, %llu sectors, %s, %s (alignment %u), "
			   "bufcnt %u, engine %s, %s, read-ahead %lluK x %u, accept %u, deny %u",
			   s->dev.name, s->conf.name, on[0] ? on : "no interface", s->dev.b.path,
			   (unsigned long long)s->dev.t.ata.sectors,
			   s->conf.read_only ? "read-only" : "read-write",
			   s->dev.b.direct ? "O_DIRECT" : "buffered", s->dev.b.lbs,
			   s->dev.t.bufcnt, engine_name(dm->eng),
			   conf_write_policy_name(tu->write_policy),
			   (unsigned long long)(tu->read_ahead / 1024), tu->read_ahead_streams,
			   s->conf.accept.n, s->conf.deny.n);
	}
	for (unsigned k = 0; k < dm->n_devs; k++)
		for (unsigned i = 0; i < dm->n_ifaces; i++)
			if (dm->devs[k].iface_mask & (1u << i))
				advertise_served(&dm->devs[k], &dm->ifaces[i]);
}

/* -c FILE: load it (and with --check, print it and exit) */
static void load_config(struct daemon *dm, const struct options *o)
{
	char err[CONF_MSG_MAX];

	dm->config_file = o->config_file;
	dm->log_level_set = o->log_level_set;
	dm->conf = malloc(sizeof *dm->conf);
	if (!dm->conf)
		die("out of memory");
	if (conf_load(o->config_file, dm->conf, err, sizeof err) < 0)
		die("%s", err);
	for (unsigned i = 0; i < dm->conf->n_warnings; i++)
		fprintf(stderr, "aoexd: warning: %s\n", dm->conf->warnings[i]);
	if (o->check) {
		conf_print(dm->conf, stdout);
		if (fflush(stdout) != 0)
			die("standard output: %s", strerror(errno));
		exit(0);
	}
	if (!o->log_level_set)
		log_set_level(dm->conf->log_level);
}

int main(int argc, char **argv)
{
	static struct daemon dm;	/* large: keep it off the stack */
	struct options o;
	int rc;

	options_parse(&o, argc, argv);
	log_init("aoexd", o.log_level, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (o.config_file)
		load_config(&dm, &o);
	dm.devs = calloc(o.config_file ? (dm.conf->n_devices ? dm.conf->n_devices : 1) : 1,
			 sizeof *dm.devs);
	if (!dm.devs)
		die("out of memory");

	if (loop_init(&dm.loop) < 0)
		die("epoll: %s", strerror(errno));
	dm.loop.end_of_batch = end_of_batch;
	dm.loop.ctx = &dm;
	if (o.config_file)
		start_config(&dm, &o);
	else
		start_single(&dm, &o);

	rc = loop_run(&dm.loop);
	if (rc < 0)
		log_err("event loop: %s", strerror(-rc));

	/* make what was acknowledged durable before saying goodbye */
	end_of_batch(&dm);
	for (unsigned k = 0; k < dm.n_devs; k++)
		if (device_sync(&dm.devs[k].dev) < 0)
			rc = -EIO;
	end_of_batch(&dm);	/* replies of what completed meanwhile */
	log_stats(&dm);
	for (unsigned i = 0; i < dm.n_ifaces; i++)
		iface_close(&dm.ifaces[i]);
	for (unsigned k = 0; k < dm.n_devs; k++) {
		device_free(&dm.devs[k].dev);
		backing_close(&dm.devs[k].dev.b);
	}
	engine_free(dm.eng);
	loop_close(&dm.loop);
	if (dm.pid_file[0] && unlink(dm.pid_file) < 0)
		log_warn("pid-file %s: %s", dm.pid_file, strerror(errno));
	free(dm.devs);
	free(dm.conf);
	return rc < 0 ? 1 : 0;
}
