/*
 * db_sqlite: the embedded backend. WAL mode so the server reads while the
 * CLI writes; a busy timeout so two writers wait for each other instead
 * of failing; foreign keys on so removals cascade as the schema says.
 */
#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

#include "db.h"

static void *
sq_open(const char *target, char *err, size_t errlen)
{
	sqlite3 *conn;
	char *msg = NULL;

	if (sqlite3_open_v2(target, &conn,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
		    SQLITE_OPEN_NOMUTEX,
		NULL) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", target,
		    conn ? sqlite3_errmsg(conn) : "out of memory");
		sqlite3_close(conn);
		return NULL;
	}
	sqlite3_busy_timeout(conn, 10000);
	if (sqlite3_exec(conn,
		"PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		"PRAGMA foreign_keys=ON;",
		NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "store %s: %s", target,
		    msg ? msg : "cannot set pragmas");
		sqlite3_free(msg);
		sqlite3_close(conn);
		return NULL;
	}
	return conn;
}

static void
sq_close(void *conn)
{
	sqlite3_close(conn);
}

static void *
sq_prepare(void *conn, const char *sql)
{
	sqlite3_stmt *st = NULL;

	if (sqlite3_prepare_v3(conn, sql, -1, SQLITE_PREPARE_PERSISTENT, &st,
		NULL) != SQLITE_OK)
		return NULL;
	return st;
}

static int
sq_bind_text(void *st, int idx, const char *v)
{
	return sqlite3_bind_text(st, idx, v, -1, SQLITE_TRANSIENT) == SQLITE_OK
		   ? 0
		   : -1;
}

static int
sq_bind_int(void *st, int idx, int64_t v)
{
	return sqlite3_bind_int64(st, idx, v) == SQLITE_OK ? 0 : -1;
}

static int
sq_bind_null(void *st, int idx)
{
	return sqlite3_bind_null(st, idx) == SQLITE_OK ? 0 : -1;
}

static int
sq_step(void *st)
{
	switch (sqlite3_step(st)) {
	case SQLITE_ROW:
		return DB_ROW;
	case SQLITE_DONE:
		return DB_DONE;
	case SQLITE_CONSTRAINT:
		return DB_CONSTRAINT;
	default:
		return DB_ERROR;
	}
}

static void
sq_reset(void *st)
{
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
}

static void
sq_finalize(void *st)
{
	sqlite3_finalize(st);
}

static int
sq_column_count(void *st)
{
	return sqlite3_column_count(st);
}

static const char *
sq_column_name(void *st, int col)
{
	return sqlite3_column_name(st, col);
}

static int
sq_column_is_null(void *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_NULL;
}

static int
sq_column_is_int(void *st, int col)
{
	return sqlite3_column_type(st, col) == SQLITE_INTEGER;
}

static int64_t
sq_column_int(void *st, int col)
{
	return sqlite3_column_int64(st, col);
}

static const char *
sq_column_text(void *st, int col)
{
	return (const char *)sqlite3_column_text(st, col);
}

static int64_t
sq_changes(void *conn)
{
	return sqlite3_changes(conn);
}

static const char *
sq_errmsg(void *conn)
{
	return sqlite3_errmsg(conn);
}

const struct db_backend db_backend_sqlite = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.prepare = sq_prepare,
	.bind_text = sq_bind_text,
	.bind_int = sq_bind_int,
	.bind_null = sq_bind_null,
	.step = sq_step,
	.reset = sq_reset,
	.finalize = sq_finalize,
	.column_count = sq_column_count,
	.column_name = sq_column_name,
	.column_is_null = sq_column_is_null,
	.column_is_int = sq_column_is_int,
	.column_int = sq_column_int,
	.column_text = sq_column_text,
	.changes = sq_changes,
	.errmsg = sq_errmsg,
	.begin_sql = "BEGIN IMMEDIATE",
	.begin_read_sql = "BEGIN",
	/* BEGIN IMMEDIATE already makes writers take turns */
	.migrate_lock_sql = NULL,
};
