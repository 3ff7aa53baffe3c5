/* privs.h - giving up the capabilities aoexd no longer needs. */
#ifndef AOEXD_PRIVS_H
#define AOEXD_PRIVS_H

#include <stddef.h>
#include <stdint.h>

/* What a daemon that may still open packet sockets keeps (hotplug). */
#define PRIVS_KEEP_NET	((1ULL << 13) | (1ULL << 12))	/* CAP_NET_RAW, CAP_NET_ADMIN */

/*
 * Drop every capability but those in keep (a mask of 1 << CAP_*): from
 * the bounding set (so no later execve can get one back, even as uid 0),
 * the ambient and inheritable sets, and the permitted and effective sets;
 * and set no_new_privs.  For a process that has opened its files.
 * Returns 0, or -errno with what failed in err.
 */
int privs_drop_except(uint64_t keep, char *err, size_t errlen);

#endif
