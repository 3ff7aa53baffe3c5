/* loop.c - epoll loop with an end-of-batch hook. */
#include "config.h"
#include "loop.h"

#include <errno.h>
#include <sys/epoll.h>
#include <unistd.h>

#define LOOP_EVENTS 64

int loop_init(struct loop *l)
{
	l->stop = false;
	l->epfd = epoll_create1(EPOLL_CLOEXEC);
	return l->epfd < 0 ? -errno : 0;
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
		for (int i = 0; i < n; i++) {
			struct loop_watch *w = ev[i].data.ptr;
			w->fn(w, ev[i].events);
		}
		if (l->end_of_batch)
			l->end_of_batch(l->ctx);
	}
	return 0;
}

void loop_close(struct loop *l)
{
	if (l->epfd >= 0)
		close(l->epfd);
	l->epfd = -1;
}
