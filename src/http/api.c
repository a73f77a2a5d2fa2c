/*
 * api: the JSON API's routes. Each line maps a method and a path onto
 * one admin operation (src/admin/, the same code the CLI runs), so a new
 * operation is one line here. Path captures, the query string and the
 * JSON body together are the operation's arguments. The /me routes give
 * a signed-in user the same operations on their own account only: the
 * account argument is set from the session, whatever the request said.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "server.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/str.h"

#define OP HTTP_OPERATOR
#define USER HTTP_USER
#define NEW HTTP_CREATED
#define SECRET HTTP_SECRET

/* GET /me/tos: the current terms, and whether this user accepted. */
static int
api_tos_mine(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	json_t *o = NULL, *acc;
	int64_t v;

	(void)args;
	if (admin_tos_show(&c->ctx, args, &o, err) == -1)
		return -1;
	v = json_integer_value(json_object_get(o, "version"));
	json_object_set_new(o, "accepted",
	    json_boolean(store_tos_accepted(c->ctx.store, c->user_id, v)));
	if ((acc = admin_list_tos(c->ctx.store, c->user_id)) != NULL)
		json_object_set_new(o, "acceptances", acc);
	*out = o;
	return 0;
}

/* GET .../auth-log: sign-ins of one account, newest first, failures
 * included; ?limit=N (at most HTTP_AUTH_LOG_MAX), ?failed=1. */
static int
api_auth_log(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *limit = admin_arg(args, "limit");
	int64_t n = 50, now = (int64_t)time(NULL);
	char login[ADDR_MAX + 1];
	struct store_user u;
	json_t *rows;

	if (admin_find_user(&c->ctx, admin_arg(args, "address"), &u, err) == -1)
		return -1;
	if (limit && ((n = str_uint(limit)) < 1 || n > HTTP_AUTH_LOG_MAX))
		return admin_fail(err, 400, "limit: a number from 1 to %d",
		    HTTP_AUTH_LOG_MAX);
	snprintf(login, sizeof(login), "%s@%s", u.local, u.domain);
	rows = admin_list_auth(c->ctx.store, login,
	    now - c->ctx.conf->auth_log_retention, admin_flag(args, "failed"),
	    n);
	if (rows == NULL)
		return admin_store_fail(&c->ctx, err);
	*out = json_pack("{s:s,s:o}", "address", login, "events", rows);
	return 0;
}

const struct http_route http_api_routes[] = {
	/* domains */
	{ HTTP_GET, "/api/v1/domains", OP, "domain.list", NULL, NULL },
	{ HTTP_POST, "/api/v1/domains", OP | NEW, "domain.add", NULL, NULL },
	{ HTTP_DELETE, "/api/v1/domains/:domain", OP, "domain.remove", NULL,
	    NULL },
	{ HTTP_POST, "/api/v1/domains/:domain/aliases", OP | NEW,
	    "domain.alias.add", NULL, NULL },
	{ HTTP_DELETE, "/api/v1/domains/:domain/aliases/:alias", OP,
	    "domain.alias.remove", NULL, NULL },
	{ HTTP_GET, "/api/v1/domains/:domain/dns", OP, "domain.dns", NULL,
	    NULL },
	{ HTTP_GET, "/api/v1/domains/:domain/check", OP, "domain.check", NULL,
	    NULL },
	{ HTTP_POST, "/api/v1/domains/:domain/dkim/rotate", OP,
	    "domain.dkim.rotate", NULL, NULL },
	{ HTTP_GET, "/api/v1/domains/:login/smtp-password", OP | SECRET,
	    "smtp-password.show", NULL, NULL },
	{ HTTP_POST, "/api/v1/domains/:login/smtp-password", OP | SECRET,
	    "smtp-password.generate", NULL, NULL },
	{ HTTP_GET, "/api/v1/domains/:domain/relay-nets", OP, "relay-net.list",
	    NULL, NULL },
	{ HTTP_POST, "/api/v1/domains/:domain/relay-nets", OP | NEW,
	    "relay-net.add", NULL, NULL },
	{ HTTP_DELETE, "/api/v1/domains/:domain/relay-nets/:cidr", OP,
	    "relay-net.remove", NULL, NULL },
	{ HTTP_GET, "/api/v1/domains/:domain/quota", OP, "domain.quota", NULL,
	    NULL },
	{ HTTP_PUT, "/api/v1/domains/:domain/quota", OP, "domain.quota", NULL,
	    NULL },
	{ HTTP_GET, "/api/v1/relay-nets", OP, "relay-net.list", NULL, NULL },

	/* users */
	{ HTTP_GET, "/api/v1/users", OP, "user.list", NULL, NULL },
	{ HTTP_POST, "/api/v1/users", OP | NEW | SECRET, "user.add", NULL,
	    NULL },
	{ HTTP_GET, "/api/v1/users/:address", OP, "user.show", NULL, NULL },
	{ HTTP_DELETE, "/api/v1/users/:address", OP, "user.remove", NULL,
	    NULL },
	{ HTTP_POST, "/api/v1/users/:address/aliases", OP | NEW,
	    "user.alias.add", NULL, NULL },
	{ HTTP_DELETE, "/api/v1/users/:address/aliases/:local", OP,
	    "user.alias.remove", NULL, NULL },
	{ HTTP_PUT, "/api/v1/users/:address/password", OP, "user.password",
	    NULL, NULL },
	{ HTTP_POST, "/api/v1/users/:address/block", OP, "user.block", NULL,
	    NULL },
	{ HTTP_DELETE, "/api/v1/users/:address/block", OP, "user.unblock", NULL,
	    NULL },
	{ HTTP_GET, "/api/v1/users/:login/smtp-password", OP | SECRET,
	    "smtp-password.show", NULL, NULL },
	{ HTTP_POST, "/api/v1/users/:login/smtp-password", OP | SECRET,
	    "smtp-password.generate", NULL, NULL },
	{ HTTP_GET, "/api/v1/users/:address/app-passwords", OP,
	    "app-password.list", NULL, NULL },
	{ HTTP_POST, "/api/v1/users/:address/app-passwords", OP | NEW | SECRET,
	    "app-password.add", NULL, NULL },
	{ HTTP_DELETE, "/api/v1/users/:address/app-passwords/:label", OP,
	    "app-password.revoke", NULL, NULL },
	{ HTTP_POST, "/api/v1/users/:address/tokens", OP | NEW | SECRET,
	    "token.issue", NULL, NULL },
	{ HTTP_POST, "/api/v1/users/:address/tos", OP | NEW, "tos.accept", NULL,
	    NULL },
	{ HTTP_GET, "/api/v1/users/:address/auth-log", OP, NULL, api_auth_log,
	    NULL },
	{ HTTP_GET, "/api/v1/users/:address/quota", OP, "user.quota", NULL,
	    NULL },
	{ HTTP_PUT, "/api/v1/users/:address/quota", OP, "user.quota", NULL,
	    NULL },
	{ HTTP_GET, "/api/v1/users/:address/forward", OP, "user.forward.list",
	    NULL, NULL },
	{ HTTP_POST, "/api/v1/users/:address/forward", OP | NEW,
	    "user.forward.add", NULL, NULL },
	{ HTTP_DELETE, "/api/v1/users/:address/forward/:target", OP,
	    "user.forward.remove", NULL, NULL },
	{ HTTP_PUT, "/api/v1/users/:address/forward/mode", OP,
	    "user.forward.mode", NULL, NULL },
	{ HTTP_GET, "/api/v1/auth-log", OP, "log.auth", NULL, NULL },
	{ HTTP_DELETE, "/api/v1/tokens/:id", OP, "token.revoke", NULL, NULL },

	/* terms of service */
	{ HTTP_GET, "/api/v1/tos", OP, "tos.show", NULL, NULL },
	{ HTTP_POST, "/api/v1/tos", OP | NEW, "tos.set", NULL, NULL },

	/* the queue */
	{ HTTP_GET, "/api/v1/queue", OP, "queue.list", NULL, NULL },
	{ HTTP_POST, "/api/v1/queue/flush", OP, "queue.flush", NULL, NULL },
	{ HTTP_GET, "/api/v1/queue/:id", OP, "queue.show", NULL, NULL },
	{ HTTP_DELETE, "/api/v1/queue/:id", OP, "queue.delete", NULL, NULL },
	{ HTTP_POST, "/api/v1/queue/:id/hold", OP, "queue.hold", NULL, NULL },
	{ HTTP_POST, "/api/v1/queue/:id/release", OP, "queue.release", NULL,
	    NULL },

	/* TLS reports */
	{ HTTP_GET, "/api/v1/tlsrpt", OP, "tlsrpt.show", NULL, NULL },
	{ HTTP_POST, "/api/v1/tlsrpt/send", OP, "tlsrpt.send", NULL, NULL },

	/* operator keys */
	{ HTTP_GET, "/api/v1/api-keys", OP, "api-key.list", NULL, NULL },
	{ HTTP_POST, "/api/v1/api-keys", OP | NEW | SECRET, "api-key.add", NULL,
	    NULL },
	{ HTTP_DELETE, "/api/v1/api-keys/:name", OP, "api-key.revoke", NULL,
	    NULL },

	/* a signed-in user's own account */
	{ HTTP_GET, "/api/v1/me", USER, "user.show", NULL, "address" },
	{ HTTP_GET, "/api/v1/me/smtp-password", USER | SECRET | HTTP_NEED_TOS,
	    "smtp-password.show", NULL, "login" },
	{ HTTP_POST, "/api/v1/me/smtp-password", USER | SECRET | HTTP_NEED_TOS,
	    "smtp-password.generate", NULL, "login" },
	{ HTTP_GET, "/api/v1/me/app-passwords", USER, "app-password.list", NULL,
	    "address" },
	{ HTTP_POST, "/api/v1/me/app-passwords",
	    USER | NEW | SECRET | HTTP_NEED_TOS, "app-password.add", NULL,
	    "address" },
	{ HTTP_DELETE, "/api/v1/me/app-passwords/:label", USER,
	    "app-password.revoke", NULL, "address" },
	{ HTTP_GET, "/api/v1/me/tos", USER, NULL, api_tos_mine, "address" },
	{ HTTP_POST, "/api/v1/me/tos", USER | NEW, "tos.accept", NULL,
	    "address" },
	{ HTTP_GET, "/api/v1/me/auth-log", USER, NULL, api_auth_log,
	    "address" },
	{ HTTP_GET, "/api/v1/me/forward", USER, "user.forward.list", NULL,
	    "address" },
	{ HTTP_POST, "/api/v1/me/forward", USER | NEW, "user.forward.add", NULL,
	    "address" },
	{ HTTP_DELETE, "/api/v1/me/forward/:target", USER,
	    "user.forward.remove", NULL, "address" },
	{ HTTP_PUT, "/api/v1/me/forward/mode", USER, "user.forward.mode", NULL,
	    "address" },
	{ 0, NULL, 0, NULL, NULL, NULL },
};
