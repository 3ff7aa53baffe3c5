/*
 * aoex_client.h - a small AoE r11 initiator: frame building, request/reply
 * matching by tag, retransmission, and windowed multi-frame transfers.
 *
 * Used by the aoex command line tool.  Everything goes through one AF_PACKET
 * socket (rawsock.h); frames are built and parsed byte by byte with the
 * wire.h helpers and the offsets of aoe.h.
 *
 * Replies are accepted when they carry EtherType 0x88A2, the R flag, the
 * expected tag and command, are addressed to our source MAC, and come from
 * the target's shelf/slot (each half only checked when it is not the
 * broadcast value).  Everything else on the wire is ignored.
 */
#ifndef AOEX_CLIENT_H
#define AOEX_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "aoe.h"
#include "rawsock.h"

/* Exit codes of aoex; the library returns them too (or -errno). */
enum aoex_status {
	AOEX_OK = 0,
	AOEX_TARGET_ERROR = 1,	/* E flag, ATA ERR, or a malformed reply */
	AOEX_LOCAL_ERROR = 2,	/* usage or local failure */
	AOEX_NO_REPLY = 3,	/* nothing after all retransmits */
};

#define AOEX_MAX_WINDOW		1024

struct aoex_client {
	struct rawsock rs;
	uint8_t src[6];		/* source MAC we send with (ours or -m) */
	uint8_t dst[6];		/* target MAC; broadcast until learned */
	uint16_t shelf;		/* target; AOE_SHELF_ANY matches any shelf */
	uint8_t slot;		/* AOE_SLOT_ANY matches any slot */
	int timeout_ms;		/* per try */
	unsigned retries;	/* retransmits after the first try */
	bool verbose;		/* hex dump every frame to stderr */
	uint32_t next_tag;
};

/* A parsed Query Config reply. */
struct aoex_config {
	uint8_t mac[6];
	uint16_t shelf;
	uint8_t slot;
	uint8_t flags, error;	/* AoE header flags and error code */
	uint16_t bufcnt, fwver;
	uint8_t scnt, ver, ccmd;
	uint16_t cslen;		/* as much of the string as the frame holds */
	uint8_t cs[QC_CS_MAX];
};

/* A parsed ATA reply header. */
struct aoex_ata_reply {
	uint8_t flags, aoe_error;
	uint8_t err, scnt, status;
	uint64_t lba;
	size_t len;		/* whole frame, as received */
};

/* Open the socket on ifname; src_mac NULL sends with the interface's MAC.
 * When src_mac differs from it, the interface is put in promiscuous mode
 * (for this socket only) so replies to the borrowed MAC still arrive. */
int aoex_open(struct aoex_client *c, const char *ifname, const uint8_t *src_mac,
	      char *err, size_t errlen);
void aoex_close(struct aoex_client *c);

/* Largest frame our interface carries (MTU + Ethernet header, at least
 * 1514): the size of every send and receive buffer. */
size_t aoex_frame_cap(const struct aoex_client *c);
/* Sectors per ATA frame our MTU allows: (MTU - 36) / 512, at least 1. */
unsigned aoex_mtu_sectors(const struct aoex_client *c);

/* Next tag of the counter; never 0 (unsolicited announcements use it). */
uint32_t aoex_new_tag(struct aoex_client *c);

/* Ethernet + AoE header for cmd to the client's target.  Returns 24. */
size_t aoex_put_header(const struct aoex_client *c, uint8_t *f, uint8_t cmd, uint32_t tag);
/* ATA header after aoex_put_header.  lba48 false writes LBA28 with 0xE0 in
 * the top nibble of LBA byte 3, like Linux.  Returns 36. */
size_t aoex_put_ata(uint8_t *f, uint8_t aflags, uint8_t cmd, uint8_t feature,
		    uint8_t count, uint64_t lba, bool lba48);

/* Whether f is a reply for us from our target (tag and command unchecked). */
bool aoex_reply_for_us(const struct aoex_client *c, const uint8_t *f, size_t len);

/* Send req (its tag already set) and wait for the matching reply, retrying
 * with the same tag; tries is the total number of transmissions.  Returns
 * the reply length, 0 if none came, or -errno. */
ssize_t aoex_exchange(struct aoex_client *c, const uint8_t *req, size_t reqlen,
		      unsigned tries, uint8_t *rep, size_t repmax);

/* Send one frame (hex-dumped when verbose). */
int aoex_send(struct aoex_client *c, const uint8_t *f, size_t len);

int aoex_parse_config(const uint8_t *f, size_t len, struct aoex_config *qc);
void aoex_parse_ata(const uint8_t *f, size_t len, struct aoex_ata_reply *r);
bool aoex_ata_failed(const struct aoex_ata_reply *r);

/* Query Config read to the target with retries.  Learns the target's MAC
 * unless learn_mac is false.  Returns AOEX_OK, AOEX_NO_REPLY or -errno. */
int aoex_query(struct aoex_client *c, bool learn_mac, struct aoex_config *qc);

/* "unrecognized command", ... for AoE error codes 1..6, else "unknown". */
const char *aoex_error_name(unsigned code);
/* Hex dump to stderr, one 16-byte row per line. */
void aoex_dump(const char *what, const uint8_t *f, size_t len);

/*
 * Windowed transfers.  A job pulls I/Os from its generator (each fits one
 * frame), keeps up to `window` of them outstanding, matches replies by tag,
 * retransmits on timeout and hands read data back through io.data.
 * Frames, buffers and the tag table are allocated once per engine, so the
 * per-frame path does no malloc and sends/receives in batches
 * (sendmmsg/recvmmsg).
 */
struct aoex_io {
	uint64_t lba;
	unsigned nsect;		/* 1 .. engine's max_sect */
	uint8_t *data;		/* write source / read destination; NULL:
				 * reads are discarded, writes send whatever
				 * the frame holds (bench) */
};

/* Fill *io with the next I/O; false when there is none (any more). */
typedef bool (*aoex_next_fn)(void *ctx, struct aoex_io *io);

struct aoex_job {
	bool write;
	bool lba48;
	bool keep_going;	/* count target errors instead of stopping */
	aoex_next_fn next;
	void *ctx;
};

struct aoex_result {
	uint64_t frames, bytes, retransmits, errors;
	/* the first failure, when the run did not return AOEX_OK */
	uint64_t fail_lba;
	bool fail_short;	/* read reply shorter than requested */
	struct aoex_ata_reply fail;
};

struct aoex_xfer;

struct aoex_xfer *aoex_xfer_new(struct aoex_client *c, unsigned window, unsigned max_sect);
void aoex_xfer_free(struct aoex_xfer *x);
/* Run the job to completion.  Returns AOEX_OK, AOEX_TARGET_ERROR (first
 * error, unless keep_going), AOEX_NO_REPLY, or -errno.  res accumulates. */
int aoex_xfer_run(struct aoex_xfer *x, const struct aoex_job *job, struct aoex_result *res);

#endif
