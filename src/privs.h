/* privs.h - giving up the capabilities aoexd no longer needs. */
#ifndef AOEXD_PRIVS_H
#define AOEXD_PRIVS_H

#include <stddef.h>

/*
 * Drop every capability: the bounding set (so no later execve can get one
 * back, even as uid 0), the ambient, inheritable, permitted and effective
 * sets, and set no_new_privs.  For a process that has opened all its
 * sockets and files.  Returns 0, or -errno with what failed in err.
 */
int privs_drop_all(char *err, size_t errlen);

#endif
