/*
 * commands.c - what the control socket's commands do: read the registry's
 * devices, the interfaces and the counter records (stats.h) into a
 * response, clear state, or reload through the daemon's callback.
 */
#include "config.h"
#include "control/commands.h"
#include "common/util.h"
#include "stats/stats.h"

#include <stdio.h>
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

/* "a,b" names of the interfaces s is served on */
static void dev_ifaces(const struct commands *c, const struct reg_dev *s, struct ctl_buf *out,
		       bool json)
{
	bool first = true;

	for (unsigned i = 0; i < c->ifs->n; i++) {
		if (!served_on(c, s, &c->ifs->ifc[i]))
			continue;
		ctl_printf(out, "%s", first ? "" : ",");
		if (json)
			ctl_json_str(out, c->ifs->ifc[i].name);
		else
			ctl_printf(out, "%s", c->ifs->ifc[i].name);
		first = false;
	}
	if (first && !json)
		ctl_printf(out, "-");
}

/* The Extensions features mac negotiated with s, "" for none. */
static void peer_features(const struct reg_dev *s, const uint8_t *mac, char *buf, size_t n)
{
	uint8_t pm[6];

	buf[0] = 0;
	for (unsigned p = 0; p < aoe_target_peer_count(&s->dev.t); p++)
		if (aoe_target_peer_features(&s->dev.t, p, pm, buf, n) && memcmp(pm, mac, 6) == 0)
			return;
	buf[0] = 0;
}

static void dev_initiators(const struct reg_dev *s, struct ctl_buf *out, bool json)
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

static void status_dev(const struct commands *c, const struct reg_dev *s, struct ctl_buf *out,
		       bool json, bool first)
{
	const struct device *d = &s->dev;
	const char *policy = d->t.ata.wcache ? "write-back" : "write-through";

	if (json) {
		ctl_printf(out, "%s{\"name\":", first ? "" : ",");
		ctl_json_str(out, registry_dev_name(s));
		ctl_printf(out, ",\"target\":\"%s\",\"path\":", d->name);
		ctl_json_str(out, d->b.path);
		ctl_printf(out, ",\"sectors\":%llu,\"bytes\":%llu,\"state\":\"%s\","
			   "\"read_only\":%s,\"write_policy\":\"%s\",\"queue_depth\":%u,"
			   "\"interfaces\":[", U(d->t.ata.sectors), U(d->b.size), dev_state(s),
			   d->t.ata.readonly ? "true" : "false", policy, d->t.bufcnt);
		dev_ifaces(c, s, out, true);
		ctl_printf(out, "],\"initiators\":[");
		dev_initiators(s, out, true);
		ctl_printf(out, "]}");
		return;
	}
	ctl_printf(out, "device %s %s path=%s sectors=%llu size=%lluM state=%s "
		   "write_policy=%s queue_depth=%u interfaces=", registry_dev_name(s), d->name,
		   d->b.path, U(d->t.ata.sectors), U(d->b.size >> 20), dev_state(s), policy,
		   d->t.bufcnt);
	dev_ifaces(c, s, out, false);
	ctl_printf(out, "\n");
	dev_initiators(s, out, false);
}

static void status_iface(const struct commands *c, const struct iface *ifc, struct ctl_buf *out,
			 bool json, bool first)
{
	const char *state = ifc->fd >= 0 ? "attached" : "detached";
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
	for (const struct reg_dev *s = c->reg->devs; s; s = s->next) {
		if (!served_on(c, s, ifc))
			continue;
		ctl_printf(out, "%s", f ? "" : ",");
		if (json)
			ctl_json_str(out, registry_dev_name(s));
		else
			ctl_printf(out, "%s", registry_dev_name(s));
		f = false;
	}
	ctl_printf(out, json ? "]}" : f ? "-\n" : "\n");
}

static int cmd_status(struct commands *c, const struct ctl_request *r, struct ctl_buf *out)
{
	uint64_t up = (now_ns() - c->started_ns) / 1000000000ULL;
	unsigned n = 0;

	if (r->json) {
		ctl_printf(out, "{\"version\":\"%s\",\"pid\":%ld,\"uptime_s\":%llu,\"config\":",
			   PACKAGE_VERSION, (long)getpid(), U(up));
		if (c->config_file)
			ctl_json_str(out, c->config_file);
		else
			ctl_printf(out, "null");
		ctl_printf(out, ",\"devices\":[");
	} else {
		ctl_printf(out, "aoexd %s pid=%ld uptime=%llus config=%s devices=%u interfaces=%u\n",
			   PACKAGE_VERSION, (long)getpid(), U(up),
			   c->config_file ? c->config_file : "-", count_devs(c), c->ifs->n);
	}
	for (const struct reg_dev *s = c->reg->devs; s; s = s->next)
		status_dev(c, s, out, r->json, n++ == 0);
	if (r->json)
		ctl_printf(out, "],\"interfaces\":[");
	for (unsigned i = 0; i < c->ifs->n; i++)
		status_iface(c, &c->ifs->ifc[i], out, r->json, i == 0);
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
