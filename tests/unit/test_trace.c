/* test_trace: what forwarding reads in a header section, as tables. */
#include <string.h>

#include "unit.h"
#include "mail/trace.h"

UNIT_TEST(test_a_delivered_to_naming_the_user_is_found_in_any_spelling)
{
	static const struct {
		const char *label, *msg;
		int want;
	} cases[] = {
		{ "plain", "Delivered-To: alice@example.org\r\n\r\nx", 1 },
		{ "in angle brackets, case",
		    "delivered-to:  <ALICE@Example.org> \r\n\r\n", 1 },
		{ "among others",
		    "Received: x\r\nDelivered-To: bob@example.org\r\n"
		    "Delivered-To: alice@example.org\r\nSubject: s\r\n\r\n",
		    1 },
		{ "LF line ends", "Delivered-To: alice@example.org\n\n", 1 },
		{ "the last line, no end", "Delivered-To: alice@example.org",
		    1 },
		{ "another user",
		    "Delivered-To: alice@example.org.evil\r\n\r\n", 0 },
		{ "a longer local part",
		    "Delivered-To: xalice@example.org\r\n\r\n", 0 },
		{ "only in the body",
		    "Subject: s\r\n\r\nDelivered-To: alice@example.org\r\n",
		    0 },
		{ "another field", "X-Delivered-To: alice@example.org\r\n\r\n",
		    0 },
		{ "no colon", "Delivered-To alice@example.org\r\n\r\n", 0 },
		{ "empty", "", 0 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (trace_delivered_to(cases[i].msg, strlen(cases[i].msg),
			"alice@example.org") != cases[i].want) {
			printf("  FAIL %s\n", cases[i].label);
			unit_failed_now = 1;
		}
}

UNIT_TEST(test_arc_seals_are_counted_in_the_header_only)
{
	const char *m =
	    "ARC-Seal: i=2\r\n a=b\r\nARC-Message-Signature: i=2\r\n"
	    "arc-seal: i=1\r\nSubject: ARC-Seal: no\r\n\r\n"
	    "ARC-Seal: in the body\r\n";

	CHECK(trace_count(m, strlen(m), "ARC-Seal") == 2);
	CHECK(trace_count(m, strlen(m), "ARC-Message-Signature") == 1);
	CHECK(trace_count(m, strlen(m), "Received") == 0);
	CHECK(trace_count("", 0, "ARC-Seal") == 0);
}

UNIT_TEST(test_our_authentication_results_are_read_unfolded_and_theirs_not)
{
	const char *m =
	    "Authentication-Results: other.test; spf=fail\r\n"
	    "Authentication-Results: mail.example.test.evil; dkim=pass\r\n"
	    "Authentication-Results:  MAIL.example.test;\r\n"
	    "\tspf=pass smtp.mailfrom=a@b.test;\r\n"
	    " dkim=none\r\n"
	    "Authentication-Results: mail.example.test; second\r\n\r\n";
	char out[256], tiny[8];

	CHECK(trace_authres(m, strlen(m), "mail.example.test", out,
		  sizeof(out)) == 0);
	CHECK_STR(out,
	    "MAIL.example.test;\tspf=pass smtp.mailfrom=a@b.test; dkim=none");
	CHECK(trace_authres(m, strlen(m), "mail.example.test", tiny,
		  sizeof(tiny)) == -1);
	CHECK(
	    trace_authres(m, strlen(m), "nobody.test", out, sizeof(out)) == -1);
	CHECK(trace_authres("Subject: x\r\n\r\nAuthentication-Results: "
			    "mail.example.test; spf=pass\r\n",
		  56, "mail.example.test", out, sizeof(out)) == -1);
}

UNIT_TEST(test_a_header_past_the_line_limit_is_not_read_further)
{
	static char m[(TRACE_LINES_MAX + 10) * 4 + 64];
	size_t o = 0;
	int i;

	for (i = 0; i < TRACE_LINES_MAX + 5; i++) {
		memcpy(m + o, "X:\r\n", 4);
		o += 4;
	}
	memcpy(m + o, "Delivered-To: a@b.test\r\n\r\n", 26);
	o += 26;
	CHECK(trace_delivered_to(m, o, "a@b.test") == 0);
	CHECK(trace_count(m, o, "X") == TRACE_LINES_MAX);
}
