/* Authentication-Results: written by us, forged ones removed. */
#include <string.h>

#include "unit.h"
#include "inbound/authres.h"

static size_t
strip(char *m, const char *id)
{
	size_t len = strlen(m);

	authres_strip(m, &len, id);
	m[len] = '\0';
	return len;
}

UNIT_TEST(test_authres_strip_removes_only_fields_claiming_our_id)
{
	char m[] = "Received: x\r\n"
		   "Authentication-Results: mx.example.org; spf=pass\r\n"
		   "authentication-results:  (forged)\r\n MX.Example.ORG;\r\n"
		   " dkim=pass header.d=example.org\r\n"
		   "Authentication-Results: other.example; spf=fail\r\n"
		   "Authentication-Results: \"mx.example.org\"; dmarc=pass\r\n"
		   "Authentication-Results: mx.example.org.; dkim=pass\r\n"
		   "Authentication-Results: mx.example.org.evil; dmarc=pass\r\n"
		   "Subject: Authentication-Results: mx.example.org;\r\n"
		   "\r\n"
		   "Authentication-Results: mx.example.org; body line\r\n";

	strip(m, "mx.example.org");
	CHECK_STR(m, "Received: x\r\n"
		     "Authentication-Results: other.example; spf=fail\r\n"
		     "Authentication-Results: mx.example.org.evil; "
		     "dmarc=pass\r\n"
		     "Subject: Authentication-Results: mx.example.org;\r\n"
		     "\r\n"
		     "Authentication-Results: mx.example.org; body line\r\n");
}

UNIT_TEST(test_authres_strip_without_a_body_or_a_match)
{
	char a[] = "Authentication-Results: mx.example.org; spf=pass\r\n";
	char b[] = "From: a@b.test\r\n\r\nbody\r\n";

	CHECK(strip(a, "mx.example.org") == 0);
	CHECK(strip(b, "mx.example.org") == strlen("From: a@b.test\r\n\r\n"
						   "body\r\n"));
}

UNIT_TEST(test_authres_format_quotes_and_cleans_values)
{
	struct authres_item it[2] = { 0 };
	struct buf b;

	buf_init(&b, 4096);
	it[0].method = "spf";
	it[0].result = "pass";
	it[0].reason = "sender IP is 192.0.2.1 (in\r\nrange)";
	it[0].props[0].name = "smtp.mailfrom";
	it[0].props[0].value = "user@example.com";
	it[0].nprops = 1;
	it[1].method = "dkim";
	it[1].result = "fail";
	it[1].props[0].name = "header.d";
	it[1].props[0].value = "example.com";
	it[1].props[1].name = "header.b";
	it[1].props[1].value = "ab\"c\\d";
	it[1].nprops = 2;
	CHECK(authres_format(&b, "mx.example.org", it, 2) == 0);
	CHECK(buf_append(&b, "", 1) == 0);
	CHECK_STR(b.data, "Authentication-Results: mx.example.org;\r\n"
			  "\tspf=pass (sender IP is 192.0.2.1  in  range ) "
			  "smtp.mailfrom=user@example.com;\r\n"
			  "\tdkim=fail header.d=example.com "
			  "header.b=\"ab\\\"c\\\\d\"\r\n");
	buf_reset(&b);
	CHECK(authres_format(&b, "mx.example.org", NULL, 0) == 0);
	CHECK(buf_append(&b, "", 1) == 0);
	CHECK_STR(b.data, "Authentication-Results: mx.example.org; none\r\n");
	buf_free(&b);
}
