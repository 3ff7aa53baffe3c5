/*
 * qconfig.h - Query Config (AoE command 1): the config string and its five
 * sub-commands.
 */
#ifndef AOEX_QCONFIG_H
#define AOEX_QCONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aoe.h"

struct qconfig {
	uint16_t len;
	uint8_t str[QC_CS_MAX];
};

struct qc_params {
	uint16_t bufcnt;	/* requests the target will queue (>= 2) */
	uint16_t fwver;
	uint8_t maxsect;	/* sectors per ATA command on this interface */
};

/*
 * Handle the Query Config request req/len (len >= 32).  Writes the reply
 * body (bytes 24..) into out, whose common header is already written.
 * Returns the reply length, or 0 when the rules say "no reply"; then
 * *bad_len tells whether the string length was the reason.  *changed is
 * set when the config string was set.
 *   read       : reply with the current string
 *   test       : reply only if the request string equals it
 *   test prefix: reply only if the request string is a prefix of it
 *   set        : set it if empty (or equal), else AoE error 4
 *   force set  : always set it
 *   other      : AoE error 2
 * A request whose string length exceeds 1024 or the frame is ignored (as
 * vblade does) unless it is a read, which carries no string.
 */
size_t qc_handle(struct qconfig *qc, const struct qc_params *p,
		 const uint8_t *req, size_t len, uint8_t *out, bool *changed,
		 bool *bad_len);

/* Build a config reply body (the unsolicited advertisement uses it). */
size_t qc_build_reply(const struct qconfig *qc, const struct qc_params *p,
		      uint8_t ccmd, uint8_t *out);

#endif
