/*
 * arc_verify: validation of a received message's ARC chain (RFC 8617
 * 5.2) as a small state machine over dnsq, like verify.c, whose parser
 * (dkim_arc_parse), header hash and key check it uses. At start the
 * chain's structure is judged (arc.c's reader), the latest
 * ARC-Message-Signature's header and body hashes and every ARC-Seal's
 * hash are taken (the seals' input grows by one set each: one running
 * digest, copied per seal), and each key name is asked once; the
 * answers settle the signatures.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/evp.h>

#include "arc.h"
#include "canon.h"
#include "dkim.h"
#include "dkim_int.h"
#include "verify.h"
#include "../util/buf.h"
#include "../util/dnsq.h"

#define ARC_KEYNAME_MAX (254 + 12 + 254)

struct arc_vkey {
	struct arc_verify *v;
	uint64_t q; /* the question, 0 when answered or none */
	char name[ARC_KEYNAME_MAX];
};

struct arc_vsig {
	int key;  /* index into keys */
	int inst; /* i= */
	int seal; /* an ARC-Seal, else the ARC-Message-Signature */
	unsigned char hh[32];
	unsigned char b[DKIM_VERIFY_SIG_MAX];
	size_t blen;
};

struct arc_verify {
	struct dnsq *dns;
	void (*done)(struct arc_verify *, void *);
	void *arg;
	enum arc_res res;
	char why[128];
	struct arc_vkey keys[ARC_VERIFY_KEYS_MAX];
	int nkeys;
	struct arc_vsig sigs[ARC_MAX_SETS + 1];
	int nsigs;
	int pending, finished, failed;
};

static const char *const arc_res_names[] = { "none", "pass", "fail" };

const char *
arc_res_name(enum arc_res r)
{
	if ((unsigned)r >= sizeof(arc_res_names) / sizeof(arc_res_names[0]))
		return "fail";
	return arc_res_names[r];
}

/* The first failure is the one told. */
static void
av_fail(struct arc_verify *v, const char *what, int inst, const char *why)
{
	if (v->failed)
		return;
	v->failed = 1;
	if (what != NULL)
		snprintf(v->why, sizeof(v->why), "%s i=%d: %s", what, inst,
		    why);
	else
		snprintf(v->why, sizeof(v->why), "%s", why);
}

/* Signature number n's key: asked once per name. -1 past the bound. */
static int
av_key(struct arc_verify *v, const struct dkim_sig_tags *t)
{
	char name[ARC_KEYNAME_MAX];
	int k;

	snprintf(name, sizeof(name), "%s._domainkey.%s", t->s, t->d);
	for (k = 0; k < v->nkeys; k++)
		if (strcmp(v->keys[k].name, name) == 0)
			return k;
	if (v->nkeys == ARC_VERIFY_KEYS_MAX)
		return -1;
	v->keys[k].v = v;
	memcpy(v->keys[k].name, name, sizeof(name));
	v->nkeys++;
	return k;
}

static int
av_add(struct arc_verify *v, const struct dkim_sig_tags *t, int seal,
    const unsigned char hh[32])
{
	struct arc_vsig *s = &v->sigs[v->nsigs];

	if (v->nsigs == ARC_MAX_SETS + 1 || (s->key = av_key(v, t)) == -1)
		return -1;
	s->inst = t->instance;
	s->seal = seal;
	memcpy(s->hh, hh, 32);
	memcpy(s->b, t->b, t->blen);
	s->blen = t->blen;
	v->nsigs++;
	return 0;
}

/* The latest ARC-Message-Signature: a DKIM signature but for its tags. */
static void
av_ams(struct arc_verify *v, const struct arc_chain *c, const char *msg,
    size_t hlen, size_t boff, size_t len)
{
	const struct dkim_field *f = &c->f[c->max][ARC_AMS];
	struct dkim_sig_tags *t;
	unsigned char hh[32], bh[32];
	unsigned long long clen;
	const char *why;

	if ((t = malloc(sizeof(*t))) == NULL) {
		av_fail(v, NULL, 0, "out of memory");
		return;
	}
	if (dkim_arc_parse(f->p, f->len, 0, t, &why) == -1)
		av_fail(v, "ARC-Message-Signature", c->max, why);
	else if (dkim_header_hash(msg, hlen, f, t, hh) == -1)
		av_fail(v, "ARC-Message-Signature", c->max, "h= is malformed");
	else if (dkim_body_hash(msg + boff, len - boff, t->simple_body,
		     t->has_l ? (long long)t->l : -1, bh, &clen) == -1)
		av_fail(v, NULL, 0, "body hash not computed");
	else if ((t->has_l && t->l > clen) || memcmp(bh, t->bh, 32) != 0)
		av_fail(v, "ARC-Message-Signature", c->max,
		    "body hash did not verify");
	else if (av_add(v, t, 0, hh) == -1)
		av_fail(v, NULL, 0, "too many keys to ask");
	free(t);
}

static int
av_relaxed(EVP_MD_CTX *md, const char *p, size_t n, int crlf)
{
	struct buf b;
	int ok;

	buf_init(&b, ARC_FIELD_MAX + 64);
	ok = dkim_canon_header_relaxed(p, n, &b) == 0 &&
	     EVP_DigestUpdate(md, b.data, b.len - (crlf ? 0 : 2)) == 1;
	buf_free(&b);
	return ok ? 0 : -1;
}

/*
 * Each seal i signs the sets 1..i-1 whole, then set i's AAR and AMS and
 * the seal itself with b= empty, no CRLF after it: run holds the sets
 * before i, and is copied for seal i.
 */
static void
av_seals(struct arc_verify *v, const struct arc_chain *c)
{
	EVP_MD_CTX *run = EVP_MD_CTX_new(), *one = EVP_MD_CTX_new();
	struct dkim_sig_tags *t = malloc(sizeof(*t));
	const struct dkim_field *as;
	unsigned char hh[32];
	char *nob = malloc(ARC_FIELD_MAX);
	unsigned int n;
	const char *why;
	int i, k;

	if (run == NULL || one == NULL || t == NULL || nob == NULL ||
	    EVP_DigestInit_ex(run, EVP_sha256(), NULL) != 1) {
		av_fail(v, NULL, 0, "out of memory");
		goto out;
	}
	for (i = 1; i <= c->max && !v->failed; i++) {
		as = &c->f[i][ARC_AS];
		if (dkim_arc_parse(as->p, as->len, 1, t, &why) == -1) {
			av_fail(v, "ARC-Seal", i, why);
			break;
		}
		/* the field without b='s value (b_end <= len) */
		memcpy(nob, as->p, t->b_start);
		memcpy(nob + t->b_start, as->p + t->b_end, as->len - t->b_end);
		if (EVP_MD_CTX_copy_ex(one, run) != 1 ||
		    av_relaxed(one, c->f[i][ARC_AAR].p, c->f[i][ARC_AAR].len,
			1) == -1 ||
		    av_relaxed(one, c->f[i][ARC_AMS].p, c->f[i][ARC_AMS].len,
			1) == -1 ||
		    av_relaxed(one, nob, as->len - (t->b_end - t->b_start),
			0) == -1 ||
		    EVP_DigestFinal_ex(one, hh, &n) != 1 || n != 32) {
			av_fail(v, NULL, 0, "seal hash not computed");
			break;
		}
		for (k = 0; k < ARC_NKINDS; k++)
			if (av_relaxed(run, c->f[i][k].p, c->f[i][k].len, 1) ==
			    -1) {
				av_fail(v, NULL, 0, "seal hash not computed");
				goto out;
			}
		if (av_add(v, t, 1, hh) == -1)
			av_fail(v, NULL, 0, "too many keys to ask");
	}
out:
	ERR_clear_error();
	EVP_MD_CTX_free(run);
	EVP_MD_CTX_free(one);
	free(t);
	free(nob);
}

static void
av_finish(struct arc_verify *v)
{
	v->res = v->failed ? ARC_RES_FAIL : ARC_RES_PASS;
	if (!v->failed)
		snprintf(v->why, sizeof(v->why), "%d ARC sets verified",
		    v->nsigs - 1);
	v->finished = 1;
}

/* The key's answer settles every signature made with it. */
static void
av_answer(const struct dnsq_answer *a, void *arg)
{
	struct arc_vkey *key = arg;
	struct arc_verify *v = key->v;
	const char *why;
	int i, testing, k = (int)(key - v->keys);

	key->q = 0;
	for (i = 0; i < v->nsigs; i++) {
		struct arc_vsig *s = &v->sigs[i];
		if (s->key != k)
			continue;
		if (dkim_key_check(a, DKIM_RSA, "", "", s->b, s->blen, s->hh,
			&testing, &why) != DKIM_RES_PASS)
			av_fail(v,
			    s->seal ? "ARC-Seal" : "ARC-Message-Signature",
			    s->inst, why);
	}
	if (--v->pending == 0) {
		av_finish(v);
		v->done(v, v->arg); /* may free v: nothing after it */
	}
}

struct arc_verify *
arc_verify_start(struct dnsq *dns, const char *msg, size_t len,
    void (*done)(struct arc_verify *, void *), void *arg)
{
	struct arc_verify *v;
	struct arc_chain *c;
	size_t hlen, boff;
	int k;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	if ((c = malloc(sizeof(*c))) == NULL) {
		free(v);
		return NULL;
	}
	v->dns = dns;
	v->done = done;
	v->arg = arg;
	dkim_split(msg, len, &hlen, &boff);
	arc_chain_read(msg, hlen, c);
	if (c->max == 0 && !c->broken) {
		v->res = ARC_RES_NONE;
		snprintf(v->why, sizeof(v->why), "no ARC sets");
		v->finished = 1;
		goto out;
	}
	if (hlen > DKIM_VERIFY_HDR_MAX)
		av_fail(v, NULL, 0, "header section too large to verify");
	else if (c->broken)
		av_fail(v, NULL, 0, "ARC sets malformed or incomplete");
	else if (c->failed)
		av_fail(v, NULL, 0, "a seal says the chain failed (cv=fail)");
	if (!v->failed)
		av_ams(v, c, msg, hlen, boff, len);
	if (!v->failed)
		av_seals(v, c);
	if (v->failed) {
		av_finish(v);
		goto out;
	}
	for (k = 0; k < v->nkeys; k++) {
		if ((v->keys[k].q = dns->ask(dns, v->keys[k].name, DNSQ_TXT,
			 av_answer, &v->keys[k])) == 0) {
			av_fail(v, NULL, 0, "key lookup did not start");
			break;
		}
		v->pending++;
	}
	if (v->failed) { /* nothing asked is waited for */
		for (k = 0; k < v->nkeys; k++)
			if (v->keys[k].q != 0)
				dns->cancel(dns, v->keys[k].q);
		v->pending = 0;
		av_finish(v);
	}
out:
	free(c);
	return v;
}

void
arc_verify_free(struct arc_verify *v)
{
	int k;

	if (v == NULL)
		return;
	for (k = 0; k < v->nkeys; k++)
		if (v->keys[k].q != 0)
			v->dns->cancel(v->dns, v->keys[k].q);
	free(v);
}

int
arc_verify_is_done(const struct arc_verify *v)
{
	return v->finished;
}

enum arc_res
arc_verify_result(const struct arc_verify *v, const char **why)
{
	*why = v->why;
	return v->res;
}
