/*
 * verify: DKIM verification of a received message (RFC 6376), RSA-SHA256
 * and Ed25519-SHA256 (RFC 8463); RSA-SHA1 is refused (RFC 8301). Every
 * DKIM-Signature field, up to DKIM_VERIFY_MAX, gets a result in RFC 8601
 * words; its key is asked of DNS through dnsq (util/dnsq.h), so the
 * check never blocks a loop. Canonicalisation is canon.h's, the body hash
 * dkim.h's: the signer and the verifier read a message the same way.
 */
#ifndef POSTERN_DKIM_VERIFY_H
#define POSTERN_DKIM_VERIFY_H

#include <stddef.h>
#include <time.h>

struct dnsq;

#define DKIM_VERIFY_MAX 8 /* signatures verified; the rest ignored */
#define DKIM_VERIFY_HDR_MAX (256 * 1024) /* a header section we read */
#define DKIM_VERIFY_FIELDS_MAX 1000	 /* fields in it */
#define DKIM_VERIFY_FIELD_MAX 8192	 /* one DKIM-Signature field */
#define DKIM_VERIFY_SIG_MAX 512		 /* b= bytes: RSA-4096 */
#define DKIM_VERIFY_KEY_MAX 1024	 /* p= bytes */
#define DKIM_VERIFY_H_MAX 2048		 /* h= characters */
#define DKIM_VERIFY_I_MAX 320		 /* i= characters */

/* RFC 8601 2.7.1; "none" is the message without any signature. */
enum dkim_res {
	DKIM_RES_NONE,
	DKIM_RES_PASS,
	DKIM_RES_FAIL,	    /* body hash or signature did not verify */
	DKIM_RES_POLICY,    /* valid-looking, refused: x= has passed */
	DKIM_RES_NEUTRAL,   /* not examined: past our bounds */
	DKIM_RES_TEMPERROR, /* the key could not be had now (DNS) */
	DKIM_RES_PERMERROR, /* malformed, unsupported, no key, revoked */
};

/* One signature's result. Strings are NUL-terminated, cut to fit, and
 * empty when the signature did not get that far. */
struct dkim_verify_sig {
	enum dkim_res res;
	char d[254];		       /* d=, lower-cased */
	char s[254];		       /* s= */
	char a[16];		       /* a= as written */
	char i[DKIM_VERIFY_I_MAX + 1]; /* i=, or empty */
	char b[9];		       /* b='s first 8 characters */
	char reason[96];	       /* a short sentence */
	int testing;		       /* the key says t=y */
	int partial;		       /* l= leaves part of the body out */
};

struct dkim_verify;

/*
 * Verify the message msg[0..len) (CRLF line ends, header section, empty
 * line, body, as the session holds it after DATA). msg is read only
 * during this call: the header and body hashes are taken here (on the
 * calling loop: a large body costs its hashing time there, for now), so
 * only the keys are waited for. done runs once, from a dnsq answer, when
 * every key has come; if no key had to be asked for (no signature, or
 * every one settled from its own bytes), start returns with the results
 * complete, dkim_verify_is_done() 1, and done is never called. NULL when
 * out of memory.
 */
struct dkim_verify *dkim_verify_start(struct dnsq *, const char *msg,
    size_t len, void (*done)(struct dkim_verify *, void *), void *arg);
/* Cancel pending questions and free; any time, inside done too. */
void dkim_verify_free(struct dkim_verify *);

int dkim_verify_is_done(const struct dkim_verify *);
/* Signatures with a result (at most DKIM_VERIFY_MAX), and the ones
 * past that bound, which were not examined and have none. */
int dkim_verify_count(const struct dkim_verify *);
int dkim_verify_ignored(const struct dkim_verify *);
const struct dkim_verify_sig *dkim_verify_result(const struct dkim_verify *,
    int i);

/* "pass", "fail", ... (RFC 8601). */
const char *dkim_res_name(enum dkim_res);

/*
 * The parsers, apart for the fuzzers and tests. A DKIM-Signature
 * field (name, colon and value, no final CRLF) and a key record (a TXT
 * value). 0, or -1 with a sentence in *why (static).
 */
struct dkim_sig_tags {
	int alg; /* enum dkim_alg */
	int simple_header, simple_body;
	char d[254], s[254], a[16], i[DKIM_VERIFY_I_MAX + 1], b8[9];
	char h[DKIM_VERIFY_H_MAX + 1];
	unsigned char b[DKIM_VERIFY_SIG_MAX], bh[32];
	size_t blen;
	int has_l, has_t, has_x;
	unsigned long long l;
	long long t, x;
	/* the b= value's place in the field, taken out for the hash */
	size_t b_start, b_end;
	int instance, cv; /* ARC: i=; and a seal's cv= (0 none, 1 pass, 2
			     fail) */
};
int dkim_sig_parse(const char *field, size_t len, struct dkim_sig_tags *,
    const char **why);

/*
 * An ARC-Message-Signature (seal 0) or ARC-Seal (seal 1) field, for
 * arc.c: i= (1 to 50) in instance, rsa-sha256 only, c= relaxed when
 * absent; a seal has cv= and b= and no h=; a message signature the
 * DKIM tags but v=, and an h= without ARC-Seal. 0 or -1 with why.
 */
int dkim_arc_parse(const char *field, size_t len, int seal,
    struct dkim_sig_tags *, const char **why);

/* SHA-256 of the header hash input of a parsed signature field f over
 * the header section hdr[0..hlen) (RFC 6376 3.7). 0 or -1. */
struct dkim_field;
int dkim_header_hash(const char *hdr, size_t hlen, const struct dkim_field *f,
    const struct dkim_sig_tags *t, unsigned char hh[32]);

/*
 * A key's DNS answer a against the signature b over the digest hh, for
 * algorithm alg (idom: i='s domain or "", d: d=, for t=s): pass, fail,
 * temperror or permerror, with a short sentence in *why (static) and
 * the key's t=y in *testing.
 */
struct dnsq_answer;
enum dkim_res dkim_key_check(const struct dnsq_answer *a, int alg,
    const char *idom, const char *d, const unsigned char *b, size_t blen,
    const unsigned char hh[32], int *testing, const char **why);

struct dkim_key_rec {
	int alg; /* enum dkim_alg */
	int revoked, testing, strict;
	unsigned char p[DKIM_VERIFY_KEY_MAX];
	size_t plen;
};
int dkim_key_parse(const char *txt, struct dkim_key_rec *, const char **why);

#endif
