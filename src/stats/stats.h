/*
 * stats.h - every counter of a device, an interface and the engine, defined
 * once (stats.c), and the records made from them: aoexctl stats (text and
 * JSON), aoexctl monitor and the daemon's stop log all read the same
 * records, so a counter has one name everywhere.
 */
#ifndef AOEX_STATS_H
#define AOEX_STATS_H

#include "common/ctl_proto.h"
#include "io/engine/engine.h"
#include "net/iface.h"
#include "registry/registry.h"

/* One record of all of d's counters (aoexctl stats), or of one group of
 * them (group "" = the main line, "queue", "cache", "ext", "acl"; for the
 * stop log).  kind names the record ("device", or "stats" for the log). */
void stats_device(const struct reg_dev *d, const char *kind, const char *group, struct ctl_rec *r);
/* The groups, in the order the stop log prints them; NULL-terminated. */
extern const char *const stats_device_groups[];

void stats_iface(const struct iface *ifc, const char *kind, struct ctl_rec *r);
void stats_engine(const struct engine *e, const char *kind, struct ctl_rec *r);

/* Zero the counters (aoexctl clear-stats); gauges stay. */
void stats_clear_device(struct reg_dev *d);
void stats_clear_iface(struct iface *ifc);

/* The stop log: "stats NAME [GROUP] k=v ..." lines for every device,
 * interface and the engine. */
void stats_log(const struct registry *r, const struct ifaces *s, const struct engine *e);

#endif
