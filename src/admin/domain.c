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
	int rc;

	if (admin_canon(args, "domain", name, sizeof(name), err) == -1)
		return -1;
	rc = store_domain_add(ctx->store, name);
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "%s already exists (as a domain or a domain alias)", name);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s}", "domain", name);
	return 0;
}

int
admin_domain_list(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	json_t *rows;

	(void)args;
	if ((rows = store_domain_list(ctx->store)) == NULL)
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
	rc = store_domain_remove(ctx->store, d.id,
	    json_is_true(json_object_get(args, "force")), &users);
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "%s has %lld user(s): remove them first, or use --force to remove the domain with all its users, aliases and credentials",
		    d.name, (long long)users);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s,s:I}", "removed", d.name, "users_removed",
	    (json_int_t)users);
	return 0;
}

int
admin_domain_alias_add(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	char alias[ADDR_DOMAIN_MAX + 1];
	struct store_domain d;
	const char *target = admin_need(args, "domain", err);
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
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s,s:s}", "alias", alias, "domain", d.name);
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
