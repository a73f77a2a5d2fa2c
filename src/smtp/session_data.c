/*
 * session_data: the message itself. DATA is read byte by byte through a
 * small state machine: only <CR><LF>.<CR><LF> ends it. A bare CR or a
 * bare LF anywhere makes the message refused once it has ended (policy
 * "reject", against SMTP smuggling, CVE-2023-51764): no other sequence
 * can end one message and begin another, here or at the next hop. BDAT
 * chunks are read by count and held to the same rule. Then the sender
 * rule is applied to From:, the trace headers are added and the message
 * goes to the spool; the client hears 250 only when it is on disk. Mail
 * to the mailboxes here from anyone is checked first (SPF, DKIM, DMARC,
 * then rspamd when [filter] asks), the session waiting on its loop.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/ssl.h>

#include "parse.h"
#include "session_int.h"
#include "../inbound/authres.h"
#include "../inbound/check.h"
#include "../inbound/rspamd.h"
#include "../mail/header.h"
#include "../spool/spool.h"
#include "../util/log.h"
#include "../util/str.h"

void
smtp_data_begin(struct smtp_session *s)
{
	const struct conf *c = conf_current();

	dot_init(&s->tx->dot, &s->tx->msg, (size_t)c->line_length,
	    (size_t)c->message_size);
	s->tx->data_started = 1;
}

int
smtp_data_read(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_iovec v[8];
	size_t used;
	int nv, end = 0;

	if (s->state == S_DATA) {
		while (evbuffer_get_length(in) > 0) {
			if ((nv = evbuffer_peek(in, -1, NULL, v, 1)) < 1)
				break;
			used = dot_scan(&s->tx->dot, v[0].iov_base,
			    v[0].iov_len, &end);
			evbuffer_drain(in, used);
			if (end) {
				smtp_data_end(s);
				return 1;
			}
		}
		return 0;
	}
	/* S_BDAT */
	while (s->tx->bdat_left > 0 && evbuffer_get_length(in) > 0) {
		nv = evbuffer_peek(in, -1, NULL, v, 1);
		if (nv < 1)
			break;
		used = v[0].iov_len;
		if ((int64_t)used > s->tx->bdat_left)
			used = (size_t)s->tx->bdat_left;
		/* a transaction with no recipient can never be sent: its
		 * chunk is counted, not kept (anyone may send MAIL FROM:<>
		 * on the smtp port, nobody may make the server hold 30 MiB) */
		if (s->tx->nrcpt > 0)
			dot_raw(&s->tx->dot, v[0].iov_base, used);
		evbuffer_drain(in, used);
		s->tx->bdat_left -= (int64_t)used;
	}
	if (s->tx->bdat_left > 0)
		return 0;
	if (s->tx->nrcpt == 0) {
		smtp_tx_free(s);
		smtp_set_state(s, S_CMD);
		smtp_refuse(s, "554 5.5.1 No valid recipients");
		return 1;
	}
	if (!s->tx->bdat_last) {
		smtp_reply(s, "250 2.0.0 %zu octets received", s->tx->msg.len);
		smtp_set_state(s, S_CMD);
		return 1;
	}
	dot_raw_end(&s->tx->dot);
	smtp_data_end(s);
	return 1;
}

struct spool_job {
	struct smtp_job job;
	struct spool_env env;
	struct buf head; /* trace and added header fields */
	struct buf msg;	 /* the message as received */
	int rc, err;
	uint64_t session_id;
	struct quota_key qk; /* what was counted, given back on failure */
	int has_qk;
	int64_t reserved;
};

static void
spool_job_run(struct worker_job *j, void *ctx)
{
	struct spool_job *sj = (struct spool_job *)j;
	struct iovec iov[2];

	(void)ctx;
	iov[0].iov_base = sj->head.data;
	iov[0].iov_len = sj->head.len;
	iov[1].iov_base = sj->msg.data;
	iov[1].iov_len = sj->msg.len;
	sj->rc = spool_write(&sj->env, iov, 2);
	sj->err = sj->rc == -1 ? errno : 0;
}

static void
spool_job_free(struct spool_job *sj)
{
	buf_free(&sj->head);
	buf_free(&sj->msg);
	free(sj->env.rcpts);
	free(sj);
}

static void
spool_job_done(struct worker_job *j)
{
	struct spool_job *sj = (struct spool_job *)j;
	struct smtp_session *s = j->owner;

	/* not accepted after all: the quota is not used */
	if (sj->has_qk && (s == NULL || sj->rc != 0))
		quota_release(&sj->qk, sj->env.nrcpt, sj->reserved);
	if (s == NULL) {
		/* the client left before 250: it will send again */
		if (sj->rc == 0)
			spool_remove(sj->env.id);
		log_info("smtp.dropped queue=%s reason=\"client left before "
			 "the reply\"",
		    sj->env.id);
		spool_job_free(sj);
		return;
	}
	s->job = NULL;
	if (sj->rc == 0) {
		char la[LOG_ADDR_MAX];
		log_info("smtp.queued queue=%s session=%016llx from=<%s> "
			 "rcpts=%d size=%zu auth=%s",
		    sj->env.id, (unsigned long long)s->id,
		    log_addr(la, sizeof(la), sj->env.from), sj->env.nrcpt,
		    sj->head.len + sj->msg.len,
		    sj->env.auth[0] ? sj->env.auth : "-");
		smtp_reply(s, "250 2.0.0 Ok: queued as %s", sj->env.id);
		spool_announce(sj->env.id);
	} else {
		log_warnx("spool.write queue=%s error=\"%s\"", sj->env.id,
		    strerror(sj->err));
		smtp_reply(s, "451 4.3.0 Cannot queue the message now, try "
			      "again later");
	}
	spool_job_free(sj);
	smtp_resume(s);
}

/* The message is not taken: the reply said why, the session goes on. */
static void
smtp_inbound_drop(struct smtp_session *s, struct spool_job *sj)
{
	spool_job_free(sj);
	smtp_set_state(s, S_CMD);
	smtp_resume(s);
}

/* One line per message rspamd was asked about: its action and score, or
 * why there is none, and what became of the message. */
static void
log_rspamd(const struct smtp_session *s, const struct spool_job *sj,
    enum rspamd_status st, const struct rspamd_verdict *v, const char *err,
    const char *result)
{
	char a[LOG_VALUE_MAX], e[LOG_VALUE_MAX];

	if (st == RSPAMD_DONE)
		log_info("inbound.rspamd queue=%s session=%016llx ip=%s "
			 "action=%s score=%.2f required=%.2f result=%s",
		    sj->env.id, (unsigned long long)s->id, s->ip,
		    log_value(a, sizeof(a), v->action_name), v->score,
		    v->required, result);
	else
		log_info("inbound.rspamd queue=%s session=%016llx ip=%s "
			 "action=- error=%s result=%s",
		    sj->env.id, (unsigned long long)s->id, s->ip,
		    log_value(e, sizeof(e), err), result);
}

/* The fields for the verdict on top of the message, and for "rewrite
 * subject" the new Subject:. Rewriting breaks a DKIM signature that
 * covers Subject: (most do); rspamd's action says it is worth it, and
 * the message is junk by then. The fields added on top are covered by
 * no signature, so they break none. */
static void
smtp_rspamd_edit(struct spool_job *sj, enum rspamd_status st,
    const struct rspamd_verdict *v)
{
	struct buf head, msg;

	if (st == RSPAMD_DONE && v->action == RSPAMD_REWRITE_SUBJECT) {
		buf_init(&msg, sj->msg.len + 4 * RSPAMD_SUBJECT_MAX + 1024);
		if (rspamd_subject_rewrite(sj->msg.data ? sj->msg.data : "",
			sj->msg.len, v->subject[0] ? v->subject : NULL,
			&msg) == 0) {
			buf_free(&sj->msg);
			sj->msg = msg;
		} else {
			buf_free(&msg);
			log_warnx("inbound.rspamd_subject queue=%s "
				  "error=\"out of memory\"",
			    sj->env.id);
		}
	}
	buf_init(&head, sj->head.len + 512);
	if (rspamd_fields(&head, st, v) == 0 &&
	    buf_append(&head, sj->head.data, sj->head.len) == 0) {
		buf_free(&sj->head);
		sj->head = head;
	} else {
		buf_free(&head);
	}
}

/* rspamd's verdict is in (or it failed): refuse, defer, or on to the
 * spool, as junk for the spam actions (so never forwarded). */
static void
smtp_rspamd_done(struct rspamd_check *rc, void *arg)
{
	struct smtp_session *s = arg;
	struct spool_job *sj = s->checked;
	enum rspamd_status st = rspamd_check_status(rc);
	struct rspamd_verdict v = *rspamd_check_verdict(rc);
	char err[160];

	s->rspamd = NULL;
	s->checked = NULL;
	str_lcpy(err, rspamd_check_error(rc), sizeof(err));
	/* done: nothing reads the message it sent any more (the
	 * connection goes when this returns), so it may change now */
	rspamd_check_free(rc);
	if (st != RSPAMD_DONE) {
		if (strcmp(conf_current()->filter_rspamd_fail, "open") != 0) {
			log_rspamd(s, sj, st, &v, err, "tempfail");
			smtp_reply(s, "451 4.7.1 The spam filter is not "
				      "available, try again later");
			smtp_inbound_drop(s, sj);
			return;
		}
		log_rspamd(s, sj, st, &v, err, "skipped");
	} else {
		switch (v.action) {
		case RSPAMD_REJECT:
			log_rspamd(s, sj, st, &v, err, "reject");
			smtp_reply(s, "550 5.7.1 Rejected as spam%s%s%s",
			    v.text[0] ? " (" : "", v.text,
			    v.text[0] ? ")" : "");
			smtp_inbound_drop(s, sj);
			return;
		case RSPAMD_SOFT_REJECT:
		case RSPAMD_GREYLIST:
			log_rspamd(s, sj, st, &v, err, "tempfail");
			smtp_reply(s, "451 4.7.1 %s, try again later%s%s%s",
			    v.action == RSPAMD_GREYLIST ? "Greylisted"
							: "Deferred by the "
							  "spam filter",
			    v.text[0] ? " (" : "", v.text,
			    v.text[0] ? ")" : "");
			smtp_inbound_drop(s, sj);
			return;
		default:
			break;
		}
		if (rspamd_action_is_spam(v.action))
			sj->env.junk = 1;
		log_rspamd(s, sj, st, &v, err,
		    sj->env.junk ? "junk" : "deliver");
	}
	smtp_rspamd_edit(sj, st, &v);
	smtp_job_start(s, &sj->job, spool_job_run, spool_job_done);
}

/* After SPF, DKIM and DMARC: what rspamd says, the session waiting. It
 * sees the message as it will be kept, our Received: and
 * Authentication-Results: on top. */
static void
smtp_rspamd_check(struct smtp_session *s, struct spool_job *sj)
{
	const struct conf *c = conf_current();
	struct rspamd_request rq;
	struct iovec iov[2];
	const char **rcpts;
	int i;

	if ((rcpts = calloc((size_t)sj->env.nrcpt + 1, sizeof(*rcpts))) !=
	    NULL) {
		for (i = 0; i < sj->env.nrcpt; i++)
			rcpts[i] = sj->env.rcpts[i].addr;
		iov[0].iov_base = sj->head.data;
		iov[0].iov_len = sj->head.len;
		iov[1].iov_base = sj->msg.data;
		iov[1].iov_len = sj->msg.len;
		memset(&rq, 0, sizeof(rq));
		rq.base = s->rt.base;
		rq.server = c->filter_rspamd;
		rq.timeout = (int)c->filter_rspamd_timeout;
		rq.queue_id = sj->env.id;
		rq.client_ip = s->ip;
		rq.helo = s->helo ? s->helo : "";
		rq.mail_from = sj->env.from;
		rq.mta_name = c->hostname;
		rq.rcpts = rcpts;
		rq.nrcpt = sj->env.nrcpt;
		rq.msg = iov;
		rq.nmsg = 2;
		s->checked = sj;
		smtp_set_state(s, S_WAIT);
		s->rspamd = rspamd_check_start(&rq, smtp_rspamd_done, s);
		free(rcpts);
	}
	if (s->rspamd == NULL) {
		s->checked = NULL;
		smtp_reply(s, "451 4.3.0 Cannot check the message now, try "
			      "again later");
		smtp_inbound_drop(s, sj);
	}
}

/* The MX's checks are in: the verdict, then the spool. */
static void
smtp_inbound_done(struct inbound_check *ic, void *arg)
{
	struct smtp_session *s = arg;
	struct spool_job *sj = s->checked;
	enum inbound_action act = inbound_check_action(ic);
	const char *ar;
	struct buf head;
	size_t alen;
	char why[401];

	s->check = NULL;
	s->checked = NULL;
	if (act == INBOUND_REJECT) {
		str_printable(why, sizeof(why), inbound_check_why(ic));
		log_info("smtp.reject session=%016llx ip=%s reason=dmarc "
			 "why=\"%s\"",
		    (unsigned long long)s->id, s->ip, why);
		smtp_reply(s, "550 5.7.1 Rejected: %s", why);
		inbound_check_free(ic);
		spool_job_free(sj);
		smtp_set_state(s, S_CMD);
		smtp_resume(s);
		return;
	}
	/* Authentication-Results on top, above our Received: (RFC 8601 5) */
	ar = inbound_check_authres(ic, &alen);
	buf_init(&head, (size_t)alen + sj->head.len + 1);
	if (buf_append(&head, ar, alen) == 0 &&
	    buf_append(&head, sj->head.data, sj->head.len) == 0) {
		buf_free(&sj->head);
		sj->head = head;
	} else {
		buf_free(&head);
	}
	sj->env.junk = act == INBOUND_JUNK;
	inbound_check_free(ic);
	if (conf_current()->filter_rspamd[0] != '\0') {
		smtp_rspamd_check(s, sj);
		return;
	}
	smtp_job_start(s, &sj->job, spool_job_run, spool_job_done);
}

/* Mail from anyone to mailboxes here: forged Authentication-Results
 * claiming our name out, then SPF, DKIM and DMARC; the session waits. */
static void
smtp_inbound_check(struct smtp_session *s, struct spool_job *sj)
{
	const struct conf *c = conf_current();
	struct inbound_input in;

	authres_strip(sj->msg.data ? sj->msg.data : "", &sj->msg.len,
	    c->hostname);
	memset(&in, 0, sizeof(in));
	in.base = s->rt.base;
	in.authserv_id = c->hostname;
	in.client_ip = s->ip;
	in.helo = s->helo ? s->helo : "";
	in.mail_from = sj->env.from;
	in.msg = sj->msg.data ? sj->msg.data : "";
	in.len = sj->msg.len;
	in.reject_mode = strcmp(c->mailbox_dmarc_reject, "junk") == 0
			     ? INBOUND_REJECT_JUNK
			 : strcmp(c->mailbox_dmarc_reject, "none") == 0
			     ? INBOUND_REJECT_NONE
			     : INBOUND_REJECT_REJECT;
	s->checked = sj;
	smtp_set_state(s, S_WAIT);
	if ((s->check = inbound_check_start(s->rt.dnsq, &in, smtp_inbound_done,
		 s)) == NULL) {
		s->checked = NULL;
		spool_job_free(sj);
		smtp_set_state(s, S_CMD);
		smtp_reply(s, "451 4.3.0 Cannot check the message now, try "
			      "again later");
		smtp_resume(s);
	}
}

void
smtp_data_free_pending(struct smtp_session *s)
{
	inbound_check_free(s->check);
	s->check = NULL;
	/* before the message its connection still refers to */
	rspamd_check_free(s->rspamd);
	s->rspamd = NULL;
	if (s->checked)
		spool_job_free(s->checked);
	s->checked = NULL;
}

static const char *
smtp_proto(struct smtp_session *s)
{
	/* RFC 3848 */
	if (!(s->flags & SF_ESMTP))
		return "SMTP";
	if (s->ident)
		return s->flags & SF_TLS ? "ESMTPSA" : "ESMTPA";
	return s->flags & SF_TLS ? "ESMTPS" : "ESMTP";
}

static void
smtp_rfc5322_date(char *out, size_t len)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(out, len, "%a, %d %b %Y %H:%M:%S +0000", &tm);
}

/*
 * The sender rule on the originator fields (From:, and Sender:,
 * Resent-From:, Resent-Sender: when present): each must be of the
 * strict grammar, so that mail programs and DMARC read the addresses
 * read here, and each address must be one the identity may use. The
 * identity is an authenticated client's, or on the smtp listener the
 * relay network's domain (any local part at its names).
 */
static int
smtp_check_from(struct smtp_session *s, const struct sender_identity *id,
    const struct header_info *hi)
{
	char addrs[HEADER_FROM_MAX][ADDR_MAX + 1];
	const char *why, *name;
	int n = 0, i, j;

	if (hi->from_count != 1) {
		smtp_reply(s, "550 5.7.1 The message must have exactly one "
			      "From: header");
		return -1;
	}
	if (hi->lookalike > 0) {
		smtp_reply(s, "550 5.7.1 Invalid header: a field name like "
			      "From:, Sender: or Resent-From: with blanks, "
			      "control or non-ASCII characters in it, or a "
			      "line that begins with one");
		return -1;
	}
	if (hi->sender_count > 1) {
		smtp_reply(s, "550 5.7.1 The message may have at most one "
			      "Sender: header");
		return -1;
	}
	if (hi->norig > HEADER_ORIG_MAX) {
		smtp_reply(s,
		    "550 5.7.1 The message has more than %d From:, Sender: "
		    "and Resent- headers",
		    HEADER_ORIG_MAX);
		return -1;
	}
	for (j = 0; j < hi->norig; j++) {
		const struct header_field *f = &hi->orig[j];
		name = header_orig_name(f->kind);
		if (header_addresses(f->val, f->len,
			header_orig_grammar(f->kind), addrs, HEADER_FROM_MAX,
			&n, &why) == -1) {
			smtp_reply(s,
			    "550 5.7.1 Invalid %s header (RFC 5322): %s", name,
			    why);
			return -1;
		}
		for (i = 0; i < n; i++) {
			if (sender_is_allowed(id, addrs[i]))
				continue;
			if (s->ident != NULL)
				smtp_reply(s,
				    "550 5.7.1 %s may not send with %s "
				    "<%.200s>",
				    id->login, name, addrs[i]);
			else
				smtp_reply(s,
				    "550 5.7.1 Mail relayed for %s may not "
				    "have %s <%.200s>: only addresses at %s "
				    "or its aliases",
				    id->login, name, addrs[i], id->login);
			return -1;
		}
	}
	return 0;
}

void
smtp_data_end(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	const struct conf *c = conf_current();
	struct header_info hi;
	struct spool_job *sj;
	char date[64], from[SMTP_HELO_MAX * 2 + 128];
	SSL *ssl;

	smtp_set_state(s, S_CMD);
	switch (tx->dot.error) {
	case DOT_TOO_BIG:
		smtp_reply(s,
		    "552 5.3.4 Message size exceeds fixed limit of "
		    "%lld bytes",
		    (long long)c->message_size);
		goto refuse;
	case DOT_BARE_NL:
		smtp_reply(s, "554 5.6.0 Message contains a bare CR or LF: "
			      "lines must end with CRLF");
		goto refuse;
	case DOT_LONG_LINE:
		smtp_reply(s,
		    "554 5.6.0 Message has a line longer than %lld "
		    "bytes",
		    (long long)c->line_length);
		goto refuse;
	case DOT_NUL:
		smtp_reply(s, "554 5.6.0 Message contains a NUL byte");
		goto refuse;
	default:
		break;
	}
	header_scan(tx->msg.data ? tx->msg.data : "", tx->msg.len, &hi);
	/* Mail from anyone to mailboxes here: who may write its From: is
	 * for SPF, DKIM and DMARC to say, not a sender rule. Else the
	 * session let nobody else this far: refuse rather than trust. */
	if (tx->inbound) {
		;
	} else if (s->ident == NULL && tx->relay_id == NULL) {
		smtp_reply(s, "554 5.7.1 Relay access denied");
		goto refuse;
	} else if (smtp_check_from(s, s->ident ? s->ident : tx->relay_id,
		       &hi) == -1) {
		goto refuse;
	}
	if ((sj = calloc(1, sizeof(*sj))) == NULL) {
		smtp_reply(s, "451 4.3.0 Out of memory");
		goto refuse;
	}
	/* counted now, atomically with the check: two sessions of one
	 * owner cannot together pass a quota */
	if (tx->has_qk) {
		struct quota_verdict v;
		enum quota_rc rc;
		sj->reserved = (int64_t)time(NULL);
		rc = quota_reserve(&tx->qk, tx->nrcpt, sj->reserved, &v);
		if (rc != QUOTA_OK) {
			free(sj);
			smtp_quota_refuse(s, rc, &v, 451);
			goto refuse;
		}
		sj->qk = tx->qk;
		sj->has_qk = 1;
	}
	spool_new_id(sj->env.id);
	sj->env.time = (int64_t)time(NULL);
	str_lcpy(sj->env.from, tx->from, sizeof(sj->env.from));
	str_lcpy(sj->env.auth, s->ident ? s->ident->login : "",
	    sizeof(sj->env.auth));
	/* what DKIM may sign for: the domain's primary name comes first
	 * (nothing for inbound mail: it is not ours to sign) */
	str_lcpy(sj->env.domain,
	    s->ident	   ? s->ident->domains
	    : tx->relay_id ? tx->relay_id->domains
			   : "",
	    sizeof(sj->env.domain));
	str_lcpy(sj->env.ip, s->ip, sizeof(sj->env.ip));
	sj->env.inbound = tx->inbound;
	str_lcpy(sj->env.body, tx->body, sizeof(sj->env.body));
	sj->env.smtputf8 = tx->smtputf8;
	sj->env.requiretls = tx->requiretls;
	str_lcpy(sj->env.ret, tx->ret, sizeof(sj->env.ret));
	str_lcpy(sj->env.envid, tx->envid, sizeof(sj->env.envid));
	sj->env.nrcpt = tx->nrcpt;
	sj->env.rcpts = tx->rcpts; /* moved, not copied */
	tx->rcpts = NULL;
	sj->msg = tx->msg;
	buf_init(&tx->msg, 0);

	/* trace (RFC 5321 4.4, RFC 3848) and RFC 6409 8.2/8.3 fields */
	smtp_rfc5322_date(date, sizeof(date));
	buf_init(&sj->head, 8192);
	smtp_trace_from(s->helo, s->ip, from, sizeof(from));
	buf_printf(&sj->head,
	    "Received: from %s\r\n\tby %s (postern) "
	    "with %s id %s",
	    from, c->hostname, smtp_proto(s), sj->env.id);
	if ((s->flags & SF_TLS) &&
	    (ssl = bufferevent_openssl_get_ssl(s->bev)) != NULL)
		buf_printf(&sj->head, "\r\n\t(version=%s cipher=%s)",
		    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
	if (sj->env.nrcpt == 1)
		buf_printf(&sj->head, "\r\n\tfor <%s>", sj->env.rcpts[0].addr);
	buf_printf(&sj->head, ";\r\n\t%s\r\n", date);
	/* RFC 6409 8.2/8.3: a submission server completes a message; a
	 * message from elsewhere is passed on as it came */
	if (!hi.has_msgid && !tx->inbound)
		buf_printf(&sj->head, "Message-ID: <%s@%s>\r\n", sj->env.id,
		    c->hostname);
	if (!hi.has_date && !tx->inbound)
		buf_printf(&sj->head, "Date: %s\r\n", date);
	smtp_tx_free(s);
	if (sj->env.inbound && s->rt.dnsq != NULL) {
		smtp_inbound_check(s, sj);
		return;
	}
	smtp_job_start(s, &sj->job, spool_job_run, spool_job_done);
	return;
refuse:
	smtp_tx_free(s);
}
