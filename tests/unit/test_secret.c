/* test_secret: generation, keyed hashes, sealing and argon2id. */
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "auth/secret.h"

static void
test_keys(struct secret_keys *k, const char *path)
{
	char err[256];

	unlink(path);
	CHECK(secret_master_create(path) == 0);
	CHECK(secret_master_load(path, k, err, sizeof(err)) == 0);
}

UNIT_TEST(test_generated_passwords_avoid_look_alike_characters)
{
	char pw[SECRET_PW_LEN + 1], other[SECRET_PW_LEN + 1];
	int i;

	for (i = 0; i < 200; i++) {
		secret_generate(pw, SECRET_PW_LEN);
		CHECK(strlen(pw) == SECRET_PW_LEN);
		CHECK(strpbrk(pw, "0O1lI") == NULL);
	}
	secret_generate(other, SECRET_PW_LEN);
	CHECK(strcmp(pw, other) != 0);
}

UNIT_TEST(test_keyed_hash_verifies_only_the_same_secret)
{
	struct secret_keys k, k2;
	char h[SECRET_HASH_HEX];

	test_keys(&k, "/tmp/postern-unit-key1");
	test_keys(&k2, "/tmp/postern-unit-key2");
	secret_hash(&k, "abcdefgh", 8, h);
	CHECK(secret_hash_verify(&k, "abcdefgh", 8, h));
	CHECK(!secret_hash_verify(&k, "abcdefgX", 8, h));
	CHECK(!secret_hash_verify(&k2, "abcdefgh", 8, h)); /* another key */
	CHECK(!secret_hash_verify(&k, "abcdefgh", 8, "zz"));
	unlink("/tmp/postern-unit-key1");
	unlink("/tmp/postern-unit-key2");
}

UNIT_TEST(test_sealed_secret_opens_only_with_its_key_and_intact)
{
	struct secret_keys k, k2;
	char sealed[SECRET_SEALED_MAX], out[SECRET_MAX + 1],
	    sealed2[SECRET_SEALED_MAX];

	test_keys(&k, "/tmp/postern-unit-key3");
	test_keys(&k2, "/tmp/postern-unit-key4");
	CHECK(secret_seal(&k, "s3cret-Value", sealed, sizeof(sealed)) == 0);
	CHECK(strstr(sealed, "s3cret") == NULL);
	CHECK(secret_open(&k, sealed, out, sizeof(out)) == 0);
	CHECK_STR(out, "s3cret-Value");
	CHECK(secret_seal(&k, "s3cret-Value", sealed2, sizeof(sealed2)) == 0);
	CHECK(strcmp(sealed, sealed2) != 0); /* fresh nonce each time */
	CHECK(secret_open(&k2, sealed, out, sizeof(out)) == -1);
	sealed[60] = sealed[60] == 'a' ? 'b' : 'a';
	CHECK(secret_open(&k, sealed, out, sizeof(out)) == -1);
	CHECK(secret_open(&k, "00", out, sizeof(out)) == -1);
	unlink("/tmp/postern-unit-key3");
	unlink("/tmp/postern-unit-key4");
}

UNIT_TEST(test_master_key_readable_by_others_is_refused)
{
	struct secret_keys k;
	char err[256];

	unlink("/tmp/postern-unit-key5");
	CHECK(secret_master_create("/tmp/postern-unit-key5") == 0);
	CHECK(secret_master_create("/tmp/postern-unit-key5") == -1);
	chmod("/tmp/postern-unit-key5", 0644);
	CHECK(secret_master_load("/tmp/postern-unit-key5", &k, err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, "chmod 600") != NULL);
	unlink("/tmp/postern-unit-key5");
}

UNIT_TEST(test_login_password_hash_is_argon2id_and_verifies)
{
	char h[256];

	CHECK(secret_pwhash("Correct horse 42", h, sizeof(h)) == 0);
	CHECK(strncmp(h, "$argon2id$", 10) == 0);
	CHECK(secret_pwhash_verify(h, "Correct horse 42"));
	CHECK(!secret_pwhash_verify(h, "Correct horse 43"));
}

UNIT_TEST(test_weak_login_passwords_are_refused)
{
	CHECK(secret_password_weakness("short1") != NULL);
	CHECK(secret_password_weakness("alllowercaseletters") == NULL);
	CHECK(secret_password_weakness("onlylower") != NULL);
	CHECK(secret_password_weakness("abcdefghij") != NULL);
	CHECK(secret_password_weakness("abcdefghi7") == NULL);
	CHECK(secret_password_weakness("tab\there12345") != NULL);
}

UNIT_TEST(test_secret_equal_compares_whole_strings)
{
	CHECK(secret_equal("abc", "abc"));
	CHECK(!secret_equal("abc", "abd"));
	CHECK(!secret_equal("abc", "abcd"));
	CHECK(!secret_equal("abc", ""));
	CHECK(secret_equal("", ""));
}
