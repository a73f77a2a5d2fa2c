/*
 * qmgr_int: what the queue manager's own files share, and nothing else
 * includes. qmgr.c runs the loop and the schedule, attempt.c one attempt
 * (load, sign, hand over, commit), destinations.c the connections and
 * the up/down state of each destination, capture.c the capture folder.
 * Everything here is touched on the queue's loop thread only.
 */
#ifndef POSTERN_QMGR_INT_H
#define POSTERN_QMGR_INT_H

#include <pthread.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "qmgr.h"
#include "schedule.h"
#include "../auth/secret.h"
#include "../delivery/client.h"
#include "../delivery/resolve.h"
#include "../spool/spool.h"
#include "../tlspolicy/policy.h"
#include "../util/conf.h"
#include "../util/workers.h"

#define QMGR_INFLIGHT_MAX 256 /* messages being attempted at once */
#define QMGR_IDLE_KEEP 5      /* seconds an idle connection is kept */
#define QMGR_RESOLVE_TTL 60   /* seconds a destination's hosts are kept */
#define QMGR_TRY_MAX 120      /* seconds a first try may hold others back */
#define QMGR_PASS_MAX 4096    /* messages taken per turn of the loop */

enum qrcpt_state { R_PENDING, R_INFLIGHT, R_SENT, R_FAILED, R_DEFERRED };

struct qdest;

/* One recipient during an attempt. */
struct qrcpt {
	int idx; /* in env.rcpts */
	enum qrcpt_state state;
	int code;
	int grouped;
	int captured;	/* in this attempt's capture job (capture mode) */
	int forwarding; /* in this attempt's forward job (forward.c) */
	struct qdest *dest;
	char text[REPLY_TEXT_MAX];
	char host[256];
	char tls[96];
	char tls_policy[16]; /* dclient_tls_policy() */
	int tls_verified;
};

/* A message's text and recipients: only while it is being attempted. */
struct qload {
	struct spool_env env;
	char *data;
	size_t len;
	size_t siglen; /* DKIM-Signature fields prepended to data */
	unsigned char *done;
	struct qrcpt *r;
	/* [mailbox] lmtp set: each recipient's ROUTE_* and mailbox,
	 * found on the worker that loaded it; else NULL */
	signed char *route;
	char (*mbox)[ADDR_MAX + 1];
	/* a mailbox whose user forwards: the plan (forward.c); else NULL */
	struct fwd_plan **fwd;
};

/* A mailbox recipient's forwarding, found at load. */
struct fwd_plan {
	int n, only, loop; /* loop: it came through this forwarding */
	int error;	   /* the store failed: deferred, asked again */
	char domain[ADDR_DOMAIN_MAX + 1]; /* the user's: SRS, ARC */
	char (*targets)[ADDR_MAX + 1];	  /* confirmed ones only */
};

/* The address recipient i is sent to outside: the one it was given,
 * or for a bounce to an SRS address of ours, the one that decodes to. */
const char *qload_rcpt_addr(const struct qload *, int i);
/* 1 when recipient i is a hosted domain's own (a mailbox, or a failure
 * known here), not sent to another server. */
int qload_rcpt_is_local(const struct qload *, int i);

/* A queued message, resident: about a hundred bytes and its pending
 * destinations, whatever its size or number of recipients. */
struct qmsg {
	struct qsched_node node; /* first: id, next attempt */
	int64_t time;		 /* arrival: from the id, then the file */
	int attempts;
	/* cleared: its start found a destination to try now (the load
	 * goes straight on to delivery, signed or not) */
	unsigned busy : 1, dests_known : 1, cleared : 1;
	int groups;	      /* destinations still working on it */
	int ndests;	      /* once known: after its first load */
	struct qdest **dests; /* interned; those of pending recipients */
	struct qdest *parked; /* waiting for this one to come back */
	TAILQ_ENTRY(qmsg) park;
	struct qload *ld;
};

/* one destination's share of an attempt */
struct qdeliv {
	struct qmsg *m;
	struct qdest *d;
	int n;
	int *idx;
	const char **rcpts;
	int *rcode;
	char (*rtext)[REPLY_TEXT_MAX];
	struct dclient_txn txn;
	/* LMTP: one recipient, to its mailbox; the header lines of its
	 * copy (malloc'd) and its original address */
	char *prefix;
	const char *orcpt[1];
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

enum qdest_avail { DEST_OK, DEST_TRYING, DEST_DOWN };

struct qdest {
	char key[ADDR_DOMAIN_MAX + 1]; /* domain, "smarthost", "lmtp:SPEC" */
	int lmtp;		       /* the mailboxes (q.lmtp) */
	struct qdest *hnext;
	TAILQ_ENTRY(qdest) entry;
	TAILQ_HEAD(, qdeliv) waiting;
	LIST_HEAD(, qconn) conns;
	int nconns;
	int resolving;
	uint64_t rhandle;
	/* the TLS policy being looked up after the MX hosts (resolving
	 * stays set), and the one in force for target */
	struct tlspol_lookup *plookup;
	struct tlspol *pol;
	struct dclient_target target;
	int64_t target_expires;
	/* Down: it failed to connect or resolve (temporarily); its mail
	 * is deferred without being loaded until down_until, then a bare
	 * connection probes it. */
	int ever_ready, down, fails, probing;
	int64_t down_until, trying_until;
	char why[REPLY_TEXT_MAX];
	TAILQ_HEAD(, qmsg) parked;
	struct event *probe_ev;
};

struct qmgr {
	struct event_base *base;
	struct workers_loop *wl;
	struct resolver *res;
	SSL_CTX *tls;
	SSL_CTX *smarthost_tls; /* verifying, for the smarthost; or NULL */
	/* for MX hosts under a policy (DANE, MTA-STS) and the policy
	 * fetches: verifies when asked to, against [delivery] tls_ca */
	SSL_CTX *verify_tls;
	struct tlspol_ctx *tlspol;
	pthread_t thread;
	struct event *timer, *wake;
	int efd;
	pthread_mutex_t mu;
	char (*incoming)[SPOOL_ID_LEN + 1]; /* ids from sessions */
	size_t nincoming, capincoming;
	int flush, stopping;
	struct qsched sched;
	int inflight, nconns;
	struct qdest **dbuckets; /* destinations by key */
	size_t ndbuckets, ndests;
	TAILQ_HEAD(, qdest) dests;
	struct dclient_target smarthost;
	int smarthost_port;
	char smarthost_pass[SECRET_MAX + 1];
	/* [mailbox] lmtp, as read at start: "lmtp:SPEC", "" when off */
	char lmtp_key[ADDR_DOMAIN_MAX + 1];
	struct dclient_target lmtp;
	int lmtp_port;
	void (*refused_fn)(void *, const char *, int);
};

extern struct qmgr q;

/* qmgr.c */
int64_t qmgr_now(void);
const struct conf *qmgr_conf(void);
struct qmsg *qmsg_add(const char *id, int64_t when);
void qmsg_free(struct qmsg *);
void qmsg_schedule(struct qmsg *, int64_t when);
void qmgr_pass(void);
/* An attempt in flight ended (or never began): room for the next. */
void qmgr_inflight_end(void);
int64_t qmgr_backoff(int attempts);

/* attempt.c */
void qmsg_start(struct qmsg *);
void qmsg_unload(struct qmsg *);
void deliv_done(struct qdeliv *);
void deliv_free(struct qdeliv *);
void qmgr_attempt_end(struct qmsg *);

/* destinations.c */
int dest_init(void);
void dest_free_all(void);
struct qdest *dest_get(const char *key);
enum qdest_avail dest_avail(struct qdest *, int64_t now);
/* The message's verdict from its pending destinations: DEST_OK if one
 * can be tried now (with claim: it goes first to an untried one, and
 * the others wait for its connection); else DEST_TRYING or DEST_DOWN:
 * park it on *wait_on. */
enum qdest_avail qmsg_dests_avail(struct qmsg *, int64_t now, int claim,
    struct qdest **wait_on);
void dest_park(struct qdest *, struct qmsg *);
void qmsg_release_tries(struct qmsg *);
void qmsg_unpark(struct qmsg *);
void dest_submit(struct qdeliv *);
void dest_reset_all(void);
int dest_smarthost_setup(const struct conf *);
int dest_tlspol_setup(const struct conf *);
int dest_lmtp_setup(const struct conf *);
const char *qmgr_domain_of(const char *addr);

/* capture.c */
void capture_submit(struct qmsg *);

void qmgr_inflight_begin(void);

/* forward.c */
/* On a worker: the mailbox mbox, a recipient of a loaded message,
 * forwards it (confirmed targets, no junk): its plan, else NULL. */
struct fwd_plan *fwd_plan_load(struct store *, const struct qload *,
    const char *mbox);
void fwd_plan_free(struct fwd_plan *);
/* m's recipients marked forwarding: their copies written to the spool
 * (one of its groups). */
void forward_submit(struct qmsg *);
/* Count one copy to domain this clock hour: 1 if over max (it waits). */
int forward_rate_over(const char *domain, int64_t now, int64_t max);
void forward_rate_free(void);
/* On a worker: the address a DSN to addr goes to. An SRS address of a
 * domain of ours (a forwarded copy's sender) is decoded to the sender
 * it stands for, so the bounce of a copy reaches the original sender.
 * The number of decodings (0: addr unchanged). */
int forward_bounce_rcpt(struct store *, char *addr, size_t len);

#endif
