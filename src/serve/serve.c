/*
 * serve: the process of `postern serve` (see serve.h). The main thread
 * binds, drops root, starts the workers and the services, then waits
 * for signals on its own small event loop, which also drives each
 * service's once-a-second tick.
 */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "serve.h"
#include "../auth/pwlane.h"
#include "../auth/secret.h"
#include "../forward/srs.h"
#include "../http/server.h"
#include "../policy/bruteforce.h"
#include "../policy/quota.h"
#include "../queue/qmgr.h"
#include "../smtp/guard.h"
#include "../smtp/nodesync.h"
#include "../smtp/server.h"
#include "../spool/spool.h"
#include "../store/authlog.h"
#include "../store/store.h"
#include "../store/thread.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/pidfile.h"
#include "../util/service.h"
#include "../dovecot/authsock.h"
#include "../dovecot/dict.h"
#include "../inbound/psl.h"
#include "../util/tls.h"
#include "../util/workers.h"

/* The queue as a service: its own loop and thread (src/queue/). */
static int
queue_svc_start(void)
{
	qmgr_on_refused(guard_refused);
	spool_on_queued(qmgr_notify);
	if (qmgr_start() == -1) {
		log_warnx("server.start error=\"cannot start the queue\"");
		return -1;
	}
	return 0;
}

/*
 * Started in this order, stopped, joined and freed in the reverse: the
 * SMTP sessions hand messages to the queue and the HTTP API reads the
 * queue, so the queue comes first and goes last.
 */
static const struct service queue_service = { .name = "queue",
	.start = queue_svc_start,
	.join = qmgr_stop,
	.free = qmgr_free,
	.wake = qmgr_flush };

static const struct service *const services[] = {
	&queue_service,
	&http_service,
	&authsock_service,
	&dict_service,
	&smtp_service,
};
#define NSERVICES ((int)(sizeof(services) / sizeof(services[0])))

static struct {
	struct secret_keys keys;
	struct srs_key srs;
	struct conf *first; /* the caller's */
	const struct conf *conf;
	atomic_int stopping;
	/* what a reload replaced, freed at exit */
	struct retired {
		struct conf *conf;
		SSL_CTX *tls;
		struct retired *next;
	} * retired;
} rt;

static struct store *
serve_store_open(const struct conf *c, char *err, size_t errlen)
{
	struct store *st = store_open(c->store_driver,
	    strcmp(c->store_driver, "sqlite") == 0 ? c->store_path
						   : c->store_conninfo,
	    err, errlen);

	if (st && store_set_timeout(st, c->store_timeout * 1000) != 0)
		log_warnx("server.store error=\"cannot set the timeout\"");
	return st;
}

/* Each worker thread: its own store connection, found by store_thread(). */
static void *
serve_worker_init(int idx)
{
	char err[512];
	struct store *st = serve_store_open(conf_current(), err, sizeof(err));

	(void)idx;
	if (st == NULL)
		fatal("server.worker store=\"%s\"", err);
	store_thread_set(st);
	return st;
}

static void
serve_worker_fini(void *ctx)
{
	queue_sign_thread_end();
	store_thread_set(NULL);
	store_close(ctx);
}

static int
serve_drop_root(const char *user)
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

/*
 * DATA_DIR/postern.pid: how `postern queue` finds the server, by the lock
 * held on it while the server runs (src/util/pidfile.h). -1: another
 * server holds it; without the file (not writable) the server runs and
 * the queue commands find nobody to tell.
 */
static int
serve_pidfile(const struct conf *c, int create)
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
serve_retire(struct conf *c, SSL_CTX *tls)
{
	struct retired *r = calloc(1, sizeof(*r));

	if (r == NULL)
		return; /* leak rather than free what may be in use */
	r->conf = c == rt.first ? NULL : c;
	r->tls = tls;
	r->next = rt.retired;
	rt.retired = r;
}

/*
 * SIGHUP: the new config and certificate, or nothing if either is bad.
 * Readers on other threads keep the old ones they hold (never freed
 * before exit), and take the new ones at their next conf_current().
 */
static void
serve_reload(void)
{
	struct conf *c = calloc(1, sizeof(*c));
	char err[1024];
	SSL_CTX *tls;
	int i;

	if (c == NULL)
		return;
	if (conf_load(c, rt.conf->path, err, sizeof(err)) == -1 ||
	    (tls = tls_server_new(c->tls_cert, c->tls_key, err, sizeof(err))) ==
		NULL) {
		log_warnx("server.reload error=\"%s\"", err);
		free(c);
		return;
	}
	serve_retire((struct conf *)rt.conf, tls_server_publish(tls));
	rt.conf = c;
	conf_publish(c);
	for (i = 0; i < NSERVICES; i++)
		if (services[i]->reload && services[i]->reload(c) == -1)
			log_warnx("server.reload service=%s error=\"kept its "
				  "old settings\"",
			    services[i]->name);
	log_info("server.reload result=ok (listen addresses need a restart)");
}

static void
serve_signal_cb(evutil_socket_t sig, short what, void *arg)
{
	int i;

	(void)what;
	(void)arg;
	if (sig == SIGUSR1) { /* `postern queue` changed the spool */
		for (i = 0; i < NSERVICES; i++)
			if (services[i]->wake)
				services[i]->wake();
		return;
	}
	if (sig == SIGHUP) {
		serve_reload();
		return;
	}
	log_info("server.stop signal=%d", (int)sig);
	atomic_store(&rt.stopping, 1);
	for (i = NSERVICES - 1; i >= 0; i--)
		if (services[i]->stop)
			services[i]->stop();
}

static void
serve_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	int64_t now = (int64_t)time(NULL);
	int i;

	(void)fd;
	(void)what;
	(void)arg;
	for (i = 0; i < NSERVICES; i++)
		if (services[i]->tick)
			services[i]->tick(now);
}

/* Everything before the services: the process and what they all use. */
static int
serve_prepare(struct conf *conf)
{
	struct rlimit rl;
	char err[1024];
	struct store *st;
	SSL_CTX *tls;

	signal(SIGPIPE, SIG_IGN);
	/* every session is a descriptor: allow as many as the system does */
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (secret_master_load(conf->master_key, &rt.keys, err, sizeof(err)) ==
	    -1) {
		log_warnx("server.start error=\"%s\"", err);
		return -1;
	}
	secret_keys_set(&rt.keys);
	/* made here for setups older than it; never logged */
	if (srs_key_ensure(conf->srs_secret, &rt.srs, err, sizeof(err)) == -1) {
		log_warnx("server.start error=\"%s\"", err);
		return -1;
	}
	srs_key_set(&rt.srs);
	if ((st = serve_store_open(conf, err, sizeof(err))) == NULL) {
		log_warnx("server.start error=\"%s\"", err);
		return -1;
	}
	store_close(st); /* migrations applied; each thread opens its own */
	if (spool_init(conf->data_dir) == -1) {
		log_warnx("server.start spool=%s/spool error=\"%s\"",
		    conf->data_dir, strerror(errno));
		return -1;
	}
	if ((tls = tls_server_new(conf->tls_cert, conf->tls_key, err,
		 sizeof(err))) == NULL) {
		log_warnx("server.start error=\"%s\"", err);
		return -1;
	}
	tls_server_publish(tls);
	quota_init();
	bf_init();
	/* DMARC's organizational domains, before any thread asks */
	if (conf->mailbox_lmtp[0] != '\0')
		(void)psl_load(PSL_PATH);
	return 0;
}

static int
serve_workers(const struct conf *conf)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	int n;

	if (ncpu < 1)
		ncpu = 1;
	/* fsync-bound work needs more threads than cores: they mostly wait */
	n = conf->workers ? (int)conf->workers
			  : (4 * ncpu < 8 ? 8 : 4 * (int)ncpu);
	if (workers_start(n, serve_worker_init, serve_worker_fini) == -1)
		fatal("server.start error=\"cannot start workers\"");
	return n;
}

int
serve_run(struct conf *conf)
{
	struct timeval one_s = { 1, 0 };
	struct event_base *mainbase;
	struct event *sigs[4], *tick;
	static const int signos[4] = { SIGTERM, SIGINT, SIGHUP, SIGUSR1 };
	char err[1024];
	struct store *st;
	int i, started = 0, nworkers, rc = 0;

	memset(&rt, 0, sizeof(rt));
	rt.first = conf;
	rt.conf = conf;
	conf_publish(conf);
	if (serve_prepare(conf) == -1)
		return 1;
	for (i = 0; i < NSERVICES; i++)
		if (services[i]->bind && services[i]->bind() == -1)
			return 1;
	if (serve_drop_root(conf->user) == -1 || serve_pidfile(conf, 1) == -1)
		return 1;
	nworkers = serve_workers(conf);
	/* the authentication log's batch writer, on a handle of its own */
	if ((st = serve_store_open(conf, err, sizeof(err))) == NULL ||
	    authlog_start(st) == -1)
		fatal("server.start error=\"cannot start the auth log\"");
	/* several nodes in step (quota counts, blocks, failed logins), on a
	 * handle of its own; alone, the same passes */
	if ((st = serve_store_open(conf, err, sizeof(err))) == NULL ||
	    nodesync_start(st) == -1)
		fatal("server.start error=\"cannot start the node sync\"");
	/* the main thread's store: the services' ticks and their start */
	if ((st = serve_store_open(conf, err, sizeof(err))) == NULL)
		fatal("server.start error=\"%s\"", err);
	store_thread_set(st);
	for (started = 0; started < NSERVICES; started++)
		if (services[started]->start &&
		    services[started]->start() == -1) {
			rc = 1;
			atomic_store(&rt.stopping, 1);
			break;
		}
	if ((mainbase = event_base_new()) == NULL)
		fatal("server.start error=\"cannot make event loop\"");
	for (i = 0; i < 4; i++) {
		sigs[i] =
		    evsignal_new(mainbase, signos[i], serve_signal_cb, NULL);
		event_add(sigs[i], NULL);
	}
	tick = event_new(mainbase, -1, EV_PERSIST, serve_tick_cb, NULL);
	event_add(tick, &one_s);
	if (rc == 0) {
		serve_tick_cb(-1, 0, NULL);
		/* a connection per worker, per password-lane thread (once
		 * the first login password is checked), the auth log's
		 * writer's, the node sync's and this thread's: the node's
		 * whole pool, at most (ARCHITECTURE.md) */
		log_info("server.start hostname=%s smtp=%s submission=%s "
			 "submissions=%s workers=%d store=%s "
			 "store_connections_max=%d",
		    conf->hostname, conf->listen_smtp, conf->listen_submission,
		    conf->listen_submissions, nworkers, conf->store_driver,
		    nworkers + pwlane_threads() + 3);
	} else {
		for (i = started - 1; i >= 0; i--)
			if (services[i]->stop)
				services[i]->stop();
	}
	while (!atomic_load(&rt.stopping))
		event_base_loop(mainbase, EVLOOP_ONCE);
	for (i = started - 1; i >= 0; i--)
		if (services[i]->join)
			services[i]->join();
	nodesync_stop(); /* the last counts: the smtp service's free */
	workers_stop();
	spool_on_queued(NULL); /* nothing is written from here on */
	authlog_stop(); /* the last jobs' events are queued: written now */
	for (i = NSERVICES - 1; i >= 0; i--)
		if (services[i]->free)
			services[i]->free();
	for (i = 0; i < 4; i++)
		event_free(sigs[i]);
	event_free(tick);
	event_base_free(mainbase);
	store_thread_set(NULL);
	store_close(st);
	serve_pidfile(conf, 0);
	quota_free();
	SSL_CTX_free(tls_server_publish(NULL));
	while (rt.retired) {
		struct retired *r = rt.retired;
		rt.retired = r->next;
		free(r->conf);
		SSL_CTX_free(r->tls);
		free(r);
	}
	if (rt.conf != rt.first)
		free((struct conf *)rt.conf);
	conf_publish(NULL);
	log_info("server.stopped");
	return rc;
}
