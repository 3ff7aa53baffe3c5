/* control.c - the control socket: listening, clients, permissions (see
 * control.h); the commands themselves are in control_cmd.c. */
#include "config.h"
#include "control/control.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/ctl_proto.h"
#include "common/log.h"
#include "common/util.h"

#ifndef SO_PEERGROUPS
#define SO_PEERGROUPS 59	/* Linux 4.13; older libc headers lack it */
#endif

struct ctl_client {
	struct loop_watch w;		/* w.fd < 0: the slot is free */
	struct loop_timer timer;	/* drops a client that takes too long */
	struct control *ctl;
	char req[CTL_REQ_MAX];
	size_t rlen;
	bool writing;
	struct ctl_buf out;		/* kept across clients: no malloc per request */
	size_t sent;
};

struct control {
	struct loop *loop;
	control_handler handle;
	void *ctx;
	struct loop_watch listen;
	char path[sizeof ((struct sockaddr_un *)0)->sun_path];
	dev_t dev;			/* the socket file we made: removed at exit */
	ino_t ino;			/* ... only if it is still this one */
	char group[64];
	gid_t gid;
	bool have_gid;
	struct ctl_client c[CONTROL_CLIENTS];
};

/* ------------------------------------------------------------ clients */

/* Closing a Unix socket with unread input resets the peer, which may then
 * lose our answer: read (a bounded amount of) what is left first. */
static void drain(int fd)
{
	char junk[4096];

	for (int i = 0; i < 16 && recv(fd, junk, sizeof junk, MSG_DONTWAIT) > 0; i++)
		;
}

static void client_close(struct ctl_client *c)
{
	struct loop *l = c->ctl->loop;

	if (c->w.fd < 0)
		return;
	loop_timer_cancel(l, &c->timer);
	loop_del(l, &c->w);
	drain(c->w.fd);
	close(c->w.fd);
	c->w.fd = -1;
	c->writing = false;
	c->rlen = c->sent = 0;
	ctl_buf_reset(&c->out);
	/* a large response's buffer is not worth keeping */
	if (c->out.cap > 1u << 20)
		ctl_buf_free(&c->out);
}

static void client_timeout(struct loop_timer *t)
{
	struct ctl_client *c = t->ctx;

	log_info("control: a client sent no complete request or read no response "
		 "within %d ms; dropped", CONTROL_TIMEOUT_MS);
	client_close(c);
}

/* Write what is left; close when done, else wait for room. */
static void client_write(struct ctl_client *c)
{
	while (c->sent < c->out.len) {
		ssize_t n = send(c->w.fd, c->out.p + c->sent, c->out.len - c->sent,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;		/* EPOLLOUT brings us back */
		if (n <= 0) {
			log_debug("control: client went away: %s", strerror(errno));
			break;
		}
		c->sent += (size_t)n;
	}
	client_close(c);
}

static void client_respond(struct ctl_client *c)
{
	struct ctl_request r;
	char err[200];
	struct loop *l = c->ctl->loop;

	ctl_buf_reset(&c->out);
	if (c->rlen == sizeof c->req && !memchr(c->req, '\n', c->rlen)) {
		ctl_printf(&c->out, "error: request longer than %d bytes\n", CTL_REQ_MAX);
		log_info("control: refused a request longer than %d bytes", CTL_REQ_MAX);
	} else if (ctl_parse_request(c->req, c->rlen, &r, err, sizeof err) < 0) {
		ctl_printf(&c->out, "error: %s\n", err);
		log_info("control: bad request: %s", err);
	} else {
		log_debug("control: %s", ctl_cmd_name(r.cmd));
		ctl_printf(&c->out, "ok\n");
		c->ctl->handle(c->ctl->ctx, &r, &c->out);
	}
	if (c->out.overflow) {
		ctl_buf_reset(&c->out);
		ctl_printf(&c->out, "error: response larger than %u bytes; ask for fewer names\n",
			   CTL_RESP_MAX);
	}
	c->writing = true;
	/* from reading to writing: the watch now waits for room */
	loop_del(l, &c->w);
	if (loop_add(l, &c->w, EPOLLOUT) < 0) {
		log_warn("control: epoll: %s; client dropped", strerror(errno));
		client_close(c);
		return;
	}
	client_write(c);
}

static void client_event(struct loop_watch *w, uint32_t events)
{
	struct ctl_client *c = w->ctx;

	(void)events;
	if (w->fd < 0)
		return;		/* closed earlier in this wakeup */
	if (c->writing) {
		client_write(c);
		return;
	}
	for (;;) {
		ssize_t n = recv(w->fd, c->req + c->rlen, sizeof c->req - c->rlen, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (n < 0 || (n == 0 && c->rlen == 0)) {
			client_close(c);	/* gone without asking anything */
			return;
		}
		c->rlen += (size_t)n;
		/* a line, the end of the stream, or a full buffer: answer */
		if (n == 0 || memchr(c->req + c->rlen - (size_t)n, '\n', (size_t)n) ||
		    c->rlen == sizeof c->req) {
			client_respond(c);
			return;
		}
	}
}

/* ------------------------------------------------------- permissions */

static bool in_group(int fd, gid_t gid)
{
	gid_t groups[256];
	socklen_t len = sizeof groups;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERGROUPS, groups, &len) < 0)
		return false;
	for (size_t i = 0; i < len / sizeof groups[0]; i++)
		if (groups[i] == gid)
			return true;
	return false;
}

/* NULL if the peer may use the socket, else why not */
static const char *refusal(struct control *ctl, int fd, char *why, size_t n)
{
	struct ucred cr;
	socklen_t len = sizeof cr;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
		snprintf(why, n, "cannot read the client's credentials: %s", strerror(errno));
		return why;
	}
	if (cr.uid == 0 || cr.uid == geteuid())
		return NULL;
	if (ctl->have_gid && (cr.gid == ctl->gid || in_group(fd, ctl->gid)))
		return NULL;
	if (ctl->have_gid)
		snprintf(why, n, "permission denied: uid %u (pid %d) is neither root nor in group %s",
			 (unsigned)cr.uid, (int)cr.pid, ctl->group);
	else
		snprintf(why, n, "permission denied: uid %u (pid %d) is not root "
			 "(no control-group is configured)", (unsigned)cr.uid, (int)cr.pid);
	return why;
}

/* Tell a client we will not serve why, without waiting, and close it. */
static void turn_away(int fd, const char *why)
{
	char line[300];
	int n = snprintf(line, sizeof line, "error: %s\n", why);

	if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
		log_debug("control: %s", strerror(errno));
	drain(fd);
	close(fd);
}

static struct ctl_client *free_slot(struct control *ctl)
{
	for (unsigned i = 0; i < CONTROL_CLIENTS; i++)
		if (ctl->c[i].w.fd < 0)
			return &ctl->c[i];
	return NULL;
}

static void control_accept(struct loop_watch *w, uint32_t events)
{
	struct control *ctl = w->ctx;
	struct loop *l = ctl->loop;
	char why[200];

	(void)events;
	for (;;) {
		int fd = accept4(w->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct ctl_client *c;
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				log_warn("control: accept on %s: %s", ctl->path, strerror(errno));
			return;
		}
		if (refusal(ctl, fd, why, sizeof why)) {
			log_warn("control: %s: %s", ctl->path, why);
			turn_away(fd, why);
			continue;
		}
		c = free_slot(ctl);
		if (!c) {
			log_info("control: %d clients already: one more turned away", CONTROL_CLIENTS);
			turn_away(fd, "busy: too many control clients at once; try again");
			continue;
		}
		c->w.fd = fd;
		if (loop_add(l, &c->w, EPOLLIN) < 0) {
			log_warn("control: epoll: %s", strerror(errno));
			c->w.fd = -1;
			close(fd);
			continue;
		}
		loop_timer_at(l, &c->timer, now_ns() + CONTROL_TIMEOUT_MS * 1000000ULL);
	}
}

/* ------------------------------------------------------------ socket */

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* Does a live daemon answer on path?  1 yes, 0 no (stale or missing). */
static int someone_listens(const struct sockaddr_un *sa)
{
	/* non-blocking: a daemon whose backlog is full says EAGAIN, not hangs */
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return 0;
	r = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0 || errno == EAGAIN;
	close(fd);
	return r;
}

/* The socket's directory, if missing (one level: /run/aoexd). */
static void make_parent(const char *path)
{
	char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return;
	*slash = 0;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		log_debug("control: mkdir %s: %s", dir, strerror(errno));
}

static int bind_socket(struct control *ctl, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	mode_t old;
	int fd, r;

	if (strlen(ctl->path) >= sizeof sa.sun_path)
		return fail(err, errlen, "control socket %s: path longer than %zu bytes",
			    ctl->path, sizeof sa.sun_path - 1);
	memcpy(sa.sun_path, ctl->path, strlen(ctl->path) + 1);
	if (lstat(ctl->path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return fail(err, errlen, "control socket %s: exists and is not a socket",
				    ctl->path);
		if (someone_listens(&sa)) {
			fail(err, errlen, "control socket %s is in use by another daemon; "
			     "running without one (set another with --control or control-socket)",
			     ctl->path);
			return 1;
		}
		unlink(ctl->path);	/* stale: its daemon is gone */
	}
	make_parent(ctl->path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return fail(err, errlen, "control socket: %s", strerror(errno));
	/* never world-accessible, not even between bind and chmod */
	old = umask(0117);
	r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
	umask(old);
	if (r < 0) {
		int e = errno;
		close(fd);
		if (e == EADDRINUSE) {
			fail(err, errlen, "control socket %s is in use by another daemon; "
			     "running without one", ctl->path);
			return 1;
		}
		return fail(err, errlen, "control socket %s: bind: %s", ctl->path, strerror(e));
	}
	if (chmod(ctl->path, 0660) < 0 ||
	    (ctl->have_gid && chown(ctl->path, (uid_t)-1, ctl->gid) < 0) ||
	    listen(fd, 16) < 0 || stat(ctl->path, &st) < 0) {
		int e = errno;
		unlink(ctl->path);
		close(fd);
		return fail(err, errlen, "control socket %s: %s", ctl->path, strerror(e));
	}
	ctl->dev = st.st_dev;
	ctl->ino = st.st_ino;
	ctl->listen.fd = fd;
	return 0;
}

/* A start-up error after control_open exits through die(): the socket
 * file must not outlive the process then either. */
static struct control *exit_ctl;

static void unlink_at_exit(void)
{
	struct stat st;

	if (exit_ctl && stat(exit_ctl->path, &st) == 0 && st.st_dev == exit_ctl->dev &&
	    st.st_ino == exit_ctl->ino)
		unlink(exit_ctl->path);
}

int control_open(struct control **out, struct loop *l, const char *path, const char *group,
		 control_handler fn, void *ctx, char *err, size_t errlen)
{
	struct control *ctl = calloc(1, sizeof *ctl);
	int r;

	if (!ctl)
		return fail(err, errlen, "control socket: out of memory");
	ctl->loop = l;
	ctl->handle = fn;
	ctl->ctx = ctx;
	ctl->listen.fd = -1;
	snprintf(ctl->path, sizeof ctl->path, "%s", path);
	snprintf(ctl->group, sizeof ctl->group, "%s", group ? group : "");
	if (ctl->group[0]) {
		struct group *g = getgrnam(ctl->group);
		if (!g) {
			free(ctl);
			return fail(err, errlen, "control-group %s: no such group", group);
		}
		ctl->gid = g->gr_gid;
		ctl->have_gid = true;
	}
	r = bind_socket(ctl, err, errlen);
	if (r != 0) {
		free(ctl);
		return r;
	}
	ctl->listen.fn = control_accept;
	ctl->listen.ctx = ctl;
	if (loop_add(l, &ctl->listen, EPOLLIN) < 0) {
		r = errno;
		unlink(ctl->path);
		close(ctl->listen.fd);
		free(ctl);
		return fail(err, errlen, "control socket: epoll: %s", strerror(r));
	}
	for (unsigned i = 0; i < CONTROL_CLIENTS; i++) {
		struct ctl_client *c = &ctl->c[i];
		c->w.fd = -1;
		c->w.fn = client_event;
		c->w.ctx = c;
		c->timer.fn = client_timeout;
		c->timer.ctx = c;
		c->ctl = ctl;
		ctl_buf_init(&c->out, CTL_RESP_MAX);
	}
	*out = ctl;
	if (!exit_ctl)
		atexit(unlink_at_exit);
	exit_ctl = ctl;
	log_info("control socket %s (mode 0660, %s%s)", ctl->path,
		 ctl->have_gid ? "group " : "root only", ctl->group);
	return 0;
}

void control_close(struct control *ctl)
{
	struct stat st;

	if (!ctl)
		return;
	for (unsigned i = 0; i < CONTROL_CLIENTS; i++) {
		client_close(&ctl->c[i]);
		ctl_buf_free(&ctl->c[i].out);
	}
	loop_del(ctl->loop, &ctl->listen);
	close(ctl->listen.fd);
	/* another daemon may have taken the path over since: leave its socket */
	if (stat(ctl->path, &st) == 0 && st.st_dev == ctl->dev && st.st_ino == ctl->ino)
		unlink(ctl->path);
	exit_ctl = NULL;
	free(ctl);
}
