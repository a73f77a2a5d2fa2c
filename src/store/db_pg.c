/*
 * db_pg: the PostgreSQL backend on libpq, for several nodes on one
 * database. One connection per store handle (each worker thread has its
 * own: the pool is the worker pool, see ARCHITECTURE.md), never used from
 * an event loop. The store's SQL is written once with '?' placeholders:
 * each statement is translated to $n once and prepared on its first run,
 * with the types of that run's arguments (int8 for integers, text left
 * for the server to infer), then run by name; text in, text out.
 *
 * A broken connection (a server restart, a network cut) fails the query
 * it broke with DB_ERROR and is reset on the next use; a transaction it
 * was in is lost, so every statement up to its ROLLBACK fails too rather
 * than run outside it. Messages carry the server's words, never the
 * conninfo (it may hold a password).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <libpq-fe.h>

#include "db.h"

/* pg_type OIDs (server/catalog/pg_type_d.h, not in libpq-dev) */
#define PG_BOOL 16
#define PG_INT8 20
#define PG_INT2 21
#define PG_INT4 23
#define PG_OID 26
#define PG_TEXT 25

#define PG_MAXARG 32

enum pg_kind { K_OTHER, K_BEGIN, K_COMMIT, K_ROLLBACK, K_SELECT };

struct pg_conn {
	PGconn *pg;
	unsigned gen;	 /* bumped at each reset: statements re-prepare */
	unsigned nstmt;	 /* names p1, p2 ... on this connection */
	int in_tx;	 /* the server said: inside a transaction */
	int tx_lost;	 /* a reset lost it: fail until its ROLLBACK */
	int64_t changes; /* rows the last command touched */
	time_t retry_at; /* no reset before: a down server fails fast */
	char *password;	 /* the conninfo's, to keep out of messages */
	char err[256];
};

struct pg_stmt {
	struct pg_conn *c;
	char *sql; /* with $n */
	char name[16];
	unsigned gen; /* prepared on this generation; 0 never */
	enum pg_kind kind;
	int nargs;
	char *args[PG_MAXARG]; /* NULL binds NULL */
	unsigned types[PG_MAXARG];
	PGresult *res;
	int row, nrows;
};

static void
pg_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg; /* "relation exists, skipping" and such: not for a log */
}

/* Every copy of pw in s (NUL-terminated, cap bytes) becomes "***". */
static void
pg_redact(char *s, size_t cap, const char *pw)
{
	size_t n = pw ? strlen(pw) : 0;
	char *p;

	while (n > 0 && (p = strstr(s, pw)) != NULL) {
		size_t tail = strlen(p + n) + 1;
		if (n < 3 && (size_t)(p - s) + 3 + tail > cap)
			break;
		memmove(p + 3, p + n, tail);
		memcpy(p, "***", 3);
	}
}

/* A message's first line, without the "ERROR:  " prefix, and never the
 * password (libpq may quote a conninfo it cannot use). */
static void
pg_message(char *out, size_t cap, const char *msg, const char *pw)
{
	size_t n;

	if (msg == NULL || *msg == '\0')
		msg = "unknown error";
	if (strncmp(msg, "ERROR:  ", 8) == 0)
		msg += 8;
	n = strcspn(msg, "\n");
	if (n >= cap)
		n = cap - 1;
	memcpy(out, msg, n);
	out[n] = '\0';
	pg_redact(out, cap, pw);
}

static void
pg_seterr(struct pg_conn *c, const char *msg)
{
	pg_message(c->err, sizeof(c->err), msg, c->password);
}

/* The conninfo's password (NULL if none), for pg_redact; -1 if the
 * conninfo cannot be parsed. */
static int
pg_password(const char *target, char **pw)
{
	PQconninfoOption *o, *opts;
	char *perr = NULL;

	*pw = NULL;
	if ((opts = PQconninfoParse(target, &perr)) == NULL) {
		PQfreemem(perr); /* it may quote the password: not shown */
		return -1;
	}
	for (o = opts; o->keyword; o++)
		if (strcmp(o->keyword, "password") == 0 && o->val && *o->val)
			*pw = strdup(o->val);
	PQconninfoFree(opts);
	return 0;
}

static void
pg_close(void *conn)
{
	struct pg_conn *c = conn;

	PQfinish(c->pg);
	if (c->password)
		explicit_bzero(c->password, strlen(c->password));
	free(c->password);
	free(c);
}

static void *
pg_open(const char *target, char *err, size_t errlen)
{
	/* a connection attempt is bounded unless the operator's conninfo
	 * (expanded from dbname, after it) says otherwise */
	static const char *const keys[] = { "connect_timeout", "dbname", NULL };
	const char *vals[] = { "5", target, NULL };
	struct pg_conn *c;
	char m[256] = "out of memory";

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if (pg_password(target, &c->password) == -1) {
		snprintf(err, errlen,
		    "store postgresql: the conninfo cannot be parsed: check "
		    "[store] conninfo (libpq keywords or a postgresql:// URI)");
		free(c);
		return NULL;
	}
	c->pg = PQconnectdbParams(keys, vals, 1);
	if (c->pg == NULL || PQstatus(c->pg) != CONNECTION_OK) {
		if (c->pg)
			pg_message(m, sizeof(m), PQerrorMessage(c->pg),
			    c->password);
		snprintf(err, errlen, "store postgresql: %s", m);
		pg_close(c);
		return NULL;
	}
	PQsetNoticeProcessor(c->pg, pg_notice, NULL);
	c->gen = 1;
	return c;
}

/*
 * '?' to $1, $2 ... outside string literals, quoted identifiers and
 * comments; the statement's kind for transaction bookkeeping.
 */
static void *
pg_prepare(void *conn, const char *sql)
{
	struct pg_stmt *st;
	size_t len = strlen(sql), o = 0;
	const char *p, *w;
	char q = 0;
	int n = 0;

	if ((st = calloc(1, sizeof(*st))) == NULL ||
	    (st->sql = malloc(len * 3 + 1)) == NULL) {
		free(st);
		return NULL;
	}
	st->c = conn;
	for (p = sql; *p; p++) {
		if (q == '-') { /* a comment to the end of the line */
			if (*p == '\n')
				q = 0;
		} else if (q) {
			if (*p == q)
				q = 0; /* '' and "" reopen at once: same */
		} else if (*p == '\'' || *p == '"') {
			q = *p;
		} else if (p[0] == '-' && p[1] == '-') {
			q = '-';
		} else if (*p == '?') {
			if (++n > PG_MAXARG)
				goto fail;
			o += (size_t)sprintf(st->sql + o, "$%d", n);
			continue;
		}
		st->sql[o++] = *p;
	}
	st->sql[o] = '\0';
	st->nargs = n;
	for (w = sql; *w == ' ' || *w == '\n' || *w == '\t'; w++)
		;
	if (strncasecmp(w, "BEGIN", 5) == 0 || strncasecmp(w, "START", 5) == 0)
		st->kind = K_BEGIN;
	else if (strncasecmp(w, "COMMIT", 6) == 0 ||
		 strncasecmp(w, "END", 3) == 0)
		st->kind = K_COMMIT;
	else if (strncasecmp(w, "ROLLBACK", 8) == 0)
		st->kind = K_ROLLBACK;
	else if (strncasecmp(w, "SELECT", 6) == 0)
		st->kind = K_SELECT;
	return st;
fail:
	free(st->sql);
	free(st);
	return NULL;
}

static int
pg_bind(struct pg_stmt *st, int idx, char *v, unsigned type)
{
	if (idx < 1 || idx > st->nargs) {
		free(v);
		return -1;
	}
	free(st->args[idx - 1]);
	st->args[idx - 1] = v;
	st->types[idx - 1] = type;
	return 0;
}

static int
pg_bind_text(void *st, int idx, const char *v)
{
	char *d = strdup(v);

	return d ? pg_bind(st, idx, d, 0) : -1;
}

static int
pg_bind_int(void *st, int idx, int64_t v)
{
	char b[24], *d;

	snprintf(b, sizeof(b), "%lld", (long long)v);
	return (d = strdup(b)) ? pg_bind(st, idx, d, PG_INT8) : -1;
}

static int
pg_bind_null(void *st, int idx)
{
	return pg_bind(st, idx, NULL, 0);
}

/* A connection found broken is reset here, on a worker, bounded by the
 * conninfo's connect_timeout; 0 usable, -1 not (yet). */
static int
pg_usable(struct pg_conn *c)
{
	if (PQstatus(c->pg) == CONNECTION_OK)
		return 0;
	if (c->in_tx)
		c->tx_lost = 1;
	c->in_tx = 0;
	if (time(NULL) < c->retry_at)
		return -1; /* the last try's message stands */
	PQreset(c->pg);
	if (PQstatus(c->pg) != CONNECTION_OK) {
		pg_seterr(c, PQerrorMessage(c->pg));
		c->retry_at = time(NULL) + 1;
		return -1;
	}
	PQsetNoticeProcessor(c->pg, pg_notice, NULL);
	c->gen++;
	c->nstmt = 0;
	return 0;
}

static int
pg_result_rc(struct pg_conn *c, PGresult *r)
{
	const char *state;

	switch (PQresultStatus(r)) {
	case PGRES_COMMAND_OK:
	case PGRES_TUPLES_OK:
		return DB_DONE;
	default:
		pg_seterr(c,
		    r ? PQresultErrorMessage(r) : PQerrorMessage(c->pg));
		state = r ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
		/* class 23: integrity constraint violation */
		return state && strncmp(state, "23", 2) == 0 ? DB_CONSTRAINT
							     : DB_ERROR;
	}
}

static int
pg_run(struct pg_stmt *st)
{
	struct pg_conn *c = st->c;
	PGresult *r;
	int rc, i;

	/* The end of a transaction the connection lost (or on a connection
	 * that is down): over either way, without waiting for a reset, so
	 * the statements after it are not failed as part of it. */
	if ((st->kind == K_ROLLBACK || st->kind == K_COMMIT) &&
	    (c->tx_lost || PQstatus(c->pg) != CONNECTION_OK)) {
		c->tx_lost = c->in_tx = 0;
		snprintf(c->err, sizeof(c->err),
		    "connection lost in a transaction");
		return st->kind == K_ROLLBACK ? DB_DONE : DB_ERROR;
	}
	if (pg_usable(c) == -1)
		return DB_ERROR;
	if (c->tx_lost) {
		/* the transaction died with the old connection: nothing
		 * of it may run in autocommit on the new one */
		if (st->kind != K_BEGIN) {
			snprintf(c->err, sizeof(c->err),
			    "connection lost in a transaction");
			return DB_ERROR;
		}
		c->tx_lost = 0;
	}
	if (st->gen != c->gen) {
		snprintf(st->name, sizeof(st->name), "p%u", ++c->nstmt);
		r = PQprepare(c->pg, st->name, st->sql, st->nargs, st->types);
		rc = pg_result_rc(c, r);
		PQclear(r);
		if (rc != DB_DONE)
			goto out;
		st->gen = c->gen;
	}
	r = PQexecPrepared(c->pg, st->name, st->nargs,
	    (const char *const *)st->args, NULL, NULL, 0);
	rc = pg_result_rc(c, r);
	if (rc == DB_DONE) {
		const char *t = PQcmdTuples(r);
		c->changes = *t ? strtoll(t, NULL, 10) : 0;
		st->res = r;
		st->nrows =
		    PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
		st->row = -1;
	} else {
		PQclear(r);
	}
out:
	if (PQstatus(c->pg) == CONNECTION_OK) {
		i = PQtransactionStatus(c->pg);
		c->in_tx = i == PQTRANS_INTRANS || i == PQTRANS_INERROR;
	} else if (c->in_tx) {
		c->tx_lost = 1;
		c->in_tx = 0;
	}
	return rc;
}

static int
pg_step(void *stp)
{
	struct pg_stmt *st = stp;
	int rc, was_up;

	if (st->res == NULL) {
		was_up = PQstatus(st->c->pg) == CONNECTION_OK;
		rc = pg_run(st);
		/* A read that found the connection dead (the server
		 * restarted since the last query) runs once more on a new
		 * one: it changed nothing, and the database may well be
		 * back. Not a write (it may have been applied before the
		 * connection died), not in a transaction (it is lost). */
		if (rc == DB_ERROR && was_up && st->kind == K_SELECT &&
		    PQstatus(st->c->pg) != CONNECTION_OK && !st->c->tx_lost)
			rc = pg_run(st);
		if (rc != DB_DONE)
			return rc;
	}
	if (++st->row < st->nrows)
		return DB_ROW;
	return DB_DONE;
}

static void
pg_reset(void *stp)
{
	struct pg_stmt *st = stp;
	int i;

	PQclear(st->res);
	st->res = NULL;
	st->row = st->nrows = 0;
	for (i = 0; i < st->nargs; i++) {
		free(st->args[i]);
		st->args[i] = NULL;
		st->types[i] = 0;
	}
}

static void
pg_finalize(void *stp)
{
	struct pg_stmt *st = stp;

	/* the server's copy goes with the connection (the few run once,
	 * migrations, are not worth a round trip each) */
	pg_reset(st);
	free(st->sql);
	free(st);
}

static int
pg_column_count(void *stp)
{
	struct pg_stmt *st = stp;

	return st->res ? PQnfields(st->res) : 0;
}

static const char *
pg_column_name(void *stp, int col)
{
	struct pg_stmt *st = stp;

	return st->res ? PQfname(st->res, col) : NULL;
}

static int
pg_column_is_null(void *stp, int col)
{
	struct pg_stmt *st = stp;

	if (st->res == NULL || st->row < 0 || st->row >= st->nrows)
		return 1;
	return PQgetisnull(st->res, st->row, col);
}

static int
pg_column_is_int(void *stp, int col)
{
	struct pg_stmt *st = stp;
	unsigned t;

	if (pg_column_is_null(st, col))
		return 0;
	t = PQftype(st->res, col);
	return t == PG_INT8 || t == PG_INT4 || t == PG_INT2 || t == PG_BOOL ||
	       t == PG_OID;
}

/* As SQLite reads a column as an integer: a boolean is 1 or 0, NULL and
 * text that is no number 0; numeric (sum()) to its integer part. */
static int64_t
pg_column_int(void *stp, int col)
{
	struct pg_stmt *st = stp;
	const char *v;

	if (pg_column_is_null(st, col))
		return 0;
	v = PQgetvalue(st->res, st->row, col);
	if (PQftype(st->res, col) == PG_BOOL)
		return v[0] == 't';
	return strtoll(v, NULL, 10);
}

static const char *
pg_column_text(void *stp, int col)
{
	struct pg_stmt *st = stp;

	if (pg_column_is_null(st, col))
		return NULL;
	return PQgetvalue(st->res, st->row, col);
}

static int64_t
pg_changes(void *conn)
{
	return ((struct pg_conn *)conn)->changes;
}

static const char *
pg_errmsg(void *conn)
{
	struct pg_conn *c = conn;

	return c->err[0] ? c->err : "no error";
}

const struct db_backend db_backend_pg = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.prepare = pg_prepare,
	.bind_text = pg_bind_text,
	.bind_int = pg_bind_int,
	.bind_null = pg_bind_null,
	.step = pg_step,
	.reset = pg_reset,
	.finalize = pg_finalize,
	.column_count = pg_column_count,
	.column_name = pg_column_name,
	.column_is_null = pg_column_is_null,
	.column_is_int = pg_column_is_int,
	.column_int = pg_column_int,
	.column_text = pg_column_text,
	.changes = pg_changes,
	.errmsg = pg_errmsg,
	.begin_sql = "BEGIN",
	/* none: SQLite wants one to take its read lock once, not per
	 * query; here it would only add two round trips to a login, whose
	 * reads need no common snapshot (each was true when read) */
	.begin_read_sql = NULL,
	/* migrations one node at a time: a lock held to the transaction's
	 * end; the number is "postern" in ASCII */
	.migrate_lock_sql = "SELECT pg_advisory_xact_lock(31647739056321134)",
	.ddl_integer = "BIGINT",
	/* compared and sorted byte by byte, as SQLite does, whatever the
	 * database's locale */
	.ddl_text = "TEXT COLLATE \"C\"",
	.ddl_id = "id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY",
};
