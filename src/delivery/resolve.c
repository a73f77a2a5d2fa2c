/*
 * resolve: MX and address look-ups with c-ares on a libevent loop. c-ares
 * names the sockets to watch (ARES_OPT_SOCK_STATE_CB), each gets an event;
 * one timer follows ares_timeout(). A query asks for the MX records, then
 * for AAAA and A of every host at once, and hands its result over from an
 * event of its own, so the callback always runs on the loop.
 */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <ctype.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <ares.h>
#include <event2/event.h>

#include "resolve.h"
#include "resolve_int.h"

#define RES_TIMEOUT_MS 2000 /* first try; c-ares doubles it each round */
#define RES_TRIES 2
#define RES_SERVERS_MAX_LEN 1024
#define RES_TXT_LEN 1024

struct rsock {
	struct resolver *r;
	ares_socket_t fd;
	struct event *ev;
	LIST_ENTRY(rsock) entry;
};

struct rquery;

/* What one c-ares query belongs to: the MX look-up, or a host's family. */
struct rsub {
	struct rquery *q;
	int idx; /* 2 * host, + 1 for A (AAAA without) */
};

/* A host's addresses as they arrive, merged in order at the end. */
struct rhost {
	struct ares_addr6ttl a6[RESOLVE_MAX_ADDRS];
	struct ares_addrttl a4[RESOLVE_MAX_ADDRS];
	int n6, n4;
	int insecure; /* an answer with records came without the AD bit */
};

enum rphase { PHASE_MX, PHASE_ADDR, PHASE_DONE };

struct rquery {
	struct resolver *r;
	TAILQ_ENTRY(rquery) entry;
	uint64_t id;
	char domain[256];
	void (*cb)(struct resolve_result *, void *);
	void *arg;
	enum rphase phase;
	int pending; /* c-ares queries not answered yet */
	int cancelled;
	int tempfail;	    /* an address look-up failed temporarily */
	char temp_why[256]; /* the first such failure */
	struct event *done;
	struct rsub mx_sub;
	struct rsub subs[2 * RESOLVE_MAX_HOSTS]; /* AAAA, A of each host */
	struct rhost addrs[RESOLVE_MAX_HOSTS];
	struct resolve_result res;
};

static pthread_mutex_t res_lib_lock = PTHREAD_MUTEX_INITIALIZER;
static int res_lib_users;

static int
res_lib_ref(void)
{
	int rc = 0;

	/* ares_library_init() keeps an unlocked count; loops share it. */
	pthread_mutex_lock(&res_lib_lock);
	if (res_lib_users == 0 && ares_library_init(ARES_LIB_INIT_ALL) != 0)
		rc = -1;
	else
		res_lib_users++;
	pthread_mutex_unlock(&res_lib_lock);
	return rc;
}

static void
res_lib_unref(void)
{
	pthread_mutex_lock(&res_lib_lock);
	if (--res_lib_users == 0)
		ares_library_cleanup();
	pthread_mutex_unlock(&res_lib_lock);
}

const char *
resolve_status_name(enum resolve_status s)
{
	switch (s) {
	case RESOLVE_OK:
		return "ok";
	case RESOLVE_NULL_MX:
		return "null-mx";
	case RESOLVE_NXDOMAIN:
		return "nxdomain";
	case RESOLVE_TEMPFAIL:
		return "tempfail";
	}
	return "?";
}

/*
 * "IP[:PORT], ..." into c-ares' server list. Parsed here rather than by
 * ares_set_servers_ports_csv(): c-ares 1.18 refuses a space after a comma
 * and takes a port over 65535 modulo 65536.
 */
static int
res_parse_servers(const char *s, struct ares_addr_port_node *nodes, int *n,
    char *err, size_t errlen)
{
	char buf[RES_SERVERS_MAX_LEN], *next, *tok, *host, *port, *end;
	struct in6_addr a6;
	long p;

	*n = 0;
	if (strlen(s) >= sizeof(buf)) {
		snprintf(err, errlen, "dns servers: list too long");
		return -1;
	}
	memcpy(buf, s, strlen(s) + 1);
	for (tok = buf; tok != NULL; tok = next) {
		if ((next = strchr(tok, ',')) != NULL)
			*next++ = '\0';
		while (*tok == ' ' || *tok == '\t')
			tok++;
		end = tok + strlen(tok);
		while (end > tok && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*tok == '\0')
			goto bad;
		if (*n == RESOLVE_MAX_SERVERS) {
			snprintf(err, errlen, "dns servers: more than %d",
			    RESOLVE_MAX_SERVERS);
			return -1;
		}
		host = tok;
		port = NULL;
		if (*tok == '[') {
			host = tok + 1;
			if ((end = strchr(host, ']')) == NULL)
				goto bad;
			*end = '\0';
			if (end[1] == ':')
				port = end + 2;
			else if (end[1] != '\0')
				goto bad;
		} else if ((end = strchr(tok, ':')) != NULL &&
			   strchr(end + 1, ':') == NULL) {
			*end = '\0'; /* one colon: IPv4:PORT */
			port = end + 1;
		}
		memset(&nodes[*n], 0, sizeof(nodes[*n]));
		if (inet_pton(AF_INET, host, &nodes[*n].addr.addr4) == 1) {
			nodes[*n].family = AF_INET;
		} else if (inet_pton(AF_INET6, host, &a6) == 1) {
			nodes[*n].family = AF_INET6;
			memcpy(&nodes[*n].addr.addr6, &a6, sizeof(a6));
		} else {
			goto bad;
		}
		p = 53;
		if (port != NULL) {
			if (*port < '0' || *port > '9')
				goto bad;
			p = strtol(port, &end, 10);
			if (*end != '\0' || p < 1 || p > 65535)
				goto bad;
		}
		nodes[*n].udp_port = nodes[*n].tcp_port = (int)p;
		if (*n > 0)
			nodes[*n - 1].next = &nodes[*n];
		(*n)++;
	}
	return 0;
bad:
	snprintf(err, errlen,
	    "dns servers: bad entry \"%.64s\" "
	    "(want IP, IP:PORT or [IPv6]:PORT)",
	    tok);
	return -1;
}

/*
 * A domain as asked: letters, digits, '-' and '_', labels of 1-63, 253 in
 * all; one trailing dot allowed. Lower-cased into out (256 bytes).
 */
static int
res_domain(const char *in, char *out)
{
	size_t len = strlen(in), i, label = 0;

	if (len > 0 && in[len - 1] == '.')
		len--;
	if (len == 0 || len > 253)
		return -1;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];

		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (isalnum(c) || c == '-' || c == '_') {
			if (++label > 63)
				return -1;
		} else {
			return -1;
		}
		out[i] = (char)tolower(c);
	}
	if (label == 0)
		return -1;
	out[len] = '\0';
	return 0;
}

/*
 * c-ares 1.18 ends a query that every server answered with SERVFAIL or
 * REFUSED (or that none could be sent to) as ARES_ECONNREFUSED, "Could not
 * contact DNS servers": say what it may be.
 */
static const char *
res_strerror(int status)
{
	if (status == ARES_ECONNREFUSED)
		return "no DNS server answered (server failure, refused, or "
		       "unreachable)";
	return ares_strerror(status);
}

void
resolver_timer_update(struct resolver *r)
{
	struct timeval tv, *tvp;

	if ((tvp = ares_timeout(r->ch, NULL, &tv)) != NULL)
		evtimer_add(r->timer, tvp);
	else
		evtimer_del(r->timer);
}

static void
res_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct resolver *r = arg;

	ares_process_fd(r->ch, ARES_SOCKET_BAD, ARES_SOCKET_BAD);
	resolver_timer_update(r);
}

static void
res_sock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rsock *s = arg;
	struct resolver *r = s->r;

	/* s may be freed inside: c-ares closes sockets as it goes. */
	ares_process_fd(r->ch, (what & EV_READ) ? fd : ARES_SOCKET_BAD,
	    (what & EV_WRITE) ? fd : ARES_SOCKET_BAD);
	resolver_timer_update(r);
}

/* c-ares opens, changes or closes a socket: follow with an event. */
static void
res_sock_state_cb(void *data, ares_socket_t fd, int readable, int writable)
{
	struct resolver *r = data;
	struct rsock *s;
	short what = EV_PERSIST;

	LIST_FOREACH (s, &r->socks, entry) {
		if (s->fd == fd)
			break;
	}
	if (s != NULL) {
		event_free(s->ev);
		s->ev = NULL;
	}
	if (!readable && !writable) {
		if (s != NULL) {
			LIST_REMOVE(s, entry);
			free(s);
		}
		return;
	}
	if (s == NULL) {
		/* Without memory the query ends by its timeout. */
		if ((s = calloc(1, sizeof(*s))) == NULL)
			return;
		s->r = r;
		s->fd = fd;
		LIST_INSERT_HEAD(&r->socks, s, entry);
	}
	if (readable)
		what |= EV_READ;
	if (writable)
		what |= EV_WRITE;
	if ((s->ev = event_new(r->base, fd, what, res_sock_cb, s)) == NULL ||
	    event_add(s->ev, NULL) == -1) {
		if (s->ev != NULL)
			event_free(s->ev);
		LIST_REMOVE(s, entry);
		free(s);
	}
}

struct resolver *
resolver_new(struct event_base *base, const char *servers, char *err,
    size_t errlen)
{
	struct ares_addr_port_node nodes[RESOLVE_MAX_SERVERS];
	struct ares_options o;
	struct resolver *r;
	int n = 0, rc;

	if (servers == NULL)
		servers = "";
	if (servers[strspn(servers, " \t")] != '\0' &&
	    res_parse_servers(servers, nodes, &n, err, errlen) == -1)
		return NULL;
	if (res_lib_ref() == -1) {
		snprintf(err, errlen, "c-ares: library init failed");
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "out of memory");
		res_lib_unref();
		return NULL;
	}
	r->base = base;
	LIST_INIT(&r->socks);
	TAILQ_INIT(&r->queries);
	dnsq_ares_init(r);
	memset(&o, 0, sizeof(o));
	/* No ARES_FLAG_NOCHECKRESP: SERVFAIL and REFUSED try the next
	 * server and end as errors, never as answers. */
	o.flags = 0;
	o.timeout = RES_TIMEOUT_MS;
	o.tries = RES_TRIES;
	o.sock_state_cb = res_sock_state_cb;
	o.sock_state_cb_data = r;
	/* A burst of look-ups answered from a cache overflows the default
	 * socket buffer, and a lost answer costs a 2 s retry (the kernel caps
	 * this at net.core.rmem_max). */
	o.socket_receive_buffer_size = 1 << 20;
	rc = ares_init_options(&r->ch, &o,
	    ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES |
		ARES_OPT_SOCK_RCVBUF | ARES_OPT_SOCK_STATE_CB);
	if (rc != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: %s", ares_strerror(rc));
		free(r);
		res_lib_unref();
		return NULL;
	}
	if (n > 0 &&
	    (rc = ares_set_servers_ports(r->ch, nodes)) != ARES_SUCCESS) {
		snprintf(err, errlen, "c-ares: servers: %s", ares_strerror(rc));
		goto fail;
	}
	if ((r->timer = evtimer_new(base, res_timer_cb, r)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	return r;
fail:
	ares_destroy(r->ch);
	free(r);
	res_lib_unref();
	return NULL;
}

void
resolver_free(struct resolver *r)
{
	struct rquery *q;
	struct rsock *s;

	if (r == NULL)
		return;
	/* Every pending c-ares callback runs now with ARES_EDESTRUCTION,
	 * and every socket is reported closed. */
	ares_destroy(r->ch);
	while ((s = LIST_FIRST(&r->socks)) != NULL) {
		LIST_REMOVE(s, entry);
		if (s->ev != NULL)
			event_free(s->ev);
		free(s);
	}
	while ((q = TAILQ_FIRST(&r->queries)) != NULL) {
		TAILQ_REMOVE(&r->queries, q, entry);
		event_free(q->done);
		free(q);
	}
	dnsq_ares_free_all(r);
	event_free(r->timer);
	free(r);
	res_lib_unref();
}

static void
res_done_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rquery *q = arg;

	TAILQ_REMOVE(&q->r->queries, q, entry);
	/* The callback may free the resolver: q is no longer in it. */
	if (!q->cancelled)
		q->cb(&q->res, q->arg);
	event_free(q->done);
	free(q);
}

static void res_fail(struct rquery *, enum resolve_status, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
res_fail(struct rquery *q, enum resolve_status status, const char *fmt, ...)
{
	va_list ap;

	q->res.status = status;
	va_start(ap, fmt);
	vsnprintf(q->res.why, sizeof(q->res.why), fmt, ap);
	va_end(ap);
}

/* Keep the hosts with addresses, IPv6 first then IPv4, and decide. */
static void
res_collect(struct rquery *q)
{
	struct resolve_result *res = &q->res;
	struct resolve_host *h;
	struct sockaddr_in6 *s6;
	struct sockaddr_in *s4;
	struct rhost *a;
	int i, j, n = 0, t6, t4;

	for (i = 0; i < res->nhosts; i++) {
		a = &q->addrs[i];
		h = &res->hosts[n];
		if (n != i) {
			memcpy(h->name, res->hosts[i].name, sizeof(h->name));
			h->pref = res->hosts[i].pref;
		}
		/* Over the limit, each family keeps at least half. */
		t6 = RESOLVE_MAX_ADDRS - a->n4;
		if (t6 < RESOLVE_MAX_ADDRS / 2)
			t6 = RESOLVE_MAX_ADDRS / 2;
		if (t6 > a->n6)
			t6 = a->n6;
		t4 = RESOLVE_MAX_ADDRS - t6;
		if (t4 > a->n4)
			t4 = a->n4;
		h->naddrs = 0;
		for (j = 0; j < t6; j++) {
			s6 = (struct sockaddr_in6 *)&h->addrs[h->naddrs];
			memset(s6, 0, sizeof(h->addrs[0]));
			s6->sin6_family = AF_INET6;
			memcpy(&s6->sin6_addr, &a->a6[j].ip6addr, 16);
			h->addrlens[h->naddrs++] = sizeof(*s6);
		}
		for (j = 0; j < t4; j++) {
			s4 = (struct sockaddr_in *)&h->addrs[h->naddrs];
			memset(s4, 0, sizeof(h->addrs[0]));
			s4->sin_family = AF_INET;
			s4->sin_addr = a->a4[j].ipaddr;
			h->addrlens[h->naddrs++] = sizeof(*s4);
		}
		h->secure = !a->insecure;
		if (h->naddrs > 0)
			n++;
	}
	res->nhosts = n;
	if (n > 0) {
		res->status = RESOLVE_OK;
		res->why[0] = '\0';
	} else if (q->tempfail) {
		res->status = RESOLVE_TEMPFAIL;
		memcpy(res->why, q->temp_why, sizeof(res->why));
	} else {
		res_fail(q, RESOLVE_NXDOMAIN,
		    "no address for any mail host of %s", q->domain);
	}
}

/* The last c-ares answer is in (or the query was cancelled): hand over. */
static void
res_finish(struct rquery *q)
{
	if (q->phase == PHASE_ADDR && !q->cancelled)
		res_collect(q);
	if (q->res.status != RESOLVE_OK)
		q->res.nhosts = 0;
	q->phase = PHASE_DONE;
	event_active(q->done, EV_TIMEOUT, 1);
}

static int
res_addr_usable6(const struct ares_in6_addr *a)
{
	static const unsigned char zero[16];

	/* Unspecified and multicast can never be connected to. */
	return memcmp(a, zero, 16) != 0 && a->_S6_un._S6_u8[0] != 0xff;
}

static int
res_addr_usable4(struct in_addr a)
{
	uint32_t h = ntohl(a.s_addr);

	return h != 0 && (h >> 28) != 0xe && h != 0xffffffff;
}

static void
res_addr_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct rsub *sub = arg;
	struct rquery *q = sub->q;
	int host = sub->idx / 2, v6 = sub->idx % 2 == 0;
	struct ares_addr6ttl a6[RESOLVE_MAX_ADDRS];
	struct ares_addrttl a4[RESOLVE_MAX_ADDRS];
	struct rhost *a = &q->addrs[host];
	int i, n = RESOLVE_MAX_ADDRS;

	q->pending--;
	if (status == ARES_EDESTRUCTION)
		return; /* resolver_free() frees q */
	if (!q->cancelled && status == ARES_SUCCESS) {
		/* Only the addresses of the name asked, through its CNAMEs,
		 * at most n: a long hostile answer is cut. */
		if (v6)
			status =
			    ares_parse_aaaa_reply(abuf, alen, NULL, a6, &n);
		else
			status = ares_parse_a_reply(abuf, alen, NULL, a4, &n);
		if (status == ARES_SUCCESS && n > 0 &&
		    !resolver_answer_ad(abuf, alen))
			a->insecure = 1;
		if (status == ARES_SUCCESS || status == ARES_ENODATA) {
			status = ARES_SUCCESS;
			for (i = 0; i < n && i < RESOLVE_MAX_ADDRS; i++) {
				if (v6 && res_addr_usable6(&a6[i].ip6addr))
					a->a6[a->n6++] = a6[i];
				else if (!v6 && res_addr_usable4(a4[i].ipaddr))
					a->a4[a->n4++] = a4[i];
			}
		}
	}
	/* No such name, no record of the type: no address, for good. */
	if (!q->cancelled && status != ARES_SUCCESS &&
	    status != ARES_ENOTFOUND && status != ARES_ENODATA &&
	    status != ARES_EBADNAME) {
		if (!q->tempfail)
			snprintf(q->temp_why, sizeof(q->temp_why),
			    "DNS error for %s type=%s: %s",
			    q->res.hosts[host].name, v6 ? "AAAA" : "A",
			    res_strerror(status));
		q->tempfail = 1;
	}
	if (q->pending == 0)
		res_finish(q);
}

static void
res_start_addrs(struct rquery *q)
{
	int i;

	q->phase = PHASE_ADDR;
	/* A c-ares error may call back at once: hold q open meanwhile. */
	q->pending++;
	for (i = 0; i < 2 * q->res.nhosts; i++) {
		q->subs[i].q = q;
		q->subs[i].idx = i;
		q->pending++;
		resolver_send(q->r, q->res.hosts[i / 2].name,
		    i % 2 == 0 ? ns_t_aaaa : ns_t_a, res_addr_cb, &q->subs[i]);
	}
	if (--q->pending == 0)
		res_finish(q);
	else
		resolver_timer_update(q->r);
}

struct res_mx {
	const struct ares_mx_reply *mx;
	uint32_t key;
};

static int
res_mx_cmp(const void *a, const void *b)
{
	const struct res_mx *x = a, *y = b;

	if (x->mx->priority != y->mx->priority)
		return x->mx->priority < y->mx->priority ? -1 : 1;
	if (x->key != y->key)
		return x->key < y->key ? -1 : 1;
	return 0;
}

/*
 * The MX hosts into q->res.hosts: by preference, ties in random order,
 * duplicates and names that cannot be hosts left out, the best
 * RESOLVE_MAX_HOSTS kept. Returns the number kept, -1 without memory.
 */
static int
res_mx_hosts(struct rquery *q, const struct ares_mx_reply *list)
{
	const struct ares_mx_reply *m;
	struct resolve_host *h;
	struct res_mx *v;
	size_t n = 0, i;
	int j, dup;

	for (m = list; m; m = m->next)
		n++;
	if ((v = calloc(n, sizeof(*v))) == NULL)
		return -1;
	for (i = 0, m = list; m; m = m->next, i++) {
		v[i].mx = m;
		v[i].key = arc4random();
	}
	qsort(v, n, sizeof(*v), res_mx_cmp);
	q->res.nhosts = 0;
	for (i = 0; i < n && q->res.nhosts < RESOLVE_MAX_HOSTS; i++) {
		h = &q->res.hosts[q->res.nhosts];
		if (res_domain(v[i].mx->host, h->name) == -1)
			continue;
		for (j = 0, dup = 0; j < q->res.nhosts; j++)
			dup |= strcmp(q->res.hosts[j].name, h->name) == 0;
		if (dup)
			continue;
		h->pref = v[i].mx->priority;
		q->res.nhosts++;
	}
	free(v);
	return q->res.nhosts;
}

static void
res_mx_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct rsub *sub = arg;
	struct rquery *q = sub->q;
	struct ares_mx_reply *mx = NULL;
	int n;

	q->pending--;
	if (status == ARES_EDESTRUCTION)
		return; /* resolver_free() frees q */
	if (q->cancelled) {
		if (q->pending == 0)
			res_finish(q);
		return;
	}
	if (status == ARES_SUCCESS || status == ARES_ENODATA)
		q->res.secure = resolver_answer_ad(abuf, alen);
	if (status == ARES_SUCCESS)
		status = ares_parse_mx_reply(abuf, alen, &mx);
	if (status == ARES_SUCCESS && mx == NULL)
		status = ARES_ENODATA;
	switch (status) {
	case ARES_SUCCESS:
		/* RFC 7505: one MX, preference 0, the root ("" here). */
		if (mx->next == NULL && mx->priority == 0 &&
		    mx->host[0] == '\0') {
			res_fail(q, RESOLVE_NULL_MX,
			    "%s accepts no mail (null MX, RFC 7505)",
			    q->domain);
			break;
		}
		if ((n = res_mx_hosts(q, mx)) == -1) {
			res_fail(q, RESOLVE_TEMPFAIL, "%s: MX: out of memory",
			    q->domain);
			break;
		}
		if (n == 0) {
			res_fail(q, RESOLVE_NXDOMAIN,
			    "no usable MX host for %s", q->domain);
			break;
		}
		ares_free_data(mx);
		res_start_addrs(q);
		return;
	case ARES_ENODATA:
		/* RFC 5321 5.1: no MX, the domain is its own mail host. */
		memcpy(q->res.hosts[0].name, q->domain, sizeof(q->domain));
		q->res.hosts[0].pref = 0;
		q->res.nhosts = 1;
		res_start_addrs(q);
		return;
	case ARES_ENOTFOUND:
		res_fail(q, RESOLVE_NXDOMAIN, "no such domain: %s", q->domain);
		break;
	default:
		res_fail(q, RESOLVE_TEMPFAIL, "DNS error for %s type=MX: %s",
		    q->domain, res_strerror(status));
		break;
	}
	if (mx != NULL)
		ares_free_data(mx);
	res_finish(q);
}

int
resolve_mx(struct resolver *r, const char *domain,
    void (*cb)(struct resolve_result *, void *), void *arg, uint64_t *handle)
{
	struct rquery *q;

	if (r == NULL || domain == NULL || cb == NULL)
		return -1;
	if ((q = calloc(1, sizeof(*q))) == NULL)
		return -1;
	if ((q->done = event_new(r->base, -1, 0, res_done_cb, q)) == NULL) {
		free(q);
		return -1;
	}
	q->r = r;
	q->id = ++r->next_id;
	q->cb = cb;
	q->arg = arg;
	q->mx_sub.q = q;
	TAILQ_INSERT_TAIL(&r->queries, q, entry);
	if (handle != NULL)
		*handle = q->id;
	if (res_domain(domain, q->domain) == -1) {
		res_fail(q, RESOLVE_NXDOMAIN, "invalid domain name");
		res_finish(q);
		return 0;
	}
	q->pending++;
	resolver_send(r, q->domain, ns_t_mx, res_mx_cb, &q->mx_sub);
	resolver_timer_update(r);
	return 0;
}

struct res_sent {
	ares_callback cb;
	void *arg;
};

/* What ares_query() makes of an answer's rcode, which ares_send() leaves
 * to its caller. */
static void
res_sent_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct res_sent sent = *(struct res_sent *)arg;

	free(arg);
	if (status == ARES_SUCCESS) {
		if (abuf == NULL || alen < 12)
			status = ARES_EBADRESP;
		else
			switch (abuf[3] & 0x0f) {
			case 0: /* NOERROR */
				if ((abuf[6] << 8 | abuf[7]) == 0)
					status = ARES_ENODATA;
				break;
			case 1:
				status = ARES_EFORMERR;
				break;
			case 2:
				status = ARES_ESERVFAIL;
				break;
			case 3:
				status = ARES_ENOTFOUND;
				break;
			case 4:
				status = ARES_ENOTIMP;
				break;
			case 5:
				status = ARES_EREFUSED;
				break;
			default:
				status = ARES_EBADRESP;
				break;
			}
	}
	sent.cb(sent.arg, status, timeouts, abuf, alen);
}

/* ares_query() with the AD bit: c-ares 1.18 has no flag for it, so the
 * question is made here and sent as it is (ares_send sets its id). */
void
resolver_send(struct resolver *r, const char *name, int type, ares_callback cb,
    void *arg)
{
	unsigned char *buf = NULL;
	struct res_sent *sent;
	int len = 0;

	if (ares_create_query(name, ns_c_in, type, 0, 1, &buf, &len, 0) !=
		ARES_SUCCESS ||
	    len < 12) {
		if (buf)
			ares_free_string(buf);
		cb(arg, ARES_EBADNAME, 0, NULL, 0);
		return;
	}
	if ((sent = malloc(sizeof(*sent))) == NULL) {
		ares_free_string(buf);
		cb(arg, ARES_ENOMEM, 0, NULL, 0);
		return;
	}
	sent->cb = cb;
	sent->arg = arg;
	buf[3] |= 0x20; /* AD */
	ares_send(r->ch, buf, len, res_sent_cb, sent);
	ares_free_string(buf);
}

int
resolver_answer_ad(const unsigned char *abuf, int alen)
{
	return abuf != NULL && alen >= 12 && (abuf[3] & 0x20) != 0;
}

int
resolver_is_local(struct resolver *r)
{
	struct ares_addr_port_node *list = NULL, *n;
	int local = 1, any = 0;

	if (ares_get_servers_ports(r->ch, &list) != ARES_SUCCESS)
		return 0;
	for (n = list; n; n = n->next) {
		any = 1;
		if (n->family == AF_INET)
			local &= (ntohl(n->addr.addr4.s_addr) >> 24) == 127;
		else if (n->family == AF_INET6)
			local &= IN6_IS_ADDR_LOOPBACK(
			    (const struct in6_addr *)&n->addr.addr6);
		else
			local = 0;
	}
	ares_free_data(list);
	return any && local;
}

void
resolver_cancel(struct resolver *r, uint64_t handle)
{
	struct rquery *q;

	if (r == NULL || handle == 0)
		return;
	/* c-ares 1.18 cannot cancel one query: q lives on, silent, until
	 * its answers or timeouts are in. */
	TAILQ_FOREACH (q, &r->queries, entry) {
		if (q->id == handle) {
			q->cancelled = 1;
			return;
		}
	}
}

/* The blocking look-ups: a loop of their own until the answer is in. */

struct res_sync {
	int done;
	int n; /* records, or -1 */
	int max;
	char (*out)[RES_TXT_LEN];
	struct resolve_result *res;
};

static int
res_sync_run(struct event_base *base, struct res_sync *st)
{
	while (!st->done) {
		if (event_base_loop(base, EVLOOP_ONCE) != 0)
			return -1; /* nothing left to wait for */
	}
	return 0;
}

static void
res_txt_cb(void *arg, int status, int timeouts, unsigned char *abuf, int alen)
{
	struct res_sync *st = arg;
	struct ares_txt_ext *txt = NULL, *t;
	size_t len = 0, i;
	char *o;

	st->done = 1;
	if (status == ARES_SUCCESS)
		status = ares_parse_txt_reply_ext(abuf, alen, &txt);
	if (status == ARES_ENODATA || status == ARES_ENOTFOUND) {
		st->n = 0;
		return;
	}
	if (status != ARES_SUCCESS) {
		st->n = -1;
		return;
	}
	st->n = 0;
	for (t = txt; t; t = t->next) {
		if (t->record_start || st->n == 0) {
			if (st->n == st->max)
				break;
			st->n++;
			len = 0;
			st->out[st->n - 1][0] = '\0';
		}
		o = st->out[st->n - 1];
		/* Bytes as sent, cut at the buffer; a NUL would end it. */
		for (i = 0; i < t->length && len < RES_TXT_LEN - 1; i++)
			if (t->txt[i] != '\0')
				o[len++] = (char)t->txt[i];
		o[len] = '\0';
	}
	ares_free_data(txt);
}

int
resolve_txt_sync(const char *servers, const char *name, char out[][1024],
    int max)
{
	struct res_sync st = { 0, -1, max, out, NULL };
	struct event_base *base;
	struct resolver *r = NULL;
	char err[256], qname[256];

	if (max < 0 || res_domain(name, qname) == -1)
		return -1;
	if ((base = event_base_new()) == NULL)
		return -1;
	if ((r = resolver_new(base, servers, err, sizeof(err))) == NULL)
		goto out;
	ares_query(r->ch, qname, ns_c_in, ns_t_txt, res_txt_cb, &st);
	resolver_timer_update(r);
	if (res_sync_run(base, &st) == -1)
		st.n = -1;
out:
	resolver_free(r);
	event_base_free(base);
	return st.done ? st.n : -1;
}

static void
res_mx_sync_cb(struct resolve_result *res, void *arg)
{
	struct res_sync *st = arg;

	memcpy(st->res, res, sizeof(*res));
	st->done = 1;
}

int
resolve_mx_sync(const char *servers, const char *domain,
    struct resolve_result *res)
{
	struct res_sync st = { 0, 0, 0, NULL, res };
	struct event_base *base;
	struct resolver *r;
	char err[256];
	int rc = -1;

	if ((base = event_base_new()) == NULL)
		return -1;
	if ((r = resolver_new(base, servers, err, sizeof(err))) != NULL &&
	    resolve_mx(r, domain, res_mx_sync_cb, &st, NULL) == 0 &&
	    res_sync_run(base, &st) == 0)
		rc = 0;
	resolver_free(r);
	event_base_free(base);
	return rc;
}
