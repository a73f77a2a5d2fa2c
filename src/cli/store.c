/*
 * `postern store migrate` and `postern store copy --to CONNINFO`: the
 * store itself, apart from the provisioning table (admin.c). migrate
 * brings the configured store to this postern's schema (every node and
 * command also does it on open; this is for doing it by hand, before an
 * upgrade's first start). copy moves a SQLite store into an empty
 * PostgreSQL database (store_copy.c); the master key is copied by hand
 * (README: "Several nodes on one PostgreSQL").
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/str.h"

static const char *
cli_store_target(const struct conf *c)
{
	return strcmp(c->store_driver, "sqlite") == 0 ? c->store_path
						      : c->store_conninfo;
}

static int
cli_store_migrate(struct cli_global *g, const struct conf *c)
{
	char err[1024];
	struct store *st;
	int v;

	if ((st = store_open(c->store_driver, cli_store_target(c), err,
		 sizeof(err))) == NULL) {
		fprintf(stderr, "postern: %s\n", err);
		return 1;
	}
	v = store_schema_version(st);
	store_close(st);
	if (g->json)
		printf("{\n  \"driver\": \"%s\",\n  \"version\": %d\n}\n",
		    c->store_driver, v);
	else
		printf("store: %s, schema version %d\n", c->store_driver, v);
	return v == store_schema_latest() ? 0 : 1;
}

static void
cli_store_progress(const char *table, int64_t rows, void *arg)
{
	int json = *(int *)arg;

	if (!json)
		printf("  %-16s %lld rows\n", table, (long long)rows);
}

/* CONNINFO, or "-": its one line from stdin (a password kept out of the
 * process list; a passfile is better still) */
static int
cli_store_conninfo(const char *arg, char *out, size_t len)
{
	if (strcmp(arg, "-") != 0) {
		str_lcpy(out, arg, len);
		return 0;
	}
	if (fgets(out, (int)len, stdin) == NULL)
		return -1;
	out[strcspn(out, "\r\n")] = '\0';
	return 0;
}

static int
cli_store_copy(struct cli_global *g, const struct conf *c, const char *to)
{
	char err[1024], conninfo[sizeof(((struct conf *)0)->store_conninfo)];
	struct store *src = NULL, *dst = NULL;
	int rc = 1;

	if (cli_store_conninfo(to, conninfo, sizeof(conninfo)) == -1) {
		fprintf(stderr, "postern: no conninfo on stdin\n");
		return 1;
	}
	/* both at this postern's schema version before a row moves */
	if ((src = store_open("sqlite", c->store_path, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "postern: %s\n", err);
		goto out;
	}
	if ((dst = store_open("postgresql", conninfo, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "postern: %s\n", err);
		goto out;
	}
	if (!g->json)
		printf("copying %s into PostgreSQL\n", c->store_path);
	if (store_copy(src, dst, cli_store_progress, &g->json, err,
		sizeof(err)) == -1) {
		fprintf(stderr, "postern: store copy: %s (nothing copied)\n",
		    err);
		goto out;
	}
	if (g->json)
		printf("{\n  \"copied\": true,\n  \"version\": %d\n}\n",
		    store_schema_version(dst));
	else
		printf("done: schema version %d. Next: copy the master key "
		       "(%s, mode 0600) to every node,\nset [store] driver = "
		       "postgresql and conninfo, start the nodes.\n",
		    store_schema_version(dst), c->master_key);
	rc = 0;
out:
	store_close(src);
	store_close(dst);
	explicit_bzero(conninfo, sizeof(conninfo));
	return rc;
}

int
cli_store(struct cli_global *g, int argc, char **argv)
{
	struct conf c;
	int rc;

	if (argc == 1 && strcmp(argv[0], "migrate") == 0) {
		if (cli_load_conf(g, &c) == -1)
			return 1;
		return cli_store_migrate(g, &c);
	}
	if (argc == 3 && strcmp(argv[0], "copy") == 0 &&
	    strcmp(argv[1], "--to") == 0) {
		if (cli_load_conf(g, &c) == -1)
			return 1;
		rc = cli_store_copy(g, &c, argv[2]);
		return rc;
	}
	fprintf(stderr, "usage: postern store migrate\n"
			"       postern store copy --to CONNINFO|-\n");
	return 2;
}
