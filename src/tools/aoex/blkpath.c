/* blkpath.c - the block engine's paths, RTT and window, its timers, the
 * probes and the negotiation at run time (see blk.h). */
#include "config.h"
#include "tools/aoex/blk_int.h"
#include "proto/ext.h"
#include "proto/request.h"
#include "common/log.h"
#include "common/util.h"

#include <string.h>

static void rexmit_due(struct loop_timer *t);
static void tick_due(struct loop_timer *t);

void blkpath_init(struct blk *b)
{
	for (unsigned i = 0; i < b->nifs; i++) {
		struct blk_path *p = &b->paths[b->npaths++];

		p->ifi = i;
		p->to = b->ifs[i].c->to;
		p->up = true;
	}
	b->cwnd = b->ssthresh = b->cfg.window;
	b->rto_ms = b->cfg.rto_init_ms;
	b->rexmit.fn = rexmit_due;
	b->rexmit.ctx = b;
	b->tick.fn = tick_due;
	b->tick.ctx = b;
	loop_timer_at(b->l, &b->tick, now_ns() + BLK_TICK_NS);
}

int blkpath_pick(struct blk *b, bool want_coalesce)
{
	int any = -1;

	for (unsigned k = 0; k < b->npaths; k++) {
		unsigned i = (b->rr + k) % b->npaths;
		const struct blk_path *p = &b->paths[i];

		if (!p->up)
			continue;
		if (!want_coalesce || b->ifs[p->ifi].coalesce) {
			b->rr = i + 1;
			return (int)i;
		}
		if (any < 0)
			any = (int)i;
	}
	if (any >= 0)
		b->rr = (unsigned)any + 1;
	return any;
}

static unsigned paths_up(const struct blk *b)
{
	unsigned n = 0;

	for (unsigned i = 0; i < b->npaths; i++)
		n += b->paths[i].up;
	return n;
}

/* --------------------------------------------------------- negotiation */

void blkpath_negotiate(struct blk *b, struct blk_if *bi)
{
	const char *names[2];
	uint8_t table[64];
	unsigned n = 0;
	size_t tlen;

	if (b->cfg.tag_inc)
		names[n++] = "tag_inc_le";
	if (b->cfg.coalesced_read)
		names[n++] = "coalesced_read";
	if (!n)
		return;
	/* no reset: the same tag mode again keeps the target's window */
	tlen = ext_table_build(names, n, table, sizeof table);
	bi->ext_tag = aoex_new_tag(b->ifs[0].c);
	bi->ext_len = req_ext(bi->ext_req, b->frame_cap, &bi->c->to, bi->ext_tag, table, tlen,
			      (uint16_t)tlen);
	if (bi->ext_len)
		aoex_send(bi->c, bi->ext_req, bi->ext_len);
	b->st.renegotiations++;
}

void blkpath_ext_reply(struct blk_if *bi, const uint8_t *f, size_t len)
{
	struct req_ext_reply r;
	struct req_ext_str st;
	size_t pos = 0;
	bool coalesce = false, tag_inc = false;

	if (!bi->ext_tag || req_tag_get(&bi->c->to, f + AOE_OFF_TAG) != bi->ext_tag)
		return;
	bi->ext_tag = 0;
	req_parse_ext(bi->ext_req, bi->ext_len, f, len, &r);
	if (!(r.flags & AOE_FLAG_E) && !r.malformed) {
		while (req_ext_next(&r, &pos, &st)) {
			enum ext_name e;
			char lower[32];

			if (!st.active || st.len >= sizeof lower)
				continue;
			for (size_t i = 0; i < st.len; i++)
				lower[i] = (char)(st.s[i] >= 'A' && st.s[i] <= 'Z' ? st.s[i] + 32
										  : st.s[i]);
			e = ext_name_of((const uint8_t *)lower, st.len);
			coalesce |= e == EXT_NAME_COALESCED;
			tag_inc |= e == EXT_NAME_TAG_LE;
		}
	}
	if (coalesce != bi->coalesce || tag_inc != bi->tag_inc)
		log_notice("%s: now coalesced_read %s, tag_inc_le %s", bi->c->rs.ifname,
			   coalesce ? "on" : "off (plain reads)", tag_inc ? "on" : "off (plain r11)");
	bi->coalesce = coalesce && bi->b->cfg.coalesced_read;
	bi->tag_inc = tag_inc;
	blk_kick_troubled(bi->b, (unsigned)(bi - bi->b->ifs));
}

/* ------------------------------------------------------------- replies */

void blkpath_reply(struct blk *b, unsigned ifi, const uint8_t *src, bool advert)
{
	struct blk_path *p = NULL;

	for (unsigned i = 0; i < b->npaths; i++)
		if (b->paths[i].ifi == ifi && memcmp(b->paths[i].to.dst, src, 6) == 0)
			p = &b->paths[i];
	if (!p && b->npaths < BLK_MAX_PATHS) {
		char m[MAC_STRLEN];

		/* another of the target's MACs on this interface */
		p = &b->paths[b->npaths++];
		p->ifi = ifi;
		p->to = b->ifs[ifi].c->to;
		memcpy(p->to.dst, src, 6);
		p->up = true;
		log_notice("%s: new path to %s", b->ifs[ifi].c->rs.ifname, format_mac(src, m));
	}
	if (!p)
		return;
	if (!p->up)
		log_notice("%s: path answers again", b->ifs[ifi].c->rs.ifname);
	p->up = true;
	p->fails = 0;
	p->last_reply = now_ns();
	if (b->dead) {
		log_notice("e%u.%u answers again: resuming", p->to.shelf, p->to.slot);
		b->dead = false;
		b->cwnd = b->ssthresh = b->cfg.window;
		for (unsigned i = 0; i < b->nifs; i++) {
			b->ifs[i].coalesce = false;	/* until the target says so */
			blkpath_negotiate(b, &b->ifs[i]);
		}
		loop_defer(b->l, &b->dispatch);
	} else if (advert) {
		/* a (re)started target: its extension state is gone */
		log_notice("e%u.%u advertised itself: negotiating again", p->to.shelf, p->to.slot);
		b->ifs[ifi].coalesce = false;
		blkpath_negotiate(b, &b->ifs[ifi]);
	}
}

/* -------------------------------------------------------------- window */

void blkpath_ios_done(struct blk *b, unsigned n)
{
	if (b->cwnd < b->ssthresh)
		b->cwnd += n;			/* slow start */
	else
		b->cwnd += (double)n / b->cwnd;	/* congestion avoidance */
	if (b->cwnd > b->cfg.window)
		b->cwnd = b->cfg.window;
}

void blkpath_rtt_sample(struct blk *b, uint64_t us)
{
	uint64_t rto_us;

	if (!b->have_rtt) {
		b->srtt_us = us;
		b->rttvar_us = us / 2;
		b->have_rtt = true;
	} else {
		uint64_t d = us > b->srtt_us ? us - b->srtt_us : b->srtt_us - us;

		b->rttvar_us = (3 * b->rttvar_us + d) / 4;
		b->srtt_us = (7 * b->srtt_us + us) / 8;
	}
	rto_us = b->srtt_us + (4 * b->rttvar_us > 1000 ? 4 * b->rttvar_us : 1000);
	b->rto_ms = (unsigned)((rto_us + 999) / 1000);
	if (b->rto_ms < b->cfg.rto_min_ms)
		b->rto_ms = b->cfg.rto_min_ms;
	if (b->rto_ms > b->cfg.rto_max_ms)
		b->rto_ms = b->cfg.rto_max_ms;
}

void blkpath_arm_rexmit(struct blk *b, uint64_t deadline)
{
	if (!b->rexmit.armed || deadline < b->rexmit.when)
		loop_timer_at(b->l, &b->rexmit, deadline);
}

/* A frame timed out: count it against its path, choose where it goes
 * again (a write where it went: the target's window for it is that
 * initiator's), back its timer off, queue it. */
static void resend(struct blk *b, struct blk_slot *s)
{
	struct blk_path *p = &b->paths[s->path];

	b->st.timeouts++;
	b->st.retransmits++;
	if (++p->fails >= BLK_PATH_FAILS && p->up && paths_up(b) > 1) {
		p->up = false;
		b->st.path_down++;
		log_warn("%s: path to the target stopped answering; taken out",
			 b->ifs[p->ifi].c->rs.ifname);
	}
	/* a coalesced frame whose primary was answered but not all its
	 * descriptors: the target may have forgotten our negotiation (a
	 * restart whose advertisement we missed) */
	if (s->nsub > 1 && s->subs[0].done && !b->ifs[p->ifi].ext_tag)
		blkpath_negotiate(b, &b->ifs[p->ifi]);
	if (s->op != BLK_WRITE || !p->up) {
		int pi = blkpath_pick(b, s->pending > 1);

		if (pi >= 0 && (s->pending == 1 || b->ifs[b->paths[pi].ifi].coalesce))
			s->path = (unsigned)pi;
	}
	s->rto_ms = 2 * s->rto_ms < b->cfg.rto_max_ms ? 2 * s->rto_ms : b->cfg.rto_max_ms;
	blk_build_frame(b, s);
	blk_queue_tx(b, s);
}

static void rexmit_due(struct loop_timer *t)
{
	struct blk *b = t->ctx;
	uint64_t now = now_ns(), next = UINT64_MAX, dead_ns = b->cfg.dead_ms * 1000000;
	bool lost = false;

	for (unsigned i = 0; i < b->nslots; i++) {
		struct blk_slot *s = &b->slots[i];

		if (!s->busy || s->queued || !s->sends)
			continue;
		if (now - s->first_sent >= dead_ns) {
			log_err("e%u.%u: no reply for %llu ms: target dead, failing I/O with EIO",
				b->paths[s->path].to.shelf, b->paths[s->path].to.slot,
				(unsigned long long)b->cfg.dead_ms);
			b->dead = true;
			b->st.target_dead++;
			blk_fail_all(b);
			return;
		}
		if (s->deadline <= now) {
			resend(b, s);
			lost = true;
		} else if (s->deadline < next) {
			next = s->deadline;
		}
	}
	/* multiplicative decrease, once per round trip however many frames
	 * of a burst were lost */
	if (lost && now - b->last_shrink > b->srtt_us * 1000) {
		b->ssthresh = b->cwnd / 2 < 1 ? 1 : b->cwnd / 2;
		b->cwnd = b->ssthresh;
		b->last_shrink = now;
	}
	if (next != UINT64_MAX)
		loop_timer_at(b->l, &b->rexmit, next);
}

/* Once a second: Query Config to paths that are out (and to all while the
 * target is dead), and now and then the negotiation again. */
static void tick_due(struct loop_timer *t)
{
	struct blk *b = t->ctx;

	b->ticks++;
	for (unsigned i = 0; i < b->npaths; i++) {
		struct blk_path *p = &b->paths[i];
		struct blk_if *bi = &b->ifs[p->ifi];
		size_t len;

		if (p->up && !b->dead)
			continue;
		len = req_qc(b->ctl, b->frame_cap, &p->to, aoex_new_tag(b->ifs[0].c), QC_READ,
			     NULL, 0);
		aoex_send(bi->c, b->ctl, len);
	}
	if (!b->dead && b->ticks % BLK_RENEG_TICKS == 0)
		for (unsigned i = 0; i < b->nifs; i++)
			blkpath_negotiate(b, &b->ifs[i]);
	loop_timer_at(b->l, &b->tick, now_ns() + BLK_TICK_NS);
}
