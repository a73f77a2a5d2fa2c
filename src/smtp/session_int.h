/*
 * session_int: what the files of one SMTP session share, and nobody
 * else. session.c: input, the command table, state, replies, jobs;
 * session_auth.c: AUTH; session_mail.c: MAIL, RCPT, DATA/BDAT commands;
 * session_data.c: the end of DATA/BDAT, to the spool.
 */
#ifndef POSTERN_SESSION_INT_H
#define POSTERN_SESSION_INT_H

#include <stdint.h>

#include "dotdata.h"
#include "session.h"
#include "../auth/cred.h"
#include "../policy/quota.h"
#include "../policy/sender.h"
#include "../spool/spool.h"
#include "../util/buf.h"
#include "../util/conf.h"

/* RFC 5321 4.5.3.1.4 says 512, plus what extensions add (ORCPT 500) */
#define SMTP_CMD_MAX 1024
#define SMTP_AUTH_LINE_MAX (SASL_B64_MAX + 32) /* RFC 4954: 12288 */
#define SMTP_HELO_MAX 255

#define SF_TLS 0x01
#define SF_EHLO 0x02	/* EHLO or HELO seen */
#define SF_ESMTP 0x04	/* EHLO, not HELO */
#define SF_DISCARD 0x08 /* skipping the rest of an over-long line */
#define SF_OUTFULL 0x20 /* commands wait until the client reads replies */

/* Replies held for a client that does not read them: past this, no
 * more commands are read (then the read watermark stops the input). */
#define SMTP_OUT_MAX (64 * 1024)

struct smtp_tx {
	char from[ADDR_MAX + 1];
	int relay_ok; /* smtp listener: sender's relay network */
	int inbound;  /* smtp listener: to mailboxes here, from anyone */
	/* then the names its From: may use: the relay network's domain */
	struct sender_identity *relay_id;
	char body[16];
	int smtputf8;
	int requiretls; /* RFC 8689 */
	char ret[8];
	char envid[128];
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

/* A job of a session: run on a worker (its store: store_thread()),
 * done back on the loop. */
struct smtp_job {
	struct worker_job base;
};

/* session.c */
uint64_t smtp_now_ms(void);
void smtp_reply(struct smtp_session *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The reply to a client's error, and the error counted: past
 * errors_per_session, 421 and the session closes (then -1). */
int smtp_refuse(struct smtp_session *, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Every change of state goes through here; S_CLOSING is final. */
void smtp_set_state(struct smtp_session *, enum smtp_state);
void smtp_set_timeout(struct smtp_session *, int64_t secs);
void smtp_close_after_reply(struct smtp_session *);
/* A job answered or a delay over: read the commands that waited. */
void smtp_resume(struct smtp_session *);
/* A job: run/done/owner set; smtp_job_submit() hands it to a worker
 * and the session waits for it (S_WAIT). smtp_job_start() does both. */
void smtp_job_init(struct smtp_session *, struct smtp_job *,
    void (*run)(struct worker_job *, void *),
    void (*done)(struct worker_job *));
void smtp_job_submit(struct smtp_session *, struct smtp_job *);
void smtp_job_start(struct smtp_session *, struct smtp_job *,
    void (*run)(struct worker_job *, void *),
    void (*done)(struct worker_job *));
void smtp_tx_free(struct smtp_session *);
/* "SIZE [LAST]" of BDAT: 0, or -1 if it is not that. */
int smtp_bdat_arg(char *arg, int64_t *n, int *last);

/* session_auth.c */
void smtp_cmd_auth(struct smtp_session *, char *arg);
/* A line of a SASL exchange (S_AUTH), or one too long (line NULL). */
void smtp_auth_line(struct smtp_session *, char *line);
int smtp_auth_offered(const struct smtp_session *);
/* What AUTH holds: the LOGIN step, a check held back. */
void smtp_auth_free(struct smtp_session *);

/* session_mail.c */
void smtp_cmd_mail(struct smtp_session *, char *arg);
void smtp_cmd_rcpt(struct smtp_session *, char *arg);
void smtp_cmd_data(struct smtp_session *, char *arg);
void smtp_cmd_bdat(struct smtp_session *, char *arg);
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
/* A session that ends while its message waits for the MX's checks. */
void smtp_data_free_pending(struct smtp_session *);

#endif
