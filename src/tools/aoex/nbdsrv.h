/*
 * nbdsrv.h - aoex attach's NBD front end: clients on a Unix socket
 * (qemu, qemu-img, qemu-io, nbdinfo, nbdfuse) and the kernel's nbd device
 * (a socketpair whose other end nbdkern.c hands to the kernel), each a
 * connection on the event loop whose requests go to the block engine.
 *
 * Per connection at most NBDSRV_MAX_REQS requests and NBDSRV_MAX_BYTES of
 * buffers are in hand; beyond that the connection is not read until
 * replies have gone out (TCP-like backpressure, bounded memory).  A client
 * that breaks the protocol is closed and counted; the others go on.
 */
#ifndef AOEX_NBDSRV_H
#define AOEX_NBDSRV_H

#include <stdbool.h>
#include <stdint.h>

#include "event/loop.h"
#include "tools/aoex/blk.h"
#include "tools/aoex/nbdwire.h"

#define NBDSRV_MAX_REQS		128
#define NBDSRV_MAX_BYTES	(64u << 20)

struct nbdsrv_conn;

struct nbdsrv {
	struct loop *l;
	struct blk *b;
	struct nbdw_export exp;
	int lfd;
	struct loop_watch lw;
	char *path;		/* the socket's path, unlinked at the end */
	struct nbdsrv_conn *conns;
	bool stopping;
	/* called when a kernel connection ends (the device is detached),
	 * and once stopping with no connection left */
	void (*on_kernel_gone)(struct nbdsrv *s);
	void (*on_idle)(struct nbdsrv *s);
	void *ctx;
	/* counters */
	uint64_t clients, bad_clients, nbd_requests, nbd_errors;
};

void nbdsrv_init(struct nbdsrv *s, struct loop *l, struct blk *b, const struct nbdw_export *exp);
/* Listen on a Unix socket at path (an old socket file there is replaced).
 * -errno. */
int nbdsrv_listen(struct nbdsrv *s, const char *path);
/* Serve fd (one end of a socketpair given to the kernel) from the
 * transmission phase on.  -errno. */
int nbdsrv_add_kernel(struct nbdsrv *s, int fd);
/* Stop: no new clients; every connection but the kernel's finishes what
 * it has in hand, sends its replies and is closed; once the kernel's has
 * ended too (NBD_CMD_DISC, after nbdkern_disconnect), on_idle. */
void nbdsrv_stop(struct nbdsrv *s);
void nbdsrv_free(struct nbdsrv *s);
unsigned nbdsrv_nconns(const struct nbdsrv *s);
/* " clients=N bad_clients=N nbd_requests=N nbd_errors=N" */
void nbdsrv_format_stats(const struct nbdsrv *s, char *buf, size_t len);

#endif
