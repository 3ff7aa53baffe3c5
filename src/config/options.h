/*
 * options.h - aoexd's command line: the vblade-compatible quick form
 *   aoexd [-b bufcnt] [-d] [-s] [-r] [-m mac,...] [-o offset] [-l length]
 *         shelf slot netif[,netif...] file
 * plus long options for what vblade does not have, or the configuration
 * file form: aoexd -c FILE [--check].
 */
#ifndef AOEX_OPTIONS_H
#define AOEX_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "io/cache/cache.h"
#include "io/engine/engine.h"
#include "proto/mask.h"
#include "net/iface.h"

#define OPT_MAX_IFACES 16

struct options {
	const char *config_file;	/* -c: serve what this file configures */
	bool check;			/* --check: validate -c's file, print it, exit */
	const char *control;		/* --control PATH|none, or NULL: the default */
	bool daemon;			/* -D: detach once serving, log to syslog */
	bool log_level_set;		/* --log-level given: wins over the file's */
	const char *device_opt;		/* first single-device option given, if any
					 * (refused with -c: the file sets these) */
	unsigned bufcnt;
	bool direct, sync, readonly;
	uint64_t offset_sectors, length_sectors;
	struct macmask mask;		/* -m: initial MAC mask list */
	unsigned shelf, slot;
	char *ifnames[OPT_MAX_IFACES];
	unsigned n_ifaces;
	const char *path;
	const char *model, *serial;
	const char *state_dir;		/* --state-dir: persist config/mask/reserve */
	struct net_opts net;
	int log_level;
	bool probe;			/* look for another target with our address */
	enum engine_kind engine;
	unsigned queue_depth;
	unsigned merge_delay_us;	/* --merge-delay; 0 = off */
	struct cache_conf cache;
};

/* Parse argv; on error prints a message and exits 2; --help exits 0.
 * With -c, no positional argument is allowed and shelf/slot/ifnames/path
 * stay unset. */
void options_parse(struct options *o, int argc, char **argv);

#endif
