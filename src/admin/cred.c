/*
 * admin/cred: the credentials postern generates: SMTP passwords (user or
 * domain level; sealed so they can be shown again), app passwords (shown
 * once) and OAuth bearer tokens (shown once, expiring). All are at least
 * 100 bits from an alphabet without look-alikes, kept as keyed hashes.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "admin.h"
#include "../auth/secret.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/str.h"

#define APP_LABEL_MAX 64
#define TOKEN_ID_LEN 12
#define TOKEN_SECRET_LEN 24

int
admin_smtp_new(struct admin_ctx *ctx, int64_t user_id, int64_t domain_id,
    char *pw, struct admin_err *err)
{
	char hash[SECRET_HASH_HEX], sealed[SECRET_SEALED_MAX];
	char login[crypto_pwhash_STRBYTES];
	int has_login = user_id && store_login_password_get(ctx->store, user_id,
				       login, sizeof(login)) == 0;

	do
		secret_generate(pw, SECRET_PW_LEN);
	while (has_login && secret_pwhash_verify(login, pw));
	secret_hash(ctx->keys, pw, strlen(pw), hash);
	if (secret_seal(ctx->keys, pw, sealed, sizeof(sealed)) == -1)
		return admin_fail(err, 500, "cannot seal the SMTP password");
	if (store_smtp_set(ctx->store, user_id, domain_id, hash, sealed,
		(int64_t)time(NULL)) != 0)
		return admin_store_fail(ctx, err);
	return 0;
}

int
admin_smtp_show(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *login = admin_need(args, "login", err);
	char sealed[SECRET_SEALED_MAX], pw[SECRET_MAX + 1];
	struct admin_owner o;
	int64_t created;
	int rc;

	if (login == NULL || admin_find_owner(ctx, login, &o, err) == -1)
		return -1;
	rc = store_smtp_get(ctx->store, o.user_id, o.domain_id, NULL, 0, sealed,
	    sizeof(sealed), &created);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 404,
		    "%s has no SMTP password: make one with `postern smtp-password generate %s`",
		    o.login, o.login);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	if (secret_open(ctx->keys, sealed, pw, sizeof(pw)) == -1)
		return admin_fail(err, 500,
		    "the SMTP password of %s cannot be opened: is this the master key it was sealed with?",
		    o.login);
	*out = json_pack("{s:s,s:s,s:I}", "login", o.login, "password", pw,
	    "created", (json_int_t)created);
	sodium_memzero(pw, sizeof(pw));
	return 0;
}

int
admin_smtp_generate(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *login = admin_need(args, "login", err);
	char pw[SECRET_PW_LEN + 1];
	struct admin_owner o;

	if (login == NULL || admin_find_owner(ctx, login, &o, err) == -1)
		return -1;
	/* replacing the row is what makes the old password stop at once */
	if (admin_smtp_new(ctx, o.user_id, o.domain_id, pw, err) == -1)
		return -1;
	*out = json_pack("{s:s,s:s}", "login", o.login, "password", pw);
	sodium_memzero(pw, sizeof(pw));
	return 0;
}

static int
admin_label_check(const char *label, struct admin_err *err)
{
	return admin_text_check("label", label, APP_LABEL_MAX, 0, err);
}

int
admin_app_add(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	const char *label = admin_need(args, "label", err);
	char pw[SECRET_PW_LEN + 1], hash[SECRET_HASH_HEX];
	struct store_user u;
	int rc;

	if (address == NULL || label == NULL ||
	    admin_label_check(label, err) == -1 ||
	    admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	secret_generate(pw, SECRET_PW_LEN);
	secret_hash(ctx->keys, pw, strlen(pw), hash);
	rc = store_app_add(ctx->store, u.id, label, hash, (int64_t)time(NULL));
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "%s@%s already has an app password labelled \"%s\": revoke it or choose another label",
		    u.local, u.domain, label);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s++,s:s,s:s}", "address", u.local, "@", u.domain,
	    "label", label, "password", pw);
	sodium_memzero(pw, sizeof(pw));
	return 0;
}

int
admin_app_list(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	struct store_user u;
	json_t *rows;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	if ((rows = admin_list_apps(ctx->store, u.id)) == NULL)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s++,s:o}", "address", u.local, "@", u.domain,
	    "app_passwords", rows);
	return 0;
}

int
admin_app_revoke(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	const char *label = admin_need(args, "label", err);
	struct store_user u;
	int rc;

	if (address == NULL || label == NULL ||
	    admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	rc = store_app_revoke(ctx->store, u.id, label, (int64_t)time(NULL));
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 404,
		    "%s@%s has no live app password labelled \"%s\"", u.local,
		    u.domain, label);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s++,s:s}", "address", u.local, "@", u.domain,
	    "revoked", label);
	return 0;
}

int
admin_token_issue(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	const char *ttls = admin_arg(args, "ttl");
	const char *scope = admin_arg(args, "scope");
	char id[TOKEN_ID_LEN + 1], secret[TOKEN_SECRET_LEN + 1];
	char token[TOKEN_ID_LEN + TOKEN_SECRET_LEN + 2], hash[SECRET_HASH_HEX];
	int64_t ttl = ctx->conf->token_ttl_default, now = (int64_t)time(NULL);
	struct store_user u;
	int rc;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	if (ttls && ((ttl = str_duration(ttls)) < 60 || ttl > 366 * 86400))
		return admin_fail(err, 400,
		    "ttl: a duration from 1m to 366d (30m, 1h, 7d)");
	if (scope == NULL)
		scope = "smtp";
	if (strcmp(scope, "smtp") != 0 && strcmp(scope, "imap") != 0 &&
	    strcmp(scope, "smtp imap") != 0)
		return admin_fail(err, 400,
		    "scope: one of \"smtp\", \"imap\", \"smtp imap\"");
	secret_generate(id, TOKEN_ID_LEN);
	secret_generate(secret, TOKEN_SECRET_LEN);
	snprintf(token, sizeof(token), "%s.%s", id, secret);
	secret_hash(ctx->keys, secret, strlen(secret), hash);
	rc = store_token_add(ctx->store, id, u.id, hash, scope, now, now + ttl);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s++,s:s,s:s,s:s,s:I}", "address", u.local, "@",
	    u.domain, "id", id, "token", token, "scope", scope, "expires",
	    (json_int_t)(now + ttl));
	sodium_memzero(token, sizeof(token));
	sodium_memzero(secret, sizeof(secret));
	return 0;
}

int
admin_token_revoke(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *id = admin_need(args, "id", err);
	char idbuf[TOKEN_ID_LEN + 1];
	int rc;

	if (id == NULL)
		return -1;
	/* a whole token pasted instead of its id is accepted */
	str_lcpy(idbuf, id, sizeof(idbuf));
	if (strlen(id) != TOKEN_ID_LEN &&
	    (strlen(id) <= TOKEN_ID_LEN || id[TOKEN_ID_LEN] != '.'))
		return admin_fail(err, 404, "no token %s", idbuf);
	rc = store_token_revoke(ctx->store, idbuf, (int64_t)time(NULL));
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 404, "no token %s", idbuf);
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409, "token %s is already revoked",
		    idbuf);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s}", "revoked", idbuf);
	return 0;
}
