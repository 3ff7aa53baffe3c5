/* tagwin.c - the tag_inc duplicate-write window. */
#include "config.h"
#include "tagwin.h"

#include <string.h>

static void bit_set(struct tagwin *w, uint32_t t)
{
	uint32_t i = t % TAGWIN_SPAN;
	w->seen[i / 8] |= (uint8_t)(1u << (i % 8));
}

static void bit_clear(struct tagwin *w, uint32_t t)
{
	uint32_t i = t % TAGWIN_SPAN;
	w->seen[i / 8] &= (uint8_t)~(1u << (i % 8));
}

static bool bit_get(const struct tagwin *w, uint32_t t)
{
	uint32_t i = t % TAGWIN_SPAN;
	return w->seen[i / 8] >> (i % 8) & 1;
}

void tagwin_clear(struct tagwin *w)
{
	w->live = false;
	w->max = 0;
	memset(w->seen, 0, sizeof w->seen);
}

static void restart(struct tagwin *w, uint32_t t)
{
	tagwin_clear(w);
	w->live = true;
	w->max = t;
	bit_set(w, t);
}

/* Move M forward to t: the bits of the skipped tags M+1..t-1 still hold
 * the tags one span older, which leave the window now. */
static void advance(struct tagwin *w, uint32_t t)
{
	for (uint32_t x = w->max + 1; x != t; x++)
		bit_clear(w, x);
	bit_set(w, t);
	w->max = t;
}

enum tagwin_verdict tagwin_write(struct tagwin *w, uint32_t t)
{
	uint32_t ahead = t - w->max, behind = w->max - t;

	if (t == 0)
		return TAGWIN_EXEC;
	if (!w->live) {
		restart(w, t);
		return TAGWIN_EXEC;
	}
	if (ahead != 0 && ahead < TAGWIN_SPAN) {
		advance(w, t);
		return TAGWIN_EXEC;
	}
	if (behind < TAGWIN_SPAN) {
		if (bit_get(w, t))
			return TAGWIN_DUP;
		bit_set(w, t);
		return TAGWIN_EXEC;
	}
	restart(w, t);
	return TAGWIN_RESTART;
}

bool tagwin_pass(struct tagwin *w, uint32_t t)
{
	/* both unsigned differences: "far" means neither a plausible
	 * look-ahead nor a plausible straggler */
	if (t == 0 || !w->live)
		return false;
	if (t - w->max <= TAGWIN_PASS_AHEAD || w->max - t <= TAGWIN_PASS_BEHIND)
		return false;
	tagwin_clear(w);
	return true;
}

void tagwin_forget(struct tagwin *w, uint32_t t)
{
	if (t != 0 && w->live && w->max - t < TAGWIN_SPAN)
		bit_clear(w, t);
}

bool tagwin_seen(const struct tagwin *w, uint32_t t)
{
	return t != 0 && w->live && w->max - t < TAGWIN_SPAN && bit_get(w, t);
}
