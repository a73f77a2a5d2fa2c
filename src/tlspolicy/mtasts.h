/*
 * mtasts: the records and the policy of MTA-STS (RFC 8461) and the
 * TLS-RPT record (RFC 8460), parsed into bounded structs: the
 * _mta-sts.<domain> TXT record, the policy file served at
 * https://mta-sts.<domain>/.well-known/mta-sts.txt, an MX host matched
 * against the policy's mx patterns, and the _smtp._tls.<domain> TXT
 * record. Pure functions over bytes: no DNS, no HTTPS, no cache.
 */
#ifndef POSTERN_MTASTS_H
#define POSTERN_MTASTS_H

#include <stddef.h>

#define MTASTS_ID_MAX 32	     /* id=: 1-32 alphanumerics */
#define MTASTS_TXT_MAX 1024	     /* a TXT value longer is refused */
#define MTASTS_BODY_MAX 65536	     /* a policy body longer is refused */
#define MTASTS_LINE_MAX 1024	     /* a policy line longer is refused */
#define MTASTS_LINES_MAX 1024	     /* more lines are refused */
#define MTASTS_MX_MAX 64	     /* mx patterns kept; more are dropped */
#define MTASTS_NAME_MAX 255	     /* an mx pattern, "*." included */
#define MTASTS_MAX_AGE_MAX 31557600L /* one year, RFC 8461 3.2 */

struct mtasts_txt {
	char id[MTASTS_ID_MAX + 1];
};

enum mtasts_mode {
	MTASTS_MODE_NONE,
	MTASTS_MODE_TESTING,
	MTASTS_MODE_ENFORCE,
};

struct mtasts_policy {
	enum mtasts_mode mode;
	long max_age;	/* seconds, 0 to MTASTS_MAX_AGE_MAX */
	int nmx;	/* patterns kept, at most MTASTS_MX_MAX */
	int mx_dropped; /* valid patterns beyond MTASTS_MX_MAX, not kept */
	/* lower-case, no trailing dot; "*.example.com" for a wildcard */
	char mx[MTASTS_MX_MAX][MTASTS_NAME_MAX + 1];
};

/*
 * Parse a _mta-sts TXT value (RFC 8461 3.1): "v=STSv1" first, then
 * ";"-separated fields with optional spaces around the ";", one id= of
 * 1-32 alphanumerics (in any place after the version), extensions
 * (name=value by the RFC's grammar) ignored, an optional final ";".
 * 0, or -1 when it is no valid record (a record not starting "v=STSv1"
 * is another TXT record, and -1 too).
 */
int mtasts_txt_parse(const char *txt, struct mtasts_txt *);

/*
 * Parse a policy body of len bytes (RFC 8461 3.2): lines ended by LF or
 * CRLF, each "key:" then optional spaces then a value; version: STSv1,
 * mode: enforce|testing|none, max_age: 1-10 digits at most one year,
 * each required; mx: ["*."]domain, at least one unless mode is none,
 * the first MTASTS_MX_MAX kept. Keys are case-sensitive, as the RFC
 * spells them; unknown keys are ignored; a repeated non-mx key keeps its
 * first value (RFC 8461 3.2: "the first occurrence MUST be used"), and
 * the later values are not checked. Empty lines are skipped. 0, or -1
 * when it is no valid policy: too long, a line too long or too many, a
 * NUL byte, a line with no key or ':', a bad value of a known key, a
 * required key missing.
 */
int mtasts_policy_parse(const char *body, size_t len, struct mtasts_policy *);

/*
 * 1 when mx_host matches a pattern of the policy (RFC 8461 4.1): the same
 * name, or for "*.example.com" a name of exactly one label more than
 * example.com; case-insensitive, a trailing dot on either ignored. 0
 * otherwise, and for a NULL or empty host.
 */
int mtasts_mx_matches(const struct mtasts_policy *, const char *mx_host);

#define TLSRPT_RUA_MAX 4   /* URIs kept */
#define TLSRPT_URI_MAX 512 /* a longer URI is skipped */

struct tlsrpt_txt {
	int nrua;				      /* 1 to TLSRPT_RUA_MAX */
	char rua[TLSRPT_RUA_MAX][TLSRPT_URI_MAX + 1]; /* as written */
};

/*
 * Parse a _smtp._tls TXT value (RFC 8460 3): "v=TLSRPTv1" first, then
 * ";"-separated fields; one rua= of URIs separated by "," (spaces
 * allowed around it), of which the mailto: and https: ones (scheme in
 * any case; mailto with an '@', https with a host) are kept, the first
 * TLSRPT_RUA_MAX; extensions ignored. 0, or -1 when it is no valid
 * record: another version, a malformed field, no rua= or two, no usable
 * URI.
 */
int tlsrpt_txt_parse(const char *txt, struct tlsrpt_txt *);

#endif
