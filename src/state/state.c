/* state.c - the config string, mask list and reservation on disk. */
#include "config.h"
#include "state/state.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STATE_MAGIC "aoexd-state 1"

void state_path(const char *dir, const struct aoe_target *t, char *buf, size_t len)
{
	snprintf(buf, len, "%s/e%u.%u", dir, t->shelf, t->slot);
}

static void put_macs(FILE *f, const char *key, const uint8_t (*mac)[6], unsigned n)
{
	char s[MAC_STRLEN];

	for (unsigned i = 0; i < n; i++)
		fprintf(f, "%s %s\n", key, format_mac(mac[i], s));
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

int state_save(const char *dir, const struct aoe_target *t, char *err, size_t errlen)
{
	char path[1100], tmp[1110];
	FILE *f;
	int fd;

	state_path(dir, t, path, sizeof path);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		goto fail_dir;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || !(f = fdopen(fd, "w"))) {
		if (fd >= 0)
			close(fd);
		goto fail_tmp;
	}
	fprintf(f, "%s\n# e%u.%u: set by initiators; aoexd rewrites this file\n",
		STATE_MAGIC, t->shelf, t->slot);
	if (t->qc.len) {
		fputs("config ", f);
		for (unsigned i = 0; i < t->qc.len; i++)
			fprintf(f, "%02x", t->qc.str[i]);
		fputc('\n', f);
	}
	put_macs(f, "mask", (const uint8_t (*)[6])t->mask.mac, t->mask.n);
	put_macs(f, "reserve", (const uint8_t (*)[6])t->res.mac, t->res.n);
	if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
		fclose(f);
		goto fail_tmp;
	}
	if (fclose(f) != 0)
		goto fail_tmp;
	if (rename(tmp, path) < 0)
		goto fail_tmp;
	if (fsync_dir(dir) < 0)
		goto fail_dir;
	return 0;

fail_tmp:
	snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
	unlink(tmp);
	return -1;
fail_dir:
	snprintf(err, errlen, "state directory %s: %s", dir, strerror(errno));
	return -1;
}

/* One line of the file into st; NULL, or why it is wrong. */
static const char *parse_line(char *line, struct aoe_target *st)
{
	char *key = line, *val = strchr(line, ' ');
	uint8_t mac[6];

	if (!val)
		return "no value";
	*val++ = 0;
	if (strcmp(key, "config") == 0) {
		size_t n = strlen(val);
		if (n % 2 || n / 2 > QC_CS_MAX || st->qc.len)
			return "bad config string";
		for (size_t i = 0; i < n / 2; i++) {
			int hi = hex_digit(val[2 * i]), lo = hex_digit(val[2 * i + 1]);
			if (hi < 0 || lo < 0)
				return "bad config string";
			st->qc.str[i] = (uint8_t)(hi << 4 | lo);
		}
		st->qc.len = (uint16_t)(n / 2);
		return NULL;
	}
	if (parse_mac(val, mac) < 0)
		return "bad MAC address";
	if (strcmp(key, "mask") == 0)
		return mask_add(&st->mask, mac) < 0 ? "too many mask entries" : NULL;
	if (strcmp(key, "reserve") == 0) {
		if (st->res.n == RESERVE_MAX)
			return "too many reservation entries";
		memcpy(st->res.mac[st->res.n++], mac, 6);
		return NULL;
	}
	return "unknown keyword";
}

int state_load(const char *dir, struct aoe_target *t, char *err, size_t errlen)
{
	static struct aoe_target st;	/* large (peer tables): not on the stack */
	char path[1100], *line = NULL;
	const char *why = NULL;
	unsigned lineno = 0;
	size_t cap = 0;
	ssize_t n;
	FILE *f;

	state_path(dir, t, path, sizeof path);
	f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT)
			return 0;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	memset(&st.qc, 0, sizeof st.qc);
	memset(&st.mask, 0, sizeof st.mask);
	memset(&st.res, 0, sizeof st.res);
	while (!why && (n = getline(&line, &cap, f)) >= 0) {
		lineno++;
		if (n && line[n - 1] == '\n')
			line[--n] = 0;
		if (strlen(line) != (size_t)n)
			why = lineno == 1 ? "not an aoexd state file" : "NUL byte in the line";
		else if (lineno == 1)
			why = strcmp(line, STATE_MAGIC) != 0 ? "not an aoexd state file" : NULL;
		else if (line[0] && line[0] != '#')
			why = parse_line(line, &st);
	}
	if (!why && ferror(f))
		why = strerror(errno);
	if (!why && lineno == 0)
		why = "empty file";
	free(line);
	fclose(f);
	if (why) {
		snprintf(err, errlen, "%s:%u: %s", path, lineno, why);
		return -1;
	}
	t->qc = st.qc;
	t->mask = st.mask;
	t->res = st.res;
	return 1;
}
