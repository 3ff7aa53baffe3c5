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
	struct session_probe p;
	char idbuf[16];
	const char *id = a->id;
	int rc;

	if (argc != 1)
		return cli_usage_error("usage: probe TARGET [--burst N] [--id ID] [-W MS]");
	if ((rc = session_parse_target(s, argv[0])))
		return rc;
	if (!id) {
		snprintf(idbuf, sizeof idbuf, "%u", session_random_u32());
		id = idbuf;
	}
	if ((rc = session_contact(s, false, NULL)))
		return rc;
	rc = session_probe(s, id, a->burst, a->wait_ms, &p);
	if (rc != AOEX_OK)
		return rc;
	printf("id=%s burst=%llu replied=%u first_reply_ms=%lld window=%u\n", id,
	       (unsigned long long)a->burst, p.replied, p.first_ms, p.replied);
	if (p.first_ms < 0) {
		rc = session_no_reply(s);
	} else if (p.first_err) {
		cli_print_aoe_error(stdout, p.first_err & 0xFF);
		rc = AOEX_TARGET_ERROR;
	}
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
