/*
 * admin: the table of operations and the helpers every operation uses to
 * read its arguments and to say what went wrong.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "account.h"
#include "admin.h"
#include "../mail/addr.h"
#include "../store/store.h"

const struct admin_op admin_ops[] = {
	{ "domain.add", admin_domain_add },
	{ "domain.list", admin_domain_list },
	{ "domain.remove", admin_domain_remove },
	{ "domain.alias.add", admin_domain_alias_add },
	{ "domain.alias.remove", admin_domain_alias_remove },
	{ "domain.dns", admin_domain_dns },
	{ "domain.check", admin_domain_check },
	{ "domain.dkim.rotate", admin_domain_dkim_rotate },
	{ "user.add", admin_user_add },
	{ "user.list", admin_user_list },
	{ "user.show", admin_user_show },
	{ "user.remove", admin_user_remove },
	{ "user.alias.add", admin_user_alias_add },
	{ "user.alias.remove", admin_user_alias_remove },
	{ "user.password", admin_user_password },
	{ "user.block", admin_user_block },
	{ "user.unblock", admin_user_unblock },
	{ "user.quota", admin_user_quota },
	{ "domain.quota", admin_domain_quota },
	{ "log.auth", admin_log_auth },
	{ "user.totp.off", admin_user_totp_off },
	{ "smtp-password.show", admin_smtp_show },
	{ "smtp-password.generate", admin_smtp_generate },
	{ "app-password.add", admin_app_add },
	{ "app-password.list", admin_app_list },
	{ "app-password.revoke", admin_app_revoke },
	{ "token.issue", admin_token_issue },
	{ "token.revoke", admin_token_revoke },
	{ "tos.set", admin_tos_set },
	{ "tos.show", admin_tos_show },
	{ "tos.accept", admin_tos_accept },
	{ "relay-net.add", admin_relay_add },
	{ "relay-net.list", admin_relay_list },
	{ "relay-net.remove", admin_relay_remove },
	{ "api-key.add", admin_apikey_add },
	{ "api-key.list", admin_apikey_list },
	{ "api-key.revoke", admin_apikey_revoke },
	{ "queue.list", admin_queue_list },
	{ "queue.show", admin_queue_show },
	{ "queue.hold", admin_queue_hold },
	{ "queue.release", admin_queue_release },
	{ "queue.delete", admin_queue_delete },
	{ "queue.flush", admin_queue_flush },
	{ NULL, NULL },
};

const struct admin_op *
admin_op_find(const char *name)
{
	const struct admin_op *op;

	for (op = admin_ops; op->name; op++)
		if (strcmp(op->name, name) == 0)
			return op;
	return NULL;
}

int
admin_fail(struct admin_err *err, int status, const char *fmt, ...)
{
	va_list ap;

	err->status = status;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

const char *
admin_arg(json_t *args, const char *key)
{
	json_t *v = json_object_get(args, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

int
admin_flag(json_t *args, const char *key)
{
	json_t *v = json_object_get(args, key);
	const char *t = json_is_string(v) ? json_string_value(v) : NULL;

	/* true from the CLI's --flag and a JSON body; "1" or "true" from a
	 * query string */
	return json_is_true(v) ||
	       (t && (strcmp(t, "1") == 0 || strcmp(t, "true") == 0 ||
			 strcmp(t, "yes") == 0));
}

const char *
admin_need(json_t *args, const char *key, struct admin_err *err)
{
	const char *v = admin_arg(args, key);

	if (v == NULL || *v == '\0')
		admin_fail(err, 400, "missing %s", key);
	return v && *v ? v : NULL;
}

int
admin_find_domain(struct admin_ctx *ctx, const char *name,
    struct store_domain *d, struct admin_err *err)
{
	char canon[ADDR_DOMAIN_MAX + 1], why[160];
	int rc;

	if (addr_domain_canon(name, canon, sizeof(canon), why, sizeof(why)) ==
	    -1)
		return admin_fail(err, 400, "%s: %s", name, why);
	rc = store_domain_get(ctx->store, canon, d);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 404,
		    "no domain %s: add it with `postern domain add %s`", canon,
		    canon);
	if (rc != 0)
		return admin_fail(err, 500, "store: %s",
		    store_errmsg(ctx->store));
	return 0;
}

int
admin_find_user(struct admin_ctx *ctx, const char *address,
    struct store_user *u, struct admin_err *err)
{
	struct addr a;
	char why[160], canon[ADDR_MAX + 1];
	int rc;

	/* the one spelling SMTP AUTH and the panel use (mail/addr.c) */
	if (addr_login_canon(address, canon, sizeof(canon), why, sizeof(why)) ==
		-1 ||
	    addr_parse(canon, &a, why, sizeof(why)) == -1)
		return admin_fail(err, 400, "%s: %s", address, why);
	rc = store_user_get(ctx->store, &a, u);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 404, "no user %s@%s", a.local, a.domain);
	if (rc != 0)
		return admin_fail(err, 500, "store: %s",
		    store_errmsg(ctx->store));
	return 0;
}

int
admin_find_owner(struct admin_ctx *ctx, const char *login,
    struct admin_owner *o, struct admin_err *err)
{
	memset(o, 0, sizeof(*o));
	if (strchr(login, '@') != NULL) {
		if (admin_find_user(ctx, login, &o->user, err) == -1)
			return -1;
		snprintf(o->login, sizeof(o->login), "%s@%s", o->user.local,
		    o->user.domain);
		o->user_id = o->user.id;
		return 0;
	}
	if (admin_find_domain(ctx, login, &o->domain, err) == -1)
		return -1;
	if (o->domain.is_alias)
		return admin_fail(err, 400,
		    "%s is an alias of %s: the domain login is %s", login,
		    o->domain.name, o->domain.name);
	snprintf(o->login, sizeof(o->login), "%s", o->domain.name);
	o->domain_id = o->domain.id;
	return 0;
}

int
admin_store_fail(struct admin_ctx *ctx, struct admin_err *err)
{
	return admin_fail(err, 500, "store: %s", store_errmsg(ctx->store));
}
