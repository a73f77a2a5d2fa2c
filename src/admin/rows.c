/*
 * rows: the store's lists as the JSON the CLI and the API show. The
 * store hands typed rows (store.h); here each becomes an object whose
 * keys and their order are the interface scripts read, so a key is
 * renamed here or nowhere. A NULL column is JSON null, as is an unset
 * time (0) and text that is not valid UTF-8.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "admin.h"
#include "../store/store.h"

static json_t *
rows_str(const char *s)
{
	json_t *v = s ? json_string(s) : NULL;

	return v ? v : json_null();
}

static json_t *
rows_time(int64_t t)
{
	return t ? json_integer(t) : json_null();
}

/* Append an object of n key/value pairs (values taken) to a. */
static void
rows_add(json_t *a, const char *const *keys, json_t *const *vals, size_t n)
{
	json_t *o = json_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_set_new(o, keys[i], vals[i]);
	json_array_append_new(a, o);
}

#define ROWS_ADD(a, keys, ...)                                                 \
	do {                                                                   \
		json_t *const v_[] = { __VA_ARGS__ };                          \
		_Static_assert(sizeof(v_) / sizeof(v_[0]) ==                   \
				   sizeof(keys) / sizeof((keys)[0]),           \
		    "a key per value");                                        \
		rows_add((a), (keys), v_, sizeof(v_) / sizeof(v_[0]));         \
	} while (0)

json_t *
admin_list_domains(struct store *st)
{
	static const char *const k[] = { "id", "name", "created", "users",
		"aliases" };
	struct store_domain_rows l;
	struct store_name_rows names;
	json_t *a, *al;
	size_t i, j;

	if (store_domain_list(st, &l) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < l.n; i++) {
		if (store_domain_names(st, l.v[i].id, &names) != 0) {
			json_decref(a);
			a = NULL;
			break;
		}
		al = json_array();
		for (j = 0; j < names.n; j++)
			if (names.v[j].is_alias)
				json_array_append_new(al,
				    rows_str(names.v[j].name));
		store_name_rows_free(&names);
		ROWS_ADD(a, k, json_integer(l.v[i].id), rows_str(l.v[i].name),
		    json_integer(l.v[i].created), json_integer(l.v[i].users),
		    al);
	}
	store_domain_rows_free(&l);
	return a;
}

json_t *
admin_list_users(struct store *st, int64_t domain_id)
{
	static const char *const k[] = { "address", "created", "blocked_reason",
		"has_login_password", "has_smtp_password" };
	struct store_user_rows l;
	json_t *a;
	size_t i;

	if (store_user_list(st, domain_id, &l) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < l.n; i++)
		ROWS_ADD(a, k, rows_str(l.v[i].address),
		    json_integer(l.v[i].created),
		    rows_str(l.v[i].blocked_reason),
		    json_integer(l.v[i].has_login_password),
		    json_integer(l.v[i].has_smtp_password));
	store_user_rows_free(&l);
	return a;
}

json_t *
admin_list_apps(struct store *st, int64_t user_id)
{
	static const char *const k[] = { "label", "created", "last_used",
		"revoked" };
	struct store_app_rows l;
	json_t *a;
	size_t i;

	if (store_app_list(st, user_id, &l) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < l.n; i++)
		ROWS_ADD(a, k, rows_str(l.v[i].label),
		    json_integer(l.v[i].created), rows_time(l.v[i].last_used),
		    rows_time(l.v[i].revoked));
	store_app_rows_free(&l);
	return a;
}

json_t *
admin_list_tokens(struct store *st, int64_t user_id)
{
	static const char *const k[] = { "id", "scope", "created", "expires",
		"revoked" };
	struct store_token_rows l;
	json_t *a;
	size_t i;

	if (store_token_list(st, user_id, &l) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < l.n; i++)
		ROWS_ADD(a, k, rows_str(l.v[i].id), rows_str(l.v[i].scope),
		    json_integer(l.v[i].created), json_integer(l.v[i].expires),
		    rows_time(l.v[i].revoked));
	store_token_rows_free(&l);
	return a;
}

json_t *
admin_list_tos(struct store *st, int64_t user_id)
{
	static const char *const k[] = { "version", "accepted", "ip" };
	struct store_tos_rows l;
	json_t *a;
	size_t i;

	if (store_tos_acceptances(st, user_id, &l) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < l.n; i++)
		ROWS_ADD(a, k, json_integer(l.v[i].version),
		    json_integer(l.v[i].accepted), rows_str(l.v[i].ip));
	store_tos_rows_free(&l);
	return a;
}

json_t *
admin_list_relays(struct store *st, int64_t domain_id)
{
	static const char *const k[] = { "domain", "cidr", "created" };
	struct store_relay_rows l;
	json_t *a;
	size_t i;

	if (store_relay_list(st, domain_id, &l) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < l.n; i++)
		ROWS_ADD(a, k, rows_str(l.v[i].domain), rows_str(l.v[i].cidr),
		    json_integer(l.v[i].created));
	store_relay_rows_free(&l);
	return a;
}

json_t *
admin_list_auth(struct store *st, const char *login, int64_t since,
    int failed_only, int64_t limit)
{
	static const char *const k[] = { "time", "login", "ip", "mech", "kind",
		"outcome", "reason", "node" };
	struct store_auth_rows l;
	json_t *a;
	size_t i;

	if (store_auth_list(st, login, since, failed_only, limit, &l) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < l.n; i++)
		ROWS_ADD(a, k, json_integer(l.v[i].time),
		    rows_str(l.v[i].login), rows_str(l.v[i].ip),
		    rows_str(l.v[i].mech), rows_str(l.v[i].kind),
		    rows_str(l.v[i].outcome), rows_str(l.v[i].reason),
		    rows_str(l.v[i].node));
	store_auth_rows_free(&l);
	return a;
}

json_t *
admin_list_apikeys(struct store *st)
{
	static const char *const k[] = { "name", "created", "last_used",
		"revoked" };
	struct store_apikey_rows l;
	json_t *a;
	size_t i;

	if (store_apikey_list(st, &l) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < l.n; i++)
		ROWS_ADD(a, k, rows_str(l.v[i].name),
		    json_integer(l.v[i].created), rows_time(l.v[i].last_used),
		    rows_time(l.v[i].revoked));
	store_apikey_rows_free(&l);
	return a;
}

json_t *
admin_list_nodes(struct store *st, const char *self, int64_t now)
{
	static const char *const k[] = { "node", "queued", "inflight",
		"updated", "started", "age", "this" };
	struct store_node_rows l;
	json_t *a;
	size_t i;

	if (store_node_list(st, &l) != 0)
		return NULL;
	a = json_array();
	for (i = 0; i < l.n; i++)
		ROWS_ADD(a, k, rows_str(l.v[i].node),
		    json_integer(l.v[i].queued), json_integer(l.v[i].inflight),
		    json_integer(l.v[i].updated), json_integer(l.v[i].started),
		    json_integer(now - l.v[i].updated),
		    json_boolean(
			l.v[i].node && strcmp(l.v[i].node, self) == 0));
	store_node_rows_free(&l);
	return a;
}
