/*
 * server: the SMTP service of `postern serve` (the runtime in src/serve/
 * starts and stops it): one event loop thread per core, each accepting
 * on its own SO_REUSEPORT sockets for every SMTP listener, the per-
 * address connection table, and the abuse counters' flush to the store.
 * Stopping lets sessions in progress finish; idle ones get 421.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "guard.h"
#include "server.h"
#include "session.h"
#include "../policy/quota.h"
#include "../store/store.h"
#include "../store/thread.h"
#include "../util/log.h"
#include "../util/net.h"
#include "../util/service.h"
#include "../util/str.h"
#include "../util/tls.h"
#include "../util/workers.h"
#include "../policy/rate.h"
#include "../delivery/resolve.h"

#define SERVER_STOP_GRACE 30 /* seconds for sessions to finish */
#define IPTAB_SIZE 4096

static struct server smtp_srv;

/* connection counts per client address key (an IPv6 client's /64) */
struct ip_entry {
	char ip[NET_IPKEY_MAX];
	int count;
	struct ip_entry *next;
};
static struct ip_entry *iptab[IPTAB_SIZE];
static pthread_mutex_t iptab_mu = PTHREAD_MUTEX_INITIALIZER;

int
server_conn_enter(struct server *srv, const char *ip)
{
	struct ip_entry *e;
	unsigned h = (unsigned)(str_hash(ip) % IPTAB_SIZE);
	int rc = 0;

	if (atomic_fetch_add(&srv->conns, 1) >= conf_current()->connections) {
		atomic_fetch_sub(&srv->conns, 1);
		return -1;
	}
	pthread_mutex_lock(&iptab_mu);
	for (e = iptab[h]; e; e = e->next)
		if (strcmp(e->ip, ip) == 0)
			break;
	if (e == NULL && (e = calloc(1, sizeof(*e))) != NULL) {
		str_lcpy(e->ip, ip, sizeof(e->ip));
		e->next = iptab[h];
		iptab[h] = e;
	}
	if (e == NULL || e->count >= conf_current()->connections_per_ip)
		rc = -1;
	else
		e->count++;
	pthread_mutex_unlock(&iptab_mu);
	if (rc == -1)
		atomic_fetch_sub(&srv->conns, 1);
	return rc;
}

void
server_conn_leave(struct server *srv, const char *ip)
{
	struct ip_entry *e, **pp;
	unsigned h = (unsigned)(str_hash(ip) % IPTAB_SIZE);

	pthread_mutex_lock(&iptab_mu);
	for (pp = &iptab[h]; (e = *pp) != NULL; pp = &e->next)
		if (strcmp(e->ip, ip) == 0) {
			if (--e->count == 0) {
				*pp = e->next;
				free(e);
			}
			break;
		}
	pthread_mutex_unlock(&iptab_mu);
	atomic_fetch_sub(&srv->conns, 1);
}

/* the sessions' runtime: this loop (src/smtp/session.h) */

static SSL_CTX *
ss_tls(void *arg)
{
	(void)arg;
	return tls_server_current();
}

static uint64_t
ss_next_id(void *arg)
{
	struct server_loop *l = arg;

	return atomic_fetch_add(&l->srv->next_id, 1);
}

static int
ss_stopping(void *arg)
{
	struct server_loop *l = arg;

	return l->stopping;
}

static void
ss_attach(void *arg, struct smtp_session *s)
{
	struct server_loop *l = arg;

	TAILQ_INSERT_TAIL(&l->sessions, s, entry);
	l->nsessions++;
}

static void
ss_detach(void *arg, struct smtp_session *s, const char *ipkey)
{
	struct server_loop *l = arg;

	server_conn_leave(l->srv, ipkey);
	if (s == NULL)
		return;
	TAILQ_REMOVE(&l->sessions, s, entry);
	l->nsessions--;
	/* a stopping loop ends with its last session */
	if (l->stopping && l->nsessions == 0)
		event_base_loopexit(l->base, NULL);
}

static void
smtp_session_new(struct server_loop *l, int fd, const char *ip,
    const char *ipkey, enum listen_kind kind)
{
	const struct smtp_runtime rt = {
		.base = l->base,
		.dnsq = l->res ? resolver_dnsq(l->res) : NULL,
		.wl = l->wl,
		.tls = ss_tls,
		.next_id = ss_next_id,
		.stopping = ss_stopping,
		.attach = ss_attach,
		.detach = ss_detach,
		.arg = l,
	};

	smtp_session_start(&rt, fd, ip, ipkey, kind);
}

#define SERVER_ACCEPT_BATCH 1024 /* then the loop polls again */

struct listen_arg {
	struct server_loop *loop;
	enum listen_kind kind;
	struct event *ev; /* the listening socket's */
};

static struct listen_arg listen_args[64][SERVER_LISTEN_MAX];

static void
server_accept_one(struct listen_arg *la, int fd, struct sockaddr *sa)
{
	char ip[NET_IP_MAX] = "?", key[NET_IPKEY_MAX] = "?";
	int one = 1;

	/* once, here: every per-address counter uses this key */
	net_client_addr(sa, (int)conf_current()->ipv6_prefix, ip, sizeof(ip),
	    key, sizeof(key));
	/* the MX: how often one address connects (its concurrent sessions
	 * are server_conn_enter's) */
	if (la->kind == LISTEN_SMTP &&
	    conf_current()->mailbox_lmtp[0] != '\0' &&
	    rate_hit(RATE_CONN, key, conf_current()->mx_connections_per_minute,
		(int64_t)time(NULL))) {
		static const char fast[] = "421 4.7.0 Too many connections "
					   "from your address, try again "
					   "later\r\n";
		if (write(fd, fast, sizeof(fast) - 1) < 0)
			(void)0;
		log_info("smtp.refused ip=%s key=%s reason=connection_rate", ip,
		    key);
		evutil_closesocket(fd);
		return;
	}
	if (la->loop->stopping || server_conn_enter(la->loop->srv, key) == -1) {
		static const char busy[] =
		    "421 4.7.0 Too many connections, try again later\r\n";
		if (la->kind != LISTEN_SUBMISSIONS &&
		    write(fd, busy, sizeof(busy) - 1) < 0)
			(void)0;
		log_info("smtp.refused ip=%s key=%s reason=connection_limit",
		    ip, key);
		evutil_closesocket(fd);
		return;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	smtp_session_new(la->loop, fd, ip, key, la->kind);
}

static void
server_accept_resume(evutil_socket_t fd, short what, void *arg)
{
	struct listen_arg *la = arg;

	(void)fd;
	(void)what;
	if (!la->loop->stopping) /* else the event is gone */
		event_add(la->ev, NULL);
}

/*
 * Accept everything waiting. The listening sockets have the loop's top
 * priority: a burst of connections is taken off the kernel's accept
 * queue before the TLS handshakes already under way go on, so the queue
 * (listen backlog, capped by somaxconn) does not overflow; a connection
 * the kernel dropped there would wait in silence for a greeting.
 */
static void
server_accept_cb(evutil_socket_t lfd, short what, void *arg)
{
	struct listen_arg *la = arg;
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, n;

	(void)what;
	for (n = 0; n < SERVER_ACCEPT_BATCH; n++) {
		len = sizeof(ss);
		fd = accept4(lfd, (struct sockaddr *)&ss, &len,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			/* out of descriptors: the socket stays readable, so
			 * pause it rather than spin on accept() */
			if (errno == EMFILE || errno == ENFILE) {
				struct timeval one_s = { 1, 0 };
				log_warnx("smtp.accept error=\"%s\" "
					  "paused=1s",
				    strerror(errno));
				event_del(la->ev);
				event_base_once(la->loop->base, -1, EV_TIMEOUT,
				    server_accept_resume, la, &one_s);
			}
			return; /* EAGAIN: all taken */
		}
		server_accept_one(la, fd, (struct sockaddr *)&ss);
	}
}

static void
server_loop_stop(struct server_loop *l)
{
	struct smtp_session *s, *next;
	int i;

	if (l->stopping)
		return;
	l->stopping = 1;
	for (i = 0; i < l->nls; i++) {
		close(event_get_fd(l->ls[i]));
		event_free(l->ls[i]);
		l->ls[i] = NULL;
	}
	for (s = TAILQ_FIRST(&l->sessions); s; s = next) {
		next = TAILQ_NEXT(s, entry);
		smtp_session_shutdown(s);
	}
	if (l->nsessions == 0)
		event_base_loopexit(l->base, NULL);
	else {
		struct timeval tv = { SERVER_STOP_GRACE, 0 };
		event_base_loopexit(l->base, &tv);
	}
}

static void
server_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	server_loop_stop(arg);
}

static void *
server_loop_main(void *arg)
{
	struct server_loop *l = arg;

	event_base_dispatch(l->base);
	return NULL;
}

static int
server_listen_all(struct server *srv, struct server_loop *l)
{
	const struct {
		const char *addrs;
		enum listen_kind kind;
	} ls[] = {
		{ conf_current()->listen_smtp, LISTEN_SMTP },
		{ conf_current()->listen_submission, LISTEN_SUBMISSION },
		{ conf_current()->listen_submissions, LISTEN_SUBMISSIONS },
	};
	size_t i;

	for (i = 0; i < sizeof(ls) / sizeof(ls[0]); i++) {
		char list[CONF_STR_MAX], *tok, *save = NULL;
		str_lcpy(list, ls[i].addrs, sizeof(list));
		for (tok = strtok_r(list, ", ", &save); tok;
		     tok = strtok_r(NULL, ", ", &save)) {
			int fd;
			struct listen_arg *la;
			if (l->nls >= SERVER_LISTEN_MAX)
				return -1;
			if ((fd = net_listen_socket(tok)) == -1)
				return -1;
			la = &listen_args[l->idx][l->nls];
			la->loop = l;
			la->kind = ls[i].kind;
			l->ls[l->nls] = event_new(l->base, fd,
			    EV_READ | EV_PERSIST, server_accept_cb, la);
			la->ev = l->ls[l->nls];
			if (l->ls[l->nls] == NULL ||
			    event_priority_set(l->ls[l->nls], 0) == -1 ||
			    event_add(l->ls[l->nls], NULL) == -1) {
				if (l->ls[l->nls])
					event_free(l->ls[l->nls]);
				close(fd);
				return -1;
			}
			l->nls++;
		}
	}
	return 0;
}

/*
 * A session loop. With the epoll changelist, the enable/disable pairs a
 * bufferevent makes within one pass of the loop (write a reply, the
 * write finishes, reading resumes) cost one epoll_ctl or none, not one
 * each. Its caveat, fds cloned with dup(), does not arise here.
 */
static struct event_base *
server_base_new(void)
{
	struct event_config *cfg = event_config_new();
	struct event_base *base;

	if (cfg == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	/* 0: accepting; 1 (the default of every other event): sessions */
	if (base && event_base_priority_init(base, 2) == -1) {
		event_base_free(base);
		return NULL;
	}
	return base;
}

/* the service: bind, start, stop, join, free (src/util/service.h) */

static int
smtp_svc_bind(void)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	char err[256];
	int i;

	memset(&smtp_srv, 0, sizeof(smtp_srv));
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > 64)
		ncpu = 64;
	smtp_srv.nloops = (int)ncpu;
	if ((smtp_srv.loops = calloc((size_t)ncpu, sizeof(*smtp_srv.loops))) ==
	    NULL)
		fatal("server.start error=\"out of memory\"");
	for (i = 0; i < smtp_srv.nloops; i++) {
		struct server_loop *l = &smtp_srv.loops[i];
		l->srv = &smtp_srv;
		l->idx = i;
		l->ctlfd = -1;
		TAILQ_INIT(&l->sessions);
		if ((l->base = server_base_new()) == NULL ||
		    (l->wl = workers_loop_new(l->base)) == NULL ||
		    (l->ctlfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
		    (l->ctl = event_new(l->base, l->ctlfd, EV_READ | EV_PERSIST,
			 server_ctl_cb, l)) == NULL ||
		    event_add(l->ctl, NULL) == -1)
			fatal("server.start error=\"cannot make event loop\"");
		/* the inbound checks' DNS, on the loop's own c-ares channel */
		if (conf_current()->mailbox_lmtp[0] != '\0' &&
		    (l->res = resolver_new(l->base, conf_current()->dns_servers,
			 err, sizeof(err))) == NULL) {
			log_warnx("server.start error=\"%s\"", err);
			return -1;
		}
		if (server_listen_all(&smtp_srv, l) == -1) {
			log_warnx("server.start error=\"cannot listen\"");
			return -1;
		}
	}
	return 0;
}

/* The counters as they were, then the loops. */
static int
smtp_svc_start(void)
{
	int i;

	if (guard_load(store_thread(), (int64_t)time(NULL)) == -1)
		log_warnx("server.start quota_usage=\"%s\"",
		    store_errmsg(store_thread()));
	for (i = 0; i < smtp_srv.nloops; i++)
		if (pthread_create(&smtp_srv.loops[i].thread, NULL,
			server_loop_main, &smtp_srv.loops[i]) != 0) {
			log_warnx("server.start error=\"cannot start a loop\"");
			return -1;
		} else {
			char name[32];

			smtp_srv.nthreads = i + 1; /* joined at the end */
			snprintf(name, sizeof(name), "smtp %d", i);
			name[15] = '\0'; /* a thread's name: 15 bytes */
			(void)pthread_setname_np(smtp_srv.loops[i].thread,
			    name);
		}
	log_info("smtp.start loops=%d", smtp_srv.nloops);
	return 0;
}

static void
smtp_svc_stop(void)
{
	int i;

	for (i = 0; i < smtp_srv.nloops; i++) {
		uint64_t one = 1;
		if (write(smtp_srv.loops[i].ctlfd, &one, sizeof(one)) < 0)
			log_warnx("server.stop error=\"%s\"", strerror(errno));
	}
}

static void
smtp_svc_join(void)
{
	int i;

	for (i = 0; i < smtp_srv.nthreads; i++)
		pthread_join(smtp_srv.loops[i].thread, NULL);
	smtp_srv.nthreads = 0;
}

/* After the workers stopped: no job can come back to a loop. */
static void
smtp_svc_free(void)
{
	int i;

	if (smtp_srv.loops == NULL)
		return;
	guard_flush(store_thread()); /* after the last job that could count */
	for (i = 0; i < smtp_srv.nloops; i++) {
		struct server_loop *l = &smtp_srv.loops[i];
		struct smtp_session *s;
		if (l->base == NULL)
			continue;
		/* run the done() of jobs that finished after the loop ended */
		event_base_loop(l->base, EVLOOP_NONBLOCK);
		while ((s = TAILQ_FIRST(&l->sessions)) != NULL)
			smtp_session_free(s);
		for (int k = 0; k < l->nls; k++)
			if (l->ls[k]) {
				close(event_get_fd(l->ls[k]));
				event_free(l->ls[k]);
			}
		if (l->ctl)
			event_free(l->ctl);
		if (l->ctlfd != -1)
			close(l->ctlfd);
		workers_loop_free(l->wl);
		resolver_free(l->res);
		event_base_free(l->base);
	}
	free(smtp_srv.loops);
	memset(&smtp_srv, 0, sizeof(smtp_srv));
}

/*
 * Once an hour (and at start), the authentication log pruned. (Quota
 * usage is written behind the loops by the node sync: nodesync.c.)
 */
static void
smtp_svc_tick(int64_t now)
{
	static int64_t pruned;
	struct store *st = store_thread();

	if (now - pruned < 3600)
		return;
	pruned = now;
	if (store_auth_prune(st, now - conf_current()->auth_log_retention) != 0)
		log_warnx("auth.prune error=\"%s\"", store_errmsg(st));
}

const struct service smtp_service = {
	.name = "smtp",
	.bind = smtp_svc_bind,
	.start = smtp_svc_start,
	.stop = smtp_svc_stop,
	.join = smtp_svc_join,
	.free = smtp_svc_free,
	.tick = smtp_svc_tick,
};
