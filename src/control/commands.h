/*
 * commands.h - the control socket's commands (status, stats, clear-*,
 * show-*, reload) over the registry, the interfaces and the engine.  The
 * daemon fills a struct commands and passes commands_handle to
 * control_open(); reload comes back to the daemon through its callback.
 */
#ifndef AOEX_COMMANDS_H
#define AOEX_COMMANDS_H

#include <stdint.h>

#include "common/ctl_proto.h"
#include "ifaces/ifaces.h"
#include "io/engine/engine.h"
#include "registry/registry.h"

struct commands {
	struct registry *reg;
	struct ifaces *ifs;
	struct engine **eng;
	const char *config_file;	/* NULL: started from the command line */
	uint64_t started_ns;		/* monotonic, for the uptime */
	int (*reload)(void *ctx);	/* 0, or -1 when the file was refused */
	void *reload_ctx;
};

/* A control_handler (control.h): ctx is a struct commands. */
void commands_handle(void *ctx, const struct ctl_request *r, struct ctl_buf *out);

#endif
