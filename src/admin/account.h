/*
 * account: what an end user does to their own account from the panel,
 * beyond the operator's operations: the TOTP second factor (enrol,
 * confirm, check, disable; recovery codes), the sign-in ticket between
 * the password and the code, and the login password set through an
 * e-mailed, single-use link. The HTTP handlers call these on a worker
 * with the caller's own account; nothing here trusts a user id from
 * the request.
 */
#ifndef POSTERN_ACCOUNT_H
#define POSTERN_ACCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "admin.h"
#include "../spool/spool.h"

#define ACCOUNT_TOKEN_LEN 32   /* link and ticket tokens: 185 bits */
#define ACCOUNT_TICKET_TTL 300 /* seconds to type the code */
#define ACCOUNT_TICKET_TRIES 5 /* wrong codes before the ticket ends */

/* {enabled, since, recovery_left} */
int account_totp_status(struct admin_ctx *, int64_t user_id, json_t **out,
    struct admin_err *);
/* A new pending key: {secret (base32), uri (otpauth://)}; 409 if on. */
int account_totp_begin(struct admin_ctx *, int64_t user_id, const char *address,
    json_t **out, struct admin_err *);
/* The first code turns it on: {recovery_codes: [...]} shown once. */
int account_totp_confirm(struct admin_ctx *, int64_t user_id, const char *code,
    json_t **out, struct admin_err *);
/* A current code or an unused recovery code: 0, else 401 (each code
 * works once). */
int account_totp_check(struct admin_ctx *, int64_t user_id, const char *code,
    struct admin_err *);
/* Turn it off, with a current code or a recovery code. */
int account_totp_disable(struct admin_ctx *, int64_t user_id, const char *code,
    struct admin_err *);
/* The operator's "user.totp.off" {address}: two-step sign-in off for a
 * user who lost the phone and the recovery codes. */
int admin_user_totp_off(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
/* Is two-step sign-in on for the user? 1, 0, or -1 (store). */
int account_totp_enabled(struct admin_ctx *, int64_t user_id);
/* After a right password with TOTP on: a ticket for the code step. */
int account_ticket_new(struct admin_ctx *, int64_t user_id,
    char ticket[ACCOUNT_TOKEN_LEN + 1], struct admin_err *);
/* The code step: the ticket's user when the code is right (the ticket
 * is then used up), else 401. */
int account_ticket_take(struct admin_ctx *, const char *ticket,
    const char *code, int64_t *user_id, struct admin_err *);
/*
 * "Create a local password" / "Forgot password" (purpose "create" or
 * "reset"): if address is an account and the limits allow, a link is
 * written to the spool as a message from postmaster@HOSTNAME (its id in
 * queued, "" if none). The reply is the same whether or not the
 * address exists; only the per-client limit answers 429.
 */
int account_link_send(struct admin_ctx *, const char *address,
    const char *purpose, char queued[SPOOL_ID_LEN + 1], json_t **out,
    struct admin_err *);
/* Follow a link: set the login password (strong, not the SMTP one). */
int account_link_use(struct admin_ctx *, const char *token,
    const char *password, json_t **out, struct admin_err *);

/* The panel's base address for links, without a trailing slash. */
void account_panel_url(const struct conf *, char *out, size_t len);
/* A From: display name as an RFC 5322 quoted string and a space; ""
 * (none) when the name is not printable ASCII (raw UTF-8 would need
 * SMTPUTF8). */
void account_display_name(const char *name, char *out, size_t len);

/* A short text message from postern itself (a link to the panel), into
 * the spool: From "PANEL NAME <from>", one recipient, auto-generated.
 * domain: the envelope's domain (DKIM signs for it), or NULL. The buffer
 * that held it is wiped (a link's token is in it). 0 and its id, or -1. */
struct account_mail {
	const char *env_from; /* "" for the null sender */
	const char *from, *to, *subject;
	const char *domain;
	int utf8;	  /* 8bit UTF-8 text, else 7bit ASCII */
	const char *text; /* the body, CRLF lines */
};
int account_system_mail(struct admin_ctx *, const struct account_mail *,
    char id[SPOOL_ID_LEN + 1]);

#endif
