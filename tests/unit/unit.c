/* unit: the runner's main. Tests run in the order they are defined. */
#include <stdlib.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "unit.h"
#include "auth/secret.h"
#include "store/store.h"

struct unit_test *unit_tests;
int unit_failed_now;
const char *unit_pg;
static int unit_used_store;

struct store *
unit_store_reopen(const char *path)
{
	char err[512];
	struct store *s;

	unit_used_store = 1;
	s = unit_pg ? store_open("postgresql", unit_pg, err, sizeof(err))
		    : store_open("sqlite", path, err, sizeof(err));
	if (s == NULL)
		printf("  store: %s\n", err);
	return s;
}

struct store *
unit_store_fresh(const char *path)
{
	char p[512];
	PGconn *c;
	PGresult *r;

	unit_used_store = 1;
	if (unit_pg == NULL) {
		unlink(path);
		snprintf(p, sizeof(p), "%s-wal", path);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", path);
		unlink(p);
		return unit_store_reopen(path);
	}
	c = PQconnectdb(unit_pg);
	r = PQexec(c, "SET client_min_messages = warning;"
		      "DROP SCHEMA public CASCADE; CREATE SCHEMA public");
	if (PQresultStatus(r) != PGRES_COMMAND_OK)
		printf("  store: %s", PQerrorMessage(c));
	PQclear(r);
	PQfinish(c);
	return unit_store_reopen(path);
}

static int
unit_run(struct unit_test *t, const char *suffix)
{
	unit_failed_now = 0;
	unit_used_store = 0;
	t->fn();
	if (unit_failed_now)
		printf("FAIL %s%s\n", t->name, suffix);
	return unit_failed_now;
}

int
main(int argc, char **argv)
{
	struct unit_test *t, *rev = NULL;
	int passed = 0, failed = 0;

	if (secret_init() == -1)
		return 1;
	while ((t = unit_tests) != NULL) { /* constructors ran in reverse */
		unit_tests = t->next;
		t->next = rev;
		rev = t;
	}
	for (t = rev; t; t = t->next) {
		if (argc > 1 && strstr(t->name, argv[1]) == NULL)
			continue;
		if (unit_run(t, ""))
			failed++;
		else
			passed++;
		if (!unit_used_store || getenv("POSTERN_TEST_PG") == NULL)
			continue;
		/* the same test on the other backend */
		unit_pg = getenv("POSTERN_TEST_PG");
		if (unit_run(t, "[postgresql]"))
			failed++;
		else
			passed++;
		unit_pg = NULL;
	}
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
