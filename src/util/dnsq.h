/*
 * dnsq: the DNS questions of the inbound checks (SPF, DKIM keys, DMARC
 * policies) behind one small interface, so each check is a state machine
 * that asks and is called back: c-ares on the session's loop in the server
 * (delivery/dnsq_ares.c), a table in the unit tests (tests/unit/dnsq_fake.c).
 * Nothing here blocks a loop. It lives in util/, the floor below them
 * all, because dkim/, delivery/ and inbound/ each use it.
 */
#ifndef POSTERN_DNSQ_H
#define POSTERN_DNSQ_H

#include <stdint.h>

enum dnsq_type { DNSQ_TXT, DNSQ_A, DNSQ_AAAA, DNSQ_MX, DNSQ_PTR, DNSQ_TLSA };

enum dnsq_status {
	DNSQ_OK,       /* n >= 1 records of the type asked */
	DNSQ_NODATA,   /* the name exists, no record of that type */
	DNSQ_NXDOMAIN, /* the name does not exist */
	DNSQ_TEMPFAIL, /* SERVFAIL, timeout, refused: try again later */
	DNSQ_PERMFAIL  /* a malformed name or answer */
};

#define DNSQ_MAX_RR 32	 /* records kept of one answer, the rest dropped */
#define DNSQ_RR_LEN 4096 /* a TXT record's strings joined, at most */

struct dnsq_answer {
	enum dnsq_status status;
	int n;
	/* TXT: each record's character-strings joined (RFC 7208 3.3), NUL-
	 * terminated, cut at DNSQ_RR_LEN - 1; A/AAAA: the address as text
	 * (inet_ntop); MX: the exchange's name, best preference first; PTR:
	 * the name; TLSA: the RDATA in lower-case hex (a record too long for
	 * DNSQ_RR_LEN is dropped, never cut). Names without a trailing dot,
	 * in lower case. Valid only during the callback. */
	const char *rr[DNSQ_MAX_RR];
	/* 1: the answer came with the AD bit (every question asks for it):
	 * the resolver validated it with DNSSEC. Whether that resolver is
	 * to be trusted is the asker's to decide. */
	int ad;
};

typedef void (*dnsq_cb)(const struct dnsq_answer *, void *arg);

struct dnsq {
	/* Ask; cb runs once, later, on the asking loop (never inside ask).
	 * Returns a non-zero handle, or 0 if the question could not start
	 * (cb is then never called). */
	uint64_t (*ask)(struct dnsq *, const char *name, enum dnsq_type,
	    dnsq_cb cb, void *arg);
	/* The question's cb will not be called. Unknown handles: no-op. */
	void (*cancel)(struct dnsq *, uint64_t handle);
	void *impl;
};

#endif
