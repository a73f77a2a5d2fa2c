/*
 * dmarc: policy discovery (RFC 7489 6.6.3) and alignment (3.1) as a state
 * machine of at most two DNS questions: _dmarc.<From domain>, then, when
 * that has no DMARC record, _dmarc.<organizational domain> whose sp=
 * applies. A record is hostile text: the parser bounds its tags and
 * their values, and anything it does not understand makes no record.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dmarc.h"
#include "../util/dnsq.h"
#include "psl.h"
#include "../mail/addr.h"
#include "../mail/header.h"
#include "../util/str.h"

#define IS_WSP(c) ((c) == ' ' || (c) == '\t')

#define DMARC_TAGS_MAX 32
#define DMARC_DKIM_MAX 8 /* DKIM passes looked at for alignment */

struct dmarc_tag {
	const char *name, *val;
	size_t nlen, vlen;
};

/* Split a record into tags: name = value pairs between ';' with WSP
 * around; empty parts are allowed. -1: malformed, too many, a tag twice. */
static int
dmarc_tags(const char *s, struct dmarc_tag *t, int max)
{
	const char *end;
	size_t n;
	int nt = 0, k;

	for (;;) {
		while (IS_WSP(*s))
			s++;
		if (*s == '\0')
			return nt;
		if (*s == ';') {
			s++;
			continue;
		}
		if (nt == max)
			return -1;
		for (n = 0; (s[n] >= 'a' && s[n] <= 'z') ||
			    (s[n] >= 'A' && s[n] <= 'Z') ||
			    (s[n] >= '0' && s[n] <= '9');
		     n++)
			;
		if (n == 0)
			return -1;
		t[nt].name = s;
		t[nt].nlen = n;
		s += n;
		while (IS_WSP(*s))
			s++;
		if (*s++ != '=')
			return -1;
		while (IS_WSP(*s))
			s++;
		t[nt].val = s;
		for (end = s; *end != '\0' && *end != ';'; end++)
			if (!IS_WSP(*end) && ((unsigned char)*end < 0x21 ||
						 (unsigned char)*end > 0x7e))
				return -1;
		for (n = (size_t)(end - s); n > 0 && IS_WSP(s[n - 1]); n--)
			;
		t[nt].vlen = n;
		for (k = 0; k < nt; k++)
			if (t[k].nlen == t[nt].nlen &&
			    strncasecmp(t[k].name, t[nt].name, t[nt].nlen) == 0)
				return -1;
		nt++;
		s = end;
	}
}

static int
tag_is(const struct dmarc_tag *t, const char *s)
{
	return t->vlen == strlen(s) && strncasecmp(t->val, s, t->vlen) == 0;
}

static int
name_is(const struct dmarc_tag *t, const char *s)
{
	return t->nlen == strlen(s) && strncasecmp(t->name, s, t->nlen) == 0;
}

static int
dmarc_policy_of(const struct dmarc_tag *t, enum dmarc_policy *p)
{
	if (tag_is(t, "none"))
		*p = DMARC_POLICY_NONE;
	else if (tag_is(t, "quarantine"))
		*p = DMARC_POLICY_QUARANTINE;
	else if (tag_is(t, "reject"))
		*p = DMARC_POLICY_REJECT;
	else
		return -1;
	return 0;
}

static int
scheme_char(char c, int first)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'))
		return 1;
	return !first &&
	       ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.');
}

/* A list of URIs (RFC 7489 6.4 dmarc-uri: a URI, maybe "!size"): 1 when
 * one at least has a scheme and something after it. Copied, cut. */
static int
dmarc_uris(const struct dmarc_tag *t, char *out, size_t outlen)
{
	size_t i = 0, a, s, z;
	int ok = 0;

	snprintf(out, outlen, "%.*s",
	    (int)(t->vlen < outlen ? t->vlen : outlen - 1), t->val);
	while (i < t->vlen) {
		while (i < t->vlen && IS_WSP(t->val[i]))
			i++;
		for (a = s = i; s < t->vlen && scheme_char(t->val[s], s == a);
		     s++)
			;
		for (i = s; i < t->vlen && t->val[i] != ','; i++)
			;
		for (z = i; z > s && IS_WSP(t->val[z - 1]); z--)
			;
		/* scheme ":" and at least one byte, no blank inside */
		if (s > a && s + 1 < z && t->val[s] == ':' &&
		    memchr(t->val + s, ' ', z - s) == NULL &&
		    memchr(t->val + s, '\t', z - s) == NULL)
			ok = 1;
		i++;
	}
	return ok;
}

static int
dmarc_digits(const struct dmarc_tag *t, int maxd, unsigned long *v)
{
	size_t i;

	if (t->vlen == 0 || t->vlen > (size_t)maxd)
		return -1;
	for (*v = 0, i = 0; i < t->vlen; i++) {
		if (t->val[i] < '0' || t->val[i] > '9')
			return -1;
		*v = *v * 10 + (unsigned long)(t->val[i] - '0');
	}
	return 0;
}

/* One tag of the record; -1 for a value that makes no record. */
static int
dmarc_tag_apply(const struct dmarc_tag *t, struct dmarc_record *r, int *p_ok,
    int *sp_ok)
{
	unsigned long v;
	size_t i;

	if (name_is(t, "p")) {
		*p_ok = dmarc_policy_of(t, &r->p) == 0;
	} else if (name_is(t, "sp")) {
		*sp_ok = dmarc_policy_of(t, &r->sp) == 0 ? 2 : 0;
	} else if (name_is(t, "adkim") || name_is(t, "aspf")) {
		if (!tag_is(t, "r") && !tag_is(t, "s"))
			return -1;
		*(name_is(t, "adkim") ? &r->adkim_strict : &r->aspf_strict) =
		    tag_is(t, "s");
	} else if (name_is(t, "pct")) {
		if (dmarc_digits(t, 3, &v) == -1 || v > 100)
			return -1;
		r->pct = (int)v;
	} else if (name_is(t, "rua")) {
		r->has_rua = dmarc_uris(t, r->rua, sizeof(r->rua));
	} else if (name_is(t, "ruf")) {
		r->has_ruf = dmarc_uris(t, r->ruf, sizeof(r->ruf));
	} else if (name_is(t, "ri")) {
		/* Reports are not sent yet: a bad ri= keeps the default. */
		if (dmarc_digits(t, 9, &v) == 0)
			r->ri = v;
	} else if (name_is(t, "fo")) {
		for (i = 0; i < t->vlen && strchr("01ds: \t", t->val[i]); i++)
			;
		if (i == t->vlen && t->vlen > 0 && t->vlen < sizeof(r->fo))
			snprintf(r->fo, sizeof(r->fo), "%.*s", (int)t->vlen,
			    t->val);
	}
	/* rf= and unknown tags: ignored (6.3) */
	return 0;
}

int
dmarc_record_parse(const char *txt, struct dmarc_record *r)
{
	struct dmarc_tag t[DMARC_TAGS_MAX];
	int nt, k, p_ok = 0, sp_ok = 1;

	memset(r, 0, sizeof(*r));
	r->pct = 100;
	r->ri = 86400;
	snprintf(r->fo, sizeof(r->fo), "0");
	if ((nt = dmarc_tags(txt, t, DMARC_TAGS_MAX)) < 1)
		return -1;
	/* v=DMARC1 first, the version exact (RFC 7489 6.4) */
	if (!name_is(&t[0], "v") || t[0].vlen != 6 ||
	    memcmp(t[0].val, "DMARC1", 6) != 0)
		return -1;
	for (k = 1; k < nt; k++)
		if (dmarc_tag_apply(&t[k], r, &p_ok, &sp_ok) == -1)
			return -1;
	if (!p_ok || !sp_ok) {
		/* 6.6.3: with a valid rua=, act as p=none */
		if (!r->has_rua)
			return -1;
		r->p = r->sp = DMARC_POLICY_NONE;
		r->p_assumed = 1;
	} else if (sp_ok == 1) {
		r->sp = r->p;
	}
	return 0;
}

/* Does a TXT record start with v=DMARC1 (6.6.3 step 2)? */
static int
dmarc_is_v1(const char *s)
{
	while (IS_WSP(*s))
		s++;
	if (*s != 'v' && *s != 'V')
		return 0;
	for (s++; IS_WSP(*s); s++)
		;
	if (*s++ != '=')
		return 0;
	while (IS_WSP(*s))
		s++;
	if (strncmp(s, "DMARC1", 6) != 0)
		return 0;
	s += 6;
	return *s == '\0' || *s == ';' || IS_WSP(*s);
}

enum dmarc_from
dmarc_from_domain(const char *msg, size_t len, char *out, size_t outlen)
{
	char addrs[HEADER_FROM_MAX][ADDR_MAX + 1], err[160];
	struct header_info hi;
	const char *at;
	int n = 0;

	header_scan(msg, len, &hi);
	if (hi.from_count == 0)
		return DMARC_FROM_NONE;
	if (hi.from_count > 1)
		return DMARC_FROM_MANY_FIELDS;
	if (hi.lookalike > 0 ||
	    header_addresses(hi.from, hi.from_len, HEADER_MAILBOX_LIST, addrs,
		HEADER_FROM_MAX, &n, NULL) == -1 ||
	    n < 1)
		return DMARC_FROM_BAD;
	if (n > 1)
		return DMARC_FROM_MANY_ADDRS;
	if ((at = strrchr(addrs[0], '@')) == NULL ||
	    addr_domain_canon(at + 1, out, outlen, err, sizeof(err)) == -1)
		return DMARC_FROM_BAD;
	return DMARC_FROM_OK;
}

int
dmarc_aligned(const char *a, const char *b, int strict)
{
	char la[256], lb[256], oa[256], ob[256];

	if (str_lcpy(la, a, sizeof(la)) >= sizeof(la) ||
	    str_lcpy(lb, b, sizeof(lb)) >= sizeof(lb) || la[0] == '\0')
		return 0;
	str_ascii_lower(la);
	str_ascii_lower(lb);
	if (strcmp(la, lb) == 0)
		return 1;
	if (strict || psl_org_domain(la, oa, sizeof(oa)) == -1 ||
	    psl_org_domain(lb, ob, sizeof(ob)) == -1)
		return 0;
	return strcmp(oa, ob) == 0;
}

struct dmarc_eval {
	struct dnsq *dns;
	void (*done)(struct dmarc_eval *, void *);
	void *arg;
	uint64_t q;
	int at_org; /* asking the organizational domain */
	char from[256], org[256], spf[256];
	char dkim[DMARC_DKIM_MAX][256];
	int spf_pass, ndkim, finished;
	struct dmarc_outcome o;
};

static const char *const dmarc_res_names[] = { "none", "pass", "fail",
	"temperror", "permerror" };
static const char *const dmarc_policy_names[] = { "none", "quarantine",
	"reject" };

const char *
dmarc_res_name(enum dmarc_res r)
{
	return (unsigned)r < 5 ? dmarc_res_names[r] : "permerror";
}

const char *
dmarc_policy_name(enum dmarc_policy p)
{
	return (unsigned)p < 3 ? dmarc_policy_names[p] : "none";
}

static void
eval_set(struct dmarc_eval *e, enum dmarc_res res, const char *reason)
{
	e->o.res = res;
	snprintf(e->o.reason, sizeof(e->o.reason), "%s", reason);
}

/* The record of the policy domain against the message's results. */
static void
eval_record(struct dmarc_eval *e, const struct dmarc_record *r)
{
	int i;

	e->o.published = e->at_org ? r->sp : r->p;
	for (i = 0; i < e->ndkim && !e->o.dkim_aligned; i++)
		e->o.dkim_aligned =
		    dmarc_aligned(e->dkim[i], e->from, r->adkim_strict);
	e->o.spf_aligned =
	    e->spf_pass && dmarc_aligned(e->spf, e->from, r->aspf_strict);
	if (e->o.dkim_aligned || e->o.spf_aligned) {
		eval_set(e, DMARC_RES_PASS,
		    e->o.dkim_aligned ? "aligned DKIM pass"
				      : "aligned SPF pass");
		return;
	}
	eval_set(e, DMARC_RES_FAIL, "no aligned SPF or DKIM pass");
	e->o.policy = e->o.published;
	/* 6.6.4: a message outside pct= gets the next policy down. */
	if (r->pct < 100 && e->o.policy != DMARC_POLICY_NONE &&
	    (r->pct == 0 || arc4random_uniform(100) >= (uint32_t)r->pct)) {
		e->o.policy = e->o.policy == DMARC_POLICY_REJECT
				  ? DMARC_POLICY_QUARANTINE
				  : DMARC_POLICY_NONE;
		e->o.sampled_out = 1;
	}
}

static void dmarc_answer(const struct dnsq_answer *, void *);

static int
eval_ask(struct dmarc_eval *e, const char *domain)
{
	char name[300];

	snprintf(name, sizeof(name), "_dmarc.%s", domain);
	e->q = e->dns->ask(e->dns, name, DNSQ_TXT, dmarc_answer, e);
	return e->q != 0 ? 0 : -1;
}

/* 1 when the answer settles the evaluation, 0 when the organizational
 * domain is asked next. */
static int
eval_answer(struct dmarc_eval *e, const struct dnsq_answer *a)
{
	struct dmarc_record r;
	int i, n = 0, which = -1;

	if (a->status == DNSQ_TEMPFAIL) {
		eval_set(e, DMARC_RES_TEMPERROR, "DMARC lookup failed for now");
		return 1;
	}
	if (a->status == DNSQ_PERMFAIL) {
		eval_set(e, DMARC_RES_PERMERROR, "DMARC lookup failed");
		return 1;
	}
	for (i = 0; a->status == DNSQ_OK && i < a->n; i++)
		if (dmarc_is_v1(a->rr[i]) && n++ == 0)
			which = i;
	if (n == 0) {
		if (!e->at_org && strcmp(e->from, e->org) != 0) {
			e->at_org = 1;
			if (eval_ask(e, e->org) == 0)
				return 0;
			eval_set(e, DMARC_RES_TEMPERROR,
			    "DMARC lookup did not start");
			return 1;
		}
		eval_set(e, DMARC_RES_NONE, "no DMARC record");
		return 1;
	}
	snprintf(e->o.domain, sizeof(e->o.domain), "%s",
	    e->at_org ? e->org : e->from);
	if (n > 1) {
		eval_set(e, DMARC_RES_NONE, "several DMARC records");
		return 1;
	}
	if (dmarc_record_parse(a->rr[which], &r) == -1) {
		eval_set(e, DMARC_RES_PERMERROR, "malformed DMARC record");
		return 1;
	}
	eval_record(e, &r);
	return 1;
}

static void
dmarc_answer(const struct dnsq_answer *a, void *arg)
{
	struct dmarc_eval *e = arg;

	e->q = 0;
	if (eval_answer(e, a) == 0)
		return;
	e->finished = 1;
	e->done(e, e->arg); /* may free e: nothing after it */
}

/* A canonical domain: lower-case LDH, '_' and dots, room for _dmarc. */
static int
dmarc_domain_ok(const char *d)
{
	size_t n = strlen(d);

	return n > 0 && n <= 253 - 7 &&
	       strspn(d, "abcdefghijklmnopqrstuvwxyz0123456789-_.") == n &&
	       d[0] != '.' && d[n - 1] != '.' && strstr(d, "..") == NULL;
}

struct dmarc_eval *
dmarc_eval_start(struct dnsq *dns, const struct dmarc_input *in,
    void (*done)(struct dmarc_eval *, void *), void *arg)
{
	struct dmarc_eval *e;
	int i;

	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->dns = dns;
	e->done = done;
	e->arg = arg;
	e->o.policy = e->o.published = DMARC_POLICY_NONE;
	if (in->from_domain == NULL ||
	    str_lcpy(e->from, in->from_domain, sizeof(e->from)) >=
		sizeof(e->from) ||
	    !dmarc_domain_ok(e->from) ||
	    psl_org_domain(e->from, e->org, sizeof(e->org)) == -1) {
		eval_set(e, DMARC_RES_PERMERROR, "no usable From domain");
		e->finished = 1;
		return e;
	}
	e->spf_pass =
	    in->spf_pass && in->spf_domain != NULL &&
	    str_lcpy(e->spf, in->spf_domain, sizeof(e->spf)) < sizeof(e->spf);
	for (i = 0; i < in->ndkim && e->ndkim < DMARC_DKIM_MAX; i++)
		if (in->dkim_domains[i] != NULL &&
		    str_lcpy(e->dkim[e->ndkim], in->dkim_domains[i],
			sizeof(e->dkim[0])) < sizeof(e->dkim[0]))
			e->ndkim++;
	if (eval_ask(e, e->from) == -1) {
		eval_set(e, DMARC_RES_TEMPERROR, "DMARC lookup did not start");
		e->finished = 1;
	}
	return e;
}

void
dmarc_eval_free(struct dmarc_eval *e)
{
	if (e == NULL)
		return;
	if (e->q != 0)
		e->dns->cancel(e->dns, e->q);
	free(e);
}

int
dmarc_eval_is_done(const struct dmarc_eval *e)
{
	return e->finished;
}

const struct dmarc_outcome *
dmarc_eval_outcome(const struct dmarc_eval *e)
{
	return &e->o;
}
