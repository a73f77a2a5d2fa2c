/*
 * panel: the routes behind the end user's panel that are not operator
 * operations: the servers to show, two-step sign-in (enrol, confirm,
 * disable, the code step of a sign-in), the Apple set-up profile, the
 * login password by e-mailed link, and the public autoconfiguration
 * files mail programs fetch. Handlers run on a worker; a user's
 * handlers act on the session's own account (c->user_id), never on an
 * account named in the request.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <sodium.h>

#include "autoconfig.h"
#include "qr.h"
#include "server.h"
#include "session.h"
#include "../admin/account.h"
#include "../admin/forward.h"
#include "../auth/secret.h"
#include "../mail/addr.h"
#include "../spool/spool.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/str.h"

/* Every answer to "send me a link" leaves at the same time, sent or not,
 * so its timing does not say whether the address has an account. */
#define PANEL_LINK_DELAY_MS 700

/* The port of the first "ADDR:PORT" of a listen setting; 0 if off. */
static int
panel_port(const char *listen)
{
	char first[CONF_STR_MAX], *comma, *colon;
	int64_t p;

	str_lcpy(first, listen, sizeof(first));
	if ((comma = strchr(first, ',')) != NULL)
		*comma = '\0';
	if ((colon = strrchr(first, ':')) == NULL)
		return 0;
	p = str_uint(colon + 1);
	return p > 0 && p < 65536 ? (int)p : 0;
}

static void
panel_settings(const struct conf *conf, struct mail_settings *m,
    const char *address, const char *domain)
{
	memset(m, 0, sizeof(*m));
	m->address = address;
	m->domain = domain;
	m->host = conf->hostname;
	m->display_name =
	    conf->panel_name[0] ? conf->panel_name : conf->hostname;
	m->submissions_port = panel_port(conf->listen_submissions);
	m->submission_port = panel_port(conf->listen_submission);
	m->imap_host = conf->imap_host[0] ? conf->imap_host : conf->hostname;
	m->imap_port = (int)conf->imap_port;
	m->imap_starttls_port = (int)conf->imap_starttls_port;
}

/* GET /api/v1/me/servers: what the SMTP Auth Relay page shows. */
static int
panel_servers(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	const struct conf *conf = c->ctx.conf;
	struct mail_settings m;
	char contact[CONF_STR_MAX + 16];

	(void)args;
	(void)err;
	panel_settings(conf, &m, c->address, "");
	if (conf->panel_contact[0])
		str_lcpy(contact, conf->panel_contact, sizeof(contact));
	else
		snprintf(contact, sizeof(contact), "postmaster@%s",
		    conf->hostname);
	*out = json_pack("{s:s,s:s,s:s,s:i,s:i,s:s,s:i,s:i,s:s}", "address",
	    c->address, "hostname", conf->hostname, "name", m.display_name,
	    "submissions_port", m.submissions_port, "submission_port",
	    m.submission_port, "imap_host", m.imap_host, "imap_port",
	    m.imap_port, "imap_starttls_port", m.imap_starttls_port, "contact",
	    contact);
	return 0;
}

/* GET /api/v1/about (public): the service's name, for the sign-in page. */
static int
panel_about(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	const struct conf *conf = c->ctx.conf;

	(void)args;
	(void)err;
	*out = json_pack("{s:s,s:s}", "name",
	    conf->panel_name[0] ? conf->panel_name : conf->hostname, "hostname",
	    conf->hostname);
	return 0;
}

/* ---- two-step sign-in ---- */

int
http_panel_ticket(struct http_call *c, int64_t user_id, json_t **out,
    struct admin_err *err)
{
	char ticket[ACCOUNT_TOKEN_LEN + 1];

	if (account_ticket_new(&c->ctx, user_id, ticket, err) == -1)
		return -1;
	*out = json_pack("{s:b,s:s}", "totp_required", 1, "ticket", ticket);
	sodium_memzero(ticket, sizeof(ticket));
	log_info("http.login address=%s ip=%s result=code_due", c->address,
	    c->ip);
	return 0;
}

/* POST /api/v1/session/totp {ticket, code}: the second step. */
static int
panel_totp_login(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *ticket = admin_arg(args, "ticket");
	const char *code = admin_arg(args, "code");
	struct store_user u;
	int64_t user_id;
	int rc;

	if (ticket == NULL || code == NULL)
		return admin_fail(err, 400,
		    "send {\"ticket\": ..., \"code\": ...}");
	c->login_result = -1;
	user_id = 0;
	rc = account_ticket_take(&c->ctx, ticket, code, &user_id, err);
	/* a wrong code counts against the login like a wrong password, so
	 * the password step is refused after [http] login_failures */
	if (user_id != 0 && store_user_by_id(c->ctx.store, user_id, &u) == 0) {
		char name[ADDR_MAX + 1];
		/* the account's key, whatever spelling got the ticket */
		snprintf(name, sizeof(name), "%s@%s", u.local, u.domain);
		http_login_key(name, c->login, sizeof(c->login));
	} else if (rc == 0)
		return admin_fail(err, 401, "the account is gone");
	if (rc == -1) {
		log_info("http.login ip=%s result=failed reason=code", c->ip);
		return -1;
	}
	snprintf(c->address, sizeof(c->address), "%s@%s", u.local, u.domain);
	return http_session_start(c, user_id, out, err);
}

static int
panel_totp_status(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	(void)args;
	return account_totp_status(&c->ctx, c->user_id, out, err);
}

/* POST /api/v1/me/totp: a new key, with its QR code as SVG markup. */
static int
panel_totp_begin(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	struct buf svg;
	int rc = -1;

	(void)args;
	if (account_totp_begin(&c->ctx, c->user_id, c->address, out, err) == -1)
		return -1;
	buf_init(&svg, 256 * 1024);
	if (qr_svg(&svg, json_string_value(json_object_get(*out, "uri"))) ==
		0 &&
	    buf_append(&svg, "", 1) == 0) {
		json_object_set_new(*out, "qr_svg", json_string(svg.data));
		rc = 0;
	} else {
		json_decref(*out);
		*out = NULL;
		admin_fail(err, 500, "cannot draw the QR code");
	}
	buf_free(&svg);
	return rc;
}

static int
panel_totp_confirm(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *code = admin_need(args, "code", err);

	if (code == NULL)
		return -1;
	if (account_totp_confirm(&c->ctx, c->user_id, code, out, err) == -1)
		return -1;
	log_info("http.totp address=%s ip=%s result=on", c->address, c->ip);
	return 0;
}

static int
panel_totp_disable(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *code = admin_need(args, "code", err);

	if (code == NULL ||
	    account_totp_disable(&c->ctx, c->user_id, code, err) == -1)
		return -1;
	log_info("http.totp address=%s ip=%s result=off", c->address, c->ip);
	*out = json_pack("{s:b}", "enabled", 0);
	return 0;
}

/* ---- Apple profile ---- */

/* POST /api/v1/me/profile {device}: a .mobileconfig with a new app
 * password labelled with the device's name. */
static int
panel_profile(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *device = admin_need(args, "device", err);
	char q[LOG_VALUE_MAX];
	json_t *a, *made = NULL;
	struct mail_settings m;
	const char *at = strchr(c->address, '@');
	struct buf b;
	int rc = -1;

	if (device == NULL || at == NULL)
		return -1;
	a = json_pack("{s:s,s:s}", "address", c->address, "label", device);
	if (a == NULL)
		return admin_fail(err, 500, "out of memory");
	rc = admin_app_add(&c->ctx, a, &made, err);
	json_decref(a);
	if (rc == -1)
		return -1;
	panel_settings(c->ctx.conf, &m, c->address, at + 1);
	buf_init(&b, AUTOCONFIG_OUT_MAX);
	rc = profile_mobileconfig(&b, &m,
	    json_string_value(json_object_get(made, "password")));
	if (rc == 0)
		rc = http_call_raw(c, "application/x-apple-aspen-config",
		    b.data, b.len);
	sodium_memzero(b.data, b.cap);
	buf_free(&b);
	json_decref(made);
	if (rc == -1)
		return admin_fail(err, 500, "cannot write the profile");
	log_info("http.profile address=%s device=%s ip=%s", c->address,
	    log_value(q, sizeof(q), device), c->ip);
	*out = NULL;
	return 0;
}

/* ---- the login password by e-mailed link ---- */

static int
panel_link(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *address = admin_need(args, "address", err);
	const char *purpose = admin_arg(args, "purpose");
	char queued[SPOOL_ID_LEN + 1];

	c->delay_ms = PANEL_LINK_DELAY_MS;
	if (address == NULL)
		return -1;
	if (account_link_send(&c->ctx, address, purpose ? purpose : "reset",
		queued, out, err) == -1)
		return -1;
	if (queued[0])
		spool_announce(queued);
	return 0;
}

static int
panel_link_use(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *token = admin_need(args, "token", err);
	const char *password = admin_need(args, "password", err);

	if (token == NULL || password == NULL)
		return -1;
	return account_link_use(&c->ctx, token, password, out, err);
}

/* ---- a forwarding target's confirmation (public: the link's reader
 * is not the user) ---- */

/* GET /api/v1/forward/confirm?token=...: what the link confirms. */
static int
panel_forward_show(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	return forward_confirm_show(&c->ctx, admin_arg(args, "token"), out,
	    err);
}

/* POST /api/v1/forward/confirm {token}: a JSON body, which a form on
 * another site cannot send; a GET never confirms (link scanners). */
static int
panel_forward_confirm(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	return forward_confirm(&c->ctx, admin_arg(args, "token"), out, err);
}

/* ---- autoconfiguration (public) ---- */

/* The domain of address if postern serves it; -1 (404) if not. */
static int
panel_hosted(struct http_call *c, const char *address, struct addr *a,
    struct admin_err *err)
{
	struct store_domain d;
	char why[160];

	if (address == NULL)
		return admin_fail(err, 400,
		    "which address? add ?emailaddress=user@domain");
	if (addr_parse(address, a, why, sizeof(why)) == -1)
		return admin_fail(err, 400, "%s", why);
	/* a domain, never whether a user exists */
	if (store_domain_get(c->ctx.store, a->domain, &d) != 0)
		return admin_fail(err, 404, "%s is not a domain of this server",
		    a->domain);
	return 0;
}

static int
panel_xml_reply(struct http_call *c, struct buf *b, int rc,
    struct admin_err *err)
{
	if (rc == 0)
		rc = http_call_raw(c, "application/xml; charset=utf-8", b->data,
		    b->len);
	buf_free(b);
	return rc == 0 ? 0 : admin_fail(err, 500, "cannot write the settings");
}

/* GET /.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=... */
static int
panel_thunderbird(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	struct mail_settings m;
	char address[ADDR_MAX + 1];
	struct addr a;
	struct buf b;

	*out = NULL;
	if (panel_hosted(c, admin_arg(args, "emailaddress"), &a, err) == -1)
		return -1;
	snprintf(address, sizeof(address), "%s@%s", a.local, a.domain);
	panel_settings(c->ctx.conf, &m, address, a.domain);
	buf_init(&b, AUTOCONFIG_OUT_MAX);
	return panel_xml_reply(c, &b, autoconfig_thunderbird(&b, &m), err);
}

/* POST /autodiscover/autodiscover.xml, Outlook's request schema. */
static int
panel_autodiscover(struct http_call *c, json_t *args, json_t **out,
    struct admin_err *err)
{
	char given[ADDR_MAX + 1], address[ADDR_MAX + 1];
	size_t len = c->body ? evbuffer_get_length(c->body) : 0;
	struct mail_settings m;
	struct addr a;
	struct buf b;

	(void)args;
	*out = NULL;
	if (len > AUTOCONFIG_BODY_MAX)
		return admin_fail(err, 413, "an autodiscover request is small");
	if (len == 0 ||
	    autoconfig_parse_request((const char *)evbuffer_pullup(c->body, -1),
		len, given, sizeof(given)) == -1)
		return admin_fail(err, 400,
		    "send an Outlook autodiscover request with an EMailAddress");
	if (panel_hosted(c, given, &a, err) == -1)
		return -1;
	snprintf(address, sizeof(address), "%s@%s", a.local, a.domain);
	panel_settings(c->ctx.conf, &m, address, a.domain);
	buf_init(&b, AUTOCONFIG_OUT_MAX);
	return panel_xml_reply(c, &b, autoconfig_autodiscover(&b, &m), err);
}

#define PUB HTTP_PUBLIC
#define USER HTTP_USER

const struct http_route http_panel_routes[] = {
	{ HTTP_POST, "/api/v1/session/totp", PUB | HTTP_LOGIN, NULL,
	    panel_totp_login, NULL },
	{ HTTP_GET, "/api/v1/about", PUB, NULL, panel_about, NULL },
	{ HTTP_GET, "/api/v1/me/servers", USER, NULL, panel_servers, NULL },
	{ HTTP_GET, "/api/v1/me/totp", USER, NULL, panel_totp_status, NULL },
	{ HTTP_POST, "/api/v1/me/totp", USER | HTTP_SECRET, NULL,
	    panel_totp_begin, NULL },
	{ HTTP_POST, "/api/v1/me/totp/confirm", USER | HTTP_SECRET, NULL,
	    panel_totp_confirm, NULL },
	{ HTTP_POST, "/api/v1/me/totp/disable", USER, NULL, panel_totp_disable,
	    NULL },
	{ HTTP_POST, "/api/v1/me/profile", USER | HTTP_SECRET | HTTP_NEED_TOS,
	    NULL, panel_profile, NULL },
	{ HTTP_DELETE, "/api/v1/users/:address/totp", HTTP_OPERATOR,
	    "user.totp.off", NULL, NULL },
	{ HTTP_POST, "/api/v1/password/link", PUB, NULL, panel_link, NULL },
	{ HTTP_POST, "/api/v1/password/reset", PUB, NULL, panel_link_use,
	    NULL },
	{ HTTP_GET, "/api/v1/forward/confirm", PUB, NULL, panel_forward_show,
	    NULL },
	{ HTTP_POST, "/api/v1/forward/confirm", PUB, NULL,
	    panel_forward_confirm, NULL },
	{ HTTP_GET, "/.well-known/autoconfig/mail/config-v1.1.xml", PUB, NULL,
	    panel_thunderbird, NULL },
	{ HTTP_GET, "/mail/config-v1.1.xml", PUB, NULL, panel_thunderbird,
	    NULL },
	{ HTTP_POST, "/autodiscover/autodiscover.xml", PUB | HTTP_RAW_BODY,
	    NULL, panel_autodiscover, NULL },
	{ HTTP_POST, "/Autodiscover/Autodiscover.xml", PUB | HTTP_RAW_BODY,
	    NULL, panel_autodiscover, NULL },
	{ 0, NULL, 0, NULL, NULL, NULL },
};
