/*
 * mailbox_login: may this login open the mailbox (IMAP, through Dovecot)?
 * With the user's login password (the panel's, never the SMTP password),
 * or one of their app passwords; with two-step sign-in on, only app
 * passwords (an IMAP client cannot ask for a code). An outbound block
 * does not close the mailbox. Unknown login and wrong password cost the
 * same and look the same. Runs on a worker: an argon2id check and reads.
 */
#ifndef POSTERN_MAILBOX_LOGIN_H
#define POSTERN_MAILBOX_LOGIN_H

#include <stdint.h>

#include "../mail/addr.h"

struct store;
struct secret_keys;

#define MAILBOX_PASSWORD_MAX 1024

struct mailbox_login {
	int ok;
	char address[ADDR_MAX + 1]; /* the user's own address, when ok */
	/* the account the login found (ok or not), canonical, for the
	 * failure counters; "" if none */
	char account[ADDR_MAX + 1];
	const char *kind;   /* login_password, app_password; NULL unknown */
	const char *reason; /* for the log only */
};

/* Check, log the attempt (mech = service: "imap", "pop3", ...), and say. */
void mailbox_login_verify(struct store *, const struct secret_keys *,
    const char *login, const char *password, const char *ip,
    const char *service, int64_t now, struct mailbox_login *);

#endif
