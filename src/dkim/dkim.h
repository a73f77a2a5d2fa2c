/*
 * dkim: DKIM signing of outgoing mail (RFC 6376), RSA-SHA256 and
 * Ed25519-SHA256 (RFC 8463), relaxed/relaxed: the keys (generated, loaded,
 * published as DNS TXT values) and the DKIM-Signature fields to prepend
 * to a spooled message before delivery. Canonicalisation is in canon.h.
 */
#ifndef POSTERN_DKIM_H
#define POSTERN_DKIM_H

#include <stddef.h>
#include <time.h>

#include "../util/buf.h"

enum dkim_alg { DKIM_RSA, DKIM_ED25519 };

#define DKIM_RSA_BITS 2048  /* generated RSA keys */
#define DKIM_MAX_KEYS 4	    /* signatures on one message */
#define DKIM_TXT_MAX 1024   /* a TXT value, RSA up to 4096 bits */
#define DKIM_FIELD_MAX 4096 /* one DKIM-Signature field, folded */

/* Generate a private key (RSA-2048 or Ed25519) as PEM (PKCS#8) at path,
 * mode 0600, refusing to overwrite. 0 or -1. */
int dkim_key_generate(const char *path, enum dkim_alg alg);

/*
 * The DNS TXT value for the public half of the key at path: "v=DKIM1;
 * k=rsa; p=BASE64" (SubjectPublicKeyInfo, as opendkim-genkey writes it)
 * or "v=DKIM1; k=ed25519; p=BASE64" (the raw 32-byte key, RFC 8463). An
 * RSA value is longer than 255 bytes: the zone file splits it into
 * several strings. 0 or -1 (no such key, another algorithm, out short).
 */
int dkim_dns_txt(const char *path, enum dkim_alg alg, char *out, size_t outlen);

/* A loaded private key with its domain (d=) and selector (s=). */
struct dkim_key;

/* Load the PEM key at path; NULL when it is missing, encrypted, of
 * another algorithm, an RSA key outside 1024-4096 bits, or domain or
 * selector is not a DNS name. */
struct dkim_key *dkim_key_load(const char *path, enum dkim_alg alg,
    const char *domain, const char *selector);
void dkim_key_free(struct dkim_key *);

/*
 * Sign a message (CRLF line ends, header section, empty line, body, as it
 * sits in the spool) with each of nkeys keys (1 to DKIM_MAX_KEYS: RSA and
 * Ed25519 together is dual signing). Appends one "DKIM-Signature: ...\r\n"
 * field per key, folded before column 78, to out, to be prepended to the
 * message. c=relaxed/relaxed, t=now, h= from dkim_header_list() (From
 * oversigned). 0, or -1 with out as it was: a header field signed more
 * than DKIM_REPEAT_MAX times, a bare CR, bare LF or NUL in the header
 * section, out full, or a crypto failure.
 */
int dkim_sign(struct dkim_key *const *keys, int nkeys, const char *msg,
    size_t len, time_t now, struct buf *out);

/*
 * The same with the tags spelled out, to reproduce published examples
 * and to test the verifier: h is the h= value as written ("from : to"),
 * i an i= value or NULL, q nonzero to write q=dns/txt; simple_header and
 * simple_body ask for c=simple in that half; l_set writes l= and hashes
 * l bytes of the canonical body; x nonzero writes x=. Fields left out of
 * an initialiser (zero) mean the defaults. Tags go in the order v a c d i q s t
 * x l h bh b.
 */
struct dkim_sig_opts {
	const char *h;
	const char *i;
	int q;
	int simple_header, simple_body;
	int l_set;
	long long l;
	time_t x;
};
int dkim_sign_opts(struct dkim_key *const *keys, int nkeys, const char *msg,
    size_t len, time_t t, const struct dkim_sig_opts *, struct buf *out);

/*
 * The body hash (bh=): SHA-256 of the canonical body (simple or relaxed)
 * of body[0..len), or of its first l bytes when l >= 0. *clen (if not
 * NULL) is the length of the whole canonical body. 0, or -1 on a crypto
 * failure.
 */
int dkim_body_hash(const char *body, size_t len, int simple, long long l,
    unsigned char out[32], unsigned long long *clen);

#endif
