/*
 * session: the SMTP command state machine (RFC 5321, 3207, 4954). Input
 * is read line by line with a hard limit, each command is checked
 * against the table's rules in one place, and work that needs the store
 * (AUTH, the relay-network check) goes to a worker while the session
 * waits. Replies to pipelined commands leave in one write.
 */
#include <ctype.h>
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

#include "guard.h"
#include "parse.h"
#include "session.h"
#include "../auth/cred.h"
#include "../store/store.h"
#include "../util/base64.h"
#include "../util/cidr.h"
#include "../util/log.h"
#include "../util/str.h"

#define CMD_PRE_TLS 0x01 /* allowed before STARTTLS on submission */
#define CMD_NEED_EHLO 0x02
#define CMD_IN_TX 0x04 /* needs MAIL first */
#define CMD_NO_TX 0x08 /* not inside a transaction */
#define CMD_CHUNK 0x10 /* carries a chunk: read even when refused */

struct smtp_cmd {
	const char *name;
	unsigned flags;
	void (*fn)(struct smtp_session *, char *arg);
};

static void smtp_do_ehlo(struct smtp_session *, char *);
static void smtp_do_helo(struct smtp_session *, char *);
static void smtp_do_starttls(struct smtp_session *, char *);
static void smtp_do_auth(struct smtp_session *, char *);
static void smtp_do_mail(struct smtp_session *, char *);
static void smtp_do_rcpt(struct smtp_session *, char *);
static void smtp_do_data(struct smtp_session *, char *);
static void smtp_do_bdat(struct smtp_session *, char *);
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
	/* pre-TLS so that smtp_do_auth() answers 538 (RFC 4954) */
	{ "AUTH", CMD_PRE_TLS | CMD_NEED_EHLO | CMD_NO_TX, smtp_do_auth },
	{ "MAIL", CMD_NEED_EHLO | CMD_NO_TX, smtp_do_mail },
	{ "RCPT", CMD_IN_TX, smtp_do_rcpt },
	{ "DATA", CMD_IN_TX, smtp_do_data },
	{ "BDAT", CMD_IN_TX | CMD_CHUNK, smtp_do_bdat },
	{ "RSET", CMD_PRE_TLS, smtp_do_rset },
	{ "NOOP", CMD_PRE_TLS, smtp_do_noop },
	{ "QUIT", CMD_PRE_TLS, smtp_do_quit },
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

static const struct conf *
smtp_conf(struct smtp_session *s)
{
	return s->loop->srv->conf;
}

void
smtp_reply(struct smtp_session *s, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 3)
		n = sizeof(line) - 3;
	line[n++] = '\r';
	line[n++] = '\n';
	bufferevent_write(s->bev, line, (size_t)n);
}

static void
smtp_close_after_reply(struct smtp_session *s)
{
	/* the write callback, or smtp_run(), frees it once the reply is out */
	s->state = S_CLOSING;
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
smtp_error(struct smtp_session *s)
{
	if (++s->errors >= smtp_conf(s)->errors_per_session) {
		smtp_reply(s, "421 4.7.0 %s Too many errors, closing",
		    smtp_conf(s)->hostname);
		log_info("smtp.close session=%016llx ip=%s reason=errors",
		    (unsigned long long)s->id, s->ip);
		smtp_close_after_reply(s);
		return -1;
	}
	return 0;
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

static void
smtp_auth_clear(struct smtp_session *s)
{
	if (s->sasl_login) {
		sodium_memzero(s->sasl_login, strlen(s->sasl_login));
		free(s->sasl_login);
		s->sasl_login = NULL;
	}
	s->sasl_step = 0;
}

static void smtp_auth_job_free(struct worker_job *);

void
smtp_session_free(struct smtp_session *s)
{
	struct server_loop *l = s->loop;

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
	if (s->delayed)
		smtp_auth_job_free(s->delayed);
	smtp_tx_free(s);
	smtp_auth_clear(s);
	free(s->helo);
	free(s->ident);
	free(s->cred);
	free(s->block_reason);
	if (s->bev)
		bufferevent_free(s->bev);
	server_conn_leave(l->srv, s->ipkey);
	TAILQ_REMOVE(&l->sessions, s, entry);
	l->nsessions--;
	log_debug("smtp.disconnect session=%016llx ip=%s",
	    (unsigned long long)s->id, s->ip);
	free(s);
	if (l->stopping && l->nsessions == 0)
		event_base_loopexit(l->base, NULL);
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

static void
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
	smtp_set_timeout(s, smtp_conf(s)->command_timeout);
	bufferevent_enable(s->bev, EV_READ | EV_WRITE);
}

/* The next deadline: the session's end, or sooner the TLS handshake's. */
static void
smtp_arm_deadline(struct smtp_session *s)
{
	const struct conf *c = smtp_conf(s);
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
	    smtp_conf(s)->hostname);
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
	    smtp_conf(s)->hostname);
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
	s->state = S_CMD;
	smtp_reply(s, "220 %s ESMTP postern", smtp_conf(s)->hostname);
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

void
smtp_session_new(struct server_loop *l, int fd, const char *ip,
    const char *ipkey, enum listen_kind kind)
{
	struct smtp_session *s;
	const struct conf *c = l->srv->conf;
	SSL *ssl;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		evutil_closesocket(fd);
		server_conn_leave(l->srv, ipkey);
		return;
	}
	s->id = atomic_fetch_add(&l->srv->next_id, 1);
	s->loop = l;
	s->kind = kind;
	s->fd = fd;
	s->state = S_GREET;
	s->t_start = smtp_now_ms();
	str_lcpy(s->ip, ip, sizeof(s->ip));
	str_lcpy(s->ipkey, ipkey, sizeof(s->ipkey));
	TAILQ_INSERT_TAIL(&l->sessions, s, entry);
	l->nsessions++;
	if ((s->deadline = evtimer_new(l->base, smtp_deadline_cb, s)) == NULL) {
		evutil_closesocket(fd);
		smtp_session_free(s);
		return;
	}
	if (kind == LISTEN_SUBMISSIONS) {
		if ((ssl = SSL_new(atomic_load(&l->srv->tls))) == NULL) {
			evutil_closesocket(fd);
			smtp_session_free(s);
			return;
		}
		s->bev = bufferevent_openssl_socket_new(l->base, fd, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
		s->flags |= SF_TLS;
	} else {
		s->bev =
		    bufferevent_socket_new(l->base, fd, BEV_OPT_CLOSE_ON_FREE);
	}
	if (s->bev == NULL) {
		evutil_closesocket(fd);
		smtp_session_free(s);
		return;
	}
	if (s->flags & SF_TLS)
		bufferevent_openssl_set_allow_dirty_shutdown(s->bev, 1);
	smtp_setup_bev(s);
	log_debug("smtp.connect session=%016llx ip=%s listener=%d",
	    (unsigned long long)s->id, ip, kind);
	if (s->flags & SF_TLS) {
		smtp_tls_begins(s); /* the greeting once it is done */
		return;
	}
	smtp_arm_deadline(s);
	if (kind == LISTEN_SMTP && c->greet_wait_ms > 0) {
		struct timeval tv = { (time_t)(c->greet_wait_ms / 1000),
			(suseconds_t)(c->greet_wait_ms % 1000) * 1000 };
		if ((s->greet = evtimer_new(l->base, smtp_greet_cb, s)) !=
		    NULL) {
			evtimer_add(s->greet, &tv);
			return;
		}
	}
	smtp_greet(s);
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
		    smtp_conf(s)->hostname);
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

/* "SIZE [LAST]" of BDAT: 0, or -1 if it is not that. */
static int
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
	s->state = S_SKIP;
	smtp_set_timeout(s, smtp_conf(s)->data_timeout);
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
	s->state = S_CMD;
	smtp_set_timeout(s, smtp_conf(s)->command_timeout);
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
		smtp_reply(s, "500 5.5.2 Command unrecognized");
		smtp_error(s);
		return;
	}
	if (s->loop->stopping && strcasecmp(c->name, "QUIT") != 0) {
		smtp_reply(s, "421 4.3.2 %s Service shutting down",
		    smtp_conf(s)->hostname);
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
	if (refusal == NULL) {
		c->fn(s, arg);
		return;
	}
	smtp_reply(s, "%s", refusal);
	if (smtp_error(s) == 0 && (c->flags & CMD_CHUNK))
		smtp_chunk_skip(s, arg);
}

static void smtp_auth_line(struct smtp_session *, char *);

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
			if (rc == -1 && s->state == S_AUTH) {
				smtp_auth_clear(s);
				s->state = S_CMD;
				smtp_reply(s, "500 5.5.6 Authentication "
					      "exchange line too long or "
					      "holds NUL");
				if (smtp_error(s) == -1)
					return;
				continue;
			}
			if (rc == -1) {
				smtp_reply(s,
				    "500 5.5.2 Line too long or holds NUL");
				if (smtp_error(s) == -1)
					return;
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
		s->state = S_CMD;
	if (s->state != S_CLOSING) {
		smtp_set_timeout(s, smtp_conf(s)->command_timeout);
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
			    smtp_conf(s)->hostname);
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
		smtp_reply(s, "501 5.5.4 Syntax: EHLO hostname");
		return -1;
	}
	/* a name the Received: field can carry: printable ASCII; one
	 * that is not a domain or an address literal goes in a comment */
	if (!smtp_helo_is_acceptable(arg)) {
		smtp_reply(s, "501 5.5.2 Invalid EHLO argument: a host name or "
			      "address literal in ASCII, please");
		return -1;
	}
	free(s->helo);
	s->helo = strdup(arg);
	smtp_tx_free(s);
	return 0;
}

static int
smtp_auth_offered(struct smtp_session *s)
{
	return s->kind != LISTEN_SMTP && (s->flags & SF_TLS) &&
	       s->ident == NULL;
}

static void
smtp_do_ehlo(struct smtp_session *s, char *arg)
{
	const struct conf *c = smtp_conf(s);

	if (smtp_helo_arg(s, arg) == -1) {
		smtp_error(s);
		return;
	}
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
	smtp_reply(s, "250 CHUNKING");
}

static void
smtp_do_helo(struct smtp_session *s, char *arg)
{
	if (smtp_helo_arg(s, arg) == -1) {
		smtp_error(s);
		return;
	}
	s->flags |= SF_EHLO;
	s->flags &= ~SF_ESMTP;
	smtp_reply(s, "250 %s", smtp_conf(s)->hostname);
}

/* STARTTLS */

static void
smtp_do_starttls(struct smtp_session *s, char *arg)
{
	struct bufferevent *tls;
	static const char ok[] = "220 2.0.0 Ready to start TLS\r\n";
	SSL *ssl;

	if (*arg) {
		smtp_reply(s, "501 5.5.4 Syntax: STARTTLS");
		smtp_error(s);
		return;
	}
	if (s->flags & SF_TLS) {
		smtp_reply(s, "503 5.5.1 TLS already active");
		smtp_error(s);
		return;
	}
	if ((ssl = SSL_new(atomic_load(&s->loop->srv->tls))) == NULL) {
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
			s->state = S_CLOSING;
			bufferevent_free(s->bev);
			s->bev = NULL;
			return;
		}
	}
	bufferevent_setfd(s->bev, -1);
	bufferevent_free(s->bev);
	tls = bufferevent_openssl_socket_new(s->loop->base, s->fd, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	s->bev = tls;
	if (tls == NULL) {
		evutil_closesocket(s->fd);
		s->state = S_CLOSING;
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

/* AUTH */

struct auth_job {
	struct worker_job base;
	struct smtp_session *s; /* NULL'd if the session goes */
	struct sasl_creds creds;
	char mech[16];
	char ip[SERVER_IP_MAX];
	char ipkey[SERVER_IPKEY_MAX];
	int refused; /* by the brute-force rules: only logged */
	struct cred_result r;
};

/* An AUTH check that never ran: its secret goes with it. */
static void
smtp_auth_job_free(struct worker_job *j)
{
	sodium_memzero(j, sizeof(struct auth_job));
	free(j);
}

/* After a good login: its limits into the quota engine, and the rule on
 * how many addresses it comes from. */
static void
auth_job_owner(struct auth_job *a, void *ctx, int64_t now)
{
	struct store *st = server_worker_store(ctx);
	const struct conf *c = server_worker_conf(ctx);
	struct quota_abuse ab;
	struct quota_key k;
	char reason[128];

	quota_key_set(&k, a->r.id->user_id, a->r.id->domain_id);
	guard_limits(st, c, &k, now);
	guard_abuse_conf(c, &ab);
	/* an IPv6 client's privacy addresses are one place, its /64 */
	if (!quota_login_from(&k, a->ipkey, &ab, now))
		return;
	snprintf(reason, sizeof(reason),
	    "logins from more than %lld addresses in one hour",
	    (long long)ab.ips_per_hour);
	if (guard_block(st, c, &k, a->r.id->login, reason, now) == 1) {
		a->r.blocked = 1;
		str_lcpy(a->r.block_reason, reason, sizeof(a->r.block_reason));
	}
}

static void
auth_job_run(struct worker_job *j, void *ctx)
{
	struct auth_job *a = (struct auth_job *)j;
	int64_t now = (int64_t)time(NULL);

	if (a->refused) {
		cred_log_refused(server_worker_store(ctx), a->creds.login,
		    a->ip, a->mech, "too many failures from this address", now);
	} else {
		cred_verify(server_worker_store(ctx), server_keys(ctx),
		    &a->creds, a->mech, a->ip, now, &a->r);
		if (a->r.ok)
			auth_job_owner(a, ctx, now);
	}
	sodium_memzero(&a->creds.secret, sizeof(a->creds.secret));
}

static void
smtp_auth_count_failure(struct smtp_session *s)
{
	if (++s->auth_fails >= smtp_conf(s)->auth_failures_per_session) {
		smtp_reply(s, "421 4.7.0 %s Too many failed authentications",
		    smtp_conf(s)->hostname);
		smtp_close_after_reply(s);
	}
}

/* The answer to a failed AUTH; not from inside smtp_process(). */
static void
smtp_auth_fail(struct smtp_session *s)
{
	if (s->auth_refused) {
		s->auth_refused = 0;
		s->sasl_step = 0;
		s->state = S_CMD;
		smtp_reply(s, "454 4.7.0 Too many failed authentications from "
			      "your address: try again later");
		smtp_auth_count_failure(s);
		return;
	}
	if ((s->mech == SASL_XOAUTH2 || s->mech == SASL_OAUTHBEARER) &&
	    s->sasl_step == 0) {
		/* RFC 7628 3.2.2: an error challenge, the client answers
		 * with a dummy response, then the failure */
		s->sasl_step = 2;
		s->state = S_AUTH;
		smtp_reply(s, "334 %s",
		    s->mech == SASL_XOAUTH2
			? "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0="
			: "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=");
		return;
	}
	s->sasl_step = 0;
	s->state = S_CMD;
	smtp_reply(s, "535 5.7.8 Authentication credentials invalid");
	smtp_auth_count_failure(s);
}

static void
smtp_auth_fail_timer(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)fd;
	(void)what;
	smtp_auth_fail(s);
	smtp_resume(s);
}

static void
auth_job_done(struct worker_job *j)
{
	struct auth_job *a = (struct auth_job *)j;
	struct smtp_session *s = a->s;
	uint64_t elapsed, delay;
	struct timeval tv;

	if (j->owner == NULL) { /* session gone */
		free(a->r.id);
		free(a);
		return;
	}
	s->job = NULL;
	if (a->r.ok) {
		log_info("smtp.auth session=%016llx ip=%s mech=%s user=%s "
			 "kind=%s result=ok",
		    (unsigned long long)s->id, s->ip, a->mech, a->r.id->login,
		    a->r.kind);
		s->ident = a->r.id;
		/* kept to end the session when the credential goes */
		if ((s->cred = malloc(sizeof(*s->cred))) != NULL)
			*s->cred = a->r.ref;
		s->cred_checked = (int64_t)time(NULL);
		s->blocked = a->r.blocked;
		s->tos_ok = a->r.tos_ok;
		if (a->r.blocked)
			s->block_reason = strdup(a->r.block_reason);
		smtp_reply(s, "235 2.7.0 Authentication successful");
		free(a);
		smtp_resume(s);
		return;
	}
	log_info("smtp.auth session=%016llx ip=%s mech=%s result=%s",
	    (unsigned long long)s->id, s->ip, a->mech,
	    a->refused ? "refused reason=too_many_failures" : "failed");
	s->auth_refused = a->refused;
	if (!a->refused) {
		struct bf_conf bc;
		guard_bf_conf(smtp_conf(s), &bc);
		bf_failed_account(&bc, s->ipkey, a->creds.login, a->r.account,
		    (int64_t)time(NULL));
	}
	free(a);
	/* the same delay from the command, known login or not, refused or
	 * not: a refused client cannot go faster than a failing one */
	elapsed = smtp_now_ms() - s->t_cmd;
	delay = (uint64_t)smtp_conf(s)->auth_fail_delay_ms;
	delay = elapsed < delay ? delay - elapsed : 0;
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	if (s->timer == NULL)
		s->timer = evtimer_new(s->loop->base, smtp_auth_fail_timer, s);
	evtimer_add(s->timer, &tv);
}

static void
smtp_auth_delayed(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)fd;
	(void)what;
	s->job = s->delayed;
	s->delayed = NULL;
	workers_submit(s->loop->wl, s->job);
}

static void
smtp_auth_submit(struct smtp_session *s, struct sasl_creds *c)
{
	struct auth_job *a = calloc(1, sizeof(*a));
	struct bf_conf bc;
	int64_t delay;

	smtp_auth_clear(s);
	if (a == NULL) {
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		s->state = S_CMD;
		return;
	}
	a->base.run = auth_job_run;
	a->base.done = auth_job_done;
	a->base.owner = s;
	a->s = s;
	a->creds = *c;
	sodium_memzero(c, sizeof(*c));
	str_lcpy(a->mech, sasl_mech_name(s->mech), sizeof(a->mech));
	str_lcpy(a->ip, s->ip, sizeof(a->ip));
	str_lcpy(a->ipkey, s->ipkey, sizeof(a->ipkey));
	s->state = S_WAIT;
	/* the brute-force rules look at the address and the login typed,
	 * never at whether the login exists */
	guard_bf_conf(smtp_conf(s), &bc);
	delay = bf_check(&bc, s->ipkey, a->creds.login, (int64_t)time(NULL));
	if (delay < 0)
		a->refused = 1;
	if (delay > 0) {
		struct timeval tv = { (time_t)(delay / 1000),
			(suseconds_t)(delay % 1000) * 1000 };
		log_info("smtp.auth session=%016llx ip=%s slowed=%lldms",
		    (unsigned long long)s->id, s->ip, (long long)delay);
		/* a failure is then answered fail_delay after the wait */
		s->t_cmd += (uint64_t)delay;
		s->delayed = &a->base;
		if (s->bf_timer == NULL)
			s->bf_timer =
			    evtimer_new(s->loop->base, smtp_auth_delayed, s);
		evtimer_add(s->bf_timer, &tv);
		return;
	}
	s->job = &a->base;
	workers_submit(s->loop->wl, &a->base);
}

/* A response the mechanism could not decode: the same 535 and delay. */
static void
smtp_auth_bad(struct smtp_session *s, const char *why)
{
	struct sasl_creds c;

	log_info("smtp.auth session=%016llx ip=%s mech=%s result=malformed "
		 "why=\"%s\"",
	    (unsigned long long)s->id, s->ip, sasl_mech_name(s->mech), why);
	memset(&c, 0, sizeof(c));
	str_lcpy(c.login, "(malformed)", sizeof(c.login));
	smtp_auth_submit(s, &c);
}

static void
smtp_auth_decode(struct smtp_session *s, const char *resp)
{
	struct sasl_creds c;
	const char *why = NULL;
	int rc = -1;

	/* RFC 4954 4: not base64 is a syntax error, answered at once; it
	 * says nothing about a credential, so it needs no failure delay */
	if (!sasl_is_base64(resp)) {
		log_info("smtp.auth session=%016llx ip=%s mech=%s "
			 "result=malformed why=\"invalid base64\"",
		    (unsigned long long)s->id, s->ip, sasl_mech_name(s->mech));
		smtp_auth_clear(s);
		s->state = S_CMD;
		smtp_reply(s, "501 5.5.2 Cannot decode the response: it is "
			      "not base64");
		smtp_error(s);
		return;
	}
	memset(&c, 0, sizeof(c));
	switch (s->mech) {
	case SASL_PLAIN:
		rc = sasl_plain(resp, &c, &why);
		break;
	case SASL_XOAUTH2:
		rc = sasl_xoauth2(resp, &c, &why);
		break;
	case SASL_OAUTHBEARER:
		rc = sasl_oauthbearer(resp, &c, &why);
		break;
	case SASL_LOGIN:
		if (s->sasl_step == 0) {
			char user[SASL_LOGIN_MAX + 1];
			if (sasl_login_field(resp, user, sizeof(user), &why) ==
			    -1) {
				smtp_auth_bad(s, why);
				return;
			}
			s->sasl_login = strdup(user);
			s->sasl_step = 1;
			s->state = S_AUTH;
			smtp_reply(s, "334 UGFzc3dvcmQ6");
			return;
		}
		str_lcpy(c.login, s->sasl_login, sizeof(c.login));
		rc = sasl_login_field(resp, c.secret, sizeof(c.secret), &why);
		break;
	default:
		break;
	}
	if (rc == -1) {
		sodium_memzero(&c, sizeof(c));
		smtp_auth_bad(s, why ? why : "bad response");
		return;
	}
	smtp_auth_submit(s, &c);
}

static void
smtp_auth_line(struct smtp_session *s, char *line)
{
	s->state = S_CMD;
	if (s->sasl_step == 2) { /* the answer to an error challenge */
		smtp_auth_fail(s);
		return;
	}
	if (strcmp(line, "*") == 0) {
		smtp_auth_clear(s);
		smtp_reply(s, "501 5.7.0 Authentication cancelled");
		return;
	}
	s->t_cmd = smtp_now_ms();
	smtp_auth_decode(s, line);
}

static void
smtp_do_auth(struct smtp_session *s, char *arg)
{
	char *ir;

	if (s->kind == LISTEN_SMTP) {
		smtp_reply(s, "503 5.5.1 AUTH is not offered on this port: "
			      "use the submission port");
		smtp_error(s);
		return;
	}
	if (!(s->flags & SF_TLS)) {
		smtp_reply(s, "538 5.7.11 Encryption required for "
			      "requested authentication mechanism");
		smtp_error(s);
		return;
	}
	if (s->ident != NULL) {
		smtp_reply(s, "503 5.5.1 Already authenticated");
		smtp_error(s);
		return;
	}
	ir = arg + strcspn(arg, " ");
	while (*ir == ' ')
		*ir++ = '\0';
	if ((s->mech = sasl_mech_by_name(arg)) == SASL_NONE) {
		smtp_reply(s, "504 5.5.4 Unrecognized authentication type");
		smtp_error(s);
		return;
	}
	s->t_cmd = smtp_now_ms();
	if (*ir == '\0') {
		s->state = S_AUTH;
		smtp_reply(s,
		    s->mech == SASL_LOGIN ? "334 VXNlcm5hbWU6" : "334 ");
		return;
	}
	smtp_auth_decode(s, strcmp(ir, "=") == 0 ? "" : ir);
}

/* MAIL, RCPT */

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
		if (n > smtp_conf(s)->message_size) {
			smtp_reply(s,
			    "552 5.3.4 Message size exceeds fixed "
			    "limit of %lld bytes",
			    (long long)smtp_conf(s)->message_size);
			return -1;
		}
		tx->size_hint = n;
	} else if (strcasecmp(k, "BODY") == 0 && v &&
		   (strcasecmp(v, "7BIT") == 0 ||
		       strcasecmp(v, "8BITMIME") == 0)) {
		str_lcpy(tx->body,
		    strcasecmp(v, "7BIT") == 0 ? "7BIT" : "8BITMIME",
		    sizeof(tx->body));
	} else if (strcasecmp(k, "SMTPUTF8") == 0 && v == NULL) {
		tx->smtputf8 = 1;
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
	smtp_reply(s, "555 5.5.4 Unsupported or bad MAIL parameter %.40s", k);
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
	guard_abuse_conf(smtp_conf(s), &ab);
	if (quota_excess(&tx->qk, &ab, (int64_t)time(NULL))) {
		snprintf(reason, sizeof(reason),
		    "refused over quota %lld times in one day",
		    (long long)ab.excess_blocks);
		guard_block_submit(s->loop->wl, &tx->qk, tx->qwho, reason);
	}
}

/* The session waits for a job of its own on a worker. */
static void
smtp_wait_job(struct smtp_session *s, struct worker_job *j,
    void (*run)(struct worker_job *, void *), void (*done)(struct worker_job *))
{
	j->run = run;
	j->done = done;
	j->owner = s;
	s->job = j;
	s->state = S_WAIT;
	workers_submit(s->loop->wl, j);
}

/* MAIL: the quota, from memory; limits too old are resolved first. */
static void smtp_mail_quota(struct smtp_session *, int64_t ttl);

struct limits_job {
	struct worker_job base;
	struct smtp_session *s;
	struct quota_key key;
	int rc;
};

static void
limits_job_run(struct worker_job *j, void *ctx)
{
	struct limits_job *l = (struct limits_job *)j;

	l->rc = guard_limits(server_worker_store(ctx), server_worker_conf(ctx),
	    &l->key, (int64_t)time(NULL));
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

	rc = quota_check_mail(&tx->qk, (int64_t)time(NULL), ttl, &v);
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
	l->s = s;
	l->key = tx->qk;
	smtp_wait_job(s, &l->base, limits_job_run, limits_job_done);
}

/* The credential of the login, checked again as often as the limits: a
 * new SMTP password, a revoked app password or token ends the sessions
 * it opened (421) at their next MAIL, within SMTP_QUOTA_TTL seconds. */
struct cred_job {
	struct worker_job base;
	struct cred_ref ref;
	int rc;
};

static int
smtp_cred_stale(struct smtp_session *s)
{
	return s->cred == NULL ||
	       (int64_t)time(NULL) - s->cred_checked >= SMTP_QUOTA_TTL;
}

static void
cred_job_run(struct worker_job *j, void *ctx)
{
	struct cred_job *c = (struct cred_job *)j;

	c->rc = cred_still_valid(server_worker_store(ctx), &c->ref,
	    (int64_t)time(NULL));
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
		    smtp_conf(s)->hostname);
		smtp_tx_free(s);
		smtp_close_after_reply(s);
	} else if (rc == -1) {
		smtp_reply(s, "451 4.3.0 Cannot check the login now, try "
			      "again later");
		smtp_tx_free(s);
	} else {
		s->cred_checked = (int64_t)time(NULL);
		if (s->tx)
			smtp_mail_quota(s, SMTP_QUOTA_TTL);
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
	smtp_wait_job(s, &c->base, cred_job_run, cred_job_done);
}

struct relay_job {
	struct worker_job base;
	struct smtp_session *s;
	char ip[46];
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
	struct store *st = server_worker_store(ctx);
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
		guard_limits(st, server_worker_conf(ctx), &r->key,
		    (int64_t)time(NULL));
	}
}

static void
relay_job_done(struct worker_job *j)
{
	struct relay_job *r = (struct relay_job *)j;
	struct smtp_session *s = r->s;

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
	} else {
		smtp_reply(s, "250 2.1.0 Ok");
	}
	free(r->id);
	free(r);
	if (s->job == NULL) /* else the limits job resumes it */
		smtp_resume(s);
}

static void
smtp_do_mail(struct smtp_session *s, char *arg)
{
	char from[ADDR_MAX + 1], *rest;
	int utf8 = strcasestr(arg, "SMTPUTF8") != NULL;
	struct smtp_tx *tx;

	if (s->kind != LISTEN_SMTP && s->ident == NULL) {
		smtp_reply(s, "530 5.7.0 Authentication required");
		smtp_error(s);
		return;
	}
	if (smtp_parse_path(arg, "FROM:", from, sizeof(from), &rest, utf8) ==
	    -1) {
		smtp_reply(s, "501 5.5.4 Syntax: MAIL FROM:<address>");
		smtp_error(s);
		return;
	}
	if ((tx = calloc(1, sizeof(*tx))) == NULL) {
		smtp_reply(s, "451 4.3.0 Out of memory");
		return;
	}
	s->tx = tx;
	str_lcpy(tx->body, "7BIT", sizeof(tx->body));
	str_lcpy(tx->from, from, sizeof(tx->from));
	buf_init(&tx->msg, (size_t)smtp_conf(s)->message_size + 65536);
	if (smtp_params(rest, smtp_mail_param, s) == -1) {
		smtp_tx_free(s);
		smtp_error(s);
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
				smtp_mail_quota(s, SMTP_QUOTA_TTL);
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
		r->s = s;
		str_lcpy(r->ip, s->ip, sizeof(r->ip));
		str_lcpy(r->from, from, sizeof(r->from));
		smtp_wait_job(s, &r->base, relay_job_run, relay_job_done);
		return;
	}
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
	smtp_reply(s, "555 5.5.4 Unsupported or bad RCPT parameter %.40s", k);
	return -1;
}

/* A recipient refused here counts in the owner's share of refusals. */
static void
smtp_rcpt_refused(struct smtp_session *s)
{
	struct quota_abuse ab;

	if (!s->tx->has_qk)
		return;
	guard_abuse_conf(smtp_conf(s), &ab);
	if (quota_rcpt_result(&s->tx->qk, 0, 1, &ab, (int64_t)time(NULL)))
		guard_block_submit(s->loop->wl, &s->tx->qk, s->tx->qwho,
		    GUARD_REFUSED_REASON);
}

static void
smtp_do_rcpt(struct smtp_session *s, char *arg)
{
	struct smtp_tx *tx = s->tx;
	char to[ADDR_MAX + 1], *rest, why[160];
	struct spool_rcpt *r;

	if (smtp_parse_path(arg, "TO:", to, sizeof(to), &rest, tx->smtputf8) ==
		-1 ||
	    to[0] == '\0') {
		smtp_reply(s, "501 5.5.4 Syntax: RCPT TO:<address>");
		smtp_error(s);
		return;
	}
	if (s->ident == NULL && !tx->relay_ok) {
		/* no address trick changes this: nothing is relayed */
		smtp_reply(s, "554 5.7.1 <%s>: Relay access denied", to);
		smtp_error(s);
		return;
	}
	if (smtp_parse_rcpt(to, why, sizeof(why)) == -1) {
		smtp_reply(s, "553 5.1.3 <%s>: %s", to, why);
		smtp_rcpt_refused(s);
		smtp_error(s);
		return;
	}
	if (tx->nrcpt >= smtp_conf(s)->recipients_per_message) {
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
	if (smtp_params(rest, smtp_rcpt_param, s) == -1) {
		smtp_error(s);
		return;
	}
	tx->nrcpt++;
	smtp_reply(s, "250 2.1.5 Ok");
}

/* DATA, BDAT */

static void
smtp_do_data(struct smtp_session *s, char *arg)
{
	if (*arg) {
		smtp_reply(s, "501 5.5.4 Syntax: DATA");
		smtp_error(s);
		return;
	}
	if (s->tx->nrcpt == 0) {
		smtp_reply(s, "554 5.5.1 No valid recipients");
		smtp_error(s);
		return;
	}
	if (s->tx->data_started) {
		smtp_reply(s, "503 5.5.1 DATA after BDAT");
		smtp_error(s);
		return;
	}
	smtp_data_begin(s);
	s->state = S_DATA;
	smtp_set_timeout(s, smtp_conf(s)->data_timeout);
	smtp_reply(s, "354 End data with <CR><LF>.<CR><LF>");
}

static void
smtp_do_bdat(struct smtp_session *s, char *arg)
{
	int64_t n;
	int last;

	if (smtp_bdat_arg(arg, &n, &last) == -1) {
		smtp_reply(s, "501 5.5.4 Syntax: BDAT size [LAST]");
		smtp_error(s);
		return;
	}
	/* with no recipient the chunk is still read (counted, not kept),
	 * then refused */
	if (!s->tx->data_started)
		smtp_data_begin(s);
	s->tx->bdat_left = n;
	s->tx->bdat_last = last;
	s->state = S_BDAT;
	smtp_set_timeout(s, smtp_conf(s)->data_timeout);
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
