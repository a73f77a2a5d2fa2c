/*
 * destinations: where the queue's mail goes (a recipient domain,
 * "smarthost", or "lmtp:SPEC": the mailboxes, Dovecot's LMTP service),
 * each interned once in a hash by key. A destination has
 * its own waiting deliveries, connections (reused, idle for 5 s) and
 * resolved hosts, so a dead one only delays its own mail. One that
 * fails to resolve or connect (temporarily) is marked down with its last
 * error until a retry time: its messages are deferred without being
 * loaded or signed, and parked on it; then a bare connection probes it,
 * and when one gets ready its parked messages are scheduled at once.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/socket.h>
#include <sys/un.h>

#include <sodium.h>

#include "qmgr_int.h"
#include "../tlspolicy/dane.h"
#include "../tlspolicy/tlsrpt.h"
#include "../util/log.h"
#include "../util/str.h"

static void dest_pump(struct qdest *);
static void conn_cb(struct dclient *, enum dclient_event, void *);

int
dest_init(void)
{
	TAILQ_INIT(&q.dests);
	q.ndbuckets = 256;
	q.dbuckets = calloc(q.ndbuckets, sizeof(*q.dbuckets));
	return q.dbuckets ? 0 : -1;
}

static void
dest_grow(void)
{
	struct qdest **b, *d;
	size_t nb = q.ndbuckets * 2;

	if ((b = calloc(nb, sizeof(*b))) == NULL)
		return; /* longer chains, still correct */
	TAILQ_FOREACH (d, &q.dests, entry) {
		d->hnext = b[(size_t)str_hash(d->key) & (nb - 1)];
		b[(size_t)str_hash(d->key) & (nb - 1)] = d;
	}
	free(q.dbuckets);
	q.dbuckets = b;
	q.ndbuckets = nb;
}

static void
dest_probe_cb(evutil_socket_t fd, short what, void *arg)
{
	struct qdest *d = arg;

	(void)fd;
	(void)what;
	/* nobody waits: the next message for it probes by its attempt */
	if (!TAILQ_EMPTY(&d->parked) && !d->probing) {
		d->probing = 1;
		dest_pump(d);
	}
}

/* The destination of this key (lower case), made on first use. */
struct qdest *
dest_get(const char *key)
{
	struct qdest *d;
	size_t h = (size_t)str_hash(key) & (q.ndbuckets - 1);

	for (d = q.dbuckets[h]; d; d = d->hnext)
		if (strcmp(d->key, key) == 0)
			return d;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	if ((d->probe_ev = evtimer_new(q.base, dest_probe_cb, d)) == NULL) {
		free(d);
		return NULL;
	}
	str_lcpy(d->key, key, sizeof(d->key));
	d->lmtp = strncmp(key, "lmtp:", 5) == 0;
	TAILQ_INIT(&d->waiting);
	TAILQ_INIT(&d->parked);
	LIST_INIT(&d->conns);
	d->hnext = q.dbuckets[h];
	q.dbuckets[h] = d;
	TAILQ_INSERT_TAIL(&q.dests, d, entry);
	if (++q.ndests > q.ndbuckets)
		dest_grow();
	return d;
}

/*
 * DEST_OK: deliver to it now. DEST_DOWN: it failed, wait (its probe
 * starts here once due). DEST_TRYING: a first connection (or a probe) is
 * under way: wait for it rather than load and sign for nothing.
 */
enum qdest_avail
dest_avail(struct qdest *d, int64_t now)
{
	if (d->down) {
		if (now >= d->down_until && !d->probing) {
			d->probing = 1;
			dest_pump(d);
		}
		return d->probing ? DEST_TRYING : DEST_DOWN;
	}
	if (!d->ever_ready && now < d->trying_until)
		return DEST_TRYING;
	return DEST_OK;
}

static struct qdest *
dest_smarthost(void)
{
	return dest_get("smarthost");
}

enum qdest_avail
qmsg_dests_avail(struct qmsg *m, int64_t now, int claim, struct qdest **wait_on)
{
	enum qdest_avail a, best = DEST_DOWN;
	struct qdest *one;
	int i, n, smart;

	*wait_on = NULL;
	/* the smarthost, until a load told (it may be the mailboxes too) */
	smart = conf_current()->delivery_mode == CONF_DELIVERY_SMARTHOST &&
		!m->dests_known;
	n = smart ? 1 : m->ndests;
	for (i = 0; i < n; i++) {
		one = smart ? dest_smarthost() : m->dests[i];
		if (one == NULL)
			return DEST_OK; /* out of memory: try the normal way */
		if ((a = dest_avail(one, now)) == DEST_OK) {
			/* the first message to an untried destination goes
			 * alone: the others wait for its connection */
			if (claim && !one->ever_ready && one->trying_until == 0)
				one->trying_until = now + QMGR_TRY_MAX;
			return DEST_OK;
		}
		/* wait on one that is being tried, if any: it may come back
		 * soonest */
		if (*wait_on == NULL || a < best) {
			*wait_on = one;
			best = a;
		}
	}
	return n == 0 ? DEST_OK : best;
}

/* The message that was to try d first gave up before any connection
 * (held, deleted, unreadable): the next one parked on d tries. */
static void
dest_release_try(struct qdest *d)
{
	struct qmsg *m;

	if (d == NULL || d->ever_ready || d->down || d->nconns > 0 ||
	    !TAILQ_EMPTY(&d->waiting) || d->trying_until == 0)
		return;
	d->trying_until = 0;
	if ((m = TAILQ_FIRST(&d->parked)) != NULL) {
		qmsg_unpark(m);
		if (!m->busy)
			qmsg_schedule(m, qmgr_now());
	}
}

void
qmsg_release_tries(struct qmsg *m)
{
	int i;

	if (conf_current()->delivery_mode == CONF_DELIVERY_SMARTHOST &&
	    !m->dests_known)
		dest_release_try(dest_smarthost());
	else
		for (i = 0; m->dests_known && i < m->ndests; i++)
			dest_release_try(m->dests[i]);
}

void
dest_park(struct qdest *d, struct qmsg *m)
{
	qmsg_unpark(m);
	m->parked = d;
	TAILQ_INSERT_TAIL(&d->parked, m, park);
}

void
qmsg_unpark(struct qmsg *m)
{
	if (m->parked) {
		TAILQ_REMOVE(&m->parked->parked, m, park);
		m->parked = NULL;
	}
}

/* It answered: every message parked on it is due now. */
static void
dest_up(struct qdest *d)
{
	struct qmsg *m;
	int64_t now = qmgr_now();
	int n = 0;

	if (d->down)
		log_info("queue.dest_up dest=%s", d->key);
	d->ever_ready = 1;
	d->down = d->fails = d->probing = 0;
	d->why[0] = '\0';
	evtimer_del(d->probe_ev);
	while ((m = TAILQ_FIRST(&d->parked)) != NULL) {
		qmsg_unpark(m);
		if (!m->busy)
			qmsg_schedule(m, now);
		n++;
	}
	if (n > 0)
		qmgr_pass();
}

static void
dest_down(struct qdest *d, const char *why)
{
	int64_t now = qmgr_now(), wait;
	struct timeval tv;

	d->probing = 0;
	d->fails++;
	wait = qmgr_backoff(d->fails);
	d->down_until = now + wait;
	str_lcpy(d->why, why, sizeof(d->why));
	if (!d->down) {
		struct qmsg *m;
		log_info("queue.dest_down dest=%s retry=%llds error=\"%s\"",
		    d->key, (long long)wait, why);
		/* the messages that waited for this first answer are due
		 * now: each is read once and its recipients deferred with
		 * this error in the log, then parked until the probe */
		d->down = 1;
		while ((m = TAILQ_FIRST(&d->parked)) != NULL) {
			qmsg_unpark(m);
			if (!m->busy)
				qmsg_schedule(m, now);
		}
	}
	d->down = 1;
	tv.tv_sec = (time_t)wait;
	tv.tv_usec = 0;
	evtimer_add(d->probe_ev, &tv);
}

/* flush: the operator says try again now */
void
dest_reset_all(void)
{
	struct qdest *d;
	struct qmsg *m;

	TAILQ_FOREACH (d, &q.dests, entry) {
		d->down = d->fails = 0;
		d->trying_until = 0;
		evtimer_del(d->probe_ev);
		while ((m = TAILQ_FIRST(&d->parked)) != NULL)
			qmsg_unpark(m);
	}
}

/* Every waiting delivery of d ends with this outcome. */
static void
dest_fail_waiting(struct qdest *d, int code, const char *why)
{
	struct qdeliv *v;
	struct qconn *c;
	int i, alive = 0;

	LIST_FOREACH (c, &d->conns, entry)
		alive |= c->ready;
	/* one more connection refused by a destination that serves others
	 * is not a destination down */
	if (code / 100 == 4 && !alive)
		dest_down(d, why);
	else
		d->probing = 0;
	while ((v = TAILQ_FIRST(&d->waiting)) != NULL) {
		TAILQ_REMOVE(&d->waiting, v, entry);
		for (i = 0; i < v->n; i++) {
			v->rcode[i] = code;
			str_lcpy(v->rtext[i], why, REPLY_TEXT_MAX);
		}
		deliv_done(v);
	}
	if (code / 100 != 4 && !TAILQ_EMPTY(&d->parked))
		dest_up(d); /* a permanent answer: let each find out */
}

/* One share of an attempt for d: waits for a connection, or fails at
 * once with d's last error if d is down. */
void
dest_submit(struct qdeliv *v)
{
	struct qdest *d = v->d;
	int i;

	if (dest_avail(d, qmgr_now()) == DEST_DOWN) {
		for (i = 0; i < v->n; i++) {
			v->rcode[i] = 451;
			str_lcpy(v->rtext[i], d->why, REPLY_TEXT_MAX);
		}
		deliv_done(v);
		return;
	}
	if (!d->ever_ready && d->trying_until == 0)
		d->trying_until = qmgr_now() + QMGR_TRY_MAX;
	TAILQ_INSERT_TAIL(&d->waiting, v, entry);
	dest_pump(d);
}

/* Let go of the target's TLSA references (before it is replaced). */
static void
dest_target_clear(struct qdest *d)
{
	int k;

	for (k = 0; k < d->target.naddrs && k < DCLIENT_ADDRS_MAX; k++)
		tlsa_set_unref(d->target.tlsa[k]);
	memset(&d->target, 0, sizeof(d->target));
}

/*
 * The TLS policy is in: each address takes its host's mode (and DANE
 * records); the hosts it excludes (not in an enforced MTA-STS policy, a
 * TLSA look-up failed) are dropped. None left: the mail waits, never
 * sent in clear.
 */
static void
dest_policy_cb(struct tlspol *pol, void *arg)
{
	struct qdest *d = arg;
	char why[REPLY_TEXT_MAX] = "";
	int k, n = 0;

	d->plookup = NULL;
	d->resolving = 0;
	if (pol == NULL) {
		dest_target_clear(d);
		dest_fail_waiting(d, 451, "TLS policy look-up failed");
		return;
	}
	tlspol_unref(d->pol);
	d->pol = pol;
	if (pol->sts_failure != TLSRPT_SUCCESS) {
		/* the domain published a policy that could not be had */
		struct tlsrpt_policy rp = { TLSRPT_POLICY_STS, d->key, 0, NULL,
			0, NULL };
		struct tlsrpt_session rs = { NULL, NULL, NULL, pol->sts_failure,
			pol->sts_why };
		tlsrpt_record(&rp, &rs, qmgr_now());
	}
	for (k = 0; k < d->target.naddrs; k++) {
		const struct tlspol_host *h =
		    tlspol_host(pol, d->target.hosts[k]);
		if (h && h->excluded) {
			if (why[0] == '\0')
				snprintf(why, sizeof(why), "%.250s: %.120s",
				    h->name, h->why);
			continue;
		}
		if (n != k) {
			d->target.addrs[n] = d->target.addrs[k];
			d->target.lens[n] = d->target.lens[k];
			memcpy(d->target.hosts[n], d->target.hosts[k],
			    sizeof(d->target.hosts[n]));
		}
		d->target.tlsmode[n] =
		    (unsigned char)(h ? h->mode : DCLIENT_TLS_OPPORTUNISTIC);
		d->target.tlsa[n] = h ? tlsa_set_ref(h->tlsa) : NULL;
		n++;
	}
	d->target.naddrs = n;
	if (n == 0) {
		log_info("queue.tls_policy dest=%s error=\"%s\"", d->key, why);
		dest_fail_waiting(d, 451, why);
		return;
	}
	d->target_expires = qmgr_now() + QMGR_RESOLVE_TTL;
	dest_pump(d);
}

static void
dest_resolved(struct resolve_result *r, void *arg)
{
	struct qdest *d = arg;
	int h, a;

	d->resolving = 0;
	dest_target_clear(d);
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
	/* DANE and MTA-STS: looked up now that the hosts are known */
	if (q.tlspol != NULL) {
		d->resolving = 1;
		if ((d->plookup = tlspol_find(q.tlspol, d->key, r,
			 dest_policy_cb, d)) == NULL) {
			d->resolving = 0;
			dest_target_clear(d);
			dest_fail_waiting(d, 451,
			    "TLS policy look-up could not start");
		}
		return;
	}
	d->target_expires = qmgr_now() + QMGR_RESOLVE_TTL;
	dest_pump(d);
}

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
		if (d == want || d->nconns == 0)
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
	evtimer_del(c->idle);
	c->cur = v;
	dclient_send(c->c, &v->txn);
}

/* A new connection to d; -1 if none could be made now. */
static int
conn_open(struct qdest *d)
{
	const struct conf *cf = qmgr_conf();
	int smart = cf->delivery_mode == CONF_DELIVERY_SMARTHOST && !d->lmtp;
	SSL_CTX *tls;
	struct qconn *c;

	if (d->lmtp) {
		d->target = q.lmtp;
	} else if (smart) {
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
		return -1;
	}
	if ((c = calloc(1, sizeof(*c))) == NULL)
		return -1;
	if ((c->idle = evtimer_new(q.base, conn_idle_cb, c)) == NULL) {
		free(c);
		return -1;
	}
	c->d = d;
	LIST_INSERT_HEAD(&d->conns, c, entry);
	d->nconns++;
	q.nconns++;
	/* no TLS on a UNIX socket; TCP to Dovecot like an MX, if offered */
	tls = d->target.tls_verify ? q.smarthost_tls : q.tls;
	{
		int k;
		for (k = 0; k < d->target.naddrs; k++)
			if (d->target.tlsmode[k] != DCLIENT_TLS_OPPORTUNISTIC)
				tls = q.verify_tls;
	}
	if (d->lmtp && d->target.naddrs > 0 &&
	    d->target.addrs[0].ss_family == AF_UNIX)
		tls = NULL;
	c->c = dclient_new(q.base, tls, cf->hostname, &d->target,
	    d->lmtp ? q.lmtp_port
	    : smart ? q.smarthost_port
		    : (int)cf->remote_port,
	    conn_cb, c);
	if (c->c == NULL) {
		conn_free(c);
		return -1;
	}
	return 0;
}

static void
dest_pump(struct qdest *d)
{
	struct qconn *c;
	struct qdeliv *v;

	/* a probe: one bare connection, no message loaded for it */
	if (d->probing && d->nconns == 0 && TAILQ_EMPTY(&d->waiting)) {
		/* not even started (out of memory): the next message tries */
		if (conn_open(d) == -1 && !d->resolving && d->nconns == 0)
			d->probing = 0;
		return;
	}
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
		if (conn_open(d) == -1)
			return;
	}
}

/*
 * TLS reports (RFC 8460): each TLS session to a remote MX (not the
 * smarthost, not the mailboxes), as the client judged it (DC_SESSION:
 * TLS up and the policy met, no STARTTLS, or the policy's failure), is
 * counted under the policy its host ran under: DANE's TLSA records,
 * the MTA-STS policy, or none found.
 */
static void
conn_tlsrpt(struct qconn *c)
{
	const struct dclient_session *ds = dclient_session(c->c);
	const char *mx[MTASTS_MX_MAX];
	char peer[64], local[64];
	struct tlsrpt_policy pol = { TLSRPT_POLICY_NONE, c->d->key, 0, NULL, 0,
		NULL };
	struct tlsrpt_session s = { ds->host, ds->ip, NULL, ds->result,
		ds->detail && ds->detail[0] ? ds->detail : NULL };

	if (c->d->lmtp || strcmp(c->d->key, "smarthost") == 0)
		return;
	if (c->d->pol)
		tlspol_report_policy(c->d->pol, ds->host, &pol, mx,
		    MTASTS_MX_MAX);
	if (dclient_addrs(c->c, peer, sizeof(peer), local, sizeof(local)) ==
	    0) {
		s.receiving_ip = peer;
		s.sending_ip = local;
	}
	tlsrpt_record(&pol, &s, qmgr_now());
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
		if (d->down || d->probing || !d->ever_ready ||
		    !TAILQ_EMPTY(&d->parked))
			dest_up(d);
		break;
	case DC_SESSION:
		conn_tlsrpt(c);
		return; /* the connection goes on by itself */
	case DC_TXN_DONE:
		c->cur = NULL;
		for (i = 0; i < v->n; i++) {
			struct qrcpt *r = &v->m->ld->r[v->idx[i]];
			str_lcpy(r->host, dclient_host(c->c), sizeof(r->host));
			str_lcpy(r->tls, dclient_tls(c->c), sizeof(r->tls));
			str_lcpy(r->tls_policy, dclient_tls_policy(c->c),
			    sizeof(r->tls_policy));
			r->tls_verified = dclient_tls_verified(c->c);
		}
		deliv_done(v);
		break;
	case DC_FAILED:
		/* the connection is gone: its transaction, or if it never
		 * got ready, everything waiting, is deferred (or failed) */
		c->cur = NULL;
		{
			/* the mailboxes' server refusing (or down) is never
			 * a reason to bounce: the mail waits for it */
			int code = dclient_error_is_temporary(c->c) || d->lmtp
				       ? 451
				       : 550;
			char why[REPLY_TEXT_MAX];
			str_lcpy(why, dclient_error(c->c), sizeof(why));
			if (v) {
				for (i = 0; i < v->n; i++) {
					v->rcode[i] = code;
					str_lcpy(v->rtext[i], why,
					    REPLY_TEXT_MAX);
				}
				deliv_done(v);
			} else if (!c->ready) {
				conn_free(c);
				dest_fail_waiting(d, code, why);
				dest_pump(d);
				return;
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

void
dest_free_all(void)
{
	struct qdest *d;

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
		tlspol_cancel(d->plookup);
		tlspol_unref(d->pol);
		if (!d->lmtp && strcmp(d->key, "smarthost") != 0)
			dest_target_clear(d);
		TAILQ_REMOVE(&q.dests, d, entry);
		event_free(d->probe_ev);
		free(d);
	}
	free(q.dbuckets);
	q.dbuckets = NULL;
}

const char *
qmgr_domain_of(const char *addr)
{
	const char *at = strrchr(addr, '@');

	return at ? at + 1 : "";
}

/*
 * The smarthost is a server we choose and may send a password to: its
 * certificate is checked (chain against smarthost_ca or the system's
 * CAs, name against the configured host, in dclient), unless the
 * operator says smarthost_tls = none. MX delivery stays opportunistic
 * with q.tls.
 */
static int
dest_smarthost_tls(const struct conf *c)
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

/* HOST[:PORT] ([v6][:PORT]) into t's addresses (resolved now, at
 * start) and *port; -1 if it does not resolve. */
static int
dest_hostport(const char *spec, struct dclient_target *t, int *portp)
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
	t->naddrs = 0;
	for (ai = res; ai && t->naddrs < DCLIENT_ADDRS_MAX; ai = ai->ai_next) {
		int k;
		if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
			continue;
		k = t->naddrs++;
		memcpy(&t->addrs[k], ai->ai_addr, ai->ai_addrlen);
		t->lens[k] = ai->ai_addrlen;
		str_lcpy(t->hosts[k], host, sizeof(t->hosts[k]));
	}
	freeaddrinfo(res);
	*portp = port;
	return t->naddrs > 0 ? 0 : -1;
}

static int
dest_smarthost_addr(const char *spec)
{
	return dest_hostport(spec, &q.smarthost, &q.smarthost_port);
}

/*
 * [mailbox] lmtp, at start: "unix:/PATH" or HOST:PORT (checked by the
 * config's parser), the destination "lmtp:SPEC" of every recipient
 * with a mailbox here. A host name is resolved now, like the
 * smarthost's; a change of the setting takes a restart.
 */
int
dest_lmtp_setup(const struct conf *c)
{
	const char *spec = c->mailbox_lmtp;
	struct dclient_target *t = &q.lmtp;

	memset(t, 0, sizeof(*t));
	q.lmtp_key[0] = '\0';
	if (spec[0] == '\0')
		return 0;
	if (strlen(spec) + 5 >= sizeof(q.lmtp_key)) {
		log_warnx("queue.start lmtp=\"%.200s\" error=\"too long\"",
		    spec);
		return -1;
	}
	if (strncmp(spec, "unix:", 5) == 0) {
		struct sockaddr_un *sun = (struct sockaddr_un *)&t->addrs[0];
		if (strlen(spec + 5) >= sizeof(sun->sun_path))
			return -1;
		sun->sun_family = AF_UNIX;
		str_lcpy(sun->sun_path, spec + 5, sizeof(sun->sun_path));
		t->lens[0] =
		    (socklen_t)(offsetof(struct sockaddr_un, sun_path) +
				strlen(sun->sun_path) + 1);
		str_lcpy(t->hosts[0], spec, sizeof(t->hosts[0]));
		t->naddrs = 1;
		q.lmtp_port = 0;
	} else if (dest_hostport(spec, t, &q.lmtp_port) == -1) {
		log_warnx("queue.start lmtp=\"%s\" error=\"cannot resolve "
			  "HOST:PORT\"",
		    spec);
		return -1;
	}
	t->lmtp = 1;
	memcpy(q.lmtp_key, "lmtp:", 5);
	str_lcpy(q.lmtp_key + 5, spec, sizeof(q.lmtp_key) - 5);
	return 0;
}

/*
 * DANE and MTA-STS for MX delivery, at start: the verifying context (the
 * [delivery] tls_ca CAs, else the system's; TLS 1.2 at least, as RFC
 * 8461 and 7672 ask), and the policy look-ups, whose MTA-STS policies are
 * kept in DATA_DIR/mta-sts across restarts (RFC 8461 5.1).
 */
int
dest_tlspol_setup(const struct conf *c)
{
	struct tlspol_settings set;
	char dir[CONF_PATH_MAX + 16];
	const char *ca = c->delivery_tls_ca;

	if (c->delivery_mode != CONF_DELIVERY_MX)
		return 0;
	memset(&set, 0, sizeof(set));
	set.dane =
	    strcmp(c->delivery_dane, "on") == 0 ||
	    (strcmp(c->delivery_dane, "auto") == 0 && resolver_is_local(q.res));
	set.mta_sts = strcmp(c->delivery_mta_sts, "on") == 0;
	log_info("queue.tls dane=%s mta_sts=%s", set.dane ? "on" : "off",
	    set.mta_sts ? "on" : "off");
	if (!set.dane && !set.mta_sts)
		return 0;
	if ((q.verify_tls = SSL_CTX_new(TLS_client_method())) == NULL)
		return -1;
	SSL_CTX_set_verify(q.verify_tls, SSL_VERIFY_NONE, NULL);
	SSL_CTX_set_min_proto_version(q.verify_tls, TLS1_2_VERSION);
	SSL_CTX_set_mode(q.verify_tls, SSL_MODE_RELEASE_BUFFERS);
	if (ca[0] ? SSL_CTX_load_verify_locations(q.verify_tls, ca, NULL) != 1
		  : SSL_CTX_set_default_verify_paths(q.verify_tls) != 1) {
		log_warnx("queue.start tls_ca=%s error=\"cannot load CA "
			  "certificates\"",
		    ca[0] ? ca : "(system)");
		return -1;
	}
	snprintf(dir, sizeof(dir), "%s/mta-sts", c->data_dir);
	set.sts_port = (int)c->mta_sts_port;
	set.https = q.verify_tls;
	set.cache_dir = dir;
	if ((q.tlspol = tlspol_ctx_new(q.base, resolver_dnsq(q.res), &set)) ==
	    NULL)
		return -1;
	return 0;
}

/* The smarthost's address, password and TLS context, at start. */
int
dest_smarthost_setup(const struct conf *c)
{
	if (c->delivery_mode != CONF_DELIVERY_SMARTHOST)
		return 0;
	if (dest_smarthost_addr(c->smarthost) == -1) {
		log_warnx("queue.start smarthost=\"%s\" error=\"cannot "
			  "resolve HOST:PORT\"",
		    c->smarthost);
		return -1;
	}
	if (c->smarthost_user[0]) {
		/* the password comes from a file, never the config */
		char *pw =
		    str_read_file(c->smarthost_password_file, SECRET_MAX, NULL);
		if (pw == NULL) {
			log_warnx("queue.start smarthost_password_file=%s "
				  "error=\"%s\"",
			    c->smarthost_password_file, strerror(errno));
			return -1;
		}
		pw[strcspn(pw, "\r\n")] = '\0';
		str_lcpy(q.smarthost_pass, pw, sizeof(q.smarthost_pass));
		sodium_memzero(pw, strlen(pw));
		free(pw);
		q.smarthost.auth_user = c->smarthost_user;
		q.smarthost.auth_pass = q.smarthost_pass;
	}
	return dest_smarthost_tls(c);
}
