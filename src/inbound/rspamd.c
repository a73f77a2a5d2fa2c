/*
 * rspamd: see rspamd.h. The request is one HTTP/1.0 POST, so rspamd
 * closes the connection after its answer and nothing is kept between
 * messages. Its bytes are peer bytes like any other: the reply is read
 * into a buffer with a hard maximum, parsed only as far as the verdict
 * needs, and every text taken from it is cleaned before it reaches a
 * header, a reply or a log line. A check never blocks its loop: connect,
 * write and read are events, and one timer bounds them all.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <jansson.h>

#include "rspamd.h"
#include "../util/base64.h"

/* ------------------------------------------------------------------ */
/* the reply */

static const struct {
	const char *name;
	enum rspamd_action action;
} rspamd_actions[] = {
	{ "no action", RSPAMD_NO_ACTION },
	{ "greylist", RSPAMD_GREYLIST },
	{ "add header", RSPAMD_ADD_HEADER },
	{ "rewrite subject", RSPAMD_REWRITE_SUBJECT },
	{ "soft reject", RSPAMD_SOFT_REJECT },
	{ "reject", RSPAMD_REJECT },
};

static const char *
rspamd_memmem(const char *h, size_t hlen, const char *n, size_t nlen)
{
	size_t i;

	for (i = 0; i + nlen <= hlen; i++)
		if (memcmp(h + i, n, nlen) == 0)
			return h + i;
	return NULL;
}

/* A header line "Name: value" (no CRLF): is it name? Then its value,
 * blanks trimmed. */
static int
rspamd_hdr_is(const char *line, size_t len, const char *name, const char **val,
    size_t *vlen)
{
	size_t n = strlen(name);

	if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
		return 0;
	line += n + 1;
	len -= n + 1;
	while (len > 0 && (*line == ' ' || *line == '\t'))
		line++, len--;
	while (len > 0 && (line[len - 1] == ' ' || line[len - 1] == '\t'))
		len--;
	*val = line;
	*vlen = len;
	return 1;
}

/* The header's lines after the status line (hlen bytes, each line with
 * its CRLF, checked): Content-Length into *clen; no encoded body. */
static int
rspamd_http_fields(const char *buf, size_t hlen, long *clen, char *why,
    size_t whylen)
{
	const char *p, *nl, *v;
	size_t vlen, i;
	long n;

	for (p = memchr(buf, '\n', hlen) + 1; p < buf + hlen; p = nl + 1) {
		nl = memchr(p, '\n', (size_t)(buf + hlen - p));
		if (*p == ' ' || *p == '\t') {
			snprintf(why, whylen,
			    "folded line in the reply header");
			return -1;
		}
		if (rspamd_hdr_is(p, (size_t)(nl - 1 - p), "Content-Length", &v,
			&vlen)) {
			for (n = 0, i = 0; i < vlen && n >= 0; i++)
				n = v[i] < '0' || v[i] > '9' ||
					    n > RSPAMD_REPLY_MAX
					? -1
					: n * 10 + (v[i] - '0');
			if (vlen == 0 || n < 0 || n > RSPAMD_REPLY_MAX ||
			    (*clen != -1 && *clen != n)) {
				snprintf(why, whylen, "bad Content-Length");
				return -1;
			}
			*clen = n;
		} else if (rspamd_hdr_is(p, (size_t)(nl - 1 - p),
			       "Transfer-Encoding", &v, &vlen) ||
			   (rspamd_hdr_is(p, (size_t)(nl - 1 - p),
				"Content-Encoding", &v, &vlen) &&
			       !(vlen == 8 &&
				   strncasecmp(v, "identity", 8) == 0))) {
			/* asked for neither: HTTP/1.0, no Accept-Encoding */
			snprintf(why, whylen, "encoded reply body");
			return -1;
		}
	}
	return 0;
}

/* The status line and header: the body's offset and length (-1: to the
 * end of the connection); 0 when the header is not whole yet. */
static int
rspamd_http_head(const char *buf, size_t len, size_t *body, long *clen,
    char *why, size_t whylen)
{
	const char *end;
	size_t hlen, i;
	int status;

	end = rspamd_memmem(buf, len < RSPAMD_HEAD_MAX ? len : RSPAMD_HEAD_MAX,
	    "\r\n\r\n", 4);
	if (end == NULL) {
		if (len >= RSPAMD_HEAD_MAX) {
			snprintf(why, whylen, "reply header too long");
			return -1;
		}
		return 0;
	}
	hlen = (size_t)(end - buf) + 2; /* the lines, each with its CRLF */
	*body = hlen + 2;
	*clen = -1;
	/* HTTP/1.x NNN: rspamd's answer is 200 or an error */
	if (hlen < 14 || memcmp(buf, "HTTP/1.", 7) != 0 || buf[7] < '0' ||
	    buf[7] > '9' || buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9' ||
	    (buf[12] != ' ' && buf[12] != '\r')) {
		snprintf(why, whylen, "not an HTTP reply");
		return -1;
	}
	status = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	if (status != 200) {
		snprintf(why, whylen, "HTTP status %d", status);
		return -1;
	}
	/* CRLF ends every line, and nothing else does */
	for (i = 0; i < hlen; i++)
		if (buf[i] == '\0' || (buf[i] == '\r' && buf[i + 1] != '\n') ||
		    (buf[i] == '\n' && (i == 0 || buf[i - 1] != '\r'))) {
			snprintf(why, whylen, "bad line in the reply header");
			return -1;
		}
	if (rspamd_http_fields(buf, hlen, clen, why, whylen) == -1)
		return -1;
	return 1;
}

/* A JSON string as at most max bytes of text: control bytes as blanks,
 * cut at a UTF-8 character's start (jansson checked the UTF-8). */
static void
rspamd_text(char *dst, size_t max, const json_t *s, int ascii)
{
	const char *v = json_string_value(s);
	size_t n = json_string_length(s), i;

	if (n > max) {
		n = max;
		while (n > 0 && ((unsigned char)v[n] & 0xc0) == 0x80)
			n--;
	}
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		dst[i] = c < 0x20 || c == 0x7f ? ' '
			 : ascii && c >= 0x80  ? '?'
					       : (char)c;
	}
	dst[n] = '\0';
}

static int
rspamd_json(const char *body, size_t len, struct rspamd_verdict *v, char *why,
    size_t whylen)
{
	json_error_t jerr;
	json_t *top, *a, *sc, *rq, *subj, *msgs, *sm;
	const char *name;
	size_t n, i;
	int rc = -1;

	if ((top = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr)) ==
	    NULL) {
		snprintf(why, whylen, "reply is not JSON");
		return -1;
	}
	a = json_object_get(top, "action");
	sc = json_object_get(top, "score");
	rq = json_object_get(top, "required_score");
	if (!json_is_object(top) || !json_is_string(a) || !json_is_number(sc) ||
	    (rq != NULL && !json_is_number(rq))) {
		snprintf(why, whylen, "reply without an action and a score");
		goto out;
	}
	name = json_string_value(a);
	n = json_string_length(a);
	if (n == 0 || n >= sizeof(v->action_name)) {
		snprintf(why, whylen, "bad action in the reply");
		goto out;
	}
	for (i = 0; i < n; i++)
		if (name[i] < 0x20 || name[i] > 0x7e) {
			snprintf(why, whylen, "bad action in the reply");
			goto out;
		}
	memcpy(v->action_name, name, n + 1);
	v->action = RSPAMD_OTHER;
	for (i = 0; i < sizeof(rspamd_actions) / sizeof(rspamd_actions[0]); i++)
		if (strcmp(name, rspamd_actions[i].name) == 0)
			v->action = rspamd_actions[i].action;
	v->score = json_number_value(sc);
	v->required = rq ? json_number_value(rq) : 0;
	if (!isfinite(v->score) || fabs(v->score) > 1e9 ||
	    !isfinite(v->required) || fabs(v->required) > 1e9) {
		snprintf(why, whylen, "bad score in the reply");
		goto out;
	}
	if (json_is_string(subj = json_object_get(top, "subject")))
		rspamd_text(v->subject, RSPAMD_SUBJECT_MAX, subj, 0);
	msgs = json_object_get(top, "messages");
	if (json_is_object(msgs) &&
	    json_is_string(sm = json_object_get(msgs, "smtp_message")))
		rspamd_text(v->text, RSPAMD_TEXT_MAX, sm, 1);
	rc = 1;
out:
	json_decref(top);
	return rc;
}

int
rspamd_reply_parse(const char *buf, size_t len, int eof,
    struct rspamd_verdict *v, char *why, size_t whylen)
{
	size_t body;
	long clen;
	int rc;

	memset(v, 0, sizeof(*v));
	why[0] = '\0';
	if (len > RSPAMD_REPLY_MAX) {
		snprintf(why, whylen, "reply too long");
		return -1;
	}
	rc = rspamd_http_head(buf, len, &body, &clen, why, whylen);
	if (rc == 0 && eof) {
		snprintf(why, whylen, "%s",
		    len == 0 ? "connection closed without a reply"
			     : "reply cut short");
		return -1;
	}
	if (rc != 1)
		return rc;
	if (clen >= 0 && len - body < (size_t)clen) {
		if (!eof)
			return 0;
		snprintf(why, whylen, "reply cut short");
		return -1;
	}
	if (clen < 0 && !eof)
		return 0;
	return rspamd_json(buf + body, clen >= 0 ? (size_t)clen : len - body, v,
	    why, whylen);
}

int
rspamd_action_is_spam(enum rspamd_action a)
{
	return a == RSPAMD_ADD_HEADER || a == RSPAMD_REWRITE_SUBJECT ||
	       a == RSPAMD_OTHER;
}

/* ------------------------------------------------------------------ */
/* what the verdict does to the message */

#define RSPAMD_OLD_SUBJECT_MAX 16384 /* bytes of an old Subject: kept */

/* "Subject: " and the value as it is (buf_printf stops at 2 KiB) */
static int
rspamd_subject_raw(struct buf *out, const char *s)
{
	if (buf_append(out, "Subject: ", 9) == -1 ||
	    buf_append(out, s, strlen(s)) == -1)
		return -1;
	return buf_append(out, "\r\n", 2);
}

/* "Subject: " and the value, ASCII as it is, else RFC 2047 encoded-words
 * of at most 45 bytes of UTF-8 each (75 characters), one a line. */
static int
rspamd_subject_field(struct buf *out, const char *s)
{
	char enc[64];
	size_t n = strlen(s), i, take;
	int ascii = 1;

	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = 0;
	if (ascii)
		return rspamd_subject_raw(out, s);
	if (buf_append(out, "Subject:", 8) == -1)
		return -1;
	for (i = 0; i < n; i += take) {
		take = n - i > 45 ? 45 : n - i;
		while (i + take < n && take > 1 &&
		       ((unsigned char)s[i + take] & 0xc0) == 0x80)
			take--;
		base64_encode(enc, (const unsigned char *)s + i, take);
		if (buf_printf(out, "%s=?UTF-8?B?%s?=", i ? "\r\n " : " ",
			enc) == -1)
			return -1;
	}
	return buf_append(out, "\r\n", 2);
}

/* The end of the field that starts at p (past its CRLF and the lines
 * that continue it), within the header that ends at end. */
static const char *
rspamd_field_end(const char *p, const char *end)
{
	const char *nl;

	/* lines end at CRLF only, as the header does (DATA let no bare CR
	 * or LF through anyway) */
	for (;;) {
		if ((nl = rspamd_memmem(p, (size_t)(end - p), "\r\n", 2)) ==
		    NULL)
			return end;
		p = nl + 2;
		if (p >= end || (*p != ' ' && *p != '\t'))
			return p;
	}
}

static int
rspamd_is_subject(const char *p, const char *fend)
{
	const char *c = memchr(p, ':', (size_t)(fend - p));
	size_t n;

	if (c == NULL)
		return 0;
	n = (size_t)(c - p);
	while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
		n--;
	return n == 7 && strncasecmp(p, "Subject", 7) == 0;
}

/* rspamd's subject (encoded as needed), or the old value with the tag,
 * written as the old one was */
static int
rspamd_subject_new(struct buf *out, const char *subject, const char *old)
{
	if (subject != NULL)
		return rspamd_subject_field(out, subject);
	return rspamd_subject_raw(out, old);
}

int
rspamd_subject_rewrite(const char *msg, size_t len, const char *subject,
    struct buf *out)
{
	const char *hend, *p, *fend, *first = NULL, *firstend = NULL, *v;
	char *old = NULL;
	size_t vlen;
	int rc = -1;

	/* the header: up to and with the CRLF before the blank line */
	if ((hend = rspamd_memmem(msg, len, "\r\n\r\n", 4)) != NULL)
		hend += 2;
	else
		hend = msg + len;
	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n')
		hend = msg; /* no header at all */
	for (p = msg; p < hend; p = fend) {
		fend = rspamd_field_end(p, hend);
		if (first == NULL && rspamd_is_subject(p, fend)) {
			first = p;
			firstend = fend;
		}
	}
	if (subject == NULL) {
		/* the old value as it was written, encoded-words and folds
		 * and all: only its CRLF and the blanks before it go */
		v = first ? memchr(first, ':', (size_t)(firstend - first)) + 1
			  : "";
		vlen = first ? (size_t)(firstend - v) : 0;
		while (vlen > 0 && (*v == ' ' || *v == '\t'))
			v++, vlen--;
		if (vlen > RSPAMD_OLD_SUBJECT_MAX)
			vlen = RSPAMD_OLD_SUBJECT_MAX; /* folded on and on */
		while (
		    vlen > 0 && (v[vlen - 1] == '\r' || v[vlen - 1] == '\n' ||
				    v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
			vlen--;
		if ((old = malloc(vlen + 16)) == NULL)
			return -1;
		memcpy(old, "*** SPAM ***", 12);
		old[12] = ' ';
		memcpy(old + 13, v, vlen);
		old[vlen ? 13 + vlen : 12] = '\0';
	}
	for (p = msg; p < hend; p = fend) {
		fend = rspamd_field_end(p, hend);
		if (p == first) {
			if (rspamd_subject_new(out, subject, old) == -1)
				goto out;
			continue;
		}
		if (rspamd_is_subject(p, fend))
			continue;
		if (buf_append(out, p, (size_t)(fend - p)) == -1)
			goto out;
	}
	/* none: the new one last, where no stray line of the message can
	 * continue it */
	if (first == NULL) {
		if (hend > msg &&
		    (hend - msg < 2 || hend[-2] != '\r' || hend[-1] != '\n') &&
		    buf_append(out, "\r\n", 2) == -1)
			goto out;
		if (rspamd_subject_new(out, subject, old) == -1)
			goto out;
	}
	if (buf_append(out, hend, len - (size_t)(hend - msg)) == -1)
		goto out;
	rc = 0;
out:
	free(old);
	return rc;
}

int
rspamd_fields(struct buf *out, enum rspamd_status st,
    const struct rspamd_verdict *v)
{
	static const char *const skipped[] = {
		[RSPAMD_UNREACHABLE] = "rspamd unreachable",
		[RSPAMD_TIMEOUT] = "rspamd timed out",
		[RSPAMD_BAD_REPLY] = "rspamd's answer unusable",
	};

	if (st != RSPAMD_DONE)
		return buf_printf(out, "X-Spam-Status: skipped (%s)\r\n",
		    skipped[st]);
	if (rspamd_action_is_spam(v->action))
		return buf_printf(out,
		    "X-Spam: Yes\r\nX-Spam-Status: Yes, score=%.2f "
		    "required=%.2f action=\"%s\"\r\n",
		    v->score, v->required, v->action_name);
	return buf_printf(out,
	    "X-Spam-Status: No, score=%.2f required=%.2f\r\n", v->score,
	    v->required);
}

/* ------------------------------------------------------------------ */
/* the client */

struct rspamd_check {
	struct bufferevent *bev;
	struct event *timer;  /* the whole round trip */
	struct event *finish; /* done, from the loop */
	struct buf reply;
	int connected, over;
	enum rspamd_status status;
	struct rspamd_verdict v;
	char err[160];
	void (*done)(struct rspamd_check *, void *);
	void *arg;
};

static void rspamd_over(struct rspamd_check *c, enum rspamd_status st,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* The answer is in (or will never be): stop reading and say so. */
static void
rspamd_over(struct rspamd_check *c, enum rspamd_status st, const char *fmt, ...)
{
	va_list ap;

	if (c->over)
		return;
	c->over = 1;
	c->status = st;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	if (c->bev)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	evtimer_del(c->timer);
	event_active(c->finish, EV_TIMEOUT, 0);
}

static void
rspamd_parse(struct rspamd_check *c, int eof)
{
	char why[128];
	int rc;

	if (c->over) /* the verdict stands; nothing after it is read */
		return;
	rc = rspamd_reply_parse(c->reply.data ? c->reply.data : "",
	    c->reply.len, eof, &c->v, why, sizeof(why));
	if (rc == 1)
		rspamd_over(c, RSPAMD_DONE, "%s", "");
	else if (rc == -1)
		rspamd_over(c, RSPAMD_BAD_REPLY, "%s", why);
}

static void
rspamd_read_cb(struct bufferevent *bev, void *arg)
{
	struct rspamd_check *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_iovec iv;
	size_t n;

	while (!c->over && (n = evbuffer_get_length(in)) > 0) {
		if (evbuffer_peek(in, -1, NULL, &iv, 1) < 1)
			break;
		/* the limit first: a reply past it is not read on */
		if (buf_append(&c->reply, iv.iov_base, iv.iov_len) == -1) {
			rspamd_over(c, RSPAMD_BAD_REPLY,
			    "reply longer than "
			    "%d bytes",
			    RSPAMD_REPLY_MAX);
			return;
		}
		evbuffer_drain(in, iv.iov_len);
		rspamd_parse(c, 0);
	}
}

static void
rspamd_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct rspamd_check *c = arg;
	int e = EVUTIL_SOCKET_ERROR();

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		c->connected = 1;
		return;
	}
	if (what & BEV_EVENT_EOF) {
		rspamd_read_cb(c->bev, c);
		rspamd_parse(c, 1);
		return;
	}
	/* rspamd may answer (an error, say) before it read the whole
	 * message, and close: what it said counts */
	if (c->reply.len > 0)
		rspamd_parse(c, 1);
	rspamd_over(c, RSPAMD_UNREACHABLE, "%s%s",
	    c->connected ? "connection broken: " : "cannot connect: ",
	    e ? strerror(e) : "error");
}

static void
rspamd_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rspamd_check *c = arg;

	(void)fd;
	(void)what;
	rspamd_over(c, RSPAMD_TIMEOUT, "no answer in time%s",
	    c->connected ? "" : " (no connection)");
}

static void
rspamd_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rspamd_check *c = arg;

	(void)fd;
	(void)what;
	c->done(c, c->arg);
}

/* "IP:PORT", "[IPv6]:PORT" or "localhost:PORT" (conf checked it). */
static int
rspamd_sockaddr(const char *server, struct sockaddr_storage *ss, int *sslen)
{
	char tmp[300];

	if (strncmp(server, "localhost:", 10) == 0) {
		snprintf(tmp, sizeof(tmp), "127.0.0.1:%s", server + 10);
		server = tmp;
	}
	*sslen = (int)sizeof(*ss);
	memset(ss, 0, sizeof(*ss));
	return evutil_parse_sockaddr_port(server, (struct sockaddr *)ss, sslen);
}

/* A request header's value must not end the header or add one: no
 * control byte. One that has any is left out (rspamd then knows less). */
static void
rspamd_add_header(struct evbuffer *out, const char *name, const char *val,
    int brackets)
{
	const unsigned char *p;

	for (p = (const unsigned char *)val; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return;
	evbuffer_add_printf(out, "%s: %s%s%s\r\n", name, brackets ? "<" : "",
	    val, brackets ? ">" : "");
}

static int
rspamd_request(struct rspamd_check *c, const struct rspamd_request *req)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t len = 0;
	int i;

	for (i = 0; i < req->nmsg; i++)
		len += req->msg[i].iov_len;
	if (evbuffer_add_printf(out,
		"POST /checkv2 HTTP/1.0\r\n"
		"Content-Length: %zu\r\n",
		len) == -1)
		return -1;
	rspamd_add_header(out, "Queue-Id", req->queue_id, 0);
	rspamd_add_header(out, "IP", req->client_ip, 0);
	if (req->helo[0])
		rspamd_add_header(out, "Helo", req->helo, 0);
	/* rspamd reads an empty From as the null sender */
	rspamd_add_header(out, "From", req->mail_from, 1);
	for (i = 0; i < req->nrcpt && i < RSPAMD_RCPT_MAX; i++)
		rspamd_add_header(out, "Rcpt", req->rcpts[i], 1);
	rspamd_add_header(out, "MTA-Name", req->mta_name, 0);
	/* no Hostname: postern does not look up the client's PTR name,
	 * and rspamd takes its absence as "unknown"; no User: the MX has
	 * no login */
	if (evbuffer_add(out, "\r\n", 2) == -1)
		return -1;
	/* the message is not copied: the caller keeps it until done */
	for (i = 0; i < req->nmsg; i++)
		if (req->msg[i].iov_len > 0 &&
		    evbuffer_add_reference(out, req->msg[i].iov_base,
			req->msg[i].iov_len, NULL, NULL) == -1)
			return -1;
	return 0;
}

struct rspamd_check *
rspamd_check_start(const struct rspamd_request *req,
    void (*done)(struct rspamd_check *, void *), void *arg)
{
	struct rspamd_check *c = calloc(1, sizeof(*c));
	struct sockaddr_storage ss;
	struct timeval tv = { req->timeout, 0 };
	int sslen, fd = -1, one = 1;

	if (c == NULL)
		return NULL;
	c->done = done;
	c->arg = arg;
	buf_init(&c->reply, RSPAMD_REPLY_MAX);
	if ((c->finish = event_new(req->base, -1, 0, rspamd_finish_cb, c)) ==
		NULL ||
	    (c->timer = evtimer_new(req->base, rspamd_timer_cb, c)) == NULL)
		goto fail;
	if (rspamd_sockaddr(req->server, &ss, &sslen) == -1) {
		rspamd_over(c, RSPAMD_UNREACHABLE, "bad address %.100s",
		    req->server);
		return c;
	}
	if ((fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1) {
		rspamd_over(c, RSPAMD_UNREACHABLE, "socket: %s",
		    strerror(errno));
		return c;
	}
	/* the request's tail leaves at once, not after a delayed ACK */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (evutil_make_socket_nonblocking(fd) == -1 ||
	    (c->bev = bufferevent_socket_new(req->base, fd,
		 BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		goto fail;
	}
	bufferevent_setcb(c->bev, rspamd_read_cb, NULL, rspamd_event_cb, c);
	if (rspamd_request(c, req) == -1)
		goto fail;
	evtimer_add(c->timer, &tv);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)&ss, sslen) ==
	    -1)
		rspamd_over(c, RSPAMD_UNREACHABLE, "cannot connect: %s",
		    strerror(errno));
	return c;
fail:
	rspamd_check_free(c);
	return NULL;
}

void
rspamd_check_free(struct rspamd_check *c)
{
	if (c == NULL)
		return;
	if (c->bev)
		bufferevent_free(c->bev);
	if (c->timer)
		event_free(c->timer);
	if (c->finish)
		event_free(c->finish);
	buf_free(&c->reply);
	free(c);
}

enum rspamd_status
rspamd_check_status(const struct rspamd_check *c)
{
	return c->status;
}

const struct rspamd_verdict *
rspamd_check_verdict(const struct rspamd_check *c)
{
	return &c->v;
}

const char *
rspamd_check_error(const struct rspamd_check *c)
{
	return c->err;
}
