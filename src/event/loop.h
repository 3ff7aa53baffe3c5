/*
 * loop.h - the epoll loop: every source of work (packet sockets, signals,
 * the AIO eventfd, netlink, control socket) is a watch; timers (merge
 * delay, write-back age, congestion probes) share one timerfd.  After each
 * wakeup the loop calls one end-of-batch hook where the daemon submits its
 * disk I/O and flushes its TX queues (one io_submit, one send per
 * interface per wakeup).
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

struct loop_timer;
typedef void (*timer_fn)(struct loop_timer *t);

struct loop_timer {
	uint64_t when;		/* CLOCK_MONOTONIC ns */
	timer_fn fn;
	void *ctx;
	bool armed;
	struct loop_timer *next;	/* loop-private: sorted by when */
};

struct loop {
	int epfd;
	bool stop;
	void (*end_of_batch)(void *ctx);
	void *ctx;
	struct loop_watch timer_watch;	/* the timerfd */
	struct loop_timer *timers;
	uint64_t wakeups;
};

int loop_init(struct loop *l);
int loop_add(struct loop *l, struct loop_watch *w, uint32_t events);
void loop_del(struct loop *l, struct loop_watch *w);
/* Run until loop->stop is set; returns 0, or -errno if epoll fails. */
int loop_run(struct loop *l);
void loop_close(struct loop *l);

/* Call t->fn once at monotonic time when (re-arming moves it). */
void loop_timer_at(struct loop *l, struct loop_timer *t, uint64_t when);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);

#endif
