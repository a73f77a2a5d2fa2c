/*
 * bruteforce: failed AUTH attempts counted per client address and per
 * login, in memory, shared by every loop (bounded tables, entries expire
 * after the failure window). An address that keeps failing is slowed,
 * then refused for a while; a login under attack slows only the
 * addresses that failed it, so its owner, from a clean address, still
 * logs in at normal speed. The counters are keyed by the login's
 * canonical spelling (mail/addr.c), never by whether it exists; an alias
 * is linked to its account once a failure under it found the account.
 */
#ifndef POSTERN_BRUTEFORCE_H
#define POSTERN_BRUTEFORCE_H

#include <stdint.h>

struct bf_conf {
	int64_t window;		 /* seconds a failure counts */
	int64_t ip_slow_after;	 /* failures from an address */
	int64_t ip_refuse_after; /* ... then refused for refuse_time */
	int64_t refuse_time;
	int64_t login_slow_after; /* failures of a login, any address */
	int64_t slow_delay_ms;	  /* first extra delay, doubled each time */
	int64_t slow_max_ms;
};

#define BF_SLOTS 16384 /* per table; 8-way probing, oldest replaced */

void bf_init(void);
/* Before a credential is checked: -1 refuse now (454), else the extra
 * delay in milliseconds (0 for a clean address). */
int64_t bf_check(const struct bf_conf *, const char *ip, const char *login,
    int64_t now);
/* A failed attempt from ip for login. */
void bf_failed(const struct bf_conf *, const char *ip, const char *login,
    int64_t now);
/* The same when the login found an account (account: its own address,
 * NULL or "" if none): a failure under another of its names (an alias)
 * counts for the account too, and that name's later verdicts count the
 * account's failures. */
void bf_failed_account(const struct bf_conf *, const char *ip,
    const char *login, const char *account, int64_t now);

#endif
