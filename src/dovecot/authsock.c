/* authsock: see authsock.h. Its own thread and loop, like the HTTP server. */
#include <errno.h>
#include <grp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sodium.h>

#include "authsock.h"
#include "../auth/mailbox_login.h"
#include "../auth/pwlane.h"
#include "../auth/secret.h"
#include "../policy/bruteforce.h"
#include "../store/thread.h"
#include "../util/base64.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/net.h"
#include "../util/str.h"
#include "../util/workers.h"

#define AUTHSOCK_TIMEOUT 10 /* seconds for a whole question */
#define AUTHSOCK_CONNS_MAX 256

static struct {
	struct event_base *base;
	struct evconnlistener *lev;
	struct workers_loop *wl;
	struct event *ctl;
	int ctlfd, fd, running, conns;
	pthread_t thread;
	char path[CONF_PATH_MAX];
} as = { .ctlfd = -1, .fd = -1 };

struct as_conn;

struct as_job {
	struct worker_job job;
	struct authsock_question q;
	struct mailbox_login res;
};

struct as_conn {
	struct bufferevent *bev;
	struct as_job *job; /* in flight; its owner is this */
	struct event *delay;
	char reply[ADDR_MAX * 2 + 16];
};

static void
as_conn_free(struct as_conn *c)
{
	if (c->job)
		c->job->job.owner = NULL; /* it frees itself when done */
	if (c->delay)
		event_free(c->delay);
	bufferevent_free(c->bev);
	free(c);
	as.conns--;
}

static void
as_write_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	as_conn_free(arg);
}

static void
as_reply(struct as_conn *c, const char *line)
{
	bufferevent_disable(c->bev, EV_READ);
	bufferevent_setcb(c->bev, NULL, as_write_cb, NULL, c);
	if (bufferevent_write(c->bev, line, strlen(line)) == -1)
		as_conn_free(c);
}

static void
as_delay_cb(evutil_socket_t fd, short what, void *arg)
{
	struct as_conn *c = arg;

	(void)fd;
	(void)what;
	as_reply(c, c->reply);
}

static void
as_job_run(struct worker_job *j, void *ctx)
{
	struct as_job *a = (struct as_job *)j;

	(void)ctx;
	mailbox_login_verify(store_thread(), secret_keys_current(), a->q.login,
	    a->q.password, a->q.ip, a->q.service, (int64_t)time(NULL), &a->res);
	sodium_memzero(a->q.password, sizeof(a->q.password));
}

static void
as_job_done(struct worker_job *j)
{
	struct as_job *a = (struct as_job *)j;
	struct as_conn *c = j->owner;
	int64_t now = (int64_t)time(NULL), delay = 0;
	struct bf_conf bc;
	char b64[BASE64_ENCODED_LEN(ADDR_MAX)];

	bf_login_conf(conf_current(), &bc);
	if (!a->res.ok) {
		bf_fail(bf_login, &bc, a->q.ipkey, a->q.login, a->res.account,
		    now);
		delay = conf_current()->auth_fail_delay_ms;
	}
	if (c == NULL) {
		free(a);
		return;
	}
	c->job = NULL;
	if (a->res.ok) {
		base64_encode(b64, (const unsigned char *)a->res.address,
		    strlen(a->res.address));
		snprintf(c->reply, sizeof(c->reply), "OK %s\n", b64);
	} else {
		snprintf(c->reply, sizeof(c->reply), "%s\n",
		    a->res.kind == NULL && a->res.reason &&
			    strcmp(a->res.reason, "store failure") == 0
			? "TEMP"
			: "FAIL");
	}
	log_info("dovecot.auth service=%s ip=%s result=%s", a->q.service,
	    a->q.ip, a->res.ok ? "ok" : "failed");
	free(a);
	if (delay > 0) {
		struct timeval tv = { delay / 1000, (delay % 1000) * 1000 };
		if ((c->delay = evtimer_new(as.base, as_delay_cb, c)) != NULL &&
		    evtimer_add(c->delay, &tv) == 0)
			return;
	}
	as_reply(c, c->reply);
}

static void
as_read_cb(struct bufferevent *bev, void *arg)
{
	struct as_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct bf_conf bc;
	struct as_job *a;
	size_t len;
	char *line;

	if (c->job != NULL || c->delay != NULL)
		return;
	if ((line = evbuffer_readln(in, &len, EVBUFFER_EOL_LF)) == NULL) {
		if (evbuffer_get_length(in) > AUTHSOCK_LINE_MAX)
			as_reply(c, "FAIL\n");
		return;
	}
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		sodium_memzero(line, len);
		free(line);
		as_reply(c, "TEMP\n");
		return;
	}
	if (len > AUTHSOCK_LINE_MAX ||
	    authsock_question_parse(line, (int)conf_current()->ipv6_prefix,
		&a->q) == -1) {
		sodium_memzero(line, len);
		free(line);
		sodium_memzero(a, sizeof(*a));
		free(a);
		log_warnx("dovecot.auth error=\"a malformed question\"");
		as_reply(c, "FAIL\n");
		return;
	}
	sodium_memzero(line, len);
	free(line);
	bf_login_conf(conf_current(), &bc);
	if (bf_verdict(bf_login, &bc, a->q.ipkey, a->q.login,
		(int64_t)time(NULL)) == -1) {
		log_info("dovecot.auth service=%s ip=%s result=refused "
			 "reason=too_many_failures",
		    a->q.service, a->q.ip);
		sodium_memzero(a, sizeof(*a));
		free(a);
		as_reply(c, "FAIL\n");
		return;
	}
	a->job.run = as_job_run;
	a->job.done = as_job_done;
	a->job.owner = c;
	if (pwlane_submit(as.wl, &a->job) == -1) {
		sodium_memzero(a, sizeof(*a));
		free(a);
		as_reply(c, "TEMP\n");
		return;
	}
	c->job = a;
}

static void
as_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what; /* EOF, error or timeout: the question is gone */
	as_conn_free(arg);
}

static void
as_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct timeval tv = { AUTHSOCK_TIMEOUT, 0 };
	struct as_conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	if (as.conns >= AUTHSOCK_CONNS_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	if ((c->bev = bufferevent_socket_new(as.base, fd,
		 BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(c);
		return;
	}
	as.conns++;
	bufferevent_setcb(c->bev, as_read_cb, NULL, as_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, AUTHSOCK_LINE_MAX + 2);
	bufferevent_enable(c->bev, EV_READ);
}

static void
as_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	(void)what;
	(void)arg;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warnx("dovecot.auth error=\"%s\"", strerror(errno));
	event_base_loopbreak(as.base);
}

/* As root: the socket, readable by Dovecot's group only. */
static int
as_bind(void)
{
	const struct conf *conf = conf_current();
	struct sockaddr_un sun;
	struct group *g;

	if (conf->mailbox_auth_socket[0] == '\0')
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(conf->mailbox_auth_socket) >= sizeof(sun.sun_path)) {
		log_warnx("dovecot.auth error=\"auth_socket path too long\"");
		return -1;
	}
	str_lcpy(sun.sun_path, conf->mailbox_auth_socket, sizeof(sun.sun_path));
	str_lcpy(as.path, conf->mailbox_auth_socket, sizeof(as.path));
	(void)unlink(as.path); /* a socket left by a crash */
	if ((as.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) == -1 ||
	    bind(as.fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(as.path, 0660) == -1 || listen(as.fd, 128) == -1) {
		log_warnx("dovecot.auth path=%s error=\"%s\"", as.path,
		    strerror(errno));
		return -1;
	}
	/* Dovecot runs checkpassword as its internal user */
	if (conf->mailbox_auth_group[0] &&
	    ((g = getgrnam(conf->mailbox_auth_group)) == NULL ||
		chown(as.path, (uid_t)-1, g->gr_gid) == -1))
		log_warnx("dovecot.auth path=%s error=\"cannot give the socket "
			  "to group %s\"",
		    as.path, conf->mailbox_auth_group);
	return 0;
}

static void *
as_main(void *arg)
{
	(void)arg;
	event_base_dispatch(as.base);
	return NULL;
}

static int
as_start(void)
{
	if (as.fd == -1)
		return 0;
	if ((as.base = event_base_new()) == NULL ||
	    (as.wl = workers_loop_new(as.base)) == NULL ||
	    (as.ctlfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (as.ctl = event_new(as.base, as.ctlfd, EV_READ | EV_PERSIST,
		 as_ctl_cb, NULL)) == NULL ||
	    event_add(as.ctl, NULL) == -1 ||
	    (as.lev = evconnlistener_new(as.base, as_accept_cb, NULL,
		 LEV_OPT_CLOSE_ON_FREE, -1, as.fd)) == NULL) {
		log_warnx("dovecot.auth error=\"cannot make the event loop\"");
		return -1;
	}
	as.fd = -1; /* the listener's now */
	if (pthread_create(&as.thread, NULL, as_main, NULL) != 0)
		return -1;
	(void)pthread_setname_np(as.thread, "dovecot-auth");
	as.running = 1;
	log_info("dovecot.auth socket=%s", as.path);
	return 0;
}

static void
as_stop(void)
{
	uint64_t one = 1;

	if (as.ctlfd != -1 && write(as.ctlfd, &one, sizeof(one)) < 0)
		log_warnx("dovecot.auth error=\"%s\"", strerror(errno));
}

static void
as_join(void)
{
	if (as.running)
		pthread_join(as.thread, NULL);
	as.running = 0;
}

/* After the workers stopped: no job comes back to this loop. */
static void
as_free(void)
{
	if (as.lev)
		evconnlistener_free(as.lev);
	if (as.fd != -1)
		close(as.fd);
	if (as.path[0])
		(void)unlink(as.path);
	if (as.ctl)
		event_free(as.ctl);
	if (as.ctlfd != -1)
		close(as.ctlfd);
	workers_loop_free(as.wl);
	if (as.base)
		event_base_free(as.base);
	memset(&as, 0, sizeof(as));
	as.ctlfd = as.fd = -1;
}

const struct service authsock_service = {
	.name = "dovecot-auth",
	.bind = as_bind,
	.start = as_start,
	.stop = as_stop,
	.join = as_join,
	.free = as_free,
};
