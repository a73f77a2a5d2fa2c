/* test_bruteforce: a login's failures count under its one spelling and,
 * once an alias found its account, for the account. */
#include <string.h>

#include "unit.h"
#include "policy/bruteforce.h"

#define T0 1700000000

/* window, ip slow, ip refuse, refuse time, login slow, delay, max */
static const struct bf_conf conf = { 3600, 100, 200, 900, 4, 100, 400, 0 };

static const char *const respellings[] = {
	"carol@other.org.",
	"carol@oth\xc2\xad"
	"er.org",
	"carol@\xef\xbd\x8f"
	"ther.org",
	"carol@other\xe3\x80\x82"
	"org",
	"\xef\xbc\xa3"
	"AROL@OTHER.ORG",
};

UNIT_TEST(test_failures_under_respellings_count_for_one_login)
{
	char ip[32];
	size_t i;

	bf_init();
	for (i = 0; i < sizeof(respellings) / sizeof(respellings[0]); i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%zu", i + 1);
		/* each address failed once: only the login's count slows it */
		CHECK(bf_check(&conf, ip, respellings[i], T0) == 0);
		bf_failed(&conf, ip, respellings[i], T0);
	}
	CHECK(bf_check(&conf, "198.51.100.1", "carol@other.org", T0) == 100);
	CHECK(bf_check(&conf, "198.51.100.2", "carol@other.org.", T0) == 100);
	/* the owner from a clean address is not slowed */
	CHECK(bf_check(&conf, "203.0.113.1", "carol@other.org", T0) == 0);
}

UNIT_TEST(test_an_alias_that_found_the_account_counts_with_it)
{
	bf_init();
	/* four failures under the address, from four addresses */
	bf_failed_account(&conf, "198.51.100.1", "carol@other.org",
	    "carol@other.org", T0);
	bf_failed_account(&conf, "198.51.100.2", "carol@other.org",
	    "carol@other.org", T0);
	bf_failed_account(&conf, "198.51.100.3", "carol@other.org",
	    "carol@other.org", T0);
	/* an alias fails once: it is the account's fourth failure ... */
	CHECK(bf_check(&conf, "198.51.100.4", "c.alias@other.org", T0) == 0);
	bf_failed_account(&conf, "198.51.100.4", "c.alias@other.org",
	    "carol@other.org", T0);
	CHECK(bf_check(&conf, "198.51.100.1", "carol@other.org", T0) == 100);
	/* ... and the alias now counts the account's failures */
	CHECK(bf_check(&conf, "198.51.100.4", "c.alias@other.org", T0) == 100);
	CHECK(bf_check(&conf, "198.51.100.4", "C.Alias@Other.org.", T0) == 100);
	/* a name that found no account links to nothing */
	bf_failed_account(&conf, "198.51.100.5", "nobody@other.org", "", T0);
	CHECK(bf_check(&conf, "198.51.100.5", "nobody@other.org", T0) == 0);
}

/* The panel's rules on the same engine (its own table): a stranger who
 * fails a login is refused, the login's owner from another address is
 * not; SMTP's table does not see the panel's failures. */
UNIT_TEST(test_bruteforce_login_table_refuses_the_failing_address_only)
{
	const struct bf_conf web = { 900, INT64_MAX, 100, 900, 3, 20, 320, 1 };
	int i;

	bf_init();
	for (i = 0; i < 3; i++) {
		CHECK(bf_verdict(bf_login, &web, "198.51.100.7",
			  "alice@example.org", T0) == 0);
		bf_fail(bf_login, &web, "198.51.100.7", "alice@example.org",
		    NULL, T0);
	}
	CHECK(bf_login_failures(bf_login, &web, "Alice@Example.org.", T0) == 3);
	/* the stranger, by any spelling of the login */
	CHECK(bf_verdict(bf_login, &web, "198.51.100.7", "alice@example.org",
		  T0) == -1);
	CHECK(bf_verdict(bf_login, &web, "198.51.100.7", "ALICE@example.org.",
		  T0) == -1);
	/* the owner, from home */
	CHECK(bf_verdict(bf_login, &web, "203.0.113.9", "alice@example.org",
		  T0) == 0);
	/* the SMTP table never heard of it */
	CHECK(bf_check(&conf, "198.51.100.7", "alice@example.org", T0) == 0);
	/* after the window, forgotten */
	CHECK(bf_verdict(bf_login, &web, "198.51.100.7", "alice@example.org",
		  T0 + 901) == 0);
}

/* A store of one counter per name, adding what each "node" sends. */
static struct {
	unsigned char id[BF_ID_LEN];
	int kind;
	int64_t fails;
} shared[8];
static int nshared;

static int
shared_add(void *arg, int kind, const unsigned char *id,
    const unsigned char *link_id, int64_t pend, int64_t last, int64_t *fails,
    int64_t *flast, int64_t *refused)
{
	int i;

	(void)arg;
	(void)link_id;
	for (i = 0; i < nshared; i++)
		if (shared[i].kind == kind &&
		    memcmp(shared[i].id, id, BF_ID_LEN) == 0)
			break;
	if (i == nshared) {
		memcpy(shared[i].id, id, BF_ID_LEN);
		shared[i].kind = kind;
		shared[i].fails = 0;
		nshared++;
	}
	shared[i].fails += pend;
	*fails = shared[i].fails;
	*flast = last;
	*refused = 0;
	return 0;
}

UNIT_TEST(test_failures_counted_on_another_node_slow_an_address_here)
{
	struct bf_conf c = conf;
	int i;

	c.ip_slow_after = 3;
	bf_init();
	nshared = 0;
	/* two failures here, sent; then the other node's two come back */
	bf_failed(&c, "198.51.100.9", "dave@example.org", T0);
	bf_failed(&c, "198.51.100.9", "dave@example.org", T0);
	CHECK(bf_check(&c, "198.51.100.9", "dave@example.org", T0) == 0);
	CHECK(bf_exchange(bf_smtp, &c, T0, shared_add, NULL) == 0);
	CHECK(nshared == 2); /* the address and the login */
	for (i = 0; i < nshared; i++)
		if (shared[i].kind == 0)
			bf_merge(bf_smtp, &c, 0, shared[i].id, NULL,
			    shared[i].fails + 2, T0, 0, T0);
	/* four in all: slowed as the fourth failure of one node would be */
	CHECK(bf_check(&c, "198.51.100.9", "dave@example.org", T0) == 200);
	/* nothing new to send: the exchange sends nothing */
	CHECK(bf_exchange(bf_smtp, &c, T0, shared_add, NULL) == 0);
	CHECK(shared[0].fails == 2 && shared[1].fails == 2);
}

UNIT_TEST(test_an_address_the_store_refuses_is_refused_here)
{
	unsigned char id[BF_ID_LEN];

	bf_init();
	nshared = 0;
	bf_failed(&conf, "198.51.100.10", "erin@example.org", T0);
	CHECK(bf_exchange(bf_smtp, &conf, T0, shared_add, NULL) == 0);
	memcpy(id, shared[0].kind == 0 ? shared[0].id : shared[1].id,
	    BF_ID_LEN);
	bf_merge(bf_smtp, &conf, 0, id, NULL, 0, T0, T0 + 900, T0);
	CHECK(
	    bf_check(&conf, "198.51.100.10", "erin@example.org", T0 + 1) == -1);
	CHECK(
	    bf_check(&conf, "198.51.100.11", "erin@example.org", T0 + 1) == 0);
}
