/*
 * session_server: the session's runtime as server.c provides it today
 * (a loop of struct server_loop, its list of sessions, the server's TLS
 * context and connection counts). The one file of the session that
 * knows struct server; it goes when the runtime builds its own struct
 * smtp_runtime.
 */
#include <stdatomic.h>

#include <event2/event.h>

#include "session.h"

static SSL_CTX *
ss_tls(void *arg)
{
	struct server_loop *l = arg;

	return atomic_load(&l->srv->tls);
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

static const struct smtp_worker_ops ss_wops = {
	.store = server_worker_store,
	.keys = server_keys,
};

void
smtp_session_new(struct server_loop *l, int fd, const char *ip,
    const char *ipkey, enum listen_kind kind)
{
	const struct smtp_runtime rt = {
		.base = l->base,
		.wl = l->wl,
		.wops = &ss_wops,
		.tls = ss_tls,
		.next_id = ss_next_id,
		.stopping = ss_stopping,
		.attach = ss_attach,
		.detach = ss_detach,
		.arg = l,
	};

	smtp_session_start(&rt, fd, ip, ipkey, kind);
}
