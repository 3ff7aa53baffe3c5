/*
 * commands.c - what the control socket's commands do: read the registry's
 * devices, the interfaces and the counter records (stats.h) into a
 * response, clear state, or reload through the daemon's callback.
 */
#include "config.h"
#include "control/commands.h"
#include "io/freeze/freeze.h"
#include "common/doc.h"
#include "common/util.h"
#include "stats/stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define U(x) ((unsigned long long)(x))

/* ------------------------------------------------------------ lookup */

static struct iface *find_iface(struct commands *c, const char *name)
{
	int i = ifaces_find(c->ifs, name);

	return i < 0 ? NULL : &c->ifs->ifc[i];
}

static bool served_on(const struct commands *c, const struct reg_dev *d, const struct iface *ifc)
{
	return (d->iface_mask >> (ifc - c->ifs->ifc)) & 1;
}

static unsigned count_devs(const struct commands *c)
{
	unsigned n = 0;

	for (const struct reg_dev *d = c->reg->devs; d; d = d->next)
		n++;
	return n;
}

/* --------------------------------------------------------------- stats */

/* Which devices and interfaces the names select (none: all of them): the
 * devices are marked through their position in the list. */
struct selection {
	bool all;
	const struct reg_dev *dev[CTL_ARGS_MAX];
	const struct iface *ifc[CTL_ARGS_MAX];
	unsigned n;
};

static int select_names(struct commands *c, const struct ctl_request *r, struct selection *sel,
			char *err, size_t errlen)
{
	memset(sel, 0, sizeof *sel);
	sel->all = r->nargs == 0;
	for (unsigned a = 0; a < r->nargs; a++) {
		struct reg_dev *d = registry_find(c->reg, r->args[a]);
		struct iface *ifc = find_iface(c, r->args[a]);
		if (!d && !ifc) {
			snprintf(err, errlen, "no device or interface named %s", r->args[a]);
			return -1;
		}
		sel->dev[sel->n] = d;
		sel->ifc[sel->n++] = ifc;
	}
	return 0;
}

static bool dev_selected(const struct selection *sel, const struct reg_dev *d)
{
	for (unsigned i = 0; i < sel->n; i++)
		if (sel->dev[i] == d)
			return true;
	return sel->all;
}

static bool iface_selected(const struct selection *sel, const struct iface *ifc)
{
	for (unsigned i = 0; i < sel->n; i++)
		if (sel->ifc[i] == ifc)
			return true;
	return sel->all;
}

/* The records of a stats response, as text lines or as one JSON document
 * ({"devices":[...],"interfaces":[...],"engine":{...}}): one writer each. */
struct out {
	struct ctl_buf *b;
	bool json;
	bool first;
};

static void put_rec(struct out *o, const struct ctl_rec *rec)
{
	if (o->json) {
		ctl_printf(o->b, "%s", o->first ? "" : ",");
		ctl_rec_json(o->b, rec);
	} else {
		ctl_rec_text(o->b, rec);
	}
	o->first = false;
}

static void put_section(struct out *o, const char *open)
{
	if (o->json)
		ctl_printf(o->b, "%s", open);
	o->first = true;
}

static int cmd_stats(struct commands *c, const struct ctl_request *r, struct ctl_buf *b,
		     char *err, size_t errlen)
{
	static struct ctl_rec rec;
	struct out o = { b, r->json, true };
	struct selection sel;

	if (select_names(c, r, &sel, err, errlen) < 0)
		return -1;
	ifaces_poll_drops(c->ifs);
	put_section(&o, "{\"devices\":[");
	for (const struct reg_dev *d = c->reg->devs; d; d = d->next)
		if (dev_selected(&sel, d)) {
			stats_device(d, "device", NULL, &rec);
			put_rec(&o, &rec);
		}
	put_section(&o, "],\"interfaces\":[");
	for (unsigned i = 0; i < c->ifs->n; i++)
		if (iface_selected(&sel, &c->ifs->ifc[i])) {
			stats_iface(&c->ifs->ifc[i], "iface", &rec);
			put_rec(&o, &rec);
		}
	if (sel.all && *c->eng) {
		put_section(&o, "],\"engine\":");
		stats_engine(*c->eng, "engine", &rec);
		put_rec(&o, &rec);
		put_section(&o, "}\n");
	} else {
		put_section(&o, "]}\n");
	}
	return 0;
}

static int cmd_clear_stats(struct commands *c, const struct ctl_request *r, struct ctl_buf *out,
			   char *err, size_t errlen)
{
	struct selection sel;
	unsigned nd = 0, ni = 0;

	if (select_names(c, r, &sel, err, errlen) < 0)
		return -1;
	ifaces_poll_drops(c->ifs);	/* what the kernel counted so far goes too */
	for (struct reg_dev *d = c->reg->devs; d; d = d->next)
		if (dev_selected(&sel, d)) {
			stats_clear_device(d);
			nd++;
		}
	for (unsigned i = 0; i < c->ifs->n; i++)
		if (iface_selected(&sel, &c->ifs->ifc[i])) {
			stats_clear_iface(&c->ifs->ifc[i]);
			ni++;
		}
	ctl_printf(out, "cleared the counters of %u device%s and %u interface%s\n",
		   nd, nd == 1 ? "" : "s", ni, ni == 1 ? "" : "s");
	return 0;
}

static const char *dev_state(const struct reg_dev *d)
{
	if (d->dev.cache.failed)
		return "failed";	/* write-back lost data: read-only now */
	if (!d->iface_mask)
		return "idle";		/* on no interface */
	return d->dev.t.ata.readonly ? "read-only" : "serving";
}

/* -------------------------------------------------------------- status */

/* The names of the interfaces d is served on (ifs of them, at most
 * IFACES_MAX). */
static unsigned dev_ifaces(const struct commands *c, const struct reg_dev *d, const char **names)
{
	unsigned n = 0;

	for (unsigned i = 0; i < c->ifs->n; i++)
		if (served_on(c, d, &c->ifs->ifc[i]))
			names[n++] = c->ifs->ifc[i].name;
	return n;
}

/* The Extensions features mac negotiated with d, "" for none. */
static void peer_features(const struct reg_dev *d, const uint8_t *mac, char *buf, size_t n)
{
	uint8_t pm[6];

	buf[0] = 0;
	for (unsigned p = 0; p < aoe_target_peer_count(&d->dev.t); p++)
		if (aoe_target_peer_features(&d->dev.t, p, pm, buf, n) && memcmp(pm, mac, 6) == 0)
			return;
	buf[0] = 0;
}

static void initiator(struct doc *o, const uint8_t *mac, const uint64_t *requests, const char *feat)
{
	char macs[MAC_STRLEN];

	doc_begin(o, "initiator", NULL);
	doc_word(o, "mac", format_mac(mac, macs));
	if (requests)
		doc_u64(o, "requests", *requests);
	doc_str(o, "extensions", feat);
	doc_end(o);
}

/* The initiators seen, then Extensions peers the seen table had no room for. */
static void dev_initiators(struct doc *o, const struct reg_dev *d)
{
	char feat[128];
	uint8_t pm[6];

	doc_array(o, "initiators");
	for (unsigned i = 0; i < d->seen.n; i++) {
		peer_features(d, d->seen.e[i].mac, feat, sizeof feat);
		initiator(o, d->seen.e[i].mac, &d->seen.e[i].frames, feat);
	}
	for (unsigned p = 0; p < aoe_target_peer_count(&d->dev.t); p++) {
		bool known = false;
		aoe_target_peer_features(&d->dev.t, p, pm, feat, sizeof feat);
		for (unsigned i = 0; i < d->seen.n && !known; i++)
			known = memcmp(d->seen.e[i].mac, pm, 6) == 0;
		if (!known)
			initiator(o, pm, NULL, feat);
	}
	doc_array_end(o);
}

/* A frozen device's fields: only then, so other status output is as it was. */
static void status_freeze(struct doc *o, const struct freeze *fz)
{
	struct freeze_status st;

	freeze_status(fz, &st);
	doc_str(o, "freeze", st.phase);
	doc_str(o, "shadow", st.path);
	doc_u64(o, "frozen_since", st.since);
	doc_u64(o, "shadow_bytes", st.shadow_bytes);
	doc_u64(o, "shadow_allocated", st.allocated);
	doc_u64(o, "shadow_max_size", st.max_size);
	doc_u64(o, "shadow_full_refused", st.refused);
	if (strcmp(st.phase, "merging") == 0) {
		doc_u64(o, "merge_total_bytes", st.merge_total * 512);
		doc_u64(o, "merged_bytes", st.merged * 512);
		/* what is left over what there was, client writes clearing
		 * sectors too */
		doc_u64(o, "merge_percent", st.merge_total ?
			100 - st.shadow_bytes * 100 / (st.merge_total * 512) : 100);
	}
}

static void status_dev(struct doc *o, const struct commands *c, const struct reg_dev *d)
{
	const struct device *dev = &d->dev;
	const char *names[IFACES_MAX];
	unsigned n = dev_ifaces(c, d, names);

	doc_begin(o, "device", registry_dev_name(d));
	doc_word(o, "target", dev->name);
	doc_str(o, "path", dev->b.path);
	doc_u64(o, "sectors", dev->t.ata.sectors);
	doc_u64(o, "bytes", dev->b.size);
	doc_str(o, "state", dev_state(d));
	doc_str(o, "write_policy", dev->t.ata.wcache ? "write-back" : "write-through");
	doc_bool(o, "read_only", dev->t.ata.readonly);
	doc_u64(o, "buffer_count", dev->t.bufcnt);
	doc_u64(o, "queue_depth", dev->q.depth);
	doc_strings(o, "interfaces", names, n);
	if (dev->fz)
		status_freeze(o, dev->fz);
	dev_initiators(o, d);
	doc_end(o);
}

static void status_iface(struct doc *o, const struct commands *c, const struct iface *ifc)
{
	const char *names[CONF_MAX_DEVICES];
	char mac[MAC_STRLEN];
	unsigned n = 0;

	for (const struct reg_dev *d = c->reg->devs; d && n < CONF_MAX_DEVICES; d = d->next)
		if (served_on(c, d, ifc))
			names[n++] = registry_dev_name(d);
	doc_begin(o, "iface", ifc->name);
	doc_str(o, "mac", format_mac(ifc->mac, mac));
	doc_u64(o, "mtu", ifc->mtu);
	doc_u64(o, "max_sectors", aoe_max_sectors(ifc->mtu));
	doc_str(o, "path", iface_path_name(ifc));
	doc_str(o, "rx_path", ifc->rx_ring ? "ring" : ifc->rx_plain ? "recvfrom" : "recvmmsg");
	doc_str(o, "tx_path", ifc->tx_ring ? "ring" : ifc->tx_plain ? "sendto" : "sendmmsg");
	doc_str(o, "state", ifc->fd >= 0 ? "attached" : "detached");
	doc_strings(o, "devices", names, n);
	doc_end(o);
}

static int cmd_status(struct commands *c, const struct ctl_request *r, struct ctl_buf *out)
{
	struct doc o;

	doc_init(&o, out, r->json);
	doc_begin(&o, "aoexd", NULL);
	doc_word(&o, "version", PACKAGE_VERSION);
	doc_u64(&o, "pid", (uint64_t)getpid());
	doc_u64(&o, "uptime_s", (now_ns() - c->started_ns) / 1000000000ULL);
	doc_str(&o, "config", c->config_file ? c->config_file : "");
	doc_u64(&o, "devices", count_devs(c));
	doc_u64(&o, "interfaces", c->ifs->n);
	doc_array(&o, "devices");
	for (const struct reg_dev *d = c->reg->devs; d; d = d->next)
		status_dev(&o, c, d);
	doc_array_end(&o);
	doc_array(&o, "interfaces");
	for (unsigned i = 0; i < c->ifs->n; i++)
		status_iface(&o, c, &c->ifs->ifc[i]);
	doc_array_end(&o);
	doc_end(&o);
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

/* freeze NAME PATH MAXBYTES (aoexctl made PATH absolute, SIZE bytes) */
static int cmd_freeze(struct commands *c, const struct ctl_request *r, struct reg_dev *s,
		      struct ctl_buf *out, char *err, size_t errlen)
{
	char rec[CONF_PATH_MAX + 32], *end;
	unsigned long long max = strtoull(r->args[2], &end, 10);

	if (*end || r->args[1][0] != '/') {
		snprintf(err, errlen, "freeze: want an absolute shadow path and a byte count");
		return -1;
	}
	/* a restart must find the shadow, or it would serve the stale base */
	if (!c->reg->state_dir[0]) {
		snprintf(err, errlen, "freeze needs a state directory (state-directory, --state-dir): "
			 "a restarted aoexd finds the shadow there");
		return -1;
	}
	registry_freeze_record(c->reg, s, rec, sizeof rec);
	if (device_freeze(&s->dev, r->args[1], max, rec, s->conf.tune.thaw_rate, err, errlen) < 0)
		return -1;
	ctl_printf(out, "%s: frozen: %s stays as it is, writes go to %s\n", registry_dev_name(s),
		   s->dev.b.path, r->args[1]);
	return 0;
}

static int cmd_device(struct commands *c, const struct ctl_request *r, struct ctl_buf *out,
		      char *err, size_t errlen)
{
	struct reg_dev *s = registry_find(c->reg, r->args[0]);
	struct aoe_target *t;

	if (!s) {
		snprintf(err, errlen, "no device named %s%s", r->args[0],
			 find_iface(c, r->args[0]) ? " (that is an interface)" : "");
		return -1;
	}
	t = &s->dev.t;
	switch (r->cmd) {
	case CTL_SHOW_CONFIG:
		config_string(out, registry_dev_name(s), &t->qc, r->json);
		break;
	case CTL_SHOW_MACMASK:
		mac_list(out, registry_dev_name(s), "macmask", t->mask.n, t->mask.mac, r->json);
		break;
	case CTL_SHOW_RESERVE:
		mac_list(out, registry_dev_name(s), "reserve", t->res.n, t->res.mac, r->json);
		break;
	case CTL_CLEAR_MACMASK:
		ctl_printf(out, "%s: mask list cleared (%u entr%s removed)\n", registry_dev_name(s),
			   t->mask.n, t->mask.n == 1 ? "y" : "ies");
		t->mask.n = 0;
		registry_changed(c->reg, s, AOE_CHANGED_MASK);	/* persisted after this wakeup */
		break;
	case CTL_CLEAR_RESERVE:
		ctl_printf(out, "%s: reservation released (%u MAC%s removed)\n", registry_dev_name(s),
			   t->res.n, t->res.n == 1 ? "" : "s");
		t->res.n = 0;
		registry_changed(c->reg, s, AOE_CHANGED_RESERVE);
		break;
	case CTL_FREEZE:
		return cmd_freeze(c, r, s, out, err, errlen);
	case CTL_THAW:
		if (device_thaw(&s->dev, err, errlen) < 0)
			return -1;
		ctl_printf(out, "%s: thawing: merging the shadow back in the background\n",
			   registry_dev_name(s));
		break;
	default:
		snprintf(err, errlen, "internal: %s is not a device command", ctl_cmd_name(r->cmd));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------- reload */

static int cmd_reload(struct commands *c, struct ctl_buf *out, char *err, size_t errlen)
{
	if (!c->config_file) {
		snprintf(err, errlen, "nothing to reload: aoexd was started without -c");
		return -1;
	}
	if (c->reload(c->reload_ctx) < 0) {
		snprintf(err, errlen, "%s was refused; the running configuration is kept "
			 "(the daemon's log says why)", c->config_file);
		return -1;
	}
	ctl_printf(out, "reloaded %s\n", c->config_file);
	return 0;
}

void commands_handle(void *ctx, const struct ctl_request *r, struct ctl_buf *out)
{
	struct commands *c = ctx;
	char err[300] = "";
	int rc = 0;

	switch (r->cmd) {
	case CTL_STATUS: rc = cmd_status(c, r, out); break;
	case CTL_STATS: rc = cmd_stats(c, r, out, err, sizeof err); break;
	case CTL_CLEAR_STATS: rc = cmd_clear_stats(c, r, out, err, sizeof err); break;
	case CTL_RELOAD: rc = cmd_reload(c, out, err, sizeof err); break;
	default: rc = cmd_device(c, r, out, err, sizeof err); break;
	}
	if (rc < 0) {
		ctl_buf_reset(out);
		ctl_printf(out, "error: %s\n", err[0] ? err : "failed");
	}
}
