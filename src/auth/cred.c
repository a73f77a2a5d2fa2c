/*
 * cred: the credential check. A login is a user address (SMTP password,
 * app password, or with a bearer mechanism an OAuth token) or a bare
 * domain (the domain's SMTP password). The login password is never
 * looked at: that is the two-password design. An unknown login costs
 * the same hashing as a known one; the caller answers every failure
 * after the same fixed delay.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cred.h"
#include "../store/store.h"
#include "../util/str.h"

struct cred_app {
	const struct secret_keys *keys;
	const char *secret;
};

static int
cred_app_match(const char *hash, void *arg)
{
	struct cred_app *a = arg;

	return secret_hash_verify(a->keys, a->secret, strlen(a->secret), hash);
}

int
cred_app_verify(struct store *st, const struct secret_keys *keys,
    int64_t user_id, const char *secret, int64_t *app_id)
{
	struct cred_app app = { keys, secret };

	return store_app_match_id(st, user_id, cred_app_match, &app, app_id);
}

/* Is word one of the space-separated words of a token's scope? */
static int
cred_scope_has(const char *scope, const char *word)
{
	size_t n = strlen(word);
	const char *p = scope;

	while ((p = strstr(p, word)) != NULL) {
		if ((p == scope || p[-1] == ' ') &&
		    (p[n] == '\0' || p[n] == ' '))
			return 1;
		p += n;
	}
	return 0;
}

static void
cred_ref_set(struct cred_result *r, const char *kind, int64_t owner,
    const char *ref)
{
	r->ref.kind = kind;
	r->ref.owner = owner;
	str_lcpy(r->ref.ref, ref, sizeof(r->ref.ref));
}

int
cred_still_valid(struct store *st, const struct cred_ref *c, int64_t now)
{
	int rc;

	if (c->kind == NULL)
		return 1; /* not opened by a credential (a relay network) */
	rc = store_cred_live(st, c->kind, c->owner, c->ref, now);
	return rc == STORE_FAIL ? -1 : rc;
}

/* The identity: every name the login may send as. */
struct sender_identity *
cred_identity(struct store *st, int64_t user_id, int64_t domain_id,
    const char *login)
{
	const char *locals[SENDER_NAMES_MAX], *domains[SENDER_NAMES_MAX];
	struct store_name_rows drows;
	struct store_strings lrows = { NULL, 0 };
	struct sender_identity *id = NULL;
	int nl = 0, nd = 0;
	size_t i;

	if (store_domain_names(st, domain_id, &drows) != 0)
		return NULL;
	if (user_id && store_user_names(st, user_id, &lrows) != 0)
		goto out;
	for (i = 0; i < drows.n && nd < SENDER_NAMES_MAX; i++)
		domains[nd++] = drows.v[i].name;
	for (i = 0; i < lrows.n && nl < SENDER_NAMES_MAX; i++)
		locals[nl++] = lrows.v[i];
	id = sender_identity_new(user_id, domain_id, login, locals, nl, domains,
	    nd);
out:
	store_name_rows_free(&drows);
	store_strings_free(&lrows);
	return id;
}

/* The store could not answer: no verdict, the client is told to come
 * back (451), never refused as if the password were wrong, never let in. */
static void
cred_store_failed(struct cred_result *r)
{
	r->ok = 0;
	r->tempfail = 1;
	r->reason = "store unavailable";
}

static void
cred_check_user(struct store *st, const struct secret_keys *keys,
    const struct sasl_creds *c, const struct store_user *u, int64_t now,
    struct cred_result *r)
{
	char hash[SECRET_HASH_HEX + 1], scope[CRED_SCOPE_MAX];
	int64_t tok_user, expires;
	int revoked, rc;

	if (c->bearer) {
		/* "ID.SECRET": the id finds the row, the secret proves it */
		const char *dot = strchr(c->secret, '.');
		char tid[64];
		r->kind = STORE_CRED_TOKEN;
		if (dot == NULL || (size_t)(dot - c->secret) >= sizeof(tid)) {
			r->reason = "malformed token";
			return;
		}
		memcpy(tid, c->secret, (size_t)(dot - c->secret));
		tid[dot - c->secret] = '\0';
		rc = store_token_find(st, tid, &tok_user, hash, sizeof(hash),
		    scope, sizeof(scope), &expires, &revoked);
		if (rc == STORE_FAIL) {
			cred_store_failed(r);
			return;
		}
		if (rc != 0 ||
		    !secret_hash_verify(keys, dot + 1, strlen(dot + 1), hash)) {
			r->reason = "wrong token";
			return;
		}
		if (tok_user != u->id)
			r->reason = "token of another user";
		else if (revoked)
			r->reason = "token revoked";
		else if (expires <= now)
			r->reason = "token expired";
		else if (!cred_scope_has(scope, CRED_SCOPE_SMTP))
			r->reason = "token not for smtp";
		else {
			r->ok = 1;
			cred_ref_set(r, STORE_CRED_TOKEN, u->id, tid);
		}
		return;
	}
	rc = store_smtp_get(st, u->id, 0, hash, sizeof(hash), NULL, 0, NULL);
	if (rc == STORE_FAIL) {
		cred_store_failed(r);
		return;
	}
	if (rc == 0 &&
	    secret_hash_verify(keys, c->secret, strlen(c->secret), hash)) {
		r->kind = STORE_CRED_SMTP;
		r->ok = 1;
		cred_ref_set(r, STORE_CRED_SMTP, u->id, hash);
		return;
	}
	int64_t app_id = 0;
	rc = cred_app_verify(st, keys, u->id, c->secret, &app_id);
	if (rc == STORE_FAIL) {
		cred_store_failed(r);
		return;
	}
	if (rc == 1) {
		char id[24];
		snprintf(id, sizeof(id), "%lld", (long long)app_id);
		r->kind = STORE_CRED_APP;
		r->ok = 1;
		r->app_id = app_id;
		cred_ref_set(r, STORE_CRED_APP, u->id, id);
		return;
	}
	r->kind = STORE_CRED_SMTP;
	r->reason = "wrong password";
}

/* The name an attempt is logged under: the account's own once the login
 * finds one (whatever the spelling), else the canonical spelling, else
 * the login as typed (the log quotes it). */
static const char *
cred_log_name(struct store *st, const char *typed, char *canon, size_t len)
{
	struct store_user u;
	struct addr a;
	char why[160];

	if (addr_login_canon(typed, canon, len, why, sizeof(why)) == -1)
		return typed;
	if (strchr(canon, '@') != NULL &&
	    addr_parse(canon, &a, why, sizeof(why)) == 0 &&
	    store_user_get(st, &a, &u) == 0)
		snprintf(canon, len, "%s@%s", u.local, u.domain);
	return canon;
}

int
cred_log_refused(struct store *st, const char *login, const char *ip,
    const char *mech, const char *reason, int64_t now)
{
	char canon[ADDR_MAX + 1];
	struct store_auth_event ev = { now,
		cred_log_name(st, login, canon, sizeof(canon)), ip, mech, NULL,
		"refused", reason, NULL };

	return store_auth_log(st, &ev);
}

int
cred_verify(struct store *st, const struct secret_keys *keys,
    const struct sasl_creds *c, const char *mech, const char *ip, int64_t now,
    struct cred_result *r)
{
	struct store_auth_event ev;
	char hash[SECRET_HASH_HEX + 1], why[160];
	struct store_user u;
	struct store_domain d;
	struct addr a;
	char login[ADDR_MAX + 1] = "", canon[ADDR_MAX + 1];
	int64_t user_id = 0, domain_id = 0;
	int have, reading, drc = 0;

	memset(r, 0, sizeof(*r));
	r->reason = "unknown login";
	/* every read of the check in one snapshot (one read transaction,
	 * not eight); the writes (an app password's use, the log entry)
	 * come after it */
	reading = store_read_begin(st) == 0;
	/* one spelling per account: "carol@other.org." and its full-width or
	 * soft-hyphened twins are carol@other.org (mail/addr.c) */
	have = addr_login_canon(c->login, canon, sizeof(canon), why,
		   sizeof(why)) == 0;
	if (have && strchr(canon, '@') != NULL) {
		int rc = addr_parse(canon, &a, why, sizeof(why)) == 0
			     ? store_user_get(st, &a, &u)
			     : STORE_NOTFOUND;
		if (rc == STORE_FAIL)
			cred_store_failed(r);
		if (rc == 0) {
			/* logged under the account's name, failed or not */
			snprintf(login, sizeof(login), "%s@%s", u.local,
			    u.domain);
			if (addr_login_canon(login, r->account,
				sizeof(r->account), why, sizeof(why)) == -1)
				r->account[0] = '\0';
			cred_check_user(st, keys, c, &u, now, r);
			if (r->ok) {
				user_id = u.id;
				domain_id = u.domain_id;
				r->blocked = u.blocked;
				str_lcpy(r->block_reason, u.blocked_reason,
				    sizeof(r->block_reason));
			}
		}
	} else if (have && !c->bearer &&
		   (drc = store_domain_get(st, canon, &d)) == STORE_FAIL) {
		cred_store_failed(r);
	} else if (have && !c->bearer && drc == 0) {
		r->kind = STORE_CRED_DOMAIN;
		str_lcpy(login, d.name, sizeof(login));
		str_lcpy(r->account, d.name, sizeof(r->account));
		int rc = store_smtp_get(st, 0, d.id, hash, sizeof(hash), NULL,
		    0, NULL);
		if (rc == STORE_FAIL)
			cred_store_failed(r);
		else if (rc == 0 && secret_hash_verify(keys, c->secret,
					strlen(c->secret), hash)) {
			r->ok = 1;
			domain_id = d.id;
			cred_ref_set(r, STORE_CRED_DOMAIN, d.id, hash);
		} else {
			r->reason = "wrong password";
		}
	}
	if (r->kind == NULL) /* unknown: the same hashing work, no answer */
		secret_hash_verify(keys, c->secret, strlen(c->secret),
		    "00000000000000000000000000000000"
		    "00000000000000000000000000000000");
	if (r->ok) {
		r->reason = NULL;
		if ((r->id = cred_identity(st, user_id, domain_id, login)) ==
		    NULL) {
			cred_store_failed(r);
		}
		if (user_id) {
			int64_t v = store_tos_current(st, NULL);
			r->tos_ok =
			    v == 0 || store_tos_accepted(st, user_id, v);
			if (v < 0)
				cred_store_failed(r);
		} else {
			r->tos_ok = 1;
		}
	}
	if (reading)
		store_read_end(st);
	if (r->ok && r->app_id)
		store_app_used(st, r->app_id, now);
	ev.time = now;
	ev.login = login[0] ? login : have ? canon : c->login;
	ev.ip = ip;
	ev.mech = mech;
	ev.kind = r->kind;
	ev.outcome = r->ok ? "ok" : "failed";
	ev.reason = r->reason;
	store_auth_log(st, &ev);
	return r->ok ? 0 : -1;
}
