/*
 * loop.h - the epoll loop: every source of work (packet sockets, signals,
 * the AIO eventfd, netlink, control socket) is a watch; timers (merge
 * delay, write-back age, congestion probes) share one timerfd.
 *
 * Work that should happen once per wakeup, however many frames asked for
 * it, is deferred: a queue that got requests defers its dispatch, the
 * engine its io_submit, an interface its TX flush.  After the wakeup's
 * events the loop runs the deferred tasks, lowest phase first, until none
 * is left (a task may defer others, of any phase): so every queue has
 * dispatched before the engine submits once, and every reply of the
 * wakeup is in the TX queues before each interface sends once.
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

/* The order deferred tasks run in, within one wakeup. */
enum loop_phase {
	LOOP_PHASE_DISPATCH,	/* devices and queues hand requests on */
	LOOP_PHASE_SUBMIT,	/* the engine submits them to the kernel */
	LOOP_PHASE_REPLY,	/* replies held to share a frame go to the TX
				 * queues (coalesced write acks) */
	LOOP_PHASE_SEND,	/* interfaces send the wakeup's replies */
	LOOP_PHASE_AFTER,	/* bookkeeping: state files, ... */
	LOOP_PHASES
};

struct loop_task;
typedef void (*task_fn)(struct loop_task *t);

struct loop_task {
	task_fn fn;
	void *ctx;
	enum loop_phase phase;
	bool queued;
	struct loop_task *next;	/* loop-private */
};

struct loop {
	int epfd;
	bool stop;
	struct loop_watch timer_watch;	/* the timerfd */
	struct loop_timer *timers;
	struct loop_task *tasks[LOOP_PHASES], **tasks_tail[LOOP_PHASES];
	uint64_t wakeups;
	uint64_t tasks_run;
	uint64_t now;		/* CLOCK_MONOTONIC ns at the start of this wakeup */
};

/* The time of this wakeup: what a frame's path uses instead of reading the
 * clock per frame (a system call where the kernel has no vDSO for it). */
static inline uint64_t loop_now(const struct loop *l)
{
	return l->now;
}

int loop_init(struct loop *l);
int loop_add(struct loop *l, struct loop_watch *w, uint32_t events);
void loop_del(struct loop *l, struct loop_watch *w);
/* Run until loop->stop is set; returns 0, or -errno if epoll fails. */
int loop_run(struct loop *l);
void loop_close(struct loop *l);

/* Run t->fn once at the end of this wakeup (in t->phase's turn); deferring
 * a task that is already queued does nothing. */
void loop_defer(struct loop *l, struct loop_task *t);
/* Run every deferred task now, as the end of a wakeup does (shutdown,
 * and the loop itself). */
void loop_run_deferred(struct loop *l);
/* Forget t if it is queued (its owner is going away). */
void loop_defer_cancel(struct loop *l, struct loop_task *t);

/* Call t->fn once at monotonic time when (re-arming moves it). */
void loop_timer_at(struct loop *l, struct loop_timer *t, uint64_t when);
void loop_timer_cancel(struct loop *l, struct loop_timer *t);

#endif
