/* test_totp: RFC 6238 vectors, drift, replay, base32, URIs, recovery. */
#include <stdint.h>

#include "unit.h"
#include "auth/totp.h"

static const unsigned char rfc_key[] = "12345678901234567890";

UNIT_TEST(test_totp_matches_the_rfc_6238_sha1_vectors)
{
	static const struct {
		int64_t t;
		const char *code8;
	} v[] = {
		{ 59, "94287082" },
		{ 1111111109, "07081804" },
		{ 1111111111, "14050471" },
		{ 1234567890, "89005924" },
		{ 2000000000, "69279037" },
		{ 20000000000LL, "65353130" },
	};
	char out[9];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		CHECK(totp_hotp(rfc_key, 20, (uint64_t)(v[i].t / 30), 8, out) ==
		      0);
		CHECK_STR(out, v[i].code8);
		/* six digits are the last six of the eight */
		CHECK(totp_code(rfc_key, 20, v[i].t, out) == 0);
		CHECK_STR(out, v[i].code8 + 2);
	}
}

UNIT_TEST(test_hotp_matches_the_rfc_4226_vectors)
{
	static const char *want[] = { "755224", "287082", "359152", "969429",
		"338314", "254676", "287922", "162583", "399871", "520489" };
	char out[9];
	unsigned int i;

	for (i = 0; i < 10; i++) {
		CHECK(totp_hotp(rfc_key, 20, i, 6, out) == 0);
		CHECK_STR(out, want[i]);
	}
}

UNIT_TEST(test_totp_accepts_one_step_of_drift_and_no_more)
{
	const int64_t now = 1111111111; /* step 37037037 */
	char code[9];
	int64_t step = 0;

	CHECK(totp_code(rfc_key, 20, now - 30, code) == 0);
	CHECK(totp_verify(rfc_key, 20, code, now, -1, &step) == 1);
	CHECK(step == now / 30 - 1);
	CHECK(totp_code(rfc_key, 20, now + 30, code) == 0);
	CHECK(totp_verify(rfc_key, 20, code, now, -1, &step) == 1);
	CHECK(step == now / 30 + 1);
	CHECK(totp_code(rfc_key, 20, now - 60, code) == 0);
	CHECK(totp_verify(rfc_key, 20, code, now, -1, &step) == 0);
	CHECK(totp_code(rfc_key, 20, now + 60, code) == 0);
	CHECK(totp_verify(rfc_key, 20, code, now, -1, &step) == 0);
}

UNIT_TEST(test_totp_code_used_once_is_refused_the_second_time)
{
	const int64_t now = 1234567890;
	char code[9];
	int64_t step = -1, again = -1;

	CHECK(totp_code(rfc_key, 20, now, code) == 0);
	CHECK(totp_verify(rfc_key, 20, code, now, -1, &step) == 1);
	CHECK(totp_verify(rfc_key, 20, code, now, step, &again) == 0);
	/* nor an older step's code once a newer one was used */
	CHECK(totp_code(rfc_key, 20, now - 30, code) == 0);
	CHECK(totp_verify(rfc_key, 20, code, now, step, &again) == 0);
	/* the next step's code is still good */
	CHECK(totp_code(rfc_key, 20, now + 30, code) == 0);
	CHECK(totp_verify(rfc_key, 20, code, now + 30, step, &again) == 1);
	CHECK(again == step + 1);
}

UNIT_TEST(test_totp_refuses_malformed_codes)
{
	static const char *bad[] = { "", "12345", "1234567", "12345a", "-12345",
		"123 45x", "0000000" };
	int64_t step;
	size_t i;
	char code[9];

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(totp_verify(rfc_key, 20, bad[i], 59, -1, &step) == 0);
	/* spaces as the apps show them ("942 870") are fine */
	CHECK(totp_code(rfc_key, 20, 1111111109, code) == 0);
	{
		char spaced[8] = { code[0], code[1], code[2], ' ', code[3],
			code[4], code[5], '\0' };
		CHECK(totp_verify(rfc_key, 20, spaced, 1111111109, -1, &step) ==
		      1);
	}
}

UNIT_TEST(test_base32_round_trips_and_reads_what_people_type)
{
	unsigned char out[64];
	char b32[TOTP_B32_MAX];
	size_t n;

	CHECK(totp_b32_encode(rfc_key, 20, b32, sizeof(b32)) == 0);
	CHECK_STR(b32, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
	CHECK(totp_b32_decode("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", out,
		  sizeof(out), &n) == 0);
	CHECK(n == 20 && memcmp(out, rfc_key, 20) == 0);
	/* RFC 4648 section 10 */
	CHECK(totp_b32_encode((const unsigned char *)"foobar", 6, b32,
		  sizeof(b32)) == 0);
	CHECK_STR(b32, "MZXW6YTBOI");
	CHECK(totp_b32_decode("MZXW6YTBOI======", out, sizeof(out), &n) == 0);
	CHECK(n == 6 && memcmp(out, "foobar", 6) == 0);
	CHECK(totp_b32_decode("MZXW1", out, sizeof(out), &n) == -1);
	CHECK(totp_b32_decode("MZXW6YTBOI", out, 3, &n) == -1);
	CHECK(totp_b32_encode(rfc_key, 20, b32, 32) == -1);
}

UNIT_TEST(test_otpauth_uri_names_issuer_and_account_percent_encoded)
{
	char uri[TOTP_URI_MAX];

	CHECK(totp_uri(uri, sizeof(uri), "Mail Example", "alice@example.org",
		  "JBSWY3DPEHPK3PXP") == 0);
	CHECK_STR(uri,
	    "otpauth://totp/Mail%20Example:alice@example.org?secret=JBSWY3DPEHPK3PXP&issuer=Mail%20Example&algorithm=SHA1&digits=6&period=30");
	CHECK(totp_uri(uri, sizeof(uri), "a&b", "x?y", "AA") == 0);
	CHECK(strstr(uri, "a%26b:x%3Fy?") != NULL);
	CHECK(totp_uri(uri, 20, "Mail", "alice@example.org", "AA") == -1);
}

UNIT_TEST(test_recovery_codes_are_fresh_and_read_back_as_typed)
{
	char a[TOTP_RECOVERY_LEN + 1], b[TOTP_RECOVERY_LEN + 1],
	    n[TOTP_RECOVERY_LEN + 1];

	totp_recovery_new(a);
	totp_recovery_new(b);
	CHECK(strlen(a) == TOTP_RECOVERY_LEN && a[5] == '-');
	CHECK(strcmp(a, b) != 0);
	CHECK(strpbrk(a, "01lio") == NULL);
	CHECK(totp_recovery_norm("AB CDE fghjk", n) == 0);
	CHECK_STR(n, "abcde-fghjk");
	CHECK(totp_recovery_norm(a, n) == 0);
	CHECK_STR(n, a);
	CHECK(totp_recovery_norm("abcde-fghj", n) == -1);
	CHECK(totp_recovery_norm("abcde-fghjkm", n) == -1);
	CHECK(totp_recovery_norm("abcde-fghj1", n) == -1);
}
