/* ifaces_int.h - what ifaces.c lends hotplug.c.  Not for users of ifaces.h. */
#ifndef AOEX_IFACES_INT_H
#define AOEX_IFACES_INT_H

#include "ifaces/ifaces.h"

/* ifaces_wanted() for a link whose type and flags are known (netlink). */
bool ifaces_wanted_link(const struct ifaces *s, const char *name, unsigned type, unsigned flags);
/* Attach name and advertise on it at once; a failure is logged. */
void ifaces_attach_now(struct ifaces *s, const char *name);

#endif
