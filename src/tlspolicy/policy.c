/*
 * policy: a destination's outbound TLS policy (see policy.h). One look-up
 * asks, side by side, the TLSA records of each MX host that came
 * DNSSEC-validated and the domain's _mta-sts TXT record; a new policy id
 * (or none cached) fetches the policy file; then DANE hosts keep DANE
 * (RFC 8461 2: DANE first), the others take the MTA-STS mode, and an
 * enforced policy excludes the hosts it does not name.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "dane.h"
#include "policy.h"
#include "../util/dnsq.h"
#include "../util/httpc.h"
#include "../util/log.h"
#include "../util/str.h"

#define STS_CACHE_MAX 10000  /* policies kept in memory */
#define STS_FETCH_TIMEOUT 30 /* seconds for the whole HTTPS fetch */
#define STS_FILE_MAX (MTASTS_BODY_MAX + 256)

struct sts_entry {
	struct sts_entry *next;
	char domain[256];
	char id[MTASTS_ID_MAX + 1];
	int64_t expires;
	char *body;
	size_t len;
};

struct tlspol_ctx {
	struct event_base *base;
	struct dnsq *dns;
	struct tlspol_settings set;
	char cache_dir[1024];
	struct sts_entry *buckets[1024];
	int nentries;
	struct tlspol_lookup *lookups; /* pending, for tlspol_ctx_free */
};

struct tlspol_lookup;

struct tlsa_ask {
	struct tlspol_lookup *l;
	int host;
};

struct tlspol_lookup {
	struct tlspol_ctx *ctx;
	struct tlspol_lookup *next, **prevp;
	struct tlspol *pol;
	void (*cb)(struct tlspol *, void *);
	void *arg;
	int pending;
	int host_secure[RESOLVE_MAX_HOSTS];
	uint64_t tlsa_q[RESOLVE_MAX_HOSTS];
	struct tlsa_ask asks[RESOLVE_MAX_HOSTS];
	uint64_t txt_q;
	struct httpc *fetch;
	char sts_id[MTASTS_ID_MAX + 1];
	struct event *done;
};

static int64_t
pol_now(void)
{
	return (int64_t)time(NULL);
}

void
tlspol_ref(struct tlspol *p)
{
	if (p)
		p->refs++;
}

static void
pol_lines_free(char **lines, int n)
{
	int i;

	for (i = 0; lines && i < n; i++)
		free(lines[i]);
	free(lines);
}

void
tlspol_unref(struct tlspol *p)
{
	int i;

	if (p == NULL || --p->refs > 0)
		return;
	for (i = 0; i < p->nhosts; i++) {
		tlsa_set_unref(p->hosts[i].tlsa);
		pol_lines_free(p->tlsa_lines[i], p->tlsa_nlines[i]);
	}
	free(p->sts);
	pol_lines_free(p->sts_lines, p->sts_nlines);
	free(p);
}

const struct tlspol_host *
tlspol_host(const struct tlspol *p, const char *name)
{
	int i;

	for (i = 0; p && i < p->nhosts; i++)
		if (strcasecmp(p->hosts[i].name, name) == 0)
			return &p->hosts[i];
	return NULL;
}

void
tlspol_report_policy(const struct tlspol *p, const char *host,
    struct tlsrpt_policy *out, const char *mx[], int mxmax)
{
	const struct tlspol_host *h = tlspol_host(p, host);
	int i;

	memset(out, 0, sizeof(*out));
	out->type = TLSRPT_POLICY_NONE;
	out->domain = p->domain;
	if (h && (h->mode == DCLIENT_TLS_DANE ||
		     h->mode == DCLIENT_TLS_DANE_NOAUTH)) {
		i = (int)(h - p->hosts);
		out->type = TLSRPT_POLICY_TLSA;
		out->nstrings = p->tlsa_nlines[i];
		out->strings = (const char *const *)p->tlsa_lines[i];
		if (mxmax > 0) {
			mx[0] = h->name;
			out->nmx = 1;
			out->mx = mx;
		}
	} else if (p->sts && p->sts->mode != MTASTS_MODE_NONE) {
		out->type = TLSRPT_POLICY_STS;
		out->nstrings = p->sts_nlines;
		out->strings = (const char *const *)p->sts_lines;
		for (i = 0; i < p->sts->nmx && i < mxmax; i++)
			mx[i] = p->sts->mx[i];
		out->nmx = i;
		out->mx = mx;
	}
}

/* The MTA-STS cache: in memory, and one file per domain on disk. */

static struct sts_entry **
sts_bucket(struct tlspol_ctx *c, const char *domain)
{
	size_t n = sizeof(c->buckets) / sizeof(c->buckets[0]);

	return &c->buckets[(size_t)str_hash(domain) & (n - 1)];
}

/* a domain that is safe as a file name: lower-case LDH and dots */
static int
sts_domain_ok(const char *d)
{
	size_t i, n = strlen(d);

	if (n == 0 || n > 253 || d[0] == '.' || d[0] == '-')
		return 0;
	for (i = 0; i < n; i++)
		if (!(islower((unsigned char)d[i]) ||
			isdigit((unsigned char)d[i]) || d[i] == '-' ||
			d[i] == '.'))
			return 0;
	return strstr(d, "..") == NULL;
}

static struct sts_entry *
sts_put(struct tlspol_ctx *c, const char *domain, const char *id,
    int64_t expires, const char *body, size_t len)
{
	struct sts_entry **b = sts_bucket(c, domain), *e;

	for (e = *b; e; e = e->next)
		if (strcmp(e->domain, domain) == 0)
			break;
	if (e == NULL) {
		if (c->nentries >= STS_CACHE_MAX && *b) {
			/* full: the bucket's oldest goes (it is refetched
			 * when next needed) */
			struct sts_entry **pp = b;
			while ((*pp)->next)
				pp = &(*pp)->next;
			free((*pp)->body);
			free(*pp);
			*pp = NULL;
			c->nentries--;
		}
		if ((e = calloc(1, sizeof(*e))) == NULL)
			return NULL;
		str_lcpy(e->domain, domain, sizeof(e->domain));
		e->next = *b;
		*b = e;
		c->nentries++;
	}
	free(e->body);
	if ((e->body = malloc(len + 1)) == NULL) {
		e->len = 0;
		e->expires = 0;
		return NULL;
	}
	memcpy(e->body, body, len);
	e->body[len] = '\0';
	e->len = len;
	str_lcpy(e->id, id, sizeof(e->id));
	e->expires = expires;
	return e;
}

static void
sts_save(struct tlspol_ctx *c, const struct sts_entry *e)
{
	char path[1400], tmp[1410], head[128];
	int fd, n;

	if (c->cache_dir[0] == '\0' || !sts_domain_ok(e->domain))
		return;
	snprintf(path, sizeof(path), "%s/%s", c->cache_dir, e->domain);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	n = snprintf(head, sizeof(head), "id %s\nexpires %lld\n\n", e->id,
	    (long long)e->expires);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1)
		return;
	/* no fsync: a policy lost in a crash is fetched again */
	if (write(fd, head, (size_t)n) != n ||
	    write(fd, e->body, e->len) != (ssize_t)e->len) {
		close(fd);
		unlink(tmp);
		return;
	}
	close(fd);
	if (rename(tmp, path) == -1)
		unlink(tmp);
}

/* The cached policy of domain: memory, else its file (read once). */
static struct sts_entry *
sts_get(struct tlspol_ctx *c, const char *domain)
{
	struct sts_entry *e;
	char path[1400], *text, *body, id[MTASTS_ID_MAX + 1];
	long long expires;
	size_t len;

	for (e = *sts_bucket(c, domain); e; e = e->next)
		if (strcmp(e->domain, domain) == 0)
			return e;
	if (c->cache_dir[0] == '\0' || !sts_domain_ok(domain))
		return NULL;
	snprintf(path, sizeof(path), "%s/%s", c->cache_dir, domain);
	if ((text = str_read_file(path, STS_FILE_MAX, &len)) == NULL)
		return NULL;
	e = NULL;
	if (sscanf(text, "id %32[A-Za-z0-9]\nexpires %lld\n", id, &expires) ==
		2 &&
	    (body = strstr(text, "\n\n")) != NULL) {
		body += 2;
		e = sts_put(c, domain, id, (int64_t)expires, body,
		    len - (size_t)(body - text));
	}
	free(text);
	return e;
}

/* the policy's lines, for the reports */
static void
pol_set_sts(struct tlspol *p, const struct sts_entry *e)
{
	const char *s, *nl, *end;
	int n = 0;

	if ((p->sts = calloc(1, sizeof(*p->sts))) == NULL)
		return;
	if (mtasts_policy_parse(e->body, e->len, p->sts) == -1) {
		free(p->sts);
		p->sts = NULL;
		return;
	}
	if ((p->sts_lines = calloc(TLSRPT_STRINGS_MAX, sizeof(char *))) == NULL)
		return;
	end = e->body + e->len;
	for (s = e->body; s < end && n < TLSRPT_STRINGS_MAX; s = nl + 1) {
		size_t len;
		if ((nl = memchr(s, '\n', (size_t)(end - s))) == NULL)
			nl = end;
		len = (size_t)(nl - s);
		if (len > 0 && s[len - 1] == '\r')
			len--;
		if (len == 0)
			continue;
		if ((p->sts_lines[n] = strndup(s, len)) == NULL)
			break;
		n++;
	}
	p->sts_nlines = n;
}

static void
lookup_unlink(struct tlspol_lookup *l)
{
	if (l->prevp) {
		*l->prevp = l->next;
		if (l->next)
			l->next->prevp = l->prevp;
		l->prevp = NULL;
	}
}

static void
lookup_free(struct tlspol_lookup *l)
{
	int i;

	lookup_unlink(l);
	for (i = 0; i < l->pol->nhosts; i++)
		if (l->tlsa_q[i])
			l->ctx->dns->cancel(l->ctx->dns, l->tlsa_q[i]);
	if (l->txt_q)
		l->ctx->dns->cancel(l->ctx->dns, l->txt_q);
	httpc_cancel(l->fetch);
	if (l->done)
		event_free(l->done);
	tlspol_unref(l->pol);
	free(l);
}

/* Everything is in: settle each host's mode, hand the policy over. */
static void
lookup_finish(evutil_socket_t fd, short what, void *arg)
{
	struct tlspol_lookup *l = arg;
	struct tlspol *p = l->pol;
	int i;

	(void)fd;
	(void)what;
	for (i = 0; p->sts && i < p->nhosts; i++) {
		struct tlspol_host *h = &p->hosts[i];
		if (h->excluded || h->mode != DCLIENT_TLS_OPPORTUNISTIC)
			continue; /* DANE comes first */
		if (p->sts->mode == MTASTS_MODE_TESTING) {
			h->mode = DCLIENT_TLS_STS_TESTING;
		} else if (p->sts->mode == MTASTS_MODE_ENFORCE) {
			if (mtasts_mx_matches(p->sts, h->name)) {
				h->mode = DCLIENT_TLS_STS;
			} else {
				h->excluded = 1;
				snprintf(h->why, sizeof(h->why),
				    "not an MX host of the MTA-STS policy");
			}
		}
	}
	tlspol_ref(p);
	l->cb(p, l->arg);
	lookup_free(l);
}

static void
lookup_step_done(struct tlspol_lookup *l)
{
	if (--l->pending == 0)
		event_active(l->done, EV_TIMEOUT, 1);
}

static int
hexval(int c)
{
	return isdigit(c) ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static void
tlsa_answer(const struct dnsq_answer *a, void *arg)
{
	struct tlsa_ask *ask = arg;
	struct tlspol_lookup *l = ask->l;
	struct tlspol *p = l->pol;
	struct tlspol_host *h = &p->hosts[ask->host];
	int i, n = 0, usable = 0, hx = ask->host;

	l->tlsa_q[hx] = 0;
	if (a->status == DNSQ_TEMPFAIL || a->status == DNSQ_PERMFAIL) {
		/* RFC 7672 2.2: a secure host whose TLSA records cannot be
		 * had is not used */
		h->excluded = 1;
		snprintf(h->why, sizeof(h->why), "TLSA look-up failed");
	} else if (a->status == DNSQ_OK && a->ad) {
		struct tlsa_set *ts = tlsa_set_new(a->n);
		char **lines = calloc((size_t)a->n + 1, sizeof(char *));
		if (ts == NULL || lines == NULL) {
			tlsa_set_unref(ts);
			free(lines);
			h->excluded = 1;
			snprintf(h->why, sizeof(h->why), "out of memory");
			lookup_step_done(l);
			return;
		}
		for (i = 0; i < a->n; i++) {
			unsigned char wire[DANE_TLSA_MAX_DATA + 3];
			size_t k, hl = strlen(a->rr[i]);
			int bad = hl % 2 != 0 || hl / 2 > sizeof(wire);
			for (k = 0; !bad && k < hl / 2; k++) {
				int hi = hexval(a->rr[i][2 * k]),
				    lo = hexval(a->rr[i][2 * k + 1]);
				if (hi < 0 || lo < 0)
					bad = 1;
				else
					wire[k] = (unsigned char)(hi << 4 | lo);
			}
			/* a malformed record is unusable (RFC 7672 2.2) */
			if (bad ||
			    dane_tlsa_parse(wire, hl / 2, &ts->recs[n]) == -1)
				continue;
			usable += ts->recs[n].usable;
			if ((lines[n] = malloc(2 * DANE_TLSA_MAX_DATA + 16)))
				dane_tlsa_text(&ts->recs[n], lines[n],
				    2 * DANE_TLSA_MAX_DATA + 16);
			n++;
		}
		ts->n = n;
		p->tlsa_lines[hx] = lines;
		p->tlsa_nlines[hx] = n;
		for (i = 0; i < n; i++)
			if (lines[i] == NULL && (lines[i] = strdup("")) == NULL)
				p->tlsa_nlines[hx] = i;
		h->mode =
		    usable > 0 ? DCLIENT_TLS_DANE : DCLIENT_TLS_DANE_NOAUTH;
		h->tlsa = ts;
	}
	/* no records, or not validated: no DANE for this host */
	lookup_step_done(l);
}

static void
sts_fetched(const struct httpc_resp *r, void *arg)
{
	struct tlspol_lookup *l = arg;
	struct tlspol *p = l->pol;
	struct mtasts_policy *pol;
	struct sts_entry *e;

	l->fetch = NULL;
	if (r->status != 200) {
		p->sts_failure = r->tls_failed ? TLSRPT_STS_WEBPKI_INVALID
					       : TLSRPT_STS_POLICY_FETCH_ERROR;
		if (r->status)
			snprintf(p->sts_why, sizeof(p->sts_why),
			    "HTTP status %d", r->status);
		else
			snprintf(p->sts_why, sizeof(p->sts_why), "%s",
			    r->error ? r->error : "fetch failed");
	} else if (strncasecmp(r->content_type, "text/plain", 10) != 0 ||
		   (r->content_type[10] != '\0' && r->content_type[10] != ';' &&
		       r->content_type[10] != ' ')) {
		p->sts_failure = TLSRPT_STS_POLICY_INVALID;
		char ct[64];
		str_printable(ct, sizeof(ct), r->content_type);
		snprintf(p->sts_why, sizeof(p->sts_why),
		    "policy served as %s, not text/plain", ct);
	} else if ((pol = calloc(1, sizeof(*pol))) == NULL) {
		p->sts_failure = TLSRPT_STS_POLICY_FETCH_ERROR;
		snprintf(p->sts_why, sizeof(p->sts_why), "out of memory");
	} else {
		if (mtasts_policy_parse(r->body, r->len, pol) == -1) {
			p->sts_failure = TLSRPT_STS_POLICY_INVALID;
			snprintf(p->sts_why, sizeof(p->sts_why),
			    "malformed policy");
		} else if ((e = sts_put(l->ctx, p->domain, l->sts_id,
				pol_now() + pol->max_age, r->body, r->len)) !=
			   NULL) {
			sts_save(l->ctx, e);
			log_info("tlspolicy.mta_sts domain=%s id=%s mode=%s "
				 "max_age=%ld",
			    p->domain, l->sts_id,
			    pol->mode == MTASTS_MODE_ENFORCE   ? "enforce"
			    : pol->mode == MTASTS_MODE_TESTING ? "testing"
							       : "none",
			    pol->max_age);
		}
		free(pol);
	}
	if (p->sts_failure != TLSRPT_SUCCESS) {
		char q[300];
		log_info("tlspolicy.mta_sts domain=%s error=\"%s\"", p->domain,
		    log_quote(q, sizeof(q), p->sts_why, strlen(p->sts_why)));
	}
	/* a fresh policy, or the cached one while it lasts (RFC 8461 5.1) */
	if ((e = sts_get(l->ctx, p->domain)) != NULL && e->expires > pol_now())
		pol_set_sts(p, e);
	lookup_step_done(l);
}

static void
sts_txt_answer(const struct dnsq_answer *a, void *arg)
{
	struct tlspol_lookup *l = arg;
	struct tlspol *p = l->pol;
	struct mtasts_txt t;
	struct sts_entry *e;
	int i, found = 0;

	l->txt_q = 0;
	for (i = 0; a->status == DNSQ_OK && i < a->n; i++)
		if (mtasts_txt_parse(a->rr[i], &t) == 0 && found++ == 0)
			str_lcpy(l->sts_id, t.id, sizeof(l->sts_id));
	e = sts_get(l->ctx, p->domain);
	if (e && e->expires <= pol_now())
		e = NULL;
	/* RFC 8461 3.1: more than one record is as none */
	if (found == 1 && (e == NULL || strcmp(e->id, l->sts_id) != 0)) {
		struct httpc_req req;
		char host[300];
		memset(&req, 0, sizeof(req));
		snprintf(host, sizeof(host), "mta-sts.%s", p->domain);
		req.method = "GET";
		req.host = host;
		req.port = l->ctx->set.sts_port;
		req.path = "/.well-known/mta-sts.txt";
		req.tls = l->ctx->set.https;
		req.dns = l->ctx->dns;
		req.max_body = MTASTS_BODY_MAX;
		req.timeout_s = STS_FETCH_TIMEOUT;
		if ((l->fetch = httpc_start(l->ctx->base, &req, sts_fetched,
			 l)) != NULL) {
			/* the step goes on in sts_fetched */
			return;
		}
		p->sts_failure = TLSRPT_STS_POLICY_FETCH_ERROR;
		snprintf(p->sts_why, sizeof(p->sts_why),
		    "the fetch could not start");
	}
	/* the same id, or no record (a cached policy holds until it
	 * expires: RFC 8461 5.1), or a DNS failure */
	if (e != NULL)
		pol_set_sts(p, e);
	lookup_step_done(l);
}

struct tlspol_lookup *
tlspol_find(struct tlspol_ctx *c, const char *domain,
    const struct resolve_result *res, void (*cb)(struct tlspol *, void *),
    void *arg)
{
	struct tlspol_lookup *l;
	struct tlspol *p;
	int i;

	if ((l = calloc(1, sizeof(*l))) == NULL)
		return NULL;
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (l->done = event_new(c->base, -1, 0, lookup_finish, l)) == NULL) {
		free(p);
		free(l);
		return NULL;
	}
	p->refs = 1;
	str_lcpy(p->domain, domain, sizeof(p->domain));
	for (i = 0; i < res->nhosts && i < RESOLVE_MAX_HOSTS; i++) {
		str_lcpy(p->hosts[i].name, res->hosts[i].name,
		    sizeof(p->hosts[i].name));
		l->host_secure[i] = res->secure && res->hosts[i].secure;
	}
	p->nhosts = i;
	l->ctx = c;
	l->pol = p;
	l->cb = cb;
	l->arg = arg;
	l->next = c->lookups;
	if (l->next)
		l->next->prevp = &l->next;
	l->prevp = &c->lookups;
	c->lookups = l;
	l->pending = 1; /* held until every question is out */
	for (i = 0; c->set.dane && i < p->nhosts; i++) {
		char name[300];
		struct tlsa_ask *ask = &l->asks[i];
		if (!l->host_secure[i] || dane_tlsa_name(p->hosts[i].name, 25,
					      name, sizeof(name)) == -1)
			continue;
		ask->l = l;
		ask->host = i;
		l->pending++;
		if ((l->tlsa_q[i] = c->dns->ask(c->dns, name, DNSQ_TLSA,
			 tlsa_answer, ask)) == 0) {
			l->pending--;
			p->hosts[i].excluded = 1;
			snprintf(p->hosts[i].why, sizeof(p->hosts[i].why),
			    "TLSA look-up could not start");
		}
	}
	if (c->set.mta_sts) {
		char name[300];
		snprintf(name, sizeof(name), "_mta-sts.%s", domain);
		l->pending++;
		if ((l->txt_q = c->dns->ask(c->dns, name, DNSQ_TXT,
			 sts_txt_answer, l)) == 0)
			l->pending--;
	}
	lookup_step_done(l);
	return l;
}

void
tlspol_cancel(struct tlspol_lookup *l)
{
	if (l != NULL)
		lookup_free(l);
}

struct tlspol_ctx *
tlspol_ctx_new(struct event_base *base, struct dnsq *dns,
    const struct tlspol_settings *set)
{
	struct tlspol_ctx *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base = base;
	c->dns = dns;
	c->set = *set;
	if (set->cache_dir) {
		str_lcpy(c->cache_dir, set->cache_dir, sizeof(c->cache_dir));
		if (mkdir(c->cache_dir, 0700) == -1 && errno != EEXIST)
			c->cache_dir[0] = '\0';
	}
	c->set.cache_dir = NULL;
	return c;
}

void
tlspol_ctx_free(struct tlspol_ctx *c)
{
	size_t i;

	if (c == NULL)
		return;
	while (c->lookups)
		lookup_free(c->lookups);
	for (i = 0; i < sizeof(c->buckets) / sizeof(c->buckets[0]); i++)
		while (c->buckets[i]) {
			struct sts_entry *e = c->buckets[i];
			c->buckets[i] = e->next;
			free(e->body);
			free(e);
		}
	free(c);
}
