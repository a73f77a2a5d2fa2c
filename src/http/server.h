/*
 * http: the JSON API and the panel's files over HTTP(S), served by
 * `postern serve` on the [listen] http addresses with libevent's evhttp.
 * One event loop thread of its own parses requests and sends replies;
 * everything that touches the store or hashes a password runs on the
 * shared worker pool (util/workers.c), one job per request.
 */
#ifndef POSTERN_HTTP_SERVER_H
#define POSTERN_HTTP_SERVER_H

#include <stdint.h>
#include <sys/time.h>

#include <event2/http.h>
#include <jansson.h>

#include "route.h"
#include "../admin/admin.h"
#include "../mail/addr.h"
#include "../util/service.h"
#include "../util/workers.h"

/* the HTTP service, for the runtime (src/serve/): bound before root is
 * dropped, its loop on its own thread, freed after the workers stopped */
extern const struct service http_service;

enum http_caller { HTTP_NOBODY, HTTP_BY_KEY, HTTP_BY_SESSION };

#define HTTP_SID_LEN 43	 /* characters of a session id */
#define HTTP_KEY_MAX 128 /* longest API key accepted */
#define HTTP_CSRF_LEN 64 /* hex characters of a CSRF token */
#define HTTP_COOKIE "postern_session"
#define HTTP_AUTH_LOG_MAX 200 /* events in one answer */

/* One request on its way through a worker and back. */
struct http_call {
	struct worker_job job; /* first: the job is the call */
	struct evhttp_request *req;
	const struct http_route *route;
	int method; /* HTTP_GET ... */
	char ip[64];
	char ipkey[64]; /* what per-address counters count (IPv6: its /64) */
	struct timeval arrived;
	json_t *args;	       /* path captures, query, JSON body */
	struct evbuffer *body; /* HTTP_RAW_BODY routes: the body */
	int tls;	       /* the connection is HTTPS */

	/* credentials from the headers; wiped when the call ends */
	char bearer[HTTP_KEY_MAX + 1];
	char sid[HTTP_SID_LEN + 1];
	char csrf[HTTP_CSRF_LEN + 1];

	/* the caller, set on the worker */
	enum http_caller caller;
	char actor[ADDR_MAX + 16]; /* "api:NAME" or "panel:ADDRESS" */
	int64_t user_id;
	char address[ADDR_MAX + 1];
	struct admin_ctx ctx; /* the worker's store and keys */

	/* the reply */
	int status;
	json_t *out;
	char *raw; /* a reply that is not JSON (handler-made) */
	size_t rawlen;
	const char *ctype;
	char cookie[256]; /* a Set-Cookie value, or "" */
	int64_t delay_ms; /* answer no sooner than arrived + delay */
	struct event *timer;

	/* the panel login, for the failure counters on the loop */
	char login[ADDR_MAX + 1];
	int login_result;		  /* 0 not a login, 1 ok, -1 failed */
	int login_inflight;		  /* counted in flight at the gate */
	char login_account[ADDR_MAX + 1]; /* the account's key, if found */
};

/* Reply helpers for handlers (on a worker): a non-JSON body. */
int http_call_raw(struct http_call *, const char *ctype, const void *data,
    size_t len);
/* Headers every reply carries (security policy); loop thread. */
void http_security_headers(struct evhttp_request *, int tls);
/* Send an error reply {"error": msg} at once; loop thread. */
void http_send_error(struct evhttp_request *, int tls, int status,
    const char *msg);
/* The HTTP reason phrase of a status. */
const char *http_reason(int status);

/* route tables, searched in order (api.c, session.c) */
extern const struct http_route http_api_routes[];
extern const struct http_route http_session_routes[];
extern const struct http_route http_panel_routes[]; /* panel.c */

#endif
