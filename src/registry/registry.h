/*
 * registry.h - the exports the daemon serves: one owner for the devices,
 * their bindings to interfaces and their address locks.
 *
 * A frame's header is parsed once (registry_frame); the devices it is for
 * are found through a per-interface index sorted by (shelf, slot): one
 * binary search for an address, a short walk for a broadcast shelf or
 * slot.  The device's access list and the "initiators seen" record apply
 * after the lookup, then the device (io/device.h) handles the frame.
 *
 * Devices come and go only by applying a configuration (apply.c): start-up
 * applies the first one to an empty registry, a reload the next.
 */
#ifndef AOEX_REGISTRY_H
#define AOEX_REGISTRY_H

#include <stdbool.h>
#include <stdint.h>

#include "config/conf.h"
#include "ifaces/ifaces.h"
#include "io/device.h"
#include "registry/seen.h"

/* One export and what the registry keeps about it. */
struct reg_dev {
	struct device dev;
	struct conf_device conf;	/* its configuration (the ACL is read per frame) */
	uint32_t iface_mask;		/* bit i: served on ifaces slot i */
	int lock_fd[IFACES_MAX];	/* address lock file on slot i, or -1 */
	struct seen seen;		/* initiators heard from (aoexctl status) */
	uint64_t acl_denied;		/* frames for it its ACL refused */
	bool started;			/* device_init done (a prepared one is not) */
	unsigned char fate;		/* apply.c's verdict on it */
	struct reg_dev *next;		/* the registry's list, in configuration order */
};

struct reg_entry {
	uint32_t addr;			/* shelf << 8 | slot */
	struct reg_dev *d;
};

/* The devices bound to one interface, sorted by address. */
struct reg_index {
	unsigned n, cap;
	struct reg_entry *e;
};

struct registry {
	struct loop *loop;
	struct engine *eng;		/* shared by every device */
	unsigned eng_max;		/* I/Os it was sized for */
	struct ifaces *ifs;
	struct reg_dev *devs;		/* in configuration order */
	struct reg_dev *pending;	/* apply: opened, not yet started */
	struct reg_index idx[IFACES_MAX];
	char state_dir[CONF_PATH_MAX];	/* "" = state not kept */
	char host[64];			/* for default serial numbers */
	struct loop_task persist_task;	/* state files after a wakeup's changes */
};

void registry_init(struct registry *r, struct loop *l, struct ifaces *ifs, const char *state_dir);
/* The file in the state directory that records d's freeze (state dir set). */
void registry_freeze_record(const struct registry *r, const struct reg_dev *d, char *buf,
			    size_t len);
/* Set the engine (before the first device starts). */
void registry_set_engine(struct registry *r, struct engine *e, unsigned eng_max);

/* The registry as the owner of the interfaces (ifaces_init()'s ops, with
 * the registry as ctx): frames, attach, detach. */
extern const struct ifaces_ops registry_ifaces_ops;
void registry_frame(struct registry *r, unsigned i, struct iface *ifc, const uint8_t *f, size_t len);
void registry_iface_attached(struct registry *r, unsigned i, bool announce);
void registry_iface_detached(struct registry *r, unsigned i);

/* The advertisement of every device on interface slot i. */
void registry_advertise(struct registry *r, unsigned i);
/* The advertisement of d on every interface it is served on. */
void registry_advertise_dev(struct registry *r, struct reg_dev *d);

/* By the name of its section, or by eSHELF.SLOT. */
struct reg_dev *registry_find(struct registry *r, const char *name);
/* Its name for people: the section's title, else eSHELF.SLOT. */
const char *registry_dev_name(const struct reg_dev *d);

/* A request or a command changed d's config string, mask or reservation:
 * its state file is written at the end of the wakeup. */
void registry_changed(struct registry *r, struct reg_dev *d, unsigned what);

/* Start writing back every device's buffered data (SIGHUP). */
void registry_writeback_all(struct registry *r);

/* Shutdown: answer what is in hand, write back, flush every device; 0 or
 * -EIO when a device lost data.  Then registry_close() frees them. */
int registry_sync_all(struct registry *r);
void registry_close(struct registry *r);

/* registry.c, for apply.c: d's bindings and locks from the attached
 * interfaces (-1 with err when another aoexd holds its address on one);
 * the end of d (in hand answered, written back, closed, unlocked, freed). */
int registry_bind(struct registry *r, struct reg_dev *d, char *err, size_t errlen);
void registry_unbind_all(struct registry *r, struct reg_dev *d);
void registry_remove(struct registry *r, struct reg_dev *d);
void registry_default_serial(const struct registry *r, struct reg_dev *d);
/* Start d (store open, conf set): its target from the configuration, the
 * device's queue and buffers, its persisted state.  0 or -1 with err. */
int registry_start(struct registry *r, struct reg_dev *d, char *err, size_t errlen);
/* "serving e1.2 (name) on eth0: PATH, N sectors, ..." */
void registry_log_serving(const struct registry *r, const struct reg_dev *d);

/* lock.c: the lock file of shelf.slot on ifname: fd, -1 when none can be
 * made (no writable directory, no such interface), -2 when another aoexd
 * holds it (err says which). */
int registry_lock_address(unsigned shelf, unsigned slot, const char *ifname, char *err,
			  size_t errlen);

#endif
