/*
 * aoexd.c - the ATA over Ethernet target daemon: start-up, the frame path
 * from each interface to the devices, signals, shutdown.
 *
 * One process, one thread, one epoll loop (loop.c).  A frame travels:
 *   interface RX ring (net.c/ring.c) -> iface_readable() -> device_frame()
 *   -> proto (target.c) -> engine (engine_*.c) -> reply in the TX ring
 *   -> one flush per interface at the end of the wakeup (end_of_batch()).
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
			log_notice("SIGHUP: nothing to reload without a configuration file");
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

static void setup_device(struct daemon *dm, const struct options *o)
{
	struct device *d = &dm->dev;
	struct backing_opts bo = {
		.readonly = o->readonly, .direct = o->direct, .sync = o->sync,
		.offset = o->offset_sectors * 512, .length = o->length_sectors * 512,
	};
	char err[320], host[64] = "";

	if (backing_open(&d->b, o->path, &bo, err, sizeof err) < 0)
		die("%s", err);
	d->eng = engine_sync_new();
	if (!d->eng)
		die("out of memory");
	snprintf(d->name, sizeof d->name, "e%u.%u", o->shelf, o->slot);
	d->t.shelf = (uint16_t)o->shelf;
	d->t.slot = (uint8_t)o->slot;
	d->t.bufcnt = (uint16_t)o->bufcnt;
	d->t.mask = o->mask;
	d->t.ata.sectors = d->b.size / 512;
	d->t.ata.readonly = o->readonly;
	gethostname(host, sizeof host - 1);
	snprintf(d->t.ata.model, sizeof d->t.ata.model, "%s", o->model);
	if (o->serial)
		snprintf(d->t.ata.serial, sizeof d->t.ata.serial, "%s", o->serial);
	else
		snprintf(d->t.ata.serial, sizeof d->t.ata.serial, "%u.%u:%s", o->shelf, o->slot, host);
	snprintf(d->t.ata.firmware, sizeof d->t.ata.firmware, "%s", PACKAGE_VERSION);
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

static void log_stats(const struct daemon *dm)
{
	const struct device *d = &dm->dev;
	const struct aoe_target_stats *ts = &d->t.st;

	log_notice("stats %s reads=%llu writes=%llu read_bytes=%llu write_bytes=%llu flushes=%llu "
		   "other=%llu io_errors=%llu ata_errors=%llu aoe_errors=%llu reserved_refused=%llu "
		   "bad_version=%llu unknown_cmd=%llu drop_short=%llu drop_masked=%llu "
		   "drop_not_addressed=%llu drop_response=%llu drop_config=%llu tx_full=%llu",
		   d->name, (unsigned long long)d->st.reads, (unsigned long long)d->st.writes,
		   (unsigned long long)d->st.read_bytes, (unsigned long long)d->st.write_bytes,
		   (unsigned long long)d->st.flushes, (unsigned long long)d->st.other,
		   (unsigned long long)d->st.io_errors, (unsigned long long)ts->ata_errors,
		   (unsigned long long)ts->aoe_errors, (unsigned long long)ts->reserved_refused,
		   (unsigned long long)ts->bad_version, (unsigned long long)ts->unknown_cmd,
		   (unsigned long long)ts->drops[AOE_DROP_SHORT],
		   (unsigned long long)ts->drops[AOE_DROP_MASKED],
		   (unsigned long long)ts->drops[AOE_DROP_NOT_ADDRESSED],
		   (unsigned long long)ts->drops[AOE_DROP_RESPONSE],
		   (unsigned long long)(ts->drops[AOE_DROP_QC_NOMATCH] + ts->drops[AOE_DROP_QC_BADLEN]),
		   (unsigned long long)d->st.tx_full);
	for (unsigned i = 0; i < dm->n_ifaces; i++) {
		const struct iface *ifc = &dm->ifaces[i];
		log_notice("stats %s rx_frames=%llu tx_frames=%llu rx_bytes=%llu tx_bytes=%llu "
			   "wakeups=%llu ignored=%llu broadcasts=%llu tx_dropped=%llu",
			   ifc->name, (unsigned long long)ifc->st.rx_frames,
			   (unsigned long long)ifc->st.tx_frames, (unsigned long long)ifc->st.rx_bytes,
			   (unsigned long long)ifc->st.tx_bytes, (unsigned long long)ifc->st.wakeups,
			   (unsigned long long)ifc->st.ignored, (unsigned long long)ifc->st.broadcasts,
			   (unsigned long long)ifc->st.tx_dropped);
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
	setup_device(&dm, &o);
	for (unsigned i = 0; i < o.n_ifaces; i++) {
		lock_address(&o, o.ifnames[i]);
		if (o.probe)
			probe_busy(&o, o.ifnames[i]);
	}
	setup_ifaces(&dm, &o);
	if (setup_signals(&dm) < 0)
		die("signals: %s", strerror(errno));

	log_notice("serving %s: %s, %llu sectors, %s%s, bufcnt %u, engine %s", dm.dev.name,
		   dm.dev.b.path, (unsigned long long)dm.dev.t.ata.sectors,
		   o.readonly ? "read-only" : "read-write",
		   dm.dev.b.direct ? ", O_DIRECT" : "", o.bufcnt, engine_name(dm.dev.eng));
	for (unsigned i = 0; i < dm.n_ifaces; i++)
		device_advertise(&dm.dev, &dm.ifaces[i]);

	rc = loop_run(&dm.loop);
	if (rc < 0)
		log_err("event loop: %s", strerror(-rc));

	/* make what was acknowledged durable before saying goodbye */
	end_of_batch(&dm);
	device_flush(&dm.dev);
	log_stats(&dm);
	for (unsigned i = 0; i < dm.n_ifaces; i++)
		iface_close(&dm.ifaces[i]);
	backing_close(&dm.dev.b);
	engine_free(dm.dev.eng);
	loop_close(&dm.loop);
	return rc < 0 ? 1 : 0;
}
