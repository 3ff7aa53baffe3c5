/*
 * t_registry.c - the export registry: which devices a frame reaches (one
 * header parse, the per-interface index, broadcast shelves and slots),
 * what each interface counts for frames no device takes, access lists,
 * the initiators seen, and applying a second configuration (removed,
 * changed in place, added).
 *
 * Real parts, no sockets that need root: two interfaces whose descriptors
 * are one end of a datagram socket pair each (iface_open_fd), the replies
 * read back from the other end; null: stores on the sync engine.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/log.h"
#include "common/util.h"
#include "config/conf.h"
#include "ifaces/ifaces.h"
#include "io/engine/engine.h"
#include "proto/aoe.h"
#include "proto/wire.h"
#include "registry/apply.h"
#include "registry/registry.h"
#include "tap.h"

static struct loop L;
static struct ifaces S;
static struct registry R;
static struct engine *E;
static int peer[2];	/* the test's ends of the two interfaces */
static const uint8_t MAC_I[6] = { 2, 0, 0, 0, 9, 1 }, MAC_J[6] = { 2, 0, 0, 0, 9, 2 };
static const uint8_t MAC_T[2][6] = { { 2, 0, 0, 0, 0xa, 1 }, { 2, 0, 0, 0, 0xa, 2 } };

/* Everything the frames started, done, as at the end of a wakeup: the
 * stores are null, their engine completes inside its kick. */
static void settle(void)
{
	loop_run_deferred(&L);
}

/* A request from src to shelf.slot on interface i (cmd, 60 bytes or len). */
static void send_req(unsigned i, const uint8_t src[6], unsigned shelf, unsigned slot,
		     uint8_t cmd, uint8_t flags, size_t len)
{
	uint8_t f[1100] = {0};

	memcpy(f, MAC_T[i], 6);
	memcpy(f + AOE_OFF_SRC, src, 6);
	put_be16(f + AOE_OFF_TYPE, AOE_ETHERTYPE);
	f[AOE_OFF_VERFLAGS] = (uint8_t)(AOE_VERSION << 4 | flags);
	put_be16(f + AOE_OFF_MAJOR, (uint16_t)shelf);
	f[AOE_OFF_MINOR] = (uint8_t)slot;
	f[AOE_OFF_CMD] = cmd;
	put_be32(f + AOE_OFF_TAG, 0x11223344);
	if (cmd == AOE_CMD_ATA) {		/* READ SECTORS EXT, one sector at LBA 1 */
		f[ATA_OFF_AFLAGS] = ATA_AFLAG_E;
		f[ATA_OFF_SCNT] = 1;
		f[ATA_OFF_CMD] = ATA_READ_EXT;
		f[ATA_OFF_LBA] = 1;
	}
	registry_frame(&R, i, &S.ifc[i], f, len ? len : AOE_MIN_FRAME);
	settle();
}

/* The replies waiting on interface i: their shelf.slot addresses into
 * addr[] (as shelf << 8 | slot), how many; *bytes the last one's length. */
static unsigned replies(unsigned i, uint32_t *addr, unsigned max, size_t *bytes)
{
	uint8_t f[9100];
	unsigned n = 0;
	ssize_t r;

	while ((r = recv(peer[i], f, sizeof f, MSG_DONTWAIT)) > 0) {
		if (n < max)
			addr[n] = (uint32_t)get_be16(f + AOE_OFF_MAJOR) << 8 | f[AOE_OFF_MINOR];
		n++;
		if (bytes)
			*bytes = (size_t)r;
	}
	return n;
}

static unsigned count_replies(unsigned i)
{
	uint32_t a[8];

	return replies(i, a, 8, NULL);
}

static void add_iface(unsigned i, const char *name)
{
	struct net_opts no = { .no_rx_ring = true, .no_tx_ring = true, .no_mmsg = true };
	char err[200];
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
	peer[i] = sv[1];
	ok(iface_open_fd(&S.ifc[i], &L, sv[0], name, 10 + (int)i, MAC_T[i], 1500, &no, err,
			 sizeof err) == 0, "interface %s from a descriptor", name);
	S.n = i + 1;
	S.ops.attached(S.ctx, i, false);
}

static struct aoexd_conf *config(const char *text)
{
	struct aoexd_conf *c = malloc(sizeof *c);
	char err[CONF_MSG_MAX];

	if (!c || conf_load_buf("t.conf", text, strlen(text), c, err, sizeof err) < 0) {
		printf("# conf: %s\n", err);
		exit(1);
	}
	return c;
}

static void apply(struct aoexd_conf *c, bool start)
{
	struct apply a = { .file = "t.conf", .strict = start, .announce = !start };

	S.conf = c;
	ok(apply_prepare(&R, c, &a) == 0, "apply: the stores open");
	apply_prune(&R, &a);
	ok(apply_commit(&R, c, &a) == 0, "apply: the devices start");
	if (a.err[0])
		printf("# %s\n", a.err);
}

static const char conf1[] =
	"interfaces = {\"if0\", \"if1\"}\n"
	"device a { path = \"null:1M\" shelf = 1 slot = 1 interfaces = {\"if0\"} }\n"
	"device b { path = \"null:1M\" shelf = 1 slot = 2 }\n"
	"device c { path = \"null:1M\" shelf = 2 slot = 1 interfaces = {\"if1\"}\n"
	"           accept = {\"02:00:00:00:09:01\"} }\n";

/* b leaves if0, c's access list goes, a goes, d comes */
static const char conf2[] =
	"interfaces = {\"if0\", \"if1\"}\n"
	"device b { path = \"null:1M\" shelf = 1 slot = 2 interfaces = {\"if1\"} }\n"
	"device c { path = \"null:1M\" shelf = 2 slot = 1 interfaces = {\"if1\"} }\n"
	"device d { path = \"null:2M\" shelf = 3 slot = 3 }\n";

static void test_dispatch(void)
{
	uint32_t a[8];
	size_t bytes = 0;
	unsigned n;

	/* exact addresses: the one device, on the interfaces it is on */
	send_req(0, MAC_I, 1, 1, AOE_CMD_CONFIG, 0, 0);
	n = replies(0, a, 8, NULL);
	ok(n == 1 && a[0] == 0x101, "1.1 on if0: e1.1 answers (%u replies)", n);
	send_req(1, MAC_I, 1, 1, AOE_CMD_CONFIG, 0, 0);
	is_int(count_replies(1), 0, "1.1 on if1: nobody (e1.1 is not served there)");
	is_int(S.ifc[1].st.not_addressed, 1, "if1 counts it not_addressed");
	send_req(0, MAC_I, 9, 9, AOE_CMD_CONFIG, 0, 0);
	is_int(count_replies(0), 0, "9.9: nobody");
	is_int(S.ifc[0].st.not_addressed, 1, "if0 counts it not_addressed");

	/* broadcast shelf and slot: every device on the interface, in order */
	send_req(0, MAC_I, 0xffff, 0xff, AOE_CMD_CONFIG, 0, 0);
	n = replies(0, a, 8, NULL);
	ok(n == 2 && a[0] == 0x101 && a[1] == 0x102, "65535.255 on if0: e1.1 then e1.2 (%u)", n);
	send_req(1, MAC_I, 1, 0xff, AOE_CMD_CONFIG, 0, 0);
	n = replies(1, a, 8, NULL);
	ok(n == 1 && a[0] == 0x102, "1.255 on if1: e1.2 only (%u)", n);
	send_req(1, MAC_I, 0xffff, 1, AOE_CMD_CONFIG, 0, 0);
	n = replies(1, a, 8, NULL);
	ok(n == 1 && a[0] == 0x201, "65535.1 on if1: e2.1 only (%u)", n);

	/* what reaches no device: counted once, on the interface */
	send_req(0, MAC_I, 1, 1, AOE_CMD_CONFIG, AOE_FLAG_R, 0);
	is_int(count_replies(0), 0, "a response: no reply");
	is_int(S.ifc[0].st.responses, 1, "counted in responses");
	send_req(0, MAC_I, 1, 1, AOE_CMD_CONFIG, 0, 20);
	is_int(count_replies(0), 0, "a runt: no reply");
	is_int(S.ifc[0].st.runts, 1, "counted in runts");

	/* the access list applies after the lookup */
	struct reg_dev *c = registry_find(&R, "c");
	ok(c != NULL, "registry_find by title");
	send_req(1, MAC_J, 2, 1, AOE_CMD_CONFIG, 0, 0);
	is_int(count_replies(1), 0, "e2.1 refuses a MAC outside its accept list");
	is_int(c ? (long long)c->acl_denied : -1, 1, "acl_denied counts it");
	send_req(1, MAC_I, 2, 1, AOE_CMD_CONFIG, 0, 0);
	is_int(count_replies(1), 1, "and answers the accepted one");

	/* a read: a request buffer, the null store, one reply with the sector */
	struct reg_dev *b = registry_find(&R, "e1.2");
	ok(b != NULL, "registry_find by eSHELF.SLOT");
	send_req(1, MAC_J, 1, 2, AOE_CMD_ATA, 0, 0);
	n = replies(1, a, 8, &bytes);
	ok(n == 1 && a[0] == 0x102 && bytes == ATA_HDR_LEN + 512, "ATA read of e1.2: one reply of "
	   "36 + 512 bytes (%u, %zu)", n, bytes);
	is_int(b ? (long long)b->dev.st.reads : -1, 1, "e1.2 counted the read");
	ok(b && b->seen.n == 2 && !memcmp(b->seen.e[1].mac, MAC_J, 6) && b->seen.e[1].frames == 1,
	   "e1.2 has seen both initiators, MAC_J once");
}

static struct aoexd_conf *c1, *c2;

static void test_reload(void)
{
	uint32_t a[8];
	unsigned n;

	apply(c2 = config(conf2), false);
	settle();
	/* the added device announces itself where it is served; b left if0
	 * and is still on if1, so it announces nothing */
	n = replies(0, a, 8, NULL);
	ok(n == 1 && a[0] == 0x303, "reload: e3.3 advertised on if0 (%u)", n);
	n = replies(1, a, 8, NULL);
	ok(n == 1 && a[0] == 0x303, "reload: e3.3 advertised on if1 (%u)", n);
	ok(!registry_find(&R, "a"), "a is gone");
	ok(registry_find(&R, "d") != NULL, "d is there");
	send_req(0, MAC_I, 1, 1, AOE_CMD_CONFIG, 0, 0);
	is_int(count_replies(0), 0, "1.1 is answered no more");
	send_req(0, MAC_I, 0xffff, 0xff, AOE_CMD_CONFIG, 0, 0);
	n = replies(0, a, 8, NULL);
	ok(n == 1 && a[0] == 0x303, "65535.255 on if0: e3.3 alone now (e1.2 left if0) (%u)", n);
	send_req(1, MAC_J, 2, 1, AOE_CMD_CONFIG, 0, 0);
	is_int(count_replies(1), 1, "e2.1's access list is gone: MAC_J is answered");
	struct reg_dev *b = registry_find(&R, "b");
	is_int(b ? (long long)b->dev.st.reads : -1, 1, "e1.2 changed in place keeps its counters");
	n = 0;
	for (struct reg_dev *d = R.devs; d; d = d->next)
		a[n < 8 ? n++ : 7] = (uint32_t)d->dev.t.shelf << 8 | d->dev.t.slot;
	ok(n == 3 && a[0] == 0x102 && a[1] == 0x201 && a[2] == 0x303,
	   "the devices in the file's order (%u)", n);
}

int main(void)
{
	char err[200];

	log_init("t_registry", LOG_WARNING, 0);
	if (loop_init(&L) < 0) {
		perror("epoll");
		return 1;
	}
	ifaces_init(&S, &L, &registry_ifaces_ops, &R);
	registry_init(&R, &L, &S, "");
	E = engine_new(&L, ENGINE_SYNC, 256, err, sizeof err);
	registry_set_engine(&R, E, 256);
	S.conf = c1 = config(conf1);
	add_iface(0, "if0");
	add_iface(1, "if1");
	apply(c1, true);
	test_dispatch();
	test_reload();
	registry_close(&R);
	ifaces_close(&S);
	engine_free(E);
	loop_close(&L);
	free(c1);
	free(c2);
	return done_testing();
}
