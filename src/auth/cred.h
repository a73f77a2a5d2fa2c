/*
 * cred: checks a login and secret that a SASL mechanism decoded, and
 * loads what the login may do. Runs on a worker thread (store access);
 * every attempt, good or bad, is written to the authentication log.
 */
#ifndef POSTERN_CRED_H
#define POSTERN_CRED_H

#include <stdint.h>

#include "sasl.h"
#include "secret.h"
#include "../policy/sender.h"

struct store;

/* A token opens only the services its scope names ("smtp", "imap", or
 * both, as `postern token issue --scope` takes them); the submission
 * listeners want "smtp". */
#define CRED_SCOPE_SMTP "smtp"
#define CRED_SCOPE_MAX 64

/* Which credential opened a session, so the session can ask later
 * whether it still stands (a new SMTP password, a revoked app password
 * or token ends the sessions it opened). */
struct cred_ref {
	const char *kind; /* STORE_CRED_*; NULL: none */
	int64_t owner;	  /* the user; the domain for a domain's password */
	/* SMTP password: its keyed hash; app password: its id; token: id */
	char ref[SECRET_HASH_HEX + 1];
};

struct cred_result {
	int ok;
	int tempfail;	    /* the store failed: no verdict (451) */
	const char *kind;   /* STORE_CRED_*, NULL if the login is unknown */
	const char *reason; /* why it failed, for the log only */
	int blocked;
	char block_reason[512];
	int tos_ok;		    /* current terms accepted (or none set) */
	struct sender_identity *id; /* on success; the caller frees */
	struct cred_ref ref;	    /* on success */
	int64_t app_id;		    /* the app password's, if one matched */
	/* the account the login found, ok or not, in its canonical spelling
	 * (for the failure counters); "" if none */
	char account[ADDR_MAX + 1];
};

/* Is secret one of the user's live app passwords? 1 (its id in *app_id),
 * 0 no, -1 store failure. */
int cred_app_verify(struct store *, const struct secret_keys *, int64_t user_id,
    const char *secret, int64_t *app_id);
int cred_verify(struct store *, const struct secret_keys *,
    const struct sasl_creds *, const char *mech, const char *ip, int64_t now,
    struct cred_result *);

/* worker: does the credential still stand? 1 yes; 0 replaced, revoked,
 * expired or its owner gone; -1 the store failed. */
int cred_still_valid(struct store *, const struct cred_ref *, int64_t now);
/* Every name a login may send as: the user's local parts (user_id 0: any
 * local part, a domain login or a relay network) at each of the domain's
 * names. NULL on a store failure. */
struct sender_identity *cred_identity(struct store *, int64_t user_id,
    int64_t domain_id, const char *login);

/* An attempt refused before any check (too many failures), logged under
 * the same name a checked one would be. */
int cred_log_refused(struct store *, const char *login, const char *ip,
    const char *mech, const char *reason, int64_t now);

#endif
