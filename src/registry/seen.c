/* seen.c - initiators heard from, per device (see seen.h). */
#include "config.h"
#include "registry/seen.h"

#include <string.h>

#include "proto/aoe.h"
#include "proto/frame.h"

void seen_frame(struct seen *s, uint16_t shelf, uint8_t slot, const uint8_t *frame, size_t len)
{
	const uint8_t *src = frame + AOE_OFF_SRC;
	struct aoe_hdr h;
	unsigned i;

	if (!aoe_hdr_parse(frame, len, &h) || (h.flags & AOE_FLAG_R) ||
	    !aoe_addressed(h.shelf, h.slot, shelf, slot))
		return;
	if (s->n && memcmp(s->e[s->last].mac, src, 6) == 0) {
		s->e[s->last].frames++;
		return;
	}
	for (i = 0; i < s->n; i++)
		if (memcmp(s->e[i].mac, src, 6) == 0)
			break;
	if (i == s->n) {
		if (s->n == SEEN_MAX) {
			s->overflow++;
			return;
		}
		memcpy(s->e[s->n++].mac, src, 6);
	}
	s->e[i].frames++;
	s->last = i;
}
