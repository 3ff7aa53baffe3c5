/* nbdkern.c - the kernel's nbd device over generic netlink (see
 * nbdkern.h).  Hand-built messages: two commands and one family lookup do
 * not justify libnl in a static ARM binary. */
#include "config.h"
#include "tools/aoex/nbdkern.h"
#include "common/util.h"

#include <errno.h>
#include <linux/genetlink.h>
#include <linux/nbd-netlink.h>
#include <linux/netlink.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define NBD_MAJOR	43
#define MSG_MAX		512

struct msg {
	union {
		struct nlmsghdr nh;
		uint8_t buf[MSG_MAX];
	} u;
};

int nbdkern_index(const char *dev, unsigned *index)
{
	const char *base = strrchr(dev, '/');
	struct stat st;
	uint64_t n;

	base = base ? base + 1 : dev;
	if (strncmp(base, "nbd", 3) != 0 || parse_uint(base + 3, 0, 1u << 20, &n) < 0)
		return -EINVAL;
	if (strchr(dev, '/') && (stat(dev, &st) < 0 || !S_ISBLK(st.st_mode) ||
				 major(st.st_rdev) != NBD_MAJOR))
		return -ENODEV;
	*index = (unsigned)n;
	return 0;
}

static void msg_init(struct msg *m, uint16_t type, uint8_t cmd)
{
	struct genlmsghdr *g;

	memset(m, 0, sizeof *m);
	m->u.nh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	m->u.nh.nlmsg_type = type;
	m->u.nh.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	m->u.nh.nlmsg_seq = 1;
	g = NLMSG_DATA(&m->u.nh);
	g->cmd = cmd;
	g->version = 1;
}

/* Append an attribute; returns it (for nesting) or NULL when full. */
static struct nlattr *attr_put(struct msg *m, uint16_t type, const void *data, size_t len)
{
	size_t at = NLMSG_ALIGN(m->u.nh.nlmsg_len);
	struct nlattr *a = (struct nlattr *)(m->u.buf + at);

	if (at + NLA_ALIGN(NLA_HDRLEN + len) > sizeof m->u.buf)
		return NULL;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + len);
	if (len)
		memcpy((uint8_t *)a + NLA_HDRLEN, data, len);
	m->u.nh.nlmsg_len = (uint32_t)(at + NLA_ALIGN(a->nla_len));
	return a;
}

/* Close a nested attribute opened with attr_put(..., NULL, 0). */
static void nest_end(struct msg *m, struct nlattr *a)
{
	a->nla_len = (uint16_t)(m->u.buf + m->u.nh.nlmsg_len - (uint8_t *)a);
}

/* Send m and read the answer into *reply (if not NULL) up to the ACK.
 * Returns 0 or -errno from the kernel. */
static int talk(int fd, struct msg *m, struct msg *reply)
{
	struct sockaddr_nl to = { .nl_family = AF_NETLINK };
	uint8_t buf[4096];

	if (sendto(fd, m, m->u.nh.nlmsg_len, 0, (struct sockaddr *)&to, sizeof to) < 0)
		return -errno;
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof buf, 0);
		struct nlmsghdr *h = (struct nlmsghdr *)buf;

		if (n < 0)
			return -errno;
		for (; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
			if (reply && h->nlmsg_len <= sizeof reply->u.buf)
				memcpy(reply->u.buf, h, h->nlmsg_len);
		}
	}
}

/* The id of the "nbd" family, or -errno. */
static int family_id(int fd)
{
	struct msg m, r;
	struct nlattr *a;
	size_t off, end;
	int rc;

	msg_init(&m, GENL_ID_CTRL, CTRL_CMD_GETFAMILY);
	attr_put(&m, CTRL_ATTR_FAMILY_NAME, "nbd", 4);
	memset(&r, 0, sizeof r);
	rc = talk(fd, &m, &r);
	if (rc < 0)
		return rc;
	end = r.u.nh.nlmsg_len < sizeof r.u.buf ? r.u.nh.nlmsg_len : sizeof r.u.buf;
	for (off = NLMSG_LENGTH(GENL_HDRLEN); off + NLA_HDRLEN <= end;
	     off += NLA_ALIGN(a->nla_len)) {
		a = (struct nlattr *)(r.u.buf + off);
		if (a->nla_len < NLA_HDRLEN)
			break;
		if ((a->nla_type & NLA_TYPE_MASK) == CTRL_ATTR_FAMILY_ID && a->nla_len >= NLA_HDRLEN + 2) {
			uint16_t id;

			memcpy(&id, (uint8_t *)a + NLA_HDRLEN, 2);
			return id;
		}
	}
	return -ENOENT;
}

static int open_nbd(char *err, size_t errlen, int *fam)
{
	int fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);

	if (fd < 0) {
		snprintf(err, errlen, "netlink: %s", strerror(errno));
		return -errno;
	}
	*fam = family_id(fd);
	if (*fam < 0) {
		int rc = *fam;

		snprintf(err, errlen, "the kernel has no nbd netlink interface (%s): "
			 "load the nbd module (modprobe nbd)", strerror(-rc));
		close(fd);
		return rc;
	}
	return fd;
}

int nbdkern_connect(unsigned index, int sockfd, uint64_t size, uint64_t block_size,
		    uint64_t flags, char *err, size_t errlen)
{
	struct nlattr *socks, *item;
	uint32_t idx = index, sfd = (uint32_t)sockfd;
	struct msg m;
	int fam, fd = open_nbd(err, errlen, &fam), rc;

	if (fd < 0)
		return fd;
	msg_init(&m, (uint16_t)fam, NBD_CMD_CONNECT);
	attr_put(&m, NBD_ATTR_INDEX, &idx, 4);
	attr_put(&m, NBD_ATTR_SIZE_BYTES, &size, 8);
	attr_put(&m, NBD_ATTR_BLOCK_SIZE_BYTES, &block_size, 8);
	attr_put(&m, NBD_ATTR_SERVER_FLAGS, &flags, 8);
	socks = attr_put(&m, NBD_ATTR_SOCKETS | NLA_F_NESTED, NULL, 0);
	item = attr_put(&m, NBD_SOCK_ITEM | NLA_F_NESTED, NULL, 0);
	attr_put(&m, NBD_SOCK_FD, &sfd, 4);
	nest_end(&m, item);
	nest_end(&m, socks);
	rc = talk(fd, &m, NULL);
	if (rc < 0)
		snprintf(err, errlen, "nbd%u: connect: %s%s", index, strerror(-rc),
			 rc == -EBUSY ? " (the device is in use: aoex detach it first)" : "");
	close(fd);
	return rc;
}

int nbdkern_disconnect(unsigned index, char *err, size_t errlen)
{
	uint32_t idx = index;
	struct msg m;
	int fam, fd = open_nbd(err, errlen, &fam), rc;

	if (fd < 0)
		return fd;
	msg_init(&m, (uint16_t)fam, NBD_CMD_DISCONNECT);
	attr_put(&m, NBD_ATTR_INDEX, &idx, 4);
	rc = talk(fd, &m, NULL);
	if (rc < 0)
		snprintf(err, errlen, "nbd%u: disconnect: %s", index, strerror(-rc));
	close(fd);
	return rc;
}
