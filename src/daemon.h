/*
 * daemon.h - the daemon's own state: the exports it serves, the interfaces
 * it serves them on, the loop and the engine they share.  aoexd.c owns it;
 * the control socket and the reload code read it through this header.
 */
#ifndef AOEXD_DAEMON_H
#define AOEXD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "conf.h"
#include "device.h"
#include "engine.h"
#include "loop.h"
#include "net.h"
#include "seen.h"

#define RX_BUDGET 256	/* frames per interface per wakeup, for fairness */
#define DM_MAX_IFACES 32	/* = the bits of served.iface_mask */

/* One export and what the daemon (not the device) keeps about it. */
struct served {
	struct device dev;
	struct conf_device conf;	/* -c: its section, for the ACL */
	bool acl;			/* -c: check conf's accept/deny lists */
	uint32_t iface_mask;		/* bit i: served on ifaces[i] */
	uint64_t acl_denied;		/* frames for it its ACL refused */
	struct seen seen;		/* initiators heard from (aoexctl status) */
};

struct daemon {
	struct loop loop;
	struct iface ifaces[DM_MAX_IFACES];
	struct loop_watch if_watch[DM_MAX_IFACES];
	unsigned n_ifaces;
	struct served *devs;
	unsigned n_devs;
	struct engine *eng;
	struct loop_watch sig_watch;
	/* -c */
	const char *config_file;
	bool log_level_set;		/* --log-level wins over the file */
	struct aoexd_conf *conf;	/* the running configuration */
	char pid_file[CONF_PATH_MAX];	/* written by us: removed at exit */
	struct control *ctl;		/* the control socket, or NULL */
	uint64_t started_ns;		/* monotonic, for aoexctl status */
};

/* SIGHUP's configuration reload (aoexctl reload calls it too): 0, or -1
 * when the file was refused and the running configuration kept. */
int reload(struct daemon *dm);

#endif
