/*
 * test_db: the SQL layer under the store, on each backend (unit.h): what
 * the PostgreSQL backend must do as SQLite does (placeholders, types,
 * constraint errors), what a lost connection does to a transaction, and
 * several nodes migrating one database at once.
 */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "unit.h"
#include "store/db.h"
#include "store/store.h"

#define T_DB "/tmp/postern-unit-db.db"

/* A fresh store (for the schema), then a db handle on the same target. */
static struct db *
t_db(void)
{
	char err[256];
	struct db *db;

	store_close(unit_store_fresh(T_DB));
	db = unit_pg ? db_open("postgresql", unit_pg, err, sizeof(err))
		     : db_open("sqlite", T_DB, err, sizeof(err));
	if (db == NULL)
		printf("  db: %s\n", err);
	return db;
}

UNIT_TEST(test_a_question_mark_in_a_literal_or_name_is_not_a_placeholder)
{
	struct db *db = t_db();
	struct db_stmt *st;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	st = db_query(db,
	    "SELECT 'why?', ? || '', \"window\" FROM quota_usage"
	    " UNION ALL SELECT 'it''s?', ?, -1",
	    "ss", "never", "a?b");
	CHECK(st != NULL);
	if (st != NULL) {
		CHECK(db_step(st) == DB_ROW);
		CHECK_STR(db_text(st, 0), "it's?");
		CHECK_STR(db_text(st, 1), "a?b");
		CHECK(db_int(st, 2) == -1);
		CHECK(db_step(st) == DB_DONE);
		db_done(st);
	}
	db_close(db);
}

UNIT_TEST(test_integers_booleans_and_nulls_read_back_as_on_sqlite)
{
	struct db *db = t_db();
	struct db_stmt *st;

	CHECK(db != NULL);
	if (db == NULL)
		return;
	/* a 64-bit value through an INTEGER column, a comparison's
	 * result as 1/0, NULL as "" and 0 */
	CHECK(db_exec(db,
		  "INSERT INTO domain (name, created, mailbox_quota)"
		  " VALUES (?, ?, ?)",
		  "sii", "example.org", (int64_t)1700000000,
		  (int64_t)5000000000000) == DB_DONE);
	st = db_query(db,
	    "SELECT mailbox_quota, mailbox_quota > ?, q_msgs_hour, id"
	    " FROM domain WHERE name = ?",
	    "is", (int64_t)1, "example.org");
	CHECK(st != NULL && db_step(st) == DB_ROW);
	if (st != NULL) {
		CHECK(db_int(st, 0) == 5000000000000);
		CHECK(db_int(st, 1) == 1);
		CHECK(db_is_null(st, 2) && db_int(st, 2) == 0);
		CHECK_STR(db_text(st, 2), "");
		CHECK(db_int(st, 3) == 1);
		db_done(st);
	}
	/* a unique key and a foreign key refuse alike */
	CHECK(db_exec(db, "INSERT INTO domain (name, created) VALUES (?, 0)",
		  "s", "example.org") == DB_CONSTRAINT);
	CHECK(db_exec(db,
		  "INSERT INTO relay_net (domain_id, cidr, created)"
		  " VALUES (?, ?, 0)",
		  "is", (int64_t)99, "192.0.2.0/24") == DB_CONSTRAINT);
	CHECK(db_exec(db, "UPDATE domain SET created = ?", "i", (int64_t)1) ==
		  DB_DONE &&
	      db_changes(db) == 1);
	db_close(db);
}

/* End the backend's session from outside, as a server restart does. */
static void
t_kill_sessions(void)
{
	PGconn *c = PQconnectdb(unit_pg);
	PGresult *r = PQexec(c,
	    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
	    " WHERE datname = current_database() AND pid <> pg_backend_pid()");

	CHECK(PQresultStatus(r) == PGRES_TUPLES_OK);
	PQclear(r);
	PQfinish(c);
	usleep(100000);
}

UNIT_TEST(test_a_transaction_cut_by_a_lost_connection_is_not_half_done)
{
	struct db *db;

	if (unit_pg == NULL) {
		/* PostgreSQL only; the first pass marks it as a store test */
		store_close(unit_store_fresh(T_DB));
		return;
	}
	db = t_db();
	CHECK(db != NULL);
	if (db == NULL)
		return;
	CHECK(db_begin(db) == 0);
	CHECK(db_exec(db, "INSERT INTO domain (name, created) VALUES (?, 0)",
		  "s", "one.example") == DB_DONE);
	t_kill_sessions();
	/* the rest of the transaction fails: nothing runs in autocommit
	 * on the new connection */
	CHECK(db_exec(db, "INSERT INTO domain (name, created) VALUES (?, 0)",
		  "s", "two.example") == DB_ERROR);
	CHECK(db_exec(db, "INSERT INTO domain (name, created) VALUES (?, 0)",
		  "s", "three.example") == DB_ERROR);
	CHECK(db_commit(db) == -1);
	/* the next use works, on a new connection, and nothing was kept */
	CHECK(db_scalar(db, "SELECT count(*) FROM domain", NULL) == 0);
	CHECK(db_exec(db, "INSERT INTO domain (name, created) VALUES (?, 0)",
		  "s", "four.example") == DB_DONE);
	/* outside a transaction: a write the cut hits fails (it may have
	 * been applied: not run twice), the next one reconnects */
	t_kill_sessions();
	CHECK(db_exec(db, "INSERT INTO domain (name, created) VALUES (?, 0)",
		  "s", "five.example") == DB_ERROR);
	CHECK(db_scalar(db, "SELECT count(*) FROM domain", NULL) == 1);
	/* a read is run again at once on a new connection */
	t_kill_sessions();
	CHECK(db_scalar(db, "SELECT count(*) FROM domain", NULL) == 1);
	CHECK(
	    db_errmsg(db) != NULL && strstr(db_errmsg(db), "password") == NULL);
	db_close(db);
}

static void *
t_open_store(void *arg)
{
	struct store *s = unit_store_reopen(T_DB);
	int v = s ? store_schema_version(s) : -1;

	(void)arg;
	store_close(s);
	return (void *)(intptr_t)v;
}

UNIT_TEST(test_nodes_starting_at_once_migrate_the_store_once)
{
	pthread_t t[4];
	struct store *s = unit_store_fresh(T_DB);
	PGconn *c;
	int i;

	CHECK(s != NULL);
	store_close(s);
	if (unit_pg == NULL)
		return; /* nodes share PostgreSQL; one SQLite file, one node */
	/* an empty database, as before the first node */
	c = PQconnectdb(unit_pg);
	PQclear(PQexec(c, "SET client_min_messages = warning;"
			  "DROP SCHEMA public CASCADE;"
			  "CREATE SCHEMA public"));
	PQfinish(c);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, t_open_store, NULL);
	for (i = 0; i < 4; i++) {
		void *rv;
		pthread_join(t[i], &rv);
		CHECK((intptr_t)rv == store_schema_latest());
	}
	s = unit_store_reopen(T_DB);
	CHECK(s != NULL && store_schema_version(s) == store_schema_latest());
	store_close(s);
}

UNIT_TEST(test_a_conninfo_password_never_shows_in_an_error)
{
	static const char *const bad[] = {
		/* refused: libpq's message names host and port */
		"host=127.0.0.1 port=1 dbname=postern user=postern "
		"password=s3cretPW1 connect_timeout=2",
		/* cannot be parsed: libpq's message would quote it */
		"host=127.0.0.1 password=s3cretPW1 oops",
		"postgresql://postern:s3cretPW1@127.0.0.1:1/postern?bogus=1",
	};
	char err[512];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(db_open("postgresql", bad[i], err, sizeof(err)) == NULL);
		CHECK(err[0] != '\0');
		CHECK(strstr(err, "s3cretPW1") == NULL);
	}
}
