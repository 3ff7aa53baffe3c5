/*
 * conf.h - aoexd's configuration file (libconfuse syntax, modelled on
 * ggaoed's): load it into plain structs with every default filled in,
 * print the effective configuration back, compare devices on reload.
 *
 * The structs hold no pointers: copy them with memcpy, compare them with
 * the functions below.  struct aoexd_conf is large (about 700 KiB with
 * CONF_MAX_DEVICES devices): allocate it, do not put it on the stack.
 * conf/aoexd.conf documents every option; the tunables' defaults are in
 * tunables.h, the others' (CONF_DEF_*) below.
 */
#ifndef AOEX_CONF_H
#define AOEX_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <syslog.h>

#include "common/ctl_proto.h"
#include "config/tunables.h"

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

/* defaults of the global options that are not tunables (tunables.h) */
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

/* AoE addresses: 0xffff and 0xff are the broadcast shelf and slot */
#define CONF_SHELF_MAX		65534
#define CONF_SLOT_MAX		254

enum conf_log_target { CONF_LOG_STDERR, CONF_LOG_SYSLOG };

/* A MAC list with ACL names already expanded, duplicates dropped. */
struct conf_macs {
	unsigned n;
	uint8_t mac[CONF_MAX_ACL_MACS][6];
};

/* acl NAME { accept = {...} } */
struct conf_acl {
	char name[CONF_NAME_MAX];
	struct conf_macs macs;
};

/* interface NAME { ... }: NAME may be a glob pattern; values are effective */
struct conf_iface {
	char name[CONF_IFNAME_MAX];
	struct conf_ifset set;
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
	struct conf_macs mask;		/* the MAC mask list it starts with (-m) */
	char model[CONF_MODEL_MAX], serial[CONF_SERIAL_MAX];
	char freeze_shadow[CONF_PATH_MAX];	/* "" = not frozen by the file */
	uint64_t freeze_max_size;		/* bytes, 0 = no limit */
	int line;			/* where its section starts, for messages; not compared */
};

struct aoexd_conf {
	unsigned n_interfaces;		/* 0 = every Ethernet interface that is up */
	char interfaces[CONF_MAX_IFACES][CONF_IFNAME_MAX];	/* names, glob patterns */
	struct conf_ifset ifset;	/* of interfaces no section matches */
	struct conf_tuning defaults;
	char control_socket[CONF_SOCKET_MAX];
	char control_group[CONF_NAME_MAX];	/* "" = root only */
	char state_directory[CONF_PATH_MAX];	/* "" = state not kept (command line) */
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
/* A part of it a reload compares on its own: the device's interfaces
 * list, name by name in order (tunables_device_equal() compares the I/O
 * settings). */
bool conf_iface_names_equal(const struct conf_device *a, const struct conf_device *b);
bool conf_macs_equal(const struct conf_macs *a, const struct conf_macs *b);
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

const char *conf_log_level_name(int level);

#endif
