/*
 * cli.h - what every aoex command shares on its command-line side: the
 * messages and their exit codes, argument parsers, output formats and the
 * file helpers.  Nothing here talks to the network (session.h does).
 */
#ifndef AOEX_CLI_H
#define AOEX_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "proto/request.h"

/* "aoex: MESSAGE" on stderr, and for a usage error a pointer to --help;
 * returns AOEX_LOCAL_ERROR. */
int cli_error(bool usage, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define cli_local_error(...)	cli_error(false, __VA_ARGS__)
#define cli_usage_error(...)	cli_error(true, __VA_ARGS__)

/* arg into *out, 0..max; else a usage error "bad WHAT 'ARG' (0..MAX)". */
int cli_parse_num(const char *arg, uint64_t max, uint64_t *out, const char *what);
/* Hex digits with any spaces, tabs and colons between byte pairs, appended
 * to out[*len..max).  Returns 0, or -1 for bad hex or too many bytes. */
int cli_parse_hex(const char *s, uint8_t *out, size_t max, size_t *len);

/* Bytes outside printable ASCII, and the quote and backslash that would
 * make the output ambiguous, as \xNN. */
void cli_print_escaped(FILE *out, const uint8_t *p, size_t n);
/* aoe_error=N (name), flushed. */
void cli_print_aoe_error(FILE *out, unsigned code);
/* The discover line of one Query Config reply. */
void cli_print_config_line(FILE *out, const struct req_qc_reply *qc);
/* n MACs at p, stride bytes apart, one a line on stdout. */
void cli_print_mac_list(const uint8_t *p, unsigned n, unsigned stride);

/* Write all n bytes; 0 or -errno. */
int cli_write_full(int fd, const uint8_t *p, size_t n);
/* Read up to n bytes, short only at end of file; the count or -errno. */
ssize_t cli_read_full(int fd, uint8_t *p, size_t n);
/* Whole file (or pipe) into malloc'ed memory; 0 or -errno. */
int cli_slurp(int fd, uint8_t **buf, size_t *len);
/* The same for a path; reports failures itself. */
int cli_slurp_path(const char *path, uint8_t **buf, size_t *len);

#endif
