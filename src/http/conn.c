/*
 * http/conn: per-address connection caps and the request deadline.
 *
 * evhttp (libevent 2.1) has no hook at accept and its timeout restarts
 * with every byte read, so a client sending one header byte every few
 * seconds would hold a connection for ever, and one address could hold
 * them all. The server sees each connection when evhttp asks for its
 * bufferevent (evhttp_set_bevcb), keeps a reference to it, and in the
 * same turn of the loop, once evhttp has given it the socket and made
 * its evhttp_connection (the bufferevent's callback argument), counts
 * it under its peer's address: over [http] connections_per_ip, or over
 * HTTP_CONN_MAX in all (a quarter of the descriptors if that is fewer),
 * it is closed at once. Every other connection gets a deadline: a whole
 * request within [http] request_timeout of the accept, or of the answer
 * before it on a kept-alive connection. The deadline stops while a
 * request is in the server's hands (closing then would free a request a
 * worker still holds) and starts again when its answer has been written.
 * The close callback of the connection is where it stops being counted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/resource.h>

#include <sodium.h>

#include "conn.h"
#include "server.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/net.h"
#include "../util/str.h"

#define HTTP_PEER_BUCKETS 1024

struct http_peer {
	char ip[64];
	int n; /* its open connections */
	struct http_peer *next;
};

struct http_conn {
	struct bufferevent *bev; /* our reference until identified */
	struct evhttp_connection *evcon;
	struct http_peer *peer;
	struct event *deadline;
	TAILQ_ENTRY(http_conn) entry;
};

TAILQ_HEAD(http_conn_list, http_conn);

static struct {
	struct event *identify;
	struct event_base *base;
	struct http_conn_list pending, live;
	struct http_peer *peers[HTTP_PEER_BUCKETS];
	unsigned char key[crypto_shorthash_KEYBYTES];
	int nlive, max;
} hc = { .pending = TAILQ_HEAD_INITIALIZER(hc.pending),
	.live = TAILQ_HEAD_INITIALIZER(hc.live) };

static void http_conn_identify(evutil_socket_t, short, void *);

int
http_conn_init(struct event_base *base)
{
	struct rlimit rl;

	/* a quarter of the descriptors at most: SMTP, the queue and the
	 * store need theirs */
	hc.max = HTTP_CONN_MAX;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur / 4 < (rlim_t)hc.max)
		hc.max = rl.rlim_cur / 4 > 16 ? (int)(rl.rlim_cur / 4) : 16;
	hc.base = base;
	randombytes_buf(hc.key, sizeof(hc.key));
	hc.identify = event_new(base, -1, 0, http_conn_identify, NULL);
	return hc.identify ? 0 : -1;
}

struct bufferevent *
http_conn_track(struct bufferevent *bev)
{
	struct http_conn *c;

	if (bev == NULL || (c = calloc(1, sizeof(*c))) == NULL)
		return bev;
	/* alive until identified, even if evhttp frees it before */
	bufferevent_incref(bev);
	c->bev = bev;
	TAILQ_INSERT_TAIL(&hc.pending, c, entry);
	event_active(hc.identify, EV_TIMEOUT, 0);
	return bev;
}

/* The peer's counter, made when absent; NULL when out of memory. */
static struct http_peer *
http_peer_get(const char *ip)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct http_peer *p, **b;

	crypto_shorthash(h, (const unsigned char *)ip, strlen(ip), hc.key);
	b = &hc.peers[(h[0] | h[1] << 8) % HTTP_PEER_BUCKETS];
	for (p = *b; p; p = p->next)
		if (strcmp(p->ip, ip) == 0)
			return p;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	str_lcpy(p->ip, ip, sizeof(p->ip));
	p->next = *b;
	*b = p;
	return p;
}

static void
http_peer_put(struct http_peer *p)
{
	unsigned char h[crypto_shorthash_BYTES];
	struct http_peer **b;

	if (--p->n > 0)
		return;
	crypto_shorthash(h, (const unsigned char *)p->ip, strlen(p->ip),
	    hc.key);
	for (b = &hc.peers[(h[0] | h[1] << 8) % HTTP_PEER_BUCKETS]; *b;
	     b = &(*b)->next)
		if (*b == p) {
			*b = p->next;
			free(p);
			return;
		}
}

static void
http_conn_arm(struct http_conn *c)
{
	struct timeval tv = { conf_current()->http_request_timeout, 0 };

	evtimer_add(c->deadline, &tv);
}

/* evhttp is closing the connection (closecb): it is no longer counted. */
static void
http_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct http_conn *c = arg;

	(void)evcon;
	TAILQ_REMOVE(&hc.live, c, entry);
	hc.nlive--;
	http_peer_put(c->peer);
	event_free(c->deadline);
	free(c);
}

static void
http_conn_expired(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c = arg;

	(void)fd;
	(void)what;
	log_info("http.close ip=%s reason=request_timeout", c->peer->ip);
	/* no request of it is in our hands: the deadline was stopped */
	evhttp_connection_free(c->evcon); /* calls http_conn_closed */
}

/* Count one connection, or close it; the evhttp_connection is live. */
static void
http_conn_admit(struct http_conn *c, struct evhttp_connection *evcon)
{
	const struct conf *conf = conf_current();
	const struct sockaddr *sa = evhttp_connection_get_addr(evcon);
	char ip[NET_IP_MAX], key[NET_IPKEY_MAX];

	/* counted by the key of the SMTP listeners: an IPv6 client by /64 */
	if (sa == NULL || net_client_addr(sa, (int)conf->ipv6_prefix, ip,
			      sizeof(ip), key, sizeof(key)) == -1)
		str_lcpy(key, "?", sizeof(key));
	c->evcon = evcon;
	if (hc.nlive >= hc.max || (c->peer = http_peer_get(key)) == NULL ||
	    c->peer->n >= conf->http_conns_ip ||
	    (c->deadline = evtimer_new(hc.base, http_conn_expired, c)) ==
		NULL) {
		log_info("http.refused ip=%s reason=connection_limit",
		    c->peer ? c->peer->ip : "?");
		if (c->peer && c->peer->n == 0)
			http_peer_put(c->peer); /* made for this one */
		evhttp_connection_free(evcon);
		free(c);
		return;
	}
	c->peer->n++;
	hc.nlive++;
	TAILQ_INSERT_TAIL(&hc.live, c, entry);
	evhttp_connection_set_closecb(evcon, http_conn_closed, c);
	http_conn_arm(c);
}

/* The connections made in this turn of the loop, now with a socket. */
static void
http_conn_identify(evutil_socket_t fd, short what, void *arg)
{
	struct http_conn *c;
	bufferevent_data_cb readcb;
	void *evcon;

	(void)fd;
	(void)what;
	(void)arg;
	while ((c = TAILQ_FIRST(&hc.pending)) != NULL) {
		struct bufferevent *bev = c->bev;
		TAILQ_REMOVE(&hc.pending, c, entry);
		c->bev = NULL;
		/* evhttp sets its callbacks with the connection as their
		 * argument; bufferevent_free() clears them */
		bufferevent_getcb(bev, &readcb, NULL, NULL, &evcon);
		if (readcb != NULL && evcon != NULL)
			http_conn_admit(c, evcon);
		else
			free(c); /* gone already */
		bufferevent_decref(bev);
	}
}

static struct http_conn *
http_conn_find(struct evhttp_connection *evcon)
{
	struct http_conn *c;

	TAILQ_FOREACH (c, &hc.live, entry)
		if (c->evcon == evcon)
			return c;
	return NULL;
}

/* The answer is written: the next request has its own deadline. */
static void
http_conn_answered(struct evhttp_request *req, void *arg)
{
	(void)req;
	http_conn_arm(arg);
}

void
http_conn_request(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct http_conn *c = evcon ? http_conn_find(evcon) : NULL;

	if (c == NULL)
		return;
	evtimer_del(c->deadline);
	evhttp_request_set_on_complete_cb(req, http_conn_answered, c);
}

void
http_conn_free(void)
{
	struct http_conn *c;
	struct http_peer *p;
	int i;

	while ((c = TAILQ_FIRST(&hc.pending)) != NULL) {
		TAILQ_REMOVE(&hc.pending, c, entry);
		bufferevent_decref(c->bev);
		free(c);
	}
	/* evhttp_free() closed every live one (their close callbacks) */
	while ((c = TAILQ_FIRST(&hc.live)) != NULL)
		http_conn_closed(c->evcon, c);
	for (i = 0; i < HTTP_PEER_BUCKETS; i++)
		while ((p = hc.peers[i]) != NULL) {
			hc.peers[i] = p->next;
			free(p);
		}
	if (hc.identify)
		event_free(hc.identify);
	hc.identify = NULL;
}
