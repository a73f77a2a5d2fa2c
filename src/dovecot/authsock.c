/* authsock: see authsock.h. Its own thread and loop, like the HTTP server. */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <sodium.h>

#include "authsock.h"
#include "usock.h"
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

static struct usock as_sock;
static int as_conns; /* open connections */

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
	as_conns--;
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
		if ((c->delay = evtimer_new(as_sock.base, as_delay_cb, c)) !=
			NULL &&
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
	if (pwlane_submit(as_sock.wl, &a->job) == -1) {
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
	if (as_conns >= AUTHSOCK_CONNS_MAX ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	if ((c->bev = bufferevent_socket_new(as_sock.base, fd,
		 BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(c);
		return;
	}
	as_conns++;
	bufferevent_setcb(c->bev, as_read_cb, NULL, as_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	bufferevent_setwatermark(c->bev, EV_READ, 0, AUTHSOCK_LINE_MAX + 2);
	bufferevent_enable(c->bev, EV_READ);
}

static int
as_bind(void)
{
	const struct conf *conf = conf_current();

	usock_init(&as_sock, "dovecot-auth");
	return usock_bind(&as_sock, conf->mailbox_auth_socket,
	    conf->mailbox_auth_group);
}

static int
as_start(void)
{
	return usock_start(&as_sock, as_accept_cb, NULL);
}

static void
as_stop(void)
{
	usock_stop(&as_sock);
}

static void
as_join(void)
{
	usock_join(&as_sock);
}

/* After the workers stopped: no job comes back to this loop. */
static void
as_free(void)
{
	usock_free(&as_sock);
}

const struct service authsock_service = {
	.name = "dovecot-auth",
	.bind = as_bind,
	.start = as_start,
	.stop = as_stop,
	.join = as_join,
	.free = as_free,
};
