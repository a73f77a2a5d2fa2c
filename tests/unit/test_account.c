/* test_account: two-step sign-in and password links on a real store. */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "unit.h"
#include "admin/account.h"
#include "auth/secret.h"
#include "auth/totp.h"
#include "store/store.h"
#include "util/conf.h"

struct fixture {
	struct store *s;
	struct secret_keys keys;
	struct conf conf;
	struct admin_ctx ctx;
	int64_t uid;
};

static int
fixture_open(struct fixture *f)
{
	char err[256];
	struct store_domain d;

	memset(f, 0, sizeof(*f));
	unlink("/tmp/postern-unit-acct.key");
	if (secret_master_create("/tmp/postern-unit-acct.key") == -1 ||
	    secret_master_load("/tmp/postern-unit-acct.key", &f->keys, err,
		sizeof(err)) == -1)
		return -1;
	f->s = unit_store_fresh("/tmp/postern-unit-acct.db");
	if (f->s == NULL)
		return -1;
	conf_defaults(&f->conf, "/tmp");
	f->ctx.store = f->s;
	f->ctx.keys = &f->keys;
	f->ctx.conf = &f->conf;
	f->ctx.actor = "panel";
	f->ctx.ip = "127.0.0.1";
	if (store_domain_add(f->s, "example.org") != 0 ||
	    store_domain_get(f->s, "example.org", &d) != 0 ||
	    store_user_add(f->s, d.id, "alice", "alice", &f->uid) != 0)
		return -1;
	return 0;
}

static void
fixture_close(struct fixture *f)
{
	store_close(f->s);
	unlink("/tmp/postern-unit-acct.key");
}

/* The enrolment's key back from its base32 secret. */
static size_t
key_of(json_t *o, unsigned char *key)
{
	size_t n = 0;

	totp_b32_decode(json_string_value(json_object_get(o, "secret")), key,
	    TOTP_KEY_MAX, &n);
	return n;
}

UNIT_TEST(test_totp_enrolment_needs_a_right_code_and_each_code_works_once)
{
	struct fixture f;
	struct admin_err err;
	unsigned char key[TOTP_KEY_MAX];
	json_t *o = NULL, *codes = NULL;
	char code[9], rc[TOTP_RECOVERY_LEN + 1];
	int64_t now = (int64_t)time(NULL);
	size_t n;

	CHECK(fixture_open(&f) == 0);
	CHECK(account_totp_enabled(&f.ctx, f.uid) == 0);
	CHECK(account_totp_begin(&f.ctx, f.uid, "alice@example.org", &o,
		  &err) == 0);
	n = key_of(o, key);
	CHECK(n == TOTP_KEY_LEN);
	json_decref(o);
	/* pending: no sign-in asks for a code yet */
	CHECK(account_totp_enabled(&f.ctx, f.uid) == 0);
	CHECK(
	    account_totp_confirm(&f.ctx, f.uid, "000000x", &codes, &err) == -1);
	CHECK(err.status == 400);
	CHECK(totp_code(key, n, now, code) == 0);
	CHECK(account_totp_confirm(&f.ctx, f.uid, code, &codes, &err) == 0);
	CHECK(json_array_size(json_object_get(codes, "recovery_codes")) ==
	      TOTP_RECOVERY_N);
	CHECK(account_totp_enabled(&f.ctx, f.uid) == 1);
	/* a second enrolment is refused while it is on */
	o = NULL;
	CHECK(account_totp_begin(&f.ctx, f.uid, "alice@example.org", &o,
		  &err) == -1);
	CHECK(err.status == 409 && o == NULL);
	/* the confirming code is spent; the next step's works once */
	CHECK(account_totp_check(&f.ctx, f.uid, code, &err) == -1);
	CHECK(err.status == 401);
	CHECK(totp_code(key, n, now + 30, code) == 0);
	CHECK(account_totp_check(&f.ctx, f.uid, code, &err) == 0);
	CHECK(account_totp_check(&f.ctx, f.uid, code, &err) == -1);
	/* a recovery code works once */
	strcpy(rc, json_string_value(json_array_get(
		       json_object_get(codes, "recovery_codes"), 3)));
	CHECK(account_totp_check(&f.ctx, f.uid, rc, &err) == 0);
	CHECK(account_totp_check(&f.ctx, f.uid, rc, &err) == -1);
	CHECK(store_totp_recovery_left(f.s, f.uid) == TOTP_RECOVERY_N - 1);
	/* off with another recovery code: everything goes */
	strcpy(rc, json_string_value(json_array_get(
		       json_object_get(codes, "recovery_codes"), 4)));
	CHECK(account_totp_disable(&f.ctx, f.uid, rc, &err) == 0);
	CHECK(account_totp_enabled(&f.ctx, f.uid) == 0);
	CHECK(store_totp_recovery_left(f.s, f.uid) == 0);
	json_decref(codes);
	fixture_close(&f);
}

UNIT_TEST(test_sign_in_ticket_ends_after_use_and_after_five_wrong_codes)
{
	struct fixture f;
	struct admin_err err;
	unsigned char key[TOTP_KEY_MAX];
	char ticket[ACCOUNT_TOKEN_LEN + 1], code[9];
	int64_t now = (int64_t)time(NULL), uid = 0;
	json_t *o = NULL, *codes = NULL;
	size_t n;
	int i;

	CHECK(fixture_open(&f) == 0);
	CHECK(account_totp_begin(&f.ctx, f.uid, "alice@example.org", &o,
		  &err) == 0);
	n = key_of(o, key);
	json_decref(o);
	CHECK(totp_code(key, n, now, code) == 0);
	CHECK(account_totp_confirm(&f.ctx, f.uid, code, &codes, &err) == 0);
	json_decref(codes);
	CHECK(account_ticket_new(&f.ctx, f.uid, ticket, &err) == 0);
	CHECK(strlen(ticket) == ACCOUNT_TOKEN_LEN);
	CHECK(totp_code(key, n, now + 30, code) == 0);
	CHECK(account_ticket_take(&f.ctx, ticket, code, &uid, &err) == 0);
	CHECK(uid == f.uid);
	CHECK(account_ticket_take(&f.ctx, ticket, code, &uid, &err) == -1);
	CHECK(err.status == 401);
	/* five wrong codes end a ticket, even before the right one */
	CHECK(account_ticket_new(&f.ctx, f.uid, ticket, &err) == 0);
	for (i = 0; i < ACCOUNT_TICKET_TRIES; i++)
		CHECK(account_ticket_take(&f.ctx, ticket, "abcdef", &uid,
			  &err) == -1);
	CHECK(totp_code(key, n, now + 60, code) == 0);
	CHECK(account_ticket_take(&f.ctx, ticket, code, &uid, &err) == -1);
	CHECK(strstr(err.msg, "start again") != NULL);
	CHECK(account_ticket_take(&f.ctx, "short", code, &uid, &err) == -1);
	fixture_close(&f);
}

UNIT_TEST(test_password_link_is_single_use_expires_and_ends_the_others)
{
	struct fixture f;
	char h1[SECRET_HASH_HEX], h2[SECRET_HASH_HEX],
	    pw[crypto_pwhash_STRBYTES];
	int64_t now = (int64_t)time(NULL), uid = 0, by_ip, by_user;

	CHECK(fixture_open(&f) == 0);
	secret_hash(&f.keys, "token-one", 9, h1);
	secret_hash(&f.keys, "token-two", 9, h2);
	CHECK(store_pwlink_add(f.s, h1, f.uid, "reset", "127.0.0.1", now,
		  now + 60) == 0);
	CHECK(store_pwlink_add(f.s, h2, f.uid, "create", "127.0.0.1", now,
		  now + 60) == 0);
	CHECK(store_pwlink_get(f.s, h1, now, &uid) == 0 && uid == f.uid);
	/* expired: gone for a later clock */
	CHECK(store_pwlink_get(f.s, h1, now + 60, &uid) == STORE_NOTFOUND);
	CHECK(store_pwlink_use(f.s, h1, f.uid, "hash", now + 61) ==
	      STORE_NOTFOUND);
	CHECK(store_login_password_get(f.s, f.uid, pw, sizeof(pw)) ==
	      STORE_NOTFOUND);
	/* bound to its account */
	CHECK(store_pwlink_use(f.s, h1, f.uid + 1, "hash", now) ==
	      STORE_NOTFOUND);
	CHECK(store_pwlink_use(f.s, h1, f.uid, "hash", now) == 0);
	CHECK(store_login_password_get(f.s, f.uid, pw, sizeof(pw)) == 0);
	CHECK_STR(pw, "hash");
	CHECK(store_pwlink_use(f.s, h1, f.uid, "hash2", now) == STORE_NOTFOUND);
	/* the account's other link ended with it */
	CHECK(store_pwlink_get(f.s, h2, now, &uid) == STORE_NOTFOUND);
	/* asks are counted per client and per account */
	CHECK(store_pwlink_ask(f.s, "192.0.2.1", f.uid, now, now - 10, &by_ip,
		  &by_user) == 0);
	CHECK(store_pwlink_ask(f.s, "192.0.2.1", 0, now, now - 10, &by_ip,
		  &by_user) == 0);
	CHECK(by_ip == 2 && by_user == 0);
	CHECK(store_pwlink_ask(f.s, "192.0.2.2", f.uid, now, now - 10, &by_ip,
		  &by_user) == 0);
	CHECK(by_ip == 1 && by_user == 2);
	/* older asks no longer count */
	CHECK(store_pwlink_ask(f.s, "192.0.2.1", 0, now + 100, now + 50, &by_ip,
		  &by_user) == 0);
	CHECK(by_ip == 1);
	fixture_close(&f);
}
