/*
 * detach.h - aoexd --daemon: run in the background, log to syslog.
 *
 * The fork happens before start-up and the parent waits for the child's
 * verdict, so `aoexd --daemon ...` still prints start-up errors on the
 * terminal and exits 1 on them, and exits 0 only once the child serves.
 */
#ifndef AOEXD_DETACH_H
#define AOEXD_DETACH_H

/* Fork.  The parent never returns: it exits 0 when the child calls
 * detach_done(), else with the child's exit status.  The child returns in
 * a new session, logging to syslog. */
void detach_begin(void);

/* In the child, once serving: release the parent, put /dev/null on
 * stdin, stdout and stderr.  Does nothing when detach_begin was not called. */
void detach_done(void);

#endif
