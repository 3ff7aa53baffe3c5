/* io.c - aoex's I/O commands: read, write (through the windowed engine),
 * ata and flush (one command each). */
#include "config.h"
#include "tools/aoex/commands.h"
#include "tools/aoex/cli.h"
#include "tools/aoex/session.h"
#include "tools/aoex/xfer.h"
#include "proto/aoe.h"
#include "proto/request.h"
#include "common/util.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

static int check_lba_range(uint64_t lba, uint64_t count, bool lba28)
{
	uint64_t limit = lba28 ? ATA_LBA28_MAX + 1 : 1ULL << 48;

	if (lba >= limit || count > limit - lba)
		return cli_usage_error("LBA range %llu+%llu exceeds %s addressing",
				       (unsigned long long)lba, (unsigned long long)count,
				       lba28 ? "LBA28" : "LBA48");
	return AOEX_OK;
}

/* What read and write share: one file option and --lba28, then TARGET
 * LBA, and for read a COUNT. */
struct xfer_args {
	char *path;		/* NULL or "-": stdin/stdout */
	bool lba28;
	uint64_t lba, count;
	uint64_t coalesce;	/* read --coalesce; 0: not given */
	char *ack_log;		/* write --log-acks FILE; NULL: none */
};

/* TARGET LBA [COUNT] of nargs operands, or usage. */
static int xfer_operands(struct session *s, struct xfer_args *a, int argc, char **argv,
			 int nargs, const char *usage)
{
	int rc;

	if (argc != nargs)
		return cli_usage_error("%s", usage);
	if (a->path && strcmp(a->path, "-") == 0)
		a->path = NULL;
	if ((rc = session_parse_target(s, argv[0])) ||
	    (rc = cli_parse_num(argv[1], (1ULL << 48) - 1, &a->lba, "LBA")))
		return rc;
	if (nargs == 3)
		rc = cli_parse_num(argv[2], 1ULL << 48, &a->count, "COUNT");
	return rc;
}

/* ---------------------------------------------------------------- read */

static int io_read(struct session *s, void *args, int argc, char **argv)
{
	struct xfer_args *a = args;
	uint64_t done = 0;
	struct aoex_result res = { 0 };
	struct aoex_xfer *x = NULL;
	uint8_t *buf = NULL;
	unsigned spf;
	size_t chunk;
	int rc, fd = STDOUT_FILENO;
	FILE *errout;

	if ((rc = xfer_operands(s, a, argc, argv, 3,
				"usage: read TARGET LBA COUNT [-o FILE] [--lba28] [--coalesce N]")) ||
	    (rc = check_lba_range(a->lba, a->count, a->lba28)) ||
	    (a->coalesce && (rc = session_setup_coalesce(s, "read", (unsigned)a->coalesce))))
		return rc;
	if (a->path) {
		fd = open(a->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0)
			return cli_local_error("%s: %s", a->path, strerror(errno));
	}
	errout = a->path ? stdout : stderr;
	if ((rc = session_contact(s, true, &spf)))
		goto out;
	chunk = a->coalesce ? chunk_sectors_coalesced(spf, (unsigned)a->coalesce) : chunk_sectors(spf);
	x = aoex_xfer_new_coalesced(&s->c, (unsigned)s->o.window, spf,
				    a->coalesce ? (unsigned)a->coalesce : 1);
	buf = malloc(chunk * ATA_SECTOR);
	if (!x || !buf) {
		rc = cli_local_error("out of memory");
		goto out;
	}
	while (done < a->count) {
		uint64_t n = a->count - done < chunk ? a->count - done : chunk;
		struct span sp = { .lba = a->lba + done, .left = n, .spf = spf, .data = buf };
		struct aoex_job job = { .lba48 = !a->lba28, .next = span_next, .ctx = &sp,
					.coalesce = (unsigned)a->coalesce };

		rc = session_report_xfer(s, aoex_xfer_run(x, &job, &res), &res, "read", errout);
		if (rc != AOEX_OK)
			break;
		if (cli_write_full(fd, buf, n * ATA_SECTOR) < 0) {
			rc = cli_local_error("%s: %s", a->path ? a->path : "stdout", strerror(errno));
			break;
		}
		done += n;
	}
	/* every transmission, retransmissions included; one reply per I/O */
	if (a->coalesce) {
		fprintf(errout, "frames_sent=%llu replies=%llu\n",
			(unsigned long long)(res.req_frames + res.retransmits),
			(unsigned long long)res.replies);
		fflush(errout);
	}
out:
	aoex_xfer_free(x);
	free(buf);
	if (a->path && close(fd) < 0 && rc == AOEX_OK)
		rc = cli_local_error("%s: %s", a->path, strerror(errno));
	return rc;
}

static const struct opt read_opts[] = {
	OPT_STR("output", 'o', struct xfer_args, path),
	OPT_FLAG("lba28", 0, struct xfer_args, lba28),
	OPT_UINT("coalesce", 0, struct xfer_args, coalesce, 1, 256, "read: bad --coalesce", NULL),
};
static struct xfer_args read_args;
const struct cmd io_cmd_read = {
	.name = "read", CMD_OPTS(read_opts), .args = &read_args, .run = io_read,
};

/* --------------------------------------------------------------- write */

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
		return cli_local_error("%s: %s", path, strerror(errno));
	if (fstat(w->fd, &st) == 0 && S_ISREG(st.st_mode)) {
		off_t pos = lseek(w->fd, 0, SEEK_CUR);

		w->streamed = true;
		w->len = (uint64_t)(st.st_size - (pos > 0 ? pos : 0));
	} else {
		rc = cli_slurp(w->fd, &w->mem, &len);
		if (rc < 0)
			return cli_local_error("%s: %s", path ? path : "stdin", strerror(-rc));
		w->len = len;
	}
	if (w->len % ATA_SECTOR)
		return cli_local_error("%s: length %llu is not a multiple of 512",
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

static int io_write(struct session *s, void *args, int argc, char **argv)
{
	struct xfer_args *a = args;
	uint64_t done = 0;
	struct aoex_result res = { 0 };
	struct aoex_xfer *x = NULL;
	struct wsource w = { .fd = -1 };
	FILE *acks = NULL;
	uint8_t *buf = NULL;
	unsigned spf;
	int rc;

	if ((rc = xfer_operands(s, a, argc, argv, 2,
				"usage: write TARGET LBA [-f FILE] [--lba28] [--log-acks FILE]")))
		return rc;
	if (a->ack_log && !(acks = fopen(a->ack_log, "we")))
		return cli_local_error("--log-acks %s: %s", a->ack_log, strerror(errno));
	if ((rc = wsource_open(&w, a->path)) ||
	    (rc = check_lba_range(a->lba, w.len / ATA_SECTOR, a->lba28)) ||
	    (rc = session_contact(s, true, &spf)))
		goto out;
	x = aoex_xfer_new(&s->c, (unsigned)s->o.window, spf);
	buf = w.streamed ? malloc(chunk_sectors(spf) * ATA_SECTOR) : NULL;
	if (!x || (w.streamed && !buf)) {
		rc = cli_local_error("out of memory");
		goto out;
	}
	while (done < w.len / ATA_SECTOR) {
		uint64_t left = w.len / ATA_SECTOR - done;
		uint64_t n = left < chunk_sectors(spf) ? left : chunk_sectors(spf);
		struct span sp = { .lba = a->lba + done, .left = n, .spf = spf,
				   .data = w.streamed ? buf : w.mem + done * ATA_SECTOR };
		struct aoex_job job = { .write = true, .lba48 = !a->lba28, .next = span_next,
					.ctx = &sp, .on_ack = acks ? log_ack : NULL, .ack_ctx = acks };

		if (w.streamed &&
		    cli_read_full(w.fd, buf, n * ATA_SECTOR) != (ssize_t)(n * ATA_SECTOR)) {
			rc = cli_local_error("%s: short read (file changed?)",
					     a->path ? a->path : "stdin");
			break;
		}
		rc = session_report_xfer(s, aoex_xfer_run(x, &job, &res), &res, "write", stdout);
		if (rc != AOEX_OK)
			break;
		done += n;
	}
out:
	aoex_xfer_free(x);
	free(buf);
	wsource_close(&w, a->path);
	if (acks && fclose(acks) && rc == AOEX_OK)
		rc = cli_local_error("--log-acks %s: %s", a->ack_log, strerror(errno));
	return rc;
}

static const struct opt write_opts[] = {
	OPT_STR("file", 'f', struct xfer_args, path),
	OPT_FLAG("lba28", 0, struct xfer_args, lba28),
	OPT_STR("log-acks", 0, struct xfer_args, ack_log),
};
static struct xfer_args write_args;
const struct cmd io_cmd_write = {
	.name = "write", CMD_OPTS(write_opts), .args = &write_args, .run = io_write,
};

/* ----------------------------------------------------------- ata, flush */

static void print_ata_reply(const struct req_ata_reply *r)
{
	printf("status=0x%02x error=0x%02x count=%u lba=%llu len=%zu\n", r->status, r->err,
	       r->scnt, (unsigned long long)r->lba, r->len);
	if (r->flags & AOE_FLAG_E)
		cli_print_aoe_error(stdout, r->aoe_error);
}

/* What an ATA reply's length should be when the command succeeded. */
static size_t expected_len(const struct req_ata_regs *q)
{
	bool data_in = (q->cmd == ATA_READ || q->cmd == ATA_READ_EXT || q->cmd == ATA_IDENTIFY) &&
		       !(q->aflags & ATA_AFLAG_W);
	size_t len = ATA_HDR_LEN + (data_in ? (size_t)q->count * ATA_SECTOR : 0);

	return len < AOE_MIN_FRAME ? AOE_MIN_FRAME : len;
}

/* One raw ATA command: print the reply registers, judge the outcome. */
static int run_ata(struct session *s, const struct session_ata *q, bool expect_len)
{
	struct req_ata_reply r;
	int rc = session_ata(s, q, &r, NULL, 0);

	if (rc != AOEX_OK)
		return rc;
	print_ata_reply(&r);
	if (req_ata_failed(&r))
		return AOEX_TARGET_ERROR;
	if (expect_len && r.len != expected_len(&q->regs)) {
		printf("expected_len=%zu\n", expected_len(&q->regs));
		return AOEX_TARGET_ERROR;
	}
	return AOEX_OK;
}

struct ata_args {
	uint64_t lba, count, feature, aflags;
	uint8_t *data;		/* --data FILE, read when the option comes */
	size_t datalen;
	bool expect;
};

static int opt_data(void *args, char *arg)
{
	struct ata_args *a = args;

	free(a->data);
	a->data = NULL;
	return cli_slurp_path(arg, &a->data, &a->datalen);
}

static void ata_done(void *args)
{
	struct ata_args *a = args;

	free(a->data);
	a->data = NULL;
}

static int io_ata(struct session *s, void *args, int argc, char **argv)
{
	struct ata_args *a = args;
	/* raw: the LBA goes out as given */
	struct session_ata q = { .regs = { .aflags = (uint8_t)a->aflags, .feature = (uint8_t)a->feature,
					   .count = (uint8_t)a->count, .lba = a->lba, .lba48 = true },
				 .data = a->data, .datalen = a->datalen };
	uint64_t v;
	int rc;

	if (argc != 2)
		return cli_usage_error("usage: ata TARGET OPCODE [--lba L] [--count C] [--feature F] "
				       "[--aflags A] [--data FILE] [--expect-len]");
	if ((rc = session_parse_target(s, argv[0])) ||
	    (rc = cli_parse_num(argv[1], 255, &v, "OPCODE")))
		return rc;
	q.regs.cmd = (uint8_t)v;
	if ((rc = session_contact(s, false, NULL)))
		return rc;
	return run_ata(s, &q, a->expect);
}

static const struct opt ata_opts[] = {
	OPT_UINT("lba", 0, struct ata_args, lba, 0, (1ULL << 48) - 1, "bad LBA", NULL),
	OPT_UINT("count", 0, struct ata_args, count, 0, 255, "bad count", NULL),
	OPT_UINT("feature", 0, struct ata_args, feature, 0, 255, "bad feature", NULL),
	OPT_UINT("aflags", 0, struct ata_args, aflags, 0, 255, "bad aflags", NULL),
	OPT_CALL("data", 0, opt_data),
	OPT_FLAG("expect-len", 0, struct ata_args, expect),
};
static struct ata_args ata_args;
const struct cmd io_cmd_ata = {
	.name = "ata", CMD_OPTS(ata_opts), .args = &ata_args, .run = io_ata, .done = ata_done,
};

static int io_flush(struct session *s, void *args, int argc, char **argv)
{
	struct session_ata q = { .regs = { .aflags = ATA_AFLAG_E, .cmd = ATA_FLUSH_EXT,
					   .lba48 = true } };
	int rc;

	if (argc != 1)
		return cli_usage_error("usage: flush TARGET");
	if ((rc = session_parse_target(s, argv[0])) || (rc = session_contact(s, false, NULL)))
		return rc;
	return run_ata(s, &q, false);
}

const struct cmd io_cmd_flush = { .name = "flush", .flags = CMD_WORDS, .run = io_flush };
