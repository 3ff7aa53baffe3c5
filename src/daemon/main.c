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
#include <malloc.h>
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

#include "proto/aoe.h"
#include "config/conf.h"
#include "control/control.h"
#include "daemon/daemon.h"
#include "sys/detach.h"
#include "io/device.h"
#include "proto/frame.h"
#include "common/log.h"
#include "event/loop.h"
#include "net/iface.h"
#include "sys/notify.h"
#include "config/options.h"
#include "sys/privs.h"
#include "common/rawsock.h"
#include "common/util.h"
#include "proto/wire.h"

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
void dm_on_frame(struct iface *ifc, const uint8_t *frame, size_t len, void *arg)
{
	struct daemon *dm = arg;
	uint32_t bit = 1u << (ifc - dm->ifaces);

	for (unsigned k = 0; k < dm->n_devs; k++) {
		struct served *s = &dm->devs[k];
		if (!(s->iface_mask & bit) || (s->acl && acl_refuses(s, frame, len)))
			continue;
		seen_frame(&s->seen, s->dev.t.shelf, s->dev.t.slot, frame, len);
		device_frame(&s->dev, ifc, frame, len);
	}
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
			if (!dm->devs[k].retired)
				device_kick(&dm->devs[k].dev);
		if (!engine_queued(dm->eng))
			break;
		engine_kick(dm->eng);
	}
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		iface_tx_flush(&dm->ifaces[i]);
	/* a request set the config string, mask or reservation: to disk,
	 * once per wakeup however many such requests came */
	for (unsigned k = 0; k < dm->n_devs; k++)
		if (dm->devs[k].dev.changed && !dm->devs[k].retired)
			served_persist(dm, &dm->devs[k]);
}

int dm_reload(struct daemon *dm)
{
	int rc = 0;

	notify_reloading();
	if (dm->config_file)
		rc = reload(dm);
	for (unsigned k = 0; k < dm->n_devs; k++)
		if (!dm->devs[k].retired)
			cache_writeback_all(&dm->devs[k].dev.cache);
	notify_ready();
	return rc;
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
			if (!dm->config_file)
				log_notice("SIGHUP: writing back buffered data (no configuration file to reload)");
			dm_reload(dm);
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
 * all of them) for a reply from another MAC.  In two halves, so that the
 * 50 ms of listening overlap the set-up of rings, engine and devices (and
 * the windows of several interfaces overlap each other): probe_send() asks,
 * probe_finish() listens out the rest of the window and reads what is
 * queued.  The probe goes out before our own sockets exist, so they never
 * see (and answer) it. */
struct probe {
	struct rawsock rs;
	uint16_t *shelf;
	uint8_t *slot;
	unsigned n;		/* 0: nothing sent, nothing to finish */
	uint64_t deadline;
};

static void probe_send(struct probe *p, const uint16_t *shelf, const uint8_t *slot, unsigned n,
		       const char *ifname)
{
	char err[200];
	uint8_t req[AOE_MIN_FRAME] = {0};

	memset(p, 0, sizeof *p);
	if (!n)
		return;
	p->shelf = malloc(n * sizeof *shelf);
	p->slot = malloc(n);
	if (!p->shelf || !p->slot)
		die("out of memory");
	memcpy(p->shelf, shelf, n * sizeof *shelf);
	memcpy(p->slot, slot, n);
	p->n = n;
	if (rawsock_open(&p->rs, ifname, err, sizeof err) < 0)
		die("%s", err);
	memset(req, 0xff, 6);
	memcpy(req + AOE_OFF_SRC, p->rs.mac, 6);
	put_be16(req + AOE_OFF_TYPE, AOE_ETHERTYPE);
	req[AOE_OFF_VERFLAGS] = AOE_VERSION << 4;
	req[AOE_OFF_CMD] = AOE_CMD_CONFIG;
	put_be32(req + AOE_OFF_TAG, 0x70726f62);	/* "prob" */
	for (unsigned k = 0; k < n; k++) {
		put_be16(req + AOE_OFF_MAJOR, shelf[k]);
		req[AOE_OFF_MINOR] = slot[k];
		if (rawsock_send(&p->rs, req, sizeof req) < 0)
			die("%s: cannot send: %s", ifname, strerror(errno));
	}
	p->deadline = now_ns() + 50 * 1000000ULL;
}

static void probe_finish(struct probe *p)
{
	uint8_t buf[9216];
	char macs[MAC_STRLEN];

	if (!p->n)
		return;
	for (;;) {
		uint64_t now = now_ns();
		int wait = now < p->deadline ? (int)((p->deadline - now) / 1000000) + 1 : 0;
		ssize_t r = rawsock_recv(&p->rs, buf, sizeof buf, wait);
		struct aoe_hdr h;
		if (r <= 0 && !wait)
			break;		/* window over, queue empty */
		if (r <= 0 || !aoe_hdr_parse(buf, (size_t)r, &h))
			continue;
		if (!(h.flags & AOE_FLAG_R) || memcmp(buf + AOE_OFF_SRC, p->rs.mac, 6) == 0)
			continue;
		for (unsigned k = 0; k < p->n; k++)
			if (h.shelf == p->shelf[k] && h.slot == p->slot[k])
				die("e%u.%u is already served on %s by %s; pick another shelf/slot",
				    p->shelf[k], p->slot[k], p->rs.ifname,
				    format_mac(buf + AOE_OFF_SRC, macs));
	}
	rawsock_close(&p->rs);
	free(p->shelf);
	free(p->slot);
	p->n = 0;
}

/* The rest of each probe's window, then its verdict (dies if taken). */
static void probe_finish_all(struct probe *pr, unsigned n)
{
	for (unsigned i = 0; pr && i < n; i++)
		probe_finish(&pr[i]);
	free(pr);
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

static void setup_device(struct daemon *dm, const struct options *o)
{
	struct device *d = &dm->devs[0].dev;
	struct device_conf dc = {
		.queue_depth = o->queue_depth, .merge_delay_us = o->merge_delay_us,
		.cache = o->cache,
	};
	char err[320];

	snprintf(d->name, sizeof d->name, "e%u.%u", o->shelf, o->slot);
	d->t.shelf = (uint16_t)o->shelf;
	d->t.slot = (uint8_t)o->slot;
	d->t.bufcnt = (uint16_t)o->bufcnt;
	d->t.mask = o->mask;
	d->t.ata.sectors = d->b.size / 512;
	d->t.ata.readonly = o->readonly;
	d->t.ata.wcache = o->cache.write_back;
	snprintf(d->t.ata.model, sizeof d->t.ata.model, "%s", o->model);
	if (o->serial)
		snprintf(d->t.ata.serial, sizeof d->t.ata.serial, "%s", o->serial);
	else
		served_default_serial(dm, &dm->devs[0]);
	snprintf(d->t.ata.firmware, sizeof d->t.ata.firmware, "%s", PACKAGE_VERSION);

	dm->eng = engine_new(&dm->loop, o->engine, o->queue_depth, err, sizeof err);
	if (!dm->eng)
		die("%s", err);
	dm->eng_max = o->queue_depth;
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		if (dm->ifaces[i].mtu > dc.mtu_max)
			dc.mtu_max = dm->ifaces[i].mtu;
	if (device_init(d, dm->eng, &dm->loop, &dc, err, sizeof err) < 0)
		die("%s", err);
}

static void attach_or_die(struct daemon *dm, const char *name)
{
	char err[320];

	if (dm_iface_attach(dm, name, err, sizeof err) < 0)
		die("%s", err);
}

/* Interface events; without them the daemon serves on, minus hotplug. */
static void start_hotplug(struct daemon *dm)
{
	int rc = dm_hotplug_start(dm);

	if (rc < 0)
		log_warn("rtnetlink: %s: interfaces that come and go later are not followed",
			 strerror(-rc));
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
		   "overlap_waits=%llu stalls=%llu waiting_max=%llu held=%llu submit_calls=%llu "
		   "submitted=%llu eagain=%llu reap_calls=%llu sync_flush_fallbacks=%llu",
		   d->name, U(qs->requests), U(qs->ios), U(qs->merged), U(qs->bounced),
		   U(qs->rmw), U(qs->overlap_waits), U(qs->stalls), U(qs->waiting_max), U(qs->held),
		   U(es->submit_calls), U(es->submitted), U(es->eagain), U(es->reap_calls),
		   U(es->sync_flush_fallback));
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

static void log_stats(struct daemon *dm)
{
	for (unsigned k = 0; k < dm->n_devs; k++) {
		const struct served *s = &dm->devs[k];
		if (s->retired)
			continue;
		log_device_stats(&s->dev, dm->eng);
		if (s->acl)
			log_notice("stats %s acl acl_denied=%llu", s->dev.name, U(s->acl_denied));
	}
	for (unsigned i = 0; i < dm->n_ifaces; i++) {
		struct iface *ifc = &dm->ifaces[i];
		iface_poll_drops(ifc);
		log_notice("stats %s rx_frames=%llu tx_frames=%llu rx_bytes=%llu tx_bytes=%llu "
			   "wakeups=%llu ignored=%llu broadcasts=%llu tx_dropped=%llu ring_drops=%llu",
			   ifc->name, U(ifc->st.rx_frames), U(ifc->st.tx_frames), U(ifc->st.rx_bytes),
			   U(ifc->st.tx_bytes), U(ifc->st.wakeups), U(ifc->st.ignored),
			   U(ifc->st.broadcasts), U(ifc->st.tx_dropped), U(ifc->st.ring_drops));
	}
}

/* The control socket: --control wins over the file's control-socket; a
 * socket that another daemon answers on, or one we cannot create, leaves
 * this daemon without one (it still serves), with a warning. */
static void setup_control(struct daemon *dm, const struct options *o)
{
	const char *path = o->control ? o->control :
			   dm->conf ? dm->conf->control_socket : CONF_DEF_CONTROL_SOCKET;
	char err[400];

	if (strcmp(path, "none") == 0)
		return;
	if (control_open(dm, path, dm->conf ? dm->conf->control_group : "", err, sizeof err) == 0)
		return;
	/* single-device daemons side by side (vblade style) share the default
	 * path: only the first gets it, and that is no news for the others */
	if (!o->control && !dm->conf)
		log_info("%s", err);
	else
		log_warn("%s", err);
}

/* With one device from the command line every file is open by now: what
 * may still be opened is a packet socket, when hotplug re-attaches an
 * interface that went away (CAP_NET_RAW, and CAP_NET_ADMIN for its
 * buffer sizes).  Everything else goes.  With -c FILE they are all kept:
 * a reload opens backing stores, lock and state files anywhere. */
static void drop_privileges(void)
{
	char err[128];

	if (privs_drop_except(PRIVS_KEEP_NET, err, sizeof err) < 0)
		log_warn("cannot drop capabilities, serving with them: %s", err);
	else
		log_info("capabilities dropped but CAP_NET_RAW and CAP_NET_ADMIN");
}

/* ---------------------------------------------------------- the command line
 * vblade's form: one device, its options from argv. */
static void start_single(struct daemon *dm, const struct options *o)
{
	struct served *s = &dm->devs[0];
	uint16_t shelf = (uint16_t)o->shelf;
	uint8_t slot = (uint8_t)o->slot;
	struct probe *pr = NULL;
	char err[320];

	served_init(s);
	dm->net = o->net;
	if (o->state_dir)
		snprintf(dm->state_dir, sizeof dm->state_dir, "%s", o->state_dir);
	open_backing(dm, o);
	s->dev.t.shelf = shelf;
	s->dev.t.slot = slot;
	if (o->probe) {
		pr = calloc(o->n_ifaces, sizeof *pr);
		if (!pr)
			die("out of memory");
		for (unsigned i = 0; i < o->n_ifaces; i++)
			probe_send(&pr[i], &shelf, &slot, 1, o->ifnames[i]);
	}
	for (unsigned i = 0; i < o->n_ifaces; i++) {
		snprintf(dm->cli_ifnames[i], sizeof dm->cli_ifnames[i], "%s", o->ifnames[i]);
		attach_or_die(dm, o->ifnames[i]);
	}
	dm->n_cli_ifnames = o->n_ifaces;
	dm->n_devs = 1;
	if (served_bind_ifaces(dm, s, err, sizeof err) < 0)
		die("%s", err);
	setup_device(dm, o);
	served_load_state(dm, s);
	if (setup_signals(dm) < 0)
		die("signals: %s", strerror(errno));
	start_hotplug(dm);
	probe_finish_all(pr, o->n_ifaces);	/* its 50 ms overlapped the set-up */
	setup_control(dm, o);	/* before "serving": aoexctl works from then on */

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
	drop_privileges();
}

/* ------------------------------------------------------------- -c FILE */

/* The interfaces to serve, in if_nameindex() order: every name the global
 * list names (which must exist), and the interfaces its patterns match (or,
 * when it is empty, every interface that is up and Ethernet, loopback
 * excepted).  Names go to names[], their count is returned. */
static unsigned pick_ifaces(const struct daemon *dm, const char *file,
			    char names[][IF_NAMESIZE])
{
	const struct aoexd_conf *c = dm->conf;
	struct if_nameindex *all = if_nameindex(), *p;
	unsigned n = 0;

	if (!all)
		die("cannot list the network interfaces: %s", strerror(errno));
	for (unsigned k = 0; k < c->n_interfaces; k++) {
		const char *pat = c->interfaces[k];
		bool found = false;
		for (p = all; p->if_name && !found; p++)
			found = dm_is_glob(pat) ? fnmatch(pat, p->if_name, 0) == 0
						: strcmp(pat, p->if_name) == 0;
		if (!found && !dm_is_glob(pat))
			die("%s: interface %s (in interfaces) does not exist", file, pat);
		if (!found)
			log_warn("%s: no interface matches \"%s\" (in interfaces)", file, pat);
	}
	for (p = all; p->if_name; p++) {
		if (!dm_iface_wanted(dm, p->if_name))
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

/* The engine is shared by every device, including those a reload adds:
 * sized generously once (see reload.c). */
static unsigned engine_size(const struct aoexd_conf *c)
{
	unsigned total = 0;

	for (unsigned k = 0; k < c->n_devices; k++)
		total += c->devices[k].tune.queue_depth > CONF_MIN_DISK_DEPTH ?
			 c->devices[k].tune.queue_depth : CONF_MIN_DISK_DEPTH;
	total *= 2;
	return total < 256 ? 256 : total > 4096 ? 4096 : total;
}

/* One address check per interface, for all its devices at once, sent
 * before anything is opened on it; probe_finish() each once set up. */
static struct probe *probe_all(struct daemon *dm, char names[][IF_NAMESIZE], unsigned n_names)
{
	uint16_t *shelves = calloc(dm->n_devs + 1, sizeof *shelves);
	uint8_t *slots = calloc(dm->n_devs + 1, sizeof *slots);
	struct probe *pr = calloc(n_names + 1, sizeof *pr);

	if (!shelves || !slots || !pr)
		die("out of memory");
	for (unsigned i = 0; i < n_names; i++) {
		unsigned n = 0;
		for (unsigned k = 0; k < dm->n_devs; k++) {
			struct served *s = &dm->devs[k];
			if (!conf_device_on_iface(&s->conf, names[i]))
				continue;
			shelves[n] = s->dev.t.shelf;
			slots[n++] = s->dev.t.slot;
		}
		probe_send(&pr[i], shelves, slots, n, names[i]);
	}
	free(shelves);
	free(slots);
	return pr;
}


static void log_serving(const struct daemon *dm, const struct served *s)
{
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
	if (!s->iface_mask)
		log_warn("device %s (%s) is served on no interface", s->conf.name, s->dev.name);
}

static void start_config(struct daemon *dm, const struct options *o)
{
	static char names[DM_MAX_IFACES][IF_NAMESIZE];
	const struct aoexd_conf *c = dm->conf;
	char err[400];
	unsigned n_names, n_devs;
	struct probe *pr = NULL;

	if (c->log_target == CONF_LOG_SYSLOG)
		log_init("aoexd", dm->log_level_set ? o->log_level : c->log_level, 1);
	dm->net = o->net;
	snprintf(dm->state_dir, sizeof dm->state_dir, "%s", c->state_directory);
	n_names = pick_ifaces(dm, dm->config_file, names);
	if (!n_names)
		log_warn("no interface to serve");
	if (!c->n_devices)
		log_warn("%s configures no device: nothing to serve", dm->config_file);
	/* the backing stores first: a missing file is the likeliest mistake */
	for (unsigned k = 0; k < c->n_devices; k++) {
		const struct conf_device *cd = &c->devices[k];
		if (served_open(&dm->devs[k], cd, err, sizeof err) < 0)
			die("%s:%d: device %s: %s", dm->config_file, cd->line, cd->name, err);
		dm->n_devs = k + 1;
	}
	if (o->probe)
		pr = probe_all(dm, names, n_names);
	n_devs = dm->n_devs;
	dm->n_devs = 0;		/* bound below, where a busy address is fatal */
	for (unsigned i = 0; i < n_names; i++)
		attach_or_die(dm, names[i]);
	dm->n_devs = n_devs;

	dm->eng_max = engine_size(c);
	dm->eng = engine_new(&dm->loop, o->engine, dm->eng_max, err, sizeof err);
	if (!dm->eng)
		die("%s", err);
	for (unsigned k = 0; k < dm->n_devs; k++) {
		struct served *s = &dm->devs[k];
		if (served_bind_ifaces(dm, s, err, sizeof err) < 0 ||
		    served_start(dm, s, err, sizeof err) < 0)
			die("%s:%d: device %s: %s", dm->config_file, s->conf.line, s->conf.name, err);
	}
	if (setup_signals(dm) < 0)
		die("signals: %s", strerror(errno));
	start_hotplug(dm);
	probe_finish_all(pr, n_names);	/* its 50 ms overlapped the set-up */
	write_pid_file(dm, c->pid_file);
	setup_control(dm, o);	/* before "serving": aoexctl works from then on */

	for (unsigned k = 0; k < dm->n_devs; k++)
		log_serving(dm, &dm->devs[k]);
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		dm_iface_advertise(dm, i);
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

#ifdef M_MMAP_THRESHOLD
	/* Large blocks (a reloaded configuration: 670 KiB, cache buffers) get
	 * their own mappings, so freeing them gives the memory back.  glibc
	 * would raise the threshold after the first such free and put the
	 * next ones on the heap between small long-lived blocks: RSS crept
	 * ~2 MiB per 5 minutes of SIGHUPs in tests/soak.sh. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
#endif
	options_parse(&o, argc, argv);
	log_init("aoexd", o.log_level, 0);
	setvbuf(stderr, NULL, _IOLBF, 0);
	if (o.config_file)
		load_config(&dm, &o);
	if (o.daemon)
		detach_begin();
	/* room for what a reload may add: devices stay where they are while
	 * requests point at them, so the array never moves */
	dm.cap_devs = o.config_file ? CONF_MAX_DEVICES : 1;
	dm.devs = calloc(dm.cap_devs, sizeof *dm.devs);
	if (!dm.devs)
		die("out of memory");

	gethostname(dm.host, sizeof dm.host - 1);
	if (loop_init(&dm.loop) < 0)
		die("epoll: %s", strerror(errno));
	dm.loop.end_of_batch = end_of_batch;
	dm.loop.ctx = &dm;
	dm.started_ns = now_ns();
	if (o.config_file)
		start_config(&dm, &o);
	else
		start_single(&dm, &o);
	notify_ready();
	detach_done();

	rc = loop_run(&dm.loop);
	notify_stopping();
	if (rc < 0)
		log_err("event loop: %s", strerror(-rc));

	/* make what was acknowledged durable before saying goodbye */
	end_of_batch(&dm);
	for (unsigned k = 0; k < dm.n_devs; k++)
		if (!dm.devs[k].retired && device_sync(&dm.devs[k].dev) < 0)
			rc = -EIO;
	end_of_batch(&dm);	/* replies of what completed meanwhile */
	control_close(&dm);
	for (unsigned i = 0; i < dm.n_ifaces; i++)
		iface_poll_drops(&dm.ifaces[i]);
	log_stats(&dm);
	for (unsigned i = 0; i < dm.n_ifaces; i++)
		iface_close(&dm.ifaces[i]);
	if (dm.nl_watch.fd >= 0)
		close(dm.nl_watch.fd);
	for (unsigned k = 0; k < dm.n_devs; k++) {
		if (dm.devs[k].retired)
			continue;
		served_persist(&dm, &dm.devs[k]);
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
