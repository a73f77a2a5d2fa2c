/*
 * rate: see rate.h. A minute's count and the previous minute's, weighted
 * by how much of it still lies in the last 60 seconds: a sliding window
 * in two counters per kind.
 */
#include <pthread.h>
#include <string.h>

#include "rate.h"
#include "../util/net.h"
#include "../util/str.h"

#define RATE_PROBE 8

struct rate_slot {
	uint64_t h;
	int64_t minute; /* of cur; 0: free */
	int32_t cur[RATE_KINDS], prev[RATE_KINDS];
	char key[NET_IPKEY_MAX];
};

static struct rate_slot slots[RATE_SLOTS];
static pthread_mutex_t rate_mu = PTHREAD_MUTEX_INITIALIZER;

/* key's slot (made if need be, the stalest of its probe run replaced) */
static struct rate_slot *
rate_slot(const char *key, uint64_t h, int64_t minute)
{
	struct rate_slot *s, *old = NULL;
	int i;

	for (i = 0; i < RATE_PROBE; i++) {
		s = &slots[(h + (uint64_t)i) % RATE_SLOTS];
		if (s->minute != 0 && s->h == h && strcmp(s->key, key) == 0)
			return s;
		if (old == NULL || s->minute < old->minute)
			old = s;
	}
	memset(old, 0, sizeof(*old));
	old->h = h;
	old->minute = minute;
	str_lcpy(old->key, key, sizeof(old->key));
	return old;
}

int
rate_hit(enum rate_kind kind, const char *key, int64_t limit, int64_t now)
{
	int64_t minute = now / 60 + 1, into = now % 60, est;
	struct rate_slot *s;
	int over;

	if (limit <= 0)
		return 0;
	pthread_mutex_lock(&rate_mu);
	s = rate_slot(key, str_hash(key), minute);
	if (s->minute != minute) { /* a new minute: cur becomes prev */
		int k;
		for (k = 0; k < RATE_KINDS; k++) {
			s->prev[k] = s->minute == minute - 1 ? s->cur[k] : 0;
			s->cur[k] = 0;
		}
		s->minute = minute;
	}
	est = s->cur[kind] + (s->prev[kind] * (60 - into)) / 60;
	over = est >= limit;
	if (!over)
		s->cur[kind]++;
	pthread_mutex_unlock(&rate_mu);
	return over;
}
