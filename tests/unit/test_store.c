/* test_store: the store's rules, on a fresh SQLite file, and again on
 * PostgreSQL (unit.h). */
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "unit.h"
#include "store/authlog.h"
#include "store/store.h"

static struct store *
test_store(void)
{
	return unit_store_fresh("/tmp/postern-unit.db");
}

UNIT_TEST(test_schema_is_migrated_once_and_reopens)
{
	struct store *s = test_store();

	CHECK(s != NULL);
	CHECK(store_schema_version(s) == store_schema_latest());
	store_close(s);
	s = unit_store_reopen("/tmp/postern-unit.db");
	CHECK(s != NULL && store_schema_version(s) == store_schema_latest());
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

UNIT_TEST(test_a_recipient_finds_the_mailbox_by_alias_and_alias_domain)
{
	struct store *s = test_store();
	struct store_domain d;
	struct store_user u;
	struct addr by_alias = { "Al", "al", "example.net" };
	struct addr own = { "alice", "alice", "example.org" };
	struct addr nobody = { "bob", "bob", "example.org" };
	struct addr elsewhere = { "alice", "alice", "example.com" };
	int64_t id;

	CHECK(store_domain_add(s, "example.org") == 0);
	CHECK(store_domain_get(s, "example.org", &d) == 0);
	CHECK(store_domain_alias_add(s, "example.net", d.id) == 0);
	CHECK(store_user_add(s, d.id, "Alice", "alice", &id) == 0);
	CHECK(store_user_alias_add(s, id, d.id, "Al", "al") == 0);
	CHECK(store_mailbox_user(s, &by_alias, &u) == 0 && u.id == id);
	CHECK_STR(u.local, "Alice");
	CHECK_STR(u.domain, "example.org");
	CHECK(store_mailbox_user(s, &own, &u) == 0 && u.id == id);
	CHECK(store_mailbox_user(s, &nobody, &u) == STORE_NOTFOUND);
	CHECK(store_mailbox_user(s, &elsewhere, &u) == STORE_NOTFOUND);
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

/* A store with example.org (alias example.net) and users alice (alias
 * al, a login password) and bob (blocked), and an empty other.org. */
static struct store *
test_store_people(struct store_domain *d, int64_t *alice, int64_t *bob)
{
	struct store *s = test_store();

	store_domain_add(s, "example.org");
	store_domain_add(s, "other.org");
	store_domain_get(s, "example.org", d);
	store_domain_alias_add(s, "example.net", d->id);
	store_user_add(s, d->id, "Alice", "alice", alice);
	store_user_add(s, d->id, "bob", "bob", bob);
	store_user_alias_add(s, *alice, d->id, "Al", "al");
	store_login_password_set(s, *alice, "$argon2id$x", 1);
	store_user_block(s, *bob, "spam run", 2);
	return s;
}

UNIT_TEST(test_every_list_of_a_fresh_store_is_empty_and_frees)
{
	struct store *s = test_store();
	struct store_domain_rows dl;
	struct store_name_rows nl;
	struct store_strings al, ul;
	struct store_user_rows usl;
	struct store_app_rows apl;
	struct store_token_rows tl;
	struct store_tos_rows tol;
	struct store_relay_rows rl;
	struct store_dkim_rows ksl, kpl;
	struct store_usage_rows qul;
	struct store_auth_rows aul;
	struct store_apikey_rows akl;

	CHECK(store_domain_list(s, &dl) == 0 && dl.n == 0);
	CHECK(store_domain_names(s, 1, &nl) == 0 && nl.n == 0);
	CHECK(store_user_aliases(s, 1, &al) == 0 && al.n == 0);
	CHECK(store_user_names(s, 1, &ul) == 0 && ul.n == 0);
	CHECK(store_user_list(s, 0, &usl) == 0 && usl.n == 0);
	CHECK(store_app_list(s, 1, &apl) == 0 && apl.n == 0);
	CHECK(store_token_list(s, 1, &tl) == 0 && tl.n == 0);
	CHECK(store_tos_acceptances(s, 1, &tol) == 0 && tol.n == 0);
	CHECK(store_relay_list(s, 0, &rl) == 0 && rl.n == 0);
	CHECK(store_dkim_signing(s, "example.org", &ksl) == 0 && ksl.n == 0);
	CHECK(store_dkim_published(s, 1, 0, &kpl) == 0 && kpl.n == 0);
	CHECK(store_usage_list(s, 0, 0, &qul) == 0 && qul.n == 0);
	CHECK(store_auth_list(s, NULL, 0, 0, 10, &aul) == 0 && aul.n == 0);
	CHECK(store_apikey_list(s, &akl) == 0 && akl.n == 0);
	store_domain_rows_free(&dl);
	store_name_rows_free(&nl);
	store_strings_free(&al);
	store_strings_free(&ul);
	store_user_rows_free(&usl);
	store_app_rows_free(&apl);
	store_token_rows_free(&tl);
	store_tos_rows_free(&tol);
	store_relay_rows_free(&rl);
	store_dkim_rows_free(&ksl);
	store_dkim_rows_free(&kpl);
	store_usage_rows_free(&qul);
	store_auth_rows_free(&aul);
	store_apikey_rows_free(&akl);
	/* a freed list is empty, and freeing it again is harmless */
	CHECK(dl.v == NULL && dl.n == 0);
	store_domain_rows_free(&dl);
	store_close(s);
}

UNIT_TEST(test_domain_list_counts_users_and_names_put_the_primary_first)
{
	struct store_domain d;
	int64_t alice, bob;
	struct store *s = test_store_people(&d, &alice, &bob);
	struct store_domain_rows l;
	struct store_name_rows n;

	CHECK(store_domain_list(s, &l) == 0 && l.n == 2);
	if (l.n == 2) {
		CHECK_STR(l.v[0].name, "example.org");
		CHECK(l.v[0].id == d.id && l.v[0].users == 2);
		CHECK(l.v[0].created > 0);
		CHECK_STR(l.v[1].name, "other.org");
		CHECK(l.v[1].users == 0);
	}
	store_domain_rows_free(&l);
	store_domain_alias_add(s, "example.com", d.id);
	CHECK(store_domain_names(s, d.id, &n) == 0 && n.n == 3);
	if (n.n == 3) {
		CHECK_STR(n.v[0].name, "example.org");
		CHECK(!n.v[0].is_alias);
		CHECK_STR(n.v[1].name, "example.com");
		CHECK_STR(n.v[2].name, "example.net");
		CHECK(n.v[1].is_alias && n.v[2].is_alias);
	}
	store_name_rows_free(&n);
	store_close(s);
}

UNIT_TEST(test_user_list_shows_a_reason_only_for_a_blocked_user)
{
	struct store_domain d;
	int64_t alice, bob;
	struct store *s = test_store_people(&d, &alice, &bob);
	struct store_user_rows l;
	struct store_strings al, names;

	CHECK(store_user_list(s, 0, &l) == 0 && l.n == 2);
	if (l.n == 2) {
		CHECK_STR(l.v[0].address, "Alice@example.org");
		CHECK(l.v[0].blocked_reason == NULL);
		CHECK(l.v[0].has_login_password == 1);
		CHECK(l.v[0].has_smtp_password == 0);
		CHECK_STR(l.v[1].address, "bob@example.org");
		CHECK_STR(l.v[1].blocked_reason, "spam run");
		CHECK(l.v[1].has_login_password == 0);
	}
	store_user_rows_free(&l);
	/* another domain's users are left out */
	store_domain_get(s, "other.org", &d);
	CHECK(store_user_list(s, d.id, &l) == 0 && l.n == 0);
	store_user_rows_free(&l);
	/* aliases as given; names folded, the primary first */
	CHECK(store_user_aliases(s, alice, &al) == 0 && al.n == 1);
	if (al.n == 1)
		CHECK_STR(al.v[0], "Al");
	CHECK(store_user_names(s, alice, &names) == 0 && names.n == 2);
	if (names.n == 2) {
		CHECK_STR(names.v[0], "alice");
		CHECK_STR(names.v[1], "al");
	}
	store_strings_free(&al);
	store_strings_free(&names);
	store_close(s);
}

UNIT_TEST(test_credential_lists_show_unset_times_as_zero)
{
	struct store_domain d;
	int64_t alice, bob;
	struct store *s = test_store_people(&d, &alice, &bob);
	struct store_app_rows a;
	struct store_token_rows t;
	struct store_apikey_rows k;

	store_app_add(s, alice, "phone", "h1", 10);
	store_app_add(s, alice, "laptop", "h2", 11);
	store_app_revoke(s, alice, "phone", 12);
	CHECK(store_app_list(s, alice, &a) == 0 && a.n == 2);
	if (a.n == 2) {
		CHECK_STR(a.v[0].label, "phone");
		CHECK(a.v[0].created == 10 && a.v[0].revoked == 12);
		CHECK(a.v[0].last_used == 0);
		CHECK_STR(a.v[1].label, "laptop");
		CHECK(a.v[1].revoked == 0);
	}
	store_app_rows_free(&a);
	CHECK(store_app_list(s, bob, &a) == 0 && a.n == 0);
	store_app_rows_free(&a);

	store_token_add(s, "tok1", alice, "h", "smtp imap", 20, 3620);
	store_token_revoke(s, "tok1", 30);
	CHECK(store_token_list(s, alice, &t) == 0 && t.n == 1);
	if (t.n == 1) {
		CHECK_STR(t.v[0].id, "tok1");
		CHECK_STR(t.v[0].scope, "smtp imap");
		CHECK(t.v[0].created == 20 && t.v[0].expires == 3620);
		CHECK(t.v[0].revoked == 30);
	}
	store_token_rows_free(&t);

	store_apikey_add(s, "ops", "hk1", 40);
	store_apikey_add(s, "old", "hk2", 41);
	store_apikey_revoke(s, "old", 42);
	CHECK(store_apikey_list(s, &k) == 0 && k.n == 2);
	if (k.n == 2) {
		CHECK_STR(k.v[0].name, "ops");
		CHECK(k.v[0].revoked == 0 && k.v[0].last_used == 0);
		CHECK_STR(k.v[1].name, "old");
		CHECK(k.v[1].revoked == 42);
	}
	store_apikey_rows_free(&k);
	store_close(s);
}

UNIT_TEST(test_terms_and_relay_lists_read_back_what_was_stored)
{
	struct store_domain d, o;
	int64_t alice, bob, v1, v2;
	struct store *s = test_store_people(&d, &alice, &bob);
	struct store_tos_rows t;
	struct store_relay_rows r;

	store_tos_add(s, "one", 50, &v1);
	store_tos_add(s, "two", 51, &v2);
	store_tos_accept(s, alice, v1, 52, "192.0.2.7");
	store_tos_accept(s, alice, v2, 53, NULL);
	CHECK(store_tos_acceptances(s, alice, &t) == 0 && t.n == 2);
	if (t.n == 2) {
		CHECK(t.v[0].version == v1 && t.v[0].accepted == 52);
		CHECK_STR(t.v[0].ip, "192.0.2.7");
		CHECK(t.v[1].version == v2 && t.v[1].ip == NULL);
	}
	store_tos_rows_free(&t);

	store_domain_get(s, "other.org", &o);
	store_relay_add(s, d.id, "192.0.2.0/24", 60);
	store_relay_add(s, o.id, "2001:db8::/32", 61);
	CHECK(store_relay_list(s, 0, &r) == 0 && r.n == 2);
	if (r.n == 2) {
		CHECK_STR(r.v[0].domain, "example.org");
		CHECK_STR(r.v[0].cidr, "192.0.2.0/24");
		CHECK(r.v[0].created == 60);
		CHECK_STR(r.v[1].domain, "other.org");
	}
	store_relay_rows_free(&r);
	CHECK(store_relay_list(s, o.id, &r) == 0 && r.n == 1);
	if (r.n == 1)
		CHECK_STR(r.v[0].cidr, "2001:db8::/32");
	store_relay_rows_free(&r);
	store_close(s);
}

UNIT_TEST(test_a_retired_dkim_key_stops_signing_but_stays_published)
{
	struct store_domain d;
	int64_t alice, bob;
	struct store *s = test_store_people(&d, &alice, &bob);
	struct store_dkim_rows l;

	store_dkim_add(s, "example.org", "s1", "ed25519", "/k/ed.pem", 70);
	store_dkim_add(s, "example.org", "s1r", "rsa", "/k/rsa.pem", 71);
	store_dkim_add(s, "example.net", "s1", "rsa", "/k/net.pem", 72);
	/* RSA first */
	CHECK(store_dkim_signing(s, "example.org", &l) == 0 && l.n == 2);
	if (l.n == 2) {
		CHECK_STR(l.v[0].alg, "rsa");
		CHECK_STR(l.v[0].selector, "s1r");
		CHECK_STR(l.v[0].path, "/k/rsa.pem");
		CHECK_STR(l.v[1].alg, "ed25519");
		CHECK(l.v[1].retired == 0 && l.v[1].publish_until == 0);
	}
	store_dkim_rows_free(&l);
	store_dkim_retire(s, "example.org", 80, 1000);
	CHECK(store_dkim_signing(s, "example.org", &l) == 0 && l.n == 0);
	store_dkim_rows_free(&l);
	/* the primary name's keys first; retired ones until publish_until */
	CHECK(store_dkim_published(s, d.id, 999, &l) == 0 && l.n == 3);
	if (l.n == 3) {
		CHECK_STR(l.v[0].name, "example.org");
		CHECK(l.v[0].retired == 80 && l.v[0].publish_until == 1000);
		CHECK_STR(l.v[2].name, "example.net");
		CHECK(l.v[2].retired == 0 && l.v[2].created == 72);
	}
	store_dkim_rows_free(&l);
	CHECK(store_dkim_published(s, d.id, 1000, &l) == 0 && l.n == 1);
	store_dkim_rows_free(&l);
	store_close(s);
}

UNIT_TEST(test_usage_rows_name_their_owner_with_zero_for_the_other)
{
	struct store_domain d;
	int64_t alice, bob;
	struct store *s = test_store_people(&d, &alice, &bob);
	struct store_usage_rows l;

	store_usage_put(s, alice, 0, "messages_hour", 3600, 4);
	store_usage_put(s, 0, d.id, "messages_day", 86400, 9);
	CHECK(store_usage_list(s, 0, 0, &l) == 0 && l.n == 2);
	store_usage_rows_free(&l);
	CHECK(store_usage_list(s, alice, 0, &l) == 0 && l.n == 1);
	if (l.n == 1) {
		CHECK(l.v[0].user_id == alice && l.v[0].domain_id == 0);
		CHECK_STR(l.v[0].counter, "messages_hour");
		CHECK(l.v[0].window == 3600 && l.v[0].n == 4);
	}
	store_usage_rows_free(&l);
	CHECK(store_usage_list(s, 0, d.id, &l) == 0 && l.n == 1);
	if (l.n == 1) {
		CHECK(l.v[0].user_id == 0 && l.v[0].domain_id == d.id);
		CHECK(l.v[0].n == 9);
	}
	store_usage_rows_free(&l);
	store_close(s);
}

UNIT_TEST(test_auth_list_is_newest_first_and_filters)
{
	struct store *s = test_store();
	static const struct store_auth_event ev[] = {
		{ 100, "alice@example.org", "192.0.2.1", "PLAIN",
		    STORE_CRED_SMTP, "ok", NULL, "node-a" },
		{ 200, "Alice@example.org", "192.0.2.2", "LOGIN", NULL, "fail",
		    "wrong password", "node-a" },
		{ 300, "bob@example.org", "192.0.2.3", "PLAIN", NULL, "fail",
		    "no such user", "node-b" },
	};
	static const struct {
		const char *label, *login;
		int64_t since;
		int failed;
		int64_t limit;
		size_t n;
		int64_t first;
	} cases[] = {
		{ "every event, newest first", NULL, 0, 0, 10, 3, 300 },
		{ "one login, any case", "ALICE@example.org", 0, 0, 10, 2,
		    200 },
		{ "failures only", NULL, 0, 1, 10, 2, 300 },
		{ "since a time", NULL, 150, 0, 10, 2, 300 },
		{ "at most limit", NULL, 0, 0, 1, 1, 300 },
		{ "nothing since", NULL, 301, 0, 10, 0, 0 },
	};
	struct store_auth_rows l;
	size_t i;

	for (i = 0; i < sizeof(ev) / sizeof(ev[0]); i++)
		store_auth_log(s, &ev[i]);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (store_auth_list(s, cases[i].login, cases[i].since,
			cases[i].failed, cases[i].limit, &l) != 0 ||
		    l.n != cases[i].n ||
		    (l.n > 0 && l.v[0].time != cases[i].first)) {
			printf("  FAIL %s: %zu rows\n", cases[i].label, l.n);
			unit_failed_now = 1;
		}
		store_auth_rows_free(&l);
	}
	CHECK(store_auth_list(s, NULL, 0, 0, 10, &l) == 0 && l.n == 3);
	if (l.n == 3) {
		CHECK_STR(l.v[1].login, "Alice@example.org");
		CHECK_STR(l.v[1].ip, "192.0.2.2");
		CHECK_STR(l.v[1].mech, "LOGIN");
		CHECK(l.v[1].kind == NULL);
		CHECK_STR(l.v[1].outcome, "fail");
		CHECK_STR(l.v[1].reason, "wrong password");
		CHECK_STR(l.v[2].kind, STORE_CRED_SMTP);
		CHECK(l.v[2].reason == NULL);
	}
	store_auth_rows_free(&l);
	store_close(s);
}

/* The batch writer: events queued from many threads are all in the
 * table once a reader of this process looks (authlog_sync), NULLs stay
 * NULL, and stopping writes what is left. */
static void *
authlog_producer(void *arg)
{
	int i, base = *(int *)arg;
	char login[64];

	for (i = 0; i < 500; i++) {
		struct store_auth_event e = { 1700000000 + base + i, login,
			"192.0.2.1", "PLAIN", "smtp_password", "failed", NULL,
			NULL };
		snprintf(login, sizeof(login), "user%d@example.org", base + i);
		if (authlog_queue(&e) == -1)
			return arg; /* a full queue: the caller writes */
	}
	return NULL;
}

UNIT_TEST(test_auth_events_are_written_in_batches_and_none_is_lost)
{
	struct store *s = test_store(), *w;
	pthread_t t[4];
	int bases[4] = { 0, 1000, 2000, 3000 }, i, full = 0;
	struct store_auth_rows l;
	struct store_auth_event late = { 1700009999, "late@example.org",
		"192.0.2.9", "panel", NULL, "ok", NULL, NULL };

	w = unit_store_reopen("/tmp/postern-unit.db");
	CHECK(s != NULL && w != NULL);
	CHECK(authlog_start(w) == 0);
	for (i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, authlog_producer, &bases[i]);
	for (i = 0; i < 4; i++) {
		void *rv;
		pthread_join(t[i], &rv);
		full += rv != NULL;
	}
	CHECK(full == 0);
	CHECK(store_auth_list(s, NULL, 0, 0, 10000, &l) == 0 && l.n == 2000);
	CHECK(l.n > 0 && l.v[0].reason == NULL &&
	      strcmp(l.v[0].outcome, "failed") == 0);
	store_auth_rows_free(&l);
	/* queued just before the stop: written by it */
	CHECK(store_auth_log(s, &late) == 0);
	authlog_stop();
	CHECK(store_auth_list(s, "late@example.org", 0, 0, 10, &l) == 0 &&
	      l.n == 1 && l.v[0].kind == NULL);
	store_auth_rows_free(&l);
	/* without the writer, written at once */
	late.time++;
	CHECK(store_auth_log(s, &late) == 0);
	CHECK(store_auth_list(s, "late@example.org", 0, 0, 10, &l) == 0 &&
	      l.n == 2);
	store_auth_rows_free(&l);
	store_close(s);
}

UNIT_TEST(test_a_mailbox_quota_is_the_users_own_else_the_domains_default)
{
	struct store *s = test_store();
	struct store_domain d;
	int64_t id, b = 7;

	CHECK(store_domain_add(s, "example.org") == 0);
	CHECK(store_domain_get(s, "example.org", &d) == 0);
	CHECK(store_user_add(s, d.id, "bob", "bob", &id) == 0);
	CHECK(store_mailbox_quota_resolve(s, id, &b) == 0 && b == 0);
	CHECK(store_mailbox_quota_set(s, 0, d.id, 1024) == 0);
	CHECK(store_mailbox_quota_resolve(s, id, &b) == 0 && b == 1024);
	CHECK(store_mailbox_quota_get(s, id, 0, &b) == 0 && b == -1);
	CHECK(store_mailbox_quota_set(s, id, 0, 0) == 0); /* none: own */
	CHECK(store_mailbox_quota_resolve(s, id, &b) == 0 && b == 0);
	CHECK(store_mailbox_quota_set(s, id, 0, 2048) == 0);
	CHECK(store_mailbox_quota_resolve(s, id, &b) == 0 && b == 2048);
	CHECK(store_mailbox_quota_set(s, id + 1, 0, 1) == STORE_NOTFOUND);
	CHECK(store_mailbox_quota_resolve(s, id + 1, &b) == STORE_NOTFOUND);
	store_close(s);
}

UNIT_TEST(test_mailbox_usage_is_counted_by_dovecot_then_added_to)
{
	struct store *s = test_store();
	struct store_domain d;
	struct store_mailbox_change inc = { .add_bytes = 100,
		.add_messages = 1 };
	struct store_mailbox_change set = { .set_bytes = 1,
		.set_messages = 1,
		.unset = 1,
		.bytes = 500,
		.messages = 3 };
	struct store_mailbox_change unset = { .unset = 1 };
	struct store_mailbox_change down = { .add_bytes = -10000,
		.add_messages = -1 };
	int64_t id, b, m;

	CHECK(store_domain_add(s, "example.org") == 0);
	CHECK(store_domain_get(s, "example.org", &d) == 0);
	CHECK(store_user_add(s, d.id, "bob", "bob", &id) == 0);
	/* never counted: adding asks Dovecot to count */
	CHECK(store_mailbox_usage_get(s, id, &b, &m) == STORE_NOTFOUND);
	CHECK(store_mailbox_usage_write(s, id, &inc, 1) == STORE_NOTFOUND);
	CHECK(store_mailbox_usage_write(s, id, &set, 1) == 0);
	CHECK(store_mailbox_usage_write(s, id, &inc, 2) == 0);
	CHECK(
	    store_mailbox_usage_get(s, id, &b, &m) == 0 && b == 600 && m == 4);
	/* never below zero */
	CHECK(store_mailbox_usage_write(s, id, &down, 3) == 0);
	CHECK(store_mailbox_usage_get(s, id, &b, &m) == 0 && b == 0 && m == 3);
	CHECK(store_mailbox_usage_write(s, id, &unset, 4) == 0);
	CHECK(store_mailbox_usage_get(s, id, &b, &m) == STORE_NOTFOUND);
	/* a user who is gone */
	CHECK(store_mailbox_usage_write(s, id + 1, &set, 1) == STORE_NOTFOUND);
	CHECK(store_user_remove(s, id) == 0);
	store_close(s);
}

UNIT_TEST(test_two_nodes_add_their_counts_and_both_count)
{
	struct store *s = test_store();
	struct store *t = unit_store_reopen("/tmp/postern-unit.db");
	struct store_domain d;
	struct store_usage_rows l;
	int64_t id, tot = 0, win = 0, seq1, seq2;

	CHECK(s != NULL && t != NULL);
	CHECK(store_domain_add(s, "example.org") == 0);
	CHECK(store_domain_get(s, "example.org", &d) == 0);
	CHECK(store_user_add(s, d.id, "alice", "alice", &id) == 0);
	/* node 1 adds 3, node 2 adds 2: 5, whatever the order */
	CHECK(store_begin(s) == 0);
	CHECK((seq1 = store_seq_next(s, "usage")) > 0);
	CHECK(store_usage_add(s, id, 0, "messages_day", 86400, 3, seq1, &tot,
		  &win) == 0 &&
	      tot == 3 && win == 86400);
	CHECK(store_commit(s) == 0);
	CHECK(store_begin(t) == 0);
	CHECK((seq2 = store_seq_next(t, "usage")) == seq1 + 1);
	CHECK(store_usage_add(t, id, 0, "messages_day", 86400, 2, seq2, &tot,
		  &win) == 0 &&
	      tot == 5);
	CHECK(store_commit(t) == 0);
	/* a count of an older window is not written over a newer one; a
	 * newer window starts again */
	CHECK(store_usage_add(s, id, 0, "messages_day", 0, 9, seq2, &tot,
		  &win) == 0 &&
	      tot == 5 && win == 86400);
	CHECK(store_usage_add(s, id, 0, "messages_day", 172800, 1, seq2, &tot,
		  &win) == 0 &&
	      tot == 1 && win == 172800);
	/* the other node reads what changed after the number it saw */
	CHECK(store_usage_since(t, seq1, &l) == 0 && l.n == 1 &&
	      l.v[0].n == 1 && l.v[0].seq == seq2);
	store_usage_rows_free(&l);
	CHECK(store_usage_add(s, 999, 0, "messages_day", 86400, 1, seq2, &tot,
		  &win) == STORE_NOTFOUND);
	store_close(t);
	store_close(s);
}

UNIT_TEST(test_a_block_is_numbered_for_the_other_nodes_to_find)
{
	struct store *s = test_store();
	struct store_domain d;
	struct store_block_rows b;
	int64_t id, seen;

	CHECK(s != NULL);
	CHECK(store_domain_add(s, "example.org") == 0);
	CHECK(store_domain_get(s, "example.org", &d) == 0);
	CHECK(store_user_add(s, d.id, "alice", "alice", &id) == 0);
	CHECK(store_blocks_since(s, 0, &b) == 0 && b.n == 0);
	store_block_rows_free(&b);
	CHECK(store_user_block(s, id, "spam", 100) == 0);
	CHECK(store_blocks_since(s, 0, &b) == 0 && b.n == 1 &&
	      b.v[0].user_id == id && b.v[0].blocked == 1);
	seen = b.v[0].seq;
	store_block_rows_free(&b);
	CHECK(store_user_autoblock(s, id, "again", 101) == 0); /* already */
	CHECK(store_user_unblock(s, id) == 0);
	CHECK(store_blocks_since(s, seen, &b) == 0 && b.n == 1 &&
	      b.v[0].blocked == 0 && b.v[0].seq > seen);
	store_block_rows_free(&b);
	CHECK(store_user_autoblock(s, id, "rule", 102) == 1);
	store_close(s);
}

UNIT_TEST(test_failed_logins_add_up_and_refuse_an_address_once)
{
	struct store *s = test_store();
	struct store_bf_row r;
	struct store_bf_rows l;
	const char *h = "00112233445566778899aabbccddeeff";

	CHECK(s != NULL);
	CHECK(store_bf_add(s, 0, 0, h, NULL, 3, 1000, 100, 1000, 6, 900, 1,
		  &r) == 0 &&
	      r.fails == 3 && r.refused_until == 0);
	/* another node's 3: six, refused from now, the count starts again */
	CHECK(store_bf_add(s, 0, 0, h, NULL, 3, 1001, 101, 1001, 6, 900, 2,
		  &r) == 0 &&
	      r.fails == 0 && r.refused_until == 1901);
	CHECK(store_bf_since(s, 1, &l) == 0 && l.n == 1 &&
	      l.v[0].refused_until == 1901 && l.v[0].seq == 2);
	store_bf_rows_free(&l);
	/* a count past its window starts again (not while refused) */
	CHECK(store_bf_add(s, 0, 1, h, NULL, 2, 1000, 100, 1000, 0, 900, 3,
		  &r) == 0 &&
	      r.fails == 2);
	CHECK(store_bf_add(s, 0, 1, h, NULL, 1, 5000, 4000, 5000, 0, 900, 4,
		  &r) == 0 &&
	      r.fails == 1);
	CHECK(store_bf_prune(s, 6000, 6000) == 0);
	CHECK(store_bf_since(s, 0, &l) == 0 && l.n == 0);
	store_bf_rows_free(&l);
	store_close(s);
}

UNIT_TEST(test_a_sqlite_store_is_copied_whole_into_an_empty_postgresql_one)
{
	struct store *dst = test_store(), *src;
	struct store_domain d;
	struct store_user u;
	struct addr al = { "al", "al", "example.net" };
	char err[256];
	int64_t id, v;

	if (unit_pg == NULL) { /* the target is PostgreSQL: its pass only */
		store_close(dst);
		return;
	}
	/* the source: a SQLite file, whatever the pass */
	unit_pg = NULL;
	src = unit_store_fresh("/tmp/postern-unit-copy.db");
	unit_pg = getenv("POSTERN_TEST_PG");
	CHECK(src != NULL && dst != NULL);
	if (src == NULL || dst == NULL)
		goto out;
	CHECK(store_domain_add(src, "example.org") == 0);
	CHECK(store_domain_get(src, "example.org", &d) == 0);
	CHECK(store_domain_alias_add(src, "example.net", d.id) == 0);
	CHECK(store_user_add(src, d.id, "alice", "alice", &id) == 0);
	CHECK(store_user_alias_add(src, id, d.id, "al", "al") == 0);
	CHECK(store_user_add(src, d.id, "bob", "bob", &id) == 0);
	CHECK(store_tos_add(src, "terms", 1, &v) == 0 && v == 1);
	/* a row as a migration might seed: replaced by the source's */
	CHECK(store_tos_add(dst, "seeded", 1, &v) == 0);
	CHECK(store_copy(src, dst, NULL, NULL, err, sizeof(err)) == 0);
	/* by the alias at the alias domain: both came along */
	CHECK(store_mailbox_user(dst, &al, &u) == 0 && u.id == 1);
	CHECK_STR(u.local, "alice");
	CHECK(store_tos_current(dst, NULL) == 1);
	/* new rows take ids past the copied ones */
	CHECK(store_user_add(dst, d.id, "carol", "carol", &id) == 0 && id == 3);
	/* a target in use is refused, and keeps what it has */
	CHECK(store_copy(src, dst, NULL, NULL, err, sizeof(err)) == -1);
	CHECK(strstr(err, "not empty") != NULL);
	CHECK(store_mailbox_user(dst, &al, &u) == 0);
out:
	store_close(src);
	store_close(dst);
}

UNIT_TEST(test_a_forwarding_target_is_confirmed_once_and_only_then_forwarded_to)
{
	struct store *s = test_store();
	struct store_domain d;
	struct store_strings t;
	struct store_forward_rows rows;
	char addr[ADDR_MAX + 1];
	int64_t id, who = 0;
	int only = -1;

	CHECK(store_domain_add(s, "example.org") == 0);
	CHECK(store_domain_get(s, "example.org", &d) == 0);
	CHECK(store_user_add(s, d.id, "alice", "alice", &id) == 0);
	CHECK(store_forward_add(s, id, "Friend@target.test",
		  "friend@target.test", "h1", 100, 200, 2) == 0);
	/* one row per folded address; a bounded count */
	CHECK(store_forward_add(s, id, "FRIEND@target.test",
		  "friend@target.test", "h2", 100, 200, 2) == STORE_EXISTS);
	CHECK(store_forward_add(s, id, "b@target.test", "b@target.test", "h3",
		  100, 200, 2) == 0);
	CHECK(store_forward_add(s, id, "c@target.test", "c@target.test", "h4",
		  100, 200, 2) == STORE_LIMIT);
	/* pending: nothing goes there */
	CHECK(store_forward_targets(s, id, &t) == 0 && t.n == 0);
	store_strings_free(&t);
	/* a live token shows its target; an expired or unknown one not */
	CHECK(
	    store_forward_pending(s, "h1", 150, &who, addr, sizeof(addr)) == 0);
	CHECK(who == id);
	CHECK_STR(addr, "Friend@target.test");
	CHECK(store_forward_pending(s, "h1", 200, &who, addr, sizeof(addr)) ==
	      STORE_NOTFOUND);
	CHECK(store_forward_confirm(s, "nope", 150, &who, addr, sizeof(addr)) ==
	      STORE_NOTFOUND);
	CHECK(store_forward_confirm(s, "h3", 250, &who, addr, sizeof(addr)) ==
	      STORE_NOTFOUND);
	/* a new token ends the old one */
	CHECK(
	    store_forward_retoken(s, id, "friend@target.test", "h5", 300) == 0);
	CHECK(store_forward_confirm(s, "h1", 150, &who, addr, sizeof(addr)) ==
	      STORE_NOTFOUND);
	CHECK(
	    store_forward_confirm(s, "h5", 150, &who, addr, sizeof(addr)) == 0);
	CHECK_STR(addr, "Friend@target.test");
	/* once */
	CHECK(store_forward_confirm(s, "h5", 150, &who, addr, sizeof(addr)) ==
	      STORE_NOTFOUND);
	CHECK(store_forward_retoken(s, id, "friend@target.test", "h6", 300) ==
	      STORE_NOTFOUND);
	CHECK(store_forward_targets(s, id, &t) == 0 && t.n == 1);
	CHECK_STR(t.v[0], "Friend@target.test");
	store_strings_free(&t);
	CHECK(store_forward_list(s, id, &rows) == 0 && rows.n == 2);
	CHECK(rows.v[0].confirmed == 150 && rows.v[1].confirmed == 0);
	store_forward_rows_free(&rows);
	CHECK(store_forward_mode_get(s, id, &only) == 0 && only == 0);
	CHECK(store_forward_mode_set(s, id, 1) == 0);
	CHECK(store_forward_mode_get(s, id, &only) == 0 && only == 1);
	CHECK(store_forward_remove(s, id, "friend@target.test") == 0);
	CHECK(store_forward_remove(s, id, "friend@target.test") ==
	      STORE_NOTFOUND);
	/* the user's removal takes the rest */
	CHECK(store_user_remove(s, id) == 0);
	CHECK(store_forward_list(s, id, &rows) == 0 && rows.n == 0);
	store_forward_rows_free(&rows);
	store_close(s);
}
