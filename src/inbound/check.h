/*
 * check: the inbound checks of one message, together: SPF of MAIL FROM
 * (or of the HELO name for the null sender), DKIM of every signature and
 * the ARC chain, at once, then DMARC over SPF's and DKIM's results (ARC
 * decides nothing here: its arc= is for a forwarder's seal); the outcome
 * as one Authentication-Results field (RFC 8601) and what to do with the
 * message under the sender domain's DMARC policy. A state machine on the
 * session's loop: it asks DNS through dnsq and never blocks.
 */
#ifndef POSTERN_INBOUND_CHECK_H
#define POSTERN_INBOUND_CHECK_H

#include <stddef.h>

#include "../util/buf.h"

struct dnsq;
struct event_base;

enum inbound_action {
	INBOUND_DELIVER,
	INBOUND_JUNK,	/* DMARC quarantine (or reject under "junk") */
	INBOUND_REJECT, /* DMARC reject: 550 5.7.1 at the end of DATA */
};

/* What [mailbox] dmarc_reject says to do with p=reject failures. */
enum inbound_reject_mode {
	INBOUND_REJECT_REJECT,
	INBOUND_REJECT_JUNK,
	INBOUND_REJECT_NONE,
};

struct inbound_input {
	struct event_base *base; /* the session's loop */
	const char *authserv_id; /* this server's name */
	const char *client_ip;
	const char *helo;
	const char *mail_from; /* without < >; "" the null sender */
	const char *msg;       /* the message as received (read at start) */
	size_t len;
	enum inbound_reject_mode reject_mode;
};

struct inbound_check;

/*
 * Start the checks; done runs once, on this loop, from a DNS answer (never
 * inside start). NULL when out of memory or the client address is not
 * one. in is read only during this call.
 */
struct inbound_check *inbound_check_start(struct dnsq *,
    const struct inbound_input *, void (*done)(struct inbound_check *, void *),
    void *arg);
/* Cancel what is pending and free; any time, inside done too. */
void inbound_check_free(struct inbound_check *);

/* After done: the field to put on top of the message ("...\r\n"). */
const char *inbound_check_authres(const struct inbound_check *, size_t *len);
enum inbound_action inbound_check_action(const struct inbound_check *);
/* The DMARC failure in words, for the 550 reply and the log. */
const char *inbound_check_why(const struct inbound_check *);

#endif
