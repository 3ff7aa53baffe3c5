/* client.c - AoE initiator library for aoex (see client.h). */
#include "config.h"
#include "tools/aoex/client.h"
#include "proto/ext.h"
#include "proto/frame.h"
#include "proto/request.h"
#include "proto/wire.h"
#include "common/util.h"

#include <errno.h>
#include <linux/if_packet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

static const uint8_t bcast_mac[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

/* ---------------------------------------------------------------- setup */

static uint32_t random_tag_base(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
		return v;
	/* early boot or an old kernel: still different per run */
	return (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
}

/* Needed only when posing as another MAC on a real NIC: veth and bridges
 * hand every frame to packet sockets anyway.  The membership goes away
 * with the socket. */
static void enable_promisc(struct rawsock *rs)
{
	struct packet_mreq mr;

	memset(&mr, 0, sizeof mr);
	mr.mr_ifindex = rs->ifindex;
	mr.mr_type = PACKET_MR_PROMISC;
	setsockopt(rs->fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
}

int aoex_open(struct aoex_client *c, const char *ifname, const uint8_t *src_mac,
	      char *err, size_t errlen)
{
	int one = 1;
	int rc;

	memset(c, 0, sizeof *c);
	rc = rawsock_open(&c->rs, ifname, err, errlen);
	if (rc < 0)
		return rc;
	memcpy(c->to.src, src_mac ? src_mac : c->rs.mac, 6);
	memcpy(c->to.dst, bcast_mac, 6);
	c->to.shelf = AOE_SHELF_ANY;
	c->to.slot = AOE_SLOT_ANY;
	c->to.tag_order = AOE_TAG_BE;
	c->timeout_ms = 1000;
	c->retries = 3;
	c->next_tag = random_tag_base();
	if (memcmp(c->to.src, c->rs.mac, 6) != 0)
		enable_promisc(&c->rs);
	/* Our own requests would otherwise come back on the socket and halve
	 * the receive rate; rawsock_recv still filters them on old kernels. */
	setsockopt(c->rs.fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
	/* Room for a full window of jumbo replies without drops. */
	rawsock_set_buffers(c->rs.fd, 4 << 20, 8 << 20);
	return 0;
}

void aoex_close(struct aoex_client *c)
{
	rawsock_close(&c->rs);
}

size_t aoex_frame_cap(const struct aoex_client *c)
{
	size_t cap = (size_t)c->rs.mtu + 14;

	return cap < 1514 ? 1514 : cap;
}

unsigned aoex_mtu_sectors(const struct aoex_client *c)
{
	unsigned n = c->rs.mtu > ATA_HDR_LEN ? (c->rs.mtu - ATA_HDR_LEN) / ATA_SECTOR : 0;

	return n ? n : 1;
}

unsigned aoex_coalesce_max(const struct aoex_client *c)
{
	size_t d = (aoex_frame_cap(c) - CR_OFF_DESC) / CR_DESC_LEN;

	return 1 + (unsigned)(d > 255 ? 255 : d);
}

uint32_t aoex_new_tag(struct aoex_client *c)
{
	uint32_t t = c->next_tag++;

	if (t == 0)
		t = c->next_tag++;
	return t;
}

void aoex_set_first_tag(struct aoex_client *c, uint32_t first)
{
	c->next_tag = first;
	c->next_ctl_tag = first - 1;
	c->split_tags = true;
}

uint32_t aoex_ctl_tag(struct aoex_client *c)
{
	uint32_t t;

	if (!c->split_tags)
		return aoex_new_tag(c);
	t = c->next_ctl_tag--;
	if (t == 0)
		t = c->next_ctl_tag--;
	return t;
}

void aoex_set_tag_order(struct aoex_client *c, enum aoe_tag_order order, bool fixed)
{
	c->to.tag_order = order;
	c->tag_order_fixed = fixed;
}

const char *aoex_error_name(unsigned code)
{
	/* the names live in proto/frame.c, shared with the daemon */
	if (code >= AOE_ERR_BADCMD && code <= AOE_ERR_RESERVED)
		return aoe_error_name(code);
	return "unknown";
}

void aoex_dump(const char *what, const uint8_t *f, size_t len)
{
	fprintf(stderr, "aoex: %s %zu bytes\n", what, len);
	for (size_t i = 0; i < len; i += 16) {
		fprintf(stderr, "  %04zx ", i);
		for (size_t j = i; j < i + 16 && j < len; j++)
			fprintf(stderr, " %02x", f[j]);
		fputc('\n', stderr);
	}
}

/* ------------------------------------------------------- send, receive */

int aoex_send(struct aoex_client *c, const uint8_t *f, size_t len)
{
	ssize_t n;

	if (c->verbose)
		aoex_dump("send", f, len);
	n = rawsock_send(&c->rs, f, len);
	if (n < 0)
		return (int)n;
	return n == (ssize_t)len ? 0 : -EIO;
}

int aoex_ms_until(uint64_t deadline)
{
	uint64_t now = now_ns();

	if (now >= deadline)
		return 0;
	/* round up so we never spin on a sub-millisecond remainder */
	return (int)((deadline - now + 999999) / 1000000);
}

ssize_t aoex_recv_until(struct aoex_client *c, uint8_t *buf, size_t cap, uint64_t deadline)
{
	int ms = aoex_ms_until(deadline);
	ssize_t n;

	if (ms == 0)
		return 0;
	n = rawsock_recv(&c->rs, buf, cap, ms);
	if (n > 0 && c->verbose)
		aoex_dump("recv", buf, (size_t)n);
	return n;
}

int aoex_collect(struct aoex_client *c, uint8_t *buf, size_t cap, uint64_t deadline,
		 aoex_frame_fn fn, void *ctx)
{
	ssize_t n;

	while ((n = aoex_recv_until(c, buf, cap, deadline)) > 0)
		if (fn(ctx, buf, (size_t)n))
			return 1;
	return n < 0 ? (int)n : 0;
}

/* aoex_exchange's wait: the reply to one request. */
struct answer {
	struct aoex_client *c;
	const uint8_t *req;
	size_t len;
};

static bool is_answer(void *ctx, const uint8_t *f, size_t len)
{
	struct answer *a = ctx;
	const uint8_t *q = a->req;

	if (!req_reply_answers(&a->c->to, f, len, q))
		return false;
	if (a->c->crc8x4 && q[AOE_OFF_CMD] == AOE_CMD_ATA &&
	    !req_ata_crc_ok(f, len, req_ata_reply_data(q), get_le48(q + ATA_OFF_LBA))) {
		a->c->crc_bad++;
		return false;
	}
	a->len = len;
	return true;
}

ssize_t aoex_exchange(struct aoex_client *c, const uint8_t *req, size_t reqlen,
		      unsigned tries, uint8_t *rep, size_t repmax)
{
	struct answer a = { .c = c, .req = req };

	for (unsigned t = 0; t < tries; t++) {
		int rc = aoex_send(c, req, reqlen);
		uint64_t deadline = now_ns() + (uint64_t)c->timeout_ms * 1000000;

		if (rc < 0)
			return rc;
		rc = aoex_collect(c, rep, repmax, deadline, is_answer, &a);
		if (rc < 0)
			return rc;
		if (rc)
			return (ssize_t)a.len;
	}
	return 0;
}

int aoex_query(struct aoex_client *c, bool learn_mac, struct req_qc_reply *qc)
{
	size_t cap = aoex_frame_cap(c), len;
	uint8_t *req = malloc(cap), *rep = malloc(cap);
	ssize_t n;
	int rc = AOEX_NO_REPLY;

	if (!req || !rep) {
		rc = -ENOMEM;
		goto out;
	}
	/* padded to the Ethernet minimum like every real initiator */
	len = req_qc(req, cap, &c->to, aoex_ctl_tag(c), QC_READ, NULL, 0);
	n = aoex_exchange(c, req, len, c->retries + 1, rep, cap);
	if (n < 0) {
		rc = (int)n;
	} else if (n > 0 && req_parse_qc(rep, (size_t)n, qc)) {
		if (learn_mac)
			memcpy(c->to.dst, qc->mac, 6);
		rc = AOEX_OK;
	}
out:
	free(req);
	free(rep);
	return rc;
}

/* ------------------------------------------------- AoEde extensions */

void aoex_ext_reply_free(struct aoex_ext_reply *r)
{
	free(r->req);
	free(r->rep);
	r->req = r->rep = NULL;
	memset(&r->p, 0, sizeof r->p);
}

int aoex_ext_request(struct aoex_client *c, uint32_t tag, const uint8_t *table, size_t tlen,
		     uint16_t lenfield, unsigned tries, struct aoex_ext_reply *r)
{
	size_t cap = aoex_frame_cap(c), len;
	ssize_t n;

	memset(r, 0, sizeof *r);
	r->req = malloc(cap);
	r->rep = malloc(cap);
	if (!r->req || !r->rep)
		return -ENOMEM;
	len = req_ext(r->req, cap, &c->to, tag, table, tlen, lenfield);
	if (!len)
		return -EMSGSIZE;
	n = aoex_exchange(c, r->req, len, tries, r->rep, cap);
	if (n < 0)
		return (int)n;
	if (n == 0)
		return AOEX_NO_REPLY;
	req_parse_ext(r->req, len, r->rep, (size_t)n, &r->p);
	return AOEX_OK;
}

/* Check the reply of a negotiation against the names sent: the known ones
 * no later name undoes must be active.  Notes in c whether crc8x4 and
 * aoexd_coalesced_ack are.
 * Returns the tag order the last active tag mode (or reset) asks for, -1
 * for none. */
static int check_names(struct aoex_client *c, struct aoex_ext_reply *r,
		       const char *const names[], unsigned n)
{
	struct ext_marks m = { 0, 0 };
	struct req_ext_str st;
	size_t pos = 0;
	int order = -1;

	for (unsigned i = 0; i < n; i++)
		ext_mark(&m, ext_name_of((const uint8_t *)names[i], strlen(names[i])), i + 1);
	for (unsigned i = 0; i < n && req_ext_next(&r->p, &pos, &st); i++) {
		enum ext_name e = ext_name_of((const uint8_t *)names[i], strlen(names[i]));

		if (e != EXT_NAME_UNKNOWN && !ext_undone(&m, e, i + 1) && !st.active)
			r->missing_name[r->missing++] = names[i];
		if (!st.active)
			continue;
		/* what is active now: a reply upper-cases crc8x4 only when no
		 * later reset undid it, and reset always */
		if (e == EXT_NAME_RESET)
			c->crc8x4 = c->wack = false;
		else if (e == EXT_NAME_CRC8X4)
			c->crc8x4 = true;
		else if (e == EXT_NAME_WACK)
			c->wack = true;
		/* the last tag mode wins; without tag_inc (tag_random, reset)
		 * the order does not matter: back to the default */
		if (e == EXT_NAME_TAG_LE)
			order = AOE_TAG_LE;
		else if (ext_name_is_tagmode(e) || e == EXT_NAME_RESET)
			order = AOE_TAG_BE;
	}
	return order;
}

int aoex_ext_negotiate(struct aoex_client *c, const char *const names[], unsigned n,
		       struct aoex_ext_reply *out)
{
	size_t cap = aoex_frame_cap(c), tlen;
	struct aoex_ext_reply local, *r = out ? out : &local;
	uint8_t *table;
	int rc, order;

	memset(r, 0, sizeof *r);
	if (n > AOEX_EXT_MAX_NAMES)
		return -E2BIG;
	table = malloc(cap);
	if (!table)
		return -ENOMEM;
	tlen = ext_table_build(names, n, table, cap - EXT_OFF_TABLE);
	rc = tlen ? aoex_ext_request(c, aoex_ctl_tag(c), table, tlen, (uint16_t)tlen,
				     c->retries + 1, r) : -EMSGSIZE;
	free(table);
	if (rc != AOEX_OK)
		goto out;
	if ((r->p.flags & AOE_FLAG_E) || r->p.malformed || r->p.nstr != n) {
		rc = AOEX_TARGET_ERROR;
		goto out;
	}
	order = check_names(c, r, names, n);
	if (r->missing) {
		rc = AOEX_TARGET_ERROR;
		goto out;
	}
	if (order >= 0 && !c->tag_order_fixed)
		c->to.tag_order = (enum aoe_tag_order)order;
out:
	if (!out)
		aoex_ext_reply_free(&local);
	return rc;
}
