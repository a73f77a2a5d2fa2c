/*
 * dmarc: DMARC (RFC 7489) for mail received as an MX: the From domain of
 * a message, the policy record and its parser, and the evaluation as a
 * state machine over dnsq: the policy of the From domain (or of its
 * organizational domain, psl.h), SPF and DKIM results checked for
 * alignment, and the policy to apply after sp= and pct=.
 */
#ifndef POSTERN_DMARC_H
#define POSTERN_DMARC_H

#include <stddef.h>

struct dnsq;

enum dmarc_policy {
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

/* RFC 8601 2.7 and RFC 7489 11.2. */
enum dmarc_res {
	DMARC_RES_NONE,	     /* no policy published */
	DMARC_RES_PASS,	     /* aligned SPF or DKIM pass */
	DMARC_RES_FAIL,	     /* a policy, and nothing aligned passed */
	DMARC_RES_TEMPERROR, /* the policy could not be had now */
	DMARC_RES_PERMERROR, /* a malformed record or From domain */
};

#define DMARC_URI_MAX 512 /* rua= and ruf= kept, cut beyond */

struct dmarc_record {
	enum dmarc_policy p, sp; /* sp is p when absent */
	int adkim_strict, aspf_strict;
	int pct;		     /* 0-100 */
	unsigned long ri;	     /* seconds */
	int has_rua, has_ruf;	     /* at least one valid URI */
	char rua[DMARC_URI_MAX + 1]; /* as written */
	char ruf[DMARC_URI_MAX + 1]; /* as written */
	char fo[16];		     /* as written, or "0" */
	int p_assumed;		     /* p= missing or bad: none for rua= */
};

/*
 * Parse a TXT value as a DMARC record (RFC 7489 6.3, 6.4): "v=DMARC1"
 * first, then p= (a missing or invalid p=, or an invalid sp=, with a
 * valid rua= reads as p=none, 6.6.3), sp=, adkim= and aspf= (r or s),
 * pct= (0-100), rua=, ruf=, fo=, rf=, ri=; unknown tags ignored. Values
 * are read case-insensitively. 0, or -1 when it is no valid record: a
 * malformed tag list, a tag twice, a bad value, no usable p=.
 */
int dmarc_record_parse(const char *txt, struct dmarc_record *);

/* The RFC5322.From domain, as DMARC needs it. */
enum dmarc_from {
	DMARC_FROM_OK,
	DMARC_FROM_NONE,	/* no From: field */
	DMARC_FROM_MANY_FIELDS, /* more than one From: field */
	DMARC_FROM_MANY_ADDRS,	/* one field, several addresses */
	DMARC_FROM_BAD,		/* not RFC 5322, or no usable domain */
};

/*
 * The domain of the one From: address of msg[0..len) (CRLF message) into
 * out (canonical: lower case, A-labels), read by the strict parser of
 * mail/header.h. A header section with look-alike field names, which
 * mail programs may read as another From:, is DMARC_FROM_BAD.
 */
enum dmarc_from dmarc_from_domain(const char *msg, size_t len, char *out,
    size_t outlen);

struct dmarc_input {
	const char *from_domain; /* canonical, from dmarc_from_domain() */
	int spf_pass;		 /* SPF's result is pass */
	const char *spf_domain;	 /* the domain SPF checked (MAIL FROM) */
	const char *const *dkim_domains; /* d= of the DKIM passes */
	int ndkim;
};

struct dmarc_outcome {
	enum dmarc_res res;
	enum dmarc_policy policy;    /* to apply: after sp= and pct= */
	enum dmarc_policy published; /* p= or sp=, as found */
	char domain[256];	     /* the policy domain; empty when none */
	int spf_aligned, dkim_aligned;
	int sampled_out; /* pct= lowered the policy for this message */
	char reason[96];
};

struct dmarc_eval;

/*
 * Evaluate: ask _dmarc.<From domain>, else _dmarc.<organizational
 * domain>, then check alignment. in is read only during this call. done
 * runs once, from a dnsq answer; if the From domain is unusable, start
 * returns with the outcome complete (permerror), dmarc_eval_is_done() 1,
 * and done is never called. NULL when out of memory.
 */
struct dmarc_eval *dmarc_eval_start(struct dnsq *, const struct dmarc_input *,
    void (*done)(struct dmarc_eval *, void *), void *arg);
/* Cancel a pending question and free; any time, inside done too. */
void dmarc_eval_free(struct dmarc_eval *);
int dmarc_eval_is_done(const struct dmarc_eval *);
const struct dmarc_outcome *dmarc_eval_outcome(const struct dmarc_eval *);

/* Are a and b aligned, strictly (the same name) or relaxed (the same
 * organizational domain)? 1 or 0. */
int dmarc_aligned(const char *a, const char *b, int strict);

const char *dmarc_res_name(enum dmarc_res);	  /* "pass", ... */
const char *dmarc_policy_name(enum dmarc_policy); /* "none", ... */

#endif
