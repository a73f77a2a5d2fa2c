/*
 * test_sasl: the four AUTH decoders, as tables of the client's decoded
 * response (encoded here) and what must come out of it.
 */
#include <stdlib.h>

#include "unit.h"
#include "auth/sasl.h"
#include "util/base64.h"

/* a byte string with its length: NULs inside are part of it */
#define RAW(s) s, sizeof(s) - 1

struct sasl_case {
	const char *label;
	const char *raw;
	size_t len;
	const char *login, *secret; /* login NULL: refused */
};

typedef int (*sasl_fn)(const char *, struct sasl_creds *, const char **);

static char *
encode(const char *raw, size_t len)
{
	char *b64 = malloc(BASE64_ENCODED_LEN(len));

	if (b64 != NULL)
		base64_encode(b64, (const unsigned char *)raw, len);
	return b64;
}

/* Run one table through a decoder; bearer: what c.bearer must be. */
static void
run_cases(const char *mech, sasl_fn fn, const struct sasl_case *cases, size_t n,
    int bearer)
{
	struct sasl_creds c;
	const char *why;
	size_t i;

	for (i = 0; i < n; i++) {
		char *b64 = encode(cases[i].raw, cases[i].len);
		int rc;

		why = NULL;
		rc = fn(b64, &c, &why);
		if (cases[i].login == NULL) {
			if (rc != -1 || why == NULL) {
				printf("  %s case \"%s\" accepted\n", mech,
				    cases[i].label);
				unit_failed_now = 1;
			}
		} else if (rc != 0) {
			printf("  %s case \"%s\" refused: %s\n", mech,
			    cases[i].label, why ? why : "(no reason)");
			unit_failed_now = 1;
		} else {
			CHECK_STR(c.login, cases[i].login);
			CHECK_STR(c.secret, cases[i].secret);
			CHECK(c.bearer == bearer);
		}
		free(b64);
	}
}

static const struct sasl_case plain_cases[] = {
	{ "empty authzid", RAW("\0alice@example.org\0secret"),
	    "alice@example.org", "secret" },
	{ "authzid same as login",
	    RAW("alice@example.org\0alice@example.org\0secret"),
	    "alice@example.org", "secret" },
	{ "password with spaces and 8-bit bytes",
	    RAW("\0alice@example.org\0p w \xc3\xa9"), "alice@example.org",
	    "p w \xc3\xa9" },
	{ "another authzid", RAW("bob@example.org\0alice@example.org\0secret"),
	    NULL, NULL },
	{ "authzid a prefix of the login",
	    RAW("alice\0alice@example.org\0secret"), NULL, NULL },
	{ "authzid longer than the login",
	    RAW("alice@example.org.evil\0alice@example.org\0secret"), NULL,
	    NULL },
	{ "authzid differing in case",
	    RAW("Alice@example.org\0alice@example.org\0secret"), NULL, NULL },
	{ "no separators", RAW("alice@example.org secret"), NULL, NULL },
	{ "\\x01 as separators", RAW("\001alice@example.org\001secret"), NULL,
	    NULL },
	{ "one separator only", RAW("\0alice@example.org"), NULL, NULL },
	{ "nothing at all", RAW(""), NULL, NULL },
	{ "empty login", RAW("\0\0secret"), NULL, NULL },
	{ "empty password", RAW("\0alice@example.org\0"), NULL, NULL },
	{ "NUL inside the password", RAW("\0alice@example.org\0sec\0ret"), NULL,
	    NULL },
	{ "NUL inside the login", RAW("\0ali\0ce@example.org\0secret"), NULL,
	    NULL },
	{ "a trailing NUL", RAW("\0alice@example.org\0secret\0"), NULL, NULL },
};

UNIT_TEST(test_plain_responses_decode_as_rfc_4616_says)
{
	run_cases("PLAIN", sasl_plain, plain_cases,
	    sizeof(plain_cases) / sizeof(plain_cases[0]), 0);
}

UNIT_TEST(test_plain_with_another_authzid_is_refused)
{
	char *b64 = encode(RAW("bob@example.org\0alice@example.org\0pw"));
	struct sasl_creds c;
	const char *why = NULL;

	CHECK(sasl_plain(b64, &c, &why) == -1);
	CHECK(why != NULL && strstr(why, "authorization") != NULL);
	free(b64);
}

UNIT_TEST(test_plain_with_an_empty_password_is_refused)
{
	char *b64 = encode(RAW("\0alice@example.org\0"));
	struct sasl_creds c;
	const char *why = NULL;

	CHECK(sasl_plain(b64, &c, &why) == -1);
	CHECK(why != NULL);
	free(b64);
}

static const struct sasl_case xoauth2_cases[] = {
	{ "user and token",
	    RAW("user=alice@example.org\001auth=Bearer AB12.tok\001\001"),
	    "alice@example.org", "AB12.tok" },
	{ "token first",
	    RAW("auth=Bearer AB12.tok\001user=alice@example.org\001\001"),
	    "alice@example.org", "AB12.tok" },
	{ "scheme in lower case",
	    RAW("user=alice@example.org\001auth=bearer AB12.tok\001\001"),
	    "alice@example.org", "AB12.tok" },
	{ "an unknown field is skipped",
	    RAW("user=alice@example.org\001host=x\001auth=Bearer t\001\001"),
	    "alice@example.org", "t" },
	{ "commas as separators",
	    RAW("user=alice@example.org,auth=Bearer AB12.tok,,"), NULL, NULL },
	{ "no final \\x01",
	    RAW("user=alice@example.org\001auth=Bearer AB12.tok\001"), NULL,
	    NULL },
	{ "bytes after the final \\x01",
	    RAW("user=alice@example.org\001auth=Bearer t\001\001x"), NULL,
	    NULL },
	{ "no user", RAW("auth=Bearer AB12.tok\001\001"), NULL, NULL },
	{ "empty user", RAW("user=\001auth=Bearer AB12.tok\001\001"), NULL,
	    NULL },
	{ "no token", RAW("user=alice@example.org\001\001"), NULL, NULL },
	{ "empty token", RAW("user=alice@example.org\001auth=Bearer \001\001"),
	    NULL, NULL },
	{ "another scheme",
	    RAW("user=alice@example.org\001auth=Basic YTpi\001\001"), NULL,
	    NULL },
	{ "NUL inside the login",
	    RAW("user=alice\0@example.org\001auth=Bearer t\001\001"), NULL,
	    NULL },
	{ "NUL inside the token",
	    RAW("user=alice@example.org\001auth=Bearer t\0u\001\001"), NULL,
	    NULL },
	{ "nothing at all", RAW(""), NULL, NULL },
};

UNIT_TEST(test_xoauth2_responses_give_user_and_bearer_token)
{
	run_cases("XOAUTH2", sasl_xoauth2, xoauth2_cases,
	    sizeof(xoauth2_cases) / sizeof(xoauth2_cases[0]), 1);
}

static const struct sasl_case oauthbearer_cases[] = {
	{ "login and token",
	    RAW("n,a=alice@example.org,\001auth=Bearer AB12.tok\001\001"),
	    "alice@example.org", "AB12.tok" },
	{ "host and port fields",
	    RAW("n,a=alice@example.org,\001host=smtp.example.org\001"
		"port=587\001auth=Bearer AB12.tok\001\001"),
	    "alice@example.org", "AB12.tok" },
	{ "client supports channel binding",
	    RAW("y,a=alice@example.org,\001auth=Bearer t\001\001"),
	    "alice@example.org", "t" },
	{ "no login in the GS2 header",
	    RAW("n,,\001auth=Bearer AB12.tok\001\001"), NULL, NULL },
	{ "empty login", RAW("n,a=,\001auth=Bearer AB12.tok\001\001"), NULL,
	    NULL },
	{ "channel binding asked",
	    RAW("p=tls-unique,a=alice@example.org,\001auth=Bearer t\001\001"),
	    NULL, NULL },
	{ "escaped comma in the login",
	    RAW("n,a=alice=2Cx@example.org,\001auth=Bearer t\001\001"), NULL,
	    NULL },
	{ "no \\x01 after the GS2 header",
	    RAW("n,a=alice@example.org,auth=Bearer t\001\001"), NULL, NULL },
	{ "GS2 header not closed", RAW("n,a=alice@example.org"), NULL, NULL },
	{ "no final \\x01", RAW("n,a=alice@example.org,\001auth=Bearer t\001"),
	    NULL, NULL },
	{ "no token", RAW("n,a=alice@example.org,\001\001"), NULL, NULL },
	{ "NUL inside the login",
	    RAW("n,a=ali\0ce@example.org,\001auth=Bearer t\001\001"), NULL,
	    NULL },
	{ "semicolons as separators",
	    RAW("n;a=alice@example.org;\001auth=Bearer t\001\001"), NULL,
	    NULL },
	{ "too short", RAW("n,"), NULL, NULL },
};

UNIT_TEST(test_oauthbearer_responses_give_gs2_login_and_bearer_token)
{
	run_cases("OAUTHBEARER", sasl_oauthbearer, oauthbearer_cases,
	    sizeof(oauthbearer_cases) / sizeof(oauthbearer_cases[0]), 1);
}

static const struct {
	const char *label;
	const char *raw;
	size_t len;
	const char *want; /* NULL: refused */
} login_cases[] = {
	{ "a user name", RAW("alice@example.org"), "alice@example.org" },
	{ "a password with spaces", RAW("p w d"), "p w d" },
	{ "empty", RAW(""), NULL },
	{ "NUL inside the login", RAW("alice\0@example.org"), NULL },
	{ "a trailing NUL", RAW("alice@example.org\0"), NULL },
};

UNIT_TEST(test_login_fields_are_decoded_one_at_a_time)
{
	char out[SASL_LOGIN_MAX + 1];
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(login_cases) / sizeof(login_cases[0]); i++) {
		char *b64 = encode(login_cases[i].raw, login_cases[i].len);
		int rc;

		why = NULL;
		rc = sasl_login_field(b64, out, sizeof(out), &why);
		if (login_cases[i].want == NULL) {
			if (rc != -1 || why == NULL) {
				printf("  LOGIN case \"%s\" accepted\n",
				    login_cases[i].label);
				unit_failed_now = 1;
			}
		} else {
			CHECK(rc == 0);
			if (rc == 0)
				CHECK_STR(out, login_cases[i].want);
		}
		free(b64);
	}
}

/* A response with a field of n copies of 'a' in the middle. */
static char *
with_field(const char *before, size_t blen, size_t n, const char *after,
    size_t alen)
{
	char *raw = malloc(blen + n + alen), *b64;

	if (raw == NULL)
		return NULL;
	memcpy(raw, before, blen);
	memset(raw + blen, 'a', n);
	memcpy(raw + blen + n, after, alen);
	b64 = encode(raw, blen + n + alen);
	free(raw);
	return b64;
}

/* 1 if the decoder accepts a field of n bytes. */
static int
accepts(sasl_fn fn, const char *before, size_t blen, size_t n,
    const char *after, size_t alen)
{
	char *b64 = with_field(before, blen, n, after, alen);
	struct sasl_creds c;
	const char *why;
	int rc = fn(b64, &c, &why);

	if (rc == 0 && strlen(c.login) > SASL_LOGIN_MAX)
		rc = -1;
	free(b64);
	return rc == 0;
}

UNIT_TEST(test_over_long_logins_and_secrets_are_refused_in_every_mechanism)
{
	char out[SASL_LOGIN_MAX + 1], secret[SECRET_MAX + 1];
	const char *why;
	char *b64;

	/* PLAIN: login, then password */
	CHECK(accepts(sasl_plain, RAW("\0"), SASL_LOGIN_MAX, RAW("\0pw")));
	CHECK(!accepts(sasl_plain, RAW("\0"), SASL_LOGIN_MAX + 1, RAW("\0pw")));
	CHECK(accepts(sasl_plain, RAW("\0a\0"), SECRET_MAX, RAW("")));
	CHECK(!accepts(sasl_plain, RAW("\0a\0"), SECRET_MAX + 1, RAW("")));
	/* XOAUTH2 */
	CHECK(accepts(sasl_xoauth2, RAW("user="), SASL_LOGIN_MAX,
	    RAW("\001auth=Bearer t\001\001")));
	CHECK(!accepts(sasl_xoauth2, RAW("user="), SASL_LOGIN_MAX + 1,
	    RAW("\001auth=Bearer t\001\001")));
	CHECK(accepts(sasl_xoauth2, RAW("user=a\001auth=Bearer "), SECRET_MAX,
	    RAW("\001\001")));
	CHECK(!accepts(sasl_xoauth2, RAW("user=a\001auth=Bearer "),
	    SECRET_MAX + 1, RAW("\001\001")));
	/* OAUTHBEARER */
	CHECK(accepts(sasl_oauthbearer, RAW("n,a="), SASL_LOGIN_MAX,
	    RAW(",\001auth=Bearer t\001\001")));
	CHECK(!accepts(sasl_oauthbearer, RAW("n,a="), SASL_LOGIN_MAX + 1,
	    RAW(",\001auth=Bearer t\001\001")));
	CHECK(accepts(sasl_oauthbearer, RAW("n,a=a,\001auth=Bearer "),
	    SECRET_MAX, RAW("\001\001")));
	CHECK(!accepts(sasl_oauthbearer, RAW("n,a=a,\001auth=Bearer "),
	    SECRET_MAX + 1, RAW("\001\001")));
	/* LOGIN: each field against its own buffer */
	b64 = with_field("", 0, SASL_LOGIN_MAX, "", 0);
	CHECK(sasl_login_field(b64, out, sizeof(out), &why) == 0);
	free(b64);
	b64 = with_field("", 0, SASL_LOGIN_MAX + 1, "", 0);
	CHECK(sasl_login_field(b64, out, sizeof(out), &why) == -1);
	free(b64);
	b64 = with_field("", 0, SECRET_MAX, "", 0);
	CHECK(sasl_login_field(b64, secret, sizeof(secret), &why) == 0);
	free(b64);
	b64 = with_field("", 0, SECRET_MAX + 1, "", 0);
	CHECK(sasl_login_field(b64, secret, sizeof(secret), &why) == -1);
	free(b64);
}

UNIT_TEST(test_bad_base64_is_refused_in_every_mechanism)
{
	static const char *const bad[] = {
		"not base64!",
		"AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA", /* padding dropped */
		"AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldA==\r\n",
		"AGFsaWNl QGV4YW1wbGUub3JnAHNlY3JldA==",
		"AGFsaWNlQGV4YW1wbGUub3JnAHNlY3JldB==", /* non-canonical */
		"=",
		"*",
	};
	char out[SASL_LOGIN_MAX + 1], *huge;
	struct sasl_creds c;
	const char *why;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(sasl_plain(bad[i], &c, &why) == -1);
		CHECK(sasl_xoauth2(bad[i], &c, &why) == -1);
		CHECK(sasl_oauthbearer(bad[i], &c, &why) == -1);
		CHECK(sasl_login_field(bad[i], out, sizeof(out), &why) == -1);
	}
	/* longer than any response postern reads */
	huge = malloc(SASL_B64_MAX + 5);
	memset(huge, 'A', SASL_B64_MAX + 4);
	huge[SASL_B64_MAX + 4] = '\0';
	why = NULL;
	CHECK(sasl_plain(huge, &c, &why) == -1);
	CHECK(why != NULL && strstr(why, "base64") != NULL);
	free(huge);
}

UNIT_TEST(test_mechanism_names_are_case_insensitive)
{
	CHECK(sasl_mech_by_name("plain") == SASL_PLAIN);
	CHECK(sasl_mech_by_name("LOGIN") == SASL_LOGIN);
	CHECK(sasl_mech_by_name("XOAuth2") == SASL_XOAUTH2);
	CHECK(sasl_mech_by_name("oauthbearer") == SASL_OAUTHBEARER);
	CHECK(sasl_mech_by_name("CRAM-MD5") == SASL_NONE);
	CHECK_STR(sasl_mech_name(SASL_OAUTHBEARER), "OAUTHBEARER");
}

/* RFC 4954 4: a response that is not base64 gets 501 5.5.2 at once */
UNIT_TEST(test_a_response_that_is_not_base64_is_told_apart)
{
	static const struct {
		const char *label, *b64;
		int ok;
	} cases[] = {
		{ "empty response", "", 1 },
		{ "PLAIN response", "AGFsaWNlAHNlY3JldA==", 1 },
		{ "garbage", "!!!not-base64!!!", 0 },
		{ "the cancel star", "*", 0 },
		{ "missing padding", "AGFsaWNlAHNlY3JldA", 0 },
		{ "inner space", "AGFs aWNl", 0 },
		{ "8-bit", "\xc3\xa9t\xc3\xa9", 0 },
	};
	size_t i;
	char *big = malloc(SASL_B64_MAX + 5);

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (sasl_is_base64(cases[i].b64) != cases[i].ok) {
			printf("  FAIL %s: %d\n", cases[i].label, !cases[i].ok);
			unit_failed_now = 1;
		}
	/* longer than any response the decoders read */
	memset(big, 'A', SASL_B64_MAX + 4);
	big[SASL_B64_MAX + 4] = '\0';
	CHECK(!sasl_is_base64(big));
	free(big);
}
