/*
 * session: the SMTP command state machine (RFC 5321, 3207). Input is
 * read line by line with a hard limit, each command is checked against
 * the table's rules in one place, the state changes in one function and
 * a client's errors are counted in one. Work that needs the store goes
 * to a worker (smtp_job_submit()) while the session waits. Replies to
 * pipelined commands leave in one write. AUTH is in session_auth.c,
 * the transaction in session_mail.c and session_data.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "parse.h"
#include "session_int.h"
#include "../util/log.h"
#include "../util/str.h"

/* The rules of a command, checked in one place (smtp_dispatch()) in
 * this order; a refusal is counted as an error. */
#define CMD_PRE_TLS 0x01   /* allowed before STARTTLS on submission */
#define CMD_NEED_EHLO 0x02 /* 503 Send EHLO first */
#define CMD_IN_TX 0x04	   /* needs MAIL first */
#define CMD_NO_TX 0x08	   /* not inside a transaction */
#define CMD_NEED_AUTH 0x10 /* on the submission listeners: a login */
#define CMD_CHUNK 0x20	   /* carries a chunk: read even when refused */
#define CMD_STOPPING 0x40  /* still obeyed while the server shuts down */

struct smtp_cmd {
	const char *name;
	unsigned flags;
	void (*fn)(struct smtp_session *, char *arg);
};

static void smtp_do_ehlo(struct smtp_session *, char *);
static void smtp_do_helo(struct smtp_session *, char *);
static void smtp_do_starttls(struct smtp_session *, char *);
static void smtp_do_rset(struct smtp_session *, char *);
static void smtp_do_noop(struct smtp_session *, char *);
static void smtp_do_quit(struct smtp_session *, char *);
static void smtp_do_vrfy(struct smtp_session *, char *);
static void smtp_do_help(struct smtp_session *, char *);
static void smtp_read_cb(struct bufferevent *, void *);
static void smtp_process(struct smtp_session *);
static void smtp_event_cb(struct bufferevent *, short, void *);

static const struct smtp_cmd smtp_cmds[] = {
	{ "EHLO", CMD_PRE_TLS, smtp_do_ehlo },
	{ "HELO", CMD_PRE_TLS, smtp_do_helo },
	{ "STARTTLS", CMD_PRE_TLS | CMD_NEED_EHLO | CMD_NO_TX,
	    smtp_do_starttls },
	/* pre-TLS so that smtp_cmd_auth() answers 538 (RFC 4954) */
	{ "AUTH", CMD_PRE_TLS | CMD_NEED_EHLO | CMD_NO_TX, smtp_cmd_auth },
	{ "MAIL", CMD_NEED_EHLO | CMD_NO_TX | CMD_NEED_AUTH, smtp_cmd_mail },
	{ "RCPT", CMD_IN_TX, smtp_cmd_rcpt },
	{ "DATA", CMD_IN_TX, smtp_cmd_data },
	{ "BDAT", CMD_IN_TX | CMD_CHUNK, smtp_cmd_bdat },
	{ "RSET", CMD_PRE_TLS, smtp_do_rset },
	{ "NOOP", CMD_PRE_TLS, smtp_do_noop },
	{ "QUIT", CMD_PRE_TLS | CMD_STOPPING, smtp_do_quit },
	{ "VRFY", 0, smtp_do_vrfy },
	{ "HELP", CMD_PRE_TLS, smtp_do_help },
	{ NULL, 0, NULL },
};

uint64_t
smtp_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void
smtp_vreply(struct smtp_session *s, const char *fmt, va_list ap)
{
	char line[1024];
	int n;

	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	bufferevent_write(s->bev, line, (size_t)n);
}

void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
}

void
smtp_set_state(struct smtp_session *s, enum smtp_state to)
{
	/* a closing session only waits for its last reply to leave: a job
	 * or a timer that answers late must not bring it back */
	if (s->state == S_CLOSING)
		return;
	s->state = to;
}

void
smtp_close_after_reply(struct smtp_session *s)
{
	/* the write callback, or smtp_maybe_close(), frees it once the
	 * reply is out */
	smtp_set_state(s, S_CLOSING);
	if (s->bev != NULL)
		bufferevent_disable(s->bev, EV_READ);
}

/* Free a closing session whose last reply is out; 1 if freed. */
static int
smtp_maybe_close(struct smtp_session *s)
{
	if (s->state != S_CLOSING)
		return 0;
	if (s->bev != NULL &&
	    evbuffer_get_length(bufferevent_get_output(s->bev)) > 0)
		return 0;
	smtp_session_free(s);
	return 1;
}

int
smtp_refuse(struct smtp_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	smtp_vreply(s, fmt, ap);
	va_end(ap);
	if (++s->errors >= conf_current()->errors_per_session) {
		smtp_reply(s, "421 4.7.0 %s Too many errors, closing",
		    conf_current()->hostname);
		log_info("smtp.close session=%016llx ip=%s reason=errors",
		    (unsigned long long)s->id, s->ip);
		smtp_close_after_reply(s);
		return -1;
	}
	return 0;
}

void
smtp_job_init(struct smtp_session *s, struct smtp_job *j,
    void (*run)(struct worker_job *, void *), void (*done)(struct worker_job *))
{
	j->base.run = run;
	j->base.done = done;
	/* cleared by smtp_session_free(): done() then drops the result */
	j->base.owner = s;
}

void
smtp_job_submit(struct smtp_session *s, struct smtp_job *j)
{
	s->job = &j->base;
	smtp_set_state(s, S_WAIT);
	workers_submit(s->rt.wl, &j->base);
}

void
smtp_job_start(struct smtp_session *s, struct smtp_job *j,
    void (*run)(struct worker_job *, void *), void (*done)(struct worker_job *))
{
	smtp_job_init(s, j, run, done);
	smtp_job_submit(s, j);
}

void
smtp_tx_free(struct smtp_session *s)
{
	if (s->tx == NULL)
		return;
	free(s->tx->rcpts);
	free(s->tx->relay_id);
	buf_free(&s->tx->msg);
	free(s->tx);
	s->tx = NULL;
}

void
smtp_session_free(struct smtp_session *s)
{
	if (s->job)
		s->job->owner = NULL; /* the job's done() drops the result */
	if (s->timer)
		event_free(s->timer);
	if (s->bf_timer)
		event_free(s->bf_timer);
	if (s->greet)
		event_free(s->greet);
	if (s->deadline)
		event_free(s->deadline);
	smtp_auth_free(s);
	smtp_data_free_pending(s);
	smtp_tx_free(s);
	free(s->helo);
	free(s->ident);
	free(s->cred);
	free(s->block_reason);
	if (s->bev)
		bufferevent_free(s->bev);
	s->rt.detach(s->rt.arg, s, s->ipkey);
	log_debug("smtp.disconnect session=%016llx ip=%s",
	    (unsigned long long)s->id, s->ip);
	free(s);
}

static void
smtp_write_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (s->state == S_CLOSING) {
		smtp_session_free(s);
		return;
	}
	/* the replies are out: read the commands that waited for that */
	if (s->flags & SF_OUTFULL) {
		s->flags &= ~SF_OUTFULL;
		smtp_process(s);
		smtp_maybe_close(s);
	}
}

void
smtp_set_timeout(struct smtp_session *s, int64_t secs)
{
	struct timeval tv = { (time_t)secs, 0 };

	bufferevent_set_timeouts(s->bev, &tv, &tv);
}

static void
smtp_setup_bev(struct smtp_session *s)
{
	bufferevent_setcb(s->bev, smtp_read_cb, smtp_write_cb, smtp_event_cb,
	    s);
	/* stop reading while this much input waits (a stalled pipeline) */
	bufferevent_setwatermark(s->bev, EV_READ, 0, 64 * 1024);
	smtp_set_timeout(s, conf_current()->command_timeout);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* The next deadline: the session's end, or sooner the TLS handshake's. */
static void
smtp_arm_deadline(struct smtp_session *s)
{
	const struct conf *c = conf_current();
	uint64_t now = smtp_now_ms(), end, ms;
	struct timeval tv;

	end = s->t_start + (uint64_t)c->session_timeout * 1000;
	if (s->handshaking &&
	    s->t_tls + (uint64_t)c->tls_handshake_timeout * 1000 < end)
		end = s->t_tls + (uint64_t)c->tls_handshake_timeout * 1000;
	ms = end > now ? end - now : 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000) * 1000;
	evtimer_add(s->deadline, &tv);
}

/* A TLS handshake begins (465 at once, or after STARTTLS's 220). */
static void
smtp_tls_begins(struct smtp_session *s)
{
	s->handshaking = 1;
	s->t_tls = smtp_now_ms();
	smtp_arm_deadline(s);
}

/* A session past session_timeout: 421, then closed once it is out. */
static void
smtp_expire(struct smtp_session *s)
{
	struct timeval later = { 10, 0 }; /* for the reply to leave */

	log_info("smtp.close session=%016llx ip=%s reason=session_timeout",
	    (unsigned long long)s->id, s->ip);
	smtp_reply(s, "421 4.4.2 %s Session lasted too long, closing",
	    conf_current()->hostname);
	smtp_close_after_reply(s);
	bufferevent_enable(s->bev, EV_WRITE);
	evtimer_add(s->deadline, &later);
}

/*
 * The deadlines: a TLS handshake that is not done in time is dropped
 * (however slowly the client keeps sending, which the idle timeout
 * would allow); a session past its time gets 421 once its pending work
 * is answered, and is dropped if that reply cannot leave. The session
 * is marked overdue then, so that the next command it reads ends it:
 * a client that pipelines commands which each start work (MAIL and its
 * relay look-up) would otherwise always have some pending when the
 * timer looks.
 */
static void
smtp_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	struct timeval later = { 1, 0 };

	(void)fd;
	(void)what;
	if (s->handshaking || s->state == S_CLOSING || s->bev == NULL) {
		log_info("smtp.close session=%016llx ip=%s reason=%s",
		    (unsigned long long)s->id, s->ip,
		    s->handshaking ? "tls_handshake_timeout"
				   : "session_timeout");
		smtp_session_free(s);
		return;
	}
	if (s->state == S_WAIT) { /* our own work: its answer goes first */
		s->overdue = 1;
		evtimer_add(s->deadline, &later);
		return;
	}
	smtp_expire(s);
}

/*
 * Did the client talk before the greeting? Whatever it sent is in the
 * input buffer, inside OpenSSL, or still in the socket. Nothing sent
 * then is obeyed (a client that pipelines a whole transaction before
 * the 220 is a bot or a confused client); this check costs one recv().
 */
static int
smtp_talked_first(struct smtp_session *s)
{
	SSL *ssl;
	char c;

	if (evbuffer_get_length(bufferevent_get_input(s->bev)) > 0)
		return 1;
	if ((s->flags & SF_TLS) &&
	    (ssl = bufferevent_openssl_get_ssl(s->bev)) != NULL &&
	    SSL_has_pending(ssl))
		return 1;
	return recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT) > 0;
}

static void
smtp_refuse_talker(struct smtp_session *s)
{
	log_info("smtp.close session=%016llx ip=%s reason=talked_first",
	    (unsigned long long)s->id, s->ip);
	evbuffer_drain(bufferevent_get_input(s->bev),
	    evbuffer_get_length(bufferevent_get_input(s->bev)));
	smtp_reply(s,
	    "554 5.5.1 %s Protocol error: commands sent before "
	    "the greeting",
	    conf_current()->hostname);
	smtp_close_after_reply(s);
}

/* The 220, unless the client already talked. */
static void
smtp_greet(struct smtp_session *s)
{
	if (smtp_talked_first(s)) {
		smtp_refuse_talker(s);
		return;
	}
	smtp_set_state(s, S_CMD);
	smtp_reply(s, "220 %s ESMTP postern", conf_current()->hostname);
}

static void
smtp_greet_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)fd;
	(void)what;
	if (s->state != S_GREET) /* shut down meanwhile */
		return;
	smtp_greet(s);
	smtp_maybe_close(s);
}

struct smtp_session *
smtp_session_start(const struct smtp_runtime *rt, int fd, const char *ip,
    const char *ipkey, enum listen_kind kind)
{
	struct smtp_session *s;
	const struct conf *c = conf_current();
	SSL_CTX *ctx;
	SSL *ssl;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		evutil_closesocket(fd);
		rt->detach(rt->arg, NULL, ipkey);
		return NULL;
	}
	s->rt = *rt;
	s->id = rt->next_id(rt->arg);
	s->kind = kind;
	s->fd = fd;
	smtp_set_state(s, S_GREET);
	s->t_start = smtp_now_ms();
	str_lcpy(s->ip, ip, sizeof(s->ip));
	str_lcpy(s->ipkey, ipkey, sizeof(s->ipkey));
	rt->attach(rt->arg, s);
	if ((s->deadline = evtimer_new(rt->base, smtp_deadline_cb, s)) ==
	    NULL) {
		evutil_closesocket(fd);
		smtp_session_free(s);
		return NULL;
	}
	if (kind == LISTEN_SUBMISSIONS) {
		if ((ctx = rt->tls(rt->arg)) == NULL ||
		    (ssl = SSL_new(ctx)) == NULL) {
			evutil_closesocket(fd);
			smtp_session_free(s);
			return NULL;
		}
		s->bev = bufferevent_openssl_socket_new(rt->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		s->flags |= SF_TLS;
	} else {
		s->bev =
		    bufferevent_socket_new(rt->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (s->bev == NULL) {
		evutil_closesocket(fd);
		smtp_session_free(s);
		return NULL;
	}
	if (s->flags & SF_TLS)
		bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	smtp_setup_bev(s);
	log_debug("smtp.connect session=%016llx ip=%s listener=%d",
	    (unsigned long long)s->id, ip, kind);
	if (s->flags & SF_TLS) {
		smtp_tls_begins(s); /* the greeting once it is done */
		return s;
	}
	smtp_arm_deadline(s);
	if (kind == LISTEN_SMTP && c->greet_wait_ms > 0) {
		struct timeval tv = { (time_t)(c->greet_wait_ms / 1000),
			(suseconds_t)(c->greet_wait_ms % 1000) * 1000 };
		if ((s->greet = evtimer_new(rt->base, smtp_greet_cb, s)) !=
		    NULL) {
			evtimer_add(s->greet, &tv);
			return s;
		}
	}
	smtp_greet(s);
	return s;
}

void
smtp_session_shutdown(struct smtp_session *s)
{
	if (s->handshaking) {
		smtp_session_free(s);
		return;
	}
	if ((s->state == S_CMD || s->state == S_GREET) && s->tx == NULL) {
		smtp_reply(s, "421 4.3.2 %s Service shutting down",
		    conf_current()->hostname);
		smtp_close_after_reply(s);
	}
	/* others finish their transaction; the next command gets 421 */
}

/*
 * One line from the input, without its CRLF, into line (NUL-terminated).
 * 1: a line; 0: need more; -1: too long (the rest is skipped), or a NUL.
 */
static int
smtp_readline(struct smtp_session *s, char *line, size_t max)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	struct evbuffer_ptr p;
	size_t len, n;

	p = evbuffer_search(in, "\n", 1, NULL);
	if (p.pos == -1) {
		len = evbuffer_get_length(in);
		if (len > max) {
			evbuffer_drain(in, len);
			s->flags |= SF_DISCARD;
		}
		return 0;
	}
	n = (size_t)p.pos + 1;
	if (s->flags & SF_DISCARD) {
		evbuffer_drain(in, n);
		s->flags &= ~SF_DISCARD;
		return -1;
	}
	if (n > max) {
		evbuffer_drain(in, n);
		return -1;
	}
	evbuffer_remove(in, line, n);
	line[--n] = '\0';
	if (n > 0 && line[n - 1] == '\r')
		line[--n] = '\0';
	if (memchr(line, '\0', n) != NULL)
		return -1;
	return 1;
}

int
smtp_bdat_arg(char *arg, int64_t *n, int *last)
{
	char *sp = strchr(arg, ' ');

	*last = 0;
	if (sp) {
		*sp++ = '\0';
		if (strcasecmp(sp, "LAST") != 0)
			return -1;
		*last = 1;
	}
	if (strlen(arg) > 12 || (*n = str_uint(arg)) < 0)
		return -1;
	return 0;
}

/*
 * A refused BDAT still brings its chunk: RFC 3030 2 wants the chunks
 * already pipelined after a failed BDAT read and discarded, and reading
 * them as commands would put the session out of step with the client.
 * Only counted, never kept.
 */
static void
smtp_chunk_skip(struct smtp_session *s, char *arg)
{
	int64_t n;
	int last;

	if (smtp_bdat_arg(arg, &n, &last) == -1 || n == 0)
		return;
	s->skip_left = n;
	smtp_set_state(s, S_SKIP);
	smtp_set_timeout(s, conf_current()->data_timeout);
}

/* S_SKIP: drop chunk bytes; 1 when the chunk is done, 0 need more. */
static int
smtp_skip_read(struct smtp_session *s)
{
	struct evbuffer *in = bufferevent_get_input(s->bev);
	size_t len = evbuffer_get_length(in);

	if ((int64_t)len > s->skip_left)
		len = (size_t)s->skip_left;
	evbuffer_drain(in, len);
	s->skip_left -= (int64_t)len;
	if (s->skip_left > 0)
		return 0;
	smtp_set_state(s, S_CMD);
	smtp_set_timeout(s, conf_current()->command_timeout);
	return 1;
}

static void
smtp_dispatch(struct smtp_session *s, char *line)
{
	const struct smtp_cmd *c;
	const char *refusal = NULL;
	char *arg;
	size_t n = strcspn(line, " ");

	arg = line + n;
	while (*arg == ' ')
		*arg++ = '\0';
	line[n] = '\0';
	for (c = smtp_cmds; c->name; c++)
		if (strcasecmp(c->name, line) == 0)
			break;
	if (c->name == NULL) {
		smtp_refuse(s, "500 5.5.2 Command unrecognized");
		return;
	}
	if (!(c->flags & CMD_STOPPING) && s->rt.stopping(s->rt.arg)) {
		smtp_reply(s, "421 4.3.2 %s Service shutting down",
		    conf_current()->hostname);
		smtp_close_after_reply(s);
		return;
	}
	/* the rules of the table, checked in one place */
	if (s->kind == LISTEN_SUBMISSION && !(s->flags & SF_TLS) &&
	    !(c->flags & CMD_PRE_TLS))
		refusal = "530 5.7.0 Must issue a STARTTLS command first";
	else if ((c->flags & CMD_NEED_EHLO) && !(s->flags & SF_EHLO))
		refusal = "503 5.5.1 Send EHLO first";
	else if ((c->flags & CMD_IN_TX) && s->tx == NULL)
		refusal = "503 5.5.1 Send MAIL first";
	else if ((c->flags & CMD_NO_TX) && s->tx != NULL)
		refusal = "503 5.5.1 Not allowed inside a transaction";
	/* AUTH is the only way to a transaction on submission */
	else if ((c->flags & CMD_NEED_AUTH) && s->kind != LISTEN_SMTP &&
		 s->ident == NULL)
		refusal = "530 5.7.0 Authentication required";
	if (refusal == NULL) {
		c->fn(s, arg);
		return;
	}
	if (smtp_refuse(s, "%s", refusal) == 0 && (c->flags & CMD_CHUNK))
		smtp_chunk_skip(s, arg);
}

/* Process every complete command in the input, until one must wait. */
static void
smtp_process(struct smtp_session *s)
{
	char line[SMTP_AUTH_LINE_MAX + 2];
	int rc;

	for (;;) {
		switch (s->state) {
		case S_CMD:
		case S_AUTH:
			/* past the deadline while work was pending: no
			 * further command */
			if (s->overdue) {
				smtp_expire(s);
				return;
			}
			/* a client that sends commands and never reads the
			 * replies holds at most this much of them here */
			if (evbuffer_get_length(bufferevent_get_output(
				s->bev)) > SMTP_OUT_MAX) {
				s->flags |= SF_OUTFULL;
				return;
			}
			rc = smtp_readline(s, line, SMTP_AUTH_LINE_MAX);
			/* only AUTH lines may be longer than a command */
			if (rc == 1 && s->state == S_CMD &&
			    strlen(line) > SMTP_CMD_MAX &&
			    strncasecmp(line, "AUTH ", 5) != 0)
				rc = -1;
			if (rc == 0)
				return;
			/* a refusal that closed the session leaves it
			 * S_CLOSING: the loop ends below */
			if (rc == -1 && s->state == S_AUTH) {
				smtp_auth_line(s, NULL);
				continue;
			}
			if (rc == -1) {
				smtp_refuse(s,
				    "500 5.5.2 Line too long or holds NUL");
				continue;
			}
			if (s->state == S_AUTH)
				smtp_auth_line(s, line);
			else
				smtp_dispatch(s, line);
			sodium_memzero(line, sizeof(line));
			break;
		case S_DATA:
		case S_BDAT:
			if (smtp_data_read(s) == 0)
				return;
			break;
		case S_SKIP:
			if (smtp_skip_read(s) == 0)
				return;
			break;
		default:
			return;
		}
	}
}

void
smtp_resume(struct smtp_session *s)
{
	if (s->state == S_WAIT)
		smtp_set_state(s, S_CMD);
	if (s->state != S_CLOSING) {
		smtp_set_timeout(s, conf_current()->command_timeout);
		bufferevent_enable(s->bev, EV_READ);
		smtp_process(s);
	}
	smtp_maybe_close(s);
}

static void
smtp_read_cb(struct bufferevent *bev, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (s->state == S_GREET) /* during greet_wait, or before the 220 */
		smtp_refuse_talker(s);
	else
		smtp_process(s);
	smtp_maybe_close(s);
}

static void
smtp_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) { /* TLS handshake done */
		s->handshaking = 0;
		smtp_arm_deadline(s);
		if (s->state == S_GREET) /* 465: now the greeting */
			smtp_greet(s);
		smtp_maybe_close(s);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (s->state == S_WAIT) /* our own work is slow, not the peer */
			return;
		if (s->handshaking) {
			smtp_session_free(s);
			return;
		}
		if (s->state != S_CLOSING && !(what & BEV_EVENT_WRITING)) {
			smtp_reply(s, "421 4.4.2 %s Timeout, closing",
			    conf_current()->hostname);
			smtp_close_after_reply(s);
			bufferevent_enable(s->bev, EV_WRITE);
			return;
		}
	}
	if (what & BEV_EVENT_ERROR) {
		unsigned long e = bufferevent_get_openssl_error(s->bev);
		if (e)
			log_debug("smtp.tls_error session=%016llx ip=%s "
				  "error=\"%s\"",
			    (unsigned long long)s->id, s->ip,
			    ERR_reason_error_string(e));
	}
	smtp_session_free(s);
}

/* EHLO, HELO */

static int
smtp_helo_arg(struct smtp_session *s, const char *arg)
{
	size_t n = strlen(arg);

	if (n == 0 || n > SMTP_HELO_MAX) {
		smtp_refuse(s, "501 5.5.4 Syntax: EHLO hostname");
		return -1;
	}
	/* a name the Received: field can carry: printable ASCII; one
	 * that is not a domain or an address literal goes in a comment */
	if (!smtp_helo_is_acceptable(arg)) {
		smtp_refuse(s,
		    "501 5.5.2 Invalid EHLO argument: a host name or "
		    "address literal in ASCII, please");
		return -1;
	}
	free(s->helo);
	s->helo = strdup(arg);
	smtp_tx_free(s);
	return 0;
}

static void
smtp_do_ehlo(struct smtp_session *s, char *arg)
{
	const struct conf *c = conf_current();

	if (smtp_helo_arg(s, arg) == -1)
		return;
	s->flags |= SF_EHLO | SF_ESMTP;
	smtp_reply(s, "250-%s", c->hostname);
	smtp_reply(s, "250-PIPELINING");
	smtp_reply(s, "250-SIZE %lld", (long long)c->message_size);
	if (!(s->flags & SF_TLS))
		smtp_reply(s, "250-STARTTLS");
	if (smtp_auth_offered(s))
		smtp_reply(s, "250-AUTH PLAIN LOGIN XOAUTH2 OAUTHBEARER");
	smtp_reply(s, "250-ENHANCEDSTATUSCODES");
	smtp_reply(s, "250-8BITMIME");
	smtp_reply(s, "250-SMTPUTF8");
	smtp_reply(s, "250-DSN");
	/* RFC 8689: offered over TLS only */
	if (s->flags & SF_TLS)
		smtp_reply(s, "250-REQUIRETLS");
	smtp_reply(s, "250 CHUNKING");
}

static void
smtp_do_helo(struct smtp_session *s, char *arg)
{
	if (smtp_helo_arg(s, arg) == -1)
		return;
	s->flags |= SF_EHLO;
	s->flags &= ~SF_ESMTP;
	smtp_reply(s, "250 %s", conf_current()->hostname);
}

/* STARTTLS */

static void
smtp_do_starttls(struct smtp_session *s, char *arg)
{
	struct bufferevent *tls;
	static const char ok[] = "220 2.0.0 Ready to start TLS\r\n";
	SSL_CTX *ctx;
	SSL *ssl;

	if (*arg) {
		smtp_refuse(s, "501 5.5.4 Syntax: STARTTLS");
		return;
	}
	if (s->flags & SF_TLS) {
		smtp_refuse(s, "503 5.5.1 TLS already active");
		return;
	}
	/* the context of now: a reload's new certificate for new ones */
	if ((ctx = s->rt.tls(s->rt.arg)) == NULL ||
	    (ssl = SSL_new(ctx)) == NULL) {
		smtp_reply(s, "454 4.7.0 TLS not available");
		return;
	}
	/*
	 * Replies still queued go first, then the 220 in plain text; then
	 * the plain buffers are dropped with anything the client sent
	 * after STARTTLS (CVE-2011-0411): only the handshake may follow.
	 */
	bufferevent_write(s->bev, ok, sizeof(ok) - 1);
	{
		/* the output buffer is the bufferevent's: copy, send, drop */
		struct evbuffer *out = bufferevent_get_output(s->bev);
		struct evbuffer_iovec v[8];
		size_t len = evbuffer_get_length(out);
		int nv = evbuffer_peek(out, -1, NULL, v, 8);
		if (nv < 0 || nv > 8 ||
		    writev(s->fd, (struct iovec *)v, nv) != (ssize_t)len) {
			SSL_free(ssl);
			smtp_set_state(s, S_CLOSING);
			bufferevent_free(s->bev);
			s->bev = NULL;
			return;
		}
	}
	bufferevent_setfd(s->bev, -1);
	bufferevent_free(s->bev);
	tls = bufferevent_openssl_socket_new(s->rt.base, s->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	s->bev = tls;
	if (tls == NULL) {
		evutil_closesocket(s->fd);
		smtp_set_state(s, S_CLOSING);
		return;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(tls, 1);
	s->flags |= SF_TLS;
	s->flags &= ~(SF_EHLO | SF_ESMTP); /* RFC 3207: forget everything */
	free(s->helo);
	s->helo = NULL;
	smtp_setup_bev(s);
	smtp_tls_begins(s);
}

static void
smtp_do_rset(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_tx_free(s);
	smtp_reply(s, "250 2.0.0 Ok");
}

static void
smtp_do_noop(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reply(s, "250 2.0.0 Ok");
}

static void
smtp_do_quit(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reply(s, "221 2.0.0 Bye");
	smtp_close_after_reply(s);
}

static void
smtp_do_vrfy(struct smtp_session *s, char *arg)
{
	(void)arg;
	/* never says whether an address exists */
	smtp_reply(s, "252 2.5.2 Cannot VRFY user, but will accept message "
		      "and attempt delivery");
}

static void
smtp_do_help(struct smtp_session *s, char *arg)
{
	(void)arg;
	smtp_reply(s, "214-2.0.0 Commands: EHLO HELO STARTTLS AUTH MAIL RCPT "
		      "DATA BDAT RSET NOOP QUIT VRFY HELP");
	smtp_reply(s, "214 2.0.0 See RFC 5321");
}
