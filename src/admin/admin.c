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

#define ADMIN_QUOTA_PARAMS                                                     \
	"messages_per_hour:n messages_per_day:n recipients_per_day:n "         \
	"recipients_per_message:n mailbox:n clear:b"

const struct admin_op admin_ops[] = {
	{ "domain.add", admin_domain_add, "domain dkim" },
	{ "domain.list", admin_domain_list, "" },
	{ "domain.remove", admin_domain_remove, "domain force:b" },
	{ "domain.alias.add", admin_domain_alias_add, "alias domain" },
	{ "domain.alias.remove", admin_domain_alias_remove, "alias domain" },
	{ "domain.dns", admin_domain_dns, "domain" },
	{ "domain.check", admin_domain_check, "domain" },
	{ "domain.dkim.rotate", admin_domain_dkim_rotate, "domain" },
	{ "user.add", admin_user_add, "address password" },
	{ "user.list", admin_user_list, "domain" },
	{ "user.show", admin_user_show, "address" },
	{ "user.remove", admin_user_remove, "address" },
	{ "user.alias.add", admin_user_alias_add, "address local" },
	{ "user.alias.remove", admin_user_alias_remove, "address local" },
	{ "user.password", admin_user_password, "address password" },
	{ "user.block", admin_user_block, "address reason" },
	{ "user.unblock", admin_user_unblock, "address" },
	{ "user.quota", admin_user_quota, "address " ADMIN_QUOTA_PARAMS },
	{ "domain.quota", admin_domain_quota,
	    "domain self:b " ADMIN_QUOTA_PARAMS },
	{ "log.auth", admin_log_auth, "login since:n limit:n failed:b" },
	{ "user.totp.off", admin_user_totp_off, "address" },
	{ "user.forward.add", admin_forward_add, "address target" },
	{ "user.forward.remove", admin_forward_remove, "address target" },
	{ "user.forward.list", admin_forward_list, "address" },
	{ "user.forward.mode", admin_forward_mode, "address mode" },
	{ "smtp-password.show", admin_smtp_show, "login" },
	{ "smtp-password.generate", admin_smtp_generate, "login" },
	{ "app-password.add", admin_app_add, "address label" },
	{ "app-password.list", admin_app_list, "address" },
	{ "app-password.revoke", admin_app_revoke, "address label" },
	{ "token.issue", admin_token_issue, "address ttl:n scope" },
	{ "token.revoke", admin_token_revoke, "id" },
	{ "tos.set", admin_tos_set, "text" },
	{ "tos.show", admin_tos_show, "" },
	{ "tos.accept", admin_tos_accept, "address" },
	{ "relay-net.add", admin_relay_add, "domain cidr" },
	{ "relay-net.list", admin_relay_list, "domain" },
	{ "relay-net.remove", admin_relay_remove, "domain cidr" },
	{ "api-key.add", admin_apikey_add, "name" },
	{ "api-key.list", admin_apikey_list, "" },
	{ "api-key.revoke", admin_apikey_revoke, "name" },
	{ "queue.list", admin_queue_list, "" },
	{ "queue.show", admin_queue_show, "id" },
	{ "queue.hold", admin_queue_hold, "id" },
	{ "queue.release", admin_queue_release, "id" },
	{ "queue.delete", admin_queue_delete, "id" },
	{ "queue.flush", admin_queue_flush, "" },
	{ "tlsrpt.send", admin_tlsrpt_send, "day today:b" },
	{ "tlsrpt.show", admin_tlsrpt_show, "" },
	{ NULL, NULL, NULL },
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

/* The type letter of name in params ('s' text), or 0 if absent. */
static int
admin_param_type(const char *params, const char *name)
{
	size_t n = strlen(name), len;
	const char *p = params;

	while (*p) {
		p += strspn(p, " ");
		len = strcspn(p, " :");
		if (len == n && strncmp(p, name, n) == 0)
			return p[len] == ':' ? p[len + 1] : 's';
		p += strcspn(p, " ");
	}
	return 0;
}

/* A field's name for a message: as given when plain, else a stand-in
 * (it came from the caller and goes back into a reply or a terminal). */
static const char *
admin_field_name(const char *key)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
				 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-.";
	size_t n = strlen(key);

	if (n == 0 || n > 64 || strspn(key, ok) != n)
		return "(a field with an unusual name)";
	return key;
}

/* A yes/no word from a query string or the CLI. */
static int
admin_yes_no(const char *t)
{
	static const char *const w[] = { "1", "true", "yes", "0", "false",
		"no" };
	size_t i;

	for (i = 0; t && i < sizeof(w) / sizeof(w[0]); i++)
		if (strcmp(t, w[i]) == 0)
			return 1;
	return 0;
}

int
admin_args_check(const char *params, json_t *args, struct admin_err *err)
{
	const char *key;
	json_t *v, *num = json_object();
	char text[32];
	int type, rc = -1;

	if (num == NULL)
		return admin_fail(err, 500, "out of memory");
	json_object_foreach (args, key, v) {
		const char *f = admin_field_name(key);
		type = params ? admin_param_type(params, key) : 0;
		if (params && type == 0) {
			admin_fail(err, 400, "unknown field \"%s\"", f);
			goto out;
		}
		if (type == 'n' && json_is_integer(v)) {
			snprintf(text, sizeof(text), "%lld",
			    (long long)json_integer_value(v));
			json_object_set_new(num, key, json_string(text));
		} else if (type == 'n' && !json_is_string(v)) {
			admin_fail(err, 400, "%s: give a whole number", f);
			goto out;
		} else if (type == 'b' && !json_is_boolean(v) &&
			   !admin_yes_no(json_string_value(v))) {
			admin_fail(err, 400, "%s: give true or false", f);
			goto out;
		} else if (type == 's' && !json_is_string(v)) {
			admin_fail(err, 400, "%s: give a string", f);
			goto out;
		} else if (type == 0 && !json_is_string(v) &&
			   !json_is_boolean(v)) {
			admin_fail(err, 400, "%s: give a string", f);
			goto out;
		}
	}
	/* after the walk: the numbers, as the operations read them */
	json_object_update(args, num);
	rc = 0;
out:
	json_decref(num);
	return rc;
}

/* The code point at s (n bytes of it in *len), or -1 if not UTF-8. */
static long
admin_utf8(const unsigned char *s, size_t *len)
{
	long cp;
	size_t n, i;

	if (s[0] < 0x80) {
		*len = 1;
		return s[0];
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		n = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		n = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		n = 4, cp = s[0] & 0x07;
	else
		return -1;
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return -1; /* also the NUL at the end */
		cp = cp << 6 | (s[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return -1;
	*len = n;
	return cp;
}

int
admin_text_check(const char *field, const char *text, size_t max, int multiline,
    struct admin_err *err)
{
	const unsigned char *p = (const unsigned char *)text;
	size_t n = strlen(text), len;
	long cp;

	if (n == 0 || n > max)
		return admin_fail(err, 400, "%s: give 1 to %zu characters",
		    field, max);
	while (*p) {
		if ((cp = admin_utf8(p, &len)) < 0)
			return admin_fail(err, 400, "%s: not UTF-8 text",
			    field);
		if (multiline && (cp == '\t' || cp == '\n' || cp == '\r')) {
			p += len;
			continue;
		}
		if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) || cp == 0x2028 ||
		    cp == 0x2029)
			return admin_fail(err, 400,
			    "%s: control characters (line breaks, tabs ...) "
			    "are not allowed",
			    field);
		p += len;
	}
	return 0;
}
