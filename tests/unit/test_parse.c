/* test_parse: MAIL FROM / RCPT TO paths and recipient addresses. */
#include <setjmp.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "unit.h"
#include "mail/addr.h"
#include "smtp/parse.h"

static const struct {
	const char *label, *prefix, *arg;
	int utf8;
	const char *want, *rest; /* want NULL: refused */
} path_cases[] = {
	{ "null path", "FROM:", "FROM:<>", 0, "", "" },
	{ "plain address", "FROM:", "FROM:<a@b.org>", 0, "a@b.org", "" },
	{ "space after the colon", "FROM:", "FROM: <a@b.org>", 0, "a@b.org",
	    "" },
	{ "prefix in lower case", "FROM:", "from:<a@b.org>", 0, "a@b.org", "" },
	{ "parameters", "FROM:", "FROM:<a@b.org> SIZE=10", 0, "a@b.org",
	    "SIZE=10" },
	{ "two parameters", "FROM:", "FROM:<a@b.org>  SIZE=10 BODY=8BITMIME", 0,
	    "a@b.org", "SIZE=10 BODY=8BITMIME" },
	{ "recipient", "TO:", "TO:<x@y.org> NOTIFY=NEVER", 0, "x@y.org",
	    "NOTIFY=NEVER" },
	{ "source route dropped", "TO:", "TO:<@r1,@r2:x@y.org>", 0, "x@y.org",
	    "" },
	{ "one-hop source route dropped", "FROM:", "FROM:<@r1.example:a@b.org>",
	    0, "a@b.org", "" },
	{ "quoted local part with spaces",
	    "TO:", "TO:<\"john smith\"@example.org>", 0,
	    "\"john smith\"@example.org", "" },
	/* angle brackets are refused even quoted: the spool writes
	 * addresses between them */
	{ "'>' inside the quotes", "TO:", "TO:<\"a>b\"@example.org> X=1", -1,
	    NULL, NULL },
	{ "escaped quote and '>' inside the quotes",
	    "TO:", "TO:<\"a\\\"> b\"@example.org>", -1, NULL, NULL },
	{ "escaped quote inside the quotes", "TO:",
	    "TO:<\"a\\\" b\"@example.org>", 0, "\"a\\\" b\"@example.org", "" },
	{ "8-bit without SMTPUTF8", "TO:", "TO:<j\303\266rg@b\303\274cher.de>",
	    0, NULL, NULL },
	{ "8-bit with SMTPUTF8", "TO:", "TO:<j\303\266rg@b\303\274cher.de>", 1,
	    "j\303\266rg@b\303\274cher.de", "" },
	{ "missing brackets", "FROM:", "FROM:a@b.org", 0, NULL, NULL },
	{ "missing '>'", "FROM:", "FROM:<a@b.org", 0, NULL, NULL },
	{ "missing '<'", "FROM:", "FROM:a@b.org>", 0, NULL, NULL },
	{ "wrong prefix", "FROM:", "TO:<a@b.org>", 0, NULL, NULL },
	{ "no colon", "FROM:", "FROM<a@b.org>", 0, NULL, NULL },
	{ "source route without colon", "TO:", "TO:<@r1,x@y.org>", 0, NULL,
	    NULL },
	{ "space outside quotes", "TO:", "TO:<john smith@example.org>", 0, NULL,
	    NULL },
	{ "space outside the quotes of a partly quoted local part",
	    "TO:", "TO:<a b\"c\"@example.org>", 0, NULL, NULL },
	{ "space after a quoted string", "TO:", "TO:<\"a\" b@example.org>", 0,
	    NULL, NULL },
	{ "tab", "TO:", "TO:<a\tb@example.org>", 0, NULL, NULL },
	{ "DEL", "TO:", "TO:<a\177b@example.org>", 0, NULL, NULL },
	{ "'<' inside", "TO:", "TO:<a<b@example.org>", 0, NULL, NULL },
	{ "CR inside", "TO:", "TO:<a\rb@example.org>", 0, NULL, NULL },
	{ "LF inside", "TO:", "TO:<a\nb@example.org>", 0, NULL, NULL },
};

UNIT_TEST(test_paths_give_the_address_and_the_parameters)
{
	char arg[256], out[ADDR_MAX + 1], *rest;
	size_t i;

	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		int rc;

		strcpy(arg, path_cases[i].arg);
		rest = NULL;
		rc = smtp_parse_path(arg, path_cases[i].prefix, out,
		    sizeof(out), &rest, path_cases[i].utf8);
		if (path_cases[i].want == NULL) {
			if (rc != -1) {
				printf("  case \"%s\" accepted as \"%s\"\n",
				    path_cases[i].label, out);
				unit_failed_now = 1;
			}
		} else if (rc != 0) {
			printf("  case \"%s\" refused\n", path_cases[i].label);
			unit_failed_now = 1;
		} else {
			CHECK_STR(out, path_cases[i].want);
			CHECK_STR(rest, path_cases[i].rest);
		}
	}
}

UNIT_TEST(test_an_over_long_path_is_refused)
{
	char arg[ADDR_MAX + 32], out[ADDR_MAX + 1], *rest;
	size_t n;

	/* an address of ADDR_MAX bytes fits, one more does not */
	for (n = ADDR_MAX; n <= ADDR_MAX + 1; n++) {
		strcpy(arg, "TO:<");
		memset(arg + 4, 'a', n - 6);
		strcpy(arg + 4 + n - 6, "@b.org>");
		CHECK(strlen(arg) == 4 + n + 1);
		CHECK(smtp_parse_path(arg, "TO:", out, sizeof(out), &rest, 0) ==
		      (n == ADDR_MAX ? 0 : -1));
	}
	/* and a small buffer is never overrun */
	strcpy(arg, "TO:<a@b.org>");
	CHECK(smtp_parse_path(arg, "TO:", out, 7, &rest, 0) == -1);
	CHECK(smtp_parse_path(arg, "TO:", out, 8, &rest, 0) == 0);
}

/*
 * A string that ends right before an unreadable page: reading one byte
 * past its NUL faults, and the fault is caught, so the test can say so
 * and the other tests still run.
 */
static sigjmp_buf guard_jmp;

static void
guard_fault(int sig)
{
	(void)sig;
	siglongjmp(guard_jmp, 1);
}

/* 0 parsed or refused within the string, 1 read past its end. */
static int
path_reads_past_end(const char *s, const char *prefix, int *rc)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t len = strlen(s) + 1;
	struct sigaction sa, old_segv, old_bus;
	char *map, *arg, out[ADDR_MAX + 1], *rest;
	volatile int faulted = 0;

	map = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		return -1;
	mprotect(map + page, (size_t)page, PROT_NONE);
	arg = map + page - len;
	memcpy(arg, s, len);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = guard_fault;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGSEGV, &sa, &old_segv);
	sigaction(SIGBUS, &sa, &old_bus);
	if (sigsetjmp(guard_jmp, 1) == 0)
		*rc = smtp_parse_path(arg, prefix, out, sizeof(out), &rest, 0);
	else
		faulted = 1;
	sigaction(SIGSEGV, &old_segv, NULL);
	sigaction(SIGBUS, &old_bus, NULL);
	munmap(map, 2 * (size_t)page);
	return faulted;
}

UNIT_TEST(test_a_path_with_an_unterminated_quote_is_refused_within_the_string)
{
	static const char *const args[] = {
		"FROM:<\"alice@example.org>",
		"FROM:<\"alice\"\"@example.org>",
		"TO:<a\"",
		"TO:<\"a\\",
	};
	size_t i;

	for (i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		int rc = 0;
		int past = path_reads_past_end(args[i],
		    args[i][0] == 'F' ? "FROM:" : "TO:", &rc);
		if (past != 0) {
			printf("  smtp_parse_path(\"%s\") reads past the end "
			       "of its argument\n",
			    args[i]);
			unit_failed_now = 1;
		} else {
			CHECK(rc == -1);
		}
	}
}

static const struct {
	const char *label, *addr;
	int ok;
} rcpt_cases[] = {
	{ "plain address", "x@example.org", 1 },
	{ "domain in upper case", "x@EXAMPLE.ORG", 1 },
	{ "internationalised domain", "x@b\303\274cher.de", 1 },
	{ "quoted local part", "\"john smith\"@example.org", 1 },
	{ "percent hack, syntactically", "user%host@example.org", 1 },
	{ "address literal", "x@[192.0.2.1]", 0 },
	{ "IPv6 literal", "x@[IPv6:2001:db8::1]", 0 },
	{ "no domain", "x", 0 },
	{ "empty domain", "x@", 0 },
	{ "no local part", "@example.org", 0 },
	{ "single-label domain", "x@localhost", 0 },
	{ "bad domain", "x@exa mple.org", 0 },
	{ "empty", "", 0 },
};

UNIT_TEST(test_recipients_need_a_local_part_and_a_domain_name)
{
	char why[160];
	size_t i;

	for (i = 0; i < sizeof(rcpt_cases) / sizeof(rcpt_cases[0]); i++) {
		int rc;

		why[0] = '\0';
		rc = smtp_parse_rcpt(rcpt_cases[i].addr, why, sizeof(why));
		if (rc != (rcpt_cases[i].ok ? 0 : -1)) {
			printf("  case \"%s\": %s\n", rcpt_cases[i].label,
			    rc == 0 ? "accepted" : why);
			unit_failed_now = 1;
		}
		if (rc == -1)
			CHECK(why[0] != '\0');
	}
}

UNIT_TEST(test_address_literals_are_refused_as_recipients)
{
	char why[160];

	CHECK(
	    smtp_parse_rcpt("postmaster@[192.0.2.1]", why, sizeof(why)) == -1);
	CHECK(strstr(why, "literal") != NULL);
}

UNIT_TEST(test_a_recipient_local_part_over_twice_the_limit_is_refused)
{
	char a[2 * ADDR_LOCAL_MAX + 32], why[160];

	memset(a, 'a', 2 * ADDR_LOCAL_MAX);
	strcpy(a + 2 * ADDR_LOCAL_MAX, "@example.org");
	CHECK(smtp_parse_rcpt(a, why, sizeof(why)) == 0);
	memset(a, 'a', 2 * ADDR_LOCAL_MAX + 1);
	strcpy(a + 2 * ADDR_LOCAL_MAX + 1, "@example.org");
	CHECK(smtp_parse_rcpt(a, why, sizeof(why)) == -1);
}

UNIT_TEST(test_xtext_is_one_to_max_printable_characters_without_equals)
{
	CHECK(smtp_parse_xtext_ok("abc+2B", 100));
	CHECK(smtp_parse_xtext_ok("rfc822;a@b.org", 100));
	CHECK(!smtp_parse_xtext_ok("", 100));
	CHECK(!smtp_parse_xtext_ok("a b", 100));
	CHECK(!smtp_parse_xtext_ok("a=b", 100));
	CHECK(!smtp_parse_xtext_ok("a\x7f", 100));
	CHECK(!smtp_parse_xtext_ok("\xc3\xa9", 100));
	CHECK(smtp_parse_xtext_ok("abcd", 4));
	CHECK(!smtp_parse_xtext_ok("abcde", 4));
}

UNIT_TEST(test_ehlo_takes_printable_ascii_and_nothing_else)
{
	static const struct {
		const char *label, *helo;
		int ok;
	} cases[] = {
		{ "a domain", "client.example.test", 1 },
		{ "a bare word", "MyLaptop", 1 },
		{ "an underscore", "DESKTOP_4F2", 1 },
		{ "an address literal", "[192.0.2.7]", 1 },
		{ "punctuation", "a)b(c;d", 1 },
		{ "empty", "", 0 },
		{ "UTF-8", "J\xc3\xbcrgens-MacBook", 0 },
		{ "Latin-1", "caf\xe9", 0 },
		{ "a space", "two words", 0 },
		{ "a tab", "a\tb", 0 },
		{ "a CR", "a\rb", 0 },
		{ "DEL", "a\x7f", 0 },
	};
	char big[300];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (smtp_helo_is_acceptable(cases[i].helo) != cases[i].ok) {
			printf("  FAIL %s\n", cases[i].label);
			unit_failed_now = 1;
		}
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	CHECK(!smtp_helo_is_acceptable(big));
	big[255] = '\0';
	CHECK(smtp_helo_is_acceptable(big));
}

UNIT_TEST(test_the_received_from_clause_names_a_good_helo_and_quotes_a_bad_one)
{
	static const struct {
		const char *label, *helo, *ip, *want;
	} cases[] = {
		{ "a domain", "client.example.test", "192.0.2.7",
		    "client.example.test ([192.0.2.7])" },
		{ "a bare word is a one-label domain", "MyLaptop", "192.0.2.7",
		    "MyLaptop ([192.0.2.7])" },
		{ "an address literal", "[192.0.2.7]", "192.0.2.7",
		    "[192.0.2.7] ([192.0.2.7])" },
		{ "an IPv6 literal", "[IPv6:2001:db8::1]", "2001:db8::1",
		    "[IPv6:2001:db8::1] ([IPv6:2001:db8::1])" },
		{ "no EHLO", NULL, "192.0.2.7", "[192.0.2.7]" },
		{ "an underscore", "DESKTOP_4F2", "192.0.2.7",
		    "[192.0.2.7] (helo=DESKTOP_4F2)" },
		{ "parentheses are quoted", "x)(by:evil", "192.0.2.7",
		    "[192.0.2.7] (helo=x\\)\\(by:evil)" },
		{ "a backslash is quoted", "a\\", "192.0.2.7",
		    "[192.0.2.7] (helo=a\\\\)" },
		{ "a semicolon cannot end the clause", "a;Mon,", "192.0.2.7",
		    "[192.0.2.7] (helo=a;Mon,)" },
		{ "8-bit and controls become ?",
		    "b\xc3\xa4"
		    "d\r\n",
		    "192.0.2.7",
		    "[192.0.2.7] (helo=b?"
		    "?d?"
		    "?)" },
		{ "a bad literal", "[300.1.1.1]", "192.0.2.7",
		    "[192.0.2.7] (helo=[300.1.1.1])" },
		{ "a label starting with -", "-x.example", "192.0.2.7",
		    "[192.0.2.7] (helo=-x.example)" },
		{ "an empty label", "a..b", "192.0.2.7",
		    "[192.0.2.7] (helo=a..b)" },
		{ "a trailing dot", "host.", "192.0.2.7",
		    "[192.0.2.7] (helo=host.)" },
	};
	char out[600];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		smtp_trace_from(cases[i].helo, cases[i].ip, out, sizeof(out));
		if (strcmp(out, cases[i].want) != 0) {
			printf("  FAIL %s: \"%s\"\n", cases[i].label, out);
			unit_failed_now = 1;
		}
	}
	/* a 64-character label is not a domain */
	memset(out, 'a', 64);
	out[64] = '\0';
	CHECK(!smtp_helo_is_name(out));
	out[63] = '\0';
	CHECK(smtp_helo_is_name(out));
}
