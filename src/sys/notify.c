/* notify.c - sd_notify(3) calls, or nothing without libsystemd. */
#include "config.h"
#include "sys/notify.h"

#ifdef HAVE_LIBSYSTEMD
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "common/log.h"

/* A failed notification is not fatal: systemd times the start out and
 * says so itself; log it for whoever reads our side. */
static void notify(const char *state)
{
	const char *sock = getenv("NOTIFY_SOCKET");
	int rc;

	if (!sock || !*sock)	/* not started by systemd: nobody to tell */
		return;
	rc = sd_notify(0, state);
	if (rc < 0)
		log_warn("sd_notify(\"%s\"): %s", state, strerror(-rc));
}

void notify_ready(void)
{
	notify("READY=1\nSTATUS=serving");
}

void notify_reloading(void)
{
	notify("RELOADING=1\nSTATUS=reloading the configuration");
}

void notify_stopping(void)
{
	notify("STOPPING=1\nSTATUS=finishing in-flight I/O");
}
#else
void notify_ready(void) {}
void notify_reloading(void) {}
void notify_stopping(void) {}
#endif
