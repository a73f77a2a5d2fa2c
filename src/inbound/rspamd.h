/*
 * rspamd: what rspamd says of a message received on the MX, asked over
 * its HTTP protocol (POST /checkv2: the message as the body, the envelope
 * in request headers) through util/httpc on the session's own loop: one
 * connection per message, one deadline for the whole round trip, a reply
 * of bounded size. The reading of its answer and the edits the verdict
 * asks of the message are pure functions, fuzzed (fuzz/fuzz_rspamd.c).
 */
#ifndef POSTERN_INBOUND_RSPAMD_H
#define POSTERN_INBOUND_RSPAMD_H

#include <stddef.h>
#include <sys/uio.h>

#include "../util/buf.h"

struct event_base;

#define RSPAMD_REPLY_MAX (256 * 1024) /* the reply's body */
#define RSPAMD_SUBJECT_MAX 900	      /* bytes of a new Subject: kept */
#define RSPAMD_TEXT_MAX 200	      /* bytes of rspamd's SMTP text kept */
#define RSPAMD_RCPT_MAX 1000	      /* Rcpt: headers sent (rspamd: 1024) */

enum rspamd_action {
	RSPAMD_NO_ACTION,
	RSPAMD_GREYLIST,
	RSPAMD_ADD_HEADER,
	RSPAMD_REWRITE_SUBJECT,
	RSPAMD_SOFT_REJECT,
	RSPAMD_REJECT,
	/* one postern does not know (a newer rspamd's "quarantine", an
	 * operator's own): kept, as spam, never lost */
	RSPAMD_OTHER,
};

struct rspamd_verdict {
	enum rspamd_action action;
	char action_name[32]; /* as rspamd wrote it: printable ASCII */
	double score, required;
	/* "subject" of a rewrite: UTF-8, control bytes made blanks; "" */
	char subject[RSPAMD_SUBJECT_MAX + 1];
	/* messages.smtp_message: printable ASCII for a reply; "" */
	char text[RSPAMD_TEXT_MAX + 1];
};

/*
 * The body of rspamd's 200 reply (JSON): 0, and the verdict in v; -1 not
 * a verdict (not JSON, a duplicate key, no action or score, an action
 * that is not printable ASCII, a score past 1e9), with why in words.
 */
int rspamd_reply_parse(const char *body, size_t len, struct rspamd_verdict *v,
    char *why, size_t whylen);

/* The actions that deliver the message as spam: to Junk, never forwarded. */
int rspamd_action_is_spam(enum rspamd_action);

/*
 * msg (the message as received: header, blank line, body) with its
 * Subject: replaced, into out: subject (UTF-8; RFC 2047 encoded when it
 * is not ASCII), or when NULL "*** SPAM *** " and the old value. The
 * first Subject: field is replaced where it is, any other is dropped,
 * and without one the new field ends the header. 0, or -1 (out's
 * limit).
 */
int rspamd_subject_rewrite(const char *msg, size_t len, const char *subject,
    struct buf *out);

enum rspamd_status {
	RSPAMD_DONE,	    /* a verdict */
	RSPAMD_UNREACHABLE, /* no connection */
	RSPAMD_TIMEOUT,	    /* no whole answer within the timeout */
	RSPAMD_BAD_REPLY,   /* an answer (or a connection that broke in it),
			       but no verdict */
};

/*
 * The header fields postern puts on top of a delivered message: for a
 * verdict (X-Spam: Yes for spam, and X-Spam-Status with the score), or
 * for a check that failed open (X-Spam-Status: skipped, and why).
 */
int rspamd_fields(struct buf *out, enum rspamd_status,
    const struct rspamd_verdict *);

struct rspamd_request {
	struct event_base *base; /* the session's loop */
	const char *server;	 /* [filter] rspamd, as conf checked it */
	int timeout;		 /* seconds */
	const char *queue_id;
	const char *client_ip;
	const char *helo;      /* "" none */
	const char *mail_from; /* without < >; "" the null sender */
	const char *mta_name;  /* this server's name */
	const char *const *rcpts;
	int nrcpt;
	/* the message in pieces: read in place, not copied, so they must
	 * stay until done runs or the check is freed */
	const struct iovec *msg;
	int nmsg;
};

struct rspamd_check;

/*
 * Ask rspamd; done runs once, from an event of req->base (never inside
 * start). Of req, only the bytes req->msg points to are read after start
 * returns. NULL when out of memory.
 */
struct rspamd_check *rspamd_check_start(const struct rspamd_request *req,
    void (*done)(struct rspamd_check *, void *), void *arg);
/* Close the connection and free; any time, inside done too. */
void rspamd_check_free(struct rspamd_check *);

enum rspamd_status rspamd_check_status(const struct rspamd_check *);
/* After done with RSPAMD_DONE. */
const struct rspamd_verdict *rspamd_check_verdict(const struct rspamd_check *);
/* What went wrong, in words for the log ("" when done). */
const char *rspamd_check_error(const struct rspamd_check *);

#endif
