/*
 * floor - the smallest AoE r11 target we can write: the lower bound of the
 * benchmarks (tests/bench/nas.sh, tests/bench/kernel.sh), not a product.
 *
 *   floor [-s] [-b BUFCNT] [-m MIB] SHELF SLOT IFACE SIZE
 *
 * One thread, one AF_PACKET socket bound to IFACE for EtherType 0x88A2,
 * with TPACKET_V2 RX and TX rings: every frame the RX ring holds is
 * answered straight into a TX slot, one send() per batch, poll() when the
 * ring is empty.  With -s (or when the kernel refuses the rings): recvmmsg
 * (up to 64 frames per call, MSG_WAITFORONE) and one sendmmsg of the
 * replies, each built in place in the request's buffer.  It answers
 * Query Config (read; test and set are answered as reads), ATA READ /
 * WRITE SECTORS (EXT), IDENTIFY DEVICE, FLUSH CACHE (EXT) and CHECK POWER
 * MODE; any other ATA command is aborted, any other AoE command gets error
 * 1 (unrecognised command).  The "disk" is SIZE (sectors, or with a K/M/G
 * suffix bytes) long and backed by a RAM buffer of MIB MiB (default 1)
 * that repeats over it: reads copy from the buffer, writes copy into it, so
 * a frame costs what a target must do at least (receive, parse, copy, send)
 * and no storage.  -b is the buffer count it advertises (default 64).
 *
 * Prints "floor: serving eS.L on IFACE ..." once it listens, and a stats
 * line on SIGTERM/SIGINT (exit 0).  Build: cc -O2 -static -o floor floor.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#define ETH_P_AOE 0x88A2
#define HDR 24		/* Ethernet 14 + AoE 10 */
#define ATAHDR 36	/* + ATA 12 */
#define BATCH 64
#define FRAME 9216	/* largest frame we take (MTU 9000 + header) */

static volatile sig_atomic_t stop;
static void on_sig(int s) { (void)s; stop = 1; }

static uint8_t *ram;
static size_t ramsz;
static uint64_t nsect;
static uint16_t ident[256];
static unsigned shelf, slot, bufcnt = 64, spf;
static unsigned long long n_rx, n_tx, n_read, n_write, n_other, n_calls;

static void die(const char *m) { perror(m); exit(1); }

static void setfld(int idx, int len, const char *s)	/* ATA strings: byte pairs swapped */
{
	uint8_t *p = (uint8_t *)&ident[idx];
	for (int i = 0; i < len; i += 2) {
		p[i + 1] = *s ? *s++ : ' ';
		p[i] = *s ? *s++ : ' ';
	}
}

static void make_ident(void)
{
	uint64_t l28 = nsect > 0x0fffffff ? 0x0fffffff : nsect;
	ident[47] = 0x8000;
	ident[49] = 0x0200;	/* LBA */
	ident[50] = 0x4000;
	ident[83] = 0x5400;	/* LBA48, FLUSH CACHE EXT */
	ident[84] = 0x4000;
	ident[86] = 0x1400;
	ident[87] = 0x4000;
	ident[93] = 0x400b;
	setfld(10, 20, "floor");
	setfld(23, 8, "1");
	setfld(27, 40, "aoexd benchmark floor");
	ident[60] = l28 & 0xffff;
	ident[61] = l28 >> 16;
	for (int i = 0; i < 4; i++)
		ident[100 + i] = (nsect >> (16 * i)) & 0xffff;
	/* the frame carries little-endian words */
	for (int i = 0; i < 256; i++) {
		uint8_t *p = (uint8_t *)&ident[i];
		uint16_t v = ident[i];
		p[0] = v & 0xff;
		p[1] = v >> 8;
	}
}

/* copy between the frame and the repeating RAM buffer at byte offset off */
static void ram_io(uint8_t *buf, uint64_t off, size_t len, int write)
{
	while (len) {
		size_t o = off % ramsz, n = ramsz - o < len ? ramsz - o : len;
		if (write)
			memcpy(ram + o, buf, n);
		else
			memcpy(buf, ram + o, n);
		buf += n; off += n; len -= n;
	}
}

/* Build the reply to the request in[0..len) in f (which may be in itself:
 * only the headers are copied; a write's data is taken from in); return its
 * length, or 0 to drop the frame. */
static size_t handle(uint8_t *f, const uint8_t *in, size_t len, const uint8_t *mac)
{
	unsigned vf, maj, min, cmd;
	if (len < HDR)
		return 0;
	if (f != in)
		memcpy(f, in, len < ATAHDR ? len : ATAHDR);
	vf = f[14];
	if ((vf >> 4) != 1 || (vf & 0x08))	/* version 1, requests only */
		return 0;
	maj = f[16] << 8 | f[17];
	min = f[18];
	cmd = f[19];
	if ((maj != shelf && maj != 0xffff) || (min != slot && min != 0xff))
		return 0;
	memcpy(f, f + 6, 6);		/* reply to the sender, from us */
	memcpy(f + 6, mac, 6);
	f[14] = 0x10 | 0x08;		/* ver 1, R */
	f[15] = 0;
	f[16] = shelf >> 8; f[17] = shelf & 0xff; f[18] = slot;
	if (cmd == 1) {			/* Query Config: always our (empty) string */
		if (len < 32)
			return 0;
		f[24] = bufcnt >> 8; f[25] = bufcnt & 0xff;
		f[26] = 0x40; f[27] = 0x19;	/* firmware version */
		f[28] = spf;
		f[29] = 0x10 | (in[29] & 0x0f);	/* AoE version 1, the ccmd asked */
		f[30] = 0; f[31] = 0;
		n_other++;
		return 60;
	}
	if (cmd != 0) {
		f[14] |= 0x04;		/* E: unrecognised command */
		f[15] = 1;
		n_other++;
		return 60;
	}
	if (len < ATAHDR)
		return 0;
	unsigned aflags = f[24], scnt = f[26], acmd = f[27];
	uint64_t lba = 0;
	for (int i = 0; i < 6; i++)
		lba |= (uint64_t)f[28 + i] << (8 * i);
	size_t out = ATAHDR;
	f[25] = 0;		/* error/feature */
	f[27] = 0x40;		/* status DRDY */
	switch (acmd) {
	case 0x20: case 0x24: case 0x30: case 0x34:
		lba &= (acmd == 0x24 || acmd == 0x34) ? 0xffffffffffffULL : 0x0fffffff;
		if (!(aflags & 0x40) && (acmd == 0x24 || acmd == 0x34))
			lba &= 0x0fffffff;
		if (scnt > spf) {	/* more than fits a frame: bad argument */
			f[14] |= 0x04; f[15] = 2;
			return 60;
		}
		if (lba + scnt > nsect) {
			f[27] = 0x41; f[25] = 0x10;	/* ERR, IDNF */
			break;
		}
		if (acmd == 0x20 || acmd == 0x24) {
			ram_io(f + ATAHDR, lba * 512, scnt * 512u, 0);
			out += scnt * 512u;
			n_read++;
		} else {
			if (len < ATAHDR + scnt * 512u) {
				f[14] |= 0x04; f[15] = 2;
				return 60;
			}
			ram_io((uint8_t *)in + ATAHDR, lba * 512, scnt * 512u, 1);
			n_write++;
		}
		f[26] = 0;
		break;
	case 0xec:
		memcpy(f + ATAHDR, ident, 512);
		out += 512;
		f[26] = 0;
		n_other++;
		break;
	case 0xe7: case 0xea:
		n_other++;
		break;
	case 0xe5:
		f[26] = 0xff;
		n_other++;
		break;
	default:
		f[27] = 0x41; f[25] = 0x04;	/* ERR, ABRT */
		n_other++;
		break;
	}
	return out < 60 ? 60 : out;
}

/* recvmmsg up to BATCH frames (MSG_WAITFORONE), one sendmmsg of the replies */
static void serve_sock(int s, const uint8_t *mac)
{
	static uint8_t bufs[BATCH][FRAME];
	struct iovec iov[BATCH], tiov[BATCH];
	struct mmsghdr rm[BATCH], tm[BATCH];
	for (int i = 0; i < BATCH; i++) {
		iov[i].iov_base = bufs[i];
		iov[i].iov_len = FRAME;
		memset(&rm[i], 0, sizeof rm[i]);
		rm[i].msg_hdr.msg_iov = &iov[i];
		rm[i].msg_hdr.msg_iovlen = 1;
	}
	while (!stop) {
		int n = recvmmsg(s, rm, BATCH, MSG_WAITFORONE, NULL);
		n_calls++;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvmmsg");
		}
		int k = 0;
		for (int i = 0; i < n; i++) {
			size_t r = handle(bufs[i], bufs[i], rm[i].msg_len, mac);
			if (!r)
				continue;
			tiov[k].iov_base = bufs[i];
			tiov[k].iov_len = r;
			memset(&tm[k], 0, sizeof tm[k]);
			tm[k].msg_hdr.msg_iov = &tiov[k];
			tm[k].msg_hdr.msg_iovlen = 1;
			k++;
		}
		n_rx += n;
		for (int d = 0; d < k;) {	/* sendmmsg may send fewer */
			int m = sendmmsg(s, tm + d, k - d, 0);
			n_calls++;
			if (m < 0) {
				if (errno == EINTR || errno == ENOBUFS || errno == EAGAIN)
					continue;
				die("sendmmsg");
			}
			d += m;
			n_tx += m;
		}
	}
}

/* TPACKET_V2 RX and TX rings: take every frame the RX ring holds, build
 * each reply straight into a TX slot, one send() per batch; poll() when
 * the RX ring is empty.  Returns -1 (nothing changed) when the kernel has
 * no rings, so the caller falls back to the sockets. */
#define RFRAME 16384
#define NFRAMES 256
static int serve_ring(int s, const uint8_t *mac)
{
	int ver = TPACKET_V2;
	struct tpacket_req req = { .tp_block_size = RFRAME * 4, .tp_block_nr = NFRAMES / 4,
				   .tp_frame_size = RFRAME, .tp_frame_nr = NFRAMES };
	if (setsockopt(s, SOL_PACKET, PACKET_VERSION, &ver, sizeof ver) < 0 ||
	    setsockopt(s, SOL_PACKET, PACKET_RX_RING, &req, sizeof req) < 0 ||
	    setsockopt(s, SOL_PACKET, PACKET_TX_RING, &req, sizeof req) < 0) {
		perror("floor: rings");
		return -1;
	}
	size_t rsz = (size_t)RFRAME * NFRAMES;
	uint8_t *map = mmap(NULL, 2 * rsz, PROT_READ | PROT_WRITE, MAP_SHARED, s, 0);
	if (map == MAP_FAILED)
		die("mmap");
	uint8_t *rx = map, *tx = map + rsz;
	/* the pitfall: a send buffer smaller than the ring leaves frames waiting */
	int sz = (int)rsz * 2;
	setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz);
	unsigned ri = 0, ti = 0, queued = 0;
	struct pollfd pfd = { .fd = s, .events = POLLIN };
	while (!stop) {
		struct tpacket2_hdr *h = (struct tpacket2_hdr *)(rx + (size_t)ri * RFRAME);
		if (!(h->tp_status & TP_STATUS_USER)) {
			if (queued) {
				send(s, NULL, 0, MSG_DONTWAIT);
				n_calls++;
				queued = 0;
			}
			/* anything still waiting in the TX ring: kick again */
			for (unsigned i = 0; i < NFRAMES; i++) {
				struct tpacket2_hdr *t = (struct tpacket2_hdr *)(tx + (size_t)i * RFRAME);
				if (t->tp_status == TP_STATUS_SEND_REQUEST) {
					send(s, NULL, 0, MSG_DONTWAIT);
					n_calls++;
					break;
				}
			}
			if (poll(&pfd, 1, 1000) < 0 && errno != EINTR)
				die("poll");
			n_calls++;
			continue;
		}
		struct tpacket2_hdr *t = (struct tpacket2_hdr *)(tx + (size_t)ti * RFRAME);
		while (t->tp_status != TP_STATUS_AVAILABLE && !stop) {	/* TX ring full */
			send(s, NULL, 0, 0);
			n_calls++;
			queued = 0;
			if (t->tp_status != TP_STATUS_AVAILABLE) {
				struct pollfd po = { .fd = s, .events = POLLOUT };
				poll(&po, 1, 10);
				n_calls++;
			}
		}
		uint8_t *out = (uint8_t *)t + TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
		size_t r = handle(out, (uint8_t *)h + h->tp_mac, h->tp_snaplen, mac);
		n_rx++;
		h->tp_status = TP_STATUS_KERNEL;
		ri = (ri + 1) % NFRAMES;
		if (r) {
			t->tp_len = r;
			t->tp_status = TP_STATUS_SEND_REQUEST;
			ti = (ti + 1) % NFRAMES;
			n_tx++;
			if (++queued >= 32) {	/* a long batch: let the first ones go */
				send(s, NULL, 0, MSG_DONTWAIT);
				n_calls++;
				queued = 0;
			}
		}
	}
	return 0;
}

static uint64_t parse_size(const char *s)
{
	char *e;
	unsigned long long v = strtoull(s, &e, 0);
	switch (*e) {
	case 'k': case 'K': return v * 1024 / 512;
	case 'm': case 'M': return v * 1048576 / 512;
	case 'g': case 'G': return v * 1073741824ULL / 512;
	case 't': case 'T': return v * 1099511627776ULL / 512;
	case 0: return v;
	default: fprintf(stderr, "floor: bad size %s\n", s); exit(2);
	}
}

int main(int argc, char **argv)
{
	unsigned mib = 1;
	int o, sockets = 0;
	while ((o = getopt(argc, argv, "b:m:s")) != -1) {
		switch (o) {
		case 's': sockets = 1; break;
		case 'b': bufcnt = atoi(optarg); break;
		case 'm': mib = atoi(optarg); break;
		default: goto usage;
		}
	}
	if (argc - optind != 4 || !bufcnt || bufcnt > 65535 || !mib) {
usage:
		fprintf(stderr, "usage: floor [-s] [-b BUFCNT] [-m MIB] SHELF SLOT IFACE SIZE\n");
		return 2;
	}
	shelf = atoi(argv[optind]);
	slot = atoi(argv[optind + 1]);
	const char *ifname = argv[optind + 2];
	nsect = parse_size(argv[optind + 3]);
	ramsz = (size_t)mib << 20;
	if (!(ram = calloc(1, ramsz)))
		die("calloc");
	make_ident();

	int s = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_AOE));
	if (s < 0)
		die("socket");
	struct ifreq ifr;
	memset(&ifr, 0, sizeof ifr);
	snprintf(ifr.ifr_name, sizeof ifr.ifr_name, "%s", ifname);
	if (ioctl(s, SIOCGIFINDEX, &ifr) < 0)
		die("SIOCGIFINDEX");
	int ifindex = ifr.ifr_ifindex;
	if (ioctl(s, SIOCGIFHWADDR, &ifr) < 0)
		die("SIOCGIFHWADDR");
	uint8_t mac[6];
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	if (ioctl(s, SIOCGIFMTU, &ifr) < 0)
		die("SIOCGIFMTU");
	spf = (ifr.ifr_mtu - 36) / 512;
	if (spf > 255)
		spf = 255;
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_AOE),
				   .sll_ifindex = ifindex };
	if (bind(s, (struct sockaddr *)&sll, sizeof sll) < 0)
		die("bind");
	/* room for a full window of the largest frames, and more */
	int sz = (bufcnt + BATCH) * (ifr.ifr_mtu + 14) * 2;
	if (setsockopt(s, SOL_SOCKET, SO_RCVBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(s, SOL_SOCKET, SO_RCVBUF, &sz, sizeof sz);
	if (setsockopt(s, SOL_SOCKET, SO_SNDBUFFORCE, &sz, sizeof sz) < 0)
		setsockopt(s, SOL_SOCKET, SO_SNDBUF, &sz, sizeof sz);

	struct sigaction sa = { .sa_handler = on_sig };
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	fprintf(stderr, "floor: serving e%u.%u on %s: %llu sectors, %u per frame, bufcnt %u, %u MiB of RAM, %s\n",
		shelf, slot, ifname, (unsigned long long)nsect, spf, bufcnt, mib,
		sockets ? "recvmmsg/sendmmsg" : "rx-ring/tx-ring (TPACKET_V2)");
	if (sockets || serve_ring(s, mac) < 0)
		serve_sock(s, mac);
	fprintf(stderr, "floor: stats rx=%llu tx=%llu reads=%llu writes=%llu other=%llu syscalls=%llu\n",
		n_rx, n_tx, n_read, n_write, n_other, n_calls);
	return 0;
}
