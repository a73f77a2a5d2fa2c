/*
 * arc: sealing a forwarded message with an ARC set (RFC 8617): the
 * ARC-Authentication-Results carrying postern's inbound results, an
 * ARC-Message-Signature (DKIM's signature under another name, with i=)
 * and an ARC-Seal over every set of the chain. The signing, folding and
 * canonicalisation are the DKIM signer's (dkim_int.h, canon.h).
 */
#ifndef POSTERN_ARC_H
#define POSTERN_ARC_H

#include <stddef.h>
#include <time.h>

#include "dkim.h"
#include "../util/buf.h"

#define ARC_MAX_SETS 50		 /* RFC 8617 4.2.1: i= is 1 to 50 */
#define ARC_AUTHRES_MAX 8192	 /* the results carried, folded */
#define ARC_AUTHRES_LINE_MAX 900 /* one line of them (SMTP: 998) */

/* cv=, as the caller learnt it by validating the chain the message came
 * with (arc=none/pass/fail in its Authentication-Results). */
enum arc_cv { ARC_CV_NONE, ARC_CV_PASS, ARC_CV_FAIL };

/*
 * Prepend an ARC set for msg (CRLF, header section, empty line, body, as
 * in the spool): appends "ARC-Seal: ...", "ARC-Message-Signature: ..."
 * and "ARC-Authentication-Results: ..." (in that order, each folded,
 * with its CRLF) to out, to be put on top of the message. The instance
 * is the highest i= of the ARC fields present plus one.
 *
 * authres is the value of postern's Authentication-Results field (what
 * follows "Authentication-Results:": "authserv-id; spf=pass ...", folds
 * allowed; blanks around it and a final CRLF are dropped).
 *
 * cv= is "none" when the message has no ARC field. Otherwise the chain
 * is first checked here for structure (every instance 1..n present with
 * exactly one field of each kind, i= in range, the first seal cv=none,
 * the others cv=pass); cv= is "pass" only when that holds and cv is
 * ARC_CV_PASS (the caller verified the seals' and the latest
 * ARC-Message-Signature's signatures against DNS), else "fail", and a
 * failed seal covers only its own set (RFC 8617 5.1.2, as dkimpy seals).
 *
 * The ARC-Message-Signature signs what the DKIM signer signs (From
 * oversigned, To, Cc, Subject, Date, Message-ID, ...), and the
 * DKIM-Signature fields present (RFC 8617 4.1.2), never an ARC field
 * or Authentication-Results; c=relaxed/relaxed, t=now.
 *
 * key must be an RSA key: RFC 8617 defines rsa-sha256 alone (dkimpy,
 * for one, refuses an ed25519-sha256 seal).
 *
 * 0, or -1 with out as it was: key is not RSA, the chain already has
 * ARC_MAX_SETS sets,
 * authres is empty, too long, or holds a bare CR or LF or a NUL, the
 * header section is not clean (dkim_sign's reasons), or a crypto or
 * memory failure.
 */
int arc_sign(struct dkim_key *key, const char *msg, size_t len,
    const char *authres, int cv, time_t now, struct buf *out);

#endif
