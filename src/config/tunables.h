/*
 * tunables.h - every knob of an export and of an interface, defined once.
 *
 * Each row names a tunable's field, its kind, its key in aoexd.conf, its
 * command-line flag, its range, its default and its help.  From these rows
 * come the fields of struct conf_tuning and struct conf_ifset, the
 * config file's checks, getting and printing (conf.c), the command line's
 * options and their --help lines (options.c), and the reload comparison.
 * docs.bats checks the man pages against what --help prints from here.
 *
 * X(field, kind, conf key, long option, short option, min, max, default,
 *   argument name, help)
 *   kind: UINT (unsigned), MTU (unsigned, 0 or min..max), SIZE (bytes,
 *   uint64_t, K/M/G suffixes), BOOL, POLICY (write-through/write-back).
 *   The help is one paragraph; --help wraps it.
 *   A flag of 0 means the option has no short form.
 */
#ifndef AOEX_TUNABLES_H
#define AOEX_TUNABLES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TUNE_K 1024ULL
#define TUNE_M (1024ULL * 1024)

/* Per device; set globally in the file as the defaults of every device. */
#define DEVICE_TUNABLES(X) \
	X(bufcnt, UINT, "buffer-count", "bufcnt", 'b', 2, 65535, 64, "N", \
	  "requests the target queues, advertised in Query Config: how many an initiator may have outstanding (the Linux initiator stalls below 2)") \
	X(queue_depth, UINT, "queue-depth", "queue-depth", 0, 1, 1024, 64, "N", \
	  "disk I/Os in flight at most; more requests wait in the queue, never dropped while request buffers remain (4 x bufcnt, 64..4096)") \
	X(direct_io, BOOL, "direct-io", "direct", 'd', 0, 1, 1, NULL, \
	  "open the store with O_DIRECT, bypassing the page cache (the default; --buffered turns it off); a file system without it falls back to buffered I/O with a warning") \
	X(sync_writes, BOOL, "sync-writes", "sync", 's', 0, 1, 0, NULL, \
	  "open the store with O_DSYNC: every write is durable when it is acknowledged, even on a disk's volatile cache") \
	X(write_policy, POLICY, "write-policy", "write-policy", 0, 0, 1, 0, "P", \
	  "write-through: a write is acknowledged once it is on the store; write-back: once it is in a buffer (up to max-dirty bytes, at most max-age ms old, are lost if aoexd is killed; IDENTIFY then reports a volatile write cache; FLUSH CACHE, SIGTERM and SIGHUP write it out)") \
	X(read_ahead, SIZE, "read-ahead", "read-ahead", 0, 0, 64 * TUNE_M, 256 * TUNE_K, "SIZE", \
	  "read-ahead chunk for sequential readers; 0 disables read-ahead") \
	X(read_ahead_streams, UINT, "read-ahead-streams", "read-ahead-streams", 0, 1, 64, 4, "N", \
	  "sequential streams tracked") \
	X(write_behind, SIZE, "write-behind", "write-behind", 0, 4 * TUNE_K, 64 * TUNE_M, 512 * TUNE_K, "SIZE", \
	  "write-back buffer size") \
	X(max_dirty, SIZE, "write-back-max-dirty", "max-dirty", 0, 4 * TUNE_K, 1024 * TUNE_M, 4 * TUNE_M, "SIZE", \
	  "write-back: acknowledged bytes not yet written, at most") \
	X(max_age_ms, UINT, "write-back-max-age", "max-age", 0, 1, 600000, 500, "MS", \
	  "write-back: the oldest unwritten data's age at most, in milliseconds") \
	X(merge_delay_us, UINT, "merge-delay", "merge-delay", 0, 0, 10000, 0, "US", \
	  "when the disk is idle, hold the first request up to US microseconds so that its neighbours arriving next merge into one I/O (0: off)") \
	X(thaw_rate, SIZE, "thaw-rate", "thaw-rate", 0, 64 * TUNE_K, 4096 * TUNE_M, 64 * TUNE_M, "SIZE", \
	  "after aoexctl thaw, how many bytes per second the background merge copies from the shadow back into the store at most, so that initiators keep their share of the disk")

/* Per interface; set globally and per interface section in the file. */
#define IFACE_TUNABLES(X) \
	X(mtu, MTU, "mtu", "mtu", 0, 548, 65535, 0, "N", \
	  "use at most this MTU (it can only lower the interface's own; 0 keeps it): a frame carries the 36-byte AoE and ATA header and a sector") \
	X(rx_ring_frames, UINT, "rx-ring-frames", "rx-frames", 0, 8, 65536, 256, "N", \
	  "RX ring size in frames (PACKET_RX_RING)") \
	X(tx_ring_frames, UINT, "tx-ring-frames", "tx-frames", 0, 8, 65536, 256, "N", \
	  "TX ring size in frames (PACKET_TX_RING)")

#define TUNE_CTYPE_UINT		unsigned
#define TUNE_CTYPE_MTU		unsigned
#define TUNE_CTYPE_SIZE		uint64_t
#define TUNE_CTYPE_BOOL		bool
#define TUNE_CTYPE_POLICY	unsigned
#define TUNE_FIELD(field, kind, key, lopt, sopt, min, max, def, arg, help) \
	TUNE_CTYPE_##kind field;

enum conf_write_policy { CONF_WRITE_THROUGH, CONF_WRITE_BACK };

/* The I/O knobs of one device (every value effective). */
struct conf_tuning {
	DEVICE_TUNABLES(TUNE_FIELD)
};

/* The knobs of one interface. */
struct conf_ifset {
	IFACE_TUNABLES(TUNE_FIELD)
};

enum tune_kind { TUNE_UINT, TUNE_MTU, TUNE_SIZE, TUNE_BOOL, TUNE_POLICY };

struct tunable {
	const char *key;	/* in aoexd.conf */
	const char *lopt;	/* --lopt */
	char sopt;		/* -s, or 0 */
	enum tune_kind kind;
	uint64_t min, max, def;	/* MTU: 0, or min..max */
	const char *arg;	/* the option's argument in --help, NULL: none */
	const char *help;	/* lines of --help text */
	size_t off;		/* in struct conf_tuning / conf_ifset */
};

extern const struct tunable tunables_device[];
extern const struct tunable tunables_iface[];
extern const unsigned tunables_device_n, tunables_iface_n;

/* The defaults. */
void tunables_device_defaults(struct conf_tuning *t);
void tunables_iface_defaults(struct conf_ifset *s);

/* A tunable's value in the struct at base, as a number (BOOL 0/1). */
uint64_t tunable_get(const struct tunable *tu, const void *base);
void tunable_set(const struct tunable *tu, void *base, uint64_t v);

/* Whether v is in range; else why into buf (e.g. "2..65535"). */
bool tunable_in_range(const struct tunable *tu, uint64_t v);
/* "2..65535", "0..64M", "0 or 548..65535" */
const char *tunable_range_str(const struct tunable *tu, char buf[48]);
/* The value as the file writes it: "256K", "write-back", "true", "16". */
const char *tunable_value_str(const struct tunable *tu, uint64_t v, char buf[48]);
/* Parse a value as the file or the command line writes it: 0, or -1. */
int tunable_parse(const struct tunable *tu, const char *s, uint64_t *v);

/* Every field equal (reload). */
bool tunables_device_equal(const struct conf_tuning *a, const struct conf_tuning *b);
bool tunables_iface_equal(const struct conf_ifset *a, const struct conf_ifset *b);

const char *conf_write_policy_name(enum conf_write_policy p);

/* "256K" for sizes: the largest unit that divides it exactly. */
const char *tunable_size_str(uint64_t v, char buf[24]);

#endif
