/* extcmd.c - aoex's AoEde Extensions commands: ext (one request, the reply
 * printed) and probe (the congestion probe). */
#include "config.h"
#include "tools/aoex/commands.h"
#include "tools/aoex/cli.h"
#include "tools/aoex/session.h"
#include "proto/aoe.h"
#include "proto/ext.h"
#include "proto/request.h"
#include "common/util.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

/* ----------------------------------------------------------------- ext */

/* The reply table, one string per line as it came back, then the names
 * the target upper-cased, lowercased. */
static void print_ext_reply(const struct aoex_ext_reply *r)
{
	struct req_ext_str st;
	bool first = true;
	size_t pos = 0;

	while (req_ext_next(&r->p, &pos, &st)) {
		cli_print_escaped(stdout, st.s, st.len);
		putchar('\n');
	}
	fputs("active=", stdout);
	for (pos = 0; req_ext_next(&r->p, &pos, &st);) {
		if (!st.active)
			continue;
		if (!first)
			putchar(',');
		first = false;
		for (size_t j = 0; j < st.len; j++)
			putchar(tolower(st.s[j]));
	}
	putchar('\n');
	fflush(stdout);
}

struct ext_args {
	char *raw;		/* --raw-table HEX */
	uint64_t lenfield;	/* --len; UINT64_MAX: not given */
};

static int extcmd_ext(struct session *s, void *args, int argc, char **argv)
{
	static const char usage[] = "usage: ext TARGET NAME... | ext TARGET --raw-table HEX [--len N]";
	struct ext_args *a = args;
	size_t cap = aoex_frame_cap(&s->c), tlen = 0;
	bool have_len = a->lenfield != UINT64_MAX;
	uint64_t lenfield = a->lenfield;
	struct aoex_ext_reply r = { 0 };
	uint8_t *table = NULL;
	unsigned tries;
	int rc;

	if (argc < 1 || (a->raw && argc != 1) || (!a->raw && argc < 2))
		return cli_usage_error("%s", usage);
	if (have_len && !a->raw)
		return cli_usage_error("ext: --len needs --raw-table");
	if ((rc = session_parse_target(s, argv[0])))
		return rc;
	table = malloc(cap);
	if (!table)
		return cli_local_error("out of memory");
	if (a->raw) {
		if (cli_parse_hex(a->raw, table, cap - EXT_OFF_TABLE, &tlen) < 0) {
			rc = cli_usage_error("ext: bad --raw-table '%s' (hex, at most %zu bytes)",
					     a->raw, cap - EXT_OFF_TABLE);
			goto out;
		}
		if (!have_len)
			lenfield = tlen;
		tries = 1;	/* a bad table gets no reply by design */
	} else {
		const char *const *names = (const char *const *)argv + 1;
		unsigned n = (unsigned)(argc - 1);

		for (unsigned i = 0; i < n; i++)
			if (!*names[i]) {
				rc = cli_usage_error("ext: empty NAME (it would end the table)");
				goto out;
			}
		tlen = ext_table_build(names, n, table, cap - EXT_OFF_TABLE);
		if (!tlen) {
			rc = cli_usage_error("ext: the names do not fit one frame of %s",
					     s->c.rs.ifname);
			goto out;
		}
		lenfield = tlen;
		tries = s->c.retries + 1;
	}
	if ((rc = session_contact(s, false, NULL)))
		goto out;
	rc = aoex_ext_request(&s->c, aoex_new_tag(&s->c), table, tlen, (uint16_t)lenfield, tries,
			      &r);
	if (rc != AOEX_OK) {
		rc = session_result(s, rc, "ext");
	} else if (r.p.flags & AOE_FLAG_E) {
		cli_print_aoe_error(stdout, r.p.error);
		rc = AOEX_TARGET_ERROR;
	} else {
		print_ext_reply(&r);
		if (r.p.malformed) {
			fprintf(stderr, "aoex: ext: malformed reply (table length %u, sent %llu)\n",
				r.p.len, (unsigned long long)lenfield);
			rc = AOEX_TARGET_ERROR;
		}
	}
out:
	aoex_ext_reply_free(&r);
	free(table);
	return rc;
}

static const struct opt ext_opts[] = {
	OPT_STR("raw-table", 0, struct ext_args, raw),
	OPT_UINT("len", 0, struct ext_args, lenfield, 0, 0xFFFF, "bad --len", NULL),
};
static struct ext_args ext_args = { .lenfield = UINT64_MAX };
const struct cmd extcmd_cmd_ext = {
	.name = "ext", CMD_OPTS(ext_opts), .args = &ext_args, .run = extcmd_ext,
};

/* --------------------------------------------------------------- probe */

static uint32_t random_u32(void)
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
	unsigned replied, taken, first_err;
	long long first_ms;
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
		p->first_ms = (long long)((now_ns() - p->t0 + 500000) / 1000000);
		if (f[AOE_OFF_VERFLAGS] & AOE_FLAG_E)
			p->first_err = f[AOE_OFF_ERROR] ? f[AOE_OFF_ERROR] : 256;
	} else if (!(f[AOE_OFF_VERFLAGS] & AOE_FLAG_E)) {
		p->replied++;
	}
	return p->taken > p->burst;
}

struct probe_args {
	uint64_t burst, wait_ms;
	char *id;
};

static int opt_id(void *args, char *arg)
{
	struct probe_args *a = args;

	if (!*arg)
		return cli_usage_error("probe: empty --id");
	a->id = arg;
	return AOEX_OK;
}

static int extcmd_probe(struct session *s, void *args, int argc, char **argv)
{
	struct probe_args *a = args;
	size_t cap = aoex_frame_cap(&s->c), tlen, flen;
	struct probe p = { .c = &s->c, .burst = a->burst, .first_ms = -1 };
	char idbuf[16];
	const char *id = a->id, *names[2];
	uint8_t *table = NULL, *f = NULL, *rep = NULL;
	int rc;

	if (argc != 1)
		return cli_usage_error("usage: probe TARGET [--burst N] [--id ID] [-W MS]");
	if ((rc = session_parse_target(s, argv[0])))
		return rc;
	if (!id) {
		snprintf(idbuf, sizeof idbuf, "%u", random_u32());
		id = idbuf;
	}
	names[0] = "congestion";
	names[1] = id;
	table = malloc(cap);
	f = malloc(cap);
	rep = malloc(cap);
	p.tags = calloc(p.burst + 1, sizeof *p.tags);
	p.got = calloc(p.burst + 1, sizeof *p.got);
	if (!table || !f || !rep || !p.tags || !p.got) {
		rc = cli_local_error("out of memory");
		goto out;
	}
	tlen = ext_table_build(names, 2, table, cap - EXT_OFF_TABLE);
	if (!tlen) {
		rc = cli_usage_error("probe: --id does not fit a frame");
		goto out;
	}
	if ((rc = session_contact(s, false, NULL)))
		goto out;
	/* the first probe, then at once the burst: same id, distinct tags */
	for (uint64_t i = 0; i <= p.burst; i++) {
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
	rc = aoex_collect(&s->c, rep, cap, p.t0 + a->wait_ms * 1000000, take_probe_reply, &p);
	if (rc < 0) {
		rc = cli_local_error("receive: %s", strerror(-rc));
		goto out;
	}
	rc = AOEX_OK;
	printf("id=%s burst=%llu replied=%u first_reply_ms=%lld window=%u\n", id,
	       (unsigned long long)p.burst, p.replied, p.first_ms, p.replied);
	if (p.first_ms < 0) {
		rc = session_no_reply(s);
	} else if (p.first_err) {
		cli_print_aoe_error(stdout, p.first_err & 0xFF);
		rc = AOEX_TARGET_ERROR;
	}
out:
	free(table);
	free(f);
	free(rep);
	free(p.tags);
	free(p.got);
	return rc;
}

static const struct opt probe_opts[] = {
	OPT_UINT("burst", 0, struct probe_args, burst, 0, 1024, "bad --burst", NULL),
	OPT_CALL("id", 0, opt_id),
	OPT_UINT("wait", 'W', struct probe_args, wait_ms, 0, 3600000, "bad wait time", NULL),
};
static struct probe_args probe_args = { .burst = 64, .wait_ms = 1500 };
const struct cmd extcmd_cmd_probe = {
	.name = "probe", CMD_OPTS(probe_opts), .args = &probe_args, .run = extcmd_probe,
};
