/*
 * session: one SMTP conversation, its state machine and its current
 * transaction. session.c reads commands; session_data.c reads DATA and
 * BDAT and hands the message to the spool. Shared by these two files
 * and server.c only.
 */
#ifndef POSTERN_SESSION_H
#define POSTERN_SESSION_H

#include <stdint.h>
#include <sys/queue.h>

#include <event2/bufferevent.h>

#include "dotdata.h"
#include "server.h"
#include "../auth/cred.h"
#include "../auth/sasl.h"
#include "../policy/quota.h"
#include "../policy/sender.h"
#include "../spool/spool.h"
#include "../util/buf.h"
#include "../util/workers.h"

/* RFC 5321 4.5.3.1.4 says 512, plus what extensions add (ORCPT 500) */
#define SMTP_CMD_MAX 1024
#define SMTP_AUTH_LINE_MAX (SASL_B64_MAX + 32) /* RFC 4954: 12288 */
#define SMTP_HELO_MAX 255

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

#define SF_TLS 0x01
#define SF_EHLO 0x02	/* EHLO or HELO seen */
#define SF_ESMTP 0x04	/* EHLO, not HELO */
#define SF_DISCARD 0x08 /* skipping the rest of an over-long line */
#define SF_QUIT 0x10
#define SF_OUTFULL 0x20 /* commands wait until the client reads replies */

/* Replies held for a client that does not read them: past this, no
 * more commands are read (then the read watermark stops the input). */
#define SMTP_OUT_MAX (64 * 1024)

struct smtp_tx {
	char from[ADDR_MAX + 1];
	int relay_ok; /* smtp listener: sender's relay network */
	/* then the names its From: may use: the relay network's domain */
	struct sender_identity *relay_id;
	char body[16];
	int smtputf8;
	char ret[8];
	char envid[128];
	int64_t size_hint;
	struct spool_rcpt *rcpts;
	int nrcpt, rcap;
	struct buf msg;
	struct dot_reader dot; /* errors are sticky, answered at the end */
	int data_started;
	int64_t bdat_left;
	int bdat_last;
	/* the quota owner: the login, or the relay network's domain */
	struct quota_key qk;
	int has_qk;
	int quota_hit; /* one refusal over quota counted per transaction */
	char qwho[ADDR_MAX + 32];
};

struct smtp_session {
	uint64_t id;
	struct server_loop *loop;
	enum listen_kind kind;
	struct bufferevent *bev;
	int fd;
	enum smtp_state state;
	unsigned flags;
	int errors, auth_fails;
	int auth_refused; /* the pending failure is a brute-force 454 */
	char ip[SERVER_IP_MAX];
	char ipkey[SERVER_IPKEY_MAX];  /* what per-address limits count */
	char *helo;		       /* allocated at EHLO */
	struct sender_identity *ident; /* after AUTH */
	struct cred_ref *cred;	       /* ... and the credential it used */
	int64_t cred_checked;	       /* when it was last found valid */
	int blocked, tos_ok;
	char *block_reason;
	struct smtp_tx *tx;
	struct worker_job *job;	 /* pending, if any */
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

void smtp_session_new(struct server_loop *, int fd, const char *ip,
    const char *ipkey, enum listen_kind);
/* Shutdown: idle sessions get 421 now, busy ones after their work. */
void smtp_session_shutdown(struct smtp_session *);
void smtp_session_free(struct smtp_session *);

/* session.c, for session_data.c */
void smtp_reply(struct smtp_session *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void smtp_resume(struct smtp_session *);
/* A client's error counted; -1 if that closed the session. */
int smtp_error(struct smtp_session *);
void smtp_tx_free(struct smtp_session *);
uint64_t smtp_now_ms(void);
/* A quota refusal: the reply (code 451 or 452) and the misuse count. */
void smtp_quota_refuse(struct smtp_session *, enum quota_rc,
    const struct quota_verdict *, int code);

/* session_data.c */
/* Consume DATA or BDAT bytes from input: 1 done (message complete or
 * chunk done), 0 need more. */
int smtp_data_read(struct smtp_session *);
void smtp_data_begin(struct smtp_session *);
/* The message is whole: check it and hand it to the spool. */
void smtp_data_end(struct smtp_session *);

#endif
