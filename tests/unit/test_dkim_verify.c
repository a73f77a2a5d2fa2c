/*
 * test_dkim_verify: DKIM verification against the fake DNS table. Messages
 * are signed by postern's signer (every canonicalisation, l=, x=, RSA and
 * Ed25519), by RFC 8463's published example, and by dkimpy (fixtures in
 * tests/unit/data/dkim/, made by make-dkimpy.py there), then verified,
 * altered and verified again.
 */
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "dnsq_fake.h"
#include "unit.h"
#include "dkim/dkim.h"
#include "dkim/verify.h"
#include "util/buf.h"
#include "util/str.h"

#define T_DIR "/tmp/postern-unit-dkimv-"
#define DATA "tests/unit/data/dkim/"

static const char msg1[] = "From: Alice <alice@example.org>\r\n"
			   "To: bob@example.net\r\n"
			   "Subject: Lunch  at noon\r\n"
			   "Date: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
			   "\r\n"
			   "See you there. \r\n"
			   "\r\n";

static struct {
	struct dkim_key *rsa, *ed;
	char rsa_txt[DKIM_TXT_MAX], ed_txt[DKIM_TXT_MAX];
	int ok;
} K;

/* Two keys of example.org (selectors rsa and ed), made once. */
static int
keys(void)
{
	if (K.ok)
		return 1;
	unlink(T_DIR "rsa.pem");
	unlink(T_DIR "ed.pem");
	if (dkim_key_generate(T_DIR "rsa.pem", DKIM_RSA) == -1 ||
	    dkim_key_generate(T_DIR "ed.pem", DKIM_ED25519) == -1 ||
	    dkim_dns_txt(T_DIR "rsa.pem", DKIM_RSA, K.rsa_txt,
		sizeof(K.rsa_txt)) == -1 ||
	    dkim_dns_txt(T_DIR "ed.pem", DKIM_ED25519, K.ed_txt,
		sizeof(K.ed_txt)) == -1)
		return 0;
	K.rsa = dkim_key_load(T_DIR "rsa.pem", DKIM_RSA, "example.org", "rsa");
	K.ed = dkim_key_load(T_DIR "ed.pem", DKIM_ED25519, "example.org", "ed");
	unlink(T_DIR "rsa.pem");
	unlink(T_DIR "ed.pem");
	K.ok = K.rsa != NULL && K.ed != NULL;
	return K.ok;
}

static struct dnsq_fake *
fake_with_keys(void)
{
	struct dnsq_fake *f = dnsq_fake_new();

	dnsq_fake_add(f, "rsa._domainkey.example.org", DNSQ_TXT, K.rsa_txt);
	dnsq_fake_add(f, "ed._domainkey.example.org", DNSQ_TXT, K.ed_txt);
	return f;
}

/* sigs + msg, NUL-terminated, into out; 0 or -1. */
static int
sign(struct buf *out, struct dkim_key *k1, struct dkim_key *k2,
    const struct dkim_sig_opts *o, const char *msg)
{
	static const struct dkim_sig_opts def = { .h = "from:to:subject:date" };
	struct dkim_key *ks[2] = { k1, k2 };

	buf_init(out, 1 << 20);
	if (dkim_sign_opts(ks, k2 ? 2 : 1, msg, strlen(msg), time(NULL),
		o ? o : &def, out) == -1)
		return -1;
	return buf_append(out, msg, strlen(msg) + 1);
}

static int done_calls;

static void
on_done(struct dkim_verify *v, void *arg)
{
	done_calls++;
	CHECK(arg == &done_calls);
	CHECK(dkim_verify_is_done(v));
}

/* Verify msg to the end: done called once exactly when a key was asked. */
static struct dkim_verify *
verify(struct dnsq_fake *f, const char *msg, size_t len)
{
	struct dkim_verify *v;
	int at_once;

	done_calls = 0;
	v = dkim_verify_start(dnsq_fake_dnsq(f), msg, len, on_done,
	    &done_calls);
	if (v == NULL)
		return NULL;
	at_once = dkim_verify_is_done(v);
	dnsq_fake_run(f);
	CHECK(done_calls == (at_once ? 0 : 1));
	CHECK(dkim_verify_is_done(v));
	return v;
}

static enum dkim_res
res(const struct dkim_verify *v, int i)
{
	const struct dkim_verify_sig *s = dkim_verify_result(v, i);

	return s ? s->res : DKIM_RES_NONE;
}

UNIT_TEST(test_dkim_messages_signed_by_postern_pass_with_rsa_and_ed25519)
{
	struct dnsq_fake *f;
	struct dkim_verify *v;
	const struct dkim_verify_sig *r;
	struct buf m;

	CHECK(keys());
	if (!K.ok)
		return;
	f = fake_with_keys();
	CHECK(sign(&m, K.rsa, K.ed, NULL, msg1) == 0);
	v = verify(f, m.data, m.len - 1);
	CHECK(v != NULL && dkim_verify_count(v) == 2);
	CHECK(res(v, 0) == DKIM_RES_PASS && res(v, 1) == DKIM_RES_PASS);
	r = dkim_verify_result(v, 0);
	CHECK_STR(r->d, "example.org");
	CHECK_STR(r->s, "rsa");
	CHECK_STR(r->a, "rsa-sha256");
	CHECK(strlen(r->b) == 8 && strstr(m.data, r->b) != NULL);
	CHECK_STR(dkim_res_name(r->res), "pass");
	r = dkim_verify_result(v, 1);
	CHECK_STR(r->s, "ed");
	CHECK_STR(r->a, "ed25519-sha256");
	CHECK(!r->partial && !r->testing);
	dkim_verify_free(v);
	buf_free(&m);
	dnsq_fake_free(f);
}

/* The first occurrence of from in m (NUL-terminated, len with its NUL)
 * becomes to. */
static void
alter(struct buf *m, const char *from, const char *to)
{
	struct buf n;
	char *p = strstr(m->data, from);

	CHECK(p != NULL);
	if (p == NULL)
		return;
	buf_init(&n, m->max);
	CHECK(buf_append(&n, m->data, (size_t)(p - m->data)) == 0 &&
	      buf_append(&n, to, strlen(to)) == 0 &&
	      buf_append(&n, p + strlen(from), strlen(p + strlen(from)) + 1) ==
		  0);
	buf_free(m);
	*m = n;
}

UNIT_TEST(test_dkim_canonicalisations_verify_and_tolerate_what_they_should)
{
	static const struct {
		const char *label;
		int sh, sb;
		const char *from, *to; /* a change after signing */
		enum dkim_res want;
	} cases[] = {
		{ "relaxed/relaxed", 0, 0, NULL, NULL, DKIM_RES_PASS },
		{ "simple/simple", 1, 1, NULL, NULL, DKIM_RES_PASS },
		{ "simple/relaxed", 1, 0, NULL, NULL, DKIM_RES_PASS },
		{ "relaxed/simple", 0, 1, NULL, NULL, DKIM_RES_PASS },
		{ "relaxed body: blanks at a line end", 0, 0, "there. \r\n",
		    "there.\t \r\n", DKIM_RES_PASS },
		{ "simple body: blanks at a line end", 1, 1, "there. \r\n",
		    "there.\t \r\n", DKIM_RES_FAIL },
		{ "relaxed header: refolded Subject", 0, 0, "Lunch  at",
		    "Lunch\r\n at", DKIM_RES_PASS },
		{ "simple header: refolded Subject", 1, 0, "Lunch  at",
		    "Lunch\r\n at", DKIM_RES_FAIL },
		{ "either: empty lines added at the end", 1, 1, "there. \r\n",
		    "there. \r\n\r\n\r\n", DKIM_RES_PASS },
		{ "altered body", 0, 0, "See you", "Meet you", DKIM_RES_FAIL },
		{ "altered signed header", 0, 0, "Lunch", "Dinner",
		    DKIM_RES_FAIL },
		{ "header name case, relaxed", 0, 0,
		    "Subject:", "SUBJECT:", DKIM_RES_PASS },
		{ "unsigned header added", 1, 1,
		    "Date:", "X-New: 1\r\nDate:", DKIM_RES_PASS },
		{ "a second, unsigned Subject above", 0, 0,
		    "Subject:", "Subject: other\r\nSubject:", DKIM_RES_PASS },
		{ "a second Subject below: the bottom one is signed", 0, 0,
		    "Date:", "Subject: other\r\nDate:", DKIM_RES_FAIL },
	};
	struct dkim_sig_opts o = { .h = "from:to:subject:date" };
	struct dnsq_fake *f;
	struct dkim_verify *v;
	struct buf m;
	size_t i;

	CHECK(keys());
	if (!K.ok)
		return;
	f = fake_with_keys();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o.simple_header = cases[i].sh;
		o.simple_body = cases[i].sb;
		CHECK(sign(&m, K.ed, NULL, &o, msg1) == 0);
		if (cases[i].from != NULL)
			alter(&m, cases[i].from, cases[i].to);
		v = verify(f, m.data, m.len - 1);
		CHECK(v != NULL && dkim_verify_count(v) == 1);
		if (res(v, 0) != cases[i].want)
			printf("  case: %s: %s (%s)\n", cases[i].label,
			    dkim_res_name(res(v, 0)),
			    dkim_verify_result(v, 0)->reason);
		CHECK(res(v, 0) == cases[i].want);
		dkim_verify_free(v);
		buf_free(&m);
	}
	dnsq_fake_free(f);
}

UNIT_TEST(test_dkim_body_and_header_failures_say_which)
{
	struct dnsq_fake *f;
	struct dkim_verify *v;
	struct buf m;

	CHECK(keys());
	if (!K.ok)
		return;
	f = fake_with_keys();
	CHECK(sign(&m, K.rsa, NULL, NULL, msg1) == 0);
	alter(&m, "See you", "See yoU");
	v = verify(f, m.data, m.len - 1);
	CHECK(res(v, 0) == DKIM_RES_FAIL);
	CHECK_STR(dkim_verify_result(v, 0)->reason, "body hash did not verify");
	/* A body hash failure is settled without asking for the key. */
	CHECK(dnsq_fake_asked(f) == 0);
	dkim_verify_free(v);
	buf_free(&m);

	CHECK(sign(&m, K.rsa, NULL, NULL, msg1) == 0);
	alter(&m, "bob@", "eve@");
	v = verify(f, m.data, m.len - 1);
	CHECK(res(v, 0) == DKIM_RES_FAIL);
	CHECK_STR(dkim_verify_result(v, 0)->reason, "signature did not verify");
	dkim_verify_free(v);
	buf_free(&m);
	dnsq_fake_free(f);
}

UNIT_TEST(test_dkim_key_problems_are_errors_of_the_right_kind)
{
	static const struct {
		const char *label, *txt; /* NULL: no record */
		enum dnsq_status fail;	 /* or 0 */
		enum dkim_res want;
	} cases[] = {
		{ "revoked (empty p=)", "v=DKIM1; k=ed25519; p=", 0,
		    DKIM_RES_PERMERROR },
		{ "no key record", NULL, 0, DKIM_RES_PERMERROR },
		{ "DNS fails for now", NULL, DNSQ_TEMPFAIL,
		    DKIM_RES_TEMPERROR },
		{ "key of the other algorithm", "", 0, DKIM_RES_PERMERROR },
		{ "unknown key type", "v=DKIM1; k=dsa; p=AAAA", 0,
		    DKIM_RES_PERMERROR },
		{ "v= not first", "k=ed25519; v=DKIM1; p=AAAA", 0,
		    DKIM_RES_PERMERROR },
		{ "key only for another service",
		    "v=DKIM1; k=ed25519; s=tlsrpt; "
		    "p=AAAA",
		    0, DKIM_RES_PERMERROR },
		{ "key refusing sha256", "v=DKIM1; k=ed25519; h=sha1; p=AAAA",
		    0, DKIM_RES_PERMERROR },
		{ "Ed25519 key of 3 bytes", "v=DKIM1; k=ed25519; p=AAAA", 0,
		    DKIM_RES_PERMERROR },
		{ "not base64", "v=DKIM1; k=ed25519; p=*", 0,
		    DKIM_RES_PERMERROR },
	};
	struct dnsq_fake *f;
	struct dkim_verify *v;
	struct buf m;
	size_t i;

	CHECK(keys());
	if (!K.ok)
		return;
	CHECK(sign(&m, K.ed, NULL, NULL, msg1) == 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		f = dnsq_fake_new();
		if (cases[i].fail)
			dnsq_fake_fail(f, "ed._domainkey.example.org",
			    cases[i].fail);
		else if (cases[i].txt != NULL)
			dnsq_fake_add(f, "ed._domainkey.example.org", DNSQ_TXT,
			    cases[i].txt[0] ? cases[i].txt : K.rsa_txt);
		v = verify(f, m.data, m.len - 1);
		if (res(v, 0) != cases[i].want)
			printf("  case: %s: %s (%s)\n", cases[i].label,
			    dkim_res_name(res(v, 0)),
			    dkim_verify_result(v, 0)->reason);
		CHECK(res(v, 0) == cases[i].want);
		dkim_verify_free(v);
		dnsq_fake_free(f);
	}
	buf_free(&m);
}

UNIT_TEST(test_dkim_testing_flag_and_several_key_records)
{
	struct dnsq_fake *f = dnsq_fake_new();
	struct dkim_verify *v;
	struct buf m;
	char txt[DKIM_TXT_MAX + 16];

	CHECK(keys());
	if (!K.ok) {
		dnsq_fake_free(f);
		return;
	}
	/* A record that is not a key first, then the key in testing. */
	snprintf(txt, sizeof(txt), "%s; t=y", K.ed_txt);
	dnsq_fake_add(f, "ed._domainkey.example.org", DNSQ_TXT, "hello");
	dnsq_fake_add(f, "ed._domainkey.example.org", DNSQ_TXT, txt);
	CHECK(sign(&m, K.ed, NULL, NULL, msg1) == 0);
	v = verify(f, m.data, m.len - 1);
	CHECK(res(v, 0) == DKIM_RES_PASS);
	CHECK(dkim_verify_result(v, 0)->testing == 1);
	dkim_verify_free(v);
	buf_free(&m);
	dnsq_fake_free(f);
}

UNIT_TEST(test_dkim_x_in_the_future_passes)
{
	struct dkim_sig_opts o = { .h = "from:to" };
	struct dnsq_fake *f;
	struct dkim_verify *v;
	struct buf m;

	CHECK(keys());
	if (!K.ok)
		return;
	f = fake_with_keys();
	o.x = time(NULL) + 60;
	CHECK(sign(&m, K.rsa, NULL, &o, msg1) == 0);
	v = verify(f, m.data, m.len - 1);
	CHECK(res(v, 0) == DKIM_RES_PASS);
	dkim_verify_free(v);
	buf_free(&m);
	dnsq_fake_free(f);
}

UNIT_TEST(test_dkim_x_in_the_past_is_policy_and_before_t_is_permerror)
{
	struct dkim_key *ks[1];
	struct dkim_sig_opts o = { .h = "from:to" };
	struct dnsq_fake *f;
	struct dkim_verify *v;
	struct buf m;

	CHECK(keys());
	if (!K.ok)
		return;
	f = fake_with_keys();
	ks[0] = K.rsa;
	/* Signed in 2001, expired in 2002. */
	buf_init(&m, 1 << 20);
	o.x = 1020000000;
	CHECK(
	    dkim_sign_opts(ks, 1, msg1, strlen(msg1), 1000000000, &o, &m) == 0);
	CHECK(buf_append(&m, msg1, sizeof(msg1)) == 0);
	v = verify(f, m.data, m.len - 1);
	CHECK(res(v, 0) == DKIM_RES_POLICY);
	CHECK(dnsq_fake_asked(f) == 0);
	dkim_verify_free(v);
	buf_free(&m);

	buf_init(&m, 1 << 20);
	o.x = 999999999;
	CHECK(
	    dkim_sign_opts(ks, 1, msg1, strlen(msg1), 1000000000, &o, &m) == 0);
	CHECK(buf_append(&m, msg1, sizeof(msg1)) == 0);
	v = verify(f, m.data, m.len - 1);
	CHECK(res(v, 0) == DKIM_RES_PERMERROR);
	dkim_verify_free(v);
	buf_free(&m);
	dnsq_fake_free(f);
}

UNIT_TEST(test_dkim_l_covers_part_of_the_body_and_says_so)
{
	/* relaxed body of msg1: "See you there.\r\n" (16 bytes) */
	static const struct {
		const char *label;
		long long l;
		const char *append;
		enum dkim_res want;
		int partial;
	} cases[] = {
		{ "l= the whole body", 16, NULL, DKIM_RES_PASS, 0 },
		{ "l= the whole body, text added", 16, "P.S. buy now\r\n",
		    DKIM_RES_PASS, 1 },
		{ "l= part of the body", 4, NULL, DKIM_RES_PASS, 1 },
		{ "l=0", 0, NULL, DKIM_RES_PASS, 1 },
		{ "l= longer than the body", 17, NULL, DKIM_RES_FAIL, 0 },
	};
	struct dkim_sig_opts o = { .h = "from:to", .l_set = 1 };
	struct dnsq_fake *f;
	struct dkim_verify *v;
	struct buf m;
	size_t i;

	CHECK(keys());
	if (!K.ok)
		return;
	f = fake_with_keys();
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o.l = cases[i].l;
		CHECK(sign(&m, K.ed, NULL, &o, msg1) == 0);
		if (cases[i].append != NULL) {
			m.len--;
			CHECK(buf_append(&m, cases[i].append,
				  strlen(cases[i].append) + 1) == 0);
		}
		v = verify(f, m.data, m.len - 1);
		if (res(v, 0) != cases[i].want)
			printf("  case: %s: %s (%s)\n", cases[i].label,
			    dkim_res_name(res(v, 0)),
			    dkim_verify_result(v, 0)->reason);
		CHECK(res(v, 0) == cases[i].want);
		CHECK(dkim_verify_result(v, 0)->partial == cases[i].partial);
		dkim_verify_free(v);
		buf_free(&m);
	}
	dnsq_fake_free(f);
}

/* A signature field prepended to msg1, verified against K's keys. */
static enum dkim_res
verify_field(const char *field, char *reason, size_t rlen)
{
	struct dnsq_fake *f = fake_with_keys();
	struct dkim_verify *v;
	struct buf m;
	enum dkim_res r;

	buf_init(&m, 1 << 16);
	CHECK(buf_printf(&m, "%s\r\n%s", field, msg1) == 0);
	v = verify(f, m.data, m.len);
	r = res(v, 0);
	snprintf(reason, rlen, "%s",
	    v && dkim_verify_count(v) ? dkim_verify_result(v, 0)->reason : "");
	dkim_verify_free(v);
	buf_free(&m);
	dnsq_fake_free(f);
	return r;
}

UNIT_TEST(test_dkim_malformed_or_refused_signatures_are_permerror)
{
	static const struct {
		const char *label, *field, *why;
	} cases[] = {
		{ "rsa-sha1",
		    "DKIM-Signature: v=1; a=rsa-sha1; d=example.org; "
		    "s=rsa; h=from; bh=AAAA; b=AAAA",
		    "rsa-sha1 is refused (RFC 8301)" },
		{ "From not signed",
		    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=rsa; "
		    "h=to:subject; "
		    "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
		    "h= does not sign From" },
		{ "i= outside d=",
		    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=rsa; "
		    "i=a@example.com; h=from; bh=AAAA; b=AAAA",
		    "i= is not within d=" },
		{ "i= in a look-alike domain",
		    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=rsa; "
		    "i=a@badexample.org; h=from; bh=AAAA; b=AAAA",
		    "i= is not within d=" },
		{ "a tag twice",
		    "DKIM-Signature: v=1; v=1; a=rsa-sha256; d=example.org; "
		    "s=rsa; h=from; bh=AAAA; b=AAAA",
		    "malformed tag list" },
		{ "version 2", "DKIM-Signature: v=2; a=rsa-sha256",
		    "unknown version" },
		{ "no d=",
		    "DKIM-Signature: v=1; a=rsa-sha256; s=rsa; h=from; bh=AAAA;"
		    " b=AAAA",
		    "a required tag is missing" },
		{ "d= with a NUL-free but odd byte",
		    "DKIM-Signature: v=1; a=rsa-sha256; d=exa\x7fmple.org; "
		    "s=rsa; h=from; bh=AAAA; b=AAAA",
		    "malformed tag list" },
		{ "unknown canonicalization",
		    "DKIM-Signature: v=1; a=rsa-sha256; c=loose; d=example.org;"
		    " s=rsa; h=from; bh=AAAA; b=AAAA",
		    "unknown canonicalization" },
		{ "short bh=",
		    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=rsa; "
		    "h=from; bh=AAAA; b=AAAA",
		    "bh= is not a SHA-256 digest" },
		{ "unknown query method",
		    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=rsa; "
		    "h=from; q=http; "
		    "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
		    "unknown query method" },
		{ "l= of 19 digits",
		    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=rsa; "
		    "h=from; l=1234567890123456789; "
		    "bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; b=AAAA",
		    "l= is malformed or too large" },
		{ "b= too long for RSA-4096",
		    "DKIM-Signature: v=1; a=rsa-sha256; d=example.org; s=rsa; "
		    "h=from; bh=47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=; "
		    "b=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
		    "AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		    "b= is malformed or too long" },
	};
	char why[128];
	size_t i;

	CHECK(keys());
	if (!K.ok)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (verify_field(cases[i].field, why, sizeof(why)) !=
			DKIM_RES_PERMERROR ||
		    strcmp(why, cases[i].why) != 0) {
			printf("  case: %s: %s\n", cases[i].label, why);
			CHECK(!"permerror with the reason expected");
		}
	}
}

UNIT_TEST(test_dkim_past_eight_signatures_the_rest_are_ignored)
{
	struct dnsq_fake *f;
	struct dkim_verify *v;
	struct buf m, one;
	int i;

	CHECK(keys());
	if (!K.ok)
		return;
	f = fake_with_keys();
	buf_init(&m, 1 << 20);
	for (i = 0; i < DKIM_VERIFY_MAX + 3; i++) {
		CHECK(sign(&one, K.ed, NULL, NULL, msg1) == 0);
		/* only the field: the message follows once */
		CHECK(buf_append(&m, one.data, one.len - sizeof(msg1)) == 0);
		buf_free(&one);
	}
	CHECK(buf_append(&m, msg1, sizeof(msg1)) == 0);
	v = verify(f, m.data, m.len - 1);
	CHECK(dkim_verify_count(v) == DKIM_VERIFY_MAX);
	CHECK(dkim_verify_ignored(v) == 3);
	for (i = 0; i < DKIM_VERIFY_MAX; i++)
		CHECK(res(v, i) == DKIM_RES_PASS);
	CHECK(dnsq_fake_asked(f) == DKIM_VERIFY_MAX);
	dkim_verify_free(v);
	buf_free(&m);
	dnsq_fake_free(f);
}

UNIT_TEST(test_dkim_no_signature_is_done_at_once)
{
	struct dnsq_fake *f = dnsq_fake_new();
	struct dkim_verify *v;

	done_calls = 0;
	v = dkim_verify_start(dnsq_fake_dnsq(f), msg1, strlen(msg1), on_done,
	    &done_calls);
	CHECK(v != NULL && dkim_verify_is_done(v));
	CHECK(dkim_verify_count(v) == 0 && dkim_verify_result(v, 0) == NULL);
	CHECK(dnsq_fake_run(f) == 0 && done_calls == 0);
	dkim_verify_free(v);
	/* not even a header section */
	v = dkim_verify_start(dnsq_fake_dnsq(f), "", 0, on_done, &done_calls);
	CHECK(v != NULL && dkim_verify_is_done(v) && dkim_verify_count(v) == 0);
	dkim_verify_free(v);
	dnsq_fake_free(f);
}

static void
free_in_done(struct dkim_verify *v, void *arg)
{
	(*(int *)arg)++;
	dkim_verify_free(v);
}

UNIT_TEST(test_dkim_free_cancels_pending_keys_and_works_inside_done)
{
	struct dnsq_fake *f;
	struct dkim_verify *v;
	struct buf m;
	int calls = 0;

	CHECK(keys());
	if (!K.ok)
		return;
	f = fake_with_keys();
	CHECK(sign(&m, K.rsa, K.ed, NULL, msg1) == 0);
	v = dkim_verify_start(dnsq_fake_dnsq(f), m.data, m.len - 1,
	    free_in_done, &calls);
	CHECK(v != NULL && !dkim_verify_is_done(v));
	dkim_verify_free(v);
	CHECK(dnsq_fake_run(f) == 0 && calls == 0);

	v = dkim_verify_start(dnsq_fake_dnsq(f), m.data, m.len - 1,
	    free_in_done, &calls);
	CHECK(dnsq_fake_run(f) == 2 && calls == 1);
	buf_free(&m);
	dnsq_fake_free(f);
}

/* RFC 8463 A.3, the Ed25519 signature as published, key of A.2. */
UNIT_TEST(test_dkim_rfc_8463_published_example_verifies)
{
	static const char msg[] =
	    "DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed/relaxed;\r\n"
	    " d=football.example.com; i=@football.example.com;\r\n"
	    " q=dns/txt; s=brisbane; t=1528637909; h=from : to :\r\n"
	    " subject : date : message-id : from : subject : date;\r\n"
	    " bh=2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=;\r\n"
	    " b=/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus\r\n"
	    " Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==\r\n"
	    "From: Joe SixPack <joe@football.example.com>\r\n"
	    "To: Suzie Q <suzie@shopping.example.net>\r\n"
	    "Subject: Is dinner ready?\r\n"
	    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
	    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
	    "\r\n"
	    "Hi.\r\n"
	    "\r\n"
	    "We lost the game.  Are you hungry yet?\r\n"
	    "\r\n"
	    "Joe.\r\n";
	struct dnsq_fake *f = dnsq_fake_new();
	struct dkim_verify *v;

	dnsq_fake_add(f, "brisbane._domainkey.football.example.com", DNSQ_TXT,
	    "v=DKIM1; k=ed25519; "
	    "p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	v = verify(f, msg, strlen(msg));
	CHECK(res(v, 0) == DKIM_RES_PASS);
	CHECK_STR(dkim_verify_result(v, 0)->i, "@football.example.com");
	CHECK_STR(dkim_verify_result(v, 0)->b, "/gCrinpc");
	dkim_verify_free(v);
	dnsq_fake_free(f);
}

static char *
read_data(const char *name, size_t *len)
{
	char path[256];

	snprintf(path, sizeof(path), DATA "%s", name);
	return str_read_file(path, 1 << 20, len);
}

/* Fixtures signed by dkimpy; see tests/unit/data/dkim/make-dkimpy.py. */
UNIT_TEST(test_dkim_messages_signed_by_dkimpy_verify)
{
	static const struct {
		const char *file, *append;
		enum dkim_res want;
		int partial;
	} cases[] = {
		{ "dkimpy-rsa-relaxed-simple.eml", NULL, DKIM_RES_PASS, 0 },
		{ "dkimpy-rsa-simple-simple.eml", NULL, DKIM_RES_PASS, 0 },
		{ "dkimpy-ed25519-relaxed-relaxed.eml", NULL, DKIM_RES_PASS,
		    0 },
		{ "dkimpy-rsa-relaxed-relaxed-l.eml", NULL, DKIM_RES_PASS, 0 },
		{ "dkimpy-rsa-relaxed-relaxed-l.eml", "more\r\n", DKIM_RES_PASS,
		    1 },
		{ "dkimpy-rsa-simple-simple.eml", "more\r\n", DKIM_RES_FAIL,
		    0 },
	};
	struct dnsq_fake *f = dnsq_fake_new();
	struct dkim_verify *v;
	struct buf m;
	char *txt, *msg;
	size_t len, i;

	if ((txt = read_data("dkimpy-rsa.txt", &len)) != NULL) {
		txt[strcspn(txt, "\r\n")] = '\0';
		dnsq_fake_add(f, "py-rsa._domainkey.dkimpy.example", DNSQ_TXT,
		    txt);
		free(txt);
	}
	if ((txt = read_data("dkimpy-ed25519.txt", &len)) != NULL) {
		txt[strcspn(txt, "\r\n")] = '\0';
		dnsq_fake_add(f, "py-ed._domainkey.dkimpy.example", DNSQ_TXT,
		    txt);
		free(txt);
	}
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if ((msg = read_data(cases[i].file, &len)) == NULL) {
			printf("  cannot read " DATA "%s (run from the top "
			       "of the tree)\n",
			    cases[i].file);
			CHECK(msg != NULL);
			continue;
		}
		buf_init(&m, 1 << 20);
		CHECK(buf_append(&m, msg, len) == 0);
		if (cases[i].append != NULL)
			CHECK(buf_append(&m, cases[i].append,
				  strlen(cases[i].append)) == 0);
		v = verify(f, m.data, m.len);
		if (res(v, 0) != cases[i].want)
			printf("  case: %s: %s (%s)\n", cases[i].file,
			    dkim_res_name(res(v, 0)),
			    dkim_verify_result(v, 0)->reason);
		CHECK(res(v, 0) == cases[i].want);
		CHECK(dkim_verify_result(v, 0)->partial == cases[i].partial);
		CHECK_STR(dkim_verify_result(v, 0)->d, "dkimpy.example");
		dkim_verify_free(v);
		buf_free(&m);
		free(msg);
	}
	dnsq_fake_free(f);
}
