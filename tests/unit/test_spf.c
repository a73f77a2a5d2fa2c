/*
 * test_spf: SPF (RFC 7208) against a DNS table (dnsq_fake): the record
 * grammar, the macros of RFC 7208 7.4, every result of check_host(), the
 * lookup limits, and checks freed while their questions are out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"
#include "dnsq_fake.h"
#include "inbound/spf.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* One DNS table for the checks below; every question about temp.test
 * fails temporarily. */
static const struct {
	const char *name;
	enum dnsq_type type;
	const char *rr;
} zone[] = {
	{ "pass.test", DNSQ_TXT,
	    "v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all" },
	{ "pass.test", DNSQ_TXT, "google-site-verification=abc" },
	{ "soft.test", DNSQ_TXT, "v=spf1 ~all" },
	{ "neutral.test", DNSQ_TXT, "v=spf1 ?all" },
	{ "noall.test", DNSQ_TXT, "V=SPF1 ip4:192.0.2.1" },
	{ "nospf.test", DNSQ_TXT, "v=spf10 -all" },
	{ "nospf.test", DNSQ_TXT, "some text" },
	{ "two.test", DNSQ_TXT, "v=spf1 -all" },
	{ "two.test", DNSQ_TXT, "v=spf1 +all" },
	{ "syntax.test", DNSQ_TXT, "v=spf1 ip4:192.0.2.300 -all" },
	{ "helo.test", DNSQ_TXT, "v=spf1 ip4:198.51.100.0/24 -all" },
	/* includes: fail and softfail inside do not match */
	{ "inc.test", DNSQ_TXT,
	    "v=spf1 include:a.inc.test include:B.Inc.Test. -all" },
	{ "a.inc.test", DNSQ_TXT, "v=spf1 ip4:198.51.100.0/24 -all" },
	{ "b.inc.test", DNSQ_TXT, "v=spf1 ip6:2001:db8:aaaa::/48 ~all" },
	{ "incnone.test", DNSQ_TXT, "v=spf1 include:nospf.test -all" },
	{ "inctemp.test", DNSQ_TXT, "v=spf1 include:temp.test -all" },
	{ "incperm.test", DNSQ_TXT, "v=spf1 include:syntax.test +all" },
	{ "incsoft.test", DNSQ_TXT, "v=spf1 -include:soft.test ?all" },
	/* redirect */
	{ "redir.test", DNSQ_TXT, "v=spf1 ip4:203.0.113.9 redirect=pass.test" },
	{ "redirnone.test", DNSQ_TXT, "v=spf1 redirect=nospf.test" },
	{ "redirall.test", DNSQ_TXT, "v=spf1 ?all redirect=pass.test" },
	{ "redirmacro.test", DNSQ_TXT, "v=spf1 redirect=_spf.%{d}" },
	{ "_spf.redirmacro.test", DNSQ_TXT, "v=spf1 a -all" },
	{ "_spf.redirmacro.test", DNSQ_A, "192.0.2.77" },
	/* a, mx and CIDR lengths */
	{ "a.test", DNSQ_TXT, "v=spf1 a:host.a.test/28 a//126 -all" },
	{ "host.a.test", DNSQ_A, "192.0.2.64" },
	{ "a.test", DNSQ_AAAA, "2001:db8:5::1" },
	{ "mx.test", DNSQ_TXT, "v=spf1 mx/24//64 -all" },
	{ "mx.test", DNSQ_MX, "mx1.mx.test" },
	{ "mx.test", DNSQ_MX, "mx2.mx.test" },
	{ "mx1.mx.test", DNSQ_A, "192.0.2.10" },
	{ "mx2.mx.test", DNSQ_A, "198.51.100.20" },
	{ "mx2.mx.test", DNSQ_AAAA, "2001:db8:1::20" },
	{ "mxtemp.test", DNSQ_TXT, "v=spf1 mx -all" },
	{ "mxtemp.test", DNSQ_MX, "ok.mxtemp.test" },
	{ "mxtemp.test", DNSQ_MX, "temp.test" },
	{ "ok.mxtemp.test", DNSQ_A, "192.0.2.1" },
	{ "nullmx.test", DNSQ_TXT, "v=spf1 mx ?all" },
	{ "nullmx.test", DNSQ_MX, "" },
	{ "atemp.test", DNSQ_TXT, "v=spf1 a:temp.test -all" },
	/* ptr and exists */
	{ "ptr.test", DNSQ_TXT, "v=spf1 ptr -all" },
	{ "5.2.0.192.in-addr.arpa", DNSQ_PTR, "other.example" },
	{ "5.2.0.192.in-addr.arpa", DNSQ_PTR, "mail.ptr.test" },
	{ "6.2.0.192.in-addr.arpa", DNSQ_PTR, "mail.ptr.test" },
	{ "mail.ptr.test", DNSQ_A, "192.0.2.5" },
	{ "ex.test", DNSQ_TXT, "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d} -all" },
	{ "5.2.0.192.bob._spf.ex.test", DNSQ_A, "127.0.0.2" },
	/* void lookups and the lookup limit */
	{ "void2.test", DNSQ_TXT, "v=spf1 a:nx1.test mx:nx2.test -all" },
	{ "void3.test", DNSQ_TXT,
	    "v=spf1 a:nx1.test mx:nx2.test exists:nx3.test -all" },
	{ "limit10.test", DNSQ_TXT,
	    "v=spf1 a:h.test a:h.test a:h.test a:h.test a:h.test a:h.test "
	    "a:h.test a:h.test a:h.test a:h.test -all" },
	{ "limit11.test", DNSQ_TXT,
	    "v=spf1 a:h.test a:h.test a:h.test a:h.test a:h.test a:h.test "
	    "a:h.test a:h.test a:h.test include:h.test -all" },
	{ "h.test", DNSQ_A, "10.0.0.1" },
	{ "h.test", DNSQ_TXT, "v=spf1 a:h.test -all" },
	{ "loop.test", DNSQ_TXT, "v=spf1 include:loop.test -all" },
	{ "mx11.test", DNSQ_TXT, "v=spf1 mx -all" },
};

static struct dnsq_fake *
fake_zone(void)
{
	struct dnsq_fake *f = dnsq_fake_new();
	size_t i;

	for (i = 0; i < NELEM(zone); i++)
		dnsq_fake_add(f, zone[i].name, zone[i].type, zone[i].rr);
	dnsq_fake_fail(f, "temp.test", DNSQ_TEMPFAIL);
	for (i = 1; i <= 11; i++) {
		char name[32];

		snprintf(name, sizeof(name), "m%zu.mx11.test", i);
		dnsq_fake_add(f, "mx11.test", DNSQ_MX, name);
	}
	return f;
}

struct got {
	int calls;
	enum spf_result result;
	char reason[256];
};

static void
got_cb(struct spf_check *c, void *arg)
{
	struct got *g = arg;

	g->calls++;
	g->result = spf_check_result(c);
	snprintf(g->reason, sizeof(g->reason), "%s", spf_check_reason(c));
	CHECK(spf_check_finished(c));
}

/* One check to its end; *lookups (if not NULL) gets the terms counted. */
static enum spf_result
run(struct dnsq_fake *f, const char *ip, const char *helo, const char *from,
    int helo_identity, struct got *g, int *lookups)
{
	struct spf_check *c;
	enum spf_result r;

	memset(g, 0, sizeof(*g));
	if (helo_identity)
		c = spf_check_start_helo(dnsq_fake_dnsq(f), ip, helo, got_cb,
		    g);
	else
		c = spf_check_start(dnsq_fake_dnsq(f), ip, helo, from, got_cb,
		    g);
	CHECK(c != NULL);
	if (c == NULL)
		return SPF_PERMERROR;
	CHECK(g->calls == 0); /* never inside start */
	if (spf_check_finished(c)) {
		CHECK(dnsq_fake_run(f) == 0);
		CHECK(g->calls == 0);
		r = spf_check_result(c);
		snprintf(g->reason, sizeof(g->reason), "%s",
		    spf_check_reason(c));
	} else {
		dnsq_fake_run(f);
		CHECK(g->calls == 1);
		r = g->result;
	}
	if (lookups != NULL)
		*lookups = spf_check_lookups(c);
	spf_check_free(c);
	return r;
}

static const struct {
	const char *label;
	const char *ip, *from;
	enum spf_result result;
	const char *reason; /* a part of it, or NULL */
} check_cases[] = {
	{ "an address in ip4 passes", "192.0.2.7", "a@pass.test", SPF_PASS,
	    "matched +ip4 in pass.test" },
	{ "an address in ip6 passes", "2001:db8::7", "a@pass.test", SPF_PASS,
	    NULL },
	{ "an IPv4-mapped client is compared as IPv4", "::ffff:192.0.2.7",
	    "a@PASS.test.", SPF_PASS, NULL },
	{ "another address fails", "203.0.113.1", "a@pass.test", SPF_FAIL,
	    "matched -all" },
	{ "an IPv4-mapped client is not in ip6", "::ffff:203.0.113.1",
	    "a@pass.test", SPF_FAIL, NULL },
	{ "~all is a softfail", "203.0.113.1", "a@soft.test", SPF_SOFTFAIL,
	    NULL },
	{ "?all is neutral", "203.0.113.1", "a@neutral.test", SPF_NEUTRAL,
	    NULL },
	{ "no match and no all is neutral", "203.0.113.1", "a@noall.test",
	    SPF_NEUTRAL, "no mechanism matched" },
	{ "the version is case-insensitive", "192.0.2.1", "a@noall.test",
	    SPF_PASS, NULL },
	{ "no SPF record is none", "192.0.2.1", "a@nospf.test", SPF_NONE,
	    "no SPF record" },
	{ "no such domain is none", "192.0.2.1", "a@nosuch.test", SPF_NONE,
	    NULL },
	{ "two SPF records are a permerror", "192.0.2.1", "a@two.test",
	    SPF_PERMERROR, "2 SPF records" },
	{ "a syntax error is a permerror", "192.0.2.1", "a@syntax.test",
	    SPF_PERMERROR, "bad term" },
	{ "a DNS failure is a temperror", "192.0.2.1", "a@temp.test",
	    SPF_TEMPERROR, NULL },
	{ "an include that passes matches", "198.51.100.7", "a@inc.test",
	    SPF_PASS, "matched +include in inc.test" },
	{ "a second include that passes matches", "2001:db8:aaaa::1",
	    "a@inc.test", SPF_PASS, NULL },
	{ "includes that fail or softfail do not match", "203.0.113.1",
	    "a@inc.test", SPF_FAIL, "matched -all" },
	{ "an include without a record is a permerror", "192.0.2.1",
	    "a@incnone.test", SPF_PERMERROR, "no SPF record at nospf.test" },
	{ "a temperror inside an include ends the check", "192.0.2.1",
	    "a@inctemp.test", SPF_TEMPERROR, NULL },
	{ "a permerror inside an include ends the check", "192.0.2.1",
	    "a@incperm.test", SPF_PERMERROR, NULL },
	{ "a softfail inside -include does not match", "192.0.2.1",
	    "a@incsoft.test", SPF_NEUTRAL, NULL },
	{ "redirect gives the other record's result", "192.0.2.9",
	    "a@redir.test", SPF_PASS, "in pass.test" },
	{ "redirect gives the other record's fail", "203.0.113.1",
	    "a@redir.test", SPF_FAIL, NULL },
	{ "a mechanism before redirect still counts", "203.0.113.9",
	    "a@redir.test", SPF_PASS, "in redir.test" },
	{ "a redirect to no record is a permerror", "192.0.2.1",
	    "a@redirnone.test", SPF_PERMERROR, "redirect" },
	{ "redirect is ignored after all", "203.0.113.1", "a@redirall.test",
	    SPF_NEUTRAL, NULL },
	{ "redirect expands its macros and d becomes the new domain",
	    "192.0.2.77", "a@redirmacro.test", SPF_PASS,
	    "matched +a in _spf.redirmacro.test" },
	{ "a with a CIDR length", "192.0.2.70", "a@a.test", SPF_PASS, NULL },
	{ "a outside its CIDR length", "192.0.2.80", "a@a.test", SPF_FAIL,
	    NULL },
	{ "a with an IPv6 CIDR length", "2001:db8:5::3", "a@a.test", SPF_PASS,
	    NULL },
	{ "a outside its IPv6 CIDR length", "2001:db8:5::4", "a@a.test",
	    SPF_FAIL, NULL },
	{ "mx with a CIDR length", "198.51.100.99", "a@mx.test", SPF_PASS,
	    "matched +mx" },
	{ "mx with an IPv6 CIDR length", "2001:db8:1::ffff", "a@mx.test",
	    SPF_PASS, NULL },
	{ "mx outside", "203.0.113.1", "a@mx.test", SPF_FAIL, NULL },
	{ "an MX host that answers is enough", "192.0.2.1", "a@mxtemp.test",
	    SPF_PASS, NULL },
	{ "an MX host that fails and no match is a temperror", "203.0.113.1",
	    "a@mxtemp.test", SPF_TEMPERROR, NULL },
	{ "a null MX matches nothing", "192.0.2.1", "a@nullmx.test",
	    SPF_NEUTRAL, NULL },
	{ "more than 10 MX names are a permerror", "192.0.2.1", "a@mx11.test",
	    SPF_PERMERROR, "MX names" },
	{ "a DNS failure in a is a temperror", "192.0.2.1", "a@atemp.test",
	    SPF_TEMPERROR, NULL },
	{ "ptr with a validated name passes", "192.0.2.5", "a@ptr.test",
	    SPF_PASS, "matched +ptr" },
	{ "ptr with a name not leading back fails", "192.0.2.6", "a@ptr.test",
	    SPF_FAIL, NULL },
	{ "ptr without names fails", "192.0.2.7", "a@ptr.test", SPF_FAIL,
	    NULL },
	{ "exists with RFC 7208 macros", "192.0.2.5", "bob+x@ex.test", SPF_PASS,
	    "matched +exists" },
	{ "exists finding nothing", "192.0.2.6", "bob+x@ex.test", SPF_FAIL,
	    NULL },
	{ "two void lookups are allowed", "192.0.2.1", "a@void2.test", SPF_FAIL,
	    NULL },
	{ "a third void lookup is a permerror", "192.0.2.1", "a@void3.test",
	    SPF_PERMERROR, "void lookups" },
	{ "ten DNS lookups are allowed", "192.0.2.1", "a@limit10.test",
	    SPF_FAIL, NULL },
	{ "an eleventh DNS lookup is a permerror", "192.0.2.1",
	    "a@limit11.test", SPF_PERMERROR, "more than 10 DNS lookups" },
	{ "an include loop ends at the lookup limit", "192.0.2.1",
	    "a@loop.test", SPF_PERMERROR, "more than 10 DNS lookups" },
	{ "an address literal is no domain: none", "192.0.2.1", "a@[192.0.2.1]",
	    SPF_NONE, NULL },
	{ "a single label is no domain: none", "192.0.2.1", "a@localhost",
	    SPF_NONE, NULL },
	{ "an IP as a domain is no domain: none", "192.0.2.1", "a@192.0.2.1",
	    SPF_NONE, NULL },
};

UNIT_TEST(test_spf_check_host_gives_every_result)
{
	struct dnsq_fake *f = fake_zone();
	enum spf_result r;
	struct got g;
	size_t i;

	for (i = 0; i < NELEM(check_cases); i++) {
		r = run(f, check_cases[i].ip, "mail.example",
		    check_cases[i].from, 0, &g, NULL);
		if (r != check_cases[i].result ||
		    (check_cases[i].reason != NULL &&
			strstr(g.reason, check_cases[i].reason) == NULL)) {
			printf("  %s: %s \"%s\"\n", check_cases[i].label,
			    spf_result_name(r), g.reason);
			CHECK(r == check_cases[i].result);
			CHECK(check_cases[i].reason == NULL ||
			      strstr(g.reason, check_cases[i].reason) != NULL);
		}
	}
	dnsq_fake_free(f);
}

UNIT_TEST(test_spf_lookups_are_counted_per_check)
{
	struct dnsq_fake *f = fake_zone();
	struct got g;
	int n;

	CHECK(run(f, "192.0.2.1", "x.example", "a@limit10.test", 0, &g, &n) ==
	      SPF_FAIL);
	CHECK(n == 10);
	CHECK(run(f, "192.0.2.1", "x.example", "a@pass.test", 0, &g, &n) ==
	      SPF_PASS);
	CHECK(n == 0);
	CHECK(run(f, "198.51.100.1", "x.example", "a@inc.test", 0, &g, &n) ==
	      SPF_PASS);
	CHECK(n == 1);
	dnsq_fake_free(f);
}

UNIT_TEST(test_spf_null_sender_is_checked_as_postmaster_at_helo)
{
	struct dnsq_fake *f = fake_zone();
	struct spf_check *c;
	struct got g;

	CHECK(run(f, "198.51.100.3", "HELO.test", "", 0, &g, NULL) == SPF_PASS);
	CHECK(
	    run(f, "198.51.100.3", "helo.test", NULL, 0, &g, NULL) == SPF_PASS);
	CHECK(run(f, "192.0.2.3", "helo.test", "", 0, &g, NULL) == SPF_FAIL);
	c = spf_check_start(dnsq_fake_dnsq(f), "198.51.100.3", "Helo.Test", "",
	    got_cb, &g);
	CHECK(c != NULL && !spf_check_finished(c));
	CHECK_STR(spf_check_domain(c), "helo.test");
	CHECK_STR(spf_check_sender(c), "postmaster@helo.test");
	spf_check_free(c);
	CHECK(dnsq_fake_run(f) == 0); /* its question was cancelled */
	/* a sender without a local-part is postmaster too */
	c = spf_check_start(dnsq_fake_dnsq(f), "198.51.100.3", "x",
	    "@Pass.Test", got_cb, &g);
	CHECK_STR(spf_check_sender(c), "postmaster@pass.test");
	spf_check_free(c);
	dnsq_fake_free(f);
}

UNIT_TEST(test_spf_helo_identity_is_the_helo_domain)
{
	struct dnsq_fake *f = fake_zone();
	struct got g;

	/* MAIL FROM plays no part */
	CHECK(run(f, "198.51.100.3", "helo.test", "a@pass.test", 1, &g, NULL) ==
	      SPF_PASS);
	CHECK(run(f, "192.0.2.3", "helo.test", NULL, 1, &g, NULL) == SPF_FAIL);
	/* an address literal as HELO: none, known at once */
	CHECK(
	    run(f, "192.0.2.3", "[192.0.2.3]", NULL, 1, &g, NULL) == SPF_NONE);
	CHECK(run(f, "192.0.2.3", NULL, NULL, 1, &g, NULL) == SPF_NONE);
	dnsq_fake_free(f);
}

UNIT_TEST(test_spf_a_malformed_identity_is_none_without_dns)
{
	struct dnsq_fake *f = fake_zone();
	struct spf_check *c;
	struct got g = { 0 };

	c = spf_check_start(dnsq_fake_dnsq(f), "192.0.2.1", "h.test",
	    "a@bad..test", got_cb, &g);
	CHECK(c != NULL && spf_check_finished(c));
	CHECK(spf_check_result(c) == SPF_NONE);
	CHECK(dnsq_fake_asked(f) == 0);
	CHECK(dnsq_fake_run(f) == 0 && g.calls == 0);
	spf_check_free(c);
	/* not an address: no check */
	CHECK(spf_check_start(dnsq_fake_dnsq(f), "192.0.2", "h", "a@pass.test",
		  got_cb, &g) == NULL);
	CHECK(spf_check_start(dnsq_fake_dnsq(f), "bogus", "h", "a@pass.test",
		  got_cb, &g) == NULL);
	dnsq_fake_free(f);
}

UNIT_TEST(test_spf_a_check_freed_while_asking_never_calls_back)
{
	struct dnsq_fake *f = fake_zone();
	struct spf_check *c;
	struct got g = { 0 };

	c = spf_check_start(dnsq_fake_dnsq(f), "192.0.2.1", "h.test",
	    "a@inc.test", got_cb, &g);
	CHECK(c != NULL && !spf_check_finished(c));
	spf_check_free(c);
	CHECK(dnsq_fake_run(f) == 0);
	CHECK(g.calls == 0);
	dnsq_fake_free(f);
}

/* The first check's answer frees the second one, which waits for the
 * addresses of two MX hosts by then. */
struct pair {
	struct spf_check *other;
	int calls;
};

static void
free_other_cb(struct spf_check *c, void *arg)
{
	struct pair *p = arg;

	p->calls++;
	spf_check_free(p->other);
	p->other = NULL;
	spf_check_free(c); /* and itself, from inside done */
}

static void
never_cb(struct spf_check *c, void *arg)
{
	(*(int *)arg)++;
}

UNIT_TEST(test_spf_a_check_freed_from_another_ones_answer_stays_silent)
{
	struct dnsq_fake *f = fake_zone();
	struct pair p = { NULL, 0 };
	int never = 0, asked;

	/* B: TXT, MX, then 2 A questions; A: TXT, then A of host.a.test */
	p.other = spf_check_start(dnsq_fake_dnsq(f), "203.0.113.1", "h.test",
	    "b@mx.test", never_cb, &never);
	CHECK(spf_check_start(dnsq_fake_dnsq(f), "192.0.2.70", "h.test",
		  "a@a.test", free_other_cb, &p) != NULL);
	dnsq_fake_run(f);
	asked = dnsq_fake_asked(f);
	CHECK(asked == 6); /* 2 TXT, MX, A of host.a.test, 2 MX hosts */
	CHECK(p.calls == 1 && never == 0);
	dnsq_fake_free(f);
}

UNIT_TEST(test_spf_result_names_are_rfc_8601_words)
{
	CHECK_STR(spf_result_name(SPF_NONE), "none");
	CHECK_STR(spf_result_name(SPF_NEUTRAL), "neutral");
	CHECK_STR(spf_result_name(SPF_PASS), "pass");
	CHECK_STR(spf_result_name(SPF_FAIL), "fail");
	CHECK_STR(spf_result_name(SPF_SOFTFAIL), "softfail");
	CHECK_STR(spf_result_name(SPF_TEMPERROR), "temperror");
	CHECK_STR(spf_result_name(SPF_PERMERROR), "permerror");
}

static const struct {
	const char *record;
	int ok;
} parse_cases[] = {
	{ "v=spf1", 1 },
	{ "v=spf1 ", 1 },
	{ "v=spf1  -all  ", 1 },
	{ "V=Spf1 +ALL", 1 },
	{ "v=spf1 a mx ptr -all", 1 },
	{ "v=spf1 a/24 mx//64 a:x.example/24//64 mx:%{d}/0", 1 },
	{ "v=spf1 ip4:192.0.2.0/24 ip4:10.1.2.3 ip6:::1 ip6:2001:db8::/32", 1 },
	{ "v=spf1 include:_spf.example.com ~all", 1 },
	{ "v=spf1 include:example.com. ?all", 1 },
	{ "v=spf1 exists:%{i}.%{h}.%{d2r}.x.example", 1 },
	{ "v=spf1 exists:%{ir}.%{l1r+-}._spf.%{d}", 1 },
	{ "v=spf1 redirect=_spf.example.com", 1 },
	{ "v=spf1 exp=explain._spf.%{d} -all", 1 },
	{ "v=spf1 foo=bar unknown-mod=%{x -all", 0 },
	{ "v=spf1 foo=bar moo.cow-far_out=man:dog/cat -all", 1 },
	{ "v=spf1 foo= -all", 1 },
	{ "v=spf1 a:1-2.example", 1 },
	{ "v=spf1 %{d}", 0 },
	{ "v=spf10", 0 },
	{ "v=spf", 0 },
	{ "spf1 -all", 0 },
	{ "v=spf1\t-all", 0 },
	{ "v=spf1 -all\t", 0 },
	{ "v=spf1 all:x.example", 0 },
	{ "v=spf1 allx", 0 },
	{ "v=spf1 include", 0 },
	{ "v=spf1 include:", 0 },
	{ "v=spf1 exists", 0 },
	{ "v=spf1 a:", 0 },
	{ "v=spf1 a:example", 0 },
	{ "v=spf1 a:example.123", 0 },
	{ "v=spf1 a:example.com-", 0 },
	{ "v=spf1 a/33", 0 },
	{ "v=spf1 a//129", 0 },
	{ "v=spf1 a/024", 0 },
	{ "v=spf1 a/", 0 },
	{ "v=spf1 a:x.example/", 0 },
	{ "v=spf1 ptr/24", 0 },
	{ "v=spf1 ip4", 0 },
	{ "v=spf1 ip4:", 0 },
	{ "v=spf1 ip4:192.0.2.0/33", 0 },
	{ "v=spf1 ip4:192.0.2.01", 0 },
	{ "v=spf1 ip4:192.0.2.0//24", 0 },
	{ "v=spf1 ip4:2001:db8::1", 0 },
	{ "v=spf1 ip6:2001:db8::/129", 0 },
	{ "v=spf1 ip6:192.0.2.1", 0 },
	{ "v=spf1 *all", 0 },
	{ "v=spf1 --all", 0 },
	{ "v=spf1 -redirect=x.example", 0 },
	{ "v=spf1 redirect=a.example redirect=b.example", 0 },
	{ "v=spf1 exp=a.example Exp=b.example", 0 },
	{ "v=spf1 redirect=", 0 },
	{ "v=spf1 redirect=example", 0 },
	{ "v=spf1 exists:%{c}.x.example", 0 },
	{ "v=spf1 exists:%{r}.x.example", 0 },
	{ "v=spf1 exists:%{t}.x.example", 0 },
	{ "v=spf1 exists:%{d0}.x.example", 0 },
	{ "v=spf1 exists:%{q}.x.example", 0 },
	{ "v=spf1 exists:%{d", 0 },
	{ "v=spf1 exists:%x.example", 0 },
	{ "v=spf1 exists:%%.x.example", 1 },
	{ "v=spf1 exists:%{d}%_%-.x.example", 1 },
	{ "v=spf1 exists:%{d2r.-+,/_=}.x.example", 1 },
	{ "v=spf1 exists:%{D}", 1 },
	{ "v=spf1 a:ex\x01.example", 0 },
	{ "v=spf1 a:ex\xc3\xa9.example", 0 },
};

UNIT_TEST(test_spf_records_are_parsed_by_the_rfc_7208_grammar)
{
	struct spf_record *r = malloc(sizeof(*r));
	char err[128];
	size_t i;
	int rc;

	CHECK(r != NULL);
	if (r == NULL)
		return;
	for (i = 0; i < NELEM(parse_cases); i++) {
		err[0] = '\0';
		rc = spf_record_parse(parse_cases[i].record, r, err,
		    sizeof(err));
		if ((rc == 0) != parse_cases[i].ok) {
			printf("  \"%s\": %s\n", parse_cases[i].record,
			    rc == 0 ? "accepted" : err);
			CHECK((rc == 0) == parse_cases[i].ok);
		}
		CHECK(rc == 0 || err[0] != '\0');
	}
	free(r);
}

UNIT_TEST(test_spf_record_terms_carry_their_parts)
{
	struct spf_record *r = malloc(sizeof(*r));
	char err[128];

	if (r == NULL)
		return;
	CHECK(spf_record_parse(
		  "v=spf1 -a:Mail.example/24//64 ~mx ?ip4:192.0.2.1/16 "
		  "ip6:2001:db8::/32 include:x.example "
		  "redirect=r.example exp=e.example",
		  r, err, sizeof(err)) == 0);
	CHECK(r->nterms == 5);
	CHECK(r->terms[0].mech == SPF_A && r->terms[0].qual == '-');
	CHECK_STR(r->terms[0].spec, "Mail.example");
	CHECK(r->terms[0].cidr4 == 24 && r->terms[0].cidr6 == 64);
	CHECK(r->terms[1].mech == SPF_MX && r->terms[1].qual == '~');
	CHECK(r->terms[1].spec == NULL && r->terms[1].cidr4 == 32 &&
	      r->terms[1].cidr6 == 128);
	CHECK(r->terms[2].mech == SPF_IP4 && r->terms[2].cidr4 == 16);
	CHECK(r->terms[2].addr[0] == 192 && r->terms[2].addr[3] == 1);
	CHECK(r->terms[3].mech == SPF_IP6 && r->terms[3].cidr6 == 32);
	CHECK(r->terms[4].mech == SPF_INCLUDE && r->terms[4].qual == '+');
	CHECK_STR(r->redirect, "r.example");
	CHECK_STR(r->exp, "e.example");
	free(r);
}

UNIT_TEST(test_spf_records_past_the_limits_are_refused)
{
	struct spf_record *r = malloc(sizeof(*r));
	char *big = malloc(SPF_RECORD_MAX + 16), err[128];
	size_t len;
	int i;

	if (r == NULL || big == NULL)
		return;
	/* 64 mechanisms, then 65 */
	len = (size_t)snprintf(big, SPF_RECORD_MAX, "v=spf1");
	for (i = 0; i < SPF_MAX_TERMS; i++)
		len += (size_t)snprintf(big + len, SPF_RECORD_MAX - len,
		    " ip4:10.0.0.%d", i);
	CHECK(spf_record_parse(big, r, err, sizeof(err)) == 0);
	CHECK(r->nterms == SPF_MAX_TERMS);
	snprintf(big + len, SPF_RECORD_MAX - len, " -all");
	CHECK(spf_record_parse(big, r, err, sizeof(err)) == -1);
	/* modifiers are not mechanisms */
	snprintf(big + len, SPF_RECORD_MAX - len, " x=y");
	CHECK(spf_record_parse(big, r, err, sizeof(err)) == 0);
	/* 4095 bytes, then 4096 */
	memset(big, ' ', SPF_RECORD_MAX);
	memcpy(big, "v=spf1", 6);
	big[SPF_RECORD_MAX - 5] = '-';
	memcpy(big + SPF_RECORD_MAX - 4, "all", 4);
	CHECK(strlen(big) == SPF_RECORD_MAX - 1);
	CHECK(spf_record_parse(big, r, err, sizeof(err)) == 0);
	CHECK(r->nterms == 1 && r->terms[0].qual == '-');
	memcpy(big + SPF_RECORD_MAX - 4, "all ", 5);
	CHECK(spf_record_parse(big, r, err, sizeof(err)) == -1);
	free(big);
	free(r);
}

static const struct spf_macro_env env4 = {
	"strong-bad@email.example.com",
	"strong-bad",
	"email.example.com",
	"email.example.com",
	"192.0.2.3",
	"192.0.2.3",
	0,
	"mx.example.org",
	"mx.example.net",
	1000000000,
};

static const struct {
	const char *spec, *out;
} macro_cases[] = {
	/* RFC 7208 7.4 */
	{ "%{s}", "strong-bad@email.example.com" },
	{ "%{o}", "email.example.com" },
	{ "%{d}", "email.example.com" },
	{ "%{d4}", "email.example.com" },
	{ "%{d3}", "email.example.com" },
	{ "%{d2}", "example.com" },
	{ "%{d1}", "com" },
	{ "%{dr}", "com.example.email" },
	{ "%{d2r}", "example.email" },
	{ "%{l}", "strong-bad" },
	{ "%{l-}", "strong.bad" },
	{ "%{lr}", "strong-bad" },
	{ "%{lr-}", "bad.strong" },
	{ "%{l1r-}", "strong" },
	{ "%{ir}.%{v}._spf.%{d2}", "3.2.0.192.in-addr._spf.example.com" },
	{ "%{lr-}.lp._spf.%{d2}", "bad.strong.lp._spf.example.com" },
	{ "%{lr-}.lp.%{ir}.%{v}._spf.%{d2}",
	    "bad.strong.lp.3.2.0.192.in-addr._spf.example.com" },
	{ "%{ir}.%{v}.%{l1r-}.lp._spf.%{d2}",
	    "3.2.0.192.in-addr.strong.lp._spf.example.com" },
	{ "%{d2}.trusted-domains.example.net",
	    "example.com.trusted-domains.example.net" },
	/* more */
	{ "%{h}.X.Example.", "mx.example.org.x.example" },
	{ "%{d999}", "email.example.com" },
	{ "%{p}.x.example", "unknown.x.example" },
	{ "%{S}", "strong-bad%40email.example.com" },
	{ "%%.x.example", "%.x.example" },
};

UNIT_TEST(test_spf_macros_expand_as_in_rfc_7208_section_7_4)
{
	struct spf_macro_env env6 = env4;
	char out[SPF_DOMAIN_MAX + 1];
	size_t i;

	for (i = 0; i < NELEM(macro_cases); i++) {
		if (spf_macro_expand(macro_cases[i].spec, &env4, 0, out,
			sizeof(out)) == -1)
			strcpy(out, "(error)");
		if (strcmp(out, macro_cases[i].out) != 0) {
			printf("  %s\n", macro_cases[i].spec);
			CHECK_STR(out, macro_cases[i].out);
		}
	}
	env6.ip = "2001:db8::cb01";
	env6.ip_dots =
	    "2.0.0.1.0.d.b.8.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "c.b.0.1";
	env6.v6 = 1;
	CHECK(spf_macro_expand("%{ir}.%{v}._spf.%{d2}", &env6, 0, out,
		  sizeof(out)) == 0);
	CHECK_STR(out,
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6._spf.example.com");
	/* explanations: spaces, %_ %- and c r t */
	CHECK(spf_macro_expand("%{i} is not one of %{d}'s designated mail "
			       "servers (%{c} %{r} %{t})%_%-",
		  &env4, 1, out, sizeof(out)) == 0);
	CHECK_STR(out,
	    "192.0.2.3 is not one of email.example.com's designated mail "
	    "servers (192.0.2.3 mx.example.net 1000000000) %20");
	/* c r t are for explanations only; bad names are refused */
	CHECK(spf_macro_expand("%{c}.x.example", &env4, 0, out, sizeof(out)) ==
	      -1);
	CHECK(spf_macro_expand("a..b", &env4, 0, out, sizeof(out)) == -1);
	CHECK(spf_macro_expand("%{d}", &env4, 0, out, 8) == -1);
}

UNIT_TEST(test_spf_long_expansions_are_cut_from_the_left_by_labels)
{
	struct spf_macro_env env = env4;
	char local[600], spec[2048], out[SPF_DOMAIN_MAX + 1];
	size_t i;

	/* 60 labels "abcdefg" of 8 bytes with the dot: 480 bytes */
	for (i = 0; i < 60; i++)
		memcpy(local + 8 * i, "abcdefg.", 8);
	local[8 * 60 - 1] = '\0';
	env.local = local;
	CHECK(spf_macro_expand("%{l}.%{d}", &env, 0, out, sizeof(out)) == 0);
	CHECK(strlen(out) <= SPF_DOMAIN_MAX);
	CHECK(strlen(out) > SPF_DOMAIN_MAX - 8);
	CHECK(strncmp(out, "abcdefg.", 8) == 0);
	CHECK(strcmp(out + strlen(out) - 18, ".email.example.com") == 0);
	/* far more than any window: still the right end, whole labels */
	spec[0] = '\0';
	for (i = 0; i < 100; i++)
		strcat(spec, "%{l}.");
	strcat(spec, "end.example");
	CHECK(spf_macro_expand(spec, &env, 0, out, sizeof(out)) == 0);
	CHECK(strlen(out) <= SPF_DOMAIN_MAX);
	CHECK(strncmp(out, "abcdefg.", 8) == 0);
	CHECK(strcmp(out + strlen(out) - 12, ".end.example") == 0);
	/* a label too long goes with the cut; alone, it is no name */
	memset(local, 'x', 300);
	local[300] = '\0';
	CHECK(
	    spf_macro_expand("%{l}.x.example", &env, 0, out, sizeof(out)) == 0);
	CHECK_STR(out, "x.example");
	CHECK(spf_macro_expand("%{l}", &env, 0, out, sizeof(out)) == -1);
	local[100] = '\0';
	CHECK(spf_macro_expand("%{l}.x.example", &env, 0, out, sizeof(out)) ==
	      -1);
}

UNIT_TEST(test_spf_ptr_names_are_reversed)
{
	char out[80];

	CHECK(spf_ptr_name("192.0.2.5", out, sizeof(out)) == 0);
	CHECK_STR(out, "5.2.0.192.in-addr.arpa");
	CHECK(spf_ptr_name("::ffff:192.0.2.5", out, sizeof(out)) == 0);
	CHECK_STR(out, "5.2.0.192.in-addr.arpa");
	CHECK(spf_ptr_name("2001:db8::cb01", out, sizeof(out)) == 0);
	CHECK_STR(out,
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0."
	    "1.0.0.2.ip6.arpa");
	CHECK(spf_ptr_name("bogus", out, sizeof(out)) == -1);
	CHECK(spf_ptr_name("192.0.2.5", out, 20) == -1);
}
