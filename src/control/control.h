/*
 * control.h - aoexd's control socket: a Unix stream socket in the epoll
 * loop that aoexctl talks to (one request line, one response, see
 * ctl_proto.h).
 *
 * It never blocks the loop: the listening socket and every client are
 * non-blocking, at most CONTROL_CLIENTS are served at once (more are told
 * "busy" and closed), a request is at most CTL_REQ_MAX bytes, and a client
 * that has not finished within CONTROL_TIMEOUT_MS is dropped.  Only root,
 * the daemon's own user and members of the configured group may connect:
 * the socket file is mode 0660, group-owned by that group, and each client
 * is checked again with SO_PEERCRED (and SO_PEERGROUPS).
 */
#ifndef AOEX_CONTROL_H
#define AOEX_CONTROL_H

#include <stddef.h>

#define CONTROL_CLIENTS		8
#define CONTROL_TIMEOUT_MS	5000

#include "common/ctl_proto.h"
#include "event/loop.h"

struct control;

/* Fill out with the response to request r (after the status line "ok\n"
 * the control socket writes first; on an error the handler resets out and
 * writes "error: ...\n"). */
typedef void (*control_handler)(void *ctx, const struct ctl_request *r, struct ctl_buf *out);

/*
 * Create the socket at path (its directory too, if missing) and watch it
 * in loop l; group "" admits root (and the daemon's user) only.  A socket
 * file that nobody answers on is replaced; one that a running daemon
 * answers on is left alone and 1 is returned (with a reason in err): the
 * daemon runs without a control socket.  0 with *out set on success, -1 on
 * error.
 */
int control_open(struct control **out, struct loop *l, const char *path, const char *group,
		 control_handler fn, void *ctx, char *err, size_t errlen);

/* Close every client and the socket, remove the socket file if it is still
 * ours.  NULL does nothing. */
void control_close(struct control *ctl);

#endif
