/*
 * peers.h - per-initiator Extensions state of one device: a fixed table of
 * AOE_PEERS_MAX entries keyed by source MAC, least recently used evicted.
 *
 * AoEde keeps one state per process; aoexd keeps one per initiator so one
 * initiator's negotiation (or reset) never changes how another's frames
 * are handled: a Linux initiator, whose tags are not sequential, must never
 * inherit a tag window negotiated by another host.  Entries are created
 * only by Extensions requests; everyone else runs plain AoE.  No clock: the
 * LRU order is a counter bumped on each use.
 */
#ifndef AOEX_PEERS_H
#define AOEX_PEERS_H

#include <stdbool.h>
#include <stdint.h>

#include "ext.h"
#include "tagwin.h"

#define AOE_PEERS_MAX 64

struct ext_peer {
	uint8_t mac[6];
	uint64_t used;		/* value of the use counter at the last frame */
	bool did_ata;		/* sent an ATA command: a real initiator */
	struct ext_state ext;
	struct tagwin win;	/* 4 KiB, meaningful in a tag_inc mode */
};

struct ext_peers {
	unsigned n;		/* entries p[0..n-1] are in use */
	uint64_t clock;		/* use counter */
	struct ext_peer p[AOE_PEERS_MAX];
};

/* The entry of mac, marked as just used, or NULL. */
struct ext_peer *peers_find(struct ext_peers *ps, const uint8_t mac[6]);

/* The entry of mac, created (features off) when missing; when the table is
 * full an entry is replaced and *evicted set: the least recently used of
 * those that never sent an ATA command, else the least recently used of
 * all.  So a flood of Extensions requests from made-up MACs (which cost
 * nothing to send) recycles its own entries and leaves the tag windows of
 * initiators that do I/O alone while there is room. */
struct ext_peer *peers_get(struct ext_peers *ps, const uint8_t mac[6], bool *evicted);

/* All features of p off and its tag window emptied. */
void peer_reset(struct ext_peer *p);

#endif
