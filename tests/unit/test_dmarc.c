/*
 * test_dmarc: the DMARC record parser, the organizational domain with a
 * small Public Suffix List (tests/unit/data/psl/small.dat: wildcard,
 * exception and U-label rules), the From domain, and the evaluation
 * against the fake DNS table: alignment, sp=, pct=, no record, two
 * records, failures.
 */
#include <stdlib.h>

#include "dnsq_fake.h"
#include "unit.h"
#include "inbound/dmarc.h"
#include "inbound/psl.h"

#define SMALL_PSL "tests/unit/data/psl/small.dat"

/* A record that is no valid record. */
#define REFUSED(txt)                                                           \
	{                                                                      \
		txt, 0, 0, 0, 0, 0, 0, 0, 0                                    \
	}

UNIT_TEST(test_dmarc_records_are_parsed_or_refused)
{
	static const struct {
		const char *txt;
		int ok;
		enum dmarc_policy p, sp;
		int adkim_s, aspf_s, pct, rua, assumed;
	} cases[] = {
		{ "v=DMARC1; p=none", 1, DMARC_POLICY_NONE, DMARC_POLICY_NONE,
		    0, 0, 100, 0, 0 },
		{ "v=DMARC1;p=reject;sp=quarantine;adkim=s;aspf=r;pct=50", 1,
		    DMARC_POLICY_REJECT, DMARC_POLICY_QUARANTINE, 1, 0, 50, 0,
		    0 },
		{ "v=DMARC1; p=Reject; ASPF=S", 1, DMARC_POLICY_REJECT,
		    DMARC_POLICY_REJECT, 0, 1, 100, 0, 0 },
		{ "v=DMARC1 ; p = quarantine ;", 1, DMARC_POLICY_QUARANTINE,
		    DMARC_POLICY_QUARANTINE, 0, 0, 100, 0, 0 },
		{ "v=DMARC1; p=reject; rua=mailto:a@x.org , "
		  "mailto:b@y.org!10m; ruf=mailto:f@x.org; fo=1:d; rf=afrf; "
		  "ri=3600; foo=bar",
		    1, DMARC_POLICY_REJECT, DMARC_POLICY_REJECT, 0, 0, 100, 1,
		    0 },
		{ "v=DMARC1; p=reject; ri=soon; fo=x", 1, DMARC_POLICY_REJECT,
		    DMARC_POLICY_REJECT, 0, 0, 100, 0, 0 },
		{ "v=DMARC1; p=quarantine; pct=0", 1, DMARC_POLICY_QUARANTINE,
		    DMARC_POLICY_QUARANTINE, 0, 0, 0, 0, 0 },
		/* 6.6.3: no valid p=, a valid rua=: as if p=none */
		{ "v=DMARC1; rua=mailto:d@example.org", 1, DMARC_POLICY_NONE,
		    DMARC_POLICY_NONE, 0, 0, 100, 1, 1 },
		{ "v=DMARC1; p=bogus; rua=mailto:d@example.org", 1,
		    DMARC_POLICY_NONE, DMARC_POLICY_NONE, 0, 0, 100, 1, 1 },
		{ "v=DMARC1; p=reject; sp=bogus; rua=mailto:d@example.org", 1,
		    DMARC_POLICY_NONE, DMARC_POLICY_NONE, 0, 0, 100, 1, 1 },
		REFUSED("v=DMARC1; p=bogus"),
		REFUSED("v=DMARC1; p=bogus; rua=not a uri"),
		REFUSED("v=DMARC1; p=reject; sp=bogus"),
		REFUSED("v=DMARC1"),
		REFUSED("p=reject; v=DMARC1"),
		REFUSED("v=DMARC2; p=reject"),
		REFUSED("v=dmarc1; p=reject"),
		REFUSED("v=DMARC1x; p=reject"),
		REFUSED("v=DMARC1; p=reject; pct=101"),
		REFUSED("v=DMARC1; p=reject; pct=-1"),
		REFUSED("v=DMARC1; p=reject; pct="),
		REFUSED("v=DMARC1; p=reject; pct=0050"),
		REFUSED("v=DMARC1; p=reject; adkim=x"),
		REFUSED("v=DMARC1; p=reject; p=none"),
		REFUSED("v=DMARC1; p=reject; P=none"),
		REFUSED("v=DMARC1; p=reject; =x"),
		REFUSED("v=DMARC1; p=reject; x"),
		REFUSED("v=DMARC1; p=reject\x01"),
		REFUSED("v=DMARC1; p=reject; rua=mailto:\xc3\xa9@x.org"),
		REFUSED(""),
		REFUSED(";"),
	};
	struct dmarc_record r;
	size_t i;
	int ok;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ok = dmarc_record_parse(cases[i].txt, &r) == 0;
		if (ok != cases[i].ok)
			printf("  case: \"%s\"\n", cases[i].txt);
		CHECK(ok == cases[i].ok);
		if (!ok || !cases[i].ok)
			continue;
		if (r.p != cases[i].p || r.sp != cases[i].sp ||
		    r.adkim_strict != cases[i].adkim_s ||
		    r.aspf_strict != cases[i].aspf_s || r.pct != cases[i].pct ||
		    r.has_rua != cases[i].rua ||
		    r.p_assumed != cases[i].assumed) {
			printf("  case: \"%s\"\n", cases[i].txt);
			CHECK(!"fields as expected");
		}
	}
	CHECK(dmarc_record_parse("v=DMARC1; p=reject; fo=1:d; ri=3600; "
				 "rua=mailto:a@x.org",
		  &r) == 0);
	CHECK_STR(r.fo, "1:d");
	CHECK(r.ri == 3600);
	CHECK_STR(r.rua, "mailto:a@x.org");
}

UNIT_TEST(test_dmarc_organizational_domain_follows_the_public_suffix_list)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
		{ "example.com", "example.com" },
		{ "a.b.example.com", "example.com" },
		{ "com", "com" },
		{ "mail.example.co.uk", "example.co.uk" },
		{ "co.uk", "co.uk" },
		{ "example.uk", "example.uk" },
		/* *.ck: every name under ck is a public suffix */
		{ "a.b.foo.ck", "b.foo.ck" },
		{ "foo.ck", "foo.ck" },
		/* !www.ck: except www.ck */
		{ "www.ck", "www.ck" },
		{ "a.www.ck", "www.ck" },
		{ "x.y.kawasaki.jp", "x.y.kawasaki.jp" },
		{ "w.x.y.kawasaki.jp", "x.y.kawasaki.jp" },
		{ "a.city.kawasaki.jp", "city.kawasaki.jp" },
		{ "a.b.xn--55qx5d.cn", "b.xn--55qx5d.cn" },
		/* no rule: the implicit "*" */
		{ "a.b.example.invalid", "example.invalid" },
		{ "user.github.io", "user.github.io" },
		{ "www.user.github.io", "user.github.io" },
	};
	char out[256];
	size_t i;

	CHECK(psl_load(SMALL_PSL) == 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(psl_org_domain(cases[i].in, out, sizeof(out)) == 0);
		if (strcmp(out, cases[i].want) != 0)
			printf("  case: %s\n", cases[i].in);
		CHECK_STR(out, cases[i].want);
	}
	CHECK(psl_org_domain("", out, sizeof(out)) == -1);
	CHECK(psl_org_domain("a.example.com", out, 5) == -1);
	/* a missing file keeps the list there is */
	CHECK(psl_load("/nonexistent/psl.dat") == -1);
	CHECK(psl_org_domain("mail.example.co.uk", out, sizeof(out)) == 0);
	CHECK_STR(out, "example.co.uk");
	/* without a list: the last two labels */
	psl_free();
	CHECK(psl_org_domain("mail.example.co.uk", out, sizeof(out)) == 0);
	CHECK_STR(out, "co.uk");
	CHECK(psl_org_domain("a.b.example.com", out, sizeof(out)) == 0);
	CHECK_STR(out, "example.com");
	/* Debian's list, when installed */
	if (psl_load(PSL_PATH) == 0) {
		CHECK(psl_org_domain("www.bbc.co.uk", out, sizeof(out)) == 0);
		CHECK_STR(out, "bbc.co.uk");
		CHECK(psl_org_domain("a.b.example.com", out, sizeof(out)) == 0);
		CHECK_STR(out, "example.com");
	}
	CHECK(psl_load(SMALL_PSL) == 0);
}

UNIT_TEST(test_dmarc_from_domain_needs_exactly_one_address)
{
	static const struct {
		const char *msg;
		enum dmarc_from want;
		const char *domain;
	} cases[] = {
		{ "From: Alice <alice@Example.ORG>\r\nTo: b@x.org\r\n\r\nhi\r\n",
		    DMARC_FROM_OK, "example.org" },
		{ "From: a@b\xc3\xbc"
		  "cher.example\r\n\r\n",
		    DMARC_FROM_OK, "xn--bcher-kva.example" },
		{ "To: b@x.org\r\n\r\n", DMARC_FROM_NONE, NULL },
		{ "From: a@x.org\r\nFrom: b@y.org\r\n\r\n",
		    DMARC_FROM_MANY_FIELDS, NULL },
		{ "From: a@x.org, b@y.org\r\n\r\n", DMARC_FROM_MANY_ADDRS,
		    NULL },
		{ "From: not an address\r\n\r\n", DMARC_FROM_BAD, NULL },
		{ "From: a@[192.0.2.1]\r\n\r\n", DMARC_FROM_BAD, NULL },
		{ "From: a@x.org\r\nFrom\xc2\xa0: b@y.org\r\n\r\n",
		    DMARC_FROM_BAD, NULL },
	};
	char out[256];
	size_t i;
	enum dmarc_from r;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		r = dmarc_from_domain(cases[i].msg, strlen(cases[i].msg), out,
		    sizeof(out));
		if (r != cases[i].want)
			printf("  case %zu: %d\n", i, (int)r);
		CHECK(r == cases[i].want);
		if (r == DMARC_FROM_OK && cases[i].domain != NULL)
			CHECK_STR(out, cases[i].domain);
	}
}

static int done_calls;

static void
on_done(struct dmarc_eval *e, void *arg)
{
	done_calls++;
	CHECK(arg == &done_calls && dmarc_eval_is_done(e));
}

/* Evaluate to the end; the outcome copied into *o. */
static void
eval(struct dnsq_fake *f, const char *from, int spf_pass, const char *spf,
    const char *dkim, struct dmarc_outcome *o)
{
	const char *ds[1] = { dkim };
	struct dmarc_input in = { from, spf_pass, spf, ds, dkim ? 1 : 0 };
	struct dmarc_eval *e;
	int at_once;

	done_calls = 0;
	e = dmarc_eval_start(dnsq_fake_dnsq(f), &in, on_done, &done_calls);
	CHECK(e != NULL);
	if (e == NULL)
		return;
	at_once = dmarc_eval_is_done(e);
	dnsq_fake_run(f);
	CHECK(done_calls == (at_once ? 0 : 1));
	*o = *dmarc_eval_outcome(e);
	dmarc_eval_free(e);
}

UNIT_TEST(test_dmarc_alignment_and_policies)
{
	static const struct {
		const char *label, *from;
		int spf_pass;
		const char *spf, *dkim;
		enum dmarc_res res;
		enum dmarc_policy policy;
		const char *domain;
		int spf_al, dkim_al;
	} cases[] = {
		{ "DKIM d= the From domain", "example.org", 0, NULL,
		    "example.org", DMARC_RES_PASS, DMARC_POLICY_NONE,
		    "example.org", 0, 1 },
		{ "DKIM relaxed: a subdomain", "example.org", 0, NULL,
		    "mail.example.org", DMARC_RES_PASS, DMARC_POLICY_NONE,
		    "example.org", 0, 1 },
		{ "DKIM of another domain", "example.org", 0, NULL,
		    "example.com", DMARC_RES_FAIL, DMARC_POLICY_REJECT,
		    "example.org", 0, 0 },
		{ "DKIM d= a public suffix", "example.co.uk", 0, NULL, "co.uk",
		    DMARC_RES_FAIL, DMARC_POLICY_REJECT, "example.co.uk", 0,
		    0 },
		{ "DKIM of a neighbour under co.uk", "example.co.uk", 0, NULL,
		    "other.co.uk", DMARC_RES_FAIL, DMARC_POLICY_REJECT,
		    "example.co.uk", 0, 0 },
		{ "SPF relaxed: a subdomain", "example.org", 1,
		    "bounce.example.org", NULL, DMARC_RES_PASS,
		    DMARC_POLICY_NONE, "example.org", 1, 0 },
		{ "SPF of the domain, not a pass", "example.org", 0,
		    "example.org", NULL, DMARC_RES_FAIL, DMARC_POLICY_REJECT,
		    "example.org", 0, 0 },
		{ "strict: a subdomain fails both", "strict.example", 1,
		    "bounce.strict.example", "mail.strict.example",
		    DMARC_RES_FAIL, DMARC_POLICY_QUARANTINE, "strict.example",
		    0, 0 },
		{ "strict: the same name passes", "strict.example", 1,
		    "STRICT.example", NULL, DMARC_RES_PASS, DMARC_POLICY_NONE,
		    "strict.example", 1, 0 },
		{ "sp= at the organizational domain", "a.b.example.org", 0,
		    NULL, NULL, DMARC_RES_FAIL, DMARC_POLICY_QUARANTINE,
		    "example.org", 0, 0 },
		{ "a subdomain's own record", "own.example.org", 0, NULL, NULL,
		    DMARC_RES_FAIL, DMARC_POLICY_NONE, "own.example.org", 0,
		    0 },
		{ "pct=0: reject becomes quarantine", "pct.example", 0, NULL,
		    NULL, DMARC_RES_FAIL, DMARC_POLICY_QUARANTINE,
		    "pct.example", 0, 0 },
		{ "pct=0: quarantine becomes none", "q.pct.example", 0, NULL,
		    NULL, DMARC_RES_FAIL, DMARC_POLICY_NONE, "q.pct.example", 0,
		    0 },
		{ "no record anywhere", "mail.nothing.example", 1,
		    "nothing.example", NULL, DMARC_RES_NONE, DMARC_POLICY_NONE,
		    "", 0, 0 },
		{ "two records", "two.example", 0, NULL, NULL, DMARC_RES_NONE,
		    DMARC_POLICY_NONE, "two.example", 0, 0 },
		{ "one DMARC record beside other TXT", "other.example", 0, NULL,
		    NULL, DMARC_RES_FAIL, DMARC_POLICY_REJECT, "other.example",
		    0, 0 },
		{ "malformed record", "bad.example", 0, NULL, NULL,
		    DMARC_RES_PERMERROR, DMARC_POLICY_NONE, "bad.example", 0,
		    0 },
		{ "DNS fails for now", "temp.example", 0, NULL, NULL,
		    DMARC_RES_TEMPERROR, DMARC_POLICY_NONE, "", 0, 0 },
		{ "DNS fails at the organizational domain", "a.temp.example", 0,
		    NULL, NULL, DMARC_RES_TEMPERROR, DMARC_POLICY_NONE, "", 0,
		    0 },
		{ "no usable From domain", "a..b", 1, "a..b", NULL,
		    DMARC_RES_PERMERROR, DMARC_POLICY_NONE, "", 0, 0 },
	};
	struct dnsq_fake *f = dnsq_fake_new();
	struct dmarc_outcome o;
	size_t i;

	CHECK(psl_load(SMALL_PSL) == 0);
	dnsq_fake_add(f, "_dmarc.example.org", DNSQ_TXT,
	    "v=DMARC1; p=reject; sp=quarantine");
	dnsq_fake_add(f, "_dmarc.example.co.uk", DNSQ_TXT,
	    "v=DMARC1; p=reject");
	dnsq_fake_add(f, "_dmarc.own.example.org", DNSQ_TXT,
	    "v=DMARC1; p=none");
	dnsq_fake_add(f, "_dmarc.strict.example", DNSQ_TXT,
	    "v=DMARC1; p=quarantine; adkim=s; aspf=s");
	dnsq_fake_add(f, "_dmarc.pct.example", DNSQ_TXT,
	    "v=DMARC1; p=reject; pct=0");
	dnsq_fake_add(f, "_dmarc.q.pct.example", DNSQ_TXT,
	    "v=DMARC1; p=quarantine; pct=0");
	dnsq_fake_add(f, "_dmarc.two.example", DNSQ_TXT, "v=DMARC1; p=reject");
	dnsq_fake_add(f, "_dmarc.two.example", DNSQ_TXT, "v=DMARC1; p=none");
	dnsq_fake_add(f, "_dmarc.other.example", DNSQ_TXT, "v=spf1 -all");
	dnsq_fake_add(f, "_dmarc.other.example", DNSQ_TXT,
	    "v=DMARC1; p=reject");
	dnsq_fake_add(f, "_dmarc.bad.example", DNSQ_TXT,
	    "v=DMARC1; p=reject; pct=200");
	dnsq_fake_fail(f, "_dmarc.temp.example", DNSQ_TEMPFAIL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(&o, 0, sizeof(o));
		eval(f, cases[i].from, cases[i].spf_pass, cases[i].spf,
		    cases[i].dkim, &o);
		if (o.res != cases[i].res || o.policy != cases[i].policy ||
		    strcmp(o.domain, cases[i].domain) != 0 ||
		    o.spf_aligned != cases[i].spf_al ||
		    o.dkim_aligned != cases[i].dkim_al) {
			printf("  case: %s: %s policy=%s domain=%s (%s)\n",
			    cases[i].label, dmarc_res_name(o.res),
			    dmarc_policy_name(o.policy), o.domain, o.reason);
			CHECK(!"outcome as expected");
		}
	}
	dnsq_fake_free(f);
}

UNIT_TEST(test_dmarc_asks_the_organizational_domain_only_when_needed)
{
	struct dnsq_fake *f = dnsq_fake_new();
	struct dmarc_outcome o;

	CHECK(psl_load(SMALL_PSL) == 0);
	dnsq_fake_add(f, "_dmarc.example.org", DNSQ_TXT, "v=DMARC1; p=reject");
	eval(f, "example.org", 0, NULL, NULL, &o);
	CHECK(dnsq_fake_asked(f) == 1);
	CHECK(o.published == DMARC_POLICY_REJECT && !o.sampled_out);
	eval(f, "nothing.example", 0, NULL, NULL, &o);
	CHECK(dnsq_fake_asked(f) == 2 && o.res == DMARC_RES_NONE);
	eval(f, "a.b.example.org", 0, NULL, NULL, &o);
	CHECK(dnsq_fake_asked(f) == 4);
	/* no sp=: p= applies to subdomains too */
	CHECK(o.res == DMARC_RES_FAIL && o.published == DMARC_POLICY_REJECT);
	dnsq_fake_free(f);
}

static void
free_in_done(struct dmarc_eval *e, void *arg)
{
	(*(int *)arg)++;
	dmarc_eval_free(e);
}

UNIT_TEST(test_dmarc_free_cancels_and_works_inside_done)
{
	struct dnsq_fake *f = dnsq_fake_new();
	struct dmarc_input in = { "example.org", 0, NULL, NULL, 0 };
	struct dmarc_eval *e;
	int calls = 0;

	dnsq_fake_add(f, "_dmarc.example.org", DNSQ_TXT, "v=DMARC1; p=reject");
	e = dmarc_eval_start(dnsq_fake_dnsq(f), &in, free_in_done, &calls);
	CHECK(e != NULL && !dmarc_eval_is_done(e));
	dmarc_eval_free(e);
	CHECK(dnsq_fake_run(f) == 0 && calls == 0);
	e = dmarc_eval_start(dnsq_fake_dnsq(f), &in, free_in_done, &calls);
	CHECK(dnsq_fake_run(f) == 1 && calls == 1);
	dnsq_fake_free(f);
}
