/*
 * tagwin.h - the tag_inc duplicate-write window: pure 32-bit arithmetic.
 *
 * An initiator that negotiated tag_inc_le/tag_inc_be promises that each new
 * request carries the next value of a 32-bit counter.  The target remembers
 * which of the last TAGWIN_SPAN tags (ending at the highest one seen, M)
 * were written, so a late retransmission or a duplicated frame of a write
 * is acknowledged instead of written a second time over newer data.
 * All differences are taken mod 2^32: counters wrap.  Tag 0 is never
 * tracked (initiators use it for unsequenced frames).
 */
#ifndef AOEX_TAGWIN_H
#define AOEX_TAGWIN_H

#include <stdbool.h>
#include <stdint.h>

#define TAGWIN_SPAN		32768u	/* tags M-32767 .. M */
#define TAGWIN_PASS_AHEAD	65536u	/* a read this far ahead keeps the window */
#define TAGWIN_PASS_BEHIND	32768u	/* ... and this far behind */

struct tagwin {
	bool live;		/* false: empty, the next write starts it */
	uint32_t max;		/* M, the highest tag seen */
	uint8_t seen[TAGWIN_SPAN / 8];	/* bit (tag mod SPAN): written */
};

enum tagwin_verdict {
	TAGWIN_EXEC,		/* new (or untracked) tag: write it */
	TAGWIN_DUP,		/* already written inside the window: ack only */
	TAGWIN_RESTART,		/* outside the window: restarted at the tag; write it */
};

void tagwin_clear(struct tagwin *w);

/* A write that will really be executed arrives with tag t. */
enum tagwin_verdict tagwin_write(struct tagwin *w, uint32_t t);

/* Any other request with tag t: empties the window when t is more than
 * 65536 ahead and more than 32768 behind M (the counter jumped: a restarted
 * initiator).  Returns true when it did. */
bool tagwin_pass(struct tagwin *w, uint32_t t);

/* The write of tag t failed: forget it, so its retransmission executes. */
void tagwin_forget(struct tagwin *w, uint32_t t);

/* Was tag t written, as far as the window knows? (for tests and tools) */
bool tagwin_seen(const struct tagwin *w, uint32_t t);

#endif
