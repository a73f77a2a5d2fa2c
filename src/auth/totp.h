/*
 * totp: time-based one-time passwords for the panel's second factor
 * (RFC 6238 over RFC 4226: HMAC-SHA-1, 6 digits, 30 s steps, one step of
 * clock drift either way), their base32 secrets and otpauth:// URIs, and
 * one-time recovery codes. Pure functions: the store keeps the sealed
 * secret, the last step used (so a code is never accepted twice) and the
 * recovery codes' keyed hashes.
 */
#ifndef POSTERN_TOTP_H
#define POSTERN_TOTP_H

#include <stddef.h>
#include <stdint.h>

#define TOTP_KEY_LEN 20 /* 160 bits, as RFC 4226 section 4 recommends */
#define TOTP_KEY_MAX 64
#define TOTP_B32_MAX 128 /* base32 text of at most TOTP_KEY_MAX bytes */
#define TOTP_STEP 30
#define TOTP_DIGITS 6
#define TOTP_URI_MAX 1024
#define TOTP_RECOVERY_N 10
#define TOTP_RECOVERY_LEN 11 /* "xxxxx-xxxxx" */

/* Base32 (RFC 4648, upper case, no padding). 0, or -1 if out is short. */
int totp_b32_encode(const unsigned char *in, size_t len, char *out,
    size_t outlen);
/*
 * Base32 as people type it: either case, spaces and '=' padding ignored.
 * 0 with *len set, or -1 on any other character or if out is short.
 */
int totp_b32_decode(const char *in, unsigned char *out, size_t outlen,
    size_t *len);
/* RFC 4226 HOTP of counter, digits 6..8, as a decimal string. */
int totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter,
    int digits, char out[9]);
/* The code for unix time t (6 digits). */
int totp_code(const unsigned char *key, size_t keylen, int64_t t, char out[9]);
/*
 * Does code (6 digits; spaces allowed) match a step within one of now's,
 * and later than last_step (the last step accepted, -1 if none)? 1 with
 * *step set to the matched step, else 0. Every candidate is computed and
 * compared in constant time.
 */
int totp_verify(const unsigned char *key, size_t keylen, const char *code,
    int64_t now, int64_t last_step, int64_t *step);
/* A fresh random key. */
void totp_new_key(unsigned char key[TOTP_KEY_LEN]);
/* otpauth://totp/ISSUER:ACCOUNT?secret=...&issuer=... (percent-encoded). */
int totp_uri(char *out, size_t outlen, const char *issuer, const char *account,
    const char *b32);
/* A new recovery code "xxxxx-xxxxx" (lower case, no look-alikes). */
void totp_recovery_new(char out[TOTP_RECOVERY_LEN + 1]);
/*
 * A recovery code as typed, in the form it was made: lower case, the
 * dash put back; -1 if it cannot be one.
 */
int totp_recovery_norm(const char *in, char out[TOTP_RECOVERY_LEN + 1]);

#endif
