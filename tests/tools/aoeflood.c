/*
 * aoeflood.c - floods an AoE target with requests from random source MACs.
 *
 * A test tool (never installed) for the bound on per-initiator state: each
 * frame comes from a new random (locally administered, unicast) MAC and is
 * one of an Extensions request (which creates per-initiator state in
 * aoexd), a Query Config read, or a one-sector ATA read, addressed to the
 * broadcast shelf/slot.  The frames are built once; only the source MAC and
 * the tag change per frame.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static const char help_text[] =
"Usage: aoeflood -i IFACE [-d MAC] [--pps N] [--seconds S] [--seed N]\n"
"\n"
"Send AoE requests to MAC (default ff:ff:ff:ff:ff:ff), shelf 0xffff slot\n"
"0xff, each from a new random source MAC: in turn an Extensions request\n"
"(tag_inc_le, coalesced_read: creates per-initiator state), a Query Config\n"
"read and a one-sector READ SECTORS EXT of LBA 0.  --pps frames per second\n"
"(default 20000, 0: as fast as possible) for --seconds (default 5).\n"
"Prints `aoeflood: sent=N seconds=S' and exits 0; 1 on a socket error.\n";

static uint64_t rng;

static uint64_t next_rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int parse_mac(const char *s, uint8_t *m)
{
	return sscanf(s, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &m[0], &m[1], &m[2], &m[3], &m[4],
		      &m[5]) == 6 ? 0 : -1;
}

/* The three request frames, source MAC and tag left to fill in. */
static size_t build(uint8_t f[3][64], const uint8_t *dst)
{
	static const char table[] = "tag_inc_le\0coalesced_read\0";	/* + final NUL */

	memset(f, 0, 3 * 64);
	for (int k = 0; k < 3; k++) {
		memcpy(f[k], dst, 6);
		f[k][12] = 0x88;
		f[k][13] = 0xa2;
		f[k][14] = 0x10;
		f[k][16] = 0xff;
		f[k][17] = 0xff;
		f[k][18] = 0xff;
	}
	f[0][19] = 0x23;
	f[0][24] = sizeof table;	/* L, little-endian: the table and its end */
	memcpy(f[0] + 26, table, sizeof table);
	f[1][19] = 0x01;		/* Query Config, CCmd 0 (read) */
	f[2][19] = 0x00;		/* ATA */
	f[2][24] = 0x40;		/* aflags E (LBA48) */
	f[2][26] = 1;			/* sector count */
	f[2][27] = 0x24;		/* READ SECTORS EXT */
	return 60;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "iface", required_argument, NULL, 'i' }, { "dst", required_argument, NULL, 'd' },
		{ "pps", required_argument, NULL, 'p' }, { "seconds", required_argument, NULL, 'S' },
		{ "seed", required_argument, NULL, 's' }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	uint8_t dst[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, f[3][64];
	const char *ifname = NULL;
	double pps = 20000, secs = 5;
	unsigned long long sent = 0;
	int c;

	rng = 0x1234567;
	while ((c = getopt_long(argc, argv, "i:d:p:S:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'i': ifname = optarg; break;
		case 'd':
			if (parse_mac(optarg, dst)) {
				fprintf(stderr, "aoeflood: -d: bad MAC '%s'\n", optarg);
				return 2;
			}
			break;
		case 'p': pps = atof(optarg); break;
		case 'S': secs = atof(optarg); break;
		case 's': rng = strtoull(optarg, NULL, 0) * 0x9E3779B97F4A7C15ull + 1; break;
		case 'h': fputs(help_text, stdout); return 0;
		default: return 2;
		}
	}
	if (!ifname) {
		fputs("aoeflood: -i IFACE is required\n", stderr);
		return 2;
	}
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(0x88A2),
				   .sll_ifindex = (int)if_nametoindex(ifname) };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x88A2));
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0) {
		fprintf(stderr, "aoeflood: %s: %s\n", ifname,
			sll.sll_ifindex ? strerror(errno) : "no such interface");
		return 1;
	}
	size_t len = build(f, dst);
	double t0 = now_s(), t;
	while ((t = now_s() - t0) < secs) {
		if (pps > 0 && sent >= t * pps) {
			usleep(200);
			continue;
		}
		uint8_t *p = f[sent % 3];
		uint64_t r = next_rnd();
		memcpy(p + 6, &r, 6);
		p[6] = (uint8_t)((p[6] & 0xfe) | 0x02);	/* unicast, locally administered */
		memcpy(p + 20, &r, 4);
		if (send(fd, p, len, 0) < 0 && errno != ENOBUFS && errno != EAGAIN) {
			fprintf(stderr, "aoeflood: send: %s\n", strerror(errno));
			return 1;
		}
		sent++;
	}
	printf("aoeflood: sent=%llu seconds=%.1f\n", sent, now_s() - t0);
	return 0;
}
