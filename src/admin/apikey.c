/*
 * admin/apikey: operator keys for the JSON API. A key is made here,
 * shown once, and kept as a keyed hash (as app passwords); revoking one
 * stops it at once. A request presents it as Authorization: Bearer KEY.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "admin.h"
#include "../auth/secret.h"
#include "../store/store.h"

#define APIKEY_NAME_MAX 64
#define APIKEY_SECRET_LEN 40 /* of 54 symbols: 230 bits */
#define APIKEY_PREFIX "pk_"

static int
admin_apikey_name(json_t *args, const char **name, struct admin_err *err)
{
	size_t n;

	if ((*name = admin_need(args, "name", err)) == NULL)
		return -1;
	n = strlen(*name);
	if (n > APIKEY_NAME_MAX ||
	    strspn(*name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			  "0123456789._-") != n)
		return admin_fail(err, 400,
		    "a key name has 1 to %d letters, digits, '.', '_' or '-'",
		    APIKEY_NAME_MAX);
	return 0;
}

int
admin_apikey_add(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	char key[sizeof(APIKEY_PREFIX) + APIKEY_SECRET_LEN];
	char hash[SECRET_HASH_HEX];
	const char *name;
	int rc;

	if (admin_apikey_name(args, &name, err) == -1)
		return -1;
	memcpy(key, APIKEY_PREFIX, sizeof(APIKEY_PREFIX) - 1);
	secret_generate(key + sizeof(APIKEY_PREFIX) - 1, APIKEY_SECRET_LEN);
	secret_hash(ctx->keys, key, strlen(key), hash);
	rc = store_apikey_add(ctx->store, name, hash, (int64_t)time(NULL));
	if (rc == STORE_EXISTS)
		return admin_fail(err, 409,
		    "there is already a live API key named %s: revoke it or choose another name",
		    name);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s,s:s,s:s}", "name", name, "key", key, "note",
	    "shown once: keep it; send it as Authorization: Bearer KEY");
	sodium_memzero(key, sizeof(key));
	return 0;
}

int
admin_apikey_list(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	json_t *rows;

	(void)args;
	if ((rows = admin_list_apikeys(ctx->store)) == NULL)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:o}", "api_keys", rows);
	return 0;
}

int
admin_apikey_revoke(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *name;
	int rc;

	if (admin_apikey_name(args, &name, err) == -1)
		return -1;
	rc = store_apikey_revoke(ctx->store, name, (int64_t)time(NULL));
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 404, "no live API key named %s", name);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:s}", "revoked", name);
	return 0;
}
