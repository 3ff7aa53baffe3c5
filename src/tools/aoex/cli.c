/* cli.c - messages, argument parsers and output formats of aoex (see
 * cli.h). */
#include "config.h"
#include "tools/aoex/cli.h"
#include "tools/aoex/client.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ------------------------------------------------------------ messages */

int cli_error(bool usage, const char *fmt, ...)
{
	va_list ap;

	fputs("aoex: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(usage ? "\nTry 'aoex --help' for more information.\n" : "\n", stderr);
	return AOEX_LOCAL_ERROR;
}

/* ------------------------------------------------------------- parsing */

int cli_parse_num(const char *arg, uint64_t max, uint64_t *out, const char *what)
{
	if (parse_uint(arg, 0, max, out) < 0)
		return cli_usage_error("bad %s '%s' (0..%llu)", what, arg, (unsigned long long)max);
	return AOEX_OK;
}

int cli_parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == ':' || *s == '\t' || *s == '\n') {
			if (hi >= 0)
				return -1;	/* a lone nibble */
			continue;
		}
		v = hex_digit((unsigned char)*s);
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (*len >= max)
			return -1;
		out[(*len)++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi >= 0 ? -1 : 0;
}

/* -------------------------------------------------------------- output */

void cli_print_escaped(FILE *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
			fprintf(out, "\\x%02x", p[i]);
		else
			fputc(p[i], out);
	}
}

void cli_print_aoe_error(FILE *out, unsigned code)
{
	fprintf(out, "aoe_error=%u (%s)\n", code, aoex_error_name(code));
	fflush(out);
}

void cli_print_config_line(FILE *out, const struct req_qc_reply *qc)
{
	char mac[MAC_STRLEN];

	fprintf(out, "e%u.%u mac=%s bufcnt=%u fw=0x%04x sectors=%u ver=%u config=\"",
		qc->shelf, qc->slot, format_mac(qc->mac, mac), qc->bufcnt, qc->fwver,
		qc->scnt, qc->ver);
	cli_print_escaped(out, qc->cs, qc->cslen);
	fputs("\"\n", out);
}

void cli_print_mac_list(const uint8_t *p, unsigned n, unsigned stride)
{
	char mac[MAC_STRLEN];

	for (unsigned i = 0; i < n; i++)
		printf("%s\n", format_mac(p + (size_t)i * stride, mac));
}

/* --------------------------------------------------------------- files */

int cli_write_full(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t cli_read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

int cli_slurp(int fd, uint8_t **buf, size_t *len)
{
	size_t cap = 1 << 20;
	uint8_t *p = malloc(cap);

	*len = 0;
	for (;;) {
		ssize_t r;

		if (!p)
			return -ENOMEM;
		r = cli_read_full(fd, p + *len, cap - *len);
		if (r < 0) {
			free(p);
			return (int)r;
		}
		*len += (size_t)r;
		if (*len < cap)
			break;
		uint8_t *q = realloc(p, cap * 2);
		if (!q)
			free(p);
		p = q;
		cap *= 2;
	}
	*buf = p;
	return 0;
}

int cli_slurp_path(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return cli_local_error("%s: %s", path, strerror(errno));
	rc = cli_slurp(fd, buf, len);
	close(fd);
	if (rc < 0)
		return cli_local_error("%s: %s", path, strerror(-rc));
	return AOEX_OK;
}
