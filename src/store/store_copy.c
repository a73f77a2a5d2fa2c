/*
 * store_copy: a SQLite store into an empty PostgreSQL one (`postern store
 * copy`), for an operator who grows from one machine to several. Every
 * table the source has, in the order its foreign keys need, every row
 * with its ids, in one transaction on the target; then each identity
 * sequence past the largest id copied, so new rows do not collide. The
 * target is migrated to the same version first and must hold no domain,
 * user, API key or logged attempt (what its migrations seed is replaced).
 * Generic over the schema: a table a later migration adds is copied too.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_impl.h"

#define COPY_TABLES 64
#define COPY_COLS 64

struct copy_table {
	char name[64];
	int done;
};

/* The source's tables, schema_version left out (the target has its
 * own). -1 on failure or too many. */
static int
copy_tables(struct db *src, struct copy_table *t, int max)
{
	struct db_stmt *st;
	int n = 0, rc;

	st = db_query(src,
	    "SELECT name FROM sqlite_master WHERE type = 'table'"
	    " AND name NOT LIKE 'sqlite_%' AND name <> 'schema_version'"
	    " ORDER BY name",
	    NULL);
	if (st == NULL)
		return -1;
	while ((rc = db_step(st)) == DB_ROW && n < max) {
		snprintf(t[n].name, sizeof(t[n].name), "%s", db_text(st, 0));
		t[n++].done = 0;
	}
	db_done(st);
	return rc == DB_DONE ? n : -1;
}

/* Are the tables t references (other than itself) all copied? */
static int
copy_ready(struct db *src, const struct copy_table *all, int n, const char *t)
{
	struct db_stmt *st;
	int ready = 1, i;

	st = db_query(src, "SELECT \"table\" FROM pragma_foreign_key_list(?)",
	    "s", t);
	if (st == NULL)
		return -1;
	while (db_step(st) == DB_ROW) {
		const char *ref = db_text(st, 0);
		if (strcmp(ref, t) == 0)
			continue;
		for (i = 0; i < n; i++)
			if (strcmp(all[i].name, ref) == 0 && !all[i].done)
				ready = 0;
	}
	db_done(st);
	return ready;
}

/* Every row of table t from src into dst; the count in *rows. */
static int
copy_rows(struct db *src, struct db *dst, const char *t, int64_t *rows,
    char *err, size_t errlen)
{
	struct db_stmt *in = NULL, *out = NULL;
	char sql[4096];
	int ncol = 0, i, rc, ret = -1;
	size_t o;

	*rows = 0;
	if ((size_t)snprintf(sql, sizeof(sql), "SELECT * FROM \"%s\"", t) >=
		sizeof(sql) ||
	    (in = db_prepare_once(src, sql)) == NULL)
		goto fail_src;
	while ((rc = db_step(in)) == DB_ROW) {
		if (out == NULL) {
			/* names and count from the first row (PostgreSQL
			 * knows them only then; SQLite either way) */
			ncol = db_column_count(in);
			if (ncol < 1 || ncol > COPY_COLS)
				goto fail_src;
			o = (size_t)snprintf(sql, sizeof(sql),
			    "INSERT INTO \"%s\" (", t);
			for (i = 0; i < ncol && o < sizeof(sql); i++)
				o += (size_t)snprintf(sql + o, sizeof(sql) - o,
				    "%s\"%s\"", i ? ", " : "",
				    db_column_name(in, i));
			for (i = 0; i < ncol && o < sizeof(sql); i++)
				o += (size_t)snprintf(sql + o, sizeof(sql) - o,
				    "%s", i ? ", ?" : ") VALUES (?");
			if (o + 2 >= sizeof(sql))
				goto fail_src;
			memcpy(sql + o, ")", 2);
			if ((out = db_prepare_once(dst, sql)) == NULL)
				goto fail_dst;
		}
		for (i = 0; i < ncol; i++) {
			if (db_is_null(in, i))
				rc = db_bind_null(out, i + 1);
			else if (db_is_int(in, i))
				rc = db_bind_int(out, i + 1, db_int(in, i));
			else
				rc = db_bind_text(out, i + 1, db_text(in, i));
			if (rc != 0)
				goto fail_dst;
		}
		while ((rc = db_step(out)) == DB_ROW)
			;
		db_done(out);
		if (rc != DB_DONE)
			goto fail_dst;
		(*rows)++;
	}
	if (rc != DB_DONE)
		goto fail_src;
	ret = 0;
	goto out;
fail_src:
	snprintf(err, errlen, "reading %s: %s", t, db_errmsg(src));
	goto out;
fail_dst:
	snprintf(err, errlen, "writing %s: %s", t, db_errmsg(dst));
out:
	db_finalize(in);
	db_finalize(out);
	return ret;
}

/* Each identity column's sequence past the largest value copied. */
static int
copy_sequences(struct db *dst)
{
	struct db_stmt *st;
	char names[COPY_TABLES][2][64], sql[1024];
	int n = 0, i, rc;

	st = db_query(dst,
	    "SELECT table_name, column_name FROM information_schema.columns"
	    " WHERE table_schema = current_schema() AND is_identity = 'YES'",
	    NULL);
	if (st == NULL)
		return -1;
	while ((rc = db_step(st)) == DB_ROW && n < COPY_TABLES) {
		snprintf(names[n][0], 64, "%s", db_text(st, 0));
		snprintf(names[n][1], 64, "%s", db_text(st, 1));
		n++;
	}
	db_done(st);
	if (rc != DB_DONE && rc != DB_ROW)
		return -1;
	for (i = 0; i < n; i++) {
		if ((size_t)snprintf(sql, sizeof(sql),
			"SELECT setval(pg_get_serial_sequence('\"%s\"', '%s'),"
			" coalesce(max(\"%s\"), 0) + 1, false) FROM \"%s\"",
			names[i][0], names[i][1], names[i][1],
			names[i][0]) >= sizeof(sql) ||
		    db_exec_once(dst, sql) != DB_DONE)
			return -1;
	}
	return 0;
}

/* The order rows can go in: each table after those it references; the
 * indexes of t into order. -1 if the foreign keys loop. */
static int
copy_order(struct db *src, struct copy_table *t, int n, int *order)
{
	int i, k = 0, moved, ready;

	do {
		moved = 0;
		for (i = 0; i < n; i++) {
			if (t[i].done)
				continue;
			if ((ready = copy_ready(src, t, n, t[i].name)) < 0)
				return -1;
			if (ready) {
				t[i].done = 1;
				order[k++] = i;
				moved++;
			}
		}
	} while (moved > 0);
	return k == n ? 0 : -1;
}

/* Does table name of db hold a row? 1, 0, -1 on failure. */
static int
copy_has_rows(struct db *db, const char *name)
{
	char sql[256];
	struct db_stmt *st = NULL;
	int rc;

	if ((size_t)snprintf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" LIMIT 1",
		name) < sizeof(sql))
		st = db_prepare_once(db, sql);
	rc = st ? db_step(st) : DB_ERROR;
	db_finalize(st);
	return rc == DB_ROW ? 1 : rc == DB_DONE ? 0 : -1;
}

/*
 * A target is empty when it holds no domain, user, API key or logged
 * attempt: what a used postern always has one of. Rows in other tables
 * are what its migrations seeded (the source has its own of them): they
 * are replaced by the source's.
 */
static const char *const copy_used[] = { "domain", "account", "api_key",
	"auth_event" };

int
store_copy(struct store *from, struct store *to,
    void (*progress)(const char *table, int64_t rows, void *), void *arg,
    char *err, size_t errlen)
{
	struct copy_table t[COPY_TABLES];
	int order[COPY_TABLES], n, i, has;
	char sql[256];
	int64_t rows;

	if (strcmp(db_backend(from->db)->name, "sqlite") != 0) {
		snprintf(err, errlen, "the source must be a SQLite store");
		return -1;
	}
	if ((n = copy_tables(from->db, t, COPY_TABLES)) < 0 ||
	    copy_order(from->db, t, n, order) == -1) {
		snprintf(err, errlen, "reading the source's tables: %s",
		    db_errmsg(from->db));
		return -1;
	}
	if (store_read_begin(from) == -1 || db_begin(to->db) == -1) {
		snprintf(err, errlen, "cannot begin: %s", db_errmsg(to->db));
		return -1;
	}
	/* an empty target only: a copy never merges into live data */
	for (i = 0; i < (int)(sizeof(copy_used) / sizeof(copy_used[0])); i++) {
		if ((has = copy_has_rows(to->db, copy_used[i])) != 0) {
			if (has == 1)
				snprintf(err, errlen,
				    "the target is not empty (table %s has rows):"
				    " copy only into a new database",
				    copy_used[i]);
			else
				snprintf(err, errlen, "target table %s: %s",
				    copy_used[i], db_errmsg(to->db));
			goto fail;
		}
	}
	/* the migrations' seeds go, the referencing tables first */
	for (i = n - 1; i >= 0; i--)
		if ((size_t)snprintf(sql, sizeof(sql), "DELETE FROM \"%s\"",
			t[order[i]].name) >= sizeof(sql) ||
		    db_exec_once(to->db, sql) != DB_DONE) {
			snprintf(err, errlen, "emptying %s: %s",
			    t[order[i]].name, db_errmsg(to->db));
			goto fail;
		}
	for (i = 0; i < n; i++) {
		if (copy_rows(from->db, to->db, t[order[i]].name, &rows, err,
			errlen) == -1)
			goto fail;
		if (progress)
			progress(t[order[i]].name, rows, arg);
	}
	if (copy_sequences(to->db) == -1 || db_commit(to->db) == -1) {
		snprintf(err, errlen, "finishing: %s", db_errmsg(to->db));
		goto fail;
	}
	store_read_end(from);
	return 0;
fail:
	db_rollback(to->db);
	store_read_end(from);
	return -1;
}
