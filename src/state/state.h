/*
 * state.h - what initiators set on a device and an admin expects to find
 * again after a restart (as ggaoed keeps it): the AoE config string, the
 * MAC mask list and the reservation list.  One small text file per device,
 * DIR/eSHELF.SLOT, replaced atomically (temporary file, fsync, rename,
 * fsync of the directory) whenever a request changes it.
 *
 * File format (text, one item per line, '#' comments):
 *   aoexd-state 1
 *   config HEX        the config string as hex digits (omitted when empty)
 *   mask MAC          one line per mask list entry, in order
 *   reserve MAC       one line per reservation entry, in order
 */
#ifndef AOEX_STATE_H
#define AOEX_STATE_H

#include <stddef.h>

#include "proto/target.h"

/* DIR/eSHELF.SLOT into buf. */
void state_path(const char *dir, const struct aoe_target *t, char *buf, size_t len);

/* Write t's config string, mask and reservation.  0, or -1 with err naming
 * the file and what failed.  Creates dir (one level) when missing. */
int state_save(const char *dir, const struct aoe_target *t, char *err, size_t errlen);

/* Load them into t: 1 loaded, 0 no file, -1 unreadable or corrupt (err
 * says where and why; t is left untouched). */
int state_load(const char *dir, struct aoe_target *t, char *err, size_t errlen);

#endif
