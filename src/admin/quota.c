/*
 * admin/quota: sending quotas per user and per domain, what a user has
 * used of them, and the authentication log. A quota value is a number
 * (0: unlimited) or "inherit" (the domain's default, then the config's).
 * A running server picks a change up at the user's next login, and in
 * sessions already open within 5 seconds.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "admin.h"
#include "../policy/quota.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/str.h"

/* The quota arguments given, over q; 0 if any, 1 if none, -1 if bad. */
static int
admin_quota_args(json_t *args, int64_t q[STORE_QUOTA_N], struct admin_err *err)
{
	int i, given = 0;

	if (admin_flag(args, "clear")) {
		for (i = 0; i < STORE_QUOTA_N; i++)
			q[i] = -1;
		given = 1;
	}
	for (i = 0; i < STORE_QUOTA_N; i++) {
		const char *v = admin_arg(args, quota_names[i]);
		int64_t n;
		if (v == NULL)
			continue;
		given = 1;
		if (strcmp(v, "inherit") == 0) {
			q[i] = -1;
			continue;
		}
		if ((n = str_uint(v)) < 0 || n > 1000000000)
			return admin_fail(err, 400,
			    "%s: \"%s\" is not a number (0: unlimited) or "
			    "\"inherit\"",
			    quota_names[i], v);
		q[i] = n;
	}
	return given ? 0 : 1;
}

#define ADMIN_MAILBOX_MAX ((int64_t)1 << 50) /* a pebibyte */

/* The mailbox quota given ("mailbox": a size as 512k, 35M, 2G; "none" or
 * 0; for a user also "inherit", the domain's default) into *bytes (-1:
 * inherit); 0 if given, 1 if not, -1 if bad. */
static int
admin_mailbox_arg(json_t *args, int user, int64_t *bytes, struct admin_err *err)
{
	const char *v = admin_arg(args, "mailbox");
	int64_t n;

	if (admin_flag(args, "clear") && user)
		*bytes = -1;
	if (v == NULL)
		return admin_flag(args, "clear") ? 0 : 1;
	if (strcmp(v, "none") == 0 || strcmp(v, "0") == 0) {
		*bytes = user ? 0 : -1;
		return 0;
	}
	if (user && strcmp(v, "inherit") == 0) {
		*bytes = -1;
		return 0;
	}
	if ((n = str_size(v)) < 1 || n > ADMIN_MAILBOX_MAX)
		return admin_fail(err, 400,
		    "mailbox: \"%s\" is not a size (512k, 35M, 2G), \"none\"%s",
		    v, user ? " or \"inherit\" (the domain's default)" : "");
	*bytes = n;
	return 0;
}

/* The CLI and an API GET show the quota when given nothing to change; a
 * GET never changes it; a PUT (ctx->ip set) that changes nothing is
 * refused rather than answered 200. rc: what admin_quota_args said. */
static int
admin_quota_nothing(struct admin_ctx *ctx, int rc, struct admin_err *err)
{
	if (ctx->read_only && rc == 0)
		return admin_fail(err, 400,
		    "a GET shows the quota: change it with PUT");
	if (rc == 0 || ctx->ip == NULL || ctx->read_only)
		return 0;
	return admin_fail(err, 400,
	    "nothing to change: give messages_per_hour, messages_per_day, "
	    "recipients_per_day or recipients_per_message (a number, 0 for "
	    "unlimited, or \"inherit\"), mailbox (a size: 512k, 35M, 2G, "
	    "or \"none\"), or clear");
}

static json_t *
admin_quota_json(const int64_t q[STORE_QUOTA_N])
{
	json_t *o = json_object();
	int i;

	for (i = 0; i < STORE_QUOTA_N; i++)
		json_object_set_new(o, quota_names[i],
		    q[i] < 0 ? json_string("inherit") : json_integer(q[i]));
	return o;
}

int
admin_user_quota(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	int64_t q[STORE_QUOTA_N];
	struct store_user u;
	int rc;

	int64_t mb;
	json_t *o;
	int mrc;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	if (store_quota_get(ctx->store, u.id, 0, q) != 0 ||
	    store_mailbox_quota_get(ctx->store, u.id, 0, &mb) != 0)
		return admin_store_fail(ctx, err);
	if ((rc = admin_quota_args(args, q, err)) == -1 ||
	    (mrc = admin_mailbox_arg(args, 1, &mb, err)) == -1 ||
	    admin_quota_nothing(ctx, rc && mrc, err) == -1)
		return -1;
	/* both, or neither: one transaction */
	if ((rc == 0 || mrc == 0) && store_begin(ctx->store) != 0)
		return admin_store_fail(ctx, err);
	if ((rc == 0 && store_quota_set(ctx->store, u.id, 0, q) != 0) ||
	    (mrc == 0 &&
		store_mailbox_quota_set(ctx->store, u.id, 0, mb) != 0) ||
	    ((rc == 0 || mrc == 0) && store_commit(ctx->store) != 0)) {
		store_rollback(ctx->store);
		return admin_store_fail(ctx, err);
	}
	o = admin_quota_json(q);
	json_object_set_new(o, "mailbox",
	    mb < 0 ? json_string("inherit") : json_integer(mb));
	*out = json_pack("{s:s++,s:o}", "address", u.local, "@", u.domain,
	    "quota", o);
	return 0;
}

int
admin_domain_quota(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *name = admin_need(args, "domain", err);
	int self = admin_flag(args, "self");
	int64_t q[STORE_QUOTA_N];
	struct store_domain d;
	int rc;

	int64_t mb = -1;
	json_t *o;
	int mrc = 1;

	if (name == NULL || admin_find_domain(ctx, name, &d, err) == -1)
		return -1;
	rc = self ? store_quota_self_get(ctx->store, d.id, q)
		  : store_quota_get(ctx->store, 0, d.id, q);
	if (rc == 0 && !self)
		rc = store_mailbox_quota_get(ctx->store, 0, d.id, &mb);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	if (self && admin_arg(args, "mailbox"))
		return admin_fail(err, 400,
		    "mailbox: a domain's default for its users, not with self");
	if ((rc = admin_quota_args(args, q, err)) == -1 ||
	    (!self && (mrc = admin_mailbox_arg(args, 0, &mb, err)) == -1) ||
	    admin_quota_nothing(ctx, rc && mrc, err) == -1)
		return -1;
	if (admin_flag(args, "clear"))
		mb = -1, mrc = self;
	if ((rc == 0 || mrc == 0) && store_begin(ctx->store) != 0)
		return admin_store_fail(ctx, err);
	if ((rc == 0 &&
		(self ? store_quota_self_set(ctx->store, d.id, q)
		      : store_quota_set(ctx->store, 0, d.id, q)) != 0) ||
	    (mrc == 0 &&
		store_mailbox_quota_set(ctx->store, 0, d.id, mb) != 0) ||
	    ((rc == 0 || mrc == 0) && store_commit(ctx->store) != 0)) {
		store_rollback(ctx->store);
		return admin_store_fail(ctx, err);
	}
	o = admin_quota_json(q);
	if (!self)
		json_object_set_new(o, "mailbox",
		    json_integer(mb > 0 ? mb : 0));
	*out = json_pack("{s:s,s:s,s:o}", "domain", d.name, "applies_to",
	    self ? "the domain login and relay networks"
		 : "users without their own quota",
	    "quota", o);
	return 0;
}

/* Each quota of an owner: the limit that applies, where it comes from,
 * what was used in its current window and when that ends. */
json_t *
admin_quota_usage(struct admin_ctx *ctx, int64_t user_id, int64_t domain_id)
{
	static const char *const counters[STORE_QUOTA_N] = { "messages_hour",
		"messages_day", "recipients_day", NULL };
	int64_t own[STORE_QUOTA_N], dom[STORE_QUOTA_N];
	int64_t now = (int64_t)time(NULL);
	const struct conf *c = ctx->conf;
	const int64_t def[STORE_QUOTA_N] = { c->quota_msgs_hour,
		c->quota_msgs_day, c->quota_rcpts_day, c->quota_rcpts_msg };
	struct store_usage_rows rows;
	json_t *o;
	size_t j;
	int i;

	if (user_id) {
		if (store_quota_get(ctx->store, user_id, 0, own) != 0 ||
		    store_quota_get(ctx->store, 0, domain_id, dom) != 0)
			return NULL;
	} else {
		if (store_quota_self_get(ctx->store, domain_id, own) != 0)
			return NULL;
		for (i = 0; i < STORE_QUOTA_N; i++)
			dom[i] = -1;
	}
	if (store_usage_list(ctx->store, user_id, user_id ? 0 : domain_id,
		&rows) != 0)
		return NULL;
	o = json_object();
	for (i = 0; i < STORE_QUOTA_N; i++) {
		int64_t lim = own[i] >= 0   ? own[i]
			      : dom[i] >= 0 ? dom[i]
					    : def[i];
		const char *from = own[i] >= 0	 ? (user_id ? "user" : "domain")
				   : dom[i] >= 0 ? "domain"
						 : "config";
		int64_t used = 0, resets = 0;
		if (counters[i]) {
			for (j = 0; j < rows.n; j++)
				if (strcmp(rows.v[j].counter, counters[i]) == 0)
					used = quota_usage_now(counters[i],
					    rows.v[j].window, rows.v[j].n, now);
			resets = i == 0 ? quota_hour_start(now) + 3600
					: quota_day_start(now) + 86400;
		}
		json_t *q = json_pack("{s:I,s:s}", "limit", (json_int_t)lim,
		    "from", from);
		if (counters[i]) {
			json_object_set_new(q, "used", json_integer(used));
			json_object_set_new(q, "resets", json_integer(resets));
		}
		json_object_set_new(o, quota_names[i], q);
	}
	store_usage_rows_free(&rows);
	if (user_id)
		json_object_set_new(o, "mailbox",
		    admin_mailbox_usage(ctx, user_id));
	return o;
}

/* A user's mailbox quota: the limit in bytes (0: none), where it comes
 * from, and what Dovecot last reported (null before it counted). */
json_t *
admin_mailbox_usage(struct admin_ctx *ctx, int64_t user_id)
{
	int64_t own = -1, lim = 0, used, msgs;
	json_t *o;
	int rc;

	if (store_mailbox_quota_get(ctx->store, user_id, 0, &own) != 0 ||
	    store_mailbox_quota_resolve(ctx->store, user_id, &lim) != 0)
		return json_null();
	o = json_pack("{s:I,s:s}", "limit", (json_int_t)lim, "from",
	    own >= 0 ? "user" : "domain");
	rc = store_mailbox_usage_get(ctx->store, user_id, &used, &msgs);
	json_object_set_new(o, "used",
	    rc == 0 ? json_integer(used) : json_null());
	json_object_set_new(o, "messages",
	    rc == 0 ? json_integer(msgs) : json_null());
	return o;
}

int
admin_log_auth(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *login = admin_arg(args, "login");
	const char *since = admin_arg(args, "since");
	const char *limit = admin_arg(args, "limit");
	int failed = admin_flag(args, "failed");
	char canon[ADDR_MAX + 1], why[160];
	int64_t t = 0, n = 1000;
	json_t *rows;

	if (since && (t = str_time(since, (int64_t)time(NULL))) < 0)
		return admin_fail(err, 400,
		    "--since %s: give a time (2024-10-01, "
		    "2024-10-01T10:00:00Z) or a duration (1h, 7d)",
		    since);
	if (limit && ((n = str_uint(limit)) < 1 || n > 1000000))
		return admin_fail(err, 400, "--limit: a number from 1");
	if (login && *login == '\0')
		login = NULL;
	/* attempts are logged under the canonical spelling (auth/cred.c) */
	if (login && addr_login_canon(login, canon, sizeof(canon), why,
			 sizeof(why)) == 0)
		login = canon;
	if ((rows = admin_list_auth(ctx->store, login, t, failed, n)) == NULL)
		return admin_store_fail(ctx, err);
	*out = json_pack("{s:o}", "events", rows);
	return 0;
}
