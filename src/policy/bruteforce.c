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
#include "../util/conf.h"
#include "../util/str.h"

#define BF_PROBE 8
#define BF_NAME_MAX 512

struct bf_slot {
	uint64_t key; /* 0: free */
	int64_t fails;
	int64_t last;	       /* last failure */
	int64_t refused_until; /* addresses only */
	uint64_t link;	       /* logins: the account it found, hashed */
	/* The name's id, the same on every node (BLAKE2b-128 of the name):
	 * how the store knows it; and the link's. pend: failures counted
	 * here and not yet added to the store's count. */
	unsigned char id[BF_ID_LEN], link_id[BF_ID_LEN];
	int64_t pend;
	int has_link, dirty;
};

struct bf_table {
	struct bf_slot ips[BF_SLOTS], logins[BF_SLOTS];
	pthread_mutex_t mu;
};

static struct bf_table bf_tables[2] = {
	{ .mu = PTHREAD_MUTEX_INITIALIZER },
	{ .mu = PTHREAD_MUTEX_INITIALIZER },
};
struct bf_table *const bf_smtp = &bf_tables[0];
struct bf_table *const bf_login = &bf_tables[1];
static unsigned char bf_key[crypto_shorthash_KEYBYTES];

void
bf_login_conf(const struct conf *conf, struct bf_conf *b)
{
	memset(b, 0, sizeof(*b));
	b->window = conf->login_window;
	b->ip_slow_after = INT64_MAX; /* failures are slowed when answered */
	b->ip_refuse_after = conf->login_failures_ip;
	b->refuse_time = conf->login_window;
	b->login_slow_after = conf->login_failures;
	b->login_refuses = 1;
	b->slow_delay_ms = conf->auth_fail_delay_ms;
	b->slow_max_ms = conf->auth_fail_delay_ms * 16;
}

void
bf_init(void)
{
	size_t i;

	randombytes_buf(bf_key, sizeof(bf_key));
	for (i = 0; i < sizeof(bf_tables) / sizeof(bf_tables[0]); i++) {
		pthread_mutex_lock(&bf_tables[i].mu);
		memset(bf_tables[i].ips, 0, sizeof(bf_tables[i].ips));
		memset(bf_tables[i].logins, 0, sizeof(bf_tables[i].logins));
		pthread_mutex_unlock(&bf_tables[i].mu);
	}
}

/* A slot's key from the name's id: SipHash under this process's key,
 * so nobody can aim collisions at the table's probing. */
static uint64_t
bf_key_of(const unsigned char id[BF_ID_LEN])
{
	unsigned char out[crypto_shorthash_BYTES];
	uint64_t h;

	crypto_shorthash(out, id, BF_ID_LEN, bf_key);
	memcpy(&h, out, sizeof(h));
	return h ? h : 1;
}

/* Logins are counted by their canonical spelling (mail/addr.c), as they
 * are found: "Carol@other.org." fails for carol@other.org. What does not
 * canonicalise is counted as typed, without regard to ASCII case. The
 * id is the same on every node; the key is this process's. */
static uint64_t
bf_hash_id(const char *name, unsigned char id[BF_ID_LEN])
{
	unsigned char buf[BF_NAME_MAX];
	size_t n = strnlen(name, sizeof(buf)), i;

	for (i = 0; i < n; i++)
		buf[i] = (unsigned char)(name[i] >= 'A' && name[i] <= 'Z'
					     ? name[i] + 32
					     : name[i]);
	crypto_generichash(id, BF_ID_LEN, buf, n, NULL, 0);
	return bf_key_of(id);
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
	unsigned char id[BF_ID_LEN];
	struct bf_slot *s =
	    bf_slot_h(tab, c, bf_hash_id(name, id), now, create);

	if (s && create)
		memcpy(s->id, id, BF_ID_LEN);
	return s;
}

static int64_t
bf_delay(const struct bf_conf *c, int64_t over)
{
	int64_t d = c->slow_delay_ms;

	while (over-- > 0 && d < c->slow_max_ms)
		d *= 2;
	return d < c->slow_max_ms ? d : c->slow_max_ms;
}

/* A login's failures, and its account's if it led to one before. */
static int64_t
bf_login_count(struct bf_table *t, const struct bf_conf *c, const char *key,
    int64_t now)
{
	struct bf_slot *l = bf_slot(t->logins, c, key, now, 0), *la;
	int64_t lf = l ? l->fails : 0;

	if (l && l->link &&
	    (la = bf_slot_h(t->logins, c, l->link, now, 0)) != NULL &&
	    la->fails > lf)
		lf = la->fails;
	return lf;
}

int64_t
bf_verdict(struct bf_table *t, const struct bf_conf *c, const char *ip,
    const char *login, int64_t now)
{
	struct bf_slot *a;
	char key[BF_NAME_MAX];
	int64_t ipf, lf, delay = 0;

	bf_login_key(login, key, sizeof(key));
	pthread_mutex_lock(&t->mu);
	a = bf_slot(t->ips, c, ip, now, 0);
	ipf = a ? a->fails : 0;
	lf = bf_login_count(t, c, key, now);
	if (a && now < a->refused_until)
		delay = -1;
	else if (ipf >= c->ip_slow_after)
		delay = bf_delay(c, ipf - c->ip_slow_after);
	/* a login under attack: only addresses that failed are slowed */
	if (delay >= 0 && ipf > 0 && lf >= c->login_slow_after) {
		int64_t d = bf_delay(c, ipf - 1);
		delay = c->login_refuses ? -1 : d > delay ? d : delay;
	}
	pthread_mutex_unlock(&t->mu);
	return delay;
}

int64_t
bf_login_failures(struct bf_table *t, const struct bf_conf *c,
    const char *login, int64_t now)
{
	char key[BF_NAME_MAX];
	int64_t n;

	bf_login_key(login, key, sizeof(key));
	pthread_mutex_lock(&t->mu);
	n = bf_login_count(t, c, key, now);
	pthread_mutex_unlock(&t->mu);
	return n;
}

int64_t
bf_check(const struct bf_conf *c, const char *ip, const char *login,
    int64_t now)
{
	return bf_verdict(bf_smtp, c, ip, login, now);
}

void
bf_failed(const struct bf_conf *c, const char *ip, const char *login,
    int64_t now)
{
	bf_fail(bf_smtp, c, ip, login, NULL, now);
}

void
bf_failed_account(const struct bf_conf *c, const char *ip, const char *login,
    const char *account, int64_t now)
{
	bf_fail(bf_smtp, c, ip, login, account, now);
}

void
bf_fail(struct bf_table *t, const struct bf_conf *c, const char *ip,
    const char *login, const char *account, int64_t now)
{
	struct bf_slot *a, *l, *la;
	char key[BF_NAME_MAX], akey[BF_NAME_MAX];
	unsigned char aid[BF_ID_LEN];
	uint64_t ah = 0;

	bf_login_key(login, key, sizeof(key));
	if (account && *account) {
		bf_login_key(account, akey, sizeof(akey));
		ah = bf_hash_id(akey, aid);
	}
	pthread_mutex_lock(&t->mu);
	a = bf_slot(t->ips, c, ip, now, 1);
	a->fails++;
	a->pend++;
	a->dirty = 1;
	a->last = now;
	/* no login named (a code step with a bad ticket): the address
	 * only, or one shared "" entry would count everybody's failures */
	l = *key ? bf_slot(t->logins, c, key, now, 1) : NULL;
	if (l) {
		l->fails++;
		l->pend++;
		l->dirty = 1;
		l->last = now;
	}
	/* another name of the account (an alias): the account counts too,
	 * and the name remembers it for the next verdict */
	if (ah && (l == NULL || ah != l->key)) {
		if (l) {
			l->link = ah;
			memcpy(l->link_id, aid, BF_ID_LEN);
			l->has_link = 1;
		}
		la = bf_slot_h(t->logins, c, ah, now, 1);
		memcpy(la->id, aid, BF_ID_LEN);
		la->fails++;
		la->pend++;
		la->dirty = 1;
		la->last = now;
	}
	if (a->fails >= c->ip_refuse_after && now >= a->refused_until) {
		a->refused_until = now + c->refuse_time;
		a->fails = 0; /* after the refusal, it starts again */
	}
	pthread_mutex_unlock(&t->mu);
}

/*
 * Several nodes: each slot's new failures go to the store, which adds
 * every node's (store_bf_add), and what the store holds comes back into
 * the slots: a slot's count is the store's plus what is counted here
 * and not yet sent, and an address the store refuses is refused here
 * too. The exchange runs once a second off the loops (smtp/nodesync.c).
 */
struct bf_out {
	int kind;
	unsigned char id[BF_ID_LEN], link_id[BF_ID_LEN];
	int has_link;
	int64_t pend, last;
};

static struct bf_slot *
bf_slot_id(struct bf_slot *tab, const struct bf_conf *c,
    const unsigned char id[BF_ID_LEN], int64_t now, int create)
{
	struct bf_slot *s = bf_slot_h(tab, c, bf_key_of(id), now, create);

	if (s && create)
		memcpy(s->id, id, BF_ID_LEN);
	return s;
}

static void
bf_apply(struct bf_slot *s, int64_t fails, int64_t last, int64_t refused)
{
	s->fails = fails + s->pend;
	if (last > s->last)
		s->last = last;
	if (refused > s->refused_until)
		s->refused_until = refused;
}

int
bf_exchange(struct bf_table *t, const struct bf_conf *c, int64_t now,
    int (*fn)(void *, int kind, const unsigned char *id,
	const unsigned char *link_id, int64_t pend, int64_t last,
	int64_t *fails, int64_t *flast, int64_t *refused),
    void *arg)
{
	struct bf_out *out = NULL, *o;
	struct bf_slot *tab, *s;
	size_t n = 0, cap = 0, i;
	int64_t fails, flast, refused;
	int k, rc = 0;

	pthread_mutex_lock(&t->mu);
	for (k = 0; k < 2; k++) {
		tab = k == 0 ? t->ips : t->logins;
		for (i = 0; i < BF_SLOTS; i++) {
			s = &tab[i];
			if (!s->dirty || s->key == 0)
				continue;
			if (n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				struct bf_out *no =
				    realloc(out, nc * sizeof(*no));
				if (no == NULL)
					goto copied;
				out = no;
				cap = nc;
			}
			o = &out[n++];
			o->kind = k;
			memcpy(o->id, s->id, BF_ID_LEN);
			memcpy(o->link_id, s->link_id, BF_ID_LEN);
			o->has_link = s->has_link;
			o->pend = s->pend;
			o->last = s->last;
			s->pend = 0;
			s->dirty = 0;
		}
	}
copied:
	pthread_mutex_unlock(&t->mu);
	for (i = 0; i < n && rc == 0; i++) {
		o = &out[i];
		if (fn(arg, o->kind, o->id, o->has_link ? o->link_id : NULL,
			o->pend, o->last, &fails, &flast, &refused) != 0) {
			rc = -1;
			break;
		}
		pthread_mutex_lock(&t->mu);
		if ((s = bf_slot_id(o->kind == 0 ? t->ips : t->logins, c, o->id,
			 now, 0)) != NULL)
			bf_apply(s, fails, flast, refused);
		pthread_mutex_unlock(&t->mu);
	}
	if (rc != 0) { /* rolled back: every delta is still to be sent */
		pthread_mutex_lock(&t->mu);
		for (i = 0; i < n; i++) {
			o = &out[i];
			if ((s = bf_slot_id(o->kind == 0 ? t->ips : t->logins,
				 c, o->id, now, 1)) != NULL) {
				s->pend += o->pend;
				s->dirty = 1;
			}
		}
		pthread_mutex_unlock(&t->mu);
	}
	free(out);
	return rc;
}

void
bf_merge(struct bf_table *t, const struct bf_conf *c, int kind,
    const unsigned char id[BF_ID_LEN], const unsigned char *link_id,
    int64_t fails, int64_t last, int64_t refused, int64_t now)
{
	struct bf_slot *s;

	/* a count that ended long ago and refuses nothing: nothing to do */
	if (now - last >= c->window && refused <= now)
		return;
	pthread_mutex_lock(&t->mu);
	if ((s = bf_slot_id(kind == 0 ? t->ips : t->logins, c, id, now, 1)) !=
	    NULL) {
		bf_apply(s, fails, last, refused);
		if (link_id && kind == 1) {
			memcpy(s->link_id, link_id, BF_ID_LEN);
			s->link = bf_key_of(link_id);
			s->has_link = 1;
		}
	}
	pthread_mutex_unlock(&t->mu);
}
