/* loop.c - epoll loop, one timerfd for all timers (a sorted list: there
 * are few, and the soonest is at the head), and the tasks deferred to the
 * end of a wakeup (a FIFO per phase). */
#include "config.h"
#include "event/loop.h"
#include "common/util.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#define LOOP_EVENTS 64

static void arm_timerfd(struct loop *l)
{
	struct itimerspec its;

	memset(&its, 0, sizeof its);
	if (l->timers) {
		uint64_t when = l->timers->when ? l->timers->when : 1;
		its.it_value.tv_sec = (time_t)(when / 1000000000ULL);
		its.it_value.tv_nsec = (long)(when % 1000000000ULL);
	}
	timerfd_settime(l->timer_watch.fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void timers_due(struct loop_watch *w, uint32_t events)
{
	struct loop *l = w->ctx;
	uint64_t expirations, now = l->now;

	(void)events;
	if (read(w->fd, &expirations, sizeof expirations) < 0 && errno != EAGAIN)
		return;
	while (l->timers && l->timers->when <= now) {
		struct loop_timer *t = l->timers;
		l->timers = t->next;
		t->armed = false;
		t->fn(t);	/* may re-arm itself or others */
	}
	arm_timerfd(l);
}

int loop_init(struct loop *l)
{
	l->stop = false;
	l->timers = NULL;
	l->now = now_ns();
	for (int p = 0; p < LOOP_PHASES; p++) {
		l->tasks[p] = NULL;
		l->tasks_tail[p] = &l->tasks[p];
	}
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (l->epfd < 0)
		return -errno;
	l->timer_watch.fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (l->timer_watch.fd < 0)
		return -errno;
	l->timer_watch.fn = timers_due;
	l->timer_watch.ctx = l;
	return loop_add(l, &l->timer_watch, EPOLLIN);
}

int loop_add(struct loop *l, struct loop_watch *w, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.ptr = w };
	return epoll_ctl(l->epfd, EPOLL_CTL_ADD, w->fd, &ev) < 0 ? -errno : 0;
}

void loop_del(struct loop *l, struct loop_watch *w)
{
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, w->fd, NULL);
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
	struct loop_timer **pp;

	if (!t->armed)
		return;
	for (pp = &l->timers; *pp; pp = &(*pp)->next) {
		if (*pp == t) {
			bool head = pp == &l->timers;
			*pp = t->next;
			t->armed = false;
			if (head)
				arm_timerfd(l);
			return;
		}
	}
}

void loop_timer_at(struct loop *l, struct loop_timer *t, uint64_t when)
{
	struct loop_timer **pp;

	loop_timer_cancel(l, t);
	t->when = when;
	t->armed = true;
	for (pp = &l->timers; *pp && (*pp)->when <= when; pp = &(*pp)->next)
		;
	t->next = *pp;
	*pp = t;
	if (l->timers == t)
		arm_timerfd(l);
}

void loop_defer(struct loop *l, struct loop_task *t)
{
	if (t->queued)
		return;
	t->queued = true;
	t->next = NULL;
	*l->tasks_tail[t->phase] = t;
	l->tasks_tail[t->phase] = &t->next;
}

void loop_defer_cancel(struct loop *l, struct loop_task *t)
{
	struct loop_task **pp;

	if (!t->queued)
		return;
	for (pp = &l->tasks[t->phase]; *pp; pp = &(*pp)->next) {
		if (*pp != t)
			continue;
		*pp = t->next;
		if (!*pp)
			l->tasks_tail[t->phase] = pp;
		t->queued = false;
		return;
	}
}

void loop_run_deferred(struct loop *l)
{
	for (int p = 0; p < LOOP_PHASES;) {
		struct loop_task *t = l->tasks[p];
		if (!t) {
			p++;
			continue;
		}
		l->tasks[p] = t->next;
		if (!l->tasks[p])
			l->tasks_tail[p] = &l->tasks[p];
		t->queued = false;
		l->tasks_run++;
		t->fn(t);
		/* it may have deferred work of an earlier phase: back to it */
		for (int q = 0; q < p; q++)
			if (l->tasks[q]) {
				p = q;
				break;
			}
	}
}

int loop_run(struct loop *l)
{
	struct epoll_event ev[LOOP_EVENTS];

	while (!l->stop) {
		int n = epoll_wait(l->epfd, ev, LOOP_EVENTS, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		l->wakeups++;
		l->now = now_ns();
		for (int i = 0; i < n; i++) {
			struct loop_watch *w = ev[i].data.ptr;
			w->fn(w, ev[i].events);
		}
		loop_run_deferred(l);
	}
	return 0;
}

void loop_close(struct loop *l)
{
	if (l->timer_watch.fd >= 0)
		close(l->timer_watch.fd);
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
	l->timer_watch.fd = -1;
}
