/*
 * verify: DKIM verification (RFC 6376 6) as a small state machine: at
 * start, every DKIM-Signature field (up to DKIM_VERIFY_MAX) is parsed,
 * its header hash input digested and its body hash compared; a signature
 * still standing asks DNS for <s>._domainkey.<d>, and its answer settles
 * it. Every byte of the message and of a key record is hostile: each tag,
 * list and base64 value has a bound, checked before it is copied.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "canon.h"
#include "dkim.h"
#include "verify.h"
#include "../util/dnsq.h"
#include "../util/base64.h"
#include "../util/buf.h"

#define IS_WSP(c) ((c) == ' ' || (c) == '\t')
#define IS_FWS(c) (IS_WSP(c) || (c) == '\r' || (c) == '\n')

#define DKIM_TAGS_MAX 32 /* tags in one tag-list */

struct dkim_vsig {
	struct dkim_verify_sig r;
	struct dkim_verify *v;
	uint64_t q;	      /* the key's question, 0 when none */
	int alg;	      /* enum dkim_alg */
	char idom[254];	      /* i='s domain, or empty */
	unsigned char hh[32]; /* SHA-256 of the header hash input */
	unsigned char b[DKIM_VERIFY_SIG_MAX];
	size_t blen;
};

struct dkim_verify {
	struct dnsq *dns;
	void (*done)(struct dkim_verify *, void *);
	void *arg;
	struct dkim_vsig sigs[DKIM_VERIFY_MAX];
	int n, ignored, pending, finished;
};

/* A tag of a tag-list (RFC 6376 3.2): name, value without the FWS around
 * it, and [eq, end): the bytes between its '=' and its ';' or the end. */
struct dkim_tag {
	const char *name, *val;
	size_t nlen, vlen, eq, end;
};

static const char *const dkim_res_names[] = { "none", "pass", "fail", "policy",
	"neutral", "temperror", "permerror" };

const char *
dkim_res_name(enum dkim_res r)
{
	if ((unsigned)r >= sizeof(dkim_res_names) / sizeof(dkim_res_names[0]))
		return "permerror";
	return dkim_res_names[r];
}

static int
tag_char_name(unsigned char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return !first && ((c >= '0' && c <= '9') || c == '_');
}

/*
 * Split s[0..n) into at most max tags. -1 on a syntax error (a bad name,
 * no '=', a byte outside VALCHAR and FWS) or a tag named twice, which
 * makes the whole list invalid (RFC 6376 3.2). Empty lists and a final
 * ';' are allowed.
 */
static int
dkim_tags(const char *s, size_t n, struct dkim_tag *t, int max)
{
	size_t i = 0, a;
	int nt = 0, k;

	for (;;) {
		while (i < n && IS_FWS(s[i]))
			i++;
		if (i == n)
			return nt;
		if (nt == max || !tag_char_name((unsigned char)s[i], 1))
			return -1;
		t[nt].name = s + i;
		for (a = i; i < n && tag_char_name((unsigned char)s[i], 0);)
			i++;
		t[nt].nlen = i - a;
		while (i < n && IS_FWS(s[i]))
			i++;
		if (i == n || s[i] != '=')
			return -1;
		t[nt].eq = ++i;
		while (i < n && IS_FWS(s[i]))
			i++;
		t[nt].val = s + i;
		for (a = i; i < n && s[i] != ';'; i++) {
			unsigned char c = (unsigned char)s[i];

			if (!IS_FWS(c) && (c < 0x21 || c > 0x7e))
				return -1;
		}
		t[nt].end = i;
		while (i > a && IS_FWS(s[i - 1]))
			i--;
		t[nt].vlen = i - a;
		i = t[nt].end;
		for (k = 0; k < nt; k++)
			if (t[k].nlen == t[nt].nlen &&
			    memcmp(t[k].name, t[nt].name, t[nt].nlen) == 0)
				return -1;
		nt++;
		if (i == n)
			return nt;
		i++; /* the ';' */
	}
}

static const struct dkim_tag *
tag_get(const struct dkim_tag *t, int nt, const char *name)
{
	size_t len = strlen(name);
	int k;

	for (k = 0; k < nt; k++)
		if (t[k].nlen == len && memcmp(t[k].name, name, len) == 0)
			return &t[k];
	return NULL;
}

static int
tag_is(const struct dkim_tag *t, const char *s)
{
	return t->vlen == strlen(s) && strncasecmp(t->val, s, t->vlen) == 0;
}

/* Copy a value without FWS into out (outlen with its NUL); -1 if long. */
static int
tag_copy(const struct dkim_tag *t, int strip, char *out, size_t outlen)
{
	size_t i, o = 0;

	for (i = 0; i < t->vlen; i++) {
		if (strip && IS_FWS(t->val[i]))
			continue;
		if (o + 1 >= outlen)
			return -1;
		out[o++] = t->val[i];
	}
	out[o] = '\0';
	return 0;
}

/* base64 with FWS inside (RFC 6376 2.4) into out: bytes, or -1. */
static long
tag_base64(const struct dkim_tag *t, unsigned char *out, size_t outmax)
{
	char tmp[BASE64_ENCODED_LEN(DKIM_VERIFY_KEY_MAX)];

	if (tag_copy(t, 1, tmp, sizeof(tmp)) == -1)
		return -1;
	if (tmp[0] == '\0')
		return 0;
	return base64_decode(out, outmax, tmp, strlen(tmp));
}

/* Is one of the ':' separated items of t's value item (any case)? */
static int
tag_list_has(const struct dkim_tag *t, const char *item)
{
	size_t i = 0, a, z, len = strlen(item);

	while (i <= t->vlen) {
		for (a = i; i < t->vlen && t->val[i] != ':'; i++)
			;
		z = i;
		while (a < z && IS_FWS(t->val[a]))
			a++;
		while (z > a && IS_FWS(t->val[z - 1]))
			z--;
		if (z - a == len && strncasecmp(t->val + a, item, len) == 0)
			return 1;
		i++;
	}
	return 0;
}

/* Decimal digits only, at most maxd of them. */
static int
tag_num(const struct dkim_tag *t, int maxd, unsigned long long *v)
{
	size_t i;

	if (t->vlen == 0 || t->vlen > (size_t)maxd)
		return -1;
	*v = 0;
	for (i = 0; i < t->vlen; i++) {
		if (t->val[i] < '0' || t->val[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned)(t->val[i] - '0');
	}
	return 0;
}

/* A DNS name of d= or s=: LDH and '_' labels of 1-63, lower-cased. */
static int
dkim_dns_name(const struct dkim_tag *t, char *out, size_t outlen)
{
	size_t i, label = 0;
	char c;

	if (t->vlen == 0 || t->vlen >= outlen || t->vlen > 253)
		return -1;
	for (i = 0; i < t->vlen; i++) {
		c = t->val[i];
		if (c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
			       c == '-' || c == '_') ||
			   ++label > 63) {
			return -1;
		}
		out[i] = c;
	}
	out[i] = '\0';
	return label > 0 ? 0 : -1;
}

/* Does the h= list name From (RFC 6376 5.4: it must)? */
static int
dkim_h_has_from(const char *h)
{
	struct dkim_tag t;

	t.val = h;
	t.vlen = strlen(h);
	return tag_list_has(&t, "from");
}

#define REQ(name)                                                              \
	do {                                                                   \
		if ((t = tag_get(tags, nt, name)) == NULL) {                   \
			*why = "a required tag is missing";                    \
			return -1;                                             \
		}                                                              \
	} while (0)

static int
sig_alg_canon(const struct dkim_tag *tags, int nt, struct dkim_sig_tags *s,
    const char **why)
{
	const struct dkim_tag *t;

	REQ("a");
	(void)tag_copy(t, 0, s->a, sizeof(s->a));
	if (tag_is(t, "rsa-sha256")) {
		s->alg = DKIM_RSA;
	} else if (tag_is(t, "ed25519-sha256")) {
		s->alg = DKIM_ED25519;
	} else {
		*why = tag_is(t, "rsa-sha1") ? "rsa-sha1 is refused (RFC 8301)"
					     : "unknown algorithm";
		return -1;
	}
	s->simple_header = s->simple_body = 1;
	if ((t = tag_get(tags, nt, "c")) != NULL) {
		if (tag_is(t, "relaxed") || tag_is(t, "relaxed/relaxed")) {
			s->simple_header = s->simple_body = 0;
		} else if (tag_is(t, "relaxed/simple")) {
			s->simple_header = 0;
		} else if (tag_is(t, "simple/relaxed")) {
			s->simple_body = 0;
		} else if (!tag_is(t, "simple") &&
			   !tag_is(t, "simple/simple")) {
			*why = "unknown canonicalization";
			return -1;
		}
	}
	return 0;
}

static int
sig_ids(const struct dkim_tag *tags, int nt, struct dkim_sig_tags *s, int arc,
    const char **why)
{
	const struct dkim_tag *t;
	const char *at;
	size_t dl, il;

	REQ("d");
	if (dkim_dns_name(t, s->d, sizeof(s->d)) == -1) {
		*why = "d= is not a domain name";
		return -1;
	}
	REQ("s");
	if (dkim_dns_name(t, s->s, sizeof(s->s)) == -1 ||
	    strlen(s->s) + strlen("._domainkey.") + strlen(s->d) > 253) {
		*why = "s= is not a selector";
		return -1;
	}
	/* ARC's i= is the instance, not an identity */
	if (!arc && (t = tag_get(tags, nt, "i")) != NULL) {
		if (tag_copy(t, 0, s->i, sizeof(s->i)) == -1 ||
		    (at = strrchr(s->i, '@')) == NULL) {
			*why = "i= is malformed";
			return -1;
		}
		/* i='s domain is d= or below it (RFC 6376 3.5). */
		at++;
		dl = strlen(s->d);
		il = strlen(at);
		if (!(il == dl && strcasecmp(at, s->d) == 0) &&
		    !(il > dl && at[il - dl - 1] == '.' &&
			strcasecmp(at + il - dl, s->d) == 0)) {
			*why = "i= is not within d=";
			return -1;
		}
	}
	return 0;
}

static int
sig_hashes(const struct dkim_tag *tags, int nt, struct dkim_sig_tags *s,
    const char **why)
{
	const struct dkim_tag *t;
	long n;
	size_t i, o = 0;

	REQ("bh");
	if (tag_base64(t, s->bh, sizeof(s->bh)) != 32) {
		*why = "bh= is not a SHA-256 digest";
		return -1;
	}
	REQ("b");
	if ((n = tag_base64(t, s->b, sizeof(s->b))) <= 0) {
		*why = "b= is malformed or too long";
		return -1;
	}
	s->blen = (size_t)n;
	for (i = 0; i < t->vlen && o < sizeof(s->b8) - 1; i++)
		if (!IS_FWS(t->val[i]))
			s->b8[o++] = t->val[i];
	s->b8[o] = '\0';
	return 0;
}

static int
sig_times(const struct dkim_tag *tags, int nt, struct dkim_sig_tags *s,
    const char **why)
{
	const struct dkim_tag *t;
	unsigned long long v;

	if ((t = tag_get(tags, nt, "l")) != NULL) {
		if (tag_num(t, 18, &s->l) == -1) {
			*why = "l= is malformed or too large";
			return -1;
		}
		s->has_l = 1;
	}
	if ((t = tag_get(tags, nt, "t")) != NULL) {
		if (tag_num(t, 12, &v) == -1) {
			*why = "t= is malformed";
			return -1;
		}
		s->t = (long long)v;
		s->has_t = 1;
	}
	if ((t = tag_get(tags, nt, "x")) != NULL) {
		if (tag_num(t, 12, &v) == -1) {
			*why = "x= is malformed";
			return -1;
		}
		s->x = (long long)v;
		s->has_x = 1;
		if (s->has_t && s->x < s->t) {
			*why = "x= is before t=";
			return -1;
		}
	}
	return 0;
}

int
dkim_sig_parse(const char *field, size_t len, struct dkim_sig_tags *s,
    const char **why)
{
	struct dkim_tag tags[DKIM_TAGS_MAX];
	const struct dkim_tag *t;
	const char *colon;
	size_t off;
	int nt;

	memset(s, 0, sizeof(*s));
	*why = "malformed tag list";
	if (len > DKIM_VERIFY_FIELD_MAX) {
		*why = "signature field too long";
		return -1;
	}
	if ((colon = memchr(field, ':', len)) == NULL)
		return -1;
	off = (size_t)(colon + 1 - field);
	if ((nt = dkim_tags(colon + 1, len - off, tags, DKIM_TAGS_MAX)) == -1)
		return -1;
	REQ("v");
	if (!tag_is(t, "1")) {
		*why = "unknown version";
		return -1;
	}
	if (sig_alg_canon(tags, nt, s, why) == -1 ||
	    sig_ids(tags, nt, s, 0, why) == -1 ||
	    sig_hashes(tags, nt, s, why) == -1 ||
	    sig_times(tags, nt, s, why) == -1)
		return -1;
	REQ("h");
	if (tag_copy(t, 0, s->h, sizeof(s->h)) == -1 ||
	    !dkim_h_has_from(s->h)) {
		*why = "h= does not sign From";
		return -1;
	}
	if ((t = tag_get(tags, nt, "q")) != NULL &&
	    !tag_list_has(t, "dns/txt")) {
		*why = "unknown query method";
		return -1;
	}
	t = tag_get(tags, nt, "b");
	s->b_start = off + t->eq;
	s->b_end = off + t->end;
	return 0;
}

int
dkim_arc_parse(const char *field, size_t len, int seal, struct dkim_sig_tags *s,
    const char **why)
{
	struct dkim_tag tags[DKIM_TAGS_MAX];
	const struct dkim_tag *t;
	const char *colon;
	unsigned long long v;
	size_t off;
	long n;
	int nt;

	memset(s, 0, sizeof(*s));
	*why = "malformed tag list";
	if (len > DKIM_VERIFY_FIELD_MAX) {
		*why = "ARC field too long";
		return -1;
	}
	if ((colon = memchr(field, ':', len)) == NULL)
		return -1;
	off = (size_t)(colon + 1 - field);
	if ((nt = dkim_tags(colon + 1, len - off, tags, DKIM_TAGS_MAX)) == -1)
		return -1;
	REQ("i");
	if (tag_num(t, 2, &v) == -1 || v < 1 || v > 50) {
		*why = "i= is not an instance of 1 to 50";
		return -1;
	}
	s->instance = (int)v;
	if (sig_alg_canon(tags, nt, s, why) == -1 ||
	    sig_ids(tags, nt, s, 1, why) == -1 ||
	    sig_times(tags, nt, s, why) == -1)
		return -1;
	/* RFC 8617 knows rsa-sha256 alone, and relaxed without c= */
	if (s->alg != DKIM_RSA) {
		*why = "an ARC signature other than rsa-sha256";
		return -1;
	}
	if (tag_get(tags, nt, "c") == NULL)
		s->simple_header = s->simple_body = 0;
	if (seal) {
		if (tag_get(tags, nt, "h") != NULL) {
			*why = "h= in an ARC-Seal";
			return -1;
		}
		REQ("cv");
		if (tag_is(t, "none"))
			s->cv = 0;
		else if (tag_is(t, "pass"))
			s->cv = 1;
		else if (tag_is(t, "fail"))
			s->cv = 2;
		else {
			*why = "unknown cv=";
			return -1;
		}
		s->simple_header = 0;
		REQ("b");
		if ((n = tag_base64(t, s->b, sizeof(s->b))) <= 0) {
			*why = "b= is malformed or too long";
			return -1;
		}
		s->blen = (size_t)n;
	} else {
		if (sig_hashes(tags, nt, s, why) == -1)
			return -1;
		REQ("h");
		if (tag_copy(t, 0, s->h, sizeof(s->h)) == -1) {
			*why = "h= too long";
			return -1;
		}
		t = tag_get(tags, nt, "h");
		if (tag_list_has(t, "arc-seal")) {
			*why = "h= signs ARC-Seal";
			return -1;
		}
	}
	t = tag_get(tags, nt, "b");
	s->b_start = off + t->eq;
	s->b_end = off + t->end;
	return 0;
}

int
dkim_key_parse(const char *txt, struct dkim_key_rec *k, const char **why)
{
	struct dkim_tag tags[DKIM_TAGS_MAX];
	const struct dkim_tag *t;
	long n;
	int nt;

	memset(k, 0, sizeof(*k));
	*why = "malformed key record";
	if ((nt = dkim_tags(txt, strlen(txt), tags, DKIM_TAGS_MAX)) <= 0)
		return -1;
	/* v=, when present, comes first (RFC 6376 3.6.1). */
	if ((t = tag_get(tags, nt, "v")) != NULL &&
	    (t != &tags[0] ||
		!(t->vlen == 5 && memcmp(t->val, "DKIM1", 5) == 0))) {
		*why = "key record of another version";
		return -1;
	}
	if ((t = tag_get(tags, nt, "h")) != NULL &&
	    !tag_list_has(t, "sha256")) {
		*why = "key refuses SHA-256";
		return -1;
	}
	k->alg = DKIM_RSA;
	if ((t = tag_get(tags, nt, "k")) != NULL) {
		if (tag_is(t, "ed25519")) {
			k->alg = DKIM_ED25519;
		} else if (!tag_is(t, "rsa")) {
			*why = "unknown key type";
			return -1;
		}
	}
	if ((t = tag_get(tags, nt, "s")) != NULL && !tag_list_has(t, "*") &&
	    !tag_list_has(t, "email")) {
		*why = "key is not for email";
		return -1;
	}
	if ((t = tag_get(tags, nt, "t")) != NULL) {
		k->testing = tag_list_has(t, "y");
		k->strict = tag_list_has(t, "s");
	}
	if ((t = tag_get(tags, nt, "p")) == NULL) {
		*why = "key record without p=";
		return -1;
	}
	if ((n = tag_base64(t, k->p, sizeof(k->p))) < 0) {
		*why = "p= is malformed or too long";
		return -1;
	}
	k->plen = (size_t)n;
	k->revoked = n == 0;
	return 0;
}

/* The public key of a record: RSA 1024-4096 bits, SubjectPublicKeyInfo
 * (as published) or a bare RSAPublicKey; Ed25519, 32 raw bytes. */
static EVP_PKEY *
dkim_pubkey(const struct dkim_key_rec *k, const char **why)
{
	const unsigned char *p = k->p;
	EVP_PKEY *pk;
	int bits;

	if (k->alg == DKIM_ED25519) {
		if (k->plen != 32 ||
		    (pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL,
			 k->p, k->plen)) == NULL) {
			*why = "Ed25519 key is not 32 bytes";
			return NULL;
		}
		return pk;
	}
	if ((pk = d2i_PUBKEY(NULL, &p, (long)k->plen)) == NULL) {
		p = k->p;
		pk = d2i_PublicKey(EVP_PKEY_RSA, NULL, &p, (long)k->plen);
	}
	if (pk == NULL || p != k->p + k->plen || !EVP_PKEY_is_a(pk, "RSA")) {
		EVP_PKEY_free(pk);
		ERR_clear_error();
		*why = "RSA key is malformed";
		return NULL;
	}
	ERR_clear_error(); /* of the first try */
	bits = EVP_PKEY_get_bits(pk);
	if (bits < 1024 || bits > 4096) {
		EVP_PKEY_free(pk);
		*why = "RSA key outside 1024-4096 bits";
		return NULL;
	}
	return pk;
}

/* 1 when sig verifies over the digest hh of the header hash input. */
static int
dkim_sig_ok(EVP_PKEY *pk, int alg, const unsigned char *sig, size_t siglen,
    const unsigned char hh[32])
{
	EVP_PKEY_CTX *pc;
	EVP_MD_CTX *mc;
	int ok = 0;

	if (alg == DKIM_ED25519) {
		/* PureEd25519 over the SHA-256 digest (RFC 8463 3). */
		if ((mc = EVP_MD_CTX_new()) == NULL)
			return 0;
		ok = EVP_DigestVerifyInit(mc, NULL, NULL, NULL, pk) == 1 &&
		     EVP_DigestVerify(mc, sig, siglen, hh, 32) == 1;
		EVP_MD_CTX_free(mc);
	} else {
		/* PKCS#1 v1.5 over SHA-256: the digest is already taken. */
		if ((pc = EVP_PKEY_CTX_new(pk, NULL)) == NULL)
			return 0;
		ok = EVP_PKEY_verify_init(pc) == 1 &&
		     EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256()) == 1 &&
		     EVP_PKEY_verify(pc, sig, siglen, hh, 32) == 1;
		EVP_PKEY_CTX_free(pc);
	}
	ERR_clear_error();
	return ok;
}

static void
vsig_set(struct dkim_vsig *s, enum dkim_res res, const char *reason)
{
	s->r.res = res;
	snprintf(s->r.reason, sizeof(s->r.reason), "%s", reason);
}

enum dkim_res
dkim_key_check(const struct dnsq_answer *a, int alg, const char *idom,
    const char *d, const unsigned char *b, size_t blen,
    const unsigned char hh[32], int *testing, const char **why)
{
	struct dkim_key_rec k;
	const char *why2;
	EVP_PKEY *pk;
	enum dkim_res res;
	int i, found = 0;

	*testing = 0;
	*why = "no key record";
	if (a->status == DNSQ_TEMPFAIL) {
		*why = "key lookup failed for now";
		return DKIM_RES_TEMPERROR;
	}
	/* The first record that reads as a key (RFC 6376 6.1.2 lets the
	 * verifier choose). */
	for (i = 0; a->status == DNSQ_OK && i < a->n && !found; i++)
		if (dkim_key_parse(a->rr[i], &k, i == 0 ? why : &why2) == 0)
			found = 1;
	if (!found)
		return DKIM_RES_PERMERROR;
	*testing = k.testing;
	if (k.revoked) {
		*why = "key revoked";
		return DKIM_RES_PERMERROR;
	}
	if (k.alg != alg) {
		*why = "key of another algorithm";
		return DKIM_RES_PERMERROR;
	}
	/* t=s: i= may not name a subdomain of d=. */
	if (k.strict && idom[0] != '\0' && strcmp(idom, d) != 0) {
		*why = "i= is not d= (key t=s)";
		return DKIM_RES_PERMERROR;
	}
	if ((pk = dkim_pubkey(&k, why)) == NULL)
		return DKIM_RES_PERMERROR;
	if (dkim_sig_ok(pk, alg, b, blen, hh)) {
		*why = k.testing ? "good signature, key in testing mode"
				 : "good signature";
		res = DKIM_RES_PASS;
	} else {
		*why = "signature did not verify";
		res = DKIM_RES_FAIL;
	}
	EVP_PKEY_free(pk);
	return res;
}

/* The key's answer settles the signature. */
static void
vsig_key(struct dkim_vsig *s, const struct dnsq_answer *a)
{
	const char *why;
	enum dkim_res res;

	res = dkim_key_check(a, s->alg, s->idom, s->r.d, s->b, s->blen, s->hh,
	    &s->r.testing, &why);
	vsig_set(s, res, why);
}

static void
vsig_answer(const struct dnsq_answer *a, void *arg)
{
	struct dkim_vsig *s = arg;
	struct dkim_verify *v = s->v;

	s->q = 0;
	vsig_key(s, a);
	if (--v->pending == 0) {
		v->finished = 1;
		v->done(v, v->arg); /* may free v: nothing after it */
	}
}

/*
 * SHA-256 of the header hash input (RFC 6376 3.7): the fields h= selects,
 * then this field with b='s value taken out, without its CRLF, all in the
 * header canonicalisation of c=.
 */
int
dkim_header_hash(const char *hdr, size_t hlen, const struct dkim_field *f,
    const struct dkim_sig_tags *t, unsigned char hh[32])
{
	struct buf hd, fb;
	unsigned int n;
	int rc = -1;

	buf_init(&hd, hlen + 2 + DKIM_VERIFY_FIELD_MAX + 2);
	buf_init(&fb, DKIM_VERIFY_FIELD_MAX);
	if ((t->simple_header
		    ? dkim_canon_selected_simple(hdr, hlen, t->h, &hd)
		    : dkim_canon_selected(hdr, hlen, t->h, &hd)) == -1)
		goto out;
	if (buf_append(&fb, f->p, t->b_start) == -1 ||
	    (f->len > t->b_end &&
		buf_append(&fb, f->p + t->b_end, f->len - t->b_end) == -1))
		goto out;
	if (t->simple_header) {
		if (buf_append(&hd, fb.data, fb.len) == -1)
			goto out;
	} else {
		if (dkim_canon_header_relaxed(fb.data, fb.len, &hd) == -1)
			goto out;
		hd.len -= 2;
	}
	if (EVP_Digest(hd.data, hd.len, hh, &n, EVP_sha256(), NULL) != 1 ||
	    n != 32)
		goto out;
	rc = 0;
out:
	ERR_clear_error();
	buf_free(&hd);
	buf_free(&fb);
	return rc;
}

/* Body hashes already taken for this message, by canonicalisation and
 * l=, so that several signatures over one body hash it once. */
struct dkim_bodies {
	struct {
		int simple;
		long long l;
		unsigned char h[32];
		unsigned long long clen;
	} e[DKIM_VERIFY_MAX];
	int n;
};

static int
body_hash(struct dkim_bodies *bs, const char *body, size_t len, int simple,
    long long l, unsigned char h[32], unsigned long long *clen)
{
	int i;

	for (i = 0; i < bs->n; i++)
		if (bs->e[i].simple == simple && bs->e[i].l == l)
			goto found;
	if (bs->n == DKIM_VERIFY_MAX || dkim_body_hash(body, len, simple, l,
					    bs->e[i].h, &bs->e[i].clen) == -1)
		return -1;
	bs->e[i].simple = simple;
	bs->e[i].l = l;
	bs->n++;
found:
	memcpy(h, bs->e[i].h, 32);
	*clen = bs->e[i].clen;
	return 0;
}

/* Settle what the signature's own bytes can; ask for its key if it
 * still stands. */
static void
vsig_start(struct dkim_verify *v, struct dkim_vsig *s, const char *msg,
    size_t hlen, size_t boff, size_t len, const struct dkim_field *f,
    struct dkim_bodies *bs, time_t now)
{
	struct dkim_sig_tags *t;
	unsigned char bh[32];
	unsigned long long clen;
	char name[254 + 12 + 254];
	const char *why, *at;

	if ((t = malloc(sizeof(*t))) == NULL) {
		vsig_set(s, DKIM_RES_TEMPERROR, "out of memory");
		return;
	}
	if (dkim_sig_parse(f->p, f->len, t, &why) == -1) {
		vsig_set(s, DKIM_RES_PERMERROR, why);
		goto out;
	}
	memcpy(s->r.d, t->d, sizeof(s->r.d));
	memcpy(s->r.s, t->s, sizeof(s->r.s));
	memcpy(s->r.a, t->a, sizeof(s->r.a));
	memcpy(s->r.i, t->i, sizeof(s->r.i));
	memcpy(s->r.b, t->b8, sizeof(s->r.b));
	if ((at = strrchr(t->i, '@')) != NULL)
		snprintf(s->idom, sizeof(s->idom), "%s", at + 1);
	s->alg = t->alg;
	memcpy(s->b, t->b, t->blen);
	s->blen = t->blen;
	if (t->has_x && (long long)now > t->x) {
		vsig_set(s, DKIM_RES_POLICY, "signature expired (x=)");
		goto out;
	}
	if (dkim_header_hash(msg, hlen, f, t, s->hh) == -1) {
		vsig_set(s, DKIM_RES_PERMERROR, "h= is malformed");
		goto out;
	}
	if (body_hash(bs, msg + boff, len - boff, t->simple_body,
		t->has_l ? (long long)t->l : -1, bh, &clen) == -1) {
		vsig_set(s, DKIM_RES_TEMPERROR, "body hash not computed");
		goto out;
	}
	if (t->has_l && t->l > clen) {
		vsig_set(s, DKIM_RES_FAIL, "l= is longer than the body");
		goto out;
	}
	s->r.partial = t->has_l && t->l < clen;
	if (memcmp(bh, t->bh, 32) != 0) {
		vsig_set(s, DKIM_RES_FAIL, "body hash did not verify");
		goto out;
	}
	snprintf(name, sizeof(name), "%s._domainkey.%s", t->s, t->d);
	if ((s->q = v->dns->ask(v->dns, name, DNSQ_TXT, vsig_answer, s)) == 0) {
		vsig_set(s, DKIM_RES_TEMPERROR, "key lookup did not start");
		goto out;
	}
	v->pending++;
out:
	free(t);
}

static int
field_is_signature(const struct dkim_field *f)
{
	return f->name_len == 14 &&
	       strncasecmp(f->name, "DKIM-Signature", 14) == 0;
}

struct dkim_verify *
dkim_verify_start(struct dnsq *dns, const char *msg, size_t len,
    void (*done)(struct dkim_verify *, void *), void *arg)
{
	struct dkim_field fields[DKIM_VERIFY_MAX], f;
	struct dkim_bodies *bs;
	struct dkim_verify *v;
	size_t hlen, boff, pos = 0;
	int nf = 0, big, i;
	time_t now = time(NULL);

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	if ((bs = calloc(1, sizeof(*bs))) == NULL) {
		free(v);
		return NULL;
	}
	v->dns = dns;
	v->done = done;
	v->arg = arg;
	dkim_split(msg, len, &hlen, &boff);
	big = hlen > DKIM_VERIFY_HDR_MAX;
	while (dkim_field_next(msg, hlen, &pos, &f)) {
		if (++nf > DKIM_VERIFY_FIELDS_MAX)
			big = 1;
		if (!field_is_signature(&f))
			continue;
		if (v->n == DKIM_VERIFY_MAX) {
			v->ignored++;
			continue;
		}
		fields[v->n] = f;
		v->sigs[v->n].v = v;
		v->n++;
	}
	for (i = 0; i < v->n; i++) {
		if (big)
			vsig_set(&v->sigs[i], DKIM_RES_NEUTRAL,
			    "header section too large to verify");
		else
			vsig_start(v, &v->sigs[i], msg, hlen, boff, len,
			    &fields[i], bs, now);
	}
	free(bs);
	v->finished = v->pending == 0;
	return v;
}

void
dkim_verify_free(struct dkim_verify *v)
{
	int i;

	if (v == NULL)
		return;
	for (i = 0; i < v->n; i++)
		if (v->sigs[i].q != 0)
			v->dns->cancel(v->dns, v->sigs[i].q);
	free(v);
}

int
dkim_verify_is_done(const struct dkim_verify *v)
{
	return v->finished;
}

int
dkim_verify_count(const struct dkim_verify *v)
{
	return v->n;
}

int
dkim_verify_ignored(const struct dkim_verify *v)
{
	return v->ignored;
}

const struct dkim_verify_sig *
dkim_verify_result(const struct dkim_verify *v, int i)
{
	if (i < 0 || i >= v->n)
		return NULL;
	return &v->sigs[i].r;
}
