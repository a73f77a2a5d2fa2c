/*
 * admin: the provisioning operations (domains, users, credentials, terms,
 * relay networks). The CLI and the JSON API both call these: arguments
 * come in as a JSON object of strings, the result goes out as a JSON
 * object, an error as an HTTP-style status and a sentence that says what
 * is wrong and what to do. Neither caller formats for the other.
 */
#ifndef POSTERN_ADMIN_H
#define POSTERN_ADMIN_H

#include <stdint.h>

#include <jansson.h>

#include "../store/store.h"

struct store;
struct secret_keys;
struct conf;

struct admin_ctx {
	struct store *store;
	const struct secret_keys *keys;
	const struct conf *conf;
	const char *actor; /* "cli", "api:KEYNAME", "panel" */
	const char *ip;	   /* client address, NULL from the CLI */
	int in_server;	   /* run by `postern serve` itself (the API) */
	int read_only;	   /* an API GET: show, never change */
};

struct admin_err {
	int status; /* 400 bad input, 404, 409 conflict, 500 */
	char msg[512];
};

typedef int (*admin_fn)(struct admin_ctx *, json_t *args, json_t **out,
    struct admin_err *);

/*
 * params: every argument the operation reads, separated by spaces:
 * "name" text, "name:n" a number (a JSON integer, or a string such as
 * "inherit" that the operation reads), "name:b" yes/no (true, false, or
 * a query string's "1"). admin_args_check() refuses anything else.
 */
struct admin_op {
	const char *name; /* "domain.add" */
	admin_fn fn;
	const char *params;
};

/* Every operation, by name; NULL if none. */
const struct admin_op *admin_op_find(const char *name);
extern const struct admin_op admin_ops[];

/*
 * Arguments from a JSON body or a query string against params (as in
 * struct admin_op): an unknown name or a value of the wrong JSON type is
 * refused (400, naming the field); an integer for a number becomes its
 * decimal string, as the operations read it. params NULL (a route with
 * a handler of its own): any name, text or yes/no values only.
 */
int admin_args_check(const char *params, json_t *args, struct admin_err *);

/*
 * Free text from an operator or a user (a block reason, a label, a
 * device's name, the terms): UTF-8 of 1 to max bytes and no control
 * character (C0, DEL, C1, the line and paragraph separators), so it can
 * never add a line to an SMTP reply, a message or a log. multiline: tab
 * and line breaks are text too (the terms). field names it in the
 * refusal (400).
 */
int admin_text_check(const char *field, const char *text, size_t max,
    int multiline, struct admin_err *);

/* shared by the operation files */
int admin_fail(struct admin_err *, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
const char *admin_arg(json_t *args, const char *key);
const char *admin_need(json_t *args, const char *key, struct admin_err *);
/* A yes/no argument: JSON true, or "1", "true", "yes". */
int admin_flag(json_t *args, const char *key);

/* The owner of an SMTP credential: a user address or a bare domain. */
struct admin_owner {
	struct store_user user;
	struct store_domain domain;
	int64_t user_id, domain_id; /* one of them is 0 */
	char login[ADDR_MAX + 1];   /* canonical */
};
int admin_find_owner(struct admin_ctx *, const char *login,
    struct admin_owner *, struct admin_err *);

/* Look-ups that fail with a ready sentence (400 bad name, 404 none). */
int admin_find_domain(struct admin_ctx *, const char *name,
    struct store_domain *, struct admin_err *);
int admin_find_user(struct admin_ctx *, const char *address,
    struct store_user *, struct admin_err *);
/* Make, seal and store a new SMTP password for a user or a domain. */
int admin_smtp_new(struct admin_ctx *, int64_t user_id, int64_t domain_id,
    char *pw, struct admin_err *);
int admin_store_fail(struct admin_ctx *, struct admin_err *);
/* A login password the user may keep (strong, not the SMTP password),
 * argon2id-hashed into hash. */
int admin_login_password_check(struct admin_ctx *, int64_t user_id,
    const char *pw, char *hash, size_t len, struct admin_err *);

/* admin/dkim.c */
int admin_dkim_mode_ok(const char *mode);
int admin_dkim_make(struct admin_ctx *, const char *name, const char *mode,
    json_t *made, struct admin_err *);
int admin_domain_dns(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_domain_check(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_domain_dkim_rotate(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);

int admin_domain_add(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_domain_list(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_domain_remove(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_domain_alias_add(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_domain_alias_remove(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_user_add(struct admin_ctx *, json_t *, json_t **, struct admin_err *);
int admin_user_list(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_user_show(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
/* mailbox.c: end the open IMAP sessions of a user ("user@domain") or of
 * a whole domain ("*@domain") with `[mailbox] doveadm` kick, if set. */
#define ADMIN_KICK_MASK_MAX 330
void admin_mailbox_kick(struct admin_ctx *, const char *mask);
int admin_user_remove(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_user_alias_add(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_user_alias_remove(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_user_password(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_user_block(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_user_unblock(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_user_quota(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_domain_quota(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_log_auth(struct admin_ctx *, json_t *, json_t **, struct admin_err *);
/* admin/quota.c: an owner's quotas, with usage; NULL on a store error */
json_t *admin_quota_usage(struct admin_ctx *, int64_t user_id,
    int64_t domain_id);
/* A user's mailbox quota and usage ({limit, from, used, messages}). */
json_t *admin_mailbox_usage(struct admin_ctx *, int64_t user_id);
int admin_smtp_show(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_smtp_generate(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_app_add(struct admin_ctx *, json_t *, json_t **, struct admin_err *);
int admin_app_list(struct admin_ctx *, json_t *, json_t **, struct admin_err *);
int admin_app_revoke(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_token_issue(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_token_revoke(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_tos_set(struct admin_ctx *, json_t *, json_t **, struct admin_err *);
int admin_tos_show(struct admin_ctx *, json_t *, json_t **, struct admin_err *);
int admin_tos_accept(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_relay_add(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_relay_list(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_relay_remove(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);

/* admin/rows.c: the store's lists as JSON arrays of objects (the keys
 * the CLI and the API show); NULL on a store error */
json_t *admin_list_domains(struct store *);
json_t *admin_list_users(struct store *, int64_t domain_id);
json_t *admin_list_apps(struct store *, int64_t user_id);
json_t *admin_list_tokens(struct store *, int64_t user_id);
json_t *admin_list_tos(struct store *, int64_t user_id);
json_t *admin_list_relays(struct store *, int64_t domain_id);
/* Each node's queue as it last published it (several nodes on one
 * store); "this" marks the node named self. */
json_t *admin_list_nodes(struct store *, const char *self, int64_t now);
json_t *admin_list_auth(struct store *, const char *login, int64_t since,
    int failed_only, int64_t limit);
json_t *admin_list_apikeys(struct store *);

/* admin/apikey.c: operator keys for the JSON API */
int admin_apikey_add(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_apikey_list(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_apikey_revoke(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);

/* admin/forward.c: a user's forwarding addresses and mode */
int admin_forward_add(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_forward_remove(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_forward_list(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_forward_mode(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);

/* admin/queue.c: the spool */
/* Tell the running server to look at the queue again (SIGUSR1): 1 if
 * one was told, 0 if none runs (it looks at start). */
int admin_queue_wake(struct admin_ctx *);
int admin_queue_list(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_queue_show(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_queue_hold(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_queue_release(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_queue_delete(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_queue_flush(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);

/* admin/tlsrpt.c: TLS reports */
int admin_tlsrpt_send(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);
int admin_tlsrpt_show(struct admin_ctx *, json_t *, json_t **,
    struct admin_err *);

#endif
