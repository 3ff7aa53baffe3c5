/*
 * aiofault.c - an LD_PRELOAD shim for tests: makes libaio's io_submit fail
 * the way old or busy kernels do, to drive aoexd's fallback paths that
 * this machine's kernel never takes on its own.
 *
 *   AIOFAULT_FDSYNC_EINVAL=1  an iocb for IOCB_CMD_FDSYNC/FSYNC at the head
 *                             of a submission is refused with -EINVAL
 *                             (kernels before 4.18 have no async fsync)
 *   AIOFAULT_EAGAIN_EVERY=N   every Nth io_submit call returns -EAGAIN
 *                             without taking anything (a full kernel queue)
 *
 * Each injected failure is counted; the counts are written to stderr at
 * exit as "aiofault: einval=N eagain=N", and each refused fsync at once.
 * Test tool, never installed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <libaio.h>
#include <stdio.h>
#include <stdlib.h>

typedef int (*submit_fn)(io_context_t, long, struct iocb **);

static unsigned long calls, einval, eagain;

static void report(void)
{
	fprintf(stderr, "aiofault: einval=%lu eagain=%lu\n", einval, eagain);
}

static long env_long(const char *name)
{
	const char *v = getenv(name);
	return v ? strtol(v, NULL, 10) : 0;
}

int io_submit(io_context_t ctx, long nr, struct iocb **ios)
{
	static submit_fn real;
	static long every;
	static int fdsync;

	if (!real) {
		real = (submit_fn)dlsym(RTLD_NEXT, "io_submit");
		every = env_long("AIOFAULT_EAGAIN_EVERY");
		fdsync = env_long("AIOFAULT_FDSYNC_EINVAL") != 0;
		atexit(report);
		if (!real)
			return -ENOSYS;
	}
	calls++;
	if (nr > 0 && fdsync &&
	    (ios[0]->aio_lio_opcode == IO_CMD_FDSYNC || ios[0]->aio_lio_opcode == IO_CMD_FSYNC)) {
		einval++;
		fprintf(stderr, "aiofault: fdsync refused with EINVAL\n");	/* survives kill -9 */
		return -EINVAL;
	}
	if (every > 0 && calls % (unsigned long)every == 0) {
		eagain++;
		return -EAGAIN;
	}
	return real(ctx, nr, ios);
}
