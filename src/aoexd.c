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
#include "device.h"
#include "frame.h"
#include "log.h"
#include "loop.h"
#include "net.h"
#include "options.h"
#include "rawsock.h"
#include "util.h"
#include "wire.h"

#define RX_BUDGET 256	/* frames per interface per wakeup, for fairness */

struct daemon {
	struct loop loop;
	struct iface ifaces[OPT_MAX_IFACES];
	struct loop_watch if_watch[OPT_MAX_IFACES];
	unsigned n_ifaces;
	struct device dev;
	struct engine *eng;
	struct loop_watch sig_watch;
};

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

static void on_frame(struct iface *ifc, const uint8_t *frame, size_t len, void *arg)
{
	struct daemon *dm = arg;

	device_frame(&dm->dev, ifc, frame, len);
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

	device_kick(&dm->dev);
	engine_kick(dm->eng);
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		iface_tx_flush(&dm->ifaces[i]);
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
			log_notice("SIGHUP: writing back buffered data (no configuration file to reload)");
			cache_writeback_all(&dm->dev.cache);
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

/* Is another target already answering as shelf.slot on ifname?  Ask with a
 * Query Config read and listen briefly for a reply from another MAC. */
static void probe_busy(const struct options *o, const char *ifname)
{
	struct rawsock rs;
	char err[200], macs[MAC_STRLEN];
	uint8_t req[AOE_MIN_FRAME] = {0}, buf[9216];
	uint64_t deadline;

	if (rawsock_open(&rs, ifname, err, sizeof err) < 0)
		die("%s", err);
	memset(req, 0xff, 6);
	memcpy(req + AOE_OFF_SRC, rs.mac, 6);
	put_be16(req + AOE_OFF_TYPE, AOE_ETHERTYPE);
	req[AOE_OFF_VERFLAGS] = AOE_VERSION << 4;
	put_be16(req + AOE_OFF_MAJOR, (uint16_t)o->shelf);
	req[AOE_OFF_MINOR] = (uint8_t)o->slot;
	req[AOE_OFF_CMD] = AOE_CMD_CONFIG;
	put_be32(req + AOE_OFF_TAG, 0x70726f62);	/* "prob" */
	if (rawsock_send(&rs, req, sizeof req) < 0)
		die("%s: cannot send: %s", ifname, strerror(errno));
	deadline = now_ns() + 50 * 1000000ULL;
	for (uint64_t now = now_ns(); now < deadline; now = now_ns()) {
		ssize_t n = rawsock_recv(&rs, buf, sizeof buf, (int)((deadline - now) / 1000000) + 1);
		struct aoe_hdr h;
		if (n <= 0 || !aoe_hdr_parse(buf, (size_t)n, &h))
			continue;
		if ((h.flags & AOE_FLAG_R) && h.shelf == o->shelf && h.slot == o->slot &&
		    memcmp(buf + AOE_OFF_SRC, rs.mac, 6) != 0)
			die("e%u.%u is already served on %s by %s; pick another shelf/slot",
			    o->shelf, o->slot, ifname, format_mac(buf + AOE_OFF_SRC, macs));
	}
	rawsock_close(&rs);
}

/* Another aoexd on this host with the same address on the same interface
 * cannot be seen on the wire (its replies leave through our own port), so
 * each daemon holds a lock file per interface and address. */
static void lock_address(const struct options *o, const char *ifname)
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
			 o->shelf, o->slot, (unsigned long long)ns.st_ino);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return;		/* no writable lock directory: the wire probe remains */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, pidbuf, sizeof pidbuf - 1, 0);
		pidbuf[n > 0 ? n : 0] = 0;
		pidbuf[strcspn(pidbuf, "\n")] = 0;
		die("e%u.%u is already served on %s by aoexd pid %s (%s)", o->shelf, o->slot,
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

	if (backing_open(&dm->dev.b, o->path, &bo, err, sizeof err) < 0)
		die("%s", err);
}

static void setup_device(struct daemon *dm, const struct options *o)
{
	struct device *d = &dm->dev;
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
		snprintf(d->t.ata.serial, sizeof d->t.ata.serial, "%u.%u:%s", o->shelf, o->slot, host);
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

static void setup_ifaces(struct daemon *dm, const struct options *o)
{
	char err[320], macs[MAC_STRLEN];

	for (unsigned i = 0; i < o->n_ifaces; i++) {
		struct iface *ifc = &dm->ifaces[i];
		if (iface_open(ifc, o->ifnames[i], &o->net, err, sizeof err) < 0)
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
		   "wb_read_hits=%llu wb_errors=%llu",
		   d->name, U(cs->ra_hits), U(cs->ra_misses), U(cs->ra_bypass), U(cs->ra_loads),
		   U(cs->ra_stale), U(cs->wb_buffered), U(cs->wb_flushes), U(cs->wb_flush_bytes),
		   U(cs->wb_read_hits), U(cs->wb_errors));
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
	log_device_stats(&dm->dev, dm->eng);
	for (unsigned i = 0; i < dm->n_ifaces; i++) {
		const struct iface *ifc = &dm->ifaces[i];
		log_notice("stats %s rx_frames=%llu tx_frames=%llu rx_bytes=%llu tx_bytes=%llu "
			   "wakeups=%llu ignored=%llu broadcasts=%llu tx_dropped=%llu",
			   ifc->name, U(ifc->st.rx_frames), U(ifc->st.tx_frames), U(ifc->st.rx_bytes),
			   U(ifc->st.tx_bytes), U(ifc->st.wakeups), U(ifc->st.ignored),
			   U(ifc->st.broadcasts), U(ifc->st.tx_dropped));
	}
}

int main(int argc, char **argv)
{
	static struct daemon dm;	/* large: keep it off the stack */
	struct options o;
	int rc;

	options_parse(&o, argc, argv);
	log_init("aoexd", o.log_level, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);

	if (loop_init(&dm.loop) < 0)
		die("epoll: %s", strerror(errno));
	dm.loop.end_of_batch = end_of_batch;
	dm.loop.ctx = &dm;
	open_backing(&dm, &o);
	for (unsigned i = 0; i < o.n_ifaces; i++) {
		lock_address(&o, o.ifnames[i]);
		if (o.probe)
			probe_busy(&o, o.ifnames[i]);
	}
	setup_ifaces(&dm, &o);
	setup_device(&dm, &o);
	if (setup_signals(&dm) < 0)
		die("signals: %s", strerror(errno));

	log_notice("serving %s: %s, %llu sectors, %s, %s (alignment %u), bufcnt %u, "
		   "engine %s, queue depth %u, %s, read-ahead %zuK x %u", dm.dev.name,
		   dm.dev.b.path, (unsigned long long)dm.dev.t.ata.sectors,
		   o.readonly ? "read-only" : "read-write",
		   dm.dev.b.direct ? "O_DIRECT" : "buffered", dm.dev.b.lbs, o.bufcnt,
		   engine_name(dm.eng), o.queue_depth,
		   o.cache.write_back ? "write-back" : "write-through",
		   o.cache.ra_chunk / 1024, o.cache.ra_streams);
	for (unsigned i = 0; i < dm.n_ifaces; i++)
		device_advertise(&dm.dev, &dm.ifaces[i]);

	rc = loop_run(&dm.loop);
	if (rc < 0)
		log_err("event loop: %s", strerror(-rc));

	/* make what was acknowledged durable before saying goodbye */
	end_of_batch(&dm);
	if (device_sync(&dm.dev) < 0)
		rc = -EIO;
	end_of_batch(&dm);	/* replies of what completed meanwhile */
	log_stats(&dm);
	for (unsigned i = 0; i < dm.n_ifaces; i++)
		iface_close(&dm.ifaces[i]);
	device_free(&dm.dev);
	backing_close(&dm.dev.b);
	engine_free(dm.eng);
	loop_close(&dm.loop);
	return rc < 0 ? 1 : 0;
}
