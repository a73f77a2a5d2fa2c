/*
 * client: the outbound SMTP client. One connection to one destination
 * (a list of addresses tried in order), EHLO, STARTTLS whenever offered
 * (required and verified for a target that says so: the smarthost),
 * AUTH when given credentials (smarthost, only over TLS), then any
 * number of transactions, each with PIPELINING when the server offers
 * it. In LMTP mode (RFC 2033: a target with lmtp set, Dovecot) the same
 * machine says LHLO, and after the final dot reads one reply for each
 * recipient its RCPT accepted. An address may be a UNIX socket.
 */
#ifndef POSTERN_CLIENT_H
#define POSTERN_CLIENT_H

#include <stddef.h>
#include <sys/socket.h>

#include <event2/event.h>
#include <openssl/ssl.h>

#include "reply.h"
#include "../mail/addr.h"
#include "../tlspolicy/tlsrpt.h"

#define DCLIENT_ADDRS_MAX 32

struct tlsa_set;

/* The outbound TLS policy of one address (its host's), set by the queue
 * from DANE (RFC 7672) or MTA-STS (RFC 8461). */
enum dclient_tlsmode {
	DCLIENT_TLS_OPPORTUNISTIC, /* STARTTLS if offered, any certificate */
	DCLIENT_TLS_DANE,	   /* required, the peer matched to tlsa[] */
	/* a secure TLSA RRset of no usable record: TLS required, no
	 * authentication (RFC 7672 2.2) */
	DCLIENT_TLS_DANE_NOAUTH,
	DCLIENT_TLS_STS,	 /* required, WebPKI chain and name */
	DCLIENT_TLS_STS_TESTING, /* checked as STS, a failure only told */
};

struct dclient_target {
	int naddrs;
	struct sockaddr_storage addrs[DCLIENT_ADDRS_MAX];
	socklen_t lens[DCLIENT_ADDRS_MAX];
	char hosts[DCLIENT_ADDRS_MAX][256]; /* name of each address */
	const char *auth_user, *auth_pass;  /* smarthost, or NULL */
	/* 1: STARTTLS required, and the certificate checked (chain by the
	 * SSL_CTX, name against hosts[]); else the connection fails
	 * (temporary) before AUTH or mail */
	int tls_verify;
	/* 1: LMTP (LHLO; a reply per accepted recipient after the data) */
	int lmtp;
	/* each address's policy (0: opportunistic), and for DANE its
	 * host's records: the client holds a reference while it lives */
	unsigned char tlsmode[DCLIENT_ADDRS_MAX];
	struct tlsa_set *tlsa[DCLIENT_ADDRS_MAX];
};

struct dclient_txn {
	const char *from; /* "" is the null sender */
	int nrcpt;
	const char *const *rcpts;
	/* NULL, or each recipient's original address: sent as ORCPT when
	 * the server offers DSN */
	const char *const *orcpts;
	/* header lines (CRLF, no line starting with ".") written before
	 * data, or NULL: what this copy alone carries */
	const char *prefix;
	size_t prefixlen;
	const char *data; /* the message, CRLF, not dot-stuffed */
	size_t len;
	int eightbit, smtputf8;
	/* RFC 8689: MAIL FROM says REQUIRETLS; sent only on a connection
	 * whose peer was verified (DANE, MTA-STS, the smarthost's CA) and
	 * offers REQUIRETLS, else every recipient gets 550 5.7.10 */
	int requiretls;
	/* results, filled by the client */
	int *rcpt_code; /* nrcpt entries */
	char (*rcpt_text)[REPLY_TEXT_MAX];
	int code; /* of the end of data (LMTP: the last), 0 if not reached */
	char text[REPLY_TEXT_MAX];
};

enum dclient_event {
	DC_READY,    /* connected, greeted, EHLO (and TLS) done: idle */
	DC_TXN_DONE, /* the transaction's results are filled in */
	DC_FAILED,   /* no usable connection, or it was lost */
	/* an address's TLS was judged (TLS up, no STARTTLS, or a policy
	 * failure): dclient_session() tells, for the TLS reports; the
	 * connection goes on (or on to the next address) by itself */
	DC_SESSION,
};

struct dclient_session {
	const char *host; /* the MX host name */
	const char *ip;	  /* its address, as text */
	enum dclient_tlsmode mode;
	enum tlsrpt_result result;
	const char *detail; /* for the report's additional-information */
};

struct dclient;

struct dclient *dclient_new(struct event_base *, SSL_CTX *, const char *helo,
    const struct dclient_target *, int port,
    void (*cb)(struct dclient *, enum dclient_event, void *), void *arg);
/* Start a transaction on an idle (DC_READY) connection. */
void dclient_send(struct dclient *, struct dclient_txn *);
/* QUIT (if connected) and free; no more callbacks. */
void dclient_close(struct dclient *);
/* What the last failure was, for logs and DSNs. */
const char *dclient_error(const struct dclient *);
/* 1 if the last failure should be retried later (4xx, network). */
int dclient_error_is_temporary(const struct dclient *);
/* The host and TLS of the current connection, for the log. */
const char *dclient_host(const struct dclient *);
const char *dclient_tls(const struct dclient *);
/* The policy the current connection's TLS met: "dane", "mta-sts",
 * "mta-sts-testing", "dane-noauth", "ca" (the smarthost's), "none";
 * and whether the peer's certificate was verified by it. */
const char *dclient_tls_policy(const struct dclient *);
int dclient_tls_verified(const struct dclient *);
/* The last DC_SESSION's, valid during that callback. */
const struct dclient_session *dclient_session(const struct dclient *);
/* The current connection's remote and local addresses as text (TLS
 * reports): 0, or -1 when there is none or it is a UNIX socket. */
int dclient_addrs(const struct dclient *, char *peer, size_t peerlen,
    char *local, size_t locallen);

#endif
