/* peers.c - the per-initiator Extensions table, LRU by a use counter. */
#include "config.h"
#include "peers.h"

#include <string.h>

static struct ext_peer *touch(struct ext_peers *ps, struct ext_peer *p)
{
	p->used = ++ps->clock;
	return p;
}

struct ext_peer *peers_find(struct ext_peers *ps, const uint8_t mac[6])
{
	for (unsigned i = 0; i < ps->n; i++)
		if (memcmp(ps->p[i].mac, mac, 6) == 0)
			return touch(ps, &ps->p[i]);
	return NULL;
}

static struct ext_peer *victim(struct ext_peers *ps)
{
	struct ext_peer *v = NULL;

	for (unsigned i = 0; i < ps->n; i++) {
		struct ext_peer *c = &ps->p[i];
		/* idle Extensions-only entries go first, oldest first */
		if (!v || (v->did_ata && !c->did_ata) ||
		    (v->did_ata == c->did_ata && c->used < v->used))
			v = c;
	}
	return v;
}

struct ext_peer *peers_get(struct ext_peers *ps, const uint8_t mac[6], bool *evicted)
{
	struct ext_peer *p = peers_find(ps, mac);

	*evicted = false;
	if (p)
		return p;
	if (ps->n < AOE_PEERS_MAX) {
		p = &ps->p[ps->n++];
	} else {
		p = victim(ps);
		*evicted = true;
	}
	memset(p, 0, sizeof *p);
	memcpy(p->mac, mac, 6);
	return touch(ps, p);
}

void peer_reset(struct ext_peer *p)
{
	ext_features_off(&p->ext);
	tagwin_clear(&p->win);
}
