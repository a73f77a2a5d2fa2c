/*
 * store: every query postern runs against its accounts database. Writes
 * that touch more than one row run in a transaction; uniqueness of names
 * is left to the schema's keys so two writers can never both succeed.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "authlog.h"
#include "store.h"
#include "store_impl.h"
#include "../util/conf.h"
#include "../util/str.h"

const char *const store_quota_names[STORE_QUOTA_N] = { "messages_per_hour",
	"messages_per_day", "recipients_per_day", "recipients_per_message" };

static int
store_rc(int rc)
{
	if (rc == DB_DONE || rc == DB_ROW)
		return 0;
	return rc == DB_CONSTRAINT ? STORE_EXISTS : STORE_FAIL;
}

struct store *
store_open(const char *driver, const char *target, char *err, size_t errlen)
{
	struct store *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->db = db_open(driver, target, err, errlen)) == NULL) {
		free(s);
		return NULL;
	}
	if (store_schema_migrate(s, err, errlen) == -1) {
		store_close(s);
		return NULL;
	}
	return s;
}

void
store_close(struct store *s)
{
	if (s == NULL)
		return;
	db_close(s->db);
	free(s);
}

/*
 * How long one query may wait for a locked SQLite file (its busy
 * timeout), so that a node whose store is held answers 451 after this,
 * not after SQLite's default. PostgreSQL: its connections are made
 * again after a failure (db_pg.c) and would lose a SET; a bound goes in
 * the conninfo (connect_timeout, options='-c statement_timeout=...').
 */
int
store_set_timeout(struct store *s, int64_t ms)
{
	char sql[64];

	if (strcmp(db_driver(s->db), "sqlite") != 0)
		return 0;
	snprintf(sql, sizeof(sql), "PRAGMA busy_timeout = %lld", (long long)ms);
	return db_exec_once(s->db, sql) == DB_ERROR ? STORE_FAIL : 0;
}

const char *
store_errmsg(struct store *s)
{
	return db_errmsg(s->db);
}

int
store_schema_version(struct store *s)
{
	return (int)db_scalar(s->db, "SELECT max(version) FROM schema_version",
	    NULL);
}

int
store_begin(struct store *s)
{
	return db_begin(s->db);
}

int
store_read_begin(struct store *s)
{
	return db_begin_read(s->db);
}

void
store_read_end(struct store *s)
{
	if (db_commit(s->db) != 0)
		db_rollback(s->db);
}

int
store_commit(struct store *s)
{
	return db_commit(s->db);
}

void
store_rollback(struct store *s)
{
	db_rollback(s->db);
}

/* domains */

int
store_domain_add(struct store *s, const char *name)
{
	int64_t id, now = (int64_t)time(NULL);
	int rc;

	if (db_begin(s->db) == -1)
		return STORE_FAIL;
	/* the name table first: it also holds the aliases */
	id = db_scalar(s->db,
	    "INSERT INTO domain (name, created) VALUES (?, ?) RETURNING id",
	    "si", name, now);
	if (id < 0) {
		/* after the rollback: a failed statement ends a PostgreSQL
		 * transaction, nothing more can be read in it */
		db_rollback(s->db);
		return db_scalar(s->db,
			   "SELECT 1 FROM domain_name WHERE name = ?", "s",
			   name) == 1 ||
			       db_scalar(s->db,
				   "SELECT 1 FROM domain WHERE name = ?", "s",
				   name) == 1
			   ? STORE_EXISTS
			   : STORE_FAIL;
	}
	rc = db_exec(s->db,
	    "INSERT INTO domain_name (name, domain_id, is_alias, created)"
	    " VALUES (?, ?, 0, ?)",
	    "sii", name, id, now);
	if (rc != DB_DONE) {
		db_rollback(s->db);
		return store_rc(rc);
	}
	return db_commit(s->db) == 0 ? 0 : STORE_FAIL;
}

int
store_domain_get(struct store *s, const char *name, struct store_domain *d)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT d.id, d.name, n.is_alias FROM domain_name n"
	    " JOIN domain d ON d.id = n.domain_id WHERE n.name = ?",
	    "s", name);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		d->id = db_int(st, 0);
		str_lcpy(d->name, db_text(st, 1), sizeof(d->name));
		d->is_alias = (int)db_int(st, 2);
	}
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_domain_remove(struct store *s, int64_t id, int force, int64_t *users)
{
	int rc;

	if (db_begin(s->db) == -1)
		return STORE_FAIL;
	*users = db_scalar(s->db,
	    "SELECT count(*) FROM account WHERE domain_id = ?", "i", id);
	if (*users > 0 && !force) {
		db_rollback(s->db);
		return STORE_EXISTS;
	}
	/* everything hanging on the domain goes with it (ON DELETE CASCADE) */
	rc = db_exec(s->db, "DELETE FROM domain WHERE id = ?", "i", id);
	if (rc != DB_DONE) {
		db_rollback(s->db);
		return STORE_FAIL;
	}
	return db_commit(s->db) == 0 ? 0 : STORE_FAIL;
}

int
store_domain_alias_add(struct store *s, const char *alias, int64_t dom)
{
	/* the primary key of domain_name refuses a name already taken */
	return store_rc(db_exec(s->db,
	    "INSERT INTO domain_name (name, domain_id, is_alias, created)"
	    " VALUES (?, ?, 1, ?)",
	    "sii", alias, dom, (int64_t)time(NULL)));
}

int
store_domain_alias_remove(struct store *s, const char *alias, int64_t dom)
{
	int rc = db_exec(s->db,
	    "DELETE FROM domain_name WHERE name = ? AND domain_id = ?"
	    " AND is_alias = 1",
	    "si", alias, dom);

	if (rc != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_NOTFOUND;
}

/* users */

int
store_user_add(struct store *s, int64_t domain_id, const char *local,
    const char *local_key, int64_t *id)
{
	int rc;

	if (db_begin(s->db) == -1)
		return STORE_FAIL;
	*id = db_scalar(s->db,
	    "INSERT INTO account (domain_id, local, local_key, created)"
	    " VALUES (?, ?, ?, ?) RETURNING id",
	    "issi", domain_id, local, local_key, (int64_t)time(NULL));
	if (*id < 0) {
		db_rollback(s->db);
		return db_scalar(s->db,
			   "SELECT 1 FROM user_name WHERE domain_id = ? AND local_key = ?",
			   "is", domain_id, local_key) == 1
			   ? STORE_EXISTS
			   : STORE_FAIL;
	}
	rc = db_exec(s->db,
	    "INSERT INTO user_name (domain_id, local_key, local, user_id,"
	    " is_alias) VALUES (?, ?, ?, ?, 0)",
	    "issi", domain_id, local_key, local, *id);
	if (rc != DB_DONE) {
		db_rollback(s->db);
		return store_rc(rc);
	}
	return db_commit(s->db) == 0 ? 0 : STORE_FAIL;
}

/* A user from columns col.. : id, domain_id, local, domain name,
 * blocked_reason. */
static void
store_user_row(struct db_stmt *st, int col, struct store_user *u)
{
	u->id = db_int(st, col);
	u->domain_id = db_int(st, col + 1);
	str_lcpy(u->local, db_text(st, col + 2), sizeof(u->local));
	str_lcpy(u->domain, db_text(st, col + 3), sizeof(u->domain));
	u->blocked = !db_is_null(st, col + 4);
	str_lcpy(u->blocked_reason, db_text(st, col + 4),
	    sizeof(u->blocked_reason));
}

/* The user a query of (name, local key) finds, into u. */
static int
store_user_by(struct store *s, const char *sql, const struct addr *a,
    struct store_user *u)
{
	struct db_stmt *st;
	int rc;

	if ((st = db_query(s->db, sql, "ss", a->domain, a->local_key)) == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW)
		store_user_row(st, 0, u);
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_user_get(struct store *s, const struct addr *a, struct store_user *u)
{
	/* by any name of the domain (alias domains too), by primary local */
	return store_user_by(s,
	    "SELECT a.id, a.domain_id, a.local, d.name, a.blocked_reason"
	    " FROM domain_name n JOIN account a ON a.domain_id = n.domain_id"
	    " JOIN domain d ON d.id = a.domain_id"
	    " WHERE n.name = ? AND a.local_key = ?",
	    a, u);
}

int
store_mailbox_user(struct store *s, const struct addr *a, struct store_user *u)
{
	/* by any name of the domain, by the user's local part or an alias */
	return store_user_by(s,
	    "SELECT a.id, a.domain_id, a.local, d.name, a.blocked_reason"
	    " FROM domain_name n JOIN user_name u ON u.domain_id = n.domain_id"
	    " JOIN account a ON a.id = u.user_id"
	    " JOIN domain d ON d.id = a.domain_id"
	    " WHERE n.name = ? AND u.local_key = ?",
	    a, u);
}

int
store_user_has_name(struct store *s, int64_t user_id, int64_t domain_id,
    const char *local_key)
{
	return db_scalar(s->db,
		   "SELECT 1 FROM user_name WHERE domain_id = ? AND local_key = ?"
		   " AND user_id = ?",
		   "isi", domain_id, local_key, user_id) == 1;
}

int
store_name_exists(struct store *s, int64_t domain_id, const char *local_key)
{
	return db_scalar(s->db,
		   "SELECT 1 FROM user_name WHERE domain_id = ? AND local_key = ?",
		   "is", domain_id, local_key) == 1;
}

int
store_user_remove(struct store *s, int64_t user_id)
{
	if (db_exec(s->db, "DELETE FROM account WHERE id = ?", "i", user_id) !=
	    DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_NOTFOUND;
}

int
store_user_alias_add(struct store *s, int64_t user_id, int64_t domain_id,
    const char *local, const char *local_key)
{
	return store_rc(db_exec(s->db,
	    "INSERT INTO user_name (domain_id, local_key, local, user_id,"
	    " is_alias) VALUES (?, ?, ?, ?, 1)",
	    "issi", domain_id, local_key, local, user_id));
}

int
store_user_alias_remove(struct store *s, int64_t user_id, const char *local_key)
{
	if (db_exec(s->db,
		"DELETE FROM user_name WHERE user_id = ? AND local_key = ?"
		" AND is_alias = 1",
		"is", user_id, local_key) != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_NOTFOUND;
}

/*
 * A block or unblock takes the next number of the "block" sequence in
 * the same transaction: every node polls for numbers after the last it
 * saw (store_blocks_since), so a change made anywhere reaches them all.
 */
static int
store_block_set(struct store *s, int64_t user_id, const char *reason,
    int64_t now, int only_unblocked)
{
	int64_t seq;
	int rc;

	if (db_begin(s->db) == -1)
		return STORE_FAIL;
	if ((seq = store_seq_next(s, "block")) < 0)
		goto fail;
	if (reason)
		rc = db_exec(s->db,
		    "UPDATE account SET blocked_reason = ?, blocked_at = ?,"
		    " block_seq = ? WHERE id = ? AND (? = 0 OR"
		    " blocked_reason IS NULL)",
		    "siiii", reason, now, seq, user_id,
		    (int64_t)only_unblocked);
	else
		rc = db_exec(s->db,
		    "UPDATE account SET blocked_reason = NULL, blocked_at = NULL,"
		    " block_seq = ? WHERE id = ?",
		    "ii", seq, user_id);
	if (rc != DB_DONE)
		goto fail;
	rc = (int)db_changes(s->db);
	if (db_commit(s->db) == -1)
		goto fail;
	return rc;
fail:
	db_rollback(s->db);
	return STORE_FAIL;
}

int
store_user_block(struct store *s, int64_t user_id, const char *reason,
    int64_t now)
{
	return store_block_set(s, user_id, reason, now, 0) < 0 ? STORE_FAIL : 0;
}

int
store_user_unblock(struct store *s, int64_t user_id)
{
	return store_block_set(s, user_id, NULL, 0, 0) < 0 ? STORE_FAIL : 0;
}

/* login password */

int
store_login_password_set(struct store *s, int64_t user_id, const char *hash,
    int64_t now)
{
	return store_rc(db_exec(s->db,
	    "INSERT INTO login_password (user_id, hash, updated) VALUES (?, ?, ?)"
	    " ON CONFLICT (user_id) DO UPDATE SET hash = excluded.hash,"
	    " updated = excluded.updated",
	    "isi", user_id, hash, now));
}

int
store_login_password_get(struct store *s, int64_t user_id, char *hash,
    size_t len)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT hash FROM login_password WHERE user_id = ?", "i", user_id);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW)
		str_lcpy(hash, db_text(st, 0), len);
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_user_by_id(struct store *s, int64_t id, struct store_user *u)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT a.id, a.domain_id, a.local, d.name, a.blocked_reason"
	    " FROM account a JOIN domain d ON d.id = a.domain_id"
	    " WHERE a.id = ?",
	    "i", id);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW)
		store_user_row(st, 0, u);
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

/* TOTP, the panel's second factor: one row per user, pending until the
 * first code confirms it; last_step makes every code single use. */

int
store_totp_begin(struct store *s, int64_t user_id, const char *sealed,
    int64_t now)
{
	/* a pending enrolment is replaced; an enabled one is kept */
	if (db_exec(s->db,
		"INSERT INTO totp (user_id, sealed, enabled, last_step, created)"
		" VALUES (?, ?, NULL, -1, ?) ON CONFLICT (user_id) DO UPDATE"
		" SET sealed = excluded.sealed, created = excluded.created,"
		" last_step = -1 WHERE totp.enabled IS NULL",
		"isi", user_id, sealed, now) != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_EXISTS;
}

int
store_totp_get(struct store *s, int64_t user_id, char *sealed, size_t slen,
    int64_t *enabled, int64_t *last_step)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT sealed, enabled, last_step FROM totp WHERE user_id = ?",
	    "i", user_id);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		if (sealed != NULL)
			str_lcpy(sealed, db_text(st, 0), slen);
		*enabled = db_is_null(st, 1) ? 0 : db_int(st, 1);
		*last_step = db_int(st, 2);
	}
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_totp_use_step(struct store *s, int64_t user_id, int64_t step)
{
	/* one statement: two requests with the same code cannot both win */
	if (db_exec(s->db,
		"UPDATE totp SET last_step = ? WHERE user_id = ?"
		" AND last_step < ?",
		"iii", step, user_id, step) != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_NOTFOUND;
}

int
store_totp_enable(struct store *s, int64_t user_id, int64_t now,
    const char *const *hashes, int n)
{
	int i;

	if (db_begin(s->db) == -1)
		return STORE_FAIL;
	if (db_exec(s->db,
		"UPDATE totp SET enabled = ? WHERE user_id = ?"
		" AND enabled IS NULL",
		"ii", now, user_id) != DB_DONE)
		goto fail;
	if (db_changes(s->db) != 1) {
		db_rollback(s->db);
		return STORE_NOTFOUND;
	}
	if (db_exec(s->db, "DELETE FROM totp_recovery WHERE user_id = ?", "i",
		user_id) != DB_DONE)
		goto fail;
	for (i = 0; i < n; i++)
		if (db_exec(s->db,
			"INSERT INTO totp_recovery (user_id, hash) VALUES (?, ?)",
			"is", user_id, hashes[i]) != DB_DONE)
			goto fail;
	if (db_commit(s->db) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(s->db);
	return STORE_FAIL;
}

int
store_totp_remove(struct store *s, int64_t user_id)
{
	if (db_exec(s->db, "DELETE FROM totp_recovery WHERE user_id = ?", "i",
		user_id) != DB_DONE ||
	    db_exec(s->db, "DELETE FROM totp WHERE user_id = ?", "i",
		user_id) != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_NOTFOUND;
}

/*
 * Rows of (id, hash): the id of the first row whose hash matches, 0 if
 * none. Every row is checked, so the time does not tell which matched.
 */
static int64_t
store_match_rows(struct db_stmt *st, int (*match)(const char *hash, void *),
    void *arg)
{
	int64_t found = 0;

	while (db_step(st) == DB_ROW)
		if (match(db_text(st, 1), arg) && found == 0)
			found = db_int(st, 0);
	db_done(st);
	return found;
}

int
store_totp_recovery_use(struct store *s, int64_t user_id,
    int (*match)(const char *hash, void *), void *arg, int64_t now)
{
	struct db_stmt *st;
	int64_t found;

	st = db_query(s->db,
	    "SELECT id, hash FROM totp_recovery WHERE user_id = ?"
	    " AND used IS NULL",
	    "i", user_id);
	if (st == NULL)
		return STORE_FAIL;
	if ((found = store_match_rows(st, match, arg)) == 0)
		return 0;
	if (db_exec(s->db,
		"UPDATE totp_recovery SET used = ? WHERE id = ? AND used IS NULL",
		"ii", now, found) != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 1 : 0;
}

int64_t
store_totp_recovery_left(struct store *s, int64_t user_id)
{
	return db_scalar(s->db,
	    "SELECT count(*) FROM totp_recovery WHERE user_id = ?"
	    " AND used IS NULL",
	    "i", user_id);
}

/* Sign-in tickets: a password was right, the TOTP code is still due. */

int
store_ticket_add(struct store *s, const char *hash, int64_t user_id,
    const char *ip, int64_t now, int64_t expires)
{
	db_exec(s->db, "DELETE FROM login_ticket WHERE expires <= ?", "i", now);
	return store_rc(db_exec(s->db,
	    "INSERT INTO login_ticket (hash, user_id, ip, expires, tries)"
	    " VALUES (?, ?, ?, ?, 0)",
	    "sisi", hash, user_id, ip, expires));
}

int
store_ticket_get(struct store *s, const char *hash, int64_t now,
    int64_t *user_id, int64_t *tries)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT user_id, tries FROM login_ticket WHERE hash = ?"
	    " AND expires > ?",
	    "si", hash, now);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		*user_id = db_int(st, 0);
		*tries = db_int(st, 1);
	}
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_ticket_fail(struct store *s, const char *hash)
{
	return store_rc(db_exec(s->db,
	    "UPDATE login_ticket SET tries = tries + 1 WHERE hash = ?", "s",
	    hash));
}

int
store_ticket_remove(struct store *s, const char *hash)
{
	if (db_exec(s->db, "DELETE FROM login_ticket WHERE hash = ?", "s",
		hash) != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_NOTFOUND;
}

/* Password links ("create a local password", "forgot password"). */

int
store_pwlink_ask(struct store *s, const char *ip, int64_t user_id, int64_t now,
    int64_t since, int64_t *by_ip, int64_t *by_user)
{
	/* older asks no longer count for anything */
	if (db_exec(s->db, "DELETE FROM password_ask WHERE time < ?", "i",
		since) != DB_DONE ||
	    db_exec(s->db,
		"INSERT INTO password_ask (ip, user_id, time) VALUES (?, ?, ?)",
		"sIi", ip, user_id, now) != DB_DONE)
		return STORE_FAIL;
	*by_ip = db_scalar(s->db,
	    "SELECT count(*) FROM password_ask WHERE ip = ? AND time >= ?",
	    "si", ip, since);
	*by_user = user_id == 0 ? 0
				: db_scalar(s->db,
				      "SELECT count(*) FROM password_ask"
				      " WHERE user_id = ? AND time >= ?",
				      "ii", user_id, since);
	return *by_ip < 0 || *by_user < 0 ? STORE_FAIL : 0;
}

int
store_pwlink_add(struct store *s, const char *hash, int64_t user_id,
    const char *purpose, const char *ip, int64_t now, int64_t expires)
{
	db_exec(s->db, "DELETE FROM password_link WHERE expires <= ?", "i",
	    now);
	return store_rc(db_exec(s->db,
	    "INSERT INTO password_link (hash, user_id, purpose, ip, created,"
	    " expires) VALUES (?, ?, ?, ?, ?, ?)",
	    "sissii", hash, user_id, purpose, ip, now, expires));
}

int
store_pwlink_get(struct store *s, const char *hash, int64_t now,
    int64_t *user_id)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT user_id FROM password_link WHERE hash = ?"
	    " AND used IS NULL AND expires > ?",
	    "si", hash, now);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW)
		*user_id = db_int(st, 0);
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

static int store_password_swap(struct store *, int64_t, const char *, int64_t);

int
store_pwlink_use(struct store *s, const char *hash, int64_t user_id,
    const char *pwhash, int64_t now)
{
	if (db_begin(s->db) == -1)
		return STORE_FAIL;
	/* single use: only the request that marks it used sets a password */
	if (db_exec(s->db,
		"UPDATE password_link SET used = ? WHERE hash = ?"
		" AND user_id = ? AND used IS NULL AND expires > ?",
		"isii", now, hash, user_id, now) != DB_DONE)
		goto fail;
	if (db_changes(s->db) != 1) {
		db_rollback(s->db);
		return STORE_NOTFOUND;
	}
	/* the other links and every panel session of the account end */
	if (store_password_swap(s, user_id, pwhash, now) != 0)
		goto fail;
	if (db_commit(s->db) == -1)
		goto fail;
	return 0;
fail:
	db_rollback(s->db);
	return STORE_FAIL;
}

/* SMTP credentials */

int
store_smtp_set(struct store *s, int64_t user_id, int64_t domain_id,
    const char *hash, const char *sealed, int64_t now)
{
	int rc;

	/* one row per owner: replacing it is what makes the old one stop */
	if (db_begin(s->db) == -1)
		return STORE_FAIL;
	rc = db_exec(s->db,
	    "DELETE FROM smtp_credential WHERE user_id = ? OR domain_id = ?",
	    "II", user_id, domain_id);
	if (rc == DB_DONE)
		rc = db_exec(s->db,
		    "INSERT INTO smtp_credential (user_id, domain_id, hash,"
		    " sealed, created) VALUES (?, ?, ?, ?, ?)",
		    "IIssi", user_id, domain_id, hash, sealed, now);
	if (rc != DB_DONE) {
		db_rollback(s->db);
		return store_rc(rc);
	}
	return db_commit(s->db) == 0 ? 0 : STORE_FAIL;
}

int
store_smtp_get(struct store *s, int64_t user_id, int64_t domain_id, char *hash,
    size_t hlen, char *sealed, size_t slen, int64_t *created)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT hash, sealed, created FROM smtp_credential"
	    " WHERE user_id = ? OR domain_id = ?",
	    "II", user_id, domain_id);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		if (hash)
			str_lcpy(hash, db_text(st, 0), hlen);
		if (sealed)
			str_lcpy(sealed, db_text(st, 1), slen);
		if (created)
			*created = db_int(st, 2);
	}
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

/* app passwords */

int
store_app_add(struct store *s, int64_t user_id, const char *label,
    const char *hash, int64_t now)
{
	return store_rc(db_exec(s->db,
	    "INSERT INTO app_password (user_id, label, hash, created)"
	    " VALUES (?, ?, ?, ?)",
	    "issi", user_id, label, hash, now));
}

int
store_app_revoke(struct store *s, int64_t user_id, const char *label,
    int64_t now)
{
	if (db_exec(s->db,
		"UPDATE app_password SET revoked = ? WHERE user_id = ?"
		" AND label = ? AND revoked IS NULL",
		"iis", now, user_id, label) != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_NOTFOUND;
}

int
store_app_match_id(struct store *s, int64_t user_id,
    int (*match)(const char *hash, void *), void *arg, int64_t *app_id)
{
	struct db_stmt *st;
	int64_t found;

	st = db_query(s->db,
	    "SELECT id, hash FROM app_password WHERE user_id = ?"
	    " AND revoked IS NULL",
	    "i", user_id);
	if (st == NULL)
		return STORE_FAIL;
	if ((found = store_match_rows(st, match, arg)) == 0)
		return 0;
	*app_id = found;
	return 1;
}

int
store_app_used(struct store *s, int64_t app_id, int64_t now)
{
	return store_rc(
	    db_exec(s->db, "UPDATE app_password SET last_used = ? WHERE id = ?",
		"ii", now, app_id));
}

/* OAuth bearer tokens */

int
store_token_add(struct store *s, const char *id, int64_t user_id,
    const char *hash, const char *scope, int64_t now, int64_t expires)
{
	return store_rc(db_exec(s->db,
	    "INSERT INTO oauth_token (id, user_id, hash, scope, created,"
	    " expires) VALUES (?, ?, ?, ?, ?, ?)",
	    "sissii", id, user_id, hash, scope, now, expires));
}

int
store_token_revoke(struct store *s, const char *id, int64_t now)
{
	if (db_exec(s->db,
		"UPDATE oauth_token SET revoked = ? WHERE id = ?"
		" AND revoked IS NULL",
		"is", now, id) != DB_DONE)
		return STORE_FAIL;
	if (db_changes(s->db) == 1)
		return 0;
	return db_scalar(s->db, "SELECT 1 FROM oauth_token WHERE id = ?", "s",
		   id) == 1
		   ? STORE_EXISTS /* already revoked */
		   : STORE_NOTFOUND;
}

int
store_token_find(struct store *s, const char *id, int64_t *user_id, char *hash,
    size_t hlen, char *scope, size_t slen, int64_t *expires, int *revoked)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT user_id, hash, scope, expires, revoked FROM oauth_token"
	    " WHERE id = ?",
	    "s", id);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		*user_id = db_int(st, 0);
		str_lcpy(hash, db_text(st, 1), hlen);
		str_lcpy(scope, db_text(st, 2), slen);
		*expires = db_int(st, 3);
		*revoked = !db_is_null(st, 4);
	}
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

/* terms of service */

int
store_tos_add(struct store *s, const char *text, int64_t now, int64_t *version)
{
	*version = db_scalar(s->db,
	    "INSERT INTO tos_version (version, body, created)"
	    " SELECT coalesce(max(version), 0) + 1, ?, ? FROM tos_version"
	    " RETURNING version",
	    "si", text, now);
	return *version > 0 ? 0 : STORE_FAIL;
}

int64_t
store_tos_current(struct store *s, char **text)
{
	struct db_stmt *st;
	int64_t v = 0;

	st = db_query(s->db,
	    "SELECT version, body FROM tos_version ORDER BY version DESC"
	    " LIMIT 1",
	    NULL);
	if (st == NULL)
		return -1;
	if (db_step(st) == DB_ROW) {
		v = db_int(st, 0);
		if (text)
			*text = strdup(db_text(st, 1));
	}
	db_done(st);
	return v;
}

int
store_tos_accept(struct store *s, int64_t user_id, int64_t version, int64_t now,
    const char *ip)
{
	return store_rc(db_exec(s->db,
	    "INSERT INTO tos_acceptance (user_id, version, accepted, ip)"
	    " VALUES (?, ?, ?, ?)",
	    "iiis", user_id, version, now, ip));
}

int
store_tos_accepted(struct store *s, int64_t user_id, int64_t version)
{
	return db_scalar(s->db,
		   "SELECT 1 FROM tos_acceptance WHERE user_id = ? AND version = ?",
		   "ii", user_id, version) == 1;
}

/* relay networks */

int
store_relay_add(struct store *s, int64_t domain_id, const char *cidr,
    int64_t now)
{
	return store_rc(db_exec(s->db,
	    "INSERT INTO relay_net (domain_id, cidr, created) VALUES (?, ?, ?)",
	    "isi", domain_id, cidr, now));
}

int
store_relay_remove(struct store *s, int64_t domain_id, const char *cidr)
{
	if (db_exec(s->db,
		"DELETE FROM relay_net WHERE domain_id = ? AND cidr = ?", "is",
		domain_id, cidr) != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_NOTFOUND;
}

/* DKIM keys */

int
store_domain_dkim_mode(struct store *s, int64_t domain_id, char *mode,
    size_t len)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db, "SELECT dkim FROM domain WHERE id = ?", "i",
	    domain_id);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW)
		str_lcpy(mode, db_text(st, 0), len);
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_domain_set_dkim_mode(struct store *s, int64_t domain_id, const char *mode)
{
	return store_rc(db_exec(s->db,
	    "UPDATE domain SET dkim = ? WHERE id = ?", "si", mode, domain_id));
}

int
store_dkim_add(struct store *s, const char *name, const char *selector,
    const char *alg, const char *path, int64_t now)
{
	return store_rc(db_exec(s->db,
	    "INSERT INTO dkim_key (name, selector, alg, path, created)"
	    " VALUES (?, ?, ?, ?, ?)",
	    "ssssi", name, selector, alg, path, now));
}

int
store_dkim_retire(struct store *s, const char *name, int64_t now, int64_t until)
{
	return store_rc(db_exec(s->db,
	    "UPDATE dkim_key SET retired = ?, publish_until = ?"
	    " WHERE name = ? AND retired IS NULL",
	    "iis", now, until, name));
}

/* quotas */

int
store_quota_set(struct store *s, int64_t user_id, int64_t domain_id,
    const int64_t q[STORE_QUOTA_N])
{
	/* -1 binds NULL: "not set here, inherit" */
	if (user_id)
		return store_rc(db_exec(s->db,
		    "UPDATE account SET q_msgs_hour = ?, q_msgs_day = ?,"
		    " q_rcpts_day = ?, q_rcpts_msg = ? WHERE id = ?",
		    "QQQQi", q[0], q[1], q[2], q[3], user_id));
	return store_rc(db_exec(s->db,
	    "UPDATE domain SET q_msgs_hour = ?, q_msgs_day = ?,"
	    " q_rcpts_day = ?, q_rcpts_msg = ? WHERE id = ?",
	    "QQQQi", q[0], q[1], q[2], q[3], domain_id));
}

int
store_quota_get(struct store *s, int64_t user_id, int64_t domain_id,
    int64_t q[STORE_QUOTA_N])
{
	struct db_stmt *st;
	int rc, i;

	if (user_id)
		st = db_query(s->db,
		    "SELECT q_msgs_hour, q_msgs_day, q_rcpts_day, q_rcpts_msg"
		    " FROM account WHERE id = ?",
		    "i", user_id);
	else
		st = db_query(s->db,
		    "SELECT q_msgs_hour, q_msgs_day, q_rcpts_day, q_rcpts_msg"
		    " FROM domain WHERE id = ?",
		    "i", domain_id);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW)
		for (i = 0; i < STORE_QUOTA_N; i++)
			q[i] = db_is_null(st, i) ? -1 : db_int(st, i);
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_quota_self_set(struct store *s, int64_t domain_id,
    const int64_t q[STORE_QUOTA_N])
{
	return store_rc(db_exec(s->db,
	    "UPDATE domain SET qs_msgs_hour = ?, qs_msgs_day = ?,"
	    " qs_rcpts_day = ?, qs_rcpts_msg = ? WHERE id = ?",
	    "QQQQi", q[0], q[1], q[2], q[3], domain_id));
}

static int
store_quota_row(struct db_stmt *st, int64_t q[STORE_QUOTA_N], int *blocked)
{
	int rc, i;

	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		for (i = 0; i < STORE_QUOTA_N; i++)
			q[i] = db_is_null(st, i) ? -1 : db_int(st, i);
		if (blocked)
			*blocked = db_int(st, STORE_QUOTA_N) != 0;
	}
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_quota_self_get(struct store *s, int64_t domain_id,
    int64_t q[STORE_QUOTA_N])
{
	return store_quota_row(db_query(s->db,
				   "SELECT qs_msgs_hour, qs_msgs_day,"
				   " qs_rcpts_day, qs_rcpts_msg, 0"
				   " FROM domain WHERE id = ?",
				   "i", domain_id),
	    q, NULL);
}

int
store_quota_resolve(struct store *s, int64_t user_id, int64_t domain_id,
    int64_t q[STORE_QUOTA_N], int *blocked)
{
	*blocked = 0;
	if (user_id == 0)
		return store_quota_self_get(s, domain_id, q);
	return store_quota_row(
	    db_query(s->db,
		"SELECT coalesce(a.q_msgs_hour, d.q_msgs_hour),"
		" coalesce(a.q_msgs_day, d.q_msgs_day),"
		" coalesce(a.q_rcpts_day, d.q_rcpts_day),"
		" coalesce(a.q_rcpts_msg, d.q_rcpts_msg),"
		" a.blocked_reason IS NOT NULL"
		" FROM account a JOIN domain d"
		" ON d.id = a.domain_id WHERE a.id = ?",
		"i", user_id),
	    q, blocked);
}

/* quota usage */

/*
 * Only for an owner that still exists: a user or domain removed since
 * its usage was counted is not written (a foreign key would fail the
 * whole batch) and STORE_NOTFOUND says so, for the engine to forget it.
 */
int
store_usage_put(struct store *s, int64_t user_id, int64_t domain_id,
    const char *counter, int64_t window, int64_t n)
{
	int rc;

	if (user_id)
		rc = db_exec(s->db,
		    "INSERT INTO quota_usage (user_id, counter, \"window\", n)"
		    " SELECT ?, ?, ?, ? WHERE EXISTS"
		    " (SELECT 1 FROM account WHERE id = ?)"
		    " ON CONFLICT (user_id, counter)"
		    " WHERE user_id IS NOT NULL DO UPDATE SET"
		    " \"window\" = excluded.\"window\", n = excluded.n",
		    "isiii", user_id, counter, window, n, user_id);
	else
		rc = db_exec(s->db,
		    "INSERT INTO quota_usage (domain_id, counter, \"window\", n)"
		    " SELECT ?, ?, ?, ? WHERE EXISTS"
		    " (SELECT 1 FROM domain WHERE id = ?)"
		    " ON CONFLICT (domain_id, counter)"
		    " WHERE domain_id IS NOT NULL DO UPDATE SET"
		    " \"window\" = excluded.\"window\", n = excluded.n",
		    "isiii", domain_id, counter, window, n, domain_id);
	if (rc != DB_DONE)
		return store_rc(rc);
	return db_changes(s->db) == 0 ? STORE_NOTFOUND : 0;
}

int
store_usage_reset(struct store *s, int64_t user_id, int64_t domain_id)
{
	int rc = db_exec(s->db,
	    "DELETE FROM quota_usage WHERE user_id = ? OR domain_id = ?", "II",
	    user_id, domain_id);

	/* and the login addresses of the hour, counted by every node */
	if (rc == DB_DONE && user_id)
		rc = db_exec(s->db, "DELETE FROM login_ip WHERE user_id = ?",
		    "i", user_id);
	return store_rc(rc);
}

int
store_user_autoblock(struct store *s, int64_t user_id, const char *reason,
    int64_t now)
{
	/* one UPDATE that only an unblocked row matches: one winner */
	int rc = store_block_set(s, user_id, reason, now, 1);

	return rc < 0 ? STORE_FAIL : rc == 1;
}

/* authentication events */

int
store_auth_log(struct store *s, const struct store_auth_event *e)
{
	/* in the server, the batch writer (authlog.c) takes it */
	return authlog_queue(e) == 0 ? 0 : store_auth_insert(s, e);
}

int
store_auth_insert(struct store *s, const struct store_auth_event *e)
{
	/* Without the batch writer, every AUTH writes here, from every
	 * worker: queued on a mutex the writers hand over at once, where
	 * SQLite's busy handler would sleep for milliseconds. It holds no
	 * other lock while it waits. */
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	int rc;

	pthread_mutex_lock(&mu);
	rc = store_rc(db_exec(s->db,
	    "INSERT INTO auth_event (time, login, ip, mech, kind, outcome,"
	    " reason, node) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	    "isssss"
	    "ss",
	    e->time, e->login, e->ip, e->mech, e->kind, e->outcome, e->reason,
	    e->node ? e->node : conf_node_name(conf_current())));
	pthread_mutex_unlock(&mu);
	return rc;
}

int
store_auth_prune(struct store *s, int64_t before)
{
	return store_rc(db_exec(s->db, "DELETE FROM auth_event WHERE time < ?",
	    "i", before));
}

int
store_apikey_add(struct store *s, const char *name, const char *hash,
    int64_t now)
{
	return store_rc(db_exec(s->db,
	    "INSERT INTO api_key (name, hash, created) VALUES (?, ?, ?)", "ssi",
	    name, hash, now));
}

int
store_apikey_revoke(struct store *s, const char *name, int64_t now)
{
	if (db_exec(s->db,
		"UPDATE api_key SET revoked = ? WHERE name = ?"
		" AND revoked IS NULL",
		"is", now, name) != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_NOTFOUND;
}

int
store_apikey_find(struct store *s, const char *hash, char *name, size_t len,
    int64_t now)
{
	struct db_stmt *st;
	int64_t id = 0;
	int rc;

	st = db_query(s->db,
	    "SELECT id, name FROM api_key WHERE hash = ? AND revoked IS NULL",
	    "s", hash);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		id = db_int(st, 0);
		str_lcpy(name, db_text(st, 1), len);
	}
	db_done(st);
	if (rc != DB_ROW)
		return rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
	/* once a minute is enough to say whether a key is still in use */
	db_exec(s->db,
	    "UPDATE api_key SET last_used = ? WHERE id = ?"
	    " AND (last_used IS NULL OR last_used < ?)",
	    "iii", now, id, now - 60);
	return 0;
}

int
store_session_add(struct store *s, const char *hash, int64_t user_id,
    int64_t now, const char *ip)
{
	return store_rc(db_exec(s->db,
	    "INSERT INTO panel_session (hash, user_id, created, last_seen, ip)"
	    " VALUES (?, ?, ?, ?, ?)",
	    "siiis", hash, user_id, now, now, ip));
}

int
store_session_use(struct store *s, const char *hash, int64_t idle_before,
    int64_t now, struct store_user *u)
{
	struct db_stmt *st;
	int64_t id = 0, seen = 0;
	int rc;

	st = db_query(s->db,
	    "SELECT p.id, p.last_seen, a.id, a.domain_id, a.local, d.name,"
	    " a.blocked_reason FROM panel_session p"
	    " JOIN account a ON a.id = p.user_id"
	    " JOIN domain d ON d.id = a.domain_id WHERE p.hash = ?",
	    "s", hash);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		id = db_int(st, 0);
		seen = db_int(st, 1);
		store_user_row(st, 2, u);
	}
	db_done(st);
	if (rc != DB_ROW)
		return rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
	if (seen < idle_before) {
		db_exec(s->db, "DELETE FROM panel_session WHERE id = ?", "i",
		    id);
		return STORE_NOTFOUND;
	}
	if (db_exec(s->db,
		"UPDATE panel_session SET last_seen = ? WHERE id = ?", "ii",
		now, id) != DB_DONE)
		return STORE_FAIL;
	return 0;
}

int
store_session_remove(struct store *s, const char *hash)
{
	if (db_exec(s->db, "DELETE FROM panel_session WHERE hash = ?", "s",
		hash) != DB_DONE)
		return STORE_FAIL;
	return db_changes(s->db) == 1 ? 0 : STORE_NOTFOUND;
}

int
store_session_prune(struct store *s, int64_t idle_before)
{
	return store_rc(db_exec(s->db,
	    "DELETE FROM panel_session WHERE last_seen < ?", "i", idle_before));
}

/* ------------------------------------------------------------------ */
/* credentials as a session holds them */

int
store_cred_live(struct store *s, const char *kind, int64_t owner,
    const char *ref, int64_t now)
{
	struct db_stmt *st;
	int rc;

	if (strcmp(kind, STORE_CRED_SMTP) == 0)
		st = db_query(s->db,
		    "SELECT 1 FROM smtp_credential WHERE user_id = ?"
		    " AND hash = ?",
		    "is", owner, ref);
	else if (strcmp(kind, STORE_CRED_DOMAIN) == 0)
		st = db_query(s->db,
		    "SELECT 1 FROM smtp_credential WHERE domain_id = ?"
		    " AND hash = ?",
		    "is", owner, ref);
	else if (strcmp(kind, STORE_CRED_APP) == 0)
		st = db_query(s->db,
		    "SELECT 1 FROM app_password WHERE user_id = ?"
		    " AND id = ? AND revoked IS NULL",
		    "ii", owner, str_uint(ref));
	else if (strcmp(kind, STORE_CRED_TOKEN) == 0)
		st = db_query(s->db,
		    "SELECT 1 FROM oauth_token WHERE user_id = ?"
		    " AND id = ? AND revoked IS NULL AND expires > ?",
		    "isi", owner, ref, now);
	else
		return 0;
	if (st == NULL)
		return STORE_FAIL;
	rc = db_step(st);
	db_done(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : STORE_FAIL;
}

/* Inside a transaction: the new login password, the old one's links and
 * panel sessions ended. */
static int
store_password_swap(struct store *s, int64_t user_id, const char *hash,
    int64_t now)
{
	if (db_exec(s->db,
		"UPDATE password_link SET used = ? WHERE user_id = ?"
		" AND used IS NULL",
		"ii", now, user_id) != DB_DONE ||
	    db_exec(s->db, "DELETE FROM panel_session WHERE user_id = ?", "i",
		user_id) != DB_DONE ||
	    db_exec(s->db,
		"INSERT INTO login_password (user_id, hash, updated)"
		" VALUES (?, ?, ?) ON CONFLICT (user_id) DO UPDATE"
		" SET hash = excluded.hash, updated = excluded.updated",
		"isi", user_id, hash, now) != DB_DONE)
		return STORE_FAIL;
	return 0;
}

int
store_login_password_replace(struct store *s, int64_t user_id, const char *hash,
    int64_t now)
{
	if (db_begin(s->db) == -1)
		return STORE_FAIL;
	if (store_password_swap(s, user_id, hash, now) != 0) {
		db_rollback(s->db);
		return STORE_FAIL;
	}
	return db_commit(s->db) == -1 ? STORE_FAIL : 0;
}
