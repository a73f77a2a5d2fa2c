/*
 * httpc: see httpc.h. A request walks: resolve (an IP literal, or A then
 * AAAA through the caller's dnsq), connect to each address in turn
 * until one answers, send the whole request (TLS: after a verified
 * handshake, since the request sits in the output buffer until then),
 * read the response through httpresp, call back once, free. One timer
 * bounds the whole exchange. The callback never runs inside
 * httpc_start(): the start is an event of its own.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/x509_vfy.h>

#include "dnsq.h"
#include "httpc.h"
#include "httpresp.h"

#define HTTPC_ADDRS_MAX 8
#define HTTPC_HOST_MAX 255

struct httpc {
	struct event_base *base;
	void (*cb)(const struct httpc_resp *, void *);
	void *arg;
	char host[HTTPC_HOST_MAX + 1];
	int port;
	SSL_CTX *tls;
	struct dnsq *dns;
	uint64_t dnsq_handle;
	int asked_aaaa;
	struct evbuffer *req; /* the request, sent once per attempt */
	struct sockaddr_storage addrs[HTTPC_ADDRS_MAX];
	socklen_t lens[HTTPC_ADDRS_MAX];
	int naddrs, addr_idx;
	struct bufferevent *bev;
	struct event *start, *deadline;
	int connected, in_cb;
	long verify_result;
	struct httpresp resp;
	char error[256];
};

static void hc_try_next(struct httpc *);

static void
hc_free(struct httpc *h)
{
	if (h->dnsq_handle && h->dns)
		h->dns->cancel(h->dns, h->dnsq_handle);
	if (h->bev)
		bufferevent_free(h->bev);
	if (h->start)
		event_free(h->start);
	if (h->deadline)
		event_free(h->deadline);
	if (h->req)
		evbuffer_free(h->req);
	httpresp_free(&h->resp);
	free(h);
}

/* The end of a request: the callback, once, then nothing of h is left. */
static void
hc_finish(struct httpc *h, const char *error, int tls_failed)
{
	struct httpc_resp r;

	memset(&r, 0, sizeof(r));
	r.connected = h->connected;
	r.verify_result = h->verify_result;
	r.content_type = "";
	if (error != NULL) {
		snprintf(h->error, sizeof(h->error), "%s", error);
		r.error = h->error;
		r.tls_failed = tls_failed;
	} else {
		r.status = h->resp.status;
		r.content_type = h->resp.content_type;
		r.body = h->resp.body.data;
		r.len = h->resp.body.len;
	}
	h->in_cb = 1;
	h->cb(&r, h->arg);
	hc_free(h);
}

static void
hc_deadline(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	hc_finish(arg, "timeout", 0);
}

static void
hc_read_cb(struct bufferevent *bev, void *arg)
{
	struct httpc *h = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	char chunk[4096];
	int n, rc = 0;

	while ((n = evbuffer_remove(in, chunk, sizeof(chunk))) > 0)
		if ((rc = httpresp_feed(&h->resp, chunk, (size_t)n)) != 0)
			break;
	if (rc == 1)
		hc_finish(h, NULL, 0);
	else if (rc == -1)
		hc_finish(h, h->resp.error, 0);
}

/* This address failed before it answered: the next one, or the end. */
static void
hc_addr_failed(struct httpc *h, const char *why, int tls_failed)
{
	if (h->bev) {
		bufferevent_free(h->bev);
		h->bev = NULL;
	}
	snprintf(h->error, sizeof(h->error), "%s", why);
	/* a TLS failure is the name's, not the address's: no retry */
	if (tls_failed || ++h->addr_idx >= h->naddrs) {
		char why2[sizeof(h->error)];

		memcpy(why2, h->error, sizeof(why2));
		hc_finish(h, why2, tls_failed);
		return;
	}
	hc_try_next(h);
}

/* e: the OpenSSL error the bufferevent reported, or 0 */
static void
hc_tls_failed(struct httpc *h, unsigned long e)
{
	SSL *ssl = bufferevent_openssl_get_ssl(h->bev);
	const char *r = e ? ERR_reason_error_string(e) : NULL;
	char why[200];

	h->verify_result = ssl ? SSL_get_verify_result(ssl) : X509_V_OK;
	if (h->verify_result != X509_V_OK)
		snprintf(why, sizeof(why),
		    "TLS handshake failed: certificate not verified (%s)",
		    X509_verify_cert_error_string(h->verify_result));
	else
		snprintf(why, sizeof(why), "TLS handshake failed: %s",
		    r ? r : "connection closed");
	hc_addr_failed(h, why, 1);
}

/* The response so far plus the end of the connection. */
static void
hc_closed(struct httpc *h, short what)
{
	char chunk[4096];
	struct evbuffer *in = bufferevent_get_input(h->bev);
	int n, rc = 0;

	while ((n = evbuffer_remove(in, chunk, sizeof(chunk))) > 0)
		if ((rc = httpresp_feed(&h->resp, chunk, (size_t)n)) != 0)
			break;
	if (rc == 0 && (what & BEV_EVENT_EOF))
		rc = httpresp_eof(&h->resp);
	if (rc == 1)
		hc_finish(h, NULL, 0);
	else if (rc == -1)
		hc_finish(h, h->resp.error, 0);
	else /* a body to the end needs a clean end: no TLS truncation */
		hc_finish(h,
		    h->tls ? "connection lost (no TLS close_notify)"
			   : "connection lost",
		    0);
}

static void
hc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct httpc *h = arg;
	unsigned long e = 0;

	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (h->tls) {
			SSL *ssl = bufferevent_openssl_get_ssl(h->bev);
			/* SSL_VERIFY_PEER failed the handshake already;
			 * checked again before the request leaves */
			h->verify_result = SSL_get_verify_result(ssl);
			if (h->verify_result != X509_V_OK ||
			    SSL_get0_peer_certificate(ssl) == NULL) {
				hc_addr_failed(h, "certificate not verified",
				    1);
				return;
			}
		}
		h->connected = 1;
		bufferevent_write_buffer(h->bev, h->req);
		return;
	}
	if (h->connected) {
		hc_closed(h, what);
		return;
	}
	/* with TLS, CONNECTED comes after the handshake: an OpenSSL error
	 * or a close before it is the handshake's failure */
	if (h->tls && ((what & BEV_EVENT_EOF) ||
			  (e = bufferevent_get_openssl_error(h->bev)) != 0)) {
		hc_tls_failed(h, e);
		return;
	}
	hc_addr_failed(h,
	    (what & BEV_EVENT_EOF)	 ? "connection closed"
	    : (what & BEV_EVENT_TIMEOUT) ? "timeout"
	    : errno			 ? strerror(errno)
					 : "connection error",
	    0);
}

static void
hc_try_next(struct httpc *h)
{
	struct sockaddr_storage *ss = &h->addrs[h->addr_idx];
	int one = 1;

	h->connected = 0;
	if (h->tls) {
		SSL *ssl = SSL_new(h->tls);
		struct in6_addr ip;

		if (ssl == NULL) {
			hc_finish(h, "out of memory", 0);
			return;
		}
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
		SSL_set_min_proto_version(ssl, TLS1_2_VERSION);
		/* no SNI for an address (RFC 6066 3); the name (or the
		 * address) the certificate must carry */
		if ((inet_pton(AF_INET, h->host, &ip) != 1 &&
			inet_pton(AF_INET6, h->host, &ip) != 1 &&
			SSL_set_tlsext_host_name(ssl, h->host) != 1) ||
		    SSL_set1_host(ssl, h->host) != 1) {
			SSL_free(ssl);
			hc_finish(h, "TLS set-up failed", 1);
			return;
		}
		h->bev = bufferevent_openssl_socket_new(h->base, -1, ssl,
		    BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
		if (h->bev == NULL)
			SSL_free(ssl);
	} else
		h->bev =
		    bufferevent_socket_new(h->base, -1, BEV_OPT_CLOSE_ON_FREE);
	if (h->bev == NULL) {
		hc_finish(h, "out of memory", 0);
		return;
	}
	bufferevent_setcb(h->bev, hc_read_cb, NULL, hc_event_cb, h);
	bufferevent_enable(h->bev, EV_READ | EV_WRITE);
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)h->port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port =
		    htons((uint16_t)h->port);
	errno = 0;
	if (bufferevent_socket_connect(h->bev, (struct sockaddr *)ss,
		(int)h->lens[h->addr_idx]) == -1) {
		hc_addr_failed(h, errno ? strerror(errno) : "connect failed",
		    0);
		return;
	}
	setsockopt(bufferevent_getfd(h->bev), IPPROTO_TCP, TCP_NODELAY, &one,
	    sizeof(one));
}

static int
hc_add_addr(struct httpc *h, const char *text)
{
	struct sockaddr_storage *ss = &h->addrs[h->naddrs];

	if (h->naddrs == HTTPC_ADDRS_MAX)
		return 0;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &((struct sockaddr_in *)ss)->sin_addr) ==
	    1) {
		ss->ss_family = AF_INET;
		h->lens[h->naddrs++] = sizeof(struct sockaddr_in);
		return 1;
	}
	if (inet_pton(AF_INET6, text,
		&((struct sockaddr_in6 *)ss)->sin6_addr) == 1) {
		ss->ss_family = AF_INET6;
		h->lens[h->naddrs++] = sizeof(struct sockaddr_in6);
		return 1;
	}
	return 0;
}

static void
hc_dns_cb(const struct dnsq_answer *a, void *arg)
{
	struct httpc *h = arg;
	int i;

	h->dnsq_handle = 0;
	if (a->status == DNSQ_OK)
		for (i = 0; i < a->n; i++)
			hc_add_addr(h, a->rr[i]);
	if (!h->asked_aaaa) {
		h->asked_aaaa = 1;
		h->dnsq_handle =
		    h->dns->ask(h->dns, h->host, DNSQ_AAAA, hc_dns_cb, h);
		if (h->dnsq_handle != 0)
			return;
	}
	if (h->naddrs == 0) {
		hc_finish(h,
		    a->status == DNSQ_TEMPFAIL ? "DNS: temporary failure"
					       : "DNS: no address",
		    0);
		return;
	}
	hc_try_next(h);
}

static void
hc_start(evutil_socket_t fd, short what, void *arg)
{
	struct httpc *h = arg;

	(void)fd;
	(void)what;
	if (h->naddrs > 0) {
		hc_try_next(h);
		return;
	}
	if (h->dns == NULL) {
		hc_finish(h, "a host name and no resolver", 0);
		return;
	}
	h->dnsq_handle = h->dns->ask(h->dns, h->host, DNSQ_A, hc_dns_cb, h);
	if (h->dnsq_handle == 0)
		hc_finish(h, "DNS: could not ask", 0);
}

/* What goes on the wire; -1 if a field would break the request. */
static int
hc_build(struct httpc *h, const struct httpc_req *rq)
{
	const char *s;
	char port[8] = "";
	int v6 = strchr(h->host, ':') != NULL, i;
	size_t len = rq->bodylen;

	if (rq->port != (rq->tls ? 443 : 80))
		snprintf(port, sizeof(port), ":%d", rq->port);
	for (s = rq->path; *s; s++)
		if ((unsigned char)*s <= ' ' || *s == 0x7f)
			return -1;
	if (rq->path[0] != '/' ||
	    strcspn(rq->method, " \r\n") != strlen(rq->method) ||
	    (rq->content_type && strpbrk(rq->content_type, "\r\n")))
		return -1;
	if (evbuffer_add_printf(h->req,
		"%s %s HTTP/1.1\r\nHost: %s%s%s%s\r\n"
		"User-Agent: postern\r\nConnection: close\r\n",
		rq->method, rq->path, v6 ? "[" : "", h->host, v6 ? "]" : "",
		port) < 0)
		return -1;
	if (rq->content_type &&
	    evbuffer_add_printf(h->req, "Content-Type: %s\r\n",
		rq->content_type) < 0)
		return -1;
	for (i = 0; i < rq->nbodyv; i++)
		len += rq->bodyv[i].iov_len;
	if ((rq->body || strcmp(rq->method, "POST") == 0) &&
	    evbuffer_add_printf(h->req, "Content-Length: %zu\r\n", len) < 0)
		return -1;
	if (rq->headers &&
	    evbuffer_add(h->req, rq->headers, strlen(rq->headers)) == -1)
		return -1;
	if (evbuffer_add(h->req, "\r\n", 2) == -1)
		return -1;
	if (rq->bodylen && evbuffer_add(h->req, rq->body, rq->bodylen) == -1)
		return -1;
	for (i = 0; i < rq->nbodyv; i++)
		if (rq->bodyv[i].iov_len > 0 &&
		    evbuffer_add_reference(h->req, rq->bodyv[i].iov_base,
			rq->bodyv[i].iov_len, NULL, NULL) == -1)
			return -1;
	return 0;
}

struct httpc *
httpc_start(struct event_base *base, const struct httpc_req *rq,
    void (*cb)(const struct httpc_resp *, void *), void *arg)
{
	struct httpc *h;
	struct timeval tv = { rq->timeout_s > 0 ? rq->timeout_s : 30, 0 };

	if (rq->host == NULL || rq->path == NULL || rq->method == NULL ||
	    strlen(rq->host) > HTTPC_HOST_MAX || rq->host[0] == '\0' ||
	    strpbrk(rq->host, " \t\r\n/") != NULL || rq->port <= 0 ||
	    rq->port > 65535)
		return NULL;
	if ((h = calloc(1, sizeof(*h))) == NULL)
		return NULL;
	h->base = base;
	h->cb = cb;
	h->arg = arg;
	snprintf(h->host, sizeof(h->host), "%s", rq->host);
	h->port = rq->port;
	h->tls = rq->tls;
	h->dns = rq->dns;
	h->verify_result = X509_V_OK;
	httpresp_init(&h->resp, rq->max_body);
	hc_add_addr(h, h->host);
	if ((h->req = evbuffer_new()) == NULL || hc_build(h, rq) == -1 ||
	    (h->start = evtimer_new(base, hc_start, h)) == NULL ||
	    (h->deadline = evtimer_new(base, hc_deadline, h)) == NULL) {
		hc_free(h);
		return NULL;
	}
	evtimer_add(h->deadline, &tv);
	event_active(h->start, EV_TIMEOUT, 0);
	return h;
}

void
httpc_cancel(struct httpc *h)
{
	/* from inside cb: hc_finish frees once cb returns */
	if (h == NULL || h->in_cb)
		return;
	hc_free(h);
}
