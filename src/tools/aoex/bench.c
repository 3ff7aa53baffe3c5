/* bench.c - aoex bench: load through the windowed engine, sequential or
 * random, reads or writes, and one line of results. */
#include "config.h"
#include "tools/aoex/commands.h"
#include "tools/aoex/cli.h"
#include "tools/aoex/session.h"
#include "tools/aoex/xfer.h"
#include "proto/aoe.h"
#include "common/util.h"

#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

enum bench_mode { SEQREAD, SEQWRITE, RANDREAD, RANDWRITE };
static const char *const bench_modes[] = { "seqread", "seqwrite", "randread", "randwrite" };

struct bench {
	enum bench_mode mode;
	uint64_t bytes;		/* sequential */
	uint64_t io_size;	/* random */
	double seconds;		/* random */
	uint64_t region;	/* sectors */
	unsigned spf;
	uint64_t coalesce;	/* I/Os per read frame; 0: not given */
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

/* aoex's own CPU time (user + system) so far, in µs. */
static uint64_t cpu_us(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000u +
	       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

/* ------------------------------------------------------------- options */

static int opt_mode(void *args, char *arg)
{
	struct bench *b = args;

	for (b->mode = SEQREAD; b->mode <= RANDWRITE; b->mode++)
		if (strcmp(arg, bench_modes[b->mode]) == 0)
			return AOEX_OK;
	return cli_usage_error("bench: unknown mode '%s'", arg);
}

static int opt_bytes(void *args, char *arg)
{
	struct bench *b = args;

	if (parse_size(arg, &b->bytes) < 0 || b->bytes < ATA_SECTOR)
		return cli_usage_error("bench: bad --bytes '%s'", arg);
	return AOEX_OK;
}

static int opt_io_size(void *args, char *arg)
{
	struct bench *b = args;

	if (parse_size(arg, &b->io_size) < 0 || !b->io_size || b->io_size % ATA_SECTOR ||
	    b->io_size > (1ULL << 30))
		return cli_usage_error("bench: --io-size must be a multiple of 512");
	return AOEX_OK;
}

static int opt_seconds(void *args, char *arg)
{
	struct bench *b = args;
	char *end;

	b->seconds = strtod(arg, &end);
	if (*end || !(b->seconds > 0) || b->seconds > 86400)
		return cli_usage_error("bench: bad --seconds '%s'", arg);
	return AOEX_OK;
}

/* ----------------------------------------------------------------- run */

static int bench_run(struct session *s, void *args, int argc, char **argv)
{
	struct bench *bp = args, b = *bp;
	struct aoex_result res = { 0 };
	struct aoex_xfer *x;
	uint8_t id[512];
	uint64_t capacity, t0, t1, cpu0, cpu1;
	bool seq;
	double secs, units;
	int rc;

	if (argc != 1)
		return cli_usage_error("usage: bench TARGET [--mode M] [--bytes N] [--io-size BYTES] "
				       "[--seconds S] [--region-sectors N] [--coalesce N]");
	if (b.coalesce && b.mode != SEQREAD && b.mode != RANDREAD)
		return cli_usage_error("bench: --coalesce needs --mode seqread or randread");
	if ((rc = session_parse_target(s, argv[0])) ||
	    (b.coalesce && (rc = session_setup_coalesce(s, "bench", (unsigned)b.coalesce))) ||
	    (rc = session_contact(s, true, &b.spf)) ||
	    (rc = session_identify(s, id, stdout, true)))
		return rc;
	capacity = session_ident_sectors(id);
	if (!b.region || b.region > capacity)
		b.region = capacity;
	seq = b.mode == SEQREAD || b.mode == SEQWRITE;
	if (!b.region || (!seq && b.region < b.io_size / ATA_SECTOR))
		return cli_local_error("bench: region of %llu sectors is too small",
				       (unsigned long long)b.region);
	/* one sub-read per I/O: an I/O must fit one reply frame */
	if (b.coalesce > 1 && !seq && b.io_size > (uint64_t)b.spf * ATA_SECTOR)
		return cli_usage_error("bench: with --coalesce, --io-size must be at most %u "
				       "(%u sectors per frame)", b.spf * ATA_SECTOR, b.spf);
	x = aoex_xfer_new_coalesced(&s->c, (unsigned)s->o.window, b.spf,
				    b.coalesce ? (unsigned)b.coalesce : 1);
	if (!x)
		return cli_local_error("out of memory");
	b.left = b.bytes / ATA_SECTOR;
	/* a control tag, so the data frames still start at -T N */
	b.rng = ((uint64_t)aoex_ctl_tag(&s->c) << 32) | 0x9E3779B9u;
	struct aoex_job job = {
		.write = b.mode == SEQWRITE || b.mode == RANDWRITE,
		.lba48 = true,
		.keep_going = true,
		.next = seq ? bench_seq_next : bench_rand_next,
		.ctx = &b,
		.coalesce = (unsigned)b.coalesce,
	};
	t0 = now_ns();
	cpu0 = cpu_us();
	b.deadline = t0 + (uint64_t)(b.seconds * 1e9);
	rc = aoex_xfer_run(x, &job, &res);
	t1 = now_ns();
	cpu1 = cpu_us();
	aoex_xfer_free(x);
	if (rc < 0 || rc == AOEX_NO_REPLY)
		return session_report_xfer(s, rc, &res, "bench", stdout);
	secs = (double)(t1 - t0) / 1e9;
	units = seq ? (double)res.frames : (double)res.bytes / (double)b.io_size;
	printf("mode=%s bytes=%llu seconds=%.3f MBps=%.1f iops=%.0f retransmits=%llu errors=%llu"
	       " req_frames=%llu reply_frames=%llu cpu_us=%llu\n",
	       bench_modes[b.mode], (unsigned long long)res.bytes, secs,
	       (double)res.bytes / 1e6 / secs, units / secs,
	       (unsigned long long)res.retransmits, (unsigned long long)res.errors,
	       (unsigned long long)res.req_frames, (unsigned long long)res.reply_frames,
	       (unsigned long long)(cpu1 - cpu0));
	return res.errors ? session_report_xfer(s, AOEX_TARGET_ERROR, &res, "bench", stdout) : AOEX_OK;
}

static const struct opt bench_opts[] = {
	OPT_CALL("mode", 0, opt_mode),
	OPT_CALL("bytes", 0, opt_bytes),
	OPT_CALL("io-size", 0, opt_io_size),
	OPT_CALL("seconds", 0, opt_seconds),
	OPT_UINT("region-sectors", 0, struct bench, region, 1, 1ULL << 48, "bench: bad --region-sectors", ""),
	OPT_UINT("coalesce", 0, struct bench, coalesce, 1, 256, "bench: bad --coalesce", NULL),
};
static struct bench bench_args = {
	.mode = SEQREAD, .bytes = 256ULL << 20, .io_size = 4096, .seconds = 5,
};
const struct cmd bench_cmd_bench = {
	.name = "bench", CMD_OPTS(bench_opts), .args = &bench_args, .run = bench_run,
};
