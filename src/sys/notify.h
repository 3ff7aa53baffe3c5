/*
 * notify.h - tell systemd (Type=notify) where the daemon is: ready after the
 * first advertisement, reloading around SIGHUP, stopping at shutdown.
 *
 * Built without libsystemd (configure --without-systemd, or libsystemd-dev
 * missing) these do nothing.  With it they do nothing either unless systemd
 * started us with $NOTIFY_SOCKET set, so the daemon calls them always.
 */
#ifndef AOEXD_NOTIFY_H
#define AOEXD_NOTIFY_H

void notify_ready(void);	/* READY=1: serving, the unit's start is done */
void notify_reloading(void);	/* RELOADING=1: SIGHUP being handled */
void notify_stopping(void);	/* STOPPING=1: finishing in-flight I/O, exiting */

#endif
