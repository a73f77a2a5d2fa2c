/*
 * forward: a user's forwarding, as the queue does it. At load (on a
 * worker) a recipient that is the mailbox of a user with confirmed
 * targets gets a plan: the targets, the mode, and whether the message
 * has passed through this user's forwarding before (its Delivered-To:,
 * Postfix's loop check: then 5.4.6, a DSN). At delivery a worker writes
 * the forwarded copy as a new message in the spool (the envelope sender
 * rewritten by SRS, the targets as its recipients, Delivered-To: and an
 * ARC set on top, nothing else changed) and, for a user who keeps a
 * copy, the mailbox copy as another (mailbox only); only then is the
 * recipient finished, so a crash repeats the copies, never loses them.
 * Each copy is then queued, retried and bounced like any message.
 * Junk (spam, DMARC quarantine) is never forwarded: it goes to the
 * user's Junk folder. The copies to one target domain are counted per
 * clock hour ([forward] max_per_domain_per_hour): over it they wait.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "qmgr_int.h"
#include "../dkim/arc.h"
#include "../forward/srs.h"
#include "../mail/trace.h"
#include "../store/store.h"
#include "../store/thread.h"
#include "../util/buf.h"
#include "../util/log.h"
#include "../util/str.h"

void
fwd_plan_free(struct fwd_plan *p)
{
	if (p == NULL)
		return;
	free(p->targets);
	free(p);
}

struct fwd_plan *
fwd_plan_load(struct store *st, const struct qload *ld, const char *mbox)
{
	struct store_strings t = { NULL, 0 };
	struct store_user u;
	struct fwd_plan *p = NULL;
	struct addr a;
	char err[160];
	size_t k;
	int only = 0, rc;

	/* a kept copy, or a mailbox copy of its own: no second round */
	if (ld->env.mailbox_only ||
	    addr_parse(mbox, &a, err, sizeof(err)) == -1)
		return NULL;
	if ((rc = store_user_get(st, &a, &u)) == STORE_NOTFOUND)
		return NULL; /* removed since: route_rcpt's answer stands */
	if (rc != 0 || store_forward_mode_get(st, u.id, &only) != 0 ||
	    store_forward_targets(st, u.id, &t) != 0) {
		/* not a reason to keep a forward-only user's mail: later */
		if ((p = calloc(1, sizeof(*p))) != NULL)
			p->error = 1;
		goto out;
	}
	if (t.n == 0)
		goto out;
	if (ld->env.junk) {
		char la[LOG_ADDR_MAX];
		/* spam stays here, in the Junk folder, whatever the mode */
		log_info("forward.skip queue=%s user=<%s> reason=junk "
			 "targets=%zu",
		    ld->env.id, log_addr(la, sizeof(la), mbox), t.n);
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL ||
	    (p->targets = calloc(t.n, sizeof(*p->targets))) == NULL) {
		fwd_plan_free(p);
		p = NULL;
		goto out;
	}
	for (k = 0; k < t.n; k++)
		str_lcpy(p->targets[k], t.v[k], sizeof(p->targets[k]));
	p->n = (int)t.n;
	p->only = only;
	str_lcpy(p->domain, u.domain, sizeof(p->domain));
	/* it came through this forwarding (Postfix's loop check), or
	 * through more forwarders than ARC can count */
	p->loop = trace_delivered_to(ld->data + ld->siglen,
		      ld->len - ld->siglen, mbox) ||
		  trace_count(ld->data + ld->siglen, ld->len - ld->siglen,
		      "ARC-Seal") >= ARC_MAX_SETS;
out:
	store_strings_free(&t);
	return p;
}

/* ---- the copies, written on a worker ---- */

/* The envelope sender of the forwarded copy: SRS through the user's
 * domain, so SPF passes at the target; the null sender stays null. */
static int
fwd_sender(const char *from, const char *domain, char *out, size_t len)
{
	const struct srs_key *k = srs_key_current();
	char la[LOG_ADDR_MAX];

	if (from[0] == '\0') {
		out[0] = '\0';
		return 0;
	}
	/* without a key (never in the server: it is made at start) or for
	 * what SRS cannot write (a quoted local part, a result over 64
	 * bytes), the copy keeps the sender: SPF may fail at the target,
	 * but the mail and its bounces still go */
	if (k == NULL ||
	    srs_forward(k, from, domain, time(NULL), out, len) == -1) {
		log_warnx("forward.srs sender=<%s> error=\"cannot rewrite: "
			  "the copy keeps its sender\"",
		    log_addr(la, sizeof(la), from));
		str_lcpy(out, from, len);
	}
	return 0;
}

/*
 * The copy's header lines above the message: the ARC set on top, then
 * Delivered-To: (the loop check's mark), which the set covers as it
 * covers what is below. The seal's cv=: none for a message with no
 * chain; for a chain it came with, what the MX's validation said
 * (arc= in our Authentication-Results); pass for one of our own copies
 * forwarded again here (its chain is the one we made, unchanged since).
 */
static int
fwd_prefix(struct store *st, const struct qload *ld, const struct fwd_plan *p,
    const char *mbox, const char *hostname, struct buf *b)
{
	const char *msg = ld->data + ld->siglen;
	size_t len = ld->len - ld->siglen;
	char authres[ARC_AUTHRES_MAX];
	struct dkim_key *key;
	struct buf whole, set;
	int sets, cv, rc = -1;

	if (buf_printf(b, "Delivered-To: %s\r\n", mbox) == -1)
		return -1;
	/* mail from a user here has no results of the MX: none to carry */
	if (trace_authres(msg, len, hostname, authres, sizeof(authres)) == -1)
		snprintf(authres, sizeof(authres), "%s; none", hostname);
	sets = trace_count(msg, len, "ARC-Seal");
	cv = sets == 0		       ? ARC_CV_NONE
	     : ld->env.forwarded_by[0] ? ARC_CV_PASS
				       : arc_cv_of(authres);
	if ((key = queue_arc_key(st, p->domain)) == NULL) {
		log_warnx("forward.arc queue=%s domain=%s result=skipped "
			  "reason=\"no RSA DKIM key to seal with\"",
		    ld->env.id, p->domain);
		return 0;
	}
	buf_init(&whole, b->len + len + 1);
	buf_init(&set, 65536);
	if (buf_append(&whole, b->data, b->len) == -1 ||
	    buf_append(&whole, msg, len) == -1)
		goto out;
	if (arc_sign(key, whole.data, whole.len, authres, cv, time(NULL),
		&set) == -1) {
		log_warnx("forward.arc queue=%s domain=%s result=failed",
		    ld->env.id, p->domain);
		rc = 0; /* forwarded without a set: better than not at all */
		goto out;
	}
	/* the set goes on top of what it sealed */
	if (buf_append(&set, b->data, b->len) == -1)
		goto out;
	buf_reset(b);
	rc = buf_append(b, set.data, set.len);
out:
	buf_free(&whole);
	buf_free(&set);
	return rc;
}

struct fwd_job {
	struct worker_job base;
	struct qmsg *m;
	int n;	  /* recipients forwarded in this job */
	int *idx; /* their indexes */
	int *rc;  /* 0 done, -1 failed (deferred) */
	char (*copy)[SPOOL_ID_LEN + 1];
	char (*keep)[SPOOL_ID_LEN + 1];
	char (*from)[ADDR_MAX + 1];
	char hostname[256]; /* our authserv-id */
};

/* Write one message: env's fields, the given recipients, the text of
 * prefix then msg. Its id in id. */
static int
fwd_write(struct spool_env *e, struct spool_rcpt *r, int nr, const char *prefix,
    size_t plen, const char *msg, size_t len, char id[SPOOL_ID_LEN + 1])
{
	struct iovec iov[2];

	spool_new_id(e->id);
	e->time = qmgr_now();
	e->rcpts = r;
	e->nrcpt = nr;
	iov[0].iov_base = (void *)prefix;
	iov[0].iov_len = plen;
	iov[1].iov_base = (void *)msg;
	iov[1].iov_len = len;
	if (spool_write(e, iov, 2) == -1)
		return -1;
	str_lcpy(id, e->id, SPOOL_ID_LEN + 1);
	return 0;
}

static int
fwd_one(struct fwd_job *fj, int k)
{
	struct qload *ld = fj->m->ld;
	int i = fj->idx[k];
	const struct fwd_plan *p = ld->fwd[i];
	const char *mbox = ld->mbox[i];
	const char *msg = ld->data + ld->siglen;
	size_t len = ld->len - ld->siglen;
	struct spool_rcpt *rs = NULL, keep;
	struct spool_env e;
	struct buf pre;
	int t, rc = -1;

	if ((rs = calloc((size_t)p->n, sizeof(*rs))) == NULL)
		return -1;
	buf_init(&pre, 1 << 20);
	if (fwd_sender(ld->env.from, p->domain, fj->from[k],
		sizeof(fj->from[k])) == -1 ||
	    fwd_prefix(store_thread(), ld, p, mbox, fj->hostname, &pre) == -1)
		goto out;
	/* the copy: a message of its own, to every target */
	e = ld->env;
	str_lcpy(e.from, fj->from[k], sizeof(e.from));
	e.auth[0] = '\0'; /* no one's quota, no one's refusals */
	e.junk = 0;
	e.mailbox_only = 0;
	str_lcpy(e.forwarded_by, mbox, sizeof(e.forwarded_by));
	str_lcpy(e.ip, "127.0.0.1", sizeof(e.ip));
	for (t = 0; t < p->n; t++) {
		str_lcpy(rs[t].addr, p->targets[t], sizeof(rs[t].addr));
		str_lcpy(rs[t].notify, ld->env.rcpts[i].notify,
		    sizeof(rs[t].notify));
	}
	if (fwd_write(&e, rs, p->n, pre.data, pre.len, msg, len, fj->copy[k]) ==
	    -1)
		goto out;
	/* the mailbox's copy, unchanged: into the mailbox only */
	if (!p->only) {
		e = ld->env;
		e.mailbox_only = 1;
		keep = ld->env.rcpts[i];
		if (fwd_write(&e, &keep, 1, "", 0, msg, len, fj->keep[k]) == -1)
			goto out;
	}
	rc = 0;
out:
	buf_free(&pre);
	free(rs);
	return rc;
}

static void
fwd_job_run(struct worker_job *j, void *ctx)
{
	struct fwd_job *fj = (struct fwd_job *)j;
	int k;

	(void)ctx;
	for (k = 0; k < fj->n; k++)
		fj->rc[k] = fwd_one(fj, k);
}

static void
fwd_job_free(struct fwd_job *fj)
{
	free(fj->idx);
	free(fj->rc);
	free(fj->copy);
	free(fj->keep);
	free(fj->from);
	free(fj);
}

static void
fwd_job_done(struct worker_job *j)
{
	struct fwd_job *fj = (struct fwd_job *)j;
	struct qmsg *m = fj->m;
	struct qload *ld = m->ld;
	char la[LOG_ADDR_MAX], lt[LOG_ADDR_MAX], lf[LOG_ADDR_MAX];
	int k, t;

	if (q.stopping) {
		fwd_job_free(fj);
		return;
	}
	for (k = 0; k < fj->n; k++) {
		int i = fj->idx[k];
		struct qrcpt *r = &ld->r[i];
		const struct fwd_plan *p = ld->fwd[i];
		r->forwarding = 0;
		str_lcpy(r->host, "forward", sizeof(r->host));
		str_lcpy(r->tls, "none", sizeof(r->tls));
		if (fj->rc[k] == -1) {
			r->state = R_DEFERRED;
			r->code = 451;
			str_lcpy(r->text,
			    "451 4.3.0 the forwarded copy could not be queued",
			    sizeof(r->text));
			continue;
		}
		r->state = R_SENT;
		r->code = 250;
		snprintf(r->text, sizeof(r->text),
		    "250 2.0.0 forwarded as %s to %d address(es)%s%s",
		    fj->copy[k], p->n, p->only ? "" : ", kept as ",
		    p->only ? "" : fj->keep[k]);
		/* out of memory: found by the next start or flush */
		(void)qmsg_add(fj->copy[k], qmgr_now());
		if (!p->only)
			(void)qmsg_add(fj->keep[k], qmgr_now());
		for (t = 0; t < p->n; t++)
			log_info("forward.copy queue=%s copy=%s user=<%s> "
				 "to=<%s> from=<%s>",
			    m->node.id, fj->copy[k],
			    log_addr(la, sizeof(la), ld->mbox[i]),
			    log_addr(lt, sizeof(lt), p->targets[t]),
			    log_addr(lf, sizeof(lf), fj->from[k]));
		if (!p->only)
			log_info("forward.keep queue=%s copy=%s user=<%s>",
			    m->node.id, fj->keep[k],
			    log_addr(la, sizeof(la), ld->mbox[i]));
	}
	fwd_job_free(fj);
	if (--m->groups == 0)
		qmgr_attempt_end(m);
}

void
forward_submit(struct qmsg *m)
{
	struct qload *ld = m->ld;
	struct fwd_job *fj = calloc(1, sizeof(*fj));
	int i, n = 0;

	for (i = 0; i < ld->env.nrcpt; i++)
		n += ld->r[i].forwarding;
	if (fj == NULL || (fj->idx = calloc((size_t)n, sizeof(int))) == NULL ||
	    (fj->rc = calloc((size_t)n, sizeof(int))) == NULL ||
	    (fj->copy = calloc((size_t)n, sizeof(*fj->copy))) == NULL ||
	    (fj->keep = calloc((size_t)n, sizeof(*fj->keep))) == NULL ||
	    (fj->from = calloc((size_t)n, sizeof(*fj->from))) == NULL) {
		if (fj)
			fwd_job_free(fj);
		for (i = 0; i < ld->env.nrcpt; i++)
			if (ld->r[i].forwarding) {
				ld->r[i].forwarding = 0;
				ld->r[i].state = R_DEFERRED;
				ld->r[i].code = 451;
				str_lcpy(ld->r[i].text, "out of memory",
				    sizeof(ld->r[i].text));
			}
		if (--m->groups == 0)
			qmgr_attempt_end(m);
		return;
	}
	for (i = 0; i < ld->env.nrcpt; i++)
		if (ld->r[i].forwarding)
			fj->idx[fj->n++] = i;
	fj->m = m;
	str_lcpy(fj->hostname, qmgr_conf()->hostname, sizeof(fj->hostname));
	fj->base.run = fwd_job_run;
	fj->base.done = fwd_job_done;
	fj->base.owner = m;
	workers_submit(q.wl, &fj->base);
}

/* ---- bounces of forwarded copies ---- */

int
forward_bounce_rcpt(struct store *st, char *addr, size_t len)
{
	const struct srs_key *k = srs_key_current();
	char out[ADDR_MAX + 1];
	struct store_domain d;
	const char *at;
	int hops, days = (int)(qmgr_conf()->srs_max_age / 86400);

	/* SRS1 names the first forwarder's SRS0: at most two steps here,
	 * a few more if both forwarders were ours */
	for (hops = 0; k && hops < 4 && srs_is_srs(addr); hops++) {
		if ((at = strrchr(addr, '@')) == NULL ||
		    store_domain_get(st, at + 1, &d) != 0 ||
		    srs_reverse(k, addr, time(NULL), days, out, sizeof(out)) !=
			0)
			break;
		str_lcpy(addr, out, len);
	}
	return hops;
}

/* ---- copies per target domain and clock hour ---- */

#define FWD_RATE_SLOTS 4096 /* domains counted at once; then the oldest go */

static struct fwd_rate {
	char domain[ADDR_DOMAIN_MAX + 1];
	int64_t hour, n;
} * fwd_rates;

int
forward_rate_over(const char *domain, int64_t now, int64_t max)
{
	int64_t hour = now / 3600;
	uint32_t h = 2166136261u;
	const unsigned char *c;
	struct fwd_rate *s, *victim = NULL;
	int k;

	if (fwd_rates == NULL &&
	    (fwd_rates = calloc(FWD_RATE_SLOTS, sizeof(*fwd_rates))) == NULL)
		return 0; /* out of memory: not a reason to hold mail */
	for (c = (const unsigned char *)domain; *c; c++)
		h = (h ^ *c) * 16777619u;
	/* 8-way probing; a slot of an hour gone is free */
	for (k = 0; k < 8; k++) {
		s = &fwd_rates[(h + (uint32_t)k) % FWD_RATE_SLOTS];
		if (s->hour == hour && strcmp(s->domain, domain) == 0) {
			if (s->n >= max)
				return 1;
			s->n++;
			return 0;
		}
		if (victim == NULL || s->hour < victim->hour)
			victim = s;
	}
	/* a full table of busy domains: the oldest is forgotten */
	str_lcpy(victim->domain, domain, sizeof(victim->domain));
	victim->hour = hour;
	victim->n = max > 0 ? 1 : 0;
	return max > 0 ? 0 : 1;
}

void
forward_rate_free(void)
{
	free(fwd_rates);
	fwd_rates = NULL;
}
