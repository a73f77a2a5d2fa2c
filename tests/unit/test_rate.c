/* rate: per-address events per minute. */
#include <stdio.h>

#include "unit.h"
#include "policy/rate.h"

UNIT_TEST(test_rate_allows_the_limit_then_refuses_until_the_window_slides)
{
	int64_t t = 1800000000; /* at the start of a minute */
	int i;

	for (i = 0; i < 5; i++)
		CHECK(rate_hit(RATE_MSG, "192.0.2.1", 5, t + i) == 0);
	CHECK(rate_hit(RATE_MSG, "192.0.2.1", 5, t + 10) == 1);
	/* another address, another kind: their own counts */
	CHECK(rate_hit(RATE_MSG, "192.0.2.2", 5, t + 10) == 0);
	CHECK(rate_hit(RATE_CONN, "192.0.2.1", 5, t + 10) == 0);
	/* half a minute into the next one, half of the last still counts */
	CHECK(rate_hit(RATE_MSG, "192.0.2.1", 5, t + 60 + 30) == 0);
	CHECK(rate_hit(RATE_MSG, "192.0.2.1", 5, t + 60 + 31) == 0);
	CHECK(rate_hit(RATE_MSG, "192.0.2.1", 5, t + 60 + 32) == 0);
	CHECK(rate_hit(RATE_MSG, "192.0.2.1", 5, t + 60 + 33) == 1);
	/* two quiet minutes later: clean */
	for (i = 0; i < 5; i++)
		CHECK(rate_hit(RATE_MSG, "192.0.2.1", 5, t + 240 + i) == 0);
	/* 0: off */
	for (i = 0; i < 100; i++)
		CHECK(rate_hit(RATE_MSG, "192.0.2.3", 0, t) == 0);
}

UNIT_TEST(test_rate_table_is_bounded_and_keeps_working_when_full)
{
	char key[32];
	int i;

	for (i = 0; i < RATE_SLOTS * 2; i++) {
		snprintf(key, sizeof(key), "10.%d.%d.%d", i >> 16,
		    (i >> 8) & 255, i & 255);
		CHECK(rate_hit(RATE_CONN, key, 3, 1800000000) == 0);
	}
	for (i = 0; i < 3; i++)
		CHECK(rate_hit(RATE_CONN, "198.51.100.1", 3, 1800000001) == 0);
	CHECK(rate_hit(RATE_CONN, "198.51.100.1", 3, 1800000002) == 1);
}
