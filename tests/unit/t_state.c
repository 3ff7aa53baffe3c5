/* t_state.c - the persisted state file (src/state.c) and the rtnetlink
 * link message parser (src/netlink.c). */
#include "config.h"

#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "net/netlink.h"
#include "state/state.h"
#include "tap.h"

static struct aoe_target A, B;
static char dir[] = "/tmp/t_state.XXXXXX";

static void write_file(const char *text)
{
	char path[128];
	FILE *f;

	state_path(dir, &B, path, sizeof path);
	f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void test_state(void)
{
	static const uint8_t m1[6] = { 2, 0, 0, 0, 0, 0xaa }, m2[6] = { 2, 0, 0, 0, 0, 0xbb };
	char err[1400], path[128];
	struct stat st;

	ok(mkdtemp(dir) != NULL, "temporary directory");
	A.shelf = B.shelf = 7;
	A.slot = B.slot = 3;
	is_int(state_load(dir, &B, err, sizeof err), 0, "no file: nothing loaded, no error");
	A.qc.len = 4;
	memcpy(A.qc.str, "a\nb\0", 4);
	mask_add(&A.mask, m1);
	mask_add(&A.mask, m2);
	A.res.n = 1;
	memcpy(A.res.mac[0], m2, 6);
	is_int(state_save(dir, &A, err, sizeof err), 0, "save");
	state_path(dir, &A, path, sizeof path);
	ok(strstr(path, "/e7.3") != NULL, "file named eSHELF.SLOT: %s", path);
	ok(stat(path, &st) == 0 && st.st_size > 0, "file written");
	strcat(path, ".tmp");
	ok(stat(path, &st) < 0, "no temporary file left");
	is_int(state_load(dir, &B, err, sizeof err), 1, "load");
	ok(B.qc.len == 4 && memcmp(B.qc.str, "a\nb\0", 4) == 0, "config string with any bytes back");
	ok(B.mask.n == 2 && memcmp(B.mask.mac[1], m2, 6) == 0, "mask list back, in order");
	ok(B.res.n == 1 && memcmp(B.res.mac[0], m2, 6) == 0, "reservation back");

	write_file("aoexd-state 1\nmask 02:00:00:00:00:cc\nmask zz\n");
	is_int(state_load(dir, &B, err, sizeof err), -1, "a bad MAC: refused");
	ok(strstr(err, "e7.3:3: bad MAC address") != NULL, "error names file:line: %s", err);
	ok(B.mask.n == 2, "a refused file changes nothing (not half loaded)");
	write_file("\x01\x02garbage");
	is_int(state_load(dir, &B, err, sizeof err), -1, "garbage: refused");
	ok(strstr(err, "not an aoexd state file") != NULL, "%s", err);
	write_file("aoexd-state 1\nconfig 4\n");
	is_int(state_load(dir, &B, err, sizeof err), -1, "odd hex digits: refused");
	write_file("");
	is_int(state_load(dir, &B, err, sizeof err), -1, "empty file: refused");
	write_file("aoexd-state 1\n# nothing set\n");
	is_int(state_load(dir, &B, err, sizeof err), 1, "a file with nothing set loads");
	ok(B.qc.len == 0 && B.mask.n == 0 && B.res.n == 0, "... and clears all three");
	state_path(dir, &B, path, sizeof path);
	unlink(path);
	rmdir(dir);
}

static struct nl_link got[4];
static unsigned ngot;

static void on_link(void *ctx, const struct nl_link *l)
{
	(void)ctx;
	if (ngot < 4)
		got[ngot++] = *l;
}

static size_t put_link(unsigned char *p, unsigned short type, int index, unsigned flags,
		       const char *name, unsigned mtu)
{
	struct nlmsghdr *nh = (void *)p;
	struct ifinfomsg *ifi = NLMSG_DATA(nh);
	struct rtattr *a;
	size_t len = NLMSG_LENGTH(sizeof *ifi);

	memset(p, 0, 256);
	nh->nlmsg_type = type;
	ifi->ifi_index = index;
	ifi->ifi_flags = flags;
	ifi->ifi_type = 1;
	a = (void *)(p + NLMSG_ALIGN(len));
	a->rta_type = IFLA_IFNAME;
	a->rta_len = (unsigned short)RTA_LENGTH(strlen(name) + 1);
	memcpy(RTA_DATA(a), name, strlen(name) + 1);
	len = NLMSG_ALIGN(len) + RTA_ALIGN(a->rta_len);
	a = (void *)(p + len);
	a->rta_type = IFLA_MTU;
	a->rta_len = (unsigned short)RTA_LENGTH(4);
	memcpy(RTA_DATA(a), &mtu, 4);
	len += RTA_ALIGN(a->rta_len);
	nh->nlmsg_len = (unsigned)len;
	return NLMSG_ALIGN(len);
}

static void test_netlink(void)
{
	static unsigned long buf[256];
	unsigned char *p = (unsigned char *)buf;
	size_t n = 0;

	n += put_link(p + n, RTM_NEWLINK, 7, IFF_UP, "veth7", 9000);
	n += put_link(p + n, RTM_DELLINK, 8, 0, "gone0", 1500);
	is_int(nl_parse(buf, n, on_link, NULL), 2, "two link messages in one datagram");
	ok(got[0].ifindex == 7 && strcmp(got[0].name, "veth7") == 0 && got[0].mtu == 9000 &&
	   (got[0].flags & IFF_UP) && got[0].type == 1 && !got[0].removed, "NEWLINK parsed");
	ok(got[1].ifindex == 8 && got[1].removed && strcmp(got[1].name, "gone0") == 0,
	   "DELLINK parsed");
	is_int(nl_parse(buf, 10, on_link, NULL), 0, "a truncated message is ignored");
}

int main(void)
{
	test_state();
	test_netlink();
	return done_testing();
}
