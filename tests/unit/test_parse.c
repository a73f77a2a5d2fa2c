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
