/* tunables.c - the rows of tunables.h as tables, and what every user of a
 * tunable needs: defaults, ranges, parsing and printing of values. */
#include "config.h"
#include "config/tunables.h"
#include "common/util.h"

#include <stdio.h>
#include <string.h>

#define TUNE_ROW(st, field, kind_, key_, lopt_, sopt_, min_, max_, def_, arg_, help_) \
	{ .key = key_, .lopt = lopt_, .sopt = sopt_, .kind = TUNE_##kind_, .min = min_, \
	  .max = max_, .def = def_, .arg = arg_, .help = help_, .off = offsetof(st, field) },
#define DEV_ROW(...) TUNE_ROW(struct conf_tuning, __VA_ARGS__)
#define IF_ROW(...) TUNE_ROW(struct conf_ifset, __VA_ARGS__)

const struct tunable tunables_device[] = { DEVICE_TUNABLES(DEV_ROW) };
const struct tunable tunables_iface[] = { IFACE_TUNABLES(IF_ROW) };
const unsigned tunables_device_n = sizeof tunables_device / sizeof tunables_device[0];
const unsigned tunables_iface_n = sizeof tunables_iface / sizeof tunables_iface[0];

static const char *const policies[] = { "write-through", "write-back" };

const char *conf_write_policy_name(enum conf_write_policy p)
{
	return (unsigned)p < 2 ? policies[p] : "?";
}

uint64_t tunable_get(const struct tunable *tu, const void *base)
{
	const char *p = (const char *)base + tu->off;

	switch (tu->kind) {
	case TUNE_SIZE: return *(const uint64_t *)(const void *)p;
	case TUNE_BOOL: return *(const bool *)(const void *)p;
	default: return *(const unsigned *)(const void *)p;
	}
}

void tunable_set(const struct tunable *tu, void *base, uint64_t v)
{
	char *p = (char *)base + tu->off;

	switch (tu->kind) {
	case TUNE_SIZE: *(uint64_t *)(void *)p = v; break;
	case TUNE_BOOL: *(bool *)(void *)p = v != 0; break;
	default: *(unsigned *)(void *)p = (unsigned)v; break;
	}
}

void tunables_device_defaults(struct conf_tuning *t)
{
	memset(t, 0, sizeof *t);
	for (unsigned i = 0; i < tunables_device_n; i++)
		tunable_set(&tunables_device[i], t, tunables_device[i].def);
}

void tunables_iface_defaults(struct conf_ifset *s)
{
	memset(s, 0, sizeof *s);
	for (unsigned i = 0; i < tunables_iface_n; i++)
		tunable_set(&tunables_iface[i], s, tunables_iface[i].def);
}

bool tunable_in_range(const struct tunable *tu, uint64_t v)
{
	if (tu->kind == TUNE_MTU && v == 0)
		return true;	/* the interface's own */
	return v >= tu->min && v <= tu->max;
}

const char *tunable_size_str(uint64_t v, char buf[24])
{
	static const char units[] = "TGMK";

	for (int i = 0; v && units[i]; i++) {
		unsigned shift = 10u * (unsigned)(4 - i);
		if (v % (1ULL << shift) == 0) {
			snprintf(buf, 24, "%llu%c", (unsigned long long)(v >> shift), units[i]);
			return buf;
		}
	}
	snprintf(buf, 24, "%llu", (unsigned long long)v);
	return buf;
}

const char *tunable_value_str(const struct tunable *tu, uint64_t v, char buf[48])
{
	switch (tu->kind) {
	case TUNE_SIZE: return tunable_size_str(v, buf);
	case TUNE_BOOL: return v ? "true" : "false";
	case TUNE_POLICY: return conf_write_policy_name((enum conf_write_policy)v);
	default:
		snprintf(buf, 48, "%llu", (unsigned long long)v);
		return buf;
	}
}

const char *tunable_range_str(const struct tunable *tu, char buf[48])
{
	char a[24], b[24];

	switch (tu->kind) {
	case TUNE_SIZE:
		snprintf(buf, 48, "%s..%s", tunable_size_str(tu->min, a), tunable_size_str(tu->max, b));
		break;
	case TUNE_MTU:
		snprintf(buf, 48, "0 or %llu..%llu", (unsigned long long)tu->min,
			 (unsigned long long)tu->max);
		break;
	case TUNE_BOOL:
		snprintf(buf, 48, "true or false");
		break;
	case TUNE_POLICY:
		snprintf(buf, 48, "%s, %s", policies[0], policies[1]);
		break;
	default:
		snprintf(buf, 48, "%llu..%llu", (unsigned long long)tu->min,
			 (unsigned long long)tu->max);
		break;
	}
	return buf;
}

int tunable_parse(const struct tunable *tu, const char *s, uint64_t *v)
{
	switch (tu->kind) {
	case TUNE_SIZE:
		return parse_size(s, v);
	case TUNE_BOOL:
		if (strcmp(s, "true") == 0 || strcmp(s, "yes") == 0 || strcmp(s, "on") == 0)
			*v = 1;
		else if (strcmp(s, "false") == 0 || strcmp(s, "no") == 0 || strcmp(s, "off") == 0)
			*v = 0;
		else
			return -1;
		return 0;
	case TUNE_POLICY:
		for (unsigned i = 0; i < 2; i++)
			if (strcmp(s, policies[i]) == 0) {
				*v = i;
				return 0;
			}
		return -1;
	default:
		return parse_uint(s, 0, UINT32_MAX, v);
	}
}

static bool all_equal(const struct tunable *t, unsigned n, const void *a, const void *b)
{
	for (unsigned i = 0; i < n; i++)
		if (tunable_get(&t[i], a) != tunable_get(&t[i], b))
			return false;
	return true;
}

bool tunables_device_equal(const struct conf_tuning *a, const struct conf_tuning *b)
{
	return all_equal(tunables_device, tunables_device_n, a, b);
}

bool tunables_iface_equal(const struct conf_ifset *a, const struct conf_ifset *b)
{
	return all_equal(tunables_iface, tunables_iface_n, a, b);
}
