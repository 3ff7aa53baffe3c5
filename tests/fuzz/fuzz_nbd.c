/*
 * fuzz_nbd.c - libFuzzer target for aoex attach's NBD server protocol
 * (src/tools/aoex/nbdwire.c): a whole client stream, handshake and
 * requests, from any client.
 *
 * Input: [knobs] [the client's bytes]
 *   knobs bit 0: start in the transmission phase (a kernel socket);
 *   bit 1: read-only export; bit 2: no FLUSH/FUA; bits 3-7: the input
 *   is fed in pieces of 1 + (knobs >> 3) * 37 bytes (byte by byte up to
 *   large), so every split of a field is tried.  The caller's part is
 *   played as nbdsrv.c plays it: a valid write's payload is taken from
 *   the stream, the output is drained after every call.
 *
 * Checks, besides ASan/UBSan: nbdw_feed never takes more than it was
 * given, and takes something or stops for a reason (an event, a full
 * output, the payload); the output never passes its buffer; a request
 * without an error lies inside the export, is 512-aligned, at most the
 * maximum block, is a READ/WRITE/FLUSH, and a WRITE only on a writable
 * export; after CLOSE or DISC nothing more is taken.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/aoex/nbdwire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(c) do { if (!(c)) abort(); } while (0)

static void check_request(const struct nbdw_export *e, const struct nbdw_req *r)
{
	if (r->error)
		return;
	check(r->type == NBD_CMD_READ || r->type == NBD_CMD_WRITE || r->type == NBD_CMD_FLUSH);
	if (r->type == NBD_CMD_FLUSH) {
		check(e->flags & NBD_TF_SEND_FLUSH);
		return;
	}
	check(r->len <= NBDW_MAX_BLOCK);
	check(r->offset <= e->size && r->len <= e->size - r->offset);
	check(r->offset % 512 == 0 && r->len % 512 == 0);
	check(r->type != NBD_CMD_WRITE || !(e->flags & NBD_TF_READ_ONLY));
	check(!(r->flags & ~NBD_CMD_FLAG_FUA));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct nbdw w;
	struct nbdw_export e = { .size = 1 << 20, .name = "e1.2", .desc = "fuzz" };
	size_t piece, at = 0;
	uint64_t payload = 0;
	bool closed = false;

	if (size < 1)
		return 0;
	e.flags = NBD_TF_HAS_FLAGS | NBD_TF_CAN_MULTI_CONN;
	if (data[0] & 2)
		e.flags |= NBD_TF_READ_ONLY;
	if (!(data[0] & 4))
		e.flags |= NBD_TF_SEND_FLUSH | NBD_TF_SEND_FUA;
	piece = 1 + (size_t)(data[0] >> 3) * 37;
	if (data[0] & 1)
		nbdw_init_transmission(&w, &e);
	else
		nbdw_init(&w, &e);
	data++;
	size--;
	while (at < size && !closed) {
		size_t n = size - at < piece ? size - at : piece, used;
		struct nbdw_req r;
		enum nbdw_event ev;

		check(w.outlen <= NBDW_OUT_MAX);
		nbdw_out_sent(&w, w.outlen);	/* the client reads everything */
		if (payload) {			/* the caller's part */
			size_t take = payload < n ? (size_t)payload : n;

			payload -= take;
			at += take;
			if (!payload)
				nbdw_payload_done(&w);
			continue;
		}
		used = nbdw_feed(&w, data + at, n, &r, &ev);
		check(used <= n);
		check(w.outlen <= NBDW_OUT_MAX);
		at += used;
		switch (ev) {
		case NBDW_EV_NONE:
			/* all taken, or stopped for output (drained above) */
			check(used == n || w.outlen > 0 || w.st == NBDW_PAYLOAD);
			break;
		case NBDW_EV_REQ:
			check(nbdw_transmitting(&w));
			check_request(&e, &r);
			if (r.type == NBD_CMD_WRITE && !r.error && r.len) {
				check(w.st == NBDW_PAYLOAD);
				payload = r.len;
			}
			break;
		case NBDW_EV_DISC:
		case NBDW_EV_CLOSE:
			check(w.st == NBDW_CLOSED);
			closed = true;
			break;
		}
		if (used == 0 && ev == NBDW_EV_NONE && w.outlen == 0 && w.st != NBDW_PAYLOAD)
			abort();	/* stuck: took nothing for no reason */
	}
	if (closed) {
		struct nbdw_req r;
		enum nbdw_event ev;

		check(nbdw_feed(&w, data, size, &r, &ev) == 0);
	}
	return 0;
}
