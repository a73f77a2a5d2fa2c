/*
 * session: callers of the API. Operator keys and panel session ids are
 * secrets postern made (>= 190 bits), kept as keyed hashes and found by
 * that hash. A sign-in checks the login password (argon2id, on a
 * worker). Failures go to the one failure-counter engine
 * (policy/bruteforce, its login-password table): each is answered later
 * than the one before; an address past [http] login_failures_per_ip, or
 * one that failed a login with [http] login_failures failures, is
 * refused (429) for [http] login_window, while the login's owner from
 * another address signs in as usual.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/http.h>
#include <sodium.h>

#include "server.h"
#include "session.h"
#include "../admin/account.h"
#include "../auth/secret.h"
#include "../policy/bruteforce.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/net.h"
#include "../util/str.h"

#define LOGIN_PASSWORD_MAX 1024
#define INFLIGHT_BUCKETS 4096
#define INFLIGHT_MAX_ENTRIES 100000

/* ------------------------------------------------------------------ */
/* who is calling */

/* The CSRF token of a session: a keyed hash of its id, so it needs no
 * storage and cannot be made without the id and the server's key. */
static void
http_csrf_token(const struct secret_keys *keys, const char *sid,
    char out[SECRET_HASH_HEX])
{
	char in[HTTP_SID_LEN + 8];

	snprintf(in, sizeof(in), "csrf:%s", sid);
	secret_hash(keys, in, strlen(in), out);
	sodium_memzero(in, sizeof(in));
}

int
http_authenticate(struct http_call *c, struct admin_err *err)
{
	char hash[SECRET_HASH_HEX], name[128];
	int64_t now = (int64_t)time(NULL);
	struct store_user u;
	int rc;

	if (c->bearer[0]) {
		secret_hash(c->ctx.keys, c->bearer, strlen(c->bearer), hash);
		rc = store_apikey_find(c->ctx.store, hash, name, sizeof(name),
		    now);
		if (rc == STORE_NOTFOUND)
			return admin_fail(err, 401,
			    "this API key is not valid: it was revoked or mistyped");
		if (rc != 0)
			return admin_store_fail(&c->ctx, err);
		c->caller = HTTP_BY_KEY;
		snprintf(c->actor, sizeof(c->actor), "api:%s", name);
		return 0;
	}
	if (strlen(c->sid) != HTTP_SID_LEN)
		return 0; /* no session (a stray cookie is no session) */
	secret_hash(c->ctx.keys, c->sid, strlen(c->sid), hash);
	rc = store_session_use(c->ctx.store, hash,
	    now - c->ctx.conf->session_idle, now, &u);
	if (rc == STORE_NOTFOUND)
		return 0;
	if (rc != 0)
		return admin_store_fail(&c->ctx, err);
	c->caller = HTTP_BY_SESSION;
	c->user_id = u.id;
	snprintf(c->address, sizeof(c->address), "%s@%s", u.local, u.domain);
	snprintf(c->actor, sizeof(c->actor), "panel:%s", c->address);
	return 0;
}

int
http_authorize(struct http_call *c, struct admin_err *err)
{
	unsigned flags = c->route->flags;
	char want[SECRET_HASH_HEX];
	int ok;

	if (flags & HTTP_PUBLIC)
		return 0;
	switch (c->caller) {
	case HTTP_NOBODY:
		return admin_fail(err, 401,
		    "sign in first (POST /api/v1/session; a session ends after %llds unused), or send an operator key as Authorization: Bearer KEY",
		    (long long)c->ctx.conf->session_idle);
	case HTTP_BY_KEY:
		if (!(flags & HTTP_OPERATOR))
			return admin_fail(err, 403,
			    "an API key has no account of its own: use the /api/v1/users/ADDRESS calls");
		return 0;
	case HTTP_BY_SESSION:
		if (!(flags & HTTP_USER))
			return admin_fail(err, 403,
			    "only an operator (with an API key) may do this");
		if (c->method == HTTP_GET || c->method == HTTP_HEAD)
			return 0;
		/* every change carries the token the sign-in returned */
		http_csrf_token(c->ctx.keys, c->sid, want);
		ok = strlen(c->csrf) == HTTP_CSRF_LEN &&
		     secret_equal(c->csrf, want);
		sodium_memzero(want, sizeof(want));
		if (!ok)
			return admin_fail(err, 403,
			    "missing or wrong X-CSRF-Token header: send the csrf_token from GET /api/v1/session");
		return 0;
	}
	return admin_fail(err, 500, "unknown caller");
}

/* ------------------------------------------------------------------ */
/* sign in, sign out */

static void
http_cookie_set(struct http_call *c, const char *sid)
{
	snprintf(c->cookie, sizeof(c->cookie),
	    "%s=%s; Path=/; %sHttpOnly; SameSite=Strict%s", HTTP_COOKIE,
	    sid ? sid : "", sid ? "" : "Max-Age=0; ", c->tls ? "; Secure" : "");
}

static json_t *
http_session_body(struct http_call *c, const char *sid)
{
	char csrf[SECRET_HASH_HEX];
	json_t *o;

	http_csrf_token(c->ctx.keys, sid, csrf);
	o = json_pack("{s:s,s:s,s:I}", "address", c->address, "csrf_token",
	    csrf, "idle_timeout", (json_int_t)c->ctx.conf->session_idle);
	sodium_memzero(csrf, sizeof(csrf));
	return o;
}

static int
http_session_login(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_arg(args, "address");
	const char *password = admin_arg(args, "password");
	char hash[crypto_pwhash_STRBYTES], why[160], canon[ADDR_MAX + 1];
	int64_t now = (int64_t)time(NULL);
	struct store_auth_event ev;
	struct store_user u;
	struct addr a;
	int found = 0, ok = 0;

	if (address == NULL || *address == '\0' || password == NULL ||
	    *password == '\0')
		return admin_fail(err, 400,
		    "send {\"address\": ..., \"password\": ...}");
	c->login_result = -1;
	if (strlen(password) <= LOGIN_PASSWORD_MAX &&
	    addr_login_canon(address, canon, sizeof(canon), why, sizeof(why)) ==
		0 &&
	    addr_parse(canon, &a, why, sizeof(why)) == 0 &&
	    store_user_get(c->ctx.store, &a, &u) == 0) {
		found = 1;
		snprintf(c->address, sizeof(c->address), "%s@%s", u.local,
		    u.domain);
		/* failures count for the account too, whatever the name */
		http_login_key(c->address, c->login_account,
		    sizeof(c->login_account));
		if (store_login_password_get(c->ctx.store, u.id, hash,
			sizeof(hash)) == 0)
			ok = secret_pwhash_verify(hash, password);
		else
			found = 2; /* no login password yet */
	}
	if (found != 1)
		secret_pwhash_dummy(password);
	memset(&ev, 0, sizeof(ev));
	ev.time = now;
	ev.login = found ? c->address : c->login;
	ev.ip = c->ip;
	ev.mech = "panel";
	ev.kind = found ? "login_password" : NULL;
	ev.outcome = ok ? "ok" : "failed";
	ev.reason = ok		 ? NULL
		    : found == 2 ? "no login password"
		    : found	 ? "wrong password"
				 : "unknown login";
	store_auth_log(c->ctx.store, &ev);
	if (!ok) {
		c->address[0] = '\0';
		return admin_fail(err, 401, "wrong address or password");
	}
	/* two-step sign-in on: no session before the code (http/panel.c);
	 * the right password alone forgives no failure, or each wrong code
	 * would be wiped by the next ticket */
	if ((ok = account_totp_enabled(&c->ctx, u.id)) != 0) {
		c->login_result = HTTP_LOGIN_HALF;
		return ok == -1 ? admin_store_fail(&c->ctx, err)
				: http_panel_ticket(c, u.id, out, err);
	}
	c->login_result = 1;
	return http_session_start(c, u.id, out, err);
}

int
http_session_start(struct http_call *c, int64_t user_id, json_t **out,
    struct admin_err *err)
{
	char sidhash[SECRET_HASH_HEX];
	unsigned char raw[32];
	char sid[HTTP_SID_LEN + 1];
	int64_t now = (int64_t)time(NULL);

	/* a new id at every sign-in; the one the browser had ends */
	if (strlen(c->sid) == HTTP_SID_LEN) {
		secret_hash(c->ctx.keys, c->sid, strlen(c->sid), sidhash);
		store_session_remove(c->ctx.store, sidhash);
	}
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(sid, sizeof(sid), raw, sizeof(raw),
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	secret_hash(c->ctx.keys, sid, strlen(sid), sidhash);
	if (store_session_add(c->ctx.store, sidhash, user_id, now, c->ip) !=
	    0) {
		sodium_memzero(sid, sizeof(sid));
		return admin_store_fail(&c->ctx, err);
	}
	store_session_prune(c->ctx.store, now - c->ctx.conf->session_idle);
	c->login_result = 1;
	c->user_id = user_id;
	http_cookie_set(c, sid);
	*out = http_session_body(c, sid);
	sodium_memzero(sid, sizeof(sid));
	log_info("http.login address=%s ip=%s result=ok", c->address, c->ip);
	return 0;
}

static int
http_session_show(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	(void)args;
	(void)err;
	*out = http_session_body(c, c->sid);
	return 0;
}

static int
http_session_logout(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	char hash[SECRET_HASH_HEX];

	(void)args;
	secret_hash(c->ctx.keys, c->sid, strlen(c->sid), hash);
	if (store_session_remove(c->ctx.store, hash) == STORE_FAIL)
		return admin_store_fail(&c->ctx, err);
	http_cookie_set(c, NULL);
	*out = json_pack("{s:s,s:b}", "address", c->address, "signed_out", 1);
	return 0;
}

const struct http_route http_session_routes[] = {
	{ HTTP_POST, "/api/v1/session", HTTP_PUBLIC | HTTP_LOGIN, NULL,
	    http_session_login, NULL },
	{ HTTP_GET, "/api/v1/session", HTTP_USER, NULL, http_session_show,
	    NULL },
	{ HTTP_DELETE, "/api/v1/session", HTTP_USER, NULL, http_session_logout,
	    NULL },
	{ 0, NULL, 0, NULL, NULL, NULL },
};

/* ------------------------------------------------------------------ */
/* sign-ins being checked now, per client address (loop thread): each
 * costs an argon2id hash, so one address gets a few at a time */

struct inflight {
	char key[NET_IPKEY_MAX];
	int n;
	struct inflight *next;
};
static struct inflight *inflights[INFLIGHT_BUCKETS];
static int ninflights;

static struct inflight **
inflight_find(const char *key)
{
	struct inflight **pp;

	for (pp = &inflights[str_hash(key) % INFLIGHT_BUCKETS]; *pp;
	     pp = &(*pp)->next)
		if (strcmp((*pp)->key, key) == 0)
			break;
	return pp;
}

/* One more in flight from key; -1 if it has max already. A full table
 * lets it through: the argon2 lane's own bound still holds. */
static int
inflight_enter(const char *key, int max, int *counted)
{
	struct inflight **pp = inflight_find(key), *e = *pp;

	*counted = 0;
	if (e == NULL) {
		if (ninflights >= INFLIGHT_MAX_ENTRIES ||
		    (e = calloc(1, sizeof(*e))) == NULL)
			return 0;
		str_lcpy(e->key, key, sizeof(e->key));
		*pp = e;
		ninflights++;
	}
	if (e->n >= max)
		return -1;
	e->n++;
	*counted = 1;
	return 0;
}

static void
inflight_leave(const char *key)
{
	struct inflight **pp = inflight_find(key), *e = *pp;

	if (e && --e->n <= 0) {
		*pp = e->next;
		free(e);
		ninflights--;
	}
}

void
http_login_key(const char *address, char *key, size_t len)
{
	char why[160];

	/* one counter per account: "carol@other.org." and its full-width,
	 * soft-hyphened or ideographic-stop twins are carol@other.org */
	if (*address == '\0' ||
	    addr_login_canon(address, key, len, why, sizeof(why)) == -1) {
		str_lcpy(key, address, len);
		str_ascii_lower(key);
	}
}

int
http_login_gate(struct http_call *c, const char **why)
{
	const struct conf *conf;
	const char *address;
	int64_t now = (int64_t)time(NULL);
	char q[ADDR_MAX * 4 + 8], retry[32];
	struct bf_conf bc;

	if (!(c->route->flags & HTTP_LOGIN))
		return 0;
	conf = conf_current();
	address = admin_arg(c->args, "address");
	http_login_key(address ? address : "", c->login, sizeof(c->login));
	bf_login_conf(conf, &bc);
	if (bf_verdict(bf_login, &bc, c->ipkey, c->login, now) == -1) {
		snprintf(retry, sizeof(retry), "%lld",
		    (long long)conf->login_window);
		evhttp_add_header(evhttp_request_get_output_headers(c->req),
		    "Retry-After", retry);
		*why = "too many failed sign-ins from this address or for "
		       "this login: wait, then try again";
		log_info("http.login address=\"%s\" ip=%s result=refused "
			 "reason=too_many_failures",
		    log_quote(q, sizeof(q), c->login, strlen(c->login)), c->ip);
		return -1;
	}
	if (inflight_enter(c->ipkey, HTTP_LOGIN_INFLIGHT_IP,
		&c->login_inflight) == -1) {
		evhttp_add_header(evhttp_request_get_output_headers(c->req),
		    "Retry-After", "1");
		*why = "too many sign-ins at once from this address: wait a "
		       "second, then try again";
		log_info(
		    "http.login ip=%s result=refused reason=too_many_at_once",
		    c->ip);
		return -1;
	}
	return 0;
}

void
http_login_after(struct http_call *c)
{
	const struct conf *conf = conf_current();
	int64_t now = (int64_t)time(NULL), n;
	char q[ADDR_MAX * 4 + 8];
	struct bf_conf bc;

	if (c->login_inflight) {
		inflight_leave(c->ipkey);
		c->login_inflight = 0;
	}
	/* not checked (refused, malformed), signed in, or half-way (the
	 * code step next: the password alone forgives no failure) */
	if (c->login_result == 0 || c->login_result == 1 ||
	    c->login_result == HTTP_LOGIN_HALF)
		return;
	bf_login_conf(conf, &bc);
	n = c->login[0] ? bf_login_failures(bf_login, &bc, c->login, now) : 0;
	if (c->login_account[0]) {
		int64_t na =
		    bf_login_failures(bf_login, &bc, c->login_account, now);
		n = na > n ? na : n;
	}
	/* the account counts every failure under any of its names */
	bf_fail(bf_login, &bc, c->ipkey, c->login, c->login_account, now);
	/* each failure for a login answered later than the last: 1x, 2x,
	 * 4x ... 16x */
	c->delay_ms = conf->auth_fail_delay_ms << (n < 4 ? n : 4);
	log_info("http.login address=\"%s\" ip=%s result=failed failures=%lld",
	    log_quote(q, sizeof(q), c->login, strlen(c->login)), c->ip,
	    (long long)(n + 1));
}

void
http_login_free(void)
{
	struct inflight *e;
	int i;

	for (i = 0; i < INFLIGHT_BUCKETS; i++)
		while ((e = inflights[i]) != NULL) {
			inflights[i] = e->next;
			free(e);
		}
	ninflights = 0;
}
