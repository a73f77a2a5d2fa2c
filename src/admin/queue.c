/*
 * admin/queue: the messages waiting in the spool, for the CLI and the
 * API alike. Changes are made to the spool's files (ID.hold markers,
 * removal); then the running server is told with SIGUSR1 (the process
 * holding the lock on DATA_DIR/postern.pid; inside the server, itself)
 * to look at the queue again.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "admin.h"
#include "../queue/qmgr.h"
#include "../mail/addr.h"
#include "../spool/spool.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/pidfile.h"
#include "../util/str.h"

/*
 * 1 if a running server was told, 0 if none runs. The server is the
 * process the kernel says holds the lock on the pid file, whatever the
 * file says: a stale file or one rewritten by the server's user never
 * gets another process signalled.
 */
int
admin_queue_wake(struct admin_ctx *ctx)
{
	char path[CONF_PATH_MAX + 32];
	pid_t pid;

	/* the server itself must not open the file: closing it would drop
	 * the lock it holds there */
	if (ctx->in_server)
		return kill(getpid(), SIGUSR1) == 0;
	snprintf(path, sizeof(path), "%s/postern.pid", ctx->conf->data_dir);
	if ((pid = pidfile_owner(path)) <= 1)
		return 0; /* not running: it will look at start */
	return kill(pid, SIGUSR1) == 0;
}

/*
 * Where the queue sends a recipient, as its logs name it: the LMTP
 * target for a user's mailbox ("lmtp:unix:/PATH", *mailbox set), the
 * smarthost, the capture folder, or the recipient's domain (its MX); a
 * bounce to an SRS address goes to the address it decodes to (*mailbox
 * set to it).
 */
/* How many confirmed targets the user of a mailbox forwards to. */
static size_t
admin_queue_forwards(struct admin_ctx *ctx, const char *mailbox)
{
	struct store_strings t = { NULL, 0 };
	struct store_user u;
	struct addr a;
	char why[160];
	size_t n = 0;

	if (addr_parse(mailbox, &a, why, sizeof(why)) == 0 &&
	    store_user_get(ctx->store, &a, &u) == 0 &&
	    store_forward_targets(ctx->store, u.id, &t) == 0)
		n = t.n;
	store_strings_free(&t);
	return n;
}

/* fwd: the message may be forwarded (not junk, not a kept copy): a
 * forwarding user's mailbox goes to "forward" (the queue's forward.c). */
static const char *
admin_queue_dest(struct admin_ctx *ctx, const char *rcpt, int fwd,
    char *mailbox, size_t mlen, char *buf, size_t blen)
{
	const struct conf *c = ctx->conf;
	const char *at;

	mailbox[0] = '\0';
	if (c->delivery_mode == CONF_DELIVERY_CAPTURE)
		return "capture";
	if (c->mailbox_lmtp[0] && ctx->store) {
		switch (route_rcpt(ctx->store, rcpt, mailbox, mlen)) {
		case ROUTE_MAILBOX:
			if (fwd && admin_queue_forwards(ctx, mailbox) > 0) {
				snprintf(buf, blen, "forward");
				return buf;
			}
			snprintf(buf, blen, "lmtp:%s", c->mailbox_lmtp);
			return buf;
		case ROUTE_NOUSER:
			return "none: no such mailbox (5.1.1)";
		case ROUTE_SRS_BAD:
			return "none: forged or malformed SRS address (5.1.1)";
		case ROUTE_SRS_EXPIRED:
			return "none: expired SRS address (5.1.1)";
		case ROUTE_ERROR:
			return "?";
		case ROUTE_SRS: /* a bounce, relayed to the decoded address */
			rcpt = mailbox;
			break;
		}
	}
	if (c->delivery_mode == CONF_DELIVERY_SMARTHOST)
		return "smarthost";
	at = strrchr(rcpt, '@');
	str_lcpy(buf, at ? at + 1 : "", blen);
	str_ascii_lower(buf);
	return buf;
}

/* The JSON of one message, as `queue list` and `queue show` print it. */
static json_t *
admin_queue_json(struct admin_ctx *ctx, const struct spool_info *m,
    const char *msg, size_t len)
{
	const struct spool_env *e = &m->env;
	json_t *o, *rcpts, *dests, *mboxes;
	int i;

	if ((o = json_pack("{s:s,s:I,s:s,s:s,s:s,s:s,s:i,s:I,s:b,s:i}", "id",
		 e->id, "time", (json_int_t)e->time, "from", e->from, "auth",
		 e->auth[0] ? e->auth : "-", "ip", e->ip, "body", e->body,
		 "smtputf8", e->smtputf8, "size", (json_int_t)m->size, "held",
		 m->held, "rcpts_done", m->rcpts_done)) == NULL)
		return NULL;
	if ((e->requiretls &&
		json_object_set_new(o, "requiretls", json_true())) ||
	    (e->domain[0] &&
		json_object_set_new(o, "domain", json_string(e->domain))) ||
	    (e->ret[0] && json_object_set_new(o, "ret", json_string(e->ret))) ||
	    (e->envid[0] &&
		json_object_set_new(o, "envid", json_string(e->envid))) ||
	    (e->forwarded_by[0] && json_object_set_new(o, "forwarded_by",
				       json_string(e->forwarded_by))) ||
	    (e->mailbox_only &&
		json_object_set_new(o, "mailbox_only", json_true())) ||
	    (e->junk && json_object_set_new(o, "junk", json_true())) ||
	    (rcpts = json_array()) == NULL ||
	    json_object_set_new(o, "rcpts", rcpts) == -1 ||
	    (dests = json_array()) == NULL ||
	    json_object_set_new(o, "dests", dests) == -1 ||
	    (mboxes = json_array()) == NULL ||
	    json_object_set_new(o, "mailboxes", mboxes) == -1)
		goto fail;
	for (i = 0; i < e->nrcpt; i++) {
		char mbox[ADDR_MAX + 1], buf[CONF_PATH_MAX + 8];
		const char *d = admin_queue_dest(ctx, e->rcpts[i].addr,
		    !e->junk && !e->mailbox_only, mbox, sizeof(mbox), buf,
		    sizeof(buf));
		if (json_array_append_new(rcpts,
			json_string(e->rcpts[i].addr)) ||
		    json_array_append_new(dests, json_string(d)) ||
		    json_array_append_new(mboxes,
			mbox[0] ? json_string(mbox) : json_null()))
			goto fail;
	}
	if (msg && json_object_set_new(o, "message", json_stringn(msg, len)))
		goto fail;
	return o;
fail:
	json_decref(o);
	return NULL;
}

static int
admin_queue_find(struct admin_ctx *ctx, json_t *args, int body, json_t **msg,
    const char **id, struct admin_err *err)
{
	struct spool_info info;
	char *text = NULL;
	size_t len = 0;

	if ((*id = admin_need(args, "id", err)) == NULL)
		return -1;
	if (spool_open(ctx->conf->data_dir) == -1 ||
	    spool_show(*id, &info, body ? &text : NULL, &len) == -1)
		return admin_fail(err, 404, "no message %.64s in the queue",
		    *id);
	*msg = admin_queue_json(ctx, &info, text, len);
	spool_env_free(&info.env);
	free(text);
	if (*msg == NULL)
		return admin_fail(err, 500, "out of memory");
	return 0;
}

struct admin_queue_walk {
	struct admin_ctx *ctx;
	json_t *list;
};

static int
admin_queue_add(const struct spool_info *m, void *arg)
{
	struct admin_queue_walk *w = arg;
	json_t *o = admin_queue_json(w->ctx, m, NULL, 0);

	return o == NULL || json_array_append_new(w->list, o) == -1 ? -1 : 0;
}

int
admin_queue_list(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	struct admin_queue_walk w;
	json_t *q, *nodes;

	(void)args;
	w.ctx = ctx;
	if ((q = w.list = json_array()) == NULL ||
	    spool_open(ctx->conf->data_dir) == -1 ||
	    spool_list(admin_queue_add, &w) == -1) {
		json_decref(q);
		return admin_fail(err, 500, "cannot read the spool in %s",
		    ctx->conf->data_dir);
	}
	/* every node's queue on the store, each as it last published it
	 * (its own messages stay on its own disk): counts, never ids, so
	 * the answer is bounded whatever the queues hold */
	if ((nodes = admin_list_nodes(ctx->store, conf_node_name(ctx->conf),
		 (int64_t)time(NULL))) == NULL)
		nodes = json_array();
	*out = json_pack("{s:o,s:s,s:o}", "queue", q, "node",
	    conf_node_name(ctx->conf), "nodes", nodes);
	return 0;
}

int
admin_queue_show(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *id;
	char(*notes)[SPOOL_NOTE_MAX];
	json_t *last;
	size_t i, n;

	if (admin_queue_find(ctx, args, 1, out, &id, err) == -1)
		return -1;
	/* each recipient's last attempt: where, over which TLS and policy,
	 * what the server said */
	n = json_array_size(json_object_get(*out, "rcpts"));
	if (n == 0 || (notes = calloc(n, sizeof(*notes))) == NULL)
		return 0;
	if (spool_notes(json_string_value(json_object_get(*out, "id")), notes,
		(int)n) == 0 &&
	    (last = json_array()) != NULL) {
		for (i = 0; i < n; i++)
			json_array_append_new(last,
			    notes[i][0] ? json_string(notes[i]) : json_null());
		json_object_set_new(*out, "last_attempt", last);
	}
	free(notes);
	return 0;
}

static int
admin_queue_change(struct admin_ctx *ctx, json_t *args, const char *verb,
    json_t **out, struct admin_err *err)
{
	const char *id;
	json_t *m;
	int rc;

	if (admin_queue_find(ctx, args, 0, &m, &id, err) == -1)
		return -1;
	json_decref(m);
	if (strcmp(verb, "hold") == 0)
		rc = spool_set_held(id, 1);
	else if (strcmp(verb, "release") == 0)
		rc = spool_set_held(id, 0);
	else
		rc = spool_delete(id);
	if (rc == -1)
		return admin_fail(err, 500, "queue %s %s: %s", verb, id,
		    strerror(errno));
	*out = json_pack("{s:s,s:s,s:b}", "id", id, "done", verb, "running",
	    admin_queue_wake(ctx));
	return 0;
}

int
admin_queue_hold(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	return admin_queue_change(ctx, args, "hold", out, err);
}

int
admin_queue_release(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	return admin_queue_change(ctx, args, "release", out, err);
}

int
admin_queue_delete(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	return admin_queue_change(ctx, args, "delete", out, err);
}

int
admin_queue_flush(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	(void)args;
	(void)err;
	*out = json_pack("{s:s,s:b}", "done", "flush", "running",
	    admin_queue_wake(ctx));
	return 0;
}
