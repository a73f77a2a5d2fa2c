/* test_quota: the quota engine and the brute-force counters, with a
 * clock of our own. */
#include <pthread.h>
#include <string.h>

#include "unit.h"
#include "policy/bruteforce.h"
#include "policy/quota.h"

/* 2024-10-01 10:20:00 UTC */
#define T0 1727778000

static const struct quota_abuse no_rules = { 0, 0, 0, 1 };

static void
limits(const struct quota_key *k, int64_t mh, int64_t md, int64_t rd,
    int64_t rm, int64_t now)
{
	int64_t lim[QUOTA_N] = { mh, md, rd, rm };

	quota_set_limits(k, lim, 0, now);
}

UNIT_TEST(test_quota_windows_are_the_clock_hour_and_the_utc_day)
{
	CHECK(quota_hour_start(T0) == T0 - 20 * 60);
	CHECK(quota_day_start(T0) == T0 - 10 * 3600 - 20 * 60);
	CHECK(
	    quota_usage_now("messages_hour", quota_hour_start(T0), 5, T0) == 5);
	CHECK(quota_usage_now("messages_hour", quota_hour_start(T0), 5,
		  T0 + 3600) == 0);
	CHECK(quota_usage_now("messages_day", quota_day_start(T0), 5,
		  T0 + 3600) == 5);
}

UNIT_TEST(test_quota_messages_per_hour_refuses_the_next_and_resets_on_the_hour)
{
	struct quota_key k = { 1, 0 };
	struct quota_verdict v;

	quota_init();
	CHECK(quota_check_mail(&k, T0, 5, &v) == QUOTA_STALE);
	limits(&k, 2, 0, 0, 0, T0);
	CHECK(quota_check_mail(&k, T0, 5, &v) == QUOTA_OK);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OVER);
	CHECK(v.which == QUOTA_MSGS_HOUR && v.limit == 2);
	CHECK(v.resets == quota_hour_start(T0) + 3600);
	CHECK(quota_check_mail(&k, T0 + 1, 5, &v) == QUOTA_OVER);
	/* limits older than the TTL are resolved again */
	CHECK(quota_check_mail(&k, T0 + 6, 5, &v) == QUOTA_STALE);
	CHECK(quota_check_mail(&k, T0 + 6, 0, &v) == QUOTA_OVER);
	/* the next hour starts from zero */
	CHECK(quota_check_mail(&k, quota_hour_start(T0) + 3600, 0, &v) ==
	      QUOTA_OK);
	quota_free();
}

UNIT_TEST(test_quota_recipients_per_day_and_per_message)
{
	struct quota_key k = { 0, 7 }; /* a domain's own sending */
	struct quota_verdict v;

	quota_init();
	limits(&k, 0, 0, 5, 3, T0);
	CHECK(quota_check_rcpt(&k, 3, T0, &v) == QUOTA_OK);
	CHECK(quota_check_rcpt(&k, 4, T0, &v) == QUOTA_OVER);
	CHECK(v.which == QUOTA_RCPTS_MSG && v.limit == 3 && v.resets == 0);
	CHECK(quota_reserve(&k, 3, T0, &v) == QUOTA_OK);
	CHECK(quota_check_rcpt(&k, 2, T0, &v) == QUOTA_OK);
	CHECK(quota_check_rcpt(&k, 3, T0, &v) == QUOTA_OVER);
	CHECK(v.which == QUOTA_RCPTS_DAY &&
	      v.resets == quota_day_start(T0) + 86400);
	CHECK(quota_reserve(&k, 3, T0, &v) == QUOTA_OVER);
	CHECK(quota_reserve(&k, 2, T0, &v) == QUOTA_OK);
	/* used up: even MAIL is refused, until the next day */
	CHECK(quota_check_mail(&k, T0, 0, &v) == QUOTA_OVER);
	CHECK(quota_check_mail(&k, T0 + 86400, 0, &v) == QUOTA_OK);
	quota_free();
}

UNIT_TEST(test_quota_release_gives_back_a_failed_spool_write)
{
	struct quota_key k = { 2, 0 };
	struct quota_verdict v;

	quota_init();
	limits(&k, 1, 1, 1, 0, T0);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OVER);
	quota_release(&k, 1, T0);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	quota_free();
}

struct race {
	struct quota_key k;
	int ok;
};

static void *
race_main(void *arg)
{
	struct race *r = arg;
	struct quota_verdict v;
	int i;

	for (i = 0; i < 1000; i++)
		if (quota_reserve(&r->k, 1, T0, &v) == QUOTA_OK)
			r->ok++;
	return NULL;
}

UNIT_TEST(test_quota_threads_racing_never_pass_a_quota_together)
{
	struct race r[4];
	pthread_t t[4];
	struct quota_key k = { 3, 0 };
	int i, total = 0;

	quota_init();
	limits(&k, 0, 1234, 0, 0, T0);
	for (i = 0; i < 4; i++) {
		r[i].k = k;
		r[i].ok = 0;
		pthread_create(&t[i], NULL, race_main, &r[i]);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += r[i].ok;
	}
	CHECK(total == 1234);
	quota_free();
}

UNIT_TEST(test_quota_excess_blocks_a_user_once_and_never_a_domain)
{
	struct quota_key u = { 4, 0 }, d = { 0, 9 };
	struct quota_abuse a = { 3, 0, 0, 1 };
	struct quota_verdict v;

	quota_init();
	limits(&u, 1, 0, 0, 0, T0);
	CHECK(quota_excess(&u, &a, T0) == 0);
	CHECK(quota_excess(&u, &a, T0) == 0);
	CHECK(quota_excess(&u, &a, T0) == 1);
	CHECK(quota_excess(&u, &a, T0) == 0); /* once */
	CHECK(quota_check_mail(&u, T0, 0, &v) == QUOTA_BLOCKED);
	/* until the store says blocked, a store "not blocked" keeps it */
	limits(&u, 1, 0, 0, 0, T0);
	CHECK(quota_check_mail(&u, T0, 0, &v) == QUOTA_BLOCKED);
	quota_block_stored(&u);
	/* the operator lifted it: counters from zero */
	limits(&u, 1, 0, 0, 0, T0);
	CHECK(quota_check_mail(&u, T0, 0, &v) == QUOTA_OK);
	CHECK(quota_excess(&u, &a, T0) == 0);
	limits(&d, 1, 0, 0, 0, T0);
	CHECK(quota_excess(&d, &a, T0) == 0);
	CHECK(quota_excess(&d, &a, T0) == 0);
	CHECK(quota_excess(&d, &a, T0) == 0);
	CHECK(quota_check_mail(&d, T0, 0, &v) == QUOTA_OK);
	CHECK(quota_excess(&u, &no_rules, T0) == 0);
	quota_free();
}

UNIT_TEST(test_quota_distinct_addresses_per_hour)
{
	struct quota_key u = { 5, 0 };
	struct quota_abuse a = { 0, 2, 0, 1 };

	quota_init();
	CHECK(quota_login_from(&u, "192.0.2.1", &a, T0) == 0);
	CHECK(quota_login_from(&u, "192.0.2.1", &a, T0) == 0);
	CHECK(quota_login_from(&u, "192.0.2.2", &a, T0) == 0);
	/* a new hour forgets them */
	CHECK(quota_login_from(&u, "192.0.2.3", &a, T0 + 3600) == 0);
	CHECK(quota_login_from(&u, "192.0.2.4", &a, T0 + 3600) == 0);
	CHECK(quota_login_from(&u, "192.0.2.5", &a, T0 + 3600) == 1);
	quota_free();
}

UNIT_TEST(test_quota_refused_recipient_share)
{
	struct quota_key u = { 6, 0 };
	struct quota_abuse a = { 0, 0, 50, 4 };

	quota_init();
	CHECK(quota_rcpt_result(&u, 10, 0, &a, T0) == 0);
	CHECK(quota_rcpt_result(&u, 0, 5, &a, T0) == 0); /* 5 of 15 */
	CHECK(quota_rcpt_result(&u, 0, 5, &a, T0) == 1); /* 10 of 20 */
	quota_free();
}

static int
flush_row(void *arg, const struct quota_key *k, const char *counter,
    int64_t window, int64_t n, int64_t *total, int64_t *twindow)
{
	int *rows = arg;

	*total = n;
	*twindow = window;
	if (k->user_id == 8 && strcmp(counter, "messages_day") == 0 && n == 2)
		rows[0]++;
	rows[1]++;
	return 0;
}

UNIT_TEST(test_quota_usage_is_flushed_once_and_loads_back)
{
	struct quota_key k = { 8, 0 };
	struct quota_verdict v;
	int rows[2] = { 0, 0 };

	quota_init();
	limits(&k, 0, 2, 0, 0, T0);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	CHECK(quota_flush(flush_row, rows) == 0);
	CHECK(rows[0] == 1 && rows[1] == 6);
	CHECK(quota_flush(flush_row, rows) == 0 && rows[1] == 6);
	quota_free();
	/* a restart: the day's count comes back, an old window does not */
	quota_load(&k, "messages_day", quota_day_start(T0), 2, T0);
	quota_load(&k, "messages_hour", quota_hour_start(T0) - 3600, 9, T0);
	limits(&k, 1, 2, 0, 0, T0);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OVER);
	CHECK(v.which == QUOTA_MSGS_DAY);
	quota_free();
}

/* user 9 was removed from the store: the writer says so with 1 */
static int
flush_gone(void *arg, const struct quota_key *k, const char *counter,
    int64_t window, int64_t n, int64_t *total, int64_t *twindow)
{
	int *rows = arg;

	(void)counter;
	*total = n;
	*twindow = window;
	if (k->user_id == 9) {
		rows[0]++;
		return 1;
	}
	rows[1]++;
	return 0;
}

UNIT_TEST(test_quota_a_removed_owner_is_forgotten_and_the_others_written)
{
	struct quota_key gone = { 9, 0 }, kept = { 10, 0 };
	struct quota_verdict v;
	int rows[2] = { 0, 0 };

	quota_init();
	limits(&gone, 1, 0, 0, 0, T0);
	limits(&kept, 0, 0, 0, 0, T0);
	CHECK(quota_reserve(&gone, 1, T0, &v) == QUOTA_OK);
	CHECK(quota_reserve(&kept, 1, T0, &v) == QUOTA_OK);
	CHECK(quota_flush(flush_gone, rows) == 0);
	CHECK(rows[0] == 1 && rows[1] == 6);
	/* forgotten: not written again, and no count left behind (an id the
	 * store gives again must not inherit it) */
	CHECK(quota_flush(flush_gone, rows) == 0 && rows[0] == 1);
	CHECK(quota_check_mail(&gone, T0, 0, &v) == QUOTA_STALE);
	limits(&gone, 1, 0, 0, 0, T0);
	CHECK(quota_reserve(&gone, 1, T0, &v) == QUOTA_OK);
	quota_free();
}

UNIT_TEST(test_bruteforce_slows_then_refuses_an_address_not_the_owner)
{
	struct bf_conf c = { 3600, 3, 5, 900, 4, 100, 400, 0 };

	bf_init();
	CHECK(bf_check(&c, "192.0.2.9", "alice@example.org", T0) == 0);
	bf_failed(&c, "192.0.2.9", "alice@example.org", T0);
	bf_failed(&c, "192.0.2.9", "x@example.org", T0);
	CHECK(bf_check(&c, "192.0.2.9", "y@example.org", T0) == 0);
	bf_failed(&c, "192.0.2.9", "y@example.org", T0);
	CHECK(bf_check(&c, "192.0.2.9", "z@example.org", T0) == 100);
	bf_failed(&c, "192.0.2.9", "z@example.org", T0);
	CHECK(bf_check(&c, "192.0.2.9", "z@example.org", T0) == 200);
	bf_failed(&c, "192.0.2.9", "z@example.org", T0);
	CHECK(bf_check(&c, "192.0.2.9", "z@example.org", T0) == -1);
	CHECK(bf_check(&c, "192.0.2.9", "z@example.org", T0 + 899) == -1);
	CHECK(bf_check(&c, "192.0.2.9", "z@example.org", T0 + 900) == 0);
	/* a login under attack: failing addresses are slowed, clean not */
	bf_failed(&c, "198.51.100.1", "Alice@Example.ORG", T0);
	bf_failed(&c, "198.51.100.2", "alice@example.org", T0);
	bf_failed(&c, "198.51.100.3", "alice@example.org", T0);
	CHECK(bf_check(&c, "198.51.100.1", "alice@example.org", T0) == 100);
	CHECK(bf_check(&c, "203.0.113.1", "alice@example.org", T0) == 0);
	/* failures are forgotten after the window */
	CHECK(
	    bf_check(&c, "198.51.100.1", "alice@example.org", T0 + 3600) == 0);
}

UNIT_TEST(test_bruteforce_tables_stay_bounded_under_many_addresses)
{
	struct bf_conf c = { 3600, 1, 1000000, 900, 1000000, 100, 400, 0 };
	char ip[32];
	int i;

	bf_init();
	bf_failed(&c, "192.0.2.1", "a", T0);
	for (i = 0; i < 4 * BF_SLOTS; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.%d", i >> 16, (i >> 8) & 255,
		    i & 255);
		bf_failed(&c, ip, "a", T0 + 1 + i);
	}
	/* the oldest was replaced: memory did not grow, nothing broke */
	CHECK(bf_check(&c, "192.0.2.1", "b", T0 + 10) == 0);
	CHECK(bf_check(&c, ip, "b", T0 + 4 * BF_SLOTS) == 100);
}

/* A store the "other node" already added 5 messages to today. */
static int64_t other_day = 5;

static int
flush_shared(void *arg, const struct quota_key *k, const char *counter,
    int64_t window, int64_t n, int64_t *total, int64_t *twindow)
{
	(void)arg;
	(void)k;
	*twindow = window;
	if (strcmp(counter, "messages_day") == 0) {
		other_day += n; /* added, never overwritten */
		*total = other_day;
	} else {
		*total = n;
	}
	return 0;
}

UNIT_TEST(test_quota_another_nodes_messages_count_after_an_exchange)
{
	struct quota_key k = { 11, 0 };
	struct quota_verdict v;

	quota_init();
	other_day = 5;
	limits(&k, 0, 8, 0, 0, T0);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	/* the deltas go out (2), the total comes back (7) */
	CHECK(quota_flush(flush_shared, NULL) == 0);
	CHECK(other_day == 7);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK); /* the 8th */
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OVER);
	CHECK(v.which == QUOTA_MSGS_DAY);
	/* the store's count read back keeps what is not sent yet */
	quota_load(&k, "messages_day", quota_day_start(T0), 7, T0);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OVER);
	quota_free();
}

UNIT_TEST(test_quota_mail_waits_for_an_exchange_after_the_node_batch)
{
	struct quota_key k = { 12, 0 };
	struct quota_verdict v;

	quota_init();
	limits(&k, 0, 0, 0, 0, T0);
	CHECK(quota_check_mail_batch(&k, T0, 0, 2, &v) == QUOTA_OK);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	CHECK(quota_check_mail_batch(&k, T0, 0, 2, &v) == QUOTA_OK);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	/* two messages unseen by the other nodes: ask the store first */
	CHECK(quota_check_mail_batch(&k, T0, 0, 2, &v) == QUOTA_STALE);
	CHECK(quota_flush_one(&k, flush_shared, NULL) == 0);
	CHECK(quota_check_mail_batch(&k, T0, 0, 2, &v) == QUOTA_OK);
	quota_free();
}

UNIT_TEST(test_quota_a_block_polled_from_the_store_refuses_and_its_lift_resets)
{
	struct quota_key k = { 13, 0 };
	struct quota_verdict v;

	quota_init();
	limits(&k, 0, 0, 0, 0, T0);
	CHECK(quota_reserve(&k, 1, T0, &v) == QUOTA_OK);
	quota_set_blocked(&k, 1, T0);
	CHECK(quota_check_mail(&k, T0, 0, &v) == QUOTA_BLOCKED);
	quota_set_blocked(&k, 0, T0);
	CHECK(quota_check_mail(&k, T0, 0, &v) == QUOTA_OK);
	quota_free();
}

UNIT_TEST(test_quota_addresses_counted_by_all_nodes_trip_the_rule)
{
	struct quota_abuse a = { 0, 3, 0, 1 };
	struct quota_key k = { 14, 0 };
	int fresh = 0;

	quota_init();
	CHECK(quota_login_from_new(&k, "192.0.2.1", &a, T0, &fresh) == 0 &&
	      fresh == 1);
	CHECK(quota_login_from_new(&k, "192.0.2.1", &a, T0, &fresh) == 0 &&
	      fresh == 0);
	/* the store says the other nodes saw three more */
	CHECK(quota_login_shared(&k, 3, &a, T0) == 0);
	CHECK(quota_login_shared(&k, 4, &a, T0) == 1);
	quota_free();
}
