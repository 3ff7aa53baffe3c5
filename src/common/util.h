/* util.h - small parsers and formatters shared by aoexd and aoex. */
#ifndef AOEX_UTIL_H
#define AOEX_UTIL_H

#include <stdint.h>
#include <stddef.h>

#define MAC_STRLEN 18	/* "xx:xx:xx:xx:xx:xx" + NUL */

/* Value of one hex digit, or -1. */
int hex_digit(int c);

/* "00:11:22:33:44:55", "00-11-...", or "001122334455"; 0 on success. */
int parse_mac(const char *s, uint8_t mac[6]);
char *format_mac(const uint8_t mac[6], char buf[MAC_STRLEN]);

/* Decimal, 0x hex, or with a K/M/G/T suffix (powers of 1024); 0 on success. */
int parse_size(const char *s, uint64_t *out);
/* Unsigned integer in [min,max], decimal or 0x hex; 0 on success. */
int parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

/* Monotonic time in nanoseconds. */
uint64_t now_ns(void);

#endif
