/*
 * lock.c - one aoexd per address and interface on this host.  Another
 * aoexd with the same address on the same interface cannot be seen on the
 * wire (its replies leave through our own port), so each daemon holds a
 * lock file per interface and address while it serves there.
 */
#include "config.h"
#include "registry/registry.h"
#include "common/log.h"
#include "common/rawsock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

int registry_lock_address(unsigned shelf, unsigned slot, const char *ifname, char *err, size_t errlen)
{
	const char *dirs[] = { "/run/aoexd", "/tmp" };
	char path[160], pidbuf[32] = "";
	struct stat ns;
	int fd = -1;

	/* interface names repeat across network namespaces: key on both; an
	 * interface that does not exist gets no lock */
	if (iface_info(ifname, NULL, NULL, NULL) < 0)
		return -1;
	if (stat("/proc/self/ns/net", &ns) < 0)
		ns.st_ino = 0;
	for (size_t i = 0; i < 2 && fd < 0; i++) {
		mkdir(dirs[i], 0755);
		snprintf(path, sizeof path, "%s/%s-e%u.%u-ns%llu.lock", dirs[i], ifname,
			 shelf, slot, (unsigned long long)ns.st_ino);
		fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	}
	if (fd < 0)
		return -1;	/* no writable lock directory: the wire probe remains */
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		ssize_t n = pread(fd, pidbuf, sizeof pidbuf - 1, 0);
		pidbuf[n > 0 ? n : 0] = 0;
		pidbuf[strcspn(pidbuf, "\n")] = 0;
		snprintf(err, errlen, "e%u.%u is already served on %s by aoexd pid %s (%s)",
			 shelf, slot, ifname, pidbuf[0] ? pidbuf : "?", path);
		close(fd);
		return -2;
	}
	if (ftruncate(fd, 0) == 0) {
		int n = snprintf(pidbuf, sizeof pidbuf, "%ld\n", (long)getpid());
		if (pwrite(fd, pidbuf, (size_t)n, 0) < 0)
			log_debug("%s: %s", path, strerror(errno));
	}
	return fd;	/* open (and locked) until the device or interface goes */
}

