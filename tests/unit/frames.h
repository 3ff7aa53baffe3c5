/*
 * frames.h - what t_ext, t_crc and t_wack share: a target, requests built
 * from a common header, running them through the dispatcher, negotiating.
 * Header-only, static: each test program has its own copy.
 */
#ifndef AOEX_TEST_FRAMES_H
#define AOEX_TEST_FRAMES_H

#include <stdint.h>
#include <string.h>

#include "proto/aoe.h"
#include "proto/target.h"
#include "proto/wire.h"

static const uint8_t MYMAC[6] = { 0x02, 0, 0, 0, 0, 0x01 };
static const uint8_t MAC_A[6] = { 0x02, 0, 0, 0, 0, 0xaa };
static const uint8_t MAC_B[6] = { 0x02, 0, 0, 0, 0, 0xbb };

static uint8_t req[9216], out[9216];
static struct aoe_target T;
static struct aoe_outcome O;

/* Target 1.2 of that many sectors, nothing negotiated. */
static void target_reset(uint64_t sectors)
{
	memset(&T, 0, sizeof T);
	T.shelf = 1;
	T.slot = 2;
	T.bufcnt = 16;
	T.ata.sectors = sectors;
}

/* A request header from src to the target, the tag's 4 bytes given. */
static void mkhdr(const uint8_t src[6], uint8_t cmd, const uint8_t tag[4])
{
	memset(req, 0, sizeof req);
	memcpy(req + AOE_OFF_DST, MYMAC, 6);
	memcpy(req + AOE_OFF_SRC, src, 6);
	put_be16(req + AOE_OFF_TYPE, AOE_ETHERTYPE);
	req[AOE_OFF_VERFLAGS] = 0x10;
	put_be16(req + AOE_OFF_MAJOR, 1);
	req[AOE_OFF_MINOR] = 2;
	req[AOE_OFF_CMD] = cmd;
	memcpy(req + AOE_OFF_TAG, tag, 4);
}

/* req (len bytes) through the dispatcher at an MTU: out and O. */
static void run_mtu(size_t len, unsigned mtu)
{
	memset(out, 0xee, sizeof out);
	aoe_target_handle(&T, req, len, MYMAC, mtu, out, &O);
}

static void run(size_t len)
{
	run_mtu(len, 1500);
}

static const uint8_t TAG_X[4] = { 0xde, 0xad, 0xbe, 0xef };

/* An Extensions request carrying tlen table bytes; returns the frame
 * length, padded to 60 as on the wire. */
static size_t mkext(const uint8_t src[6], const char *tab, size_t tlen)
{
	mkhdr(src, AOE_CMD_EXT, TAG_X);
	put_le16(req + EXT_OFF_LEN_LE, (uint16_t)tlen);
	memcpy(req + EXT_OFF_TABLE, tab, tlen);
	return EXT_HDR_LEN + tlen < 60 ? 60 : EXT_HDR_LEN + tlen;
}
#define EXT(src, lit) mkext(src, lit, sizeof(lit) - 1)

static void negotiate(const uint8_t src[6], const char *tab, size_t tlen)
{
	run(mkext(src, tab, tlen));
}
#define NEG(src, lit) negotiate(src, lit, sizeof(lit) - 1)

#endif
