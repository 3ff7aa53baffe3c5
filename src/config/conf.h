/*
 * conf.h - aoexd's configuration file (libconfuse syntax, modelled on
 * ggaoed's): load it into plain structs with every default filled in,
 * print the effective configuration back, compare devices on reload.
 *
 * The structs hold no pointers: copy them with memcpy, compare them with
 * the functions below.  struct aoexd_conf is large (about 700 KiB with
 * CONF_MAX_DEVICES devices): allocate it, do not put it on the stack.
 * conf/aoexd.conf documents every option; CONF_DEF_* below are the defaults.
 */
#ifndef AOEX_CONF_H
#define AOEX_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#include "common/ctl_proto.h"

#ifdef SYSCONFDIR
#define CONF_DEFAULT_PATH SYSCONFDIR "/aoexd.conf"
#endif

/* limits; exceeding one is a load error, never a silent truncation */
#define CONF_MAX_DEVICES	256
#define CONF_MAX_ACLS		64
#define CONF_MAX_ACL_MACS	64	/* = the AoE MAC mask list's size */
#define CONF_MAX_IFACES		16	/* names in one interfaces list; interface sections */
#define CONF_MAX_WARNINGS	16
#define CONF_NAME_MAX		64	/* device and acl titles, group name (with NUL) */
#define CONF_IFNAME_MAX		16	/* IFNAMSIZ: 15 characters */
#define CONF_PATH_MAX		1024
#define CONF_TAG_MAX		128	/* uuid, label */
#define CONF_SOCKET_MAX		108	/* sizeof sun_path */
#define CONF_MODEL_MAX		41	/* ATA IDENTIFY model: 40 characters */
#define CONF_SERIAL_MAX		21	/* ATA IDENTIFY serial: 20 characters */
#define CONF_MSG_MAX		256	/* one error or warning, "FILE:LINE: reason" */

/* defaults of the global options (and so of every device) */
#define CONF_DEF_MTU			0	/* the interface's own */
#define CONF_DEF_RING_FRAMES		256
#define CONF_DEF_QUEUE_DEPTH		16	/* vblade's -b default = aoexd -b's */
/* disk I/Os in flight per device at least (aoexd --queue-depth's default):
 * queue-depth is the buffer count initiators are told, the disk takes more
 * (read-ahead and write-back add I/Os of their own) */
#define CONF_MIN_DISK_DEPTH		64
#define CONF_DEF_DIRECT_IO		true	/* as the command line: O_DIRECT */
#define CONF_DEF_WRITE_POLICY		CONF_WRITE_THROUGH
#define CONF_DEF_READ_AHEAD		(256u << 10)	/* the command line's --read-ahead */
#define CONF_DEF_READ_AHEAD_STREAMS	4
#define CONF_DEF_WRITE_BEHIND		(512u << 10)	/* the command line's --write-behind */
#define CONF_DEF_WB_MAX_DIRTY		(4u << 20)
#define CONF_DEF_WB_MAX_AGE_MS		500
#define CONF_DEF_MERGE_DELAY_US		0	/* off */
#define CONF_DEF_CONTROL_SOCKET		CTL_DEFAULT_SOCKET
#define CONF_DEF_CONTROL_GROUP		""	/* root only */
#define CONF_DEF_PID_FILE		""	/* none */
#define CONF_DEF_LOG_TARGET		CONF_LOG_STDERR
#define CONF_DEF_LOG_LEVEL		LOG_INFO
#define CONF_DEF_MODEL			"aoexd"
#define CONF_DEF_SERIAL			""	/* the daemon makes SHELF.SLOT:hostname */
#ifdef LOCALSTATEDIR
#define CONF_DEF_STATE_DIRECTORY	LOCALSTATEDIR "/lib/aoexd"
#else
#define CONF_DEF_STATE_DIRECTORY	"/var/lib/aoexd"
#endif

enum conf_write_policy { CONF_WRITE_THROUGH, CONF_WRITE_BACK };
enum conf_log_target { CONF_LOG_STDERR, CONF_LOG_SYSLOG };

/* A MAC list with ACL names already expanded, duplicates dropped. */
struct conf_macs {
	unsigned n;
	uint8_t mac[CONF_MAX_ACL_MACS][6];
};

/* The per-device I/O knobs: set globally as defaults, overridable per device. */
struct conf_tuning {
	unsigned queue_depth;		/* in-flight limit = advertised buffer count */
	bool direct_io;
	enum conf_write_policy write_policy;
	uint64_t read_ahead;		/* bytes per stream chunk, 0 = off */
	unsigned read_ahead_streams;
	uint64_t write_behind;		/* bytes gathered, 0 = off */
	uint64_t write_back_max_dirty;	/* bytes */
	unsigned write_back_max_age_ms;
	unsigned merge_delay_us;	/* 0 = off */
};

/* acl NAME { accept = {...} } */
struct conf_acl {
	char name[CONF_NAME_MAX];
	struct conf_macs macs;
};

/* interface NAME { ... }: NAME may be a glob pattern; values are effective */
struct conf_iface {
	char name[CONF_IFNAME_MAX];
	unsigned mtu;			/* 0 = the interface's own; can only lower it */
	unsigned rx_ring_frames, tx_ring_frames;
};

/* device TITLE { ... }: every value effective (globals inherited) */
struct conf_device {
	char name[CONF_NAME_MAX];	/* the section title, aoexctl's handle */
	/* exactly one of path, uuid, label is non-empty */
	char path[CONF_PATH_MAX];	/* file, block device or null:SIZE */
	char uuid[CONF_TAG_MAX], label[CONF_TAG_MAX];
	unsigned shelf, slot;
	bool read_only;
	bool broadcast;			/* advertise to everyone, or only to accept */
	uint64_t offset, length;	/* bytes, multiples of 512; length 0 = to the end */
	unsigned n_interfaces;		/* 0 = every served interface */
	char interfaces[CONF_MAX_IFACES][CONF_IFNAME_MAX];
	struct conf_tuning tune;
	struct conf_macs accept;	/* empty = everyone */
	struct conf_macs deny;
	char model[CONF_MODEL_MAX], serial[CONF_SERIAL_MAX];
	int line;			/* where its section starts, for messages; not compared */
};

struct aoexd_conf {
	unsigned n_interfaces;		/* 0 = every Ethernet interface that is up */
	char interfaces[CONF_MAX_IFACES][CONF_IFNAME_MAX];	/* names, glob patterns */
	unsigned mtu;			/* 0 = each interface's own */
	unsigned rx_ring_frames, tx_ring_frames;
	struct conf_tuning defaults;
	char control_socket[CONF_SOCKET_MAX];
	char control_group[CONF_NAME_MAX];	/* "" = root only */
	char state_directory[CONF_PATH_MAX];
	char pid_file[CONF_PATH_MAX];		/* "" = none */
	enum conf_log_target log_target;
	int log_level;				/* syslog LOG_ERR..LOG_DEBUG */

	unsigned n_acls;
	struct conf_acl acls[CONF_MAX_ACLS];
	unsigned n_ifaces;
	struct conf_iface ifaces[CONF_MAX_IFACES];
	unsigned n_devices;
	struct conf_device devices[CONF_MAX_DEVICES];

	/* "FILE:LINE: reason" for what loads but is probably a mistake */
	unsigned n_warnings;
	char warnings[CONF_MAX_WARNINGS][CONF_MSG_MAX];
};

/*
 * Load PATH into *c.  Returns 0, or -1 with err = "FILE:LINE: reason" (or
 * "FILE: reason" when no line applies) and *c untouched, so a failed reload
 * keeps the running configuration.  Not reentrant (libconfuse's lexer is
 * global state): call it from one thread.
 */
int conf_load(const char *path, struct aoexd_conf *c, char *err, size_t errlen);

/* The same for len bytes of text at buf (need not be NUL-terminated);
 * name stands for the file in messages.  For the fuzzer and tests. */
int conf_load_buf(const char *name, const char *buf, size_t len,
		  struct aoexd_conf *c, char *err, size_t errlen);

/* Fill *c with the configuration of an empty file: all defaults, no devices. */
void conf_defaults(struct aoexd_conf *c);

/* The effective configuration in the file's syntax; conf_load reads it back. */
void conf_print(const struct aoexd_conf *c, FILE *f);

/* Same configuration (everything but the line number)?  For reload. */
bool conf_device_equal(const struct conf_device *a, const struct conf_device *b);
/* Parts of it a reload compares on their own: every I/O setting; the
 * device's interfaces list, name by name in order. */
bool conf_tuning_equal(const struct conf_tuning *a, const struct conf_tuning *b);
bool conf_iface_names_equal(const struct conf_device *a, const struct conf_device *b);
const struct conf_device *conf_device_find(const struct aoexd_conf *c, const char *name);

/* Accept first (a non-empty accept list must contain mac), then deny. */
bool conf_mac_allowed(const struct conf_device *d, const uint8_t mac[6]);

/* Is ifname served: the global list is empty, or one of its patterns matches. */
bool conf_iface_served(const struct aoexd_conf *c, const char *ifname);
/* Does the device listen on ifname (its list is empty or names/matches it)? */
bool conf_device_on_iface(const struct conf_device *d, const char *ifname);
/* Settings for ifname: the first interface section matching it, else the globals. */
void conf_iface_get(const struct aoexd_conf *c, const char *ifname, struct conf_iface *out);

/*
 * The file or block device to open: path, or the device libblkid finds for
 * uuid/label (at open time, as disks come and go).  0, or -1 when there is
 * no such device or aoexd was built without libblkid.
 */
int conf_device_resolve(const struct conf_device *d, char *buf, size_t len);

const char *conf_write_policy_name(enum conf_write_policy p);
const char *conf_log_level_name(int level);

#endif
