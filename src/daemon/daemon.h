/*
 * daemon.h - the daemon's own state: the exports it serves, the interfaces
 * it serves them on, the loop and the engine they share.  aoexd.c owns it;
 * the control socket and the reload code read it through this header.
 */
#ifndef AOEXD_DAEMON_H
#define AOEXD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "config/conf.h"
#include "io/device.h"
#include "io/engine/engine.h"
#include "event/loop.h"
#include "net/iface.h"
#include "registry/seen.h"

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
	bool retired;			/* removed by a reload: nothing open, iface_mask
					 * 0; skip it (a later add reuses the slot) */
	int lock_fd[DM_MAX_IFACES];	/* address lock file on ifaces[i], or -1 */
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

	unsigned cap_devs;		/* devs[] has room for this many */
	unsigned eng_max;		/* I/Os the engine was sized for at start */
	unsigned if_kmtu[DM_MAX_IFACES];	/* kernel MTU at attach: hotplug sees changes */
	struct loop_watch nl_watch;	/* rtnetlink link events; fd -1 without */
	struct net_opts net;		/* packet options of the command line */
	unsigned n_cli_ifnames;		/* single-device mode: the interfaces named */
	char cli_ifnames[DM_MAX_IFACES][16];
	char state_dir[CONF_PATH_MAX];	/* persistent state; "" = off */
	char host[64];			/* for default serial numbers */
};

/* ifaces[i] slots stay once used: a detached interface (gone, down, no
 * longer configured) keeps its name and counters with fd -1, and gets the
 * same slot back when it returns.  Device iface_mask bits follow slots. */
static inline bool dm_iface_attached(const struct iface *ifc)
{
	return ifc->fd >= 0;
}

/* aoexd.c: what SIGHUP and aoexctl reload do: reload() with -c, write back
 * every device's buffered data, tell systemd (RELOADING=1, READY=1).
 * 0, or -1 when the file was refused. */
int dm_reload(struct daemon *dm);

/* aoexd.c: the frame path */
void dm_on_frame(struct iface *ifc, const uint8_t *frame, size_t len, void *arg);

/* A pattern of the interfaces list, rather than a name. */
static inline bool dm_is_glob(const char *p)
{
	return strpbrk(p, "*?[") != NULL;
}

/* ifaces.c: attach/detach/hotplug */
/* Whether name is to be served now: named exactly (-c's interfaces, or
 * the command line), or up, Ethernet, not loopback and matched by a
 * pattern or by the empty list.  Start-up and hotplug use this one rule. */
bool dm_iface_wanted(const struct daemon *dm, const char *name);
int dm_iface_attach(struct daemon *dm, const char *name, char *err, size_t errlen);
void dm_iface_detach(struct daemon *dm, unsigned i, const char *why);
void dm_iface_advertise(struct daemon *dm, unsigned i);
/* Detach what vanished or is no longer configured, attach (and
 * advertise on) what is configured and present. */
void dm_ifaces_resync(struct daemon *dm);
/* The rtnetlink watch in the loop; 0 or -errno (the daemon runs on
 * without hotplug). */
int dm_hotplug_start(struct daemon *dm);
/* Lock file of shelf.slot on ifname: fd, -1 when none can be made (no
 * writable directory, no such interface), -2 when another aoexd holds it
 * (err says which). */
int dm_lock_address(unsigned shelf, unsigned slot, const char *ifname, char *err, size_t errlen);

/* served.c: one export's life */
void served_init(struct served *s);
bool served_wants(const struct daemon *dm, const struct served *s, const char *ifname);
/* Set s's iface_mask from the slots and lock its address on the attached
 * ones; -1 (err) when another aoexd holds one. */
int served_bind_ifaces(struct daemon *dm, struct served *s, char *err, size_t errlen);
void served_unlock(struct served *s, unsigned i);
/* The advertisement: to everyone when broadcast, else to each accepted
 * MAC (-c); in single-device mode to broadcast or the mask list. */
void served_advertise(struct daemon *dm, struct served *s, struct iface *ifc);
/* device_init() from s->conf (-c), then the persisted state. */
int served_start(struct daemon *dm, struct served *s, char *err, size_t errlen);
void served_load_state(struct daemon *dm, struct served *s);
void served_default_serial(const struct daemon *dm, struct served *s);
/* Write the state when a request changed it (after each batch). */
void served_persist(struct daemon *dm, struct served *s);
/* -c: s set up from cd and its backing store opened (nothing else). */
int served_open(struct served *s, const struct conf_device *cd, char *err, size_t errlen);
/* -c: open, lock, start and advertise one more device (a free slot). */
int served_add(struct daemon *dm, const struct conf_device *cd, char *err, size_t errlen);
/* Stop taking frames, answer what is in hand, write back, close, free;
 * the slot is retired. */
void served_remove(struct daemon *dm, struct served *s);

/* reload.c: SIGHUP (and aoexctl reload) with -c: apply the file again.
 * 0, or -1 when the file was refused and the running configuration kept. */
int reload(struct daemon *dm);

#endif
