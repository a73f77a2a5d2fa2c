/*
 * tlsrpt_int: what tlsrpt.c (the counts, their files, the report's
 * JSON) and tlsrpt_send.c (the schedule, the look-ups, the mail and the
 * POST) share, and what the unit tests reach. Queue thread only.
 */
#ifndef POSTERN_TLSRPT_INT_H
#define POSTERN_TLSRPT_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "tlsrpt.h"
#include "../util/buf.h"

#define TLSRPT_DOMAINS_MAX 10000 /* policy domains counted per period */
#define TLSRPT_POLICIES_MAX 8	 /* policies counted per domain */
#define TLSRPT_DETAILS_MAX 32	 /* failure-details kept per policy */
#define TLSRPT_STR_MAX 1024	 /* a policy string, an mx, a detail */
#define TLSRPT_BUCKETS 1024
#define TLSRPT_DOMAIN_MAX 253

struct tr_detail {
	enum tlsrpt_result result;
	char *sending_ip, *mx, *receiving_ip, *info; /* NULL: not known */
	uint64_t count;
};

struct tr_policy {
	enum tlsrpt_policy_type type;
	int nstrings, nmx;
	char **strings, **mx;
	uint64_t ok, failed;
	int ndetails;
	struct tr_detail *details; /* TLSRPT_DETAILS_MAX of them */
};

/* Report sending, per domain of a finished period. */
enum tr_send { TR_PENDING, TR_BUSY, TR_DONE };

struct tr_domain {
	char name[TLSRPT_DOMAIN_MAX + 1];
	int npol;
	struct tr_policy pol[TLSRPT_POLICIES_MAX];
	uint64_t dropped; /* sessions under policies past the cap */
	int dirty;	  /* counts newer than its file */
	enum tr_send send;
	int tries;
	int64_t next_try;
	unsigned rua_done; /* bit i: rua i was sent */
	struct tr_domain *hnext, *next;
};

/*
 * A period: a UTC day, or the part of it after `postern tlsrpt send
 * --today` cut the counts. Its folder is DATA_DIR/tlsrpt/<dir>/, one
 * <domain>.json file per domain.
 */
struct tr_period {
	int64_t begin, end; /* [begin, end) */
	int cut;	    /* ended early by an operator */
	char dir[32];
	struct tr_domain *buckets[TLSRPT_BUCKETS];
	struct tr_domain *domains; /* in order of arrival */
	int ndomains;
	uint64_t dropped_domains;
	int gone; /* reported: its folder is to be removed */
	struct tr_period *next;
};

struct tr_meta {
	const char *org, *contact, *report_id;
};

/* tlsrpt.c */
extern struct tr_period *tr_periods;
/* 1 while the reports run (tlsrpt_start; the unit tests): without
 * them nothing would ever free the counts, so none are kept */
extern int tr_counting;
int64_t tr_day_start(int64_t t);
/* The open period for now, made if there is none (NULL: no memory). */
struct tr_period *tr_period_open(int64_t now);
struct tr_period *tr_period_new(int64_t begin, int64_t end, int cut);
void tr_period_free(struct tr_period *);
/* End the open period at now (its counts are to be reported) and
 * start a fresh one. */
void tr_period_cut(int64_t now);
/* The domain's counts as a file ({"domain", "begin", "end", ...}). */
json_t *tr_domain_to_json(const struct tr_period *, const struct tr_domain *);
/* Back from a file into its period (made if needed); -1 if malformed. */
int tr_domain_from_json(json_t *);
/* The RFC 8460 report for one domain of a period. */
json_t *tr_report_json(const struct tr_period *, const struct tr_domain *,
    const struct tr_meta *);
/* RFC 3339 UTC: "2026-12-04T00:00:00Z" */
void tr_datetime(int64_t t, char out[32]);
/* The end-datetime a report says: the last second of a whole day. */
int64_t tr_report_end(const struct tr_period *);
/* Free every period (tests; the stop). */
void tr_reset(void);

/* gzip (RFC 1952) of len bytes into *out (malloc'd). 0 or -1. */
int tr_gzip(const void *in, size_t len, unsigned char **out, size_t *outlen);
struct tr_mail {
	const char *from, *to;	 /* addresses */
	const char *submitter;	 /* our host name */
	const char *domain;	 /* the policy domain */
	const char *report_id;	 /* "<unique>@<submitter>" */
	const char *unique;	 /* the report's unique id, [0-9a-f] */
	int64_t begin, end, now; /* end: the report's end-datetime */
	const unsigned char *gz; /* the report, gzipped */
	size_t gzlen;
};
/* The report as a message (RFC 8460 5.3), CRLF lines. 0 or -1. */
int tr_mail_build(const struct tr_mail *, struct buf *out);

/* tlsrpt_file.c */
struct workers_loop;
/* Read DATA_DIR/tlsrpt/ back into memory; writes go through wl. */
int tr_file_start(const char *data_dir, struct workers_loop *wl);
/* Write the dirty domains and remove the reported periods (gone: freed
 * here), on a worker; nothing if a batch is still on one. */
void tr_file_save(void);
/* The same, now, on this thread (the stop). */
void tr_file_stop(void);
/* The request of `postern tlsrpt send`, taken: 1 and its day ("today",
 * "YYYY-MM-DD", "" for the finished days), or 0. */
int tr_file_request(char *day, size_t len);

#endif
