/*
 * options.h - aoexd's command line.  Two front ends of one daemon:
 *   aoexd [OPTIONS] SHELF SLOT NETIF[,NETIF...] FILE   (vblade's form)
 *   aoexd -c FILE [--check]                            (the configuration file)
 * The first is turned into a one-device struct aoexd_conf here, checked
 * against the same tunables table as the file, so the daemon starts both
 * the same way: by applying a configuration to an empty daemon.
 */
#ifndef AOEX_OPTIONS_H
#define AOEX_OPTIONS_H

#include <stdbool.h>

#include "config/conf.h"
#include "io/engine/engine.h"

struct options {
	const char *config_file;	/* -c: serve what this file configures */
	bool check;			/* --check: validate -c's file, print it, exit */
	const char *control;		/* --control PATH|none, or NULL: the default */
	bool daemon;			/* -D: detach once serving, log to syslog */
	int log_level;
	bool log_level_set;		/* --log-level given: wins over the file's */
	bool probe;			/* look for another target with our address */
	enum engine_kind engine;
	bool no_rx_ring, no_tx_ring, no_mmsg;	/* packet paths forced */
	/* vblade's form: the configuration of the one device (allocated);
	 * NULL with -c */
	struct aoexd_conf *conf;
};

/* Parse argv; on error prints a message and exits 2; --help exits 0. */
void options_parse(struct options *o, int argc, char **argv);

#endif
