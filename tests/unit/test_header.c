/* test_header: the header section scan and the From: address list. */
#include "unit.h"
#include "mail/header.h"

#define RAW(s) s, sizeof(s) - 1

#define ML HEADER_MAILBOX_LIST
#define MB HEADER_MAILBOX
#define AL HEADER_ADDRESS_LIST

/* From: is a mailbox-list (ML), Sender: a mailbox (MB); To: and Cc: are
 * address-lists (AL), which may hold groups. */
static const struct {
	const char *label, *value;
	enum header_grammar g;
	int n;		     /* -1: refused */
	const char *want[3]; /* the addresses */
} addr_cases[] = {
	/* what mail programs write */
	{ "a bare address", "alice@example.org", ML, 1,
	    { "alice@example.org" } },
	{ "a display name", "Alice Example <alice@example.org>", ML, 1,
	    { "alice@example.org" } },
	{ "no space before the angle", "Alice<alice@example.org>", ML, 1,
	    { "alice@example.org" } },
	{ "a quoted display name with a comma", "\"Doe, John\" <j@example.org>",
	    ML, 1, { "j@example.org" } },
	{ "a quoted display name with a comma and an @",
	    "\"Doe, John @ Sales\" <john@example.org>", ML, 1,
	    { "john@example.org" } },
	{ "a quoted display name holding an address",
	    "\"alice@example.org\" <mallory@evil.example>", ML, 1,
	    { "mallory@evil.example" } },
	{ "an encoded-word display name (q)",
	    "=?utf-8?q?J=C3=B6rg_M=C3=BCller?= <jorg@example.org>", ML, 1,
	    { "jorg@example.org" } },
	{ "an encoded-word display name (b) and a word",
	    "=?UTF-8?B?SsO2cmc=?= Mayer <jorg@example.org>", ML, 1,
	    { "jorg@example.org" } },
	{ "an encoded-word holding a comma",
	    "=?utf-8?q?Doe=2C_John?= <j@example.org>", ML, 1,
	    { "j@example.org" } },
	{ "an ISO-2022-JP name (JIS bytes @ and <)",
	    "=?ISO-2022-JP?B?GyRCQDw7VRsoQg==?= <j@example.org>", ML, 1,
	    { "j@example.org" } },
	{ "a Shift_JIS name (a trail byte @)",
	    "=?shift_jis?b?g0CDQQ==?= <j@example.org>", ML, 1,
	    { "j@example.org" } },
	{ "an encoded-word that decodes to an address (q)",
	    "=?utf-8?q?=3Cx=40y.example=3E=2C?= <j@example.org>", ML, -1,
	    { NULL } },
	{ "an encoded-word that decodes to an address (b, unpadded)",
	    "Jo =?utf-8?b?PHhAeS5leGFtcGxlPiw?= <j@example.org>", ML, -1,
	    { NULL } },
	{ "an encoded-word in ASCII mode of ISO-2022-JP",
	    "=?iso-2022-jp?q?=1B=28B=3Cx=40y.example=3E?= <j@example.org>", ML,
	    -1, { NULL } },
	{ "a windows-1252 name", "=?windows-1252?q?J=F6rg?= <j@example.org>",
	    ML, 1, { "j@example.org" } },
	{ "an ISO-2022-KR name (KS C 5601 between SO and SI)",
	    "=?iso-2022-kr?b?GyQpQw4wIQ8=?= <j@example.org>", ML, 1,
	    { "j@example.org" } },
	{ "ASCII after an ISO-2022-KR designation is still ASCII",
	    "=?iso-2022-kr?q?=1B=24=29C=3Cx=40y.example=3E?= <j@example.org>",
	    ML, -1, { NULL } },
	{ "an encoded-word in a comment",
	    "j@example.org (=?utf-8?q?J=C3=B6rg=2C_Sales?=)", ML, 1,
	    { "j@example.org" } },
	{ "an encoded-word in a comment that decodes to ) <x@y> (",
	    "J (=?utf-8?q?=29_=3Cx=40y.example=3E=2C_=28?=) <j@example.org>",
	    ML, -1, { NULL } },
	{ "an encoded-word in a name that decodes to a quote",
	    "=?utf-8?q?=22J?= <j@example.org>", ML, -1, { NULL } },
	{ "an encoded-word that decodes to a line break",
	    "=?utf-8?q?a=0D=0AFrom:_x?= <j@example.org>", ML, -1, { NULL } },
	{ "an encoded-word in UTF-7", "=?utf-7?q?Jo?= <j@example.org>", ML, -1,
	    { NULL } },
	{ "an encoded-word in a charset nobody checks",
	    "=?unicode_escape?q?Jo?= <j@example.org>", ML, -1, { NULL } },
	{ "a UTF-8 display name (RFC 6532)", "J\xc3\xb6rg <jorg@example.org>",
	    ML, 1, { "jorg@example.org" } },
	{ "a dot in a display name (obs-phrase, kept)",
	    "John Q. Public <jqp@example.org>", ML, 1, { "jqp@example.org" } },
	{ "a comment after", "alice@example.org (Alice)", ML, 1,
	    { "alice@example.org" } },
	{ "comments everywhere outside < >",
	    "(c1) Alice (c2) <alice@example.org> (c4)", ML, 1,
	    { "alice@example.org" } },
	{ "a comment inside < > (no comment there for some)",
	    "Alice <(x>) alice@example.org>", ML, -1, { NULL } },
	{ "a comment before the @ inside < >", "<alice(c3)@example.org>", ML,
	    -1, { NULL } },
	{ "a comment holding brackets, a comma and a colon",
	    "(Bob <bob@example.net>, x: y;) alice@example.org", ML, 1,
	    { "alice@example.org" } },
	{ "a comment with a quoted parenthesis (ends early for some)",
	    "a@example.org (x\\) y)", ML, -1, { NULL } },
	{ "a nested comment (ends early for some)",
	    "a@example.org (x (y) <c@example.net>)", ML, -1, { NULL } },
	{ "a nested comment in a display name",
	    "A (x (y) <c@example.net>) <a@example.org>", ML, -1, { NULL } },
	{ "blanks inside the angle", "Alice < alice@example.org >", ML, 1,
	    { "alice@example.org" } },
	{ "CFWS around the @ (RFC 5322 dot-atom)", "alice (x) @ example.org",
	    ML, 1, { "alice@example.org" } },
	{ "two addresses", "alice@example.org, Bob <bob@example.net>", ML, 2,
	    { "alice@example.org", "bob@example.net" } },
	{ "folded", " \"Doe,\r\n John\"\r\n\t<john@example.org>\r\n", ML, 1,
	    { "john@example.org" } },
	{ "folded as the scan leaves it (a CR at the end)",
	    " Alice\r\n <alice@example.org>\r", ML, 1,
	    { "alice@example.org" } },
	{ "a quoted local part", "<\"john doe\"@example.org>", ML, 1,
	    { "\"john doe\"@example.org" } },
	{ "a quoted local part with an escape", "\"a\\\"b\"@example.org", ML, 1,
	    { "\"a\\\"b\"@example.org" } },
	{ "a quoted local part that needs no quotes", "\"alice\"@example.org",
	    ML, 1, { "alice@example.org" } },
	{ "a quoted local part holding an @ stays quoted",
	    "\"ceo@a.example\"@b.example", ML, 1,
	    { "\"ceo@a.example\"@b.example" } },
	{ "UTF-8 in the address (RFC 6531)",
	    "j\xc3\xb6rg@b\xc3\xbc"
	    "cher.example",
	    ML, 1,
	    { "j\xc3\xb6rg@b\xc3\xbc"
	      "cher.example" } },
	{ "the Sender: mailbox", "Secretary <sec@example.org>", MB, 1,
	    { "sec@example.org" } },

	/* the issue's attacks: mail programs read alice */
	{ "an address before a colon", "alice@example.org:bob@example.org", ML,
	    -1, { NULL } },
	{ "an unquoted address as the display name",
	    "alice@example.org <bob@example.org>", ML, -1, { NULL } },
	{ "an unquoted @ in a display name",
	    "alice@example.org Alice "
	    "<bob@example.org>",
	    ML, -1, { NULL } },
	{ "an unquoted @ in a group name",
	    "alice@example.org: bob@example.org;", AL, -1, { NULL } },
	/* groups */
	{ "a group in From:", "Team: alice@example.org;", ML, -1, { NULL } },
	{ "an empty group in From:", "undisclosed-recipients:;", ML, -1,
	    { NULL } },
	{ "a group in Sender:", "Team: alice@example.org;", MB, -1, { NULL } },
	{ "a group without its ;", "Team: alice@example.org, bob@example.net",
	    AL, -1, { NULL } },
	{ "a group inside a group", "A: B: a@example.org;;", AL, -1, { NULL } },
	{ "a group without a name", ": a@example.org;", AL, -1, { NULL } },
	/* lists */
	{ "two mailboxes in Sender:", "a@example.org, b@example.org", MB, -1,
	    { NULL } },
	{ "an empty value", "", ML, -1, { NULL } },
	{ "only a comment", " (nobody)\r", ML, -1, { NULL } },
	{ "a trailing comma", "alice@example.org,", ML, -1, { NULL } },
	{ "a leading comma", ", alice@example.org", ML, -1, { NULL } },
	{ "an empty list element (obs-mbox-list)",
	    "a@example.org,,b@example.org", ML, -1, { NULL } },
	/* names and angles */
	{ "a name without an address", "Alice", ML, -1, { NULL } },
	{ "a name before a bare address", "Alice alice@example.org", ML, -1,
	    { NULL } },
	{ "a quoted name before a bare address", "\"Alice\" alice@example.org",
	    ML, -1, { NULL } },
	{ "a display name beginning with a dot", ". Alice <a@example.org>", ML,
	    -1, { NULL } },
	{ "an unterminated quote", "\"Alice <alice@example.org>", ML, -1,
	    { NULL } },
	{ "an unclosed comment", "(Alice <alice@example.org>", ML, -1,
	    { NULL } },
	{ "an unclosed comment after", "alice@example.org (Alice", ML, -1,
	    { NULL } },
	{ "a stray )", "alice@example.org )", ML, -1, { NULL } },
	{ "an unclosed angle", "Alice <alice@example.org", ML, -1, { NULL } },
	{ "a stray >", "alice@example.org>", ML, -1, { NULL } },
	{ "two angle addresses", "<alice@example.org> <bob@example.net>", ML,
	    -1, { NULL } },
	{ "text after the angle address",
	    "<alice@example.org> mallory@evil.example", ML, -1, { NULL } },
	{ "an empty angle", "Alice <>", ML, -1, { NULL } },
	{ "a source route (obs-route)", "<@relay.example:alice@example.org>",
	    ML, -1, { NULL } },
	/* the address itself */
	{ "an unquoted local part with a space", "john doe@example.org", ML, -1,
	    { NULL } },
	{ "CFWS inside a dot-atom (obs-local-part)",
	    "alice . smith@example.org", ML, -1, { NULL } },
	{ "a blank inside the domain", "alice@example .org", ML, -1, { NULL } },
	{ "a leading dot", ".alice@example.org", ML, -1, { NULL } },
	{ "a double dot", "al..ice@example.org", ML, -1, { NULL } },
	{ "a trailing dot in the domain", "alice@example.org.", ML, -1,
	    { NULL } },
	{ "no domain", "alice@", ML, -1, { NULL } },
	{ "nothing before @", "@example.org", ML, -1, { NULL } },
	{ "two @", "alice@b@example.org", ML, -1, { NULL } },
	{ "an address literal", "alice@[192.0.2.1]", ML, -1, { NULL } },
	{ "an encoded-word as the local part",
	    "=?utf-8?q?ceo=40a.example?=@b.example", ML, -1, { NULL } },
	{ "an encoded-word in a quoted local part",
	    "<\"=?utf-8?q?ceo?=\"@b.example>", ML, -1, { NULL } },
	/* bytes */
	{ "Latin-1, not UTF-8", "J\xf6rg <jorg@example.org>", ML, -1,
	    { NULL } },
	{ "a truncated UTF-8 sequence eating a quote",
	    "\"J\xc3\" alice@example.org <bob@example.org>", ML, -1, { NULL } },
	{ "a control character", "Alice\x01 <alice@example.org>", ML, -1,
	    { NULL } },
	{ "a DEL in a quoted string", "\"Al\x7f\" <alice@example.org>", ML, -1,
	    { NULL } },
	{ "a bare LF", "Alice\n <alice@example.org>", ML, -1, { NULL } },
	{ "a bare LF at the end", "alice@example.org\n", ML, -1, { NULL } },
	{ "a CR not followed by LF", "Alice\r <alice@example.org>", ML, -1,
	    { NULL } },
	{ "a line break without a blank after it",
	    "Alice\r\n<alice@example.org>", ML, -1, { NULL } },
	{ "comments nested 17 deep",
	    "(((((((((((((((((x))))))))))))))))) a@example.org", ML, -1,
	    { NULL } },

	/* address-lists */
	{ "a group", "Team: alice@example.org, Bob <bob@example.net>;", AL, 2,
	    { "alice@example.org", "bob@example.net" } },
	{ "an empty group", "undisclosed-recipients:;", AL, 0, { NULL } },
	{ "a group and an address",
	    "Team: alice@example.org;, carol@example.org", AL, 2,
	    { "alice@example.org", "carol@example.org" } },
	{ "a group with a comment after its ;", "Team: a@example.org; (x)", AL,
	    1, { "a@example.org" } },
};

UNIT_TEST(test_addresses_are_read_by_the_strict_rfc5322_grammar)
{
	char out[HEADER_FROM_MAX][ADDR_MAX + 1];
	const char *why;
	size_t i;
	int n, j;

	for (i = 0; i < sizeof(addr_cases) / sizeof(addr_cases[0]); i++) {
		const char *v = addr_cases[i].value;
		int rc = header_addresses(v, strlen(v), addr_cases[i].g, out,
		    HEADER_FROM_MAX, &n, &why);

		if (addr_cases[i].n == -1) {
			if (rc != -1) {
				printf("  case \"%s\" accepted (%d: %s)\n",
				    addr_cases[i].label, n,
				    n > 0 ? out[0] : "");
				unit_failed_now = 1;
			} else if (why == NULL || n != 0) {
				printf("  case \"%s\": no reason given\n",
				    addr_cases[i].label);
				unit_failed_now = 1;
			}
			continue;
		}
		if (rc != 0 || n != addr_cases[i].n) {
			printf("  case \"%s\": rc %d, %d addresses (%s)\n",
			    addr_cases[i].label, rc, n, rc ? why : "");
			unit_failed_now = 1;
			continue;
		}
		for (j = 0; j < n; j++)
			CHECK_STR(out[j], addr_cases[i].want[j]);
	}
}

UNIT_TEST(test_the_reason_names_the_at_sign_in_a_display_name)
{
	static const char v1[] = "alice@example.org <bob@example.org>";
	static const char v2[] = "alice@example.org:bob@example.org";
	static const char v3[] = "Team: a@example.org";
	char out[HEADER_FROM_MAX][ADDR_MAX + 1];
	const char *why = NULL;
	int n;

	CHECK(header_addresses(v1, strlen(v1), ML, out, HEADER_FROM_MAX, &n,
		  &why) == -1);
	CHECK(why != NULL && strstr(why, "@ outside quotes in a display"));
	CHECK(header_addresses(v2, strlen(v2), ML, out, HEADER_FROM_MAX, &n,
		  &why) == -1);
	CHECK(why != NULL && strstr(why, "@ outside quotes in a group"));
	CHECK(header_addresses(v3, strlen(v3), AL, out, HEADER_FROM_MAX, &n,
		  &why) == -1);
	CHECK(why != NULL && strstr(why, "closing ;"));
	/* no reason asked for */
	CHECK(header_addresses(v1, strlen(v1), ML, out, HEADER_FROM_MAX, &n,
		  NULL) == -1);
}

UNIT_TEST(test_a_value_is_read_within_its_length_only)
{
	/* the rest of the message follows the value: never read it */
	static const char msg[] = "alice@example.org\r\nTo: bob@example.net";
	char out[HEADER_FROM_MAX][ADDR_MAX + 1];
	int n;

	CHECK(header_addresses(msg, 17, ML, out, HEADER_FROM_MAX, &n, NULL) ==
		  0 &&
	      n == 1);
	CHECK(
	    header_addresses(msg, 5, ML, out, HEADER_FROM_MAX, &n, NULL) == -1);
	CHECK(header_addresses("\"a", 1, ML, out, HEADER_FROM_MAX, &n, NULL) ==
	      -1);
}

UNIT_TEST(test_more_from_addresses_than_max_are_refused)
{
	static const char v[] = "a@example.org, b@example.org, c@example.org";
	char out[3][ADDR_MAX + 1];
	int n;

	CHECK(header_addresses(v, strlen(v), ML, out, 3, &n, NULL) == 0 &&
	      n == 3);
	CHECK(header_addresses(v, strlen(v), ML, out, 2, &n, NULL) == -1);
}

UNIT_TEST(test_an_address_longer_than_addr_max_is_refused)
{
	char v[ADDR_MAX + 16], out[1][ADDR_MAX + 1];
	int n;

	memset(v, 'a', ADDR_MAX - 12);
	strcpy(v + ADDR_MAX - 12, "@example.org");
	CHECK(strlen(v) == ADDR_MAX);
	CHECK(header_addresses(v, strlen(v), ML, out, 1, &n, NULL) == 0 &&
	      n == 1);
	memset(v, 'a', ADDR_MAX - 11);
	strcpy(v + ADDR_MAX - 11, "@example.org");
	CHECK(header_addresses(v, strlen(v), ML, out, 1, &n, NULL) == -1);
	/* quoted (a blank needs the quotes), the same limit */
	v[0] = '"';
	v[1] = ' ';
	memcpy(v + ADDR_MAX - 13, "\"@example.org", 14);
	CHECK(strlen(v) == ADDR_MAX);
	CHECK(header_addresses(v, strlen(v), ML, out, 1, &n, NULL) == 0 &&
	      n == 1 && strlen(out[0]) == ADDR_MAX);
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
	CHECK(hi.from != NULL && header_addresses(hi.from, hi.from_len, AL, out,
				     HEADER_FROM_MAX, &n, NULL) == 0);
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

UNIT_TEST(test_the_scan_keeps_every_originator_field_in_order)
{
	static const char msg[] = "Resent-From: r@example.org\r\n"
				  "Resent-Sender : rs@example.org\r\n"
				  "From: a@example.org\r\n"
				  "X-Sender: x@example.org\r\n"
				  "sender: s@example.org\r\n"
				  "Sender: t@example.org\r\n"
				  "\r\n"
				  "Sender: body@example.org\r\n";
	struct header_info hi;

	header_scan(msg, sizeof(msg) - 1, &hi);
	CHECK(hi.from_count == 1 && hi.sender_count == 2 && hi.norig == 5);
	if (hi.norig != 5)
		return;
	CHECK(hi.orig[0].kind == HEADER_RESENT_FROM);
	CHECK(hi.orig[1].kind == HEADER_RESENT_SENDER);
	CHECK(hi.orig[2].kind == HEADER_FROM);
	CHECK(hi.orig[3].kind == HEADER_SENDER);
	CHECK(hi.orig[4].kind == HEADER_SENDER);
	CHECK(hi.orig[3].len == strlen(" s@example.org\r") &&
	      memcmp(hi.orig[3].val, " s@example.org\r", hi.orig[3].len) == 0);
	CHECK(header_orig_grammar(HEADER_FROM) == ML);
	CHECK(header_orig_grammar(HEADER_RESENT_FROM) == ML);
	CHECK(header_orig_grammar(HEADER_SENDER) == MB);
	CHECK(header_orig_grammar(HEADER_RESENT_SENDER) == MB);
	CHECK_STR(header_orig_name(HEADER_RESENT_FROM), "Resent-From:");
}

UNIT_TEST(test_the_scan_counts_originator_fields_past_its_table)
{
	char msg[64 * (HEADER_ORIG_MAX + 4)];
	struct header_info hi;
	size_t o = 0;
	int i;

	for (i = 0; i < HEADER_ORIG_MAX + 3; i++)
		o += (size_t)snprintf(msg + o, sizeof(msg) - o,
		    "Resent-From: r%d@example.org\r\n", i);
	o += (size_t)snprintf(msg + o, sizeof(msg) - o, "\r\n");
	header_scan(msg, o, &hi);
	CHECK(hi.norig == HEADER_ORIG_MAX + 3);
	CHECK(hi.orig[HEADER_ORIG_MAX - 1].kind == HEADER_RESENT_FROM);
}

UNIT_TEST(test_names_like_an_originator_field_once_blanks_go_are_counted)
{
	static const struct {
		const char *label, *msg;
		int lookalike, from_count;
	} cases[] = {
		{ "a first line that continues nothing",
		    " From: ceo@a.example\r\nFrom: a@b.example\r\n\r\n", 1, 1 },
		{ "a vertical tab before the colon",
		    "From\v: ceo@a.example\r\nFrom: a@b.example\r\n\r\n", 1,
		    1 },
		{ "a blank inside the name", "Fr om: ceo@a.example\r\n\r\n", 1,
		    0 },
		{ "folded before the colon", "Sender\r\n : x@a.example\r\n\r\n",
		    1, 0 },
		{ "Resent-From with a control byte",
		    "Resent-\x01"
		    "From: x@a.example\r\n\r\n",
		    1, 0 },
		{ "blanks before the colon are still From (obs-from)",
		    "From \t: a@b.example\r\n\r\n", 0, 1 },
		{ "an mbox From_ line",
		    "From alice@example.org Mon Jan  1 10:00:00 2024\r\n"
		    "From: a@b.example\r\n\r\n",
		    0, 1 },
		{ "other names", "X-From: x\r\nFromage: y\r\n\r\n", 0, 0 },
		{ "a folded value holding From:",
		    "Subject: x\r\n From: ceo@a.example\r\n\r\n", 0, 0 },
		{ "a no-break space before the colon",
		    "From: a@b.example\r\nFrom\xc2\xa0: ceo@a.example\r\n\r\n",
		    1, 1 },
		{ "an ideographic space in Sender",
		    "Sender\xe3\x80\x80: ceo@a.example\r\n\r\n", 1, 0 },
		{ "a line after From: that begins with a vertical tab",
		    "From: a@b.example\r\n\v<ceo@a.example>\r\n\r\n", 1, 1 },
		{ "a line after From: that begins with a no-break space",
		    "From: a@b.example\r\n\xc2\xa0<ceo@a.example>\r\n\r\n", 1,
		    1 },
		{ "UTF-8 in values and folded lines is no name",
		    "From: Ca\xc3\xafrol <a@b.example>\r\nSubject: x\r\n "
		    "\xc2\xa0"
		    "caf\xc3\xa9\r\n\r\n",
		    0, 1 },
	};
	struct header_info hi;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		header_scan(cases[i].msg, strlen(cases[i].msg), &hi);
		if (hi.lookalike != cases[i].lookalike ||
		    hi.from_count != cases[i].from_count) {
			printf("  case \"%s\": lookalike %d, from_count %d\n",
			    cases[i].label, hi.lookalike, hi.from_count);
			unit_failed_now = 1;
		}
	}
}
