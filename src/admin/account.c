/*
 * account: the end user's own security settings. TOTP keys are sealed
 * like SMTP passwords (the code must be computed, not only checked);
 * recovery codes, tickets and link tokens are keyed hashes (postern
 * made them, with enough entropy). Link mail goes through the spool
 * like any message, so it is signed, queued and retried.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "account.h"
#include "../auth/secret.h"
#include "../auth/totp.h"
#include "../mail/addr.h"
#include "../util/buf.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/str.h"

/* The user's TOTP key, opened: 0 with enabled/last_step, or -1. */
static int
account_totp_key(struct admin_ctx *ctx, int64_t user_id, unsigned char *key,
    size_t *keylen, int64_t *enabled, int64_t *last_step, struct admin_err *err)
{
	char sealed[SECRET_SEALED_MAX], b32[TOTP_B32_MAX];
	int rc;

	rc = store_totp_get(ctx->store, user_id, sealed, sizeof(sealed),
	    enabled, last_step);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 409, "two-step sign-in is not set up");
	if (rc != 0)
		return admin_store_fail(ctx, err);
	if (secret_open(ctx->keys, sealed, b32, sizeof(b32)) == -1 ||
	    totp_b32_decode(b32, key, TOTP_KEY_MAX, keylen) == -1) {
		sodium_memzero(b32, sizeof(b32));
		return admin_fail(err, 500,
		    "the TOTP key cannot be opened: is this the master key it was sealed with?");
	}
	sodium_memzero(b32, sizeof(b32));
	return 0;
}

int
account_totp_enabled(struct admin_ctx *ctx, int64_t user_id)
{
	int64_t enabled = 0, last;
	int rc = store_totp_get(ctx->store, user_id, NULL, 0, &enabled, &last);

	if (rc == STORE_NOTFOUND)
		return 0;
	return rc == 0 ? enabled != 0 : -1;
}

int
account_totp_status(struct admin_ctx *ctx, int64_t user_id, json_t **out,
    struct admin_err *err)
{
	int64_t enabled = 0, last = 0;
	int rc = store_totp_get(ctx->store, user_id, NULL, 0, &enabled, &last);

	if (rc != 0 && rc != STORE_NOTFOUND)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:b,s:I,s:I}", "enabled", enabled != 0, "since",
	    (json_int_t)enabled, "recovery_left",
	    (json_int_t)(enabled ? store_totp_recovery_left(ctx->store, user_id)
				 : 0));
	return 0;
}

int
account_totp_begin(struct admin_ctx *ctx, int64_t user_id, const char *address,
    json_t **out, struct admin_err *err)
{
	unsigned char key[TOTP_KEY_LEN];
	char b32[TOTP_B32_MAX], sealed[SECRET_SEALED_MAX], uri[TOTP_URI_MAX];
	const char *issuer = ctx->conf->panel_name[0] ? ctx->conf->panel_name
						      : ctx->conf->hostname;
	int rc;

	totp_new_key(key);
	if (totp_b32_encode(key, sizeof(key), b32, sizeof(b32)) == -1 ||
	    secret_seal(ctx->keys, b32, sealed, sizeof(sealed)) == -1 ||
	    totp_uri(uri, sizeof(uri), issuer, address, b32) == -1) {
		sodium_memzero(key, sizeof(key));
		return admin_fail(err, 500, "cannot make a TOTP key");
	}
	sodium_memzero(key, sizeof(key));
	rc = store_totp_begin(ctx->store, user_id, sealed, (int64_t)time(NULL));
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "two-step sign-in is already on: turn it off first");
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s,s:s}", "secret", b32, "uri", uri);
	sodium_memzero(b32, sizeof(b32));
	return 0;
}

/* Check a 6-digit code against the key and use its step up. */
static int
account_code_ok(struct admin_ctx *ctx, int64_t user_id,
    const unsigned char *key, size_t keylen, int64_t last_step,
    const char *code)
{
	int64_t step;

	if (!totp_verify(key, keylen, code, (int64_t)time(NULL), last_step,
		&step))
		return 0;
	/* a race with the same code: only one request moves last_step */
	return store_totp_use_step(ctx->store, user_id, step) == 0;
}

int
account_totp_confirm(struct admin_ctx *ctx, int64_t user_id, const char *code,
    json_t **out, struct admin_err *err)
{
	unsigned char key[TOTP_KEY_MAX];
	char codes[TOTP_RECOVERY_N][TOTP_RECOVERY_LEN + 1];
	char hashes[TOTP_RECOVERY_N][SECRET_HASH_HEX];
	const char *hp[TOTP_RECOVERY_N];
	int64_t enabled, last;
	size_t keylen;
	int i, ok, rc;

	if (account_totp_key(ctx, user_id, key, &keylen, &enabled, &last,
		err) == -1)
		return -1;
	if (enabled)
		return admin_fail(err, 409, "two-step sign-in is already on");
	ok = account_code_ok(ctx, user_id, key, keylen, last, code);
	sodium_memzero(key, sizeof(key));
	if (!ok)
		return admin_fail(err, 400,
		    "that code is not right: check the time on your phone and type the code the app shows now");
	for (i = 0; i < TOTP_RECOVERY_N; i++) {
		totp_recovery_new(codes[i]);
		secret_hash(ctx->keys, codes[i], strlen(codes[i]), hashes[i]);
		hp[i] = hashes[i];
	}
	rc = store_totp_enable(ctx->store, user_id, (int64_t)time(NULL), hp,
	    TOTP_RECOVERY_N);
	if (rc == 0) {
		*out = json_pack("{s:[]}", "recovery_codes");
		for (i = 0; i < TOTP_RECOVERY_N; i++)
			json_array_append_new(
			    json_object_get(*out, "recovery_codes"),
			    json_string(codes[i]));
	}
	sodium_memzero(codes, sizeof(codes));
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 409, "two-step sign-in is already on");
	return rc == 0 ? 0 : admin_store_fail(ctx, err);
}

struct account_rc_match {
	struct admin_ctx *ctx;
	const char *code;
};

static int
account_rc_match(const char *hash, void *arg)
{
	struct account_rc_match *m = arg;

	return secret_hash_verify(m->ctx->keys, m->code, strlen(m->code), hash);
}

int
account_totp_check(struct admin_ctx *ctx, int64_t user_id, const char *code,
    struct admin_err *err)
{
	unsigned char key[TOTP_KEY_MAX];
	char norm[TOTP_RECOVERY_LEN + 1];
	struct account_rc_match m = { ctx, norm };
	int64_t enabled, last;
	size_t keylen;
	int ok;

	if (strlen(code) > 64)
		return admin_fail(err, 400, "a code has 6 digits");
	if (account_totp_key(ctx, user_id, key, &keylen, &enabled, &last,
		err) == -1)
		return -1;
	if (!enabled) {
		sodium_memzero(key, sizeof(key));
		return admin_fail(err, 409, "two-step sign-in is not on");
	}
	ok = account_code_ok(ctx, user_id, key, keylen, last, code);
	sodium_memzero(key, sizeof(key));
	if (!ok && totp_recovery_norm(code, norm) == 0)
		ok = store_totp_recovery_use(ctx->store, user_id,
			 account_rc_match, &m, (int64_t)time(NULL)) == 1;
	if (!ok)
		return admin_fail(err, 401,
		    "that code is not right, or was used already");
	return 0;
}

int
account_totp_disable(struct admin_ctx *ctx, int64_t user_id, const char *code,
    struct admin_err *err)
{
	if (account_totp_check(ctx, user_id, code, err) == -1)
		return -1;
	if (store_totp_remove(ctx->store, user_id) != 0)
		return admin_store_fail(ctx, err);
	return 0;
}

int
admin_user_totp_off(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	struct store_user u;
	int rc;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	/* for a user who lost both the phone and the recovery codes */
	rc = store_totp_remove(ctx->store, u.id);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 409,
		    "%s@%s has no two-step sign-in to turn off", u.local,
		    u.domain);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	log_info("admin.totp address=%s@%s actor=%s result=off", u.local,
	    u.domain, ctx->actor ? ctx->actor : "-");
	*out = json_pack("{s:s++,s:b}", "address", u.local, "@", u.domain,
	    "two_step", 0);
	return 0;
}

int
account_ticket_new(struct admin_ctx *ctx, int64_t user_id,
    char ticket[ACCOUNT_TOKEN_LEN + 1], struct admin_err *err)
{
	char hash[SECRET_HASH_HEX];
	int64_t now = (int64_t)time(NULL);

	secret_generate(ticket, ACCOUNT_TOKEN_LEN);
	secret_hash(ctx->keys, ticket, ACCOUNT_TOKEN_LEN, hash);
	if (store_ticket_add(ctx->store, hash, user_id, ctx->ip ? ctx->ip : "",
		now, now + ACCOUNT_TICKET_TTL) != 0)
		return admin_store_fail(ctx, err);
	return 0;
}

int
account_ticket_take(struct admin_ctx *ctx, const char *ticket, const char *code,
    int64_t *user_id, struct admin_err *err)
{
	char hash[SECRET_HASH_HEX];
	int64_t tries;
	int rc;

	if (strlen(ticket) != ACCOUNT_TOKEN_LEN)
		return admin_fail(err, 401,
		    "the sign-in has expired: start again with your password");
	secret_hash(ctx->keys, ticket, ACCOUNT_TOKEN_LEN, hash);
	rc = store_ticket_get(ctx->store, hash, (int64_t)time(NULL), user_id,
	    &tries);
	if (rc == STORE_NOTFOUND || (rc == 0 && tries >= ACCOUNT_TICKET_TRIES))
		return admin_fail(err, 401,
		    "the sign-in has expired: start again with your password");
	if (rc != 0)
		return admin_store_fail(ctx, err);
	if (account_totp_check(ctx, *user_id, code, err) == -1) {
		if (err->status == 401)
			store_ticket_fail(ctx->store, hash);
		return -1;
	}
	/* used up: the same ticket cannot make a second session */
	if (store_ticket_remove(ctx->store, hash) != 0)
		return admin_fail(err, 401,
		    "the sign-in has expired: start again with your password");
	return 0;
}

void
account_panel_url(const struct conf *c, char *out, size_t len)
{
	size_t n;

	if (c->panel_url[0])
		str_lcpy(out, c->panel_url, len);
	else
		snprintf(out, len, "https://%s", c->hostname);
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
}

void
account_display_name(const char *name, char *out, size_t len)
{
	size_t o = 0;

	if (len < 3) {
		if (len > 0)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (; *name; name++) {
		unsigned char c = (unsigned char)*name;
		if (c < 0x20 || c > 0x7e || o + 4 >= len) {
			out[0] = '\0';
			return;
		}
		if (c == '"' || c == '\\')
			out[o++] = '\\';
		out[o++] = (char)c;
	}
	out[o++] = '"';
	out[o++] = ' ';
	out[o] = '\0';
}

int
account_system_mail(struct admin_ctx *ctx, const struct account_mail *am,
    char id[SPOOL_ID_LEN + 1])
{
	const struct conf *c = ctx->conf;
	const char *name = c->panel_name[0] ? c->panel_name : c->hostname;
	char date[64], display[2 * CONF_STR_MAX + 4];
	struct spool_env env;
	struct spool_rcpt rcpt;
	struct iovec iov;
	struct buf m;
	time_t now = time(NULL);
	struct tm tm;
	int rc = -1;

	account_display_name(name, display, sizeof(display));
	gmtime_r(&now, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	memset(&env, 0, sizeof(env));
	memset(&rcpt, 0, sizeof(rcpt));
	spool_new_id(env.id);
	env.time = (int64_t)now;
	str_lcpy(env.from, am->env_from, sizeof(env.from));
	if (am->domain)
		str_lcpy(env.domain, am->domain, sizeof(env.domain));
	str_lcpy(env.ip, "127.0.0.1", sizeof(env.ip));
	str_lcpy(env.body, am->utf8 ? "8BITMIME" : "7BIT", sizeof(env.body));
	str_lcpy(rcpt.addr, am->to, sizeof(rcpt.addr));
	env.nrcpt = 1;
	env.rcpts = &rcpt;
	buf_init(&m, 16384);
	if (buf_printf(&m,
		"From: %s<%s>\r\nTo: <%s>\r\nSubject: %s\r\nDate: %s\r\n"
		"Message-ID: <%s@%s>\r\nMIME-Version: 1.0\r\n"
		"Content-Type: text/plain; charset=%s\r\n"
		"Content-Transfer-Encoding: %s\r\n"
		"Auto-Submitted: auto-generated\r\n\r\n%s",
		display, am->from, am->to, am->subject, date, env.id,
		c->hostname, am->utf8 ? "utf-8" : "us-ascii",
		am->utf8 ? "8bit" : "7bit", am->text) == -1)
		goto out;
	iov.iov_base = m.data;
	iov.iov_len = m.len;
	/* the CLI's first look at the spool (a no-op in the server) */
	if (spool_open(c->data_dir) == -1 || spool_write(&env, &iov, 1) == -1)
		goto out;
	str_lcpy(id, env.id, SPOOL_ID_LEN + 1);
	rc = 0;
out:
	/* a link's token is in it */
	sodium_memzero(m.data, m.cap);
	buf_free(&m);
	return rc;
}

/* The message with the link, into the spool. */
static int
account_link_mail(struct admin_ctx *ctx, const struct store_user *u,
    const char *purpose, const char *token, char id[SPOOL_ID_LEN + 1])
{
	const struct conf *c = ctx->conf;
	const char *name = c->panel_name[0] ? c->panel_name : c->hostname;
	char url[CONF_STR_MAX + 64], from[ADDR_MAX + 1], to[ADDR_MAX + 1];
	char text[2048];
	struct account_mail am;
	int create = strcmp(purpose, "create") == 0, rc;

	account_panel_url(c, url, sizeof(url));
	snprintf(from, sizeof(from), "postmaster@%s", c->hostname);
	snprintf(to, sizeof(to), "%s@%s", u->local, u->domain);
	/* the token is only in the fragment: never sent to a server */
	if ((size_t)snprintf(text, sizeof(text),
		"Hello,\r\n\r\nsomeone (we hope you) asked to %s the login "
		"password of\r\n%s at %s.\r\n\r\nTo choose it, open this link "
		"within %lld minutes; it works once:\r\n\r\n"
		"%s/#%s=%s\r\n\r\n"
		"If you did not ask for this, ignore this message: nothing "
		"changes.\r\nYour SMTP password is not affected either way.\r\n",
		create ? "create" : "reset", to, name,
		(long long)(c->link_ttl / 60), url, create ? "create" : "reset",
		token) >= sizeof(text))
		return -1;
	memset(&am, 0, sizeof(am));
	am.env_from = from;
	am.from = from;
	am.to = to;
	am.subject =
	    create ? "Create your login password" : "Reset your login password";
	am.utf8 = 1;
	am.text = text;
	rc = account_system_mail(ctx, &am, id);
	sodium_memzero(text, sizeof(text));
	return rc;
}

int
account_link_send(struct admin_ctx *ctx, const char *address,
    const char *purpose, char queued[SPOOL_ID_LEN + 1], json_t **out,
    struct admin_err *err)
{
	const struct conf *c = ctx->conf;
	const char *ip = ctx->ip ? ctx->ip : "";
	char token[ACCOUNT_TOKEN_LEN + 1], hash[SECRET_HASH_HEX], why[160];
	int64_t now = (int64_t)time(NULL), by_ip = 0, by_user = 0;
	struct store_user u;
	struct addr a;
	int found;

	queued[0] = '\0';
	if (strcmp(purpose, "create") != 0 && strcmp(purpose, "reset") != 0)
		return admin_fail(err, 400,
		    "purpose is \"create\" or \"reset\"");
	if (addr_parse(address, &a, why, sizeof(why)) == -1)
		return admin_fail(err, 400, "%s: %s", address, why);
	found = store_user_get(ctx->store, &a, &u);
	if (found != 0 && found != STORE_NOTFOUND)
		return admin_store_fail(ctx, err);
	if (store_pwlink_ask(ctx->store, ip, found == 0 ? u.id : 0, now,
		now - c->link_window, &by_ip, &by_user) != 0)
		return admin_store_fail(ctx, err);
	/* The client's own limit may be told; the account's may not, or
	 * the answer would say that the address exists. */
	if (by_ip > c->links_per_client)
		return admin_fail(err, 429,
		    "too many requests from your address: try again later");
	if (found == 0 && by_user <= c->links_per_account) {
		secret_generate(token, ACCOUNT_TOKEN_LEN);
		secret_hash(ctx->keys, token, ACCOUNT_TOKEN_LEN, hash);
		if (store_pwlink_add(ctx->store, hash, u.id, purpose, ip, now,
			now + c->link_ttl) != 0 ||
		    account_link_mail(ctx, &u, purpose, token, queued) == -1) {
			sodium_memzero(token, sizeof(token));
			return admin_fail(err, 500,
			    "the link could not be sent: try again later");
		}
		sodium_memzero(token, sizeof(token));
		log_info("panel.link user=%s@%s purpose=%s ip=%s queue=%s",
		    u.local, u.domain, purpose, ip, queued);
	} else {
		log_info("panel.link address=%s@%s purpose=%s ip=%s result=%s",
		    a.local, a.domain, purpose, ip,
		    found == 0 ? "limited" : "no_such_user");
	}
	*out = json_pack("{s:s}", "message",
	    "If this address has an account, a link is on its way to it. "
	    "Check your mailbox.");
	return 0;
}

int
account_link_use(struct admin_ctx *ctx, const char *token, const char *password,
    json_t **out, struct admin_err *err)
{
	char hash[SECRET_HASH_HEX], pwhash[crypto_pwhash_STRBYTES];
	int64_t now = (int64_t)time(NULL), user_id;
	int rc;

	if (strlen(token) != ACCOUNT_TOKEN_LEN)
		return admin_fail(err, 410,
		    "this link is not valid (any more): ask for a new one");
	secret_hash(ctx->keys, token, ACCOUNT_TOKEN_LEN, hash);
	rc = store_pwlink_get(ctx->store, hash, now, &user_id);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 410,
		    "this link is not valid (any more): ask for a new one");
	if (rc != 0)
		return admin_store_fail(ctx, err);
	/* a refused password leaves the link usable for a better one */
	if (admin_login_password_check(ctx, user_id, password, pwhash,
		sizeof(pwhash), err) == -1)
		return -1;
	rc = store_pwlink_use(ctx->store, hash, user_id, pwhash, now);
	sodium_memzero(pwhash, sizeof(pwhash));
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 410,
		    "this link is not valid (any more): ask for a new one");
	if (rc != 0)
		return admin_store_fail(ctx, err);
	log_info("panel.password user_id=%lld via=link ip=%s",
	    (long long)user_id, ctx->ip ? ctx->ip : "");
	*out = json_pack("{s:b}", "login_password", 1);
	return 0;
}
