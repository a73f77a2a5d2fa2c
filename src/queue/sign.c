/*
 * sign: which keys sign a message. The signing domain is the domain of
 * the From: header (DMARC alignment); every live key of that name signs
 * (RSA, Ed25519, or both). A From: domain with no key of ours goes out
 * unsigned, as a relayed customer's mail may.
 *
 * A signature says "this domain sent it", so the signer does not trust
 * the session alone: it signs only when every From: address is at the
 * domain the envelope says the client was allowed to send for (the
 * `domain` line: the login's domain or the relay network's), at its
 * primary name or an alias. Files without that line (postern's own
 * messages, and files queued before the line existed) fall back to the
 * login's domain, else the MAIL FROM domain (a relay network's sender
 * was checked to be its user), else the host name (notices, DSNs).
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qmgr.h"
#include "../dkim/dkim.h"
#include "../mail/addr.h"
#include "../mail/header.h"
#include "../spool/spool.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/str.h"

/* Parsed keys, per worker thread: a PEM parse per message is wasted. */
#define SIGN_CACHE 16
static __thread struct {
	char path[1024];
	struct dkim_key *key;
} sign_cache[SIGN_CACHE];
static __thread int sign_cache_next;

static struct dkim_key *
sign_key(const char *path, enum dkim_alg alg, const char *domain,
    const char *selector)
{
	struct dkim_key *k;
	int i;

	for (i = 0; i < SIGN_CACHE; i++)
		if (sign_cache[i].key && strcmp(sign_cache[i].path, path) == 0)
			return sign_cache[i].key;
	if ((k = dkim_key_load(path, alg, domain, selector)) == NULL)
		return NULL;
	i = sign_cache_next++ % SIGN_CACHE;
	dkim_key_free(sign_cache[i].key);
	snprintf(sign_cache[i].path, sizeof(sign_cache[i].path), "%s", path);
	sign_cache[i].key = k;
	return k;
}

/*
 * What the store last said of a domain and its signing keys, kept for
 * when it cannot answer (its server away, several nodes on one
 * PostgreSQL): the queue keeps delivering queued mail then, and signs
 * it as it would have, rather than sending it unsigned (which DMARC
 * would refuse downstream). Bounded: SIGN_MEMO names, a name in
 * one of 8 slots after its hash; one lock, taken only around copies.
 */
#define SIGN_MEMO 256
#define SIGN_MEMO_KEYS 4
/* An answer this young is used without asking again: a busy queue asks
 * the store of a domain once every few seconds, not three times a
 * message (a round trip each on PostgreSQL); a domain removed or a key
 * rotated reaches the signer within this long. */
#define SIGN_FRESH 5
static struct sign_memo {
	char name[ADDR_DOMAIN_MAX + 1];
	int rc; /* store_domain_get's: 0 or STORE_NOTFOUND */
	struct store_domain d;
	time_t d_at, keys_at; /* when the store said so */
	int have_keys;
	size_t nkeys;
	struct {
		char selector[64], alg[16], path[1024];
	} keys[SIGN_MEMO_KEYS];
} sign_memo[SIGN_MEMO];
static pthread_mutex_t sign_memo_mu = PTHREAD_MUTEX_INITIALIZER;

/* A name's slot: one of 8 after its hash; a new name takes a free one,
 * else the first. Under the lock. */
static struct sign_memo *
sign_memo_find(const char *name, int create)
{
	uint64_t h = str_hash(name);
	struct sign_memo *m, *free_slot = NULL;
	size_t i;

	for (i = 0; i < 8; i++) {
		m = &sign_memo[(h + i) % SIGN_MEMO];
		if (strcmp(m->name, name) == 0 && m->name[0])
			return m;
		if (free_slot == NULL && m->name[0] == '\0')
			free_slot = m;
	}
	if (!create)
		return NULL;
	m = free_slot ? free_slot : &sign_memo[h % SIGN_MEMO];
	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	return m;
}

static int
sign_domain_get(struct store *st, const char *name, struct store_domain *d)
{
	struct sign_memo *m;
	time_t now = time(NULL);
	int rc;

	pthread_mutex_lock(&sign_memo_mu);
	if ((m = sign_memo_find(name, 0)) != NULL && m->d_at != 0 &&
	    now - m->d_at < SIGN_FRESH && now >= m->d_at) {
		rc = m->rc;
		if (rc == 0)
			*d = m->d;
		pthread_mutex_unlock(&sign_memo_mu);
		return rc;
	}
	pthread_mutex_unlock(&sign_memo_mu);
	rc = store_domain_get(st, name, d);
	pthread_mutex_lock(&sign_memo_mu);
	if (rc == 0 || rc == STORE_NOTFOUND) {
		if ((m = sign_memo_find(name, 1)) != NULL) {
			m->rc = rc;
			m->d_at = now;
			if (rc == 0)
				m->d = *d;
		}
	} else if ((m = sign_memo_find(name, 0)) != NULL) {
		rc = m->rc; /* the store is away: as it last said */
		if (rc == 0)
			*d = m->d;
	}
	pthread_mutex_unlock(&sign_memo_mu);
	return rc;
}

/* The memo's keys of name as rows (malloc'd); 0, or -1. Under the lock. */
static int
sign_memo_rows(const struct sign_memo *m, const char *name,
    struct store_dkim_rows *rows)
{
	size_t i;

	if ((rows->v = calloc(m->nkeys ? m->nkeys : 1, sizeof(*rows->v))) ==
	    NULL)
		return -1;
	rows->n = 0;
	for (i = 0; i < m->nkeys; i++) {
		struct store_dkim_row *r = &rows->v[rows->n++];
		r->selector = strdup(m->keys[i].selector);
		r->alg = strdup(m->keys[i].alg);
		r->path = strdup(m->keys[i].path);
		r->name = strdup(name);
		if (!r->selector || !r->alg || !r->path || !r->name) {
			store_dkim_rows_free(rows);
			return -1;
		}
	}
	return 0;
}

static int
sign_rows(struct store *st, const char *name, struct store_dkim_rows *rows)
{
	struct sign_memo *m;
	time_t now = time(NULL);
	size_t i;
	int rc;

	pthread_mutex_lock(&sign_memo_mu);
	if ((m = sign_memo_find(name, 0)) != NULL && m->have_keys &&
	    m->keys_at != 0 && now - m->keys_at < SIGN_FRESH &&
	    now >= m->keys_at) {
		rc = sign_memo_rows(m, name, rows) == 0 ? 0 : STORE_FAIL;
		pthread_mutex_unlock(&sign_memo_mu);
		return rc;
	}
	pthread_mutex_unlock(&sign_memo_mu);
	rc = store_dkim_signing(st, name, rows);
	pthread_mutex_lock(&sign_memo_mu);
	if (rc == 0) {
		if ((m = sign_memo_find(name, 1)) != NULL) {
			m->keys_at = now;
			m->have_keys = 1;
			m->nkeys = 0;
			for (i = 0; i < rows->n && m->nkeys < SIGN_MEMO_KEYS;
			     i++) {
				snprintf(m->keys[m->nkeys].selector,
				    sizeof(m->keys[0].selector), "%s",
				    rows->v[i].selector);
				snprintf(m->keys[m->nkeys].alg,
				    sizeof(m->keys[0].alg), "%s",
				    rows->v[i].alg);
				snprintf(m->keys[m->nkeys].path,
				    sizeof(m->keys[0].path), "%s",
				    rows->v[i].path);
				m->nkeys++;
			}
		}
	} else if ((m = sign_memo_find(name, 0)) != NULL && m->have_keys) {
		rc = sign_memo_rows(m, name, rows) == 0 ? 0 : STORE_FAIL;
		if (rc == 0)
			log_info("dkim.keys domain=%s from=memory "
				 "reason=\"store unavailable\"",
			    name);
	}
	pthread_mutex_unlock(&sign_memo_mu);
	return rc;
}

void
queue_sign_thread_end(void)
{
	int i;

	for (i = 0; i < SIGN_CACHE; i++) {
		dkim_key_free(sign_cache[i].key);
		sign_cache[i].key = NULL;
	}
}

/*
 * The canonical name of the domain the message's sender was allowed to
 * use, into out. -1 when none can be told.
 */
static int
sign_allowed_name(const struct spool_env *env, const char *hostname, char *out,
    size_t outlen)
{
	const char *name, *at;
	char err[160];

	if (env->domain[0])
		name = env->domain;
	else if (env->auth[0])
		name = (at = strrchr(env->auth, '@')) ? at + 1 : env->auth;
	else if (env->from[0])
		name = (at = strrchr(env->from, '@')) ? at + 1 : "";
	else
		name = hostname;
	return addr_domain_canon(name, out, outlen, err, sizeof(err));
}

/*
 * The From: domain to sign for, into a->domain: 1 when every From:
 * address is at a name of the domain the sender was allowed, 0 when the
 * message must go unsigned, -1 on a store failure.
 */
static int
sign_domain(struct store *st, const struct spool_env *env, const char *hostname,
    const char *msg, size_t len, struct addr *a)
{
	char addrs[HEADER_FROM_MAX][ADDR_MAX + 1], err[160];
	char allowed[ADDR_DOMAIN_MAX + 1] = "", la[LOG_ADDR_MAX];
	struct store_domain ad, fd;
	struct header_info hi;
	struct addr o;
	int n = 0, i, rc;

	/* mail from elsewhere is never ours to sign: its From: may name a
	 * domain of ours, but nobody here was allowed to use it */
	if (env->inbound)
		return 0;
	header_scan(msg, len, &hi);
	if (hi.from_count != 1)
		return 0;
	/* what the session refuses now may have been queued before: a
	 * From: another program reads differently is never signed */
	if (hi.lookalike > 0 ||
	    header_addresses(hi.from, hi.from_len, HEADER_MAILBOX_LIST, addrs,
		HEADER_FROM_MAX, &n, NULL) == -1 ||
	    n < 1 || addr_parse(addrs[0], a, err, sizeof(err)) == -1) {
		log_warnx("dkim.skip queue=%s reason=\"From: is not read "
			  "alike by every mail program\"",
		    env->id);
		return 0;
	}
	/* a domain that is not ours has no key: nothing to withhold */
	if ((rc = sign_domain_get(st, a->domain, &fd)) == STORE_FAIL)
		return -1;
	if (rc != 0)
		return 0;
	if (sign_allowed_name(env, hostname, allowed, sizeof(allowed)) == -1) {
		allowed[0] = '\0';
		goto foreign;
	}
	if ((rc = sign_domain_get(st, allowed, &ad)) == STORE_FAIL)
		return -1;
	if (rc != 0 || ad.id != fd.id)
		goto foreign;
	/* a second From: address must not be foreign either */
	for (i = 1; i < n; i++) {
		if (addr_parse(addrs[i], &o, err, sizeof(err)) == -1)
			goto foreign;
		if ((rc = sign_domain_get(st, o.domain, &fd)) == STORE_FAIL)
			return -1;
		if (rc != 0 || fd.id != ad.id)
			goto foreign;
	}
	return 1;
foreign:
	log_warnx("dkim.skip queue=%s from=<%s> allowed=%s "
		  "reason=\"From: is not at the domain the sender was "
		  "allowed to use\"",
	    env->id, log_addr(la, sizeof(la), n > 0 ? addrs[0] : ""),
	    allowed[0] ? allowed : "-");
	return 0;
}

int
queue_sign(struct store *st, const struct spool_env *env, const char *hostname,
    char **msg, size_t *len)
{
	struct dkim_key *keys[DKIM_MAX_KEYS];
	struct addr a;
	struct buf out;
	struct store_dkim_rows rows;
	size_t i;
	int nk = 0, rc;

	if ((rc = sign_domain(st, env, hostname, *msg, *len, &a)) != 1)
		return rc;
	rc = 0;
	if (sign_rows(st, a.domain, &rows) != 0)
		return -1;
	for (i = 0; i < rows.n && nk < DKIM_MAX_KEYS; i++) {
		const struct store_dkim_row *r = &rows.v[i];
		struct dkim_key *k = sign_key(r->path,
		    strcmp(r->alg, "rsa") == 0 ? DKIM_RSA : DKIM_ED25519,
		    a.domain, r->selector);
		if (k == NULL) {
			log_warnx(
			    "dkim.key domain=%s selector=%s error=\"cannot "
			    "load\"",
			    a.domain, r->selector);
			continue;
		}
		keys[nk++] = k;
	}
	store_dkim_rows_free(&rows);
	if (nk == 0)
		return 0;
	buf_init(&out, *len + (size_t)nk * DKIM_FIELD_MAX);
	if (dkim_sign(keys, nk, *msg, *len, time(NULL), &out) == -1 ||
	    buf_append(&out, *msg, *len) == -1) {
		buf_free(&out);
		rc = -1;
	} else {
		free(*msg);
		*msg = out.data;
		*len = out.len;
	}
	return rc;
}

struct dkim_key *
queue_arc_key(struct store *st, const char *domain)
{
	struct store_dkim_rows rows;
	struct dkim_key *k = NULL;
	size_t i;

	if (store_dkim_signing(st, domain, &rows) != 0)
		return NULL;
	/* RFC 8617 knows rsa-sha256 alone; the rows list RSA first */
	for (i = 0; i < rows.n && k == NULL; i++)
		if (strcmp(rows.v[i].alg, "rsa") == 0)
			k = sign_key(rows.v[i].path, DKIM_RSA, domain,
			    rows.v[i].selector);
	store_dkim_rows_free(&rows);
	return k;
}
