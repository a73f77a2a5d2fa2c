/* dict: see dict.h. Its own thread and loop, like dovecot/authsock.c. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>

#include "dict.h"
#include "dictproto.h"
#include "usock.h"
#include "../mail/addr.h"
#include "../store/store.h"
#include "../store/thread.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/str.h"
#include "../util/workers.h"

#define DICT_IDLE 300	    /* seconds a connection may stay quiet */
#define DICT_CONNS_MAX 1024 /* each Dovecot process keeps one */
#define DICT_TRANS_MAX 16   /* open transactions per connection */
#define DICT_OPS_MAX 16	    /* changes per transaction */
#define DICT_DIFF_MAX ((int64_t)1 << 50)
#define DICT_OUT_MAX (64 * 1024) /* replies the client has not read */

struct dc_conn;

static struct usock ds_sock;
static struct {
	TAILQ_HEAD(, dc_conn) conns_list; /* Dovecot keeps them open */
	int conns;
} ds = { .conns_list = TAILQ_HEAD_INITIALIZER(ds.conns_list) };

struct dc_trans {
	unsigned int id;
	int open, ops, quota; /* quota: a change to the usage */
	char user[ADDR_MAX + 1];
	struct store_mailbox_change ch;
};

enum dc_what { DC_USERDB, DC_BYTES, DC_MESSAGES, DC_COMMIT };

struct dc_job {
	struct worker_job job;
	enum dc_what what;
	unsigned int id;
	int async;
	char user[ADDR_MAX + 1];
	struct store_mailbox_change ch;
	int rc; /* 0, STORE_NOTFOUND, STORE_FAIL */
	int64_t v;
};

struct dc_conn {
	TAILQ_ENTRY(dc_conn) entry;
	struct bufferevent *bev;
	struct dc_job *job; /* in flight; its owner is this */
	int hello;
	struct dc_trans t[DICT_TRANS_MAX];
};

static void dc_process(struct dc_conn *);

static void
dc_free(struct dc_conn *c)
{
	if (c->job)
		c->job->job.owner = NULL; /* it frees itself when done */
	TAILQ_REMOVE(&ds.conns_list, c, entry);
	bufferevent_free(c->bev);
	free(c);
	ds.conns--;
}

/* A client that breaks the protocol: logged once, the connection closed
 * (Dovecot reconnects and retries, as with its own dict server). */
static void
dc_fail(struct dc_conn *c, const char *why)
{
	log_warnx("dovecot.dict error=\"%s\"", why);
	dc_free(c);
}

static int
dc_reply(struct dc_conn *c, const char *line)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (evbuffer_get_length(out) > DICT_OUT_MAX ||
	    evbuffer_add(out, line, strlen(line)) == -1) {
		dc_fail(c, "the client does not read its replies");
		return -1;
	}
	return 0;
}

/* The user a name given by Dovecot is (its canonical spelling, any
 * case): 0 and its id, STORE_NOTFOUND, STORE_FAIL. */
static int
dc_user(struct store *s, const char *name, int64_t *id)
{
	char canon[ADDR_MAX + 1], why[160];
	struct store_user u;
	struct addr a;
	int rc;

	if (addr_login_canon(name, canon, sizeof(canon), why, sizeof(why)) ==
		-1 ||
	    addr_parse(canon, &a, why, sizeof(why)) == -1)
		return STORE_NOTFOUND;
	if ((rc = store_user_get(s, &a, &u)) != 0)
		return rc;
	*id = u.id;
	return 0;
}

static void
dc_job_run(struct worker_job *j, void *ctx)
{
	struct dc_job *d = (struct dc_job *)j;
	struct store *s = store_thread();
	int64_t id = 0, bytes = 0, msgs = 0;

	(void)ctx;
	if ((d->rc = dc_user(s, d->user, &id)) != 0)
		return;
	switch (d->what) {
	case DC_USERDB:
		d->rc = store_mailbox_quota_resolve(s, id, &d->v);
		break;
	case DC_BYTES:
	case DC_MESSAGES:
		d->rc = store_mailbox_usage_get(s, id, &bytes, &msgs);
		d->v = d->what == DC_BYTES ? bytes : msgs;
		break;
	case DC_COMMIT:
		d->rc = store_mailbox_usage_write(s, id, &d->ch,
		    (int64_t)time(NULL));
		break;
	}
}

static void
dc_job_done(struct worker_job *j)
{
	struct dc_job *d = (struct dc_job *)j;
	struct dc_conn *c = j->owner;
	char line[128];

	if (d->rc == STORE_FAIL)
		log_warnx("dovecot.dict error=\"store failure\"");
	if (c == NULL) {
		free(d);
		return;
	}
	c->job = NULL;
	if (d->what == DC_COMMIT) {
		/* a user who is gone has nothing to count: done */
		if (d->rc == STORE_NOTFOUND && d->ch.add_bytes == 0 &&
		    d->ch.add_messages == 0)
			d->rc = 0;
		snprintf(line, sizeof(line), "%s%c%u%s\n", d->async ? "A" : "",
		    d->rc == 0		      ? 'O'
		    : d->rc == STORE_NOTFOUND ? 'N'
					      : 'F',
		    d->id, d->rc == STORE_FAIL ? "\tstore failure" : "");
	} else if (d->rc == STORE_FAIL) {
		snprintf(line, sizeof(line), "Fstore failure\n");
	} else if (d->rc != 0) {
		snprintf(line, sizeof(line), "N\n");
	} else if (d->what == DC_USERDB && d->v > 0) {
		snprintf(line, sizeof(line),
		    "O{\"quota_rule\":\"*:storage=%" PRId64 "B\"}\n", d->v);
	} else if (d->what == DC_USERDB) {
		snprintf(line, sizeof(line), "O{}\n");
	} else {
		snprintf(line, sizeof(line), "O%" PRId64 "\n", d->v);
	}
	free(d);
	if (dc_reply(c, line) == 0)
		dc_process(c);
}

/* Hand a look-up or a commit to a worker; the connection waits for it:
 * 1, or -1 if the connection is gone (or 0: answered at once). */
static int
dc_submit(struct dc_conn *c, enum dc_what what, const char *user,
    const struct dc_trans *t, int async)
{
	struct dc_job *d;

	/* no such user (a transaction's user was checked at BEGIN) */
	if (strlen(user) > ADDR_MAX)
		return dc_reply(c, "N\n");
	if ((d = calloc(1, sizeof(*d))) == NULL) {
		dc_fail(c, "out of memory");
		return -1;
	}
	d->what = what;
	str_lcpy(d->user, user, sizeof(d->user));
	if (t) {
		d->id = t->id;
		d->ch = t->ch;
		d->async = async;
	}
	d->job.run = dc_job_run;
	d->job.done = dc_job_done;
	d->job.owner = c;
	c->job = d;
	workers_submit(ds_sock.wl, &d->job);
	return 1;
}

static struct dc_trans *
dc_trans(struct dc_conn *c, unsigned int id)
{
	int i;

	for (i = 0; i < DICT_TRANS_MAX; i++)
		if (c->t[i].open && c->t[i].id == id)
			return &c->t[i];
	return NULL;
}

/* A change inside a transaction: only the usage keys count. */
static int
dc_change(struct dc_trans *t, const struct dictp_req *r)
{
	const char *user;
	enum dictp_key k = dictp_key(r->key, &user);
	int bytes = k == DICTP_KEY_QUOTA_BYTES;
	int64_t v = 0;

	if (++t->ops > DICT_OPS_MAX)
		return -1;
	if (k != DICTP_KEY_QUOTA_BYTES && k != DICTP_KEY_QUOTA_MESSAGES)
		return 0; /* nothing postern keeps */
	t->quota = 1;
	switch (r->cmd) {
	case DICTP_SET:
		if (dictp_number(r->value, &v) == -1 || v < 0 ||
		    v > DICT_DIFF_MAX)
			return -1;
		if (bytes) {
			t->ch.set_bytes = 1;
			t->ch.bytes = v;
			t->ch.add_bytes = 0;
		} else {
			t->ch.set_messages = 1;
			t->ch.messages = v;
			t->ch.add_messages = 0;
		}
		break;
	case DICTP_UNSET:
		t->ch.unset = 1;
		break;
	case DICTP_INC:
		if (r->diff > DICT_DIFF_MAX || r->diff < -DICT_DIFF_MAX)
			return -1;
		if (bytes)
			t->ch.add_bytes += r->diff;
		else
			t->ch.add_messages += r->diff;
		break;
	}
	return 0;
}

/* One command: 0 to go on, 1 to wait for a worker, -1 if c is gone. */
static int
dc_command(struct dc_conn *c, struct dictp_req *r)
{
	const char *user = NULL;
	struct dc_trans *t;
	enum dictp_key k;
	char line[32];
	int i;

	if (r->cmd == DICTP_HELLO) {
		c->hello = 1;
		return 0;
	}
	if (!c->hello) {
		dc_fail(c, "a command before the hello");
		return -1;
	}
	switch (r->cmd) {
	case DICTP_LOOKUP:
		k = dictp_key(r->key, &user);
		if (k == DICTP_KEY_USERDB)
			return dc_submit(c, DC_USERDB, user, NULL, 0);
		if (k == DICTP_KEY_OTHER || r->user[0] == '\0')
			return dc_reply(c, "N\n");
		return dc_submit(c,
		    k == DICTP_KEY_QUOTA_BYTES ? DC_BYTES : DC_MESSAGES,
		    r->user, NULL, 0);
	case DICTP_ITERATE: /* iterate_disable = yes: never asked */
		return dc_reply(c, "Fiteration is not supported\n");
	case DICTP_BEGIN:
		if (dc_trans(c, r->id) != NULL)
			break;
		for (i = 0; i < DICT_TRANS_MAX && c->t[i].open; i++)
			;
		if (i == DICT_TRANS_MAX || strlen(r->user) > ADDR_MAX)
			break;
		memset(&c->t[i], 0, sizeof(c->t[i]));
		c->t[i].open = 1;
		c->t[i].id = r->id;
		str_lcpy(c->t[i].user, r->user, sizeof(c->t[i].user));
		return 0;
	case DICTP_SET:
	case DICTP_UNSET:
	case DICTP_INC:
	case DICTP_TIMESTAMP:
		if ((t = dc_trans(c, r->id)) == NULL)
			break;
		if (r->cmd != DICTP_TIMESTAMP && dc_change(t, r) == -1)
			break;
		return 0;
	case DICTP_ROLLBACK:
		if ((t = dc_trans(c, r->id)) == NULL)
			break;
		t->open = 0;
		return 0;
	case DICTP_COMMIT:
	case DICTP_COMMIT_ASYNC:
		if ((t = dc_trans(c, r->id)) == NULL)
			break;
		t->open = 0;
		if (t->quota && t->user[0])
			return dc_submit(c, DC_COMMIT, t->user, t,
			    r->cmd == DICTP_COMMIT_ASYNC);
		snprintf(line, sizeof(line), "%sO%u\n",
		    r->cmd == DICTP_COMMIT_ASYNC ? "A" : "", r->id);
		return dc_reply(c, line);
	}
	dc_fail(c, "a transaction unknown, already open, or too big");
	return -1;
}

/* Every whole line in the input, one at a time: a look-up or a commit
 * waits for its worker, and its reply goes out before the next line. */
static void
dc_process(struct dc_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer_ptr eol;
	struct dictp_req r;
	char line[DICTP_LINE_MAX + 2];
	size_t len;
	int rc;

	while (c->job == NULL) {
		len = evbuffer_get_length(in);
		eol = evbuffer_search(in, "\n", 1, NULL);
		if (eol.pos < 0 && len <= DICTP_LINE_MAX)
			return; /* more to come */
		if (eol.pos < 0 || (size_t)eol.pos > DICTP_LINE_MAX) {
			dc_fail(c, "a line too long");
			return;
		}
		len = (size_t)eol.pos;
		evbuffer_remove(in, line, len + 1);
		line[len] = '\0';
		if (memchr(line, '\0', len) != NULL ||
		    dictp_parse(line, len, &r) == -1) {
			dc_fail(c, "a malformed line");
			return;
		}
		if ((rc = dc_command(c, &r)) != 0)
			return; /* waiting, or gone */
	}
}

static void
dc_read_cb(struct bufferevent *bev, void *arg)
{
	(void)bev;
	dc_process(arg);
}

static void
dc_event_cb(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what; /* EOF, error or idle: the client reconnects */
	dc_free(arg);
}

static void
dc_accept_cb(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
    int salen, void *arg)
{
	struct timeval tv = { DICT_IDLE, 0 };
	struct dc_conn *c;

	(void)l;
	(void)sa;
	(void)salen;
	(void)arg;
	if (ds.conns >= DICT_CONNS_MAX || (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return;
	}
	if ((c->bev = bufferevent_socket_new(ds_sock.base, fd,
		 BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		close(fd);
		free(c);
		return;
	}
	ds.conns++;
	TAILQ_INSERT_TAIL(&ds.conns_list, c, entry);
	bufferevent_setcb(c->bev, dc_read_cb, NULL, dc_event_cb, c);
	bufferevent_set_timeouts(c->bev, &tv, &tv);
	/* reading pauses past one line's worth, whatever is pipelined */
	bufferevent_setwatermark(c->bev, EV_READ, 0, DICTP_LINE_MAX + 2);
	bufferevent_enable(c->bev, EV_READ);
}

/* As root: the socket, for Dovecot's group only (its auth process and,
 * through mail_access_groups, its mail processes). */
static int
dc_bind(void)
{
	const struct conf *conf = conf_current();

	usock_init(&ds_sock, "dovecot-dict");
	return usock_bind(&ds_sock, conf->mailbox_dict_socket,
	    conf->mailbox_auth_group);
}

static int
dc_start(void)
{
	return usock_start(&ds_sock, dc_accept_cb, NULL);
}

static void
dc_stop(void)
{
	usock_stop(&ds_sock);
}

static void
dc_join(void)
{
	usock_join(&ds_sock);
}

/* After the workers stopped: no job comes back to this loop. */
static void
dc_svc_free(void)
{
	while (!TAILQ_EMPTY(&ds.conns_list))
		dc_free(TAILQ_FIRST(&ds.conns_list));
	usock_free(&ds_sock);
	ds.conns = 0;
}

const struct service dict_service = {
	.name = "dovecot-dict",
	.bind = dc_bind,
	.start = dc_start,
	.stop = dc_stop,
	.join = dc_join,
	.free = dc_svc_free,
};
