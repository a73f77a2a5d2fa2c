/*
 * sasl: the decoders of the SMTP AUTH mechanisms postern offers: PLAIN
 * (RFC 4616), LOGIN, XOAUTH2 (Google's) and OAUTHBEARER (RFC 7628).
 * They turn the client's base64 into a login and a secret; checking the
 * secret is cred.c's job.
 */
#ifndef POSTERN_SASL_H
#define POSTERN_SASL_H

#include <stddef.h>

#include "secret.h"
#include "../mail/addr.h"

#define SASL_LOGIN_MAX ADDR_MAX
#define SASL_B64_MAX 4096 /* longest client response we read */

enum sasl_mech {
	SASL_PLAIN,
	SASL_LOGIN,
	SASL_XOAUTH2,
	SASL_OAUTHBEARER,
	SASL_NONE
};

struct sasl_creds {
	char login[SASL_LOGIN_MAX + 1];
	char secret[SECRET_MAX + 1];
	int bearer; /* secret is an OAuth token */
};

enum sasl_mech sasl_mech_by_name(const char *name);
const char *sasl_mech_name(enum sasl_mech);
/* Is a client response base64 that the decoders can read (strict RFC
 * 4648, at most SASL_B64_MAX characters)? RFC 4954 answers one that is
 * not with 501 5.5.2, before any credential is looked at. */
int sasl_is_base64(const char *b64);
/* Decode one mechanism's response: 0, or -1 with why (a short text). */
int sasl_plain(const char *b64, struct sasl_creds *, const char **why);
int sasl_xoauth2(const char *b64, struct sasl_creds *, const char **why);
int sasl_oauthbearer(const char *b64, struct sasl_creds *, const char **why);
/* LOGIN's two steps: a base64 user name, then a base64 password. */
int sasl_login_field(const char *b64, char *out, size_t outlen,
    const char **why);

#endif
