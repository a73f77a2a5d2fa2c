/*
 * db: the small SQL interface the store is written against. A backend is
 * a struct of function pointers (as OpenSMTPD's queue backends); SQL is
 * kept portable (? placeholders, RETURNING, no SQLite-only types) so a
 * PostgreSQL backend implements the same calls.
 */
#ifndef POSTERN_DB_H
#define POSTERN_DB_H

#include <stddef.h>
#include <stdint.h>

#define DB_ROW 1
#define DB_DONE 0
#define DB_ERROR (-1)
#define DB_CONSTRAINT (-2) /* unique or foreign key violated */

struct db;
struct db_stmt;

struct db_backend {
	const char *name;
	void *(*open)(const char *target, char *err, size_t errlen);
	void (*close)(void *conn);
	void *(*prepare)(void *conn, const char *sql);
	int (*bind_text)(void *st, int idx, const char *v);
	int (*bind_int)(void *st, int idx, int64_t v);
	int (*bind_null)(void *st, int idx);
	int (*step)(void *st); /* DB_ROW, DB_DONE, DB_ERROR, ... */
	void (*reset)(void *st);
	void (*finalize)(void *st);
	int (*column_count)(void *st);
	const char *(*column_name)(void *st, int col);
	int (*column_is_null)(void *st, int col);
	int (*column_is_int)(void *st, int col);
	int64_t (*column_int)(void *st, int col);
	const char *(*column_text)(void *st, int col);
	int64_t (*changes)(void *conn);
	const char *(*errmsg)(void *conn);
	const char *begin_sql;	      /* a transaction that writes */
	const char *begin_read_sql;   /* one snapshot for several reads */
	const char *migrate_lock_sql; /* in the migrations' transaction:
					 one node at a time; NULL none */
	/* DDL where it differs from the migrations' text, NULL: as written
	 * (store_schema.c) */
	const char *ddl_integer; /* for INTEGER */
	const char *ddl_text;	 /* for TEXT */
	const char *ddl_id;	 /* for "id INTEGER PRIMARY KEY" */
};

extern const struct db_backend db_backend_sqlite;
extern const struct db_backend db_backend_pg;

struct db *db_open(const char *driver, const char *target, char *err,
    size_t errlen);
void db_close(struct db *);

/*
 * Prepare (cached by the address of sql, so pass string literals) and
 * bind. fmt has one letter per '?': s text (NULL binds NULL), i int64,
 * I int64 id (0 binds NULL), Q int64 limit (-1 binds NULL), n NULL. The
 * statement belongs to db until db_done().
 */
struct db_stmt *db_query(struct db *, const char *sql, const char *fmt, ...);
int db_step(struct db_stmt *);
void db_done(struct db_stmt *);
int64_t db_int(struct db_stmt *, int col);
const char *db_text(struct db_stmt *, int col); /* "" for NULL */
int db_is_null(struct db_stmt *, int col);

/* A statement whose text is made at run time (store copy): not cached,
 * bound one argument at a time, finalized by the caller. */
struct db_stmt *db_prepare_once(struct db *, const char *sql);
int db_bind_text(struct db_stmt *, int idx, const char *v);
int db_bind_int(struct db_stmt *, int idx, int64_t v);
int db_bind_null(struct db_stmt *, int idx);
void db_finalize(struct db_stmt *);
int db_column_count(struct db_stmt *);
const char *db_column_name(struct db_stmt *, int col);
int db_is_int(struct db_stmt *, int col);

/* Run SQL text once, uncached, without arguments (migrations). */
int db_exec_once(struct db *, const char *sql);
/* Run to completion: DB_DONE (0), DB_ERROR or DB_CONSTRAINT. */
int db_exec(struct db *, const char *sql, const char *fmt, ...);
/* The first column of the first row as an integer; -1 if none. */
int64_t db_scalar(struct db *, const char *sql, const char *fmt, ...);
int64_t db_changes(struct db *);
/* The backend's name: "sqlite", ... */
const char *db_driver(struct db *);
const struct db_backend *db_backend(struct db *);
const char *db_errmsg(struct db *);
int db_begin(struct db *);
int db_begin_read(struct db *);
int db_commit(struct db *);
void db_rollback(struct db *);

#endif
