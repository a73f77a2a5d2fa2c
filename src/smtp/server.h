/*
 * server: `postern serve`. One event loop per core, each accepting on
 * its own SO_REUSEPORT sockets for every listener, and a pool of worker
 * threads for the store, hashing and fsync. No thread per connection.
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
	struct event *ls[SERVER_LISTEN_MAX]; /* accept, first in the loop */
	enum listen_kind kinds[SERVER_LISTEN_MAX];
	int nls;
	int ctlfd; /* eventfd: the main thread says "stop" */
	struct event *ctl;
	TAILQ_HEAD(, smtp_session) sessions;
	int nsessions;
	int stopping;
};

struct server {
	struct conf *conf;    /* swapped on SIGHUP */
	SSL_CTX *_Atomic tls; /* swapped on SIGHUP */
	struct secret_keys keys;
	int nloops;
	struct server_loop *loops;
	atomic_int conns;
	atomic_uint_fast64_t next_id;
	atomic_int stopping;
};

/* A service above the SMTP floor that runs inside `postern serve` (the
 * HTTP server): bound before root is dropped, started once the workers
 * run, told to stop with the SMTP loops, joined, then freed after the
 * workers stopped. */
struct server_addon {
	int (*bind)(struct server *);
	int (*start)(void);
	void (*stop)(void);
	void (*join)(void);
	void (*free)(void);
};

int server_run(struct conf *, const struct server_addon *);
/* "ADDR:PORT" or "[V6]:PORT" into a sockaddr; -1 if not one. */
int server_addr_parse(const char *text, struct sockaddr_storage *, socklen_t *);
/* A listening socket (SO_REUSEPORT) on "ADDR:PORT"; -1 logged. */
int server_listen_socket(const char *text);
/* A client address as text (inet_ntop, IPv4-mapped IPv6 as IPv4) and
 * as the key every per-address limit and counter uses. */
#define SERVER_IP_MAX 46
#define SERVER_IPKEY_MAX (SERVER_IP_MAX + 4) /* "/NN" */
/*
 * The edge where a client address becomes text, once per connection:
 * ip is the address (IPv4-mapped IPv6 written as the IPv4 address it
 * is); key is ip for IPv4, and for IPv6 its network of v6_prefix bits,
 * "2001:db8:1:2::/64" (a /128 is the bare address), since one
 * subscriber holds a whole /64. 0, or -1 if sa is neither family.
 */
int server_client_addr(const struct sockaddr *sa, int v6_prefix, char *ip,
    size_t iplen, char *key, size_t keylen);
/* Per-address connection accounting (shared by all loops), by key. */
int server_conn_enter(struct server *, const char *ipkey);
void server_conn_leave(struct server *, const char *ipkey);
/* The worker-thread context: a store connection each. */
struct store *server_worker_store(void *thread_ctx);
const struct secret_keys *server_keys(void *thread_ctx);
/* The config as it is now (a reload swaps it; old ones stay valid). */
const struct conf *server_worker_conf(void *thread_ctx);

#endif
