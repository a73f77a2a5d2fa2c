/*
 * admin/user: users, their aliases, login passwords and blocks. A new
 * user gets an SMTP password at once (shown in the reply, revealable
 * later); the login password is optional, as for an account a partner
 * site made, whose owner sets it by the e-mailed link.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "admin.h"
#include "../auth/secret.h"
#include "../mail/addr.h"
#include "../store/store.h"

static int
admin_login_hash(const char *pw, char *hash, size_t len, struct admin_err *err)
{
	const char *why;

	if ((why = secret_password_weakness(pw)) != NULL)
		return admin_fail(err, 400, "login password refused: %s", why);
	if (secret_pwhash(pw, hash, len) != 0)
		return admin_fail(err, 500, "out of memory hashing a password");
	return 0;
}

int
admin_user_add(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	char why[160], hash[crypto_pwhash_STRBYTES] = "";
	char pw[SECRET_PW_LEN + 1];
	struct store_domain d;
	struct addr a;
	int64_t id;
	int rc;

	if (address == NULL)
		return -1;
	if (addr_parse(address, &a, why, sizeof(why)) == -1)
		return admin_fail(err, 400, "%s: %s", address, why);
	if (admin_find_domain(ctx, a.domain, &d, err) == -1)
		return -1;
	if (d.is_alias)
		return admin_fail(err, 400,
		    "%s is an alias of %s: add %s@%s instead", a.domain, d.name,
		    a.local, d.name);
	/* check everything before the first write */
	if (admin_arg(args, "password") != NULL &&
	    admin_login_hash(admin_arg(args, "password"), hash, sizeof(hash),
		err) == -1)
		return -1;
	rc = store_user_add(ctx->store, d.id, a.local, a.local_key, &id);
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "%s@%s is taken (by a user or an alias)", a.local, d.name);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	if (hash[0] && store_login_password_set(ctx->store, id, hash,
			   (int64_t)time(NULL)) != 0)
		return admin_store_fail(ctx, err);
	if (admin_smtp_new(ctx, id, 0, pw, err) == -1)
		return -1;
	*out = json_pack("{s:s++,s:s,s:b}", "address", a.local, "@", d.name,
	    "smtp_password", pw, "login_password", hash[0] != '\0');
	sodium_memzero(pw, sizeof(pw));
	return 0;
}

int
admin_user_list(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *dom = admin_arg(args, "domain");
	struct store_domain d = { 0 };
	json_t *rows;

	if (dom && admin_find_domain(ctx, dom, &d, err) == -1)
		return -1;
	if ((rows = admin_list_users(ctx->store, d.id)) == NULL)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:o}", "users", rows);
	return 0;
}

int
admin_user_show(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	char hash[crypto_pwhash_STRBYTES];
	struct store_user u;
	struct store_strings locals;
	struct store_name_rows names;
	json_t *aliases, *senders, *o;
	int64_t created = 0, tos;
	size_t i, j;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	if (store_user_aliases(ctx->store, u.id, &locals) != 0)
		return admin_store_fail(ctx, err);
	if (store_domain_names(ctx->store, u.domain_id, &names) != 0) {
		store_strings_free(&locals);
		return admin_store_fail(ctx, err);
	}
	/* the senders the policy will allow: every name at every domain */
	aliases = json_array();
	for (i = 0; i < locals.n; i++)
		json_array_append_new(aliases,
		    json_pack("{s:s}", "local", locals.v[i]));
	senders = json_array();
	for (j = 0; j < names.n; j++) {
		json_array_append_new(senders,
		    json_sprintf("%s@%s", u.local, names.v[j].name));
		for (i = 0; i < locals.n; i++)
			json_array_append_new(senders,
			    json_sprintf("%s@%s", locals.v[i],
				names.v[j].name));
	}
	store_strings_free(&locals);
	store_name_rows_free(&names);
	o = json_pack("{s:s++,s:o,s:o,s:b,s:b}", "address", u.local, "@",
	    u.domain, "aliases", aliases, "allowed_senders", senders,
	    "login_password",
	    store_login_password_get(ctx->store, u.id, hash, sizeof(hash)) == 0,
	    "smtp_password",
	    store_smtp_get(ctx->store, u.id, 0, NULL, 0, NULL, 0, &created) ==
		0);
	json_object_set_new(o, "blocked",
	    u.blocked ? json_string(u.blocked_reason) : json_null());
	tos = store_tos_current(ctx->store, NULL);
	json_object_set_new(o, "tos_current", json_integer(tos));
	json_object_set_new(o, "tos_accepted",
	    json_boolean(tos > 0 && store_tos_accepted(ctx->store, u.id, tos)));
	json_object_set_new(o, "app_passwords",
	    admin_list_apps(ctx->store, u.id));
	json_object_set_new(o, "tokens", admin_list_tokens(ctx->store, u.id));
	json_object_set_new(o, "quota",
	    admin_quota_usage(ctx, u.id, u.domain_id));
	*out = o;
	return 0;
}

int
admin_user_remove(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	struct store_user u;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	if (store_user_remove(ctx->store, u.id) != 0)
		return admin_store_fail(ctx, err);
	{
		char who[ADMIN_KICK_MASK_MAX];
		snprintf(who, sizeof(who), "%s@%s", u.local, u.domain);
		admin_mailbox_kick(ctx, who);
	}
	*out = json_pack("{s:s++}", "removed", u.local, "@", u.domain);
	return 0;
}

static int
admin_alias_local(json_t *args, char *key, size_t len, const char **local,
    struct admin_err *err)
{
	if ((*local = admin_need(args, "local", err)) == NULL)
		return -1;
	if (strchr(*local, '@') != NULL)
		return admin_fail(err, 400,
		    "an alias is a local part (alice_lastname), not an address: it works at every name of the user's domain");
	if (!addr_local_is_valid(*local))
		return admin_fail(err, 400,
		    "%s: invalid local part (letters, digits, . and !#$%%&'*+-/=?^_`{|}~; at most 64)",
		    *local);
	addr_local_key(*local, key, len);
	return 0;
}

int
admin_user_alias_add(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err), *local;
	char key[ADDR_LOCAL_MAX + 1];
	struct store_user u;
	int rc;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1 ||
	    admin_alias_local(args, key, sizeof(key), &local, err) == -1)
		return -1;
	rc = store_user_alias_add(ctx->store, u.id, u.domain_id, local, key);
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "%s@%s is taken (by a user or an alias)", local, u.domain);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s++,s:s}", "address", u.local, "@", u.domain,
	    "alias", local);
	return 0;
}

int
admin_user_alias_remove(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err), *local;
	char key[ADDR_LOCAL_MAX + 1];
	struct store_user u;
	int rc;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1 ||
	    admin_alias_local(args, key, sizeof(key), &local, err) == -1)
		return -1;
	rc = store_user_alias_remove(ctx->store, u.id, key);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 404, "%s is not an alias of %s@%s",
		    local, u.local, u.domain);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s++,s:s}", "address", u.local, "@", u.domain,
	    "removed", local);
	return 0;
}

/*
 * A login password the user may keep, hashed: strong enough, and never
 * the user's SMTP password (the two-password design). 0 or -1 with why.
 */
int
admin_login_password_check(struct admin_ctx *ctx, int64_t user_id,
    const char *pw, char *hash, size_t len, struct admin_err *err)
{
	char sealed[SECRET_SEALED_MAX], smtp[SECRET_MAX + 1];
	int same = 0;

	if (store_smtp_get(ctx->store, user_id, 0, NULL, 0, sealed,
		sizeof(sealed), NULL) == 0 &&
	    secret_open(ctx->keys, sealed, smtp, sizeof(smtp)) == 0) {
		same = secret_equal(smtp, pw);
		sodium_memzero(smtp, sizeof(smtp));
	}
	if (same)
		return admin_fail(err, 400,
		    "login password refused: it may not be the SMTP password");
	return admin_login_hash(pw, hash, len, err);
}

int
admin_user_password(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	const char *pw = admin_need(args, "password", err);
	char hash[crypto_pwhash_STRBYTES];
	struct store_user u;

	if (address == NULL || pw == NULL ||
	    admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	if (admin_login_password_check(ctx, u.id, pw, hash, sizeof(hash),
		err) == -1)
		return -1;
	/* as with the e-mailed link: the old password's panel sessions and
	 * links end with it */
	if (store_login_password_replace(ctx->store, u.id, hash,
		(int64_t)time(NULL)) != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s++,s:b}", "address", u.local, "@", u.domain,
	    "login_password", 1);
	return 0;
}

int
admin_user_block(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	const char *reason = admin_need(args, "reason", err);
	struct store_user u;

	/* the reason goes into SMTP replies and the notice: one line */
	if (address == NULL || reason == NULL ||
	    admin_text_check("reason", reason, 500, 0, err) == -1 ||
	    admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	if (store_user_block(ctx->store, u.id, reason, (int64_t)time(NULL)) !=
	    0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s++,s:s}", "address", u.local, "@", u.domain,
	    "blocked", reason);
	return 0;
}

int
admin_user_unblock(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	struct store_user u;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	if (!u.blocked)
		return admin_fail(err, 409, "%s@%s is not blocked", u.local,
		    u.domain);
	/* and the counters that caused it: a running server sees the
	 * block gone at the user's next login and starts them again too */
	if (store_user_unblock(ctx->store, u.id) != 0 ||
	    store_usage_reset(ctx->store, u.id, 0) != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s++,s:n}", "address", u.local, "@", u.domain,
	    "blocked");
	return 0;
}
