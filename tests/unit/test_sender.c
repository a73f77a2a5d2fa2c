/*
 * test_sender: the sender rule, with the documentation's example: user
 * alice has the alias alice_lastname in example.org, and example.org
 * has the domain alias example.net.
 */
#include <stdlib.h>

#include "unit.h"
#include "policy/sender.h"

static struct sender_identity *
alice(void)
{
	static const char *const locals[] = { "alice", "alice_lastname" };
	static const char *const domains[] = { "example.org", "example.net" };

	return sender_identity_new(1, 1, "alice@example.org", locals, 2,
	    domains, 2);
}

static const struct {
	const char *address;
	int allowed;
} alice_cases[] = {
	{ "alice@example.org", 1 },
	{ "alice@example.net", 1 },
	{ "alice_lastname@example.org", 1 },
	{ "alice_lastname@example.net", 1 },
	{ "Alice@Example.NET", 1 },
	{ "ALICE@EXAMPLE.ORG", 1 },
	{ "Alice_Lastname@Example.Org", 1 },
	{ "alice@example.org.", 1 },
	{ "bob@example.org", 0 },
	{ "alice_lastname@gmail.com", 0 },
	{ "alice@gmail.com", 0 },
	{ "", 0 }, /* the null sender */
	{ "alice", 0 },
	{ "alice@", 0 },
	{ "@example.org", 0 },
	{ "alice@sub.example.org", 0 },
	{ "alice@example.org.evil.example", 0 },
	{ "alice@example.com", 0 },
	{ "alice.lastname@example.org", 0 },
	{ "alice_lastnam@example.org", 0 },
	{ "alice_lastname2@example.org", 0 },
	{ "\"alice\"@example.org", 0 },
	{ "alice@[192.0.2.1]", 0 },
};

UNIT_TEST(test_alice_may_send_as_her_names_at_every_name_of_her_domain)
{
	struct sender_identity *id = alice();
	size_t i;

	CHECK(id != NULL);
	if (id == NULL)
		return;
	for (i = 0; i < sizeof(alice_cases) / sizeof(alice_cases[0]); i++) {
		int got = sender_is_allowed(id, alice_cases[i].address);
		if (got != alice_cases[i].allowed) {
			printf("  \"%s\": %s\n", alice_cases[i].address,
			    got ? "allowed" : "refused");
			unit_failed_now = 1;
		}
	}
	free(id);
}

UNIT_TEST(test_the_null_sender_is_refused)
{
	struct sender_identity *id = alice();

	CHECK(sender_is_allowed(id, "") == 0);
	free(id);
}

UNIT_TEST(test_a_domain_identity_allows_any_local_part_at_its_names_only)
{
	static const char *const domains[] = { "example.org", "example.net",
		"xn--bcher-kva.de" };
	static const struct {
		const char *address;
		int allowed;
	} cases[] = {
		{ "anyone@example.org", 1 },
		{ "alice@example.net", 1 },
		{ "No.Reply@Example.NET", 1 },
		{ "j\303\266rg@b\303\274cher.de", 1 },
		{ "info@xn--bcher-kva.de", 1 },
		{ "anyone@gmail.com", 0 },
		{ "anyone@sub.example.org", 0 },
		{ "anyone@example.org.evil.example", 0 },
		{ "", 0 },
		{ "example.org", 0 },
	};
	struct sender_identity *id =
	    sender_identity_new(0, 1, "example.org", NULL, 0, domains, 3);
	size_t i;

	CHECK(id != NULL);
	if (id == NULL)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int got = sender_is_allowed(id, cases[i].address);
		if (got != cases[i].allowed) {
			printf("  \"%s\": %s\n", cases[i].address,
			    got ? "allowed" : "refused");
			unit_failed_now = 1;
		}
	}
	free(id);
}

UNIT_TEST(test_an_identity_without_names_allows_nothing)
{
	static const char *const domains[] = { "example.org" };
	struct sender_identity *user =
	    sender_identity_new(1, 1, "x@example.org", NULL, 0, domains, 1);
	struct sender_identity *nowhere =
	    sender_identity_new(0, 1, "example.org", NULL, 0, NULL, 0);

	CHECK(user && nowhere);
	if (user && nowhere) {
		CHECK(sender_is_allowed(user, "x@example.org") == 0);
		CHECK(sender_is_allowed(nowhere, "x@example.org") == 0);
	}
	free(user);
	free(nowhere);
}
