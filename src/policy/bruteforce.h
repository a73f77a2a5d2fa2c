/*
 * bruteforce: the one engine for failed logins, whatever the protocol
 * (SMTP AUTH, panel sign-in and its codes, IMAP logins to come). Failures
 * are counted per client address and per login, in memory, shared by
 * every loop (bounded tables, entries expire after the failure window).
 * An address that keeps failing is slowed, then refused for a while; a
 * login under attack slows (or refuses) only the addresses that failed,
 * so its owner, from a clean address, still logs in at normal speed: a
 * stranger can never lock a user out. The counters are keyed by the
 * login's canonical spelling (mail/addr.c), never by whether it exists;
 * an alias is linked to its account once a failure under it found the
 * account.
 *
 * One table per secret: guesses at SMTP passwords (bf_smtp) and at the
 * login password (bf_login: the panel, and Dovecot's IMAP logins) are
 * counted apart, each with its protocol's settings.
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
	/* a login under attack refuses (rather than slows) the addresses
	 * that failed: the panel, whose failures are slowed anyway */
	int login_refuses;
};

#define BF_SLOTS 16384 /* per table; 8-way probing, oldest replaced */
#define BF_ID_LEN 16   /* a name's id, the same on every node */

struct bf_table;
extern struct bf_table *const bf_smtp;	/* SMTP passwords */
extern struct bf_table *const bf_login; /* the login password */

struct conf;
/* The login password's settings ([http] login_*): the panel and
 * Dovecot's logins count in bf_login under them. */
void bf_login_conf(const struct conf *, struct bf_conf *);

void bf_init(void);
/* Before a credential is checked: -1 refuse now (454, 429), else the
 * extra delay in milliseconds (0 for a clean address). */
int64_t bf_verdict(struct bf_table *, const struct bf_conf *, const char *ip,
    const char *login, int64_t now);
/* A failed attempt from ip for login. account: the address of the
 * account the login found (NULL or "" if none): a failure under another
 * of its names (an alias) counts for the account too, and that name's
 * later verdicts count the account's failures. */
void bf_fail(struct bf_table *, const struct bf_conf *, const char *ip,
    const char *login, const char *account, int64_t now);
/* The recent failures of a login (and of the account it led to). */
int64_t bf_login_failures(struct bf_table *, const struct bf_conf *,
    const char *login, int64_t now);

/* SMTP AUTH's table (bf_smtp) */
int64_t bf_check(const struct bf_conf *, const char *ip, const char *login,
    int64_t now);
void bf_failed(const struct bf_conf *, const char *ip, const char *login,
    int64_t now);
void bf_failed_account(const struct bf_conf *, const char *ip,
    const char *login, const char *account, int64_t now);

/*
 * Several nodes on one store: the failures counted here since the last
 * exchange go to fn (kind 0 an address, 1 a login; link_id NULL or the
 * account a login led to), which adds them to the store and says what
 * it holds (all nodes together); those become the slots' counts, plus
 * what was counted meanwhile. -1 when fn failed: the failures are kept
 * to be sent again.
 */
int bf_exchange(struct bf_table *, const struct bf_conf *, int64_t now,
    int (*fn)(void *, int kind, const unsigned char *id,
	const unsigned char *link_id, int64_t pend, int64_t last,
	int64_t *fails, int64_t *flast, int64_t *refused),
    void *arg);
/* A count another node added to (read from the store). */
void bf_merge(struct bf_table *, const struct bf_conf *, int kind,
    const unsigned char id[BF_ID_LEN], const unsigned char *link_id,
    int64_t fails, int64_t last, int64_t refused, int64_t now);

#endif
