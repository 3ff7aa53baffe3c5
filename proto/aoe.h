/*
 * aoe.h - AoE r11 wire layout: offsets, commands, flags and error codes.
 *
 * Offsets count from the first byte of the Ethernet frame (destination MAC).
 * Multi-byte fields are big-endian unless the name says _LE.  Use the helpers
 * of wire.h to read and write them; never cast a frame to a struct.
 */
#ifndef AOEX_AOE_H
#define AOEX_AOE_H

#include <stdint.h>

#define ETH_ALEN_AOE		6
#define AOE_ETHERTYPE		0x88A2
#define AOE_VERSION		1
#define AOE_MIN_FRAME		60	/* Ethernet minimum without FCS */

/* common header */
#define AOE_OFF_DST		0
#define AOE_OFF_SRC		6
#define AOE_OFF_TYPE		12
#define AOE_OFF_VERFLAGS	14	/* version << 4 | flags */
#define AOE_OFF_ERROR		15
#define AOE_OFF_MAJOR		16	/* shelf, 16 bits */
#define AOE_OFF_MINOR		18	/* slot, 8 bits */
#define AOE_OFF_CMD		19
#define AOE_OFF_TAG		20
#define AOE_HDR_LEN		24

#define AOE_FLAG_R		0x08	/* response */
#define AOE_FLAG_E		0x04	/* error */

#define AOE_SHELF_ANY		0xFFFF
#define AOE_SLOT_ANY		0xFF

enum aoe_cmd {
	AOE_CMD_ATA = 0,
	AOE_CMD_CONFIG = 1,
	AOE_CMD_MASK = 2,
	AOE_CMD_RESERVE = 3,
	AOE_CMD_EXT = 0x23,	/* AoEde Extensions */
};

enum aoe_err {
	AOE_ERR_BADCMD = 1,	/* unrecognized command code */
	AOE_ERR_BADARG = 2,	/* bad argument parameter */
	AOE_ERR_DEVUNAVAIL = 3,	/* device unavailable */
	AOE_ERR_CFGSET = 4,	/* config string present */
	AOE_ERR_BADVER = 5,	/* unsupported version */
	AOE_ERR_RESERVED = 6,	/* target reserved */
};

/* ATA command, 12 bytes after the common header */
#define ATA_OFF_AFLAGS		24
#define ATA_OFF_FEATURE		25	/* response: ATA error register */
#define ATA_OFF_ERR		25
#define ATA_OFF_SCNT		26
#define ATA_OFF_CMD		27	/* response: ATA status */
#define ATA_OFF_STATUS		27
#define ATA_OFF_LBA		28	/* 6 bytes, least significant first */
#define ATA_OFF_RES		34
#define ATA_HDR_LEN		36
#define ATA_OFF_DATA		36

#define ATA_AFLAG_E		0x40	/* LBA48 extended */
#define ATA_AFLAG_D		0x10	/* device/head register bit */
#define ATA_AFLAG_A		0x02	/* asynchronous write */
#define ATA_AFLAG_W		0x01	/* write */

#define ATA_SECTOR		512

/* ATA status and error register bits */
#define ATA_ST_BSY		0x80
#define ATA_ST_DRDY		0x40
#define ATA_ST_DF		0x20
#define ATA_ST_DRQ		0x08
#define ATA_ST_ERR		0x01
#define ATA_ER_UNC		0x40
#define ATA_ER_IDNF		0x10
#define ATA_ER_ABRT		0x04

/* ATA command opcodes aoexd implements */
#define ATA_READ		0x20
#define ATA_READ_EXT		0x24
#define ATA_WRITE		0x30
#define ATA_WRITE_EXT		0x34
#define ATA_CHECK_POWER		0xE5
#define ATA_FLUSH		0xE7
#define ATA_FLUSH_EXT		0xEA
#define ATA_IDENTIFY		0xEC

#define ATA_LBA28_MAX		0x0FFFFFFFULL

/* Query Config, after the common header */
#define QC_OFF_BUFCNT		24
#define QC_OFF_FWVER		26
#define QC_OFF_SCNT		28
#define QC_OFF_VERCMD		29	/* AoE version << 4 | CCmd */
#define QC_OFF_CSLEN		30
#define QC_OFF_CS		32
#define QC_HDR_LEN		32
#define QC_CS_MAX		1024

enum qc_ccmd {
	QC_READ = 0,
	QC_TEST = 1,
	QC_TEST_PREFIX = 2,
	QC_SET = 3,
	QC_FORCE_SET = 4,
};

/* MAC Mask List, after the common header */
#define MASK_OFF_RES		24
#define MASK_OFF_MCMD		25
#define MASK_OFF_MERROR		26
#define MASK_OFF_DCOUNT		27
#define MASK_OFF_DIRS		28
#define MASK_HDR_LEN		28
#define MASK_DIR_LEN		8	/* reserved, DCmd, MAC[6] */

enum mask_mcmd { MASK_READ = 0, MASK_EDIT = 1 };
enum mask_dcmd { MASK_DIR_NONE = 0, MASK_DIR_ADD = 1, MASK_DIR_DEL = 2 };
enum mask_merror {
	MASK_ERR_UNSPEC = 1,
	MASK_ERR_BADDIR = 2,
	MASK_ERR_FULL = 3,
};

/* Reserve/Release, after the common header */
#define RES_OFF_RCMD		24
#define RES_OFF_NMACS		25
#define RES_OFF_MACS		26
#define RES_HDR_LEN		26

enum res_rcmd { RES_READ = 0, RES_SET = 1, RES_FORCE_SET = 2 };

/* AoEde Extensions (command 0x23) */
#define EXT_OFF_LEN_LE		24	/* string-table length, little-endian */
#define EXT_OFF_TABLE		26
#define EXT_HDR_LEN		26

/* AoEde coalesced read: count byte then 16-byte descriptors */
#define CR_OFF_COUNT		36
#define CR_OFF_DESC		37
#define CR_DESC_LEN		16
#define CR_D_TAG		0	/* 4 bytes, as the header tag */
#define CR_D_LBA		4	/* 6 bytes, least significant first */
#define CR_D_SCNT		15

#endif
