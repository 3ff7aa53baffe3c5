/*
 * daemon.h - the daemon itself: one loop, the interfaces, the registry of
 * exports, the engine they share, the control socket and the running
 * configuration.  main.c starts and stops it; reload.c applies a
 * configuration (start-up is a reload from nothing); probe.c looks for
 * another target with our addresses.  Nothing below the daemon includes
 * this header: the parts get callbacks.
 */
#ifndef AOEXD_DAEMON_H
#define AOEXD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

#include "config/conf.h"
#include "config/options.h"
#include "control/commands.h"
#include "control/control.h"
#include "event/loop.h"
#include "ifaces/ifaces.h"
#include "io/engine/engine.h"
#include "registry/registry.h"

struct daemon {
	struct loop loop;
	struct ifaces ifs;
	struct registry reg;
	struct engine *eng;
	struct loop_watch sig_watch;
	const struct options *opts;
	const char *config_file;	/* NULL: the command line's one device */
	struct aoexd_conf *conf;	/* the running configuration */
	char pid_file[CONF_PATH_MAX];	/* written by us: removed at exit */
	struct control *ctl;		/* the control socket, or NULL */
	struct commands cmds;		/* what the control socket's commands see */
};

/* reload.c: apply conf (taken over; the old one is freed): at start-up to
 * an empty daemon (strict: the first failure exits with a message), later
 * as a reload.  0, or -1 (reload: nothing changed). */
int daemon_apply(struct daemon *dm, struct aoexd_conf *conf, bool start);
/* SIGHUP and aoexctl reload: re-read the file and apply it, write back
 * every device's buffered data, tell systemd.  0, or -1 when the file was
 * refused. */
int daemon_reload(struct daemon *dm);

/* probe.c: ask on each interface whether another target answers as one of
 * the configuration's addresses (sent before our own sockets exist), and
 * after the set-up, which overlapped the 50 ms of listening, the verdict:
 * exits with a message when an address is taken. */
struct probe;
struct probe *probe_send(const struct aoexd_conf *c, char names[][IFACES_NAME_LEN], unsigned n);
void probe_finish(struct probe *p);

void daemon_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
