/*
 * tlsrpt: SMTP TLS reporting (RFC 8460). The queue records the outcome
 * of every outbound TLS session to a domain (success, or a failure by
 * its RFC 8460 result type) under the policy that applied (MTA-STS,
 * DANE's TLSA records, or none found); the counts are kept per day and
 * policy domain, on disk, and once a day each domain that publishes a
 * _smtp._tls TXT record gets its aggregate report (JSON, gzip) at its
 * rua: mailto through postern's own queue, https by POST.
 *
 * Everything here runs on the queue's thread.
 */
#ifndef POSTERN_TLSRPT_H
#define POSTERN_TLSRPT_H

#include <stddef.h>
#include <stdint.h>

/* RFC 8460 4.3 policy-type */
enum tlsrpt_policy_type {
	TLSRPT_POLICY_NONE, /* "no-policy-found" */
	TLSRPT_POLICY_STS,  /* "sts" */
	TLSRPT_POLICY_TLSA, /* "tlsa" */
};

/* RFC 8460 4.3 result-type; TLSRPT_SUCCESS counts as successful */
enum tlsrpt_result {
	TLSRPT_SUCCESS,
	TLSRPT_STARTTLS_NOT_SUPPORTED, /* "starttls-not-supported" */
	TLSRPT_CERT_HOST_MISMATCH,     /* "certificate-host-mismatch" */
	TLSRPT_CERT_EXPIRED,	       /* "certificate-expired" */
	TLSRPT_CERT_NOT_TRUSTED,       /* "certificate-not-trusted" */
	TLSRPT_VALIDATION_FAILURE,     /* "validation-failure" */
	TLSRPT_TLSA_INVALID,	       /* "tlsa-invalid" */
	TLSRPT_DNSSEC_INVALID,	       /* "dnssec-invalid" */
	TLSRPT_DANE_REQUIRED,	       /* "dane-required" */
	TLSRPT_STS_POLICY_FETCH_ERROR, /* "sts-policy-fetch-error" */
	TLSRPT_STS_POLICY_INVALID,     /* "sts-policy-invalid" */
	TLSRPT_STS_WEBPKI_INVALID,     /* "sts-webpki-invalid" */
};

#define TLSRPT_STRINGS_MAX 64 /* policy-string lines kept */
#define TLSRPT_MX_MAX 64      /* mx-host patterns kept */

/*
 * The policy a session ran under, as the report names it (RFC 8460
 * 4.3): for sts, the policy file's lines ("version: STSv1", "mode:
 * enforce", "mx: *.example.com", "max_age: 86400") and its mx patterns;
 * for tlsa, the TLSA records in presentation form ("3 1 1 ABCD...");
 * for none, nothing. Pointers are only read during the call.
 */
struct tlsrpt_policy {
	enum tlsrpt_policy_type type;
	const char *domain; /* the policy domain: the recipient domain */
	int nstrings;
	const char *const *strings;
	int nmx;
	const char *const *mx;
};

struct tlsrpt_session {
	const char *mx_host;	  /* receiving-mx-hostname, or NULL */
	const char *receiving_ip; /* "192.0.2.1", or NULL */
	const char *sending_ip;	  /* our source address, or NULL */
	enum tlsrpt_result result;
	const char *detail; /* additional-information, or NULL */
};

/*
 * Count one session to policy->domain, under that policy, now (the day
 * is the UTC day of now). Cheap: a hash look-up and a counter; the
 * counts reach the disk in batches. Never fails in a way the caller
 * must handle (out of memory: the session is not counted).
 */
void tlsrpt_record(const struct tlsrpt_policy *, const struct tlsrpt_session *,
    int64_t now);

struct dnsq;
struct event_base;
struct json_t;
struct workers_loop;

/*
 * Start on the queue's loop, after its resolver (dns asks for the
 * _smtp._tls records): read back the counts under DATA_DIR/tlsrpt/,
 * write them every few seconds, report finished days once a day (and
 * soon after a start). [tlsrpt] enabled = off: counted, not sent.
 * 0 or -1.
 */
int tlsrpt_start(struct event_base *, struct dnsq *, struct workers_loop *);
/* After the queue and the workers stopped: write what is not on disk
 * yet, cancel what is being sent, free everything. */
void tlsrpt_stop(void);
/*
 * `postern tlsrpt send`: ask the running server to report now, through
 * DATA_DIR/tlsrpt/send (looked for every few seconds): day is
 * "YYYY-MM-DD", "today" (the day so far; its counts start afresh), or
 * NULL (the finished days). 0, or -1 with a reason in err.
 */
int tlsrpt_request(const char *data_dir, const char *day, char *err,
    size_t errlen);
/* `postern tlsrpt show`: the counts on disk (a few seconds behind the
 * server): {"domains": [each <domain>.json]}. NULL: out of memory. */
struct json_t *tlsrpt_show(const char *data_dir);

#endif
