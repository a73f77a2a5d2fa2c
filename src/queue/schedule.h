/*
 * schedule: the queue manager's in-memory queue. An index of messages by
 * id (a hash table) and a binary min-heap keyed by the next attempt, so
 * finding, adding, rescheduling and taking the earliest message each
 * cost O(1) or O(log n), and nothing ever walks every message. Knows no
 * mail: a node is an id and a time, embedded in the caller's struct.
 */
#ifndef POSTERN_SCHEDULE_H
#define POSTERN_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

#include "../spool/spool.h"

#define QSCHED_NONE ((size_t)-1) /* heap_idx of a node not in the heap */

struct qsched_node {
	char id[SPOOL_ID_LEN + 1];
	int64_t when;	 /* next attempt, when in the heap */
	size_t heap_idx; /* QSCHED_NONE: not scheduled (being attempted) */
	struct qsched_node *hnext;
};

struct qsched {
	struct qsched_node **buckets;
	size_t nbuckets, count;
	struct qsched_node **heap;
	size_t nheap, heapcap;
};

int qsched_init(struct qsched *);
/* Frees the tables, not the nodes. */
void qsched_free(struct qsched *);
struct qsched_node *qsched_find(const struct qsched *, const char *id);
/* Into the index (not scheduled yet; n->id set by the caller). Room in
 * the heap is reserved here, so scheduling never allocates. 0 or -1. */
int qsched_insert(struct qsched *, struct qsched_node *);
/* Out of the index and the heap. */
void qsched_remove(struct qsched *, struct qsched_node *);
/* Schedule at when (or move it there). */
void qsched_set(struct qsched *, struct qsched_node *, int64_t when);
/* Out of the heap, still indexed. */
void qsched_unset(struct qsched *, struct qsched_node *);
/* The earliest scheduled node, or NULL. */
struct qsched_node *qsched_top(const struct qsched *);
/* Earliest first: ties go to the older id (ids sort by arrival). */
int qsched_before(const struct qsched_node *, const struct qsched_node *);

#endif
