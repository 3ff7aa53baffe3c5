/*
 * fifo.h - an intrusive first-in first-out list, defined once for every
 * kind of element: FIFO_DEFINE(name, type, link) makes
 *   struct name { struct type *head, *tail; }
 * and name_push(), name_pop(), name_unpop() (back at the head) and
 * name_take() (the whole chain; the list empties) for elements chained
 * through their field link.  No allocation: an element is in one list of a
 * kind at a time.  An empty list is all zeros.
 */
#ifndef AOEX_FIFO_H
#define AOEX_FIFO_H

#include <stddef.h>

#define FIFO_DEFINE(name, type, link)						\
struct name {									\
	struct type *head, *tail;						\
};										\
static inline void name##_push(struct name *l, struct type *x)			\
{										\
	x->link = NULL;								\
	if (l->tail)								\
		l->tail->link = x;						\
	else									\
		l->head = x;							\
	l->tail = x;								\
}										\
static inline struct type *name##_pop(struct name *l)				\
{										\
	struct type *x = l->head;						\
	if (x) {								\
		l->head = x->link;						\
		if (!l->head)							\
			l->tail = NULL;						\
		x->link = NULL;							\
	}									\
	return x;								\
}										\
static inline void name##_unpop(struct name *l, struct type *x)		\
{										\
	x->link = l->head;							\
	l->head = x;								\
	if (!l->tail)								\
		l->tail = x;							\
}										\
static inline struct type *name##_take(struct name *l)			\
{										\
	struct type *x = l->head;						\
	l->head = l->tail = NULL;						\
	return x;								\
}

#endif
