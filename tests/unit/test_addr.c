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
