/*
 * session_mail: the transaction. MAIL (the sender rule for a login, the
 * relay networks on the smtp listener, the quota), RCPT (the recipient
 * limits and quotas), and the DATA and BDAT commands that begin the
 * message; session_data.c reads it and ends it.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "guard.h"
#include "nodesync.h"
#include "parse.h"
#include "session_int.h"
#include "../auth/cred.h"
#include "../policy/rate.h"
#include "../policy/route.h"
#include "../store/store.h"
#include "../store/thread.h"
#include "../util/cidr.h"
#include "../util/log.h"
#include "../util/str.h"

/* ESMTP parameters "KEY=VALUE ..." into a callback; -1 on a bad one. */
static int
smtp_params(char *p, int (*fn)(struct smtp_session *, char *, char *),
    struct smtp_session *s)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(p, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');
		if (eq)
			*eq++ = '\0';
		if (fn(s, tok, eq) == -1)
			return -1;
	}
	return 0;
}

static int
smtp_mail_param(struct smtp_session *s, char *k, char *v)
{
	struct smtp_tx *tx = s->tx;

	if (strcasecmp(k, "SIZE") == 0 && v) {
		int64_t n = str_uint(v);
		if (n < 0)
			goto bad;
		if (n > conf_current()->message_size) {
			smtp_refuse(s,
			    "552 5.3.4 Message size exceeds fixed "
			    "limit of %lld bytes",
			    (long long)conf_current()->message_size);
			return -1;
		}
		/* only checked: the message is measured as it comes */
	} else if (strcasecmp(k, "BODY") == 0 && v &&
		   (strcasecmp(v, "7BIT") == 0 ||
		       strcasecmp(v, "8BITMIME") == 0)) {
		str_lcpy(tx->body,
		    strcasecmp(v, "7BIT") == 0 ? "7BIT" : "8BITMIME",
		    sizeof(tx->body));
	} else if (strcasecmp(k, "SMTPUTF8") == 0 && v == NULL) {
		tx->smtputf8 = 1;
	} else if (strcasecmp(k, "REQUIRETLS") == 0 && v == NULL) {
		/* RFC 8689 4.1: only asked over TLS */
		if (!(s->flags & SF_TLS)) {
			smtp_refuse(s, "530 5.7.10 REQUIRETLS needs a TLS "
				       "session: STARTTLS first");
			return -1;
		}
		tx->requiretls = 1;
	} else if (strcasecmp(k, "RET") == 0 && v &&
		   (strcasecmp(v, "FULL") == 0 || strcasecmp(v, "HDRS") == 0)) {
		str_lcpy(tx->ret, strcasecmp(v, "FULL") == 0 ? "FULL" : "HDRS",
		    sizeof(tx->ret));
	} else if (strcasecmp(k, "ENVID") == 0 && v &&
		   smtp_parse_xtext_ok(v, 100)) {
		str_lcpy(tx->envid, v, sizeof(tx->envid));
	} else if (strcasecmp(k, "AUTH") == 0 && v) {
		/* RFC 4954 5: accepted, not trusted */
	} else {
		goto bad;
	}
	return 0;
bad:
	smtp_refuse(s, "555 5.5.4 Unsupported or bad MAIL parameter %.40s", k);
	return -1;
}

/* Limits older than this are resolved again: `postern user quota`
 * reaches sessions already open within this many seconds. */
#define SMTP_QUOTA_TTL 5

void
smtp_quota_refuse(struct smtp_session *s, enum quota_rc rc,
    const struct quota_verdict *v, int code)
{
	struct smtp_tx *tx = s->tx;
	struct quota_abuse ab;
	char reason[128], when[64] = "";
	time_t t = (time_t)v->resets;
	struct tm tm;

	if (rc == QUOTA_BLOCKED) {
		smtp_reply(s,
		    "550 5.7.1 Outgoing mail of %s is blocked: contact the "
		    "operator of this service",
		    tx->qwho);
		return;
	}
	if (v->resets) {
		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "; it resets at %H:%M UTC", &tm);
	}
	switch (v->which) {
	case QUOTA_RCPTS_MSG:
		smtp_reply(s,
		    "452 4.5.3 Too many recipients: %s may send to %lld "
		    "recipients per message",
		    tx->qwho, (long long)v->limit);
		break;
	case QUOTA_RCPTS_DAY:
		smtp_reply(s,
		    "%d 4.7.1 Quota exceeded: %s may send to %lld "
		    "recipients per day%s",
		    code, tx->qwho, (long long)v->limit, when);
		break;
	default:
		smtp_reply(s,
		    "%d 4.7.1 Quota exceeded: %s may send %lld messages "
		    "per %s%s",
		    code, tx->qwho, (long long)v->limit,
		    v->which == QUOTA_MSGS_HOUR ? "hour" : "day", when);
	}
	log_info("smtp.quota session=%016llx ip=%s who=\"%s\" quota=%s "
		 "limit=%lld",
	    (unsigned long long)s->id, s->ip, tx->qwho,
	    v->which >= 0 ? quota_names[v->which] : "-", (long long)v->limit);
	if (tx->quota_hit)
		return;
	tx->quota_hit = 1;
	guard_abuse_conf(conf_current(), &ab);
	if (quota_excess(&tx->qk, &ab, (int64_t)time(NULL))) {
		snprintf(reason, sizeof(reason),
		    "refused over quota %lld times in one day",
		    (long long)ab.excess_blocks);
		guard_block_submit(s->rt.wl, &tx->qk, tx->qwho, reason);
	}
}

/* MAIL: the quota, from memory; limits too old are resolved first. */
static void smtp_mail_quota(struct smtp_session *, int64_t ttl);

struct limits_job {
	struct smtp_job job;
	struct quota_key key;
	int rc;
};

static void
limits_job_run(struct worker_job *j, void *ctx)
{
	struct limits_job *l = (struct limits_job *)j;

	/* the limits, and the owner's counts added to the nodes' and the
	 * others' learned: MAIL comes here when either is due */
	l->rc = guard_limits(store_thread(), conf_current(), &l->key,
	    (int64_t)time(NULL));
	if (l->rc == 0)
		l->rc = guard_sync_owner(store_thread(), &l->key);
}

static void
limits_job_done(struct worker_job *j)
{
	struct smtp_session *s = j->owner;
	int rc = ((struct limits_job *)j)->rc;

	free(j);
	if (s == NULL)
		return;
	s->job = NULL;
	if (s->tx && rc == -1) { /* the store failed: never ask again here */
		smtp_reply(s, "451 4.3.0 Cannot check the sending quota now, "
			      "try again later");
		smtp_tx_free(s);
	} else if (s->tx) {
		smtp_mail_quota(s, 0);
	}
	smtp_resume(s);
}

static void
smtp_mail_quota(struct smtp_session *s, int64_t ttl)
{
	struct smtp_tx *tx = s->tx;
	struct quota_verdict v;
	struct limits_job *l;
	enum quota_rc rc;

	/* a node alone keeps its counts between the sync's passes, as one
	 * node always did; with others, it exchanges them after node_batch
	 * messages of a sender (the bound on overshoot) */
	rc = quota_check_mail_batch(&tx->qk, (int64_t)time(NULL), ttl,
	    nodesync_peers() ? conf_current()->quota_node_batch : 0, &v);
	if (rc == QUOTA_OK) {
		smtp_reply(s, "250 2.1.0 Ok");
		return;
	}
	if (rc != QUOTA_STALE) {
		smtp_quota_refuse(s, rc, &v, 451);
		smtp_tx_free(s);
		return;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		smtp_reply(s, "451 4.3.0 Out of memory");
		smtp_tx_free(s);
		return;
	}
	l->key = tx->qk;
	smtp_job_start(s, &l->job, limits_job_run, limits_job_done);
}

/* The credential of the login, checked again as often as the limits: a
 * new SMTP password, a revoked app password or token ends the sessions
 * it opened (421) at their next MAIL, within SMTP_QUOTA_TTL seconds. */
struct cred_job {
	struct smtp_job job;
	struct cred_ref ref;
	int rc;
};

/*
 * Without the node sync's word from the store for [store] stale_after, a
 * block set on another node meanwhile may be unknown here: every MAIL
 * then asks the store itself (the credential, the limits and the block
 * of its sender), and gets 451 4.3.0 if it cannot: no sender is taken
 * unchecked, and one that can be checked is not held up by a sync pass
 * still waiting for the store's answer.
 */
static int64_t
smtp_quota_ttl(void)
{
	return guard_store_stale((int64_t)time(NULL)) ? 1 : SMTP_QUOTA_TTL;
}

static int
smtp_cred_stale(struct smtp_session *s)
{
	return s->cred == NULL ||
	       (int64_t)time(NULL) - s->cred_checked >= smtp_quota_ttl();
}

static void
cred_job_run(struct worker_job *j, void *ctx)
{
	struct cred_job *c = (struct cred_job *)j;

	c->rc = cred_still_valid(store_thread(), &c->ref, (int64_t)time(NULL));
}

static void
cred_job_done(struct worker_job *j)
{
	struct smtp_session *s = j->owner;
	int rc = ((struct cred_job *)j)->rc;

	free(j);
	if (s == NULL)
		return;
	s->job = NULL;
	if (rc == 0) {
		log_info("smtp.auth session=%016llx ip=%s user=%s result=ended "
			 "reason=credential_gone",
		    (unsigned long long)s->id, s->ip, s->ident->login);
		smtp_reply(s,
		    "421 4.7.0 %s The password or token of this session was "
		    "replaced or revoked: log in again",
		    conf_current()->hostname);
		smtp_tx_free(s);
		smtp_close_after_reply(s);
	} else if (rc == -1) {
		smtp_reply(s, "451 4.3.0 Cannot check the login now, try "
			      "again later");
		smtp_tx_free(s);
	} else {
		s->cred_checked = (int64_t)time(NULL);
		if (s->tx)
			smtp_mail_quota(s, smtp_quota_ttl());
	}
	if (s->job == NULL) /* else the limits job resumes it */
		smtp_resume(s);
}

static void
smtp_cred_check(struct smtp_session *s)
{
	struct cred_job *c;

	if (s->cred == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
		smtp_reply(s, "451 4.3.0 Out of memory");
		smtp_tx_free(s);
		return;
	}
	c->ref = *s->cred;
	smtp_job_start(s, &c->job, cred_job_run, cred_job_done);
}

struct relay_job {
	struct smtp_job job;
	char ip[NET_IP_MAX];
	char from[ADDR_MAX + 1];
	int ok;
	struct quota_key key;
	char domain[ADDR_DOMAIN_MAX + 1];
	struct sender_identity *id; /* the domain's names, for From: */
};

/* Is the client in a relay network of the sender's domain, and the
 * sender a user or alias of that domain? */
static void
relay_job_run(struct worker_job *j, void *ctx)
{
	struct relay_job *r = (struct relay_job *)j;
	struct store *st = store_thread();
	struct store_domain d;
	struct addr a;
	char why[160];
	struct store_relay_rows nets;
	size_t i;

	/* the sender is a user or a user alias of the domain */
	if (addr_parse(r->from, &a, why, sizeof(why)) == -1 ||
	    store_domain_get(st, a.domain, &d) != 0 ||
	    !store_name_exists(st, d.id, a.local_key))
		return;
	if (store_relay_list(st, d.id, &nets) != 0)
		return;
	for (i = 0; i < nets.n; i++) {
		struct cidr c;
		if (cidr_parse(nets.v[i].cidr, &c, why, sizeof(why)) == 0 &&
		    cidr_contains(&c, r->ip))
			r->ok = 1;
	}
	store_relay_rows_free(&nets);
	/* a relay network sends as its domain (any local part at its
	 * names, as the domain login); without them From: could not be
	 * checked: no relaying */
	if (r->ok && (r->id = cred_identity(st, 0, d.id, d.name)) == NULL)
		r->ok = 0;
	if (r->ok) { /* the domain's own quota counts relayed mail */
		r->key.domain_id = d.id;
		str_lcpy(r->domain, d.name, sizeof(r->domain));
		guard_limits(st, conf_current(), &r->key, (int64_t)time(NULL));
	}
}

/* The MX: past mx_messages_per_minute from this address, 450 (the
 * transaction ends here). 1 if the message may go on. */
static int
smtp_mx_rate_ok(struct smtp_session *s)
{
	const struct conf *c = conf_current();

	if (c->mailbox_lmtp[0] == '\0' ||
	    !rate_hit(RATE_MSG, s->ipkey, c->mx_messages_per_minute,
		(int64_t)time(NULL)))
		return 1;
	log_info("smtp.refused session=%016llx ip=%s reason=message_rate",
	    (unsigned long long)s->id, s->ip);
	smtp_reply(s, "450 4.7.1 Too many messages from your address, try "
		      "again later");
	smtp_tx_free(s);
	return 0;
}

static void
relay_job_done(struct worker_job *j)
{
	struct relay_job *r = (struct relay_job *)j;
	struct smtp_session *s = j->owner;

	if (j->owner == NULL) {
		free(r->id);
		free(r);
		return;
	}
	s->job = NULL;
	if (s->tx && r->ok) {
		s->tx->relay_ok = 1;
		s->tx->relay_id = r->id;
		r->id = NULL;
		s->tx->qk = r->key;
		s->tx->has_qk = 1;
		snprintf(s->tx->qwho, sizeof(s->tx->qwho),
		    "the relay networks of %s", r->domain);
		smtp_mail_quota(s, 0);
	} else if (s->tx == NULL || smtp_mx_rate_ok(s)) {
		smtp_reply(s, "250 2.1.0 Ok");
	}
	free(r->id);
	free(r);
	if (s->job == NULL) /* else the limits job resumes it */
		smtp_resume(s);
}

/* The table's rules passed: on submission the session has a login. */
void
smtp_cmd_mail(struct smtp_session *s, char *arg)
{
	char from[ADDR_MAX + 1], *rest;
	int utf8 = strcasestr(arg, "SMTPUTF8") != NULL;
	struct smtp_tx *tx;

	if (smtp_parse_path(arg, "FROM:", from, sizeof(from), &rest, utf8) ==
	    -1) {
		smtp_refuse(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		return;
	}
	if ((tx = calloc(1, sizeof(*tx))) == NULL) {
		smtp_reply(s, "451 4.3.0 Out of memory");
		return;
	}
	s->tx = tx;
	str_lcpy(tx->body, "7BIT", sizeof(tx->body));
	str_lcpy(tx->from, from, sizeof(tx->from));
	buf_init(&tx->msg, (size_t)conf_current()->message_size + 65536);
	if (smtp_params(rest, smtp_mail_param, s) == -1) { /* refused */
		smtp_tx_free(s);
		return;
	}
	if (s->ident != NULL) {
		const char *who = s->ident->login;
		if (!s->tos_ok) {
			smtp_reply(s,
			    "550 5.7.1 %s has not accepted the terms "
			    "of service: accept them in the control "
			    "panel, then send again",
			    who);
		} else if (s->blocked) {
			char why[201];
			smtp_reply(s,
			    "550 5.7.1 Outgoing mail of %s is "
			    "blocked (%s): contact the operator "
			    "of this service",
			    who,
			    str_printable(why, sizeof(why), s->block_reason));
		} else if (from[0] == '\0') {
			smtp_reply(s, "553 5.7.1 The null sender is not "
				      "allowed for submission");
		} else if (!sender_is_allowed(s->ident, from)) {
			smtp_reply(s, "553 5.7.1 %s may not send as <%s>", who,
			    from);
		} else {
			char la[LOG_ADDR_MAX];
			log_debug("smtp.mail session=%016llx from=<%s>",
			    (unsigned long long)s->id,
			    log_addr(la, sizeof(la), from));
			quota_key_set(&tx->qk, s->ident->user_id,
			    s->ident->domain_id);
			tx->has_qk = 1;
			str_lcpy(tx->qwho, who, sizeof(tx->qwho));
			if (smtp_cred_stale(s))
				smtp_cred_check(s);
			else
				smtp_mail_quota(s, smtp_quota_ttl());
			return;
		}
		smtp_tx_free(s);
		return;
	}
	/* the smtp listener: a relay network of the sender's domain? */
	if (from[0] != '\0') {
		struct relay_job *r = calloc(1, sizeof(*r));
		if (r == NULL) {
			smtp_reply(s, "451 4.3.0 Out of memory");
			smtp_tx_free(s);
			return;
		}
		str_lcpy(r->ip, s->ip, sizeof(r->ip));
		str_lcpy(r->from, from, sizeof(r->from));
		smtp_job_start(s, &r->job, relay_job_run, relay_job_done);
		return;
	}
	if (smtp_mx_rate_ok(s))
		smtp_reply(s, "250 2.1.0 Ok");
}

static int
smtp_rcpt_param(struct smtp_session *s, char *k, char *v)
{
	struct spool_rcpt *r = &s->tx->rcpts[s->tx->nrcpt];

	if (strcasecmp(k, "NOTIFY") == 0 && v &&
	    strlen(v) < sizeof(r->notify)) {
		char tmp[64], *t, *save = NULL;
		int never = 0, other = 0;
		str_lcpy(tmp, v, sizeof(tmp));
		for (t = strtok_r(tmp, ",", &save); t;
		     t = strtok_r(NULL, ",", &save)) {
			if (strcasecmp(t, "NEVER") == 0)
				never = 1;
			else if (strcasecmp(t, "SUCCESS") == 0 ||
				 strcasecmp(t, "FAILURE") == 0 ||
				 strcasecmp(t, "DELAY") == 0)
				other = 1;
			else
				goto bad;
		}
		if (never && other)
			goto bad;
		str_lcpy(r->notify, v, sizeof(r->notify));
		for (t = r->notify; *t; t++)
			*t = (char)toupper((unsigned char)*t);
	} else if (strcasecmp(k, "ORCPT") == 0 && v &&
		   smtp_parse_xtext_ok(v, sizeof(r->orcpt) - 1) &&
		   strchr(v, ';')) {
		str_lcpy(r->orcpt, v, sizeof(r->orcpt));
	} else {
		goto bad;
	}
	return 0;
bad:
	smtp_refuse(s, "555 5.5.4 Unsupported or bad RCPT parameter %.40s", k);
	return -1;
}

/* A recipient refused here counts in the owner's share of refusals. */
static void
smtp_rcpt_refused(struct smtp_session *s)
{
	struct quota_abuse ab;

	if (!s->tx->has_qk)
		return;
	guard_abuse_conf(conf_current(), &ab);
	if (quota_rcpt_result(&s->tx->qk, 0, 1, &ab, (int64_t)time(NULL)))
		guard_block_submit(s->rt.wl, &s->tx->qk, s->tx->qwho,
		    GUARD_REFUSED_REASON);
}

/* The MX: is the recipient a mailbox here? Asked of the store on a
 * worker (policy/route.c, as the queue routes it: one canonical
 * spelling, whatever the client wrote); the recipient waits, filled in,
 * past the last counted one. */
struct mx_rcpt_job {
	struct smtp_job job;
	char to[ADDR_MAX + 1];
	char mailbox[ADDR_MAX + 1]; /* ROUTE_SRS: where the bounce goes */
	int route;		    /* ROUTE_* */
};

/* A bounce to an SRS address: one line, taken or not, and where to. */
static void
smtp_log_srs(struct smtp_session *s, const char *to, int route,
    const char *dest)
{
	char a[LOG_ADDR_MAX], b[LOG_ADDR_MAX];

	log_info("smtp.srs session=%016llx ip=%s to=<%s> result=%s%s%s%s",
	    (unsigned long long)s->id, s->ip, log_addr(a, sizeof(a), to),
	    route == ROUTE_SRS	     ? "ok"
	    : route == ROUTE_SRS_BAD ? "forged"
				     : "expired",
	    route == ROUTE_SRS ? " bounce_to=<" : "",
	    route == ROUTE_SRS ? log_addr(b, sizeof(b), dest) : "",
	    route == ROUTE_SRS ? ">" : "");
}

static void
mx_rcpt_job_run(struct worker_job *j, void *ctx)
{
	struct mx_rcpt_job *m = (struct mx_rcpt_job *)j;

	(void)ctx;
	m->route =
	    route_rcpt(store_thread(), m->to, m->mailbox, sizeof(m->mailbox));
}

static void
mx_rcpt_job_done(struct worker_job *j)
{
	struct mx_rcpt_job *m = (struct mx_rcpt_job *)j;
	struct smtp_session *s = j->owner;

	if (s == NULL) {
		free(m);
		return;
	}
	s->job = NULL;
	if (m->route == ROUTE_SRS || m->route == ROUTE_SRS_BAD ||
	    m->route == ROUTE_SRS_EXPIRED)
		smtp_log_srs(s, m->to, m->route, m->mailbox);
	switch (m->route) {
	case ROUTE_MAILBOX:
		s->tx->nrcpt++;
		s->tx->inbound = 1;
		smtp_reply(s, "250 2.1.5 Ok");
		break;
	case ROUTE_SRS:
		/* a bounce to mail we forwarded: relayed to the address the
		 * SRS address decodes to, checked as any inbound mail */
		s->tx->nrcpt++;
		s->tx->inbound = 1;
		smtp_reply(s, "250 2.1.5 Ok");
		break;
	case ROUTE_NOUSER:
		smtp_refuse(s,
		    "550 5.1.1 <%s>: Recipient address rejected: "
		    "User unknown",
		    m->to);
		break;
	case ROUTE_SRS_BAD:
		smtp_refuse(s,
		    "550 5.1.1 <%s>: Recipient address rejected: "
		    "forged or malformed SRS address",
		    m->to);
		break;
	case ROUTE_SRS_EXPIRED:
		smtp_refuse(s,
		    "550 5.1.1 <%s>: Recipient address rejected: "
		    "SRS address expired",
		    m->to);
		break;
	case ROUTE_REMOTE:
		/* no address trick changes this: nothing is relayed */
		smtp_refuse(s, "554 5.7.1 <%s>: Relay access denied", m->to);
		break;
	default: /* ROUTE_ERROR */
		smtp_reply(s, "451 4.3.0 <%s>: Temporary lookup failure",
		    m->to);
		break;
	}
	free(m);
	smtp_resume(s);
}

void
smtp_cmd_rcpt(struct smtp_session *s, char *arg)
{
	struct smtp_tx *tx = s->tx;
	char to[ADDR_MAX + 1], *rest, why[160];
	struct spool_rcpt *r;
	int mx = s->ident == NULL && !tx->relay_ok;

	if (smtp_parse_path(arg, "TO:", to, sizeof(to), &rest, tx->smtputf8) ==
		-1 ||
	    to[0] == '\0') {
		smtp_refuse(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		return;
	}
	/* no mailboxes here ([mailbox] lmtp unset): postern is not the MX
	 * of its domains, and mail for them from outside would loop */
	if (mx && conf_current()->mailbox_lmtp[0] == '\0') {
		/* no address trick changes this: nothing is relayed */
		smtp_refuse(s, "554 5.7.1 <%s>: Relay access denied", to);
		return;
	}
	if (smtp_parse_rcpt(to, why, sizeof(why)) == -1) {
		smtp_rcpt_refused(s);
		smtp_refuse(s, "553 5.1.3 <%s>: %s", to, why);
		return;
	}
	if (tx->nrcpt >= conf_current()->recipients_per_message) {
		smtp_reply(s, "452 4.5.3 Too many recipients");
		return;
	}
	if (tx->has_qk) {
		struct quota_verdict v;
		enum quota_rc rc = quota_check_rcpt(&tx->qk, tx->nrcpt + 1,
		    (int64_t)time(NULL), &v);
		if (rc != QUOTA_OK) {
			smtp_quota_refuse(s, rc, &v, 452);
			return;
		}
	}
	if (tx->nrcpt == tx->rcap) {
		int cap = tx->rcap ? tx->rcap * 2 : 4;
		struct spool_rcpt *n =
		    realloc(tx->rcpts, sizeof(*n) * (size_t)cap);
		if (n == NULL) {
			smtp_reply(s, "452 4.3.0 Out of memory");
			return;
		}
		tx->rcpts = n;
		tx->rcap = cap;
	}
	r = &tx->rcpts[tx->nrcpt];
	memset(r, 0, sizeof(*r));
	str_lcpy(r->addr, to, sizeof(r->addr));
	if (smtp_params(rest, smtp_rcpt_param, s) == -1) /* refused */
		return;
	if (mx) { /* anyone may write to a mailbox here, to nothing else */
		struct mx_rcpt_job *m = calloc(1, sizeof(*m));
		if (m == NULL) {
			smtp_reply(s, "452 4.3.0 Out of memory");
			return;
		}
		str_lcpy(m->to, to, sizeof(m->to));
		smtp_job_start(s, &m->job, mx_rcpt_job_run, mx_rcpt_job_done);
		return;
	}
	tx->nrcpt++;
	smtp_reply(s, "250 2.1.5 Ok");
}

/* DATA, BDAT */

void
smtp_cmd_data(struct smtp_session *s, char *arg)
{
	if (*arg) {
		smtp_refuse(s, "501 5.5.4 Syntax: DATA");
		return;
	}
	if (s->tx->nrcpt == 0) {
		smtp_refuse(s, "554 5.5.1 No valid recipients");
		return;
	}
	if (s->tx->data_started) {
		smtp_refuse(s, "503 5.5.1 DATA after BDAT");
		return;
	}
	smtp_data_begin(s);
	smtp_set_state(s, S_DATA);
	smtp_set_timeout(s, conf_current()->data_timeout);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

void
smtp_cmd_bdat(struct smtp_session *s, char *arg)
{
	int64_t n;
	int last;

	if (smtp_bdat_arg(arg, &n, &last) == -1) {
		smtp_refuse(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		return;
	}
	/* with no recipient the chunk is still read (counted, not kept),
	 * then refused */
	if (!s->tx->data_started)
		smtp_data_begin(s);
	s->tx->bdat_left = n;
	s->tx->bdat_last = last;
	smtp_set_state(s, S_BDAT);
	smtp_set_timeout(s, conf_current()->data_timeout);
}
