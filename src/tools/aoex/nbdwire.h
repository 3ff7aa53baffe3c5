/*
 * nbdwire.h - the server side of the NBD protocol as a pure state machine:
 * bytes from the client go in, bytes for the client and parsed requests
 * come out.  No sockets, no allocation: nbdsrv.c owns the I/O, and the
 * fuzz target (tests/fuzz/fuzz_nbd.c) drives this file alone.
 *
 * What it speaks: the fixed newstyle handshake (NBD_OPT_EXPORT_NAME, GO,
 * INFO, LIST, ABORT; everything else NBD_REP_ERR_UNSUP, STARTTLS included)
 * and the transmission phase with simple replies (READ, WRITE, FLUSH,
 * DISC).  One export; its name and "" both select it.  A kernel socket
 * (nbdkern.c) starts in the transmission phase: the kernel does no
 * handshake.
 *
 * Requests are checked here, so every client is held to the same rules:
 * a bad magic is fatal (the stream cannot be resynchronised); a request
 * that is only wrong (past the end, unaligned, oversize, a command not
 * advertised, unknown flags, a write to a read-only export) comes out
 * with its NBD error already decided, and a write's payload is skipped
 * here whatever its size.
 */
#ifndef AOEX_NBDWIRE_H
#define AOEX_NBDWIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NBD_MAGIC_INIT		0x4e42444d41474943ULL	/* "NBDMAGIC" */
#define NBD_MAGIC_OPT		0x49484156454F5054ULL	/* "IHAVEOPT" */
#define NBD_MAGIC_REP		0x0003e889045565a9ULL
#define NBD_MAGIC_REQ		0x25609513u
#define NBD_MAGIC_SIMPLE	0x67446698u

#define NBD_HS_FIXED		0x1	/* handshake flags (server and client) */
#define NBD_HS_NO_ZEROES	0x2

enum {
	NBD_OPT_EXPORT_NAME = 1, NBD_OPT_ABORT = 2, NBD_OPT_LIST = 3,
	NBD_OPT_STARTTLS = 5, NBD_OPT_INFO = 6, NBD_OPT_GO = 7,
};
#define NBD_REP_ACK		1u
#define NBD_REP_SERVER		2u
#define NBD_REP_INFO		3u
#define NBD_REP_ERR_UNSUP	0x80000001u
#define NBD_REP_ERR_INVALID	0x80000003u
#define NBD_REP_ERR_UNKNOWN	0x80000006u
#define NBD_REP_ERR_TOO_BIG	0x80000009u
enum { NBD_INFO_EXPORT = 0, NBD_INFO_NAME = 1, NBD_INFO_DESCRIPTION = 2, NBD_INFO_BLOCK_SIZE = 3 };

/* transmission flags */
#define NBD_TF_HAS_FLAGS	0x001
#define NBD_TF_READ_ONLY	0x002
#define NBD_TF_SEND_FLUSH	0x004
#define NBD_TF_SEND_FUA		0x008
#define NBD_TF_CAN_MULTI_CONN	0x100

enum { NBD_CMD_READ = 0, NBD_CMD_WRITE = 1, NBD_CMD_DISC = 2, NBD_CMD_FLUSH = 3 };
#define NBD_CMD_FLAG_FUA	0x1

/* errors in replies (the protocol's values, which are Linux's) */
#define NBD_EPERM	1
#define NBD_EIO		5
#define NBD_EINVAL	22
#define NBD_ENOSPC	28
#define NBD_ESHUTDOWN	108

#define NBDW_REQ_LEN	28
#define NBDW_REPLY_LEN	16
#define NBDW_MIN_BLOCK	512u
#define NBDW_PREF_BLOCK	4096u
#define NBDW_MAX_BLOCK	(32u << 20)	/* largest read or write: qemu's and
					 * the kernel's own maximum */
#define NBDW_OPT_MAX	4096u	/* option data kept; longer is skipped and
				 * refused (names are at most 4096 bytes) */
#define NBDW_OUT_MAX	8192u
#define NBDW_NAME_MAX	64u

/* The one export. */
struct nbdw_export {
	uint64_t size;		/* bytes, a multiple of 512 */
	uint16_t flags;		/* NBD_TF_* */
	char name[NBDW_NAME_MAX];
	char desc[NBDW_NAME_MAX];
};

enum nbdw_state {
	NBDW_CLIENT_FLAGS,	/* 4 bytes after the greeting */
	NBDW_OPT_HDR,		/* 16: IHAVEOPT, option, length */
	NBDW_OPT_DATA,
	NBDW_REQ_HDR,		/* transmission: the next 28-byte request */
	NBDW_PAYLOAD,		/* the caller reads a write's payload */
	NBDW_SKIP,		/* discarding a refused write's payload */
	NBDW_CLOSED,
};

/* One request as parsed. */
struct nbdw_req {
	uint16_t flags, type;
	uint64_t handle, offset;
	uint32_t len;
	int error;		/* 0, or the NBD error to answer with */
};

enum nbdw_event {
	NBDW_EV_NONE,		/* all input taken (or the output is full) */
	NBDW_EV_REQ,		/* *req: answer it; a valid WRITE's len
				 * payload bytes are the caller's to read
				 * (then nbdw_payload_done) */
	NBDW_EV_DISC,		/* NBD_CMD_DISC: finish, then close */
	NBDW_EV_CLOSE,		/* NBD_OPT_ABORT, or a client that
				 * broke the protocol: send the output,
				 * then close (why in w->why) */
};

struct nbdw {
	enum nbdw_state st;
	const struct nbdw_export *exp;
	bool no_zeroes;		/* the client asked for NBD_HS_NO_ZEROES */
	uint8_t hdr[NBDW_REQ_LEN];
	unsigned hlen;
	uint32_t opt, optlen, optgot;
	uint64_t skip;		/* bytes of payload still to discard */
	uint8_t optbuf[NBDW_OPT_MAX];
	uint8_t out[NBDW_OUT_MAX];
	size_t outlen;		/* the caller sends out[0..outlen) and calls
				 * nbdw_out_sent */
	const char *why;	/* for NBDW_EV_CLOSE */
	/* counters */
	uint64_t options, requests, refused;
};

/* A newly accepted client: the greeting goes into w->out. */
void nbdw_init(struct nbdw *w, const struct nbdw_export *exp);
/* A socket handed to the kernel: transmission from the first byte. */
void nbdw_init_transmission(struct nbdw *w, const struct nbdw_export *exp);

/* Take bytes of p[0..n) until an event: returns the bytes taken (*ev says
 * what stopped it).  Call again with the rest.  While the output buffer
 * cannot hold an option's reply, nothing is taken (NBDW_EV_NONE with 0):
 * send first. */
size_t nbdw_feed(struct nbdw *w, const uint8_t *p, size_t n, struct nbdw_req *req,
		 enum nbdw_event *ev);
/* The caller has read the payload of the write it was given. */
void nbdw_payload_done(struct nbdw *w);
/* n bytes of w->out were sent. */
void nbdw_out_sent(struct nbdw *w, size_t n);
/* Whether the handshake is over (requests are being served). */
bool nbdw_transmitting(const struct nbdw *w);

/* A simple reply's 16 bytes. */
void nbdw_simple_reply(uint8_t out[NBDW_REPLY_LEN], uint64_t handle, uint32_t error);

#endif
