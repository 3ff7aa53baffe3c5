/*
 * privs.c - dropping capabilities without libcap.
 *
 * aoexd needs CAP_NET_RAW only to create its packet sockets and root (or
 * CAP_DAC_OVERRIDE) only to open its backing files and lock files; once
 * they are open nothing in the data path checks a capability again.  A
 * daemon that parses frames from anyone on the wire should not keep the
 * power to load modules or read every file after that.
 */
#include "config.h"
#include "sys/privs.h"

#include <errno.h>
#include <linux/capability.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

int privs_drop_except(uint64_t keep, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];
	int rc;

	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		rc = -errno;
		snprintf(err, errlen, "prctl(PR_SET_NO_NEW_PRIVS): %s", strerror(errno));
		return rc;
	}
	/* the bounding set first: dropping from it needs CAP_SETPCAP, which
	 * the capset below takes away.  EINVAL ends the kernel's list;
	 * EPERM means we never had CAP_SETPCAP (not root): nothing to bound */
	for (int cap = 0; cap < 64; cap++) {
		if ((keep >> cap) & 1)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL || errno == EPERM)
			break;
		rc = -errno;
		snprintf(err, errlen, "prctl(PR_CAPBSET_DROP, %d): %s", cap, strerror(errno));
		return rc;
	}
	/* ambient capabilities exist since Linux 4.3; older kernels: none */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL) {
		rc = -errno;
		snprintf(err, errlen, "prctl(PR_CAP_AMBIENT_CLEAR_ALL): %s", strerror(errno));
		return rc;
	}
	/* permitted and effective keep what we have of keep (capget first:
	 * capset may not add what we lack) */
	if (syscall(SYS_capget, &hdr, data) < 0) {
		rc = -errno;
		snprintf(err, errlen, "capget: %s", strerror(errno));
		return rc;
	}
	for (int w = 0; w < _LINUX_CAPABILITY_U32S_3; w++) {
		uint32_t k = (uint32_t)(keep >> (32 * w));
		data[w].permitted &= k;
		data[w].effective &= k;
		data[w].inheritable = 0;
	}
	if (syscall(SYS_capset, &hdr, data) < 0) {
		rc = -errno;
		snprintf(err, errlen, "capset: %s", strerror(errno));
		return rc;
	}
	return 0;
}
