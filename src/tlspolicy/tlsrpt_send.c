/*
 * tlsrpt_send: the reports, on the queue's loop. Every TR_TICK
 * seconds a tick takes the request of `postern tlsrpt send`, sends what
 * is due, and has the counts written (tlsrpt_file.c).
 *
 * Once a day, some random minutes after 00:00 UTC (RFC 8460 4.1), and
 * soon after a start, each domain of a finished period is reported: its
 * _smtp._tls TXT record asked (none: nothing is sent), the report made
 * (JSON, gzip) and sent to each rua: mailto as a message in postern's
 * own spool (delivered, DKIM-signed and retried as any), https by POST.
 * A failure is tried again later that day, TR_TRIES times in all. A
 * period whose domains are all done is removed, from memory and disk.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "mtasts.h"
#include "tlsrpt_int.h"
#include "../mail/addr.h"
#include "../spool/spool.h"
#include "../util/conf.h"
#include "../util/dnsq.h"
#include "../util/httpc.h"
#include "../util/log.h"
#include "../util/str.h"
#include "../util/workers.h"

#define TR_TICK 2	       /* seconds between looks at the counts */
#define TR_TRIES 4	       /* sends of one report, in all */
#define TR_RETRY (30 * 60)     /* seconds before the next, times tries */
#define TR_START_DELAY 60      /* after a start, plus up to as much again */
#define TR_DAY_DELAY (15 * 60) /* after 00:00 UTC: up to this, random */
#define TR_SENDS_MAX 16	       /* domains being reported at once */
#define TR_HTTP_TIMEOUT 60
#define TR_MSG_MAX (16 << 20)

struct tr_job;

/* one POST: which job, which rua */
struct tr_post {
	struct tr_job *s;
	int i;
};

struct tr_job {
	struct tr_post post[TLSRPT_RUA_MAX];
	struct tr_period *p;
	struct tr_domain *d;
	uint64_t dns;
	struct httpc *http[TLSRPT_RUA_MAX];
	struct tlsrpt_txt txt;
	int waiting, failed;
	unsigned char *gz;
	size_t gzlen;
	struct tr_job *next;
};

static struct {
	struct event_base *base;
	struct dnsq *dns;
	struct workers_loop *wl;
	struct event *tick;
	SSL_CTX *https;
	int64_t next_report;
	int nsends;
	struct tr_job *sends;
	int started;
} rt;

static int64_t
tr_now(void)
{
	return (int64_t)time(NULL);
}

/* sending */

/* The next report time: some minutes after the next 00:00 UTC. */
static void
tr_report_tomorrow(int64_t now)
{
	rt.next_report = tr_day_start(now) + 86400 +
			 (int64_t)randombytes_uniform(TR_DAY_DELAY) + 60;
}

static void
tr_send_free(struct tr_job *s)
{
	struct tr_job **pp;
	int i;

	for (pp = &rt.sends; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	if (s->dns && rt.dns)
		rt.dns->cancel(rt.dns, s->dns);
	for (i = 0; i < TLSRPT_RUA_MAX; i++)
		httpc_cancel(s->http[i]);
	free(s->gz);
	free(s);
	rt.nsends--;
}

/* The domain's report is done with for now: sent, or to be tried again
 * later, or given up. */
static void
tr_send_end(struct tr_job *s, int temporary, const char *why)
{
	struct tr_domain *d = s->d;
	int64_t now = tr_now();

	if (temporary && ++d->tries < TR_TRIES) {
		d->send = TR_PENDING;
		d->next_try = now + (int64_t)TR_RETRY * d->tries;
		log_info("tlsrpt.retry domain=%s period=%s tries=%d "
			 "error=\"%s\"",
		    d->name, s->p->dir, d->tries, why);
	} else {
		d->send = TR_DONE;
		if (temporary)
			log_warnx("tlsrpt.failed domain=%s period=%s "
				  "error=\"%s: given up\"",
			    d->name, s->p->dir, why);
	}
	tr_send_free(s);
}

static void
tr_rua_done(struct tr_job *s, int i, int ok, const char *what)
{
	char v[LOG_VALUE_MAX];

	if (ok) {
		s->d->rua_done |= 1u << i;
		log_info("tlsrpt.sent domain=%s period=%s rua=%s %s",
		    s->d->name, s->p->dir,
		    log_value(v, sizeof(v), s->txt.rua[i]), what);
	} else {
		s->failed++;
		log_warnx("tlsrpt.send domain=%s period=%s rua=%s error=\"%s\"",
		    s->d->name, s->p->dir,
		    log_value(v, sizeof(v), s->txt.rua[i]), what);
	}
	if (--s->waiting == 0)
		tr_send_end(s, s->failed > 0, "a rua failed");
}

/* mailto: the message is written to the spool on a worker */
struct tr_spool_job {
	struct worker_job base;
	struct tr_job *s;
	int rua;
	struct buf msg;
	char from[ADDR_MAX + 1], to[ADDR_MAX + 1];
	char domain[ADDR_DOMAIN_MAX + 1];
	char id[SPOOL_ID_LEN + 1];
	int rc;
};

static void
tr_spool_run(struct worker_job *j, void *ctx)
{
	struct tr_spool_job *sj = (struct tr_spool_job *)j;
	struct spool_env e;
	struct spool_rcpt r;
	struct iovec iov;

	(void)ctx;
	memset(&e, 0, sizeof(e));
	memset(&r, 0, sizeof(r));
	spool_new_id(e.id);
	e.time = tr_now();
	str_lcpy(e.from, sj->from, sizeof(e.from));
	/* DKIM signs for the From: domain, ours */
	str_lcpy(e.domain, sj->domain, sizeof(e.domain));
	str_lcpy(e.ip, "127.0.0.1", sizeof(e.ip));
	str_lcpy(e.body, "7BIT", sizeof(e.body));
	str_lcpy(r.addr, sj->to, sizeof(r.addr));
	e.nrcpt = 1;
	e.rcpts = &r;
	iov.iov_base = sj->msg.data;
	iov.iov_len = sj->msg.len;
	sj->rc = spool_write(&e, &iov, 1);
	if (sj->rc == 0) {
		str_lcpy(sj->id, e.id, sizeof(sj->id));
		spool_announce(e.id);
	}
}

static void
tr_spool_done(struct worker_job *j)
{
	struct tr_spool_job *sj = (struct tr_spool_job *)j;
	char what[64];

	snprintf(what, sizeof(what), "queue=%s", sj->id);
	tr_rua_done(sj->s, sj->rua, sj->rc == 0,
	    sj->rc == 0 ? what : "cannot write to the spool");
	buf_free(&sj->msg);
	free(sj);
}

/* "mailto:addr[?...]" into addr (RFC 6068, no %-escapes taken). */
static int
tr_mailto(const char *uri, char *out, size_t outlen, char *domain, size_t dlen)
{
	char err[160], tmp[TLSRPT_URI_MAX + 1];
	struct addr a;

	str_lcpy(tmp, uri + 7, sizeof(tmp));
	tmp[strcspn(tmp, "?")] = '\0';
	if (strchr(tmp, '%') != NULL || addr_parse(tmp, &a, err, sizeof(err)))
		return -1;
	snprintf(out, outlen, "%s@%s", a.local, a.domain);
	str_lcpy(domain, a.domain, dlen);
	return 0;
}

/* Each rua's start: 0 under way, -1 the rua is no usable address (it is
 * skipped from now on), -2 it failed for now (tried again later). */
static int
tr_send_mail(struct tr_job *s, int i, const char *unique, const char *report_id,
    const char *submitter, const char *from, int64_t now)
{
	struct tr_spool_job *sj = calloc(1, sizeof(*sj));
	char fromdom[ADDR_DOMAIN_MAX + 1];
	struct tr_mail m;
	struct addr a;
	char err[160];

	if (sj == NULL)
		return -2;
	if (addr_parse(from, &a, err, sizeof(err)) == -1) {
		log_warnx("tlsrpt.send from=\"%s\" error=\"[tlsrpt] from: %s\"",
		    from, err);
		free(sj);
		return -2;
	}
	if (tr_mailto(s->txt.rua[i], sj->to, sizeof(sj->to), fromdom,
		sizeof(fromdom)) == -1) {
		free(sj);
		return -1;
	}
	str_lcpy(sj->from, from, sizeof(sj->from));
	str_lcpy(sj->domain, a.domain, sizeof(sj->domain));
	memset(&m, 0, sizeof(m));
	m.from = from;
	m.to = sj->to;
	m.submitter = submitter;
	m.domain = s->d->name;
	m.report_id = report_id;
	m.unique = unique;
	m.begin = s->p->begin;
	m.end = tr_report_end(s->p);
	m.now = now;
	m.gz = s->gz;
	m.gzlen = s->gzlen;
	buf_init(&sj->msg, TR_MSG_MAX);
	if (tr_mail_build(&m, &sj->msg) == -1) {
		buf_free(&sj->msg);
		free(sj);
		return -2;
	}
	sj->s = s;
	sj->rua = i;
	sj->base.run = tr_spool_run;
	sj->base.done = tr_spool_done;
	s->waiting++;
	workers_submit(rt.wl, &sj->base);
	return 0;
}

static void
tr_post_cb(const struct httpc_resp *r, void *arg)
{
	struct tr_post *pp = arg;
	struct tr_job *s = pp->s;
	int i = pp->i;
	char what[300];

	s->http[i] = NULL;
	if (r->status >= 200 && r->status < 300) {
		snprintf(what, sizeof(what), "status=%d", r->status);
		tr_rua_done(s, i, 1, what);
	} else {
		if (r->status)
			snprintf(what, sizeof(what), "HTTP status %d",
			    r->status);
		else
			snprintf(what, sizeof(what), "%s", r->error);
		tr_rua_done(s, i, 0, what);
	}
}

/* "https://host[:port][/path]" */
static int
tr_https(const char *uri, char *host, size_t hostlen, int *port, char *path,
    size_t pathlen)
{
	const char *h = uri + 8, *end, *colon;
	char *e;
	long pn = 443;

	end = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(end - h)) != NULL || end == h)
		return -1;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL || (size_t)(rb - h - 1) >= hostlen)
			return -1;
		memcpy(host, h + 1, (size_t)(rb - h - 1));
		host[rb - h - 1] = '\0';
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		if (rb + 1 != end && colon == NULL)
			return -1;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		if ((size_t)((colon ? colon : end) - h) >= hostlen)
			return -1;
		memcpy(host, h, (size_t)((colon ? colon : end) - h));
		host[(colon ? colon : end) - h] = '\0';
	}
	if (colon) {
		pn = strtol(colon + 1, &e, 10);
		if (e != end || pn < 1 || pn > 65535)
			return -1;
	}
	*port = (int)pn;
	if (*end != '/')
		str_lcpy(path, "/", pathlen);
	else if (strlen(end) >= pathlen)
		return -1;
	else
		str_lcpy(path, end, pathlen);
	path[strcspn(path, "#")] = '\0';
	return 0;
}

static int
tr_send_post(struct tr_job *s, int i)
{
	char host[256], path[TLSRPT_URI_MAX + 1];
	struct httpc_req rq;
	int port;

	if (tr_https(s->txt.rua[i], host, sizeof(host), &port, path,
		sizeof(path)) == -1)
		return -1;
	if (rt.https == NULL) /* no CA certificates: logged at the start */
		return -2;
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.host = host;
	rq.port = port;
	rq.path = path;
	rq.content_type = "application/tlsrpt+gzip";
	rq.body = s->gz;
	rq.bodylen = s->gzlen;
	rq.tls = rt.https;
	rq.dns = rt.dns;
	rq.max_body = 4096;
	rq.timeout_s = TR_HTTP_TIMEOUT;
	s->post[i].s = s;
	s->post[i].i = i;
	if ((s->http[i] = httpc_start(rt.base, &rq, tr_post_cb, &s->post[i])) ==
	    NULL)
		return -2;
	s->waiting++;
	return 0;
}

/* The record is there: make the report, send it to each rua not done. */
static void
tr_send_report(struct tr_job *s)
{
	const struct conf *cf = conf_current();
	char unique[33], report_id[300], org[CONF_STR_MAX];
	char contact[CONF_STR_MAX], from[CONF_STR_MAX + 40];
	unsigned char rnd[16];
	struct tr_meta meta;
	char *text;
	json_t *r;
	int i;
	int64_t now = tr_now();

	randombytes_buf(rnd, sizeof(rnd));
	str_hex(unique, rnd, sizeof(rnd));
	snprintf(report_id, sizeof(report_id), "%s@%s", unique, cf->hostname);
	snprintf(org, sizeof(org), "%s",
	    cf->tlsrpt_org[0] ? cf->tlsrpt_org : cf->hostname);
	if (cf->tlsrpt_contact[0])
		snprintf(contact, sizeof(contact), "%s", cf->tlsrpt_contact);
	else
		snprintf(contact, sizeof(contact), "postmaster@%.200s",
		    cf->hostname);
	if (cf->tlsrpt_from[0])
		snprintf(from, sizeof(from), "%s", cf->tlsrpt_from);
	else
		snprintf(from, sizeof(from), "noreply-smtp-tls-reporting@%s",
		    cf->hostname);
	meta.org = org;
	meta.contact = contact;
	meta.report_id = report_id;
	if ((r = tr_report_json(s->p, s->d, &meta)) == NULL ||
	    (text = json_dumps(r, JSON_COMPACT)) == NULL) {
		json_decref(r);
		tr_send_end(s, 1, "out of memory");
		return;
	}
	json_decref(r);
	i = tr_gzip(text, strlen(text), &s->gz, &s->gzlen);
	free(text);
	if (i == -1) {
		tr_send_end(s, 1, "gzip failed");
		return;
	}
	s->waiting = 1; /* held until every rua has started */
	for (i = 0; i < s->txt.nrua; i++) {
		char v[LOG_VALUE_MAX];
		int rc;

		if (s->d->rua_done & (1u << i))
			continue;
		if (strncasecmp(s->txt.rua[i], "mailto:", 7) == 0)
			rc = tr_send_mail(s, i, unique, report_id, cf->hostname,
			    from, now);
		else
			rc = tr_send_post(s, i);
		if (rc == -1) {
			/* a rua we cannot use will not do better later */
			log_warnx("tlsrpt.send domain=%s rua=%s "
				  "error=\"not a usable address\"",
			    s->d->name, log_value(v, sizeof(v), s->txt.rua[i]));
			s->d->rua_done |= 1u << i;
		} else if (rc == -2)
			s->failed++; /* tried again later */
	}
	if (--s->waiting == 0)
		tr_send_end(s, s->failed > 0, "a rua failed");
}

static void
tr_txt_cb(const struct dnsq_answer *a, void *arg)
{
	struct tr_job *s = arg;
	int i, n = 0, which = -1;

	s->dns = 0;
	if (a->status == DNSQ_TEMPFAIL) {
		tr_send_end(s, 1, "DNS: temporary failure");
		return;
	}
	/* RFC 8460 3: of the records, those starting v=TLSRPTv1; exactly
	 * one, or the domain does not take reports */
	for (i = 0; a->status == DNSQ_OK && i < a->n; i++)
		if (strncmp(a->rr[i], "v=TLSRPTv1", 10) == 0) {
			n++;
			which = i;
		}
	if (n != 1 || tlsrpt_txt_parse(a->rr[which], &s->txt) == -1) {
		log_info("tlsrpt.none domain=%s period=%s records=%d",
		    s->d->name, s->p->dir, n);
		tr_send_end(s, 0, NULL);
		return;
	}
	tr_send_report(s);
}

static void
tr_send_start(struct tr_period *p, struct tr_domain *d)
{
	char name[TLSRPT_DOMAIN_MAX + 16];
	struct tr_job *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return;
	s->p = p;
	s->d = d;
	d->send = TR_BUSY;
	s->next = rt.sends;
	rt.sends = s;
	rt.nsends++;
	snprintf(name, sizeof(name), "_smtp._tls.%s", d->name);
	if ((s->dns = rt.dns->ask(rt.dns, name, DNSQ_TXT, tr_txt_cb, s)) == 0)
		tr_send_end(s, 1, "DNS: cannot ask");
}

/* The finished periods' domains that are due. */
static void
tr_report(int64_t now)
{
	struct tr_period *p;
	struct tr_domain *d;
	int left = 0;

	for (p = tr_periods; p; p = p->next) {
		int open = 0;

		if (p->gone || p->end > now)
			continue;
		for (d = p->domains; d; d = d->next) {
			if (d->send == TR_DONE)
				continue;
			open++;
			if (d->send == TR_PENDING && d->next_try <= now &&
			    rt.nsends < TR_SENDS_MAX)
				tr_send_start(p, d);
		}
		if (open == 0)
			p->gone = 1;
		else
			left++;
	}
	if (left == 0)
		tr_report_tomorrow(now);
}

/*
 * `postern tlsrpt send`: "today" ends the day so far (its counts are
 * reported, fresh ones begin); a day, or none, makes that day's (or
 * every finished day's) reports due now, retries included.
 */
static void
tr_request(int64_t now)
{
	char day[16], today[16];
	struct tr_period *p;
	struct tr_domain *d;
	time_t t = (time_t)now;
	struct tm tm;

	if (!tr_file_request(day, sizeof(day)))
		return;
	gmtime_r(&t, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	log_info("tlsrpt.request day=%s", day[0] ? day : "finished");
	if (strcmp(day, "today") == 0 || strcmp(day, today) == 0)
		tr_period_cut(now);
	for (p = tr_periods; p; p = p->next)
		if (p->end <= now &&
		    (day[0] == '\0' || strcmp(day, "today") == 0 ||
			strncmp(p->dir, day, 10) == 0))
			for (d = p->domains; d; d = d->next)
				d->next_try = 0;
	rt.next_report = now;
}

/* [tlsrpt] enabled = off: a finished period is dropped unreported. */
static void
tr_discard(int64_t now)
{
	struct tr_period *p;

	for (p = tr_periods; p; p = p->next) {
		struct tr_domain *d;

		for (d = p->domains; d; d = d->next)
			if (d->send == TR_BUSY)
				break;
		/* one being sent (turned off by a reload) ends first */
		if (!p->gone && p->end <= now && d == NULL) {
			log_info("tlsrpt.discard period=%s domains=%d "
				 "reason=\"[tlsrpt] enabled = off\"",
			    p->dir, p->ndomains);
			p->gone = 1;
		}
	}
}

static void
tr_tick(evutil_socket_t fd, short what, void *arg)
{
	const struct conf *cf = conf_current();
	int64_t now = tr_now();

	(void)fd;
	(void)what;
	(void)arg;
	tr_request(now);
	if (strcmp(cf->tlsrpt_enabled, "on") != 0)
		tr_discard(now);
	else if (now >= rt.next_report)
		tr_report(now);
	tr_file_save();
}

static SSL_CTX *
tr_https_ctx(const struct conf *cf)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cf->delivery_tls_ca[0]
		? SSL_CTX_load_verify_locations(ctx, cf->delivery_tls_ca,
		      NULL) != 1
		: SSL_CTX_set_default_verify_paths(ctx) != 1) {
		log_warnx("tlsrpt.start ca=\"%s\" error=\"cannot load the CA "
			  "certificates\"",
		    cf->delivery_tls_ca);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
tlsrpt_start(struct event_base *base, struct dnsq *dns, struct workers_loop *wl)
{
	const struct conf *cf = conf_current();
	struct timeval tv = { TR_TICK, 0 };
	int64_t now = tr_now();

	memset(&rt, 0, sizeof(rt));
	rt.base = base;
	rt.dns = dns;
	rt.wl = wl;
	if (tr_file_start(cf->data_dir, wl) == -1) {
		tr_reset();
		return -1;
	}
	/* without a CA to check with, https reports wait for a restart;
	 * mailto ones still go */
	rt.https = tr_https_ctx(cf);
	rt.next_report =
	    now + TR_START_DELAY + (int64_t)randombytes_uniform(TR_START_DELAY);
	rt.started = 1; /* tlsrpt_stop() frees what is made */
	tr_counting = 1;
	if ((rt.tick = event_new(base, -1, EV_PERSIST, tr_tick, NULL)) ==
		NULL ||
	    event_add(rt.tick, &tv) == -1)
		return -1;
	return 0;
}

void
tlsrpt_stop(void)
{
	if (!rt.started)
		return;
	while (rt.sends)
		tr_send_free(rt.sends);
	tr_file_stop();
	tr_reset();
	tr_counting = 0;
	if (rt.tick)
		event_free(rt.tick);
	SSL_CTX_free(rt.https);
	memset(&rt, 0, sizeof(rt));
}
