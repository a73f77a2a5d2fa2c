/*
 * admin/domain: domains and domain aliases. A domain alias shares the
 * users of its domain: alice@example.net is alice@example.org.
 * Removing a domain with users is refused unless forced; forced, every
 * user, alias, credential and relay network of it goes too.
 */
#include <stdio.h>
#include <string.h>

#include "admin.h"
#include "../mail/addr.h"
#include "../store/store.h"

static int
admin_canon(json_t *args, const char *key, char *out, size_t len,
    struct admin_err *err)
{
	const char *name = admin_need(args, key, err);
	char why[160];

	if (name == NULL)
		return -1;
	if (addr_domain_canon(name, out, len, why, sizeof(why)) == -1)
		return admin_fail(err, 400, "%s: %s", name, why);
	return 0;
}

int
admin_domain_add(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	char name[ADDR_DOMAIN_MAX + 1];
	const char *mode = admin_arg(args, "dkim");
	struct store_domain d;
	json_t *made;
	int rc;

	if (admin_canon(args, "domain", name, sizeof(name), err) == -1)
		return -1;
	if (mode == NULL)
		mode = "rsa";
	if (!admin_dkim_mode_ok(mode))
		return admin_fail(err, 400,
		    "--dkim is one of rsa, ed25519, dual (both signatures)");
	rc = store_domain_add(ctx->store, name);
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "%s already exists (as a domain or a domain alias)", name);
	if (rc != 0 || store_domain_get(ctx->store, name, &d) != 0 ||
	    store_domain_set_dkim_mode(ctx->store, d.id, mode) != 0)
		return admin_store_fail(ctx, err);
	made = json_array();
	if (admin_dkim_make(ctx, name, mode, made, err) == -1) {
		int64_t users;
		/* no domain without its keys */
		store_domain_remove(ctx->store, d.id, 1, &users);
		json_decref(made);
		return -1;
	}
	*out = json_pack("{s:s,s:s,s:o,s:s}", "domain", name, "dkim", mode,
	    "dkim_keys", made, "next",
	    "publish the DNS records of `postern domain dns` for this domain");
	return 0;
}

int
admin_domain_list(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	json_t *rows;

	(void)args;
	if ((rows = admin_list_domains(ctx->store)) == NULL)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:o}", "domains", rows);
	return 0;
}

int
admin_domain_remove(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	struct store_domain d;
	const char *name = admin_need(args, "domain", err);
	int64_t users = 0;
	int rc;

	if (name == NULL || admin_find_domain(ctx, name, &d, err) == -1)
		return -1;
	if (d.is_alias)
		return admin_fail(err, 400,
		    "%s is an alias of %s: use `postern domain alias remove %s %s`",
		    name, d.name, name, d.name);
	rc = store_domain_remove(ctx->store, d.id, admin_flag(args, "force"),
	    &users);
	if (rc == STORE_EXISTS) /* ctx->ip: an API call */
		return admin_fail(err, 409,
		    "%s has %lld user(s): remove them first, or use %s to remove the domain with all its users, aliases and credentials",
		    d.name, (long long)users,
		    ctx->ip ? "force=true (?force=true)" : "--force");
	if (rc != 0)
		return admin_store_fail(ctx, err);
	{
		char who[ADMIN_KICK_MASK_MAX];
		snprintf(who, sizeof(who), "*@%s", d.name);
		admin_mailbox_kick(ctx, who);
	}
	*out = json_pack("{s:s,s:I}", "removed", d.name, "users_removed",
	    (json_int_t)users);
	return 0;
}

int
admin_domain_alias_add(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	char alias[ADDR_DOMAIN_MAX + 1], mode[16] = "rsa";
	struct store_domain d;
	const char *target = admin_need(args, "domain", err);
	json_t *made;
	int rc;

	if (admin_canon(args, "alias", alias, sizeof(alias), err) == -1 ||
	    target == NULL || admin_find_domain(ctx, target, &d, err) == -1)
		return -1;
	if (d.is_alias)
		return admin_fail(err, 400,
		    "%s is itself an alias of %s: alias %s instead", target,
		    d.name, d.name);
	rc = store_domain_alias_add(ctx->store, alias, d.id);
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "%s already exists (as a domain or a domain alias)", alias);
	if (rc != 0 ||
	    store_domain_dkim_mode(ctx->store, d.id, mode, sizeof(mode)) != 0)
		return admin_store_fail(ctx, err);
	made = json_array();
	if (admin_dkim_make(ctx, alias, mode, made, err) == -1) {
		store_domain_alias_remove(ctx->store, alias, d.id);
		json_decref(made);
		return -1;
	}
	*out = json_pack("{s:s,s:s,s:o}", "alias", alias, "domain", d.name,
	    "dkim_keys", made);
	return 0;
}

int
admin_domain_alias_remove(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	char alias[ADDR_DOMAIN_MAX + 1];
	struct store_domain d;
	const char *target = admin_need(args, "domain", err);
	int rc;

	if (admin_canon(args, "alias", alias, sizeof(alias), err) == -1 ||
	    target == NULL || admin_find_domain(ctx, target, &d, err) == -1)
		return -1;
	rc = store_domain_alias_remove(ctx->store, alias, d.id);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 404, "%s is not an alias of %s", alias,
		    d.name);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s,s:s}", "removed", alias, "domain", d.name);
	return 0;
}
