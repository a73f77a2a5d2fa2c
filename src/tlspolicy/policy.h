/*
 * policy: the outbound TLS policy of a destination domain, found once its
 * MX hosts are known: DANE for each host whose MX and address records came
 * DNSSEC-validated and whose TLSA records do too (RFC 7672), else the
 * domain's MTA-STS policy (RFC 8461: the _mta-sts TXT id, the policy
 * fetched over verified HTTPS from mta-sts.DOMAIN, cached for its max_age
 * in memory and on disk, fetched again when the id changes), else
 * opportunistic TLS. Asynchronous on the queue's loop (dnsq, httpc);
 * the queue applies the result to each address of the destination.
 */
#ifndef POSTERN_TLSPOLICY_H
#define POSTERN_TLSPOLICY_H

#include <stdint.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "mtasts.h"
#include "tlsrpt.h"
#include "../delivery/client.h"
#include "../delivery/resolve.h"

struct dnsq;
struct tlsa_set;
struct tlspol_ctx;
struct tlspol_lookup;

/* One MX host's verdict. */
struct tlspol_host {
	char name[256];
	enum dclient_tlsmode mode;
	struct tlsa_set *tlsa; /* DANE: its usable records (a reference) */
	/* 1: not to be used: not in an enforced MTA-STS policy, or its
	 * TLSA look-up failed (RFC 7672 2.2: a secure host whose records
	 * cannot be had is not delivered to) */
	int excluded;
	char why[128]; /* why excluded */
};

/* A destination's policy: shared (counted) by the queue's destination
 * and the TLS reports' records, on the queue's thread only. */
struct tlspol {
	int refs;
	char domain[256];
	int nhosts;
	struct tlspol_host hosts[RESOLVE_MAX_HOSTS];
	/* the MTA-STS policy in force (mode NONE: none) and its lines
	 * for the reports; a failure to get one, to report once */
	struct mtasts_policy *sts;
	int sts_nlines;
	char **sts_lines;
	enum tlsrpt_result sts_failure; /* TLSRPT_SUCCESS: none */
	char sts_why[128];
	/* per host, its TLSA records as text for the reports */
	int tlsa_nlines[RESOLVE_MAX_HOSTS];
	char **tlsa_lines[RESOLVE_MAX_HOSTS];
};

void tlspol_ref(struct tlspol *);
void tlspol_unref(struct tlspol *);

/* The policy of host name in pol (NULL if not there). */
const struct tlspol_host *tlspol_host(const struct tlspol *, const char *name);

/* The report's description of the policy a session with host ran under
 * (its arrays point into pol, valid while pol is). */
void tlspol_report_policy(const struct tlspol *, const char *host,
    struct tlsrpt_policy *, const char *mx[], int mxmax);

struct tlspol_settings {
	int dane;	       /* believe the AD bit: DANE on */
	int mta_sts;	       /* fetch and honour MTA-STS */
	int sts_port;	       /* 443, or a test's */
	SSL_CTX *https;	       /* verifying, for the policy fetches */
	const char *cache_dir; /* policies kept across restarts */
};

struct tlspol_ctx *tlspol_ctx_new(struct event_base *, struct dnsq *,
    const struct tlspol_settings *);
void tlspol_ctx_free(struct tlspol_ctx *);

/*
 * Find the policy of domain, whose MX look-up gave res (read during the
 * call only). cb runs once, on the loop, never inside this call, with a
 * policy (the callee's reference: tlspol_unref when done) or NULL when
 * out of memory. NULL if it could not start (no cb).
 */
struct tlspol_lookup *tlspol_find(struct tlspol_ctx *, const char *domain,
    const struct resolve_result *res, void (*cb)(struct tlspol *, void *),
    void *arg);
/* Its cb will not run. NULL: no-op. */
void tlspol_cancel(struct tlspol_lookup *);

#endif
