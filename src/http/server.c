/*
 * http/server: the evhttp server. Its own thread and event loop accept
 * on the [listen] http sockets (bound by the main thread before root is
 * dropped), wrap each connection in TLS with the server's certificate
 * (bufferevent_openssl through evhttp_set_bevcb) unless plain HTTP is
 * allowed on loopback, decode and route each request, and send every
 * request that needs the store to a worker. The reply goes out from
 * the loop with the security headers every response carries.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "conn.h"
#include "server.h"
#include "session.h"
#include "static.h"
#include "../auth/pwlane.h"
#include "../auth/secret.h"
#include "../store/store.h"
#include "../store/thread.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/net.h"
#include "../util/service.h"
#include "../util/str.h"
#include "../util/tls.h"

#define HTTP_LISTEN_MAX 8
#define HTTP_HEADERS_MAX (16 * 1024)
#define HTTP_STOP_GRACE 30 /* seconds for calls in flight */

static struct {
	struct event_base *base;
	struct evhttp *http;
	struct workers_loop *wl;
	pthread_t thread;
	int running;
	int tls;
	int fds[HTTP_LISTEN_MAX];
	struct evhttp_bound_socket *bound[HTTP_LISTEN_MAX];
	int nbound;
	int ctlfd;
	struct event *ctl, *drain;
	int stopping;
	int inflight; /* calls not yet answered; loop thread only */
	struct timeval stop_at;
} hs = { .ctlfd = -1 };

static const struct http_route *const http_tables[] = {
	http_session_routes,
	http_panel_routes,
	http_api_routes,
	NULL,
};

const char *
http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 204:
		return "No Content";
	case 304:
		return "Not Modified";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 409:
		return "Conflict";
	case 413:
		return "Payload Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return status >= 500 ? "Internal Server Error" : "Error";
	}
}

void
http_security_headers(struct evhttp_request *req, int tls)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	/* no inline script, no framing, nothing leaks in Referer */
	evhttp_add_header(h, "Content-Security-Policy",
	    "default-src 'self'; script-src 'self'; style-src 'self'; "
	    "img-src 'self' data:; object-src 'none'; base-uri 'none'; "
	    "form-action 'self'; frame-ancestors 'none'");
	evhttp_add_header(h, "X-Frame-Options", "DENY");
	evhttp_add_header(h, "Referrer-Policy", "no-referrer");
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(h, "Cross-Origin-Opener-Policy", "same-origin");
	evhttp_add_header(h, "Cross-Origin-Resource-Policy", "same-origin");
	if (tls)
		evhttp_add_header(h, "Strict-Transport-Security",
		    "max-age=31536000");
}

/* A JSON reply; the body is never cached (it may hold a secret). */
static void
http_send_json(struct evhttp_request *req, int tls, int status, json_t *body)
{
	struct evbuffer *b = evbuffer_new();
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	char *text = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);

	http_security_headers(req, tls);
	evhttp_add_header(h, "Content-Type", "application/json; charset=utf-8");
	evhttp_add_header(h, "Cache-Control", "no-store");
	if (b && text) {
		evbuffer_add(b, text, strlen(text));
		evbuffer_add(b, "\n", 1);
	}
	if (text) {
		sodium_memzero(text, strlen(text));
		free(text);
	}
	evhttp_send_reply(req, status, http_reason(status), b);
	if (b)
		evbuffer_free(b);
}

void
http_send_error(struct evhttp_request *req, int tls, int status,
    const char *msg)
{
	json_t *o = json_pack("{s:s}", "error", msg);

	http_send_json(req, tls, status, o);
	json_decref(o);
}

int
http_call_raw(struct http_call *c, const char *ctype, const void *data,
    size_t len)
{
	free(c->raw);
	if ((c->raw = malloc(len ? len : 1)) == NULL)
		return -1;
	memcpy(c->raw, data, len);
	c->rawlen = len;
	c->ctype = ctype;
	return 0;
}

static void
http_call_free(struct http_call *c)
{
	if (c->timer)
		event_free(c->timer);
	json_decref(c->args);
	json_decref(c->out);
	if (c->body)
		evbuffer_free(c->body);
	if (c->raw) {
		sodium_memzero(c->raw, c->rawlen);
		free(c->raw);
	}
	sodium_memzero(c, sizeof(*c));
	free(c);
	hs.inflight--;
}

static void
http_call_send(struct http_call *c)
{
	struct evhttp_request *req = c->req;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	if (c->cookie[0])
		evhttp_add_header(h, "Set-Cookie", c->cookie);
	if (c->raw) {
		struct evbuffer *b = evbuffer_new();
		http_security_headers(req, c->tls);
		evhttp_add_header(h, "Content-Type", c->ctype);
		evhttp_add_header(h, "Cache-Control", "no-store");
		if (b && c->method != HTTP_HEAD)
			evbuffer_add(b, c->raw, c->rawlen);
		evhttp_send_reply(req, c->status, http_reason(c->status), b);
		if (b)
			evbuffer_free(b);
	} else if (c->status >= 400 || c->out == NULL) {
		json_t *m = json_object_get(c->out, "error");
		http_send_error(req, c->tls, c->status ? c->status : 500,
		    json_is_string(m) ? json_string_value(m)
				      : "the server could not answer");
	} else
		http_send_json(req, c->tls, c->status, c->out);
	http_call_free(c);
}

static void
http_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	http_call_send(arg);
}

/* A user's credentials are shown only once the current terms are
 * accepted (the panel shows the terms instead). */
static int
http_tos_check(struct http_call *c, struct admin_err *err)
{
	int64_t v = store_tos_current(c->ctx.store, NULL);

	if (v < 0)
		return admin_store_fail(&c->ctx, err);
	if (v > 0 && !store_tos_accepted(c->ctx.store, c->user_id, v))
		return admin_fail(err, 403,
		    "accept the terms of service first (GET and POST /api/v1/me/tos)");
	return 0;
}

/* On a worker: who is calling, may they, then the operation. */
static void
http_job_run(struct worker_job *j, void *tctx)
{
	(void)tctx;
	struct http_call *c = (struct http_call *)j;
	const struct http_route *r = c->route;
	struct admin_err err = { 0, "" };
	json_t *out = NULL;
	int rc = -1;

	c->ctx.store = store_thread();
	c->ctx.keys = secret_keys_current();
	c->ctx.conf = conf_current();
	c->ctx.ip = c->ip;
	c->ctx.in_server = 1;
	c->ctx.read_only = c->method == HTTP_GET || c->method == HTTP_HEAD;
	c->ctx.actor = c->actor;
	str_lcpy(c->actor, "anonymous", sizeof(c->actor));
	if (http_authenticate(c, &err) == -1)
		goto out;
	if (http_authorize(c, &err) == -1)
		goto out;
	if (c->caller == HTTP_BY_SESSION && (r->flags & HTTP_NEED_TOS) &&
	    http_tos_check(c, &err) == -1)
		goto out;
	if (c->caller == HTTP_BY_SESSION && r->self_arg) {
		/* whatever names an account is the session's own */
		json_object_del(c->args, "address");
		json_object_del(c->args, "login");
		json_object_set_new(c->args, r->self_arg,
		    json_string(c->address));
	}
	if (r->op) {
		const struct admin_op *op = admin_op_find(r->op);
		if (op == NULL)
			admin_fail(&err, 500, "no operation %s", r->op);
		else if (admin_args_check(op->params, c->args, &err) == 0)
			rc = op->fn(&c->ctx, c->args, &out, &err);
	} else if (admin_args_check(NULL, c->args, &err) == 0)
		rc = r->fn(c, c->args, &out, &err);
	if (rc == 0 && (r->flags & HTTP_SECRET)) {
		/* who saw or replaced which secret; never the secret */
		const char *who = admin_arg(c->args, "login");
		char q[LOG_VALUE_MAX];
		if (who == NULL)
			who = admin_arg(c->args, "address");
		if (who == NULL)
			who = admin_arg(c->args, "name");
		log_info("http.secret call=%s login=%s actor=%s ip=%s",
		    r->op ? r->op : r->pattern, log_value(q, sizeof(q), who),
		    c->actor, c->ip); /* a key's name or an address */
	}
out:
	if (rc == 0) {
		c->status = c->status ? c->status
				      : (r->flags & HTTP_CREATED ? 201 : 200);
		c->out = out ? out : json_object();
	} else {
		json_decref(out);
		c->status = err.status ? err.status : 500;
		c->out = json_pack("{s:s}", "error",
		    err.msg[0] ? err.msg : "the server could not answer");
	}
}

static void
http_job_done(struct worker_job *j)
{
	struct http_call *c = (struct http_call *)j;
	struct timeval now, due, wait;

	if (c->login_result || c->login_inflight)
		http_login_after(c);
	sodium_memzero(c->bearer, sizeof(c->bearer));
	sodium_memzero(c->sid, sizeof(c->sid));
	if (c->delay_ms > 0) {
		due.tv_sec = c->arrived.tv_sec + c->delay_ms / 1000;
		due.tv_usec = c->arrived.tv_usec + (c->delay_ms % 1000) * 1000;
		if (due.tv_usec >= 1000000) {
			due.tv_sec++;
			due.tv_usec -= 1000000;
		}
		event_base_gettimeofday_cached(hs.base, &now);
		if (timercmp(&due, &now, >) &&
		    (c->timer = evtimer_new(hs.base, http_timer_cb, c))) {
			timersub(&due, &now, &wait);
			evtimer_add(c->timer, &wait);
			return;
		}
	}
	http_call_send(c);
}

/* Copy a header's value if it fits; "" if absent or too long. */
static void
http_header_copy(struct evkeyvalq *h, const char *name, const char *prefix,
    char *out, size_t outlen)
{
	const char *v = evhttp_find_header(h, name);
	size_t pl = prefix ? strlen(prefix) : 0;

	out[0] = '\0';
	if (v == NULL)
		return;
	if (pl && strncasecmp(v, prefix, pl) != 0)
		return;
	v += pl;
	while (*v == ' ')
		v++;
	if (strlen(v) < outlen)
		str_lcpy(out, v, outlen);
}

/* The JSON body into args: an object, UTF-8, no duplicate keys. Path
 * captures win over body keys of the same name. */
static int
http_body_args(struct evhttp_request *req, struct http_call *c,
    const char **why)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *ct = evhttp_find_header(h, "Content-Type");
	json_error_t jerr;
	json_t *body;

	if (c->route->flags & HTTP_RAW_BODY) {
		if ((c->body = evbuffer_new()) == NULL ||
		    evbuffer_add_buffer(c->body, in) == -1)
			return *why = "out of memory", 500;
		return 0;
	}
	if (len == 0)
		return 0;
	/* a form cannot send application/json across sites without CORS */
	if (ct == NULL || strncasecmp(ct, "application/json", 16) != 0 ||
	    (ct[16] != '\0' && ct[16] != ';' && ct[16] != ' '))
		return *why = "send the body as Content-Type: application/json",
		       415;
	body = json_loadb((const char *)evbuffer_pullup(in, -1), len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL || !json_is_object(body)) {
		json_decref(body);
		return *why = "the body is not a JSON object", 400;
	}
	json_object_update_missing(c->args, body);
	json_decref(body);
	return 0;
}

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const struct http_route *r = NULL;
	const struct http_route *const *t;
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL, *why;
	struct http_path *p = NULL;
	struct http_call *c = NULL;
	int method = (int)evhttp_request_get_command(req);
	int known = 0, allowed = 0, status;
	const struct sockaddr *sa;

	(void)arg;
	http_conn_request(req); /* its deadline stops until answered */
	if (hs.stopping) {
		http_send_error(req, hs.tls, 503, "the server is stopping");
		return;
	}
	if (path == NULL || strlen(path) > HTTP_PATH_MAX) {
		http_send_error(req, hs.tls, 414, "the path is too long");
		return;
	}
	if ((p = malloc(sizeof(*p))) == NULL ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		free(p);
		free(c);
		http_send_error(req, hs.tls, 500, "out of memory");
		return;
	}
	hs.inflight++;
	c->req = req;
	c->tls = hs.tls;
	c->method = method;
	c->args = json_object();
	event_base_gettimeofday_cached(hs.base, &c->arrived);
	/* the same address and counting key as the SMTP listeners' */
	if (evcon == NULL || (sa = evhttp_connection_get_addr(evcon)) == NULL ||
	    net_client_addr(sa, (int)conf_current()->ipv6_prefix, c->ip,
		sizeof(c->ip), c->ipkey, sizeof(c->ipkey)) == -1) {
		str_lcpy(c->ip, "?", sizeof(c->ip));
		str_lcpy(c->ipkey, "?", sizeof(c->ipkey));
	}
	if (http_path_split(path, p) == -1) {
		status = 400, why = "the path is not valid";
		goto fail;
	}
	for (t = http_tables; *t && r == NULL; t++) {
		int k, a;
		r = http_route_find(*t, method, p, c->args, &k, &a);
		known |= k;
		allowed |= a;
	}
	if (r == NULL) {
		free(p);
		p = NULL;
		if (!known && (method == HTTP_GET || method == HTTP_HEAD) &&
		    http_static_serve(req, path, hs.tls) == 0) {
			hs.inflight--;
			json_decref(c->args);
			free(c);
			return;
		}
		if (known) {
			char allow[64] = "";
			if (allowed & HTTP_GET)
				strcat(allow, "GET, HEAD, ");
			if (allowed & HTTP_POST)
				strcat(allow, "POST, ");
			if (allowed & HTTP_PUT)
				strcat(allow, "PUT, ");
			if (allowed & HTTP_DELETE)
				strcat(allow, "DELETE, ");
			if (allow[0])
				allow[strlen(allow) - 2] = '\0';
			evhttp_add_header(
			    evhttp_request_get_output_headers(req), "Allow",
			    allow);
			status = 405, why = "this method is not allowed here";
		} else
			status = 404, why = "no such page or call";
		goto fail;
	}
	free(p);
	p = NULL;
	c->route = r;
	if (http_query_parse(uri ? evhttp_uri_get_query(uri) : NULL, c->args) ==
	    -1) {
		status = 400, why = "the query string is not valid";
		goto fail;
	}
	if ((status = http_body_args(req, c, &why)) != 0)
		goto fail;
	http_header_copy(h, "Authorization", "Bearer ", c->bearer,
	    sizeof(c->bearer));
	if (evhttp_find_header(h, "Cookie") &&
	    http_cookie_get(evhttp_find_header(h, "Cookie"), HTTP_COOKIE,
		c->sid, sizeof(c->sid)) != 1)
		c->sid[0] = '\0';
	http_header_copy(h, "X-CSRF-Token", NULL, c->csrf, sizeof(c->csrf));
	if (http_login_gate(c, &why) == -1) {
		status = 429;
		goto fail;
	}
	c->job.run = http_job_run;
	c->job.done = http_job_done;
	c->job.owner = c;
	/* sign-ins hash with argon2id: on their own lane, never in front
	 * of the pool's SMTP work (auth/pwlane.c) */
	if (r->flags & HTTP_LOGIN) {
		if (pwlane_submit(hs.wl, &c->job) == 0)
			return;
		http_login_after(c); /* not in flight after all */
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", "1");
		status = 503, why = "too many sign-ins at once: wait a second, "
				    "then try again";
		log_info("http.login ip=%s result=refused reason=busy", c->ip);
		goto fail;
	}
	workers_submit(hs.wl, &c->job);
	return;
fail:
	free(p);
	c->status = status;
	c->out = json_pack("{s:s}", "error", why);
	http_call_send(c);
}

static struct bufferevent *
http_bev_cb(struct event_base *base, void *arg)
{
	SSL *ssl = SSL_new(tls_server_current());
	struct bufferevent *bev;

	(void)arg;
	if (ssl == NULL)
		return NULL;
	bev = bufferevent_openssl_socket_new(base, -1, ssl,
	    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	if (bev == NULL) {
		SSL_free(ssl);
		return NULL;
	}
	/* browsers close without close_notify: not an error */
	bufferevent_openssl_set_allow_dirty_shutdown(bev, 1);
	return http_conn_track(bev);
}

static struct bufferevent *
http_plain_bev_cb(struct event_base *base, void *arg)
{
	(void)arg;
	return http_conn_track(
	    bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE));
}

/* Is every address of the list a loopback one? */
static int
http_all_loopback(const char *list)
{
	char copy[CONF_STR_MAX], *tok, *save = NULL;
	int n = 0;

	str_lcpy(copy, list, sizeof(copy));
	for (tok = strtok_r(copy, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save), n++) {
		struct sockaddr_storage ss;
		socklen_t len;
		if (net_addr_parse(tok, &ss, &len) == -1)
			return 0;
		if (ss.ss_family == AF_INET) {
			const struct sockaddr_in *a = (void *)&ss;
			if ((ntohl(a->sin_addr.s_addr) >> 24) != 127)
				return 0;
		} else {
			const struct sockaddr_in6 *a = (void *)&ss;
			if (!IN6_IS_ADDR_LOOPBACK(&a->sin6_addr))
				return 0;
		}
	}
	return n > 0;
}

static void
http_drain_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval now;

	(void)fd;
	(void)what;
	(void)arg;
	event_base_gettimeofday_cached(hs.base, &now);
	if (hs.inflight == 0 || timercmp(&now, &hs.stop_at, >))
		event_base_loopbreak(hs.base);
}

static void
http_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct timeval tick = { 0, 20000 };
	uint64_t v;
	int i;

	(void)what;
	(void)arg;
	if (read(fd, &v, sizeof(v)) < 0 || hs.stopping)
		return;
	hs.stopping = 1;
	for (i = 0; i < hs.nbound; i++)
		evhttp_del_accept_socket(hs.http, hs.bound[i]);
	hs.nbound = 0;
	event_base_gettimeofday_cached(hs.base, &hs.stop_at);
	hs.stop_at.tv_sec += HTTP_STOP_GRACE;
	/* calls in flight finish (their request is valid until answered) */
	hs.drain = event_new(hs.base, -1, EV_PERSIST, http_drain_cb, NULL);
	if (hs.drain == NULL || event_add(hs.drain, &tick) == -1)
		event_base_loopbreak(hs.base);
}

static int
http_bind(void)
{
	const struct conf *conf = conf_current();
	char list[CONF_STR_MAX], *tok, *save = NULL;
	int loop;

	if (conf->listen_http[0] == '\0')
		return 0; /* no http listener */
	loop = http_all_loopback(conf->listen_http);
	if (strcmp(conf->http_tls, "off") == 0 && !loop) {
		log_warnx("http.start error=\"[http] tls = off is allowed only "
			  "on loopback addresses: use tls = on\"");
		return -1;
	}
	hs.tls = strcmp(conf->http_tls, "on") == 0 ||
		 (strcmp(conf->http_tls, "auto") == 0 && !loop);
	if ((hs.base = event_base_new()) == NULL ||
	    (hs.http = evhttp_new(hs.base)) == NULL ||
	    (hs.wl = workers_loop_new(hs.base)) == NULL ||
	    (hs.ctlfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (hs.ctl = event_new(hs.base, hs.ctlfd, EV_READ | EV_PERSIST,
		 http_ctl_cb, NULL)) == NULL ||
	    event_add(hs.ctl, NULL) == -1 || http_conn_init(hs.base) == -1) {
		log_warnx("http.start error=\"cannot make the event loop\"");
		return -1;
	}
	evhttp_set_max_body_size(hs.http, conf->http_max_body);
	evhttp_set_max_headers_size(hs.http, HTTP_HEADERS_MAX);
	evhttp_set_timeout(hs.http, (int)conf->http_timeout);
	evhttp_set_allowed_methods(hs.http,
	    HTTP_GET | HTTP_POST | HTTP_HEAD | HTTP_PUT | HTTP_DELETE);
	evhttp_set_gencb(hs.http, http_request_cb, NULL);
	evhttp_set_bevcb(hs.http, hs.tls ? http_bev_cb : http_plain_bev_cb,
	    NULL);
	str_lcpy(list, conf->listen_http, sizeof(list));
	for (tok = strtok_r(list, ", ", &save); tok;
	     tok = strtok_r(NULL, ", ", &save)) {
		int fd;
		if (hs.nbound >= HTTP_LISTEN_MAX ||
		    (fd = net_listen_socket(tok)) == -1)
			return -1;
		hs.bound[hs.nbound] =
		    evhttp_accept_socket_with_handle(hs.http, fd);
		if (hs.bound[hs.nbound] == NULL) {
			close(fd);
			return -1;
		}
		hs.nbound++;
	}
	log_info("http.listen address=%s tls=%s", conf->listen_http,
	    hs.tls ? "on" : "off");
	return 0;
}

static void *
http_main(void *arg)
{
	(void)arg;
	event_base_dispatch(hs.base);
	return NULL;
}

static int
http_start(void)
{
	if (hs.base == NULL)
		return 0;
	if (pthread_create(&hs.thread, NULL, http_main, NULL) == 0)
		(void)pthread_setname_np(hs.thread, "http");
	else
		return -1;
	hs.running = 1;
	return 0;
}

static void
http_stop(void)
{
	uint64_t one = 1;

	if (hs.ctlfd != -1 && write(hs.ctlfd, &one, sizeof(one)) < 0)
		log_warnx("http.stop error=\"%s\"", strerror(errno));
}

static void
http_join(void)
{
	if (hs.running)
		pthread_join(hs.thread, NULL);
	hs.running = 0;
}

/* After the workers stopped: no job can come back to this loop. */
static void
http_free(void)
{
	if (hs.http)
		evhttp_free(hs.http);
	http_conn_free();
	if (hs.drain)
		event_free(hs.drain);
	if (hs.ctl)
		event_free(hs.ctl);
	if (hs.ctlfd != -1)
		close(hs.ctlfd);
	workers_loop_free(hs.wl);
	if (hs.base)
		event_base_free(hs.base);
	http_login_free();
	memset(&hs, 0, sizeof(hs));
	hs.ctlfd = -1;
}

const struct service http_service = {
	.name = "http",
	.bind = http_bind,
	.start = http_start,
	.stop = http_stop,
	.join = http_join,
	.free = http_free,
};
