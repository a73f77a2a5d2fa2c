/*
 * store_forward: a user's forwarding targets and mode. A target is
 * added pending, with the keyed hash of a token mailed to it; the
 * token's one use confirms it (and forgets the hash). Only confirmed
 * targets are read by the queue. The list is in store_list.c.
 */
#include <stdint.h>
#include <string.h>

#include "store.h"
#include "store_impl.h"
#include "../util/str.h"

static int
store_fw_rc(int rc)
{
	if (rc == DB_DONE || rc == DB_ROW)
		return 0;
	return rc == DB_CONSTRAINT ? STORE_EXISTS : STORE_FAIL;
}

int
store_forward_add(struct store *s, int64_t user_id, const char *address,
    const char *key, const char *token_hash, int64_t now, int64_t expires,
    int64_t max)
{
	int rc;

	if (db_begin(s->db) == -1)
		return STORE_FAIL;
	if (db_scalar(s->db,
		"SELECT count(*) FROM forward_target WHERE user_id = ?", "i",
		user_id) >= max) {
		db_rollback(s->db);
		return STORE_LIMIT;
	}
	rc = db_exec(s->db,
	    "INSERT INTO forward_target (user_id, address, address_key,"
	    " token_hash, token_expires, created) VALUES (?, ?, ?, ?, ?, ?)",
	    "isssii", user_id, address, key, token_hash, expires, now);
	if (rc != DB_DONE) {
		db_rollback(s->db);
		return store_fw_rc(rc);
	}
	return db_commit(s->db) == -1 ? STORE_FAIL : 0;
}

int
store_forward_retoken(struct store *s, int64_t user_id, const char *key,
    const char *token_hash, int64_t expires)
{
	int rc = db_exec(s->db,
	    "UPDATE forward_target SET token_hash = ?, token_expires = ?"
	    " WHERE user_id = ? AND address_key = ? AND confirmed IS NULL",
	    "siis", token_hash, expires, user_id, key);

	if (rc == DB_DONE && db_changes(s->db) == 0)
		return STORE_NOTFOUND;
	return store_fw_rc(rc);
}

int
store_forward_remove(struct store *s, int64_t user_id, const char *key)
{
	int rc = db_exec(s->db,
	    "DELETE FROM forward_target WHERE user_id = ? AND address_key = ?",
	    "is", user_id, key);

	if (rc == DB_DONE && db_changes(s->db) == 0)
		return STORE_NOTFOUND;
	return store_fw_rc(rc);
}

int
store_forward_mode_set(struct store *s, int64_t user_id, int only)
{
	int rc =
	    db_exec(s->db, "UPDATE account SET forward_only = ? WHERE id = ?",
		"ii", (int64_t)(only != 0), user_id);

	if (rc == DB_DONE && db_changes(s->db) == 0)
		return STORE_NOTFOUND;
	return store_fw_rc(rc);
}

int
store_forward_mode_get(struct store *s, int64_t user_id, int *only)
{
	int64_t v = db_scalar(s->db,
	    "SELECT forward_only FROM account WHERE id = ?", "i", user_id);

	if (v < 0)
		return STORE_NOTFOUND;
	*only = v != 0;
	return 0;
}

int
store_forward_pending(struct store *s, const char *token_hash, int64_t now,
    int64_t *user_id, char *address, size_t len)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT user_id, address FROM forward_target WHERE token_hash = ?"
	    " AND confirmed IS NULL AND token_expires > ?",
	    "si", token_hash, now);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		*user_id = db_int(st, 0);
		str_lcpy(address, db_text(st, 1), len);
	}
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_forward_confirm(struct store *s, const char *token_hash, int64_t now,
    int64_t *user_id, char *address, size_t len)
{
	struct db_stmt *st;
	int rc;

	/* one UPDATE: of two requests with the same token, one wins */
	st = db_query(s->db,
	    "UPDATE forward_target SET confirmed = ?, token_hash = NULL,"
	    " token_expires = NULL WHERE token_hash = ? AND confirmed IS NULL"
	    " AND token_expires > ? RETURNING user_id, address",
	    "isi", now, token_hash, now);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		*user_id = db_int(st, 0);
		str_lcpy(address, db_text(st, 1), len);
		/* run to the end so the change is made */
		while (db_step(st) == DB_ROW)
			;
	}
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_forward_link_count(struct store *s, int64_t user_id, int64_t now,
    int64_t since, int64_t *n)
{
	/* what is older than any window asked for goes on the way */
	if (db_exec(s->db, "DELETE FROM forward_link WHERE time < ?", "i",
		now - 7 * 86400) != DB_DONE)
		return STORE_FAIL;
	*n = db_scalar(s->db,
	    "SELECT count(*) FROM forward_link WHERE user_id = ? AND time >= ?",
	    "ii", user_id, since);
	return *n < 0 ? STORE_FAIL : 0;
}

int
store_forward_link_sent(struct store *s, int64_t user_id, int64_t now)
{
	return store_fw_rc(db_exec(s->db,
	    "INSERT INTO forward_link (user_id, time) VALUES (?, ?)", "ii",
	    user_id, now));
}
