/*
 * store_nodes: what several postern nodes on one store share beyond the
 * accounts: the numbers of the changes they poll for (sync_seq), quota
 * usage added to by every node (one atomic upsert per counter), failed
 * logins counted together, and each node's queue as it publishes it.
 * Portable SQL only (CASE rather than max(a, b), which PostgreSQL spells
 * GREATEST); the reads of many rows are in store_list.c.
 */
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_impl.h"

static int
store_nodes_rc(int rc)
{
	if (rc == DB_DONE || rc == DB_ROW)
		return 0;
	return rc == DB_CONSTRAINT ? STORE_EXISTS : STORE_FAIL;
}

/*
 * The UPDATE holds the row's lock until the caller's transaction ends,
 * so a second writer waits and takes the number after: numbers are
 * committed in the order they are taken, and a reader that saw n has
 * seen every change numbered n or less.
 */
int64_t
store_seq_next(struct store *s, const char *name)
{
	return db_scalar(s->db,
	    "UPDATE sync_seq SET n = n + 1 WHERE name = ? RETURNING n", "s",
	    name);
}

static int
store_usage_row(struct db_stmt *st, int64_t *total, int64_t *twindow)
{
	int rc;

	if (st == NULL)
		return STORE_FAIL;
	rc = db_step(st);
	if (rc == DB_ROW) {
		*twindow = db_int(st, 0);
		*total = db_int(st, 1);
	}
	db_done(st);
	if (rc == DB_DONE) /* the owner is gone: nothing inserted */
		return STORE_NOTFOUND;
	return rc == DB_ROW ? 0 : store_nodes_rc(rc);
}

/*
 * One statement per counter, atomic in every backend: the nodes add
 * what they counted, never write what they think the total is, so two
 * nodes flushing at once both count. Only for an owner that exists (a
 * removed one would fail the batch's foreign key): no row comes back,
 * STORE_NOTFOUND.
 */
int
store_usage_add(struct store *s, int64_t user_id, int64_t domain_id,
    const char *counter, int64_t window, int64_t n, int64_t seq, int64_t *total,
    int64_t *twindow)
{
	if (user_id)
		return store_usage_row(
		    db_query(s->db,
			"INSERT INTO quota_usage (user_id, counter, \"window\","
			" n, seq) SELECT ?, ?, ?, ?, ? WHERE EXISTS"
			" (SELECT 1 FROM account WHERE id = ?)"
			" ON CONFLICT (user_id, counter)"
			" WHERE user_id IS NOT NULL DO UPDATE SET"
			" n = CASE"
			" WHEN quota_usage.\"window\" = excluded.\"window\""
			" THEN quota_usage.n + excluded.n"
			" WHEN quota_usage.\"window\" < excluded.\"window\""
			" THEN excluded.n ELSE quota_usage.n END,"
			" \"window\" = CASE"
			" WHEN quota_usage.\"window\" < excluded.\"window\""
			" THEN excluded.\"window\" ELSE quota_usage.\"window\""
			" END, seq = excluded.seq"
			" RETURNING \"window\", n",
			"isiiii", user_id, counter, window, n, seq, user_id),
		    total, twindow);
	return store_usage_row(
	    db_query(s->db,
		"INSERT INTO quota_usage (domain_id, counter, \"window\","
		" n, seq) SELECT ?, ?, ?, ?, ? WHERE EXISTS"
		" (SELECT 1 FROM domain WHERE id = ?)"
		" ON CONFLICT (domain_id, counter)"
		" WHERE domain_id IS NOT NULL DO UPDATE SET"
		" n = CASE"
		" WHEN quota_usage.\"window\" = excluded.\"window\""
		" THEN quota_usage.n + excluded.n"
		" WHEN quota_usage.\"window\" < excluded.\"window\""
		" THEN excluded.n ELSE quota_usage.n END,"
		" \"window\" = CASE"
		" WHEN quota_usage.\"window\" < excluded.\"window\""
		" THEN excluded.\"window\" ELSE quota_usage.\"window\""
		" END, seq = excluded.seq"
		" RETURNING \"window\", n",
		"isiiii", domain_id, counter, window, n, seq, domain_id),
	    total, twindow);
}

/*
 * Failures add up across nodes in one upsert; the refusal of an
 * address is a second UPDATE in the caller's transaction that only a
 * row still unrefused matches, so two nodes never refuse it twice.
 */
int
store_bf_add(struct store *s, int64_t tab, int64_t kind, const char *hash,
    const char *link, int64_t fails, int64_t last_fail, int64_t since,
    int64_t now, int64_t refuse_after, int64_t refuse_time, int64_t seq,
    struct store_bf_row *out)
{
	struct db_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	out->tab = tab;
	out->kind = kind;
	st = db_query(s->db,
	    "INSERT INTO bf_count (tab, kind, hash, fails, last_fail,"
	    " refused_until, link, seq) VALUES (?, ?, ?, ?, ?, 0, ?, ?)"
	    " ON CONFLICT (tab, kind, hash) DO UPDATE SET"
	    " fails = CASE WHEN bf_count.last_fail < ?"
	    " AND bf_count.refused_until <= ? THEN excluded.fails"
	    " ELSE bf_count.fails + excluded.fails END,"
	    " last_fail = CASE WHEN bf_count.last_fail > excluded.last_fail"
	    " THEN bf_count.last_fail ELSE excluded.last_fail END,"
	    " link = COALESCE(excluded.link, bf_count.link),"
	    " seq = excluded.seq"
	    " RETURNING fails, last_fail, refused_until",
	    "iisiisiii", tab, kind, hash, fails, last_fail, link, seq, since,
	    now);
	if (st == NULL)
		return STORE_FAIL;
	if ((rc = db_step(st)) == DB_ROW) {
		out->fails = db_int(st, 0);
		out->last_fail = db_int(st, 1);
		out->refused_until = db_int(st, 2);
	}
	db_done(st);
	if (rc != DB_ROW)
		return store_nodes_rc(rc);
	out->seq = seq;
	if (kind == 0 && refuse_after > 0 && out->fails >= refuse_after &&
	    out->refused_until <= now) {
		if (db_exec(s->db,
			"UPDATE bf_count SET refused_until = ?, fails = 0"
			" WHERE tab = ? AND kind = ? AND hash = ?"
			" AND refused_until <= ?",
			"iiisi", now + refuse_time, tab, kind, hash,
			now) != DB_DONE)
			return STORE_FAIL;
		out->refused_until = now + refuse_time;
		out->fails = 0;
	}
	return 0;
}

int
store_bf_prune(struct store *s, int64_t before, int64_t now)
{
	return store_nodes_rc(db_exec(s->db,
	    "DELETE FROM bf_count WHERE last_fail < ? AND refused_until <= ?",
	    "ii", before, now));
}

int
store_node_put(struct store *s, const char *node, int64_t started, int64_t now,
    int64_t queued, int64_t inflight)
{
	return store_nodes_rc(db_exec(s->db,
	    "INSERT INTO node_status (node, started, updated, queued,"
	    " inflight, store_ok) VALUES (?, ?, ?, ?, ?, ?)"
	    " ON CONFLICT (node) DO UPDATE SET started = excluded.started,"
	    " updated = excluded.updated, queued = excluded.queued,"
	    " inflight = excluded.inflight, store_ok = excluded.store_ok",
	    "siiiii", node, started, now, queued, inflight, now));
}

int
store_node_others(struct store *s, const char *node, int64_t since, int64_t *n)
{
	int64_t v = db_scalar(s->db,
	    "SELECT count(*) FROM node_status WHERE node <> ? AND updated >= ?",
	    "si", node, since);

	if (v < 0)
		return STORE_FAIL;
	*n = v;
	return 0;
}

int
store_login_ip_add(struct store *s, int64_t user_id, int64_t hour,
    const char *ip, int64_t *n)
{
	int rc = db_exec(s->db,
	    "INSERT INTO login_ip (user_id, hour, ip) SELECT ?, ?, ? WHERE"
	    " EXISTS (SELECT 1 FROM account WHERE id = ?)"
	    " ON CONFLICT (user_id, hour, ip) DO NOTHING",
	    "iisi", user_id, hour, ip, user_id);

	if (rc != DB_DONE)
		return store_nodes_rc(rc);
	*n = db_scalar(s->db,
	    "SELECT count(*) FROM login_ip WHERE user_id = ? AND hour = ?",
	    "ii", user_id, hour);
	return *n < 0 ? STORE_FAIL : 0;
}

int
store_login_ip_prune(struct store *s, int64_t before)
{
	return store_nodes_rc(
	    db_exec(s->db, "DELETE FROM login_ip WHERE hour < ?", "i", before));
}
