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
 * ARC_CV_PASS (the chain's signatures verified against DNS: the MX did
 * that at arrival, and arc_cv_of(authres) reads its arc= result back),
 * else "fail", and a failed seal covers only its own set (as dkimpy
 * seals).
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

/*
 * The value of msg's first Authentication-Results field whose
 * authserv-id is authserv_id (any case, a trailing dot allowed): at the
 * MX, postern's own, written on top after any field claiming its name
 * was removed. Into out, NUL-terminated, folds kept, blanks around it
 * dropped: what arc_sign() takes as authres. 0, or -1 when there is
 * none or it does not fit outlen.
 */
int arc_authres_of(const char *msg, size_t len, const char *authserv_id,
    char *out, size_t outlen);

/*
 * cv for arc_sign() from postern's own Authentication-Results value
 * (authres as arc_sign takes it): its arc= result, pass or fail; none
 * when it has none.
 */
int arc_cv_of(const char *authres);

/*
 * Validation of the chain a received message carries (RFC 8617 5.2),
 * for the inbound checks' Authentication-Results (arc=): none without
 * any ARC field; fail when the chain is not whole (arc_sign's structural
 * rules), a seal says cv=fail, the latest ARC-Message-Signature does not
 * verify (body hash, signature), any ARC-Seal's signature does not, or
 * a key cannot be had (no temperror in ARC's results); else pass. Keys
 * are asked through dnsq, once per name, at most ARC_VERIFY_KEYS_MAX
 * names (more: fail). The message is read only during start; done runs
 * once from a DNS answer, or never when start settled it (then
 * arc_verify_is_done() is 1). NULL when out of memory.
 */
#define ARC_VERIFY_KEYS_MAX 8

enum arc_res { ARC_RES_NONE, ARC_RES_PASS, ARC_RES_FAIL };

struct dnsq;
struct arc_verify;

struct arc_verify *arc_verify_start(struct dnsq *, const char *msg, size_t len,
    void (*done)(struct arc_verify *, void *), void *arg);
/* Cancel what is pending and free; any time, inside done too. */
void arc_verify_free(struct arc_verify *);
int arc_verify_is_done(const struct arc_verify *);
/* The result and a short sentence why (never NULL). */
enum arc_res arc_verify_result(const struct arc_verify *, const char **why);
const char *arc_res_name(enum arc_res);

#endif
