/* conf_print.c - the effective configuration in the file's own syntax,
 * every value spelled out (aoexd -c FILE --check); conf_load reads it back. */
#include "config.h"
#include "config/conf.h"
#include "common/util.h"

#include <stdio.h>

/* a double-quoted libconfuse string: \ " and $ ("${VAR}" expands) escaped */
static void put_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\' || ch == '$')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			fprintf(f, "\\x%02x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

static void put_names(FILE *f, const char *in, const char *opt, const char (*names)[CONF_IFNAME_MAX],
		      unsigned n)
{
	fprintf(f, "%s%s = {", in, opt);
	for (unsigned i = 0; i < n; i++) {
		fputs(i ? ", " : "", f);
		put_str(f, names[i]);
	}
	fputs("}\n", f);
}

static void put_macs(FILE *f, const char *in, const char *opt, const struct conf_macs *m)
{
	char buf[MAC_STRLEN];

	fprintf(f, "%s%s = {", in, opt);
	for (unsigned i = 0; i < m->n; i++)
		fprintf(f, "%s\"%s\"", i ? ", " : "", format_mac(m->mac[i], buf));
	fputs("}\n", f);
}

static void put_bool(FILE *f, const char *in, const char *opt, bool v)
{
	fprintf(f, "%s%s = %s\n", in, opt, v ? "true" : "false");
}

static void put_opt_str(FILE *f, const char *in, const char *opt, const char *v)
{
	fprintf(f, "%s%s = ", in, opt);
	put_str(f, v);
	fputc('\n', f);
}

/* the tunables of one table, from the struct at base */
static void put_tunables(FILE *f, const char *in, const struct tunable *t, unsigned n,
			 const void *base)
{
	char buf[48];

	for (unsigned i = 0; i < n; i++) {
		const char *v = tunable_value_str(&t[i], tunable_get(&t[i], base), buf);
		if (t[i].kind == TUNE_POLICY)
			put_opt_str(f, in, t[i].key, v);
		else
			fprintf(f, "%s%s = %s\n", in, t[i].key, v);
	}
}

static void put_opt_size(FILE *f, const char *in, const char *opt, uint64_t v)
{
	char buf[24];

	fprintf(f, "%s%s = %s\n", in, opt, tunable_size_str(v, buf));
}

static void put_globals(FILE *f, const struct aoexd_conf *c)
{
	put_names(f, "", "interfaces", (const char (*)[CONF_IFNAME_MAX])c->interfaces, c->n_interfaces);
	put_tunables(f, "", tunables_iface, tunables_iface_n, &c->ifset);
	put_tunables(f, "", tunables_device, tunables_device_n, &c->defaults);
	put_opt_str(f, "", "control-socket", c->control_socket);
	put_opt_str(f, "", "control-group", c->control_group);
	put_opt_str(f, "", "state-directory", c->state_directory);
	put_opt_str(f, "", "pid-file", c->pid_file);
	put_opt_str(f, "", "log-target", c->log_target == CONF_LOG_SYSLOG ? "syslog" : "stderr");
	put_opt_str(f, "", "log-level", conf_log_level_name(c->log_level));
}

static void put_device(FILE *f, const struct conf_device *d)
{
	const char *in = "\t";

	fprintf(f, "\ndevice %s {\n", d->name);
	if (d->path[0])
		put_opt_str(f, in, "path", d->path);
	else if (d->uuid[0])
		put_opt_str(f, in, "uuid", d->uuid);
	else
		put_opt_str(f, in, "label", d->label);
	fprintf(f, "%sshelf = %u\n%sslot = %u\n", in, d->shelf, in, d->slot);
	put_bool(f, in, "read-only", d->read_only);
	put_opt_size(f, in, "offset", d->offset);
	put_opt_size(f, in, "length", d->length);
	put_names(f, in, "interfaces", (const char (*)[CONF_IFNAME_MAX])d->interfaces, d->n_interfaces);
	put_tunables(f, in, tunables_device, tunables_device_n, &d->tune);
	put_macs(f, in, "accept", &d->accept);
	put_macs(f, in, "deny", &d->deny);
	put_macs(f, in, "mask", &d->mask);
	put_bool(f, in, "broadcast", d->broadcast);
	put_opt_str(f, in, "model", d->model);
	put_opt_str(f, in, "serial", d->serial);
	if (d->freeze_shadow[0]) {	/* only when set: "" is no path */
		put_opt_str(f, in, "freeze-shadow", d->freeze_shadow);
		put_opt_size(f, in, "freeze-max-size", d->freeze_max_size);
	}
	fputs("}\n", f);
}

void conf_print(const struct aoexd_conf *c, FILE *f)
{
	fputs("# aoexd: the effective configuration, every value spelled out\n", f);
	put_globals(f, c);
	for (unsigned i = 0; i < c->n_acls; i++) {
		fprintf(f, "\nacl %s {\n", c->acls[i].name);
		put_macs(f, "\t", "accept", &c->acls[i].macs);
		fputs("}\n", f);
	}
	for (unsigned i = 0; i < c->n_ifaces; i++) {
		const struct conf_iface *s = &c->ifaces[i];
		fputs("\ninterface ", f);
		put_str(f, s->name);	/* patterns hold '*', which libconfuse wants quoted */
		fputs(" {\n", f);
		put_tunables(f, "\t", tunables_iface, tunables_iface_n, &s->set);
		fputs("}\n", f);
	}
	for (unsigned i = 0; i < c->n_devices; i++)
		put_device(f, &c->devices[i]);
}
