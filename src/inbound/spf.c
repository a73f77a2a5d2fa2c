/*
 * spf: check_host() of RFC 7208 as a state machine over struct dnsq. A
 * check holds a stack of frames (the record being evaluated, then one per
 * include), evaluates terms until one needs DNS, asks, and goes on from
 * the answer. The limits of RFC 7208 4.6.4 are counted per check: 10
 * DNS-querying terms, 10 MX or PTR names per term, 2 void lookups.
 *
 * The exp= explanation is checked as a domain-spec but never fetched: the
 * MX answers a fail with its own text and the explanation is only for a
 * rejecting server that wants the sender's words in its reply.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "spf.h"

#define SPF_MAX_LOOKUPS 10 /* include a mx ptr exists redirect */
#define SPF_MAX_NAMES 10   /* MX or PTR names of one term */
#define SPF_MAX_VOIDS 2
#define SPF_MAX_DEPTH (SPF_MAX_LOOKUPS + 1)
#define SPF_MAX_Q (SPF_MAX_NAMES + 1)
#define SPF_SENDER_MAX 512 /* local@domain: 64 + 1 + 255, with room */
#define SPF_NAME_LEN (SPF_DOMAIN_MAX + 1)

enum { STEP_NEXT, STEP_WAIT, STEP_END };

/* What an answer is for. */
enum spf_qkind { Q_TXT, Q_A, Q_EXISTS, Q_MX, Q_MXADDR, Q_PTR, Q_PTRADDR };

struct spf_q {
	struct spf_check *c;
	uint64_t h; /* 0: slot free */
	enum spf_qkind kind;
	int idx; /* Q_PTRADDR: which name */
};

struct spf_frame {
	char domain[SPF_NAME_LEN];
	int redirected; /* reached by redirect=: no record is a permerror */
	int term;	/* the term being evaluated */
	struct spf_record rec;
};

struct spf_check {
	struct dnsq *dq;
	void (*done)(struct spf_check *, void *);
	void *arg;
	int in_start; /* done is not called from inside a start */
	int finished;
	enum spf_result result;
	char reason[256];

	/* the identity and the client, as the macros see them */
	char local[SPF_SENDER_MAX], sender[SPF_SENDER_MAX + SPF_NAME_LEN];
	char sender_dom[SPF_NAME_LEN], helo[SPF_NAME_LEN];
	char domain[SPF_NAME_LEN]; /* evaluated first */
	char ip[INET6_ADDRSTRLEN], ip_dots[80];
	unsigned char addr[16];
	int v6;

	int lookups, voids;
	int depth;
	struct spf_frame *frames[SPF_MAX_DEPTH];

	/* the term waiting for answers */
	struct spf_q qs[SPF_MAX_Q];
	int npend;
	int tempfail; /* an MX host's address look-up failed */
	char target[SPF_NAME_LEN];
};

static int spf_eval(struct spf_check *);

static void
spf_cancel_all(struct spf_check *c)
{
	int i;

	for (i = 0; i < SPF_MAX_Q; i++) {
		if (c->qs[i].h != 0) {
			c->dq->cancel(c->dq, c->qs[i].h);
			c->qs[i].h = 0;
		}
	}
	c->npend = 0;
}

static int spf_stop(struct spf_check *, enum spf_result, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* The check's result is decided: forget every question still out. The
 * caller returns STEP_END up to spf_end(). */
static int
spf_stop(struct spf_check *c, enum spf_result r, const char *fmt, ...)
{
	va_list ap;

	spf_cancel_all(c);
	c->result = r;
	va_start(ap, fmt);
	vsnprintf(c->reason, sizeof(c->reason), fmt, ap);
	va_end(ap);
	c->finished = 1;
	return STEP_END;
}

/* Tell the caller; c may be freed inside done, so this comes last. */
static void
spf_end(struct spf_check *c)
{
	if (!c->in_start && c->done != NULL)
		c->done(c, c->arg);
}

static void spf_answer(const struct dnsq_answer *, void *);

static int
spf_ask(struct spf_check *c, const char *name, enum dnsq_type type,
    enum spf_qkind kind, int idx)
{
	struct spf_q *q = NULL;
	int i;

	for (i = 0; i < SPF_MAX_Q && q == NULL; i++)
		if (c->qs[i].h == 0)
			q = &c->qs[i];
	if (q == NULL)
		return spf_stop(c, SPF_TEMPERROR, "too many questions");
	q->c = c;
	q->kind = kind;
	q->idx = idx;
	if ((q->h = c->dq->ask(c->dq, name, type, spf_answer, q)) == 0)
		return spf_stop(c, SPF_TEMPERROR, "DNS question for %s failed",
		    name);
	c->npend++;
	return STEP_WAIT;
}

/*
 * RFC 7208 4.3: a domain to evaluate has labels of 1-63 bytes, at least
 * two of them, 253 bytes at most. Lower-cased into out, trailing dot off.
 * strict (the identities): letters, digits, '-' and '_', a last label not
 * all digits, so that an address literal or an IP is no domain. Names
 * from macros may hold any visible byte but a backslash.
 */
static int
spf_domain_canon(const char *in, char *out, int strict)
{
	size_t len = strlen(in), i, label = 0;
	int dots = 0, alpha = 0;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > SPF_DOMAIN_MAX)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
			alpha = 0;
			dots++;
			out[i] = '.';
			continue;
		}
		if (ch < 0x21 || ch > 0x7e || ch == '\\' || ++label > 63)
			return -1;
		if (strict && !isalnum(ch) && ch != '-' && ch != '_')
			return -1;
		alpha |= !isdigit(ch);
		out[i] = (char)tolower(ch);
	}
	out[len] = '\0';
	if (label == 0 || dots == 0 || (strict && !alpha))
		return -1;
	return 0;
}

static struct spf_frame *
spf_top(struct spf_check *c)
{
	return c->frames[c->depth - 1];
}

/* Evaluate domain in a new frame (the first, or an include's): ask for its
 * TXT records. */
static int
spf_push(struct spf_check *c, const char *domain)
{
	struct spf_frame *f;

	if (c->depth == SPF_MAX_DEPTH) /* the lookup limit comes first */
		return spf_stop(c, SPF_PERMERROR, "includes nested too deep");
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return spf_stop(c, SPF_TEMPERROR, "out of memory");
	c->frames[c->depth++] = f;
	if (spf_domain_canon(domain, f->domain, c->depth == 1) == -1) {
		if (c->depth == 1)
			return spf_stop(c, SPF_NONE, "no valid domain");
		return spf_stop(c, SPF_PERMERROR, "bad domain to include");
	}
	return spf_ask(c, f->domain, DNSQ_TXT, Q_TXT, 0);
}

static void
spf_pop(struct spf_check *c)
{
	free(c->frames[--c->depth]);
	c->frames[c->depth] = NULL;
}

static enum spf_result
spf_qual_result(char qual)
{
	switch (qual) {
	case '-':
		return SPF_FAIL;
	case '~':
		return SPF_SOFTFAIL;
	case '?':
		return SPF_NEUTRAL;
	}
	return SPF_PASS;
}

static const char *const spf_mech_names[] = { "all", "include", "a", "mx",
	"ptr", "ip4", "ip6", "exists" };

/* The top frame's current term matched or not. A match ends the frame
 * with the term's qualifier; an include passes its result to the parent's
 * include term (RFC 7208 5.2: pass matches, fail, softfail and neutral do
 * not). */
static int
spf_term_done(struct spf_check *c, int match)
{
	struct spf_frame *f;
	struct spf_term *t;
	enum spf_result r;

	for (;;) {
		f = spf_top(c);
		t = &f->rec.terms[f->term];
		if (!match) {
			f->term++;
			return STEP_NEXT;
		}
		r = spf_qual_result(t->qual);
		if (c->depth == 1)
			return spf_stop(c, r, "%s matched %c%s in %s", c->ip,
			    t->qual, spf_mech_names[t->mech], f->domain);
		spf_pop(c);
		match = r == SPF_PASS;
	}
}

/* The top frame ended without a match (neutral) or without a record. */
static int
spf_frame_end(struct spf_check *c, enum spf_result r)
{
	struct spf_frame *f = spf_top(c);

	if (r == SPF_NONE && (c->depth > 1 || f->redirected))
		return spf_stop(c, SPF_PERMERROR, "no SPF record at %s%s",
		    f->domain, f->redirected ? " (redirect)" : " (include)");
	if (c->depth == 1)
		return spf_stop(c, r,
		    r == SPF_NONE ? "no SPF record at %s"
				  : "no mechanism matched in %s",
		    f->domain);
	spf_pop(c);
	return spf_term_done(c, r == SPF_PASS);
}

static int
spf_count_lookup(struct spf_check *c)
{
	if (++c->lookups > SPF_MAX_LOOKUPS) {
		spf_stop(c, SPF_PERMERROR, "more than %d DNS lookups",
		    SPF_MAX_LOOKUPS);
		return -1;
	}
	return 0;
}

/* A void lookup (RFC 7208 4.6.4): no match, or a permerror past two. */
static int
spf_void(struct spf_check *c)
{
	if (++c->voids > SPF_MAX_VOIDS)
		return spf_stop(c, SPF_PERMERROR, "more than %d void lookups",
		    SPF_MAX_VOIDS);
	return spf_term_done(c, 0);
}

/* Expand the term's domain-spec (or take the current domain) into
 * c->target; -1 if it is no usable name. */
static int
spf_target(struct spf_check *c, const char *spec)
{
	struct spf_frame *f = spf_top(c);
	struct spf_macro_env env;

	if (spec == NULL) {
		memcpy(c->target, f->domain, sizeof(c->target));
		return 0;
	}
	memset(&env, 0, sizeof(env));
	env.sender = c->sender;
	env.local = c->local;
	env.sender_dom = c->sender_dom;
	env.domain = f->domain;
	env.ip = c->ip;
	env.ip_dots = c->ip_dots;
	env.v6 = c->v6;
	env.helo = c->helo;
	env.now = (long long)time(NULL);
	return spf_macro_expand(spec, &env, 0, c->target, sizeof(c->target));
}

static int
spf_in_net(const unsigned char *a, const unsigned char *net, int bits)
{
	int full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (memcmp(a, net, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (net[full] & mask);
}

/* Is one of the answer's addresses the client's, within bits? */
static int
spf_addr_match(struct spf_check *c, const struct dnsq_answer *a, int bits)
{
	unsigned char b[16];
	int i;

	for (i = 0; i < a->n && i < DNSQ_MAX_RR; i++) {
		if (a->rr[i] == NULL)
			continue;
		if (inet_pton(c->v6 ? AF_INET6 : AF_INET, a->rr[i], b) == 1 &&
		    spf_in_net(c->addr, b, bits))
			return 1;
	}
	return 0;
}

static int
spf_term_bits(const struct spf_check *c, const struct spf_term *t)
{
	return c->v6 ? t->cidr6 : t->cidr4;
}

/* Start the top frame's current term: a match, no match, or questions. */
static int
spf_term_start(struct spf_check *c)
{
	struct spf_frame *f = spf_top(c);
	struct spf_term *t = &f->rec.terms[f->term];
	enum dnsq_type at = c->v6 ? DNSQ_AAAA : DNSQ_A;
	char rev[80];

	switch (t->mech) {
	case SPF_ALL:
		return spf_term_done(c, 1);
	case SPF_IP4:
		return spf_term_done(c,
		    !c->v6 && spf_in_net(c->addr, t->addr, t->cidr4));
	case SPF_IP6:
		return spf_term_done(c,
		    c->v6 && spf_in_net(c->addr, t->addr, t->cidr6));
	default:
		break;
	}
	if (spf_count_lookup(c) == -1)
		return STEP_END;
	if (spf_target(c, t->spec) == -1) {
		/* A name DNS cannot be asked about: an include of it has no
		 * record, anything else finds nothing there. */
		if (t->mech == SPF_INCLUDE)
			return spf_stop(c, SPF_PERMERROR,
			    "include of a bad name in %s", f->domain);
		return spf_void(c);
	}
	switch (t->mech) {
	case SPF_INCLUDE:
		return spf_push(c, c->target);
	case SPF_A:
		return spf_ask(c, c->target, at, Q_A, 0);
	case SPF_EXISTS:
		/* RFC 7208 5.7: always an A question, whatever the client */
		return spf_ask(c, c->target, DNSQ_A, Q_EXISTS, 0);
	case SPF_MX:
		c->tempfail = 0;
		return spf_ask(c, c->target, DNSQ_MX, Q_MX, 0);
	case SPF_PTR:
		if (spf_ptr_name(c->ip, rev, sizeof(rev)) == -1)
			return spf_stop(c, SPF_PERMERROR, "bad client address");
		return spf_ask(c, rev, DNSQ_PTR, Q_PTR, 0);
	default:
		break;
	}
	return spf_stop(c, SPF_PERMERROR, "unknown mechanism");
}

/* RFC 7208 6.1: no mechanism matched; redirect= names the record whose
 * result is this one's. */
static int
spf_redirect(struct spf_check *c)
{
	struct spf_frame *f = spf_top(c);

	if (spf_count_lookup(c) == -1)
		return STEP_END;
	if (spf_target(c, f->rec.redirect) == -1 ||
	    spf_domain_canon(c->target, f->domain, 0) == -1)
		return spf_stop(c, SPF_PERMERROR, "redirect to a bad name");
	f->redirected = 1;
	f->term = 0;
	f->rec.nterms = 0;
	f->rec.redirect = NULL;
	return spf_ask(c, f->domain, DNSQ_TXT, Q_TXT, 0);
}

/* Go on with the top frame's terms until a question is out or the result
 * is known. */
static int
spf_eval(struct spf_check *c)
{
	struct spf_frame *f;
	int rc;

	for (;;) {
		f = spf_top(c);
		if (f->term < f->rec.nterms)
			rc = spf_term_start(c);
		else if (f->rec.redirect != NULL)
			rc = spf_redirect(c);
		else
			rc = spf_frame_end(c, SPF_NEUTRAL);
		if (rc != STEP_NEXT)
			return rc;
	}
}

/* The TXT records of the top frame's domain: exactly one SPF record. */
static int
spf_on_txt(struct spf_check *c, const struct dnsq_answer *a)
{
	struct spf_frame *f = spf_top(c);
	const char *rec = NULL;
	char err[128];
	int i, n = 0;

	if (a->status == DNSQ_TEMPFAIL || a->status == DNSQ_PERMFAIL)
		return spf_stop(c, SPF_TEMPERROR, "DNS error for %s TXT",
		    f->domain);
	for (i = 0; a->status == DNSQ_OK && i < a->n && i < DNSQ_MAX_RR; i++)
		if (a->rr[i] != NULL && spf_is_record(a->rr[i])) {
			rec = a->rr[i];
			n++;
		}
	if (n == 0)
		return spf_frame_end(c, SPF_NONE);
	if (n > 1)
		return spf_stop(c, SPF_PERMERROR, "%d SPF records at %s", n,
		    f->domain);
	if (spf_record_parse(rec, &f->rec, err, sizeof(err)) == -1)
		return spf_stop(c, SPF_PERMERROR, "%s: %s", f->domain, err);
	f->term = 0;
	return STEP_NEXT;
}

/* The MX names of the mx term: each one's addresses, all asked at once. */
static int
spf_on_mx(struct spf_check *c, const struct dnsq_answer *a)
{
	int i, n = 0, rc;

	for (i = 0; i < a->n && i < DNSQ_MAX_RR; i++)
		n += a->rr[i] != NULL && a->rr[i][0] != '\0';
	if (n > SPF_MAX_NAMES)
		return spf_stop(c, SPF_PERMERROR, "more than %d MX names at %s",
		    SPF_MAX_NAMES, c->target);
	if (n == 0) /* a null MX (RFC 7505) */
		return spf_term_done(c, 0);
	for (i = 0; i < a->n && i < DNSQ_MAX_RR; i++) {
		if (a->rr[i] == NULL || a->rr[i][0] == '\0')
			continue;
		rc = spf_ask(c, a->rr[i], c->v6 ? DNSQ_AAAA : DNSQ_A, Q_MXADDR,
		    0);
		if (rc != STEP_WAIT)
			return rc;
	}
	return STEP_WAIT;
}

/* Does name end in the ptr term's target (c->target)? */
static int
spf_under_target(const struct spf_check *c, const char *name)
{
	size_t n = strlen(name), t = strlen(c->target);

	if (n > 0 && name[n - 1] == '.')
		n--;
	if (n < t || strncasecmp(name + n - t, c->target, t) != 0)
		return 0;
	return n == t || name[n - t - 1] == '.';
}

/* The names of the client address (the first 10, RFC 7208 4.6.4): those
 * in the target's domain are validated by asking their addresses (5.5). */
static int
spf_on_ptr(struct spf_check *c, const struct dnsq_answer *a)
{
	int i, asked = 0, rc;

	if (a->status != DNSQ_OK) /* 5.5: a DNS error fails to match */
		return spf_term_done(c, 0);
	for (i = 0; i < a->n && i < DNSQ_MAX_RR && i < SPF_MAX_NAMES; i++) {
		if (a->rr[i] == NULL || !spf_under_target(c, a->rr[i]))
			continue;
		asked++;
		rc = spf_ask(c, a->rr[i], c->v6 ? DNSQ_AAAA : DNSQ_A, Q_PTRADDR,
		    i);
		if (rc != STEP_WAIT)
			return rc;
	}
	return asked ? STEP_WAIT : spf_term_done(c, 0);
}

static int
spf_void_status(enum dnsq_status s)
{
	return s == DNSQ_NXDOMAIN || s == DNSQ_NODATA;
}

static int
spf_on_answer(struct spf_check *c, const struct spf_q *q,
    const struct dnsq_answer *a)
{
	struct spf_frame *f = spf_top(c);
	struct spf_term *t = &f->rec.terms[f->term];
	int err = a->status == DNSQ_TEMPFAIL || a->status == DNSQ_PERMFAIL;

	switch (q->kind) {
	case Q_TXT:
		return spf_on_txt(c, a);
	case Q_A:
	case Q_EXISTS:
	case Q_MX:
		if (err)
			return spf_stop(c, SPF_TEMPERROR, "DNS error for %s",
			    c->target);
		if (spf_void_status(a->status))
			return spf_void(c);
		if (q->kind == Q_MX)
			return spf_on_mx(c, a);
		return spf_term_done(c,
		    q->kind == Q_EXISTS ||
			spf_addr_match(c, a, spf_term_bits(c, t)));
	case Q_MXADDR:
		if (a->status == DNSQ_OK &&
		    spf_addr_match(c, a, spf_term_bits(c, t))) {
			spf_cancel_all(c); /* one host is enough */
			return spf_term_done(c, 1);
		}
		c->tempfail |= err;
		if (c->npend > 0)
			return STEP_WAIT;
		if (c->tempfail)
			return spf_stop(c, SPF_TEMPERROR,
			    "DNS error for an MX host of %s", c->target);
		return spf_term_done(c, 0);
	case Q_PTR:
		if (spf_void_status(a->status))
			return spf_void(c);
		return spf_on_ptr(c, a);
	case Q_PTRADDR:
		/* A name whose addresses include the client's is validated,
		 * and it is in the target domain: a match. Errors skip it. */
		if (a->status == DNSQ_OK &&
		    spf_addr_match(c, a, c->v6 ? 128 : 32)) {
			spf_cancel_all(c);
			return spf_term_done(c, 1);
		}
		return c->npend > 0 ? STEP_WAIT : spf_term_done(c, 0);
	}
	return spf_stop(c, SPF_PERMERROR, "unexpected answer");
}

static void
spf_answer(const struct dnsq_answer *a, void *arg)
{
	struct spf_q *q = arg;
	struct spf_check *c = q->c;
	int rc;

	q->h = 0;
	c->npend--;
	rc = spf_on_answer(c, q, a);
	if (rc == STEP_NEXT)
		rc = spf_eval(c);
	if (rc == STEP_END)
		spf_end(c);
}

/* %{i}: dotted IPv4, or the 32 nibbles of IPv6 with dots (RFC 7208 7.3) */
static void
spf_ip_dots(struct spf_check *c)
{
	static const char hex[] = "0123456789abcdef";
	char *p = c->ip_dots;
	int i;

	if (!c->v6) {
		snprintf(c->ip_dots, sizeof(c->ip_dots), "%u.%u.%u.%u",
		    c->addr[0], c->addr[1], c->addr[2], c->addr[3]);
		return;
	}
	for (i = 0; i < 16; i++) {
		*p++ = hex[c->addr[i] >> 4];
		*p++ = '.';
		*p++ = hex[c->addr[i] & 15];
		*p++ = i < 15 ? '.' : '\0';
	}
}

/* An address as text into 16 bytes; IPv4-mapped IPv6 is IPv4 (RFC 7208
 * 5: compared as the IPv4 address it carries). Returns 0 (v4), 1 (v6),
 * -1. */
static int
spf_parse_ip(const char *ip, unsigned char *addr)
{
	static const unsigned char mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff };

	memset(addr, 0, 16);
	if (inet_pton(AF_INET, ip, addr) == 1)
		return 0;
	if (inet_pton(AF_INET6, ip, addr) != 1)
		return -1;
	if (memcmp(addr, mapped, 12) == 0) {
		memmove(addr, addr + 12, 4);
		memset(addr + 4, 0, 12);
		return 0;
	}
	return 1;
}

int
spf_ptr_name(const char *ip, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char a[16];
	size_t len = 0;
	int v6, i;

	if ((v6 = spf_parse_ip(ip, a)) == -1 || outlen < 74)
		return -1;
	if (!v6) {
		snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
		return 0;
	}
	for (i = 15; i >= 0; i--) {
		out[len++] = hex[a[i] & 15];
		out[len++] = '.';
		out[len++] = hex[a[i] >> 4];
		out[len++] = '.';
	}
	memcpy(out + len, "ip6.arpa", 9);
	return 0;
}

/* The sender (RFC 7208 4.3): no local-part is "postmaster"; a null
 * reverse-path is postmaster@helo (2.4). Returns -1 if it cannot be
 * evaluated (too long): the result is then none. */
static int
spf_set_sender(struct spf_check *c, const char *mail_from)
{
	const char *at;
	size_t llen;

	if (mail_from == NULL || *mail_from == '\0') {
		snprintf(c->local, sizeof(c->local), "postmaster");
		snprintf(c->sender_dom, sizeof(c->sender_dom), "%s", c->helo);
	} else {
		if (strlen(mail_from) >= SPF_SENDER_MAX)
			return -1;
		if ((at = strrchr(mail_from, '@')) == NULL)
			return -1;
		llen = (size_t)(at - mail_from);
		if (llen == 0)
			snprintf(c->local, sizeof(c->local), "postmaster");
		else
			snprintf(c->local, sizeof(c->local), "%.*s", (int)llen,
			    mail_from);
		if (strlen(at + 1) >= sizeof(c->sender_dom))
			return -1;
		snprintf(c->sender_dom, sizeof(c->sender_dom), "%s", at + 1);
	}
	if (spf_domain_canon(c->sender_dom, c->domain, 1) == -1)
		return -1;
	memcpy(c->sender_dom, c->domain, sizeof(c->sender_dom));
	snprintf(c->sender, sizeof(c->sender), "%s@%s", c->local,
	    c->sender_dom);
	return 0;
}

static struct spf_check *
spf_start(struct dnsq *dq, const char *client_ip, const char *helo,
    const char *mail_from, void (*done)(struct spf_check *, void *), void *arg)
{
	struct spf_check *c;
	int v6, rc;

	if (client_ip == NULL || strlen(client_ip) >= INET6_ADDRSTRLEN)
		return NULL;
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;
	if ((v6 = spf_parse_ip(client_ip, c->addr)) == -1) {
		free(c);
		return NULL;
	}
	c->dq = dq;
	c->done = done;
	c->arg = arg;
	c->v6 = v6;
	inet_ntop(v6 ? AF_INET6 : AF_INET, c->addr, c->ip, sizeof(c->ip));
	spf_ip_dots(c);
	if (helo == NULL || strlen(helo) >= sizeof(c->helo))
		helo = "";
	/* The HELO name as the macros see it, lower case like the rest. */
	for (rc = 0; helo[rc] != '\0'; rc++)
		c->helo[rc] = (char)tolower((unsigned char)helo[rc]);
	c->in_start = 1;
	if (spf_set_sender(c, mail_from) == -1) {
		c->domain[0] = '\0';
		spf_stop(c, SPF_NONE, "no valid domain to evaluate");
	} else if ((rc = spf_push(c, c->domain)) == STEP_NEXT) {
		spf_eval(c); /* not reached: a push asks or stops */
	}
	c->in_start = 0;
	return c;
}

struct spf_check *
spf_check_start(struct dnsq *dq, const char *client_ip, const char *helo,
    const char *mail_from, void (*done)(struct spf_check *, void *), void *arg)
{
	return spf_start(dq, client_ip, helo,
	    mail_from != NULL ? mail_from : "", done, arg);
}

struct spf_check *
spf_check_start_helo(struct dnsq *dq, const char *client_ip, const char *helo,
    void (*done)(struct spf_check *, void *), void *arg)
{
	return spf_start(dq, client_ip, helo, "", done, arg);
}

void
spf_check_free(struct spf_check *c)
{
	if (c == NULL)
		return;
	spf_cancel_all(c);
	while (c->depth > 0)
		spf_pop(c);
	free(c);
}

int
spf_check_finished(const struct spf_check *c)
{
	return c->finished;
}

enum spf_result
spf_check_result(const struct spf_check *c)
{
	return c->finished ? c->result : SPF_TEMPERROR;
}

const char *
spf_check_domain(const struct spf_check *c)
{
	return c->domain;
}

const char *
spf_check_sender(const struct spf_check *c)
{
	return c->sender;
}

const char *
spf_check_reason(const struct spf_check *c)
{
	return c->reason;
}

int
spf_check_lookups(const struct spf_check *c)
{
	return c->lookups;
}

int
spf_check_voids(const struct spf_check *c)
{
	return c->voids;
}
