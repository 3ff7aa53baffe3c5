/*
 * t_ctl.c - unit tests of the control socket's wire format (src/ctl_proto):
 * request parsing and its refusals, formatting a request back, the status
 * line, counter records as text and JSON, and text records parsed back.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/ctl_proto.h"
#include "tap.h"

static struct ctl_request R;
static char err[200];

static int parse(const char *s)
{
	return ctl_parse_request(s, strlen(s), &R, err, sizeof err);
}

static void requests(void)
{
	char big[CTL_REQ_MAX + 10];

	is_int(parse("status\n"), 0, "status parses");
	is_int(R.cmd, CTL_STATUS, "... as CTL_STATUS");
	is_int(parse("  stats --json e1.2\tfirst \r\n"), 0, "stats with blanks, tab, CRLF");
	ok(R.cmd == CTL_STATS && R.json && R.nargs == 2, "... json, two names");
	ok(strcmp(R.args[0], "e1.2") == 0 && strcmp(R.args[1], "first") == 0, "... in order");
	is_int(parse("show-macmask eth0"), 0, "no newline is fine");
	is_int(parse("clear-stats"), 0, "clear-stats without a name (all)");
	is_int(parse("reload"), 0, "reload");

	is_int(parse(""), -1, "empty request refused");
	ok(strstr(err, "empty"), "... says empty: %s", err);
	is_int(parse("   \n"), -1, "blank request refused");
	is_int(parse("frobnicate"), -1, "unknown command refused");
	ok(strstr(err, "unknown command 'frobnicate'"), "... named: %s", err);
	is_int(parse("status extra"), -1, "status takes no argument");
	is_int(parse("show-config"), -1, "show-config needs a NAME");
	ok(strstr(err, "needs a device NAME"), "... says so: %s", err);
	is_int(parse("show-config a b"), -1, "show-config takes one NAME");
	is_int(parse("stats --frob"), -1, "unknown option refused");
	is_int(ctl_parse_request("stats\0x", 7, &R, err, sizeof err), -1, "NUL refused");
	is_int(parse("stats \x01"), -1, "control byte refused");
	is_int(parse("stats \xc3\xa9"), -1, "non-ASCII refused");

	memset(big, 'a', sizeof big);
	is_int(ctl_parse_request(big, sizeof big, &R, err, sizeof err), -1, "oversized refused");
	ok(strstr(err, "longer than"), "... says so: %s", err);
	memcpy(big, "stats ", 6);
	big[6 + CTL_ARG_MAX] = '\n';
	is_int(ctl_parse_request(big, 7 + CTL_ARG_MAX, &R, err, sizeof err), -1, "long word refused");
	char many[400] = "stats";
	for (int i = 0; i <= CTL_ARGS_MAX; i++)
		strcat(many, " x");
	is_int(parse(many), -1, "too many names refused");
	ok(strstr(err, "at most 16"), "... says how many: %s", err);
	is_int(ctl_parse_request("status", 6, &R, NULL, 0), 0, "no error buffer is fine");
	is_int(ctl_parse_request("x", 1, &R, NULL, 0), -1, "... also on error");
}

static void format_back(void)
{
	struct ctl_request q = { .cmd = CTL_STATS, .json = true, .nargs = 2 };
	struct ctl_request back;
	char line[CTL_REQ_MAX];
	int n;

	strcpy(q.args[0], "e1.2");
	strcpy(q.args[1], "disk-one");
	n = ctl_format_request(&q, line, sizeof line);
	ok(n > 0 && strcmp(line, "stats --json e1.2 disk-one\n") == 0, "formatted: %s", line);
	is_int(ctl_parse_request(line, (size_t)n, &back, err, sizeof err), 0, "parses back");
	ok(back.cmd == q.cmd && back.json && back.nargs == 2 &&
	   strcmp(back.args[1], "disk-one") == 0, "... to the same request");
	strcpy(q.args[1], "two words");
	is_int(ctl_format_request(&q, line, sizeof line), -1, "a blank in a name is refused");
	strcpy(q.args[1], "--json");
	is_int(ctl_format_request(&q, line, sizeof line), -1, "an option-like name is refused");
	strcpy(q.args[1], "x");
	is_int(ctl_format_request(&q, line, 8), -1, "too small a buffer");
}

static void status_line(void)
{
	char msg[64];
	size_t body = 0;

	is_int(ctl_parse_status("ok\nbody", 7, msg, sizeof msg, &body), 1, "ok");
	is_int(body, 3, "... body after the line");
	is_int(ctl_parse_status("error: no device x\n", 19, msg, sizeof msg, &body), 0, "error");
	ok(strcmp(msg, "no device x") == 0, "... its reason: %s", msg);
	is_int(ctl_parse_status("ok", 2, msg, sizeof msg, &body), -1, "no newline");
	is_int(ctl_parse_status("okay\n", 5, msg, sizeof msg, &body), -1, "neither");
}

/* The pair key of r holds type and value v (for a string: s): a failed
 * check naming what is wrong when the key is missing, never a NULL
 * dereference. */
#define has_kv(r, key, type, v, s, what) kv_check(r, key, type, v, s, what, __FILE__, __LINE__)

static int kv_check(const struct ctl_rec *r, const char *key, enum ctl_vtype type, uint64_t v,
		    const char *s, const char *what, const char *file, int line)
{
	const struct ctl_kv *kv = ctl_rec_get(r, key);
	char why[200] = "";

	if (!kv)
		snprintf(why, sizeof why, "no key \"%s\" in the record", key);
	else if (kv->type != type)
		snprintf(why, sizeof why, "%s: type %d, want %d", key, (int)kv->type, (int)type);
	else if (type == CTL_V_STR && strcmp(kv->s, s) != 0)
		snprintf(why, sizeof why, "%s=\"%s\", want \"%s\"", key, kv->s, s);
	else if (type != CTL_V_STR && kv->v != v)
		snprintf(why, sizeof why, "%s=%llu, want %llu", key, (unsigned long long)kv->v,
			 (unsigned long long)v);
	tap_ok(!why[0], file, line, "%s", what);
	if (why[0])
		printf("#   %s\n", why);
	return !why[0];
}

static void records(void)
{
	struct ctl_rec r, back;
	struct ctl_buf b;
	unsigned i;

	ctl_buf_init(&b, 1 << 20);
	ctl_rec_init(&r, "device", "my disk");
	ctl_rec_u64(&r, "reads", 12);
	ctl_rec_u64(&r, "big", UINT64_MAX);
	ctl_rec_centi(&r, "per_wakeup", 1234);
	ctl_rec_str(&r, "target", "e1.2");
	ctl_rec_str(&r, "weird", "a b\"c\n");
	ctl_rec_text(&b, &r);
	ok(b.p && strcmp(b.p, "device my_disk reads=12 big=18446744073709551615 "
			 "per_wakeup=12.34 target=e1.2 weird=a_b\"c_\n") == 0, "text: %s", b.p);
	is_int(ctl_rec_parse(b.p, b.len, &back), 0, "text parses back");
	ok(strcmp(back.kind, "device") == 0 && strcmp(back.name, "my_disk") == 0, "... kind, name");
	has_kv(&back, "reads", CTL_V_U64, 12, NULL, "... reads=12");
	has_kv(&back, "big", CTL_V_U64, UINT64_MAX, NULL, "... the largest counter");
	has_kv(&back, "per_wakeup", CTL_V_CENTI, 1234, NULL, "... 12.34");
	has_kv(&back, "target", CTL_V_STR, 0, "e1.2", "... a string");
	ok(!ctl_rec_get(&back, "writes"), "absent key: NULL");
	/* fuzz_ctl: 14 whole digits and a bare dot print back as 17
	 * characters "W.00": still the same hundredths when parsed again */
	is_int(ctl_rec_parse("d x p=11111111111111.", 21, &back), 0, "14 digits and a dot");
	has_kv(&back, "p", CTL_V_CENTI, 1111111111111100ULL, NULL, "... hundredths");
	ctl_buf_reset(&b);
	ctl_rec_text(&b, &back);
	is_int(ctl_rec_parse(b.p, b.len, &r), 0, "... printed back: %s", b.p);
	has_kv(&r, "p", CTL_V_CENTI, 1111111111111100ULL, NULL, "... the same value again");
	ctl_rec_init(&r, "device", "my disk");
	ctl_rec_u64(&r, "reads", 12);
	ctl_rec_u64(&r, "big", UINT64_MAX);
	ctl_rec_centi(&r, "per_wakeup", 1234);
	ctl_rec_str(&r, "target", "e1.2");
	ctl_rec_str(&r, "weird", "a b\"c\n");
	is_int(ctl_rec_parse("device", 6, &back), -1, "no name: refused");
	is_int(ctl_rec_parse("device x novalue", 16, &back), -1, "no '=': refused");

	ctl_buf_reset(&b);
	ctl_rec_json(&b, &r);
	ok(b.p && strcmp(b.p, "{\"name\":\"my disk\",\"reads\":12,\"big\":18446744073709551615,"
			 "\"per_wakeup\":12.34,\"target\":\"e1.2\",\"weird\":\"a b\\\"c\\u000a\"}") == 0,
	   "json: %s", b.p);

	ctl_rec_init(&r, "iface", "eth0");
	for (i = 0; i < CTL_REC_MAX + 5; i++)
		ctl_rec_u64(&r, "k", i);
	is_int(r.n, CTL_REC_MAX, "a full record ignores more pairs");

	ctl_buf_free(&b);
	ctl_buf_init(&b, 16);
	ctl_printf(&b, "%s", "0123456789");
	ok(!b.overflow && b.len == 10, "fits");
	ctl_printf(&b, "%s", "0123456789");
	ok(b.overflow && b.len == 10, "past max: overflow set, nothing added");
	ctl_buf_free(&b);

	ctl_buf_init(&b, 1 << 20);
	char longs[1000];
	memset(longs, 'x', sizeof longs - 1);
	longs[sizeof longs - 1] = 0;
	ctl_printf(&b, "<%s>", longs);
	is_int(b.len, 1001, "a long printf goes through the second pass");
	ctl_buf_free(&b);
}

int main(void)
{
	requests();
	format_back();
	status_line();
	records();
	return done_testing();
}
