/*
 * tlsrpt: the counts of RFC 8460 reports, kept per period (a UTC day),
 * per policy domain, per policy, with bounded failure details; their
 * files (tlsrpt_send.c writes and reads them); and a period's report as
 * JSON (RFC 8460 4), gzipped, as a message (5.3). Every limit is counted past,
 * never grown past: a period counts TLSRPT_DOMAINS_MAX domains, a domain
 * TLSRPT_POLICIES_MAX policies (later ones add to its `dropped`), a policy
 * keeps TLSRPT_DETAILS_MAX failure details (the rest count in its summary).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <zlib.h>

#include "tlsrpt_int.h"
#include "../util/base64.h"
#include "../util/str.h"

struct tr_period *tr_periods;
int tr_counting;

static const char *const tr_policy_names[] = { "no-policy-found", "sts",
	"tlsa" };

static const char *const tr_result_names[] = {
	"success",
	"starttls-not-supported",
	"certificate-host-mismatch",
	"certificate-expired",
	"certificate-not-trusted",
	"validation-failure",
	"tlsa-invalid",
	"dnssec-invalid",
	"dane-required",
	"sts-policy-fetch-error",
	"sts-policy-invalid",
	"sts-webpki-invalid",
};
#define TR_NRESULTS ((int)(sizeof(tr_result_names) / sizeof(*tr_result_names)))

int64_t
tr_day_start(int64_t t)
{
	return t - ((t % 86400) + 86400) % 86400;
}

void
tr_datetime(int64_t t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int64_t
tr_report_end(const struct tr_period *p)
{
	/* a whole day ends at 23:59:59Z, as RFC 8460's example says */
	return p->cut ? p->end : p->end - 1;
}

struct tr_period *
tr_period_new(int64_t begin, int64_t end, int cut)
{
	struct tr_period *p = calloc(1, sizeof(*p)), **pp;
	time_t t = (time_t)begin;
	struct tm tm;

	if (p == NULL)
		return NULL;
	p->begin = begin;
	p->end = end;
	p->cut = cut;
	gmtime_r(&t, &tm);
	strftime(p->dir, sizeof(p->dir),
	    begin == tr_day_start(begin) ? "%Y-%m-%d" : "%Y-%m-%dT%H%M%SZ",
	    &tm);
	/* in order of begin */
	for (pp = &tr_periods; *pp && (*pp)->begin <= begin; pp = &(*pp)->next)
		;
	p->next = *pp;
	*pp = p;
	return p;
}

struct tr_period *
tr_period_open(int64_t now)
{
	struct tr_period *p, *last = NULL;
	int64_t day = tr_day_start(now);

	/* today's, not cut (one at most; it may begin a second after now,
	 * after a cut of an empty one) */
	for (p = tr_periods; p; p = p->next)
		if (!p->gone && !p->cut && p->end == day + 86400)
			last = p;
	if (last)
		return last;
	/* after a cut today, the fresh period begins at the cut: never
	 * two periods of one begin (one folder) */
	for (p = tr_periods; p; p = p->next)
		if (p->cut && p->end > day && p->end < day + 86400)
			day = p->end;
	return tr_period_new(day, tr_day_start(now) + 86400, 0);
}

static void
tr_strv_free(char **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void
tr_domain_free(struct tr_domain *d)
{
	int i, k;

	for (i = 0; i < d->npol; i++) {
		struct tr_policy *pl = &d->pol[i];

		tr_strv_free(pl->strings, pl->nstrings);
		tr_strv_free(pl->mx, pl->nmx);
		for (k = 0; k < pl->ndetails; k++) {
			free(pl->details[k].sending_ip);
			free(pl->details[k].mx);
			free(pl->details[k].receiving_ip);
			free(pl->details[k].info);
		}
		free(pl->details);
	}
	free(d);
}

void
tr_period_free(struct tr_period *p)
{
	struct tr_period **pp;
	struct tr_domain *d, *n;

	for (pp = &tr_periods; *pp; pp = &(*pp)->next)
		if (*pp == p) {
			*pp = p->next;
			break;
		}
	for (d = p->domains; d; d = n) {
		n = d->next;
		tr_domain_free(d);
	}
	free(p);
}

void
tr_reset(void)
{
	while (tr_periods)
		tr_period_free(tr_periods);
}

void
tr_period_cut(int64_t now)
{
	struct tr_period *p = tr_period_open(now);
	struct tr_domain *d;

	if (p == NULL)
		return;
	p->end = now > p->begin ? now : p->begin + 1;
	p->cut = 1;
	/* their files learn the end */
	for (d = p->domains; d; d = d->next)
		d->dirty = 1;
	/* the fresh one at once: what comes next is counted from here */
	(void)tr_period_open(now);
}

static struct tr_domain *
tr_domain_get(struct tr_period *p, const char *name)
{
	size_t h = (size_t)(str_hash(name) % TLSRPT_BUCKETS);
	struct tr_domain *d, **tail;

	for (d = p->buckets[h]; d; d = d->hnext)
		if (strcmp(d->name, name) == 0)
			return d;
	if (p->ndomains >= TLSRPT_DOMAINS_MAX) {
		p->dropped_domains++;
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	str_lcpy(d->name, name, sizeof(d->name));
	d->hnext = p->buckets[h];
	p->buckets[h] = d;
	for (tail = &p->domains; *tail; tail = &(*tail)->next)
		;
	*tail = d;
	p->ndomains++;
	return d;
}

static char *
tr_strdup(const char *s)
{
	return s ? strndup(s, TLSRPT_STR_MAX) : NULL;
}

static int
tr_streq(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strncmp(a, b, TLSRPT_STR_MAX) == 0;
}

static int
tr_strv_eq(char **v, int n, const char *const *w, int m)
{
	int i;

	if (n != m)
		return 0;
	for (i = 0; i < n; i++)
		if (!tr_streq(v[i], w[i]))
			return 0;
	return 1;
}

/* 0, or -1 (nothing kept) when out of memory. */
static int
tr_strv_dup(char ***out, int *nout, const char *const *v, int n)
{
	int i;

	*out = NULL;
	*nout = 0;
	if (n <= 0)
		return 0;
	if ((*out = calloc((size_t)n, sizeof(char *))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (((*out)[i] = tr_strdup(v[i] ? v[i] : "")) == NULL) {
			tr_strv_free(*out, i);
			*out = NULL;
			return -1;
		}
	*nout = n;
	return 0;
}

static struct tr_policy *
tr_policy_get(struct tr_domain *d, enum tlsrpt_policy_type type, int nstrings,
    const char *const *strings, int nmx, const char *const *mx)
{
	struct tr_policy *pl;
	int i;

	if (nstrings > TLSRPT_STRINGS_MAX)
		nstrings = TLSRPT_STRINGS_MAX;
	if (nmx > TLSRPT_MX_MAX)
		nmx = TLSRPT_MX_MAX;
	if (strings == NULL)
		nstrings = 0;
	if (mx == NULL)
		nmx = 0;
	for (i = 0; i < d->npol; i++) {
		pl = &d->pol[i];
		if (pl->type == type &&
		    tr_strv_eq(pl->strings, pl->nstrings, strings, nstrings) &&
		    tr_strv_eq(pl->mx, pl->nmx, mx, nmx))
			return pl;
	}
	if (d->npol == TLSRPT_POLICIES_MAX)
		return NULL;
	pl = &d->pol[d->npol];
	memset(pl, 0, sizeof(*pl));
	pl->type = type;
	if (tr_strv_dup(&pl->strings, &pl->nstrings, strings, nstrings) == -1)
		return NULL;
	if (tr_strv_dup(&pl->mx, &pl->nmx, mx, nmx) == -1) {
		tr_strv_free(pl->strings, pl->nstrings);
		return NULL;
	}
	d->npol++;
	return pl;
}

static struct tr_detail *
tr_detail_get(struct tr_policy *pl, enum tlsrpt_result result,
    const char *sending_ip, const char *mx, const char *receiving_ip)
{
	struct tr_detail *t;
	int i;

	for (i = 0; i < pl->ndetails; i++) {
		t = &pl->details[i];
		if (t->result == result &&
		    tr_streq(t->sending_ip, sending_ip) &&
		    tr_streq(t->mx, mx) &&
		    tr_streq(t->receiving_ip, receiving_ip))
			return t;
	}
	if (pl->ndetails == TLSRPT_DETAILS_MAX)
		return NULL;
	if (pl->details == NULL &&
	    (pl->details = calloc(TLSRPT_DETAILS_MAX, sizeof(*t))) == NULL)
		return NULL;
	t = &pl->details[pl->ndetails];
	memset(t, 0, sizeof(*t));
	t->result = result;
	t->sending_ip = tr_strdup(sending_ip);
	t->mx = tr_strdup(mx);
	t->receiving_ip = tr_strdup(receiving_ip);
	pl->ndetails++;
	return t;
}

/* A domain as counted: lower case, no trailing dot; -1 if not a name. */
static int
tr_domain_name(const char *in, char *out, size_t outlen)
{
	size_t n;

	if (in == NULL || (n = strlen(in)) == 0 || n > TLSRPT_DOMAIN_MAX)
		return -1;
	str_lcpy(out, in, outlen);
	if (out[n - 1] == '.')
		out[--n] = '\0';
	if (n == 0 || strpbrk(out, "/\\ \t\r\n") != NULL || out[0] == '.')
		return -1;
	str_ascii_lower(out);
	return 0;
}

/* Count n sessions of one outcome (the files load through here too). */
static void
tr_count(struct tr_period *p, const char *domain,
    const struct tlsrpt_policy *pol, const struct tlsrpt_session *s, uint64_t n)
{
	struct tr_domain *d;
	struct tr_policy *pl;
	struct tr_detail *t;

	if ((d = tr_domain_get(p, domain)) == NULL)
		return;
	d->dirty = 1;
	pl = tr_policy_get(d, pol->type, pol->nstrings, pol->strings, pol->nmx,
	    pol->mx);
	if (pl == NULL) {
		d->dropped += n;
		return;
	}
	if (s->result == TLSRPT_SUCCESS) {
		pl->ok += n;
		return;
	}
	pl->failed += n;
	t = tr_detail_get(pl, s->result, s->sending_ip, s->mx_host,
	    s->receiving_ip);
	if (t == NULL)
		return;
	t->count += n;
	if (t->info == NULL && s->detail != NULL)
		t->info = tr_strdup(s->detail);
}

void
tlsrpt_record(const struct tlsrpt_policy *pol, const struct tlsrpt_session *s,
    int64_t now)
{
	char name[TLSRPT_DOMAIN_MAX + 2];
	struct tr_period *p;

	if (!tr_counting || pol == NULL || s == NULL || (int)s->result < 0 ||
	    (int)s->result >= TR_NRESULTS || (int)pol->type < 0 ||
	    (int)pol->type > TLSRPT_POLICY_TLSA ||
	    tr_domain_name(pol->domain, name, sizeof(name)) == -1)
		return;
	if ((p = tr_period_open(now)) == NULL)
		return;
	tr_count(p, name, pol, s, 1);
}

/* files */

static json_t *
tr_strv_json(char **v, int n)
{
	json_t *a = json_array();
	int i;

	for (i = 0; a && i < n; i++)
		json_array_append_new(a, json_string(v[i]));
	return a;
}

static void
tr_set_str(json_t *o, const char *key, const char *v)
{
	if (v != NULL)
		json_object_set_new(o, key, json_string(v));
}

json_t *
tr_domain_to_json(const struct tr_period *p, const struct tr_domain *d)
{
	json_t *o, *pols;
	int i, k;

	o = json_pack("{s:s,s:I,s:I,s:b,s:I}", "domain", d->name, "begin",
	    (json_int_t)p->begin, "end", (json_int_t)p->end, "cut", p->cut,
	    "dropped", (json_int_t)d->dropped);
	pols = json_array();
	if (o == NULL || pols == NULL) {
		json_decref(o);
		json_decref(pols);
		return NULL;
	}
	for (i = 0; i < d->npol; i++) {
		const struct tr_policy *pl = &d->pol[i];
		json_t *po, *det = json_array();

		po = json_pack("{s:s,s:o,s:o,s:I,s:I}", "type",
		    tr_policy_names[pl->type], "strings",
		    tr_strv_json(pl->strings, pl->nstrings), "mx",
		    tr_strv_json(pl->mx, pl->nmx), "ok", (json_int_t)pl->ok,
		    "failed", (json_int_t)pl->failed);
		for (k = 0; det && k < pl->ndetails; k++) {
			const struct tr_detail *t = &pl->details[k];
			json_t *to = json_pack("{s:s,s:I}", "result",
			    tr_result_names[t->result], "count",
			    (json_int_t)t->count);

			if (to == NULL)
				continue;
			tr_set_str(to, "sending_ip", t->sending_ip);
			tr_set_str(to, "mx", t->mx);
			tr_set_str(to, "receiving_ip", t->receiving_ip);
			tr_set_str(to, "info", t->info);
			json_array_append_new(det, to);
		}
		if (po == NULL || det == NULL) {
			json_decref(po);
			json_decref(det);
			continue;
		}
		json_object_set_new(po, "details", det);
		json_array_append_new(pols, po);
	}
	json_object_set_new(o, "policies", pols);
	return o;
}

static int
tr_name_index(const char *const *names, int n, const char *s)
{
	int i;

	for (i = 0; s && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return i;
	return -1;
}

/* A JSON array of strings into v (at most max); -1 if not one. */
static int
tr_json_strv(json_t *a, const char **v, int max)
{
	size_t i;

	if (a == NULL)
		return 0;
	if (!json_is_array(a) || json_array_size(a) > (size_t)max)
		return -1;
	for (i = 0; i < json_array_size(a); i++)
		if ((v[i] = json_string_value(json_array_get(a, i))) == NULL)
			return -1;
	return (int)i;
}

static const char *
tr_json_str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int64_t
tr_json_count(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) && json_integer_value(v) >= 0
		   ? (int64_t)json_integer_value(v)
		   : -1;
}

/* One policy of a file back into d's period. */
static int
tr_policy_from_json(struct tr_period *p, const char *domain, json_t *po)
{
	static const char *strings[TLSRPT_STRINGS_MAX], *mx[TLSRPT_MX_MAX];
	struct tlsrpt_policy pol;
	struct tlsrpt_session s;
	int64_t ok = tr_json_count(po, "ok"), failed, known = 0, c;
	json_t *det = json_object_get(po, "details"), *t;
	size_t k;
	int type, result;

	memset(&pol, 0, sizeof(pol));
	memset(&s, 0, sizeof(s));
	type = tr_name_index(tr_policy_names, 3, tr_json_str(po, "type"));
	failed = tr_json_count(po, "failed");
	if (type < 0 || ok < 0 || failed < 0 ||
	    (pol.nstrings = tr_json_strv(json_object_get(po, "strings"),
		 strings, TLSRPT_STRINGS_MAX)) < 0 ||
	    (pol.nmx = tr_json_strv(json_object_get(po, "mx"), mx,
		 TLSRPT_MX_MAX)) < 0 ||
	    (det != NULL && !json_is_array(det)))
		return -1;
	pol.type = (enum tlsrpt_policy_type)type;
	pol.domain = domain;
	pol.strings = strings;
	pol.mx = mx;
	s.result = TLSRPT_SUCCESS;
	if (ok > 0)
		tr_count(p, domain, &pol, &s, (uint64_t)ok);
	json_array_foreach (det, k, t) {
		result = tr_name_index(tr_result_names, TR_NRESULTS,
		    tr_json_str(t, "result"));
		c = tr_json_count(t, "count");
		if (result <= 0 || c <= 0 || known + c > failed)
			return -1;
		s.result = (enum tlsrpt_result)result;
		s.sending_ip = tr_json_str(t, "sending_ip");
		s.mx_host = tr_json_str(t, "mx");
		s.receiving_ip = tr_json_str(t, "receiving_ip");
		s.detail = tr_json_str(t, "info");
		tr_count(p, domain, &pol, &s, (uint64_t)c);
		known += c;
	}
	/* failures past the details cap: in the summary only */
	if (failed > known) {
		struct tr_domain *d = tr_domain_get(p, domain);
		int i;

		for (i = 0; d && i < d->npol; i++)
			if (d->pol[i].type == pol.type &&
			    tr_strv_eq(d->pol[i].strings, d->pol[i].nstrings,
				strings, pol.nstrings) &&
			    tr_strv_eq(d->pol[i].mx, d->pol[i].nmx, mx,
				pol.nmx))
				d->pol[i].failed += (uint64_t)(failed - known);
	}
	return 0;
}

int
tr_domain_from_json(json_t *o)
{
	char name[TLSRPT_DOMAIN_MAX + 2];
	int64_t begin = tr_json_count(o, "begin"),
		end = tr_json_count(o, "end");
	int64_t dropped = tr_json_count(o, "dropped");
	json_t *pols = json_object_get(o, "policies"), *po;
	struct tr_period *p;
	struct tr_domain *d;
	int cut = json_is_true(json_object_get(o, "cut"));
	size_t i;

	if (tr_domain_name(tr_json_str(o, "domain"), name, sizeof(name)) ==
		-1 ||
	    begin < 0 || end <= begin || end - begin > 86400 ||
	    !json_is_array(pols))
		return -1;
	for (p = tr_periods; p; p = p->next)
		if (p->begin == begin)
			break;
	if (p == NULL && (p = tr_period_new(begin, end, cut)) == NULL)
		return -1;
	if (cut && !p->cut) {
		p->cut = 1;
		p->end = end;
	}
	json_array_foreach (pols, i, po) {
		if (tr_policy_from_json(p, name, po) == -1)
			return -1;
	}
	if ((d = tr_domain_get(p, name)) != NULL) {
		if (dropped > 0)
			d->dropped += (uint64_t)dropped;
		d->dirty = 0; /* as on disk */
	}
	return 0;
}

/* the report (RFC 8460 4) */

json_t *
tr_report_json(const struct tr_period *p, const struct tr_domain *d,
    const struct tr_meta *m)
{
	char start[32], end[32];
	json_t *r, *pols;
	int i, k;

	tr_datetime(p->begin, start);
	tr_datetime(tr_report_end(p), end);
	r = json_pack("{s:s,s:{s:s,s:s},s:s,s:s}", "organization-name", m->org,
	    "date-range", "start-datetime", start, "end-datetime", end,
	    "contact-info", m->contact, "report-id", m->report_id);
	pols = json_array();
	if (r == NULL || pols == NULL) {
		json_decref(r);
		json_decref(pols);
		return NULL;
	}
	for (i = 0; i < d->npol; i++) {
		const struct tr_policy *pl = &d->pol[i];
		json_t *po, *pol, *det;

		pol = json_pack("{s:s,s:s}", "policy-type",
		    tr_policy_names[pl->type], "policy-domain", d->name);
		po = json_pack("{s:o,s:{s:I,s:I}}", "policy", pol, "summary",
		    "total-successful-session-count", (json_int_t)pl->ok,
		    "total-failure-session-count", (json_int_t)pl->failed);
		if (po == NULL)
			continue;
		if (pl->nstrings > 0)
			json_object_set_new(pol, "policy-string",
			    tr_strv_json(pl->strings, pl->nstrings));
		if (pl->nmx > 0)
			json_object_set_new(pol, "mx-host",
			    tr_strv_json(pl->mx, pl->nmx));
		if (pl->ndetails > 0 && (det = json_array()) != NULL) {
			for (k = 0; k < pl->ndetails; k++) {
				const struct tr_detail *t = &pl->details[k];
				json_t *to = json_pack("{s:s,s:I}",
				    "result-type", tr_result_names[t->result],
				    "failed-session-count",
				    (json_int_t)t->count);

				if (to == NULL)
					continue;
				tr_set_str(to, "sending-mta-ip", t->sending_ip);
				tr_set_str(to, "receiving-mx-hostname", t->mx);
				tr_set_str(to, "receiving-ip", t->receiving_ip);
				tr_set_str(to, "additional-information",
				    t->info);
				json_array_append_new(det, to);
			}
			json_object_set_new(po, "failure-details", det);
		}
		json_array_append_new(pols, po);
	}
	json_object_set_new(r, "policies", pols);
	return r;
}

/* gzip */

int
tr_gzip(const void *in, size_t len, unsigned char **out, size_t *outlen)
{
	z_stream z;
	size_t cap = len + len / 1000 + 64;
	int rc;

	memset(&z, 0, sizeof(z));
	if ((*out = malloc(cap)) == NULL)
		return -1;
	/* 15 + 16: a gzip wrapper, not zlib's */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
		Z_DEFAULT_STRATEGY) != Z_OK) {
		free(*out);
		return -1;
	}
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* the message (RFC 8460 5.3) */

int
tr_mail_build(const struct tr_mail *m, struct buf *out)
{
	char date[64], start[32], end[32], boundary[80], *b64;
	time_t t = (time_t)m->now;
	struct tm tm;
	size_t n, i;
	int rc = 0;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	tr_datetime(m->begin, start);
	tr_datetime(m->end, end);
	snprintf(boundary, sizeof(boundary), "tlsrpt-%s", m->unique);
	if ((b64 = malloc(BASE64_ENCODED_LEN(m->gzlen))) == NULL)
		return -1;
	n = base64_encode(b64, m->gz, m->gzlen);
	rc |= buf_printf(out, "From: <%s>\r\nTo: <%s>\r\n", m->from, m->to);
	rc |= buf_printf(out,
	    "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n",
	    m->domain, m->submitter, m->report_id);
	rc |= buf_printf(out, "Date: %s\r\nMessage-ID: <%s>\r\n", date,
	    m->report_id);
	rc |= buf_printf(out,
	    "TLS-Report-Domain: %s\r\nTLS-Report-Submitter: %s\r\n", m->domain,
	    m->submitter);
	rc |= buf_printf(out, "Auto-Submitted: auto-generated\r\n");
	rc |= buf_printf(out,
	    "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
	    "report-type=\"tlsrpt\";\r\n\tboundary=\"%s\"\r\n\r\n",
	    boundary);
	rc |= buf_printf(out, "This is a MIME-encapsulated message.\r\n\r\n");
	rc |= buf_printf(out,
	    "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "This is an aggregate TLS report (RFC 8460) from %s\r\n"
	    "for mail sent to %s from %s to %s.\r\n\r\n",
	    boundary, m->submitter, m->domain, start, end);
	rc |= buf_printf(out,
	    "--%s\r\nContent-Type: application/tlsrpt+gzip\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment;\r\n"
	    "\tfilename=\"%s!%s!%lld!%lld!%s.json.gz\"\r\n\r\n",
	    boundary, m->submitter, m->domain, (long long)m->begin,
	    (long long)m->end, m->unique);
	for (i = 0; rc == 0 && i < n; i += 76) {
		rc |= buf_append(out, b64 + i, n - i < 76 ? n - i : 76);
		rc |= buf_append(out, "\r\n", 2);
	}
	rc |= buf_printf(out, "\r\n--%s--\r\n", boundary);
	free(b64);
	return rc == 0 ? 0 : -1;
}
