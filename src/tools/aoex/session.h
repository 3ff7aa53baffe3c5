/*
 * session.h - one run of aoex against one target: the global options, the
 * client, and what several commands do with the target before and around
 * their own work (learn its MAC and sectors per frame, negotiate -x, send
 * one ATA command, IDENTIFY, report a transfer).
 */
#ifndef AOEX_SESSION_H
#define AOEX_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto/request.h"
#include "tools/aoex/client.h"
#include "tools/aoex/xfer.h"

#define SESSION_MAX_EXT	64	/* -x names */

/* The global options. */
struct session_opts {
	char *iface;
	uint64_t timeout_ms;
	uint64_t retries;
	bool have_src, have_dst;
	uint8_t src[6], dst[6];
	uint64_t window;
	uint64_t sectors;	/* 0: from the target */
	bool verbose;
	/* AoEde extensions */
	const char *ext[SESSION_MAX_EXT];	/* -x names, in order */
	unsigned next;
	uint64_t first_tag;	/* -T; 0: random */
	int tag_order;		/* --tag-order; -1: not given */
};

struct session {
	struct session_opts o;
	struct aoex_client c;
	bool bcast_target;	/* TARGET has a broadcast half */
};

/* TARGET (SHELF.SLOT, or the eSHELF.SLOT aoex prints) as the client's
 * target; a usage error otherwise. */
int session_parse_target(struct session *s, const char *arg);

/* "aoex: no reply from eS.S"; returns AOEX_NO_REPLY. */
int session_no_reply(const struct session *s);
/* -errno from the library (reported as "WHAT: error"), AOEX_NO_REPLY
 * (reported), or another result as it is. */
int session_result(const struct session *s, int rc, const char *what);

/* Add name to the -x list unless it is there already. */
int session_want_ext(struct session *s, const char *name);
/* Check --coalesce N against the interface and ask for coalesced_read in
 * the -x negotiation (N > 1). */
int session_setup_coalesce(struct session *s, const char *cmd, unsigned n);

/*
 * Learn what the command needs before it talks ATA: the target's MAC
 * (unless -d or a broadcast TARGET) and, if want_spf, the sectors per
 * frame into *spf (unless -s).  One Query Config read covers both.  Then
 * the -x negotiation, if any.  Reports failures itself.
 */
int session_contact(struct session *s, bool want_spf, unsigned *spf);

/* One ATA command outside the windowed engine. */
struct session_ata {
	struct req_ata_regs regs;
	const uint8_t *data;
	size_t datalen;
	bool ctl;		/* a frame of our own (aoex_ctl_tag), not the command's */
};
/* Send q with retries and read the reply into *r, and up to datamax bytes
 * of what follows its ATA header into data (NULL: nothing).  Failures to
 * get a reply are reported here. */
int session_ata(struct session *s, const struct session_ata *q, struct req_ata_reply *r,
		uint8_t *data, size_t datamax);

/* IDENTIFY DEVICE into ident[512]; target errors go to errout, the rest
 * to stderr.  ctl: a preliminary of another command (its tag from
 * aoex_ctl_tag). */
int session_identify(struct session *s, uint8_t ident[512], FILE *errout, bool ctl);
/* Word w of IDENTIFY data; the capacity it gives (LBA48 when word 83 says
 * so). */
uint16_t session_ident_word(const uint8_t *id, unsigned w);
uint64_t session_ident_sectors(const uint8_t *id);

/* Report a windowed transfer's result (from aoex_xfer_run) as read, write
 * and bench do: target errors to errout, the rest to stderr.  Returns rc. */
int session_report_xfer(struct session *s, int rc, const struct aoex_result *res,
			const char *what, FILE *errout);

/* The congestion probe (README.extensions section 8): a first probe with
 * id, at once burst more with the same id, replies collected for wait_ms
 * (or until all came).  AOEX_OK with *out filled, or an error reported. */
struct session_probe {
	unsigned replied;	/* burst probes answered without E */
	unsigned first_err;	/* the first probe's AoE error (256: E, 0) */
	long long first_ms;	/* its delay; -1: no reply */
};
int session_probe(struct session *s, const char *id, uint64_t burst, uint64_t wait_ms,
		  struct session_probe *out);
uint32_t session_random_u32(void);

#endif
