/* ext.c - the Extensions string table, the rules of its names (shared by
 * the target and the initiator) and feature negotiation. */
#include "config.h"
#include "ext.h"
#include "aoe.h"
#include "wire.h"

#include <string.h>

/* The one place that spells the names. */
static const struct { const char *s; enum ext_name n; } names[] = {
	{ "reset", EXT_NAME_RESET },
	{ "coalesced_read", EXT_NAME_COALESCED },
	{ "tag_inc_le", EXT_NAME_TAG_LE },
	{ "tag_inc_be", EXT_NAME_TAG_BE },
	{ "tag_random", EXT_NAME_TAG_RANDOM },
	{ "congestion", EXT_NAME_CONGESTION },
	{ "crc8x4", EXT_NAME_CRC8X4 },
	/* aoexd's own, prefixed so no future AoEde name can collide */
	{ "aoexd_coalesced_ack", EXT_NAME_WACK },
};

enum ext_name ext_name_of(const uint8_t *s, size_t len)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strlen(names[i].s) == len && memcmp(s, names[i].s, len) == 0)
			return names[i].n;
	return EXT_NAME_UNKNOWN;
}

const char *ext_name_str(enum ext_name n)
{
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].n == n)
			return names[i].s;
	return NULL;
}

bool ext_name_is_tagmode(enum ext_name n)
{
	return n == EXT_NAME_TAG_LE || n == EXT_NAME_TAG_BE || n == EXT_NAME_TAG_RANDOM;
}

void ext_mark(struct ext_marks *m, enum ext_name n, size_t pos)
{
	if (n == EXT_NAME_RESET)
		m->reset = pos;
	else if (ext_name_is_tagmode(n))
		m->tag = pos;
}

bool ext_undone(const struct ext_marks *m, enum ext_name n, size_t pos)
{
	if (n == EXT_NAME_UNKNOWN)
		return false;
	return m->reset > pos || (ext_name_is_tagmode(n) && m->tag > pos);
}

bool ext_in_force(const struct ext_marks *m, enum ext_name n, size_t pos)
{
	switch (n) {
	case EXT_NAME_RESET:
	case EXT_NAME_CONGESTION:
		return true;
	case EXT_NAME_UNKNOWN:
		return false;
	default:
		return !ext_undone(m, n, pos);
	}
}

static uint8_t ascii_upper(uint8_t c)
{
	return c >= 'a' && c <= 'z' ? (uint8_t)(c - 'a' + 'A') : c;
}

static uint8_t ascii_lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

void ext_upcase(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = ascii_upper(p[i]);
}

bool ext_upcased(const uint8_t *sent, size_t sent_len, const uint8_t *got, size_t len)
{
	bool changed = false;

	for (size_t i = 0; i < len; i++) {
		if (i >= sent_len || got[i] != ascii_upper(sent[i]))
			return false;
		if (got[i] != sent[i])
			changed = true;
	}
	return changed;
}

bool ext_same_but_case(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	return true;
}

size_t ext_table_build(const char *const list[], unsigned n, uint8_t *table, size_t max)
{
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t l = strlen(list[i]);

		if (!l || len + l + 1 >= max)	/* keep room for the final NUL */
			return 0;
		memcpy(table + len, list[i], l + 1);
		len += l + 1;
	}
	if (len + 1 > max)
		return 0;
	table[len++] = '\0';
	if (len < 2)	/* no names: the table is two NULs */
		table[len++] = '\0';
	return len;
}

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
	n = ext_name_of(tab + s->off, s->len);
	if (n != EXT_NAME_CONGESTION)
		return (int)n;
	if (!str_at(tab, tlen, *off, id) || !is_cong_id(tab, id))
		return EXT_NAME_UNKNOWN;	/* what decides its casing too */
	*off = id->off + id->len + 1;
	return EXT_NAME_CONGESTION;
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

static void apply(struct ext_state *st, enum ext_name n, const uint8_t *tab,
		  const struct ext_str *s, const struct ext_str *id,
		  struct ext_result *r, struct ext_marks *m)
{
	/* a string's position in the marks is its offset + 1 */
	ext_mark(m, n, s->off + 1);
	switch (n) {
	case EXT_NAME_RESET:
		ext_features_off(st);
		r->restart_window = true;
		break;
	case EXT_NAME_COALESCED:
		st->coalesced_read = true;
		break;
	case EXT_NAME_CRC8X4:
		st->crc8x4 = true;
		break;
	case EXT_NAME_WACK:
		st->wack = true;
		break;
	case EXT_NAME_TAG_LE:
	case EXT_NAME_TAG_BE:
	case EXT_NAME_TAG_RANDOM:
		st->tagmode = n == EXT_NAME_TAG_LE ? EXT_TAG_INC_LE :
			      n == EXT_NAME_TAG_BE ? EXT_TAG_INC_BE : EXT_TAG_RANDOM;
		break;
	case EXT_NAME_CONGESTION:
		r->probe = true;
		if (probe(st, tab, id))
			r->delay = true;
		break;
	case EXT_NAME_UNKNOWN:
		break;
	}
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
		if (ext_in_force(&m, (enum ext_name)n, str.off + 1))
			ext_upcase(table + str.off, str.len);
}

void ext_features_off(struct ext_state *s)
{
	s->coalesced_read = false;
	s->crc8x4 = false;
	s->wack = false;
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
	static const enum ext_name modes[] = {
		[EXT_TAG_INC_LE] = EXT_NAME_TAG_LE,
		[EXT_TAG_INC_BE] = EXT_NAME_TAG_BE,
		[EXT_TAG_RANDOM] = EXT_NAME_TAG_RANDOM,
	};
	size_t at = 0;

	if (s->tagmode != EXT_TAG_NONE)
		at = append(buf, n, at, ext_name_str(modes[s->tagmode]));
	if (s->coalesced_read)
		at = append(buf, n, at, ext_name_str(EXT_NAME_COALESCED));
	if (s->crc8x4)
		at = append(buf, n, at, ext_name_str(EXT_NAME_CRC8X4));
	if (s->wack)
		at = append(buf, n, at, ext_name_str(EXT_NAME_WACK));
	if (n)
		buf[at < n ? at : n - 1] = 0;
	return at;
}
