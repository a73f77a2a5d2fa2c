/* test_addr: domain and address canonical forms, as a table. */
#include "unit.h"
#include "mail/addr.h"

static const struct {
	const char *in, *want; /* want NULL: refused */
} domain_cases[] = {
	{ "example.org", "example.org" },
	{ "Example.ORG", "example.org" },
	{ "example.org.", "example.org" },
	{ "bücher.de", "xn--bcher-kva.de" },
	{ "BÜCHER.de", "xn--bcher-kva.de" },
	{ "xn--bcher-kva.de", "xn--bcher-kva.de" },
	{ "xn--zz.de", NULL },
	{ "localhost", NULL },
	{ "", NULL },
	{ "a..b", NULL },
	{ ".a.b", NULL },
	{ "-a.org", NULL },
	{ "a-.org", NULL },
	{ "exa mple.org", NULL },
	{ "exa_mple.org", NULL },
	{ "192.0.2.1", NULL },
	{ "[192.0.2.1]", NULL },
	{ "\xff\xfe.org", NULL },
	{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.org",
	    NULL },
};

UNIT_TEST(test_domains_are_stored_in_one_canonical_form)
{
	char out[ADDR_DOMAIN_MAX + 1], err[160];
	size_t i;

	for (i = 0; i < sizeof(domain_cases) / sizeof(domain_cases[0]); i++) {
		int rc = addr_domain_canon(domain_cases[i].in, out, sizeof(out),
		    err, sizeof(err));
		if (domain_cases[i].want == NULL) {
			if (rc != -1)
				printf("  case %s accepted as %s\n",
				    domain_cases[i].in, out);
			CHECK(rc == -1);
		} else {
			CHECK(rc == 0);
			if (rc == 0)
				CHECK_STR(out, domain_cases[i].want);
		}
	}
}

UNIT_TEST(test_local_parts_keep_case_and_compare_folded)
{
	struct addr a;
	char err[160];

	CHECK(addr_parse("Alice.Smith@Example.org", &a, err, sizeof(err)) == 0);
	CHECK_STR(a.local, "Alice.Smith");
	CHECK_STR(a.local_key, "alice.smith");
	CHECK_STR(a.domain, "example.org");
	CHECK(addr_parse("jörg@bücher.de", &a, err, sizeof(err)) == 0);
	CHECK_STR(a.domain, "xn--bcher-kva.de");
}

UNIT_TEST(test_bad_local_parts_are_refused)
{
	static const char *bad[] = { "@example.org", ".a@example.org",
		"a.@example.org", "a..b@example.org", "a b@example.org",
		"\"a\"@example.org", "a(b)@example.org", "a,b@example.org",
		"a@", "example.org", "a\xc0\x80@example.org",
		"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa@example.org",
		NULL };
	struct addr a;
	char err[160];
	int i;

	for (i = 0; bad[i]; i++) {
		int rc = addr_parse(bad[i], &a, err, sizeof(err));
		if (rc != -1)
			printf("  accepted %s\n", bad[i]);
		CHECK(rc == -1);
	}
}

UNIT_TEST(test_utf8_validation_refuses_overlongs_and_surrogates)
{
	CHECK(addr_utf8_is_valid((const unsigned char *)"h\xc3\xa9", 3));
	CHECK(!addr_utf8_is_valid((const unsigned char *)"\xc0\xaf", 2));
	CHECK(!addr_utf8_is_valid((const unsigned char *)"\xed\xa0\x80", 3));
	CHECK(!addr_utf8_is_valid((const unsigned char *)"\xe2\x82", 2));
	CHECK(
	    !addr_utf8_is_valid((const unsigned char *)"\xf4\x90\x80\x80", 4));
}

/* Spellings that reach one account are one login for every counter. */
static const struct {
	const char *label, *in, *want; /* want NULL: refused */
} login_cases[] = {
	{ "as stored", "carol@other.org", "carol@other.org" },
	{ "ASCII case", "Carol@Other.ORG", "carol@other.org" },
	{ "a trailing dot", "carol@other.org.", "carol@other.org" },
	{ "a soft hyphen in the domain", "carol@oth\xc2\xadr.org",
	    "carol@othr.org" },
	{ "a soft hyphen in the domain (2)", "carol@other\xc2\xad.org",
	    "carol@other.org" },
	{ "a soft hyphen in the local part", "car\xc2\xadol@other.org",
	    "carol@other.org" },
	{ "a zero-width space", "carol\xe2\x80\x8b@other.org",
	    "carol@other.org" },
	{ "a byte-order mark",
	    "\xef\xbb\xbf"
	    "carol@other.org",
	    "carol@other.org" },
	{ "a variation selector", "carol@other.org\xef\xb8\x8f",
	    "carol@other.org" },
	{ "a full-width letter in the domain",
	    "carol@\xef\xbd\x8f"
	    "ther.org",
	    "carol@other.org" },
	{ "a full-width letter in the local part",
	    "\xef\xbc\xa3"
	    "arol@other.org",
	    "carol@other.org" },
	{ "a full-width at sign", "carol\xef\xbc\xa0other.org",
	    "carol@other.org" },
	{ "an ideographic full stop", "carol@other\xe3\x80\x82org",
	    "carol@other.org" },
	{ "an ideographic full stop at the end", "carol@other.org\xe3\x80\x82",
	    "carol@other.org" },
	{ "a half-width ideographic full stop", "carol@other\xef\xbd\xa1org",
	    "carol@other.org" },
	{ "a U-label",
	    "j\xc3\xb6rg@B\xc3\x9c"
	    "cher.de",
	    "j\xc3\xb6rg@xn--bcher-kva.de" },
	{ "a bare domain", "Other.ORG.", "other.org" },
	{ "a bare domain with a full-width letter",
	    "\xef\xbd\x8f"
	    "ther.org",
	    "other.org" },
	{ "a control character", "carol@other.org\r", NULL },
	{ "a NUL-free C1 control", "carol\xc2\x85@other.org", NULL },
	{ "bad UTF-8", "carol@other.org\xff", NULL },
	{ "two trailing dots", "carol@other.org..", NULL },
	{ "only invisible characters", "\xc2\xad", NULL },
	{ "an empty local part after dropping", "\xc2\xad@other.org", NULL },
	{ "empty", "", NULL },
};

UNIT_TEST(test_every_spelling_of_a_login_canonicalises_to_one)
{
	char out[ADDR_MAX + 1], err[160];
	size_t i;

	for (i = 0; i < sizeof(login_cases) / sizeof(login_cases[0]); i++) {
		int rc = addr_login_canon(login_cases[i].in, out, sizeof(out),
		    err, sizeof(err));
		if (login_cases[i].want == NULL) {
			if (rc != -1)
				printf("  case %s accepted as %s\n",
				    login_cases[i].label, out);
			CHECK(rc == -1);
		} else {
			if (rc != 0)
				printf("  case %s refused: %s\n",
				    login_cases[i].label, err);
			CHECK(rc == 0);
			if (rc == 0)
				CHECK_STR(out, login_cases[i].want);
		}
	}
}

UNIT_TEST(test_a_login_canonicalises_to_itself)
{
	char once[ADDR_MAX + 1], twice[ADDR_MAX + 1], err[160];
	size_t i;

	for (i = 0; i < sizeof(login_cases) / sizeof(login_cases[0]); i++) {
		if (login_cases[i].want == NULL)
			continue;
		CHECK(addr_login_canon(login_cases[i].in, once, sizeof(once),
			  err, sizeof(err)) == 0);
		CHECK(addr_login_canon(once, twice, sizeof(twice), err,
			  sizeof(err)) == 0);
		CHECK_STR(once, twice);
	}
}

UNIT_TEST(test_an_overlong_login_is_refused_and_a_small_buffer_is_not_overrun)
{
	char big[ADDR_LOGIN_IN_MAX + 8], out[8], err[160];

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(addr_login_canon(big, out, sizeof(out), err, sizeof(err)) == -1);
	CHECK(addr_login_canon("carol@other.org", out, sizeof(out), err,
		  sizeof(err)) == -1);
}
