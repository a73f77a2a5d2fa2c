/*
 * qmgr: scheduling, destinations and the end of each attempt. A message
 * in memory is only a schedule (id, next attempt, tries); its text is
 * loaded (and signed) for each attempt and dropped after. Recipients are
 * grouped by domain; each destination keeps its own connections, limit
 * and resolution, so a dead destination only delays its own mail. A
 * recipient is finished (delivered or bounced) only once that is written
 * to ID.state, and a bounce is in the spool before its recipients are
 * marked: a crash can cause a duplicate, never a loss.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/queue.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <netdb.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "bounce.h"
#include "qmgr.h"
#include "../auth/secret.h"
#include "../delivery/client.h"
#include "../delivery/resolve.h"
#include "../spool/spool.h"
#include "../store/thread.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/str.h"
#include "../util/workers.h"

#define QMGR_INFLIGHT_MAX 256 /* messages being attempted at once */
#define QMGR_IDLE_KEEP 5      /* seconds an idle connection is kept */
#define QMGR_RESOLVE_TTL 60   /* seconds a destination's hosts are kept */

enum { R_PENDING, R_INFLIGHT, R_SENT, R_FAILED, R_DEFERRED };

struct qdest;

struct qmsg {
	char id[SPOOL_ID_LEN + 1];
	int64_t next_attempt;
	int attempts;
	int busy;
	int groups; /* destinations still working on it */
	int64_t t_start;
	struct spool_env env;
	char *data;
	size_t len;
	unsigned char *done;
	int *state, *code;
	char (*text)[REPLY_TEXT_MAX];
	char (*host)[256];
	char (*tls)[96];
	TAILQ_ENTRY(qmsg) entry;
};

struct qdeliv {
	struct qmsg *m;
	struct qdest *d;
	int n;
	int *idx;
	const char **rcpts;
	int *rcode;
	char (*rtext)[REPLY_TEXT_MAX];
	struct dclient_txn txn;
	TAILQ_ENTRY(qdeliv) entry;
};

struct qconn {
	struct dclient *c;
	struct qdest *d;
	struct qdeliv *cur;
	int ready;
	struct event *idle;
	LIST_ENTRY(qconn) entry;
};

struct qdest {
	char key[ADDR_DOMAIN_MAX + 1];
	TAILQ_HEAD(, qdeliv) waiting;
	LIST_HEAD(, qconn) conns;
	int nconns;
	int resolving;
	uint64_t rhandle;
	struct dclient_target target;
	int64_t target_expires;
	TAILQ_ENTRY(qdest) entry;
};

static struct {
	struct event_base *base;
	struct workers_loop *wl;
	struct resolver *res;
	SSL_CTX *tls;
	SSL_CTX *smarthost_tls; /* verifying, for the smarthost; or NULL */
	pthread_t thread;
	struct event *tick, *wake;
	int efd;
	pthread_mutex_t mu;
	json_t *incoming; /* ids from sessions */
	int flush, stopping;
	TAILQ_HEAD(, qmsg) msgs;
	TAILQ_HEAD(, qdest) dests;
	int inflight, nconns;
	struct dclient_target smarthost;
	int smarthost_port;
	char smarthost_pass[SECRET_MAX + 1];
} q;

static void qmgr_pass(void);
static void dest_pump(struct qdest *);
static void deliv_done(struct qdeliv *);
static void qmgr_attempt_end(struct qmsg *);

static int64_t
qmgr_now(void)
{
	return (int64_t)time(NULL);
}

static const struct conf *
qmgr_conf(void)
{
	return conf_current();
}

static struct qmsg *
qmsg_add(const char *id)
{
	struct qmsg *m;

	TAILQ_FOREACH (m, &q.msgs, entry)
		if (strcmp(m->id, id) == 0)
			return m;
	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	str_lcpy(m->id, id, sizeof(m->id));
	m->next_attempt = qmgr_now();
	TAILQ_INSERT_TAIL(&q.msgs, m, entry);
	return m;
}

static void
qmsg_unload(struct qmsg *m)
{
	free(m->env.rcpts);
	m->env.rcpts = NULL;
	free(m->data);
	m->data = NULL;
	free(m->done);
	m->done = NULL;
	free(m->state);
	m->state = NULL;
	free(m->code);
	m->code = NULL;
	free(m->text);
	m->text = NULL;
	free(m->host);
	m->host = NULL;
	free(m->tls);
	m->tls = NULL;
}

static void
qmsg_free(struct qmsg *m)
{
	TAILQ_REMOVE(&q.msgs, m, entry);
	qmsg_unload(m);
	free(m);
}

/* load: read the message and sign it, on a worker */

struct load_job {
	struct worker_job base;
	struct qmsg *m;
	char id[SPOOL_ID_LEN + 1];
	struct spool_env env;
	char *data;
	size_t len;
	unsigned char *done;
	int rc, held, err;
};

static void
load_job_run(struct worker_job *j, void *ctx)
{
	struct load_job *l = (struct load_job *)j;

	(void)ctx;

	if ((l->held = spool_is_held(l->id)))
		return;
	l->rc = spool_load(l->id, &l->env, &l->data, &l->len, &l->done);
	l->err = l->rc == -1 ? errno : 0;
	if (l->rc == 0 && queue_sign(store_thread(), &l->env,
			      qmgr_conf()->hostname, &l->data, &l->len) == -1)
		log_warnx("dkim.sign queue=%s error=\"signing failed, sent "
			  "unsigned\"",
		    l->id);
}

static void qmsg_deliver(struct qmsg *);

static void
load_job_done(struct worker_job *j)
{
	struct load_job *l = (struct load_job *)j;
	struct qmsg *m = l->m;
	int i;

	if (q.stopping) { /* no new work while stopping */
		free(l->env.rcpts);
		free(l->data);
		free(l->done);
		free(l);
		return;
	}
	if (l->held) {
		m->busy = 0;
		q.inflight--;
		m->next_attempt = qmgr_now() + 60;
		free(l);
		return;
	}
	if (l->rc == -1 && l->err == ENOENT) {
		/* deleted (queue delete): not ours any more */
		log_info("queue.drop queue=%s reason=\"not in the spool\"",
		    m->id);
		q.inflight--;
		qmsg_free(m);
		free(l);
		return;
	}
	if (l->rc == -1) {
		/* out of memory or descriptors, a torn file: try later */
		log_warnx("queue.load queue=%s error=\"%s\"", m->id,
		    strerror(l->err));
		m->busy = 0;
		q.inflight--;
		m->next_attempt = qmgr_now() + 60;
		free(l);
		return;
	}
	m->env = l->env;
	m->data = l->data;
	m->len = l->len;
	m->done = l->done;
	free(l);
	m->state = calloc((size_t)m->env.nrcpt, sizeof(int));
	m->code = calloc((size_t)m->env.nrcpt, sizeof(int));
	m->text = calloc((size_t)m->env.nrcpt, sizeof(*m->text));
	m->host = calloc((size_t)m->env.nrcpt, sizeof(*m->host));
	m->tls = calloc((size_t)m->env.nrcpt, sizeof(*m->tls));
	if (!m->state || !m->code || !m->text || !m->host || !m->tls) {
		qmsg_unload(m);
		m->busy = 0;
		q.inflight--;
		m->next_attempt = qmgr_now() + 60;
		return;
	}
	for (i = 0; i < m->env.nrcpt; i++)
		m->state[i] = m->done[i] ? R_SENT : R_PENDING;
	qmsg_deliver(m);
}

static void
qmsg_start(struct qmsg *m)
{
	struct load_job *l = calloc(1, sizeof(*l));

	if (l == NULL)
		return;
	m->busy = 1;
	m->attempts++;
	m->t_start = qmgr_now();
	q.inflight++;
	l->m = m;
	str_lcpy(l->id, m->id, sizeof(l->id));
	l->base.run = load_job_run;
	l->base.done = load_job_done;
	l->base.owner = m;
	workers_submit(q.wl, &l->base);
}

/* destinations */

static struct qdest *
dest_get(const char *key)
{
	struct qdest *d;

	TAILQ_FOREACH (d, &q.dests, entry)
		if (strcmp(d->key, key) == 0)
			return d;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	str_lcpy(d->key, key, sizeof(d->key));
	TAILQ_INIT(&d->waiting);
	LIST_INIT(&d->conns);
	TAILQ_INSERT_TAIL(&q.dests, d, entry);
	return d;
}

/* Every waiting delivery of d ends with this outcome. */
static void
dest_fail_waiting(struct qdest *d, int code, const char *why)
{
	struct qdeliv *v;
	int i;

	while ((v = TAILQ_FIRST(&d->waiting)) != NULL) {
		TAILQ_REMOVE(&d->waiting, v, entry);
		for (i = 0; i < v->n; i++) {
			v->rcode[i] = code;
			str_lcpy(v->rtext[i], why, REPLY_TEXT_MAX);
		}
		deliv_done(v);
	}
}

static void
dest_resolved(struct resolve_result *r, void *arg)
{
	struct qdest *d = arg;
	int h, a;

	d->resolving = 0;
	if (r->status == RESOLVE_NULL_MX || r->status == RESOLVE_NXDOMAIN) {
		char why[REPLY_TEXT_MAX];
		snprintf(why, sizeof(why), "%.250s: %.250s", d->key,
		    r->status == RESOLVE_NULL_MX
			? "the domain accepts no mail (null MX)"
		    : r->why[0] ? r->why
				: "no such domain");
		dest_fail_waiting(d, 550, why);
		return;
	}
	memset(&d->target, 0, sizeof(d->target));
	for (h = 0; r->status == RESOLVE_OK && h < r->nhosts; h++)
		for (a = 0; a < r->hosts[h].naddrs &&
			    d->target.naddrs < DCLIENT_ADDRS_MAX;
		     a++) {
			int k = d->target.naddrs++;
			d->target.addrs[k] = r->hosts[h].addrs[a];
			d->target.lens[k] = r->hosts[h].addrlens[a];
			str_lcpy(d->target.hosts[k], r->hosts[h].name,
			    sizeof(d->target.hosts[k]));
		}
	if (d->target.naddrs == 0) {
		char why[REPLY_TEXT_MAX];
		snprintf(why, sizeof(why),
		    "%.200s: no mail host found (%.200s)", d->key,
		    r->why[0] ? r->why : "DNS failure");
		dest_fail_waiting(d, 451, why);
		return;
	}
	d->target_expires = qmgr_now() + QMGR_RESOLVE_TTL;
	dest_pump(d);
}

static void conn_cb(struct dclient *, enum dclient_event, void *);

static void
conn_free(struct qconn *c)
{
	LIST_REMOVE(c, entry);
	c->d->nconns--;
	q.nconns--;
	if (c->idle)
		event_free(c->idle);
	dclient_close(c->c);
	free(c);
}

static void
conn_idle_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	conn_free(arg);
}

/* At the limit in all: close an idle connection to another destination
 * rather than wait for its idle timer. -1 if none is idle. */
static int
conn_close_idle(struct qdest *want)
{
	struct qdest *d;
	struct qconn *c;

	TAILQ_FOREACH (d, &q.dests, entry) {
		if (d == want)
			continue;
		LIST_FOREACH (c, &d->conns, entry)
			if (c->ready && c->cur == NULL) {
				conn_free(c);
				return 0;
			}
	}
	return -1;
}

static void
conn_send(struct qconn *c, struct qdeliv *v)
{
	if (c->idle)
		evtimer_del(c->idle);
	c->cur = v;
	dclient_send(c->c, &v->txn);
}

static void
dest_pump(struct qdest *d)
{
	struct qconn *c;
	struct qdeliv *v;

	while ((v = TAILQ_FIRST(&d->waiting)) != NULL) {
		LIST_FOREACH (c, &d->conns, entry)
			if (c->ready && c->cur == NULL)
				break;
		if (c != NULL) {
			TAILQ_REMOVE(&d->waiting, v, entry);
			conn_send(c, v);
			continue;
		}
		if (d->nconns >= qmgr_conf()->delivery_conns_per_dest)
			return; /* a connection will free up */
		if (q.nconns >= qmgr_conf()->delivery_conns &&
		    conn_close_idle(d) == -1)
			return;
		/* one connecting connection at a time per destination */
		LIST_FOREACH (c, &d->conns, entry)
			if (!c->ready)
				return;
		if (strcmp(qmgr_conf()->delivery_mode, "smarthost") == 0) {
			d->target = q.smarthost;
		} else if (d->target_expires < qmgr_now()) {
			if (!d->resolving) {
				d->resolving = 1;
				if (resolve_mx(q.res, d->key, dest_resolved, d,
					&d->rhandle) == -1) {
					d->resolving = 0;
					dest_fail_waiting(d, 451,
					    "DNS resolution could not start");
				}
			}
			return;
		}
		if ((c = calloc(1, sizeof(*c))) == NULL)
			return;
		c->d = d;
		c->idle = evtimer_new(q.base, conn_idle_cb, c);
		LIST_INSERT_HEAD(&d->conns, c, entry);
		d->nconns++;
		q.nconns++;
		c->c = dclient_new(q.base,
		    d->target.tls_verify ? q.smarthost_tls : q.tls,
		    qmgr_conf()->hostname, &d->target,
		    strcmp(qmgr_conf()->delivery_mode, "smarthost") == 0
			? q.smarthost_port
			: (int)qmgr_conf()->remote_port,
		    conn_cb, c);
		if (c->c == NULL) {
			conn_free(c);
			return;
		}
	}
}

static void
conn_cb(struct dclient *dc, enum dclient_event ev, void *arg)
{
	struct qconn *c = arg;
	struct qdest *d = c->d;
	struct qdeliv *v = c->cur;
	int i;

	(void)dc;
	switch (ev) {
	case DC_READY:
		c->ready = 1;
		break;
	case DC_TXN_DONE:
		c->cur = NULL;
		for (i = 0; i < v->n; i++) {
			str_lcpy(v->m->host[v->idx[i]], dclient_host(c->c),
			    sizeof(v->m->host[0]));
			str_lcpy(v->m->tls[v->idx[i]], dclient_tls(c->c),
			    sizeof(v->m->tls[0]));
		}
		deliv_done(v);
		break;
	case DC_FAILED:
		/* the connection is gone: its transaction, or if it never
		 * got ready, everything waiting, is deferred (or failed) */
		c->cur = NULL;
		{
			int code = dclient_error_is_temporary(c->c) ? 451 : 550;
			const char *why = dclient_error(c->c);
			if (v) {
				for (i = 0; i < v->n; i++) {
					v->rcode[i] = code;
					str_lcpy(v->rtext[i], why,
					    REPLY_TEXT_MAX);
				}
				deliv_done(v);
			} else if (!c->ready) {
				dest_fail_waiting(d, code, why);
			}
		}
		conn_free(c);
		dest_pump(d);
		return;
	}
	if (TAILQ_EMPTY(&d->waiting)) {
		struct timeval tv = { QMGR_IDLE_KEEP, 0 };
		evtimer_add(c->idle, &tv);
		return;
	}
	dest_pump(d);
}

/* one destination's share of a message */

static void
deliv_free(struct qdeliv *v)
{
	free(v->idx);
	free(v->rcpts);
	free(v->rcode);
	free(v->rtext);
	free(v);
}

static void
deliv_done(struct qdeliv *v)
{
	struct qmsg *m = v->m;
	int i;

	for (i = 0; i < v->n; i++) {
		int k = v->idx[i];
		int code = v->rcode[i];
		m->code[k] = code;
		str_lcpy(m->text[k], v->rtext[i], sizeof(m->text[k]));
		m->state[k] = code / 100 == 2	? R_SENT
			      : code / 100 == 5 ? R_FAILED
						: R_DEFERRED;
	}
	deliv_free(v);
	if (--m->groups == 0)
		qmgr_attempt_end(m);
}

/* capture mode: the signed message into a folder, on a worker */

struct capture_job {
	struct worker_job base;
	struct qmsg *m;
	int rc;
	char err[128];
};

static void
capture_job_run(struct worker_job *j, void *ctx)
{
	struct capture_job *cj = (struct capture_job *)j;
	struct qmsg *m = cj->m;
	char path[CONF_PATH_MAX + 64];
	struct buf b;
	int i;

	(void)ctx;
	/* the envelope as headers a reader can check, then the message */
	buf_init(&b, m->len + 65536);
	buf_printf(&b, "X-Postern-Envelope-From: <%s>\r\n", m->env.from);
	for (i = 0; i < m->env.nrcpt; i++)
		if (m->state[i] == R_INFLIGHT)
			buf_printf(&b, "X-Postern-Envelope-To: <%s>\r\n",
			    m->env.rcpts[i].addr);
	if (buf_append(&b, m->data, m->len) == -1) {
		cj->rc = -1;
		snprintf(cj->err, sizeof(cj->err), "message too large");
		buf_free(&b);
		return;
	}
	if (mkdir(qmgr_conf()->capture_dir, 0700) == -1 && errno != EEXIST) {
		cj->rc = -1;
		snprintf(cj->err, sizeof(cj->err), "%s", strerror(errno));
		buf_free(&b);
		return;
	}
	snprintf(path, sizeof(path), "%s/%s.eml", qmgr_conf()->capture_dir,
	    m->id);
	cj->rc = str_write_file(path, b.data, b.len, 0600);
	if (cj->rc == -1)
		snprintf(cj->err, sizeof(cj->err), "%s", strerror(errno));
	buf_free(&b);
}

static void
capture_job_done(struct worker_job *j)
{
	struct capture_job *cj = (struct capture_job *)j;
	struct qmsg *m = cj->m;
	int i;

	if (q.stopping) {
		free(cj);
		return;
	}
	for (i = 0; i < m->env.nrcpt; i++)
		if (m->state[i] == R_INFLIGHT) {
			m->state[i] = cj->rc == 0 ? R_SENT : R_DEFERRED;
			m->code[i] = cj->rc == 0 ? 250 : 451;
			snprintf(m->text[i], sizeof(m->text[i]), "%s",
			    cj->rc == 0 ? "250 captured" : cj->err);
			str_lcpy(m->host[i], "capture", sizeof(m->host[i]));
			str_lcpy(m->tls[i], "none", sizeof(m->tls[i]));
		}
	free(cj);
	qmgr_attempt_end(m);
}

static const char *
qmgr_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

/* Group the pending recipients by domain and hand each group over. */
static void
qmsg_deliver(struct qmsg *m)
{
	int i, j, smart = strcmp(qmgr_conf()->delivery_mode, "smarthost") == 0;

	for (i = 0; i < m->env.nrcpt; i++)
		if (m->state[i] == R_PENDING)
			m->state[i] = R_INFLIGHT;
	if (strcmp(qmgr_conf()->delivery_mode, "capture") == 0) {
		struct capture_job *cj = calloc(1, sizeof(*cj));
		if (cj == NULL)
			return;
		cj->m = m;
		cj->base.run = capture_job_run;
		cj->base.done = capture_job_done;
		cj->base.owner = m;
		workers_submit(q.wl, &cj->base);
		return;
	}
	m->groups = 1; /* held until every group is handed over */
	for (i = 0; i < m->env.nrcpt; i++) {
		struct qdeliv *v;
		const char *dom;
		char key[ADDR_DOMAIN_MAX + 1];
		if (m->state[i] != R_INFLIGHT || m->code[i] == -1)
			continue;
		dom =
		    smart ? "smarthost" : qmgr_domain_of(m->env.rcpts[i].addr);
		str_lcpy(key, dom, sizeof(key));
		str_ascii_lower(key);
		if ((v = calloc(1, sizeof(*v))) == NULL)
			break;
		v->m = m;
		v->idx = calloc((size_t)m->env.nrcpt, sizeof(int));
		v->rcpts = calloc((size_t)m->env.nrcpt, sizeof(char *));
		v->rcode = calloc((size_t)m->env.nrcpt, sizeof(int));
		v->rtext = calloc((size_t)m->env.nrcpt, sizeof(*v->rtext));
		for (j = i; j < m->env.nrcpt; j++) {
			const char *dj =
			    smart ? "smarthost"
				  : qmgr_domain_of(m->env.rcpts[j].addr);
			if (m->state[j] != R_INFLIGHT || m->code[j] == -1 ||
			    strcasecmp(dj, key) != 0)
				continue;
			m->code[j] = -1; /* grouped */
			v->idx[v->n] = j;
			v->rcpts[v->n] = m->env.rcpts[j].addr;
			v->n++;
		}
		v->txn.from = m->env.from;
		v->txn.nrcpt = v->n;
		v->txn.rcpts = v->rcpts;
		v->txn.data = m->data;
		v->txn.len = m->len;
		v->txn.eightbit = strcmp(m->env.body, "8BITMIME") == 0;
		v->txn.smtputf8 = m->env.smtputf8;
		v->txn.rcpt_code = v->rcode;
		v->txn.rcpt_text = v->rtext;
		m->groups++;
		if ((v->d = dest_get(key)) == NULL) {
			for (j = 0; j < v->n; j++) {
				v->rcode[j] = 451;
				str_lcpy(v->rtext[j], "out of memory",
				    REPLY_TEXT_MAX);
			}
			deliv_done(v);
			continue;
		}
		TAILQ_INSERT_TAIL(&v->d->waiting, v, entry);
		dest_pump(v->d);
	}
	if (--m->groups == 0)
		qmgr_attempt_end(m);
}

/* the end of an attempt: bounce, record, reschedule */

struct commit_job {
	struct worker_job base;
	struct qmsg *m;
	int *finished, nfinished;
	struct bounce_rcpt *failed;
	int nfailed;
	int all_done;
	int nrefused; /* refused by a remote server (5xx) */
	char dsn_id[SPOOL_ID_LEN + 1];
	int rc;
};

static void (*qmgr_refused_fn)(void *, const char *, int);

void
qmgr_on_refused(void (*fn)(void *thread_ctx, const char *login, int n))
{
	qmgr_refused_fn = fn;
}

static void
commit_job_run(struct worker_job *j, void *ctx)
{
	struct commit_job *cj = (struct commit_job *)j;
	struct qmsg *m = cj->m;

	cj->rc = 0;
	if (cj->nrefused > 0 && m->env.auth[0] && qmgr_refused_fn)
		qmgr_refused_fn(ctx, m->env.auth, cj->nrefused);
	if (cj->nfailed > 0) {
		struct spool_env e;
		struct spool_rcpt r;
		struct buf b;
		struct iovec iov;
		buf_init(&b, 1024 * 1024);
		if (bounce_build(&m->env, m->data, m->len, cj->failed,
			cj->nfailed, qmgr_conf()->hostname, qmgr_now(),
			&b) == 0) {
			memset(&e, 0, sizeof(e));
			memset(&r, 0, sizeof(r));
			spool_new_id(e.id);
			e.time = qmgr_now();
			str_lcpy(e.ip, "127.0.0.1", sizeof(e.ip));
			str_lcpy(e.body, "7BIT", sizeof(e.body));
			str_lcpy(r.addr, m->env.from, sizeof(r.addr));
			e.nrcpt = 1;
			e.rcpts = &r;
			iov.iov_base = b.data;
			iov.iov_len = b.len;
			/* the bounce is safe before the failure is marked */
			if (spool_write(&e, &iov, 1) == 0)
				str_lcpy(cj->dsn_id, e.id, sizeof(cj->dsn_id));
			else
				cj->rc = -1;
		} else {
			cj->rc = -1;
		}
		buf_free(&b);
	}
	/* when every recipient is finished, removing the message is the
	 * record: no state file to write and fsync first */
	if (cj->rc == 0 && cj->nfinished > 0 && !cj->all_done &&
	    spool_mark_done(m->id, cj->finished, cj->nfinished) == -1)
		cj->rc = -1;
	if (cj->rc == 0 && cj->all_done)
		spool_remove(m->id);
}

static int64_t
qmgr_backoff(int attempts)
{
	int64_t d = qmgr_conf()->retry_first;
	int i;

	for (i = 1; i < attempts && d < qmgr_conf()->retry_max_interval; i++)
		d *= 2;
	return d < qmgr_conf()->retry_max_interval
		   ? d
		   : qmgr_conf()->retry_max_interval;
}

static void
commit_job_done(struct worker_job *j)
{
	struct commit_job *cj = (struct commit_job *)j;
	struct qmsg *m = cj->m;
	int all = cj->all_done && cj->rc == 0;

	if (cj->dsn_id[0]) {
		struct qmsg *b = qmsg_add(cj->dsn_id);
		char la[LOG_ADDR_MAX];
		(void)b;
		log_info("queue.bounce queue=%s dsn=%s to=<%s>", m->id,
		    cj->dsn_id, log_addr(la, sizeof(la), m->env.from));
	}
	free(cj->finished);
	free(cj->failed);
	free(cj);
	q.inflight--;
	if (all) {
		log_info("queue.done queue=%s", m->id);
		qmsg_free(m);
	} else {
		qmsg_unload(m);
		m->busy = 0;
		m->next_attempt = qmgr_now() + qmgr_backoff(m->attempts);
	}
	qmgr_pass();
}

static void
qmgr_attempt_end(struct qmsg *m)
{
	struct commit_job *cj = calloc(1, sizeof(*cj));
	int64_t now = qmgr_now();
	int expired = now - m->env.time > qmgr_conf()->queue_max_age;
	int i, remaining = 0;

	if (cj == NULL || q.stopping) {
		/* stopping: the outcome is not recorded, the next start
		 * tries again (at worst a duplicate, never a loss) */
		free(cj);
		return;
	}
	cj->m = m;
	cj->finished = calloc((size_t)m->env.nrcpt, sizeof(int));
	cj->failed = calloc((size_t)m->env.nrcpt, sizeof(*cj->failed));
	for (i = 0; i < m->env.nrcpt; i++) {
		char quoted[4 * REPLY_TEXT_MAX];
		char la[LOG_ADDR_MAX];
		const char *result;
		if (m->state[i] == R_DEFERRED && expired) {
			char t[REPLY_TEXT_MAX];
			snprintf(t, sizeof(t),
			    "delivery time expired; last "
			    "error: %.400s",
			    m->text[i]);
			str_lcpy(m->text[i], t, sizeof(m->text[i]));
			m->state[i] = R_FAILED;
			m->code[i] = 0;
			result = "expired";
		} else {
			result = m->state[i] == R_SENT	     ? "sent"
				 : m->state[i] == R_FAILED   ? "bounced"
				 : m->state[i] == R_DEFERRED ? "deferred"
							     : NULL;
		}
		if (m->done[i] || result == NULL)
			continue;
		log_info("delivery.attempt queue=%s to=<%s> host=%s tls=%s "
			 "reply=\"%s\" delay=%llds result=%s",
		    m->id, log_addr(la, sizeof(la), m->env.rcpts[i].addr),
		    m->host[i][0] ? m->host[i] : "-",
		    m->tls[i][0] ? m->tls[i] : "none",
		    log_quote(quoted, sizeof(quoted), m->text[i],
			strlen(m->text[i])),
		    (long long)(now - m->env.time), result);
		if (m->state[i] == R_SENT || m->state[i] == R_FAILED)
			cj->finished[cj->nfinished++] = i;
		else
			remaining++;
		if (m->state[i] == R_FAILED && m->code[i] >= 500)
			cj->nrefused++;
		if (m->state[i] == R_FAILED && m->env.from[0] != '\0' &&
		    bounce_wanted(&m->env.rcpts[i])) {
			struct bounce_rcpt *b = &cj->failed[cj->nfailed++];
			b->addr = m->env.rcpts[i].addr;
			b->orcpt = m->env.rcpts[i].orcpt;
			b->remote =
			    m->host[i][0] && m->code[i] ? m->host[i] : "";
			b->diag = m->text[i];
			b->code = m->code[i] > 0 ? m->code[i] : 0;
		}
	}
	cj->all_done = remaining == 0;
	cj->base.run = commit_job_run;
	cj->base.done = commit_job_done;
	cj->base.owner = m;
	workers_submit(q.wl, &cj->base);
}

/* scheduling */

static void
qmgr_take_incoming(void)
{
	json_t *ids, *v;
	size_t i;
	int flush;

	pthread_mutex_lock(&q.mu);
	ids = q.incoming;
	q.incoming = json_array();
	flush = q.flush;
	q.flush = 0;
	pthread_mutex_unlock(&q.mu);
	json_array_foreach (ids, i, v)
		qmsg_add(json_string_value(v));
	json_decref(ids);
	if (flush) {
		struct qmsg *m;
		json_t *all = spool_ids();
		json_array_foreach (all, i, v)
			qmsg_add(json_string_value(v));
		json_decref(all);
		TAILQ_FOREACH (m, &q.msgs, entry)
			m->next_attempt = qmgr_now();
	}
}

static void
qmgr_pass(void)
{
	struct qmsg *m;
	int64_t now = qmgr_now();

	if (q.stopping)
		return;
	TAILQ_FOREACH (m, &q.msgs, entry) {
		if (q.inflight >= QMGR_INFLIGHT_MAX)
			break;
		if (!m->busy && m->next_attempt <= now)
			qmsg_start(m);
	}
}

static void
qmgr_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	uint64_t v;

	(void)what;
	(void)arg;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	qmgr_take_incoming();
	qmgr_pass();
}

static void
qmgr_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	qmgr_pass();
}

static void
qmgr_wake(void)
{
	uint64_t one = 1;

	if (write(q.efd, &one, sizeof(one)) < 0)
		log_warnx("queue.wake error=\"%s\"", strerror(errno));
}

void
qmgr_notify(const char *id)
{
	pthread_mutex_lock(&q.mu);
	if (q.incoming)
		json_array_append_new(q.incoming, json_string(id));
	pthread_mutex_unlock(&q.mu);
	qmgr_wake();
}

void
qmgr_flush(void)
{
	pthread_mutex_lock(&q.mu);
	q.flush = 1;
	pthread_mutex_unlock(&q.mu);
	qmgr_wake();
}

static void *
qmgr_main(void *arg)
{
	(void)arg;
	event_base_dispatch(q.base);
	return NULL;
}

/*
 * The smarthost is a server we choose and may send a password to: its
 * certificate is checked (chain against smarthost_ca or the system's
 * CAs, name against the configured host, in dclient), unless the
 * operator says smarthost_tls = none. MX delivery stays opportunistic
 * with q.tls.
 */
static int
qmgr_smarthost_tls(const struct conf *c)
{
	const char *ca = c->smarthost_ca;

	if (strcmp(c->smarthost_tls, "none") == 0) {
		/* a password goes only to a server whose certificate we
		 * checked: unchecked TLS would hand it to whoever answers */
		if (c->smarthost_user[0]) {
			log_warnx("queue.start smarthost_tls=none "
				  "error=\"smarthost_user is set: a password "
				  "is sent only over verified TLS (set "
				  "smarthost_ca for a private CA, or remove "
				  "smarthost_user)\"");
			return -1;
		}
		return 0;
	}
	if ((q.smarthost_tls = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	SSL_CTX_set_verify(q.smarthost_tls, SSL_VERIFY_PEER, NULL);
	SSL_CTX_set_min_proto_version(q.smarthost_tls, TLS1_2_VERSION);
	SSL_CTX_set_mode(q.smarthost_tls, SSL_MODE_RELEASE_BUFFERS);
	if (ca[0]
		? SSL_CTX_load_verify_locations(q.smarthost_tls, ca, NULL) != 1
		: SSL_CTX_set_default_verify_paths(q.smarthost_tls) != 1) {
		log_warnx("queue.start smarthost_ca=%s error=\"cannot load CA "
			  "certificates\"",
		    ca[0] ? ca : "(system)");
		return -1;
	}
	q.smarthost.tls_verify = 1;
	return 0;
}

static int
qmgr_smarthost(const char *spec)
{
	char host[256], *colon;
	struct addrinfo hints, *res, *ai;
	int port = 25;

	str_lcpy(host, spec, sizeof(host));
	if ((colon = strrchr(host, ':')) != NULL &&
	    strchr(colon, ']') == NULL) {
		*colon = '\0';
		port = atoi(colon + 1);
	}
	if (host[0] == '[' && host[strlen(host) - 1] == ']') {
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}
	if (port < 1 || port > 65535 || host[0] == '\0')
		return -1;
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, NULL, &hints, &res) != 0)
		return -1;
	q.smarthost.naddrs = 0;
	for (ai = res; ai && q.smarthost.naddrs < DCLIENT_ADDRS_MAX;
	     ai = ai->ai_next) {
		int k = q.smarthost.naddrs++;
		memcpy(&q.smarthost.addrs[k], ai->ai_addr, ai->ai_addrlen);
		q.smarthost.lens[k] = ai->ai_addrlen;
		str_lcpy(q.smarthost.hosts[k], host,
		    sizeof(q.smarthost.hosts[k]));
	}
	freeaddrinfo(res);
	q.smarthost_port = port;
	return 0;
}

int
qmgr_start(void)
{
	const struct conf *conf = conf_current();
	struct timeval tv = { 1, 0 };
	char err[256];
	json_t *ids, *v;
	size_t i;

	memset(&q, 0, sizeof(q));
	TAILQ_INIT(&q.msgs);
	TAILQ_INIT(&q.dests);
	pthread_mutex_init(&q.mu, NULL);
	q.incoming = json_array();
	if ((q.base = event_base_new()) == NULL ||
	    (q.wl = workers_loop_new(q.base)) == NULL)
		return -1;
	if ((q.res = resolver_new(q.base, conf->dns_servers, err,
		 sizeof(err))) == NULL) {
		log_warnx("queue.start dns=\"%s\" error=\"%s\"",
		    conf->dns_servers, err);
		return -1;
	}
	if (strcmp(conf->delivery_mode, "smarthost") == 0 &&
	    qmgr_smarthost(conf->smarthost) == -1) {
		log_warnx("queue.start smarthost=\"%s\" error=\"cannot "
			  "resolve HOST:PORT\"",
		    conf->smarthost);
		return -1;
	}
	if (conf->smarthost_user[0]) {
		/* the password comes from a file, never the config */
		char *pw = str_read_file(conf->smarthost_password_file,
		    SECRET_MAX, NULL);
		if (pw == NULL) {
			log_warnx("queue.start smarthost_password_file=%s "
				  "error=\"%s\"",
			    conf->smarthost_password_file, strerror(errno));
			return -1;
		}
		pw[strcspn(pw, "\r\n")] = '\0';
		str_lcpy(q.smarthost_pass, pw, sizeof(q.smarthost_pass));
		sodium_memzero(pw, strlen(pw));
		free(pw);
		q.smarthost.auth_user = conf->smarthost_user;
		q.smarthost.auth_pass = q.smarthost_pass;
	}
	q.tls = SSL_CTX_new(TLS_client_method());
	if (q.tls == NULL)
		return -1;
	/* opportunistic TLS (RFC 3207): encrypt whenever offered */
	SSL_CTX_set_verify(q.tls, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_mode(q.tls, SSL_MODE_RELEASE_BUFFERS);
	if (strcmp(conf->delivery_mode, "smarthost") == 0 &&
	    qmgr_smarthost_tls(conf) == -1)
		return -1;
	if ((q.efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1)
		return -1;
	q.wake =
	    event_new(q.base, q.efd, EV_READ | EV_PERSIST, qmgr_wake_cb, NULL);
	q.tick = event_new(q.base, -1, EV_PERSIST, qmgr_tick_cb, NULL);
	event_add(q.wake, NULL);
	event_add(q.tick, &tv);
	ids = spool_ids();
	json_array_foreach (ids, i, v)
		qmsg_add(json_string_value(v));
	log_info("queue.start messages=%zu mode=%s", json_array_size(ids),
	    conf->delivery_mode);
	json_decref(ids);
	qmgr_pass();
	return pthread_create(&q.thread, NULL, qmgr_main, NULL) == 0 ? 0 : -1;
}

static void
qmgr_stop_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	event_base_loopexit(q.base, NULL);
}

void
qmgr_stop(void)
{
	if (q.base == NULL)
		return;
	q.stopping = 1;
	event_base_once(q.base, -1, EV_TIMEOUT, qmgr_stop_cb, NULL, NULL);
	qmgr_wake();
	pthread_join(q.thread, NULL);
}

/* After the workers stopped: free what is left (no callbacks run). */
void
qmgr_free(void)
{
	struct qdest *d;
	struct qmsg *m;

	if (q.base == NULL)
		return;
	event_base_loop(q.base, EVLOOP_NONBLOCK);
	while ((d = TAILQ_FIRST(&q.dests)) != NULL) {
		struct qconn *c;
		struct qdeliv *v;
		while ((c = LIST_FIRST(&d->conns)) != NULL) {
			if (c->cur)
				deliv_free(c->cur);
			conn_free(c);
		}
		while ((v = TAILQ_FIRST(&d->waiting)) != NULL) {
			TAILQ_REMOVE(&d->waiting, v, entry);
			deliv_free(v);
		}
		if (d->resolving)
			resolver_cancel(q.res, d->rhandle);
		TAILQ_REMOVE(&q.dests, d, entry);
		free(d);
	}
	while ((m = TAILQ_FIRST(&q.msgs)) != NULL)
		qmsg_free(m);
	resolver_free(q.res);
	event_free(q.wake);
	event_free(q.tick);
	close(q.efd);
	workers_loop_free(q.wl);
	event_base_free(q.base);
	SSL_CTX_free(q.tls);
	SSL_CTX_free(q.smarthost_tls);
	q.smarthost_tls = NULL;
	json_decref(q.incoming);
	q.base = NULL;
}
