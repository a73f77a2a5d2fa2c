/*
 * admin/forward: a user's forwarding addresses, for the CLI, the API and
 * the panel alike. A new target is pending: a link is mailed to it (from
 * postmaster@ the user's domain, through the spool, signed like any of
 * the domain's mail), and nothing is forwarded there until the link's
 * page is confirmed with a POST, so no one can aim the forwarder at a
 * stranger. The token is single-use and expiring; only its keyed hash is
 * stored, and the link is found by that hash, never by the token.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "account.h"
#include "admin.h"
#include "forward.h"
#include "../auth/secret.h"
#include "../mail/addr.h"
#include "../spool/spool.h"
#include "../util/buf.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/str.h"

/* The target as stored ("local@canonical-domain") and its folded key;
 * printable ASCII only: a copy to it needs no SMTPUTF8. */
static int
forward_target_parse(const char *in, char *target, char *key, size_t len,
    struct addr *a, struct admin_err *err)
{
	char why[160];
	const char *p;

	if (strlen(in) > ADDR_MAX)
		return admin_fail(err, 400, "target: too long an address");
	for (p = in; *p; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f)
			return admin_fail(err, 400,
			    "target: an address of printable ASCII, without "
			    "blanks (user@example.com)");
	if (addr_parse(in, a, why, sizeof(why)) == -1)
		return admin_fail(err, 400, "target: %s", why);
	if ((size_t)snprintf(target, len, "%s@%s", a->local, a->domain) >=
		len ||
	    (size_t)snprintf(key, len, "%s@%s", a->local_key, a->domain) >= len)
		return admin_fail(err, 400, "target: too long an address");
	return 0;
}

/* The message with the confirmation link, into the spool. */
static int
forward_mail(struct admin_ctx *ctx, const struct store_user *u,
    const char *target, const char *token, char id[SPOOL_ID_LEN + 1])
{
	const struct conf *c = ctx->conf;
	const char *name = c->panel_name[0] ? c->panel_name : c->hostname;
	char url[CONF_STR_MAX + 64], from[ADDR_MAX + 1], user[ADDR_MAX + 1];
	char subject[ADDR_MAX + 64], text[2048];
	struct account_mail am;
	int rc;

	account_panel_url(c, url, sizeof(url));
	snprintf(user, sizeof(user), "%s@%s", u->local, u->domain);
	snprintf(from, sizeof(from), "postmaster@%s", u->domain);
	snprintf(subject, sizeof(subject), "Confirm forwarding from %s", user);
	/* the token is only in the fragment: never sent to a server, never
	 * in a web log; the page asks before it confirms (a POST), so a
	 * link scanner that opens it confirms nothing */
	if ((size_t)snprintf(text, sizeof(text),
		"Hello,\r\n\r\n%s at %s asks to forward its mail to\r\n"
		"this address, %s.\r\n\r\nNothing is forwarded here until you "
		"confirm. To confirm, open\r\nthis link within %lld days and "
		"press \"Confirm\"; it works once:\r\n\r\n%s/#forward=%s\r\n\r\n"
		"If you do not want this mail, ignore this message: nothing "
		"will be\r\nforwarded to you.\r\n",
		user, name, target,
		(long long)((c->forward_confirm_ttl + 86399) / 86400), url,
		token) >= sizeof(text))
		return -1;
	memset(&am, 0, sizeof(am));
	/* the null sender: a confirmation that cannot be delivered is not
	 * worth a bounce; the domain's key signs From: postmaster@ it */
	am.env_from = "";
	am.from = from;
	am.to = target;
	am.subject = subject;
	am.domain = u->domain;
	am.text = text;
	rc = account_system_mail(ctx, &am, id);
	sodium_memzero(text, sizeof(text));
	return rc;
}

/* The new mail is the queue's: told at once inside the server, by
 * SIGUSR1 from the CLI (a server that is not running finds it at
 * start). */
static void
forward_announce(struct admin_ctx *ctx, const char *id)
{
	if (ctx->in_server)
		spool_announce(id);
	else
		(void)admin_queue_wake(ctx);
}

int
admin_forward_add(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	const char *given = admin_need(args, "target", err);
	char target[ADDR_MAX + 1], key[ADDR_MAX + 1], la[LOG_ADDR_MAX];
	char token[ACCOUNT_TOKEN_LEN + 1], hash[SECRET_HASH_HEX];
	char queued[SPOOL_ID_LEN + 1] = "";
	int64_t now = (int64_t)time(NULL), sent = 0;
	int64_t expires = now + ctx->conf->forward_confirm_ttl;
	struct store_user u, t;
	struct store_domain d;
	struct addr a;
	int rc, again = 0;

	if (address == NULL || given == NULL ||
	    admin_find_user(ctx, address, &u, err) == -1 ||
	    forward_target_parse(given, target, key, sizeof(target), &a, err) ==
		-1)
		return -1;
	/* a domain here: the mailbox must exist, and not be the user's own
	 * (a loop from the first message) */
	if ((rc = store_domain_get(ctx->store, a.domain, &d)) == 0) {
		rc = store_mailbox_user(ctx->store, &a, &t);
		if (rc == STORE_NOTFOUND)
			return admin_fail(err, 400,
			    "there is no mailbox %s here", target);
		if (rc != 0)
			return admin_store_fail(ctx, err);
		if (t.id == u.id)
			return admin_fail(err, 400,
			    "%s is %s@%s's own address: forward to another one",
			    target, u.local, u.domain);
	} else if (rc != STORE_NOTFOUND) {
		return admin_store_fail(ctx, err);
	}
	/* each link fills a stranger's mailbox: a bounded number a day,
	 * adding, re-adding and removing alike */
	if (store_forward_link_count(ctx->store, u.id, now, now - 86400,
		&sent) != 0)
		return admin_store_fail(ctx, err);
	if (sent >= FORWARD_LINKS_PER_DAY)
		return admin_fail(err, 429,
		    "%d confirmation links were mailed for %s@%s today, the "
		    "most there may be: try again tomorrow",
		    FORWARD_LINKS_PER_DAY, u.local, u.domain);
	secret_generate(token, ACCOUNT_TOKEN_LEN);
	secret_hash(ctx->keys, token, ACCOUNT_TOKEN_LEN, hash);
	rc = store_forward_add(ctx->store, u.id, target, key, hash, now,
	    expires, FORWARD_TARGETS_MAX);
	if (rc == STORE_EXISTS) {
		/* pending: a new link (the old one ends); confirmed: done */
		rc =
		    store_forward_retoken(ctx->store, u.id, key, hash, expires);
		if (rc == STORE_NOTFOUND) {
			sodium_memzero(token, sizeof(token));
			return admin_fail(err, 409,
			    "%s@%s forwards to %s already", u.local, u.domain,
			    target);
		}
		again = 1;
	}
	if (rc == STORE_LIMIT) {
		sodium_memzero(token, sizeof(token));
		return admin_fail(err, 409,
		    "%s@%s has %d forwarding addresses, the most there may "
		    "be: remove one first",
		    u.local, u.domain, FORWARD_TARGETS_MAX);
	}
	if (rc != 0) {
		sodium_memzero(token, sizeof(token));
		return admin_store_fail(ctx, err);
	}
	rc = forward_mail(ctx, &u, target, token, queued);
	sodium_memzero(token, sizeof(token));
	if (rc == -1) {
		/* no link went out: a new target is not left pending */
		if (!again)
			(void)store_forward_remove(ctx->store, u.id, key);
		return admin_fail(err, 500,
		    "the confirmation could not be queued in %s/spool (has "
		    "`postern serve` run there yet?): add the address again "
		    "later",
		    ctx->conf->data_dir);
	}
	(void)store_forward_link_sent(ctx->store, u.id, now);
	forward_announce(ctx, queued);
	log_info("forward.add user=%s@%s target=<%s> actor=%s resent=%d "
		 "queue=%s",
	    u.local, u.domain, log_addr(la, sizeof(la), target),
	    ctx->actor ? ctx->actor : "-", again, queued);
	*out = json_pack("{s:s++,s:s,s:s,s:s}", "address", u.local, "@",
	    u.domain, "target", target, "status", "pending", "message",
	    "a confirmation link was mailed to the address: nothing is "
	    "forwarded there until it is confirmed");
	return 0;
}

int
admin_forward_remove(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	const char *given = admin_need(args, "target", err);
	char target[ADDR_MAX + 1], key[ADDR_MAX + 1], la[LOG_ADDR_MAX];
	struct store_user u;
	struct addr a;
	int rc;

	if (address == NULL || given == NULL ||
	    admin_find_user(ctx, address, &u, err) == -1 ||
	    forward_target_parse(given, target, key, sizeof(target), &a, err) ==
		-1)
		return -1;
	rc = store_forward_remove(ctx->store, u.id, key);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 404, "%s@%s does not forward to %s",
		    u.local, u.domain, target);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	log_info("forward.remove user=%s@%s target=<%s> actor=%s", u.local,
	    u.domain, log_addr(la, sizeof(la), target),
	    ctx->actor ? ctx->actor : "-");
	*out = json_pack("{s:s++,s:s,s:b}", "address", u.local, "@", u.domain,
	    "target", target, "removed", 1);
	return 0;
}

/* {address, mode, targets: [{target, status, created, confirmed}]} */
static int
forward_show(struct admin_ctx *ctx, const struct store_user *u, json_t **out,
    struct admin_err *err)
{
	struct store_forward_rows rows;
	int64_t now = (int64_t)time(NULL);
	json_t *list;
	size_t i;
	int only;

	if (store_forward_mode_get(ctx->store, u->id, &only) != 0 ||
	    store_forward_list(ctx->store, u->id, &rows) != 0)
		return admin_store_fail(ctx, err);
	list = json_array();
	for (i = 0; i < rows.n; i++) {
		const struct store_forward_row *r = &rows.v[i];
		const char *status = r->confirmed	? "confirmed"
				     : r->expires > now ? "pending"
							: "expired";
		json_array_append_new(list,
		    json_pack("{s:s,s:s,s:I,s:o}", "target", r->address,
			"status", status, "created", (json_int_t)r->created,
			"confirmed",
			r->confirmed ? json_integer(r->confirmed)
				     : json_null()));
	}
	store_forward_rows_free(&rows);
	*out = json_pack("{s:s++,s:s,s:o,s:i}", "address", u->local, "@",
	    u->domain, "mode", only ? "only" : "keep", "targets", list,
	    "max_targets", FORWARD_TARGETS_MAX);
	return *out ? 0 : admin_fail(err, 500, "out of memory");
}

int
admin_forward_list(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	struct store_user u;

	if (address == NULL || admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	return forward_show(ctx, &u, out, err);
}

int
admin_forward_mode(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	const char *mode = admin_need(args, "mode", err);
	struct store_user u;
	int only;

	if (address == NULL || mode == NULL ||
	    admin_find_user(ctx, address, &u, err) == -1)
		return -1;
	if (strcmp(mode, "keep") == 0)
		only = 0;
	else if (strcmp(mode, "only") == 0)
		only = 1;
	else
		return admin_fail(err, 400,
		    "mode: keep (a copy stays in the mailbox) or only "
		    "(forwarded, not kept)");
	if (store_forward_mode_set(ctx->store, u.id, only) != 0)
		return admin_store_fail(ctx, err);
	log_info("forward.mode user=%s@%s mode=%s actor=%s", u.local, u.domain,
	    mode, ctx->actor ? ctx->actor : "-");
	return forward_show(ctx, &u, out, err);
}

/* The token's keyed hash, or -1 for what cannot be a token. */
static int
forward_token_hash(struct admin_ctx *ctx, const char *token,
    char hash[SECRET_HASH_HEX])
{
	const char *p;

	if (token == NULL || strlen(token) != ACCOUNT_TOKEN_LEN)
		return -1;
	for (p = token; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
			(*p >= '0' && *p <= '9')))
			return -1;
	secret_hash(ctx->keys, token, ACCOUNT_TOKEN_LEN, hash);
	return 0;
}

#define FORWARD_GONE                                                           \
	"this link is not valid (any more): ask for the address to be "        \
	"added again"

/* The pending target a link's token names (confirm: and confirm it):
 * 0 with the user and target, else the error is in err. */
static int
forward_token_use(struct admin_ctx *ctx, const char *token, int confirm,
    struct store_user *u, char *target, size_t len, struct admin_err *err)
{
	char hash[SECRET_HASH_HEX];
	int64_t user_id, now = (int64_t)time(NULL);
	int rc;

	if (forward_token_hash(ctx, token, hash) == -1)
		return admin_fail(err, 410, FORWARD_GONE);
	/* found by its keyed hash: what a guess learns from the timing is
	 * about a hash it cannot aim, never about a token */
	rc = confirm ? store_forward_confirm(ctx->store, hash, now, &user_id,
			   target, len)
		     : store_forward_pending(ctx->store, hash, now, &user_id,
			   target, len);
	if (rc == 0)
		rc = store_user_by_id(ctx->store, user_id, u);
	if (rc == STORE_NOTFOUND)
		return admin_fail(err, 410, FORWARD_GONE);
	if (rc != 0)
		return admin_store_fail(ctx, err);
	return 0;
}

int
forward_confirm_show(struct admin_ctx *ctx, const char *token, json_t **out,
    struct admin_err *err)
{
	char target[ADDR_MAX + 1];
	struct store_user u;

	if (forward_token_use(ctx, token, 0, &u, target, sizeof(target), err) ==
	    -1)
		return -1;
	*out = json_pack("{s:s++,s:s}", "address", u.local, "@", u.domain,
	    "target", target);
	return 0;
}

int
forward_confirm(struct admin_ctx *ctx, const char *token, json_t **out,
    struct admin_err *err)
{
	char target[ADDR_MAX + 1], la[LOG_ADDR_MAX];
	struct store_user u;

	if (forward_token_use(ctx, token, 1, &u, target, sizeof(target), err) ==
	    -1)
		return -1;
	log_info("forward.confirm user=%s@%s target=<%s> ip=%s", u.local,
	    u.domain, log_addr(la, sizeof(la), target),
	    ctx->ip ? ctx->ip : "-");
	*out = json_pack("{s:s++,s:s,s:s}", "address", u.local, "@", u.domain,
	    "target", target, "status", "confirmed");
	return 0;
}
