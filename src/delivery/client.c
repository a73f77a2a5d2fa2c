/*
 * client: outbound SMTP over libevent bufferevents, TLS by OpenSSL
 * bufferevents after STARTTLS. A connection walks the addresses of its
 * target until one greets with 220 and answers EHLO; a failure on one
 * address moves to the next, so a dead first MX costs one refused
 * connect. The message is dot-stuffed into the output buffer as it is
 * written, without another copy of the whole message. LMTP (RFC 2033)
 * is a flag of the same machine: LHLO for EHLO, and after the final dot
 * one reply per accepted recipient, in the order of their RCPTs.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/un.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <openssl/err.h>

#include "client.h"
#include "../tlspolicy/dane.h"
#include "../util/base64.h"
#include "../util/str.h"

#define DC_CONNECT_TIMEOUT 30
#define DC_CMD_TIMEOUT 300
#define DC_DATA_TIMEOUT 600

enum dc_state {
	DC_CONNECTING,
	DC_GREETING,
	DC_EHLO,
	DC_STARTTLS,
	DC_HANDSHAKE,
	DC_EHLO_TLS,
	DC_AUTH,
	DC_IDLE,
	DC_MAIL,
	DC_BODY,
	DC_RSET,
	DC_DEAD
};

struct dclient {
	struct event_base *base;
	SSL_CTX *tls;
	char helo[256];
	struct dclient_target t;
	int port, addr_idx;
	struct bufferevent *bev;
	int fd;
	enum dc_state state;
	struct reply r;
	unsigned ext;
	long long size_max;
	int tls_on;
	char tls_desc[96];
	int verified;	    /* the peer's certificate met the policy */
	const char *policy; /* dclient_tls_policy() */
	char ip[INET6_ADDRSTRLEN];
	char detail[256];
	struct dclient_session session;
	struct dclient_txn *txn;
	int expect;    /* replies still due in a pipelined group */
	int got;       /* replies read in the group */
	int accepted;  /* recipients accepted */
	int body_left; /* LMTP: replies still due after the final dot */
	int body_idx;  /* LMTP: the recipient the next one is for */
	int pipelined;
	char error[REPLY_TEXT_MAX + 128];
	int temporary;
	int busy;      /* inside one of our callbacks */
	int want_free; /* dclient_close() was called meanwhile */
	void (*cb)(struct dclient *, enum dclient_event, void *);
	void *arg;
};

static void dc_try_next(struct dclient *);
static void dc_txn_fail(struct dclient *, int, const char *);
static int dc_ntop(const struct sockaddr_storage *, char *, size_t);
static void dc_read_cb(struct bufferevent *, void *);
static void dc_event_cb(struct bufferevent *, short, void *);

const char *
dclient_error(const struct dclient *c)
{
	return c->error;
}

int
dclient_error_is_temporary(const struct dclient *c)
{
	return c->temporary;
}

const char *
dclient_host(const struct dclient *c)
{
	return c->addr_idx < c->t.naddrs ? c->t.hosts[c->addr_idx] : "-";
}

const char *
dclient_tls(const struct dclient *c)
{
	return c->tls_on ? c->tls_desc : "none";
}

const char *
dclient_tls_policy(const struct dclient *c)
{
	return c->tls_on && c->policy ? c->policy : "none";
}

int
dclient_tls_verified(const struct dclient *c)
{
	return c->tls_on && c->verified;
}

const struct dclient_session *
dclient_session(const struct dclient *c)
{
	return &c->session;
}

static enum dclient_tlsmode
dc_mode(const struct dclient *c)
{
	return c->addr_idx < c->t.naddrs
		   ? (enum dclient_tlsmode)c->t.tlsmode[c->addr_idx]
		   : DCLIENT_TLS_OPPORTUNISTIC;
}

/* a policy that sends nothing without TLS */
static int
dc_tls_required(const struct dclient *c)
{
	enum dclient_tlsmode m = dc_mode(c);

	return c->t.tls_verify || m == DCLIENT_TLS_DANE ||
	       m == DCLIENT_TLS_DANE_NOAUTH || m == DCLIENT_TLS_STS;
}

/* what made TLS required, for the error */
static const char *
dc_required_by(const struct dclient *c)
{
	switch (dc_mode(c)) {
	case DCLIENT_TLS_STS:
		return " (MTA-STS policy enforce)";
	case DCLIENT_TLS_DANE:
	case DCLIENT_TLS_DANE_NOAUTH:
		return " (DANE TLSA records)";
	default:
		return c->t.tls_verify ? " (smarthost_tls = verify)" : "";
	}
}

/* Tell the owner how this address's TLS went (DC_SESSION). */
static void
dc_session(struct dclient *c, enum tlsrpt_result result, const char *detail)
{
	if (c->t.lmtp || c->addr_idx >= c->t.naddrs)
		return;
	c->session.host = c->t.hosts[c->addr_idx];
	c->session.ip = c->ip;
	c->session.mode = dc_mode(c);
	c->session.result = result;
	str_lcpy(c->detail, detail ? detail : "", sizeof(c->detail));
	c->session.detail = c->detail;
	c->cb(c, DC_SESSION, c->arg);
}

/* RFC 8460 4.3's result type of a failed verification. */
static enum tlsrpt_result
dc_verify_result(const struct dclient *c, long v)
{
	enum dclient_tlsmode m = dc_mode(c);

	if (m == DCLIENT_TLS_DANE)
		return TLSRPT_TLSA_INVALID;
	switch (v) {
	case X509_V_ERR_HOSTNAME_MISMATCH:
		return TLSRPT_CERT_HOST_MISMATCH;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLSRPT_CERT_EXPIRED;
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return TLSRPT_CERT_NOT_TRUSTED;
	default:
		return TLSRPT_VALIDATION_FAILURE;
	}
}

static void dc_send(struct dclient *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
dc_send(struct dclient *c, const char *fmt, ...)
{
	char line[1100];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n > sizeof(line) - 3)
		n = 0;
	line[n++] = '\r';
	line[n++] = '\n';
	bufferevent_write(c->bev, line, (size_t)n);
}

static void
dc_timeout(struct dclient *c, int secs)
{
	struct timeval tv = { secs, 0 };

	bufferevent_set_timeouts(c->bev, &tv, &tv);
}

static void
dc_drop_bev(struct dclient *c)
{
	if (c->bev) {
		bufferevent_free(c->bev);
		c->bev = NULL;
	}
}

/* This address failed: say why, move to the next one. */
static void
dc_addr_failed(struct dclient *c, const char *why, int temporary)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	const struct sockaddr_storage *ss = &c->t.addrs[c->addr_idx];

	if (dc_ntop(ss, ip, sizeof(ip)) == -1)
		str_lcpy(ip, "?", sizeof(ip));
	if (ss->ss_family == AF_UNIX) /* the host is the socket's name */
		snprintf(c->error, sizeof(c->error), "%s: %s",
		    c->t.hosts[c->addr_idx], why);
	else
		snprintf(c->error, sizeof(c->error), "%s[%s]: %s",
		    c->t.hosts[c->addr_idx], ip, why);
	c->temporary = temporary;
	dc_drop_bev(c);
	if (c->state >= DC_IDLE) {
		/* lost after greeting: the owner decides */
		c->state = DC_DEAD;
		c->cb(c, DC_FAILED, c->arg);
		return;
	}
	c->addr_idx++;
	dc_try_next(c);
}

static void
dc_setup(struct dclient *c)
{
	bufferevent_setcb(c->bev, dc_read_cb, NULL, dc_event_cb, c);
	bufferevent_setwatermark(c->bev, EV_READ, 0, 256 * 1024);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

static void
dc_try_next(struct dclient *c)
{
	int one = 1;
	struct sockaddr_storage *ss;

	if (c->addr_idx >= c->t.naddrs) {
		c->state = DC_DEAD;
		if (c->error[0] == '\0') {
			snprintf(c->error, sizeof(c->error),
			    "no address to connect to");
			c->temporary = 1;
		}
		c->cb(c, DC_FAILED, c->arg);
		return;
	}
	ss = &c->t.addrs[c->addr_idx];
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)c->port);
	else if (ss->ss_family == AF_INET6)
		((struct sockaddr_in6 *)ss)->sin6_port =
		    htons((uint16_t)c->port);
	c->bev = bufferevent_socket_new(c->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (c->bev == NULL) {
		dc_addr_failed(c, "out of memory", 1);
		return;
	}
	c->state = DC_CONNECTING;
	c->tls_on = 0;
	c->verified = 0;
	c->policy = NULL;
	c->ext = 0;
	if (dc_ntop(ss, c->ip, sizeof(c->ip)) == -1)
		c->ip[0] = '\0';
	reply_init(&c->r);
	dc_setup(c);
	dc_timeout(c, DC_CONNECT_TIMEOUT);
	if (bufferevent_socket_connect(c->bev, (struct sockaddr *)ss,
		(int)c->t.lens[c->addr_idx]) == -1) {
		dc_addr_failed(c, strerror(errno), 1);
		return;
	}
	/* Commands and the message's last bytes leave at once: with Nagle,
	 * a short tail waits for the peer's delayed ACK (40 ms a message). */
	if (ss->ss_family != AF_UNIX)
		setsockopt(bufferevent_getfd(c->bev), IPPROTO_TCP, TCP_NODELAY,
		    &one, sizeof(one));
}

static int dc_leave(struct dclient *);

static void
dc_start(evutil_socket_t fd, short what, void *arg)
{
	struct dclient *c = arg;

	(void)fd;
	(void)what;
	if (!c->want_free)
		dc_try_next(c);
	dc_leave(c);
}

struct dclient *
dclient_new(struct event_base *base, SSL_CTX *tls, const char *helo,
    const struct dclient_target *t, int port,
    void (*cb)(struct dclient *, enum dclient_event, void *), void *arg)
{
	struct dclient *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->base = base;
	c->tls = tls;
	str_lcpy(c->helo, helo, sizeof(c->helo));
	c->t = *t;
	for (int i = 0; i < c->t.naddrs && i < DCLIENT_ADDRS_MAX; i++)
		tlsa_set_ref(c->t.tlsa[i]);
	c->port = port;
	c->cb = cb;
	c->arg = arg;
	/* start from the loop, so no callback runs inside dclient_new() */
	c->busy = 1;
	event_base_once(base, -1, EV_TIMEOUT, dc_start, c, NULL);
	return c;
}

static void
dc_free(struct dclient *c)
{
	if (c->bev && c->state == DC_IDLE) {
		/* best effort: the QUIT leaves with the free */
		dc_send(c, "QUIT");
		bufferevent_flush(c->bev, EV_WRITE, BEV_FINISHED);
	}
	dc_drop_bev(c);
	for (int i = 0; i < c->t.naddrs && i < DCLIENT_ADDRS_MAX; i++)
		tlsa_set_unref(c->t.tlsa[i]);
	free(c);
}

void
dclient_close(struct dclient *c)
{
	if (c == NULL)
		return;
	/* closed from the owner's callback: free once we unwind */
	if (c->busy) {
		c->want_free = 1;
		return;
	}
	dc_free(c);
}

/* Leave a callback; 1 if the client is gone. */
static int
dc_leave(struct dclient *c)
{
	if (--c->busy == 0 && c->want_free) {
		dc_free(c);
		return 1;
	}
	return 0;
}

static void
dc_ehlo(struct dclient *c)
{
	reply_init(&c->r);
	dc_send(c, "%s %s", c->t.lmtp ? "LHLO" : "EHLO", c->helo);
}

static int
dc_starttls(struct dclient *c)
{
	SSL *ssl = SSL_new(c->tls);
	struct bufferevent *b;
	int fd = (int)bufferevent_getfd(c->bev);

	const char *host = c->t.hosts[c->addr_idx];
	enum dclient_tlsmode m = dc_mode(c);

	if (ssl == NULL)
		return -1;
	SSL_set_tlsext_host_name(ssl, host);
	c->policy = c->t.tls_verify ? "ca" : NULL;
	/* the name checked in the handshake (an IP literal against the
	 * certificate's IP addresses) */
	if ((c->t.tls_verify || m == DCLIENT_TLS_STS ||
		m == DCLIENT_TLS_STS_TESTING) &&
	    SSL_set1_host(ssl, host) != 1) {
		SSL_free(ssl);
		return -1;
	}
	if (m == DCLIENT_TLS_STS) {
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		c->policy = "mta-sts";
	} else if (m == DCLIENT_TLS_STS_TESTING) {
		/* verified all the same, the result read afterwards */
		SSL_set_verify(ssl, SSL_VERIFY_NONE, NULL);
		c->policy = "mta-sts-testing";
	} else if (m == DCLIENT_TLS_DANE) {
		struct tlsa_set *ts = c->t.tlsa[c->addr_idx];
		int added =
		    ts ? dane_setup(c->tls, ssl, host, host, ts->recs, ts->n)
		       : 0;
		if (added < 0) {
			SSL_free(ssl);
			return -1;
		}
		/* none OpenSSL could use: encrypted, not authenticated */
		c->policy = added > 0 ? "dane" : "dane-noauth";
	} else if (m == DCLIENT_TLS_DANE_NOAUTH) {
		c->policy = "dane-noauth";
	}
	bufferevent_setfd(c->bev, -1);
	bufferevent_free(c->bev);
	b = bufferevent_openssl_socket_new(c->base, fd, ssl,
	    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	c->bev = b;
	if (b == NULL) {
		close(fd);
		return -1;
	}
	bufferevent_openssl_set_allow_dirty_shutdown(b, 1);
	dc_setup(c);
	dc_timeout(c, DC_CONNECT_TIMEOUT);
	c->state = DC_HANDSHAKE;
	return 0;
}

static void
dc_auth(struct dclient *c)
{
	char raw[2 * 320 + 3], b64[BASE64_ENCODED_LEN(sizeof(raw))];
	size_t ul = strlen(c->t.auth_user), pl = strlen(c->t.auth_pass);

	if (ul + pl + 2 > sizeof(raw)) {
		dc_addr_failed(c, "smarthost credentials too long", 0);
		return;
	}
	raw[0] = '\0';
	memcpy(raw + 1, c->t.auth_user, ul);
	raw[1 + ul] = '\0';
	memcpy(raw + 2 + ul, c->t.auth_pass, pl);
	base64_encode(b64, (unsigned char *)raw, ul + pl + 2);
	reply_init(&c->r);
	c->state = DC_AUTH;
	dc_send(c, "AUTH PLAIN %s", b64);
}

/* After EHLO (with TLS or without): STARTTLS, AUTH, or ready. */
static void
dc_after_ehlo(struct dclient *c)
{
	c->ext = c->r.ehlo;
	c->size_max = c->r.size_max;
	if (!c->tls_on && (c->ext & REPLY_EXT_STARTTLS) && c->tls) {
		reply_init(&c->r);
		c->state = DC_STARTTLS;
		dc_send(c, "STARTTLS");
		return;
	}
	if (!c->tls_on && !c->t.lmtp) {
		/* told once per address: a STARTTLS refused comes here too */
		dc_session(c, TLSRPT_STARTTLS_NOT_SUPPORTED, NULL);
		if (c->state == DC_DEAD || c->bev == NULL)
			return;
	}
	if (c->t.tls_verify && !c->tls_on) {
		dc_addr_failed(c,
		    "no STARTTLS offered: nothing sent (smarthost_tls = verify)",
		    1);
		return;
	}
	if (dc_tls_required(c) && !c->tls_on) {
		dc_addr_failed(c,
		    dc_mode(c) == DCLIENT_TLS_STS
			? "no STARTTLS: nothing sent (MTA-STS policy enforce)"
			: "no STARTTLS: nothing sent (DANE TLSA records)",
		    1);
		return;
	}
	if (c->t.auth_user) {
		if (!c->tls_on) {
			dc_addr_failed(c,
			    "no TLS: smarthost credentials not sent", 1);
			return;
		}
		dc_auth(c);
		return;
	}
	c->state = DC_IDLE;
	dc_timeout(c, DC_CMD_TIMEOUT);
	c->cb(c, DC_READY, c->arg);
}

/* Write the message dot-stuffed, then the final dot. */
static void
dc_write_body(struct dclient *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	const char *p = c->txn->data, *end = p + c->txn->len, *nl;

	/* header lines of this copy: none begins with a dot */
	if (c->txn->prefix != NULL && c->txn->prefixlen > 0)
		evbuffer_add(out, c->txn->prefix, c->txn->prefixlen);
	while (p < end) {
		if (*p == '.')
			evbuffer_add(out, ".", 1);
		nl = memchr(p, '\n', (size_t)(end - p));
		nl = nl ? nl + 1 : end;
		evbuffer_add(out, p, (size_t)(nl - p));
		p = nl;
	}
	if (c->txn->len > 0 && c->txn->data[c->txn->len - 1] != '\n')
		evbuffer_add(out, "\r\n", 2);
	evbuffer_add(out, ".\r\n", 3);
	dc_timeout(c, DC_DATA_TIMEOUT);
}

/* RFC 3461 4: xtext, "+XX" for "+", "=" and bytes outside 33..126. */
static int
dc_xtext(char *out, size_t outlen, const char *in)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	for (; *in; in++) {
		unsigned char ch = (unsigned char)*in;
		if (o + 4 > outlen)
			return -1;
		if (ch < 33 || ch > 126 || ch == '+' || ch == '=') {
			out[o++] = '+';
			out[o++] = hex[ch >> 4];
			out[o++] = hex[ch & 15];
		} else
			out[o++] = (char)ch;
	}
	out[o] = '\0';
	return 0;
}

static void
dc_rcpt(struct dclient *c, int i)
{
	const struct dclient_txn *t = c->txn;
	char orcpt[400];

	/* the original recipient, where the server keeps it (DSN) */
	if (t->orcpts != NULL && t->orcpts[i] != NULL &&
	    (c->ext & REPLY_EXT_DSN) &&
	    dc_xtext(orcpt, sizeof(orcpt), t->orcpts[i]) == 0)
		dc_send(c, "RCPT TO:<%s> ORCPT=rfc822;%s", t->rcpts[i], orcpt);
	else
		dc_send(c, "RCPT TO:<%s>", t->rcpts[i]);
}

void
dclient_send(struct dclient *c, struct dclient_txn *t)
{
	int i;

	c->txn = t;
	t->code = 0;
	t->text[0] = '\0';
	for (i = 0; i < t->nrcpt; i++) {
		t->rcpt_code[i] = 0;
		t->rcpt_text[i][0] = '\0';
	}
	c->accepted = 0;
	c->got = 0;
	c->pipelined = (c->ext & REPLY_EXT_PIPELINING) != 0;
	reply_init(&c->r);
	if (t->requiretls &&
	    (!c->tls_on || !c->verified || !(c->ext & REPLY_EXT_REQUIRETLS))) {
		/* RFC 8689 4.2.1: not to a peer that was not verified or
		 * does not carry the flag on; a RSET's reply ends it */
		dc_txn_fail(c, 550,
		    !c->tls_on || !c->verified
			? "5.7.10 REQUIRETLS: the receiving server was not "
			  "verified by DANE or MTA-STS"
			: "5.7.10 REQUIRETLS: the receiving server does not "
			  "support REQUIRETLS");
		c->state = DC_RSET;
		c->expect = 1;
		dc_send(c, "RSET");
		return;
	}
	c->state = DC_MAIL;
	{
		char params[96] = "";
		if ((c->ext & REPLY_EXT_SIZE))
			snprintf(params, sizeof(params), " SIZE=%zu", t->len);
		if (t->eightbit && (c->ext & REPLY_EXT_8BITMIME))
			strcat(params, " BODY=8BITMIME");
		if (t->smtputf8 && (c->ext & REPLY_EXT_SMTPUTF8))
			strcat(params, " SMTPUTF8");
		if (t->requiretls)
			strcat(params, " REQUIRETLS");
		dc_send(c, "MAIL FROM:<%s>%s", t->from, params);
	}
	/* replies due: MAIL, each RCPT, DATA */
	c->expect = t->nrcpt + 2;
	if (c->pipelined) {
		for (i = 0; i < t->nrcpt; i++)
			dc_rcpt(c, i);
		dc_send(c, "DATA");
	}
}

/* The whole transaction failed with one reply (MAIL refused, ...). */
static void
dc_txn_fail(struct dclient *c, int code, const char *text)
{
	int i;

	for (i = 0; i < c->txn->nrcpt; i++)
		if (c->txn->rcpt_code[i] == 0 ||
		    c->txn->rcpt_code[i] / 100 == 2) {
			c->txn->rcpt_code[i] = code;
			str_lcpy(c->txn->rcpt_text[i], text, REPLY_TEXT_MAX);
		}
	c->txn->code = code;
	str_lcpy(c->txn->text, text, sizeof(c->txn->text));
}

static void
dc_txn_done(struct dclient *c)
{
	c->state = DC_IDLE;
	dc_timeout(c, DC_CMD_TIMEOUT);
	c->cb(c, DC_TXN_DONE, c->arg);
}

/* One complete reply inside a transaction. */
static void
dc_txn_reply(struct dclient *c)
{
	struct dclient_txn *t = c->txn;
	int idx = c->got++;

	if (c->state == DC_BODY && c->t.lmtp) {
		/* RFC 2033 4.2: one reply per accepted recipient, in order;
		 * the recipients before body_idx have theirs */
		while (c->body_idx < t->nrcpt &&
		       t->rcpt_code[c->body_idx] / 100 != 2)
			c->body_idx++;
		if (c->body_idx < t->nrcpt) {
			t->rcpt_code[c->body_idx] = c->r.code;
			str_lcpy(t->rcpt_text[c->body_idx], c->r.text,
			    REPLY_TEXT_MAX);
			c->body_idx++;
		}
		t->code = c->r.code;
		str_lcpy(t->text, c->r.text, sizeof(t->text));
		if (--c->body_left <= 0)
			dc_txn_done(c);
		return;
	}
	if (c->state == DC_BODY) {
		int i;
		for (i = 0; i < t->nrcpt; i++)
			if (t->rcpt_code[i] / 100 == 2) {
				t->rcpt_code[i] = c->r.code;
				str_lcpy(t->rcpt_text[i], c->r.text,
				    REPLY_TEXT_MAX);
			}
		t->code = c->r.code;
		str_lcpy(t->text, c->r.text, sizeof(t->text));
		dc_txn_done(c);
		return;
	}
	if (c->state == DC_RSET) {
		if (c->got >= c->expect)
			dc_txn_done(c);
		return;
	}
	if (idx == 0) { /* MAIL */
		if (c->r.code / 100 != 2) {
			dc_txn_fail(c, c->r.code, c->r.text);
			if (!c->pipelined) {
				c->state = DC_RSET;
				c->got = 0;
				c->expect = 1;
				dc_send(c, "RSET");
			}
			/* pipelined: RCPT and DATA replies still come */
		} else if (!c->pipelined) {
			dc_rcpt(c, 0);
		}
	} else if (idx <= t->nrcpt) { /* RCPT */
		if (t->rcpt_code[idx - 1] == 0) {
			t->rcpt_code[idx - 1] = c->r.code;
			str_lcpy(t->rcpt_text[idx - 1], c->r.text,
			    REPLY_TEXT_MAX);
		}
		if (c->r.code / 100 == 2)
			c->accepted++;
		if (!c->pipelined) {
			if (idx < t->nrcpt)
				dc_rcpt(c, idx);
			else if (c->accepted > 0)
				dc_send(c, "DATA");
			else {
				c->state = DC_RSET;
				c->got = 0;
				c->expect = 1;
				dc_send(c, "RSET");
			}
		}
	} else { /* DATA */
		if (c->r.code == 354) {
			if (c->accepted == 0 && c->t.lmtp) {
				/* RFC 2033 4.2: DATA must fail then; the count
				 * of replies after a dot would be unknown */
				dc_addr_failed(c,
				    "354 to DATA without recipients", 1);
				return;
			}
			if (c->accepted == 0) {
				/* RFC 2920: an empty message, then RSET */
				bufferevent_write(c->bev, ".\r\n", 3);
				c->state = DC_RSET;
				c->got = 0;
				dc_send(c, "RSET");
				/* two replies due: the dot's, then RSET's */
				c->expect = 2;
				reply_init(&c->r);
				return;
			}
			c->state = DC_BODY;
			c->body_left = c->accepted;
			c->body_idx = 0;
			dc_write_body(c);
		} else {
			/* recipients accepted but DATA refused: they share it
			 */
			int i;
			for (i = 0; i < t->nrcpt; i++)
				if (t->rcpt_code[i] / 100 == 2) {
					t->rcpt_code[i] = c->r.code;
					str_lcpy(t->rcpt_text[i], c->r.text,
					    REPLY_TEXT_MAX);
				}
			c->state = DC_RSET;
			c->got = 0;
			c->expect = 1;
			dc_send(c, "RSET");
		}
	}
}

static void
dc_reply(struct dclient *c)
{
	switch (c->state) {
	case DC_GREETING:
		if (c->r.code != 220) {
			dc_addr_failed(c, c->r.text, c->r.code / 100 != 5);
			return;
		}
		c->state = DC_EHLO;
		dc_ehlo(c);
		return;
	case DC_EHLO:
	case DC_EHLO_TLS:
		if (c->r.code != 250) {
			dc_addr_failed(c, c->r.text, c->r.code / 100 != 5);
			return;
		}
		dc_after_ehlo(c);
		return;
	case DC_STARTTLS:
		if (dc_tls_required(c) && c->r.code != 220) {
			dc_session(c, TLSRPT_STARTTLS_NOT_SUPPORTED,
			    "STARTTLS refused");
			if (c->state == DC_DEAD || c->bev == NULL)
				return;
			dc_addr_failed(c,
			    c->t.tls_verify
				? "STARTTLS refused: nothing sent "
				  "(smarthost_tls = verify)"
				: "STARTTLS refused: nothing sent (TLS policy)",
			    1);
			return;
		}
		if (c->r.code != 220 || dc_starttls(c) == -1) {
			/* refused: go on without TLS, as opportunistic TLS does
			 */
			c->ext &= ~REPLY_EXT_STARTTLS;
			c->r.ehlo = c->ext;
			if (c->bev == NULL) {
				dc_addr_failed(c, "STARTTLS failed", 1);
				return;
			}
			c->state = DC_EHLO_TLS;
			c->tls_on = 0;
			c->r.code = 250;
			dc_after_ehlo(c);
		}
		return;
	case DC_AUTH:
		if (c->r.code != 235) {
			dc_addr_failed(c, c->r.text, c->r.code / 100 != 5);
			return;
		}
		c->state = DC_IDLE;
		dc_timeout(c, DC_CMD_TIMEOUT);
		c->cb(c, DC_READY, c->arg);
		return;
	case DC_MAIL:
	case DC_BODY:
	case DC_RSET:
		dc_txn_reply(c);
		return;
	default:
		/* a reply nobody asked for: the server is confused */
		dc_addr_failed(c, "unexpected reply", 1);
	}
}

static void
dc_read_lines(struct dclient *c, struct bufferevent *bev)
{
	struct evbuffer *in = bufferevent_get_input(bev);
	char line[REPLY_LINE_MAX + 2];

	while (c->bev == bev && !c->want_free) {
		struct evbuffer_ptr p = evbuffer_search(in, "\n", 1, NULL);
		size_t n;
		int rc;
		if (p.pos == -1) {
			if (evbuffer_get_length(in) > REPLY_LINE_MAX)
				dc_addr_failed(c, "reply line too long", 1);
			return;
		}
		n = (size_t)p.pos + 1;
		if (n > REPLY_LINE_MAX) {
			dc_addr_failed(c, "reply line too long", 1);
			return;
		}
		evbuffer_remove(in, line, n);
		n--;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		if ((rc = reply_line(&c->r, line, n)) == -1) {
			dc_addr_failed(c, "malformed reply", 1);
			return;
		}
		if (rc == 1) {
			dc_reply(c);
			if (c->state != DC_DEAD && c->bev == bev)
				reply_init(&c->r);
			else
				return;
		}
	}
}

static void
dc_read_cb(struct bufferevent *bev, void *arg)
{
	struct dclient *c = arg;

	c->busy++;
	dc_read_lines(c, bev);
	dc_leave(c);
}

/*
 * The handshake is done: did the peer meet its address's policy? DANE
 * and enforced MTA-STS failed the handshake already if not (checked
 * again here before anything is sent); MTA-STS testing only tells.
 * 0 to go on, -1 when the address failed (and the client moved on).
 */
static int
dc_handshake_judged(struct dclient *c, SSL *ssl)
{
	enum dclient_tlsmode m = dc_mode(c);
	long v = SSL_get_verify_result(ssl);
	int peer = SSL_get0_peer_certificate(ssl) != NULL;
	char why[256];

	switch (m) {
	case DCLIENT_TLS_DANE:
		if (strcmp(c->policy, "dane-noauth") == 0) {
			c->verified = 0;
			break;
		}
		c->verified = dane_result(ssl, why, sizeof(why)) == 1;
		if (!c->verified) {
			dc_session(c, TLSRPT_TLSA_INVALID, why);
			if (c->state != DC_DEAD)
				dc_addr_failed(c,
				    "DANE: no TLSA record matched: nothing "
				    "sent",
				    1);
			return -1;
		}
		break;
	case DCLIENT_TLS_STS:
	case DCLIENT_TLS_STS_TESTING:
		c->verified = v == X509_V_OK && peer;
		if (!c->verified) {
			snprintf(why, sizeof(why), "certificate: %s",
			    peer ? X509_verify_cert_error_string(v) : "none");
			dc_session(c, dc_verify_result(c, v), why);
			if (c->state == DC_DEAD)
				return -1;
			if (m == DCLIENT_TLS_STS) {
				dc_addr_failed(c,
				    "MTA-STS: certificate not verified: "
				    "nothing sent",
				    1);
				return -1;
			}
			return 0; /* testing: told, and on in TLS */
		}
		break;
	default:
		c->verified = c->t.tls_verify && v == X509_V_OK && peer;
		break;
	}
	dc_session(c, TLSRPT_SUCCESS, NULL);
	return c->state == DC_DEAD ? -1 : 0;
}

static void
dc_event(struct dclient *c, short what)
{
	if (what & BEV_EVENT_CONNECTED) {
		if (c->state == DC_CONNECTING) {
			c->state = DC_GREETING;
			dc_timeout(c, DC_CMD_TIMEOUT);
		} else if (c->state == DC_HANDSHAKE) {
			SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
			/* SSL_VERIFY_PEER failed the handshake already;
			 * checked again before any secret goes out */
			if (c->t.tls_verify &&
			    (SSL_get_verify_result(ssl) != X509_V_OK ||
				SSL_get0_peer_certificate(ssl) == NULL)) {
				dc_addr_failed(c,
				    "certificate not verified: nothing sent",
				    1);
				return;
			}
			if (dc_handshake_judged(c, ssl) == -1)
				return;
			c->tls_on = 1;
			snprintf(c->tls_desc, sizeof(c->tls_desc), "%s/%s",
			    SSL_get_version(ssl), SSL_get_cipher_name(ssl));
			c->state = DC_EHLO_TLS;
			dc_timeout(c, DC_CMD_TIMEOUT);
			dc_ehlo(c);
		}
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		dc_addr_failed(c, "timeout", 1);
		return;
	}
	if (c->state == DC_HANDSHAKE) {
		unsigned long e = bufferevent_get_openssl_error(c->bev);
		SSL *ssl = bufferevent_openssl_get_ssl(c->bev);
		long v = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
		char why[256];
		const char *r = e ? ERR_reason_error_string(e) : NULL;
		snprintf(why, sizeof(why), "TLS handshake failed: %s%s%s%s%s%s",
		    r ? r : "connection closed", v != X509_V_OK ? " (" : "",
		    v != X509_V_OK ? X509_verify_cert_error_string(v) : "",
		    v != X509_V_OK ? ")" : "",
		    dc_tls_required(c) ? ": nothing sent" : "",
		    dc_tls_required(c) ? dc_required_by(c) : "");
		dc_session(c,
		    v != X509_V_OK ? dc_verify_result(c, v)
				   : TLSRPT_VALIDATION_FAILURE,
		    why);
		if (c->state == DC_DEAD)
			return;
		dc_addr_failed(c, why, 1);
		return;
	}
	dc_addr_failed(c,
	    (what & BEV_EVENT_EOF) ? "connection closed"
	    : errno		   ? strerror(errno)
				   : "connection error",
	    1);
}

static void
dc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct dclient *c = arg;

	(void)bev;
	c->busy++;
	dc_event(c, what);
	dc_leave(c);
}

static int
dc_ntop(const struct sockaddr_storage *ss, char *out, size_t len)
{
	const void *a;

	if (ss->ss_family == AF_INET)
		a = &((const struct sockaddr_in *)ss)->sin_addr;
	else if (ss->ss_family == AF_INET6)
		a = &((const struct sockaddr_in6 *)ss)->sin6_addr;
	else
		return -1;
	return inet_ntop(ss->ss_family, a, out, (socklen_t)len) ? 0 : -1;
}

int
dclient_addrs(const struct dclient *c, char *peer, size_t peerlen, char *local,
    size_t locallen)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd;

	if (c->bev == NULL || (fd = (int)bufferevent_getfd(c->bev)) == -1)
		return -1;
	if (getpeername(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    dc_ntop(&ss, peer, peerlen) == -1)
		return -1;
	sl = sizeof(ss);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == -1 ||
	    dc_ntop(&ss, local, locallen) == -1)
		return -1;
	return 0;
}
