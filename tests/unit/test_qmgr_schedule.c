/* test_qmgr_schedule: the queue's heap and index, and a message for a
 * destination that is down being deferred without being read. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "unit.h"
#include "queue/qmgr_int.h"
#include "queue/schedule.h"
#include "util/conf.h"

#define N_BIG 100000

static void
sched_id(char id[SPOOL_ID_LEN + 1], unsigned i)
{
	snprintf(id, SPOOL_ID_LEN + 1, "6b000000%012x", i);
}

/* Pop everything; 1 if it came out in (when, id) order. */
static int
sched_drains_in_order(struct qsched *s, size_t *count)
{
	struct qsched_node *n, *prev = NULL;
	int ok = 1;

	*count = 0;
	while ((n = qsched_top(s)) != NULL) {
		if (prev && qsched_before(n, prev))
			ok = 0;
		qsched_unset(s, n);
		prev = n;
		(*count)++;
	}
	return ok;
}

UNIT_TEST(test_the_earliest_attempt_comes_first_whatever_the_order_added)
{
	static const int64_t when[] = { 50, 10, 40, 10, 30, 20, 60, 0, 5 };
	struct qsched_node nodes[9];
	struct qsched s;
	size_t i, n;

	CHECK(qsched_init(&s) == 0);
	for (i = 0; i < 9; i++) {
		memset(&nodes[i], 0, sizeof(nodes[i]));
		sched_id(nodes[i].id, (unsigned)(100 - i));
		CHECK(qsched_insert(&s, &nodes[i]) == 0);
		qsched_set(&s, &nodes[i], when[i]);
	}
	CHECK(qsched_top(&s) == &nodes[7]);
	/* equal times: the older id (smaller) first */
	qsched_unset(&s, &nodes[7]);
	qsched_unset(&s, &nodes[8]);
	CHECK(qsched_top(&s) == &nodes[3]);
	CHECK(sched_drains_in_order(&s, &n) && n == 7);
	qsched_free(&s);
}

UNIT_TEST(test_a_rescheduled_message_moves_to_its_new_place)
{
	struct qsched_node a = { 0 }, b = { 0 }, c = { 0 };
	struct qsched s;

	CHECK(qsched_init(&s) == 0);
	sched_id(a.id, 1);
	sched_id(b.id, 2);
	sched_id(c.id, 3);
	CHECK(qsched_insert(&s, &a) == 0 && qsched_insert(&s, &b) == 0 &&
	      qsched_insert(&s, &c) == 0);
	qsched_set(&s, &a, 10);
	qsched_set(&s, &b, 20);
	qsched_set(&s, &c, 30);
	qsched_set(&s, &a, 100); /* later */
	CHECK(qsched_top(&s) == &b);
	qsched_set(&s, &c, 1); /* earlier */
	CHECK(qsched_top(&s) == &c);
	/* out of the heap (being attempted), still found by id */
	qsched_unset(&s, &c);
	CHECK(c.heap_idx == QSCHED_NONE && qsched_top(&s) == &b);
	CHECK(qsched_find(&s, c.id) == &c);
	qsched_free(&s);
}

UNIT_TEST(test_a_removed_message_is_neither_found_nor_scheduled)
{
	struct qsched_node nodes[64];
	struct qsched s;
	size_t i, n;

	CHECK(qsched_init(&s) == 0);
	for (i = 0; i < 64; i++) {
		memset(&nodes[i], 0, sizeof(nodes[i]));
		sched_id(nodes[i].id, (unsigned)i);
		CHECK(qsched_insert(&s, &nodes[i]) == 0);
		qsched_set(&s, &nodes[i], (int64_t)((i * 37) % 64));
	}
	for (i = 0; i < 64; i += 3)
		qsched_remove(&s, &nodes[i]);
	for (i = 0; i < 64; i++)
		CHECK((qsched_find(&s, nodes[i].id) == NULL) == (i % 3 == 0));
	CHECK(s.count == 64 - 22);
	CHECK(sched_drains_in_order(&s, &n) && n == 64 - 22);
	qsched_free(&s);
}

UNIT_TEST(test_a_hundred_thousand_messages_are_indexed_and_ordered)
{
	struct qsched_node *nodes = calloc(N_BIG, sizeof(*nodes));
	struct qsched s;
	size_t i, n;
	unsigned seed = 12345;
	int found = 1;

	CHECK(nodes != NULL && qsched_init(&s) == 0);
	if (nodes == NULL)
		return;
	for (i = 0; i < N_BIG; i++) {
		seed = seed * 1103515245u + 12345u;
		sched_id(nodes[i].id, (unsigned)i);
		CHECK(qsched_insert(&s, &nodes[i]) == 0);
		qsched_set(&s, &nodes[i], (int64_t)(seed % 3600));
	}
	/* reschedule every other one, remove every tenth */
	for (i = 0; i < N_BIG; i += 2)
		qsched_set(&s, &nodes[i], (int64_t)(i % 7200));
	for (i = 0; i < N_BIG; i += 10)
		qsched_remove(&s, &nodes[i]);
	for (i = 0; i < N_BIG; i++)
		found &= (qsched_find(&s, nodes[i].id) == &nodes[i]) ==
			 (i % 10 != 0);
	CHECK(found);
	CHECK(sched_drains_in_order(&s, &n) && n == N_BIG - N_BIG / 10);
	qsched_free(&s);
	free(nodes);
}

/* the queue manager's state, without its thread or workers: q.wl stays
 * NULL, so an attempt that read the file would crash the test */
static void
qmgr_test_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

static struct conf *
qmgr_test_setup(enum conf_delivery mode)
{
	struct conf *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	conf_defaults(c, "/nonexistent");
	c->delivery_mode = mode;
	conf_publish(c);
	memset(&q, 0, sizeof(q));
	if (qsched_init(&q.sched) == -1 ||
	    (q.base = event_base_new()) == NULL || dest_init() == -1 ||
	    (q.timer = evtimer_new(q.base, qmgr_test_timer, NULL)) == NULL) {
		free(c);
		return NULL;
	}
	return c;
}

static void
qmgr_test_teardown(struct conf *c)
{
	size_t i;

	for (i = 0; i < q.sched.nbuckets; i++)
		while (q.sched.buckets[i] != NULL)
			qmsg_free((struct qmsg *)q.sched.buckets[i]);
	qsched_free(&q.sched);
	dest_free_all();
	event_free(q.timer);
	event_base_free(q.base);
	memset(&q, 0, sizeof(q));
	conf_publish(NULL);
	free(c);
}

UNIT_TEST(test_mail_for_a_smarthost_that_is_down_is_deferred_without_reading)
{
	struct conf *c = qmgr_test_setup(CONF_DELIVERY_SMARTHOST);
	struct qmsg *m;
	struct qdest *d;
	int64_t now = qmgr_now();

	CHECK(c != NULL);
	if (c == NULL)
		return;
	d = dest_get("smarthost");
	CHECK(d != NULL && dest_get("smarthost") == d);
	d->down = 1;
	d->fails = 1;
	d->down_until = now + 3600;
	snprintf(d->why, sizeof(d->why), "Connection refused");
	CHECK((m = qmsg_add("6b00000000000000abcd", now)) != NULL);
	CHECK(qmsg_add("6b00000000000000abcd", now) == m);
	m->time = now; /* not expired */
	qmgr_pass();
	/* not loaded, not in flight: parked and rescheduled */
	CHECK(m->ld == NULL && !m->busy && q.inflight == 0);
	CHECK(m->parked == d && m->attempts == 1);
	CHECK(m->node.heap_idx != QSCHED_NONE && m->node.when > now);
	qmgr_test_teardown(c);
}

UNIT_TEST(test_a_message_waits_only_if_all_its_destinations_are_down)
{
	struct conf *c = qmgr_test_setup(CONF_DELIVERY_MX);
	struct qdest *a, *b, *ds[2], *wait_on;
	struct qmsg *m;
	int64_t now = qmgr_now();

	CHECK(c != NULL);
	if (c == NULL)
		return;
	a = dest_get("a.example");
	b = dest_get("b.example");
	CHECK(a && b && a != b);
	CHECK((m = qmsg_add("6b00000000000000beef", now + 10)) != NULL);
	ds[0] = a;
	ds[1] = b;
	m->dests = malloc(sizeof(ds));
	CHECK(m->dests != NULL);
	memcpy(m->dests, ds, sizeof(ds));
	m->ndests = 2;
	m->dests_known = 1;
	a->down = b->down = 1;
	a->down_until = b->down_until = now + 600;
	CHECK(qmsg_dests_avail(m, now, 1, &wait_on) == DEST_DOWN);
	CHECK(wait_on == a);
	b->down = 0;
	b->ever_ready = 1;
	CHECK(qmsg_dests_avail(m, now, 1, &wait_on) == DEST_OK);
	/* untried: the first message goes, the next waits for it */
	b->ever_ready = 0;
	CHECK(qmsg_dests_avail(m, now, 1, &wait_on) == DEST_OK);
	CHECK(qmsg_dests_avail(m, now, 1, &wait_on) == DEST_TRYING);
	CHECK(wait_on == b);
	qmgr_test_teardown(c);
}
