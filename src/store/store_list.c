/*
 * store_list: the store's queries that return many rows, each read into
 * a counted array of typed structs (store.h says why an array). One
 * table per kind of row names where each column goes; one reader fills
 * the rows and one function frees them, so a new list is a query and a
 * table, and its text can never be freed twice or leak.
 */
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "authlog.h"
#include "store.h"
#include "store_impl.h"

/* Column i of a query goes to cols[i]: an int64_t (0 for NULL) or a
 * string the list owns (NULL for NULL). */
struct store_col {
	char type; /* 'i' or 's' */
	size_t off;
};

#define COL_I(t, f)                                                            \
	{                                                                      \
		'i', offsetof(t, f)                                            \
	}
#define COL_S(t, f)                                                            \
	{                                                                      \
		's', offsetof(t, f)                                            \
	}
#define NCOLS(c) (sizeof(c) / sizeof((c)[0]))

static void
store_unfetch(const struct store_col *cols, size_t ncols, size_t rowsize,
    void *v, size_t n)
{
	unsigned char *row = v;
	size_t r, i;
	char *t;

	for (r = 0; r < n; r++, row += rowsize)
		for (i = 0; i < ncols; i++)
			if (cols[i].type == 's') {
				memcpy(&t, row + cols[i].off, sizeof(t));
				free(t);
			}
	free(v);
}

static int
store_fetch_row(struct db_stmt *st, const struct store_col *cols, size_t ncols,
    unsigned char *row)
{
	size_t i;

	for (i = 0; i < ncols; i++) {
		int null = db_is_null(st, (int)i);
		if (cols[i].type == 'i') {
			int64_t x = null ? 0 : db_int(st, (int)i);
			memcpy(row + cols[i].off, &x, sizeof(x));
		} else {
			char *t = NULL;
			if (!null && (t = strdup(db_text(st, (int)i))) == NULL)
				return -1;
			memcpy(row + cols[i].off, &t, sizeof(t));
		}
	}
	return 0;
}

/*
 * Every row of st (NULL: the query could not be prepared) as an array of
 * rowsize-byte structs; *n rows. NULL on failure; an empty result is an
 * allocation with *n 0, so NULL always means an error.
 */
static void *
store_fetch(struct db_stmt *st, const struct store_col *cols, size_t ncols,
    size_t rowsize, size_t *n)
{
	unsigned char *rows, *p;
	size_t cap = 8, len = 0;
	int rc;

	*n = 0;
	if (st == NULL)
		return NULL;
	if ((rows = malloc(cap * rowsize)) == NULL) {
		db_done(st);
		return NULL;
	}
	while ((rc = db_step(st)) == DB_ROW) {
		if (len == cap) {
			if ((p = realloc(rows, 2 * cap * rowsize)) == NULL) {
				rc = DB_ERROR;
				break;
			}
			rows = p;
			cap *= 2;
		}
		/* zeroed first, so a row cut short frees cleanly */
		memset(rows + len * rowsize, 0, rowsize);
		len++;
		if (store_fetch_row(st, cols, ncols,
			rows + (len - 1) * rowsize) == -1) {
			rc = DB_ERROR;
			break;
		}
	}
	db_done(st);
	if (rc != DB_DONE) {
		store_unfetch(cols, ncols, rowsize, rows, len);
		return NULL;
	}
	*n = len;
	return rows;
}

/* Fill list l (v, n) from statement st by table cols; 0 or STORE_FAIL. */
#define STORE_FETCH(l, cols, st)                                               \
	(((l)->v = store_fetch((st), (cols), NCOLS(cols), sizeof(*(l)->v),     \
	      &(l)->n)) != NULL                                                \
		? 0                                                            \
		: STORE_FAIL)

/* Free list l by table cols; the list is empty after. */
#define STORE_UNFETCH(l, cols)                                                 \
	do {                                                                   \
		store_unfetch((cols), NCOLS(cols), sizeof(*(l)->v), (l)->v,    \
		    (l)->n);                                                   \
		(l)->v = NULL;                                                 \
		(l)->n = 0;                                                    \
	} while (0)

static const struct store_col domain_cols[] = {
	COL_I(struct store_domain_row, id),
	COL_S(struct store_domain_row, name),
	COL_I(struct store_domain_row, created),
	COL_I(struct store_domain_row, users),
};

int
store_domain_list(struct store *s, struct store_domain_rows *l)
{
	return STORE_FETCH(l, domain_cols,
	    db_query(s->db,
		"SELECT d.id, d.name, d.created,"
		" (SELECT count(*) FROM account a WHERE a.domain_id = d.id)"
		" FROM domain d ORDER BY d.name",
		NULL));
}

void
store_domain_rows_free(struct store_domain_rows *l)
{
	STORE_UNFETCH(l, domain_cols);
}

static const struct store_col name_cols[] = {
	COL_S(struct store_name_row, name),
	COL_I(struct store_name_row, is_alias),
};

int
store_domain_names(struct store *s, int64_t domain_id,
    struct store_name_rows *l)
{
	return STORE_FETCH(l, name_cols,
	    db_query(s->db,
		"SELECT name, is_alias FROM domain_name WHERE domain_id = ?"
		" ORDER BY is_alias, name",
		"i", domain_id));
}

void
store_name_rows_free(struct store_name_rows *l)
{
	STORE_UNFETCH(l, name_cols);
}

static const struct store_col string_cols[] = { { 's', 0 } };

int
store_user_aliases(struct store *s, int64_t user_id, struct store_strings *l)
{
	return STORE_FETCH(l, string_cols,
	    db_query(s->db,
		"SELECT local FROM user_name WHERE user_id = ? AND is_alias = 1"
		" ORDER BY local_key",
		"i", user_id));
}

int
store_user_names(struct store *s, int64_t user_id, struct store_strings *l)
{
	return STORE_FETCH(l, string_cols,
	    db_query(s->db,
		"SELECT local_key FROM user_name WHERE user_id = ?"
		" ORDER BY is_alias",
		"i", user_id));
}

void
store_strings_free(struct store_strings *l)
{
	STORE_UNFETCH(l, string_cols);
}

static const struct store_col user_cols[] = {
	COL_S(struct store_user_row, address),
	COL_I(struct store_user_row, created),
	COL_S(struct store_user_row, blocked_reason),
	COL_I(struct store_user_row, has_login_password),
	COL_I(struct store_user_row, has_smtp_password),
};

int
store_user_list(struct store *s, int64_t domain_id, struct store_user_rows *l)
{
	return STORE_FETCH(l, user_cols,
	    db_query(s->db,
		"SELECT a.local || '@' || d.name, a.created, a.blocked_reason,"
		" (SELECT count(*) FROM login_password p"
		" WHERE p.user_id = a.id),"
		" (SELECT count(*) FROM smtp_credential c"
		" WHERE c.user_id = a.id)"
		" FROM account a JOIN domain d ON d.id = a.domain_id"
		" WHERE ? = 0 OR a.domain_id = ? ORDER BY d.name, a.local_key",
		"ii", domain_id, domain_id));
}

void
store_user_rows_free(struct store_user_rows *l)
{
	STORE_UNFETCH(l, user_cols);
}

static const struct store_col app_cols[] = {
	COL_S(struct store_app_row, label),
	COL_I(struct store_app_row, created),
	COL_I(struct store_app_row, last_used),
	COL_I(struct store_app_row, revoked),
};

int
store_app_list(struct store *s, int64_t user_id, struct store_app_rows *l)
{
	return STORE_FETCH(l, app_cols,
	    db_query(s->db,
		"SELECT label, created, last_used, revoked FROM app_password"
		" WHERE user_id = ? ORDER BY created, id",
		"i", user_id));
}

void
store_app_rows_free(struct store_app_rows *l)
{
	STORE_UNFETCH(l, app_cols);
}

static const struct store_col token_cols[] = {
	COL_S(struct store_token_row, id),
	COL_S(struct store_token_row, scope),
	COL_I(struct store_token_row, created),
	COL_I(struct store_token_row, expires),
	COL_I(struct store_token_row, revoked),
};

int
store_token_list(struct store *s, int64_t user_id, struct store_token_rows *l)
{
	return STORE_FETCH(l, token_cols,
	    db_query(s->db,
		"SELECT id, scope, created, expires, revoked FROM oauth_token"
		" WHERE user_id = ? ORDER BY created, id",
		"i", user_id));
}

void
store_token_rows_free(struct store_token_rows *l)
{
	STORE_UNFETCH(l, token_cols);
}

static const struct store_col tos_cols[] = {
	COL_I(struct store_tos_row, version),
	COL_I(struct store_tos_row, accepted),
	COL_S(struct store_tos_row, ip),
};

int
store_tos_acceptances(struct store *s, int64_t user_id,
    struct store_tos_rows *l)
{
	return STORE_FETCH(l, tos_cols,
	    db_query(s->db,
		"SELECT version, accepted, ip FROM tos_acceptance"
		" WHERE user_id = ? ORDER BY version",
		"i", user_id));
}

void
store_tos_rows_free(struct store_tos_rows *l)
{
	STORE_UNFETCH(l, tos_cols);
}

static const struct store_col relay_cols[] = {
	COL_S(struct store_relay_row, domain),
	COL_S(struct store_relay_row, cidr),
	COL_I(struct store_relay_row, created),
};

int
store_relay_list(struct store *s, int64_t domain_id, struct store_relay_rows *l)
{
	return STORE_FETCH(l, relay_cols,
	    db_query(s->db,
		"SELECT d.name, r.cidr, r.created FROM relay_net r"
		" JOIN domain d ON d.id = r.domain_id"
		" WHERE ? = 0 OR r.domain_id = ? ORDER BY d.name, r.cidr",
		"ii", domain_id, domain_id));
}

void
store_relay_rows_free(struct store_relay_rows *l)
{
	STORE_UNFETCH(l, relay_cols);
}

static const struct store_col dkim_cols[] = {
	COL_S(struct store_dkim_row, name),
	COL_S(struct store_dkim_row, selector),
	COL_S(struct store_dkim_row, alg),
	COL_S(struct store_dkim_row, path),
	COL_I(struct store_dkim_row, created),
	COL_I(struct store_dkim_row, retired),
	COL_I(struct store_dkim_row, publish_until),
};

int
store_dkim_signing(struct store *s, const char *name, struct store_dkim_rows *l)
{
	return STORE_FETCH(l, dkim_cols,
	    db_query(s->db,
		"SELECT name, selector, alg, path, created, retired,"
		" publish_until FROM dkim_key WHERE name = ?"
		" AND retired IS NULL ORDER BY alg DESC, id",
		"s", name));
}

int
store_dkim_published(struct store *s, int64_t domain_id, int64_t now,
    struct store_dkim_rows *l)
{
	return STORE_FETCH(l, dkim_cols,
	    db_query(s->db,
		"SELECT k.name, k.selector, k.alg, k.path, k.created,"
		" k.retired, k.publish_until FROM dkim_key k"
		" JOIN domain_name n ON n.name = k.name WHERE n.domain_id = ?"
		" AND (k.publish_until IS NULL OR k.publish_until > ?)"
		" ORDER BY n.is_alias, k.name, k.id",
		"ii", domain_id, now));
}

void
store_dkim_rows_free(struct store_dkim_rows *l)
{
	STORE_UNFETCH(l, dkim_cols);
}

static const struct store_col usage_cols[] = {
	COL_I(struct store_usage_row, user_id),
	COL_I(struct store_usage_row, domain_id),
	COL_S(struct store_usage_row, counter),
	COL_I(struct store_usage_row, window),
	COL_I(struct store_usage_row, n),
	COL_I(struct store_usage_row, seq),
};

int
store_usage_list(struct store *s, int64_t user_id, int64_t domain_id,
    struct store_usage_rows *l)
{
	/* user_id, domain_id NULL read as 0 */
	return STORE_FETCH(l, usage_cols,
	    db_query(s->db,
		"SELECT user_id, domain_id, counter, \"window\", n, seq"
		" FROM quota_usage WHERE (? = 0 AND ? = 0)"
		" OR (? <> 0 AND user_id = ?) OR (? <> 0 AND domain_id = ?)",
		"iiiiii", user_id, domain_id, user_id, user_id, domain_id,
		domain_id));
}

void
store_usage_rows_free(struct store_usage_rows *l)
{
	STORE_UNFETCH(l, usage_cols);
}

static const struct store_col auth_cols[] = {
	COL_I(struct store_auth_row, time),
	COL_S(struct store_auth_row, login),
	COL_S(struct store_auth_row, ip),
	COL_S(struct store_auth_row, mech),
	COL_S(struct store_auth_row, kind),
	COL_S(struct store_auth_row, outcome),
	COL_S(struct store_auth_row, reason),
	COL_S(struct store_auth_row, node),
};

int
store_auth_list(struct store *s, const char *login, int64_t since,
    int failed_only, int64_t limit, struct store_auth_rows *l)
{
	authlog_sync(); /* what this process queued is in the table */
	return STORE_FETCH(l, auth_cols,
	    db_query(s->db,
		"SELECT time, login, ip, mech, kind, outcome, reason, node"
		" FROM auth_event WHERE (CAST(? AS TEXT) IS NULL"
		" OR lower(login) = lower(?))"
		" AND time >= ?"
		" AND (? = 0 OR outcome <> 'ok') ORDER BY time DESC, id DESC"
		" LIMIT ?",
		"ssiii", login, login, since, (int64_t)failed_only, limit));
}

void
store_auth_rows_free(struct store_auth_rows *l)
{
	STORE_UNFETCH(l, auth_cols);
}

static const struct store_col apikey_cols[] = {
	COL_S(struct store_apikey_row, name),
	COL_I(struct store_apikey_row, created),
	COL_I(struct store_apikey_row, last_used),
	COL_I(struct store_apikey_row, revoked),
};

int
store_apikey_list(struct store *s, struct store_apikey_rows *l)
{
	return STORE_FETCH(l, apikey_cols,
	    db_query(s->db,
		"SELECT name, created, last_used, revoked FROM api_key"
		" ORDER BY created, id",
		""));
}

void
store_apikey_rows_free(struct store_apikey_rows *l)
{
	STORE_UNFETCH(l, apikey_cols);
}

/* several nodes */

int
store_usage_since(struct store *s, int64_t seq, struct store_usage_rows *l)
{
	return STORE_FETCH(l, usage_cols,
	    db_query(s->db,
		"SELECT user_id, domain_id, counter, \"window\", n, seq"
		" FROM quota_usage WHERE seq > ? ORDER BY seq",
		"i", seq));
}

static const struct store_col block_cols[] = {
	COL_I(struct store_block_row, user_id),
	COL_I(struct store_block_row, domain_id),
	COL_I(struct store_block_row, blocked),
	COL_I(struct store_block_row, seq),
};

int
store_blocks_since(struct store *s, int64_t seq, struct store_block_rows *l)
{
	return STORE_FETCH(l, block_cols,
	    db_query(s->db,
		"SELECT id, domain_id,"
		" CASE WHEN blocked_reason IS NULL THEN 0 ELSE 1 END, block_seq"
		" FROM account WHERE block_seq > ? ORDER BY block_seq",
		"i", seq));
}

void
store_block_rows_free(struct store_block_rows *l)
{
	STORE_UNFETCH(l, block_cols);
}

static const struct store_col bf_cols[] = {
	COL_I(struct store_bf_row, tab),
	COL_I(struct store_bf_row, kind),
	COL_S(struct store_bf_row, hash),
	COL_S(struct store_bf_row, link),
	COL_I(struct store_bf_row, fails),
	COL_I(struct store_bf_row, last_fail),
	COL_I(struct store_bf_row, refused_until),
	COL_I(struct store_bf_row, seq),
};

int
store_bf_since(struct store *s, int64_t seq, struct store_bf_rows *l)
{
	return STORE_FETCH(l, bf_cols,
	    db_query(s->db,
		"SELECT tab, kind, hash, link, fails, last_fail, refused_until,"
		" seq FROM bf_count WHERE seq > ? ORDER BY seq",
		"i", seq));
}

void
store_bf_rows_free(struct store_bf_rows *l)
{
	STORE_UNFETCH(l, bf_cols);
}

static const struct store_col node_cols[] = {
	COL_S(struct store_node_row, node),
	COL_I(struct store_node_row, started),
	COL_I(struct store_node_row, updated),
	COL_I(struct store_node_row, queued),
	COL_I(struct store_node_row, inflight),
	COL_I(struct store_node_row, store_ok),
};

int
store_node_list(struct store *s, struct store_node_rows *l)
{
	return STORE_FETCH(l, node_cols,
	    db_query(s->db,
		"SELECT node, started, updated, queued, inflight, store_ok"
		" FROM node_status ORDER BY node",
		""));
}

void
store_node_rows_free(struct store_node_rows *l)
{
	STORE_UNFETCH(l, node_cols);
}

static const struct store_col forward_cols[] = {
	COL_S(struct store_forward_row, address),
	COL_I(struct store_forward_row, created),
	COL_I(struct store_forward_row, confirmed),
	COL_I(struct store_forward_row, expires),
};

int
store_forward_list(struct store *s, int64_t user_id,
    struct store_forward_rows *l)
{
	return STORE_FETCH(l, forward_cols,
	    db_query(s->db,
		"SELECT address, created, confirmed, token_expires"
		" FROM forward_target WHERE user_id = ? ORDER BY created, id",
		"i", user_id));
}

void
store_forward_rows_free(struct store_forward_rows *l)
{
	STORE_UNFETCH(l, forward_cols);
}

int
store_forward_targets(struct store *s, int64_t user_id, struct store_strings *l)
{
	return STORE_FETCH(l, string_cols,
	    db_query(s->db,
		"SELECT address FROM forward_target WHERE user_id = ?"
		" AND confirmed IS NOT NULL ORDER BY created, id",
		"i", user_id));
}
