/*
 * faultbridge.c - a faulty Ethernet wire for tests: forwards frames between
 * two interfaces and, from a fixed seed, drops, duplicates, delays,
 * reorders and replays them, or flips one bit of a data frame's payload.
 *
 * The test kernel has no netem, so this is how the bats suites put loss,
 * duplication, reordering and stale retransmissions between an initiator
 * and aoexd.  It is a test tool (never installed): one process, two
 * AF_PACKET sockets, a fixed pool of frame buffers, and a linear scan of
 * the frames waiting for their send time (a few hundred at most).
 *
 * Only AoE frames (EtherType 0x88A2) are subject to faults unless --all;
 * everything else is forwarded at once, so the bridge stays transparent
 * to whatever else a test puts on the wire.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define FRAME_MAX 10240		/* jumbo frames up to MTU 9000 and then some */
#define POOL 1024		/* frames held at once (delayed + replays) */
#define ETH_P_AOE 0x88A2

static const char help_text[] =
"Usage: faultbridge -a IFACE -b IFACE [options]\n"
"\n"
"Forward every frame received on IFACE a to IFACE b and back, like a wire,\n"
"and inject faults into AoE frames (EtherType 0x88A2) with a fixed seed:\n"
"the same seed and the same traffic give the same faults.\n"
"\n"
"  -a, --a IFACE          one side (e.g. the veth end facing the target)\n"
"  -b, --b IFACE          the other side (facing the initiator)\n"
"  -s, --seed N           random seed (default 1)\n"
"      --drop P           drop a frame with probability P (0..1, default 0)\n"
"      --dup P            send a frame twice with probability P\n"
"      --delay MS         delay every faulted frame by MS ms (default 0)\n"
"      --reorder P        hold a frame back by --reorder-ms with\n"
"                         probability P, so later frames overtake it\n"
"      --reorder-ms MS    how long a reordered frame is held (default 5)\n"
"      --replay-rate P    keep a copy of a frame with probability P and\n"
"                         send it again --replay-after ms later (a stale\n"
"                         duplicate: the frame the tag_inc window catches)\n"
"      --replay-after MS  age of a replayed frame (default 1000)\n"
"      --dir ab|ba|both   which direction gets the faults (default both;\n"
"                         ab: frames received on a, sent out on b)\n"
"      --only-writes      fault only AoE ATA requests with the write flag\n"
"      --replay-writes    replay only those (other faults as configured)\n"
"      --all              fault every frame, not just AoE\n"
"      --flip P           flip one bit, chosen at random, in the payload of an\n"
"                         AoE ATA frame that carries sector data (36 + 512\n"
"                         bytes or more: write requests, read and IDENTIFY\n"
"                         replies) with probability P; the Ethernet and AoE\n"
"                         headers stay valid and the frame is sent on as it\n"
"                         is (the sending NIC computes a fresh FCS), so the\n"
"                         damage reaches the other end: what crc8x4 catches\n"
"      --flip-from OFF    first byte offset a flip may hit (default 36: the\n"
"                         data and what follows it; 24: the ATA header too)\n"
"      --flip-log FILE    one line per flip: DIR tag=0xT lba=L off=O bit=B\n"
"                         sector=S (L + (O - 36) / 512, or 'header', or\n"
"                         'after' for the bytes past the data: a check)\n"
"      --duration S       exit after S seconds (default: run until SIGTERM)\n"
"      --ready FILE       create FILE once both sockets are open\n"
"  -h, --help             this text\n"
"\n"
"Frames this tool sends itself are not received again (PACKET_OUTGOING).\n"
"At exit (SIGTERM, SIGINT, --duration) and on SIGUSR1 it prints per\n"
"direction, to stdout:\n"
"  faultbridge: ab forwarded=N dropped=N duplicated=N reordered=N replayed=N held_max=N\n"
"  pool_full=N flipped=N\n"
"forwarded counts frames sent (duplicates and replays included), replayed\n"
"the stale copies sent; held_max the most frames waiting at once.  Frames still waiting at exit are\n"
"discarded.  Exit 0, or 1 with a message when a socket fails.\n";

struct held {
	bool used;
	bool replay;		/* a stale copy: counted when it goes out */
	int dir;		/* 0: a->b, 1: b->a */
	uint64_t due;		/* CLOCK_MONOTONIC ns */
	uint16_t len;
	uint8_t f[FRAME_MAX];
};

struct dstats {
	unsigned long long forwarded, dropped, duplicated, reordered, replayed, lost_pool, flipped;
};

static struct {
	double drop, dup, reorder, replay, flip;
	uint64_t delay_ns, reorder_ns, replay_ns;
	size_t flip_from;
	FILE *flip_log;
	int dirmask;		/* bit 0: ab, bit 1: ba */
	bool only_writes, all, replay_writes;
} cfg = { .reorder_ns = 5000000ull, .replay_ns = 1000000000ull, .dirmask = 3, .flip_from = 36 };

static struct held pool[POOL];
static unsigned held_now, held_max;
static struct dstats st[2];
static uint64_t rng;
static int fds[2];
static volatile sig_atomic_t stop, want_stats;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* xorshift64*: tiny, seedable, good enough to pick faults */
static double rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static bool chance(double p)
{
	return p > 0 && rnd() < p;
}

static void on_signal(int sig)
{
	if (sig == SIGUSR1)
		want_stats = 1;
	else
		stop = 1;
}

static void print_stats(void)
{
	static const char *name[2] = { "ab", "ba" };

	for (int d = 0; d < 2; d++)
		printf("faultbridge: %s forwarded=%llu dropped=%llu duplicated=%llu reordered=%llu "
		       "replayed=%llu held_max=%u pool_full=%llu flipped=%llu\n", name[d],
		       st[d].forwarded, st[d].dropped, st[d].duplicated, st[d].reordered,
		       st[d].replayed, held_max, st[d].lost_pool, st[d].flipped);
	fflush(stdout);
}

static int open_side(const char *ifname)
{
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	struct packet_mreq mr = { .mr_type = PACKET_MR_PROMISC };
	int fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, htons(ETH_P_ALL));

	if (fd < 0) {
		fprintf(stderr, "faultbridge: socket(AF_PACKET): %s\n", strerror(errno));
		return -1;
	}
	sll.sll_ifindex = (int)if_nametoindex(ifname);
	mr.mr_ifindex = sll.sll_ifindex;
	if (!sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof sll) < 0 ||
	    setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr) < 0) {
		fprintf(stderr, "faultbridge: interface %s: %s\n", ifname,
			sll.sll_ifindex ? strerror(errno) : "no such interface");
		close(fd);
		return -1;
	}
	return fd;
}

static void send_out(int dir, const uint8_t *f, size_t len)
{
	/* a full socket buffer is a drop on a real wire too */
	if (send(fds[!dir], f, len, MSG_DONTWAIT) == (ssize_t)len)
		st[dir].forwarded++;
	else
		st[dir].dropped++;
}

/* Keep a copy of f to send at due; false when the pool is full. */
static bool hold(int dir, const uint8_t *f, size_t len, uint64_t due, bool replay)
{
	for (unsigned i = 0; i < POOL; i++) {
		if (pool[i].used)
			continue;
		pool[i].used = true;
		pool[i].replay = replay;
		pool[i].dir = dir;
		pool[i].due = due;
		pool[i].len = (uint16_t)len;
		memcpy(pool[i].f, f, len);
		if (++held_now > held_max)
			held_max = held_now;
		return true;
	}
	st[dir].lost_pool++;
	return false;
}

/* An AoE ATA request (not a reply) with the W flag in its aflags. */
static bool is_aoe_write(const uint8_t *f, size_t len)
{
	return len >= 28 && f[12] == 0x88 && f[13] == 0xa2 && !(f[14] & 0x08) &&
	       f[19] == 0x00 && (f[24] & 0x01);
}

/* An AoE ATA frame carrying at least one sector after its 36-byte header. */
static bool carries_data(const uint8_t *f, size_t len)
{
	return len >= 36 + 512 && f[12] == 0x88 && f[13] == 0xa2 && f[19] == 0x00;
}

/* Flip one bit of f at an offset from cfg.flip_from on, and log it. */
static void flip(int dir, uint8_t *f, size_t len)
{
	size_t bit = (size_t)(rnd() * (double)((len - cfg.flip_from) * 8));
	size_t off = cfg.flip_from + bit / 8;
	unsigned long long lba = 0;

	if (off >= len)		/* rnd() < 1, but keep it in the frame */
		off = len - 1;
	for (int i = 5; i >= 0; i--)
		lba = lba << 8 | f[28 + i];
	f[off] ^= (uint8_t)(1u << (bit % 8));
	st[dir].flipped++;
	if (!cfg.flip_log)
		return;
	fprintf(cfg.flip_log, "%s tag=0x%02x%02x%02x%02x lba=%llu off=%zu bit=%zu sector=",
		dir ? "ba" : "ab", f[20], f[21], f[22], f[23], lba & 0x0FFFFFFFFFFFFULL, off,
		bit % 8);
	if (off < 36)
		fputs("header\n", cfg.flip_log);
	else if (off < 36 + (len - 36) / 512 * 512)
		fprintf(cfg.flip_log, "%llu\n", (lba & 0x0FFFFFFFFFFFFULL) + (off - 36) / 512);
	else
		fputs("after\n", cfg.flip_log);
	fflush(cfg.flip_log);
}

static bool faulted(int dir, const uint8_t *f, size_t len)
{
	if (!(cfg.dirmask & (1 << dir)))
		return false;
	if (cfg.only_writes)
		return is_aoe_write(f, len);
	return cfg.all || (len >= 14 && f[12] == 0x88 && f[13] == 0xa2);
}

static void handle(int dir, uint8_t *f, size_t len)
{
	uint64_t now = now_ns(), due = now + cfg.delay_ns;

	if (!faulted(dir, f, len)) {
		send_out(dir, f, len);
		return;
	}
	/* drawn only when asked for: the other faults' pattern stays as it
	 * was for a given seed */
	if (cfg.flip > 0 && carries_data(f, len) && len > cfg.flip_from && chance(cfg.flip))
		flip(dir, f, len);
	/* the same draws in the same order for every frame, whatever the
	 * outcome: the fault pattern depends only on the seed and the count */
	bool drop = chance(cfg.drop), dup = chance(cfg.dup);
	bool late = chance(cfg.reorder), replay = chance(cfg.replay);

	if (cfg.replay_writes && !is_aoe_write(f, len))
		replay = false;
	if (replay)
		hold(dir, f, len, now + cfg.replay_ns, true);
	if (drop) {
		st[dir].dropped++;
		return;
	}
	if (late) {
		due += cfg.reorder_ns;
		st[dir].reordered++;
	}
	if (due == now)
		send_out(dir, f, len);
	else
		hold(dir, f, len, due, false);
	if (dup) {
		st[dir].duplicated++;
		if (due == now)
			send_out(dir, f, len);
		else
			hold(dir, f, len, due + 1, false);
	}
}

/* Send what is due, oldest due first among equals doesn't matter: the
 * order of equal due times is the pool's.  Returns ms until the next. */
static int flush_due(void)
{
	uint64_t now = now_ns(), next = UINT64_MAX;

	for (unsigned i = 0; i < POOL; i++) {
		if (!pool[i].used)
			continue;
		if (pool[i].due <= now) {
			send_out(pool[i].dir, pool[i].f, pool[i].len);
			if (pool[i].replay)
				st[pool[i].dir].replayed++;
			pool[i].used = false;
			held_now--;
		} else if (pool[i].due < next) {
			next = pool[i].due;
		}
	}
	if (next == UINT64_MAX)
		return 200;
	return (int)((next - now) / 1000000ull) + 1;
}

static void receive(int dir)
{
	static uint8_t buf[FRAME_MAX];
	struct sockaddr_ll from;

	for (int n = 0; n < 64; n++) {
		socklen_t fl = sizeof from;
		ssize_t len = recvfrom(fds[dir], buf, sizeof buf, MSG_DONTWAIT | MSG_TRUNC,
				       (struct sockaddr *)&from, &fl);

		if (len < 0)
			return;
		if (from.sll_pkttype == PACKET_OUTGOING || len > FRAME_MAX)
			continue;
		handle(dir, buf, (size_t)len);
	}
}

static double prob(const char *s, const char *opt)
{
	char *end;
	double p = strtod(s, &end);

	if (*s == '\0' || *end != '\0' || !(p >= 0 && p <= 1)) {
		fprintf(stderr, "faultbridge: %s: '%s' is not a probability 0..1\n", opt, s);
		exit(2);
	}
	return p;
}

static uint64_t ms(const char *s, const char *opt)
{
	char *end;
	unsigned long long v = strtoull(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v > 3600000ull) {
		fprintf(stderr, "faultbridge: %s: '%s' is not a number of ms (0..3600000)\n", opt, s);
		exit(2);
	}
	return v * 1000000ull;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "a", required_argument, NULL, 'a' }, { "b", required_argument, NULL, 'b' },
		{ "seed", required_argument, NULL, 's' }, { "drop", required_argument, NULL, 1 },
		{ "dup", required_argument, NULL, 2 }, { "delay", required_argument, NULL, 3 },
		{ "reorder", required_argument, NULL, 4 }, { "reorder-ms", required_argument, NULL, 5 },
		{ "replay-rate", required_argument, NULL, 6 },
		{ "replay-after", required_argument, NULL, 7 }, { "dir", required_argument, NULL, 8 },
		{ "only-writes", no_argument, NULL, 9 }, { "all", no_argument, NULL, 10 },
		{ "duration", required_argument, NULL, 11 }, { "ready", required_argument, NULL, 12 },
		{ "replay-writes", no_argument, NULL, 13 }, { "flip", required_argument, NULL, 14 },
		{ "flip-from", required_argument, NULL, 15 },
		{ "flip-log", required_argument, NULL, 16 }, { "help", no_argument, NULL, 'h' }, { 0 }
	};
	const char *ifa = NULL, *ifb = NULL, *ready = NULL;
	uint64_t seed = 1, end = 0;
	int c;

	while ((c = getopt_long(argc, argv, "a:b:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'a': ifa = optarg; break;
		case 'b': ifb = optarg; break;
		case 's': seed = strtoull(optarg, NULL, 0); break;
		case 1: cfg.drop = prob(optarg, "--drop"); break;
		case 2: cfg.dup = prob(optarg, "--dup"); break;
		case 3: cfg.delay_ns = ms(optarg, "--delay"); break;
		case 4: cfg.reorder = prob(optarg, "--reorder"); break;
		case 5: cfg.reorder_ns = ms(optarg, "--reorder-ms"); break;
		case 6: cfg.replay = prob(optarg, "--replay-rate"); break;
		case 7: cfg.replay_ns = ms(optarg, "--replay-after"); break;
		case 8:
			cfg.dirmask = !strcmp(optarg, "ab") ? 1 : !strcmp(optarg, "ba") ? 2 :
				      !strcmp(optarg, "both") ? 3 : 0;
			if (!cfg.dirmask) {
				fprintf(stderr, "faultbridge: --dir: ab, ba or both, not '%s'\n", optarg);
				return 2;
			}
			break;
		case 9: cfg.only_writes = true; break;
		case 10: cfg.all = true; break;
		case 11: end = now_ns() + ms(optarg, "--duration") * 1000ull; break;
		case 12: ready = optarg; break;
		case 13: cfg.replay_writes = true; break;
		case 14: cfg.flip = prob(optarg, "--flip"); break;
		case 15:
			cfg.flip_from = strtoul(optarg, NULL, 10);
			if (cfg.flip_from < 24 || cfg.flip_from > FRAME_MAX) {
				fprintf(stderr, "faultbridge: --flip-from: 24..%d, not '%s'\n",
					FRAME_MAX, optarg);
				return 2;
			}
			break;
		case 16:
			if (!(cfg.flip_log = fopen(optarg, "w"))) {
				fprintf(stderr, "faultbridge: --flip-log %s: %s\n", optarg,
					strerror(errno));
				return 1;
			}
			break;
		case 'h': fputs(help_text, stdout); return 0;
		default: fputs("Try 'faultbridge --help'.\n", stderr); return 2;
		}
	}
	if (!ifa || !ifb || optind != argc) {
		fputs("faultbridge: -a IFACE and -b IFACE are required, nothing else\n"
		      "Try 'faultbridge --help'.\n", stderr);
		return 2;
	}
	rng = seed * 0x9E3779B97F4A7C15ull + 1;
	if ((fds[0] = open_side(ifa)) < 0 || (fds[1] = open_side(ifb)) < 0)
		return 1;
	struct sigaction sa = { .sa_handler = on_signal };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGUSR1, &sa, NULL);
	if (ready) {
		FILE *r = fopen(ready, "w");
		if (!r || fclose(r)) {
			fprintf(stderr, "faultbridge: --ready %s: %s\n", ready, strerror(errno));
			return 1;
		}
	}
	while (!stop && (!end || now_ns() < end)) {
		struct pollfd p[2] = { { .fd = fds[0], .events = POLLIN },
				       { .fd = fds[1], .events = POLLIN } };
		int wait = flush_due();

		if (poll(p, 2, wait) < 0 && errno != EINTR) {
			fprintf(stderr, "faultbridge: poll: %s\n", strerror(errno));
			return 1;
		}
		for (int d = 0; d < 2; d++)
			if (p[d].revents & POLLIN)
				receive(d);
		if (want_stats) {
			want_stats = 0;
			print_stats();
		}
	}
	print_stats();
	return 0;
}
