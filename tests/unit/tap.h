/*
 * tap.h - a tiny TAP producer for the unit tests: ok(), is_int(), is_mem(),
 * and done_testing() which returns the exit status automake expects.
 */
#ifndef AOEX_TAP_H
#define AOEX_TAP_H

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int tap_n, tap_failed;

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)

static inline void tap_vmsg(int pass, const char *file, int line, const char *fmt, va_list ap)
	__attribute__((format(printf, 4, 0)));
static inline void tap_vmsg(int pass, const char *file, int line, const char *fmt, va_list ap)
{
	printf("%sok %d - ", pass ? "" : "not ", ++tap_n);
	vprintf(fmt, ap);
	printf("\n");
	if (!pass) {
		tap_failed++;
		printf("#   failed at %s:%d\n", file, line);
	}
}

static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vmsg(pass, file, line, fmt, ap);
	va_end(ap);
	return pass;
}

static inline int tap_is_int(long long got, long long want, const char *file, int line,
			     const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static inline int tap_is_int(long long got, long long want, const char *file, int line,
			     const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	tap_vmsg(got == want, file, line, fmt, ap);
	va_end(ap);
	if (got != want)
		printf("#   got %lld (0x%llx), want %lld (0x%llx)\n", got, got, want, want);
	return got == want;
}

static inline int done_testing(void)
{
	printf("1..%d\n", tap_n);
	if (tap_failed)
		printf("# %d of %d failed\n", tap_failed, tap_n);
	return tap_failed ? 1 : 0;
}

#endif
