/* admin.c - aoex's admin commands: discover, identify, config, mask,
 * reserve and raw. */
#include "config.h"
#include "tools/aoex/commands.h"
#include "tools/aoex/cli.h"
#include "tools/aoex/session.h"
#include "proto/aoe.h"
#include "proto/request.h"
#include "proto/wire.h"
#include "common/util.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* -W MS of discover and raw */
struct wait_args {
	uint64_t wait_ms;
	bool no_eth;		/* raw --no-eth */
};

/* ------------------------------------------------------------ discover */

static int qc_cmp(const void *a, const void *b)
{
	const struct req_qc_reply *x = a, *y = b;

	if (x->shelf != y->shelf)
		return x->shelf < y->shelf ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return memcmp(x->mac, y->mac, 6);
}

/* The distinct Query Config replies to one tag. */
struct configs {
	const struct session *s;
	uint32_t tag;
	struct req_qc_reply *list;
	size_t n, max;
	int rc;
};

static bool qc_seen(const struct configs *cf, const struct req_qc_reply *qc)
{
	for (size_t i = 0; i < cf->n; i++)
		if (qc_cmp(&cf->list[i], qc) == 0)
			return true;
	return false;
}

static bool take_config(void *ctx, const uint8_t *f, size_t len)
{
	struct configs *cf = ctx;
	const struct aoex_client *c = &cf->s->c;
	struct req_qc_reply qc;

	if (!req_reply_for(&c->to, f, len) || f[AOE_OFF_CMD] != AOE_CMD_CONFIG ||
	    req_tag_get(&c->to, f + AOE_OFF_TAG) != cf->tag || !req_parse_qc(f, len, &qc) ||
	    (qc.flags & AOE_FLAG_E) || qc_seen(cf, &qc))
		return false;
	if (cf->n == cf->max) {
		struct req_qc_reply *bigger = realloc(cf->list, 2 * cf->max * sizeof *cf->list);

		if (!bigger) {
			cf->rc = cli_local_error("out of memory");
			return true;
		}
		cf->list = bigger;
		cf->max *= 2;
	}
	cf->list[cf->n++] = qc;
	return false;
}

/* Collect Query Config replies to tag for ms; sorted, distinct. */
static int collect_configs(struct session *s, uint32_t tag, int ms, struct configs *cf)
{
	size_t cap = aoex_frame_cap(&s->c);
	uint8_t *rep = malloc(cap);
	int rc;

	*cf = (struct configs){ .s = s, .tag = tag, .max = 16, .rc = AOEX_OK };
	cf->list = malloc(cf->max * sizeof *cf->list);
	if (!cf->list || !rep) {
		free(rep);
		return cli_local_error("out of memory");
	}
	rc = aoex_collect(&s->c, rep, cap, now_ns() + (uint64_t)ms * 1000000, take_config, cf);
	free(rep);
	if (rc < 0)
		cf->rc = cli_local_error("receive: %s", strerror(-rc));
	if (cf->rc != AOEX_OK)
		return cf->rc;
	qsort(cf->list, cf->n, sizeof *cf->list, qc_cmp);
	return AOEX_OK;
}

static int admin_discover(struct session *s, void *args, int argc, char **argv)
{
	struct wait_args *a = args;
	uint8_t req[AOE_MIN_FRAME];
	struct configs cf;
	uint32_t tag;
	int rc;

	if (argc != 0)
		return cli_usage_error("discover: unexpected argument '%s'", argv[0]);
	s->c.to.shelf = AOE_SHELF_ANY;
	s->c.to.slot = AOE_SLOT_ANY;
	tag = aoex_new_tag(&s->c);
	rc = aoex_send(&s->c, req, req_qc(req, sizeof req, &s->c.to, tag, QC_READ, NULL, 0));
	if (rc < 0)
		return cli_local_error("send: %s", strerror(-rc));
	rc = collect_configs(s, tag, (int)a->wait_ms, &cf);
	if (rc == AOEX_OK)
		for (size_t i = 0; i < cf.n; i++)
			cli_print_config_line(stdout, &cf.list[i]);
	free(cf.list);
	if (rc != AOEX_OK)
		return rc;
	return cf.n ? AOEX_OK : AOEX_NO_REPLY;
}

static const struct opt discover_opts[] = {
	OPT_UINT("wait", 'W', struct wait_args, wait_ms, 0, 3600000, "bad wait time", NULL),
};
static struct wait_args discover_args = { .wait_ms = 1000 };
const struct cmd admin_cmd_discover = {
	.name = "discover", CMD_OPTS(discover_opts), .flags = CMD_NO_EXT, .args = &discover_args,
	.run = admin_discover,
};

/* ------------------------------------------------------------ identify */

/* ATA strings: two characters per word, the first in the high byte. */
static void print_ident_string(const char *key, const uint8_t *id, unsigned word, unsigned nwords)
{
	uint8_t s[80];
	size_t n = 2 * nwords;

	for (unsigned i = 0; i < nwords; i++) {
		s[2 * i] = id[2 * (word + i) + 1];
		s[2 * i + 1] = id[2 * (word + i)];
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\0'))
		n--;
	printf("%s=\"", key);
	cli_print_escaped(stdout, s, n);
	printf("\"\n");
}

struct identify_args {
	bool raw;
};

static int admin_identify(struct session *s, void *args, int argc, char **argv)
{
	struct identify_args *a = args;
	uint8_t id[512];
	int rc;

	if (argc != 1)
		return cli_usage_error("usage: identify TARGET [--raw]");
	if ((rc = session_parse_target(s, argv[0])) || (rc = session_contact(s, false, NULL)))
		return rc;
	rc = session_identify(s, id, a->raw ? stderr : stdout, false);
	if (rc != AOEX_OK)
		return rc;
	if (a->raw)
		return cli_write_full(STDOUT_FILENO, id, sizeof id) < 0 ?
		       cli_local_error("stdout: %s", strerror(errno)) : AOEX_OK;
	printf("sectors=%llu\n", (unsigned long long)session_ident_sectors(id));
	printf("lba48=%d\n", !!(session_ident_word(id, 83) & (1 << 10)));
	print_ident_string("model", id, 27, 20);
	print_ident_string("serial", id, 10, 10);
	print_ident_string("firmware", id, 23, 4);
	printf("flush=%d\n", !!(session_ident_word(id, 83) & (1 << 12)));
	printf("flush_ext=%d\n", !!(session_ident_word(id, 83) & (1 << 13)));
	printf("wcache=%d\n", !!(session_ident_word(id, 85) & (1 << 5)));
	return AOEX_OK;
}

static const struct opt identify_opts[] = {
	OPT_FLAG("raw", 0, struct identify_args, raw),
};
static struct identify_args identify_args;
const struct cmd admin_cmd_identify = {
	.name = "identify", CMD_OPTS(identify_opts), .args = &identify_args, .run = admin_identify,
};

/* -------------------------------------------------------------- config */

static int parse_ccmd(const char *arg, unsigned *ccmd)
{
	static const char *const names[] = { "read", "test", "prefix", "set", "fset" };
	uint64_t v;

	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(arg, names[i]) == 0) {
			*ccmd = i;
			return AOEX_OK;
		}
	if (parse_uint(arg, 0, 15, &v) == 0) {
		*ccmd = (unsigned)v;
		return AOEX_OK;
	}
	return cli_usage_error("config: unknown subcommand '%s' (read|test|prefix|set|fset)", arg);
}

static int admin_config(struct session *s, void *args, int argc, char **argv)
{
	const char *str = argc > 2 ? argv[2] : "";
	size_t slen = strlen(str), cap = aoex_frame_cap(&s->c);
	unsigned ccmd = 0, tries;
	struct req_qc_reply qc;
	uint8_t *req, *rep;
	size_t len;
	ssize_t n;
	int rc;

	if (argc < 2 || argc > 3)
		return cli_usage_error("usage: config TARGET read|test|prefix|set|fset [STRING]");
	if ((rc = session_parse_target(s, argv[0])) || (rc = parse_ccmd(argv[1], &ccmd)))
		return rc;
	if (QC_HDR_LEN + slen > cap || slen > 0xFFFF)
		return cli_local_error("config string of %zu bytes does not fit a frame", slen);
	req = malloc(cap);
	rep = malloc(cap);
	if (!req || !rep) {
		free(req);
		free(rep);
		return cli_local_error("out of memory");
	}
	len = req_qc(req, cap, &s->c.to, aoex_new_tag(&s->c), (uint8_t)ccmd,
		     (const uint8_t *)str, slen);
	/* silence is how a target says "no match" to test and prefix */
	tries = ccmd == QC_TEST || ccmd == QC_TEST_PREFIX ? 1 : s->c.retries + 1;
	n = aoex_exchange(&s->c, req, len, tries, rep, cap);
	if (n < 0) {
		rc = cli_local_error("config: %s", strerror((int)-n));
	} else if (n == 0 || !req_parse_qc(rep, (size_t)n, &qc)) {
		printf("no reply\n");
		rc = AOEX_NO_REPLY;
	} else if (qc.flags & AOE_FLAG_E) {
		cli_print_aoe_error(stdout, qc.error);
		rc = AOEX_TARGET_ERROR;
	} else {
		cli_print_config_line(stdout, &qc);
	}
	free(req);
	free(rep);
	return rc;
}

/* free-form words: STRING may be anything, -h included */
const struct cmd admin_cmd_config = {
	.name = "config", .flags = CMD_WORDS | CMD_NO_HELP | CMD_NO_EXT, .run = admin_config,
};

/* ------------------------------------------------------ mask, reserve */

/* One allocation for the list a mask or reserve request carries (the
 * returned buffer, to free), the request and the reply, cap bytes each. */
static uint8_t *list_buffers(size_t cap, uint8_t **req, uint8_t **rep)
{
	uint8_t *list = malloc(3 * cap);

	*req = list ? list + cap : NULL;
	*rep = list ? list + 2 * cap : NULL;
	return list;
}

/* Send a mask or reserve request (what) and wait for its reply in rep:
 * its length, or 0 with the failure reported and its status in *rc. */
static size_t list_exchange(struct session *s, const uint8_t *req, size_t len, uint8_t *rep,
			    size_t cap, const char *what, int *rc)
{
	ssize_t n = aoex_exchange(&s->c, req, len, s->c.retries + 1, rep, cap);

	if (n <= 0)
		*rc = session_result(s, n < 0 ? (int)n : AOEX_NO_REPLY, what);
	return n > 0 ? (size_t)n : 0;
}

/* What mask and reserve replies share: the E flag, or too short for the
 * command's header (whole false, from its parser).  AOEX_OK: go on. */
static int list_reply(const char *what, bool whole, uint8_t flags, uint8_t error, size_t n)
{
	if (flags & AOE_FLAG_E) {
		cli_print_aoe_error(stdout, error);
		return AOEX_TARGET_ERROR;
	}
	if (!whole) {
		cli_local_error("%s: short reply (%zu bytes)", what, n);
		return AOEX_TARGET_ERROR;
	}
	return AOEX_OK;
}

/* +MAC, -MAC, =MAC or dcmd:N:MAC into one 8-byte directive. */
static int parse_directive(const char *arg, uint8_t dir[MASK_DIR_LEN])
{
	const char *mac = arg + 1;
	uint8_t addr[6];
	uint64_t dcmd;

	switch (arg[0]) {
	case '+': dcmd = MASK_DIR_ADD; break;
	case '-': dcmd = MASK_DIR_DEL; break;
	case '=': dcmd = MASK_DIR_NONE; break;
	default:
		if (strncmp(arg, "dcmd:", 5) == 0) {
			char num[8];
			const char *colon = strchr(arg + 5, ':');
			size_t l = colon ? (size_t)(colon - (arg + 5)) : 0;

			if (!colon || l == 0 || l >= sizeof num)
				goto bad;
			memcpy(num, arg + 5, l);
			num[l] = '\0';
			if (parse_uint(num, 0, 255, &dcmd) < 0)
				goto bad;
			mac = colon + 1;
			break;
		}
		goto bad;
	}
	if (parse_mac(mac, addr) < 0)
		goto bad;
	req_mask_dir(dir, (uint8_t)dcmd, addr);
	return AOEX_OK;
bad:
	return cli_usage_error("mask: bad directive '%s' (+MAC, -MAC, =MAC or dcmd:N:MAC)", arg);
}

static int admin_mask(struct session *s, void *args, int argc, char **argv)
{
	size_t cap = aoex_frame_cap(&s->c), len;
	unsigned ndir, first = 2;
	uint8_t *dirs, *req, *rep;
	struct req_mask_reply r;
	bool edit, whole;
	size_t n;
	int rc;

	if (argc < 2 || (strcmp(argv[1], "read") && strcmp(argv[1], "edit")))
		return cli_usage_error("usage: mask TARGET read | mask TARGET edit [+MAC|-MAC|=MAC|dcmd:N:MAC ...]");
	edit = strcmp(argv[1], "edit") == 0;
	if (!edit && argc != 2)
		return cli_usage_error("mask: read takes no directives");
	if (first < (unsigned)argc && strcmp(argv[first], "--") == 0)
		first++;
	ndir = (unsigned)argc - first;
	if (ndir > 255 || MASK_HDR_LEN + (size_t)ndir * MASK_DIR_LEN > cap)
		return cli_usage_error("mask: too many directives for one frame");
	if ((rc = session_parse_target(s, argv[0])))
		return rc;
	if (!(dirs = list_buffers(cap, &req, &rep)))
		return cli_local_error("out of memory");
	for (unsigned i = 0; i < ndir; i++)
		if ((rc = parse_directive(argv[first + i], dirs + (size_t)i * MASK_DIR_LEN)))
			goto out;
	if ((rc = session_contact(s, false, NULL)))
		goto out;
	len = req_mask(req, cap, &s->c.to, aoex_new_tag(&s->c), edit ? MASK_EDIT : MASK_READ,
		       dirs, ndir);
	if (!(n = list_exchange(s, req, len, rep, cap, "mask", &rc)))
		goto out;
	whole = req_parse_mask(rep, n, &r);
	if ((rc = list_reply("mask", whole, r.flags, r.error, n)))
		goto out;
	if (r.merror) {
		printf("merror=%u index=%u\n", r.merror, r.dcount);
		rc = AOEX_TARGET_ERROR;
	} else {
		cli_print_mac_list(r.dirs + 2, r.ndirs, MASK_DIR_LEN);
	}
out:
	free(dirs);
	return rc;
}

/* mask takes no options, so -MAC is never mistaken for one */
const struct cmd admin_cmd_mask = {
	.name = "mask", .flags = CMD_WORDS | CMD_NO_HELP, .run = admin_mask,
};

static int parse_rcmd(const char *arg, unsigned *rcmd, bool *takes_macs)
{
	uint64_t v;

	*takes_macs = true;
	if (strcmp(arg, "read") == 0) {
		*rcmd = RES_READ;
		*takes_macs = false;
	} else if (strcmp(arg, "release") == 0) {
		*rcmd = RES_SET;
		*takes_macs = false;
	} else if (strcmp(arg, "set") == 0) {
		*rcmd = RES_SET;
	} else if (strcmp(arg, "fset") == 0) {
		*rcmd = RES_FORCE_SET;
	} else if (parse_uint(arg, 0, 255, &v) == 0) {
		*rcmd = (unsigned)v;
	} else {
		return cli_usage_error("reserve: unknown subcommand '%s' (read|release|set|fset)", arg);
	}
	return AOEX_OK;
}

static int admin_reserve(struct session *s, void *args, int argc, char **argv)
{
	size_t cap = aoex_frame_cap(&s->c), len;
	uint8_t *macs, *req, *rep;
	unsigned rcmd = 0, nmacs = argc > 2 ? (unsigned)argc - 2 : 0;
	struct req_res_reply r;
	bool takes_macs, whole;
	size_t n;
	int rc;

	if (argc < 2)
		return cli_usage_error("usage: reserve TARGET read|release|set MAC...|fset MAC...");
	if ((rc = session_parse_target(s, argv[0])) ||
	    (rc = parse_rcmd(argv[1], &rcmd, &takes_macs)))
		return rc;
	if (!takes_macs && nmacs)
		return cli_usage_error("reserve: %s takes no MACs", argv[1]);
	if (nmacs > 255 || RES_HDR_LEN + (size_t)nmacs * 6 > cap)
		return cli_usage_error("reserve: too many MACs for one frame");
	if (!(macs = list_buffers(cap, &req, &rep)))
		return cli_local_error("out of memory");
	for (unsigned i = 0; i < nmacs; i++)
		if (parse_mac(argv[2 + i], macs + (size_t)i * 6) < 0) {
			rc = cli_usage_error("reserve: bad MAC '%s'", argv[2 + i]);
			goto out;
		}
	if ((rc = session_contact(s, false, NULL)))
		goto out;
	len = req_res(req, cap, &s->c.to, aoex_new_tag(&s->c), (uint8_t)rcmd, macs, nmacs);
	if (!(n = list_exchange(s, req, len, rep, cap, "reserve", &rc)))
		goto out;
	whole = req_parse_res(rep, n, &r);
	if ((rc = list_reply("reserve", whole, r.flags, r.error, n)) == AOEX_OK)
		cli_print_mac_list(r.macs, r.nfit, 6);
out:
	free(macs);
	return rc;
}

const struct cmd admin_cmd_reserve = {
	.name = "reserve", .flags = CMD_WORDS | CMD_NO_HELP, .run = admin_reserve,
};

/* ----------------------------------------------------------------- raw */

/* raw prints every AoE reply, whatever its tag or addresses. */
static bool print_reply(void *ctx, const uint8_t *f, size_t len)
{
	unsigned *got = ctx;

	if (len <= AOE_OFF_VERFLAGS || get_be16(f + AOE_OFF_TYPE) != AOE_ETHERTYPE ||
	    !(f[AOE_OFF_VERFLAGS] & AOE_FLAG_R))
		return false;
	for (size_t i = 0; i < len; i++)
		printf("%02x", f[i]);
	putchar('\n');
	fflush(stdout);
	(*got)++;
	return false;
}

#define RAW_MAX 65536	/* the bytes raw sends as they are, unpadded */

static int admin_raw(struct session *s, void *args, int argc, char **argv)
{
	struct wait_args *a = args;
	size_t cap = aoex_frame_cap(&s->c), len = 0, hdr = 0;
	unsigned got = 0;
	uint8_t *f = NULL, *rep = NULL;
	int rc = AOEX_OK;

	if (argc == 0)
		return cli_usage_error("usage: raw [--no-eth] [-W MS] HEX");
	f = calloc(1, RAW_MAX);
	rep = malloc(cap);
	if (!f || !rep) {
		rc = cli_local_error("out of memory");
		goto out;
	}
	if (a->no_eth) {
		/* the Ethernet part of a request header, nothing after it */
		memcpy(f + AOE_OFF_DST, s->c.to.dst, 6);
		memcpy(f + AOE_OFF_SRC, s->c.to.src, 6);
		put_be16(f + AOE_OFF_TYPE, AOE_ETHERTYPE);
		hdr = len = AOE_OFF_VERFLAGS;
	}
	for (int i = 0; i < argc; i++)
		if (cli_parse_hex(argv[i], f, RAW_MAX, &len) < 0) {
			rc = cli_usage_error("raw: bad hex '%s'", argv[i]);
			goto out;
		}
	if (len < AOE_OFF_VERFLAGS || len == hdr) {
		rc = cli_usage_error("raw: frame too short (%zu bytes)", len);
		goto out;
	}
	rc = aoex_send(&s->c, f, len);
	if (rc < 0) {
		rc = cli_local_error("send: %s", strerror(-rc));
		goto out;
	}
	rc = aoex_collect(&s->c, rep, cap, now_ns() + a->wait_ms * 1000000, print_reply, &got);
	if (rc < 0)
		rc = cli_local_error("receive: %s", strerror(-rc));
	else
		rc = got ? AOEX_OK : AOEX_NO_REPLY;
out:
	free(f);
	free(rep);
	return rc;
}

static const struct opt raw_opts[] = {
	OPT_FLAG("no-eth", 0, struct wait_args, no_eth),
	OPT_UINT("wait", 'W', struct wait_args, wait_ms, 0, 3600000, "bad wait time", NULL),
};
static struct wait_args raw_args = { .wait_ms = 500 };
const struct cmd admin_cmd_raw = {
	.name = "raw", CMD_OPTS(raw_opts), .flags = CMD_OPTS_FIRST | CMD_NO_EXT, .args = &raw_args,
	.run = admin_raw,
};
