/* nbdsrv.c - the NBD connections of aoex attach (see nbdsrv.h). */
#include "config.h"
#include "tools/aoex/nbdsrv.h"
#include "common/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#define CONN_INBUF	(64u << 10)

/* One NBD request in hand. */
struct nreq {
	struct blk_req br;
	struct nbdsrv_conn *c;
	uint64_t handle;
	uint32_t len;
	uint8_t *buf;		/* reads and writes: len bytes */
	uint32_t error;		/* the reply's */
	bool with_data;		/* a successful read: data follows */
	size_t sent;		/* bytes of header + data gone out */
	uint8_t hdr[NBDW_REPLY_LEN];
	struct nreq *next;
};

struct nbdsrv_conn {
	struct nbdsrv *s;
	int fd;
	struct loop_watch w;
	uint32_t events;
	bool kernel;
	bool reading;		/* false: EOF, DISC, a broken client, stop */
	bool broken;		/* nothing more can be sent */
	bool watched;		/* in the epoll set */
	struct nbdw nw;
	struct nreq *payload;	/* the write whose payload is coming */
	size_t payload_got;
	uint64_t payload_off;
	bool payload_fua;
	unsigned nreqs;		/* in hand: in the engine or waiting to be sent */
	size_t bytes;
	struct nreq *outq, **outq_tail;
	size_t inoff, inlen;
	struct nbdsrv_conn *next;
	uint8_t in[CONN_INBUF];
};

static void conn_io(struct loop_watch *w, uint32_t events);
static void conn_flush(struct nbdsrv_conn *c);

void nbdsrv_init(struct nbdsrv *s, struct loop *l, struct blk *b, const struct nbdw_export *exp)
{
	memset(s, 0, sizeof *s);
	s->l = l;
	s->b = b;
	s->exp = *exp;
	s->lfd = -1;
}

unsigned nbdsrv_nconns(const struct nbdsrv *s)
{
	unsigned n = 0;

	for (const struct nbdsrv_conn *c = s->conns; c; c = c->next)
		n++;
	return n;
}

void nbdsrv_format_stats(const struct nbdsrv *s, char *buf, size_t len)
{
	snprintf(buf, len, "clients=%llu bad_clients=%llu nbd_requests=%llu nbd_errors=%llu",
		 (unsigned long long)s->clients, (unsigned long long)s->bad_clients,
		 (unsigned long long)s->nbd_requests, (unsigned long long)s->nbd_errors);
}

/* --------------------------------------------------------- connections */

static void conn_events(struct nbdsrv_conn *c)
{
	bool paused = c->nreqs >= NBDSRV_MAX_REQS || c->bytes >= NBDSRV_MAX_BYTES;
	uint32_t ev = 0;
	struct epoll_event e;

	if (!c->watched)
		return;
	if (c->reading && !paused)
		ev |= EPOLLIN;
	if (!c->broken && (c->nw.outlen || c->outq))
		ev |= EPOLLOUT;
	if (ev == c->events)
		return;
	c->events = ev;
	e.events = ev;
	e.data.ptr = &c->w;
	epoll_ctl(c->s->l->epfd, EPOLL_CTL_MOD, c->fd, &e);
}

static struct nbdsrv_conn *conn_new(struct nbdsrv *s, int fd, bool kernel)
{
	struct nbdsrv_conn *c = calloc(1, sizeof *c);

	if (!c)
		return NULL;
	c->s = s;
	c->fd = fd;
	c->kernel = kernel;
	c->reading = true;
	c->outq_tail = &c->outq;
	c->w.fd = fd;
	c->w.fn = conn_io;
	c->w.ctx = c;
	c->events = EPOLLIN;
	if (kernel)
		nbdw_init_transmission(&c->nw, &s->exp);
	else
		nbdw_init(&c->nw, &s->exp);
	if (c->nw.outlen)
		c->events |= EPOLLOUT;
	if (loop_add(s->l, &c->w, c->events) < 0) {
		free(c);
		return NULL;
	}
	c->watched = true;
	c->next = s->conns;
	s->conns = c;
	s->clients++;
	return c;
}

static void nreq_free(struct nbdsrv_conn *c, struct nreq *q)
{
	c->nreqs--;
	if (q->buf)
		c->bytes -= q->len;
	free(q->buf);
	free(q);
}

static void unwatch(struct nbdsrv_conn *c)
{
	if (c->watched)
		loop_del(c->s->l, &c->w);
	c->watched = false;
}

static void conn_free(struct nbdsrv_conn *c)
{
	struct nbdsrv *s = c->s;
	bool kernel = c->kernel;

	for (struct nbdsrv_conn **pp = &s->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	unwatch(c);
	close(c->fd);
	free(c);
	if (kernel && s->on_kernel_gone)
		s->on_kernel_gone(s);
	if (s->stopping && !s->conns && s->on_idle)
		s->on_idle(s);
}

/* Free the connection once nothing of it is left in the engine and its
 * replies are out (or can never go out).  Returns whether it did. */
static bool conn_maybe_free(struct nbdsrv_conn *c)
{
	if (c->reading || c->nreqs)
		return false;
	if (!c->broken && c->nw.outlen)
		return false;
	conn_free(c);
	return true;
}

static void drop_payload(struct nbdsrv_conn *c)
{
	if (!c->payload)
		return;
	nreq_free(c, c->payload);
	c->payload = NULL;
}

/* No more requests from this connection (EOF, DISC, a broken client, a
 * read error, stop): what is in hand is finished and answered. */
static void conn_stop_reading(struct nbdsrv_conn *c, const char *why, bool bad)
{
	if (!c->reading)
		return;
	c->reading = false;
	if (bad) {
		c->s->bad_clients++;
		log_warn("nbd client closed: %s", why);
	}
	drop_payload(c);	/* a write whose payload will never come */
}

/* Nothing can be sent any more: drop the replies waiting. */
static void conn_break(struct nbdsrv_conn *c)
{
	c->broken = true;
	while (c->outq) {
		struct nreq *q = c->outq;

		c->outq = q->next;
		nreq_free(c, q);
	}
	c->outq_tail = &c->outq;
}

/* ------------------------------------------------------------ requests */

static void reply_queue(struct nbdsrv_conn *c, struct nreq *q)
{
	nbdw_simple_reply(q->hdr, q->handle, q->error);
	if (q->error)
		c->s->nbd_errors++;
	if (c->broken) {
		nreq_free(c, q);
		return;
	}
	q->next = NULL;
	*c->outq_tail = q;
	c->outq_tail = &q->next;
}

static void req_done(struct blk_req *br, int error)
{
	struct nreq *q = br->ctx;
	struct nbdsrv_conn *c = q->c;

	q->error = error ? NBD_EIO : 0;
	q->with_data = !error && br->op == BLK_READ;
	if (q->buf && !q->with_data) {
		c->bytes -= q->len;
		free(q->buf);
		q->buf = NULL;
	}
	reply_queue(c, q);
	conn_flush(c);
}

static void submit(struct nbdsrv_conn *c, struct nreq *q, enum blk_op op, bool fua,
		   uint64_t offset)
{
	q->br.op = op;
	q->br.fua = fua;
	q->br.lba = offset / ATA_SECTOR;
	q->br.nsect = q->len / ATA_SECTOR;
	q->br.data = q->buf;
	q->br.done = req_done;
	q->br.ctx = q;
	blk_submit(c->s->b, &q->br);
}

/* A parsed request: answer it at once (refused, empty) or hand it on. */
static void take_request(struct nbdsrv_conn *c, const struct nbdw_req *r)
{
	struct nreq *q = calloc(1, sizeof *q);

	c->s->nbd_requests++;
	if (!q) {
		conn_stop_reading(c, "out of memory", false);
		return;
	}
	q->c = c;
	q->handle = r->handle;
	q->len = r->len;
	q->error = (uint32_t)r->error;
	c->nreqs++;
	if (q->error || (r->type != NBD_CMD_FLUSH && r->len == 0)) {
		/* a refused write's payload is skipped by nbdwire */
		reply_queue(c, q);
		return;
	}
	if (r->type != NBD_CMD_FLUSH) {
		q->buf = malloc(r->len);
		if (!q->buf) {
			nreq_free(c, q);
			conn_stop_reading(c, "out of memory", false);
			return;
		}
		c->bytes += r->len;
	}
	if (r->type == NBD_CMD_WRITE) {
		c->payload = q;
		c->payload_got = 0;
		c->payload_fua = r->flags & NBD_CMD_FLAG_FUA;
		c->payload_off = r->offset;
		return;
	}
	submit(c, q, r->type == NBD_CMD_READ ? BLK_READ : BLK_FLUSH, false, r->offset);
}

static void payload_in(struct nbdsrv_conn *c, size_t n)
{
	struct nreq *q = c->payload;

	c->payload_got += n;
	if (c->payload_got < q->len)
		return;
	c->payload = NULL;
	nbdw_payload_done(&c->nw);
	submit(c, q, BLK_WRITE, c->payload_fua, c->payload_off);
}

/* Take what the input buffer holds, as far as the limits allow. */
static void parse_input(struct nbdsrv_conn *c)
{
	while (c->reading && c->inoff < c->inlen) {
		struct nbdw_req r;
		enum nbdw_event ev;
		size_t n;

		if (c->payload) {
			size_t want = c->payload->len - c->payload_got;

			n = c->inlen - c->inoff < want ? c->inlen - c->inoff : want;
			memcpy(c->payload->buf + c->payload_got, c->in + c->inoff, n);
			c->inoff += n;
			payload_in(c, n);
			continue;
		}
		if (c->nreqs >= NBDSRV_MAX_REQS || c->bytes >= NBDSRV_MAX_BYTES)
			return;
		n = nbdw_feed(&c->nw, c->in + c->inoff, c->inlen - c->inoff, &r, &ev);
		c->inoff += n;
		switch (ev) {
		case NBDW_EV_NONE:
			if (!n)
				return;	/* its output must go first */
			break;
		case NBDW_EV_REQ:
			take_request(c, &r);
			break;
		case NBDW_EV_DISC:
			conn_stop_reading(c, "disconnect", false);
			break;
		case NBDW_EV_CLOSE:
			conn_stop_reading(c, c->nw.why, strcmp(c->nw.why, "client aborted") != 0);
			break;
		}
	}
}

static void conn_read(struct nbdsrv_conn *c)
{
	for (int round = 0; round < 64 && c->reading; round++) {
		ssize_t n;

		parse_input(c);
		if (!c->reading || c->inoff < c->inlen)
			break;	/* done, or paused: the rest waits */
		c->inoff = c->inlen = 0;
		if (c->payload)	/* beyond the buffer: straight into place */
			n = read(c->fd, c->payload->buf + c->payload_got,
				 c->payload->len - c->payload_got);
		else
			n = read(c->fd, c->in, sizeof c->in);
		if (n > 0) {
			if (c->payload)
				payload_in(c, (size_t)n);
			else
				c->inlen = (size_t)n;
			continue;
		}
		if (n == 0)
			conn_stop_reading(c, c->payload ? "client left in the middle of a write"
							: "client closed the connection",
					  c->payload != NULL);
		else if (errno != EAGAIN && errno != EINTR)
			conn_stop_reading(c, strerror(errno), false);
		break;
	}
}

/* ------------------------------------------------------------- output */

static void conn_flush(struct nbdsrv_conn *c)
{
	while (!c->broken) {
		struct nreq *q = c->outq;
		struct iovec iov[2];
		int niov = 0;
		ssize_t n;

		if (c->nw.outlen) {
			n = write(c->fd, c->nw.out, c->nw.outlen);
			if (n < 0)
				goto err;
			nbdw_out_sent(&c->nw, (size_t)n);
			continue;
		}
		if (!q)
			break;
		if (q->sent < NBDW_REPLY_LEN) {
			iov[niov].iov_base = q->hdr + q->sent;
			iov[niov++].iov_len = NBDW_REPLY_LEN - q->sent;
		}
		if (q->with_data) {
			size_t off = q->sent > NBDW_REPLY_LEN ? q->sent - NBDW_REPLY_LEN : 0;

			iov[niov].iov_base = q->buf + off;
			iov[niov++].iov_len = q->len - off;
		}
		n = writev(c->fd, iov, niov);
		if (n < 0)
			goto err;
		q->sent += (size_t)n;
		if (q->sent < NBDW_REPLY_LEN + (q->with_data ? q->len : 0))
			continue;
		c->outq = q->next;
		if (!c->outq)
			c->outq_tail = &c->outq;
		nreq_free(c, q);
	}
	goto done;
err:
	if (errno != EAGAIN && errno != EINTR) {
		conn_stop_reading(c, strerror(errno), false);
		conn_break(c);
	}
done:
	if (conn_maybe_free(c))
		return;
	conn_events(c);
	/* replies went out: a paused connection may take more */
	if (c->reading && c->inoff < c->inlen) {
		parse_input(c);
		conn_events(c);
	}
}

static void conn_io(struct loop_watch *w, uint32_t events)
{
	struct nbdsrv_conn *c = w->ctx;

	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		conn_read(c);
	if (events & (EPOLLHUP | EPOLLERR)) {
		/* the peer is gone both ways: epoll would report it for
		 * ever; finish what is in the engine unwatched */
		conn_stop_reading(c, "hang-up", false);
		conn_break(c);
		unwatch(c);
	}
	conn_flush(c);
}

/* ------------------------------------------------------------ sockets */

static void accept_ready(struct loop_watch *w, uint32_t events)
{
	struct nbdsrv *s = w->ctx;

	(void)events;
	for (;;) {
		int fd = accept4(s->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (s->stopping || !conn_new(s, fd, false)) {
			close(fd);
			continue;
		}
		conn_flush(s->conns);	/* the greeting */
	}
}

int nbdsrv_listen(struct nbdsrv *s, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int rc;

	if (strlen(path) >= sizeof sa.sun_path)
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	/* a socket left by an earlier run; never anything else */
	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
		unlink(path);
	s->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->lfd < 0)
		return -errno;
	if (bind(s->lfd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(s->lfd, 16) < 0) {
		rc = -errno;
		close(s->lfd);
		s->lfd = -1;
		return rc;
	}
	s->path = strdup(path);
	s->lw.fd = s->lfd;
	s->lw.fn = accept_ready;
	s->lw.ctx = s;
	return loop_add(s->l, &s->lw, EPOLLIN);
}

int nbdsrv_add_kernel(struct nbdsrv *s, int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return conn_new(s, fd, true) ? 0 : -ENOMEM;
}

static void close_listener(struct nbdsrv *s)
{
	if (s->lfd < 0)
		return;
	loop_del(s->l, &s->lw);
	close(s->lfd);
	s->lfd = -1;
	if (s->path)
		unlink(s->path);
}

void nbdsrv_stop(struct nbdsrv *s)
{
	struct nbdsrv_conn *c, *next;

	s->stopping = true;
	close_listener(s);
	for (c = s->conns; c; c = next) {
		next = c->next;
		/* the kernel's connection ends with its NBD_CMD_DISC, after
		 * the owner asked it to disconnect */
		if (c->kernel)
			continue;
		conn_stop_reading(c, "stopping", false);
		conn_flush(c);
	}
	if (!s->conns && s->on_idle)
		s->on_idle(s);
}

void nbdsrv_free(struct nbdsrv *s)
{
	close_listener(s);
	free(s->path);
	s->path = NULL;
}
