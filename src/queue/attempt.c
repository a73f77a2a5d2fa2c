/*
 * attempt: one try of one message. A worker loads the spool file (and
 * ID.state, the recipients already finished); the loop groups the
 * pending recipients by destination; the message is DKIM-signed (on a
 * worker) only if one of its destinations can be tried now, and each
 * group is handed to its destination. At the end a worker commits the
 * outcome: the DSN is in the spool before its recipients are marked, a
 * recipient is finished only once ID.state is fsynced, the message is
 * removed only when none is left. A crash repeats a step (a duplicate),
 * never loses one. Between attempts only the small struct qmsg stays.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/uio.h>

#include "bounce.h"
#include "qmgr_int.h"
#include "../store/thread.h"
#include "../util/log.h"
#include "../util/str.h"

static void qmsg_loaded(struct qmsg *, int cleared, int is_signed);
static void qmsg_deliver(struct qmsg *);

void
qmsg_unload(struct qmsg *m)
{
	if (m->ld == NULL)
		return;
	/* the plans first: their count is the envelope's */
	if (m->ld->fwd) {
		int i;
		for (i = 0; i < m->ld->env.nrcpt; i++)
			fwd_plan_free(m->ld->fwd[i]);
		free(m->ld->fwd);
	}
	spool_env_free(&m->ld->env);
	free(m->ld->data);
	free(m->ld->done);
	free(m->ld->r);
	free(m->ld->route);
	free(m->ld->mbox);
	free(m->ld);
	m->ld = NULL;
}

/* The attempt ends without an outcome to record: try again later. */
static void
qmsg_retry_later(struct qmsg *m, int64_t delay)
{
	qmsg_unload(m);
	if (m->busy) {
		m->busy = 0;
		qmgr_inflight_end();
	}
	qmsg_schedule(m, qmgr_now() + delay);
	qmsg_release_tries(m);
}

/* read (and sign) on a worker */

struct load_job {
	struct worker_job base;
	struct qmsg *m;
	char id[SPOOL_ID_LEN + 1];
	struct qload *ld; /* filled by a load; given by a sign */
	char hostname[256];
	int load, sign, route;
	int rc, held, err;
};

const char *
qload_rcpt_addr(const struct qload *ld, int i)
{
	if (ld->route != NULL && ld->route[i] == ROUTE_SRS)
		return ld->mbox[i];
	return ld->env.rcpts[i].addr;
}

int
qload_rcpt_is_local(const struct qload *ld, int i)
{
	return ld->route != NULL && ld->route[i] != ROUTE_REMOTE &&
	       ld->route[i] != ROUTE_SRS;
}

/* Each recipient's route (mailbox or not), on the worker: the store. An
 * SRS address's age is judged at the message's arrival, as the MX
 * judged it then: a bounce it took does not expire in the queue. */
static int
load_routes(struct qload *ld)
{
	int i, n = ld->env.nrcpt;

	if ((ld->route = calloc((size_t)n, sizeof(*ld->route))) == NULL ||
	    (ld->mbox = calloc((size_t)n, sizeof(*ld->mbox))) == NULL ||
	    (ld->fwd = calloc((size_t)n, sizeof(*ld->fwd))) == NULL)
		return -1;
	for (i = 0; i < n; i++)
		if (!ld->done[i]) {
			ld->route[i] =
			    (signed char)route_rcpt_at(store_thread(),
				ld->env.rcpts[i].addr, (time_t)ld->env.time,
				ld->mbox[i], sizeof(ld->mbox[i]));
			/* before the Junk folder's name: junk is never
			 * forwarded (forward.c) */
			if (ld->route[i] == ROUTE_MAILBOX)
				ld->fwd[i] = fwd_plan_load(store_thread(), ld,
				    ld->mbox[i]);
		}
	if (ld->env.junk)
		for (i = 0; i < n; i++)
			if (ld->route[i] == ROUTE_MAILBOX)
				route_folder(ld->mbox[i], sizeof(ld->mbox[i]),
				    ROUTE_JUNK_FOLDER);
	return 0;
}

static void
load_job_run(struct worker_job *j, void *ctx)
{
	struct load_job *l = (struct load_job *)j;
	struct qload *ld = l->ld;

	(void)ctx;
	if (l->load) {
		if ((l->held = spool_is_held(l->id)))
			return;
		l->rc =
		    spool_load(l->id, &ld->env, &ld->data, &ld->len, &ld->done);
		l->err = l->rc == -1 ? errno : 0;
		if (l->rc == 0 && l->route && load_routes(ld) == -1) {
			l->rc = -1;
			l->err = ENOMEM;
		}
	}
	if (l->rc == 0 && l->sign) {
		size_t before = ld->len;
		if (queue_sign(store_thread(), &ld->env, l->hostname, &ld->data,
			&ld->len) == -1)
			log_warnx("dkim.sign queue=%s error=\"signing failed, "
				  "sent unsigned\"",
			    l->id);
		/* the signature fields come first: the mailboxes' copy
		 * (never signed: it does not leave) starts after them */
		ld->siglen += ld->len - before;
	}
}

static void
load_job_done(struct worker_job *j)
{
	struct load_job *l = (struct load_job *)j;
	struct qmsg *m = l->m;
	int load = l->load, sign = l->sign, held = l->held, rc = l->rc;
	int err = l->err;

	free(l);
	if (q.stopping) /* no new work while stopping */
		return;
	if (!load) { /* signed */
		qmsg_deliver(m);
		return;
	}
	if (held) {
		qmsg_retry_later(m, 60);
		return;
	}
	if (rc == -1 && err == ENOENT) {
		/* deleted (queue delete): not ours any more */
		log_info("queue.drop queue=%s reason=\"not in the spool\"",
		    m->node.id);
		qmgr_inflight_end();
		qmsg_release_tries(m);
		qmsg_free(m);
		return;
	}
	if (rc == -1) {
		/* out of memory or descriptors, a torn file: try later */
		log_warnx("queue.load queue=%s error=\"%s\"", m->node.id,
		    strerror(err));
		qmsg_retry_later(m, 60);
		return;
	}
	m->time = m->ld->env.time;
	qmsg_loaded(m, sign || m->cleared, sign);
}

/* Load (and sign) m on a worker; -1 if the job cannot be made. */
static int
qmsg_submit(struct qmsg *m, int load, int sign)
{
	struct load_job *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return -1;
	if (load && m->ld == NULL &&
	    (m->ld = calloc(1, sizeof(*m->ld))) == NULL) {
		free(l);
		return -1;
	}
	l->m = m;
	l->ld = m->ld;
	l->load = load;
	l->sign = sign;
	l->route = load && q.lmtp_key[0];
	str_lcpy(l->id, m->node.id, sizeof(l->id));
	str_lcpy(l->hostname, qmgr_conf()->hostname, sizeof(l->hostname));
	l->base.run = load_job_run;
	l->base.done = load_job_done;
	l->base.owner = m;
	workers_submit(q.wl, &l->base);
	return 0;
}

/* All its destinations are down: deferred with no file read at all,
 * and parked on one of them so it goes as soon as that one is back. */
static void
qmsg_defer_down(struct qmsg *m, struct qdest *d)
{
	int64_t wait;

	qmsg_unload(m);
	if (m->busy) {
		m->busy = 0;
		qmgr_inflight_end();
	}
	if (!d->down) {
		/* another message's first connection to d will tell: no
		 * attempt counted, nothing to log yet. Either outcome
		 * releases it (destinations.c), read again so its recipients
		 * get the answer; the timer is only a backstop. */
		m->dests_known = 0;
		dest_park(d, m);
		qmsg_schedule(m, qmgr_now() + QMGR_TRY_MAX);
		return;
	}
	wait = qmgr_backoff(++m->attempts);
	log_info("queue.defer queue=%s dest=%s attempts=%d retry=%llds "
		 "reason=\"%s\"",
	    m->node.id, d->key, m->attempts, (long long)wait, d->why);
	dest_park(d, m);
	qmsg_schedule(m, qmgr_now() + wait);
}

static int
qmsg_expired(const struct qmsg *m, int64_t now)
{
	return now - m->time > qmgr_conf()->queue_max_age;
}

/* Does m go to a destination that is not the mailboxes (so it is to
 * be signed)? Before its first load, in smarthost mode: yes. */
static int
qmsg_goes_out(const struct qmsg *m)
{
	int i;

	if (!m->dests_known)
		return 1;
	for (i = 0; i < m->ndests; i++)
		if (!m->dests[i]->lmtp)
			return 1;
	return 0;
}

/* The scheduler's turn for m (not in the heap, not busy). */
void
qmsg_start(struct qmsg *m)
{
	const struct conf *cf = qmgr_conf();
	int64_t now = qmgr_now();
	struct qdest *wait_on;
	int known, sign = 0;

	qmsg_unpark(m);
	m->cleared = 0;
	known = cf->delivery_mode == CONF_DELIVERY_SMARTHOST || m->dests_known;
	if (cf->delivery_mode == CONF_DELIVERY_CAPTURE)
		sign = 1;
	else if (known) {
		if (qmsg_dests_avail(m, now, 1, &wait_on) == DEST_OK) {
			sign = qmsg_goes_out(m);
			m->cleared = 1;
		} else if (!qmsg_expired(m, now)) {
			qmsg_defer_down(m, wait_on);
			return;
		}
		/* expired: loaded for its DSN, not signed */
	}
	if (qmsg_submit(m, 1, sign) == -1) {
		qmsg_schedule(m, now + 60);
		return;
	}
	m->busy = 1;
	m->attempts++;
	q.inflight++;
	qmgr_inflight_begin();
}

/* Remember the destinations of the pending recipients (interned). */
static int
qmsg_set_dests(struct qmsg *m)
{
	struct qload *ld = m->ld;
	struct qdest **ds = NULL;
	int i, j, n = 0;

	for (i = 0; i < ld->env.nrcpt; i++) {
		struct qrcpt *r = &ld->r[i];
		if (r->state == R_SENT || r->state == R_FAILED ||
		    r->dest == NULL)
			continue;
		for (j = 0; j < n && ds[j] != r->dest; j++)
			;
		if (j < n)
			continue;
		if (n % 4 == 0) {
			struct qdest **g = realloc(ds, sizeof(*ds) * (n + 4));
			if (g == NULL) {
				free(ds);
				return -1;
			}
			ds = g;
		}
		ds[n++] = r->dest;
	}
	free(m->dests);
	m->dests = ds;
	m->ndests = n;
	m->dests_known = 1;
	return 0;
}

/* A recipient at a hosted domain: its mailbox over LMTP; no such user
 * is a permanent failure (5.1.1), a store failure a temporary one. */
static void
qmsg_route_local(struct qmsg *m, struct qrcpt *r)
{
	struct qload *ld = m->ld;

	switch (ld->route[r->idx]) {
	case ROUTE_MAILBOX:
		/* NULL (out of memory): deferred */
		r->dest = dest_get(q.lmtp_key);
		return;
	case ROUTE_NOUSER:
		r->state = R_FAILED;
		r->code = 550;
		str_lcpy(r->text, "550 5.1.1 no mailbox here by this name",
		    sizeof(r->text));
		return;
	case ROUTE_SRS_BAD:
	case ROUTE_SRS_EXPIRED:
		/* the MX took it: the SRS secret has changed since */
		r->state = R_FAILED;
		r->code = 550;
		str_lcpy(r->text,
		    ld->route[r->idx] == ROUTE_SRS_BAD
			? "550 5.1.1 forged or malformed SRS address"
			: "550 5.1.1 SRS address expired",
		    sizeof(r->text));
		return;
	default:
		r->state = R_DEFERRED;
		r->code = 451;
		str_lcpy(r->text, "451 4.3.0 mailbox look-up failed",
		    sizeof(r->text));
		return;
	}
}

/* A mailbox whose user forwards: the copies are written by the
 * forward job (no destination of its own), unless the message came
 * through this forwarding before: a loop, bounced. */
static void
qmsg_route_forward(struct qmsg *m, struct qrcpt *r)
{
	const struct fwd_plan *p = m->ld->fwd[r->idx];

	if (p->error) {
		r->state = R_DEFERRED;
		r->code = 451;
		str_lcpy(r->text, "451 4.3.0 forwarding look-up failed",
		    sizeof(r->text));
		return;
	}
	if (p->loop) {
		r->state = R_FAILED;
		r->code = 550;
		snprintf(r->text, sizeof(r->text),
		    "550 5.4.6 routing loop detected: this message was "
		    "forwarded by %.320s before",
		    m->ld->mbox[r->idx]);
		return;
	}
	r->forwarding = 1;
}

/* Loaded: each recipient's state and destination; then, unless its
 * start cleared it (its destinations were known and one up: signed with
 * the load if it goes out), sign only if one of them can be tried now. */
static void
qmsg_loaded(struct qmsg *m, int cleared, int is_signed)
{
	struct qload *ld = m->ld;
	const struct conf *cf = qmgr_conf();
	struct qdest *wait_on;
	int64_t now = qmgr_now();
	int i;

	if ((ld->r = calloc((size_t)ld->env.nrcpt, sizeof(*ld->r))) == NULL) {
		qmsg_retry_later(m, 60);
		return;
	}
	for (i = 0; i < ld->env.nrcpt; i++) {
		struct qrcpt *r = &ld->r[i];
		char key[ADDR_DOMAIN_MAX + 1];
		r->idx = i;
		r->state = ld->done[i] ? R_SENT : R_PENDING;
		if (r->state == R_PENDING && ld->fwd && ld->fwd[i]) {
			qmsg_route_forward(m, r);
			continue;
		}
		if (r->state == R_PENDING && qload_rcpt_is_local(ld, i)) {
			qmsg_route_local(m, r);
			continue;
		}
		/* capture: what would leave goes to the folder instead */
		if (cf->delivery_mode == CONF_DELIVERY_CAPTURE)
			continue;
		str_lcpy(key,
		    cf->delivery_mode == CONF_DELIVERY_SMARTHOST
			? "smarthost"
			: qmgr_domain_of(qload_rcpt_addr(ld, i)),
		    sizeof(key));
		str_ascii_lower(key);
		/* NULL (out of memory): that recipient is deferred */
		r->dest = dest_get(key);
		/* a forwarded copy: the target domain's hourly share */
		if (ld->env.forwarded_by[0] && r->state == R_PENDING &&
		    forward_rate_over(qmgr_domain_of(ld->env.rcpts[i].addr),
			now, cf->forward_domain_hour)) {
			r->state = R_DEFERRED;
			r->code = 451;
			snprintf(r->text, sizeof(r->text),
			    "451 4.7.1 forwarding to %.255s: over %lld copies "
			    "this hour, retried later",
			    qmgr_domain_of(ld->env.rcpts[i].addr),
			    (long long)cf->forward_domain_hour);
		}
	}
	if (cleared) {
		/* a destination it claimed at its start may be one it no
		 * longer has (its only recipient's user was removed): the
		 * next message waiting for it tries */
		qmsg_release_tries(m);
		if (cf->delivery_mode != CONF_DELIVERY_CAPTURE)
			(void)qmsg_set_dests(m);
		/* cleared for the mailboxes alone, it now goes out too (its
		 * domain is no longer hosted): signed first */
		if (!is_signed && qmsg_goes_out(m) && qmsg_submit(m, 0, 1) == 0)
			return;
		qmsg_deliver(m);
		return;
	}
	if (cf->delivery_mode == CONF_DELIVERY_CAPTURE) {
		if (qmsg_submit(m, 0, 1) == -1)
			qmsg_retry_later(m, 60);
		return;
	}
	if (qmsg_set_dests(m) == -1) {
		qmsg_retry_later(m, 60);
		return;
	}
	switch (qmsg_dests_avail(m, now, 1, &wait_on)) {
	case DEST_OK:
		/* only for the mailboxes: never signed */
		if (!qmsg_goes_out(m))
			qmsg_deliver(m);
		else if (qmsg_submit(m, 0, 1) == -1)
			qmsg_retry_later(m, 60);
		return;
	case DEST_DOWN:
		/* loaded already (its first time): each down destination
		 * answers at once with its last error, unsigned, and the
		 * attempt ends as usual (deferred, or expired: the DSN) */
		qmsg_deliver(m);
		return;
	case DEST_TRYING:
		/* another message's connection will tell: wait for it */
		m->attempts--; /* this was no attempt */
		qmsg_defer_down(m, wait_on);
		return;
	}
}

/* one destination's share of a message */

void
deliv_free(struct qdeliv *v)
{
	free(v->idx);
	free(v->rcpts);
	free(v->rcode);
	free(v->rtext);
	free(v->prefix);
	free(v);
}

/* The mailbox's reply names the user's own address; the sender wrote
 * to an alias, and learns no more than that from a DSN. */
static void
text_unalias(char *text, size_t len, const char *mbox, const char *orig)
{
	char out[REPLY_TEXT_MAX];
	const char *p;
	size_t pre;

	if (mbox[0] == '\0' || strcasecmp(mbox, orig) == 0 ||
	    (p = strcasestr(text, mbox)) == NULL)
		return;
	pre = (size_t)(p - text);
	if (pre >= sizeof(out))
		return;
	memcpy(out, text, pre);
	out[pre] = '\0';
	str_lcpy(out + pre, orig, sizeof(out) - pre);
	if (strlen(out) + strlen(p + strlen(mbox)) < sizeof(out))
		strcat(out, p + strlen(mbox));
	str_lcpy(text, out, len);
}

void
deliv_done(struct qdeliv *v)
{
	struct qmsg *m = v->m;
	int i;

	for (i = 0; i < v->n; i++) {
		struct qrcpt *r = &m->ld->r[v->idx[i]];
		int code = v->rcode[i];
		r->code = code;
		str_lcpy(r->text, v->rtext[i], sizeof(r->text));
		if (v->d->lmtp && m->ld->mbox)
			text_unalias(r->text, sizeof(r->text),
			    m->ld->mbox[r->idx], m->ld->env.rcpts[r->idx].addr);
		r->state = code / 100 == 2   ? R_SENT
			   : code / 100 == 5 ? R_FAILED
					     : R_DEFERRED;
	}
	deliv_free(v);
	if (--m->groups == 0)
		qmgr_attempt_end(m);
}

static struct qdeliv *
deliv_new(struct qmsg *m, int n)
{
	struct qdeliv *v;

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return NULL;
	v->m = m;
	v->idx = calloc((size_t)n, sizeof(*v->idx));
	v->rcpts = calloc((size_t)n, sizeof(*v->rcpts));
	v->rcode = calloc((size_t)n, sizeof(*v->rcode));
	v->rtext = calloc((size_t)n, sizeof(*v->rtext));
	if (!v->idx || !v->rcpts || !v->rcode || !v->rtext) {
		deliv_free(v);
		return NULL;
	}
	return v;
}

/*
 * Recipient i's delivery to its mailbox: RCPT TO the user's own
 * address, the recipient as written kept in ORCPT (where the server
 * offers DSN) and in X-Original-To when it differs (an alias, a domain
 * alias); the message unsigned. Return-Path and Delivered-To are the
 * LMTP server's to add (Dovecot writes both, from MAIL FROM and from
 * the one RCPT TO): written here too, they would be there twice.
 */
static struct qdeliv *
deliv_lmtp(struct qmsg *m, int i)
{
	struct qload *ld = m->ld;
	const char *orig = ld->env.rcpts[i].addr;
	struct qdeliv *v;

	if ((v = deliv_new(m, 1)) == NULL)
		return NULL;
	if (strcasecmp(orig, ld->mbox[i]) != 0) {
		size_t cap = strlen(orig) + 32;
		if ((v->prefix = malloc(cap)) == NULL) {
			deliv_free(v);
			return NULL;
		}
		/* the address was accepted by the session: no CR, LF */
		v->txn.prefixlen = (size_t)snprintf(v->prefix, cap,
		    "X-Original-To: %s\r\n", orig);
		v->txn.prefix = v->prefix;
	}
	v->idx[0] = i;
	v->rcpts[0] = ld->mbox[i];
	v->orcpt[0] = orig;
	v->n = 1;
	v->d = ld->r[i].dest;
	v->txn.from = ld->env.from;
	v->txn.nrcpt = 1;
	v->txn.rcpts = v->rcpts;
	v->txn.orcpts = v->orcpt;
	v->txn.data = ld->data + ld->siglen;
	v->txn.len = ld->len - ld->siglen;
	v->txn.eightbit = strcmp(ld->env.body, "8BITMIME") == 0;
	v->txn.smtputf8 = ld->env.smtputf8;
	v->txn.rcpt_code = v->rcode;
	v->txn.rcpt_text = v->rtext;
	return v;
}

/* Group the pending recipients by destination and hand each over. */
static void
qmsg_deliver(struct qmsg *m)
{
	struct qload *ld = m->ld;
	int capture = qmgr_conf()->delivery_mode == CONF_DELIVERY_CAPTURE;
	int i, j, n, ncapture = 0, nforward = 0;

	for (i = 0; i < ld->env.nrcpt; i++)
		if (ld->r[i].state == R_PENDING) {
			ld->r[i].state = R_INFLIGHT;
			ld->r[i].grouped = 0;
		}
	m->groups = 1; /* held until every group is handed over */
	for (i = 0; i < ld->env.nrcpt; i++) {
		struct qrcpt *ri = &ld->r[i];
		struct qdeliv *v;
		if (ri->state != R_INFLIGHT || ri->grouped)
			continue;
		/* capture mode: all but the mailboxes' recipients */
		if (capture && !qload_rcpt_is_local(ld, i)) {
			ri->grouped = ri->captured = 1;
			ncapture++;
			continue;
		}
		if (ri->forwarding) {
			ri->grouped = 1;
			nforward++;
			continue;
		}
		if (ri->dest == NULL) {
			ri->state = R_DEFERRED;
			str_lcpy(ri->text, "out of memory", sizeof(ri->text));
			continue;
		}
		if (ri->dest->lmtp) {
			/* a transaction per mailbox: its copy names it */
			if ((v = deliv_lmtp(m, i)) == NULL) {
				ri->state = R_DEFERRED;
				str_lcpy(ri->text, "out of memory",
				    sizeof(ri->text));
				continue;
			}
			ri->grouped = 1;
			m->groups++;
			dest_submit(v);
			continue;
		}
		for (n = 0, j = i; j < ld->env.nrcpt; j++)
			n += ld->r[j].state == R_INFLIGHT &&
			     !ld->r[j].grouped && ld->r[j].dest == ri->dest;
		if ((v = deliv_new(m, n)) == NULL) {
			ri->state = R_DEFERRED;
			str_lcpy(ri->text, "out of memory", sizeof(ri->text));
			continue;
		}
		for (j = i; j < ld->env.nrcpt; j++) {
			struct qrcpt *rj = &ld->r[j];
			if (rj->state != R_INFLIGHT || rj->grouped ||
			    rj->dest != ri->dest)
				continue;
			rj->grouped = 1;
			v->idx[v->n] = j;
			v->rcpts[v->n] = qload_rcpt_addr(ld, j);
			v->n++;
		}
		v->d = ri->dest;
		v->txn.from = ld->env.from;
		v->txn.nrcpt = v->n;
		v->txn.rcpts = v->rcpts;
		v->txn.data = ld->data;
		v->txn.len = ld->len;
		v->txn.eightbit = strcmp(ld->env.body, "8BITMIME") == 0;
		v->txn.smtputf8 = ld->env.smtputf8;
		/* the mailboxes are here: the message goes no further */
		v->txn.requiretls = ld->env.requiretls && !v->d->lmtp;
		v->txn.rcpt_code = v->rcode;
		v->txn.rcpt_text = v->rtext;
		m->groups++;
		dest_submit(v);
	}
	if (ncapture > 0) {
		m->groups++;
		capture_submit(m);
	}
	if (nforward > 0) {
		m->groups++;
		forward_submit(m);
	}
	if (--m->groups == 0)
		qmgr_attempt_end(m);
}

/* the end of an attempt: bounce, record, reschedule */

struct commit_job {
	struct worker_job base;
	struct qmsg *m;
	int *finished, nfinished;
	struct bounce_rcpt *failed;
	int nfailed;
	int all_done;
	int nrefused; /* refused by a remote server (5xx) */
	char hostname[256];
	char dsn_id[SPOOL_ID_LEN + 1];
	struct buf notes; /* "note IDX ..." lines for `queue show` */
	int rc;
};

void
qmgr_on_refused(void (*fn)(void *thread_ctx, const char *login, int n))
{
	q.refused_fn = fn;
}

static void
commit_job_run(struct worker_job *j, void *ctx)
{
	struct commit_job *cj = (struct commit_job *)j;
	struct qmsg *m = cj->m;
	struct qload *ld = m->ld;

	cj->rc = 0;
	if (cj->nrefused > 0 && ld->env.auth[0] && q.refused_fn)
		q.refused_fn(ctx, ld->env.auth, cj->nrefused);
	if (cj->nfailed > 0) {
		struct spool_env e;
		struct spool_rcpt r;
		struct buf b;
		struct iovec iov;
		buf_init(&b, 1024 * 1024);
		if (bounce_build(&ld->env, ld->data, ld->len, cj->failed,
			cj->nfailed, cj->hostname, qmgr_now(), &b) == 0) {
			memset(&e, 0, sizeof(e));
			memset(&r, 0, sizeof(r));
			spool_new_id(e.id);
			e.time = qmgr_now();
			str_lcpy(e.ip, "127.0.0.1", sizeof(e.ip));
			str_lcpy(e.body, "7BIT", sizeof(e.body));
			str_lcpy(r.addr, ld->env.from, sizeof(r.addr));
			/* a forwarded copy's: to its original sender */
			(void)forward_bounce_rcpt(store_thread(), r.addr,
			    sizeof(r.addr));
			e.nrcpt = 1;
			e.rcpts = &r;
			iov.iov_base = b.data;
			iov.iov_len = b.len;
			/* the bounce is safe before the failure is marked */
			if (spool_write(&e, &iov, 1) == 0)
				str_lcpy(cj->dsn_id, e.id, sizeof(cj->dsn_id));
			else
				cj->rc = -1;
		} else {
			cj->rc = -1;
		}
		buf_free(&b);
	}
	/* when every recipient is finished, removing the message is the
	 * record: no state file to write and fsync first */
	if (cj->rc == 0 && cj->notes.len > 0 && !cj->all_done)
		(void)spool_note(m->node.id, cj->notes.data, cj->notes.len);
	if (cj->rc == 0 && cj->nfinished > 0 && !cj->all_done &&
	    spool_mark_done(m->node.id, cj->finished, cj->nfinished) == -1)
		cj->rc = -1;
	if (cj->rc == 0 && cj->all_done)
		spool_remove(m->node.id);
}

static void
commit_job_done(struct worker_job *j)
{
	struct commit_job *cj = (struct commit_job *)j;
	struct qmsg *m = cj->m;
	int all = cj->all_done && cj->rc == 0;
	struct qdest *wait_on;

	if (q.stopping) {
		buf_free(&cj->notes);
		free(cj->finished);
		free(cj->failed);
		free(cj);
		return;
	}
	if (cj->dsn_id[0]) {
		char la[LOG_ADDR_MAX];
		/* out of memory: found by the next start or flush */
		(void)qmsg_add(cj->dsn_id, qmgr_now());
		log_info("queue.bounce queue=%s dsn=%s to=<%s>", m->node.id,
		    cj->dsn_id, log_addr(la, sizeof(la), m->ld->env.from));
	}
	buf_free(&cj->notes);
	free(cj->finished);
	free(cj->failed);
	free(cj);
	qmgr_inflight_end();
	m->busy = 0;
	if (all) {
		log_info("queue.done queue=%s", m->node.id);
		qmsg_free(m);
	} else {
		/* what is left waits on its destinations; if they are all
		 * down it is parked on one, to go as soon as it is back */
		if (qmgr_conf()->delivery_mode != CONF_DELIVERY_CAPTURE &&
		    qmsg_set_dests(m) == 0 &&
		    qmsg_dests_avail(m, qmgr_now(), 0, &wait_on) != DEST_OK &&
		    wait_on != NULL)
			dest_park(wait_on, m);
		qmsg_unload(m);
		qmsg_schedule(m, qmgr_now() + qmgr_backoff(m->attempts));
	}
	qmgr_pass();
}

void
qmgr_attempt_end(struct qmsg *m)
{
	struct qload *ld = m->ld;
	struct commit_job *cj;
	int64_t now = qmgr_now();
	int expired = qmsg_expired(m, now);
	int i, n = ld->env.nrcpt, remaining = 0;

	if (q.stopping) {
		/* stopping: the outcome is not recorded, the next start
		 * tries again (at worst a duplicate, never a loss) */
		return;
	}
	if ((cj = calloc(1, sizeof(*cj))) == NULL ||
	    (cj->finished = calloc((size_t)n, sizeof(int))) == NULL ||
	    (cj->failed = calloc((size_t)n, sizeof(*cj->failed))) == NULL) {
		if (cj)
			free(cj->finished);
		free(cj);
		qmsg_retry_later(m, 60); /* nothing recorded: tried again */
		return;
	}
	cj->m = m;
	buf_init(&cj->notes, 64 * 1024);
	str_lcpy(cj->hostname, qmgr_conf()->hostname, sizeof(cj->hostname));
	for (i = 0; i < n; i++) {
		struct qrcpt *r = &ld->r[i];
		char quoted[4 * REPLY_TEXT_MAX];
		char la[LOG_ADDR_MAX];
		const char *result;
		if (r->state == R_DEFERRED && expired) {
			char t[REPLY_TEXT_MAX];
			snprintf(t, sizeof(t),
			    "delivery time expired; last "
			    "error: %.400s",
			    r->text);
			str_lcpy(r->text, t, sizeof(r->text));
			r->state = R_FAILED;
			r->code = 0;
			result = "expired";
		} else {
			result = r->state == R_SENT	  ? "sent"
				 : r->state == R_FAILED	  ? "bounced"
				 : r->state == R_DEFERRED ? "deferred"
							  : NULL;
		}
		if (ld->done[i] || result == NULL)
			continue;
		/* the same, for `queue show` (a note per attempt) */
		(void)buf_printf(&cj->notes,
		    "note %d %s host=%s tls=%s tls_policy=%s verified=%s "
		    "reply=\"%.300s\"\n",
		    i, result, r->host[0] ? r->host : "-",
		    r->tls[0] ? r->tls : "none",
		    r->tls_policy[0] ? r->tls_policy : "none",
		    r->tls_verified ? "yes" : "no",
		    log_quote(quoted, sizeof(quoted), r->text,
			strlen(r->text)));
		log_info("delivery.attempt queue=%s to=<%s> host=%s tls=%s "
			 "tls_policy=%s verified=%s "
			 "reply=\"%s\" delay=%llds result=%s",
		    m->node.id, log_addr(la, sizeof(la), ld->env.rcpts[i].addr),
		    r->host[0] ? r->host : "-", r->tls[0] ? r->tls : "none",
		    r->tls_policy[0] ? r->tls_policy : "none",
		    r->tls_verified ? "yes" : "no",
		    log_quote(quoted, sizeof(quoted), r->text, strlen(r->text)),
		    (long long)(now - ld->env.time), result);
		if (r->state == R_SENT || r->state == R_FAILED)
			cj->finished[cj->nfinished++] = i;
		else
			remaining++;
		if (r->state == R_FAILED && r->code >= 500)
			cj->nrefused++;
		if (r->state == R_FAILED && ld->env.from[0] != '\0' &&
		    bounce_wanted(&ld->env.rcpts[i])) {
			struct bounce_rcpt *b = &cj->failed[cj->nfailed++];
			b->addr = ld->env.rcpts[i].addr;
			b->orcpt = ld->env.rcpts[i].orcpt;
			/* a mailbox's server is ours: its socket is nobody's
			 * business */
			b->remote = r->host[0] && r->code &&
					    !(ld->route &&
						ld->route[i] == ROUTE_MAILBOX)
					? r->host
					: "";
			b->diag = r->text;
			b->code = r->code > 0 ? r->code : 0;
		}
	}
	cj->all_done = remaining == 0;
	cj->base.run = commit_job_run;
	cj->base.done = commit_job_done;
	cj->base.owner = m;
	workers_submit(q.wl, &cj->base);
}
