/*
 * loop.h - the epoll loop: every source of work (packet sockets, signals,
 * later the AIO eventfd, timers, netlink, control socket) is a watch, and
 * after each wakeup the loop calls one end-of-batch hook where the daemon
 * flushes its TX queues (one send per interface per wakeup).
 */
#ifndef AOEX_LOOP_H
#define AOEX_LOOP_H

#include <stdbool.h>
#include <stdint.h>

struct loop_watch;
typedef void (*watch_fn)(struct loop_watch *w, uint32_t events);

struct loop_watch {
	int fd;
	watch_fn fn;
	void *ctx;
};

struct loop {
	int epfd;
	bool stop;
	void (*end_of_batch)(void *ctx);
	void *ctx;
};

int loop_init(struct loop *l);
int loop_add(struct loop *l, struct loop_watch *w, uint32_t events);
void loop_del(struct loop *l, struct loop_watch *w);
/* Run until loop->stop is set; returns 0, or -errno if epoll fails. */
int loop_run(struct loop *l);
void loop_close(struct loop *l);

#endif
