/*
 * session: callers of the API. Operator keys and panel session ids are
 * secrets postern made (>= 190 bits), kept as keyed hashes and found by
 * that hash. A sign-in checks the login password (argon2id, on a
 * worker); failures are counted on the http loop per client address and
 * per login, each answered later than the one before, and refused (429)
 * past [http] login_failures within [http] login_window.
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
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/str.h"

#define LOGIN_PASSWORD_MAX 1024
#define FAIL_BUCKETS 4096
#define FAIL_MAX_ENTRIES 100000

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

/* An argon2id string to verify against when the login has none, so an
 * unknown address costs the same time as a wrong password. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void
http_dummy_init(void)
{
	char pw[SECRET_PW_LEN + 1];

	secret_generate(pw, SECRET_PW_LEN);
	if (secret_pwhash(pw, dummy_hash, sizeof(dummy_hash)) == -1)
		dummy_hash[0] = '\0';
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
	pthread_once(&dummy_once, http_dummy_init);
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
	if (found != 1 && dummy_hash[0])
		(void)secret_pwhash_verify(dummy_hash, password);
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
/* failed sign-ins, per client address and per login (loop thread) */

struct fail_entry {
	char key[ADDR_MAX + 8];
	int64_t first, count;
	int inflight; /* "ip:" entries: sign-ins being checked now */
	char *link;   /* "login:" of another name (a domain alias): the
			 account's own key, once a failure found it */
	struct fail_entry *next;
};
static struct fail_entry *fails[FAIL_BUCKETS];
static int nfails;

static unsigned
fail_hash(const char *k)
{
	unsigned h = 2166136261u;

	for (; *k; k++)
		h = (h ^ (unsigned char)*k) * 16777619u;
	return h % FAIL_BUCKETS;
}

/* The entry of key (created if make); expired ones are dropped. */
static struct fail_entry *
fail_get(const char *key, int64_t now, int64_t window, int make)
{
	struct fail_entry *e, **pp;
	unsigned h = fail_hash(key);

	for (pp = &fails[h]; (e = *pp) != NULL;) {
		if (now - e->first >= window && e->inflight > 0) {
			e->first = now; /* kept for its calls in flight */
			e->count = 0;
		} else if (now - e->first >= window) {
			*pp = e->next;
			free(e->link);
			free(e);
			nfails--;
			continue;
		}
		if (strcmp(e->key, key) == 0)
			return e;
		pp = &e->next;
	}
	if (!make || nfails >= FAIL_MAX_ENTRIES ||
	    (e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	str_lcpy(e->key, key, sizeof(e->key));
	e->first = now;
	e->next = fails[h];
	fails[h] = e;
	nfails++;
	return e;
}

static void
fail_keys(struct http_call *c, char *ipkey, char *loginkey, size_t len)
{
	snprintf(ipkey, len, "ip:%s", c->ipkey);
	snprintf(loginkey, len, "login:%s", c->login);
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

/* The recent failures of this call's client address and login. */
static void
fail_counts(struct http_call *c, int64_t now, int64_t window, int64_t *ip,
    int64_t *login)
{
	char k1[ADDR_MAX + 8], k2[ADDR_MAX + 8];
	struct fail_entry *a, *b;

	const char *acct = c->login_account;

	fail_keys(c, k1, k2, sizeof(k1));
	a = fail_get(k1, now, window, 0);
	b = fail_get(k2, now, window, 0);
	*ip = a ? a->count : 0;
	*login = b ? b->count : 0;
	/* the account's own count: the name has just found it, or found it
	 * before (another name of it: a domain alias) */
	if (*acct == '\0' && b && b->link)
		acct = b->link;
	if (*acct && strcmp(acct, c->login) != 0) {
		snprintf(k2, sizeof(k2), "login:%s", acct);
		if ((b = fail_get(k2, now, window, 0)) != NULL &&
		    b->count > *login)
			*login = b->count;
	}
}

int
http_login_gate(struct http_call *c, const char **why)
{
	const struct conf *conf;
	const char *address;
	int64_t now = (int64_t)time(NULL), nip, nlogin;
	char q[ADDR_MAX * 4 + 8], k[ADDR_MAX + 8];
	struct fail_entry *e;

	if (!(c->route->flags & HTTP_LOGIN))
		return 0;
	conf = http_conf();
	address = admin_arg(c->args, "address");
	http_login_key(address ? address : "", c->login, sizeof(c->login));
	fail_counts(c, now, conf->login_window, &nip, &nlogin);
	/* each sign-in costs an argon2id hash: one address gets a few at
	 * a time, the rest are told when to come back */
	snprintf(k, sizeof(k), "ip:%s", c->ipkey);
	e = fail_get(k, now, conf->login_window, 1);
	if (e && e->inflight >= HTTP_LOGIN_INFLIGHT_IP) {
		evhttp_add_header(evhttp_request_get_output_headers(c->req),
		    "Retry-After", "1");
		*why = "too many sign-ins at once from this address: wait a "
		       "second, then try again";
		log_info(
		    "http.login ip=%s result=refused reason=too_many_at_once",
		    c->ip);
		return -1;
	}
	if (nlogin >= conf->login_failures || nip >= conf->login_failures_ip) {
		char retry[32];
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
	if (e) { /* a full table: the lane's own bound still holds */
		e->inflight++;
		c->login_inflight = 1;
	}
	return 0;
}

void
http_login_after(struct http_call *c)
{
	const struct conf *conf = http_conf();
	char k1[ADDR_MAX + 8], k2[ADDR_MAX + 8], k3[ADDR_MAX + 8];
	int64_t now = (int64_t)time(NULL), nip, n;
	struct fail_entry *e;
	int other;
	char q[ADDR_MAX * 4 + 8];

	fail_keys(c, k1, k2, sizeof(k1));
	if (c->login_inflight) {
		/* never dropped while in flight (fail_get), so found */
		if ((e = fail_get(k1, now, conf->login_window, 0)) != NULL &&
		    e->inflight > 0)
			e->inflight--;
		c->login_inflight = 0;
	}
	if (c->login_result == 0) /* not checked: refused, malformed */
		return;
	other = c->login_account[0] && strcmp(c->login_account, c->login) != 0;
	snprintf(k3, sizeof(k3), "login:%s", c->login_account);
	if (c->login_result == 1) {
		if ((e = fail_get(k2, now, conf->login_window, 0)) != NULL)
			e->count = 0;
		if (other && (e = fail_get(k3, now, conf->login_window, 0)))
			e->count = 0;
		return;
	}
	if (c->login_result == HTTP_LOGIN_HALF)
		return;
	fail_counts(c, now, conf->login_window, &nip, &n);
	if ((e = fail_get(k1, now, conf->login_window, 1)) != NULL)
		e->count++;
	/* no login named (a code step with a bad ticket): the address only,
	 * or one shared "login:" entry would lock everybody out */
	if (c->login[0] &&
	    (e = fail_get(k2, now, conf->login_window, 1)) != NULL) {
		e->count++;
		/* another name of the account leads to it from now on */
		if (other && e->link == NULL)
			e->link = strdup(c->login_account);
	}
	/* the account counts every failure under any of its names */
	if (other && (e = fail_get(k3, now, conf->login_window, 1)) != NULL)
		e->count++;
	/* each failure for a login answered later than the last: 1x, 2x,
	 * 4x ... 16x; many users may share an address, so it only counts
	 * towards the 429 */
	c->delay_ms = conf->auth_fail_delay_ms << (n < 4 ? n : 4);
	log_info("http.login address=\"%s\" ip=%s result=failed failures=%lld",
	    log_quote(q, sizeof(q), c->login, strlen(c->login)), c->ip,
	    (long long)(n + 1));
}

void
http_login_free(void)
{
	struct fail_entry *e;
	int i;

	for (i = 0; i < FAIL_BUCKETS; i++)
		while ((e = fails[i]) != NULL) {
			fails[i] = e->next;
			free(e->link);
			free(e);
		}
	nfails = 0;
}
