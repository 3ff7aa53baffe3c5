/* session.c - aoex's dealings with its target around the commands (see
 * session.h). */
#include "config.h"
#include "tools/aoex/session.h"
#include "tools/aoex/cli.h"
#include "proto/aoe.h"
#include "proto/crc8x4.h"
#include "proto/frame.h"
#include "proto/wire.h"
#include "proto/ext.h"
#include "common/util.h"

#include <errno.h>
#include <sys/random.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

int session_parse_target(struct session *s, const char *arg)
{
	uint64_t shelf, slot;
	char buf[32], *dot;

	if (arg[0] == 'e')	/* accept the e1.2 form aoex prints */
		arg++;
	if (strlen(arg) >= sizeof buf)
		return cli_usage_error("bad TARGET '%s' (want SHELF.SLOT)", arg);
	strcpy(buf, arg);
	dot = strchr(buf, '.');
	if (!dot)
		return cli_usage_error("bad TARGET '%s' (want SHELF.SLOT)", arg);
	*dot = '\0';
	if (parse_uint(buf, 0, AOE_SHELF_ANY, &shelf) < 0 ||
	    parse_uint(dot + 1, 0, AOE_SLOT_ANY, &slot) < 0)
		return cli_usage_error("bad TARGET '%s' (want SHELF.SLOT, shelf 0..65535, slot 0..255)",
				       arg);
	s->c.to.shelf = (uint16_t)shelf;
	s->c.to.slot = (uint8_t)slot;
	s->bcast_target = shelf == AOE_SHELF_ANY || slot == AOE_SLOT_ANY;
	return AOEX_OK;
}

int session_no_reply(const struct session *s)
{
	fprintf(stderr, "aoex: no reply from e%u.%u\n", s->c.to.shelf, s->c.to.slot);
	return AOEX_NO_REPLY;
}

int session_result(const struct session *s, int rc, const char *what)
{
	if (rc < 0)
		return cli_local_error("%s: %s", what, strerror(-rc));
	if (rc == AOEX_NO_REPLY)
		return session_no_reply(s);
	return rc;
}

/* ---------------------------------------------------------- extensions */

int session_want_ext(struct session *s, const char *name)
{
	for (unsigned i = 0; i < s->o.next; i++)
		if (strcmp(s->o.ext[i], name) == 0)
			return AOEX_OK;
	if (s->o.next == SESSION_MAX_EXT)
		return cli_usage_error("too many extension names (at most %d)", SESSION_MAX_EXT);
	s->o.ext[s->o.next++] = name;
	return AOEX_OK;
}

int session_setup_coalesce(struct session *s, const char *cmd, unsigned n)
{
	unsigned max = aoex_coalesce_max(&s->c);

	if (n > max)
		return cli_usage_error("%s: --coalesce %u does not fit a frame of %s (at most %u)",
				       cmd, n, s->c.rs.ifname, max);
	return n > 1 ? session_want_ext(s, "coalesced_read") : AOEX_OK;
}

/* The -x negotiation: one Extensions exchange with every name of the list.
 * Reports failures on stderr. */
static int negotiate_ext(struct session *s)
{
	struct aoex_ext_reply r;
	int rc;

	if (!s->o.next)
		return AOEX_OK;
	rc = aoex_ext_negotiate(&s->c, s->o.ext, s->o.next, &r);
	if (rc < 0) {
		rc = cli_local_error("extensions: %s", strerror(-rc));
	} else if (rc == AOEX_NO_REPLY) {
		fprintf(stderr, "aoex: extensions: no reply from e%u.%u\n", s->c.to.shelf,
			s->c.to.slot);
	} else if (rc != AOEX_OK) {
		fputs("aoex: extensions: ", stderr);
		if (r.p.flags & AOE_FLAG_E) {
			fprintf(stderr, "target refused the Extensions command: aoe_error=%u (%s)\n",
				r.p.error, aoex_error_name(r.p.error));
		} else if (r.p.malformed || r.p.nstr != s->o.next) {
			size_t sent = 1;

			for (unsigned i = 0; i < s->o.next; i++)
				sent += strlen(s->o.ext[i]) + 1;
			fprintf(stderr, "malformed reply (table length %u, sent %zu)\n", r.p.len, sent);
		} else {
			fputs("target did not activate ", stderr);
			for (unsigned i = 0; i < r.missing; i++)
				fprintf(stderr, "%s%s", i ? "," : "", r.missing_name[i]);
			fputc('\n', stderr);
		}
	}
	aoex_ext_reply_free(&r);
	return rc;
}

int session_contact(struct session *s, bool want_spf, unsigned *spf)
{
	bool learn_mac = !s->o.have_dst && !s->bcast_target;
	bool need_spf = want_spf && !s->o.sectors;
	struct req_qc_reply qc;
	int rc;

	if (spf)
		*spf = (unsigned)s->o.sectors;
	if (!learn_mac && !need_spf)
		return negotiate_ext(s);
	rc = aoex_query(&s->c, learn_mac, &qc);
	if (rc != AOEX_OK)
		return session_result(s, rc, "query config");
	if (need_spf) {
		unsigned cap = aoex_mtu_sectors(&s->c);

		*spf = qc.scnt < cap ? qc.scnt : cap;
		if (*spf == 0)
			*spf = 1;
	}
	return negotiate_ext(s);
}

/* ----------------------------------------------------------------- ATA */

int session_ata(struct session *s, const struct session_ata *q, struct req_ata_reply *r,
		uint8_t *data, size_t datamax)
{
	size_t len = ATA_HDR_LEN + q->datalen, cap = aoex_frame_cap(&s->c), flen;
	uint8_t *req, *rep;
	ssize_t n;

	if (len > cap)
		return cli_local_error("frame of %zu bytes exceeds the MTU of %s", len,
				       s->c.rs.ifname);
	/* one buffer: the request (cap, which holds the 60-byte minimum),
	 * then the reply */
	req = malloc(2 * cap);
	if (!req)
		return cli_local_error("out of memory");
	rep = req + cap;
	flen = req_ata(req, cap, &s->c.to, q->ctl ? aoex_ctl_tag(&s->c) : aoex_new_tag(&s->c),
		       &q->regs, q->data, q->datalen);
	/* crc8x4: a write carries its check (the frame has room: cap holds
	 * MTU + 14 bytes, a frame of data at most MTU) */
	if (s->c.crc8x4 && (q->regs.cmd == ATA_WRITE || q->regs.cmd == ATA_WRITE_EXT) &&
	    len + CRC8X4_LEN <= cap)
		flen = aoe_pad(req, crc8x4_append(req, len));
	n = aoex_exchange(&s->c, req, flen, s->c.retries + 1, rep, cap);
	if (n > 0) {
		req_parse_ata(rep, (size_t)n, r);
		if (data && (size_t)n > ATA_HDR_LEN)
			memcpy(data, rep + ATA_OFF_DATA,
			       (size_t)n - ATA_HDR_LEN < datamax ? (size_t)n - ATA_HDR_LEN : datamax);
	}
	free(req);
	if (n <= 0)
		return session_result(s, n < 0 ? (int)n : AOEX_NO_REPLY, "ata");
	return AOEX_OK;
}

int session_identify(struct session *s, uint8_t ident[512], FILE *errout, bool ctl)
{
	struct session_ata q = { .regs = { .cmd = ATA_IDENTIFY, .count = 1, .lba48 = true },
				 .ctl = ctl };
	struct req_ata_reply r;
	int rc = session_ata(s, &q, &r, ident, 512);

	if (rc != AOEX_OK)
		return rc;
	if (r.flags & AOE_FLAG_E) {
		cli_print_aoe_error(errout, r.aoe_error);
		return AOEX_TARGET_ERROR;
	}
	if (req_ata_failed(&r)) {
		fprintf(errout, "status=0x%02x error=0x%02x\n", r.status, r.err);
		return AOEX_TARGET_ERROR;
	}
	if (r.len < ATA_HDR_LEN + 512) {
		fprintf(stderr, "aoex: identify: short reply (%zu bytes)\n", r.len);
		return AOEX_TARGET_ERROR;
	}
	return AOEX_OK;
}

uint16_t session_ident_word(const uint8_t *id, unsigned w)
{
	return get_le16(id + 2 * w);
}

uint64_t session_ident_sectors(const uint8_t *id)
{
	if (session_ident_word(id, 83) & (1 << 10))
		return get_le64(id + 200);
	return session_ident_word(id, 60) | (uint32_t)session_ident_word(id, 61) << 16;
}

/* ------------------------------------------------------------ transfers */

int session_report_xfer(struct session *s, int rc, const struct aoex_result *res,
			const char *what, FILE *errout)
{
	const struct req_ata_reply *r = &res->fail;

	if (rc < 0)
		return cli_local_error("%s: %s", what, strerror(-rc));
	if (rc == AOEX_NO_REPLY) {
		fprintf(stderr, "aoex: %s: no reply from e%u.%u for lba %llu after %u tries\n",
			what, s->c.to.shelf, s->c.to.slot, (unsigned long long)res->fail_lba,
			s->c.retries + 1);
		return rc;
	}
	if (rc != AOEX_TARGET_ERROR)
		return rc;
	if (r->flags & AOE_FLAG_E)
		cli_print_aoe_error(errout, r->aoe_error);
	else if (res->fail_short)
		fprintf(stderr, "aoex: %s at lba %llu: short reply (%zu bytes)\n", what,
			(unsigned long long)res->fail_lba, r->len);
	else
		fprintf(errout, "status=0x%02x error=0x%02x lba=%llu\n", r->status, r->err,
			(unsigned long long)res->fail_lba);
	return rc;
}

/* ------------------------------------------------ congestion probe */

uint32_t session_random_u32(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
		return v;
	return (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
}

/* Index of tag in tags[0..n): they come from the counter, so usually at
 * tag - tags[0]. */
static long find_tag(const uint32_t *tags, size_t n, uint32_t tag)
{
	uint32_t d = tag - tags[0];

	if (d < n && tags[d] == tag)
		return (long)d;
	if (d > 0 && d - 1 < n && tags[d - 1] == tag)	/* the counter skipped 0 */
		return (long)(d - 1);
	for (size_t i = 0; i < n; i++)
		if (tags[i] == tag)
			return (long)i;
	return -1;
}

/* The replies to the first probe and its burst. */
struct probe {
	const struct aoex_client *c;
	uint32_t *tags;		/* burst + 1 of them, the first probe's at 0 */
	bool *got;
	uint64_t burst, t0;
	unsigned taken;
	struct session_probe *out;
};

static bool take_probe_reply(void *ctx, const uint8_t *f, size_t len)
{
	struct probe *p = ctx;
	long i;

	if (!req_reply_for(&p->c->to, f, len) || f[AOE_OFF_CMD] != AOE_CMD_EXT)
		return false;
	i = find_tag(p->tags, p->burst + 1, req_tag_get(&p->c->to, f + AOE_OFF_TAG));
	if (i < 0 || p->got[i])
		return false;
	p->got[i] = true;
	p->taken++;
	if (i == 0) {
		p->out->first_ms = (long long)((now_ns() - p->t0 + 500000) / 1000000);
		if (f[AOE_OFF_VERFLAGS] & AOE_FLAG_E)
			p->out->first_err = f[AOE_OFF_ERROR] ? f[AOE_OFF_ERROR] : 256;
	} else if (!(f[AOE_OFF_VERFLAGS] & AOE_FLAG_E)) {
		p->out->replied++;
	}
	return p->taken > p->burst;
}

int session_probe(struct session *s, const char *id, uint64_t burst, uint64_t wait_ms,
		  struct session_probe *out)
{
	size_t cap = aoex_frame_cap(&s->c), tlen, flen;
	struct probe p = { .c = &s->c, .burst = burst, .out = out };
	const char *names[2] = { "congestion", id };
	uint8_t *table = malloc(cap), *f = malloc(cap), *rep = malloc(cap);
	int rc;

	memset(out, 0, sizeof *out);
	out->first_ms = -1;
	p.tags = calloc(burst + 1, sizeof *p.tags);
	p.got = calloc(burst + 1, sizeof *p.got);
	if (!table || !f || !rep || !p.tags || !p.got) {
		rc = cli_local_error("out of memory");
		goto out;
	}
	tlen = ext_table_build(names, 2, table, cap - EXT_OFF_TABLE);
	if (!tlen) {
		rc = cli_usage_error("probe: --id does not fit a frame");
		goto out;
	}
	/* the first probe, then at once the burst: same id, distinct tags */
	for (uint64_t i = 0; i <= burst; i++) {
		p.tags[i] = aoex_new_tag(&s->c);
		flen = req_ext(f, cap, &s->c.to, p.tags[i], table, tlen, (uint16_t)tlen);
		rc = aoex_send(&s->c, f, flen);
		if (rc < 0) {
			rc = cli_local_error("send: %s", strerror(-rc));
			goto out;
		}
		if (i == 0)
			p.t0 = now_ns();
	}
	rc = aoex_collect(&s->c, rep, cap, p.t0 + wait_ms * 1000000, take_probe_reply, &p);
	rc = rc < 0 ? cli_local_error("receive: %s", strerror(-rc)) : AOEX_OK;
out:
	free(table);
	free(f);
	free(rep);
	free(p.tags);
	free(p.got);
	return rc;
}
