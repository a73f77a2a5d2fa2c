/*
 * admin/policy: the settings the sending policy reads: terms of service
 * (versions and acceptances) and relay networks (who may send by IP).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "../mail/addr.h"
#include "../store/store.h"
#include "../util/cidr.h"

#define TOS_MAX (256 * 1024)

int
admin_tos_set(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *text = admin_need(args, "text", err);
	int64_t version;

	if (text == NULL || admin_text_check("text", text, TOS_MAX, 1, err))
		return -1;
	if (store_tos_add(ctx->store, text, (int64_t)time(NULL), &version) != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:I,s:s}", "version", (json_int_t)version, "note",
	    "every user must accept this version before sending again");
	return 0;
}

int
admin_tos_show(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	char *text = NULL;
	int64_t v;

	(void)args;
	if ((v = store_tos_current(ctx->store, &text)) < 0)
		return admin_store_fail(ctx, err);
	if (v == 0)
		return admin_fail(err, 404,
		    "no terms of service yet: set them with `postern tos set FILE`");
	*out = json_pack("{s:I,s:s}", "version", (json_int_t)v, "text", text);
	free(text);
	return 0;
}

int
admin_tos_accept(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	struct store_user u;
	int64_t v, now = (int64_t)time(NULL);
	int rc;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	if ((v = store_tos_current(ctx->store, NULL)) < 0)
		return admin_store_fail(ctx, err);
	if (v == 0)
		return admin_fail(err, 404,
		    "no terms of service yet: set them with `postern tos set FILE`");
	rc = store_tos_accept(ctx->store, u.id, v, now,
	    ctx->ip ? ctx->ip : ctx->actor);
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "%s@%s has already accepted version %lld", u.local,
		    u.domain, (long long)v);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s++,s:I,s:I,s:s}", "address", u.local, "@",
	    u.domain, "version", (json_int_t)v, "accepted", (json_int_t)now,
	    "from", ctx->ip ? ctx->ip : ctx->actor);
	return 0;
}

static int
admin_relay_args(struct admin_ctx *ctx, json_t *args, struct store_domain *d,
    char *cidr, size_t len, struct admin_err *err)
{
	const char *dom = admin_need(args, "domain", err);
	const char *net = admin_need(args, "cidr", err);
	struct cidr c;
	char why[160];

	if (dom == NULL || net == NULL ||
	    admin_find_domain(ctx, dom, d, err) == -1)
		return -1;
	if (cidr_parse(net, &c, why, sizeof(why)) == -1)
		return admin_fail(err, 400, "%s: %s", net, why);
	cidr_format(&c, cidr, len);
	return 0;
}

int
admin_relay_add(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	struct store_domain d;
	char cidr[CIDR_TEXT_MAX];
	int rc;

	if (admin_relay_args(ctx, args, &d, cidr, sizeof(cidr), err) == -1)
		return -1;
	rc = store_relay_add(ctx->store, d.id, cidr, (int64_t)time(NULL));
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "%s is already a relay network of %s", cidr, d.name);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s,s:s}", "domain", d.name, "cidr", cidr);
	return 0;
}

int
admin_relay_list(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *dom = admin_arg(args, "domain");
	struct store_domain d = { 0 };
	json_t *rows;

	if (dom && admin_find_domain(ctx, dom, &d, err) == -1)
		return -1;
	if ((rows = admin_list_relays(ctx->store, d.id)) == NULL)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:o}", "relay_networks", rows);
	return 0;
}

int
admin_relay_remove(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	struct store_domain d;
	char cidr[CIDR_TEXT_MAX];
	int rc;

	if (admin_relay_args(ctx, args, &d, cidr, sizeof(cidr), err) == -1)
		return -1;
	rc = store_relay_remove(ctx->store, d.id, cidr);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 404, "%s is not a relay network of %s",
		    cidr, d.name);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s,s:s}", "domain", d.name, "removed", cidr);
	return 0;
}
