/*
 * dnsq_ares: the inbound checks' DNS questions (util/dnsq.h) asked with
 * c-ares on the resolver's channel. Every answer is hostile: at most
 * DNSQ_MAX_RR records are kept, a TXT record's strings are joined and cut
 * at DNSQ_RR_LEN - 1 bytes, names are lowered. A question hands its answer
 * over from an event of its own, so the callback always runs on the loop.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <ares.h>
#include <event2/event.h>

#include "resolve_int.h"

struct dq_query {
	struct resolver *r;
	TAILQ_ENTRY(dq_query) entry;
	uint64_t id;
	enum dnsq_type type;
	dnsq_cb cb;
	void *arg;
	int cancelled;
	struct event *done;
	struct dnsq_answer a;
	char *rr[DNSQ_MAX_RR]; /* the answer's records, owned */
};

static void
dq_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct dq_query *q = arg;
	int i;

	TAILQ_REMOVE(&q->r->dqueries, q, entry);
	/* The callback may free the resolver: q is no longer in it. */
	if (!q->cancelled)
		q->cb(&q->a, q->arg);
	for (i = 0; i < DNSQ_MAX_RR; i++)
		free(q->rr[i]);
	event_free(q->done);
	free(q);
}

/* Keep a record (NULs dropped, cut at DNSQ_RR_LEN - 1, names lowered);
 * -1 without memory. */
static int
dq_keep(struct dq_query *q, const unsigned char *s, size_t len, int name)
{
	char *o;
	size_t i, n = 0;

	if (q->a.n == DNSQ_MAX_RR)
		return 0;
	if ((o = malloc(len < DNSQ_RR_LEN ? len + 1 : DNSQ_RR_LEN)) == NULL)
		return -1;
	for (i = 0; i < len && n < DNSQ_RR_LEN - 1; i++) {
		if (s[i] == '\0')
			continue;
		o[n++] = name ? (char)tolower(s[i]) : (char)s[i];
	}
	if (name && n > 0 && o[n - 1] == '.')
		n--;
	o[n] = '\0';
	q->rr[q->a.n] = o;
	q->a.rr[q->a.n] = o;
	q->a.n++;
	return 0;
}

/* Join the strings of each TXT record (RFC 7208 3.3), into the last kept
 * record while c-ares says it goes on. */
static int
dq_txt(struct dq_query *q, const unsigned char *abuf, int alen)
{
	struct ares_txt_ext *txt = NULL, *t;
	size_t len, add, i;
	char *o;
	int rc;

	if ((rc = ares_parse_txt_reply_ext(abuf, alen, &txt)) != ARES_SUCCESS)
		return rc;
	for (t = txt; t != NULL; t = t->next) {
		if (t->record_start || q->a.n == 0) {
			if (q->a.n == DNSQ_MAX_RR)
				break;
			if (dq_keep(q, t->txt, t->length, 0) == -1) {
				rc = ARES_ENOMEM;
				break;
			}
			continue;
		}
		o = q->rr[q->a.n - 1];
		len = strlen(o);
		if (len == DNSQ_RR_LEN - 1 || t->length == 0)
			continue;
		add = t->length < DNSQ_RR_LEN - 1 - len ? t->length
							: DNSQ_RR_LEN - 1 - len;
		if ((o = realloc(o, len + add + 1)) == NULL) {
			rc = ARES_ENOMEM;
			break;
		}
		q->rr[q->a.n - 1] = o;
		q->a.rr[q->a.n - 1] = o;
		/* NULs dropped as in dq_keep(); the cut is on the raw bytes */
		for (i = 0; i < add; i++)
			if (t->txt[i] != '\0')
				o[len++] = (char)t->txt[i];
		o[len] = '\0';
	}
	ares_free_data(txt);
	return rc;
}

static int
dq_addrs(struct dq_query *q, const unsigned char *abuf, int alen)
{
	struct ares_addrttl a4[DNSQ_MAX_RR];
	struct ares_addr6ttl a6[DNSQ_MAX_RR];
	char text[INET6_ADDRSTRLEN];
	int n = DNSQ_MAX_RR, i, rc;

	if (q->type == DNSQ_A)
		rc = ares_parse_a_reply(abuf, alen, NULL, a4, &n);
	else
		rc = ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
	if (rc != ARES_SUCCESS)
		return rc;
	for (i = 0; i < n && i < DNSQ_MAX_RR; i++) {
		if (q->type == DNSQ_A)
			inet_ntop(AF_INET, &a4[i].ipaddr, text, sizeof(text));
		else
			inet_ntop(AF_INET6, &a6[i].ip6addr, text, sizeof(text));
		if (dq_keep(q, (unsigned char *)text, strlen(text), 0) == -1)
			return ARES_ENOMEM;
	}
	return q->a.n > 0 ? ARES_SUCCESS : ARES_ENODATA;
}

struct dq_mx {
	const struct ares_mx_reply *mx;
	size_t pos;
};

static int
dq_mx_cmp(const void *a, const void *b)
{
	const struct dq_mx *x = a, *y = b;

	if (x->mx->priority != y->mx->priority)
		return x->mx->priority < y->mx->priority ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* MX names by preference (the order of the answer among equals). */
static int
dq_mx(struct dq_query *q, const unsigned char *abuf, int alen)
{
	struct ares_mx_reply *list = NULL, *m;
	struct dq_mx *v;
	size_t n = 0, i;
	int rc;

	if ((rc = ares_parse_mx_reply(abuf, alen, &list)) != ARES_SUCCESS)
		return rc;
	for (m = list; m != NULL; m = m->next)
		n++;
	if (n == 0) {
		ares_free_data(list);
		return ARES_ENODATA;
	}
	if ((v = calloc(n, sizeof(*v))) == NULL) {
		ares_free_data(list);
		return ARES_ENOMEM;
	}
	for (i = 0, m = list; m != NULL; m = m->next, i++) {
		v[i].mx = m;
		v[i].pos = i;
	}
	qsort(v, n, sizeof(*v), dq_mx_cmp);
	for (i = 0; i < n && rc == ARES_SUCCESS; i++)
		if (dq_keep(q, (const unsigned char *)v[i].mx->host,
			strlen(v[i].mx->host), 1) == -1)
			rc = ARES_ENOMEM;
	free(v);
	ares_free_data(list);
	return rc;
}

/* Every PTR name: c-ares lists them all in h_aliases. */
static int
dq_ptr(struct dq_query *q, const unsigned char *abuf, int alen)
{
	static const unsigned char any[4];
	struct hostent *h = NULL;
	char **p;
	int rc;

	rc = ares_parse_ptr_reply(abuf, alen, any, sizeof(any), AF_INET, &h);
	if (rc != ARES_SUCCESS)
		return rc;
	for (p = h->h_aliases; p != NULL && *p != NULL; p++)
		if (dq_keep(q, (unsigned char *)*p, strlen(*p), 1) == -1) {
			rc = ARES_ENOMEM;
			break;
		}
	if (rc == ARES_SUCCESS && q->a.n == 0 && h->h_name != NULL)
		rc = dq_keep(q, (unsigned char *)h->h_name, strlen(h->h_name),
			 1) == -1
			 ? ARES_ENOMEM
			 : ARES_SUCCESS;
	ares_free_hostent(h);
	return rc;
}

static enum dnsq_status
dq_status(int rc)
{
	switch (rc) {
	case ARES_SUCCESS:
		return DNSQ_OK;
	case ARES_ENODATA:
		return DNSQ_NODATA;
	case ARES_ENOTFOUND:
		return DNSQ_NXDOMAIN;
	case ARES_EBADNAME:
	case ARES_EBADRESP:
		return DNSQ_PERMFAIL;
	}
	/* timeouts, SERVFAIL, REFUSED (c-ares 1.18: ECONNREFUSED), no
	 * memory: another try may answer */
	return DNSQ_TEMPFAIL;
}

/* TLSA (RFC 6698): c-ares 1.18 has no parser, so the answer section is
 * walked here; see resolve_int.h. */
int
dnsq_tlsa_walk(const unsigned char *abuf, int alen,
    int (*keep)(void *, const unsigned char *, size_t), void *arg)
{
	const unsigned char *p, *end;
	char *name;
	long enclen;
	int qd, an, i;
	size_t rdlen;

	if (abuf == NULL || alen < 12)
		return ARES_EBADRESP;
	p = abuf + 12;
	end = abuf + alen;
	qd = abuf[4] << 8 | abuf[5];
	an = abuf[6] << 8 | abuf[7];
	for (i = 0; i < qd + an; i++) {
		unsigned type, class;
		if (p >= end || ares_expand_name(p, abuf, alen, &name,
				    &enclen) != ARES_SUCCESS)
			return ARES_EBADRESP;
		ares_free_string(name);
		if (enclen <= 0 || enclen > end - p)
			return ARES_EBADRESP;
		p += enclen;
		if (i < qd) {
			if (end - p < 4)
				return ARES_EBADRESP;
			p += 4;
			continue;
		}
		if (end - p < 10)
			return ARES_EBADRESP;
		type = (unsigned)(p[0] << 8 | p[1]);
		class = (unsigned)(p[2] << 8 | p[3]);
		rdlen = (size_t)(p[8] << 8 | p[9]);
		p += 10;
		if ((size_t)(end - p) < rdlen)
			return ARES_EBADRESP;
		if (type == 52 && class == ns_c_in && keep(arg, p, rdlen) == -1)
			return ARES_ENOMEM;
		p += rdlen;
	}
	return ARES_SUCCESS;
}

/* Keep one TLSA record as hex; one too long for DNSQ_RR_LEN is dropped. */
static int
dq_tlsa_keep(void *arg, const unsigned char *rd, size_t rdlen)
{
	static const char hex[] = "0123456789abcdef";
	char out[DNSQ_RR_LEN];
	size_t k;

	if (2 * rdlen >= sizeof(out))
		return 0;
	for (k = 0; k < rdlen; k++) {
		out[2 * k] = hex[rd[k] >> 4];
		out[2 * k + 1] = hex[rd[k] & 15];
	}
	return dq_keep(arg, (const unsigned char *)out, 2 * rdlen, 0);
}

static int
dq_tlsa(struct dq_query *q, const unsigned char *abuf, int alen)
{
	return dnsq_tlsa_walk(abuf, alen, dq_tlsa_keep, q);
}

static void
dq_ares_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct dq_query *q = arg;
	int i;

	if (status == ARES_EDESTRUCTION)
		return; /* resolver_free() frees q */
	if (!q->cancelled && (status == ARES_SUCCESS || status == ARES_ENODATA))
		q->a.ad = resolver_answer_ad(abuf, alen);
	if (!q->cancelled && status == ARES_SUCCESS) {
		switch (q->type) {
		case DNSQ_TXT:
			status = dq_txt(q, abuf, alen);
			break;
		case DNSQ_A:
		case DNSQ_AAAA:
			status = dq_addrs(q, abuf, alen);
			break;
		case DNSQ_MX:
			status = dq_mx(q, abuf, alen);
			break;
		case DNSQ_PTR:
			status = dq_ptr(q, abuf, alen);
			break;
		case DNSQ_TLSA:
			status = dq_tlsa(q, abuf, alen);
			break;
		}
		if (status == ARES_SUCCESS && q->a.n == 0)
			status = ARES_ENODATA;
	}
	q->a.status = dq_status(status);
	if (q->a.status != DNSQ_OK) {
		for (i = 0; i < q->a.n; i++) {
			free(q->rr[i]);
			q->rr[i] = NULL;
			q->a.rr[i] = NULL;
		}
		q->a.n = 0;
	}
	event_active(q->done, EV_TIMEOUT, 1);
}

/* A name DNS can carry and c-ares reads as it is: labels of 1-63 visible
 * bytes, no backslash (c-ares' escape), 253 in all; one trailing dot
 * allowed. */
static int
dq_name_ok(const char *name)
{
	size_t len = strlen(name), i, label = 0;

	if (len > 0 && name[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
		} else if (c < 0x21 || c > 0x7e || c == '\\' || ++label > 63) {
			return 0;
		}
	}
	return label > 0;
}

static const int dq_types[] = { ns_t_txt, ns_t_a, ns_t_aaaa, ns_t_mx, ns_t_ptr,
	52 /* TLSA */ };

static uint64_t
dq_ask(struct dnsq *d, const char *name, enum dnsq_type type, dnsq_cb cb,
    void *arg)
{
	struct resolver *r = d->impl;
	struct dq_query *q;

	if (name == NULL || cb == NULL || (unsigned)type > DNSQ_TLSA)
		return 0;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return 0;
	if ((q->done = event_new(r->base, -1, 0, dq_done_cb, q)) == NULL) {
		free(q);
		return 0;
	}
	q->r = r;
	q->id = ++r->next_id;
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	TAILQ_INSERT_TAIL(&r->dqueries, q, entry);
	if (!dq_name_ok(name)) {
		q->a.status = DNSQ_PERMFAIL;
		event_active(q->done, EV_TIMEOUT, 1);
		return q->id;
	}
	/* An error may call back at once: the answer still waits for the
	 * loop (q->done). */
	resolver_send(r, name, dq_types[type], dq_ares_cb, q);
	resolver_timer_update(r);
	return q->id;
}

static void
dq_cancel(struct dnsq *d, uint64_t handle)
{
	struct resolver *r = d->impl;
	struct dq_query *q;

	if (handle == 0)
		return;
	/* c-ares 1.18 cannot cancel one query: q lives on, silent, until
	 * its answer or timeout is in. */
	TAILQ_FOREACH (q, &r->dqueries, entry) {
		if (q->id == handle) {
			q->cancelled = 1;
			return;
		}
	}
}

void
dnsq_ares_init(struct resolver *r)
{
	TAILQ_INIT(&r->dqueries);
	r->dq.ask = dq_ask;
	r->dq.cancel = dq_cancel;
	r->dq.impl = r;
}

void
dnsq_ares_free_all(struct resolver *r)
{
	struct dq_query *q;
	int i;

	while ((q = TAILQ_FIRST(&r->dqueries)) != NULL) {
		TAILQ_REMOVE(&r->dqueries, q, entry);
		for (i = 0; i < DNSQ_MAX_RR; i++)
			free(q->rr[i]);
		event_free(q->done);
		free(q);
	}
}

struct dnsq *
resolver_dnsq(struct resolver *r)
{
	return &r->dq;
}
