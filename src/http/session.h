/*
 * session: who is calling. An operator sends an API key (Authorization:
 * Bearer KEY); an end user signs in with their address and login
 * password (POST /api/v1/session) and then sends the session cookie,
 * and on every change the CSRF token in X-CSRF-Token. Failed sign-ins
 * are counted per client address and per login, and slowed.
 */
#ifndef POSTERN_HTTP_SESSION_H
#define POSTERN_HTTP_SESSION_H

#include <stdint.h>

#include <jansson.h>

struct http_call;
struct admin_err;

/* On a worker: find the caller from the call's credentials. */
int http_authenticate(struct http_call *, struct admin_err *);
/* On a worker: may this caller use this route (and the CSRF token)? */
int http_authorize(struct http_call *, struct admin_err *);
/* Sign-ins from one address being checked at once, at most. */
#define HTTP_LOGIN_INFLIGHT_IP 4
/* On the loop, before a sign-in is checked: -1 with why (and a
 * Retry-After) when too many failures came from this address or for this
 * login lately, or too many of its sign-ins are being checked now. Else
 * the call counts as in flight until http_login_after(). */
int http_login_gate(struct http_call *, const char **why);
/* The key a sign-in's failures are counted under: the login's canonical
 * spelling (mail/addr.c), or as typed (ASCII lower-cased) if it has none. */
void http_login_key(const char *address, char *key, size_t len);
/* login_result of a right password when a two-step code is still due */
#define HTTP_LOGIN_HALF 2
/* On the loop, after a sign-in (or when it is not run after all): no
 * longer in flight; count its result, set the reply's delay. */
void http_login_after(struct http_call *);
void http_login_free(void);
/* On a worker: a new session for user_id, its cookie and the body of the
 * reply (address, CSRF token). */
int http_session_start(struct http_call *, int64_t user_id, json_t **out,
    struct admin_err *);
/* http/panel.c: a right password with two-step sign-in on: a ticket for
 * the code step instead of a session. */
int http_panel_ticket(struct http_call *, int64_t user_id, json_t **out,
    struct admin_err *);

#endif
