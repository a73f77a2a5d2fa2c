/* test_store: the store's rules, on a fresh SQLite file. */
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "store/store.h"

static struct store *
test_store(void)
{
	char err[256];

	unlink("/tmp/postern-unit.db");
	unlink("/tmp/postern-unit.db-wal");
	unlink("/tmp/postern-unit.db-shm");
	return store_open("sqlite", "/tmp/postern-unit.db", err, sizeof(err));
}

UNIT_TEST(test_schema_is_migrated_once_and_reopens)
{
	struct store *s = test_store();
	char err[256];

	CHECK(s != NULL);
	CHECK(store_schema_version(s) == 5);
	store_close(s);
	s = store_open("sqlite", "/tmp/postern-unit.db", err, sizeof(err));
	CHECK(s != NULL && store_schema_version(s) == 5);
	store_close(s);
}

UNIT_TEST(test_names_are_unique_across_domains_and_aliases)
{
	struct store *s = test_store();
	struct store_domain d;
	struct store_user u;
	struct addr a = { "Alice", "alice", "example.net" };
	int64_t id, id2;

	CHECK(store_domain_add(s, "example.org") == 0);
	CHECK(store_domain_add(s, "example.org") == STORE_EXISTS);
	CHECK(store_domain_get(s, "example.org", &d) == 0 && !d.is_alias);
	CHECK(store_domain_alias_add(s, "example.net", d.id) == 0);
	CHECK(store_domain_alias_add(s, "example.org", d.id) == STORE_EXISTS);
	CHECK(store_domain_add(s, "example.net") == STORE_EXISTS);
	CHECK(store_user_add(s, d.id, "Alice", "alice", &id) == 0);
	CHECK(store_user_add(s, d.id, "ALICE", "alice", &id2) == STORE_EXISTS);
	CHECK(store_user_alias_add(s, id, d.id, "alice", "alice") ==
	      STORE_EXISTS);
	CHECK(store_user_alias_add(s, id, d.id, "al", "al") == 0);
	CHECK(store_user_add(s, d.id, "al", "al", &id2) == STORE_EXISTS);
	/* found by the alias domain too */
	CHECK(store_user_get(s, &a, &u) == 0 && u.id == id);
	CHECK_STR(u.domain, "example.org");
	CHECK(store_user_has_name(s, id, d.id, "al"));
	CHECK(!store_user_has_name(s, id, d.id, "bob"));
	store_close(s);
}

UNIT_TEST(test_removing_a_domain_with_users_needs_force_and_cascades)
{
	struct store *s = test_store();
	struct store_domain d;
	int64_t id, users;

	store_domain_add(s, "example.org");
	store_domain_get(s, "example.org", &d);
	store_user_add(s, d.id, "bob", "bob", &id);
	store_smtp_set(s, id, 0, "h", "s", 1);
	CHECK(store_domain_remove(s, d.id, 0, &users) == STORE_EXISTS);
	CHECK(users == 1);
	CHECK(store_domain_remove(s, d.id, 1, &users) == 0);
	CHECK(store_domain_get(s, "example.org", &d) == STORE_NOTFOUND);
	CHECK(
	    store_smtp_get(s, id, 0, NULL, 0, NULL, 0, NULL) == STORE_NOTFOUND);
	store_close(s);
}

UNIT_TEST(test_new_smtp_credential_replaces_the_old)
{
	struct store *s = test_store();
	struct store_domain d;
	char h[64];
	int64_t id;

	store_domain_add(s, "example.org");
	store_domain_get(s, "example.org", &d);
	store_user_add(s, d.id, "bob", "bob", &id);
	CHECK(store_smtp_set(s, id, 0, "old", "x", 1) == 0);
	CHECK(store_smtp_set(s, id, 0, "new", "y", 2) == 0);
	CHECK(store_smtp_get(s, id, 0, h, sizeof(h), NULL, 0, NULL) == 0);
	CHECK_STR(h, "new");
	CHECK(store_smtp_set(s, 0, d.id, "dom", "z", 3) == 0);
	CHECK(store_smtp_get(s, 0, d.id, h, sizeof(h), NULL, 0, NULL) == 0);
	CHECK_STR(h, "dom");
	CHECK(store_smtp_get(s, id, 0, h, sizeof(h), NULL, 0, NULL) == 0);
	CHECK_STR(h, "new");
	store_close(s);
}

UNIT_TEST(test_quota_settings_inherit_when_unset)
{
	struct store *s = test_store();
	struct store_domain d;
	int64_t id, q[STORE_QUOTA_N], set[STORE_QUOTA_N] = { 10, -1, 500, -1 };

	store_domain_add(s, "example.org");
	store_domain_get(s, "example.org", &d);
	store_user_add(s, d.id, "bob", "bob", &id);
	CHECK(store_quota_get(s, id, 0, q) == 0 && q[0] == -1 && q[3] == -1);
	CHECK(store_quota_set(s, id, 0, set) == 0);
	CHECK(store_quota_get(s, id, 0, q) == 0);
	CHECK(q[0] == 10 && q[1] == -1 && q[2] == 500 && q[3] == -1);
	store_close(s);
	unlink("/tmp/postern-unit.db");
}
