/*
 * aoex.c - userspace ATA over Ethernet (AoE r11) initiator and test client.
 *
 * aoex speaks only the wire: one raw AF_PACKET socket on one interface, no
 * kernel aoe driver.  It is the client the bats suites drive aoexd with, so
 * its command line, output lines and exit codes are an interface: change
 * them only together with the tests.  The protocol work lives in
 * aoex_client.c; this file parses arguments and prints results.
 */
#include "config.h"
#include "tools/aoex/client.h"
#include "proto/aoe.h"
#include "common/util.h"
#include "proto/wire.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

static const char help_text[] =
"NAME\n"
"    aoex - ATA over Ethernet (AoE r11) initiator and test client\n"
"\n"
"SYNOPSIS\n"
"    aoex [global options] COMMAND [args]\n"
"\n"
"DESCRIPTION\n"
"    aoex talks to AoE targets (aoexd, vblade, ...) directly over a raw packet\n"
"    socket on one interface, without the kernel aoe driver.  It needs root\n"
"    or CAP_NET_RAW.  Every request carries a tag from a counter that starts\n"
"    at a random value (or at -T N, see TAGS); a retransmission reuses the\n"
"    tag of the frame it repeats.  A reply is accepted only with EtherType\n"
"    0x88A2, the R flag, our tag and command, addressed to our source MAC,\n"
"    and from the target's shelf and slot (a broadcast half of TARGET\n"
"    matches any value).  Everything else on the wire is ignored.\n"
"\n"
"    Commands other than discover, config and raw first send a Query Config\n"
"    read to the target to learn its MAC address (unless -d is given or\n"
"    TARGET is a broadcast address, which is then sent to ff:ff:ff:ff:ff:ff)\n"
"    and, for read, write and bench, its sectors per frame (unless -s).\n"
"\n"
"GLOBAL OPTIONS\n"
"    -i, --iface IFACE     interface to use (required; default $AOEX_IFACE)\n"
"    -t, --timeout MS      wait per try, in milliseconds (default 1000)\n"
"    -r, --retries N       retransmissions per frame after the first try\n"
"                          (default 3)\n"
"    -m, --src-mac MAC     send with this source MAC, posing as another\n"
"                          initiator, and accept replies addressed to it\n"
"    -d, --dst-mac MAC     send unicast to this MAC instead of learning it\n"
"    -w, --window N        outstanding frames for read, write and bench\n"
"                          (1..1024, default 16)\n"
"    -s, --sectors N       sectors per ATA frame (1..255; default: the\n"
"                          target's Query Config sector count, capped at\n"
"                          (MTU-36)/512 of IFACE)\n"
"    -v, --verbose         hex dump every frame sent and received to stderr\n"
"    -x, --ext LIST        negotiate these AoEde extensions (comma-separated\n"
"                          names, e.g. tag_inc_le,coalesced_read; may be\n"
"                          repeated, the lists are joined) with one\n"
"                          Extensions request after the target's MAC is\n"
"                          learned and before the command runs; exit 1 if\n"
"                          one is not activated.  See EXTENSIONS.  Not\n"
"                          with discover, config and raw\n"
"    -T, --tag N           first tag of the counter (1..4294967295, decimal\n"
"                          or 0x hex; default random); see TAGS\n"
"        --tag-order be|le byte order of the tag counter on the wire (default\n"
"                          be; -x tag_inc_le makes it le, -x tag_inc_be,\n"
"                          tag_random or reset be).  Given explicitly it\n"
"                          stays, whatever -x negotiates\n"
"    -h, --help            show this text\n"
"\n"
"    TARGET is SHELF.SLOT in decimal, e.g. 1.2; 65535 and 255 are the\n"
"    broadcast shelf and slot (65535.255, 1.255, 65535.2).  Numbers may be\n"
"    given in decimal or with 0x in hex.  MAC is xx:xx:xx:xx:xx:xx.\n"
"\n"
"COMMANDS\n"
"    discover [-W MS]\n"
"        Broadcast a Query Config read to 65535.255 and collect replies for\n"
"        MS milliseconds (default 1000).  Prints one line per target, sorted\n"
"        by shelf, then slot:\n"
"          e1.2 mac=02:aa:bb:cc:dd:ee bufcnt=16 fw=0x4019 sectors=2 ver=1 config=\"...\"\n"
"        In config, bytes outside printable ASCII, '\"' and '\\' are written\n"
"        as \\xNN.  Exit 0 if any target answered, 3 if none.\n"
"\n"
"    identify TARGET [--raw]\n"
"        ATA IDENTIFY DEVICE (0xEC).  Prints sectors=N (LBA48 words 100-103\n"
"        when word 83 bit 10 is set, else words 60-61), lba48=0|1,\n"
"        model=\"...\", serial=\"...\", firmware=\"...\", flush=0|1 (word 83\n"
"        bit 12), flush_ext=0|1 (word 83 bit 13), wcache=0|1 (word 85 bit 5),\n"
"        one per line.  --raw writes the 512 bytes to stdout instead.\n"
"\n"
"    read TARGET LBA COUNT [-o FILE] [--lba28] [--coalesce N]\n"
"        Read COUNT sectors from LBA with READ SECTORS EXT (0x24, aflags E)\n"
"        or, with --lba28, READ SECTORS (0x20; LBA byte 3 carries 0xE0 in\n"
"        its top nibble).  Keeps --window frames outstanding and writes the\n"
"        data in order to FILE (created or truncated; - is stdout) or\n"
"        stdout.  On a target error, aoe_error=N or status=0xNN error=0xNN\n"
"        lba=N goes to stdout with -o, else to stderr.\n"
"\n"
"        --coalesce N (1..256, and at most 1 + (MTU+14-37)/16 of IFACE:\n"
"        93 at MTU 1500) makes each request frame carry N reads of the\n"
"        per-frame maximum, consecutive chunks of the request: the first\n"
"        as the READ itself, the others as AoEde coalesced-read\n"
"        descriptors (count byte at offset 36, then 16 bytes each from 37:\n"
"        tag in the tag order, LBA least significant byte first, 5 zero\n"
"        bytes, sector count; the LBA goes out as given, also with\n"
"        --lba28).  Each read has its own tag and its own reply frame; the\n"
"        replies are put together by tag.  A frame still missing any reply\n"
"        at the timeout is sent again whole, with the same tags.  With\n"
"        N > 1 coalesced_read is added to the -x negotiation (one is done\n"
"        even without -x).  When the transfer ends, successfully or not,\n"
"          frames_sent=F replies=R\n"
"        goes to stderr, or to stdout with -o: F counts request frames\n"
"        sent, retransmissions included (without them, ceil(ceil(COUNT /\n"
"        S) / N) for S sectors per frame), R the replies taken, one per\n"
"        read (repeats not counted).  Every read counts against the\n"
"        requests the target queues: keep -w x N within that (for aoexd\n"
"        see its -b), or replies go missing and whole frames are sent\n"
"        again, up to a timeout.\n"
"\n"
"    write TARGET LBA [-f FILE] [--lba28] [--log-acks FILE]\n"
"        Write FILE (default or -: stdin) at LBA with WRITE SECTORS EXT (0x34,\n"
"        aflags E|W) or, with --lba28, WRITE SECTORS (0x30, aflags W).  The\n"
"        length must be a multiple of 512; it is checked before anything is\n"
"        sent (input that is not a regular file is read into memory first).\n"
"        --log-acks FILE writes one line `LBA COUNT' to FILE for each frame\n"
"        the target acknowledged with success, in the order the\n"
"        acknowledgements came; the file is complete when aoex exits, also\n"
"        after a failure (what a crash test compares with the disk).\n"
"\n"
"    ata TARGET OPCODE [--lba L] [--count C] [--feature F] [--aflags A]\n"
"                      [--data FILE] [--expect-len]\n"
"        Send one raw ATA command; all fields default to 0 and go out as\n"
"        given (LBA as 6 bytes, least significant first).  --data appends\n"
"        the bytes of FILE.  Prints\n"
"          status=0xNN error=0xNN count=N lba=N len=N\n"
"        from the reply (len is the reply frame length) and, when the AoE\n"
"        E flag is set, aoe_error=N (name).  --expect-len also checks that\n"
"        len is what the command implies: 36 + C*512 for READ SECTORS (EXT)\n"
"        and IDENTIFY without the W flag, 36 otherwise, at least 60; if not,\n"
"        it prints expected_len=N and exits 1.\n"
"\n"
"    flush TARGET\n"
"        FLUSH CACHE EXT (0xEA, aflags E).  Output and exit status as ata.\n"
"\n"
"    config TARGET read|test|prefix|set|fset|CCMD [STRING]\n"
"        Query Config with CCmd 0 (read), 1 (test), 2 (prefix), 3 (set),\n"
"        4 (force set) or a raw number 0..15, carrying STRING.  Prints the\n"
"        reply in the discover format.  test and prefix are tried once\n"
"        (silence is the protocol's \"no match\").  No reply: prints\n"
"        `no reply' and exits 3.  Sent to the broadcast MAC unless -d.\n"
"\n"
"    mask TARGET read\n"
"    mask TARGET edit [+MAC|-MAC|=MAC|dcmd:N:MAC ...]\n"
"        Read or edit the MAC mask list: + adds (DCmd 1), - deletes (2),\n"
"        = sends DCmd 0 and dcmd:N:MAC any DCmd value.  All directives go\n"
"        in one frame.  Prints the resulting list, one MAC per line; if\n"
"        the reply has MError set, prints `merror=N index=I' (I is the\n"
"        reply's directive count) and exits 1.  mask takes no options, so\n"
"        -MAC is never mistaken for one; a leading -- is skipped.\n"
"\n"
"    reserve TARGET read|release|set MAC...|fset MAC...|RCMD MAC...\n"
"        Reserve/Release with RCmd 0 (read), 1 (set), 2 (force set) or a\n"
"        raw number; release is set with no MACs.  Prints the resulting\n"
"        list, one MAC per line.\n"
"\n"
"    raw [--no-eth] [-W MS] HEX...\n"
"        Send the bytes of HEX (spaces and colons allowed, several\n"
"        arguments are joined; options come first) as one frame, unpadded.\n"
"        With --no-eth HEX starts at the AoE version/flags byte and aoex\n"
"        prepends the destination (-d or broadcast), the source (-m or\n"
"        ours) and EtherType 0x88A2.  Prints each AoE frame with the R flag\n"
"        that arrives within MS (default 500) as one line of hex, whatever\n"
"        its tag or addresses.  Exit 0 if any arrived, 3 if none.\n"
"\n"
"    bench TARGET [--mode seqread|seqwrite|randread|randwrite] [--bytes N]\n"
"                 [--io-size BYTES] [--seconds S] [--region-sectors N]\n"
"                 [--coalesce N]\n"
"        Drive load with --window frames outstanding and print\n"
"          mode=M bytes=N seconds=S MBps=R iops=I retransmits=N errors=N req_frames=F\n"
"        Sequential modes move --bytes (default 256M; K/M/G suffixes) in\n"
"        frames of the per-frame maximum from LBA 0, wrapping within the\n"
"        region; iops counts frames.  Random modes issue --io-size (default\n"
"        4096, a multiple of 512) I/Os at random io-size aligned offsets in\n"
"        the region for --seconds (default 5, fractions allowed); iops\n"
"        counts I/Os.  The region is the first --region-sectors sectors\n"
"        (default: the whole device, from IDENTIFY).  MBps is 10^6 bytes\n"
"        per second.  req_frames counts request frames sent (without\n"
"        retransmissions).  --coalesce N (seqread and randread only) puts\n"
"        N I/Os in each request frame as read --coalesce does, and\n"
"        negotiates coalesced_read the same way; in randread each I/O is\n"
"        one sub-read, so --io-size must be at most the per-frame maximum\n"
"        (sectors per frame x 512).  iops still counts I/Os (sequential:\n"
"        frames' worth of data), so req_frames is about I/Os / N.\n"
"        WRITE MODES OVERWRITE THE TARGET'S DATA.\n"
"\n"
"    ext TARGET NAME...\n"
"    ext TARGET --raw-table HEX [--len N]\n"
"        Send one Extensions request (AoE command 0x23) carrying the NAMEs\n"
"        in this order, e.g. ext 1.2 tag_inc_le coalesced_read congestion\n"
"        42 foo, and print the table of the reply one string per line as\n"
"        it came back (TAG_INC_LE, COALESCED_READ, CONGESTION, 42, foo;\n"
"        escaped as config strings are), then\n"
"          active=tag_inc_le,coalesced_read,congestion\n"
"        the strings the target upper-cased, lowercased, in table order\n"
"        (active= is empty when there are none).  --raw-table sends the\n"
"        bytes of HEX (as raw takes them) as the table, whatever they\n"
"        are, with N in the length field (default: the number of bytes),\n"
"        tried only once since a target drops a malformed table.  Exit 0\n"
"        on a reply; 1 if it has the E flag (aoe_error=N (name) on\n"
"        stdout) or is malformed: its length field, its length or any\n"
"        byte other than by letter case differs from the request (the\n"
"        lines are printed, then a message on stderr); 3 if none came.\n"
"\n"
"    probe TARGET [--burst N] [--id ID] [-W MS]\n"
"        Congestion probe.  Send an Extensions request with congestion ID\n"
"        (default: a random decimal id, new each run), then at once a\n"
"        burst of N more (0..1024, default 64) with the same ID and\n"
"        distinct tags, and collect replies for MS milliseconds (default\n"
"        1500) from the first send, or until all came.  A target with\n"
"        the congestion extension delays its reply to the first request\n"
"        with an id new from this initiator by 0.5 s and answers the\n"
"        others at once.  Prints\n"
"          id=ID burst=N replied=R first_reply_ms=T window=W\n"
"        R counts the burst's replies (not those with the E flag), T is\n"
"        the delay in ms of the reply to the first request (-1: none),\n"
"        and W = R, the number of outstanding frames the path held\n"
"        without drops.  Nothing is retransmitted.  Exit 0 if the first\n"
"        request got a reply, 1 if that had the E flag (aoe_error=N\n"
"        (name) follows), 3 if it got none.\n"
"\n"
"EXTENSIONS\n"
"    aoex speaks the AoEde extensions, AoE command 0x23.  A request has\n"
"    the 16-bit length L of a string table at offset 24, LITTLE-endian,\n"
"    and the table at 26: NUL-terminated lowercase names, ended by an\n"
"    empty string (so the last two bytes are NUL).  The target echoes it\n"
"    with every name it now has active upper-cased; unknown names stay\n"
"    lowercase; a malformed table gets no reply.  Names: reset (all off),\n"
"    coalesced_read (see read --coalesce), tag_inc_le, tag_inc_be,\n"
"    tag_random (the last tag mode wins), and congestion followed by a\n"
"    decimal id (see probe).  The target keeps this state per initiator\n"
"    MAC, so it outlives one aoex run that uses the same source MAC.\n"
"\n"
"    -x fails with exit 1 and a line on stderr,\n"
"      aoex: extensions: target did not activate NAME[,NAME...]\n"
"    when one of the names above is not upper-cased in the reply (except\n"
"    a name a later one turns off again: anything before reset, a tag\n"
"    mode before another tag mode),\n"
"      aoex: extensions: target refused the Extensions command: aoe_error=N (name)\n"
"    when the reply has the E flag (a target without extensions), or\n"
"      aoex: extensions: malformed reply (...)\n"
"    when the reply is no echo of the request; with no reply after the\n"
"    retries, `aoex: extensions: no reply from eS.S' and exit 3.  Other\n"
"    names (the id after congestion, names aoex does not know) are sent\n"
"    as given and not checked.  The command does not run after a failure.\n"
"\n"
"    With tag_inc_le (tag_inc_be) active the target reads tags as 32-bit\n"
"    little-endian (big-endian) numbers and drops a WRITE whose tag it has\n"
"    seen among the 32768 behind the highest so far, acknowledging it\n"
"    with success.  After negotiating it aoex sends its tag counter in\n"
"    that byte order, descriptor tags too; by default it is big-endian,\n"
"    as aoex always sent it.  A later run that relies on the target's\n"
"    state without negotiating again must say --tag-order le.\n"
"\n"
"TAGS\n"
"    Without -T one counter, starting at a random value, tags every frame.\n"
"    With -T N the frames of the command itself take N, N+1, ... in the\n"
"    order they are first sent: the data frames of read, write and bench\n"
"    (a coalesced read frame takes one per read, primary first), and the\n"
"    request of identify, ata, flush, mask, reserve, config, discover, ext\n"
"    and probe.  The frames aoex sends on its own before the command take\n"
"    N-1, N-2, ... (0 is skipped) in the order they go out: the Query\n"
"    Config read that learns the MAC and the sectors per frame, the -x\n"
"    negotiation, and bench's IDENTIFY.  So\n"
"      aoex -m MAC -x tag_inc_le -T 100 write 1.2 0 -f A\n"
"    sends Query Config with tag 99, the negotiation with tag 98 (both\n"
"    still big-endian unless --tag-order le) and the first WRITE with tag\n"
"    100 little-endian; the same command with -T 101 -f B then writes with\n"
"    101, and once more with -T 100 repeats tag 100: a duplicate the\n"
"    target acknowledges and does not write.\n"
"\n"
"ERRORS\n"
"    When a reply has the AoE E flag, aoex prints aoe_error=N (name), with\n"
"    the names 1 unrecognized command, 2 bad argument, 3 device\n"
"    unavailable, 4 config string present, 5 unsupported version, 6 target\n"
"    reserved.  It goes to stdout, or to stderr when stdout carries data.\n"
"\n"
"EXIT STATUS\n"
"    0  success\n"
"    1  the target answered with an error (E flag, ATA ERR status, MError,\n"
"       or a malformed reply), or did not activate an extension of -x\n"
"    2  usage or local error (message on stderr)\n"
"    3  no reply, or a timeout after all retransmissions\n"
"\n"
"ENVIRONMENT\n"
"    AOEX_IFACE   default for -i\n"
"\n"
"EXAMPLES\n"
"    aoex -i eth1 discover\n"
"    aoex -i eth1 read 1.2 0 2048 -o /tmp/first-mib\n"
"    head -c 1M /dev/urandom | aoex -i eth1 -w 32 write 1.2 4096\n"
"    aoex -i eth1 -m 02:00:00:00:00:99 reserve 1.2 set 02:00:00:00:00:99\n"
"    aoex -i eth1 raw --no-eth 10000001020100000001 0000000000000000\n"
"    aoex -i eth1 -w 64 bench 1.2 --mode randread --seconds 10\n"
"    aoex -i eth1 ext 1.2 tag_inc_le coalesced_read\n"
"    aoex -i eth1 -x tag_inc_le -T 100 write 1.2 0 -f block.bin\n"
"    aoex -i eth1 read 1.2 0 2048 --coalesce 32 -o /tmp/first-mib\n"
"    aoex -i eth1 -w 8 bench 1.2 --mode randread --io-size 1024 --coalesce 16\n"
"    aoex -i eth1 probe 1.2 --burst 256\n";

#define MAX_EXT_NAMES 64

struct opts {
	const char *iface;
	int timeout_ms;
	unsigned retries;
	bool have_src, have_dst;
	uint8_t src[6], dst[6];
	unsigned window;
	unsigned sectors;	/* 0: from the target */
	bool verbose;
	/* AoEde extensions */
	const char *ext[MAX_EXT_NAMES];	/* -x names, in order */
	unsigned next;
	uint32_t first_tag;	/* -T; 0: random */
	int tag_order;		/* --tag-order; -1: not given */
};

struct session {
	struct opts o;
	struct aoex_client c;
	bool bcast_target;	/* TARGET has a broadcast half */
};

/* ------------------------------------------------------------ messages */

static int local_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int local_error(const char *fmt, ...)
{
	va_list ap;

	fputs("aoex: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return AOEX_LOCAL_ERROR;
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("aoex: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'aoex --help' for more information.\n", stderr);
	return AOEX_LOCAL_ERROR;
}

static void print_aoe_error(FILE *out, unsigned code)
{
	fprintf(out, "aoe_error=%u (%s)\n", code, aoex_error_name(code));
	fflush(out);
}

static int no_reply(const struct session *s)
{
	fprintf(stderr, "aoex: no reply from e%u.%u\n", s->c.shelf, s->c.slot);
	return AOEX_NO_REPLY;
}

/* -errno from the library, or one of its AOEX_* results. */
static int lib_result(const struct session *s, int rc, const char *what)
{
	if (rc < 0)
		return local_error("%s: %s", what, strerror(-rc));
	if (rc == AOEX_NO_REPLY)
		return no_reply(s);
	return rc;
}

/* Bytes outside printable ASCII, and the quote and backslash that would
 * make the output ambiguous, as \xNN. */
static void print_escaped(FILE *out, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] < 0x20 || p[i] > 0x7e || p[i] == '"' || p[i] == '\\')
			fprintf(out, "\\x%02x", p[i]);
		else
			fputc(p[i], out);
	}
}

static void print_config_line(FILE *out, const struct aoex_config *qc)
{
	char mac[MAC_STRLEN];

	fprintf(out, "e%u.%u mac=%s bufcnt=%u fw=0x%04x sectors=%u ver=%u config=\"",
		qc->shelf, qc->slot, format_mac(qc->mac, mac), qc->bufcnt, qc->fwver,
		qc->scnt, qc->ver);
	print_escaped(out, qc->cs, qc->cslen);
	fputs("\"\n", out);
}

static void print_mac_list(const uint8_t *p, unsigned n, unsigned stride)
{
	char mac[MAC_STRLEN];

	for (unsigned i = 0; i < n; i++)
		printf("%s\n", format_mac(p + (size_t)i * stride, mac));
}

/* ------------------------------------------------------------- parsing */

static int parse_target(const char *arg, struct session *s)
{
	uint64_t shelf, slot;
	char buf[32], *dot;

	if (arg[0] == 'e')	/* accept the e1.2 form aoex prints */
		arg++;
	if (strlen(arg) >= sizeof buf)
		return usage_error("bad TARGET '%s' (want SHELF.SLOT)", arg);
	strcpy(buf, arg);
	dot = strchr(buf, '.');
	if (!dot)
		return usage_error("bad TARGET '%s' (want SHELF.SLOT)", arg);
	*dot = '\0';
	if (parse_uint(buf, 0, AOE_SHELF_ANY, &shelf) < 0 ||
	    parse_uint(dot + 1, 0, AOE_SLOT_ANY, &slot) < 0)
		return usage_error("bad TARGET '%s' (want SHELF.SLOT, shelf 0..65535, slot 0..255)", arg);
	s->c.shelf = (uint16_t)shelf;
	s->c.slot = (uint8_t)slot;
	s->bcast_target = shelf == AOE_SHELF_ANY || slot == AOE_SLOT_ANY;
	return AOEX_OK;
}

static int parse_num(const char *arg, uint64_t max, uint64_t *out, const char *what)
{
	if (parse_uint(arg, 0, max, out) < 0)
		return usage_error("bad %s '%s' (0..%llu)", what, arg, (unsigned long long)max);
	return AOEX_OK;
}

/* Hex digits with any spaces, tabs and colons between byte pairs. */
static int parse_hex(const char *s, uint8_t *out, size_t max, size_t *len)
{
	int hi = -1;

	for (; *s; s++) {
		int v;

		if (*s == ' ' || *s == ':' || *s == '\t' || *s == '\n') {
			if (hi >= 0)
				return -1;	/* a lone nibble */
			continue;
		}
		v = hex_digit((unsigned char)*s);
		if (v < 0)
			return -1;
		if (hi < 0) {
			hi = v;
			continue;
		}
		if (*len >= max)
			return -1;
		out[(*len)++] = (uint8_t)(hi << 4 | v);
		hi = -1;
	}
	return hi >= 0 ? -1 : 0;
}

/* Per-command getopt: restart the scan, report errors ourselves. */
static void getopt_reset(void)
{
	optind = 0;
	opterr = 0;
}

static int bad_option(const char *cmd, int ch, char **argv)
{
	if (ch == ':')
		return usage_error("%s: option '%s' needs an argument", cmd, argv[optind - 1]);
	return usage_error("%s: unknown option '%s'", cmd, argv[optind - 1]);
}

/* ----------------------------------------------------------------- I/O */

static int write_full(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Read up to n bytes, short only at end of file. */
static ssize_t read_full(int fd, uint8_t *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = read(fd, p + got, n - got);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* Whole file (or pipe) into memory. */
static int slurp(int fd, uint8_t **buf, size_t *len)
{
	size_t cap = 1 << 20;
	uint8_t *p = malloc(cap);

	*len = 0;
	for (;;) {
		ssize_t r;

		if (!p)
			return -ENOMEM;
		r = read_full(fd, p + *len, cap - *len);
		if (r < 0) {
			free(p);
			return (int)r;
		}
		*len += (size_t)r;
		if (*len < cap)
			break;
		uint8_t *q = realloc(p, cap * 2);
		if (!q)
			free(p);
		p = q;
		cap *= 2;
	}
	*buf = p;
	return 0;
}

static int slurp_path(const char *path, uint8_t **buf, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int rc;

	if (fd < 0)
		return local_error("%s: %s", path, strerror(errno));
	rc = slurp(fd, buf, len);
	close(fd);
	if (rc < 0)
		return local_error("%s: %s", path, strerror(-rc));
	return AOEX_OK;
}

/* ------------------------------------------------------ target contact */

/* Add name to the -x list unless it is there already. */
static int want_ext(struct session *s, const char *name)
{
	for (unsigned i = 0; i < s->o.next; i++)
		if (strcmp(s->o.ext[i], name) == 0)
			return AOEX_OK;
	if (s->o.next == MAX_EXT_NAMES)
		return usage_error("too many extension names (at most %d)", MAX_EXT_NAMES);
	s->o.ext[s->o.next++] = name;
	return AOEX_OK;
}

/* The -x negotiation: one Extensions exchange with every name of the list.
 * Reports failures on stderr. */
static int negotiate_ext(struct session *s)
{
	struct aoex_ext_reply r;
	int rc;

	if (!s->o.next)
		return AOEX_OK;
	rc = aoex_ext_negotiate(&s->c, s->o.ext, s->o.next, &r);
	if (rc < 0) {
		rc = local_error("extensions: %s", strerror(-rc));
	} else if (rc == AOEX_NO_REPLY) {
		fprintf(stderr, "aoex: extensions: no reply from e%u.%u\n", s->c.shelf, s->c.slot);
	} else if (rc != AOEX_OK) {
		fputs("aoex: extensions: ", stderr);
		if (r.flags & AOE_FLAG_E) {
			fprintf(stderr, "target refused the Extensions command: aoe_error=%u (%s)\n",
				r.error, aoex_error_name(r.error));
		} else if (r.malformed || r.nstr != s->o.next) {
			size_t sent = 1;

			for (unsigned i = 0; i < s->o.next; i++)
				sent += strlen(s->o.ext[i]) + 1;
			fprintf(stderr, "malformed reply (table length %u, sent %zu)\n", r.len, sent);
		} else {
			fputs("target did not activate ", stderr);
			for (unsigned i = 0; i < r.missing; i++)
				fprintf(stderr, "%s%s", i ? "," : "", r.missing_name[i]);
			fputc('\n', stderr);
		}
	}
	aoex_ext_reply_free(&r);
	return rc;
}

/*
 * Learn what the command needs before it talks ATA: the target's MAC
 * (unless -d or a broadcast TARGET) and, if want_spf, the sectors per
 * frame (unless -s).  One Query Config read covers both.  Then the -x
 * negotiation, if any.
 */
static int contact(struct session *s, bool want_spf, unsigned *spf)
{
	bool learn_mac = !s->o.have_dst && !s->bcast_target;
	bool need_spf = want_spf && !s->o.sectors;
	struct aoex_config qc;
	int rc;

	if (spf)
		*spf = s->o.sectors;
	if (!learn_mac && !need_spf)
		return negotiate_ext(s);
	rc = aoex_query(&s->c, learn_mac, &qc);
	if (rc != AOEX_OK)
		return lib_result(s, rc, "query config");
	if (need_spf) {
		unsigned cap = aoex_mtu_sectors(&s->c);

		*spf = qc.scnt < cap ? qc.scnt : cap;
		if (*spf == 0)
			*spf = 1;
	}
	return negotiate_ext(s);
}

/* One ATA command outside the windowed engine. */
struct ata_req {
	uint8_t aflags, cmd, feature, count;
	uint64_t lba;
	bool lba48;
	const uint8_t *data;
	size_t datalen;
	bool ctl;		/* a frame of our own (aoex_ctl_tag), not the command's */
};

/* Send q with retries; the reply lands in rep.  Failures to get one are
 * reported here. */
static int ata_once(struct session *s, const struct ata_req *q, uint8_t *rep, size_t cap,
		    size_t *replen)
{
	size_t len = ATA_HDR_LEN + q->datalen;
	uint8_t *req;
	ssize_t n;

	if (len > aoex_frame_cap(&s->c))
		return local_error("frame of %zu bytes exceeds the MTU of %s", len, s->c.rs.ifname);
	req = calloc(1, len < AOE_MIN_FRAME ? AOE_MIN_FRAME : len);
	if (!req)
		return local_error("out of memory");
	aoex_put_header(&s->c, req, AOE_CMD_ATA, q->ctl ? aoex_ctl_tag(&s->c) : aoex_new_tag(&s->c));
	aoex_put_ata(req, q->aflags, q->cmd, q->feature, q->count, q->lba, q->lba48);
	if (q->datalen)
		memcpy(req + ATA_OFF_DATA, q->data, q->datalen);
	n = aoex_exchange(&s->c, req, len < AOE_MIN_FRAME ? AOE_MIN_FRAME : len,
			  s->c.retries + 1, rep, cap);
	free(req);
	if (n <= 0)
		return lib_result(s, n < 0 ? (int)n : AOEX_NO_REPLY, "ata");
	*replen = (size_t)n;
	return AOEX_OK;
}

/* IDENTIFY DEVICE into ident[512]; reports failures itself.  ctl: a
 * preliminary of another command (its tag from aoex_ctl_tag). */
static int identify_device(struct session *s, uint8_t ident[512], FILE *errout, bool ctl)
{
	struct ata_req q = { .cmd = ATA_IDENTIFY, .count = 1, .lba48 = true, .ctl = ctl };
	size_t cap = aoex_frame_cap(&s->c), len;
	uint8_t *rep = malloc(cap);
	struct aoex_ata_reply r;
	int rc;

	if (!rep)
		return local_error("out of memory");
	rc = ata_once(s, &q, rep, cap, &len);
	if (rc == AOEX_OK) {
		aoex_parse_ata(rep, len, &r);
		if (r.flags & AOE_FLAG_E) {
			print_aoe_error(errout, r.aoe_error);
			rc = AOEX_TARGET_ERROR;
		} else if (aoex_ata_failed(&r)) {
			fprintf(errout, "status=0x%02x error=0x%02x\n", r.status, r.err);
			rc = AOEX_TARGET_ERROR;
		} else if (len < ATA_HDR_LEN + 512) {
			fprintf(stderr, "aoex: identify: short reply (%zu bytes)\n", len);
			rc = AOEX_TARGET_ERROR;
		} else {
			memcpy(ident, rep + ATA_OFF_DATA, 512);
		}
	}
	free(rep);
	return rc;
}

static uint16_t ident_word(const uint8_t *id, unsigned w)
{
	return get_le16(id + 2 * w);
}

static uint64_t ident_sectors(const uint8_t *id)
{
	if (ident_word(id, 83) & (1 << 10))
		return get_le64(id + 200);
	return ident_word(id, 60) | (uint32_t)ident_word(id, 61) << 16;
}

/* ATA strings: two characters per word, the first in the high byte. */
static void print_ident_string(const char *key, const uint8_t *id, unsigned word, unsigned nwords)
{
	uint8_t s[80];
	size_t n = 2 * nwords;

	for (unsigned i = 0; i < nwords; i++) {
		s[2 * i] = id[2 * (word + i) + 1];
		s[2 * i + 1] = id[2 * (word + i)];
	}
	while (n && (s[n - 1] == ' ' || s[n - 1] == '\0'))
		n--;
	printf("%s=\"", key);
	print_escaped(stdout, s, n);
	printf("\"\n");
}

/* --------------------------------------------------- transfer plumbing */

/* Generator: consecutive frames over a contiguous buffer. */
struct span {
	uint64_t lba, left;
	unsigned spf;
	uint8_t *data;
};

static bool span_next(void *ctx, struct aoex_io *io)
{
	struct span *sp = ctx;
	unsigned n = sp->left < sp->spf ? (unsigned)sp->left : sp->spf;

	if (!n)
		return false;
	io->lba = sp->lba;
	io->nsect = n;
	io->data = sp->data;
	sp->lba += n;
	sp->left -= n;
	sp->data += (size_t)n * ATA_SECTOR;
	return true;
}

static int report_xfer(struct session *s, int rc, const struct aoex_result *res,
		       const char *what, FILE *errout)
{
	const struct aoex_ata_reply *r = &res->fail;

	if (rc < 0)
		return local_error("%s: %s", what, strerror(-rc));
	if (rc == AOEX_NO_REPLY) {
		fprintf(stderr, "aoex: %s: no reply from e%u.%u for lba %llu after %u tries\n",
			what, s->c.shelf, s->c.slot, (unsigned long long)res->fail_lba,
			s->c.retries + 1);
		return rc;
	}
	if (rc != AOEX_TARGET_ERROR)
		return rc;
	if (r->flags & AOE_FLAG_E)
		print_aoe_error(errout, r->aoe_error);
	else if (res->fail_short)
		fprintf(stderr, "aoex: %s at lba %llu: short reply (%zu bytes)\n", what,
			(unsigned long long)res->fail_lba, r->len);
	else
		fprintf(errout, "status=0x%02x error=0x%02x lba=%llu\n", r->status, r->err,
			(unsigned long long)res->fail_lba);
	return rc;
}

/* Big enough that pipeline drains between chunks cost nothing, small
 * enough to stay cache- and memory-friendly. */
#define CHUNK_BYTES (8u << 20)

static size_t chunk_sectors(unsigned spf)
{
	size_t frame = (size_t)spf * ATA_SECTOR;

	return (CHUNK_BYTES / frame) * spf;
}

/* The same, a whole number of coalesced frames of per I/Os each, so no
 * chunk boundary cuts a frame short. */
static size_t chunk_sectors_coalesced(unsigned spf, unsigned per)
{
	size_t group = (size_t)spf * (per ? per : 1);
	size_t n = (CHUNK_BYTES / (group * ATA_SECTOR)) * group;

	return n ? n : group;
}

/* Check --coalesce N against the interface and ask for coalesced_read in
 * the -x negotiation (N > 1). */
static int setup_coalesce(struct session *s, const char *cmd, unsigned n)
{
	unsigned max = aoex_coalesce_max(&s->c);

	if (n > max)
		return usage_error("%s: --coalesce %u does not fit a frame of %s (at most %u)", cmd,
				   n, s->c.rs.ifname, max);
	return n > 1 ? want_ext(s, "coalesced_read") : AOEX_OK;
}

static int check_lba_range(uint64_t lba, uint64_t count, bool lba28)
{
	uint64_t limit = lba28 ? ATA_LBA28_MAX + 1 : 1ULL << 48;

	if (lba >= limit || count > limit - lba)
		return usage_error("LBA range %llu+%llu exceeds %s addressing",
				   (unsigned long long)lba, (unsigned long long)count,
				   lba28 ? "LBA28" : "LBA48");
	return AOEX_OK;
}

/* ------------------------------------------------------------ commands */

static int qc_cmp(const void *a, const void *b)
{
	const struct aoex_config *x = a, *y = b;

	if (x->shelf != y->shelf)
		return x->shelf < y->shelf ? -1 : 1;
	if (x->slot != y->slot)
		return x->slot < y->slot ? -1 : 1;
	return memcmp(x->mac, y->mac, 6);
}

static bool qc_seen(const struct aoex_config *list, size_t n, const struct aoex_config *qc)
{
	for (size_t i = 0; i < n; i++)
		if (qc_cmp(&list[i], qc) == 0)
			return true;
	return false;
}

/* Collect Query Config replies to tag for ms; sorted, distinct. */
static int collect_configs(struct session *s, uint32_t tag, int ms,
			   struct aoex_config **out, size_t *count)
{
	size_t cap = aoex_frame_cap(&s->c), n = 0, max = 16;
	struct aoex_config *list = malloc(max * sizeof *list);
	uint8_t *rep = malloc(cap);
	uint64_t deadline = now_ns() + (uint64_t)ms * 1000000;
	int rc = AOEX_OK;

	if (!list || !rep) {
		free(list);
		free(rep);
		return local_error("out of memory");
	}
	for (;;) {
		struct aoex_config qc;
		ssize_t len = aoex_recv_until(&s->c, rep, cap, deadline);

		if (len < 0) {
			rc = local_error("receive: %s", strerror((int)-len));
			break;
		}
		if (len == 0)
			break;
		if (!aoex_reply_for_us(&s->c, rep, (size_t)len) || rep[AOE_OFF_CMD] != AOE_CMD_CONFIG ||
		    aoex_get_tag(&s->c, rep + AOE_OFF_TAG) != tag ||
		    aoex_parse_config(rep, (size_t)len, &qc) < 0 || (qc.flags & AOE_FLAG_E) ||
		    qc_seen(list, n, &qc))
			continue;
		if (n == max) {
			struct aoex_config *bigger = realloc(list, 2 * max * sizeof *list);
			if (!bigger) {
				rc = local_error("out of memory");
				break;
			}
			list = bigger;
			max *= 2;
		}
		list[n++] = qc;
	}
	free(rep);
	if (rc != AOEX_OK) {
		free(list);
		return rc;
	}
	qsort(list, n, sizeof *list, qc_cmp);
	*out = list;
	*count = n;
	return rc;
}

static int cmd_discover(struct session *s, int argc, char **argv)
{
	static const struct option lo[] = { { "wait", required_argument, NULL, 'W' }, { 0 } };
	uint64_t wait_ms = 1000;
	uint8_t req[AOE_MIN_FRAME] = { 0 };
	struct aoex_config *list;
	size_t n;
	uint32_t tag;
	int ch, rc;

	getopt_reset();
	while ((ch = getopt_long(argc, argv, ":W:", lo, NULL)) != -1) {
		if (ch != 'W')
			return bad_option("discover", ch, argv);
		if (parse_num(optarg, 3600000, &wait_ms, "wait time"))
			return AOEX_LOCAL_ERROR;
	}
	if (optind != argc)
		return usage_error("discover: unexpected argument '%s'", argv[optind]);
	s->c.shelf = AOE_SHELF_ANY;
	s->c.slot = AOE_SLOT_ANY;
	tag = aoex_new_tag(&s->c);
	aoex_put_header(&s->c, req, AOE_CMD_CONFIG, tag);
	req[QC_OFF_VERCMD] = (AOE_VERSION << 4) | QC_READ;
	rc = aoex_send(&s->c, req, sizeof req);
	if (rc < 0)
		return local_error("send: %s", strerror(-rc));
	rc = collect_configs(s, tag, (int)wait_ms, &list, &n);
	if (rc != AOEX_OK)
		return rc;
	for (size_t i = 0; i < n; i++)
		print_config_line(stdout, &list[i]);
	free(list);
	return n ? AOEX_OK : AOEX_NO_REPLY;
}

static int cmd_identify(struct session *s, int argc, char **argv)
{
	static const struct option lo[] = { { "raw", no_argument, NULL, 'R' }, { 0 } };
	bool raw = false;
	uint8_t id[512];
	int ch, rc;

	getopt_reset();
	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch != 'R')
			return bad_option("identify", ch, argv);
		raw = true;
	}
	if (argc - optind != 1)
		return usage_error("usage: identify TARGET [--raw]");
	if ((rc = parse_target(argv[optind], s)) || (rc = contact(s, false, NULL)))
		return rc;
	rc = identify_device(s, id, raw ? stderr : stdout, false);
	if (rc != AOEX_OK)
		return rc;
	if (raw)
		return write_full(STDOUT_FILENO, id, sizeof id) < 0 ?
		       local_error("stdout: %s", strerror(errno)) : AOEX_OK;
	printf("sectors=%llu\n", (unsigned long long)ident_sectors(id));
	printf("lba48=%d\n", !!(ident_word(id, 83) & (1 << 10)));
	print_ident_string("model", id, 27, 20);
	print_ident_string("serial", id, 10, 10);
	print_ident_string("firmware", id, 23, 4);
	printf("flush=%d\n", !!(ident_word(id, 83) & (1 << 12)));
	printf("flush_ext=%d\n", !!(ident_word(id, 83) & (1 << 13)));
	printf("wcache=%d\n", !!(ident_word(id, 85) & (1 << 5)));
	return AOEX_OK;
}

/* What read and write share: one file option (the letter in shortopts[1])
 * and --lba28, then TARGET LBA, and for read a COUNT. */
struct xfer_args {
	const char *path;	/* NULL: stdin/stdout */
	bool lba28;
	uint64_t lba, count;
	unsigned coalesce;	/* read --coalesce; 0: not given */
	const char *ack_log;	/* write --log-acks FILE; NULL: none */
};

static int parse_xfer_args(struct session *s, int argc, char **argv, const char *cmd,
			   const struct option *lo, const char *shortopts, int nargs,
			   const char *usage, struct xfer_args *a)
{
	int ch, rc;

	getopt_reset();
	while ((ch = getopt_long(argc, argv, shortopts, lo, NULL)) != -1) {
		if (ch == shortopts[1])
			a->path = optarg;
		else if (ch == '2')
			a->lba28 = true;
		else if (ch == 'C') {
			uint64_t v;

			if (parse_uint(optarg, 1, 256, &v) < 0)
				return usage_error("%s: bad --coalesce '%s' (1..256)", cmd, optarg);
			a->coalesce = (unsigned)v;
		} else if (ch == 'A')
			a->ack_log = optarg;
		else
			return bad_option(cmd, ch, argv);
	}
	if (argc - optind != nargs)
		return usage_error("%s", usage);
	if (a->path && strcmp(a->path, "-") == 0)
		a->path = NULL;
	if ((rc = parse_target(argv[optind], s)) ||
	    (rc = parse_num(argv[optind + 1], (1ULL << 48) - 1, &a->lba, "LBA")))
		return rc;
	if (nargs == 3)
		rc = parse_num(argv[optind + 2], 1ULL << 48, &a->count, "COUNT");
	return rc;
}

static int cmd_read(struct session *s, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "lba28", no_argument, NULL, '2' },
		{ "coalesce", required_argument, NULL, 'C' },
		{ 0 }
	};
	struct xfer_args a = { 0 };
	uint64_t done = 0;
	struct aoex_result res = { 0 };
	struct aoex_xfer *x = NULL;
	uint8_t *buf = NULL;
	unsigned spf;
	size_t chunk;
	int rc, fd = STDOUT_FILENO;
	FILE *errout;

	if ((rc = parse_xfer_args(s, argc, argv, "read", lo, ":o:", 3,
				  "usage: read TARGET LBA COUNT [-o FILE] [--lba28] [--coalesce N]",
				  &a)) ||
	    (rc = check_lba_range(a.lba, a.count, a.lba28)) ||
	    (a.coalesce && (rc = setup_coalesce(s, "read", a.coalesce))))
		return rc;
	const char *path = a.path;
	const uint64_t lba = a.lba, count = a.count;
	const bool lba28 = a.lba28;
	if (path) {
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return local_error("%s: %s", path, strerror(errno));
	}
	errout = path ? stdout : stderr;
	if ((rc = contact(s, true, &spf)))
		goto out;
	chunk = a.coalesce ? chunk_sectors_coalesced(spf, a.coalesce) : chunk_sectors(spf);
	x = aoex_xfer_new_coalesced(&s->c, s->o.window, spf, a.coalesce ? a.coalesce : 1);
	buf = malloc(chunk * ATA_SECTOR);
	if (!x || !buf) {
		rc = local_error("out of memory");
		goto out;
	}
	while (done < count) {
		uint64_t n = count - done < chunk ? count - done : chunk;
		struct span sp = { .lba = lba + done, .left = n, .spf = spf, .data = buf };
		struct aoex_job job = { .lba48 = !lba28, .next = span_next, .ctx = &sp,
					.coalesce = a.coalesce };

		rc = report_xfer(s, aoex_xfer_run(x, &job, &res), &res, "read", errout);
		if (rc != AOEX_OK)
			break;
		if (write_full(fd, buf, n * ATA_SECTOR) < 0) {
			rc = local_error("%s: %s", path ? path : "stdout", strerror(errno));
			break;
		}
		done += n;
	}
	/* every transmission, retransmissions included; one reply per I/O */
	if (a.coalesce) {
		fprintf(errout, "frames_sent=%llu replies=%llu\n",
			(unsigned long long)(res.req_frames + res.retransmits),
			(unsigned long long)res.replies);
		fflush(errout);
	}
out:
	aoex_xfer_free(x);
	free(buf);
	if (path && close(fd) < 0 && rc == AOEX_OK)
		rc = local_error("%s: %s", path, strerror(errno));
	return rc;
}

/* The input of write: a regular file is streamed, anything else is read
 * into memory first so its length can be checked before a frame is sent. */
struct wsource {
	int fd;
	bool streamed;
	uint8_t *mem;
	uint64_t len;
};

static int wsource_open(struct wsource *w, const char *path)
{
	struct stat st;
	size_t len;
	int rc;

	memset(w, 0, sizeof *w);
	w->fd = path ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (w->fd < 0)
		return local_error("%s: %s", path, strerror(errno));
	if (fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t pos = lseek(w->fd, 0, SEEK_CUR);

		w->streamed = true;
		w->len = (uint64_t)(st.st_size - (pos > 0 ? pos : 0));
	} else {
		rc = slurp(w->fd, &w->mem, &len);
		if (rc < 0)
			return local_error("%s: %s", path ? path : "stdin", strerror(-rc));
		w->len = len;
	}
	if (w->len % ATA_SECTOR)
		return local_error("%s: length %llu is not a multiple of 512",
				   path ? path : "stdin", (unsigned long long)w->len);
	return AOEX_OK;
}

static void wsource_close(struct wsource *w, const char *path)
{
	if (path && w->fd >= 0)
		close(w->fd);
	free(w->mem);
}

/* write --log-acks: one line "LBA COUNT" per acknowledged frame */
static void log_ack(void *ctx, const struct aoex_io *io)
{
	fprintf(ctx, "%llu %u\n", (unsigned long long)io->lba, io->nsect);
}

static int cmd_write(struct session *s, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "lba28", no_argument, NULL, '2' },
		{ "log-acks", required_argument, NULL, 'A' },
		{ 0 }
	};
	struct xfer_args a = { 0 };
	uint64_t done = 0;
	struct aoex_result res = { 0 };
	struct aoex_xfer *x = NULL;
	struct wsource w = { .fd = -1 };
	FILE *acks = NULL;
	uint8_t *buf = NULL;
	unsigned spf;
	int rc;

	if ((rc = parse_xfer_args(s, argc, argv, "write", lo, ":f:", 2,
				  "usage: write TARGET LBA [-f FILE] [--lba28] [--log-acks FILE]",
				  &a)))
		return rc;
	if (a.ack_log && !(acks = fopen(a.ack_log, "we")))
		return local_error("--log-acks %s: %s", a.ack_log, strerror(errno));
	const char *path = a.path;
	const uint64_t lba = a.lba;
	const bool lba28 = a.lba28;
	if ((rc = wsource_open(&w, path)) ||
	    (rc = check_lba_range(lba, w.len / ATA_SECTOR, lba28)) ||
	    (rc = contact(s, true, &spf)))
		goto out;
	x = aoex_xfer_new(&s->c, s->o.window, spf);
	buf = w.streamed ? malloc(chunk_sectors(spf) * ATA_SECTOR) : NULL;
	if (!x || (w.streamed && !buf)) {
		rc = local_error("out of memory");
		goto out;
	}
	while (done < w.len / ATA_SECTOR) {
		uint64_t left = w.len / ATA_SECTOR - done;
		uint64_t n = left < chunk_sectors(spf) ? left : chunk_sectors(spf);
		struct span sp = { .lba = lba + done, .left = n, .spf = spf,
				   .data = w.streamed ? buf : w.mem + done * ATA_SECTOR };
		struct aoex_job job = { .write = true, .lba48 = !lba28, .next = span_next, .ctx = &sp,
					.on_ack = acks ? log_ack : NULL, .ack_ctx = acks };

		if (w.streamed && read_full(w.fd, buf, n * ATA_SECTOR) != (ssize_t)(n * ATA_SECTOR)) {
			rc = local_error("%s: short read (file changed?)", path ? path : "stdin");
			break;
		}
		rc = report_xfer(s, aoex_xfer_run(x, &job, &res), &res, "write", stdout);
		if (rc != AOEX_OK)
			break;
		done += n;
	}
out:
	aoex_xfer_free(x);
	free(buf);
	wsource_close(&w, path);
	if (acks && fclose(acks) && rc == AOEX_OK)
		rc = local_error("--log-acks %s: %s", a.ack_log, strerror(errno));
	return rc;
}

static void print_ata_reply(const struct aoex_ata_reply *r)
{
	printf("status=0x%02x error=0x%02x count=%u lba=%llu len=%zu\n", r->status, r->err,
	       r->scnt, (unsigned long long)r->lba, r->len);
	if (r->flags & AOE_FLAG_E)
		print_aoe_error(stdout, r->aoe_error);
}

/* What an ATA reply's length should be when the command succeeded. */
static size_t expected_len(const struct ata_req *q)
{
	bool data_in = (q->cmd == ATA_READ || q->cmd == ATA_READ_EXT || q->cmd == ATA_IDENTIFY) &&
		       !(q->aflags & ATA_AFLAG_W);
	size_t len = ATA_HDR_LEN + (data_in ? (size_t)q->count * ATA_SECTOR : 0);

	return len < AOE_MIN_FRAME ? AOE_MIN_FRAME : len;
}

/* One raw ATA command: print the reply registers, judge the outcome. */
static int run_ata(struct session *s, const struct ata_req *q, bool expect_len)
{
	size_t cap = aoex_frame_cap(&s->c), len;
	uint8_t *rep = malloc(cap);
	struct aoex_ata_reply r;
	int rc;

	if (!rep)
		return local_error("out of memory");
	rc = ata_once(s, q, rep, cap, &len);
	if (rc == AOEX_OK) {
		aoex_parse_ata(rep, len, &r);
		print_ata_reply(&r);
		if (aoex_ata_failed(&r)) {
			rc = AOEX_TARGET_ERROR;
		} else if (expect_len && len != expected_len(q)) {
			printf("expected_len=%zu\n", expected_len(q));
			rc = AOEX_TARGET_ERROR;
		}
	}
	free(rep);
	return rc;
}

static int cmd_ata(struct session *s, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "lba", required_argument, NULL, 'l' },
		{ "count", required_argument, NULL, 'c' },
		{ "feature", required_argument, NULL, 'F' },
		{ "aflags", required_argument, NULL, 'a' },
		{ "data", required_argument, NULL, 'D' },
		{ "expect-len", no_argument, NULL, 'x' },
		{ 0 }
	};
	struct ata_req q = { .lba48 = true };	/* raw: the LBA goes out as given */
	uint8_t *data = NULL;
	bool expect = false;
	uint64_t v;
	int ch, rc = AOEX_OK;

	getopt_reset();
	while (rc == AOEX_OK && (ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (ch) {
		case 'l': rc = parse_num(optarg, (1ULL << 48) - 1, &q.lba, "LBA"); break;
		case 'c': rc = parse_num(optarg, 255, &v, "count"); q.count = (uint8_t)v; break;
		case 'F': rc = parse_num(optarg, 255, &v, "feature"); q.feature = (uint8_t)v; break;
		case 'a': rc = parse_num(optarg, 255, &v, "aflags"); q.aflags = (uint8_t)v; break;
		case 'x': expect = true; break;
		case 'D':
			free(data);
			rc = slurp_path(optarg, &data, &q.datalen);
			break;
		default: rc = bad_option("ata", ch, argv); break;
		}
	}
	if (rc == AOEX_OK && argc - optind != 2)
		rc = usage_error("usage: ata TARGET OPCODE [--lba L] [--count C] [--feature F] "
				 "[--aflags A] [--data FILE] [--expect-len]");
	if (rc == AOEX_OK && !(rc = parse_target(argv[optind], s)) &&
	    !(rc = parse_num(argv[optind + 1], 255, &v, "OPCODE"))) {
		q.cmd = (uint8_t)v;
		q.data = data;
		rc = contact(s, false, NULL);
		if (rc == AOEX_OK)
			rc = run_ata(s, &q, expect);
	}
	free(data);
	return rc;
}

static int cmd_flush(struct session *s, int argc, char **argv)
{
	struct ata_req q = { .aflags = ATA_AFLAG_E, .cmd = ATA_FLUSH_EXT, .lba48 = true };
	int rc;

	if (argc != 2)
		return usage_error("usage: flush TARGET");
	if ((rc = parse_target(argv[1], s)) || (rc = contact(s, false, NULL)))
		return rc;
	return run_ata(s, &q, false);
}

static int parse_ccmd(const char *arg, unsigned *ccmd)
{
	static const char *const names[] = { "read", "test", "prefix", "set", "fset" };
	uint64_t v;

	for (unsigned i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(arg, names[i]) == 0) {
			*ccmd = i;
			return AOEX_OK;
		}
	if (parse_uint(arg, 0, 15, &v) == 0) {
		*ccmd = (unsigned)v;
		return AOEX_OK;
	}
	return usage_error("config: unknown subcommand '%s' (read|test|prefix|set|fset)", arg);
}

static int cmd_config(struct session *s, int argc, char **argv)
{
	const char *str = argc > 3 ? argv[3] : "";
	size_t slen = strlen(str), cap = aoex_frame_cap(&s->c);
	size_t len = QC_HDR_LEN + slen;
	unsigned ccmd = 0, tries;
	struct aoex_config qc;
	uint8_t *req, *rep;
	ssize_t n;
	int rc;

	if (argc < 3 || argc > 4)
		return usage_error("usage: config TARGET read|test|prefix|set|fset [STRING]");
	if ((rc = parse_target(argv[1], s)) || (rc = parse_ccmd(argv[2], &ccmd)))
		return rc;
	if (len > cap || slen > 0xFFFF)
		return local_error("config string of %zu bytes does not fit a frame", slen);
	req = calloc(1, cap);
	rep = malloc(cap);
	if (!req || !rep) {
		free(req);
		free(rep);
		return local_error("out of memory");
	}
	aoex_put_header(&s->c, req, AOE_CMD_CONFIG, aoex_new_tag(&s->c));
	req[QC_OFF_VERCMD] = (uint8_t)((AOE_VERSION << 4) | ccmd);
	put_be16(req + QC_OFF_CSLEN, (uint16_t)slen);
	memcpy(req + QC_OFF_CS, str, slen);
	/* silence is how a target says "no match" to test and prefix */
	tries = ccmd == QC_TEST || ccmd == QC_TEST_PREFIX ? 1 : s->c.retries + 1;
	n = aoex_exchange(&s->c, req, len < AOE_MIN_FRAME ? AOE_MIN_FRAME : len, tries, rep, cap);
	if (n < 0) {
		rc = local_error("config: %s", strerror((int)-n));
	} else if (n == 0 || aoex_parse_config(rep, (size_t)n, &qc) < 0) {
		printf("no reply\n");
		rc = AOEX_NO_REPLY;
	} else if (qc.flags & AOE_FLAG_E) {
		print_aoe_error(stdout, qc.error);
		rc = AOEX_TARGET_ERROR;
	} else {
		print_config_line(stdout, &qc);
	}
	free(req);
	free(rep);
	return rc;
}

/* +MAC, -MAC, =MAC or dcmd:N:MAC into one 8-byte directive. */
static int parse_directive(const char *arg, uint8_t dir[MASK_DIR_LEN])
{
	const char *mac = arg + 1;
	uint64_t dcmd;

	memset(dir, 0, MASK_DIR_LEN);
	switch (arg[0]) {
	case '+': dcmd = MASK_DIR_ADD; break;
	case '-': dcmd = MASK_DIR_DEL; break;
	case '=': dcmd = MASK_DIR_NONE; break;
	default:
		if (strncmp(arg, "dcmd:", 5) == 0) {
			char num[8];
			const char *colon = strchr(arg + 5, ':');
			size_t l = colon ? (size_t)(colon - (arg + 5)) : 0;

			if (!colon || l == 0 || l >= sizeof num)
				goto bad;
			memcpy(num, arg + 5, l);
			num[l] = '\0';
			if (parse_uint(num, 0, 255, &dcmd) < 0)
				goto bad;
			mac = colon + 1;
			break;
		}
		goto bad;
	}
	if (parse_mac(mac, dir + 2) < 0)
		goto bad;
	dir[1] = (uint8_t)dcmd;
	return AOEX_OK;
bad:
	return usage_error("mask: bad directive '%s' (+MAC, -MAC, =MAC or dcmd:N:MAC)", arg);
}

static int cmd_mask(struct session *s, int argc, char **argv)
{
	size_t cap = aoex_frame_cap(&s->c), len = MASK_HDR_LEN;
	unsigned ndir = 0, first = 3;
	uint8_t *req = NULL, *rep = NULL;
	bool edit;
	ssize_t n;
	int rc;

	if (argc < 3 || (strcmp(argv[2], "read") && strcmp(argv[2], "edit")))
		return usage_error("usage: mask TARGET read | mask TARGET edit [+MAC|-MAC|=MAC|dcmd:N:MAC ...]");
	edit = strcmp(argv[2], "edit") == 0;
	if (!edit && argc != 3)
		return usage_error("mask: read takes no directives");
	if (first < (unsigned)argc && strcmp(argv[first], "--") == 0)
		first++;
	if (argc - first > 255 || MASK_HDR_LEN + (size_t)(argc - first) * MASK_DIR_LEN > cap)
		return usage_error("mask: too many directives for one frame");
	if ((rc = parse_target(argv[1], s)))
		return rc;
	req = calloc(1, cap);
	rep = malloc(cap);
	if (!req || !rep) {
		rc = local_error("out of memory");
		goto out;
	}
	for (int i = (int)first; i < argc; i++, ndir++, len += MASK_DIR_LEN)
		if ((rc = parse_directive(argv[i], req + len)))
			goto out;
	if ((rc = contact(s, false, NULL)))
		goto out;
	aoex_put_header(&s->c, req, AOE_CMD_MASK, aoex_new_tag(&s->c));
	req[MASK_OFF_MCMD] = edit ? MASK_EDIT : MASK_READ;
	req[MASK_OFF_DCOUNT] = (uint8_t)ndir;
	n = aoex_exchange(&s->c, req, len < AOE_MIN_FRAME ? AOE_MIN_FRAME : len,
			  s->c.retries + 1, rep, cap);
	if (n <= 0) {
		rc = lib_result(s, n < 0 ? (int)n : AOEX_NO_REPLY, "mask");
	} else if (rep[AOE_OFF_VERFLAGS] & AOE_FLAG_E) {
		print_aoe_error(stdout, rep[AOE_OFF_ERROR]);
		rc = AOEX_TARGET_ERROR;
	} else if (n < MASK_HDR_LEN) {
		local_error("mask: short reply (%zd bytes)", n);
		rc = AOEX_TARGET_ERROR;
	} else if (rep[MASK_OFF_MERROR]) {
		printf("merror=%u index=%u\n", rep[MASK_OFF_MERROR], rep[MASK_OFF_DCOUNT]);
		rc = AOEX_TARGET_ERROR;
	} else {
		unsigned cnt = rep[MASK_OFF_DCOUNT], fit = (unsigned)((n - MASK_HDR_LEN) / MASK_DIR_LEN);

		print_mac_list(rep + MASK_OFF_DIRS + 2, cnt < fit ? cnt : fit, MASK_DIR_LEN);
	}
out:
	free(req);
	free(rep);
	return rc;
}

static int parse_rcmd(const char *arg, unsigned *rcmd, bool *takes_macs)
{
	uint64_t v;

	*takes_macs = true;
	if (strcmp(arg, "read") == 0) {
		*rcmd = RES_READ;
		*takes_macs = false;
	} else if (strcmp(arg, "release") == 0) {
		*rcmd = RES_SET;
		*takes_macs = false;
	} else if (strcmp(arg, "set") == 0) {
		*rcmd = RES_SET;
	} else if (strcmp(arg, "fset") == 0) {
		*rcmd = RES_FORCE_SET;
	} else if (parse_uint(arg, 0, 255, &v) == 0) {
		*rcmd = (unsigned)v;
	} else {
		return usage_error("reserve: unknown subcommand '%s' (read|release|set|fset)", arg);
	}
	return AOEX_OK;
}

static int cmd_reserve(struct session *s, int argc, char **argv)
{
	size_t cap = aoex_frame_cap(&s->c), len = RES_HDR_LEN;
	uint8_t *req = NULL, *rep = NULL;
	unsigned rcmd = 0, nmacs = argc > 3 ? (unsigned)argc - 3 : 0;
	bool takes_macs;
	ssize_t n;
	int rc;

	if (argc < 3)
		return usage_error("usage: reserve TARGET read|release|set MAC...|fset MAC...");
	if ((rc = parse_target(argv[1], s)) || (rc = parse_rcmd(argv[2], &rcmd, &takes_macs)))
		return rc;
	if (!takes_macs && nmacs)
		return usage_error("reserve: %s takes no MACs", argv[2]);
	if (nmacs > 255 || RES_HDR_LEN + (size_t)nmacs * 6 > cap)
		return usage_error("reserve: too many MACs for one frame");
	req = calloc(1, cap);
	rep = malloc(cap);
	if (!req || !rep) {
		rc = local_error("out of memory");
		goto out;
	}
	for (unsigned i = 0; i < nmacs; i++, len += 6)
		if (parse_mac(argv[3 + i], req + len) < 0) {
			rc = usage_error("reserve: bad MAC '%s'", argv[3 + i]);
			goto out;
		}
	if ((rc = contact(s, false, NULL)))
		goto out;
	aoex_put_header(&s->c, req, AOE_CMD_RESERVE, aoex_new_tag(&s->c));
	req[RES_OFF_RCMD] = (uint8_t)rcmd;
	req[RES_OFF_NMACS] = (uint8_t)nmacs;
	n = aoex_exchange(&s->c, req, len < AOE_MIN_FRAME ? AOE_MIN_FRAME : len,
			  s->c.retries + 1, rep, cap);
	if (n <= 0) {
		rc = lib_result(s, n < 0 ? (int)n : AOEX_NO_REPLY, "reserve");
	} else if (rep[AOE_OFF_VERFLAGS] & AOE_FLAG_E) {
		print_aoe_error(stdout, rep[AOE_OFF_ERROR]);
		rc = AOEX_TARGET_ERROR;
	} else if (n < RES_HDR_LEN) {
		local_error("reserve: short reply (%zd bytes)", n);
		rc = AOEX_TARGET_ERROR;
	} else {
		unsigned cnt = rep[RES_OFF_NMACS], fit = (unsigned)((n - RES_HDR_LEN) / 6);

		print_mac_list(rep + RES_OFF_MACS, cnt < fit ? cnt : fit, 6);
	}
out:
	free(req);
	free(rep);
	return rc;
}

static int cmd_raw(struct session *s, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "no-eth", no_argument, NULL, 'N' },
		{ "wait", required_argument, NULL, 'W' },
		{ 0 }
	};
	size_t cap = aoex_frame_cap(&s->c), len = 0, hdr = 0;
	uint64_t wait_ms = 500, deadline;
	bool no_eth = false;
	unsigned got = 0;
	uint8_t *f = NULL, *rep = NULL;
	int ch, rc = AOEX_OK;

	getopt_reset();
	/* "+": stop at the first HEX word so one like "-1" is no option */
	while ((ch = getopt_long(argc, argv, "+:W:", lo, NULL)) != -1) {
		if (ch == 'N')
			no_eth = true;
		else if (ch == 'W') {
			if (parse_num(optarg, 3600000, &wait_ms, "wait time"))
				return AOEX_LOCAL_ERROR;
		} else
			return bad_option("raw", ch, argv);
	}
	if (optind == argc)
		return usage_error("usage: raw [--no-eth] [-W MS] HEX");
	f = calloc(1, 65536);
	rep = malloc(cap);
	if (!f || !rep) {
		rc = local_error("out of memory");
		goto out;
	}
	if (no_eth) {
		memcpy(f + AOE_OFF_DST, s->c.dst, 6);
		memcpy(f + AOE_OFF_SRC, s->c.src, 6);
		put_be16(f + AOE_OFF_TYPE, AOE_ETHERTYPE);
		hdr = len = AOE_OFF_VERFLAGS;
	}
	for (int i = optind; i < argc; i++)
		if (parse_hex(argv[i], f, 65536, &len) < 0) {
			rc = usage_error("raw: bad hex '%s'", argv[i]);
			goto out;
		}
	if (len < AOE_OFF_VERFLAGS || len == hdr) {
		rc = usage_error("raw: frame too short (%zu bytes)", len);
		goto out;
	}
	rc = aoex_send(&s->c, f, len);
	if (rc < 0) {
		rc = local_error("send: %s", strerror(-rc));
		goto out;
	}
	deadline = now_ns() + wait_ms * 1000000;
	for (;;) {
		ssize_t n = aoex_recv_until(&s->c, rep, cap, deadline);

		if (n < 0) {
			rc = local_error("receive: %s", strerror((int)-n));
			goto out;
		}
		if (n == 0)
			break;
		if (n <= AOE_OFF_VERFLAGS || get_be16(rep + AOE_OFF_TYPE) != AOE_ETHERTYPE ||
		    !(rep[AOE_OFF_VERFLAGS] & AOE_FLAG_R))
			continue;
		for (ssize_t i = 0; i < n; i++)
			printf("%02x", rep[i]);
		putchar('\n');
		fflush(stdout);
		got++;
	}
	rc = got ? AOEX_OK : AOEX_NO_REPLY;
out:
	free(f);
	free(rep);
	return rc;
}

/* ----------------------------------------------------------- extensions */

/* The reply table, one string per line as it came back, then the names
 * the target upper-cased, lowercased. */
static void print_ext_reply(const struct aoex_ext_reply *r)
{
	bool first = true;

	for (unsigned i = 0; i < r->nstr; i++) {
		print_escaped(stdout, (const uint8_t *)r->strs[i].s, r->strs[i].len);
		putchar('\n');
	}
	fputs("active=", stdout);
	for (unsigned i = 0; i < r->nstr; i++) {
		if (!r->strs[i].active)
			continue;
		if (!first)
			putchar(',');
		first = false;
		for (size_t j = 0; j < r->strs[i].len; j++)
			putchar(tolower((unsigned char)r->strs[i].s[j]));
	}
	putchar('\n');
	fflush(stdout);
}

static int cmd_ext(struct session *s, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "raw-table", required_argument, NULL, 'X' },
		{ "len", required_argument, NULL, 'L' },
		{ 0 }
	};
	static const char usage[] = "usage: ext TARGET NAME... | ext TARGET --raw-table HEX [--len N]";
	size_t cap = aoex_frame_cap(&s->c), tlen = 0;
	const char *raw = NULL;
	uint64_t lenfield = 0;
	bool have_len = false;
	struct aoex_ext_reply r = { 0 };
	uint8_t *table = NULL;
	unsigned tries;
	int ch, rc;

	getopt_reset();
	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		if (ch == 'X') {
			raw = optarg;
		} else if (ch == 'L') {
			if (parse_num(optarg, 0xFFFF, &lenfield, "--len"))
				return AOEX_LOCAL_ERROR;
			have_len = true;
		} else {
			return bad_option("ext", ch, argv);
		}
	}
	if (argc - optind < 1 || (raw && argc - optind != 1) || (!raw && argc - optind < 2))
		return usage_error("%s", usage);
	if (have_len && !raw)
		return usage_error("ext: --len needs --raw-table");
	if ((rc = parse_target(argv[optind], s)))
		return rc;
	table = malloc(cap);
	if (!table)
		return local_error("out of memory");
	if (raw) {
		if (parse_hex(raw, table, cap - EXT_OFF_TABLE, &tlen) < 0) {
			rc = usage_error("ext: bad --raw-table '%s' (hex, at most %zu bytes)", raw,
					 cap - EXT_OFF_TABLE);
			goto out;
		}
		if (!have_len)
			lenfield = tlen;
		tries = 1;	/* a bad table gets no reply by design */
	} else {
		const char *const *names = (const char *const *)argv + optind + 1;
		unsigned n = (unsigned)(argc - optind - 1);

		for (unsigned i = 0; i < n; i++)
			if (!*names[i]) {
				rc = usage_error("ext: empty NAME (it would end the table)");
				goto out;
			}
		tlen = aoex_ext_table(names, n, table, cap - EXT_OFF_TABLE);
		if (!tlen) {
			rc = usage_error("ext: the names do not fit one frame of %s", s->c.rs.ifname);
			goto out;
		}
		lenfield = tlen;
		tries = s->c.retries + 1;
	}
	if ((rc = contact(s, false, NULL)))
		goto out;
	rc = aoex_ext_request(&s->c, aoex_new_tag(&s->c), table, tlen, (uint16_t)lenfield, tries, &r);
	if (rc != AOEX_OK) {
		rc = lib_result(s, rc, "ext");
	} else if (r.flags & AOE_FLAG_E) {
		print_aoe_error(stdout, r.error);
		rc = AOEX_TARGET_ERROR;
	} else {
		print_ext_reply(&r);
		if (r.malformed) {
			fprintf(stderr, "aoex: ext: malformed reply (table length %u, sent %llu)\n",
				r.len, (unsigned long long)lenfield);
			rc = AOEX_TARGET_ERROR;
		}
	}
out:
	aoex_ext_reply_free(&r);
	free(table);
	return rc;
}

static uint32_t random_u32(void)
{
	uint32_t v;

	if (getrandom(&v, sizeof v, GRND_NONBLOCK) == (ssize_t)sizeof v)
		return v;
	return (uint32_t)(now_ns() ^ ((uint64_t)getpid() << 16));
}

/* Index of tag in tags[0..n): they come from the counter, so usually at
 * tag - tags[0]. */
static long find_tag(const uint32_t *tags, size_t n, uint32_t tag)
{
	uint32_t d = tag - tags[0];

	if (d < n && tags[d] == tag)
		return (long)d;
	if (d > 0 && d - 1 < n && tags[d - 1] == tag)	/* the counter skipped 0 */
		return (long)(d - 1);
	for (size_t i = 0; i < n; i++)
		if (tags[i] == tag)
			return (long)i;
	return -1;
}

static int cmd_probe(struct session *s, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "burst", required_argument, NULL, 'B' },
		{ "id", required_argument, NULL, 'I' },
		{ "wait", required_argument, NULL, 'W' },
		{ 0 }
	};
	size_t cap = aoex_frame_cap(&s->c), tlen, flen;
	uint64_t burst = 64, wait_ms = 1500, t0 = 0, deadline;
	char idbuf[16];
	const char *id = NULL, *names[2];
	uint8_t *table = NULL, *f = NULL, *rep = NULL;
	uint32_t *tags = NULL;
	bool *got = NULL;
	unsigned replied = 0, taken = 0, first_err = 0;
	long long first_ms = -1;
	int ch, rc;

	getopt_reset();
	while ((ch = getopt_long(argc, argv, ":W:", lo, NULL)) != -1) {
		switch (ch) {
		case 'B':
			if (parse_num(optarg, 1024, &burst, "--burst"))
				return AOEX_LOCAL_ERROR;
			break;
		case 'I':
			if (!*optarg)
				return usage_error("probe: empty --id");
			id = optarg;
			break;
		case 'W':
			if (parse_num(optarg, 3600000, &wait_ms, "wait time"))
				return AOEX_LOCAL_ERROR;
			break;
		default:
			return bad_option("probe", ch, argv);
		}
	}
	if (argc - optind != 1)
		return usage_error("usage: probe TARGET [--burst N] [--id ID] [-W MS]");
	if ((rc = parse_target(argv[optind], s)))
		return rc;
	if (!id) {
		snprintf(idbuf, sizeof idbuf, "%u", random_u32());
		id = idbuf;
	}
	names[0] = "congestion";
	names[1] = id;
	table = malloc(cap);
	f = malloc(cap);
	rep = malloc(cap);
	tags = calloc(burst + 1, sizeof *tags);
	got = calloc(burst + 1, sizeof *got);
	if (!table || !f || !rep || !tags || !got) {
		rc = local_error("out of memory");
		goto out;
	}
	tlen = aoex_ext_table(names, 2, table, cap - EXT_OFF_TABLE);
	if (!tlen) {
		rc = usage_error("probe: --id does not fit a frame");
		goto out;
	}
	if ((rc = contact(s, false, NULL)))
		goto out;
	/* the first probe, then at once the burst: same id, distinct tags */
	for (uint64_t i = 0; i <= burst; i++) {
		tags[i] = aoex_new_tag(&s->c);
		flen = aoex_ext_frame(&s->c, f, tags[i], table, tlen, (uint16_t)tlen);
		rc = aoex_send(&s->c, f, flen);
		if (rc < 0) {
			rc = local_error("send: %s", strerror(-rc));
			goto out;
		}
		if (i == 0)
			t0 = now_ns();
	}
	deadline = t0 + wait_ms * 1000000;
	while (taken <= burst) {
		ssize_t n = aoex_recv_until(&s->c, rep, cap, deadline);
		long i;

		if (n < 0) {
			rc = local_error("receive: %s", strerror((int)-n));
			goto out;
		}
		if (n == 0)
			break;
		if (!aoex_reply_for_us(&s->c, rep, (size_t)n) || rep[AOE_OFF_CMD] != AOE_CMD_EXT)
			continue;
		i = find_tag(tags, burst + 1, aoex_get_tag(&s->c, rep + AOE_OFF_TAG));
		if (i < 0 || got[i])
			continue;
		got[i] = true;
		taken++;
		if (i == 0) {
			first_ms = (long long)((now_ns() - t0 + 500000) / 1000000);
			if (rep[AOE_OFF_VERFLAGS] & AOE_FLAG_E)
				first_err = rep[AOE_OFF_ERROR] ? rep[AOE_OFF_ERROR] : 256;
		} else if (!(rep[AOE_OFF_VERFLAGS] & AOE_FLAG_E)) {
			replied++;
		}
	}
	printf("id=%s burst=%llu replied=%u first_reply_ms=%lld window=%u\n", id,
	       (unsigned long long)burst, replied, first_ms, replied);
	if (first_ms < 0) {
		rc = no_reply(s);
	} else if (first_err) {
		print_aoe_error(stdout, first_err & 0xFF);
		rc = AOEX_TARGET_ERROR;
	}
out:
	free(table);
	free(f);
	free(rep);
	free(tags);
	free(got);
	return rc;
}

/* ---------------------------------------------------------------- bench */

enum bench_mode { SEQREAD, SEQWRITE, RANDREAD, RANDWRITE };
static const char *const bench_modes[] = { "seqread", "seqwrite", "randread", "randwrite" };

struct bench {
	enum bench_mode mode;
	uint64_t bytes;		/* sequential */
	uint64_t io_size;	/* random */
	double seconds;		/* random */
	uint64_t region;	/* sectors */
	unsigned spf;
	unsigned coalesce;	/* I/Os per read frame; 0: not given */
	/* generator state */
	uint64_t pos, left, deadline, rng;
	uint64_t io_lba;
	unsigned io_left;
};

static uint64_t xorshift64(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* Sequential: from LBA 0, wrapping at the end of the region. */
static bool bench_seq_next(void *ctx, struct aoex_io *io)
{
	struct bench *b = ctx;
	uint64_t n = b->left < b->spf ? b->left : b->spf;

	if (b->region - b->pos < n)
		n = b->region - b->pos;
	if (!n)
		return false;
	io->lba = b->pos;
	io->nsect = (unsigned)n;
	io->data = NULL;
	b->pos += n;
	if (b->pos == b->region)
		b->pos = 0;
	b->left -= n;
	return true;
}

/* Random: io_size I/Os at aligned random offsets, cut into frames, until
 * the time is up. */
static bool bench_rand_next(void *ctx, struct aoex_io *io)
{
	struct bench *b = ctx;
	unsigned io_sect = (unsigned)(b->io_size / ATA_SECTOR);
	unsigned n;

	if (!b->io_left) {
		if (now_ns() >= b->deadline)
			return false;
		b->io_lba = (xorshift64(&b->rng) % (b->region / io_sect)) * io_sect;
		b->io_left = io_sect;
	}
	n = b->io_left < b->spf ? b->io_left : b->spf;
	io->lba = b->io_lba;
	io->nsect = n;
	io->data = NULL;
	b->io_lba += n;
	b->io_left -= n;
	return true;
}

static int bench_options(struct bench *b, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "mode", required_argument, NULL, 'M' },
		{ "bytes", required_argument, NULL, 'B' },
		{ "io-size", required_argument, NULL, 'I' },
		{ "seconds", required_argument, NULL, 'S' },
		{ "region-sectors", required_argument, NULL, 'R' },
		{ "coalesce", required_argument, NULL, 'C' },
		{ 0 }
	};
	uint64_t v;
	int ch;
	char *end;

	getopt_reset();
	while ((ch = getopt_long(argc, argv, ":", lo, NULL)) != -1) {
		switch (ch) {
		case 'M':
			for (b->mode = SEQREAD; b->mode <= RANDWRITE; b->mode++)
				if (strcmp(optarg, bench_modes[b->mode]) == 0)
					break;
			if (b->mode > RANDWRITE)
				return usage_error("bench: unknown mode '%s'", optarg);
			break;
		case 'B':
			if (parse_size(optarg, &b->bytes) < 0 || b->bytes < ATA_SECTOR)
				return usage_error("bench: bad --bytes '%s'", optarg);
			break;
		case 'I':
			if (parse_size(optarg, &b->io_size) < 0 || !b->io_size ||
			    b->io_size % ATA_SECTOR || b->io_size > (1ULL << 30))
				return usage_error("bench: --io-size must be a multiple of 512");
			break;
		case 'S':
			b->seconds = strtod(optarg, &end);
			if (*end || !(b->seconds > 0) || b->seconds > 86400)
				return usage_error("bench: bad --seconds '%s'", optarg);
			break;
		case 'R':
			if (parse_uint(optarg, 1, 1ULL << 48, &b->region) < 0)
				return usage_error("bench: bad --region-sectors '%s'", optarg);
			break;
		case 'C':
			if (parse_uint(optarg, 1, 256, &v) < 0)
				return usage_error("bench: bad --coalesce '%s' (1..256)", optarg);
			b->coalesce = (unsigned)v;
			break;
		default:
			return bad_option("bench", ch, argv);
		}
	}
	return AOEX_OK;
}

static int cmd_bench(struct session *s, int argc, char **argv)
{
	struct bench b = { .mode = SEQREAD, .bytes = 256ULL << 20, .io_size = 4096, .seconds = 5 };
	struct aoex_result res = { 0 };
	struct aoex_xfer *x;
	uint8_t id[512];
	uint64_t capacity, t0, t1;
	bool seq;
	double secs, units;
	int rc;

	if ((rc = bench_options(&b, argc, argv)))
		return rc;
	if (argc - optind != 1)
		return usage_error("usage: bench TARGET [--mode M] [--bytes N] [--io-size BYTES] "
				   "[--seconds S] [--region-sectors N] [--coalesce N]");
	if (b.coalesce && b.mode != SEQREAD && b.mode != RANDREAD)
		return usage_error("bench: --coalesce needs --mode seqread or randread");
	if ((rc = parse_target(argv[optind], s)) ||
	    (b.coalesce && (rc = setup_coalesce(s, "bench", b.coalesce))) ||
	    (rc = contact(s, true, &b.spf)) ||
	    (rc = identify_device(s, id, stdout, true)))
		return rc;
	capacity = ident_sectors(id);
	if (!b.region || b.region > capacity)
		b.region = capacity;
	seq = b.mode == SEQREAD || b.mode == SEQWRITE;
	if (!b.region || (!seq && b.region < b.io_size / ATA_SECTOR))
		return local_error("bench: region of %llu sectors is too small",
				   (unsigned long long)b.region);
	/* one sub-read per I/O: an I/O must fit one reply frame */
	if (b.coalesce > 1 && !seq && b.io_size > (uint64_t)b.spf * ATA_SECTOR)
		return usage_error("bench: with --coalesce, --io-size must be at most %u "
				   "(%u sectors per frame)", b.spf * ATA_SECTOR, b.spf);
	x = aoex_xfer_new_coalesced(&s->c, s->o.window, b.spf, b.coalesce ? b.coalesce : 1);
	if (!x)
		return local_error("out of memory");
	b.left = b.bytes / ATA_SECTOR;
	/* a control tag, so the data frames still start at -T N */
	b.rng = ((uint64_t)aoex_ctl_tag(&s->c) << 32) | 0x9E3779B9u;
	struct aoex_job job = {
		.write = b.mode == SEQWRITE || b.mode == RANDWRITE,
		.lba48 = true,
		.keep_going = true,
		.next = seq ? bench_seq_next : bench_rand_next,
		.ctx = &b,
		.coalesce = b.coalesce,
	};
	t0 = now_ns();
	b.deadline = t0 + (uint64_t)(b.seconds * 1e9);
	rc = aoex_xfer_run(x, &job, &res);
	t1 = now_ns();
	aoex_xfer_free(x);
	if (rc < 0 || rc == AOEX_NO_REPLY)
		return report_xfer(s, rc, &res, "bench", stdout);
	secs = (double)(t1 - t0) / 1e9;
	units = seq ? (double)res.frames : (double)res.bytes / (double)b.io_size;
	printf("mode=%s bytes=%llu seconds=%.3f MBps=%.1f iops=%.0f retransmits=%llu errors=%llu"
	       " req_frames=%llu\n",
	       bench_modes[b.mode], (unsigned long long)res.bytes, secs,
	       (double)res.bytes / 1e6 / secs, units / secs,
	       (unsigned long long)res.retransmits, (unsigned long long)res.errors,
	       (unsigned long long)res.req_frames);
	return res.errors ? report_xfer(s, AOEX_TARGET_ERROR, &res, "bench", stdout) : AOEX_OK;
}

/* ----------------------------------------------------------------- main */

struct command {
	const char *name;
	int (*run)(struct session *s, int argc, char **argv);
};

static const struct command commands[] = {
	{ "discover", cmd_discover },
	{ "identify", cmd_identify },
	{ "read", cmd_read },
	{ "write", cmd_write },
	{ "ata", cmd_ata },
	{ "flush", cmd_flush },
	{ "config", cmd_config },
	{ "mask", cmd_mask },
	{ "reserve", cmd_reserve },
	{ "raw", cmd_raw },
	{ "bench", cmd_bench },
	{ "ext", cmd_ext },
	{ "probe", cmd_probe },
};

static int parse_global(struct opts *o, int argc, char **argv)
{
	static const struct option lo[] = {
		{ "iface", required_argument, NULL, 'i' },
		{ "timeout", required_argument, NULL, 't' },
		{ "retries", required_argument, NULL, 'r' },
		{ "src-mac", required_argument, NULL, 'm' },
		{ "dst-mac", required_argument, NULL, 'd' },
		{ "window", required_argument, NULL, 'w' },
		{ "sectors", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "ext", required_argument, NULL, 'x' },
		{ "tag", required_argument, NULL, 'T' },
		{ "tag-order", required_argument, NULL, 'O' },
		{ 0 }
	};
	uint64_t v;
	int ch;

	opterr = 0;
	/* "+": the first non-option is the command; its options are its own */
	while ((ch = getopt_long(argc, argv, "+:i:t:r:m:d:w:s:vhx:T:", lo, NULL)) != -1) {
		switch (ch) {
		case 'i': o->iface = optarg; break;
		case 't':
			if (parse_uint(optarg, 1, 3600000, &v) < 0)
				return usage_error("bad timeout '%s' (1..3600000 ms)", optarg);
			o->timeout_ms = (int)v;
			break;
		case 'r':
			if (parse_uint(optarg, 0, 1000, &v) < 0)
				return usage_error("bad retries '%s' (0..1000)", optarg);
			o->retries = (unsigned)v;
			break;
		case 'm':
			if (parse_mac(optarg, o->src) < 0)
				return usage_error("bad MAC '%s'", optarg);
			o->have_src = true;
			break;
		case 'd':
			if (parse_mac(optarg, o->dst) < 0)
				return usage_error("bad MAC '%s'", optarg);
			o->have_dst = true;
			break;
		case 'w':
			if (parse_uint(optarg, 1, AOEX_MAX_WINDOW, &v) < 0)
				return usage_error("bad window '%s' (1..%d)", optarg, AOEX_MAX_WINDOW);
			o->window = (unsigned)v;
			break;
		case 's':
			if (parse_uint(optarg, 1, 255, &v) < 0)
				return usage_error("bad sector count '%s' (1..255)", optarg);
			o->sectors = (unsigned)v;
			break;
		case 'v': o->verbose = true; break;
		case 'x':
			/* split in place: the names point into argv */
			for (char *name = optarg, *comma;; name = comma + 1) {
				comma = strchr(name, ',');
				if (comma)
					*comma = '\0';
				if (!*name)
					return usage_error("bad --ext list: empty name");
				if (o->next == MAX_EXT_NAMES)
					return usage_error("too many extension names (at most %d)",
							   MAX_EXT_NAMES);
				o->ext[o->next++] = name;
				if (!comma)
					break;
			}
			break;
		case 'T':
			if (parse_uint(optarg, 1, UINT32_MAX, &v) < 0)
				return usage_error("bad tag '%s' (1..4294967295)", optarg);
			o->first_tag = (uint32_t)v;
			break;
		case 'O':
			if (strcmp(optarg, "be") == 0)
				o->tag_order = AOEX_TAG_BE;
			else if (strcmp(optarg, "le") == 0)
				o->tag_order = AOEX_TAG_LE;
			else
				return usage_error("bad --tag-order '%s' (be or le)", optarg);
			break;
		case 'h':
			fputs(help_text, stdout);
			exit(AOEX_OK);
		default:
			return bad_option("aoex", ch, argv);
		}
	}
	return AOEX_OK;
}

static bool wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return false;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int main(int argc, char **argv)
{
	struct session s = { .o = { .timeout_ms = 1000, .retries = 3, .window = 16, .tag_order = -1 } };
	const struct command *cmd = NULL;
	char err[256];
	int rc;

	if ((rc = parse_global(&s.o, argc, argv)))
		return rc;
	if (optind == argc)
		return usage_error("no command given");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			cmd = &commands[i];
	if (!cmd)
		return usage_error("unknown command '%s'", argv[optind]);
	if (s.o.next && (cmd->run == cmd_discover || cmd->run == cmd_config || cmd->run == cmd_raw))
		return usage_error("-x/--ext does not apply to %s", cmd->name);
	/* `aoex read --help` should not need an interface or root; config,
	 * mask and reserve take free-form words and have no options */
	if (cmd->run != cmd_config && cmd->run != cmd_mask && cmd->run != cmd_reserve &&
	    wants_help(argc - optind, argv + optind)) {
		fputs(help_text, stdout);
		return AOEX_OK;
	}
	if (!s.o.iface)
		s.o.iface = getenv("AOEX_IFACE");
	if (!s.o.iface || !*s.o.iface)
		return usage_error("no interface: use -i IFACE or set AOEX_IFACE");
	if (aoex_open(&s.c, s.o.iface, s.o.have_src ? s.o.src : NULL, err, sizeof err) < 0)
		return local_error("%s", err);
	s.c.timeout_ms = s.o.timeout_ms;
	s.c.retries = s.o.retries;
	s.c.verbose = s.o.verbose;
	if (s.o.first_tag)
		aoex_set_first_tag(&s.c, s.o.first_tag);
	if (s.o.tag_order >= 0)
		aoex_set_tag_order(&s.c, (enum aoex_tag_order)s.o.tag_order, true);
	if (s.o.have_dst)
		memcpy(s.c.dst, s.o.dst, 6);
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = cmd->run(&s, argc - optind, argv + optind);
	fflush(stdout);
	aoex_close(&s.c);
	return rc;
}
