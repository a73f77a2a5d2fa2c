/*
 * srs: the Sender Rewriting Scheme as libsrs2 and postsrsd write it, so
 * that forwarded mail passes SPF at its target and its bounces find the
 * way back. A forwarded message's envelope sender becomes
 * SRS0=HHHH=TT=orig-domain=orig-local@forwarder (an SRS0 address
 * forwarded again: SRS1=HHHH=first-forwarder==HHHH=TT=...@forwarder);
 * the MX decodes such an address to where a bounce goes. Pure functions
 * over strings, plus the secret's file.
 */
#ifndef POSTERN_SRS_H
#define POSTERN_SRS_H

#include <stddef.h>
#include <time.h>

#define SRS_SECRETS_MAX 8      /* lines of the secret file: the first signs */
#define SRS_SECRET_MAX 255     /* bytes of one secret */
#define SRS_LOCAL_MAX 64       /* a rewritten local part (RFC 5321 4.5.3.1.1) */
#define SRS_ADDR_MAX 320       /* an address srs_reverse() looks at */
#define SRS_MAX_AGE_DEFAULT 21 /* days an SRS0 address is honoured */

/* srs_reverse() results other than 0 */
#define SRS_NOT 1     /* not an SRS address: route it the usual way */
#define SRS_BAD 2     /* forged hash, malformed, or out too small */
#define SRS_EXPIRED 3 /* a good hash, older than max_age_days */

/* One or more secrets (HMAC-SHA1 keys, used as the text they are, as
 * postsrsd's secrets file holds them): the first signs, any verifies,
 * so a new one can be put first while the old one still decodes. */
struct srs_key {
	int n;
	size_t len[SRS_SECRETS_MAX];
	char secret[SRS_SECRETS_MAX][SRS_SECRET_MAX + 1];
};

/*
 * Read the secret file: one secret per line (trailing blanks and CR
 * dropped, empty lines skipped), at most SRS_SECRETS_MAX of at most
 * SRS_SECRET_MAX bytes. Refused when it is readable by group or others,
 * empty, or not of that shape. 0, or -1 with why in err (never a
 * secret's bytes).
 */
int srs_key_load(const char *path, struct srs_key *, char *err, size_t errlen);
/* A new secret file (32 random base64 characters and a newline, mode
 * 0600, fsynced; refuses to overwrite). 0 or -1 (errno set). */
int srs_key_generate(const char *path);
/* Load path, generating it first when it does not exist. */
int srs_key_ensure(const char *path, struct srs_key *, char *err,
    size_t errlen);
/* A key of one secret from a string (tests, fuzzing). 0 or -1. */
int srs_key_from_string(struct srs_key *, const char *secret);

/* The server's key, set once at start before any thread runs (NULL
 * until then). */
void srs_key_set(const struct srs_key *);
const struct srs_key *srs_key_current(void);

/*
 * out gets the rewritten envelope sender for a message from sender
 * forwarded through fwd_domain (a domain, or an address whose domain is
 * taken): SRS0 for a plain address, SRS1 for an SRS0 or SRS1 one, the
 * sender itself when its domain is fwd_domain (libsrs2's rule: nothing
 * to rewrite). 0, or -1: no '@', a local part that is not an atom (a
 * quoted string, an '@' in it), a domain with characters that no DNS
 * name has, a result whose local part is longer than SRS_LOCAL_MAX or
 * that does not fit outlen. The null sender is never rewritten: the
 * caller keeps <>.
 */
int srs_forward(const struct srs_key *, const char *sender,
    const char *fwd_domain, time_t now, char *out, size_t outlen);

/*
 * Decode addr (local@domain, or a bare local part) whose local part may
 * be SRS0 or SRS1, its tag and its hash in any case (mail systems change
 * case). 0 and out = the address to send the bounce to (SRS0: the
 * original sender; SRS1: the first forwarder's SRS0 address). SRS_NOT
 * when the local part does not start with SRS0 or SRS1 and a separator
 * (=, + or -); SRS_BAD for a hash that none of the secrets makes
 * (compared in constant time), a malformed address, or out shorter than
 * addr; SRS_EXPIRED for an SRS0 whose time stamp is more than
 * max_age_days old (or in the future: the stamp wraps every 1024 days).
 */
int srs_reverse(const struct srs_key *, const char *addr, time_t now,
    int max_age_days, char *out, size_t outlen);

/* 1 when the local part of addr starts like an SRS address (SRS0 or
 * SRS1, any case, then =, + or -), else 0. */
int srs_is_srs(const char *addr);

#endif
