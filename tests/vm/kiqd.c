/*
 * kiqd - random O_DIRECT reads at a fixed queue depth, for the guest of
 * kernel-initiator.sh --bench (busybox has no fio; Debian's fio would need
 * its libraries in the initramfs).  Static, raw Linux AIO syscalls (no
 * libaio), so mkinitramfs.sh builds it with plain gcc -static.
 *
 *   kiqd DEVICE QD SECONDS [BLOCK] [REGION_BYTES]
 *
 * Keeps QD reads of BLOCK bytes (default 4096) in flight at random
 * BLOCK-aligned offsets of the first REGION_BYTES (default the whole
 * device) with io_submit/io_getevents for SECONDS, then prints
 *   ios=N us=N iops=N mbps=X
 * (MiB/s).  Exit 1 on any failed read.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/aio_abi.h>
#include <linux/fs.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static uint64_t rnd(void)	/* xorshift64 */
{
	static uint64_t x = 88172645463325252ULL;
	x ^= x << 13; x ^= x >> 7; x ^= x << 17;
	return x;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: kiqd DEVICE QD SECONDS [BLOCK] [REGION_BYTES]\n");
		return 2;
	}
	int qd = atoi(argv[2]);
	double secs = atof(argv[3]);
	long bs = argc > 4 ? atol(argv[4]) : 4096;
	int fd = open(argv[1], O_RDONLY | O_DIRECT);
	if (fd < 0 || qd < 1 || qd > 1024 || bs < 512 || bs % 512) {
		perror("kiqd: open");
		return 2;
	}
	uint64_t region = 0;
	if (argc > 5)
		region = strtoull(argv[5], NULL, 0);
	else if (ioctl(fd, BLKGETSIZE64, &region) < 0)
		region = lseek(fd, 0, SEEK_END);
	uint64_t nblk = region / bs;
	if (!nblk) {
		fprintf(stderr, "kiqd: region too small\n");
		return 2;
	}
	aio_context_t ctx = 0;
	if (syscall(SYS_io_setup, qd, &ctx) < 0) {
		perror("kiqd: io_setup");
		return 2;
	}
	char *buf;
	if (posix_memalign((void **)&buf, 4096, (size_t)qd * bs))
		return 2;
	struct iocb *cbs = calloc(qd, sizeof *cbs), **ptr = calloc(qd, sizeof *ptr);
	struct io_event *ev = calloc(qd, sizeof *ev);
	for (int i = 0; i < qd; i++) {
		cbs[i].aio_fildes = fd;
		cbs[i].aio_lio_opcode = IOCB_CMD_PREAD;
		cbs[i].aio_buf = (uint64_t)(uintptr_t)(buf + (size_t)i * bs);
		cbs[i].aio_nbytes = bs;
		cbs[i].aio_data = i;
		cbs[i].aio_offset = (rnd() % nblk) * bs;
		ptr[i] = &cbs[i];
	}
	uint64_t t0 = now_us(), end = t0 + (uint64_t)(secs * 1e6), ios = 0;
	int inflight = 0, bad = 0;
	if (syscall(SYS_io_submit, ctx, qd, ptr) != qd) {
		perror("kiqd: io_submit");
		return 1;
	}
	inflight = qd;
	while (inflight) {
		int n = syscall(SYS_io_getevents, ctx, 1, qd, ev, NULL);
		if (n < 0) {
			perror("kiqd: io_getevents");
			return 1;
		}
		int k = 0, stop = now_us() >= end;
		for (int i = 0; i < n; i++) {
			inflight--;
			if ((long)ev[i].res != bs)
				bad++;
			else
				ios++;
			if (!stop) {
				struct iocb *cb = &cbs[ev[i].data];
				cb->aio_offset = (rnd() % nblk) * bs;
				ptr[k++] = cb;
			}
		}
		if (k) {
			if (syscall(SYS_io_submit, ctx, k, ptr) != k) {
				perror("kiqd: io_submit");
				return 1;
			}
			inflight += k;
		}
	}
	uint64_t us = now_us() - t0;
	printf("ios=%llu us=%llu iops=%.0f mbps=%.1f\n", (unsigned long long)ios, (unsigned long long)us,
	       ios * 1e6 / us, ios * (double)bs / 1048576 / (us / 1e6));
	return bad ? 1 : 0;
}
