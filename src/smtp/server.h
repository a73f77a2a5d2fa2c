/*
 * server: the SMTP service. One event loop per core, each accepting on
 * its own SO_REUSEPORT sockets for every SMTP listener; blocking work
 * goes to the runtime's worker pool. No thread per connection.
 */
#ifndef POSTERN_SERVER_H
#define POSTERN_SERVER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "../auth/secret.h"
#include "../util/conf.h"
#include "../util/net.h"
#include "../util/service.h"

enum listen_kind { LISTEN_SMTP, LISTEN_SUBMISSION, LISTEN_SUBMISSIONS };
#define SERVER_LISTEN_MAX 24

struct smtp_session;
struct server;

struct server_loop {
	struct server *srv;
	int idx;
	pthread_t thread;
	struct event_base *base;
	struct workers_loop *wl;
	struct resolver *res;		     /* the MX's checks ask DNS here */
	struct event *ls[SERVER_LISTEN_MAX]; /* accept, first in the loop */
	int nls;
	int ctlfd; /* eventfd: the main thread says "stop" */
	struct event *ctl;
	TAILQ_HEAD(, smtp_session) sessions;
	int nsessions;
	int stopping;
};

/* The SMTP service's state (one per process). */
struct server {
	int nloops;
	int nthreads; /* loops whose thread runs */
	struct server_loop *loops;
	atomic_int conns;
	atomic_uint_fast64_t next_id;
};

/* The SMTP service, for the runtime (src/serve/). */
extern const struct service smtp_service;

/* Per-address connection accounting (shared by all loops), by key. */
int server_conn_enter(struct server *, const char *ipkey);
void server_conn_leave(struct server *, const char *ipkey);

#endif
