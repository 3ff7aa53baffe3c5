/*
 * nbdkern.h - the kernel's nbd device, driven over generic netlink (the
 * "nbd" family): NBD_CMD_CONNECT hands it one end of a socketpair with
 * size, block size and flags, and returns at once, so the one process
 * serves the other end from its loop (the NBD_DO_IT ioctl would block
 * the thread that calls it for as long as the device lives).
 */
#ifndef AOEX_NBDKERN_H
#define AOEX_NBDKERN_H

#include <stddef.h>
#include <stdint.h>

/* /dev/nbdN (or nbdN) -> N; -errno when it is not an nbd device. */
int nbdkern_index(const char *dev, unsigned *index);
/* Connect device index to sockfd.  -errno with a message in err. */
int nbdkern_connect(unsigned index, int sockfd, uint64_t size, uint64_t block_size,
		    uint64_t flags, char *err, size_t errlen);
/* Disconnect device index: the kernel sends NBD_CMD_DISC on its socket
 * and shuts it down. */
int nbdkern_disconnect(unsigned index, char *err, size_t errlen);

#endif
