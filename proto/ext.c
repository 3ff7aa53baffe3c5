/* ext.c - the Extensions string table and feature negotiation. */
#include "config.h"
#include "ext.h"
#include "aoe.h"
#include "wire.h"

#include <string.h>

enum ext_name {
	NAME_UNKNOWN,
	NAME_RESET,
	NAME_COALESCED,
	NAME_TAG_LE,
	NAME_TAG_BE,
	NAME_TAG_RANDOM,
	NAME_CONGESTION,
};

static const struct { const char *s; enum ext_name n; } names[] = {
	{ "reset", NAME_RESET },
	{ "coalesced_read", NAME_COALESCED },
	{ "tag_inc_le", NAME_TAG_LE },
	{ "tag_inc_be", NAME_TAG_BE },
	{ "tag_random", NAME_TAG_RANDOM },
	{ "congestion", NAME_CONGESTION },
};

bool ext_table_ok(const uint8_t *req, size_t len, size_t *tlen)
{
	const uint8_t *tab = req + EXT_OFF_TABLE;
	size_t l;

	if (len < EXT_HDR_LEN)
		return false;
	l = get_le16(req + EXT_OFF_LEN_LE);
	if (l < 2 || l > len - EXT_HDR_LEN)
		return false;
	/* a final NUL ends every string inside the table; the one before it
	 * is the empty string that ends the list */
	if (tab[l - 2] != 0 || tab[l - 1] != 0)
		return false;
	*tlen = l;
	return true;
}

/* One string of the table: offset and length (without its NUL). */
struct ext_str {
	size_t off, len;
};

/* The string at off, or false at the empty string that ends the list.
 * The checked table ends in NUL, so memchr always finds one. */
static bool str_at(const uint8_t *tab, size_t tlen, size_t off, struct ext_str *s)
{
	const uint8_t *nul;

	if (off >= tlen)
		return false;
	nul = memchr(tab + off, 0, tlen - off);
	s->off = off;
	s->len = (size_t)(nul - (tab + off));
	return s->len != 0;
}

static enum ext_name classify(const uint8_t *tab, const struct ext_str *s)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i].s) == s->len && memcmp(tab + s->off, names[i].s, s->len) == 0)
			return names[i].n;
	return NAME_UNKNOWN;
}

static bool is_cong_id(const uint8_t *tab, const struct ext_str *s)
{
	if (s->len > EXT_CONG_ID_MAX)
		return false;
	for (size_t i = 0; i < s->len; i++)
		if (tab[s->off + i] < '0' || tab[s->off + i] > '9')
			return false;
	return true;
}

/*
 * Walk the list: *s is the current name, *id its congestion id when the
 * name is a congestion with a valid one (then the walk skips the id).
 * Returns the name, or -1 at the end.  Both passes of ext_negotiate use it,
 * so they cannot disagree on what a string is.
 */
static int walk(const uint8_t *tab, size_t tlen, size_t *off,
		struct ext_str *s, struct ext_str *id)
{
	enum ext_name n;

	if (!str_at(tab, tlen, *off, s))
		return -1;
	*off = s->off + s->len + 1;
	n = classify(tab, s);
	if (n != NAME_CONGESTION)
		return (int)n;
	if (!str_at(tab, tlen, *off, id) || !is_cong_id(tab, id))
		return NAME_UNKNOWN;
	*off = id->off + id->len + 1;
	return NAME_CONGESTION;
}

static bool probe(struct ext_state *st, const uint8_t *tab, const struct ext_str *id)
{
	bool same = st->cong_seen && st->cong_len == id->len &&
		    memcmp(st->cong_id, tab + id->off, id->len) == 0;

	if (same)
		return false;
	st->cong_seen = true;
	st->cong_len = (uint8_t)id->len;
	memcpy(st->cong_id, tab + id->off, id->len);
	return true;
}

/* Where the last reset and the last tag mode of the table start (offset + 1;
 * 0 = none): what decides the casing of the second pass. */
struct ext_marks {
	size_t reset, tag;
};

static void apply(struct ext_state *st, enum ext_name n, const uint8_t *tab,
		  const struct ext_str *s, const struct ext_str *id,
		  struct ext_result *r, struct ext_marks *m)
{
	switch (n) {
	case NAME_RESET:
		ext_features_off(st);
		r->restart_window = true;
		m->reset = s->off + 1;
		break;
	case NAME_COALESCED:
		st->coalesced_read = true;
		break;
	case NAME_TAG_LE:
	case NAME_TAG_BE:
	case NAME_TAG_RANDOM:
		st->tagmode = n == NAME_TAG_LE ? EXT_TAG_INC_LE :
			      n == NAME_TAG_BE ? EXT_TAG_INC_BE : EXT_TAG_RANDOM;
		m->tag = s->off + 1;
		break;
	case NAME_CONGESTION:
		r->probe = true;
		if (probe(st, tab, id))
			r->delay = true;
		break;
	case NAME_UNKNOWN:
		break;
	}
}

static bool in_force(enum ext_name n, const struct ext_str *s, const struct ext_marks *m)
{
	switch (n) {
	case NAME_RESET:
	case NAME_CONGESTION:
		return true;
	case NAME_COALESCED:
		return s->off + 1 > m->reset;
	case NAME_TAG_LE:
	case NAME_TAG_BE:
	case NAME_TAG_RANDOM:
		return s->off + 1 == m->tag && m->tag > m->reset;
	default:
		return false;
	}
}

static void upper(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] >= 'a' && p[i] <= 'z')
			p[i] = (uint8_t)(p[i] - 'a' + 'A');
}

void ext_negotiate(struct ext_state *s, uint8_t *table, size_t tlen,
		   struct ext_result *r)
{
	enum ext_tagmode before = s->tagmode;
	struct ext_marks m = { 0, 0 };
	struct ext_str str, id;
	size_t off = 0;
	int n;

	memset(r, 0, sizeof *r);
	while ((n = walk(table, tlen, &off, &str, &id)) >= 0)
		apply(s, (enum ext_name)n, table, &str, &id, r, &m);
	if (s->tagmode != before)
		r->restart_window = true;
	/* second pass: casing last, so the first pass compared lowercase */
	off = 0;
	while ((n = walk(table, tlen, &off, &str, &id)) >= 0)
		if (in_force((enum ext_name)n, &str, &m))
			upper(table + str.off, str.len);
}

void ext_features_off(struct ext_state *s)
{
	s->coalesced_read = false;
	s->tagmode = EXT_TAG_NONE;
}

/* Copy s to buf at at (as far as n allows, keeping room for the NUL);
 * returns the offset after it as if nothing had been cut. */
static size_t put(char *buf, size_t n, size_t at, const char *s)
{
	for (; *s; s++, at++)
		if (at + 1 < n)
			buf[at] = *s;
	return at;
}

static size_t append(char *buf, size_t n, size_t at, const char *s)
{
	if (at != 0)
		at = put(buf, n, at, ",");
	return put(buf, n, at, s);
}

size_t ext_features_string(const struct ext_state *s, char *buf, size_t n)
{
	static const char *const modes[] = {
		[EXT_TAG_INC_LE] = "tag_inc_le",
		[EXT_TAG_INC_BE] = "tag_inc_be",
		[EXT_TAG_RANDOM] = "tag_random",
	};
	size_t at = 0;

	if (s->tagmode != EXT_TAG_NONE)
		at = append(buf, n, at, modes[s->tagmode]);
	if (s->coalesced_read)
		at = append(buf, n, at, "coalesced_read");
	if (n)
		buf[at < n ? at : n - 1] = 0;
	return at;
}
