/*
 * fuzz_reply.c - libFuzzer target for the initiator's reply parsers
 * (proto/request.c): what aoex reads off the wire, from any target.
 *
 * Input: [knobs] [n lo] [n hi] [n bytes: the request] [the rest: the reply]
 *   knobs bit 0: tags little-endian; bit 1: broadcast shelf; bit 2:
 *         broadcast slot (what req_reply_for accepts)
 * Every parser reads the reply (each frame is copied to a buffer of its
 * exact size, so ASan sees a read past its end); the Extensions parser
 * reads it against the request, and the request against an echo of itself.
 *
 * Checks, besides ASan/UBSan: no parser claims bytes past the frame (a
 * config string, directives, MACs, table strings); a parser refuses
 * exactly the frames shorter than its header; an Extensions reply that
 * is well formed differs from its request only by letter case, an active
 * string is the sent one upper-cased, the strings iterated are nstr; an
 * exact echo of a request is well formed with nothing active.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/aoe.h"
#include "proto/ext.h"
#include "proto/crc8x4.h"
#include "proto/request.h"
#include "proto/wack.h"
#include "proto/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(c) do { if (!(c)) abort(); } while (0)

static const uint8_t US[6] = { 2, 0, 0, 0, 1, 7 };
static const uint8_t TARGET[6] = { 2, 0, 0, 0, 0, 1 };

static uint8_t *copy(const uint8_t *p, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);

	memcpy(c, p, n);
	return c;
}

static void fuzz_common(const struct aoe_req_addr *a, const uint8_t *rep, size_t len,
			const uint8_t *req, size_t reqlen)
{
	bool mine = req_reply_for(a, rep, len);

	if (mine) {
		check(len >= AOE_HDR_LEN && get_be16(rep + AOE_OFF_TYPE) == AOE_ETHERTYPE);
		check((rep[AOE_OFF_VERFLAGS] & AOE_FLAG_R) && memcmp(rep, a->src, 6) == 0);
	}
	if (reqlen >= AOE_HDR_LEN && req_reply_answers(a, rep, len, req))
		check(mine && rep[AOE_OFF_CMD] == req[AOE_OFF_CMD]);
}

static void fuzz_fixed(const uint8_t *rep, size_t len)
{
	struct req_qc_reply qc;
	struct req_ata_reply r;
	struct req_mask_reply m;
	struct req_res_reply rr;

	check(req_parse_qc(rep, len, &qc) == (len >= QC_HDR_LEN));
	if (len >= QC_HDR_LEN)
		check(qc.cslen <= len - QC_HDR_LEN && qc.cslen <= QC_CS_MAX);
	check(req_parse_ata(rep, len, &r) == (len >= ATA_HDR_LEN));
	check(r.len == len);
	if (len >= ATA_HDR_LEN) {
		/* crc8x4: a reply taken as sound with data is its check */
		size_t data = req_ata_reply_data(rep);
		if (req_ata_crc_ok(rep, len, data, get_le48(rep + ATA_OFF_LBA)) && data &&
		    len >= ATA_HDR_LEN + data + CRC8X4_LEN)
			check(crc8x4_ok(rep, ATA_HDR_LEN + data));
		/* coalesced write acks: entries lie inside the frame */
		for (int crc = 0; crc < 2; crc++) {
			bool bad;
			unsigned n = wack_count(rep, len, crc, &bad);
			uint8_t one[ATA_HDR_LEN];

			check(!(bad && n));
			check(!n || WACK_OFF_ENTRY + (size_t)n * WACK_ENTRY_LEN <= len);
			for (unsigned i = 0; i < n; i++) {
				wack_entry(rep, i, one);
				check(memcmp(one, rep, 20) == 0);
			}
		}
	}
	if (len < ATA_HDR_LEN)
		check(req_ata_failed(&r));
	if (req_parse_mask(rep, len, &m)) {
		check(len >= MASK_HDR_LEN && m.ndirs <= m.dcount);
		check(m.dirs + (size_t)m.ndirs * MASK_DIR_LEN <= rep + len);
	} else {
		check(len < MASK_HDR_LEN);
	}
	if (req_parse_res(rep, len, &rr)) {
		check(len >= RES_HDR_LEN && rr.nfit <= rr.nmacs);
		check(rr.macs + (size_t)rr.nfit * 6 <= rep + len);
	} else {
		check(len < RES_HDR_LEN);
	}
}

static void fuzz_ext(const uint8_t *req, size_t reqlen, const uint8_t *rep, size_t replen)
{
	struct req_ext_reply r;
	struct req_ext_str s;
	size_t pos = 0;
	unsigned n = 0;

	if (!req_parse_ext(req, reqlen, rep, replen, &r)) {
		check(replen < EXT_HDR_LEN && r.malformed && r.nstr == 0);
		return;
	}
	check(r.avail <= r.len && r.avail <= replen - EXT_HDR_LEN);
	if (!r.malformed) {
		size_t sent = reqlen > EXT_HDR_LEN ? reqlen - EXT_HDR_LEN : 0;

		check(r.len == (reqlen >= EXT_HDR_LEN ? get_le16(req + EXT_OFF_LEN_LE) : 0));
		check(r.avail == r.len && replen >= reqlen);
		check(!sent || ext_same_but_case(r.table, req + EXT_OFF_TABLE,
						 r.avail < sent ? r.avail : sent));
	}
	while (req_ext_next(&r, &pos, &s)) {
		size_t at = (size_t)(s.s - r.table);

		check(s.len > 0 && at + s.len <= r.avail && pos <= r.avail + 1);
		check(memchr(s.s, 0, s.len) == NULL);
		if (s.active) {
			check(EXT_HDR_LEN + at + s.len <= reqlen);
			for (size_t i = 0; i < s.len; i++) {
				uint8_t q = req[EXT_OFF_TABLE + at + i];
				check(s.s[i] == q || (q >= 'a' && q <= 'z' && s.s[i] == q - 'a' + 'A'));
			}
		}
		n++;
	}
	check(n == r.nstr);
}

/* The request's bytes as a table, and a reply that echoes it exactly. */
static void fuzz_echo(const struct aoe_req_addr *a, const uint8_t *tab, size_t tlen)
{
	static uint8_t f[70000];
	struct req_ext_reply r;
	struct req_ext_str s;
	/* tlen < 65536: the input is at most 64 KiB */
	size_t len = req_ext(f, sizeof f, a, 1, tab, tlen, (uint16_t)tlen), pos = 0;

	check(len == (EXT_OFF_TABLE + tlen < AOE_MIN_FRAME ? AOE_MIN_FRAME : EXT_OFF_TABLE + tlen));
	check(req_parse_ext(f, len, f, len, &r) && !r.malformed);
	while (req_ext_next(&r, &pos, &s))
		check(!s.active);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct aoe_req_addr a = { .shelf = 1, .slot = 2 };
	size_t n;
	uint8_t *req, *rep;

	if (size < 3 || size > 65536)
		return 0;
	memcpy(a.src, US, 6);
	memcpy(a.dst, TARGET, 6);
	a.tag_order = (data[0] & 1) ? AOE_TAG_LE : AOE_TAG_BE;
	if (data[0] & 2)
		a.shelf = AOE_SHELF_ANY;
	if (data[0] & 4)
		a.slot = AOE_SLOT_ANY;
	n = get_le16(data + 1);
	if (n > size - 3)
		n = size - 3;
	req = copy(data + 3, n);
	rep = copy(data + 3 + n, size - 3 - n);
	fuzz_common(&a, rep, size - 3 - n, req, n);
	fuzz_fixed(rep, size - 3 - n);
	fuzz_ext(req, n, rep, size - 3 - n);
	fuzz_echo(&a, req, n);
	free(req);
	free(rep);
	return 0;
}
