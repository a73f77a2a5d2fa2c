/*
 * httpc: a small asynchronous HTTP/1.1 client on a libevent loop, for
 * the few HTTP peers postern talks to: MTA-STS policies (GET over
 * verified HTTPS), TLS reports (POST over verified HTTPS) and rspamd
 * (POST over plain HTTP on the local network). One request per
 * connection (Connection: close), no redirects followed, a bounded
 * response (status line, headers, Content-Length, chunked or to EOF),
 * a deadline for the whole exchange. Nothing blocks the loop.
 */
#ifndef POSTERN_HTTPC_H
#define POSTERN_HTTPC_H

#include <stddef.h>
#include <sys/uio.h>

#include <event2/event.h>
#include <openssl/ssl.h>

struct dnsq;
struct httpc;

struct httpc_req {
	const char *method; /* "GET" or "POST" */
	/* an IP literal, or a name asked of dns (A, then AAAA); also the
	 * Host header, the SNI and the name the certificate must match */
	const char *host;
	int port;
	const char *path;	  /* "/.well-known/mta-sts.txt" */
	const char *content_type; /* POST: the body's type, else NULL */
	const void *body;	  /* POST: sent as is, Content-Length */
	size_t bodylen;
	/* POST: more of the body after body, in pieces read in place, not
	 * copied (a whole message for rspamd): they must stay until cb
	 * runs or the request is cancelled */
	const struct iovec *bodyv;
	int nbodyv;
	/* extra header lines, each ending CRLF, or NULL */
	const char *headers;
	/* NULL: plain HTTP; else HTTPS from this context, the peer's
	 * certificate verified against host (chain by the context) */
	SSL_CTX *tls;
	struct dnsq *dns; /* for a host that is a name; NULL: IP only */
	size_t max_body;  /* a longer body fails the request */
	int timeout_s;	  /* for the whole exchange */
};

struct httpc_resp {
	int status;	    /* 0 when the request failed */
	const char *error;  /* why it failed, for logs; NULL if it did not */
	int tls_failed;	    /* 1: the TLS handshake or verification failed */
	int connected;	    /* the request reached the peer: an error is in
			       (or instead of) its answer */
	long verify_result; /* X509_V_OK or OpenSSL's verification error */
	const char *content_type; /* the value, or "" */
	const char *body;	  /* status != 0: the body, NUL-terminated */
	size_t len;
};

/* Start; cb runs once, later, on base's loop (never inside the call),
 * with a response valid only during cb. NULL if it could not start (no
 * cb then). */
struct httpc *httpc_start(struct event_base *, const struct httpc_req *,
    void (*cb)(const struct httpc_resp *, void *), void *arg);
/* Stop a request: its cb is not called. NULL: no-op. */
void httpc_cancel(struct httpc *);

#endif
