/*
 * ctl_proto.h - the wire format of aoexd's control socket, pure (no I/O) so
 * it can be unit-tested and fuzzed.
 *
 * One connection carries one request and one response:
 *   request  : one line of text, "COMMAND [--json] [ARG...]\n", at most
 *              CTL_REQ_MAX bytes; words are separated by blanks, and an
 *              argument is printable ASCII without blanks.
 *   response : a status line, "ok\n" or "error: REASON\n", then the body
 *              (text or, after --json, one JSON document), then the daemon
 *              closes the connection.
 *
 * Counters travel as records: a kind ("device", "iface"), a name and
 * key/value pairs.  As text a record is one line,
 *   device NAME key=value key=value ...
 * which people can read, grep can search and aoexctl monitor parses back
 * (ctl_rec_parse); as JSON it is one object in the "devices" or
 * "interfaces" array.
 */
#ifndef AOEX_CTL_PROTO_H
#define AOEX_CTL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Where aoexd listens and aoexctl asks unless told otherwise. */
#define CTL_DEFAULT_SOCKET	"/run/aoexd/ctl"

#define CTL_REQ_MAX	512	/* one request line, newline included */
#define CTL_ARGS_MAX	16	/* arguments after the command */
#define CTL_ARG_MAX	256	/* one argument, NUL included (a shadow path) */
#define CTL_RESP_MAX	(8u << 20)	/* a response larger is cut, with an error */

enum ctl_cmd {
	CTL_STATUS, CTL_STATS, CTL_RELOAD,
	CTL_SHOW_CONFIG, CTL_SHOW_MACMASK, CTL_SHOW_RESERVE,
	CTL_CLEAR_STATS, CTL_CLEAR_MACMASK, CTL_CLEAR_RESERVE,
	CTL_FREEZE, CTL_THAW,	/* freeze NAME PATH MAXBYTES, thaw NAME */
	CTL__COUNT
};

struct ctl_request {
	enum ctl_cmd cmd;
	bool json;			/* --json: the body is JSON */
	unsigned nargs;
	char args[CTL_ARGS_MAX][CTL_ARG_MAX];
};

/*
 * Parse one request of len bytes (a trailing "\n" or "\r\n" is allowed; a
 * NUL or any other control character is not).  0 and *out filled, or -1
 * with a one-line reason in err (never empty, always NUL-terminated when
 * errlen > 0).  Checks the command's argument count too.
 */
int ctl_parse_request(const char *buf, size_t len, struct ctl_request *out,
		      char *err, size_t errlen);

/* The request as a line ending in "\n"; its length, or -1 if it does not
 * fit in n bytes (or would not parse back). */
int ctl_format_request(const struct ctl_request *r, char *buf, size_t n);

const char *ctl_cmd_name(enum ctl_cmd c);
/* The command named s, or -1. */
int ctl_cmd_from_name(const char *s);

/* ------------------------------------------------------------ output */

/* A growing response buffer, never larger than max: past it, overflow is
 * set and further output dropped. */
struct ctl_buf {
	char *p;
	size_t len, cap, max;
	bool overflow;
};

void ctl_buf_init(struct ctl_buf *b, size_t max);
void ctl_buf_free(struct ctl_buf *b);
void ctl_buf_reset(struct ctl_buf *b);
void ctl_printf(struct ctl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ctl_put(struct ctl_buf *b, const char *s, size_t n);
/* s as a JSON string, quoted and escaped (bytes >= 0x80 pass through). */
void ctl_json_str(struct ctl_buf *b, const char *s);

/* --------------------------------------------------------- records */

#define CTL_REC_MAX	96	/* pairs in one record */
#define CTL_NAME_MAX	64
#define CTL_STR_MAX	48	/* a string value */

enum ctl_vtype { CTL_V_U64, CTL_V_CENTI, CTL_V_STR };

struct ctl_kv {
	char key[32];
	enum ctl_vtype type;
	uint64_t v;		/* U64; CENTI: hundredths, shown as 12.34 */
	char s[CTL_STR_MAX];	/* STR */
};

struct ctl_rec {
	char kind[16];		/* "device", "iface", "engine" */
	char name[CTL_NAME_MAX];
	char group[16];		/* "" or a word after the name: the daemon's stop
				 * log splits a device's counters into lines */
	unsigned n;
	struct ctl_kv kv[CTL_REC_MAX];
};

void ctl_rec_init(struct ctl_rec *r, const char *kind, const char *name);
/* Add a pair; silently ignored when the record is full.  CTL_REC_MAX
 * leaves room: the counter table (src/stats) has fewer, and control.bats
 * checks that the last one arrives. */
void ctl_rec_u64(struct ctl_rec *r, const char *key, uint64_t v);
void ctl_rec_centi(struct ctl_rec *r, const char *key, uint64_t hundredths);
void ctl_rec_str(struct ctl_rec *r, const char *key, const char *s);
const struct ctl_kv *ctl_rec_get(const struct ctl_rec *r, const char *key);

/* One text line "kind name [group ]k=v ...\n" (blanks and control
 * characters in names and strings become '_'). */
void ctl_rec_text(struct ctl_buf *b, const struct ctl_rec *r);
/* One JSON object {"name":..., "k": v, ...}. */
void ctl_rec_json(struct ctl_buf *b, const struct ctl_rec *r);

/* Parse a text line (without or with its "\n") back; 0 or -1. */
int ctl_rec_parse(const char *line, size_t len, struct ctl_rec *r);

/* The response's status line: 1 for "ok", 0 for "error: ..." (the reason
 * into msg), -1 when it is neither.  *body is set past the line. */
int ctl_parse_status(const char *buf, size_t len, char *msg, size_t msglen, size_t *body);

#endif
