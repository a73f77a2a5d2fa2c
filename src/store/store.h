/*
 * store: accounts, credentials, policy settings and the authentication
 * log, behind one interface. Every SQL statement postern runs is in
 * store.c (portable SQL over db.h); the schema and its migrations are in
 * store_schema.c. Names are stored canonical (see mail/addr.h).
 *
 * Return values: 0 ok, STORE_NOTFOUND, STORE_EXISTS (a name taken), or
 * STORE_FAIL (database error; store_errmsg() says which).
 */
#ifndef POSTERN_STORE_H
#define POSTERN_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "../mail/addr.h"

#define STORE_NOTFOUND (-2)
#define STORE_EXISTS (-3)
#define STORE_FAIL (-1)

struct store;

struct store_domain {
	int64_t id;
	char name[ADDR_DOMAIN_MAX + 1]; /* the primary name */
	int is_alias;			/* looked up by an alias name */
};

struct store_user {
	int64_t id, domain_id;
	char local[ADDR_LOCAL_MAX + 1];
	char domain[ADDR_DOMAIN_MAX + 1];
	char blocked_reason[512]; /* "" unless blocked */
	int blocked;
};

/* Credential kinds, as written to the authentication log. */
#define STORE_CRED_SMTP "smtp_password"
#define STORE_CRED_DOMAIN "domain_smtp_password"
#define STORE_CRED_APP "app_password"
#define STORE_CRED_TOKEN "token"

struct store_auth_event {
	int64_t time;
	const char *login, *ip, *mech, *kind, *outcome, *reason;
	const char *node; /* NULL: conf_node_name() of the config in force */
};

/*
 * Lists: the store hands rows upward as a counted array of one struct
 * per row (v[0..n-1]) and one free function per kind, never as JSON
 * (which is built in admin/). Why an array rather than a callback per
 * row: the callers keep the rows while they look at them more than once
 * (a user's aliases at every name of the domain), count them, or turn
 * them into JSON in one loop, and none of them needs a context struct.
 * A list function returns 0 or STORE_FAIL; on failure the list is empty,
 * so its free function is always safe to call. Text is owned by the list
 * (NULL where the column is NULL); a time that may be unset (last_used,
 * revoked, retired, publish_until) is 0 when unset.
 */
struct store_domain_row {
	int64_t id;
	char *name;
	int64_t created, users;
};
struct store_domain_rows {
	struct store_domain_row *v;
	size_t n;
};
void store_domain_rows_free(struct store_domain_rows *);

struct store_name_row { /* a domain's names */
	char *name;
	int64_t is_alias;
};
struct store_name_rows {
	struct store_name_row *v;
	size_t n;
};
void store_name_rows_free(struct store_name_rows *);

/* One text column per row: a user's aliases or folded local parts. */
struct store_strings {
	char **v;
	size_t n;
};
void store_strings_free(struct store_strings *);

struct store_user_row {
	char *address; /* local@domain */
	int64_t created;
	char *blocked_reason;			       /* NULL unless blocked */
	int64_t has_login_password, has_smtp_password; /* 0 or 1 */
};
struct store_user_rows {
	struct store_user_row *v;
	size_t n;
};
void store_user_rows_free(struct store_user_rows *);

struct store_app_row {
	char *label;
	int64_t created, last_used, revoked;
};
struct store_app_rows {
	struct store_app_row *v;
	size_t n;
};
void store_app_rows_free(struct store_app_rows *);

struct store_token_row {
	char *id, *scope;
	int64_t created, expires, revoked;
};
struct store_token_rows {
	struct store_token_row *v;
	size_t n;
};
void store_token_rows_free(struct store_token_rows *);

struct store_tos_row {
	int64_t version, accepted;
	char *ip; /* NULL if not recorded */
};
struct store_tos_rows {
	struct store_tos_row *v;
	size_t n;
};
void store_tos_rows_free(struct store_tos_rows *);

struct store_relay_row {
	char *domain, *cidr;
	int64_t created;
};
struct store_relay_rows {
	struct store_relay_row *v;
	size_t n;
};
void store_relay_rows_free(struct store_relay_rows *);

struct store_dkim_row {
	char *name, *selector, *alg, *path; /* alg "rsa" or "ed25519" */
	int64_t created, retired, publish_until;
};
struct store_dkim_rows {
	struct store_dkim_row *v;
	size_t n;
};
void store_dkim_rows_free(struct store_dkim_rows *);

struct store_usage_row {
	int64_t user_id, domain_id; /* one of them is 0 */
	char *counter;
	int64_t window, n;
	int64_t seq; /* the change that last wrote it (sync_seq "usage") */
};
struct store_usage_rows {
	struct store_usage_row *v;
	size_t n;
};
void store_usage_rows_free(struct store_usage_rows *);

struct store_auth_row {
	int64_t time;
	char *login, *ip, *mech, *outcome;
	char *kind, *reason; /* NULL if not recorded */
	char *node;	     /* the node that logged it; NULL before 8 */
};
struct store_auth_rows {
	struct store_auth_row *v;
	size_t n;
};
void store_auth_rows_free(struct store_auth_rows *);

struct store_apikey_row {
	char *name;
	int64_t created, last_used, revoked;
};
struct store_apikey_rows {
	struct store_apikey_row *v;
	size_t n;
};
void store_apikey_rows_free(struct store_apikey_rows *);

struct store *store_open(const char *driver, const char *target, char *err,
    size_t errlen);
void store_close(struct store *);
const char *store_errmsg(struct store *);
/* How long a query waits for a busy or slow store, milliseconds. */
int store_set_timeout(struct store *, int64_t ms);
int store_schema_version(struct store *);
int store_begin(struct store *);
/* Several reads as one snapshot: one transaction, not one per query
 * (a login's checks read eight rows). */
int store_read_begin(struct store *);
void store_read_end(struct store *);
int store_commit(struct store *);
void store_rollback(struct store *);

/* domains */
int store_domain_add(struct store *, const char *name);
int store_domain_get(struct store *, const char *name, struct store_domain *);
int store_domain_remove(struct store *, int64_t id, int force, int64_t *users);
/* Every domain by name, with its count of users. */
int store_domain_list(struct store *, struct store_domain_rows *);
/* Every name of a domain, primary first, then the aliases by name. */
int store_domain_names(struct store *, int64_t domain_id,
    struct store_name_rows *);
int store_domain_alias_add(struct store *, const char *alias, int64_t dom);
int store_domain_alias_remove(struct store *, const char *alias, int64_t dom);

/* users, by canonical domain and local key */
int store_user_add(struct store *, int64_t domain_id, const char *local,
    const char *local_key, int64_t *id);
int store_user_get(struct store *, const struct addr *, struct store_user *);
/* The user whose mailbox a recipient names: its local part is the user's
 * or one of their aliases, at any name of the domain (domain aliases too).
 * u gets the user's own address. STORE_NOTFOUND if no user has that name
 * (the domain may still be hosted: store_domain_get tells). */
int store_mailbox_user(struct store *, const struct addr *,
    struct store_user *);
/* Is local_key at domain_id one of user's names (address or alias)? */
int store_user_has_name(struct store *, int64_t user_id, int64_t domain_id,
    const char *local_key);
/* Is local_key at domain_id the name of some user (address or alias)? */
int store_name_exists(struct store *, int64_t domain_id, const char *local_key);
int store_user_remove(struct store *, int64_t user_id);
int store_user_list(struct store *, int64_t domain_id /* 0: all */,
    struct store_user_rows *);
/* A user's aliases, local parts as given. */
int store_user_aliases(struct store *, int64_t user_id, struct store_strings *);
/* Every folded local part of a user, primary first, then the aliases. */
int store_user_names(struct store *, int64_t user_id, struct store_strings *);
int store_user_alias_add(struct store *, int64_t user_id, int64_t domain_id,
    const char *local, const char *local_key);
int store_user_alias_remove(struct store *, int64_t user_id,
    const char *local_key);
int store_user_block(struct store *, int64_t user_id, const char *reason,
    int64_t now);
int store_user_unblock(struct store *, int64_t user_id);

/* login password (panel, IMAP): argon2id string or none */
int store_login_password_set(struct store *, int64_t user_id, const char *hash,
    int64_t now);
int store_login_password_get(struct store *, int64_t user_id, char *hash,
    size_t len);

/* A user by id (the panel's sign-in tickets and links). */
int store_user_by_id(struct store *, int64_t id, struct store_user *);

/* TOTP (panel second factor): the sealed base32 key; enabled is the
 * time it was confirmed, 0 while pending; last_step the last step used */
int store_totp_begin(struct store *, int64_t user_id, const char *sealed,
    int64_t now); /* STORE_EXISTS if already enabled */
int store_totp_get(struct store *, int64_t user_id, char *sealed, size_t slen,
    int64_t *enabled, int64_t *last_step);
/* Record step as used: 0, or STORE_NOTFOUND if it is not newer (replay). */
int store_totp_use_step(struct store *, int64_t user_id, int64_t step);
/* Confirm a pending enrolment and replace the recovery codes' hashes. */
int store_totp_enable(struct store *, int64_t user_id, int64_t now,
    const char *const *hashes, int n);
int store_totp_remove(struct store *, int64_t user_id);
/* Use an unused recovery code that match() accepts: 1, 0 none. */
int store_totp_recovery_use(struct store *, int64_t user_id,
    int (*match)(const char *hash, void *), void *arg, int64_t now);
int64_t store_totp_recovery_left(struct store *, int64_t user_id);

/* sign-in tickets (password checked, TOTP code due), by keyed hash */
int store_ticket_add(struct store *, const char *hash, int64_t user_id,
    const char *ip, int64_t now, int64_t expires);
int store_ticket_get(struct store *, const char *hash, int64_t now,
    int64_t *user_id, int64_t *tries);
int store_ticket_fail(struct store *, const char *hash);
int store_ticket_remove(struct store *, const char *hash);

/* password links, by keyed hash of the token */
/* Record an ask (user_id 0: no such account) and count the asks since. */
int store_pwlink_ask(struct store *, const char *ip, int64_t user_id,
    int64_t now, int64_t since, int64_t *by_ip, int64_t *by_user);
int store_pwlink_add(struct store *, const char *hash, int64_t user_id,
    const char *purpose, const char *ip, int64_t now, int64_t expires);
/* A live (unused, unexpired) link's account. */
int store_pwlink_get(struct store *, const char *hash, int64_t now,
    int64_t *user_id);
/* Use the link once and set the login password; ends the other links
 * and every panel session of the account. */
int store_pwlink_use(struct store *, const char *hash, int64_t user_id,
    const char *pwhash, int64_t now);

/* SMTP credentials: owner is a user (domain_id 0) or a domain (user_id 0) */
int store_smtp_set(struct store *, int64_t user_id, int64_t domain_id,
    const char *hash, const char *sealed, int64_t now);
int store_smtp_get(struct store *, int64_t user_id, int64_t domain_id,
    char *hash, size_t hlen, char *sealed, size_t slen, int64_t *created);

/* app passwords */
int store_app_add(struct store *, int64_t user_id, const char *label,
    const char *hash, int64_t now);
int store_app_list(struct store *, int64_t user_id, struct store_app_rows *);
int store_app_revoke(struct store *, int64_t user_id, const char *label,
    int64_t now);
/* The live app password of user_id that match() accepts: 1 and its id in
 * *app_id, 0 if none, STORE_FAIL. Only reads (it may run inside a read
 * transaction); store_app_used() records the use. */
int store_app_match_id(struct store *, int64_t user_id,
    int (*match)(const char *hash, void *), void *arg, int64_t *app_id);
int store_app_used(struct store *, int64_t app_id, int64_t now);

/* OAuth bearer tokens */
int store_token_add(struct store *, const char *id, int64_t user_id,
    const char *hash, const char *scope, int64_t now, int64_t expires);
int store_token_revoke(struct store *, const char *id, int64_t now);
/* A token by its public id, with its scope ("smtp", "imap", "smtp imap"). */
int store_token_find(struct store *, const char *id, int64_t *user_id,
    char *hash, size_t hlen, char *scope, size_t slen, int64_t *expires,
    int *revoked);
int store_token_list(struct store *, int64_t user_id,
    struct store_token_rows *);

/* terms of service */
int store_tos_add(struct store *, const char *text, int64_t now,
    int64_t *version);
/* Current version (0 if none) and, if text, its text (caller frees). */
int64_t store_tos_current(struct store *, char **text);
int store_tos_accept(struct store *, int64_t user_id, int64_t version,
    int64_t now, const char *ip);
int store_tos_acceptances(struct store *, int64_t user_id,
    struct store_tos_rows *);
int store_tos_accepted(struct store *, int64_t user_id, int64_t version);

/* relay networks */
int store_relay_add(struct store *, int64_t domain_id, const char *cidr,
    int64_t now);
int store_relay_remove(struct store *, int64_t domain_id, const char *cidr);
int store_relay_list(struct store *, int64_t domain_id /* 0: all */,
    struct store_relay_rows *);

/* DKIM keys: "rsa", "ed25519" or "dual" per domain; keys per name */
int store_domain_dkim_mode(struct store *, int64_t domain_id, char *mode,
    size_t len);
int store_domain_set_dkim_mode(struct store *, int64_t domain_id,
    const char *mode);
int store_dkim_add(struct store *, const char *name, const char *selector,
    const char *alg, const char *path, int64_t now);
/* Keys that sign for a name (not retired), RSA first. */
int store_dkim_signing(struct store *, const char *name,
    struct store_dkim_rows *);
/* Every key of a domain still published, the primary name's first. */
int store_dkim_published(struct store *, int64_t domain_id, int64_t now,
    struct store_dkim_rows *);
/* Stop signing with the keys of a name; keep them published until. */
int store_dkim_retire(struct store *, const char *name, int64_t now,
    int64_t until);

/* quotas: -1 = not set (inherit) */
#define STORE_QUOTA_N 4
extern const char *const store_quota_names[STORE_QUOTA_N];
int store_quota_set(struct store *, int64_t user_id, int64_t domain_id,
    const int64_t q[STORE_QUOTA_N]);
int store_quota_get(struct store *, int64_t user_id, int64_t domain_id,
    int64_t q[STORE_QUOTA_N]);

/* A domain's own quota: its domain login and relay networks. */
int store_quota_self_set(struct store *, int64_t domain_id,
    const int64_t q[STORE_QUOTA_N]);
int store_quota_self_get(struct store *, int64_t domain_id,
    int64_t q[STORE_QUOTA_N]);
/* The quota that applies (user's own, else the domain's default; for a
 * domain owner its own): -1 where neither is set. Also whether the
 * user is blocked now (0 for a domain). */
int store_quota_resolve(struct store *, int64_t user_id, int64_t domain_id,
    int64_t q[STORE_QUOTA_N], int *blocked);

/* quota usage: one row per owner (user, or domain with user_id 0) and
 * counter, for the window it counts in; STORE_NOTFOUND: the owner is
 * gone (removed), nothing written */
int store_usage_put(struct store *, int64_t user_id, int64_t domain_id,
    const char *counter, int64_t window, int64_t n);
/* The usage rows of an owner; 0, 0: every owner. */
int store_usage_list(struct store *, int64_t user_id, int64_t domain_id,
    struct store_usage_rows *);
int store_usage_reset(struct store *, int64_t user_id, int64_t domain_id);
/* Block a user unless already blocked: 1 if this call blocked them (only
 * one caller wins), 0 if they were blocked already. */
int store_user_autoblock(struct store *, int64_t user_id, const char *reason,
    int64_t now);

/* mailbox quotas (store_mailbox.c): bytes; for a user -1 is "the
 * domain's default" (NULL), 0 none; for a domain -1 or 0: no default */
int store_mailbox_quota_set(struct store *, int64_t user_id, int64_t domain_id,
    int64_t bytes);
int store_mailbox_quota_get(struct store *, int64_t user_id, int64_t domain_id,
    int64_t *bytes);
/* The limit that applies to a user: their own, else the domain's; 0 none. */
int store_mailbox_quota_resolve(struct store *, int64_t user_id,
    int64_t *bytes);
/* The usage Dovecot last reported; STORE_NOTFOUND: never counted. */
int store_mailbox_usage_get(struct store *, int64_t user_id, int64_t *bytes,
    int64_t *messages);
/* One transaction of Dovecot's quota plugin: a recount sets (and may
 * unset first), a delivery or an expunge adds. Adding to a mailbox never
 * counted is STORE_NOTFOUND (Dovecot then counts it); unsetting alone
 * forgets the count. */
struct store_mailbox_change {
	int set_bytes, set_messages, unset;
	int64_t bytes, messages;	 /* when set */
	int64_t add_bytes, add_messages; /* may be negative */
};
int store_mailbox_usage_write(struct store *, int64_t user_id,
    const struct store_mailbox_change *, int64_t now);

/* forwarding (store_forward.c): a user's targets, each confirmed by a
 * token mailed to it (kept as its keyed hash) before anything goes
 * there; keys are the targets' folded spellings */
#define STORE_LIMIT (-4) /* a bounded count is reached */
struct store_forward_row {
	char *address;
	int64_t created, confirmed, expires; /* confirmed 0: pending */
};
struct store_forward_rows {
	struct store_forward_row *v;
	size_t n;
};
void store_forward_rows_free(struct store_forward_rows *);
/* A new pending target: STORE_EXISTS if the user has it, STORE_LIMIT
 * if the user has max already. */
int store_forward_add(struct store *, int64_t user_id, const char *address,
    const char *key, const char *token_hash, int64_t now, int64_t expires,
    int64_t max);
/* A new token for a pending target: STORE_NOTFOUND if it is not one
 * (absent, or confirmed already). */
int store_forward_retoken(struct store *, int64_t user_id, const char *key,
    const char *token_hash, int64_t expires);
int store_forward_remove(struct store *, int64_t user_id, const char *key);
/* Every target of a user, oldest first. */
int store_forward_list(struct store *, int64_t user_id,
    struct store_forward_rows *);
/* The confirmed targets only: what the queue forwards to. */
int store_forward_targets(struct store *, int64_t user_id,
    struct store_strings *);
/* forward-only (1) or keep a copy in the mailbox (0) */
int store_forward_mode_set(struct store *, int64_t user_id, int only);
int store_forward_mode_get(struct store *, int64_t user_id, int *only);
/* The live (pending, unexpired) target a token's hash names: its user
 * and address. */
int store_forward_pending(struct store *, const char *token_hash, int64_t now,
    int64_t *user_id, char *address, size_t len);
/* Confirm it, once: the token is gone after. STORE_NOTFOUND if it is
 * not live (used, expired, removed, never). */
int store_forward_confirm(struct store *, const char *token_hash, int64_t now,
    int64_t *user_id, char *address, size_t len);

/* Confirmation links mailed for a user since a time (older ones are
 * forgotten on the way), and one more. */
int store_forward_link_count(struct store *, int64_t user_id, int64_t now,
    int64_t since, int64_t *n);
int store_forward_link_sent(struct store *, int64_t user_id, int64_t now);

/* authentication events */
/* The event into the authentication log: queued for the batch writer
 * in the server (authlog.h), else written at once (store_auth_insert). */
int store_auth_log(struct store *, const struct store_auth_event *);
int store_auth_insert(struct store *, const struct store_auth_event *);
/* Newest first; login NULL: every login. */
int store_auth_list(struct store *, const char *login, int64_t since,
    int failed_only, int64_t limit, struct store_auth_rows *);
int store_auth_prune(struct store *, int64_t before);

/* API keys: operator access to the JSON API, by keyed hash */
int store_apikey_add(struct store *, const char *name, const char *hash,
    int64_t now);
int store_apikey_list(struct store *, struct store_apikey_rows *);
int store_apikey_revoke(struct store *, const char *name, int64_t now);
/* The live key with this hash: its name (and its use recorded). */
int store_apikey_find(struct store *, const char *hash, char *name, size_t len,
    int64_t now);

/* panel sessions, by the keyed hash of the session id */
int store_session_add(struct store *, const char *hash, int64_t user_id,
    int64_t now, const char *ip);
/* The user of a session last used at or after idle_before, and the use
 * recorded; STORE_NOTFOUND if none (an idle one is removed). */
int store_session_use(struct store *, const char *hash, int64_t idle_before,
    int64_t now, struct store_user *);
int store_session_remove(struct store *, const char *hash);
/* Remove every session last used before idle_before. */
int store_session_prune(struct store *, int64_t idle_before);

/* credentials as a session holds them */
/* Does a credential that opened a session still stand? kind STORE_CRED_*;
 * owner the user (the domain for STORE_CRED_DOMAIN); ref the keyed hash
 * (SMTP passwords), the app password's id as text, or the token's id.
 * 1 yes, 0 no (replaced, revoked, expired, gone), STORE_FAIL. */
int store_cred_live(struct store *, const char *kind, int64_t owner,
    const char *ref, int64_t now);
/* Set a login password: every panel session of the account and every
 * unused password link end with the old one (the link and the operator
 * use this one call). */
int store_login_password_replace(struct store *, int64_t user_id,
    const char *hash, int64_t now);

/*
 * Several nodes on one store (store_nodes.c). The nodes poll for what
 * changed after the last number they saw of a sequence ("block",
 * "usage", "bf"); a writer takes the next number inside its
 * transaction (store_seq_next), so the numbers commit in order.
 */
int64_t store_seq_next(struct store *, const char *name); /* -1: error */

struct store_block_row {
	int64_t user_id, domain_id, blocked, seq;
};
struct store_block_rows {
	struct store_block_row *v;
	size_t n;
};
void store_block_rows_free(struct store_block_rows *);
/* Users blocked or unblocked after seq, in the order of the changes. */
int store_blocks_since(struct store *, int64_t seq, struct store_block_rows *);

/* Add n to an owner's counter in window (a row of an older window starts
 * again from n; a row of a newer one is left alone), stamped seq. The
 * row after it in *total and *twindow. STORE_NOTFOUND: owner gone. */
int store_usage_add(struct store *, int64_t user_id, int64_t domain_id,
    const char *counter, int64_t window, int64_t n, int64_t seq, int64_t *total,
    int64_t *twindow);
/* Usage rows written after seq. */
int store_usage_since(struct store *, int64_t seq, struct store_usage_rows *);

/* Failed logins: tab 0 SMTP passwords, 1 the login password; kind 0 a
 * client address, 1 a login; hash the hex BLAKE2b-128 of the name. */
struct store_bf_row {
	int64_t tab, kind;
	char *hash, *link; /* link: NULL, or the account's hash */
	int64_t fails, last_fail, refused_until, seq;
};
struct store_bf_rows {
	struct store_bf_row *v;
	size_t n;
};
void store_bf_rows_free(struct store_bf_rows *);
/* Add fails failures at last_fail (a count older than since, and not
 * refused now, starts again); an address whose count reaches
 * refuse_after (0: never) is refused until now + refuse_time and its
 * count starts again. The row after it in *out (its text NULL). */
int store_bf_add(struct store *, int64_t tab, int64_t kind, const char *hash,
    const char *link, int64_t fails, int64_t last_fail, int64_t since,
    int64_t now, int64_t refuse_after, int64_t refuse_time, int64_t seq,
    struct store_bf_row *out);
int store_bf_since(struct store *, int64_t seq, struct store_bf_rows *);
/* Forget counts whose last failure is before `before` and not refused. */
int store_bf_prune(struct store *, int64_t before, int64_t now);

/* A login address of a user in an hour (any node): the distinct
 * addresses of that hour so far in *n. Older hours: pruned. */
int store_login_ip_add(struct store *, int64_t user_id, int64_t hour,
    const char *ip, int64_t *n);
int store_login_ip_prune(struct store *, int64_t before);

/* Each node's queue as it last published it. */
struct store_node_row {
	char *node;
	int64_t started, updated, queued, inflight, store_ok;
};
struct store_node_rows {
	struct store_node_row *v;
	size_t n;
};
void store_node_rows_free(struct store_node_rows *);
int store_node_put(struct store *, const char *node, int64_t started,
    int64_t now, int64_t queued, int64_t inflight);
int store_node_list(struct store *, struct store_node_rows *);
/* How many other nodes wrote their row since then. */
int store_node_others(struct store *, const char *node, int64_t since,
    int64_t *n);

/* schema (store_schema.c) */
int store_schema_migrate(struct store *, char *err, size_t errlen);
/* Copy every row of a SQLite store into an empty one (PostgreSQL), ids
 * kept (store_copy.c); progress, if not NULL, after each table. */
int store_copy(struct store *from, struct store *to,
    void (*progress)(const char *table, int64_t rows, void *), void *arg,
    char *err, size_t errlen);
/* The version this postern's migrations bring a store to. */
int store_schema_latest(void);

#endif
