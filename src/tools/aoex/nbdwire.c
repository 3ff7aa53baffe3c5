/* nbdwire.c - the NBD server protocol as a state machine (see nbdwire.h). */
#include "config.h"
#include "tools/aoex/nbdwire.h"
#include "proto/wire.h"

#include <string.h>

/* room an option's reply may need: the largest is INFO/GO with every info
 * block (export 12, name and description 2 + 64 each, block size 14, each
 * behind a 20-byte reply header) and the final ACK */
#define OPT_REPLY_ROOM	512u

static void out_put(struct nbdw *w, const void *p, size_t n)
{
	/* callers check the room first (OPT_REPLY_ROOM before each option) */
	if (n > NBDW_OUT_MAX - w->outlen)
		n = NBDW_OUT_MAX - w->outlen;
	memcpy(w->out + w->outlen, p, n);
	w->outlen += n;
}

void nbdw_init(struct nbdw *w, const struct nbdw_export *exp)
{
	uint8_t g[18];

	memset(w, 0, sizeof *w);
	w->exp = exp;
	w->st = NBDW_CLIENT_FLAGS;
	put_be64(g, NBD_MAGIC_INIT);
	put_be64(g + 8, NBD_MAGIC_OPT);
	put_be16(g + 16, NBD_HS_FIXED | NBD_HS_NO_ZEROES);
	out_put(w, g, sizeof g);
}

void nbdw_init_transmission(struct nbdw *w, const struct nbdw_export *exp)
{
	memset(w, 0, sizeof *w);
	w->exp = exp;
	w->st = NBDW_REQ_HDR;
}

bool nbdw_transmitting(const struct nbdw *w)
{
	return w->st == NBDW_REQ_HDR || w->st == NBDW_PAYLOAD || w->st == NBDW_SKIP;
}

void nbdw_out_sent(struct nbdw *w, size_t n)
{
	if (n >= w->outlen) {
		w->outlen = 0;
		return;
	}
	memmove(w->out, w->out + n, w->outlen - n);
	w->outlen -= n;
}

void nbdw_payload_done(struct nbdw *w)
{
	if (w->st == NBDW_PAYLOAD)
		w->st = NBDW_REQ_HDR;
}

void nbdw_simple_reply(uint8_t out[NBDW_REPLY_LEN], uint64_t handle, uint32_t error)
{
	put_be32(out, NBD_MAGIC_SIMPLE);
	put_be32(out + 4, error);
	put_be64(out + 8, handle);
}

/* ------------------------------------------------------------ options */

static void opt_reply(struct nbdw *w, uint32_t type, const void *data, uint32_t len)
{
	uint8_t h[20];

	put_be64(h, NBD_MAGIC_REP);
	put_be32(h + 8, w->opt);
	put_be32(h + 12, type);
	put_be32(h + 16, len);
	out_put(w, h, sizeof h);
	if (len)
		out_put(w, data, len);
}

/* Whether name (len bytes) selects our export: its name, or "" (the
 * default export every client asks for first). */
static bool name_matches(const struct nbdw *w, const uint8_t *name, uint32_t len)
{
	return len == 0 || (len == strlen(w->exp->name) && memcmp(name, w->exp->name, len) == 0);
}

static void info_string(struct nbdw *w, uint16_t type, const char *s)
{
	uint8_t b[2 + NBDW_NAME_MAX];
	size_t n = strnlen(s, NBDW_NAME_MAX);

	put_be16(b, type);
	memcpy(b + 2, s, n);
	opt_reply(w, NBD_REP_INFO, b, (uint32_t)(2 + n));
}

/* NBD_OPT_INFO and NBD_OPT_GO: name length, name, the count of
 * information requests, the requests.  Returns whether GO succeeded. */
static bool opt_info_go(struct nbdw *w)
{
	const uint8_t *d = w->optbuf;
	uint32_t len = w->optlen, nlen, nreq;
	bool want_name = false, want_desc = false, want_bs = false;
	uint8_t b[14];

	if (len < 6)
		goto invalid;
	nlen = get_be32(d);
	if (nlen > len - 6)
		goto invalid;
	nreq = get_be16(d + 4 + nlen);
	if (len != 6 + nlen + 2 * nreq)
		goto invalid;
	for (uint32_t i = 0; i < nreq; i++) {
		uint16_t t = get_be16(d + 6 + nlen + 2 * i);

		want_name |= t == NBD_INFO_NAME;
		want_desc |= t == NBD_INFO_DESCRIPTION;
		want_bs |= t == NBD_INFO_BLOCK_SIZE;
	}
	if (!name_matches(w, d + 4, nlen)) {
		opt_reply(w, NBD_REP_ERR_UNKNOWN, "no such export", 14);
		return false;
	}
	put_be16(b, NBD_INFO_EXPORT);
	put_be64(b + 2, w->exp->size);
	put_be16(b + 10, w->exp->flags);
	opt_reply(w, NBD_REP_INFO, b, 12);
	if (want_name)
		info_string(w, NBD_INFO_NAME, w->exp->name);
	if (want_desc)
		info_string(w, NBD_INFO_DESCRIPTION, w->exp->desc);
	if (want_bs) {
		put_be16(b, NBD_INFO_BLOCK_SIZE);
		put_be32(b + 2, NBDW_MIN_BLOCK);
		put_be32(b + 6, NBDW_PREF_BLOCK);
		put_be32(b + 10, NBDW_MAX_BLOCK);
		opt_reply(w, NBD_REP_INFO, b, 14);
	}
	opt_reply(w, NBD_REP_ACK, NULL, 0);
	return w->opt == NBD_OPT_GO;
invalid:
	opt_reply(w, NBD_REP_ERR_INVALID, "malformed request", 17);
	return false;
}

/* The option in w->opt with its data complete.  Returns an event. */
static enum nbdw_event do_option(struct nbdw *w)
{
	uint8_t b[4 + NBDW_NAME_MAX];
	size_t n;

	w->options++;
	if (w->optlen > NBDW_OPT_MAX) {	/* its data was skipped */
		if (w->opt == NBD_OPT_EXPORT_NAME) {
			w->why = "export name too long";
			return NBDW_EV_CLOSE;
		}
		opt_reply(w, NBD_REP_ERR_TOO_BIG, NULL, 0);
		return NBDW_EV_NONE;
	}
	switch (w->opt) {
	case NBD_OPT_EXPORT_NAME:
		/* cannot be refused with a reply: an unknown name closes */
		if (!name_matches(w, w->optbuf, w->optlen)) {
			w->why = "unknown export name";
			return NBDW_EV_CLOSE;
		}
		put_be64(b, w->exp->size);
		put_be16(b + 8, w->exp->flags);
		out_put(w, b, 10);
		if (!w->no_zeroes) {
			static const uint8_t zeroes[124];

			out_put(w, zeroes, sizeof zeroes);
		}
		w->st = NBDW_REQ_HDR;
		return NBDW_EV_NONE;
	case NBD_OPT_ABORT:
		opt_reply(w, NBD_REP_ACK, NULL, 0);
		w->why = "client aborted";
		return NBDW_EV_CLOSE;
	case NBD_OPT_LIST:
		if (w->optlen) {
			opt_reply(w, NBD_REP_ERR_INVALID, NULL, 0);
			return NBDW_EV_NONE;
		}
		n = strnlen(w->exp->name, NBDW_NAME_MAX);
		put_be32(b, (uint32_t)n);
		memcpy(b + 4, w->exp->name, n);
		opt_reply(w, NBD_REP_SERVER, b, (uint32_t)(4 + n));
		opt_reply(w, NBD_REP_ACK, NULL, 0);
		return NBDW_EV_NONE;
	case NBD_OPT_INFO:
	case NBD_OPT_GO:
		if (opt_info_go(w))
			w->st = NBDW_REQ_HDR;
		return NBDW_EV_NONE;
	default:
		/* STARTTLS, structured replies, meta contexts, ...: simple
		 * replies without TLS are all this server speaks */
		opt_reply(w, NBD_REP_ERR_UNSUP, NULL, 0);
		return NBDW_EV_NONE;
	}
}

/* ------------------------------------------------------- transmission */

/* The NBD error for a request, 0 when it may be served. */
static int check_request(const struct nbdw *w, const struct nbdw_req *r)
{
	const struct nbdw_export *e = w->exp;
	bool rw = r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE;
	uint16_t allowed = 0;

	if (r->type == NBD_CMD_WRITE && (e->flags & NBD_TF_SEND_FUA))
		allowed = NBD_CMD_FLAG_FUA;
	if (r->type == NBD_CMD_FLUSH && !(e->flags & NBD_TF_SEND_FLUSH))
		return NBD_EINVAL;
	if (!rw && r->type != NBD_CMD_FLUSH)
		return NBD_EINVAL;	/* TRIM, WRITE_ZEROES, ...: not advertised */
	if (r->flags & ~allowed)
		return NBD_EINVAL;
	if (!rw)
		return 0;
	if (r->len > NBDW_MAX_BLOCK)
		return NBD_EINVAL;
	if (r->offset > e->size || r->len > e->size - r->offset)
		return r->type == NBD_CMD_WRITE ? NBD_ENOSPC : NBD_EINVAL;
	if ((r->offset | r->len) % NBDW_MIN_BLOCK)
		return NBD_EINVAL;
	if (r->type == NBD_CMD_WRITE && (e->flags & NBD_TF_READ_ONLY))
		return NBD_EPERM;
	return 0;
}

static enum nbdw_event take_request(struct nbdw *w, struct nbdw_req *r)
{
	if (get_be32(w->hdr) != NBD_MAGIC_REQ) {
		w->why = "bad request magic";
		w->st = NBDW_CLOSED;
		return NBDW_EV_CLOSE;
	}
	r->flags = get_be16(w->hdr + 4);
	r->type = get_be16(w->hdr + 6);
	r->handle = get_be64(w->hdr + 8);
	r->offset = get_be64(w->hdr + 16);
	r->len = get_be32(w->hdr + 24);
	w->requests++;
	if (r->type == NBD_CMD_DISC) {
		w->st = NBDW_CLOSED;
		return NBDW_EV_DISC;
	}
	r->error = check_request(w, r);
	if (r->error)
		w->refused++;
	if (r->type == NBD_CMD_WRITE && r->len) {
		if (r->error) {
			w->skip = r->len;
			w->st = NBDW_SKIP;
		} else {
			w->st = NBDW_PAYLOAD;
		}
	}
	return NBDW_EV_REQ;
}

/* Collect want bytes of a fixed-size field into w->hdr; true once whole. */
static bool gather(struct nbdw *w, const uint8_t *p, size_t n, size_t *used, unsigned want)
{
	size_t take = want - w->hlen;

	if (take > n - *used)
		take = n - *used;
	memcpy(w->hdr + w->hlen, p + *used, take);
	w->hlen += (unsigned)take;
	*used += take;
	if (w->hlen < want)
		return false;
	w->hlen = 0;
	return true;
}

size_t nbdw_feed(struct nbdw *w, const uint8_t *p, size_t n, struct nbdw_req *req,
		 enum nbdw_event *ev)
{
	size_t used = 0;

	*ev = NBDW_EV_NONE;
	while (used < n) {
		switch (w->st) {
		case NBDW_CLIENT_FLAGS:
			if (!gather(w, p, n, &used, 4))
				break;
			if (get_be32(w->hdr) & ~(uint32_t)(NBD_HS_FIXED | NBD_HS_NO_ZEROES)) {
				w->why = "unknown client flags";
				w->st = NBDW_CLOSED;
				*ev = NBDW_EV_CLOSE;
				return used;
			}
			w->no_zeroes = get_be32(w->hdr) & NBD_HS_NO_ZEROES;
			w->st = NBDW_OPT_HDR;
			break;
		case NBDW_OPT_HDR:
			if (w->hlen == 0 && NBDW_OUT_MAX - w->outlen < OPT_REPLY_ROOM)
				return used;	/* the client must read first */
			if (!gather(w, p, n, &used, 16))
				break;
			if (get_be64(w->hdr) != NBD_MAGIC_OPT) {
				w->why = "bad option magic";
				w->st = NBDW_CLOSED;
				*ev = NBDW_EV_CLOSE;
				return used;
			}
			w->opt = get_be32(w->hdr + 8);
			w->optlen = get_be32(w->hdr + 12);
			w->optgot = 0;
			w->st = NBDW_OPT_DATA;
			/* fall through: a zero-length option is complete */
			/* FALLTHROUGH */
		case NBDW_OPT_DATA: {
			uint32_t left = w->optlen - w->optgot;
			size_t take = left < n - used ? left : n - used;

			if (w->optgot < NBDW_OPT_MAX) {
				size_t keep = NBDW_OPT_MAX - w->optgot;

				memcpy(w->optbuf + w->optgot, p + used, take < keep ? take : keep);
			}
			w->optgot += (uint32_t)take;
			used += take;
			if (w->optgot < w->optlen)
				break;
			w->st = NBDW_OPT_HDR;
			*ev = do_option(w);
			if (*ev != NBDW_EV_NONE) {
				w->st = NBDW_CLOSED;
				return used;
			}
			break;
		}
		case NBDW_REQ_HDR:
			if (!gather(w, p, n, &used, NBDW_REQ_LEN))
				break;
			*ev = take_request(w, req);
			return used;
		case NBDW_SKIP: {
			size_t take = w->skip < n - used ? (size_t)w->skip : n - used;

			w->skip -= take;
			used += take;
			if (!w->skip)
				w->st = NBDW_REQ_HDR;
			break;
		}
		case NBDW_PAYLOAD:
		case NBDW_CLOSED:
			return used;
		}
	}
	return used;
}
