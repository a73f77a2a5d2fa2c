/*
 * server: starts `postern serve`. The main thread binds, drops root,
 * starts one event loop thread per core and the worker pool, then waits
 * for signals: SIGTERM/SIGINT stop (sessions in progress finish, idle
 * ones get 421), SIGHUP reloads the config and the certificate.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <grp.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "guard.h"
#include "server.h"
#include "session.h"
#include "../queue/qmgr.h"
#include "../spool/spool.h"
#include "../store/store.h"
#include "../util/log.h"
#include "../util/pidfile.h"
#include "../util/str.h"
#include "../util/workers.h"

#define SERVER_STOP_GRACE 30 /* seconds for sessions to finish */
#define IPTAB_SIZE 4096
/* TLS 1.2 suites: ECDHE or DHE, AES-GCM or ChaCha20-Poly1305 */
#define SERVER_TLS12_CIPHERS                                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"           \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"                 \
	"DHE-RSA-CHACHA20-POLY1305"

struct worker_ctx {
	struct store *store;
	struct server *srv;
};

static struct server *the_server;

/* connection counts per client address key (an IPv6 client's /64) */
struct ip_entry {
	char ip[SERVER_IPKEY_MAX];
	int count;
	struct ip_entry *next;
};
static struct ip_entry *iptab[IPTAB_SIZE];
static pthread_mutex_t iptab_mu = PTHREAD_MUTEX_INITIALIZER;

static unsigned
ip_hash(const char *ip)
{
	unsigned h = 2166136261u;

	for (; *ip; ip++)
		h = (h ^ (unsigned char)*ip) * 16777619u;
	return h % IPTAB_SIZE;
}

int
server_conn_enter(struct server *srv, const char *ip)
{
	struct ip_entry *e;
	unsigned h = ip_hash(ip);
	int rc = 0;

	if (atomic_fetch_add(&srv->conns, 1) >= srv->conf->connections) {
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
	if (e == NULL || e->count >= srv->conf->connections_per_ip)
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
	unsigned h = ip_hash(ip);

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

struct store *
server_worker_store(void *ctx)
{
	return ((struct worker_ctx *)ctx)->store;
}

const struct secret_keys *
server_keys(void *ctx)
{
	return &((struct worker_ctx *)ctx)->srv->keys;
}

const struct conf *
server_worker_conf(void *ctx)
{
	return ((struct worker_ctx *)ctx)->srv->conf;
}

static void *
server_worker_init(int idx)
{
	struct worker_ctx *w = calloc(1, sizeof(*w));
	const struct conf *c = the_server->conf;
	char err[512];

	(void)idx;
	if (w == NULL)
		fatal("server.worker out of memory");
	w->srv = the_server;
	w->store = store_open(c->store_driver,
	    strcmp(c->store_driver, "sqlite") == 0 ? c->store_path
						   : c->store_conninfo,
	    err, sizeof(err));
	if (w->store == NULL)
		fatal("server.worker store=\"%s\"", err);
	return w;
}

static void
server_worker_fini(void *ctx)
{
	struct worker_ctx *w = ctx;

	queue_sign_thread_end();
	store_close(w->store);
	free(w);
}

static SSL_CTX *
server_tls_new(const struct conf *c, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Mozilla's "intermediate": TLS 1.2 only with forward secrecy and
	 * AEAD (no CBC, no SHA-1 MAC); TLS 1.3's suites are all AEAD. Every
	 * suite is strong, so the client picks (phones prefer ChaCha20). */
	if (SSL_CTX_set_cipher_list(ctx, SERVER_TLS12_CIPHERS) != 1)
		goto fail;
	if (SSL_CTX_set_dh_auto(ctx, 1) != 1)
		goto fail;
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* idle sessions hand their TLS buffers back (memory per session) */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	if (SSL_CTX_use_certificate_chain_file(ctx, c->tls_cert) != 1) {
		snprintf(err, errlen, "tls.cert %.900s: %.80s", c->tls_cert,
		    ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, c->tls_key, SSL_FILETYPE_PEM) !=
		1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls.key %.900s: %.80s", c->tls_key,
		    ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
fail:
	snprintf(err, errlen, "tls: %s",
	    ERR_reason_error_string(ERR_get_error()));
	SSL_CTX_free(ctx);
	return NULL;
}

int
server_addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');
		if (rb == NULL || rb[1] != ':' ||
		    (size_t)(rb - text - 1) >= sizeof(host))
			return -1;
		memcpy(host, text + 1, (size_t)(rb - text - 1));
		host[rb - text - 1] = '\0';
		colon = rb + 1;
	} else {
		if ((colon = strrchr(text, ':')) == NULL ||
		    (size_t)(colon - text) >= sizeof(host))
			return -1;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
	}
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &in4->sin_addr) ==
	    1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

int
server_listen_socket(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (server_addr_parse(text, &ss, &len) == -1) {
		log_warnx(
		    "server.listen address=\"%s\" error=\"not ADDR:PORT\"",
		    text);
		return -1;
	}
	if ((fd = socket(ss.ss_family,
		 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* each loop has its own socket; the kernel spreads connections */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 4096) == -1) {
		log_warnx("server.listen address=%s error=\"%s\"", text,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

#define SERVER_ACCEPT_BATCH 1024 /* then the loop polls again */

struct listen_arg {
	struct server_loop *loop;
	enum listen_kind kind;
	struct event *ev; /* the listening socket's */
};

static struct listen_arg listen_args[64][SERVER_LISTEN_MAX];

int
server_client_addr(const struct sockaddr *sa, int v6_prefix, char *ip,
    size_t iplen, char *key, size_t keylen)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	struct in6_addr net;
	char text[INET6_ADDRSTRLEN];
	int i;

	if (sa->sa_family == AF_INET) {
		if (inet_ntop(AF_INET,
			&((const struct sockaddr_in *)sa)->sin_addr, text,
			sizeof(text)) == NULL)
			return -1;
		str_lcpy(ip, text, iplen);
		str_lcpy(key, text, keylen);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		/* ::ffff:a.b.c.d is a.b.c.d, for limits and relay networks */
		if (inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text,
			sizeof(text)) == NULL)
			return -1;
		str_lcpy(ip, text, iplen);
		str_lcpy(key, text, keylen);
		return 0;
	}
	if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)) == NULL)
		return -1;
	str_lcpy(ip, text, iplen);
	if (v6_prefix < 0 || v6_prefix >= 128) {
		str_lcpy(key, text, keylen);
		return 0;
	}
	/* 6to4 (RFC 3056): 2002:V4ADDR::/48 belongs to whoever holds one
	 * IPv4 address, 65536 /64s; never counted finer than that /48 */
	if (in6->sin6_addr.s6_addr[0] == 0x20 &&
	    in6->sin6_addr.s6_addr[1] == 0x02 && v6_prefix > 48)
		v6_prefix = 48;
	net = in6->sin6_addr;
	for (i = 0; i < 16; i++) {
		int bits = v6_prefix - i * 8;
		if (bits <= 0)
			net.s6_addr[i] = 0;
		else if (bits < 8)
			net.s6_addr[i] &= (unsigned char)(0xff << (8 - bits));
	}
	if (inet_ntop(AF_INET6, &net, text, sizeof(text)) == NULL)
		return -1;
	snprintf(key, keylen, "%s/%d", text, v6_prefix);
	return 0;
}

static void
server_accept_one(struct listen_arg *la, int fd, struct sockaddr *sa)
{
	char ip[SERVER_IP_MAX] = "?", key[SERVER_IPKEY_MAX] = "?";
	int one = 1;

	/* once, here: every per-address counter uses this key */
	server_client_addr(sa, (int)la->loop->srv->conf->ipv6_prefix, ip,
	    sizeof(ip), key, sizeof(key));
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
		{ srv->conf->listen_smtp, LISTEN_SMTP },
		{ srv->conf->listen_submission, LISTEN_SUBMISSION },
		{ srv->conf->listen_submissions, LISTEN_SUBMISSIONS },
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
			if ((fd = server_listen_socket(tok)) == -1)
				return -1;
			la = &listen_args[l->idx][l->nls];
			la->loop = l;
			la->kind = ls[i].kind;
			l->kinds[l->nls] = ls[i].kind;
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

static int
server_drop_root(const char *user)
{
	struct passwd *pw;

	if (user[0] == '\0' || getuid() != 0)
		return 0;
	if ((pw = getpwnam(user)) == NULL) {
		log_warnx("server.user user=%s error=\"no such user\"", user);
		return -1;
	}
	if (setgroups(1, &pw->pw_gid) == -1 || setgid(pw->pw_gid) == -1 ||
	    setuid(pw->pw_uid) == -1) {
		log_warnx("server.user user=%s error=\"%s\"", user,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* What a reload replaced, freed at exit. The first config is the
 * caller's and is not freed. */
struct retired {
	struct conf *conf;
	SSL_CTX *tls;
	struct retired *next;
};
static struct retired *retired;
static struct conf *first_conf;
static const struct server_addon *the_addon;

static void
server_retire(struct server *srv, struct conf *c, SSL_CTX *tls)
{
	struct retired *r = calloc(1, sizeof(*r));

	(void)srv;
	if (r == NULL)
		return; /* leak rather than free what may be in use */
	r->conf = c == first_conf ? NULL : c;
	r->tls = tls;
	r->next = retired;
	retired = r;
}

static void
server_retired_free(void)
{
	struct retired *r;

	while ((r = retired) != NULL) {
		retired = r->next;
		free(r->conf);
		SSL_CTX_free(r->tls);
		free(r);
	}
}

/*
 * DATA_DIR/postern.pid: how `postern queue` finds the server, by the lock
 * held on it while the server runs (src/util/pidfile.h). -1: another
 * server holds it; without the file (not writable) the server runs and
 * the queue commands find nobody to tell.
 */
static int
server_pidfile(const struct conf *c, int create)
{
	static int fd = -1;
	char path[CONF_PATH_MAX + 32];
	pid_t owner;

	snprintf(path, sizeof(path), "%s/postern.pid", c->data_dir);
	if (!create) {
		pidfile_release(path, fd);
		fd = -1;
		return 0;
	}
	if ((fd = pidfile_acquire(path, &owner)) != -1)
		return 0;
	if (errno == EAGAIN) {
		log_warnx("server.start error=\"postern (pid %ld) already runs "
			  "with %s\"",
		    (long)owner, c->data_dir);
		return -1;
	}
	log_warnx("server.pidfile path=%s error=\"%s\"", path, strerror(errno));
	return 0;
}

static void
server_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	int i;

	(void)what;
	if (sig == SIGUSR1) { /* `postern queue` changed the spool */
		qmgr_flush();
		return;
	}
	if (sig == SIGHUP) {
		struct conf *c = calloc(1, sizeof(*c));
		char err[1024];
		SSL_CTX *tls, *old;
		if (c == NULL)
			return;
		if (conf_load(c, srv->conf->path, err, sizeof(err)) == -1) {
			log_warnx("server.reload error=\"%s\"", err);
			free(c);
			return;
		}
		if ((tls = server_tls_new(c, err, sizeof(err))) == NULL) {
			log_warnx("server.reload error=\"%s\"", err);
			free(c);
			return;
		}
		/* the old ones stay allocated until exit: another loop may be
		 * reading the config, or be inside SSL_new() with the ctx */
		old = atomic_exchange(&srv->tls, tls);
		server_retire(srv, srv->conf, old);
		srv->conf = c;
		conf_publish(c);
		log_info("server.reload result=ok (listen addresses need a "
			 "restart)");
		return;
	}
	log_info("server.stop signal=%d", (int)sig);
	atomic_store(&srv->stopping, 1);
	if (the_addon)
		the_addon->stop();
	for (i = 0; i < srv->nloops; i++) {
		uint64_t one = 1;
		if (write(srv->loops[i].ctlfd, &one, sizeof(one)) < 0)
			log_warnx("server.stop error=\"%s\"", strerror(errno));
	}
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

/* The main thread's store: quota usage written behind the loops (about
 * once a second and at exit) and the authentication log pruned. */
struct housekeeping {
	struct server *srv;
	struct store *st;
	struct event *flush, *prune;
};

static void
server_flush_cb(evutil_socket_t fd, short what, void *arg)
{
	struct housekeeping *h = arg;

	(void)fd;
	(void)what;
	guard_flush(h->st);
}

static void
server_prune_cb(evutil_socket_t fd, short what, void *arg)
{
	struct housekeeping *h = arg;
	int64_t now = (int64_t)time(NULL);

	(void)fd;
	(void)what;
	if (store_auth_prune(h->st, now - h->srv->conf->auth_log_retention) !=
	    0)
		log_warnx("auth.prune error=\"%s\"", store_errmsg(h->st));
}

int
server_run(struct conf *conf, const struct server_addon *addon)
{
	struct housekeeping hk;
	struct timeval one_s = { 1, 0 }, one_h = { 3600, 0 };
	struct server srv;
	struct event_base *mainbase;
	struct event *sigs[4];
	struct rlimit rl;
	char err[1024];
	int i, ncpu, nworkers;
	SSL_CTX *tls;
	struct store *st;

	memset(&srv, 0, sizeof(srv));
	srv.conf = conf;
	conf_publish(conf);
	first_conf = conf;
	the_server = &srv;
	signal(SIGPIPE, SIG_IGN);
	/* every session is a descriptor: allow as many as the system does */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (secret_master_load(conf->master_key, &srv.keys, err, sizeof(err)) ==
	    -1) {
		log_warnx("server.start error=\"%s\"", err);
		return 1;
	}
	if ((st = store_open(conf->store_driver,
		 strcmp(conf->store_driver, "sqlite") == 0
		     ? conf->store_path
		     : conf->store_conninfo,
		 err, sizeof(err))) == NULL) {
		log_warnx("server.start error=\"%s\"", err);
		return 1;
	}
	store_close(st); /* migrations applied; workers open their own */
	if (spool_init(conf->data_dir) == -1) {
		log_warnx("server.start spool=%s/spool error=\"%s\"",
		    conf->data_dir, strerror(errno));
		return 1;
	}
	if ((tls = server_tls_new(conf, err, sizeof(err))) == NULL) {
		log_warnx("server.start error=\"%s\"", err);
		return 1;
	}
	atomic_store(&srv.tls, tls);
	ncpu = (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	if (ncpu > 64)
		ncpu = 64;
	srv.nloops = ncpu;
	srv.loops = calloc((size_t)ncpu, sizeof(*srv.loops));
	for (i = 0; i < srv.nloops; i++) {
		struct server_loop *l = &srv.loops[i];
		l->srv = &srv;
		l->idx = i;
		TAILQ_INIT(&l->sessions);
		if ((l->base = server_base_new()) == NULL ||
		    (l->wl = workers_loop_new(l->base)) == NULL ||
		    (l->ctlfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
		    (l->ctl = event_new(l->base, l->ctlfd, EV_READ | EV_PERSIST,
			 server_ctl_cb, l)) == NULL ||
		    event_add(l->ctl, NULL) == -1)
			fatal("server.start error=\"cannot make event loop\"");
		if (server_listen_all(&srv, l) == -1) {
			log_warnx("server.start error=\"cannot listen\"");
			return 1;
		}
	}
	if (addon && addon->bind(&srv) == -1) {
		log_warnx("server.start error=\"cannot listen for http\"");
		return 1;
	}
	if (server_drop_root(conf->user) == -1 || server_pidfile(conf, 1) == -1)
		return 1;
	/* fsync-bound work needs more threads than cores: they mostly wait */
	nworkers =
	    conf->workers ? (int)conf->workers : (4 * ncpu < 8 ? 8 : 4 * ncpu);
	if (workers_start(nworkers, server_worker_init, server_worker_fini) ==
	    -1)
		fatal("server.start error=\"cannot start workers\"");
	qmgr_on_refused(guard_refused);
	if (qmgr_start(&srv) == -1) {
		log_warnx("server.start error=\"cannot start the queue\"");
		return 1;
	}
	/* the main thread's store, and the counters as they were */
	if ((st = store_open(conf->store_driver,
		 strcmp(conf->store_driver, "sqlite") == 0
		     ? conf->store_path
		     : conf->store_conninfo,
		 err, sizeof(err))) == NULL)
		fatal("server.start error=\"%s\"", err);
	quota_init();
	bf_init();
	if (guard_load(st, (int64_t)time(NULL)) == -1)
		log_warnx("server.start quota_usage=\"%s\"", store_errmsg(st));
	memset(&hk, 0, sizeof(hk));
	hk.srv = &srv;
	hk.st = st;
	if (addon && addon->start() == -1) {
		log_warnx("server.start error=\"cannot start http\"");
		return 1;
	}
	the_addon = addon;
	mainbase = event_base_new();
	sigs[0] = evsignal_new(mainbase, SIGTERM, server_signal_cb, &srv);
	sigs[1] = evsignal_new(mainbase, SIGINT, server_signal_cb, &srv);
	sigs[2] = evsignal_new(mainbase, SIGHUP, server_signal_cb, &srv);
	sigs[3] = evsignal_new(mainbase, SIGUSR1, server_signal_cb, &srv);
	for (i = 0; i < 4; i++)
		event_add(sigs[i], NULL);
	hk.flush = event_new(mainbase, -1, EV_PERSIST, server_flush_cb, &hk);
	hk.prune = event_new(mainbase, -1, EV_PERSIST, server_prune_cb, &hk);
	event_add(hk.flush, &one_s);
	event_add(hk.prune, &one_h);
	server_prune_cb(-1, 0, &hk);
	for (i = 0; i < srv.nloops; i++)
		pthread_create(&srv.loops[i].thread, NULL, server_loop_main,
		    &srv.loops[i]);
	log_info("server.start hostname=%s smtp=%s submission=%s "
		 "submissions=%s loops=%d workers=%d",
	    conf->hostname, conf->listen_smtp, conf->listen_submission,
	    conf->listen_submissions, srv.nloops, nworkers);
	while (!atomic_load(&srv.stopping))
		event_base_loop(mainbase, EVLOOP_ONCE);
	for (i = 0; i < srv.nloops; i++)
		pthread_join(srv.loops[i].thread, NULL);
	if (addon)
		addon->join();
	qmgr_stop();
	workers_stop();
	qmgr_free();
	if (addon)
		addon->free();
	the_addon = NULL;
	guard_flush(st); /* after the last job that could count */
	event_free(hk.flush);
	event_free(hk.prune);
	store_close(st);
	quota_free();
	server_pidfile(conf, 0);
	for (i = 0; i < srv.nloops; i++) {
		struct server_loop *l = &srv.loops[i];
		struct smtp_session *s;
		/* run the done() of jobs that finished after the loop ended */
		event_base_loop(l->base, EVLOOP_NONBLOCK);
		while ((s = TAILQ_FIRST(&l->sessions)) != NULL)
			smtp_session_free(s);
		event_free(l->ctl);
		close(l->ctlfd);
		workers_loop_free(l->wl);
		event_base_free(l->base);
	}
	for (i = 0; i < 4; i++)
		event_free(sigs[i]);
	event_base_free(mainbase);
	SSL_CTX_free(atomic_load(&srv.tls));
	server_retired_free();
	if (srv.conf != first_conf)
		free(srv.conf);
	free(srv.loops);
	log_info("server.stopped");
	return 0;
}
