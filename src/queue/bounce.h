/*
 * bounce: the delivery status notification (RFC 3464, multipart/report)
 * that tells a sender which recipients failed and what the remote server
 * said. Sent from the null sender, so it can never bounce itself.
 */
#ifndef POSTERN_BOUNCE_H
#define POSTERN_BOUNCE_H

#include <stddef.h>
#include <stdint.h>

#include "../spool/spool.h"
#include "../util/buf.h"

struct bounce_rcpt {
	const char *addr;
	const char *orcpt;  /* "" if none */
	const char *remote; /* remote host, "" if none answered */
	const char *diag;   /* the remote reply, or our reason */
	int code;	    /* the reply code, 0 if none */
};

/* Does this recipient want a failure notice (DSN NOTIFY)? */
int bounce_wanted(const struct spool_rcpt *);
/*
 * The DSN message (CRLF) for these failed recipients of a message. The
 * original's header section is included (RET=FULL: the whole message,
 * up to a limit). 0 or -1.
 */
int bounce_build(const struct spool_env *orig, const char *msg, size_t len,
    const struct bounce_rcpt *failed, int n, const char *hostname, int64_t now,
    struct buf *out);

#endif
