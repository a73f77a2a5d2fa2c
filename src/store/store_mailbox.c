/*
 * store_mailbox: mailbox quotas and the usage Dovecot reports. The limit
 * is postern's (`user quota --mailbox`), enforced by Dovecot's quota
 * plugin, which learns it and reports usage through dovecot/dict.c. The
 * usage row is Dovecot's count, kept here only to be shown: a row that
 * is missing makes Dovecot count the mailbox again and set it.
 */
#include <stdint.h>

#include "store.h"
#include "store_impl.h"

static int64_t
nonneg(int64_t v)
{
	return v > 0 ? v : 0;
}

static int
store_mb_rc(int rc)
{
	if (rc == DB_DONE || rc == DB_ROW)
		return 0;
	return rc == DB_CONSTRAINT ? STORE_EXISTS : STORE_FAIL;
}

int
store_mailbox_quota_set(struct store *s, int64_t user_id, int64_t domain_id,
    int64_t bytes)
{
	int rc;

	/* -1 binds NULL: a user inherits the domain's default */
	if (user_id)
		rc = db_exec(s->db,
		    "UPDATE account SET mailbox_quota = ? WHERE id = ?", "Qi",
		    bytes, user_id);
	else
		rc = db_exec(s->db,
		    "UPDATE domain SET mailbox_quota = ? WHERE id = ?", "Qi",
		    bytes, domain_id);
	if (rc == DB_DONE && db_changes(s->db) == 0)
		return STORE_NOTFOUND;
	return store_mb_rc(rc);
}

int
store_mailbox_quota_get(struct store *s, int64_t user_id, int64_t domain_id,
    int64_t *bytes)
{
	struct db_stmt *st;
	int rc;

	if (user_id)
		st = db_query(s->db,
		    "SELECT mailbox_quota FROM account WHERE id = ?", "i",
		    user_id);
	else
		st = db_query(s->db,
		    "SELECT mailbox_quota FROM domain WHERE id = ?", "i",
		    domain_id);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW)
		*bytes = db_is_null(st, 0) ? -1 : db_int(st, 0);
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_mailbox_quota_resolve(struct store *s, int64_t user_id, int64_t *bytes)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT COALESCE(a.mailbox_quota, d.mailbox_quota, 0)"
	    " FROM account a JOIN domain d ON d.id = a.domain_id"
	    " WHERE a.id = ?",
	    "i", user_id);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW)
		*bytes = db_int(st, 0) > 0 ? db_int(st, 0) : 0;
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_mailbox_usage_get(struct store *s, int64_t user_id, int64_t *bytes,
    int64_t *messages)
{
	struct db_stmt *st;
	int rc;

	st = db_query(s->db,
	    "SELECT bytes, messages FROM mailbox_usage WHERE user_id = ?", "i",
	    user_id);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		*bytes = db_int(st, 0);
		*messages = db_int(st, 1);
	}
	db_done(st);
	return rc == DB_ROW ? 0 : rc == DB_DONE ? STORE_NOTFOUND : STORE_FAIL;
}

int
store_mailbox_usage_write(struct store *s, int64_t user_id,
    const struct store_mailbox_change *c, int64_t now)
{
	int rc;

	if (c->unset && !c->set_bytes && !c->set_messages)
		return store_mb_rc(db_exec(s->db,
		    "DELETE FROM mailbox_usage WHERE user_id = ?", "i",
		    user_id));
	if (c->set_bytes || c->set_messages) {
		/* a count from Dovecot: what it set, plus what it added in
		 * the same transaction; a value it did not set is kept */
		/* no two-argument max(): SQL both backends read */
		rc = db_exec(s->db,
		    "INSERT INTO mailbox_usage (user_id, bytes, messages,"
		    " updated) VALUES (?, ?, ?, ?)"
		    " ON CONFLICT (user_id) DO UPDATE SET"
		    " bytes = CASE WHEN ? <> 0 THEN excluded.bytes"
		    "  WHEN mailbox_usage.bytes + ? > 0"
		    "  THEN mailbox_usage.bytes + ? ELSE 0 END,"
		    " messages = CASE WHEN ? <> 0 THEN excluded.messages"
		    "  WHEN mailbox_usage.messages + ? > 0"
		    "  THEN mailbox_usage.messages + ? ELSE 0 END,"
		    " updated = excluded.updated",
		    "iiiiiiiiii", user_id, nonneg(c->bytes + c->add_bytes),
		    nonneg(c->messages + c->add_messages), now,
		    (int64_t)c->set_bytes, c->add_bytes, c->add_bytes,
		    (int64_t)c->set_messages, c->add_messages, c->add_messages);
		if (rc == DB_CONSTRAINT)
			return STORE_NOTFOUND; /* the user is gone */
		return store_mb_rc(rc);
	}
	rc = db_exec(s->db,
	    "UPDATE mailbox_usage SET bytes = CASE WHEN bytes + ? > 0"
	    " THEN bytes + ? ELSE 0 END, messages = CASE WHEN messages + ? > 0"
	    " THEN messages + ? ELSE 0 END, updated = ? WHERE user_id = ?",
	    "iiiiii", c->add_bytes, c->add_bytes, c->add_messages,
	    c->add_messages, now, user_id);
	if (rc == DB_DONE && db_changes(s->db) == 0)
		return STORE_NOTFOUND; /* never counted: Dovecot counts */
	return store_mb_rc(rc);
}
