/* doc.c - the text and the JSON writer of doc.h. */
#include "config.h"
#include "common/doc.h"

#include <stdio.h>
#include <string.h>

struct doc_ops {
	void (*begin)(struct doc *d, const char *kind, const char *name);
	void (*end)(struct doc *d);
	void (*field)(struct doc *d, const char *key, const char *quoted_or_raw, bool quote,
		      bool positional);
	void (*strings)(struct doc *d, const char *key, const char *const *v, unsigned n);
	void (*array)(struct doc *d, const char *key);
	void (*array_end)(struct doc *d);
};

static void push(struct doc *d)
{
	if (d->depth + 1 < DOC_DEPTH)
		d->depth++;
	d->first[d->depth] = true;
}

static void pop(struct doc *d)
{
	if (d->depth)
		d->depth--;
}

/* ---------------------------------------------------------------- text */

/* a word: blanks and control characters would split the line's fields */
static void text_word(struct ctl_buf *b, const char *s)
{
	for (; *s; s++)
		ctl_put(b, (unsigned char)*s <= ' ' ? "_" : s, 1);
}

static void text_begin(struct doc *d, const char *kind, const char *name)
{
	/* depth 0: the document's own line; an object in an array (depth
	 * 2, 4, ...) starts a line indented by its level */
	if (d->line)
		ctl_put(d->b, "\n", 1);
	for (unsigned i = 2; i < d->depth; i += 2)
		ctl_put(d->b, "  ", 2);
	text_word(d->b, kind);
	if (name) {
		ctl_put(d->b, " ", 1);
		text_word(d->b, name);
	}
	d->line = true;
	push(d);
}

static void text_end(struct doc *d)
{
	if (d->line)
		ctl_put(d->b, "\n", 1);
	d->line = false;
	pop(d);
}

static void text_field(struct doc *d, const char *key, const char *v, bool quote, bool positional)
{
	(void)quote;
	ctl_put(d->b, " ", 1);
	if (!positional) {
		text_word(d->b, key);
		ctl_put(d->b, "=", 1);
	}
	text_word(d->b, v[0] ? v : "-");
}

static void text_strings(struct doc *d, const char *key, const char *const *v, unsigned n)
{
	ctl_printf(d->b, " %s=", key);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			ctl_put(d->b, ",", 1);
		text_word(d->b, v[i]);
	}
	if (!n)
		ctl_put(d->b, "-", 1);
}

static void text_array(struct doc *d, const char *key)
{
	(void)key;
	if (d->line)
		ctl_put(d->b, "\n", 1);
	d->line = false;
	push(d);
}

static const struct doc_ops text_ops = {
	text_begin, text_end, text_field, text_strings, text_array, pop,
};

/* ---------------------------------------------------------------- JSON */

static void comma(struct doc *d)
{
	if (!d->first[d->depth])
		ctl_put(d->b, ",", 1);
	d->first[d->depth] = false;
}

static void json_key(struct doc *d, const char *key)
{
	comma(d);
	ctl_json_str(d->b, key);
	ctl_put(d->b, ":", 1);
}

static void json_begin(struct doc *d, const char *kind, const char *name)
{
	(void)kind;
	if (d->depth)
		comma(d);
	ctl_put(d->b, "{", 1);
	push(d);
	if (name) {
		json_key(d, "name");
		ctl_json_str(d->b, name);
	}
}

static void json_end(struct doc *d)
{
	ctl_put(d->b, "}", 1);
	pop(d);
	if (!d->depth)
		ctl_put(d->b, "\n", 1);
}

static void json_field(struct doc *d, const char *key, const char *v, bool quote, bool positional)
{
	(void)positional;
	json_key(d, key);
	if (quote)
		ctl_json_str(d->b, v);
	else
		ctl_put(d->b, v, strlen(v));
}

static void json_strings(struct doc *d, const char *key, const char *const *v, unsigned n)
{
	json_key(d, key);
	ctl_put(d->b, "[", 1);
	for (unsigned i = 0; i < n; i++) {
		if (i)
			ctl_put(d->b, ",", 1);
		ctl_json_str(d->b, v[i]);
	}
	ctl_put(d->b, "]", 1);
}

static void json_array(struct doc *d, const char *key)
{
	json_key(d, key);
	ctl_put(d->b, "[", 1);
	push(d);
}

static void json_array_end(struct doc *d)
{
	ctl_put(d->b, "]", 1);
	pop(d);
}

static const struct doc_ops json_ops = {
	json_begin, json_end, json_field, json_strings, json_array, json_array_end,
};

/* ------------------------------------------------------------- entries */

void doc_init(struct doc *d, struct ctl_buf *b, bool json)
{
	memset(d, 0, sizeof *d);
	d->b = b;
	d->ops = json ? &json_ops : &text_ops;
	d->first[0] = true;
}

void doc_begin(struct doc *d, const char *kind, const char *name) { d->ops->begin(d, kind, name); }
void doc_end(struct doc *d) { d->ops->end(d); }
void doc_word(struct doc *d, const char *key, const char *v) { d->ops->field(d, key, v, true, true); }
void doc_str(struct doc *d, const char *key, const char *v) { d->ops->field(d, key, v, true, false); }
void doc_array(struct doc *d, const char *key) { d->ops->array(d, key); }
void doc_array_end(struct doc *d) { d->ops->array_end(d); }

void doc_strings(struct doc *d, const char *key, const char *const *v, unsigned n)
{
	d->ops->strings(d, key, v, n);
}

void doc_u64(struct doc *d, const char *key, uint64_t v)
{
	char buf[24];

	snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	d->ops->field(d, key, buf, false, false);
}

void doc_bool(struct doc *d, const char *key, bool v)
{
	d->ops->field(d, key, v ? "true" : "false", false, false);
}
