/*
 * bruteforce: two fixed tables of slots (client addresses, logins), each
 * slot a keyed 64-bit hash of its name (SipHash with a key made at
 * start, so nobody can aim collisions), a failure count and times. A
 * name's slot is one of 8 after its hash; when all are taken the oldest
 * is reused: memory never grows, whatever an attacker sends.
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>

#include "bruteforce.h"
#include "../mail/addr.h"
#include "../util/str.h"

#define BF_PROBE 8
#define BF_NAME_MAX 512

struct bf_slot {
	uint64_t key; /* 0: free */
	int64_t fails;
	int64_t last;	       /* last failure */
	int64_t refused_until; /* addresses only */
	uint64_t link;	       /* logins: the account it found, hashed */
};

static struct bf_slot bf_ips[BF_SLOTS], bf_logins[BF_SLOTS];
static unsigned char bf_key[crypto_shorthash_KEYBYTES];
static pthread_mutex_t bf_mu = PTHREAD_MUTEX_INITIALIZER;

void
bf_init(void)
{
	pthread_mutex_lock(&bf_mu);
	randombytes_buf(bf_key, sizeof(bf_key));
	memset(bf_ips, 0, sizeof(bf_ips));
	memset(bf_logins, 0, sizeof(bf_logins));
	pthread_mutex_unlock(&bf_mu);
}

/* Logins are counted by their canonical spelling (mail/addr.c), as they
 * are found: "Carol@other.org." fails for carol@other.org. What does not
 * canonicalise is counted as typed, without regard to ASCII case. */
static uint64_t
bf_hash(const char *name)
{
	unsigned char buf[BF_NAME_MAX], out[crypto_shorthash_BYTES];
	size_t n = strnlen(name, sizeof(buf)), i;
	uint64_t h;

	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)(name[i] >= 'A' && name[i] <= 'Z'
					     ? name[i] + 32
					     : name[i]);
	crypto_shorthash(out, buf, n, bf_key);
	memcpy(&h, out, sizeof(h));
	return h ? h : 1;
}

static void
bf_login_key(const char *login, char *key, size_t len)
{
	char why[160];

	if (addr_login_canon(login, key, len, why, sizeof(why)) == -1)
		str_lcpy(key, login, len);
}

static int64_t
bf_age(const struct bf_slot *s)
{
	return s->key == 0 ? INT64_MIN : s->last;
}

/* The slot of a name's hash; with create, a free, expired or the oldest
 * one. */
static struct bf_slot *
bf_slot_h(struct bf_slot *tab, const struct bf_conf *c, uint64_t h, int64_t now,
    int create)
{
	struct bf_slot *s, *pick = NULL;
	int i;

	for (i = 0; i < BF_PROBE; i++) {
		s = &tab[(h + (uint64_t)i) % BF_SLOTS];
		if (s->key == h) {
			if (now - s->last >= c->window &&
			    now >= s->refused_until)
				s->fails = 0; /* forgotten */
			return s;
		}
		/* a free slot first, else the one that failed longest ago */
		if (pick == NULL || bf_age(s) < bf_age(pick))
			pick = s;
	}
	if (!create)
		return NULL;
	memset(pick, 0, sizeof(*pick));
	pick->key = h;
	return pick;
}

static struct bf_slot *
bf_slot(struct bf_slot *tab, const struct bf_conf *c, const char *name,
    int64_t now, int create)
{
	return bf_slot_h(tab, c, bf_hash(name), now, create);
}

static int64_t
bf_delay(const struct bf_conf *c, int64_t over)
{
	int64_t d = c->slow_delay_ms;

	while (over-- > 0 && d < c->slow_max_ms)
		d *= 2;
	return d < c->slow_max_ms ? d : c->slow_max_ms;
}

int64_t
bf_check(const struct bf_conf *c, const char *ip, const char *login,
    int64_t now)
{
	struct bf_slot *a, *l, *la;
	char key[BF_NAME_MAX];
	int64_t ipf, lf, delay = 0;

	bf_login_key(login, key, sizeof(key));
	pthread_mutex_lock(&bf_mu);
	a = bf_slot(bf_ips, c, ip, now, 0);
	l = bf_slot(bf_logins, c, key, now, 0);
	ipf = a ? a->fails : 0;
	lf = l ? l->fails : 0;
	/* a name that found an account before (an alias) counts with it */
	if (l && l->link && (la = bf_slot_h(bf_logins, c, l->link, now, 0)) &&
	    la->fails > lf)
		lf = la->fails;
	if (a && now < a->refused_until)
		delay = -1;
	else if (ipf >= c->ip_slow_after)
		delay = bf_delay(c, ipf - c->ip_slow_after);
	/* a login under attack: only addresses that failed are slowed */
	if (delay >= 0 && ipf > 0 && lf >= c->login_slow_after) {
		int64_t d = bf_delay(c, ipf - 1);
		delay = d > delay ? d : delay;
	}
	pthread_mutex_unlock(&bf_mu);
	return delay;
}

void
bf_failed(const struct bf_conf *c, const char *ip, const char *login,
    int64_t now)
{
	bf_failed_account(c, ip, login, NULL, now);
}

void
bf_failed_account(const struct bf_conf *c, const char *ip, const char *login,
    const char *account, int64_t now)
{
	struct bf_slot *a, *l, *la;
	char key[BF_NAME_MAX], akey[BF_NAME_MAX];
	uint64_t ah = 0;

	bf_login_key(login, key, sizeof(key));
	if (account && *account) {
		bf_login_key(account, akey, sizeof(akey));
		ah = bf_hash(akey);
	}
	pthread_mutex_lock(&bf_mu);
	a = bf_slot(bf_ips, c, ip, now, 1);
	l = bf_slot(bf_logins, c, key, now, 1);
	a->fails++;
	a->last = now;
	l->fails++;
	l->last = now;
	/* another name of the account (an alias): the account counts too,
	 * and the name remembers it for the next verdict */
	if (ah && ah != l->key) {
		l->link = ah;
		la = bf_slot_h(bf_logins, c, ah, now, 1);
		la->fails++;
		la->last = now;
	}
	if (a->fails >= c->ip_refuse_after && now >= a->refused_until) {
		a->refused_until = now + c->refuse_time;
		a->fails = 0; /* after the refusal, it starts again */
	}
	pthread_mutex_unlock(&bf_mu);
}
