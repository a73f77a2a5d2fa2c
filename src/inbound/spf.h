/*
 * spf: Sender Policy Framework (RFC 7208) for the inbound MX. A record
 * parser, the macro language, and check_host() as a state machine that
 * asks DNS through struct dnsq (util/dnsq.h), with the lookup limits
 * of RFC 7208 4.6.4. Nothing here blocks.
 */
#ifndef POSTERN_SPF_H
#define POSTERN_SPF_H

#include <stddef.h>

#include "../util/dnsq.h"

enum spf_result {
	SPF_NONE,
	SPF_NEUTRAL,
	SPF_PASS,
	SPF_FAIL,
	SPF_SOFTFAIL,
	SPF_TEMPERROR,
	SPF_PERMERROR
};

/* The RFC 8601 word: "none", "neutral", "pass", "fail", "softfail",
 * "temperror", "permerror". */
const char *spf_result_name(enum spf_result);

#define SPF_MAX_TERMS 64
#define SPF_RECORD_MAX 4096 /* with its NUL; DNSQ_RR_LEN cuts at 4095 */
#define SPF_DOMAIN_MAX 253

enum spf_mech {
	SPF_ALL,
	SPF_INCLUDE,
	SPF_A,
	SPF_MX,
	SPF_PTR,
	SPF_IP4,
	SPF_IP6,
	SPF_EXISTS
};

struct spf_term {
	enum spf_mech mech;
	char qual;		/* '+', '-', '~' or '?' */
	const char *spec;	/* domain-spec (a macro-string), NULL if none */
	int cidr4;		/* a, mx, ip4: 0-32 (32 if not given) */
	int cidr6;		/* a, mx, ip6: 0-128 (128 if not given) */
	unsigned char addr[16]; /* ip4 (first 4 bytes), ip6 */
};

struct spf_record {
	int nterms;
	struct spf_term terms[SPF_MAX_TERMS];
	const char *redirect, *exp; /* domain-specs, NULL if absent */
	char buf[SPF_RECORD_MAX];   /* the record, cut into its terms */
};

/*
 * Parse one "v=spf1 ..." record (RFC 7208 4.6, 5, 6, 7.1): every term
 * checked, mechanisms and their domain-specs, CIDR lengths, redirect= and
 * exp= (each at most once), other modifiers checked and ignored. At most
 * SPF_MAX_TERMS terms and SPF_RECORD_MAX - 1 bytes. Returns 0, or -1 (a
 * permerror) with the reason in err.
 */
int spf_record_parse(const char *txt, struct spf_record *out, char *err,
    size_t errlen);

/* Is this TXT record an SPF record ("v=spf1" then a space or the end)? */
int spf_is_record(const char *txt);

/* What the macros of RFC 7208 7.3 expand to. */
struct spf_macro_env {
	const char *sender;	/* s: local@domain */
	const char *local;	/* l */
	const char *sender_dom; /* o */
	const char *domain;	/* d: the domain being evaluated */
	const char *ip;		/* c: the client address as text */
	const char *ip_dots;	/* i: dotted IPv4, or 32 dotted nibbles */
	int v6;			/* v: "ip6" or "in-addr" */
	const char *helo;	/* h */
	const char *receiver;	/* r: this host's name ("unknown" if NULL) */
	long long now;		/* t */
};

/*
 * Expand a macro-string into out (NUL-terminated). As a domain-spec
 * (explain == 0): c, r and t are refused, the result is cut from the left
 * by whole labels to SPF_DOMAIN_MAX bytes (RFC 7208 7.3), its trailing dot
 * dropped and its letters lowered; then out must be a usable name (labels
 * of 1-63 visible bytes, no backslash), else -1. As explanation text
 * (explain == 1, outlen bytes at most, the rest cut): spaces are literal
 * and every letter is allowed. Returns 0 or -1 (bad syntax).
 * p (the validated name) always expands to "unknown": RFC 7208 5.5 and 7.3
 * advise against it and it would cost DNS questions of its own.
 */
int spf_macro_expand(const char *spec, const struct spf_macro_env *,
    int explain, char *out, size_t outlen);

/* "4.3.2.1.in-addr.arpa" or the 32 nibbles of ".ip6.arpa" of an IP as
 * text (IPv4-mapped IPv6 as IPv4), for a DNSQ_PTR question; -1 if not an
 * address or out is too short (74 bytes always do). */
int spf_ptr_name(const char *ip, char *out, size_t outlen);

struct spf_check;

/*
 * check_host() of RFC 7208 4 for the MAIL FROM identity: the domain of
 * mail_from ("local@domain", no angle brackets; NULL or "" is the null
 * reverse-path and stands for postmaster@helo, RFC 7208 2.4), for the
 * client_ip (text, IPv4, IPv6 or IPv4-mapped). spf_check_start_helo()
 * checks the HELO identity (2.3): helo's own domain, sender
 * postmaster@helo.
 *
 * The contract: done runs at most once, always from a DNS answer, never
 * inside a start function. When the result is known without any DNS
 * answer (a malformed identity gives none; a question that could not be
 * asked gives temperror), start returns a check that is already finished
 * (spf_check_finished() is 1) and done is never called. NULL: out of
 * memory or client_ip is not an address. The caller frees the check with
 * spf_check_free(), at any time (pending questions are cancelled), from
 * inside done too.
 */
struct spf_check *spf_check_start(struct dnsq *, const char *client_ip,
    const char *helo, const char *mail_from,
    void (*done)(struct spf_check *, void *), void *arg);
struct spf_check *spf_check_start_helo(struct dnsq *, const char *client_ip,
    const char *helo, void (*done)(struct spf_check *, void *), void *arg);
void spf_check_free(struct spf_check *);

int spf_check_finished(const struct spf_check *);
/* Valid once finished. */
enum spf_result spf_check_result(const struct spf_check *);
/* The domain evaluated first (lower case, no trailing dot; "" if the
 * identity had none), and the sender as used for %{s} (postmaster@helo for
 * a null reverse-path), for Authentication-Results (smtp.mailfrom=,
 * smtp.helo=). */
const char *spf_check_domain(const struct spf_check *);
const char *spf_check_sender(const struct spf_check *);
/* A short reason for logs and Authentication-Results comments: which
 * mechanism matched where, or what went wrong. */
const char *spf_check_reason(const struct spf_check *);
/* DNS-querying terms evaluated and void lookups met (RFC 7208 4.6.4). */
int spf_check_lookups(const struct spf_check *);
int spf_check_voids(const struct spf_check *);

#endif
