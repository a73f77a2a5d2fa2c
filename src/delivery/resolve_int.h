/*
 * resolve_int: what resolve.c (the channel, its sockets and timer, MX
 * look-ups) shares with dnsq_ares.c (the inbound checks' questions on the
 * same channel), and nothing else includes. Everything here is touched on
 * the resolver's loop only.
 */
#ifndef POSTERN_RESOLVE_INT_H
#define POSTERN_RESOLVE_INT_H

#include <stdint.h>
#include <sys/queue.h>

#include <ares.h>
#include <event2/event.h>

#include "resolve.h"
#include "../util/dnsq.h"

struct rsock;
struct rquery;
struct dq_query;

struct resolver {
	struct event_base *base;
	ares_channel ch;
	struct event *timer;
	uint64_t next_id;
	LIST_HEAD(, rsock) socks;
	TAILQ_HEAD(, rquery) queries;
	struct dnsq dq;			 /* resolver_dnsq() */
	TAILQ_HEAD(, dq_query) dqueries; /* its questions, until told */
};

/* Send a question for name and type (ns_t_*) on r's channel with the AD
 * bit set (RFC 6840 5.7), so a validating resolver says whether the
 * answer is DNSSEC-secure; cb as ares_query's. An error may call back at
 * once. */
void resolver_send(struct resolver *, const char *name, int type,
    ares_callback cb, void *arg);
/* The AD bit of an answer. */
int resolver_answer_ad(const unsigned char *abuf, int alen);

/* Walk a DNS answer (hostile bytes): keep(arg, rdata, len) for each
 * TLSA record of class IN in it; ARES_SUCCESS, ARES_EBADRESP when it is
 * malformed, ARES_ENOMEM when keep said -1. (dnsq_ares.c) */
int dnsq_tlsa_walk(const unsigned char *abuf, int alen,
    int (*keep)(void *, const unsigned char *, size_t), void *arg);

/* Follow ares_timeout() after queries were sent. */
void resolver_timer_update(struct resolver *);

/* dnsq_ares.c: set up r->dq; free every question (after ares_destroy(),
 * so c-ares has let go of them), their callbacks not called. */
void dnsq_ares_init(struct resolver *);
void dnsq_ares_free_all(struct resolver *);

#endif
