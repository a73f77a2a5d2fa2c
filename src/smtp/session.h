/*
 * session: one SMTP conversation. What the runtime that accepts
 * connections calls: start a session on a socket, shut it down, free
 * it. The session reaches the runtime only through struct
 * smtp_runtime (and the config through conf_current()), so a test can
 * run one on an event_base of its own. The files of the session share
 * session_int.h.
 */
#ifndef POSTERN_SESSION_H
#define POSTERN_SESSION_H

#include <stdint.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>
#include <openssl/ssl.h>

#include "server.h"
#include "../auth/sasl.h"
#include "../util/workers.h"

struct dnsq;
struct inbound_check;
struct rspamd_check;
struct smtp_session;
struct smtp_tx;
struct spool_job;
struct store;
struct secret_keys;

/*
 * What a session needs from the process that runs it. Copied into each
 * session; arg is passed back to every callback (the server's loop).
 */
struct smtp_runtime {
	struct event_base *base;
	struct workers_loop *wl; /* the session's jobs go here */
	struct dnsq *dnsq;	 /* the MX's checks (NULL: no mailboxes here) */
	SSL_CTX *(*tls)(void *arg);	/* the current context; NULL: none */
	uint64_t (*next_id)(void *arg); /* a session id for the logs */
	int (*stopping)(void *arg);	/* the loop is shutting down */
	/* a session begins, and ends (s NULL: it never began; ipkey is
	 * what the runtime counted the connection under) */
	void (*attach)(void *arg, struct smtp_session *);
	void (*detach)(void *arg, struct smtp_session *, const char *ipkey);
	void *arg;
};

enum smtp_state {
	S_GREET,   /* before the 220: TLS handshake, greet_wait */
	S_CMD,	   /* reading commands */
	S_AUTH,	   /* reading a SASL response line */
	S_DATA,	   /* reading DATA up to CRLF.CRLF */
	S_BDAT,	   /* reading a BDAT chunk */
	S_SKIP,	   /* discarding the chunk of a refused BDAT */
	S_WAIT,	   /* a worker job or a delay is pending */
	S_CLOSING, /* flushing the last reply, then closing */
};

/* Complete here only because server.c walks its loop's list of them. */
struct smtp_session {
	uint64_t id;
	struct smtp_runtime rt;
	enum listen_kind kind;
	struct bufferevent *bev;
	int fd;
	enum smtp_state state; /* written by smtp_set_state() only */
	unsigned flags;
	int errors, auth_fails;
	int auth_refused; /* the pending failure is a brute-force 454 */
	char ip[NET_IP_MAX];
	char ipkey[NET_IPKEY_MAX];     /* what per-address limits count */
	char *helo;		       /* allocated at EHLO */
	struct sender_identity *ident; /* after AUTH */
	struct cred_ref *cred;	       /* ... and the credential it used */
	int64_t cred_checked;	       /* when it was last found valid */
	int blocked, tos_ok;
	char *block_reason;
	struct smtp_tx *tx;
	struct worker_job *job; /* pending, if any */
	/* the MX's checks of a message, and the message that waits for them */
	struct inbound_check *check;
	struct rspamd_check *rspamd; /* then rspamd's, when [filter] asks */
	struct spool_job *checked;
	struct event *timer;	 /* AUTH failure delay */
	struct event *greet;	 /* greet_wait, smtp listener */
	struct event *deadline;	 /* TLS handshake, then the session */
	uint64_t t_start, t_tls; /* ms: connected, handshake began */
	int handshaking;	 /* a TLS handshake is under way */
	int overdue; /* past session_timeout while work was pending */
	struct event *bf_timer;	    /* brute-force delay before a check */
	struct worker_job *delayed; /* the AUTH check it holds back */
	enum sasl_mech mech;
	char *sasl_login; /* LOGIN, between its two steps */
	int sasl_step;
	uint64_t t_cmd;	   /* ms, when the pending command came */
	int64_t skip_left; /* S_SKIP: chunk bytes still to discard */
	TAILQ_ENTRY(smtp_session) entry;
};

/* A session on fd (which it then owns); NULL if it could not start
 * (fd closed, detach called). */
struct smtp_session *smtp_session_start(const struct smtp_runtime *, int fd,
    const char *ip, const char *ipkey, enum listen_kind);
/* Shutdown: idle sessions get 421 now, busy ones after their work. */
void smtp_session_shutdown(struct smtp_session *);
void smtp_session_free(struct smtp_session *);

#endif
