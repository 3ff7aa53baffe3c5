/*
 * t_conf.c - unit tests of the configuration loader (src/conf.c): the
 * sample file, defaults, every error with its exact "file:line: reason",
 * warnings, ACLs, sizes and the print/reload round trip.
 *
 * Files come from $TOP_SRCDIR (make check exports it), else from the source
 * tree this was built from; scratch files go to a private directory in
 * $TMPDIR.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config/conf.h"
#include "tap.h"

static char top[PATH_MAX], tmpdir[PATH_MAX], scratch[PATH_MAX + 32];
static struct aoexd_conf *C, *C2;
static char err[CONF_MSG_MAX];

static const uint8_t MAC1[6] = { 2, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC2[6] = { 2, 0, 0, 0, 0, 0x02 };
static const uint8_t MAC9[6] = { 2, 0, 0, 0, 0, 0x09 };
static const uint8_t MAC10[6] = { 2, 0, 0, 0, 0, 0x10 };
static const uint8_t MAC11[6] = { 2, 0, 0, 0, 0, 0x11 };
static const uint8_t MAC66[6] = { 2, 0, 0, 0, 0, 0x66 };

static int is_str(const char *got, const char *want, const char *what)
{
	int pass = strcmp(got, want) == 0;

	ok(pass, "%s", what);
	if (!pass)
		printf("#   got  \"%s\"\n#   want \"%s\"\n", got, want);
	return pass;
}

static const char *src(const char *rel)
{
	static char buf[4][PATH_MAX + 64];
	static int next;
	char *p = buf[next++ % 4];

	snprintf(p, sizeof buf[0], "%s/%s", top, rel);
	return p;
}

static void write_file_n(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	if (!f || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
		printf("Bail out! cannot write %s: %s\n", path, strerror(errno));
		exit(1);
	}
}

static void write_file(const char *path, const char *text)
{
	write_file_n(path, text, strlen(text));
}

/* Load len bytes of text (0: all) as the file "scratch"; the conf lands in C. */
static int load_bytes(const char *text, size_t len)
{
	write_file_n(scratch, text, len ? len : strlen(text));
	err[0] = '\0';
	return conf_load(scratch, C, err, sizeof err);
}

static int load_text(const char *text)
{
	return load_bytes(text, 0);
}

/* ---- the sample and the defaults --------------------------------------- */

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long len;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (len = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) < 0) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	buf = calloc(1, (size_t)len + 1);
	if (!buf || fread(buf, 1, (size_t)len, f) != (size_t)len) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	return buf;
}

/* conf_print of c, as a string */
static char *printed(const struct aoexd_conf *c)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f) {
		printf("Bail out! open_memstream\n");
		exit(1);
	}
	conf_print(c, f);
	fclose(f);
	return buf;
}

/* The sample's "#option = value" lines and examples, with the '#' removed. */
static char *uncomment(const char *text)
{
	char *out = malloc(strlen(text) + 1), *o = out;
	bool bol = true;

	for (const char *p = text; *p; p++) {
		if (bol && p[0] == '#' && p[1] && !strchr(" #\n", p[1]))
			p++;
		*o++ = *p;
		bol = *p == '\n';
	}
	*o = '\0';
	return out;
}

static void test_sample(void)
{
	char *def, *got, *text, *active;

	ok(conf_load(src("conf/aoexd.conf"), C, err, sizeof err) == 0, "conf/aoexd.conf loads");
	if (err[0])
		printf("#   %s\n", err);
	is_int(C->n_warnings, 0, "conf/aoexd.conf: no warnings");
	is_int(C->n_devices, 0, "conf/aoexd.conf: everything commented out, no device");
	conf_defaults(C2);
	def = printed(C2);
	got = printed(C);
	is_str(got, def, "conf/aoexd.conf is the defaults");
	free(got);

	/* every "#option = default" and example, enabled, must load too */
	text = slurp(src("conf/aoexd.conf"));
	active = uncomment(text);
	ok(strstr(active, "\ndevice e1.2 {\n") && strstr(active, "\n\tpath = \"/srv/aoe/disk.img\""),
	   "the sample's examples uncomment into settings");
	ok(load_text(active) == 0, "the sample with its examples enabled loads");
	if (err[0])
		printf("#   %s\n", err);
	is_int(C->n_warnings, 0, "the enabled sample: no warnings");
	is_int(C->n_devices, 2, "the enabled sample: 2 devices");
	is_int(C->n_acls, 1, "the enabled sample: 1 acl");
	is_int(C->n_ifaces, 1, "the enabled sample: 1 interface section");
	const struct conf_device *d = conf_device_find(C, "e1.2");
	ok(d && d->shelf == 1 && d->slot == 2 && d->accept.n == 3 && d->deny.n == 1 &&
	   d->tune.write_policy == CONF_WRITE_BACK && d->tune.read_ahead == 1 << 20,
	   "the enabled sample: device e1.2 as documented");
	is_int(C->log_level, LOG_INFO, "the enabled sample: log-level info");
	free(active);
	free(text);
	free(def);
}

static void test_minimal(void)
{
	const struct conf_device *d;

	ok(conf_load(src("tests/unit/conf/minimal.conf"), C, err, sizeof err) == 0,
	   "minimal.conf loads");
	is_int(C->n_devices, 1, "minimal: one device");
	d = &C->devices[0];
	is_str(d->name, "d0", "minimal: title");
	is_str(d->path, "/srv/aoe/d0.img", "minimal: path");
	ok(!d->uuid[0] && !d->label[0], "minimal: no uuid, no label");
	ok(d->shelf == 0 && d->slot == 0, "minimal: e0.0");
	is_int(d->line, 2, "minimal: the device starts on line 2");
	ok(!d->read_only && d->broadcast, "minimal: read-write, broadcast");
	ok(d->offset == 0 && d->length == 0, "minimal: whole backing store");
	is_int(d->n_interfaces, 0, "minimal: every interface");
	ok(d->accept.n == 0 && d->deny.n == 0, "minimal: no accept, no deny");
	is_str(d->model, "aoexd", "minimal: model aoexd");
	is_str(d->serial, "", "minimal: serial left to the daemon");
	is_int(d->tune.bufcnt, 64, "minimal: buffer-count 64");
	is_int(d->tune.queue_depth, 64, "minimal: queue-depth 64");
	/* the command line's defaults (aoexd --help), so a minimal file behaves like it */
	ok(d->tune.direct_io && d->tune.write_policy == CONF_WRITE_THROUGH,
	   "minimal: O_DIRECT, write-through");
	ok(d->tune.read_ahead == 256 << 10 && d->tune.read_ahead_streams == 4 &&
	   d->tune.write_behind == 512 << 10,
	   "minimal: read-ahead 256K (4 streams), write-behind 512K");
	ok(d->tune.max_dirty == 4 << 20 && d->tune.max_age_ms == 500 &&
	   d->tune.merge_delay_us == 0, "minimal: write-back limits 4M/500 ms, no merge delay");

	is_int(C->n_interfaces, 0, "minimal: serve every interface");
	ok(C->ifset.mtu == 0 && C->ifset.rx_ring_frames == 256 && C->ifset.tx_ring_frames == 256,
	   "minimal: interface MTU, 256-frame rings");
	is_str(C->control_socket, "/run/aoexd/ctl", "minimal: control socket");
	is_str(C->control_group, "", "minimal: control socket for root only");
	is_str(C->state_directory, LOCALSTATEDIR "/lib/aoexd", "minimal: state directory");
	is_str(C->pid_file, "", "minimal: no pid file");
	ok(C->log_target == CONF_LOG_STDERR && C->log_level == LOG_INFO, "minimal: info to stderr");
	ok(C->n_acls == 0 && C->n_ifaces == 0 && C->n_warnings == 0, "minimal: nothing else");
}

/* what libconfuse's syntax allows, through the comment blanking */
static void test_syntax(void)
{
	char want[CONF_MSG_MAX + PATH_MAX];

	/* "1;" is one word, not an integer and a separator */
	is_int(load_text("device a { path = /srv//a.img# no space before the comment\n"
			 "  shelf = 1; slot = 2 }\n"), -1, "a ';' is not a separator");
	snprintf(want, sizeof want, "%s:2: device a: invalid integer value for option 'shelf'", scratch);
	is_str(err, want, "... the shelf's value \"1;\" is refused at its line");
	is_int(load_text("device a { path = /srv//a.img# no space before the comment\n"
			 "  shelf = 1, slot = 2 }\n"), -1, "nor is a ','");
	snprintf(want, sizeof want, "%s:2: device a: unexpected token ','", scratch);
	is_str(err, want, "... the ',' is named at its line");
	ok(load_text("device a{path=/srv//a.img#comment\nshelf=1 slot=2}interfaces={'e*', \"v\\\"*\"}") == 0,
	   "no spaces, no final newline, unquoted path with //, single quotes");
	if (err[0])
		printf("#   %s\n", err);
	is_str(C->devices[0].path, "/srv//a.img", "an unquoted word keeps its //");
	ok(C->n_interfaces == 2 && !strcmp(C->interfaces[0], "e*") && !strcmp(C->interfaces[1], "v\"*"),
	   "quoted patterns, an escaped quote");
	ok(load_text("\r\nmtu = 1500\r\n/* a\r\n */ rx-ring-frames = 512\r\n") == 0 && C->ifset.mtu == 1500 &&
	   C->ifset.rx_ring_frames == 512, "CRLF line ends");
	setenv("T_CONF_DIR", "/srv/env", 1);
	ok(load_text("device a { path = \"${T_CONF_DIR}/a.img\" shelf = 1 slot = 2 }\n") == 0 &&
	   !strcmp(C->devices[0].path, "/srv/env/a.img"), "${VAR} in a string");
}

/* ---- errors ---------------------------------------------------------------- */

static const struct {
	int line;		/* 0: "FILE: reason" */
	const char *why;
	const char *text;
} bad[] = {
	/* syntax, names and types: libconfuse's */
	{ 2, "missing equal sign after option 'mtu'", "# comment\nmtu 9000\n" },
	{ 1, "'{' without its '}'", "device a {\n\tpath = \"/a\"\n" },
	{ 3, "'{' without its '}'", "device a {\n\tpath = \"/a\" shelf = 1 slot = 1\n\taccept = {\n\t\t\"02:00:00:00:00:01\"\n" },
	{ 1, "unexpected closing brace", "}\n" },
	{ 3, "premature end of file", "mtu = 0\n\nmtu =" },
	{ 2, "syntax error", "mtu = 0\n\"\" = 1\n" },
	{ 2, "'|' in an option name", "device a { path = \"/a\" shelf = 1 slot = 1 }\ndevice|shelf = 70000\n" },
	{ 2, "'|' in an option name", "device a { path = \"/a\" shelf = 1 slot = 1 }\ndevice|deny = {\"x\"}\n" },
	{ 1, "'|' in an option name", "device|a|path = \"/b\"\n" },
	{ 2, "string without its closing quote", "\npid-file = \"/run/x\n\n" },
	{ 2, "string without its closing quote", "# it's\ncontrol-group = 'disk\n" },
	{ 3, "comment without its */", "mtu = 0\n\n/* a comment\n\n" },
	{ 2, "'*' outside quotes (write patterns as \"eth*\")", "\ninterfaces = {eth*}\n" },
	{ 2, "device a: unexpected token '='", "device a {\n\tpath = = \"/a\"\n}\n" },
	/* lines stay right after every kind of comment (libconfuse 3.3 miscounts them) */
	{ 9, "unknown option 'mtux'",
	  "# one\n// two\n/* three\n   four */\n### five\nmtu = 0 # six\n\n/**/ mtu = 0 /* eight */\nmtux = 1\n" },
	{ 6, "device a: bad MAC address \"xx:00:00:00:00:01\" in accept",
	  "device a {\n\taccept = { # comments inside a list\n\t\t\"02:00:00:00:00:01\", // are fine\n"
	  "\t\t/* here too */ \"02:00:00:00:00:02\",\n\t\t# the next one is bad\n\t\t\"xx:00:00:00:00:01\"\n\t}\n}\n" },
	{ 3, "unknown option 'mtux'", "mtu = 1500\n\nmtux = 1500\n" },
	{ 3, "device a: unknown option 'sehlf'", "device a {\n\tpath = \"/a\"\n\tsehlf = 1\n}\n" },
	{ 2, "acl office: unknown option 'allow'", "acl office {\n\tallow = {\"02:00:00:00:00:01\"}\n}\n" },
	{ 1, "invalid integer value for option 'queue-depth'", "queue-depth = lots\n" },
	{ 4, "device a: invalid integer value for option 'slot'",
	  "device a {\n\tpath = \"/a\"\n\tshelf = 1\n\tslot = two\n}\n" },
	{ 2, "device a: invalid boolean value for option 'read-only'",
	  "device a {\n\tread-only = maybe\n}\n" },
	{ 1, "attempt to append to non-list option 'mtu'", "mtu += 1500\n" },
	/* sections */
	{ 5, "device a is defined twice (first at line 1)",
	  "device a {\n\tpath = \"/a\" shelf = 1 slot = 1\n}\n\ndevice a {\n\tpath = \"/b\" shelf = 1 slot = 2\n}\n" },
	{ 3, "acl x is defined twice (first at line 1)", "acl x { accept = {} }\n\nacl x { }\n" },
	{ 2, "interface eth0 is defined twice (first at line 1)",
	  "interface eth0 { mtu = 1500 }\ninterface eth0 { mtu = 1500 }\n" },
	{ 7, "device b: shelf 1 slot 2 (e1.2) is already used by device a (line 1)",
	  "device a {\n\tpath = \"/a\" shelf = 1 slot = 2\n}\n# a comment\n\n\ndevice b {\n"
	  "\tpath = \"/b\"\n\tslot = 2\n\tshelf = 1\n}\n" },
	{ 3, "device a: no path, uuid or label", "mtu = 1500\n\ndevice a {\n\tshelf = 1\n\tslot = 1\n}\n" },
	{ 1, "device a: no path, uuid or label", "device a { }\n" },
	{ 2, "device a: shelf is missing", "\ndevice a {\n\tpath = \"/a\"\n\tslot = 1\n}\n" },
	{ 1, "device a: slot is missing", "device a { path = \"/a\" shelf = 0 }\n" },
#ifdef HAVE_BLKID
	{ 1, "device a: path, uuid and label exclude each other: give one",
	  "device a {\n\tpath = \"/a\"\n\tuuid = \"1234\"\n\tshelf = 1 slot = 1\n}\n" },
#else
	{ 3, "device a: uuid needs libblkid, which this aoexd was built without; use path",
	  "device a {\n\tshelf = 1 slot = 1\n\tuuid = \"0a1b-2c3d\"\n}\n" },
	{ 2, "device a: label needs libblkid, which this aoexd was built without; use path",
	  "device a {\n\tlabel = \"nas\"\n}\n" },
#endif
	{ 1, "device \"a b\": a title is 1 to 63 letters, digits, '.', '_' or '-'",
	  "device \"a b\" { path = \"/a\" shelf = 1 slot = 1 }\n" },
	{ 2, "acl \"02:00:00:00:00:01\": an acl name must not look like a MAC address",
	  "\nacl \"02:00:00:00:00:01\" { }\n" },
	{ 1, "interface \"a/b\": not an interface name or pattern (1 to 15 characters, no '/', ':' or spaces)",
	  "interface \"a/b\" { }\n" },
	/* addresses */
	{ 3, "device a: shelf 65535 is out of range 0..65534 (65535 is the broadcast shelf)",
	  "device a {\n\tpath = \"/a\"\n\tshelf = 65535\n\tslot = 1\n}\n" },
	{ 2, "device a: shelf -1 is out of range 0..65534 (65535 is the broadcast shelf)",
	  "device a {\n\tshelf = -1\n}\n" },
	{ 4, "device a: slot 255 is out of range 0..254 (255 is the broadcast slot)",
	  "device a {\n\tpath = \"/a\"\n\tshelf = 1\n\tslot = 255\n}\n" },
	/* MACs and acls */
	{ 3, "acl office: bad MAC address \"02:00:00:00:00:0g\" in accept",
	  "acl office {\n\taccept = {\"02:00:00:00:00:01\",\n\t\t\"02:00:00:00:00:0g\"}\n}\n" },
	{ 2, "device a: bad MAC address \"02:00:00:00:00\" in deny",
	  "device a {\n\tdeny = {\"02:00:00:00:00\"}\n}\n" },
	{ 2, "device a: \"of fice\" in accept is neither a MAC address nor an acl name",
	  "device a {\n\taccept = {\"of fice\"}\n}\n" },
	{ 4, "device a: accept: unknown acl \"ofice\"",
	  "acl office { accept = {\"02:00:00:00:00:01\"} }\ndevice a {\n\tpath = \"/a\" shelf = 1 slot = 1\n"
	  "\taccept = {\"02:00:00:00:00:09\", \"ofice\"}\n}\n" },
	{ 4, "device a: deny: unknown acl \"lab\"",
	  "device a {\n\tpath = \"/a\" shelf = 1 slot = 1\n\tdeny = {\n\t\t\"lab\"\n\t}\n}\n" },
	/* sizes */
	{ 1, "read-ahead \"12X\" is not a size (bytes, or a number with K, M, G or T)", "read-ahead = \"12X\"\n" },
	{ 3, "device a: offset \"-512\" is not a size (bytes, or a number with K, M, G or T)",
	  "device a {\n\tpath = \"/a\"\n\toffset = \"-512\"\n}\n" },
	{ 2, "device a: length 1000 is not a multiple of 512 bytes", "device a {\n\tlength = 1000\n}\n" },
	{ 1, "write-behind 65M is larger than 64M", "write-behind = 65M\n" },
	{ 1, "write-back-max-dirty 2G is larger than 1G", "write-back-max-dirty = 2G\n" },
	{ 2, "device a: path \"null:4Q\": null:SIZE wants a size, a non-zero multiple of 512 bytes",
	  "device a {\n\tpath = \"null:4Q\"\n}\n" },
	{ 1, "device a: path \"null:0\": null:SIZE wants a size, a non-zero multiple of 512 bytes",
	  "device a { path = \"null:0\" }\n" },
	{ 1, "device a: path \"null:1000\": null:SIZE wants a size, a non-zero multiple of 512 bytes",
	  "device a { path = null:1000 }\n" },
	/* numbers and words */
	{ 1, "buffer-count 1 is out of range 2..65535", "buffer-count = 1\n" },
	{ 2, "device a: queue-depth 1025 is out of range 1..1024",
	  "device a {\n\tqueue-depth = 1025\n}\n" },
	{ 1, "mtu 547 is out of range 0 or 548..65535 (36 header bytes and one 512-byte sector; "
	  "0 keeps the interface's own)", "mtu = 547\n" },
	{ 2, "interface eth1: mtu 100 is out of range 0 or 548..65535 (36 header bytes and one 512-byte "
	  "sector; 0 keeps the interface's own)", "interface eth1 {\n\tmtu = 100\n}\n" },
	{ 1, "rx-ring-frames 4 is out of range 8..65536", "rx-ring-frames = 4\n" },
	{ 1, "write-back-max-age 0 is out of range 1..600000", "write-back-max-age = 0\n" },
	{ 1, "merge-delay 20000 is out of range 0..10000", "merge-delay = 20000\n" },
	{ 1, "write-policy \"sometimes\" is not one of write-through, write-back",
	  "write-policy = \"sometimes\"\n" },
	{ 2, "device a: write-policy \"writeback\" is not one of write-through, write-back",
	  "device a {\n\twrite-policy = writeback\n}\n" },
	{ 1, "log-level \"loud\" is not one of error, warning, notice, info, debug", "log-level = loud\n" },
	{ 1, "log-target \"file\" is not one of stderr, syslog", "log-target = \"file\"\n" },
	/* strings */
	{ 2, "device a: path \"disk.img\" is not an absolute path", "device a {\n\tpath = \"disk.img\"\n}\n" },
	{ 1, "device a: path is empty", "device a { path = \"\" }\n" },
	{ 1, "pid-file \"aoexd.pid\" is not an absolute path", "pid-file = \"aoexd.pid\"\n" },
	{ 1, "control-socket is empty", "control-socket = \"\"\n" },
	{ 1, "device a: model is longer than 40 characters",
	  "device a { model = \"12345678901234567890123456789012345678901\" }\n" },
	{ 1, "device a: serial may only hold printable ASCII", "device a { serial = \"a\\tb\" }\n" },
	{ 1, "\"eth 0\" in interfaces is not an interface name or pattern (1 to 15 characters, "
	  "no '/', ':' or spaces)", "interfaces = {\"eth0\", \"eth 0\"}\n" },
	{ 2, "device a: \"averyveryverylongname\" in interfaces is not an interface name or pattern "
	  "(1 to 15 characters, no '/', ':' or spaces)", "device a {\n\tinterfaces = averyveryverylongname\n}\n" },
};

static void test_errors(void)
{
	char want[CONF_MSG_MAX + PATH_MAX], what[80];

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		memset(C, 0x5a, sizeof *C);	/* a failed load must leave *c alone */
		if (bad[i].line)
			snprintf(want, sizeof want, "%s:%d: %s", scratch, bad[i].line, bad[i].why);
		else
			snprintf(want, sizeof want, "%s: %s", scratch, bad[i].why);
		snprintf(what, sizeof what, "error: %.60s", bad[i].why);
		is_int(load_text(bad[i].text), -1, "%s: refused", what);
		is_str(err, want, what);
		ok(C->n_devices == 0x5a5a5a5a, "%s: the conf is untouched", what);
	}
}

static void test_file_errors(void)
{
	char want[PATH_MAX + 64], path[PATH_MAX + 32];

	snprintf(path, sizeof path, "%s/missing.conf", tmpdir);
	snprintf(want, sizeof want, "%s: No such file or directory", path);
	is_int(conf_load(path, C, err, sizeof err), -1, "a missing file is refused");
	is_str(err, want, "a missing file: FILE: reason");
	snprintf(want, sizeof want, "%s: not a regular file", tmpdir);
	is_int(conf_load(tmpdir, C, err, sizeof err), -1, "a directory is refused");
	is_str(err, want, "a directory: not a regular file");
	snprintf(want, sizeof want, "%s:2: NUL byte in the file", scratch);
	is_int(load_bytes("\nmtu = 0\0\n", 10), -1, "a NUL byte is refused");
	is_str(err, want, "a NUL byte: its line");
	ok(load_text("buffer-count = 1\n") < 0 && conf_load(scratch, C, NULL, 0) == -1,
	   "no error buffer: still -1");
	char tiny[12];
	ok(conf_load(scratch, C, tiny, sizeof tiny) == -1 && strlen(tiny) == sizeof tiny - 1,
	   "a short error buffer is truncated, terminated");
}

static void test_limits(void)
{
	char *text = malloc(64 * 1024), *p;
	char want[CONF_MSG_MAX + PATH_MAX];

	/* 65 MACs through two acls: too many once expanded */
	p = text;
	p += sprintf(p, "acl a {\n\taccept = {");
	for (int i = 0; i < 40; i++)
		p += sprintf(p, "%s\"02:00:00:00:01:%02x\"", i ? ", " : "", i);
	p += sprintf(p, "}\n}\nacl b {\n\taccept = {");
	for (int i = 0; i < 25; i++)
		p += sprintf(p, "%s\"02:00:00:00:02:%02x\"", i ? ", " : "", i);
	sprintf(p, "}\n}\ndevice d {\n\tpath = \"/d\" shelf = 1 slot = 1\n\taccept = {\"a\", \"a\", \"b\"}\n}\n");
	snprintf(want, sizeof want, "%s:9: device d: accept holds more than 64 MAC addresses once "
		 "its acls are expanded", scratch);
	is_int(load_text(text), -1, "65 MACs after expansion: refused");
	is_str(err, want, "65 MACs after expansion: the accept line");

	/* 257 devices */
	p = text;
	for (int i = 0; i < 257; i++)
		p += sprintf(p, "device d%d { path = \"/d\" shelf = %d slot = %d }\n", i, i / 255, i % 255);
	snprintf(want, sizeof want, "%s:257: more than 256 devices", scratch);
	is_int(load_text(text), -1, "257 devices: refused");
	is_str(err, want, "257 devices: at the 257th");
	ok(load_text(strstr(text, "device d1 ")) == 0 && C->n_devices == 256, "256 devices load");
	is_int(C->devices[255].line, 256, "the 256th device's line");
	free(text);
}

/* ---- warnings -------------------------------------------------------------- */

static void test_warnings(void)
{
	char want[CONF_MSG_MAX + PATH_MAX];

	ok(load_text("interfaces = {\"eth*\"}\n"
		     "interface wlan0 { mtu = 1500 }\n"
		     "interface eth0 { mtu = 1500 }\n"
		     "device a {\n\tpath = \"/a\" shelf = 1 slot = 1\n"
		     "\tinterfaces = {\"eth1\",\n\t\t\"veth0\"}\n}\n") == 0,
	   "interfaces outside the global list: loads");
	is_int(C->n_warnings, 2, "two warnings");
	snprintf(want, sizeof want, "%s:7: device a: interface veth0 is not in the global interfaces "
		 "list: the device is not served there", scratch);
	is_str(C->warnings[0], want, "warning: a device's interface is not served");
	snprintf(want, sizeof want, "%s:2: interface wlan0: not in the global interfaces list: these "
		 "settings are not used", scratch);
	is_str(C->warnings[1], want, "warning: an interface section is not used");

	ok(load_text("interface wlan0 { }\ndevice a {\n\tpath = \"/a\" shelf = 1 slot = 1\n"
		     "\tinterfaces = {\"anything\"}\n}\n") == 0 && C->n_warnings == 0,
	   "no global list: every interface is served, no warning");

	/* queue-depth named the buffer count before 0.2: said, not refused */
	ok(load_text("device a {\n\tpath = \"/a\" shelf = 1 slot = 1\n\tqueue-depth = 8\n}\n") == 0,
	   "queue-depth without buffer-count loads");
	is_int(C->n_warnings, 1, "with one warning");
	snprintf(want, sizeof want, "%s:3: queue-depth is the number of disk I/Os in flight (as "
		 "--queue-depth); the buffer count advertised to initiators is buffer-count", scratch);
	is_str(C->warnings[0], want, "warning: queue-depth is the disk depth now");
	ok(C->devices[0].tune.queue_depth == 8 && C->devices[0].tune.bufcnt == 64,
	   "queue-depth 8 is the disk depth, the buffer count keeps its default");
	ok(load_text("buffer-count = 32\ndevice a {\n\tpath = \"/a\" shelf = 1 slot = 1\n"
		     "\tqueue-depth = 8\n}\n") == 0 && C->n_warnings == 0 &&
	   C->devices[0].tune.bufcnt == 32, "with buffer-count anywhere: no warning");
}

/* sync-writes and the initial mask list, the keys the command line's -s and -m became */
static void test_cli_keys(void)
{
	ok(load_text("acl office { accept = {\"02:00:00:00:00:01\"} }\n"
		     "device a {\n\tpath = \"/a\" shelf = 1 slot = 1\n\tsync-writes = true\n"
		     "\tmask = {\"office\", \"02:00:00:00:00:02\"}\n}\n") == 0,
	   "sync-writes and mask load");
	ok(C->devices[0].tune.sync_writes && C->devices[0].mask.n == 2 &&
	   C->devices[0].mask.mac[0][5] == 1 && C->devices[0].mask.mac[1][5] == 2,
	   "sync-writes on; the mask list with its acl expanded");
	ok(load_text("device a {\n\tpath = \"/a\" shelf = 1 slot = 1\n\tmask = {\"nosuch\"}\n}\n") < 0 &&
	   strstr(err, ":3: device a: mask: unknown acl \"nosuch\""), "an unknown acl in mask: %s", err);
}

/* ---- ACLs and sizes ---------------------------------------------------------- */

static void test_acls(void)
{
	const struct conf_device *d, *e;

	/* acl defined after its user; duplicates merged; three MAC spellings */
	ok(load_text("device d {\n\tpath = \"/d\" shelf = 1 slot = 1\n"
		     "\taccept = {\"office\", \"02:00:00:00:00:09\", \"lab\"}\n"
		     "\tdeny = {\"02:00:00:00:00:02\", \"02-00-00-00-00-66\"}\n}\n"
		     "device e {\n\tpath = \"/e\" shelf = 1 slot = 2\n\tdeny = {\"lab\"}\n}\n"
		     "acl office { accept = {\"02:00:00:00:00:01\", \"02:00:00:00:00:02\"} }\n"
		     "acl lab { accept = {\"020000000010\", \"02-00-00-00-00-11\", \"02:00:00:00:00:01\"} }\n") == 0,
	   "acls used before they are defined");
	d = conf_device_find(C, "d");
	e = conf_device_find(C, "e");
	ok(d && e && !conf_device_find(C, "f"), "conf_device_find");
	if (!d || !e)
		return;
	is_int(d->accept.n, 5, "accept: office (2) + 1 + lab (3) - 1 duplicate = 5 MACs");
	ok(memcmp(d->accept.mac[0], MAC1, 6) == 0 && memcmp(d->accept.mac[1], MAC2, 6) == 0 &&
	   memcmp(d->accept.mac[2], MAC9, 6) == 0 && memcmp(d->accept.mac[3], MAC10, 6) == 0 &&
	   memcmp(d->accept.mac[4], MAC11, 6) == 0, "accept: expanded in order");
	is_int(d->deny.n, 2, "deny: 2 MACs");
	ok(conf_mac_allowed(d, MAC1), "accepted and not denied: allowed");
	ok(!conf_mac_allowed(d, MAC2), "accepted but denied: refused");
	ok(conf_mac_allowed(d, MAC10), "accepted through an acl: allowed");
	ok(!conf_mac_allowed(d, MAC66), "not accepted (and denied): refused");
	ok(!conf_mac_allowed(d, (const uint8_t[6]){ 2, 0, 0, 0, 0, 0x77 }), "not accepted: refused");
	ok(conf_mac_allowed(e, MAC9), "empty accept: everyone");
	ok(!conf_mac_allowed(e, MAC11), "empty accept, denied through an acl: refused");
	is_int(C->n_acls, 2, "two acls kept");
	is_int(C->acls[1].macs.n, 3, "acl lab: 3 MACs");
}

static void test_sizes(void)
{
	static const struct { const char *text; uint64_t want; } sizes[] = {
		{ "0", 0 }, { "512", 512 }, { "\"1K\"", 1024 }, { "1k", 1024 }, { "\"4KiB\"", 4096 },
		{ "\"8KB\"", 8192 }, { "\"1M\"", 1 << 20 }, { "\"3G\"", 3ULL << 30 },
		{ "\"2T\"", 2ULL << 40 }, { "0x200", 512 }, { "1048576", 1 << 20 },
	};
	char text[256];

	for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
		snprintf(text, sizeof text, "device d {\n\tpath = \"/d\" shelf = 1 slot = 1\n"
			 "\toffset = %s length = %s\n}\n", sizes[i].text, sizes[i].text);
		ok(load_text(text) == 0 && C->devices[0].offset == sizes[i].want &&
		   C->devices[0].length == sizes[i].want, "size %s = %llu", sizes[i].text,
		   (unsigned long long)sizes[i].want);
	}
	ok(load_text("read-ahead = 64M\nwrite-behind = \"64M\"\nwrite-back-max-dirty = 1G\n") == 0 &&
	   C->defaults.read_ahead == 64 << 20 && C->defaults.write_behind == 64 << 20 &&
	   C->defaults.max_dirty == 1 << 30, "the largest read-ahead, write-behind, dirty");
}

/* ---- inheritance, round trip, comparison ------------------------------------- */

static void test_full(void)
{
	const struct conf_device *d, *e, *f;
	struct conf_iface ifc;

	ok(conf_load(src("tests/unit/conf/full.conf"), C, err, sizeof err) == 0, "full.conf loads");
	if (err[0])
		printf("#   %s\n", err);
	is_int(C->n_warnings, 0, "full.conf: no warnings");
	d = conf_device_find(C, "e1.2");
	e = conf_device_find(C, "e1.3");
	f = conf_device_find(C, "e65534.254");
	ok(d && e && f, "full.conf: three devices");
	if (!d || !e || !f)
		return;
	is_str(d->path, "/srv/aoe/disk \"one\" $HOME\\x.img", "escapes in a string");
	ok(d->read_only && !d->broadcast && d->offset == 1 << 20 && d->length == 1 << 30,
	   "e1.2: read-only, no broadcast, offset 1M, length 1G");
	ok(d->tune.bufcnt == 32 && d->tune.direct_io && d->tune.write_policy == CONF_WRITE_THROUGH &&
	   d->tune.read_ahead == 4 << 20 && d->tune.read_ahead_streams == 2 && d->tune.write_behind == 4 << 10 &&
	   d->tune.max_dirty == 8 << 20 && d->tune.max_age_ms == 1000 &&
	   d->tune.merge_delay_us == 0, "e1.2: every tuning value its own");
	ok(e->tune.bufcnt == 64 && !e->tune.direct_io && e->tune.write_policy == CONF_WRITE_BACK &&
	   e->tune.read_ahead == 1 << 20 && e->tune.read_ahead_streams == 8 &&
	   e->tune.write_behind == 1 << 20 && e->tune.max_dirty == 16 << 20 &&
	   e->tune.max_age_ms == 250 && e->tune.merge_delay_us == 100,
	   "e1.3: every tuning value inherited from the globals");
	is_str(e->path, "null:4G", "e1.3: null:4G");
	ok(f->shelf == 65534 && f->slot == 254, "the highest non-broadcast address");
	ok(C->log_target == CONF_LOG_SYSLOG && C->log_level == LOG_DEBUG, "syslog, debug");

	/* interface sections inherit the globals; patterns match */
	conf_iface_get(C, "eth1", &ifc);
	ok(ifc.set.mtu == 1500 && ifc.set.rx_ring_frames == 256 && ifc.set.tx_ring_frames == 512,
	   "interface eth1: own mtu and rx ring, global tx ring");
	conf_iface_get(C, "br-lan", &ifc);
	ok(ifc.set.mtu == 9000 && ifc.set.rx_ring_frames == 1024 && ifc.set.tx_ring_frames == 64,
	   "interface br-lan through the \"br-*\" section");
	conf_iface_get(C, "eth7", &ifc);
	ok(!strcmp(ifc.name, "eth7") && ifc.set.mtu == 9000 && ifc.set.rx_ring_frames == 1024 &&
	   ifc.set.tx_ring_frames == 512, "interface eth7: no section, the globals");
	ok(conf_iface_served(C, "eth0") && conf_iface_served(C, "veth1") && !conf_iface_served(C, "veth2"),
	   "conf_iface_served: patterns and names");
	ok(conf_device_on_iface(d, "eth1") && !conf_device_on_iface(d, "eth0") &&
	   conf_device_on_iface(e, "eth0"), "conf_device_on_iface");

	char buf[64];
	ok(conf_device_resolve(e, buf, sizeof buf) == 0 && !strcmp(buf, "null:4G"),
	   "conf_device_resolve: a path is itself");
	ok(conf_device_resolve(d, buf, 8) == -1 && errno == ENAMETOOLONG,
	   "conf_device_resolve: too small a buffer");
}

/* print -> load -> print is a fixed point, and every device compares equal */
static void round_trip(const char *what)
{
	char *first = printed(C), path[PATH_MAX + 32];

	snprintf(path, sizeof path, "%s/printed.conf", tmpdir);
	write_file(path, first);
	ok(conf_load(path, C2, err, sizeof err) == 0, "%s: the printed configuration loads", what);
	if (err[0])
		printf("#   %s\n", err);
	char *second = printed(C2);
	is_str(second, first, what);
	bool same = C->n_devices == C2->n_devices;
	for (unsigned i = 0; same && i < C->n_devices; i++)
		same = conf_device_equal(&C->devices[i], &C2->devices[i]);
	ok(same, "%s: every device equal after the reload", what);
	free(first);
	free(second);
}

static void test_round_trip(void)
{
	if (conf_load(src("tests/unit/conf/full.conf"), C, err, sizeof err) == 0)
		round_trip("round trip of full.conf");
	if (conf_load(src("tests/unit/conf/minimal.conf"), C, err, sizeof err) == 0)
		round_trip("round trip of minimal.conf");
	conf_defaults(C);
	round_trip("round trip of the defaults");
#ifdef HAVE_BLKID
	ok(load_text("device u { uuid = \"0a1b2c3d-0000\" shelf = 1 slot = 1 }\n"
		     "device l { label = \"nas disk\" shelf = 1 slot = 2 }\n") == 0,
	   "uuid and label with libblkid");
	round_trip("round trip of uuid and label");
	char buf[64];
	ok(conf_device_resolve(&C->devices[0], buf, sizeof buf) == -1 && errno == ENOENT,
	   "conf_device_resolve: no disk with that uuid");
#else
	char buf[64];
	strcpy(C->devices[0].path, "");
	strcpy(C->devices[0].uuid, "0a1b");
	C->n_devices = 1;
	ok(conf_device_resolve(&C->devices[0], buf, sizeof buf) == -1 && errno == ENOTSUP,
	   "conf_device_resolve: uuid without libblkid");
#endif
}

/* conf_load_buf: what the fuzzer loads; the same rules as a file */
static void test_load_buf(void)
{
	static const char text[] = "# a comment\ndevice d { path = \"null:1M\" shelf = 3 slot = 4 }\n";
	char *sample = slurp(src("tests/unit/conf/full.conf"));

	ok(conf_load_buf("buf", text, sizeof text - 1, C, err, sizeof err) == 0 &&
	   C->n_devices == 1 && C->devices[0].shelf == 3 && C->devices[0].slot == 4,
	   "conf_load_buf loads text");
	ok(conf_load(src("tests/unit/conf/full.conf"), C2, err, sizeof err) == 0 &&
	   conf_load_buf("sample", sample, strlen(sample), C, err, sizeof err) == 0 &&
	   C->n_devices == C2->n_devices && C->n_devices > 0 &&
	   conf_device_equal(&C->devices[0], &C2->devices[0]),
	   "conf_load_buf of full.conf = conf_load of full.conf");
	free(sample);
	/* not NUL-terminated: only len bytes count ("slot = 45" cut to 4) */
	ok(conf_load_buf("buf", "device d { path = \"null:1M\" shelf = 3 slot = 45 }", 44, C, err, sizeof err) == -1,
	   "conf_load_buf reads only len bytes");
	is_str(err, "buf:1: '{' without its '}'", "... and says so with its name and line");
	is_int(conf_load_buf("buf", "mtu = 0\n\0", 9, C, err, sizeof err), -1, "conf_load_buf: a NUL byte is refused");
	is_str(err, "buf:2: NUL byte in the file", "... with its line");
}

static void test_device_equal(void)
{
	struct conf_device a, b;

	const struct conf_device *d;

	if (conf_load(src("tests/unit/conf/full.conf"), C, err, sizeof err) < 0)
		return;
	d = conf_device_find(C, "e1.2");
	if (!ok(d, "full.conf has device e1.2 to compare"))
		return;
	a = *d;
	b = a;
	b.line = 99;
	ok(conf_device_equal(&a, &b), "equal: the line does not count");
#define DIFFERS(field_change, what) \
	do { b = a; field_change; ok(!conf_device_equal(&a, &b), "not equal: %s", what); } while (0)
	DIFFERS(b.name[0] = 'x', "name");
	DIFFERS(strcat(b.path, "x"), "path");
	DIFFERS(b.slot++, "slot");
	DIFFERS(b.shelf++, "shelf");
	DIFFERS(b.read_only = !b.read_only, "read-only");
	DIFFERS(b.broadcast = !b.broadcast, "broadcast");
	DIFFERS(b.length += 512, "length");
	DIFFERS(b.offset += 512, "offset");
	DIFFERS(b.n_interfaces--, "interfaces");
	DIFFERS(b.interfaces[0][0] = 'x', "an interface name");
	DIFFERS(b.tune.queue_depth++, "queue-depth");
	DIFFERS(b.tune.merge_delay_us++, "merge-delay");
	DIFFERS(b.accept.n--, "accept");
	DIFFERS(b.deny.mac[0][5] ^= 1, "a deny MAC");
	DIFFERS(b.model[0] = 'x', "model");
	DIFFERS(b.serial[0] = 'x', "serial");
#undef DIFFERS
}

static void setup(void)
{
	const char *env = getenv("TOP_SRCDIR");
	const char *t = getenv("TMPDIR");

	snprintf(top, sizeof top, "%s", env && *env ? env : ABS_TOP_SRCDIR);
	snprintf(tmpdir, sizeof tmpdir, "%s/t_conf.XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		printf("Bail out! mkdtemp %s: %s\n", tmpdir, strerror(errno));
		exit(1);
	}
	snprintf(scratch, sizeof scratch, "%s/t.conf", tmpdir);
	C = malloc(sizeof *C);
	C2 = malloc(sizeof *C2);
	if (!C || !C2) {
		printf("Bail out! out of memory\n");
		exit(1);
	}
}

static void cleanup(void)
{
	char path[PATH_MAX + 32];

	unlink(scratch);
	snprintf(path, sizeof path, "%s/printed.conf", tmpdir);
	unlink(path);
	rmdir(tmpdir);
	free(C);
	free(C2);
}

int main(void)
{
	setup();
	test_sample();
	test_minimal();
	test_syntax();
	test_errors();
	test_file_errors();
	test_limits();
	test_warnings();
	test_cli_keys();
	test_acls();
	test_sizes();
	test_full();
	test_round_trip();
	test_load_buf();
	test_device_equal();
	cleanup();
	return done_testing();
}
