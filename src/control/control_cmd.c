/*
 * control_cmd.c - what the control socket's commands do: read the daemon's
 * devices and interfaces (daemon.h) into a response, or clear state.
 *
 * Devices and interfaces are looked up and walked only through dev_at(),
 * find_dev() and find_iface(), so tables that grow and shrink at run time
 * (reload, hotplug) need changes in these few places alone.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_packet.h>

#include "control/control.h"
#include "common/ctl_proto.h"
#include "daemon/daemon.h"
#include "common/util.h"

#define U(x) ((unsigned long long)(x))

/* ------------------------------------------------------------ lookup */

/* The device at slot *k or the next live one after it (a reload leaves
 * retired slots behind), or NULL past the end. */
static struct served *dev_at(struct daemon *dm, unsigned *k)
{
	while (*k < dm->n_devs && dm->devs[*k].retired)
		(*k)++;
	return *k < dm->n_devs ? &dm->devs[*k] : NULL;
}

static unsigned live_devs(struct daemon *dm)
{
	unsigned n = 0;

	for (unsigned k = 0; dev_at(dm, &k); k++)
		n++;
	return n;
}

static const char *dev_name(const struct served *s)
{
	return s->conf.name[0] ? s->conf.name : s->dev.name;
}

/* A device by its configured name or its eSHELF.SLOT. */
static struct served *find_dev(struct daemon *dm, const char *name)
{
	struct served *s;

	for (unsigned k = 0; (s = dev_at(dm, &k)); k++)
		if (strcmp(s->conf.name, name) == 0 || strcmp(s->dev.name, name) == 0)
			return s;
	return NULL;
}

static struct iface *find_iface(struct daemon *dm, const char *name)
{
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		if (strcmp(dm->ifaces[i].name, name) == 0)
			return &dm->ifaces[i];
	return NULL;
}

static bool served_on(const struct daemon *dm, const struct served *s, const struct iface *ifc)
{
	return s->iface_mask & (1u << (ifc - dm->ifaces));
}

/* --------------------------------------------------- PACKET_STATISTICS */

/* The kernel's ring drops since the last call (reading resets them). */
static void poll_drops(struct daemon *dm)
{
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		iface_poll_drops(&dm->ifaces[i]);
}

/* --------------------------------------------------------------- stats */

static const char *dev_state(const struct served *s)
{
	if (s->dev.cache.failed)
		return "failed";	/* write-back lost data: read-only now */
	if (!s->iface_mask)
		return "idle";		/* on no interface */
	return s->dev.t.ata.readonly ? "read-only" : "serving";
}

static void dev_record(const struct daemon *dm, const struct served *s, struct ctl_rec *r)
{
	const struct device *d = &s->dev;
	const struct aoe_target_stats *ts = &d->t.st;
	const struct dq_stats *qs = &d->q.st;
	const struct cache_stats *cs = &d->cache.st;

	(void)dm;
	ctl_rec_init(r, "device", dev_name(s));
	ctl_rec_str(r, "target", d->name);
	ctl_rec_u64(r, "reads", d->st.reads);
	ctl_rec_u64(r, "writes", d->st.writes);
	ctl_rec_u64(r, "read_bytes", d->st.read_bytes);
	ctl_rec_u64(r, "write_bytes", d->st.write_bytes);
	ctl_rec_u64(r, "flushes", d->st.flushes);
	ctl_rec_u64(r, "other", d->st.other);
	ctl_rec_u64(r, "io_errors", d->st.io_errors);
	ctl_rec_u64(r, "ata_errors", ts->ata_errors);
	ctl_rec_u64(r, "aoe_errors", ts->aoe_errors);
	ctl_rec_u64(r, "protocol_errors", ts->bad_version + ts->unknown_cmd +
		    ts->drops[AOE_DROP_SHORT] + ts->drops[AOE_DROP_QC_BADLEN] +
		    ts->drops[AOE_DROP_EXT_BADTABLE]);
	ctl_rec_u64(r, "bad_version", ts->bad_version);
	ctl_rec_u64(r, "unknown_cmd", ts->unknown_cmd);
	ctl_rec_u64(r, "drop_short", ts->drops[AOE_DROP_SHORT]);
	ctl_rec_u64(r, "drop_masked", ts->drops[AOE_DROP_MASKED]);
	ctl_rec_u64(r, "drop_not_addressed", ts->drops[AOE_DROP_NOT_ADDRESSED]);
	ctl_rec_u64(r, "reserved_refused", ts->reserved_refused);
	ctl_rec_u64(r, "acl_denied", s->acl_denied);
	ctl_rec_u64(r, "merged", qs->merged);
	ctl_rec_u64(r, "queue_requests", qs->requests);
	ctl_rec_u64(r, "queue_ios", qs->ios);
	ctl_rec_u64(r, "queue_depth", d->q.depth);
	ctl_rec_u64(r, "queue_busy", d->q.busy);
	ctl_rec_u64(r, "queue_waiting", d->q.waiting);
	ctl_rec_u64(r, "queue_waiting_max", qs->waiting_max);
	ctl_rec_u64(r, "queue_stalls", qs->stalls);
	ctl_rec_u64(r, "queue_full", d->st.queue_full);
	ctl_rec_u64(r, "tx_full", d->st.tx_full);
	ctl_rec_u64(r, "bounced", qs->bounced);
	ctl_rec_u64(r, "rmw", qs->rmw);
	ctl_rec_u64(r, "ra_hits", cs->ra_hits);
	ctl_rec_u64(r, "ra_misses", cs->ra_misses);
	ctl_rec_u64(r, "ra_bypass", cs->ra_bypass);
	ctl_rec_u64(r, "ra_loads", cs->ra_loads);
	ctl_rec_u64(r, "wb_buffered", cs->wb_buffered);
	ctl_rec_u64(r, "wb_flushes", cs->wb_flushes);
	ctl_rec_u64(r, "wb_flush_bytes", cs->wb_flush_bytes);
	ctl_rec_u64(r, "wb_errors", cs->wb_errors);
	ctl_rec_u64(r, "dirty_bytes", cs->dirty_bytes);
	ctl_rec_u64(r, "ext_requests", ts->ext_requests);
	ctl_rec_u64(r, "dup_writes", ts->ext_dup_writes);
	ctl_rec_u64(r, "dup_in_flight", d->st.dup_in_flight);
	ctl_rec_u64(r, "sub_reads", ts->ext_sub_reads);
	ctl_rec_u64(r, "sub_ignored", ts->ext_sub_ignored);
	ctl_rec_u64(r, "congestion_probes", ts->ext_congestion_probes);
	ctl_rec_u64(r, "congestion_delays", ts->ext_congestion_delays);
	ctl_rec_u64(r, "serviced", d->st.serviced);
	ctl_rec_u64(r, "avg_service_us", d->st.serviced ? d->st.service_ns / d->st.serviced / 1000 : 0);
}

static void iface_record(const struct iface *ifc, struct ctl_rec *r)
{
	char mac[MAC_STRLEN];
	const struct iface_stats *st = &ifc->st;

	ctl_rec_init(r, "iface", ifc->name);
	ctl_rec_str(r, "mac", format_mac(ifc->mac, mac));
	ctl_rec_u64(r, "mtu", ifc->mtu);
	ctl_rec_str(r, "rx_path", ifc->rx_ring ? "ring" : "recvmmsg");
	ctl_rec_str(r, "tx_path", ifc->tx_ring ? "ring" : "sendmmsg");
	ctl_rec_u64(r, "rx_frames", st->rx_frames);
	ctl_rec_u64(r, "rx_bytes", st->rx_bytes);
	ctl_rec_u64(r, "tx_frames", st->tx_frames);
	ctl_rec_u64(r, "tx_bytes", st->tx_bytes);
	ctl_rec_u64(r, "wakeups", st->wakeups);
	ctl_rec_centi(r, "frames_per_wakeup", st->wakeups ? st->rx_frames * 100 / st->wakeups : 0);
	ctl_rec_u64(r, "ring_drops", st->ring_drops);
	ctl_rec_u64(r, "ignored", st->ignored);
	ctl_rec_u64(r, "broadcasts", st->broadcasts);
	ctl_rec_u64(r, "tx_dropped", st->tx_dropped);
}

/* Which devices and interfaces the names select (none: all of them). */
struct selection {
	bool dev[CONF_MAX_DEVICES];
	bool ifc[DM_MAX_IFACES];
};

static int select_names(struct daemon *dm, const struct ctl_request *r, struct selection *sel,
			char *err, size_t errlen)
{
	memset(sel, 0, sizeof *sel);
	for (unsigned a = 0; a < r->nargs; a++) {
		struct served *s = find_dev(dm, r->args[a]);
		struct iface *ifc = find_iface(dm, r->args[a]);
		if (!s && !ifc) {
			snprintf(err, errlen, "no device or interface named %s", r->args[a]);
			return -1;
		}
		if (s && s - dm->devs < CONF_MAX_DEVICES)
			sel->dev[s - dm->devs] = true;
		if (ifc)
			sel->ifc[ifc - dm->ifaces] = true;
	}
	if (!r->nargs) {
		memset(sel->dev, 1, sizeof sel->dev);
		memset(sel->ifc, 1, sizeof sel->ifc);
	}
	return 0;
}

/* One record as a text line, or as a JSON array element (comma before
 * all but the first). */
static void put_record(struct ctl_buf *out, const struct ctl_rec *rec, bool json, bool *first)
{
	if (json) {
		ctl_printf(out, "%s", *first ? "" : ",");
		ctl_rec_json(out, rec);
	} else {
		ctl_rec_text(out, rec);
	}
	*first = false;
}

static int cmd_stats(struct daemon *dm, const struct ctl_request *r, struct ctl_buf *out,
		     char *err, size_t errlen)
{
	static struct ctl_rec rec;
	struct selection sel;
	struct served *s;
	bool first = true;

	if (select_names(dm, r, &sel, err, errlen) < 0)
		return -1;
	poll_drops(dm);
	if (r->json)
		ctl_printf(out, "{\"devices\":[");
	for (unsigned k = 0; (s = dev_at(dm, &k)); k++) {
		if (k >= CONF_MAX_DEVICES || !sel.dev[k])
			continue;
		dev_record(dm, s, &rec);
		put_record(out, &rec, r->json, &first);
	}
	if (r->json)
		ctl_printf(out, "],\"interfaces\":[");
	first = true;
	for (unsigned i = 0; i < dm->n_ifaces; i++) {
		if (!sel.ifc[i])
			continue;
		iface_record(&dm->ifaces[i], &rec);
		put_record(out, &rec, r->json, &first);
	}
	if (r->json)
		ctl_printf(out, "]}\n");
	return 0;
}

static void clear_dev(struct served *s)
{
	struct device *d = &s->dev;
	uint64_t dirty = d->cache.st.dirty_bytes;	/* a gauge, not a counter */

	memset(&d->st, 0, sizeof d->st);
	memset(&d->t.st, 0, sizeof d->t.st);
	memset(&d->q.st, 0, sizeof d->q.st);
	memset(&d->cache.st, 0, sizeof d->cache.st);
	d->cache.st.dirty_bytes = dirty;
	s->acl_denied = 0;
	for (unsigned i = 0; i < s->seen.n; i++)
		s->seen.e[i].frames = 0;
	s->seen.overflow = 0;
}

static int cmd_clear_stats(struct daemon *dm, const struct ctl_request *r, struct ctl_buf *out,
			   char *err, size_t errlen)
{
	struct selection sel;
	struct served *s;
	unsigned nd = 0, ni = 0;

	if (select_names(dm, r, &sel, err, errlen) < 0)
		return -1;
	poll_drops(dm);		/* what the kernel counted so far goes too */
	for (unsigned k = 0; (s = dev_at(dm, &k)); k++)
		if (k < CONF_MAX_DEVICES && sel.dev[k]) {
			clear_dev(s);
			nd++;
		}
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		if (sel.ifc[i]) {
			memset(&dm->ifaces[i].st, 0, sizeof dm->ifaces[i].st);
			ni++;
		}
	ctl_printf(out, "cleared the counters of %u device%s and %u interface%s\n",
		   nd, nd == 1 ? "" : "s", ni, ni == 1 ? "" : "s");
	return 0;
}

/* -------------------------------------------------------------- status */

/* "a,b" names of the interfaces s is served on */
static void dev_ifaces(const struct daemon *dm, const struct served *s, struct ctl_buf *out,
		       bool json)
{
	bool first = true;

	for (unsigned i = 0; i < dm->n_ifaces; i++) {
		if (!served_on(dm, s, &dm->ifaces[i]))
			continue;
		ctl_printf(out, "%s", first ? "" : ",");
		if (json)
			ctl_json_str(out, dm->ifaces[i].name);
		else
			ctl_printf(out, "%s", dm->ifaces[i].name);
		first = false;
	}
	if (first && !json)
		ctl_printf(out, "-");
}

/* The Extensions features mac negotiated with s, "" for none. */
static void peer_features(const struct served *s, const uint8_t *mac, char *buf, size_t n)
{
	uint8_t pm[6];

	buf[0] = 0;
	for (unsigned p = 0; p < aoe_target_peer_count(&s->dev.t); p++)
		if (aoe_target_peer_features(&s->dev.t, p, pm, buf, n) && memcmp(pm, mac, 6) == 0)
			return;
	buf[0] = 0;
}

static void dev_initiators(const struct served *s, struct ctl_buf *out, bool json)
{
	char macs[MAC_STRLEN], feat[128];
	uint8_t pm[6];
	bool first = true;

	for (unsigned i = 0; i < s->seen.n; i++) {
		format_mac(s->seen.e[i].mac, macs);
		peer_features(s, s->seen.e[i].mac, feat, sizeof feat);
		if (json) {
			ctl_printf(out, "%s{\"mac\":\"%s\",\"requests\":%llu,\"extensions\":",
				   first ? "" : ",", macs, U(s->seen.e[i].frames));
			ctl_json_str(out, feat);
			ctl_printf(out, "}");
		} else {
			ctl_printf(out, "  initiator %s requests=%llu extensions=%s\n", macs,
				   U(s->seen.e[i].frames), feat[0] ? feat : "-");
		}
		first = false;
	}
	/* Extensions peers the seen table had no room for */
	for (unsigned p = 0; p < aoe_target_peer_count(&s->dev.t); p++) {
		bool known = false;
		aoe_target_peer_features(&s->dev.t, p, pm, feat, sizeof feat);
		for (unsigned i = 0; i < s->seen.n && !known; i++)
			known = memcmp(s->seen.e[i].mac, pm, 6) == 0;
		if (known)
			continue;
		format_mac(pm, macs);
		if (json) {
			ctl_printf(out, "%s{\"mac\":\"%s\",\"extensions\":", first ? "" : ",", macs);
			ctl_json_str(out, feat);
			ctl_printf(out, "}");
		} else {
			ctl_printf(out, "  initiator %s extensions=%s\n", macs, feat[0] ? feat : "-");
		}
		first = false;
	}
}

static void status_dev(const struct daemon *dm, const struct served *s, struct ctl_buf *out,
		       bool json, bool first)
{
	const struct device *d = &s->dev;
	const char *policy = d->t.ata.wcache ? "write-back" : "write-through";

	if (json) {
		ctl_printf(out, "%s{\"name\":", first ? "" : ",");
		ctl_json_str(out, dev_name(s));
		ctl_printf(out, ",\"target\":\"%s\",\"path\":", d->name);
		ctl_json_str(out, d->b.path);
		ctl_printf(out, ",\"sectors\":%llu,\"bytes\":%llu,\"state\":\"%s\","
			   "\"read_only\":%s,\"write_policy\":\"%s\",\"queue_depth\":%u,"
			   "\"interfaces\":[", U(d->t.ata.sectors), U(d->b.size), dev_state(s),
			   d->t.ata.readonly ? "true" : "false", policy, d->t.bufcnt);
		dev_ifaces(dm, s, out, true);
		ctl_printf(out, "],\"initiators\":[");
		dev_initiators(s, out, true);
		ctl_printf(out, "]}");
		return;
	}
	ctl_printf(out, "device %s %s path=%s sectors=%llu size=%lluM state=%s "
		   "write_policy=%s queue_depth=%u interfaces=", dev_name(s), d->name,
		   d->b.path, U(d->t.ata.sectors), U(d->b.size >> 20), dev_state(s), policy,
		   d->t.bufcnt);
	dev_ifaces(dm, s, out, false);
	ctl_printf(out, "\n");
	dev_initiators(s, out, false);
}

static void status_iface(const struct daemon *dm, const struct iface *ifc, struct ctl_buf *out,
			 bool json, bool first)
{
	const char *state = dm_iface_attached(ifc) ? "attached" : "detached";
	char mac[MAC_STRLEN];
	bool f = true;

	format_mac(ifc->mac, mac);
	if (json) {
		ctl_printf(out, "%s{\"name\":", first ? "" : ",");
		ctl_json_str(out, ifc->name);
		ctl_printf(out, ",\"mac\":\"%s\",\"mtu\":%u,\"max_sectors\":%u,\"rx_path\":\"%s\","
			   "\"tx_path\":\"%s\",\"path\":\"%s\",\"state\":\"%s\",\"devices\":[",
			   mac, ifc->mtu, aoe_max_sectors(ifc->mtu), ifc->rx_ring ? "ring" : ifc->rx_plain ? "recvfrom" : "recvmmsg",
			   ifc->tx_ring ? "ring" : ifc->tx_plain ? "sendto" : "sendmmsg", iface_path_name(ifc), state);
	} else {
		ctl_printf(out, "iface %s mac=%s mtu=%u max_sectors=%u path=%s state=%s devices=",
			   ifc->name, mac, ifc->mtu, aoe_max_sectors(ifc->mtu), iface_path_name(ifc),
			   state);
	}
	for (unsigned k = 0; k < dm->n_devs; k++) {
		const struct served *s = &dm->devs[k];
		if (!served_on(dm, s, ifc))
			continue;
		ctl_printf(out, "%s", f ? "" : ",");
		if (json)
			ctl_json_str(out, dev_name(s));
		else
			ctl_printf(out, "%s", dev_name(s));
		f = false;
	}
	ctl_printf(out, json ? "]}" : f ? "-\n" : "\n");
}

static int cmd_status(struct daemon *dm, const struct ctl_request *r, struct ctl_buf *out)
{
	uint64_t up = (now_ns() - dm->started_ns) / 1000000000ULL;
	struct served *s;

	if (r->json) {
		ctl_printf(out, "{\"version\":\"%s\",\"pid\":%ld,\"uptime_s\":%llu,\"config\":",
			   PACKAGE_VERSION, (long)getpid(), U(up));
		if (dm->config_file)
			ctl_json_str(out, dm->config_file);
		else
			ctl_printf(out, "null");
		ctl_printf(out, ",\"devices\":[");
	} else {
		ctl_printf(out, "aoexd %s pid=%ld uptime=%llus config=%s devices=%u interfaces=%u\n",
			   PACKAGE_VERSION, (long)getpid(), U(up),
			   dm->config_file ? dm->config_file : "-", live_devs(dm), dm->n_ifaces);
	}
	for (unsigned k = 0, n = 0; (s = dev_at(dm, &k)); k++)
		status_dev(dm, s, out, r->json, n++ == 0);
	if (r->json)
		ctl_printf(out, "],\"interfaces\":[");
	for (unsigned i = 0; i < dm->n_ifaces; i++)
		status_iface(dm, &dm->ifaces[i], out, r->json, i == 0);
	if (r->json)
		ctl_printf(out, "]}\n");
	return 0;
}

/* ---------------------------------------------- config, mask, reserve */

static void mac_list(struct ctl_buf *out, const char *dev, const char *what,
		     unsigned n, const uint8_t (*macs)[6], bool json)
{
	char m[MAC_STRLEN];

	if (json) {
		ctl_printf(out, "{\"name\":");
		ctl_json_str(out, dev);
		ctl_printf(out, ",\"%s\":[", what);
	}
	for (unsigned i = 0; i < n; i++) {
		format_mac(macs[i], m);
		if (json)
			ctl_printf(out, "%s\"%s\"", i ? "," : "", m);
		else
			ctl_printf(out, "%s\n", m);
	}
	if (json)
		ctl_printf(out, "]}\n");
}

static void config_string(struct ctl_buf *out, const char *dev, const struct qconfig *qc, bool json)
{
	char s[QC_CS_MAX + 1];
	size_t n = qc->len < QC_CS_MAX ? qc->len : QC_CS_MAX;
	bool binary = memchr(qc->str, 0, n) != NULL;

	memcpy(s, qc->str, n);
	s[n] = 0;
	if (json) {
		ctl_printf(out, "{\"name\":");
		ctl_json_str(out, dev);
		ctl_printf(out, ",\"length\":%zu,\"config\":", n);
		ctl_json_str(out, s);	/* cut at a NUL: the hex form has it all */
		ctl_printf(out, ",\"hex\":\"");
		for (size_t i = 0; i < n; i++)
			ctl_printf(out, "%02x", qc->str[i]);
		ctl_printf(out, "\"}\n");
		return;
	}
	/* as text: printable bytes as they are, others as \xNN */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = qc->str[i];
		if (c >= 0x20 && c < 0x7f && c != '\\')
			ctl_put(out, (const char *)&qc->str[i], 1);
		else
			ctl_printf(out, "\\x%02x", c);
	}
	if (n || binary)
		ctl_printf(out, "\n");
}

static int cmd_device(struct daemon *dm, const struct ctl_request *r, struct ctl_buf *out,
		      char *err, size_t errlen)
{
	struct served *s = find_dev(dm, r->args[0]);
	struct aoe_target *t;

	if (!s) {
		snprintf(err, errlen, "no device named %s%s", r->args[0],
			 find_iface(dm, r->args[0]) ? " (that is an interface)" : "");
		return -1;
	}
	t = &s->dev.t;
	switch (r->cmd) {
	case CTL_SHOW_CONFIG:
		config_string(out, dev_name(s), &t->qc, r->json);
		break;
	case CTL_SHOW_MACMASK:
		mac_list(out, dev_name(s), "macmask", t->mask.n, t->mask.mac, r->json);
		break;
	case CTL_SHOW_RESERVE:
		mac_list(out, dev_name(s), "reserve", t->res.n, t->res.mac, r->json);
		break;
	case CTL_CLEAR_MACMASK:
		ctl_printf(out, "%s: mask list cleared (%u entr%s removed)\n", dev_name(s),
			   t->mask.n, t->mask.n == 1 ? "y" : "ies");
		t->mask.n = 0;
		s->dev.changed |= AOE_CHANGED_MASK;	/* persisted after this wakeup */
		break;
	case CTL_CLEAR_RESERVE:
		ctl_printf(out, "%s: reservation released (%u MAC%s removed)\n", dev_name(s),
			   t->res.n, t->res.n == 1 ? "" : "s");
		t->res.n = 0;
		s->dev.changed |= AOE_CHANGED_RESERVE;
		break;
	default:
		snprintf(err, errlen, "internal: %s is not a device command", ctl_cmd_name(r->cmd));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- reload */

static int cmd_reload(struct daemon *dm, struct ctl_buf *out, char *err, size_t errlen)
{
	if (!dm->config_file) {
		snprintf(err, errlen, "nothing to reload: aoexd was started without -c");
		return -1;
	}
	if (dm_reload(dm) < 0) {
		snprintf(err, errlen, "%s was refused; the running configuration is kept "
			 "(the daemon's log says why)", dm->config_file);
		return -1;
	}
	ctl_printf(out, "reloaded %s\n", dm->config_file);
	return 0;
}

void control_handle(struct daemon *dm, const struct ctl_request *r, struct ctl_buf *out)
{
	char err[300] = "";
	int rc = 0;

	ctl_printf(out, "ok\n");
	switch (r->cmd) {
	case CTL_STATUS: rc = cmd_status(dm, r, out); break;
	case CTL_STATS: rc = cmd_stats(dm, r, out, err, sizeof err); break;
	case CTL_CLEAR_STATS: rc = cmd_clear_stats(dm, r, out, err, sizeof err); break;
	case CTL_RELOAD: rc = cmd_reload(dm, out, err, sizeof err); break;
	default: rc = cmd_device(dm, r, out, err, sizeof err); break;
	}
	if (rc < 0) {
		ctl_buf_reset(out);
		ctl_printf(out, "error: %s\n", err[0] ? err : "failed");
	}
}
