/*
 * test_arc: ARC sets made by arc_sign(), verified by dkimpy's ARC
 * verifier (python3-dkim's arc_verify, through /usr/bin/python3, keys
 * answered by its dnsfunc hook): one hop, two hops (no Ed25519: RFC
 * 8617 defines rsa-sha256 only, and dkimpy knows no other), the
 * message's own DKIM signature still valid, cv= from the chain's
 * structure, the 50-set limit, and refused results.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "dnsq_fake.h"
#include "unit.h"
#include "dkim/arc.h"
#include "dkim/dkim.h"
#include "util/str.h"

/* Files in a folder of this process's own: test runs of several
 * worktrees at once must not share them. */
static char a_dir[64];

static const char *
apath(char *buf, size_t len, const char *name)
{
	if (a_dir[0] == '\0') {
		snprintf(a_dir, sizeof(a_dir), "/tmp/postern-unit-arc-XXXXXX");
		if (mkdtemp(a_dir) == NULL)
			abort();
	}
	snprintf(buf, len, "%s/%s", a_dir, name);
	return buf;
}

#define A(name) apath((char[160]){ 0 }, 160, (name))

/* The folder removed (its files first); the next test makes another. */
static void
a_done(void)
{
	if (a_dir[0] != '\0')
		rmdir(a_dir);
	a_dir[0] = '\0';
}
#define AUTHRES                                                                \
	"mx.forward.example;\r\n\tspf=pass smtp.mailfrom=alice@example.org;"   \
	"\r\n\tdkim=pass header.d=example.org header.s=dk;\r\n\t"              \
	"dmarc=pass header.from=example.org"

static const char arc_msg[] =
    "Received: from mail.example.org by mx.forward.example\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@forward.example>\r\n"
    "Subject: Minutes of the meeting\r\n"
    "Date: Tue, 3 Jun 2025 10:00:00 +0000\r\n"
    "Message-ID: <20250603.2@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "\r\n"
    "the minutes are attached.  \r\n";

/* dkimpy: "ARC <cv> <reason>", then "DKIM <n> <ok>" for the message's
 * own signatures. */
static const char arc_py[] =
    "import sys, dkim\n"
    "msg = open(sys.argv[1], 'rb').read()\n"
    "keys = {}\n"
    "for a in sys.argv[2:]:\n"
    "    sel, path = a.split('=', 1)\n"
    "    keys[sel.encode()] = open(path, 'rb').read().strip()\n"
    "def dns(name, timeout=5):\n"
    "    return keys.get(name.split(b'.')[0])\n"
    "cv, res, why = dkim.arc_verify(msg, dnsfunc=dns)\n"
    "d = dkim.DKIM(msg)\n"
    "n = sum(1 for h in d.headers if h[0].lower() == b'dkim-signature')\n"
    "def ver(i):\n"
    "    try:\n"
    "        return d.verify(idx=i, dnsfunc=dns)\n"
    "    except dkim.DKIMException:\n"
    "        return False\n"
    "ok = all(ver(i) for i in range(n))\n"
    "print('ARC', cv.decode() if cv else 'ended', 'DKIM', n, ok, '|', "
    "why.replace('\\n', ' '))\n";

static char py_said[1024];

static int
write_file(const char *path, const char *data, size_t len)
{
	FILE *fp;
	int ok;

	unlink(path);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	ok = fwrite(data, 1, len, fp) == len;
	return fclose(fp) == 0 && ok ? 0 : -1;
}

/* dkimpy's verdict on msg[0..len) into py_said; 0 or -1. */
static int
py_arc(const char *msg, size_t len)
{
	FILE *p;

	snprintf(py_said, sizeof(py_said), "(not run)");
	char cmd[1024];

	(void)A("x"); /* the folder */
	snprintf(cmd, sizeof(cmd),
	    "/usr/bin/python3 %s/arc.py %s/msg.eml rsa=%s/rsa.txt "
	    "ed=%s/ed.txt dk=%s/dk.txt",
	    a_dir, a_dir, a_dir, a_dir, a_dir);
	if (write_file(A("msg.eml"), msg, len) == -1 ||
	    write_file(A("arc.py"), arc_py, strlen(arc_py)) == -1 ||
	    (p = popen(cmd, "r")) == NULL)
		return -1;
	if (fgets(py_said, sizeof(py_said), p) == NULL)
		snprintf(py_said, sizeof(py_said), "(no answer)");
	pclose(p);
	return 0;
}

#define CHECK_PY(want)                                                         \
	do {                                                                   \
		if (strncmp(py_said, want, strlen(want)) != 0) {               \
			printf("  want \"%s\", dkimpy: %s", want, py_said);    \
			unit_failed_now = 1;                                   \
		}                                                              \
	} while (0)

struct arc_keys {
	struct dkim_key *rsa, *ed, *dk; /* ed: a second forwarder's RSA
					   key; dk: the author's DKIM key */
};

static int
key_make(const char *name, enum dkim_alg alg, const char *domain,
    struct dkim_key **k)
{
	char pem[160], txtp[160], txt[DKIM_TXT_MAX], f[64];

	snprintf(f, sizeof(f), "%s.pem", name);
	apath(pem, sizeof(pem), f);
	snprintf(f, sizeof(f), "%s.txt", name);
	apath(txtp, sizeof(txtp), f);
	unlink(pem);
	if (dkim_key_generate(pem, alg) == -1 ||
	    dkim_dns_txt(pem, alg, txt, sizeof(txt)) == -1 ||
	    write_file(txtp, txt, strlen(txt)) == -1)
		return -1;
	*k = dkim_key_load(pem, alg, domain, name);
	return *k != NULL ? 0 : -1;
}

static int
keys_setup(struct arc_keys *k)
{
	memset(k, 0, sizeof(*k));
	return key_make("rsa", DKIM_RSA, "forward.example", &k->rsa) == 0 &&
		       key_make("ed", DKIM_RSA, "second.example", &k->ed) ==
			   0 &&
		       key_make("dk", DKIM_RSA, "example.org", &k->dk) == 0
		   ? 0
		   : -1;
}

static void
keys_free(struct arc_keys *k)
{
	static const char *files[] = { "rsa.pem", "ed.pem", "dk.pem", "rsa.txt",
		"ed.txt", "dk.txt", "msg.eml", "arc.py" };
	char path[128];
	size_t i;

	dkim_key_free(k->rsa);
	dkim_key_free(k->ed);
	dkim_key_free(k->dk);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		unlink(apath(path, sizeof(path), files[i]));
	}
	a_done();
}

/* out = the fields made by arc_sign on top of msg. */
static int
seal(struct dkim_key *k, const char *msg, size_t len, int cv, struct buf *out)
{
	struct buf set;
	int rc;

	buf_init(&set, 1 << 20);
	rc = arc_sign(k, msg, len, AUTHRES, cv, time(NULL), &set);
	buf_reset(out);
	if (rc == 0 && (buf_append(out, set.data, set.len) == -1 ||
			   buf_append(out, msg, len) == -1))
		rc = -1;
	buf_free(&set);
	return rc;
}

/* The author's message, DKIM-signed by example.org. */
static int
signed_msg(struct arc_keys *k, struct buf *m)
{
	struct dkim_key *keys[1] = { k->dk };

	buf_reset(m);
	return dkim_sign(keys, 1, arc_msg, strlen(arc_msg), time(NULL), m) ==
			   0 &&
		       buf_append(m, arc_msg, strlen(arc_msg)) == 0
		   ? 0
		   : -1;
}

UNIT_TEST(arc_one_hop_verifies_with_dkimpy_and_dkim_still_does)
{
	struct arc_keys k;
	struct buf m, a;

	buf_init(&m, 1 << 20);
	buf_init(&a, 1 << 20);
	CHECK(keys_setup(&k) == 0);
	if (k.dk == NULL || k.rsa == NULL)
		goto out;
	CHECK(signed_msg(&k, &m) == 0);
	CHECK(seal(k.rsa, m.data, m.len, ARC_CV_NONE, &a) == 0);
	CHECK(py_arc(a.data, a.len) == 0);
	CHECK_PY("ARC pass DKIM 1 True");
	/* the set on top, in order, i=1, cv=none, the results carried */
	CHECK(strncmp(a.data, "ARC-Seal: i=1; a=rsa-sha256;", 28) == 0);
	CHECK(buf_append(&a, "", 1) == 0);
	CHECK(strstr(a.data, "cv=none;") != NULL);
	CHECK(strstr(a.data, "\r\nARC-Message-Signature: i=1; a=rsa-sha256;") !=
	      NULL);
	CHECK(strstr(a.data, "\r\nARC-Authentication-Results: i=1; "
			     "mx.forward.example;\r\n\tspf=pass") != NULL);
	CHECK(strstr(a.data, "dkim-signature") != NULL); /* signed by AMS */
	CHECK(strstr(a.data, "arc-") == NULL); /* no ARC field in h= */
	CHECK(strstr(a.data, "\r\nDKIM-Signature:") <
	      strstr(a.data, "\r\nFrom:"));
	/* a changed body breaks the AMS, and dkimpy says so */
	a.len--; /* the NUL */
	CHECK(buf_append(&a, "P.S. changed\r\n", 14) == 0);
	CHECK(py_arc(a.data, a.len) == 0);
	CHECK_PY("ARC fail DKIM 1 False");
out:
	buf_free(&m);
	buf_free(&a);
	keys_free(&k);
}

UNIT_TEST(arc_a_second_hop_over_the_first_verifies_with_dkimpy)
{
	struct arc_keys k;
	struct buf m, a1, a2;

	buf_init(&m, 1 << 20);
	buf_init(&a1, 1 << 20);
	buf_init(&a2, 1 << 20);
	CHECK(keys_setup(&k) == 0);
	if (k.dk == NULL || k.rsa == NULL || k.ed == NULL)
		goto out;
	CHECK(signed_msg(&k, &m) == 0);
	CHECK(seal(k.rsa, m.data, m.len, ARC_CV_NONE, &a1) == 0);
	/* the second forwarder, a key of another domain */
	CHECK(seal(k.ed, a1.data, a1.len, ARC_CV_PASS, &a2) == 0);
	CHECK(py_arc(a2.data, a2.len) == 0);
	CHECK_PY("ARC pass DKIM 1 True");
	CHECK(strncmp(a2.data, "ARC-Seal: i=2; a=rsa-sha256;", 28) == 0);
	CHECK(buf_append(&a2, "", 1) == 0);
	CHECK(strstr(a2.data, "cv=pass;") != NULL);
	CHECK(strstr(a2.data, "ARC-Authentication-Results: i=2; ") != NULL);

	/* a third over a chain the caller could not validate: cv=fail,
	 * and dkimpy sees the chain ended */
	a2.len--;
	CHECK(seal(k.rsa, a2.data, a2.len, ARC_CV_FAIL, &a1) == 0);
	CHECK(strncmp(a1.data, "ARC-Seal: i=3;", 14) == 0);
	CHECK(buf_append(&a1, "", 1) == 0);
	CHECK(strstr(a1.data, "cv=fail;") != NULL);
	a1.len--;
	CHECK(py_arc(a1.data, a1.len) == 0);
	CHECK_PY("ARC ended DKIM 1 True");
out:
	buf_free(&m);
	buf_free(&a1);
	buf_free(&a2);
	keys_free(&k);
}

UNIT_TEST(arc_a_broken_chain_is_sealed_cv_fail_whatever_the_caller_says)
{
	static const char *const broken[] = {
		/* a seal without its other two fields */
		"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=x.example; s=s; b=AA\r\n",
		/* two seals for one instance */
		"ARC-Seal: i=1; cv=none; b=\r\nARC-Seal: i=1; cv=none; b=\r\n"
		"ARC-Message-Signature: i=1; b=\r\n"
		"ARC-Authentication-Results: i=1; x; none\r\n",
		/* no i= */
		"ARC-Authentication-Results: x.example; spf=pass\r\n",
		/* the first seal claims a chain before it */
		"ARC-Seal: i=1; cv=pass; b=\r\n"
		"ARC-Message-Signature: i=1; b=\r\n"
		"ARC-Authentication-Results: i=1; x; none\r\n",
		/* a gap: 2 without 1 */
		"ARC-Seal: i=2; cv=pass; b=\r\n"
		"ARC-Message-Signature: i=2; b=\r\n"
		"ARC-Authentication-Results: i=2; x; none\r\n",
	};
	struct buf m, a;
	struct dkim_key *k;
	size_t i;

	buf_init(&m, 1 << 16);
	buf_init(&a, 1 << 20);
	unlink(A("rsa.pem"));
	CHECK(dkim_key_generate(A("rsa.pem"), DKIM_RSA) == 0);
	k = dkim_key_load(A("rsa.pem"), DKIM_RSA, "forward.example", "rsa");
	CHECK(k != NULL);
	for (i = 0; k != NULL && i < sizeof(broken) / sizeof(broken[0]); i++) {
		buf_reset(&m);
		CHECK(buf_append(&m, broken[i], strlen(broken[i])) == 0);
		CHECK(buf_append(&m, arc_msg, strlen(arc_msg)) == 0);
		CHECK(seal(k, m.data, m.len, ARC_CV_PASS, &a) == 0);
		CHECK(buf_append(&a, "", 1) == 0);
		if (strstr(a.data, "cv=fail;") == NULL) {
			printf("  case %zu: not cv=fail\n", i);
			unit_failed_now = 1;
		}
	}
	dkim_key_free(k);
	unlink(A("rsa.pem"));
	a_done();
	buf_free(&m);
	buf_free(&a);
}

UNIT_TEST(arc_stops_at_fifty_sets_and_refuses_bad_results)
{
	struct buf m, out;
	struct dkim_key *k;
	int i;

	buf_init(&m, 1 << 20);
	buf_init(&out, 1 << 20);
	unlink(A("rsa.pem"));
	CHECK(dkim_key_generate(A("rsa.pem"), DKIM_RSA) == 0);
	k = dkim_key_load(A("rsa.pem"), DKIM_RSA, "forward.example", "rsa");
	CHECK(k != NULL);
	if (k == NULL)
		goto out;
	for (i = ARC_MAX_SETS; i >= 1; i--)
		CHECK(buf_printf(&m,
			  "ARC-Seal: i=%d; cv=%s; b=\r\n"
			  "ARC-Message-Signature: i=%d; b=\r\n"
			  "ARC-Authentication-Results: i=%d; x; none\r\n",
			  i, i == 1 ? "none" : "pass", i, i) == 0);
	CHECK(buf_append(&m, arc_msg, strlen(arc_msg)) == 0);
	CHECK(arc_sign(k, m.data, m.len, AUTHRES, ARC_CV_PASS, 1700000000,
		  &out) == -1);
	CHECK(out.len == 0);
	/* 49 sets: the 50th is made */
	buf_reset(&m);
	for (i = ARC_MAX_SETS - 1; i >= 1; i--)
		CHECK(buf_printf(&m,
			  "ARC-Seal: i=%d; cv=%s; b=\r\n"
			  "ARC-Message-Signature: i=%d; b=\r\n"
			  "ARC-Authentication-Results: i=%d; x; none\r\n",
			  i, i == 1 ? "none" : "pass", i, i) == 0);
	CHECK(buf_append(&m, arc_msg, strlen(arc_msg)) == 0);
	CHECK(arc_sign(k, m.data, m.len, AUTHRES, ARC_CV_PASS, 1700000000,
		  &out) == 0);
	CHECK(strncmp(out.data, "ARC-Seal: i=50;", 15) == 0);

	/* the results: a value, nothing else */
	buf_reset(&out);
	CHECK(arc_sign(k, arc_msg, strlen(arc_msg), "", 0, 1700000000, &out) ==
	      -1);
	CHECK(arc_sign(k, arc_msg, strlen(arc_msg), " \r\n", 0, 1700000000,
		  &out) == -1);
	CHECK(arc_sign(k, arc_msg, strlen(arc_msg), "x; spf=pass\nX-Evil: 1", 0,
		  1700000000, &out) == -1);
	CHECK(arc_sign(k, arc_msg, strlen(arc_msg), "x; spf=pass\r\nX-Evil: 1",
		  0, 1700000000, &out) == -1);
	CHECK(arc_sign(k, arc_msg, strlen(arc_msg), "x; spf=pass\rdkim=none", 0,
		  1700000000, &out) == -1);
	CHECK(out.len == 0);
	/* folded, with a leading blank and a final CRLF: taken */
	CHECK(arc_sign(k, arc_msg, strlen(arc_msg), " x;\r\n\tspf=pass\r\n", 0,
		  1700000000, &out) == 0);
	CHECK(buf_append(&out, "", 1) == 0);
	CHECK(
	    strstr(out.data,
		"\r\nARC-Authentication-Results: i=1; x;\r\n\tspf=pass\r\n") !=
	    NULL);
	/* RFC 8617 knows only rsa-sha256: an Ed25519 key does not seal */
	unlink(A("ed.pem"));
	CHECK(dkim_key_generate(A("ed.pem"), DKIM_ED25519) == 0);
	{
		struct dkim_key *ed = dkim_key_load(A("ed.pem"), DKIM_ED25519,
		    "forward.example", "ed");
		buf_reset(&out);
		CHECK(ed != NULL && arc_sign(ed, arc_msg, strlen(arc_msg),
					AUTHRES, 0, 1700000000, &out) == -1);
		dkim_key_free(ed);
		unlink(A("ed.pem"));
	}
	/* a header section with a bare LF is not sealed */
	buf_reset(&out);
	CHECK(arc_sign(k, "From: a@b\nTo: c@d\r\n\r\nx\r\n", 25, "x; none", 0,
		  1700000000, &out) == -1);
out:
	dkim_key_free(k);
	unlink(A("rsa.pem"));
	a_done();
	buf_free(&m);
	buf_free(&out);
}

/* --- validation of a received chain --- */

static void
on_arc_done(struct arc_verify *v, void *arg)
{
	(void)v;
	*(int *)arg = 1;
}

/* The chain's result, its keys answered by f; why copied out. */
static enum arc_res
arc_check(struct dnsq_fake *f, const char *msg, size_t len, char *why,
    size_t whylen)
{
	struct arc_verify *v;
	const char *w;
	enum arc_res r;
	int called = 0;

	v = arc_verify_start(dnsq_fake_dnsq(f), msg, len, on_arc_done, &called);
	if (v == NULL)
		return (enum arc_res) - 1;
	if (!arc_verify_is_done(v)) {
		dnsq_fake_run(f);
		if (!called || !arc_verify_is_done(v))
			printf("  done not called\n");
	}
	r = arc_verify_result(v, &w);
	snprintf(why, whylen, "%s", w);
	arc_verify_free(v);
	return r;
}

static struct dnsq_fake *
arc_dns(void)
{
	struct dnsq_fake *f = dnsq_fake_new();
	static const char *const names[] = { "rsa", "ed" };
	static const char *const doms[] = { "forward.example",
		"second.example" };
	char name[128], path[160], *txt;
	size_t i, n;

	for (i = 0; i < 2; i++) {
		snprintf(name, sizeof(name), "%s.txt", names[i]);
		if ((txt = str_read_file(apath(path, sizeof(path), name), 4096,
			 &n)) == NULL)
			continue;
		snprintf(name, sizeof(name), "%s._domainkey.%s", names[i],
		    doms[i]);
		dnsq_fake_add(f, name, DNSQ_TXT, txt);
		free(txt);
	}
	return f;
}

UNIT_TEST(arc_chains_made_here_validate_and_changed_ones_fail)
{
	struct arc_keys k;
	struct dnsq_fake *f = NULL;
	struct buf m, a1, a2, x;
	char why[160], *p;

	buf_init(&m, 1 << 20);
	buf_init(&a1, 1 << 20);
	buf_init(&a2, 1 << 20);
	buf_init(&x, 1 << 20);
	CHECK(keys_setup(&k) == 0);
	if (k.dk == NULL || k.rsa == NULL || k.ed == NULL)
		goto out;
	f = arc_dns();
	CHECK(signed_msg(&k, &m) == 0);
	CHECK(arc_check(f, m.data, m.len, why, sizeof(why)) == ARC_RES_NONE);
	CHECK(dnsq_fake_asked(f) == 0);
	CHECK(seal(k.rsa, m.data, m.len, ARC_CV_NONE, &a1) == 0);
	CHECK(arc_check(f, a1.data, a1.len, why, sizeof(why)) == ARC_RES_PASS);
	CHECK(seal(k.ed, a1.data, a1.len, ARC_CV_PASS, &a2) == 0);
	CHECK(arc_check(f, a2.data, a2.len, why, sizeof(why)) == ARC_RES_PASS);
	CHECK_STR(why, "2 ARC sets verified");

	/* the body changed after the last hop */
	buf_reset(&x);
	CHECK(buf_append(&x, a2.data, a2.len) == 0 &&
	      buf_append(&x, "P.S.\r\n", 6) == 0);
	CHECK(arc_check(f, x.data, x.len, why, sizeof(why)) == ARC_RES_FAIL);
	CHECK(strstr(why, "ARC-Message-Signature i=2: body hash") != NULL);

	/* the first hop's results rewritten: its seal no longer holds */
	buf_reset(&x);
	CHECK(
	    buf_append(&x, a2.data, a2.len) == 0 && buf_append(&x, "", 1) == 0);
	p = strstr(x.data, "i=1; mx.forward.example;\r\n\tspf=pass");
	CHECK(p != NULL);
	if (p != NULL)
		memcpy(strstr(p, "spf=pass"), "spf=PASS", 8);
	x.len--;
	CHECK(arc_check(f, x.data, x.len, why, sizeof(why)) == ARC_RES_FAIL);
	CHECK(strstr(why, "ARC-Seal i=") != NULL);
	CHECK(strstr(why, "did not verify") != NULL);

	/* a set taken away: broken, and no key asked */
	{
		struct dnsq_fake *g = arc_dns();
		const char *set2 = strstr(a2.data, "ARC-Seal: i=2");
		const char *set1 = strstr(a2.data, "\r\nARC-Seal: i=1");
		CHECK(set2 == a2.data && set1 != NULL);
		if (set1 != NULL) {
			/* set 2's AAR and AMS without its seal */
			const char *ams2 =
			    strstr(a2.data, "\r\nARC-Message-Signature: i=2");
			CHECK(ams2 != NULL);
			buf_reset(&x);
			CHECK(buf_append(&x, ams2 + 2,
				  a2.len - (size_t)(ams2 + 2 - a2.data)) == 0);
			CHECK(arc_check(g, x.data, x.len, why, sizeof(why)) ==
			      ARC_RES_FAIL);
			CHECK(strstr(why, "incomplete") != NULL);
			CHECK(dnsq_fake_asked(g) == 0);
		}
		dnsq_fake_free(g);
	}

	/* keys: missing, or DNS failing for now, is fail (ARC has no
	 * temperror) */
	{
		struct dnsq_fake *g = dnsq_fake_new();
		CHECK(arc_check(g, a1.data, a1.len, why, sizeof(why)) ==
		      ARC_RES_FAIL);
		CHECK(strstr(why, "no key record") != NULL);
		dnsq_fake_fail(g, "rsa._domainkey.forward.example",
		    DNSQ_TEMPFAIL);
		CHECK(arc_check(g, a1.data, a1.len, why, sizeof(why)) ==
		      ARC_RES_FAIL);
		CHECK(strstr(why, "for now") != NULL);
		dnsq_fake_free(g);
	}

	/* a seal that says fail ends the chain */
	CHECK(seal(k.rsa, a2.data, a2.len, ARC_CV_FAIL, &x) == 0);
	CHECK(arc_check(f, x.data, x.len, why, sizeof(why)) == ARC_RES_FAIL);
	CHECK(strstr(why, "cv=fail") != NULL);
out:
	dnsq_fake_free(f);
	buf_free(&m);
	buf_free(&a1);
	buf_free(&a2);
	buf_free(&x);
	keys_free(&k);
}

UNIT_TEST(arc_cv_is_read_from_our_authentication_results)
{
	static const struct {
		const char *ar;
		int cv;
	} cases[] = {
		{ "mx.example; spf=pass; arc=pass (2 ARC sets verified)",
		    ARC_CV_PASS },
		{ "mx.example;\r\n\tarc=fail (broken)", ARC_CV_FAIL },
		{ "mx.example; ARC = Pass", ARC_CV_PASS },
		{ "mx.example; arc=none", ARC_CV_NONE },
		{ "mx.example; spf=pass smtp.mailfrom=arc=pass@x",
		    ARC_CV_NONE },
		{ "mx.example; dmarc=pass", ARC_CV_NONE },
		{ "mx.example; arc=passed", ARC_CV_NONE },
		{ "", ARC_CV_NONE },
		{ "ar", ARC_CV_NONE },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (arc_cv_of(cases[i].ar) != cases[i].cv) {
			printf("  case %zu: \"%s\"\n", i, cases[i].ar);
			unit_failed_now = 1;
		}
}

UNIT_TEST(arc_authres_of_finds_our_own_results)
{
	static const char msg[] =
	    "Authentication-Results: mx.example.org;\r\n"
	    "\tspf=pass smtp.mailfrom=a@b.example;\r\n"
	    "\tarc=pass (1 ARC sets verified)\r\n"
	    "Received: from x by mx.example.org\r\n"
	    "Authentication-Results: mx.example.org.evil; arc=fail\r\n"
	    "From: a@b.example\r\n"
	    "\r\n"
	    "Authentication-Results: mx.example.org; in the body\r\n";
	char out[256];

	CHECK(arc_authres_of(msg, strlen(msg), "MX.example.org", out,
		  sizeof(out)) == 0);
	CHECK_STR(out, "mx.example.org;\r\n\tspf=pass smtp.mailfrom=a@b."
		       "example;\r\n\tarc=pass (1 ARC sets verified)");
	CHECK(arc_cv_of(out) == ARC_CV_PASS);
	CHECK(arc_authres_of(msg, strlen(msg), "mx.example.org.evil", out,
		  sizeof(out)) == 0);
	CHECK_STR(out, "mx.example.org.evil; arc=fail");
	CHECK(arc_authres_of(msg, strlen(msg), "example.org", out,
		  sizeof(out)) == -1);
	CHECK(
	    arc_authres_of(msg, strlen(msg), "mx.example.org", out, 20) == -1);
}
