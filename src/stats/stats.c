/*
 * stats.c - the counter tables and the records made from them.
 *
 * A row: the group it is printed in by the stop log, its name, how it is
 * read, and where it lives (an offset into the struct the table is for).
 * C64 is a counter (cleared by aoexctl clear-stats), G64/G32 a gauge (a
 * value of now), FN a value computed from others.
 */
#include "config.h"
#include "stats/stats.h"
#include "common/log.h"
#include "common/util.h"
#include "proto/target.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

enum stat_kind { C64, G64, G32, FN };

struct stat_row {
	const char *group, *key;
	enum stat_kind kind;
	size_t off;
	uint64_t (*fn)(const void *base);
};

#define D(g, key, kind, field) { g, key, kind, offsetof(struct reg_dev, field), NULL },
#define DFN(g, key, fn) { g, key, FN, 0, fn },

static uint64_t protocol_errors(const void *base)
{
	const struct aoe_target_stats *t = &((const struct reg_dev *)base)->dev.t.st;

	return t->bad_version + t->unknown_cmd + t->drops[AOE_DROP_SHORT] +
	       t->drops[AOE_DROP_QC_BADLEN] + t->drops[AOE_DROP_EXT_BADTABLE];
}

static uint64_t drop_config(const void *base)
{
	const struct aoe_target_stats *t = &((const struct reg_dev *)base)->dev.t.st;

	return t->drops[AOE_DROP_QC_NOMATCH] + t->drops[AOE_DROP_QC_BADLEN];
}

static uint64_t avg_service_us(const void *base)
{
	const struct device_stats *s = &((const struct reg_dev *)base)->dev.st;

	return s->serviced ? s->service_ns / s->serviced / 1000 : 0;
}

static const struct stat_row device_rows[] = {
	D("", "reads", C64, dev.st.reads)
	D("", "writes", C64, dev.st.writes)
	D("", "read_bytes", C64, dev.st.read_bytes)
	D("", "write_bytes", C64, dev.st.write_bytes)
	D("", "flushes", C64, dev.st.flushes)
	D("", "other", C64, dev.st.other)
	D("", "io_errors", C64, dev.st.io_errors)
	D("", "ata_errors", C64, dev.t.st.ata_errors)
	D("", "aoe_errors", C64, dev.t.st.aoe_errors)
	DFN("", "protocol_errors", protocol_errors)
	D("", "reserved_refused", C64, dev.t.st.reserved_refused)
	D("", "bad_version", C64, dev.t.st.bad_version)
	D("", "unknown_cmd", C64, dev.t.st.unknown_cmd)
	D("", "drop_short", C64, dev.t.st.drops[AOE_DROP_SHORT])
	D("", "drop_masked", C64, dev.t.st.drops[AOE_DROP_MASKED])
	DFN("", "drop_config", drop_config)
	D("", "tx_full", C64, dev.st.tx_full)
	D("", "queue_full", C64, dev.st.queue_full)
	D("", "serviced", C64, dev.st.serviced)
	DFN("", "avg_service_us", avg_service_us)
	D("queue", "queue_requests", C64, dev.q.st.requests)
	D("queue", "queue_ios", C64, dev.q.st.ios)
	D("queue", "merged", C64, dev.q.st.merged)
	D("queue", "bounced", C64, dev.q.st.bounced)
	D("queue", "rmw", C64, dev.q.st.rmw)
	D("queue", "overlap_waits", C64, dev.q.st.overlap_waits)
	D("queue", "queue_stalls", C64, dev.q.st.stalls)
	D("queue", "queue_errors", C64, dev.q.st.errors)
	D("queue", "queue_waiting_max", C64, dev.q.st.waiting_max)
	D("queue", "queue_held", C64, dev.q.st.held)
	D("queue", "queue_depth", G32, dev.q.depth)
	D("queue", "queue_busy", G32, dev.q.busy)
	D("queue", "queue_waiting", G32, dev.q.waiting)
	D("cache", "ra_hits", C64, dev.cache.st.ra_hits)
	D("cache", "ra_misses", C64, dev.cache.st.ra_misses)
	D("cache", "ra_bypass", C64, dev.cache.st.ra_bypass)
	D("cache", "ra_loads", C64, dev.cache.st.ra_loads)
	D("cache", "ra_stale", C64, dev.cache.st.ra_stale)
	D("cache", "wb_buffered", C64, dev.cache.st.wb_buffered)
	D("cache", "wb_flushes", C64, dev.cache.st.wb_flushes)
	D("cache", "wb_flush_bytes", C64, dev.cache.st.wb_flush_bytes)
	D("cache", "wb_read_hits", C64, dev.cache.st.wb_read_hits)
	D("cache", "wb_errors", C64, dev.cache.st.wb_errors)
	D("cache", "dirty_bytes", G64, dev.cache.st.dirty_bytes)
	D("ext", "ext_requests", C64, dev.t.st.ext_requests)
	D("ext", "dup_writes", C64, dev.t.st.ext_dup_writes)
	D("ext", "dup_in_flight", C64, dev.st.dup_in_flight)
	D("ext", "sub_reads", C64, dev.t.st.ext_sub_reads)
	D("ext", "sub_ignored", C64, dev.t.st.ext_sub_ignored)
	D("ext", "congestion_probes", C64, dev.t.st.ext_congestion_probes)
	D("ext", "congestion_delays", C64, dev.t.st.ext_congestion_delays)
	D("ext", "delayed", C64, dev.st.delayed)
	D("ext", "peer_evictions", C64, dev.t.st.ext_peer_evictions)
	D("ext", "window_resets", C64, dev.t.st.ext_window_resets)
	D("ext", "tag_random_skipped", C64, dev.st.tag_random_skipped)
	D("ext", "bad_tables", C64, dev.t.st.drops[AOE_DROP_EXT_BADTABLE])
	D("ext", "coalesce_waits", C64, dev.st.coalesce_waits)
	D("ext", "crc_bad", C64, dev.t.st.drops[AOE_DROP_CRC])
	D("ext", "wack_frames", C64, dev.st.wack_frames)
	D("ext", "wack_acks", C64, dev.st.wack_acks)
	D("acl", "acl_denied", C64, acl_denied)
};

const char *const stats_device_groups[] = { "", "queue", "cache", "ext", "acl", NULL };

#define I(key, field) { "", key, C64, offsetof(struct iface, st.field), NULL },

static uint64_t frames_per_wakeup(const void *base)
{
	const struct iface_stats *s = &((const struct iface *)base)->st;

	return s->wakeups ? s->rx_frames * 100 / s->wakeups : 0;	/* hundredths */
}

static const struct stat_row iface_rows[] = {
	I("rx_frames", rx_frames)
	I("rx_bytes", rx_bytes)
	I("tx_frames", tx_frames)
	I("tx_bytes", tx_bytes)
	I("wakeups", wakeups)
	{ "", "frames_per_wakeup", FN, 0, frames_per_wakeup },
	I("ring_drops", ring_drops)
	I("ignored", ignored)
	I("broadcasts", broadcasts)
	I("runts", runts)
	I("responses", responses)
	I("not_addressed", not_addressed)
	I("tx_dropped", tx_dropped)
};

#define E(key, field) { "", key, C64, offsetof(struct engine_stats, field), NULL },

static const struct stat_row engine_rows[] = {
	E("submitted", submitted)
	E("submit_calls", submit_calls)
	E("eagain", eagain)
	E("reaped", reaped)
	E("reap_calls", reap_calls)
	E("sync_flush_fallbacks", sync_flush_fallback)
	E("inline", inline_done)
};

#define N(rows) (sizeof rows / sizeof rows[0])

static uint64_t value(const struct stat_row *row, const void *base)
{
	const char *p = (const char *)base + row->off;

	switch (row->kind) {
	case FN: return row->fn(base);
	case G32: return *(const unsigned *)(const void *)p;
	default: return *(const uint64_t *)(const void *)p;
	}
}

/* The rows of group (NULL: all) into r. */
static void put_rows(struct ctl_rec *r, const struct stat_row *rows, size_t n, const void *base,
		     const char *group)
{
	for (size_t i = 0; i < n; i++) {
		if (group && strcmp(rows[i].group, group) != 0)
			continue;
		if (rows == iface_rows && rows[i].fn == frames_per_wakeup)
			ctl_rec_centi(r, rows[i].key, value(&rows[i], base));
		else
			ctl_rec_u64(r, rows[i].key, value(&rows[i], base));
	}
}

void stats_device(const struct reg_dev *d, const char *kind, const char *group, struct ctl_rec *r)
{
	bool log = group != NULL;

	/* the stop log names a device by its address, aoexctl by its name */
	ctl_rec_init(r, kind, log ? d->dev.name : registry_dev_name(d));
	if (log && group[0])
		snprintf(r->group, sizeof r->group, "%s", group);
	if (!log)
		ctl_rec_str(r, "target", d->dev.name);
	put_rows(r, device_rows, N(device_rows), d, group);
}

void stats_iface(const struct iface *ifc, const char *kind, struct ctl_rec *r)
{
	char mac[MAC_STRLEN];

	ctl_rec_init(r, kind, ifc->name);
	put_rows(r, iface_rows, N(iface_rows), ifc, NULL);
	ctl_rec_str(r, "mac", format_mac(ifc->mac, mac));
	ctl_rec_u64(r, "mtu", ifc->mtu);
	ctl_rec_str(r, "rx_path", ifc->rx_ring ? "ring" : ifc->rx_plain ? "recvfrom" : "recvmmsg");
	ctl_rec_str(r, "tx_path", ifc->tx_ring ? "ring" : ifc->tx_plain ? "sendto" : "sendmmsg");
}

void stats_engine(const struct engine *e, const char *kind, struct ctl_rec *r)
{
	/* "engine aio k=v" for aoexctl, "stats engine aio k=v" in the log */
	bool log = strcmp(kind, "stats") == 0;

	ctl_rec_init(r, kind, log ? "engine" : engine_name(e));
	if (log)
		snprintf(r->group, sizeof r->group, "%s", engine_name(e));
	put_rows(r, engine_rows, N(engine_rows), engine_stats(e), NULL);
}

static void clear_rows(const struct stat_row *rows, size_t n, void *base)
{
	for (size_t i = 0; i < n; i++)
		if (rows[i].kind == C64)
			*(uint64_t *)(void *)((char *)base + rows[i].off) = 0;
}

void stats_clear_device(struct reg_dev *d)
{
	clear_rows(device_rows, N(device_rows), d);
	d->dev.st.service_ns = 0;	/* behind avg_service_us */
	d->dev.t.st.drops[AOE_DROP_QC_NOMATCH] = 0;	/* behind drop_config */
	d->dev.t.st.drops[AOE_DROP_QC_BADLEN] = 0;
	for (unsigned i = 0; i < d->seen.n; i++)
		d->seen.e[i].frames = 0;
	d->seen.overflow = 0;
}

void stats_clear_iface(struct iface *ifc)
{
	clear_rows(iface_rows, N(iface_rows), ifc);
}

/* one record as one log line */
static void log_record(struct ctl_buf *b, const struct ctl_rec *r)
{
	ctl_buf_reset(b);
	ctl_rec_text(b, r);
	if (b->len && b->p[b->len - 1] == '\n')
		b->len--;
	log_notice("%.*s", (int)b->len, b->p);
}

void stats_log(const struct registry *reg, const struct ifaces *s, const struct engine *e)
{
	static struct ctl_rec rec;
	struct ctl_buf b;

	ctl_buf_init(&b, 1u << 16);
	for (const struct reg_dev *d = reg->devs; d; d = d->next)
		for (unsigned g = 0; stats_device_groups[g]; g++) {
			stats_device(d, "stats", stats_device_groups[g], &rec);
			log_record(&b, &rec);
		}
	for (unsigned i = 0; i < s->n; i++) {
		stats_iface(&s->ifc[i], "stats", &rec);
		log_record(&b, &rec);
	}
	if (e) {
		stats_engine(e, "stats", &rec);
		log_record(&b, &rec);
	}
	ctl_buf_free(&b);
}
