/*
 * peer_has.h - what fuzz_frame and fuzz_ext both ask of the target: whether
 * an initiator has a feature active now (by its features string).
 */
#ifndef AOEX_FUZZ_PEER_HAS_H
#define AOEX_FUZZ_PEER_HAS_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "proto/target.h"

static bool peer_has(const struct aoe_target *t, const uint8_t mac[6], const char *feature)
{
	char buf[64];
	uint8_t m[6];

	for (unsigned i = 0; i < aoe_target_peer_count(t); i++) {
		aoe_target_peer_features(t, i, m, buf, sizeof buf);
		if (memcmp(m, mac, 6) == 0)
			return strstr(buf, feature) != NULL;
	}
	return false;
}

#endif
