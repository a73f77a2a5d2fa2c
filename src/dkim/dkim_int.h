/*
 * dkim_int: what the DKIM signer (dkim.c) shares with the ARC sealer
 * (arc.c): writing a signature field folded, and signing it; and what
 * the sealer shares with the ARC verifier (arc_verify.c): the chain as
 * found in a header section. Not for callers outside src/dkim/.
 */
#ifndef POSTERN_DKIM_INT_H
#define POSTERN_DKIM_INT_H

#include <stddef.h>

#include "arc.h"
#include "canon.h"
#include "dkim.h"
#include "../util/buf.h"

#define DKIM_FOLD_COL 76 /* longest line we write; tabs count as 8 */

/* A field being written: its bytes, the column, a sticky error. */
struct dkim_fold {
	struct buf *b;
	size_t col;
	int err;
};

void dkim_fold_put(struct dkim_fold *, const char *, size_t);
/* A new line: CRLF TAB. */
void dkim_fold_break(struct dkim_fold *);
/* A word, after a space if space, on a new line if it does not fit. */
void dkim_fold_word(struct dkim_fold *, int space, const char *, size_t);
/* A word printed with fmt and one string (a tag and its value). */
void dkim_fold_tag(struct dkim_fold *, const char *fmt, const char *v);
/* "h=NAMES;", cut after colons. */
void dkim_fold_h(struct dkim_fold *, const char *h);

/*
 * Ends the field in f (its tags written) with "b=" and the signature by
 * k of hd (the canonical header data selected) followed by the field
 * itself with b= empty, canonicalised relaxed (or simple) and without
 * its CRLF; appends the whole field with its CRLF to out. hd is as it
 * was afterwards. 0 or -1.
 */
int dkim_field_seal(const struct dkim_key *k, struct dkim_fold *f,
    struct buf *hd, int simple_header, struct buf *out);

/* The raw signature of data by k (RSA: PKCS#1 v1.5 over SHA-256;
 * Ed25519 over its SHA-256). 0 or -1. */
int dkim_sig(const struct dkim_key *k, const char *data, size_t n,
    unsigned char *sig, size_t *siglen);

/* a= for k, its d= and its s=. */
const char *dkim_key_alg_name(const struct dkim_key *);
const char *dkim_key_domain(const struct dkim_key *);
const char *dkim_key_selector(const struct dkim_key *);

/* 1 when the header section has no NUL and no CR or LF outside a CRLF. */
int dkim_header_clean(const char *p, size_t n);

#define ARC_FIELD_MAX 8192 /* an ARC field we read; longer: broken */

enum arc_kind { ARC_AAR, ARC_AMS, ARC_AS, ARC_NKINDS };

/* The ARC chain of a header section: each instance's three fields, and
 * what is wrong with it. */
struct arc_chain {
	struct dkim_field f[ARC_MAX_SETS + 1][ARC_NKINDS];
	int max;    /* highest instance seen, 0: no ARC field */
	int broken; /* a structural fault: the chain fails */
	int failed; /* a seal says cv=fail: the chain ended */
};

/*
 * Find the ARC fields of hdr[0..hlen) by their i= (each at most
 * ARC_FIELD_MAX bytes): broken when one has no instance of 1 to 50, an
 * instance has a field twice or lacks one of its three, or a seal's cv=
 * is not none for instance 1 and pass above (fail: failed). Other
 * ARC-* fields are not the chain's, and ignored.
 */
void arc_chain_read(const char *hdr, size_t hlen, struct arc_chain *);

#endif
