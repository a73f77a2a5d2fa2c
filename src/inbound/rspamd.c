/*
 * rspamd: see rspamd.h. The HTTP is util/httpc's, the one client for
 * every HTTP peer (one request per connection, a bounded response, one
 * deadline, the message sent by reference). rspamd's bytes are peer
 * bytes like any other: the JSON is read only as far as the verdict
 * needs, and every text taken from it is cleaned before it reaches a
 * header, a reply or a log line.
 */
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/event.h>
#include <jansson.h>

#include "rspamd.h"
#include "../util/base64.h"
#include "../util/httpc.h"

/* ------------------------------------------------------------------ */
/* the reply (its JSON body) */

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
rspamd_reply_parse(const char *body, size_t len, struct rspamd_verdict *v,
    char *why, size_t whylen)
{
	memset(v, 0, sizeof(*v));
	why[0] = '\0';
	if (len > RSPAMD_REPLY_MAX) {
		snprintf(why, whylen, "reply too long");
		return -1;
	}
	return rspamd_json(body, len, v, why, whylen) == 1 ? 0 : -1;
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
/* the client: util/httpc does the HTTP */

struct rspamd_check {
	struct httpc *http;
	struct event *finish; /* done, when the request could not start */
	enum rspamd_status status;
	struct rspamd_verdict v;
	char err[160];
	void (*done)(struct rspamd_check *, void *);
	void *arg;
};

static void
rspamd_http_cb(const struct httpc_resp *r, void *arg)
{
	struct rspamd_check *c = arg;
	char why[128];

	c->http = NULL; /* httpc frees it when this returns */
	if (r->error != NULL) {
		/* a connection that took the request and then failed is an
		 * answer gone wrong; one that never came, an rspamd down */
		c->status = strcmp(r->error, "timeout") == 0 ? RSPAMD_TIMEOUT
			    : r->connected		     ? RSPAMD_BAD_REPLY
					   : RSPAMD_UNREACHABLE;
		snprintf(c->err, sizeof(c->err), "%s", r->error);
	} else if (r->status != 200) {
		c->status = RSPAMD_BAD_REPLY;
		snprintf(c->err, sizeof(c->err), "HTTP status %d", r->status);
	} else if (rspamd_reply_parse(r->body, r->len, &c->v, why,
		       sizeof(why)) == -1) {
		c->status = RSPAMD_BAD_REPLY;
		snprintf(c->err, sizeof(c->err), "%s", why);
	} else {
		c->status = RSPAMD_DONE;
	}
	c->done(c, c->arg);
}

static void
rspamd_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rspamd_check *c = arg;

	(void)fd;
	(void)what;
	c->done(c, c->arg);
}

/* "IP:PORT", "[IPv6]:PORT" or "localhost:PORT" (conf checked it): the
 * address as httpc takes it, and the port. */
static int
rspamd_server(const char *server, char *host, size_t hostlen, int *port)
{
	const char *colon = strrchr(server, ':');
	size_t n;

	if (colon == NULL || (n = (size_t)(colon - server)) == 0 ||
	    n >= hostlen || (*port = atoi(colon + 1)) <= 0 || *port > 65535)
		return -1;
	if (server[0] == '[' && n > 2 && server[n - 1] == ']')
		snprintf(host, hostlen, "%.*s", (int)n - 2, server + 1);
	else if (n == 9 && strncmp(server, "localhost", 9) == 0)
		snprintf(host, hostlen, "127.0.0.1");
	else
		snprintf(host, hostlen, "%.*s", (int)n, server);
	return 0;
}

/* A request header's value must not end the header or add one: no
 * control byte. One that has any is left out (rspamd then knows less). */
static int
rspamd_header(struct buf *out, const char *name, const char *val, int brackets)
{
	const unsigned char *p;

	for (p = (const unsigned char *)val; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return 0;
	if (buf_append(out, name, strlen(name)) == -1 ||
	    buf_append(out, brackets ? ": <" : ": ", brackets ? 3 : 2) == -1 ||
	    buf_append(out, val, strlen(val)) == -1)
		return -1;
	return buf_append(out, brackets ? ">\r\n" : "\r\n", brackets ? 3 : 2);
}

/* The envelope, as rspamd's protocol names it; NUL-terminated. No
 * Hostname: postern does not look up the client's PTR name, and rspamd
 * takes its absence as "unknown"; no User: the MX has no login. */
static int
rspamd_headers(struct buf *out, const struct rspamd_request *req)
{
	int i;

	if (rspamd_header(out, "Queue-Id", req->queue_id, 0) == -1 ||
	    rspamd_header(out, "IP", req->client_ip, 0) == -1 ||
	    (req->helo[0] && rspamd_header(out, "Helo", req->helo, 0) == -1) ||
	    /* rspamd reads an empty From as the null sender */
	    rspamd_header(out, "From", req->mail_from, 1) == -1 ||
	    rspamd_header(out, "MTA-Name", req->mta_name, 0) == -1)
		return -1;
	for (i = 0; i < req->nrcpt && i < RSPAMD_RCPT_MAX; i++)
		if (rspamd_header(out, "Rcpt", req->rcpts[i], 1) == -1)
			return -1;
	return buf_append(out, "", 1);
}

struct rspamd_check *
rspamd_check_start(const struct rspamd_request *req,
    void (*done)(struct rspamd_check *, void *), void *arg)
{
	struct rspamd_check *c = calloc(1, sizeof(*c));
	struct httpc_req hr;
	struct buf hdrs;
	char host[INET6_ADDRSTRLEN + 16];
	int port;

	if (c == NULL)
		return NULL;
	c->done = done;
	c->arg = arg;
	if ((c->finish = event_new(req->base, -1, 0, rspamd_finish_cb, c)) ==
	    NULL) {
		free(c);
		return NULL;
	}
	buf_init(&hdrs, (size_t)RSPAMD_RCPT_MAX * 1024 + 4096);
	if (rspamd_headers(&hdrs, req) == -1) {
		buf_free(&hdrs);
		rspamd_check_free(c);
		return NULL;
	}
	memset(&hr, 0, sizeof(hr));
	hr.method = "POST";
	hr.host = host;
	hr.path = "/checkv2";
	hr.headers = hdrs.data;
	/* the message is not copied: the caller keeps it until done */
	hr.bodyv = req->msg;
	hr.nbodyv = req->nmsg;
	hr.max_body = RSPAMD_REPLY_MAX;
	hr.timeout_s = req->timeout;
	if (rspamd_server(req->server, host, sizeof(host), &port) == 0) {
		hr.port = port;
		c->http = httpc_start(req->base, &hr, rspamd_http_cb, c);
	}
	buf_free(&hdrs);
	if (c->http == NULL) {
		c->status = RSPAMD_UNREACHABLE;
		snprintf(c->err, sizeof(c->err), "cannot ask %.100s",
		    req->server);
		event_active(c->finish, EV_TIMEOUT, 0);
	}
	return c;
}

void
rspamd_check_free(struct rspamd_check *c)
{
	if (c == NULL)
		return;
	httpc_cancel(c->http);
	if (c->finish)
		event_free(c->finish);
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
