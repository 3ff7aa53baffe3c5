/*
 * t_nbd.c - aoex attach's NBD server protocol (src/tools/aoex/nbdwire.c)
 * byte for byte: the greeting, the option replies, the requests and the
 * errors decided for them, input split at every byte.
 */
#include "config.h"
#include "tap.h"
#include "tools/aoex/nbdwire.h"
#include "proto/wire.h"

#include <stdint.h>
#include <string.h>

static const struct nbdw_export EXP = {
	.size = 1 << 20, .flags = NBD_TF_HAS_FLAGS | NBD_TF_SEND_FLUSH | NBD_TF_SEND_FUA,
	.name = "e1.2", .desc = "test",
};

static size_t opt(uint8_t *p, uint32_t o, const void *data, uint32_t len)
{
	put_be64(p, NBD_MAGIC_OPT);
	put_be32(p + 8, o);
	put_be32(p + 12, len);
	if (len)
		memcpy(p + 16, data, len);
	return 16 + len;
}

static size_t req(uint8_t *p, uint16_t type, uint16_t flags, uint64_t off, uint32_t len)
{
	put_be32(p, NBD_MAGIC_REQ);
	put_be16(p + 4, flags);
	put_be16(p + 6, type);
	put_be64(p + 8, 0x1122334455667788ULL);
	put_be64(p + 16, off);
	put_be32(p + 24, len);
	return NBDW_REQ_LEN;
}

/* feed everything, one byte at a time; the first request event */
static int feed_bytewise(struct nbdw *w, const uint8_t *p, size_t n, struct nbdw_req *r)
{
	for (size_t i = 0; i < n; i++) {
		enum nbdw_event ev;

		if (nbdw_feed(w, p + i, 1, r, &ev) != 1)
			return -1;
		if (ev != NBDW_EV_NONE)
			return (int)ev;
	}
	return NBDW_EV_NONE;
}

static int one_request(uint16_t type, uint16_t flags, uint64_t off, uint32_t len,
		       const struct nbdw_export *e, struct nbdw_req *r)
{
	struct nbdw w;
	uint8_t b[NBDW_REQ_LEN];

	nbdw_init_transmission(&w, e);
	req(b, type, flags, off, len);
	return feed_bytewise(&w, b, sizeof b, r);
}

int main(void)
{
	struct nbdw w;
	struct nbdw_req r;
	enum nbdw_event ev;
	uint8_t in[2048], cf[4];
	size_t n;

	/* greeting: NBDMAGIC IHAVEOPT, fixed newstyle + no zeroes */
	nbdw_init(&w, &EXP);
	is_int(w.outlen, 18, "greeting is 18 bytes");
	ok(memcmp(w.out, "NBDMAGICIHAVEOPT\x00\x03", 18) == 0, "greeting bytes");
	nbdw_out_sent(&w, w.outlen);

	/* client flags, then GO for "" asking for the block size */
	put_be32(cf, NBD_HS_FIXED | NBD_HS_NO_ZEROES);
	n = nbdw_feed(&w, cf, 4, &r, &ev);
	is_int(n, 4, "client flags taken");
	{
		uint8_t d[] = { 0, 0, 0, 0, 0, 1, 0, NBD_INFO_BLOCK_SIZE };

		n = opt(in, NBD_OPT_GO, d, sizeof d);
	}
	is_int(feed_bytewise(&w, in, n, &r), NBDW_EV_NONE, "GO taken byte by byte");
	ok(nbdw_transmitting(&w), "GO enters transmission");
	/* INFO_EXPORT (20 + 12), INFO_BLOCK_SIZE (20 + 14), ACK (20) */
	is_int(w.outlen, 32 + 34 + 20, "GO reply length");
	is_int((long long)get_be64(w.out), (long long)NBD_MAGIC_REP, "reply magic");
	is_int(get_be32(w.out + 12), NBD_REP_INFO, "first reply is INFO");
	is_int(get_be16(w.out + 20), NBD_INFO_EXPORT, "INFO_EXPORT");
	is_int((long long)get_be64(w.out + 22), 1 << 20, "export size");
	is_int(get_be16(w.out + 30), EXP.flags, "transmission flags");
	is_int(get_be16(w.out + 52), NBD_INFO_BLOCK_SIZE, "INFO_BLOCK_SIZE");
	is_int(get_be32(w.out + 54), 512, "minimum block 512");
	is_int(get_be32(w.out + 58), 4096, "preferred 4096");
	is_int(get_be32(w.out + 62), 32 << 20, "maximum 32 MiB");
	is_int(get_be32(w.out + 66 + 12), NBD_REP_ACK, "then ACK");

	/* an unknown export: ERR_UNKNOWN, still negotiating */
	nbdw_init(&w, &EXP);
	nbdw_feed(&w, cf, 4, &r, &ev);
	nbdw_out_sent(&w, w.outlen);
	{
		uint8_t d[] = { 0, 0, 0, 3, 'f', 'o', 'o', 0, 0 };

		n = opt(in, NBD_OPT_INFO, d, sizeof d);
	}
	nbdw_feed(&w, in, n, &r, &ev);
	is_int(get_be32(w.out + 12), NBD_REP_ERR_UNKNOWN, "unknown export: ERR_UNKNOWN");
	ok(!nbdw_transmitting(&w), "still negotiating");
	nbdw_out_sent(&w, w.outlen);
	/* LIST: SERVER "e1.2", ACK */
	n = opt(in, NBD_OPT_LIST, NULL, 0);
	nbdw_feed(&w, in, n, &r, &ev);
	is_int(get_be32(w.out + 12), NBD_REP_SERVER, "LIST: SERVER");
	ok(get_be32(w.out + 20) == 4 && memcmp(w.out + 24, "e1.2", 4) == 0, "LIST names e1.2");
	is_int(get_be32(w.out + 28 + 12), NBD_REP_ACK, "LIST: ACK");
	nbdw_out_sent(&w, w.outlen);
	/* STARTTLS and structured replies: ERR_UNSUP */
	n = opt(in, NBD_OPT_STARTTLS, NULL, 0);
	nbdw_feed(&w, in, n, &r, &ev);
	is_int(get_be32(w.out + 12), NBD_REP_ERR_UNSUP, "STARTTLS: ERR_UNSUP");
	nbdw_out_sent(&w, w.outlen);
	/* ABORT: ACK and close */
	n = opt(in, NBD_OPT_ABORT, NULL, 0);
	nbdw_feed(&w, in, n, &r, &ev);
	is_int(ev, NBDW_EV_CLOSE, "ABORT closes");
	is_int(get_be32(w.out + 12), NBD_REP_ACK, "after an ACK");

	/* garbage client flags close at once */
	nbdw_init(&w, &EXP);
	nbdw_feed(&w, (const uint8_t *)"junk", 4, &r, &ev);
	is_int(ev, NBDW_EV_CLOSE, "unknown client flags: closed");

	/* EXPORT_NAME with the old 124 zero bytes when NO_ZEROES is not set */
	nbdw_init(&w, &EXP);
	put_be32(cf, NBD_HS_FIXED);
	nbdw_feed(&w, cf, 4, &r, &ev);
	nbdw_out_sent(&w, w.outlen);
	n = opt(in, NBD_OPT_EXPORT_NAME, "e1.2", 4);
	nbdw_feed(&w, in, n, &r, &ev);
	is_int(w.outlen, 10 + 124, "EXPORT_NAME: size, flags, 124 zeroes");
	ok(nbdw_transmitting(&w), "EXPORT_NAME enters transmission");

	/* requests and the errors decided for them */
	is_int(one_request(NBD_CMD_READ, 0, 4096, 8192, &EXP, &r), NBDW_EV_REQ, "read parsed");
	is_int(r.error, 0, "read inside: no error");
	ok(r.handle == 0x1122334455667788ULL && r.offset == 4096 && r.len == 8192, "read fields");
	one_request(NBD_CMD_READ, 0, (1 << 20) - 512, 1024, &EXP, &r);
	is_int(r.error, NBD_EINVAL, "read past the end: EINVAL");
	one_request(NBD_CMD_WRITE, 0, 1 << 20, 512, &EXP, &r);
	is_int(r.error, NBD_ENOSPC, "write past the end: ENOSPC");
	one_request(NBD_CMD_READ, 0, 0, 64u << 20, &EXP, &r);
	is_int(r.error, NBD_EINVAL, "oversize read: EINVAL");
	one_request(NBD_CMD_READ, 0, 1, 512, &EXP, &r);
	is_int(r.error, NBD_EINVAL, "unaligned: EINVAL");
	one_request(4, 0, 0, 512, &EXP, &r);
	is_int(r.error, NBD_EINVAL, "TRIM (not offered): EINVAL");
	one_request(NBD_CMD_WRITE, NBD_CMD_FLAG_FUA, 0, 512, &EXP, &r);
	is_int(r.error, 0, "FUA write allowed when offered");
	one_request(NBD_CMD_READ, NBD_CMD_FLAG_FUA, 0, 512, &EXP, &r);
	is_int(r.error, NBD_EINVAL, "FUA on a read: EINVAL");
	{
		struct nbdw_export ro = EXP;

		ro.flags |= NBD_TF_READ_ONLY;
		one_request(NBD_CMD_WRITE, 0, 0, 512, &ro, &r);
		is_int(r.error, NBD_EPERM, "write to a read-only export: EPERM");
		ro.flags &= (uint16_t)~NBD_TF_SEND_FLUSH;
		one_request(NBD_CMD_FLUSH, 0, 0, 0, &ro, &r);
		is_int(r.error, NBD_EINVAL, "FLUSH not offered: EINVAL");
	}
	is_int(one_request(NBD_CMD_DISC, 0, 0, 0, &EXP, &r), NBDW_EV_DISC, "DISC");

	/* a refused write's payload is skipped; the next request is in step */
	nbdw_init_transmission(&w, &EXP);
	n = req(in, NBD_CMD_WRITE, 0, 1 << 20, 1024);
	memset(in + n, 0x5a, 1024);
	n += 1024;
	n += req(in + n, NBD_CMD_READ, 0, 0, 512);
	{
		uint8_t big[NBDW_REQ_LEN + 1024 + NBDW_REQ_LEN];
		size_t used;

		memcpy(big, in, n);
		used = nbdw_feed(&w, big, n, &r, &ev);
		is_int(ev, NBDW_EV_REQ, "refused write reported");
		is_int(r.error, NBD_ENOSPC, "with ENOSPC");
		used += nbdw_feed(&w, big + used, n - used, &r, &ev);
		is_int(ev, NBDW_EV_REQ, "the read after it parsed");
		ok(r.type == NBD_CMD_READ && r.error == 0 && used == n, "in step after the skip");
	}
	/* a valid write stops for the caller's payload */
	nbdw_init_transmission(&w, &EXP);
	n = req(in, NBD_CMD_WRITE, 0, 0, 512);
	nbdw_feed(&w, in, n, &r, &ev);
	is_int(w.st, NBDW_PAYLOAD, "valid write: the payload is the caller's");
	is_int(nbdw_feed(&w, in, n, &r, &ev), 0, "nothing taken meanwhile");
	nbdw_payload_done(&w);
	is_int(w.st, NBDW_REQ_HDR, "then the next header");
	/* a bad request magic closes */
	memset(in, 0, NBDW_REQ_LEN);
	nbdw_feed(&w, in, NBDW_REQ_LEN, &r, &ev);
	is_int(ev, NBDW_EV_CLOSE, "bad request magic: closed");

	{
		uint8_t h[NBDW_REPLY_LEN];

		nbdw_simple_reply(h, 0x0102030405060708ULL, NBD_EIO);
		ok(memcmp(h, "\x67\x44\x66\x98\x00\x00\x00\x05\x01\x02\x03\x04\x05\x06\x07\x08", 16) == 0,
		   "simple reply bytes");
	}
	return done_testing();
}
