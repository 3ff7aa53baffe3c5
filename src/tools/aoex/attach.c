/*
 * attach.c - aoex attach and aoex detach: an AoE export as a block device
 * (the kernel's nbd device) or as an NBD server on a Unix socket, through
 * the block engine (blk.c).  Start-up here is synchronous (Query Config on
 * every interface, IDENTIFY, the Extensions negotiation, a read-only
 * check, the congestion probe); then one event loop serves everything.
 */
#include "config.h"
#include "tools/aoex/commands.h"
#include "tools/aoex/blk.h"
#include "tools/aoex/cli.h"
#include "tools/aoex/nbdkern.h"
#include "tools/aoex/nbdsrv.h"
#include "tools/aoex/session.h"
#include "event/loop.h"
#include "proto/aoe.h"
#include "common/log.h"
#include "common/util.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

struct attach_args {
	char *socket;
	uint64_t dead_s, coalesce, window, stats_s;
	bool no_ext, no_probe, read_only;
};

struct attach {
	struct session *s;
	struct attach_args *a;
	struct aoex_client ifs[BLK_MAX_IFACES];
	unsigned nifs;
	struct loop l;
	struct blk *b;
	struct nbdsrv srv;
	struct loop_watch sigw;
	struct loop_timer stats_t, detach_t;
	bool kernel, detaching;
	unsigned detach_waits;
	unsigned index;
	int rc;
};

/* ------------------------------------------------------------ start-up */

/* Every interface of -i after the first: open it, learn the target's MAC
 * there.  One that does not answer is left out with a warning. */
static int open_more_ifaces(struct attach *at)
{
	char *list = strdup(at->s->o.iface), *save = NULL, *name;
	char err[256];
	bool first = true;

	if (!list)
		return cli_local_error("out of memory");
	at->nifs = 1;	/* the first is the session's client, s->c */
	for (name = strtok_r(list, ",", &save); name; name = strtok_r(NULL, ",", &save)) {
		struct aoex_client *c = &at->ifs[at->nifs];
		struct req_qc_reply qc;

		if (first) {
			first = false;
			continue;
		}
		if (at->nifs == BLK_MAX_IFACES) {
			free(list);
			return cli_usage_error("attach: at most %d interfaces", BLK_MAX_IFACES);
		}
		if (aoex_open(c, name, NULL, err, sizeof err) < 0) {
			free(list);
			return cli_local_error("%s", err);
		}
		c->timeout_ms = at->s->c.timeout_ms;
		c->retries = at->s->c.retries;
		c->verbose = at->s->c.verbose;
		c->to.shelf = at->s->c.to.shelf;
		c->to.slot = at->s->c.to.slot;
		if (aoex_query(c, true, &qc) != AOEX_OK) {
			log_warn("%s: no reply from e%u.%u: interface not used", name, c->to.shelf,
				 c->to.slot);
			aoex_close(c);
			continue;
		}
		at->nifs++;
	}
	free(list);
	return AOEX_OK;
}

/* Negotiate reset, tag_inc_le, coalesced_read on one interface; says in
 * the log what the target did not take. */
static void negotiate(struct aoex_client *c, unsigned coalesce, bool *tag_inc, bool *cr)
{
	const char *names[3] = { "reset", "tag_inc_le", "coalesced_read" };
	struct aoex_ext_reply r;
	int saved_t = c->timeout_ms, rc;
	unsigned saved_r = c->retries;

	*tag_inc = *cr = false;
	/* a target without extensions may stay silent: do not wait long */
	c->timeout_ms = saved_t < 300 ? saved_t : 300;
	c->retries = 1;
	rc = aoex_ext_negotiate(c, names, coalesce > 1 ? 3 : 2, &r);
	c->timeout_ms = saved_t;
	c->retries = saved_r;
	if (rc == AOEX_OK) {
		*tag_inc = true;
		*cr = coalesce > 1;
	} else if (rc == AOEX_NO_REPLY) {
		log_notice("%s: no reply to the Extensions command: plain AoE r11", c->rs.ifname);
	} else if (rc == AOEX_TARGET_ERROR && (r.p.flags & AOE_FLAG_E)) {
		log_notice("%s: the target refused the Extensions command (aoe_error=%u): "
			   "plain AoE r11", c->rs.ifname, r.p.error);
	} else if (rc == AOEX_TARGET_ERROR && !r.p.malformed) {
		*tag_inc = *cr = true;
		for (unsigned i = 0; i < r.missing; i++) {
			log_notice("%s: the target did not activate %s: %s", c->rs.ifname,
				   r.missing_name[i],
				   strcmp(r.missing_name[i], "tag_inc_le") == 0 ? "plain tags (r11)"
										 : "plain reads");
			if (strcmp(r.missing_name[i], "tag_inc_le") == 0)
				*tag_inc = false;
			else if (strcmp(r.missing_name[i], "coalesced_read") == 0)
				*cr = false;
		}
		*cr = *cr && coalesce > 1;
	} else {
		log_notice("%s: malformed Extensions reply: plain AoE r11", c->rs.ifname);
	}
	aoex_ext_reply_free(&r);
	/* the order stays what this negotiation chose: replies in flight
	 * must decode as they were sent */
	aoex_set_tag_order(c, *tag_inc ? AOE_TAG_LE : AOE_TAG_BE, true);
}

/* A write of 0 sectors moves nothing; a read-only export refuses it with
 * ABRT (aoexd and vblade alike). */
static bool target_read_only(struct session *s, bool lba48)
{
	struct session_ata q = { .regs = { .cmd = lba48 ? ATA_WRITE_EXT : ATA_WRITE,
					   .aflags = (uint8_t)(ATA_AFLAG_W | (lba48 ? ATA_AFLAG_E : 0)),
					   .lba48 = lba48 } };
	struct req_ata_reply r;

	if (session_ata(s, &q, &r, NULL, 0) != AOEX_OK)
		return false;
	return req_ata_failed(&r) && !(r.flags & AOE_FLAG_E) && (r.err & ATA_ER_ABRT);
}

static int start_up(struct attach *at, struct blk_config *cfg, struct nbdw_export *exp)
{
	struct session *s = at->s;
	struct req_qc_reply qc;
	uint8_t id[512];
	bool ro;
	int rc;

	rc = aoex_query(&s->c, true, &qc);
	if (rc != AOEX_OK)
		return session_result(s, rc, "query config");
	if ((rc = open_more_ifaces(at)))
		return rc;
	if ((rc = session_identify(s, id, stderr, false)))
		return rc;
	memset(cfg, 0, sizeof *cfg);
	cfg->sectors = session_ident_sectors(id);
	cfg->lba48 = session_ident_word(id, 83) & (1 << 10);
	cfg->flush_ext = session_ident_word(id, 83) & (1 << 13);
	cfg->spf = qc.scnt < aoex_mtu_sectors(&s->c) ? qc.scnt : aoex_mtu_sectors(&s->c);
	for (unsigned i = 1; i < at->nifs; i++)
		if (aoex_mtu_sectors(&at->ifs[i]) < cfg->spf)
			cfg->spf = aoex_mtu_sectors(&at->ifs[i]);
	if (!cfg->spf)
		cfg->spf = 1;
	cfg->window = qc.bufcnt ? qc.bufcnt : 16;
	if (at->a->window && at->a->window < cfg->window)
		cfg->window = (unsigned)at->a->window;
	cfg->coalesce = (unsigned)at->a->coalesce;
	for (unsigned i = 0; i < at->nifs; i++) {
		const struct aoex_client *c = i ? &at->ifs[i] : &s->c;

		if (aoex_coalesce_max(c) < cfg->coalesce)
			cfg->coalesce = aoex_coalesce_max(c);
	}
	if (cfg->coalesce > cfg->window)
		cfg->coalesce = cfg->window;
	if (!at->a->no_ext) {
		for (unsigned i = 0; i < at->nifs; i++) {
			bool ti, cr;

			negotiate(i ? &at->ifs[i] : &s->c, cfg->coalesce, &ti, &cr);
			cfg->if_tag_inc[i] = ti;
			cfg->if_coalesce[i] = cr;
			cfg->tag_inc |= ti;
			cfg->coalesced_read |= cr;
		}
	}
	if (!cfg->coalesced_read)
		cfg->coalesce = 1;
	/* the congestion probe caps the window where the target has it */
	if (cfg->tag_inc && !at->a->no_probe) {
		struct session_probe p;
		char pid[16];

		snprintf(pid, sizeof pid, "%u", session_random_u32());
		if (session_probe(s, pid, cfg->window, 1500, &p) == AOEX_OK && p.first_ms >= 0 &&
		    !p.first_err && p.replied && p.replied < cfg->window) {
			log_notice("congestion probe: %u of %u answered: window %u", p.replied,
				   cfg->window, p.replied);
			cfg->window = p.replied < 2 ? 2 : p.replied;
			if (cfg->coalesce > cfg->window)
				cfg->coalesce = cfg->window;
		}
	}
	ro = at->a->read_only || target_read_only(s, cfg->lba48);
	/* from here on the engine's copy is the one client (its counter) */
	at->ifs[0] = s->c;
	cfg->dead_ms = at->a->dead_s * 1000;
	cfg->rto_init_ms = s->c.timeout_ms;
	cfg->rto_min_ms = 20;
	cfg->rto_max_ms = 2000;
	memset(exp, 0, sizeof *exp);
	exp->size = cfg->sectors * ATA_SECTOR;
	exp->flags = NBD_TF_HAS_FLAGS | NBD_TF_SEND_FLUSH | NBD_TF_SEND_FUA | NBD_TF_CAN_MULTI_CONN;
	if (ro)
		exp->flags = NBD_TF_HAS_FLAGS | NBD_TF_READ_ONLY | NBD_TF_SEND_FLUSH |
			     NBD_TF_CAN_MULTI_CONN;
	snprintf(exp->name, sizeof exp->name, "e%u.%u", s->c.to.shelf, s->c.to.slot);
	snprintf(exp->desc, sizeof exp->desc, "AoE e%u.%u via %s", s->c.to.shelf, s->c.to.slot,
		 s->c.rs.ifname);
	log_notice("e%u.%u: %llu sectors, %s, %u sectors per frame, window %u, coalesce %u, "
		   "tag_inc %s, %s", s->c.to.shelf, s->c.to.slot, (unsigned long long)cfg->sectors,
		   cfg->lba48 ? "LBA48" : "LBA28", cfg->spf, cfg->window, cfg->coalesce,
		   cfg->tag_inc ? "on" : "off", ro ? "read-only" : "read-write");
	return AOEX_OK;
}

/* ------------------------------------------------------------ running */

static void print_stats(struct attach *at, const char *when)
{
	char a[768], b[160];

	blk_format_stats(at->b, a, sizeof a);
	nbdsrv_format_stats(&at->srv, b, sizeof b);
	log_notice("stats%s e%u.%u %s %s", when, at->s->c.to.shelf, at->s->c.to.slot, a, b);
}

static void stats_due(struct loop_timer *t)
{
	struct attach *at = t->ctx;

	print_stats(at, "");
	loop_timer_at(&at->l, t, now_ns() + at->a->stats_s * 1000000000ULL);
}

static void on_idle(struct nbdsrv *srv)
{
	struct attach *at = srv->ctx;

	if (!at->kernel || at->detaching)
		at->l.stop = true;
}

static void on_kernel_gone(struct nbdsrv *srv)
{
	struct attach *at = srv->ctx;

	log_notice("nbd%u: disconnected", at->index);
	at->kernel = false;
	nbdsrv_stop(srv);
}

/* SIGTERM with the kernel device: once nothing is in the engine, ask the
 * kernel to disconnect; it sends NBD_CMD_DISC and the connection ends. */
static void detach_due(struct loop_timer *t)
{
	struct attach *at = t->ctx;
	char err[256];

	if (!at->kernel)
		return;
	/* a device still in use keeps sending: after 10 s disconnect anyway
	 * (the kernel fails what it has not sent) */
	if (blk_busy(at->b) && ++at->detach_waits < 1000) {
		loop_timer_at(&at->l, t, now_ns() + 10000000);
		return;
	}
	if (nbdkern_disconnect(at->index, err, sizeof err) < 0)
		log_err("%s", err);
}

static void on_signal(struct loop_watch *w, uint32_t events)
{
	struct attach *at = w->ctx;
	struct signalfd_siginfo si;

	(void)events;
	while (read(w->fd, &si, sizeof si) == (ssize_t)sizeof si) {
		if (si.ssi_signo == SIGUSR1) {
			print_stats(at, "");
			continue;
		}
		if (at->detaching)
			continue;
		log_notice("signal %u: finishing what is in flight", si.ssi_signo);
		at->detaching = true;
		nbdsrv_stop(&at->srv);
		if (at->kernel)
			loop_timer_at(&at->l, &at->detach_t, now_ns());
	}
}

static int serve(struct attach *at, const struct blk_config *cfg, const struct nbdw_export *exp,
		 const char *dev)
{
	sigset_t set;
	char err[256];
	int sv[2] = { -1, -1 }, rc;

	if (loop_init(&at->l) < 0)
		return cli_local_error("epoll: %s", strerror(errno));
	at->b = blk_new(&at->l, at->ifs, at->nifs, cfg);
	if (!at->b)
		return cli_local_error("out of memory");
	nbdsrv_init(&at->srv, &at->l, at->b, exp);
	at->srv.ctx = at;
	at->srv.on_idle = on_idle;
	at->srv.on_kernel_gone = on_kernel_gone;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);	/* a client gone: EPIPE, handled */
	at->sigw.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	at->sigw.fn = on_signal;
	at->sigw.ctx = at;
	if (at->sigw.fd < 0 || loop_add(&at->l, &at->sigw, EPOLLIN) < 0)
		return cli_local_error("signalfd: %s", strerror(errno));
	at->detach_t.fn = detach_due;
	at->detach_t.ctx = at;
	if (at->a->socket && (rc = nbdsrv_listen(&at->srv, at->a->socket)) < 0)
		return cli_local_error("%s: %s", at->a->socket, strerror(-rc));
	if (dev) {
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return cli_local_error("socketpair: %s", strerror(errno));
		if (nbdkern_connect(at->index, sv[1], exp->size, NBDW_MIN_BLOCK, exp->flags, err,
				    sizeof err) < 0) {
			close(sv[0]);
			close(sv[1]);
			return cli_local_error("%s", err);
		}
		close(sv[1]);	/* the kernel holds its own reference */
		if (nbdsrv_add_kernel(&at->srv, sv[0]) < 0)
			return cli_local_error("out of memory");
		at->kernel = true;
		log_notice("%s: connected (%llu bytes)", dev, (unsigned long long)exp->size);
	}
	if (at->a->socket)
		log_notice("serving NBD on %s", at->a->socket);
	if (at->a->stats_s) {
		at->stats_t.fn = stats_due;
		at->stats_t.ctx = at;
		loop_timer_at(&at->l, &at->stats_t, now_ns() + at->a->stats_s * 1000000000ULL);
	}
	rc = loop_run(&at->l);
	print_stats(at, " final");
	return rc < 0 ? cli_local_error("epoll: %s", strerror(-rc)) : AOEX_OK;
}

static int attach_run(struct session *s, void *args, int argc, char **argv)
{
	struct attach *at = calloc(1, sizeof *at);
	struct blk_config cfg;
	struct nbdw_export exp;
	const char *dev = argc == 2 ? argv[1] : NULL;
	int rc;

	if (!at)
		return cli_local_error("out of memory");
	at->s = s;
	at->a = args;
	at->srv.lfd = -1;	/* nothing to free before serve() */
	log_init("aoex", LOG_NOTICE, 0);
	if (argc < 1 || argc > 2) {
		rc = cli_usage_error("usage: attach TARGET [/dev/nbdN] [--nbd-socket PATH] ...");
		goto out;
	}
	if (!dev && !at->a->socket) {
		rc = cli_usage_error("attach: give a device (/dev/nbdN), --nbd-socket PATH, or both");
		goto out;
	}
	if (dev && nbdkern_index(dev, &at->index) < 0) {
		rc = cli_usage_error("attach: '%s' is not an nbd device (/dev/nbdN)", dev);
		goto out;
	}
	if ((rc = session_parse_target(s, argv[0])))
		goto out;
	if (s->bcast_target) {
		rc = cli_usage_error("attach: TARGET must name one shelf and slot");
		goto out;
	}
	if ((rc = start_up(at, &cfg, &exp)))
		goto out;
	rc = serve(at, &cfg, &exp, dev);
out:
	if (at->b)
		blk_free(at->b);
	nbdsrv_free(&at->srv);
	if (at->l.epfd > 0)
		loop_close(&at->l);
	for (unsigned i = 1; i < at->nifs; i++)
		aoex_close(&at->ifs[i]);
	free(at);
	return rc;
}

static const struct opt attach_opts[] = {
	OPT_STR("nbd-socket", 0, struct attach_args, socket),
	OPT_UINT("dead-time", 0, struct attach_args, dead_s, 1, 86400, "bad --dead-time",
		 " (1..86400 s)"),
	OPT_UINT("coalesce", 0, struct attach_args, coalesce, 1, 256, "bad --coalesce", NULL),
	OPT_UINT("max-window", 0, struct attach_args, window, 1, 1024, "bad --max-window", NULL),
	OPT_UINT("stats", 0, struct attach_args, stats_s, 0, 86400, "bad --stats", " (0..86400 s)"),
	OPT_FLAG("no-ext", 0, struct attach_args, no_ext),
	OPT_FLAG("no-probe", 0, struct attach_args, no_probe),
	OPT_FLAG("read-only", 0, struct attach_args, read_only),
};
static struct attach_args attach_args = { .dead_s = 180, .coalesce = 16 };
const struct cmd attach_cmd_attach = {
	.name = "attach", CMD_OPTS(attach_opts), .args = &attach_args, .run = attach_run,
	.flags = CMD_NO_EXT | CMD_IFACES,
};

/* -------------------------------------------------------------- detach */

static int detach_run(struct session *s, void *args, int argc, char **argv)
{
	char err[256], pidpath[64];
	unsigned index;
	struct stat st;

	(void)s;
	(void)args;
	if (argc != 1)
		return cli_usage_error("usage: detach /dev/nbdN");
	if (nbdkern_index(argv[0], &index) < 0)
		return cli_usage_error("detach: '%s' is not an nbd device (/dev/nbdN)", argv[0]);
	if (nbdkern_disconnect(index, err, sizeof err) < 0)
		return cli_local_error("%s", err);
	/* done when the kernel has let go of the device (no pid file) */
	snprintf(pidpath, sizeof pidpath, "/sys/block/nbd%u/pid", index);
	for (int i = 0; i < 1000 && stat(pidpath, &st) == 0; i++)
		usleep(10000);
	return AOEX_OK;
}

const struct cmd attach_cmd_detach = {
	.name = "detach", .args = NULL, .run = detach_run,
	.flags = CMD_WORDS | CMD_NO_EXT | CMD_NO_IFACE,
};
