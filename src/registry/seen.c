/* seen.c - initiators heard from, per device (see seen.h). */
#include "config.h"
#include "registry/seen.h"

#include <string.h>

void seen_note(struct seen *s, const uint8_t src[6])
{
	unsigned i;

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
