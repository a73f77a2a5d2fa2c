/* test_header: the header section scan and the From: address list. */
#include "unit.h"
#include "mail/header.h"

#define RAW(s) s, sizeof(s) - 1

static const struct {
	const char *label, *value;
	int n;		     /* -1: refused */
	const char *want[3]; /* the addresses */
} from_cases[] = {
	{ "a bare address", "alice@example.org", 1, { "alice@example.org" } },
	{ "a display name", "Alice Example <alice@example.org>", 1,
	    { "alice@example.org" } },
	{ "a quoted display name with a comma and an @",
	    "\"Doe, John @ Sales\" <john@example.org>", 1,
	    { "john@example.org" } },
	{ "a quoted display name holding an address",
	    "\"alice@example.org\" <mallory@evil.example>", 1,
	    { "mallory@evil.example" } },
	{ "a comment after", "alice@example.org (Alice)", 1,
	    { "alice@example.org" } },
	{ "comments everywhere",
	    "(c1) Alice (c2) <alice(c3)@example.org> (c4 (nested))", 1,
	    { "alice@example.org" } },
	{ "a comment holding brackets and a comma",
	    "(Bob <bob@example.net>, x) alice@example.org", 1,
	    { "alice@example.org" } },
	{ "two addresses", "alice@example.org, Bob <bob@example.net>", 2,
	    { "alice@example.org", "bob@example.net" } },
	{ "a group", "Team: alice@example.org, Bob <bob@example.net>;", 2,
	    { "alice@example.org", "bob@example.net" } },
	{ "an empty group", "undisclosed-recipients:;", 0, { NULL } },
	{ "a group and an address",
	    "Team: alice@example.org;, carol@example.org", 2,
	    { "alice@example.org", "carol@example.org" } },
	{ "folded", " \"Doe,\r\n John\"\r\n\t<john@example.org>\r\n", 1,
	    { "john@example.org" } },
	{ "a quoted local part", "<\"john doe\"@example.org>", 1,
	    { "\"john doe\"@example.org" } },
	{ "an unterminated quote", "\"Alice <alice@example.org>", -1,
	    { NULL } },
	{ "an unclosed comment", "(Alice <alice@example.org>", -1, { NULL } },
	{ "an unclosed angle", "Alice <alice@example.org", -1, { NULL } },
	{ "two angle addresses", "<alice@example.org> <bob@example.net>", -1,
	    { NULL } },
	{ "text after the angle address",
	    "<alice@example.org> mallory@evil.example", -1, { NULL } },
};

UNIT_TEST(test_from_addresses_are_read_past_names_comments_and_groups)
{
	char out[HEADER_FROM_MAX][ADDR_MAX + 1];
	size_t i;
	int n, j;

	for (i = 0; i < sizeof(from_cases) / sizeof(from_cases[0]); i++) {
		const char *v = from_cases[i].value;
		int rc =
		    header_addresses(v, strlen(v), out, HEADER_FROM_MAX, &n);

		if (from_cases[i].n == -1) {
			if (rc != -1) {
				printf("  case \"%s\" accepted (%d: %s)\n",
				    from_cases[i].label, n,
				    n > 0 ? out[0] : "");
				unit_failed_now = 1;
			}
			continue;
		}
		if (rc != 0 || n != from_cases[i].n) {
			printf("  case \"%s\": rc %d, %d addresses\n",
			    from_cases[i].label, rc, n);
			unit_failed_now = 1;
			continue;
		}
		for (j = 0; j < n; j++)
			CHECK_STR(out[j], from_cases[i].want[j]);
	}
}

UNIT_TEST(test_more_from_addresses_than_max_are_refused)
{
	static const char v[] = "a@example.org, b@example.org, c@example.org";
	char out[3][ADDR_MAX + 1];
	int n;

	CHECK(header_addresses(v, strlen(v), out, 3, &n) == 0 && n == 3);
	CHECK(header_addresses(v, strlen(v), out, 2, &n) == -1);
}

UNIT_TEST(test_an_address_longer_than_addr_max_is_refused)
{
	char v[ADDR_MAX + 16], out[1][ADDR_MAX + 1];
	int n;

	memset(v, 'a', ADDR_MAX - 12);
	strcpy(v + ADDR_MAX - 12, "@example.org");
	CHECK(strlen(v) == ADDR_MAX);
	CHECK(header_addresses(v, strlen(v), out, 1, &n) == 0 && n == 1);
	memset(v, 'a', ADDR_MAX - 11);
	strcpy(v + ADDR_MAX - 11, "@example.org");
	CHECK(header_addresses(v, strlen(v), out, 1, &n) == -1);
}

UNIT_TEST(test_the_from_field_is_found_with_its_folded_value)
{
	static const char msg[] =
	    "Received: from x by y\r\n"
	    "From: \"Doe, John\"\r\n <john@example.org>,\r\n"
	    "\tTeam: alice@example.org;\r\n"
	    "Subject: hi\r\n"
	    "\r\n"
	    "From: body@example.org\r\n";
	char out[HEADER_FROM_MAX][ADDR_MAX + 1];
	struct header_info hi;
	int n;

	header_scan(msg, sizeof(msg) - 1, &hi);
	CHECK(hi.from_count == 1);
	CHECK(hi.header_len == (size_t)(strstr(msg, "\r\n\r\n") + 4 - msg));
	CHECK(hi.from != NULL && header_addresses(hi.from, hi.from_len, out,
				     HEADER_FROM_MAX, &n) == 0);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(out[0], "john@example.org");
		CHECK_STR(out[1], "alice@example.org");
	}
}

static const struct {
	const char *label;
	const char *msg;
	size_t len;
	int from_count, has_date, has_msgid;
	const char *from; /* the first From: value, NULL: none */
} scan_cases[] = {
	{ "no From", RAW("Subject: x\r\nTo: b@example.org\r\n\r\nbody\r\n"), 0,
	    0, 0, NULL },
	{ "two From fields counted",
	    RAW("From: a@example.org\r\nFrom: b@example.org\r\n\r\n"), 2, 0, 0,
	    " a@example.org\r" },
	{ "From in any case", RAW("fROM: a@example.org\r\n\r\n"), 1, 0, 0,
	    " a@example.org\r" },
	{ "From with white space before the colon (RFC 5322 obs-from)",
	    RAW("From: a@example.org\r\nFrom : m@evil.example\r\n\r\n"), 2, 0,
	    0, " a@example.org\r" },
	{ "a From in the body does not count",
	    RAW("Subject: x\r\n\r\nFrom: a@example.org\r\n"), 0, 0, 0, NULL },
	{ "other fields ending in From",
	    RAW("Resent-From: a@example.org\r\nX-From: b@example.org\r\n\r\n"),
	    0, 0, 0, NULL },
	{ "Date and Message-ID",
	    RAW("Date: Mon, 2 Nov 2026 10:00:00 +0000\r\n"
		"Message-ID: <1@example.org>\r\n\r\n"),
	    0, 1, 1, NULL },
	{ "date and message-id in other cases",
	    RAW("date: x\r\nMESSAGE-ID: <1@example.org>\r\n\r\n"), 0, 1, 1,
	    NULL },
	{ "Message-Id as mail clients write it",
	    RAW("Message-Id: <1@example.org>\r\n\r\n"), 0, 0, 1, NULL },
	{ "look-alikes are not Date or Message-ID",
	    RAW("Dates: x\r\nMessage-IDs: y\r\nX-Date: z\r\n\r\n"), 0, 0, 0,
	    NULL },
	{ "a header without a blank line",
	    RAW("Subject: x\r\nFrom: a@example.org"), 1, 0, 0,
	    " a@example.org" },
};

UNIT_TEST(test_the_header_scan_counts_from_and_finds_date_and_message_id)
{
	struct header_info hi;
	size_t i;

	for (i = 0; i < sizeof(scan_cases) / sizeof(scan_cases[0]); i++) {
		header_scan(scan_cases[i].msg, scan_cases[i].len, &hi);
		if (hi.from_count != scan_cases[i].from_count ||
		    hi.has_date != scan_cases[i].has_date ||
		    hi.has_msgid != scan_cases[i].has_msgid) {
			printf("  case \"%s\": from_count %d, date %d, "
			       "message-id %d\n",
			    scan_cases[i].label, hi.from_count, hi.has_date,
			    hi.has_msgid);
			unit_failed_now = 1;
			continue;
		}
		if (scan_cases[i].from == NULL) {
			CHECK(hi.from == NULL);
		} else if (hi.from == NULL ||
			   hi.from_len != strlen(scan_cases[i].from) ||
			   memcmp(hi.from, scan_cases[i].from, hi.from_len) !=
			       0) {
			printf("  case \"%s\": From value \"%.*s\"\n",
			    scan_cases[i].label, (int)hi.from_len,
			    hi.from ? hi.from : "");
			unit_failed_now = 1;
		}
	}
}

UNIT_TEST(test_the_header_section_ends_at_its_blank_line)
{
	struct header_info hi;

	header_scan(RAW("A: b\r\n\r\nbody\r\n"), &hi);
	CHECK(hi.header_len == 8);
	header_scan(RAW("\r\nbody\r\n"), &hi);
	CHECK(hi.header_len == 2);
	header_scan(RAW("A: b\r\nC: d\r\n"), &hi);
	CHECK(hi.header_len == 12);
	header_scan("", 0, &hi);
	CHECK(hi.header_len == 0 && hi.from_count == 0);
}
