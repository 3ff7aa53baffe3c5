/*
 * fuzz_ctl.c - libFuzzer target for the control socket's wire format
 * (src/ctl_proto.c): any bytes as a request, as a response status line and
 * as a text counter record.
 *
 * Besides ASan/UBSan it checks the promises: a parsed request formats back
 * to a line that parses to the same request; a refusal always says why; a
 * record parsed from text renders to text that parses to the same pairs;
 * JSON strings never carry a raw control character or a lone quote.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/ctl_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_request(const char *buf, size_t size)
{
	static struct ctl_request r, back;
	char err[128], line[CTL_REQ_MAX + 8];
	int n;

	err[0] = 0;
	if (ctl_parse_request(buf, size, &r, err, sizeof err) < 0) {
		if (!err[0])
			abort();	/* a refusal must say why */
		return;
	}
	n = ctl_format_request(&r, line, sizeof line);
	if (n < 0)
		return;		/* e.g. longer once "--json" moved: fine */
	if (ctl_parse_request(line, (size_t)n, &back, err, sizeof err) < 0)
		abort();
	if (back.cmd != r.cmd || back.json != r.json || back.nargs != r.nargs)
		abort();
	for (unsigned i = 0; i < r.nargs; i++)
		if (strcmp(back.args[i], r.args[i]) != 0)
			abort();
}

static void check_record(const char *buf, size_t size)
{
	static struct ctl_rec r, back;
	struct ctl_buf b;

	if (ctl_rec_parse(buf, size, &r) < 0)
		return;
	ctl_buf_init(&b, 1 << 20);
	ctl_rec_text(&b, &r);
	if (!b.p || ctl_rec_parse(b.p, b.len, &back) < 0 || back.n != r.n)
		abort();
	for (unsigned i = 0; i < r.n; i++)
		if (back.kv[i].type != r.kv[i].type || back.kv[i].v != r.kv[i].v)
			abort();
	ctl_buf_reset(&b);
	ctl_rec_json(&b, &r);
	for (size_t i = 0; b.p && i < b.len; i++)
		if ((unsigned char)b.p[i] < 0x20)
			abort();
	ctl_buf_free(&b);
}

static void check_json_str(const char *buf, size_t size)
{
	char *s = malloc(size + 1);
	struct ctl_buf b;
	bool esc = false;

	if (!s)
		return;
	memcpy(s, buf, size);
	s[size] = 0;
	ctl_buf_init(&b, 1 << 20);
	ctl_json_str(&b, s);
	/* one string: opening quote, closing quote, no raw quote between */
	if (!b.p || b.len < 2 || b.p[0] != '"' || b.p[b.len - 1] != '"')
		abort();
	for (size_t i = 1; i + 1 < b.len; i++) {
		unsigned char c = (unsigned char)b.p[i];
		if (c < 0x20 || c >= 0x80 || (c == '"' && !esc))
			abort();
		esc = !esc && c == '\\';
	}
	if (esc)
		abort();
	ctl_buf_free(&b);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	char msg[64];
	size_t body;
	int st;

	check_request(buf, size);
	check_record(buf, size);
	check_json_str(buf, size);
	st = ctl_parse_status(buf, size, msg, sizeof msg, &body);
	if (st >= 0 && (body > size || body == 0))
		abort();
	return 0;
}
