/*
 * dane: DANE for SMTP (RFC 7672) on OpenSSL's DANE support. Reads TLSA
 * records (RFC 6698 2.1) from their wire form, names the TLSA query of an
 * MX host, sets a client SSL up to check its peer against the usable
 * records, and says after the handshake whether (and by which record) the
 * peer was authenticated. No DNS here: the caller brings records that came
 * back DNSSEC-validated.
 */
#ifndef POSTERN_DANE_H
#define POSTERN_DANE_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

/* RFC 6698 2.1.1 and 7672 3.1 */
#define DANE_USAGE_PKIX_TA 0 /* unusable for SMTP (RFC 7672 3.1.3) */
#define DANE_USAGE_PKIX_EE 1 /* unusable for SMTP (RFC 7672 3.1.3) */
#define DANE_USAGE_DANE_TA 2
#define DANE_USAGE_DANE_EE 3
#define DANE_SELECTOR_CERT 0
#define DANE_SELECTOR_SPKI 1
#define DANE_MTYPE_FULL 0
#define DANE_MTYPE_SHA256 1
#define DANE_MTYPE_SHA512 2

/* the association data of a full certificate or key (matching type 0),
 * and of a matching type this code does not know, at most */
#define DANE_TLSA_MAX_DATA 4096

struct dane_tlsa {
	uint8_t usage, selector, mtype;
	/* 1: a usage, selector and matching type RFC 7672 lets SMTP use
	 * (usage 2 or 3, selector 0 or 1, matching type 0, 1 or 2); 0: kept
	 * but not usable (PKIX-TA/PKIX-EE, or a value unknown here) */
	int usable;
	size_t len;
	unsigned char data[DANE_TLSA_MAX_DATA];
};

/*
 * A host's TLSA RRset, shared by the queue's destination and each
 * connection that uses it (a connection may outlive the destination's
 * next look-up): counted references, on the queue's thread only.
 */
struct tlsa_set {
	int refs;
	int n;
	struct dane_tlsa recs[];
};
struct tlsa_set *tlsa_set_new(int n);		  /* refs 1, n records zeroed */
struct tlsa_set *tlsa_set_ref(struct tlsa_set *); /* NULL: no-op */
void tlsa_set_unref(struct tlsa_set *);		  /* NULL: no-op */
/* "3 1 1 ABCD..." (RFC 6698 2.2), cut to fit out (at least 16 bytes) */
void dane_tlsa_text(const struct dane_tlsa *, char *out, size_t outlen);

/*
 * One TLSA RR's RDATA in wire form: usage, selector, matching type, then
 * the association data (the rest). 0 and *out filled; -1 if malformed:
 * shorter than 4 bytes, no data, a SHA-256 digest not 32 bytes, a SHA-512
 * one not 64, any data over DANE_TLSA_MAX_DATA. Unknown usages, selectors
 * and matching types are not malformed: they parse as unusable, as RFC
 * 7672 treats them (an RRset of only those is "all unusable", 2.2).
 */
int dane_tlsa_parse(const unsigned char *rdata, size_t len,
    struct dane_tlsa *out);

/*
 * The TLSA query name of an MX host: "_<port>._tcp.<host>", lower case,
 * without a trailing dot (RFC 7672 2.2.3). 0, or -1 if the host is empty
 * or not a plausible name, the port is out of range, or out is too small.
 */
int dane_tlsa_name(const char *mx_host, int port, char *out, size_t outlen);

/*
 * Sets ssl (a client SSL made from ctx, before its handshake) up for DANE
 * with the usable records of recs[0..n): enables DANE on ctx (once; it
 * stays enabled and harms nothing for SSLs without records), on ssl with
 * base_domain (the TLSA base domain: the MX host, or its CNAME-expanded
 * name) as SNI and first reference identifier, mx_host (may be NULL or
 * the same) as the second, no name checks for DANE-EE (RFC 7672 3.1.1)
 * and peer verification required, so a mismatch fails the handshake.
 *
 * Returns how many records were added (OpenSSL may also refuse one, say a
 * digest it lacks); -1 on error. 0: no record usable (ssl is left as it
 * was) or none OpenSSL took (no verification is required of the peer
 * then), and the caller must not count this host as DANE-authenticated
 * nor deliver as if it were; if the TLSA RRset
 * was secure and non-empty, RFC 7672 2.2 asks for TLS still, but without
 * authentication ("mandatory unauthenticated TLS": no STARTTLS, no
 * delivery to this MX), which is the caller's to enforce.
 */
int dane_setup(SSL_CTX *ctx, SSL *ssl, const char *mx_host,
    const char *base_domain, const struct dane_tlsa *recs, int n);

/*
 * After the handshake: 1 if the peer was authenticated by a TLSA record, 0
 * if not (DANE not set up on ssl, or verification failed), with a line
 * for the delivery log in why: "DANE-EE 3 1 1 matched at depth 0", or
 * "DANE-TA 2 0 1 matched at depth 1 (peer mx.example.com)", or why not.
 */
int dane_result(SSL *ssl, char *why, size_t whylen);

#endif
