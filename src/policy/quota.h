/*
 * quota: sending quotas and the misuse signals that block a user, counted
 * in memory in one table shared by every loop thread (a mutex around a
 * hash look-up: no SQL on the hot path). Windows are fixed: the clock
 * hour and the UTC day. The store keeps a copy (written behind by the
 * server) so usage survives a restart. Every function takes the time, so
 * the engine is tested without a clock.
 */
#ifndef POSTERN_QUOTA_H
#define POSTERN_QUOTA_H

#include <stdint.h>

#define QUOTA_MSGS_HOUR 0
#define QUOTA_MSGS_DAY 1
#define QUOTA_RCPTS_DAY 2
#define QUOTA_RCPTS_MSG 3
#define QUOTA_N 4

#define QUOTA_IPS_MAX 64 /* distinct addresses remembered per hour */

/* An owner: a user, or a domain's own sending (domain login, relay
 * networks) with user_id 0. */
struct quota_key {
	int64_t user_id, domain_id;
};

/* The owner of a login: the user, else the domain. */
void quota_key_set(struct quota_key *, int64_t user_id, int64_t domain_id);

enum quota_rc {
	QUOTA_OK = 0,
	QUOTA_OVER,    /* the verdict says which quota */
	QUOTA_STALE,   /* limits unknown or older than the TTL: resolve */
	QUOTA_BLOCKED, /* blocked by the misuse rules while running */
};

struct quota_verdict {
	int which; /* QUOTA_*, -1 if none */
	int64_t limit;
	int64_t resets; /* unix time the window ends; 0 per message */
};

/* What the misuse rules look at; 0 turns a rule off. */
struct quota_abuse {
	int64_t excess_blocks;	/* refusals over quota per UTC day */
	int64_t ips_per_hour;	/* distinct login addresses per hour */
	int64_t rejected_share; /* percent of the day's recipients */
	int64_t rejected_min;	/* refused recipients before it counts */
};

/* "messages_per_hour" ...: the names in the config, CLI and JSON. */
extern const char *const quota_names[QUOTA_N];

void quota_init(void);
void quota_free(void);
int64_t quota_hour_start(int64_t now);
int64_t quota_day_start(int64_t now);

/*
 * The limits that apply to an owner (0 = unlimited), resolved from the
 * store by a worker. blocked: what the store says now. An owner this
 * engine had blocked and the store no longer does was unblocked by the
 * operator: its counters start again from zero.
 */
void quota_set_limits(const struct quota_key *, const int64_t lim[QUOTA_N],
    int blocked, int64_t now);

/* MAIL: messages per hour and per day, recipients per day. ttl: limits
 * older than this are STALE (0: any age will do). */
enum quota_rc quota_check_mail(const struct quota_key *, int64_t now,
    int64_t ttl, struct quota_verdict *);
/* The same, and QUOTA_STALE once this node accepted batch messages of
 * the owner since its counts were last exchanged with the store (0: no
 * such rule): several nodes then pass a quota by at most (nodes - 1) x
 * batch between them. */
enum quota_rc quota_check_mail_batch(const struct quota_key *, int64_t now,
    int64_t ttl, int64_t batch, struct quota_verdict *);
/* RCPT: would nrcpt recipients in this message still fit? */
enum quota_rc quota_check_rcpt(const struct quota_key *, int nrcpt, int64_t now,
    struct quota_verdict *);
/* End of DATA: check and count one message of nrcpt recipients at once,
 * so two sessions of one owner cannot together pass a quota. */
enum quota_rc quota_reserve(const struct quota_key *, int nrcpt, int64_t now,
    struct quota_verdict *);
/* The spool write failed: give back what quota_reserve() took (if the
 * windows did not turn since). */
void quota_release(const struct quota_key *, int nrcpt, int64_t reserved);

/* Misuse signals; each returns 1 when it crosses its threshold now and
 * the owner (a user) was not blocked: the caller blocks them. */
int quota_excess(const struct quota_key *, const struct quota_abuse *,
    int64_t now);
int quota_login_from(const struct quota_key *, const char *ip,
    const struct quota_abuse *, int64_t now);
/* The same; *fresh 1 when this node had not seen ip for the owner this
 * hour (then the store counts it for all nodes: quota_login_shared). */
int quota_login_from_new(const struct quota_key *, const char *ip,
    const struct quota_abuse *, int64_t now, int *fresh);
/* n distinct addresses this hour on all nodes together (the store's). */
int quota_login_shared(const struct quota_key *, int64_t n,
    const struct quota_abuse *, int64_t now);
/* accepted may be negative: recipients counted accepted at DATA that
 * their servers then refused. */
int quota_rcpt_result(const struct quota_key *, int accepted, int refused,
    const struct quota_abuse *, int64_t now);
/* The block a rule tripped is in the store now: when the store later
 * says "not blocked", the operator lifted it. */
void quota_block_stored(const struct quota_key *);

/* What the store says of a block, polled: an owner blocked elsewhere
 * is refused here; one the store says unblocked starts from zero. */
void quota_set_blocked(const struct quota_key *, int blocked, int64_t now);

/* Persistence. A counter row: "messages_hour", "messages_day",
 * "recipients_day", "excess_day", "rcpt_ok_day", "rcpt_refused_day". */
/* The store's count n (what every node added) becomes the owner's, plus
 * what this node counted and has not added yet. */
void quota_load(const struct quota_key *, const char *counter, int64_t window,
    int64_t n, int64_t now);
/* Each changed owner's new counts (deltas since the last flush), once,
 * to fn, which adds delta to the store's counter and sets *total and
 * *twindow to what the store then holds; 0 or -1 when fn failed. fn
 * returns 0 written, -1 error, 1 the owner is gone (removed from the
 * store): its entry is forgotten and the others are written all the
 * same. */
typedef int (*quota_flush_fn)(void *, const struct quota_key *,
    const char *counter, int64_t window, int64_t delta, int64_t *total,
    int64_t *twindow);
int quota_flush(quota_flush_fn fn, void *arg);
/* The same for one owner (also when nothing changed: its totals). */
int quota_flush_one(const struct quota_key *, quota_flush_fn fn, void *arg);

/* Usage for display, from stored rows: the count that applies now. */
int64_t quota_usage_now(const char *counter, int64_t window, int64_t n,
    int64_t now);

#endif
