/*
 * main.c - the ATA over Ethernet target daemon: start-up, signals, shutdown.
 *
 * One process, one thread, one epoll loop (event/loop.c).  A frame travels:
 *   RX ring slot (net/iface.c) -> ifaces/ifaces.c, one receive pass
 *   -> registry_frame(): one header parse, the device by its address
 *   -> device_frame() (io/device.c) -> proto/target.c decides
 *   -> the reply at once, or a request: io/cache -> io/queue -> io/engine
 *   -> one io_submit at the end of the wakeup (deferred tasks, loop.h)
 *   -> AIO eventfd -> the reply into the TX ring
 *   -> one send per interface at the end of that wakeup.
 * Start-up applies the configuration (the file's, or the command line's
 * one device) to an empty daemon, as a reload applies the next one.
 */
#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "daemon/daemon.h"
#include "common/log.h"
#include "common/util.h"
#include "stats/stats.h"
#include "sys/detach.h"
#include "sys/notify.h"
#include "sys/privs.h"

void daemon_die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fprintf(stderr, "aoexd: error: ");
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ------------------------------------------------------------- signals */

static void signal_readable(struct loop_watch *w, uint32_t events)
{
	struct daemon *dm = w->ctx;
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof si) == sizeof si) {
		switch (si.ssi_signo) {
		case SIGTERM:
		case SIGINT:
			log_notice("%s received: finishing and exiting", strsignal((int)si.ssi_signo));
			dm->loop.stop = true;
			break;
		case SIGHUP:
			daemon_reload(dm);
			break;
		}
	}
}

static void setup_signals(struct daemon *dm)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		daemon_die("signals: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	dm->sig_watch = (struct loop_watch){
		.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC), .fn = signal_readable, .ctx = dm,
	};
	if (dm->sig_watch.fd < 0 || loop_add(&dm->loop, &dm->sig_watch, EPOLLIN) < 0)
		daemon_die("signals: %s", strerror(errno));
}

/* --------------------------------------------------------- the parts */

static int on_reload(void *ctx)
{
	return daemon_reload(ctx);
}

/* The control socket: --control wins over the file's control-socket; a
 * socket that another daemon answers on, or one we cannot create, leaves
 * this daemon without one (it still serves), with a warning. */
static void setup_control(struct daemon *dm)
{
	const char *path = dm->opts->control ? dm->opts->control : dm->conf->control_socket;
	char err[400];

	dm->cmds = (struct commands){
		.reg = &dm->reg, .ifs = &dm->ifs, .eng = &dm->eng, .config_file = dm->config_file,
		.started_ns = now_ns(), .reload = on_reload, .reload_ctx = dm,
	};
	if (strcmp(path, "none") == 0)
		return;
	if (control_open(&dm->ctl, &dm->loop, path, dm->conf->control_group, commands_handle,
			 &dm->cmds, err, sizeof err) == 0)
		return;
	/* single-device daemons side by side (vblade style) share the default
	 * path: only the first gets it, and that is no news for the others */
	if (!dm->opts->control && !dm->config_file)
		log_info("%s", err);
	else
		log_warn("%s", err);
}

static void write_pid_file(struct daemon *dm, const char *path)
{
	FILE *f;

	if (!path[0])
		return;
	f = fopen(path, "we");
	if (!f)
		daemon_die("pid-file %s: %s", path, strerror(errno));
	fprintf(f, "%ld\n", (long)getpid());
	if (fclose(f) != 0)
		daemon_die("pid-file %s: %s", path, strerror(errno));
	snprintf(dm->pid_file, sizeof dm->pid_file, "%s", path);
}

/* With one device from the command line every file is open by now: what
 * may still be opened is a packet socket, when hotplug re-attaches an
 * interface that went away (CAP_NET_RAW, and CAP_NET_ADMIN for its buffer
 * sizes).  Everything else goes.  With -c FILE they are all kept: a reload
 * opens backing stores, lock and state files anywhere. */
static void drop_privileges(const struct daemon *dm)
{
	char err[128];

	if (dm->config_file)
		return;
	if (privs_drop_except(PRIVS_KEEP_NET, err, sizeof err) < 0)
		log_warn("cannot drop capabilities, serving with them: %s", err);
	else
		log_info("capabilities dropped but CAP_NET_RAW and CAP_NET_ADMIN");
}

/* -c FILE: load it (and with --check, print it and exit) */
static struct aoexd_conf *load_config(const struct options *o)
{
	struct aoexd_conf *c = malloc(sizeof *c);
	char err[CONF_MSG_MAX];

	if (!c)
		daemon_die("out of memory");
	if (conf_load(o->config_file, c, err, sizeof err) < 0)
		daemon_die("%s", err);
	for (unsigned i = 0; i < c->n_warnings; i++)
		fprintf(stderr, "aoexd: warning: %s\n", c->warnings[i]);
	if (o->check) {
		conf_print(c, stdout);
		if (fflush(stdout) != 0)
			daemon_die("standard output: %s", strerror(errno));
		exit(0);
	}
	if (!o->log_level_set)
		log_set_level(c->log_level);
	return c;
}

static void start(struct daemon *dm, struct aoexd_conf *c)
{
	int rc;

	if (loop_init(&dm->loop) < 0)
		daemon_die("epoll: %s", strerror(errno));
	ifaces_init(&dm->ifs, &dm->loop, &registry_ifaces_ops, &dm->reg);
	dm->ifs.no_rx_ring = dm->opts->no_rx_ring;
	dm->ifs.no_tx_ring = dm->opts->no_tx_ring;
	dm->ifs.no_mmsg = dm->opts->no_mmsg;
	registry_init(&dm->reg, &dm->loop, &dm->ifs, c->state_directory);
	daemon_apply(dm, c, true);
	setup_signals(dm);
	if ((rc = ifaces_hotplug_start(&dm->ifs)) < 0)
		log_warn("rtnetlink: %s: interfaces that come and go later are not followed",
			 strerror(-rc));
	write_pid_file(dm, c->pid_file);
	setup_control(dm);	/* before "serving": aoexctl works from then on */
	for (struct reg_dev *d = dm->reg.devs; d; d = d->next)
		registry_log_serving(&dm->reg, d);
	for (unsigned i = 0; i < dm->ifs.n; i++)
		if (ifaces_attached(&dm->ifs, i))
			registry_advertise(&dm->reg, i);
	loop_run_deferred(&dm->loop);	/* the advertisements go out now */
}

/* Make what was acknowledged durable, then say goodbye with the counters. */
static int shut_down(struct daemon *dm, int rc)
{
	loop_run_deferred(&dm->loop);
	if (registry_sync_all(&dm->reg) < 0)
		rc = -EIO;
	loop_run_deferred(&dm->loop);	/* replies of what completed meanwhile */
	control_close(dm->ctl);
	ifaces_poll_drops(&dm->ifs);
	stats_log(&dm->reg, &dm->ifs, dm->eng);
	ifaces_close(&dm->ifs);
	registry_close(&dm->reg);
	engine_free(dm->eng);
	loop_close(&dm->loop);
	if (dm->pid_file[0] && unlink(dm->pid_file) < 0)
		log_warn("pid-file %s: %s", dm->pid_file, strerror(errno));
	free(dm->conf == dm->opts->conf ? NULL : dm->conf);
	return rc < 0 ? 1 : 0;
}

int main(int argc, char **argv)
{
	static struct daemon dm;	/* large: keep it off the stack */
	static struct options o;
	struct aoexd_conf *c;
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
	dm.opts = &o;
	dm.config_file = o.config_file;
	c = o.config_file ? load_config(&o) : o.conf;
	if (c->log_target == CONF_LOG_SYSLOG)
		log_init("aoexd", o.log_level_set ? o.log_level : c->log_level, 1);
	if (o.daemon)
		detach_begin();
	start(&dm, c);
	notify_ready();
	detach_done();
	drop_privileges(&dm);

	rc = loop_run(&dm.loop);
	notify_stopping();
	if (rc < 0)
		log_err("event loop: %s", strerror(-rc));
	return shut_down(&dm, rc);
}
