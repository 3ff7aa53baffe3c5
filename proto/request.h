/*
 * request.h - the initiator's side of AoE r11: the requests it builds and
 * the replies it reads.
 *
 * The target's side (target.h) reads requests and builds replies; this is
 * the mirror image, so aoex and the daemon's address probe build their
 * frames with the same code the unit tests round-trip through
 * aoe_target_handle().  Pure like the rest of proto/: the caller owns
 * every buffer, nothing here allocates, sends or waits.
 *
 * Builders write a whole frame into f (cap bytes) and return its length,
 * zero-padded to the Ethernet minimum of 60, or 0 when it does not fit cap
 * or a count does not fit its field.  Parsers take a received frame of len
 * bytes and never read past len.
 */
#ifndef AOEX_REQUEST_H
#define AOEX_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aoe.h"
#include "coalesce.h"

/* How a tag's 32-bit value goes into its 4 bytes (the AoE header's and a
 * coalesced-read descriptor's).  Big-endian is the default; a target with
 * tag_inc_le active reads them little-endian. */
enum aoe_tag_order {
	AOE_TAG_BE = 0,
	AOE_TAG_LE = 1,
};

/* Who a request goes to and comes from: what every header carries. */
struct aoe_req_addr {
	uint8_t dst[6];		/* the target's MAC, or broadcast */
	uint8_t src[6];		/* the initiator's */
	uint16_t shelf;		/* AOE_SHELF_ANY: every shelf */
	uint8_t slot;		/* AOE_SLOT_ANY: every slot */
	enum aoe_tag_order tag_order;
};

void req_tag_put(const struct aoe_req_addr *a, uint8_t p[4], uint32_t tag);
uint32_t req_tag_get(const struct aoe_req_addr *a, const uint8_t p[4]);

/* ------------------------------------------------------------ builders */

/* The Ethernet and AoE header (version 1, no flags, error 0).  f holds at
 * least 24 bytes; returns 24. */
size_t req_hdr(uint8_t *f, const struct aoe_req_addr *a, uint8_t cmd, uint32_t tag);

/* The registers of an ATA request. */
struct req_ata_regs {
	uint8_t aflags, cmd, feature, count;
	uint64_t lba;
	bool lba48;	/* false: LBA28, with 0xE0 | LBA bits 24..27 in LBA
			 * byte 3 (the device register), as Linux sends it */
};

/* An ATA request: header, the 12 register bytes and datalen bytes of data
 * at 36.  data NULL leaves the bytes f holds there (a benchmark sends
 * whatever pattern the buffer has, without a copy per frame). */
size_t req_ata(uint8_t *f, size_t cap, const struct aoe_req_addr *a, uint32_t tag,
	       const struct req_ata_regs *q, const uint8_t *data, size_t datalen);

/* Append to the READ request in f (built by req_ata, no data) the AoEde
 * coalesced-read count byte and the n descriptors d (1..255), each asking
 * for one more read: returns the new frame length. */
size_t req_cr(uint8_t *f, size_t cap, const struct cr_desc *d, unsigned n);

/* A Query Config request with CCmd ccmd (0..15; byte 29 is version 1 and
 * ccmd) carrying the config string cs of cslen bytes (<= 65535). */
size_t req_qc(uint8_t *f, size_t cap, const struct aoe_req_addr *a, uint32_t tag,
	      uint8_t ccmd, const uint8_t *cs, size_t cslen);

/* One MAC Mask List directive (8 bytes: reserved, DCmd, MAC) into d. */
void req_mask_dir(uint8_t d[MASK_DIR_LEN], uint8_t dcmd, const uint8_t mac[6]);
/* A MAC Mask List request with MCmd mcmd and ndirs (<= 255) directives of
 * 8 bytes each at dirs. */
size_t req_mask(uint8_t *f, size_t cap, const struct aoe_req_addr *a, uint32_t tag,
		uint8_t mcmd, const uint8_t *dirs, unsigned ndirs);

/* A Reserve/Release request with RCmd rcmd and nmacs (<= 255) MACs of 6
 * bytes each at macs. */
size_t req_res(uint8_t *f, size_t cap, const struct aoe_req_addr *a, uint32_t tag,
	       uint8_t rcmd, const uint8_t *macs, unsigned nmacs);

/* An Extensions request (command 0x23): lenfield in the little-endian
 * length field (normally tlen), then the tlen table bytes (built by
 * ext_table_build(), or anything a test wants to send). */
size_t req_ext(uint8_t *f, size_t cap, const struct aoe_req_addr *a, uint32_t tag,
	       const uint8_t *table, size_t tlen, uint16_t lenfield);

/* ------------------------------------------------------------- parsers */

/* Whether f is a reply for the initiator a describes from its target: AoE
 * EtherType, the R flag, sent to a->src (a packet socket on veth sees the
 * frames for every MAC), from a->shelf and a->slot unless they are the
 * broadcast value.  Command and tag are not looked at. */
bool req_reply_for(const struct aoe_req_addr *a, const uint8_t *f, size_t len);
/* ... and answers req: its command and tag bytes. */
bool req_reply_answers(const struct aoe_req_addr *a, const uint8_t *f, size_t len,
		       const uint8_t *req);

/* A Query Config reply. */
struct req_qc_reply {
	uint8_t mac[6];		/* the target's: the frame's source */
	uint16_t shelf;
	uint8_t slot;
	uint8_t flags, error;	/* AoE header flags and error code */
	uint16_t bufcnt, fwver;
	uint8_t scnt, ver, ccmd;
	uint16_t cslen;		/* as much of the string as the frame holds */
	uint8_t cs[QC_CS_MAX];
};
/* false: shorter than the 32 bytes of the Query Config header. */
bool req_parse_qc(const uint8_t *f, size_t len, struct req_qc_reply *qc);

/* An ATA reply's header. */
struct req_ata_reply {
	uint8_t flags, aoe_error;
	uint8_t err, scnt, status;	/* 0 when the frame is too short */
	uint64_t lba;
	size_t len;			/* the whole frame, as received */
};
/* Always fills r: the AoE fields when the frame holds the 24-byte header,
 * the ATA registers when it holds all 36.  Returns whether it does. */
bool req_parse_ata(const uint8_t *f, size_t len, struct req_ata_reply *r);
/* E flag, ATA ERR status, or too short to hold the registers. */
bool req_ata_failed(const struct req_ata_reply *r);

/* crc8x4 (an initiator that negotiated it): whether the ATA reply f (len
 * bytes) to a read of data bytes (READ: count * 512, IDENTIFY: 512; 0
 * passes) at the 48 LBA bits lba as sent is sound.  A reply long enough to
 * hold 36 + data + 4 bytes must match its check (crc8x4.h) and echo lba (the
 * check covers the echo, so a read request whose LBA was corrupted on the
 * way is caught too); a shorter one must be an error reply (E or ERR),
 * which carries no data. */
bool req_ata_crc_ok(const uint8_t *f, size_t len, size_t data, uint64_t lba);
/* The data bytes a successful reply to the ATA request req carries:
 * count * 512 for READ (EXT), 512 for IDENTIFY, else 0. */
size_t req_ata_reply_data(const uint8_t *req);

/* A MAC Mask List reply. */
struct req_mask_reply {
	uint8_t flags, error;
	uint8_t mcmd, merror, dcount;	/* dcount: the count field */
	unsigned ndirs;			/* directives the frame holds, <= dcount */
	const uint8_t *dirs;		/* into f: 8 bytes each, MAC at +2 */
};
/* false: shorter than its 28-byte header (flags and error are still read
 * when the frame holds the AoE header, so an E reply can be reported). */
bool req_parse_mask(const uint8_t *f, size_t len, struct req_mask_reply *r);

/* A Reserve/Release reply. */
struct req_res_reply {
	uint8_t flags, error;
	uint8_t rcmd, nmacs;		/* nmacs: the count field */
	unsigned nfit;			/* MACs the frame holds, <= nmacs */
	const uint8_t *macs;		/* into f: 6 bytes each */
};
/* false: shorter than its 26-byte header (flags and error as above). */
bool req_parse_res(const uint8_t *f, size_t len, struct req_res_reply *r);

/* An Extensions reply, read against the request it answers. */
struct req_ext_reply {
	uint8_t flags, error;	/* AoE header flags (E) and error code */
	bool malformed;		/* length field, frame length or table bytes
				 * differ from the request beyond letter case */
	uint16_t len;		/* the reply's table length field */
	size_t avail;		/* table bytes the frame holds (<= len) */
	const uint8_t *table;	/* into the reply */
	unsigned nstr;		/* strings before the empty terminator (an
				 * unterminated tail counts as one) */
	const uint8_t *sent;	/* the request's table, for req_ext_next */
	size_t sent_avail;
};
/* One string of the reply's table. */
struct req_ext_str {
	const uint8_t *s;	/* into the reply, len bytes, no NUL */
	size_t len;
	bool active;		/* the target upper-cased it (ext_upcased) */
};
/* false: the reply is shorter than its 26-byte header (then malformed). */
bool req_parse_ext(const uint8_t *req, size_t reqlen, const uint8_t *rep, size_t replen,
		   struct req_ext_reply *r);
/* The string at *pos (start at 0) and *pos past it; false after the last. */
bool req_ext_next(const struct req_ext_reply *r, size_t *pos, struct req_ext_str *s);

#endif
