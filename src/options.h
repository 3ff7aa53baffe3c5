/*
 * options.h - aoexd's command line: the vblade-compatible quick form
 *   aoexd [-b bufcnt] [-d] [-s] [-r] [-m mac,...] [-o offset] [-l length]
 *         shelf slot netif[,netif...] file
 * plus long options for what vblade does not have.
 */
#ifndef AOEX_OPTIONS_H
#define AOEX_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>

#include "cache.h"
#include "engine.h"
#include "mask.h"
#include "net.h"

#define OPT_MAX_IFACES 16

struct options {
	const char *config_file;	/* -c, the configuration issue's file */
	unsigned bufcnt;
	bool direct, sync, readonly;
	uint64_t offset_sectors, length_sectors;
	struct macmask mask;		/* -m: initial MAC mask list */
	unsigned shelf, slot;
	char *ifnames[OPT_MAX_IFACES];
	unsigned n_ifaces;
	const char *path;
	const char *model, *serial;
	struct net_opts net;
	int log_level;
	bool probe;			/* look for another target with our address */
	enum engine_kind engine;
	unsigned queue_depth;
	struct cache_conf cache;
};

/* Parse argv; on error prints a message and exits 2; --help exits 0. */
void options_parse(struct options *o, int argc, char **argv);

#endif
