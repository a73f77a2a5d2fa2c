/*
 * db: statement cache and argument binding over a backend. The cache is
 * keyed by the address of the SQL text: every statement postern runs is
 * a literal in store.c, so each is prepared once per connection.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"

#define DB_CACHE 128

struct db_stmt {
	struct db *db;
	const char *sql;
	void *st;
	int busy;
};

struct db {
	const struct db_backend *be;
	void *conn;
	struct db_stmt cache[DB_CACHE];
	int last_rc;
	int read_noop; /* a read "transaction" the backend does without */
};

struct db *
db_open(const char *driver, const char *target, char *err, size_t errlen)
{
	static const struct db_backend *const backends[] = { &db_backend_sqlite,
		&db_backend_pg };
	const struct db_backend *be = NULL;
	struct db *db;
	size_t i;

	for (i = 0; i < sizeof(backends) / sizeof(backends[0]); i++)
		if (strcmp(driver, backends[i]->name) == 0)
			be = backends[i];
	if (be == NULL) {
		snprintf(err, errlen, "store driver '%s' is not built in",
		    driver);
		return NULL;
	}
	if ((db = calloc(1, sizeof(*db))) == NULL)
		return NULL;
	db->be = be;
	if ((db->conn = db->be->open(target, err, errlen)) == NULL) {
		free(db);
		return NULL;
	}
	return db;
}

void
db_close(struct db *db)
{
	int i;

	if (db == NULL)
		return;
	for (i = 0; i < DB_CACHE; i++)
		if (db->cache[i].st)
			db->be->finalize(db->cache[i].st);
	db->be->close(db->conn);
	free(db);
}

static struct db_stmt *
db_prepare(struct db *db, const char *sql)
{
	size_t h = ((uintptr_t)sql >> 3) % DB_CACHE, i;

	for (i = 0; i < DB_CACHE; i++) {
		struct db_stmt *s = &db->cache[(h + i) % DB_CACHE];
		if (s->sql == sql) {
			if (s->busy)
				db->be->reset(s->st);
			s->busy = 1;
			return s;
		}
		if (s->sql == NULL) {
			if ((s->st = db->be->prepare(db->conn, sql)) == NULL)
				return NULL;
			s->sql = sql;
			s->db = db;
			s->busy = 1;
			return s;
		}
	}
	return NULL; /* more distinct statements than DB_CACHE */
}

static struct db_stmt *
db_vquery(struct db *db, const char *sql, const char *fmt, va_list ap)
{
	struct db_stmt *s;
	int idx = 1, rc = 0;
	const char *v;

	if ((s = db_prepare(db, sql)) == NULL)
		return NULL;
	for (; fmt && *fmt; fmt++, idx++) {
		switch (*fmt) {
		case 's':
			v = va_arg(ap, const char *);
			rc = v ? db->be->bind_text(s->st, idx, v)
			       : db->be->bind_null(s->st, idx);
			break;
		case 'i':
			rc = db->be->bind_int(s->st, idx, va_arg(ap, int64_t));
			break;
		case 'I': /* an id: 0 binds NULL */
		case 'Q': /* a limit: -1 binds NULL */ {
			int64_t n = va_arg(ap, int64_t);
			rc = n == (*fmt == 'I' ? 0 : -1)
				 ? db->be->bind_null(s->st, idx)
				 : db->be->bind_int(s->st, idx, n);
			break;
		}
		case 'n':
			rc = db->be->bind_null(s->st, idx);
			break;
		default:
			rc = -1;
		}
		if (rc != 0) {
			db_done(s);
			return NULL;
		}
	}
	return s;
}

struct db_stmt *
db_query(struct db *db, const char *sql, const char *fmt, ...)
{
	struct db_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = db_vquery(db, sql, fmt, ap);
	va_end(ap);
	return s;
}

int
db_step(struct db_stmt *s)
{
	return s->db->last_rc = s->db->be->step(s->st);
}

void
db_done(struct db_stmt *s)
{
	if (s && s->busy) {
		s->db->be->reset(s->st);
		s->busy = 0;
	}
}

int64_t
db_int(struct db_stmt *s, int col)
{
	return s->db->be->column_int(s->st, col);
}

const char *
db_text(struct db_stmt *s, int col)
{
	const char *t = s->db->be->column_text(s->st, col);
	return t ? t : "";
}

int
db_is_null(struct db_stmt *s, int col)
{
	return s->db->be->column_is_null(s->st, col);
}

struct db_stmt *
db_prepare_once(struct db *db, const char *sql)
{
	struct db_stmt *s;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return NULL;
	if ((s->st = db->be->prepare(db->conn, sql)) == NULL) {
		free(s);
		return NULL;
	}
	s->db = db;
	s->sql = sql;
	s->busy = 1;
	return s;
}

/* After db_done, binding starts the statement's next run. */
int
db_bind_text(struct db_stmt *s, int idx, const char *v)
{
	s->busy = 1;
	return s->db->be->bind_text(s->st, idx, v);
}

int
db_bind_int(struct db_stmt *s, int idx, int64_t v)
{
	s->busy = 1;
	return s->db->be->bind_int(s->st, idx, v);
}

int
db_bind_null(struct db_stmt *s, int idx)
{
	s->busy = 1;
	return s->db->be->bind_null(s->st, idx);
}

void
db_finalize(struct db_stmt *s)
{
	if (s == NULL)
		return;
	s->db->be->finalize(s->st);
	free(s);
}

int
db_column_count(struct db_stmt *s)
{
	return s->db->be->column_count(s->st);
}

const char *
db_column_name(struct db_stmt *s, int col)
{
	return s->db->be->column_name(s->st, col);
}

int
db_is_int(struct db_stmt *s, int col)
{
	return s->db->be->column_is_int(s->st, col);
}

int
db_exec_once(struct db *db, const char *sql)
{
	void *st;
	int rc;

	if ((st = db->be->prepare(db->conn, sql)) == NULL)
		return DB_ERROR;
	while ((rc = db->be->step(st)) == DB_ROW)
		;
	db->be->finalize(st);
	return rc;
}

int
db_exec(struct db *db, const char *sql, const char *fmt, ...)
{
	struct db_stmt *s;
	va_list ap;
	int rc;

	va_start(ap, fmt);
	s = db_vquery(db, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return DB_ERROR;
	while ((rc = db_step(s)) == DB_ROW)
		;
	db_done(s);
	return rc;
}

int64_t
db_scalar(struct db *db, const char *sql, const char *fmt, ...)
{
	struct db_stmt *s;
	va_list ap;
	int64_t v = -1;

	va_start(ap, fmt);
	s = db_vquery(db, sql, fmt, ap);
	va_end(ap);
	if (s == NULL)
		return -1;
	if (db_step(s) == DB_ROW && !db_is_null(s, 0))
		v = db_int(s, 0);
	db_done(s);
	return v;
}

const struct db_backend *
db_backend(struct db *db)
{
	return db->be;
}

int64_t
db_changes(struct db *db)
{
	return db->be->changes(db->conn);
}

const char *
db_driver(struct db *db)
{
	return db->be->name;
}

const char *
db_errmsg(struct db *db)
{
	return db->be->errmsg(db->conn);
}

int
db_begin(struct db *db)
{
	return db_exec(db, db->be->begin_sql, NULL) == DB_DONE ? 0 : -1;
}

/* A read-only transaction: one snapshot (and, in SQLite, one read lock)
 * for several queries; ended by db_commit. A backend without one
 * (begin_read_sql NULL) runs the queries each on its own. */
int
db_begin_read(struct db *db)
{
	if (db->be->begin_read_sql == NULL) {
		db->read_noop = 1;
		return 0;
	}
	return db_exec(db, db->be->begin_read_sql, NULL) == DB_DONE ? 0 : -1;
}

int
db_commit(struct db *db)
{
	if (db->read_noop) {
		db->read_noop = 0;
		return 0;
	}
	return db_exec(db, "COMMIT", NULL) == DB_DONE ? 0 : -1;
}

void
db_rollback(struct db *db)
{
	db_exec(db, "ROLLBACK", NULL);
}
