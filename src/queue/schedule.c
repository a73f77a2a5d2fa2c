/*
 * schedule: a chained hash table of nodes by id (grown by doubling) and
 * an array binary heap of the scheduled ones; each node knows its heap
 * slot, so a reschedule or a removal sifts from there in O(log n).
 */
#include <stdlib.h>
#include <string.h>

#include "schedule.h"
#include "../util/str.h"

#define QSCHED_BUCKETS_MIN 1024

int
qsched_init(struct qsched *s)
{
	memset(s, 0, sizeof(*s));
	s->nbuckets = QSCHED_BUCKETS_MIN;
	if ((s->buckets = calloc(s->nbuckets, sizeof(*s->buckets))) == NULL)
		return -1;
	return 0;
}

void
qsched_free(struct qsched *s)
{
	free(s->buckets);
	free(s->heap);
	memset(s, 0, sizeof(*s));
}

struct qsched_node *
qsched_find(const struct qsched *s, const char *id)
{
	struct qsched_node *n;

	for (n = s->buckets[(size_t)str_hash(id) & (s->nbuckets - 1)]; n;
	     n = n->hnext)
		if (strcmp(n->id, id) == 0)
			return n;
	return NULL;
}

static int
qsched_grow(struct qsched *s)
{
	struct qsched_node **b, *n, *next;
	size_t i, nb = s->nbuckets * 2;

	if ((b = calloc(nb, sizeof(*b))) == NULL)
		return -1;
	for (i = 0; i < s->nbuckets; i++)
		for (n = s->buckets[i]; n; n = next) {
			next = n->hnext;
			n->hnext = b[(size_t)str_hash(n->id) & (nb - 1)];
			b[(size_t)str_hash(n->id) & (nb - 1)] = n;
		}
	free(s->buckets);
	s->buckets = b;
	s->nbuckets = nb;
	return 0;
}

int
qsched_insert(struct qsched *s, struct qsched_node *n)
{
	size_t h;

	if (s->count + 1 > s->heapcap) {
		size_t cap = s->heapcap ? s->heapcap * 2 : 1024;
		struct qsched_node **hp = realloc(s->heap, cap * sizeof(*hp));
		if (hp == NULL)
			return -1;
		s->heap = hp;
		s->heapcap = cap;
	}
	/* a failed growth only makes the chains longer */
	if (s->count + 1 > s->nbuckets)
		(void)qsched_grow(s);
	h = (size_t)str_hash(n->id) & (s->nbuckets - 1);
	n->heap_idx = QSCHED_NONE;
	n->hnext = s->buckets[h];
	s->buckets[h] = n;
	s->count++;
	return 0;
}

int
qsched_before(const struct qsched_node *a, const struct qsched_node *b)
{
	if (a->when != b->when)
		return a->when < b->when;
	return strcmp(a->id, b->id) < 0;
}

static void
qsched_place(struct qsched *s, struct qsched_node *n, size_t i)
{
	s->heap[i] = n;
	n->heap_idx = i;
}

static void
qsched_up(struct qsched *s, size_t i)
{
	struct qsched_node *n = s->heap[i];

	while (i > 0 && qsched_before(n, s->heap[(i - 1) / 2])) {
		qsched_place(s, s->heap[(i - 1) / 2], i);
		i = (i - 1) / 2;
	}
	qsched_place(s, n, i);
}

static void
qsched_down(struct qsched *s, size_t i)
{
	struct qsched_node *n = s->heap[i];
	size_t c;

	while ((c = 2 * i + 1) < s->nheap) {
		if (c + 1 < s->nheap &&
		    qsched_before(s->heap[c + 1], s->heap[c]))
			c++;
		if (!qsched_before(s->heap[c], n))
			break;
		qsched_place(s, s->heap[c], i);
		i = c;
	}
	qsched_place(s, n, i);
}

void
qsched_unset(struct qsched *s, struct qsched_node *n)
{
	size_t i = n->heap_idx;
	struct qsched_node *last;

	if (i == QSCHED_NONE)
		return;
	n->heap_idx = QSCHED_NONE;
	last = s->heap[--s->nheap];
	if (last == n)
		return;
	qsched_place(s, last, i);
	qsched_up(s, i);
	qsched_down(s, last->heap_idx);
}

void
qsched_set(struct qsched *s, struct qsched_node *n, int64_t when)
{
	n->when = when;
	if (n->heap_idx == QSCHED_NONE) {
		/* room was reserved by qsched_insert */
		qsched_place(s, n, s->nheap++);
		qsched_up(s, n->heap_idx);
		return;
	}
	qsched_up(s, n->heap_idx);
	qsched_down(s, n->heap_idx);
}

void
qsched_remove(struct qsched *s, struct qsched_node *n)
{
	struct qsched_node **pp;

	qsched_unset(s, n);
	for (pp = &s->buckets[(size_t)str_hash(n->id) & (s->nbuckets - 1)]; *pp;
	     pp = &(*pp)->hnext)
		if (*pp == n) {
			*pp = n->hnext;
			s->count--;
			break;
		}
	n->hnext = NULL;
}

struct qsched_node *
qsched_top(const struct qsched *s)
{
	return s->nheap ? s->heap[0] : NULL;
}
