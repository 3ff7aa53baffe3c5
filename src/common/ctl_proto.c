/* ctl_proto.c - control socket requests, responses and counter records. */
#include "config.h"
#include "common/ctl_proto.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* name, least and most arguments */
static const struct {
	const char *name;
	unsigned min, max;
} cmds[CTL__COUNT] = {
	[CTL_STATUS] = { "status", 0, 0 },
	[CTL_STATS] = { "stats", 0, CTL_ARGS_MAX },
	[CTL_RELOAD] = { "reload", 0, 0 },
	[CTL_SHOW_CONFIG] = { "show-config", 1, 1 },
	[CTL_SHOW_MACMASK] = { "show-macmask", 1, 1 },
	[CTL_SHOW_RESERVE] = { "show-reserve", 1, 1 },
	[CTL_CLEAR_STATS] = { "clear-stats", 0, CTL_ARGS_MAX },
	[CTL_CLEAR_MACMASK] = { "clear-macmask", 1, 1 },
	[CTL_CLEAR_RESERVE] = { "clear-reserve", 1, 1 },
	[CTL_FREEZE] = { "freeze", 3, 3 },
	[CTL_THAW] = { "thaw", 1, 1 },
};

const char *ctl_cmd_name(enum ctl_cmd c)
{
	return (unsigned)c < CTL__COUNT ? cmds[c].name : "?";
}

int ctl_cmd_from_name(const char *s)
{
	for (int c = 0; c < CTL__COUNT; c++)
		if (strcmp(s, cmds[c].name) == 0)
			return c;
	return -1;
}

static int fail(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

int ctl_parse_request(const char *buf, size_t len, struct ctl_request *out,
		      char *err, size_t errlen)
{
	char word[CTL_ARG_MAX];
	bool have_cmd = false;
	size_t i = 0;

	memset(out, 0, sizeof *out);
	if (len > CTL_REQ_MAX)
		return fail(err, errlen, "request longer than %d bytes", CTL_REQ_MAX);
	if (len && buf[len - 1] == '\n')
		len--;
	if (len && buf[len - 1] == '\r')
		len--;
	while (i < len) {
		size_t n = 0;
		while (i < len && blank(buf[i]))
			i++;
		if (i == len)
			break;
		for (; i < len && !blank(buf[i]); i++) {
			unsigned char c = (unsigned char)buf[i];
			if (c < 0x21 || c > 0x7e)
				return fail(err, errlen, "byte 0x%02x at offset %zu: a request is "
					    "printable ASCII words", c, i);
			if (n == sizeof word - 1)
				return fail(err, errlen, "word at offset %zu longer than %d bytes",
					    i - n, CTL_ARG_MAX - 1);
			word[n++] = (char)c;
		}
		word[n] = 0;
		if (!have_cmd) {
			int c = ctl_cmd_from_name(word);
			if (c < 0)
				return fail(err, errlen, "unknown command '%s'", word);
			out->cmd = (enum ctl_cmd)c;
			have_cmd = true;
		} else if (strcmp(word, "--json") == 0) {
			out->json = true;
		} else if (word[0] == '-' && word[1] == '-') {
			return fail(err, errlen, "%s: unknown option '%s'", cmds[out->cmd].name, word);
		} else {
			if (out->nargs == cmds[out->cmd].max)
				return fail(err, errlen, "%s takes at most %u argument%s",
					    cmds[out->cmd].name, cmds[out->cmd].max,
					    cmds[out->cmd].max == 1 ? "" : "s");
			memcpy(out->args[out->nargs++], word, n + 1);
		}
	}
	if (!have_cmd)
		return fail(err, errlen, "empty request");
	if (out->nargs < cmds[out->cmd].min)
		return fail(err, errlen, "%s needs a device NAME (its name in the configuration "
			    "or eSHELF.SLOT)", cmds[out->cmd].name);
	return 0;
}

int ctl_format_request(const struct ctl_request *r, char *buf, size_t n)
{
	size_t len;
	int k;

	if ((unsigned)r->cmd >= CTL__COUNT || r->nargs > CTL_ARGS_MAX)
		return -1;
	k = snprintf(buf, n, "%s%s", cmds[r->cmd].name, r->json ? " --json" : "");
	if (k < 0 || (size_t)k >= n)
		return -1;
	len = (size_t)k;
	for (unsigned i = 0; i < r->nargs; i++) {
		const char *a = r->args[i];
		size_t al = strnlen(a, CTL_ARG_MAX);
		if (al == 0 || al == CTL_ARG_MAX || (a[0] == '-' && a[1] == '-'))
			return -1;
		for (size_t j = 0; j < al; j++)
			if ((unsigned char)a[j] < 0x21 || (unsigned char)a[j] > 0x7e)
				return -1;
		if (len + 1 + al >= n)
			return -1;
		buf[len++] = ' ';
		memcpy(buf + len, a, al);
		len += al;
	}
	if (len + 2 > n || len + 1 > CTL_REQ_MAX)
		return -1;
	buf[len++] = '\n';
	buf[len] = 0;
	return (int)len;
}

/* ------------------------------------------------------------ output */

void ctl_buf_init(struct ctl_buf *b, size_t max)
{
	memset(b, 0, sizeof *b);
	b->max = max;
}

void ctl_buf_free(struct ctl_buf *b)
{
	free(b->p);
	ctl_buf_init(b, b->max);
}

void ctl_buf_reset(struct ctl_buf *b)
{
	b->len = 0;
	b->overflow = false;
}

/* room for n more bytes and a NUL */
static bool reserve(struct ctl_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 4096;
	char *p;

	if (b->overflow || b->len + n + 1 > b->max) {
		b->overflow = true;
		return false;
	}
	if (b->len + n + 1 <= b->cap)
		return true;
	while (cap < b->len + n + 1)
		cap *= 2;
	if (cap > b->max)
		cap = b->max;
	p = realloc(b->p, cap);
	if (!p) {
		b->overflow = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void ctl_put(struct ctl_buf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void ctl_printf(struct ctl_buf *b, const char *fmt, ...)
{
	va_list ap;
	char small[256];
	int n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof small, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof small) {
		ctl_put(b, small, (size_t)n);
		return;
	}
	if (!reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void ctl_json_str(struct ctl_buf *b, const char *s)
{
	ctl_put(b, "\"", 1);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			char e[2] = { '\\', (char)c };
			ctl_put(b, e, 2);
		} else if (c < 0x20 || c == 0x7f) {
			ctl_printf(b, "\\u%04x", c);
		} else if (c >= 0x80) {
			/* not checked for valid UTF-8: replace, so the document
			 * stays valid whatever a name holds */
			ctl_put(b, "?", 1);
		} else {
			ctl_put(b, s, 1);
		}
	}
	ctl_put(b, "\"", 1);
}

/* --------------------------------------------------------- records */

/* s into dst of n bytes, cut to fit, always NUL-terminated */
static void copy(char *dst, size_t n, const char *s)
{
	size_t l = strnlen(s, n - 1);

	memcpy(dst, s, l);
	dst[l] = 0;
}

void ctl_rec_init(struct ctl_rec *r, const char *kind, const char *name)
{
	r->n = 0;
	r->group[0] = 0;
	copy(r->kind, sizeof r->kind, kind);
	copy(r->name, sizeof r->name, name);
}

static struct ctl_kv *rec_add(struct ctl_rec *r, const char *key, enum ctl_vtype t)
{
	struct ctl_kv *kv;

	if (r->n == CTL_REC_MAX)
		return NULL;
	kv = &r->kv[r->n++];
	copy(kv->key, sizeof kv->key, key);
	kv->type = t;
	kv->v = 0;
	kv->s[0] = 0;
	return kv;
}

void ctl_rec_u64(struct ctl_rec *r, const char *key, uint64_t v)
{
	struct ctl_kv *kv = rec_add(r, key, CTL_V_U64);

	if (kv)
		kv->v = v;
}

void ctl_rec_centi(struct ctl_rec *r, const char *key, uint64_t hundredths)
{
	struct ctl_kv *kv = rec_add(r, key, CTL_V_CENTI);

	if (kv)
		kv->v = hundredths;
}

void ctl_rec_str(struct ctl_rec *r, const char *key, const char *s)
{
	struct ctl_kv *kv = rec_add(r, key, CTL_V_STR);

	if (kv)
		copy(kv->s, sizeof kv->s, s);
}

const struct ctl_kv *ctl_rec_get(const struct ctl_rec *r, const char *key)
{
	for (unsigned i = 0; i < r->n; i++)
		if (strcmp(r->kv[i].key, key) == 0)
			return &r->kv[i];
	return NULL;
}

/* a word of a text line: never empty, no blank, no control character */
static void put_word(struct ctl_buf *b, const char *s)
{
	if (!*s) {
		ctl_put(b, "-", 1);
		return;
	}
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		ctl_put(b, c <= 0x20 || c >= 0x7f || c == '=' ? "_" : s, 1);
	}
}

/* A number the same way in text and JSON (12, 12.34); false for a string. */
static bool put_number(struct ctl_buf *b, const struct ctl_kv *kv)
{
	if (kv->type == CTL_V_U64)
		ctl_printf(b, "%llu", (unsigned long long)kv->v);
	else if (kv->type == CTL_V_CENTI)
		ctl_printf(b, "%llu.%02llu", (unsigned long long)(kv->v / 100),
			   (unsigned long long)(kv->v % 100));
	else
		return false;
	return true;
}

void ctl_rec_text(struct ctl_buf *b, const struct ctl_rec *r)
{
	put_word(b, r->kind);
	ctl_put(b, " ", 1);
	put_word(b, r->name);
	if (r->group[0]) {
		ctl_put(b, " ", 1);
		put_word(b, r->group);
	}
	for (unsigned i = 0; i < r->n; i++) {
		const struct ctl_kv *kv = &r->kv[i];
		ctl_put(b, " ", 1);
		put_word(b, kv->key);
		ctl_put(b, "=", 1);
		if (!put_number(b, kv))
			put_word(b, kv->s);
	}
	ctl_put(b, "\n", 1);
}

void ctl_rec_json(struct ctl_buf *b, const struct ctl_rec *r)
{
	ctl_put(b, "{\"name\":", 8);
	ctl_json_str(b, r->name);
	for (unsigned i = 0; i < r->n; i++) {
		const struct ctl_kv *kv = &r->kv[i];
		ctl_put(b, ",", 1);
		ctl_json_str(b, kv->key);
		ctl_put(b, ":", 1);
		if (!put_number(b, kv))
			ctl_json_str(b, kv->s);
	}
	ctl_put(b, "}", 1);
}

/* the next blank-separated word of line[*i..len) into w (cut to wn - 1) */
static size_t next_word(const char *line, size_t len, size_t *i, char *w, size_t wn)
{
	size_t n = 0;

	while (*i < len && blank(line[*i]))
		(*i)++;
	for (; *i < len && !blank(line[*i]) && line[*i] != '\n'; (*i)++)
		if (n + 1 < wn)
			w[n++] = line[*i];
	w[n] = 0;
	return n;
}

static bool all_digits(const char *s, bool allow_dot)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (allow_dot && *s == '.')))
			return false;
	return true;
}

/* digits whose value fits in 64 bits (leading zeros allowed) */
static bool u64_fits(const char *s)
{
	static const char max[] = "18446744073709551615";
	size_t n;

	while (*s == '0' && s[1])
		s++;
	n = strlen(s);
	return n < sizeof max - 1 || (n == sizeof max - 1 && strcmp(s, max) <= 0);
}

int ctl_rec_parse(const char *line, size_t len, struct ctl_rec *r)
{
	char w[CTL_STR_MAX + 40];
	size_t i = 0;

	memset(r, 0, sizeof *r);
	if (!next_word(line, len, &i, r->kind, sizeof r->kind) ||
	    !next_word(line, len, &i, r->name, sizeof r->name))
		return -1;
	while (next_word(line, len, &i, w, sizeof w)) {
		char *eq = strchr(w, '=');
		const char *v;
		if (!eq || eq == w || (size_t)(eq - w) >= sizeof r->kv[0].key)
			return -1;
		*eq = 0;
		v = eq + 1;
		/* cut as a string value would be, before deciding the type, so
		 * a line printed back from r parses to the same pairs */
		if (strlen(v) >= CTL_STR_MAX)
			eq[CTL_STR_MAX] = 0;
		if (all_digits(v, false) && u64_fits(v)) {
			ctl_rec_u64(r, w, strtoull(v, NULL, 10));
		} else if (all_digits(v, true) && strcspn(v, ".") <= 15 &&
			   strchr(v, '.') == strrchr(v, '.')) {
			/* at most 15 whole digits: hundredths fit in 64 bits, and
			 * what ctl_rec_text prints back ("W.FF") parses the same */
			char *dot;
			uint64_t whole = strtoull(v, &dot, 10), frac = 0;
			if (*dot == '.' && dot[1] >= '0' && dot[1] <= '9') {
				frac = (uint64_t)(dot[1] - '0') * 10;
				if (dot[2] >= '0' && dot[2] <= '9')
					frac += (uint64_t)(dot[2] - '0');
			}
			ctl_rec_centi(r, w, whole * 100 + frac);
		} else {
			ctl_rec_str(r, w, v);
		}
	}
	return 0;
}

int ctl_parse_status(const char *buf, size_t len, char *msg, size_t msglen, size_t *body)
{
	const char *nl = memchr(buf, '\n', len);
	size_t ll;

	if (msglen)
		msg[0] = 0;
	if (!nl)
		return -1;
	ll = (size_t)(nl - buf);
	*body = ll + 1;
	if (ll == 2 && memcmp(buf, "ok", 2) == 0)
		return 1;
	if (ll >= 7 && memcmp(buf, "error: ", 7) == 0) {
		if (msglen)
			snprintf(msg, msglen, "%.*s", (int)(ll - 7), buf + 7);
		return 0;
	}
	return -1;
}
