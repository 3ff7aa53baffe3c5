/*
 * fuzz_conf.c - libFuzzer target for the configuration loader (src/conf.c
 * on libconfuse): conf_load_buf() on arbitrary text.
 *
 * Besides ASan/UBSan (and LeakSanitizer: a failed load must free what
 * libconfuse allocated), it checks the loader's promises: a failure leaves
 * the configuration untouched and says why in "NAME:..." form; a success
 * holds only what the limits allow, and conf_print() writes text that
 * conf_load_buf() reads back to the same devices.
 */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/conf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define check(c) do { if (!(c)) abort(); } while (0)

static struct aoexd_conf c, back, untouched;

static void check_loaded(const struct aoexd_conf *k)
{
	check(k->n_devices <= CONF_MAX_DEVICES && k->n_acls <= CONF_MAX_ACLS);
	check(k->n_ifaces <= CONF_MAX_IFACES && k->n_interfaces <= CONF_MAX_IFACES);
	check(k->n_warnings <= CONF_MAX_WARNINGS);
	for (unsigned i = 0; i < k->n_devices; i++) {
		const struct conf_device *d = &k->devices[i];
		check(!!d->path[0] + !!d->uuid[0] + !!d->label[0] == 1);
		check(d->offset % 512 == 0 && d->length % 512 == 0);
		check(d->accept.n <= CONF_MAX_ACL_MACS && d->deny.n <= CONF_MAX_ACL_MACS);
		check(d->tune.queue_depth >= 1);
		check(conf_device_find(k, d->name) == d);
		check(memchr(d->name, 0, sizeof d->name) && memchr(d->path, 0, sizeof d->path));
		check(memchr(d->model, 0, sizeof d->model) && memchr(d->serial, 0, sizeof d->serial));
	}
}

/* print, load back, compare */
static void round_trip(void)
{
	char *text = NULL, err[CONF_MSG_MAX];
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);

	check(f);
	conf_print(&c, f);
	check(fclose(f) == 0);
	if (conf_load_buf("printed", text, len, &back, err, sizeof err) != 0) {
		fprintf(stderr, "printed configuration does not load: %s\n%s", err, text);
		abort();
	}
	check(back.n_devices == c.n_devices);
	for (unsigned i = 0; i < c.n_devices; i++)
		check(conf_device_equal(&c.devices[i], &back.devices[i]));
	free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[CONF_MSG_MAX];

	if (size > 65536)
		return 0;
	memset(&c, 0x5a, sizeof c);
	memcpy(&untouched, &c, sizeof c);
	if (conf_load_buf("fuzz", (const char *)data, size, &c, err, sizeof err) != 0) {
		check(memcmp(&c, &untouched, sizeof c) == 0);
		check(strncmp(err, "fuzz", 4) == 0 && strlen(err) < sizeof err);
		return 0;
	}
	check_loaded(&c);
	round_trip();
	return 0;
}
