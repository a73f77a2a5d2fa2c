/*
 * session_auth: AUTH (RFC 4954, 4616, 7628). The mechanisms decode on
 * the loop (src/auth/sasl.c); the credential check runs on a worker
 * (src/auth/cred.c), after the brute-force rules had their say. A
 * failure is answered auth_fail_delay after the command, whatever the
 * store took; failures are counted per session and per address.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>
#include <sodium.h>

#include "guard.h"
#include "session_int.h"
#include "../auth/cred.h"
#include "../auth/secret.h"
#include "../store/store.h"
#include "../store/thread.h"
#include "../util/log.h"
#include "../util/str.h"

/* The LOGIN exchange's user name, held between its two steps. */
static void
smtp_auth_clear(struct smtp_session *s)
{
	if (s->sasl_login) {
		sodium_memzero(s->sasl_login, strlen(s->sasl_login));
		free(s->sasl_login);
		s->sasl_login = NULL;
	}
	s->sasl_step = 0;
}

int
smtp_auth_offered(const struct smtp_session *s)
{
	return s->kind != LISTEN_SMTP && (s->flags & SF_TLS) &&
	       s->ident == NULL;
}

struct auth_job {
	struct smtp_job job; /* its owner is NULL'd if the session goes */
	struct sasl_creds creds;
	char mech[16];
	char ip[NET_IP_MAX];
	char ipkey[NET_IPKEY_MAX];
	int refused; /* by the brute-force rules: only logged */
	struct cred_result r;
};

/* An AUTH check that never ran: its secret goes with it. */
static void
smtp_auth_job_free(struct worker_job *j)
{
	sodium_memzero(j, sizeof(struct auth_job));
	free(j);
}

void
smtp_auth_free(struct smtp_session *s)
{
	if (s->delayed) {
		smtp_auth_job_free(s->delayed);
		s->delayed = NULL;
	}
	smtp_auth_clear(s);
}

/* After a good login: its limits into the quota engine, and the rule on
 * how many addresses it comes from. */
static void
auth_job_owner(struct auth_job *a, void *ctx, int64_t now)
{
	struct store *st = store_thread();
	const struct conf *c = conf_current();
	struct quota_abuse ab;
	struct quota_key k;
	char reason[128];
	int64_t n = 0;
	int fresh = 0;

	quota_key_set(&k, a->r.id->user_id, a->r.id->domain_id);
	guard_limits(st, c, &k, now);
	guard_abuse_conf(c, &ab);
	/* an IPv6 client's privacy addresses are one place, its /64; an
	 * address new here this hour is counted in the store for every
	 * node (a write only then, not at every login) */
	if (!quota_login_from_new(&k, a->ipkey, &ab, now, &fresh)) {
		if (!fresh || k.user_id == 0 || ab.ips_per_hour == 0 ||
		    store_login_ip_add(st, k.user_id, quota_hour_start(now),
			a->ipkey, &n) != 0 ||
		    !quota_login_shared(&k, n, &ab, now))
			return;
	}
	snprintf(reason, sizeof(reason),
	    "logins from more than %lld addresses in one hour",
	    (long long)ab.ips_per_hour);
	if (guard_block(st, c, &k, a->r.id->login, reason, now) == 1) {
		a->r.blocked = 1;
		str_lcpy(a->r.block_reason, reason, sizeof(a->r.block_reason));
	}
}

static void
auth_job_run(struct worker_job *j, void *ctx)
{
	struct auth_job *a = (struct auth_job *)j;
	int64_t now = (int64_t)time(NULL);

	if (a->refused) {
		cred_log_refused(store_thread(), a->creds.login, a->ip, a->mech,
		    "too many failures from this address", now);
	} else {
		cred_verify(store_thread(), secret_keys_current(), &a->creds,
		    a->mech, a->ip, now, &a->r);
		if (a->r.ok)
			auth_job_owner(a, ctx, now);
	}
	sodium_memzero(&a->creds.secret, sizeof(a->creds.secret));
}

/* A failed AUTH answered and counted apart from the other errors: past
 * auth_failures_per_session, 421 and the session closes. */
static void
smtp_auth_refuse(struct smtp_session *s, const char *reply)
{
	s->sasl_step = 0;
	smtp_set_state(s, S_CMD);
	smtp_reply(s, "%s", reply);
	if (++s->auth_fails >= conf_current()->auth_failures_per_session) {
		smtp_reply(s, "421 4.7.0 %s Too many failed authentications",
		    conf_current()->hostname);
		smtp_close_after_reply(s);
	}
}

/* The answer to a failed AUTH; not from inside smtp_process(). */
static void
smtp_auth_fail(struct smtp_session *s)
{
	if (s->auth_refused) {
		s->auth_refused = 0;
		smtp_auth_refuse(s, "454 4.7.0 Too many failed "
				    "authentications from your address: try "
				    "again later");
		return;
	}
	if ((s->mech == SASL_XOAUTH2 || s->mech == SASL_OAUTHBEARER) &&
	    s->sasl_step == 0) {
		/* RFC 7628 3.2.2: an error challenge, the client answers
		 * with a dummy response, then the failure */
		s->sasl_step = 2;
		smtp_set_state(s, S_AUTH);
		smtp_reply(s, "334 %s",
		    s->mech == SASL_XOAUTH2
			? "eyJzdGF0dXMiOiI0MDEiLCJzY2hlbWVzIjoiYmVhcmVyIn0="
			: "eyJzdGF0dXMiOiJpbnZhbGlkX3Rva2VuIn0=");
		return;
	}
	smtp_auth_refuse(s, "535 5.7.8 Authentication credentials invalid");
}

static void
smtp_auth_fail_timer(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)fd;
	(void)what;
	smtp_auth_fail(s);
	smtp_resume(s);
}

static void
auth_job_done(struct worker_job *j)
{
	struct auth_job *a = (struct auth_job *)j;
	struct smtp_session *s = j->owner;
	uint64_t elapsed, delay;
	struct timeval tv;

	if (j->owner == NULL) { /* session gone */
		free(a->r.id);
		free(a);
		return;
	}
	s->job = NULL;
	if (a->r.ok) {
		log_info("smtp.auth session=%016llx ip=%s mech=%s user=%s "
			 "kind=%s result=ok",
		    (unsigned long long)s->id, s->ip, a->mech, a->r.id->login,
		    a->r.kind);
		s->ident = a->r.id;
		/* kept to end the session when the credential goes */
		if ((s->cred = malloc(sizeof(*s->cred))) != NULL)
			*s->cred = a->r.ref;
		s->cred_checked = (int64_t)time(NULL);
		s->blocked = a->r.blocked;
		s->tos_ok = a->r.tos_ok;
		if (a->r.blocked)
			s->block_reason = strdup(a->r.block_reason);
		smtp_reply(s, "235 2.7.0 Authentication successful");
		free(a);
		smtp_resume(s);
		return;
	}
	if (a->r.tempfail && !a->refused) {
		/* the store did not answer: not a wrong password, not
		 * counted against the client; it may try again */
		log_info("smtp.auth session=%016llx ip=%s mech=%s "
			 "result=tempfail reason=store",
		    (unsigned long long)s->id, s->ip, a->mech);
		free(a);
		s->sasl_step = 0;
		smtp_set_state(s, S_CMD);
		smtp_reply(s, "451 4.3.0 Temporary authentication failure: "
			      "try again later");
		smtp_resume(s);
		return;
	}
	log_info("smtp.auth session=%016llx ip=%s mech=%s result=%s",
	    (unsigned long long)s->id, s->ip, a->mech,
	    a->refused ? "refused reason=too_many_failures" : "failed");
	s->auth_refused = a->refused;
	if (!a->refused) {
		struct bf_conf bc;
		guard_bf_conf(conf_current(), &bc);
		bf_failed_account(&bc, s->ipkey, a->creds.login, a->r.account,
		    (int64_t)time(NULL));
	}
	free(a);
	/* the same delay from the command, known login or not, refused or
	 * not: a refused client cannot go faster than a failing one */
	elapsed = smtp_now_ms() - s->t_cmd;
	delay = (uint64_t)conf_current()->auth_fail_delay_ms;
	delay = elapsed < delay ? delay - elapsed : 0;
	tv.tv_sec = (time_t)(delay / 1000);
	tv.tv_usec = (suseconds_t)(delay % 1000) * 1000;
	if (s->timer == NULL)
		s->timer = evtimer_new(s->rt.base, smtp_auth_fail_timer, s);
	evtimer_add(s->timer, &tv);
}

static void
smtp_auth_delayed(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	struct smtp_job *j = (struct smtp_job *)s->delayed;

	(void)fd;
	(void)what;
	s->delayed = NULL;
	smtp_job_submit(s, j);
}

static void
smtp_auth_submit(struct smtp_session *s, struct sasl_creds *c)
{
	struct auth_job *a = calloc(1, sizeof(*a));
	struct bf_conf bc;
	int64_t delay;

	smtp_auth_clear(s);
	if (a == NULL) {
		smtp_reply(s, "454 4.7.0 Temporary authentication failure");
		smtp_set_state(s, S_CMD);
		return;
	}
	smtp_job_init(s, &a->job, auth_job_run, auth_job_done);
	a->creds = *c;
	sodium_memzero(c, sizeof(*c));
	str_lcpy(a->mech, sasl_mech_name(s->mech), sizeof(a->mech));
	str_lcpy(a->ip, s->ip, sizeof(a->ip));
	str_lcpy(a->ipkey, s->ipkey, sizeof(a->ipkey));
	smtp_set_state(s, S_WAIT);
	/* the brute-force rules look at the address and the login typed,
	 * never at whether the login exists */
	guard_bf_conf(conf_current(), &bc);
	delay = bf_check(&bc, s->ipkey, a->creds.login, (int64_t)time(NULL));
	if (delay < 0)
		a->refused = 1;
	if (delay > 0) {
		struct timeval tv = { (time_t)(delay / 1000),
			(suseconds_t)(delay % 1000) * 1000 };
		log_info("smtp.auth session=%016llx ip=%s slowed=%lldms",
		    (unsigned long long)s->id, s->ip, (long long)delay);
		/* a failure is then answered fail_delay after the wait */
		s->t_cmd += (uint64_t)delay;
		s->delayed = &a->job.base;
		if (s->bf_timer == NULL)
			s->bf_timer =
			    evtimer_new(s->rt.base, smtp_auth_delayed, s);
		evtimer_add(s->bf_timer, &tv);
		return;
	}
	smtp_job_submit(s, &a->job);
}

/* A response the mechanism could not decode: the same 535 and delay. */
static void
smtp_auth_bad(struct smtp_session *s, const char *why)
{
	struct sasl_creds c;

	log_info("smtp.auth session=%016llx ip=%s mech=%s result=malformed "
		 "why=\"%s\"",
	    (unsigned long long)s->id, s->ip, sasl_mech_name(s->mech), why);
	memset(&c, 0, sizeof(c));
	str_lcpy(c.login, "(malformed)", sizeof(c.login));
	smtp_auth_submit(s, &c);
}

static void
smtp_auth_decode(struct smtp_session *s, const char *resp)
{
	struct sasl_creds c;
	const char *why = NULL;
	int rc = -1;

	/* RFC 4954 4: not base64 is a syntax error, answered at once; it
	 * says nothing about a credential, so it needs no failure delay */
	if (!sasl_is_base64(resp)) {
		log_info("smtp.auth session=%016llx ip=%s mech=%s "
			 "result=malformed why=\"invalid base64\"",
		    (unsigned long long)s->id, s->ip, sasl_mech_name(s->mech));
		smtp_auth_clear(s);
		smtp_set_state(s, S_CMD);
		smtp_refuse(s, "501 5.5.2 Cannot decode the response: it is "
			       "not base64");
		return;
	}
	memset(&c, 0, sizeof(c));
	switch (s->mech) {
	case SASL_PLAIN:
		rc = sasl_plain(resp, &c, &why);
		break;
	case SASL_XOAUTH2:
		rc = sasl_xoauth2(resp, &c, &why);
		break;
	case SASL_OAUTHBEARER:
		rc = sasl_oauthbearer(resp, &c, &why);
		break;
	case SASL_LOGIN:
		if (s->sasl_step == 0) {
			char user[SASL_LOGIN_MAX + 1];
			if (sasl_login_field(resp, user, sizeof(user), &why) ==
			    -1) {
				smtp_auth_bad(s, why);
				return;
			}
			s->sasl_login = strdup(user);
			s->sasl_step = 1;
			smtp_set_state(s, S_AUTH);
			smtp_reply(s, "334 UGFzc3dvcmQ6");
			return;
		}
		str_lcpy(c.login, s->sasl_login, sizeof(c.login));
		rc = sasl_login_field(resp, c.secret, sizeof(c.secret), &why);
		break;
	default:
		break;
	}
	if (rc == -1) {
		sodium_memzero(&c, sizeof(c));
		smtp_auth_bad(s, why ? why : "bad response");
		return;
	}
	smtp_auth_submit(s, &c);
}

void
smtp_auth_line(struct smtp_session *s, char *line)
{
	smtp_set_state(s, S_CMD);
	if (line == NULL) { /* too long, or a NUL in it */
		smtp_auth_clear(s);
		smtp_refuse(s, "500 5.5.6 Authentication exchange line too "
			       "long or holds NUL");
		return;
	}
	if (s->sasl_step == 2) { /* the answer to an error challenge */
		smtp_auth_fail(s);
		return;
	}
	if (strcmp(line, "*") == 0) {
		smtp_auth_clear(s);
		smtp_reply(s, "501 5.7.0 Authentication cancelled");
		return;
	}
	s->t_cmd = smtp_now_ms();
	smtp_auth_decode(s, line);
}

/* The command table's rules passed; these replies are AUTH's own
 * (RFC 4954 4 and 6). */
void
smtp_cmd_auth(struct smtp_session *s, char *arg)
{
	char *ir;

	if (s->kind == LISTEN_SMTP) {
		smtp_refuse(s, "503 5.5.1 AUTH is not offered on this port: "
			       "use the submission port");
		return;
	}
	if (!(s->flags & SF_TLS)) {
		smtp_refuse(s, "538 5.7.11 Encryption required for "
			       "requested authentication mechanism");
		return;
	}
	if (s->ident != NULL) {
		smtp_refuse(s, "503 5.5.1 Already authenticated");
		return;
	}
	ir = arg + strcspn(arg, " ");
	while (*ir == ' ')
		*ir++ = '\0';
	if ((s->mech = sasl_mech_by_name(arg)) == SASL_NONE) {
		smtp_refuse(s, "504 5.5.4 Unrecognized authentication type");
		return;
	}
	s->t_cmd = smtp_now_ms();
	if (*ir == '\0') {
		smtp_set_state(s, S_AUTH);
		smtp_reply(s,
		    s->mech == SASL_LOGIN ? "334 VXNlcm5hbWU6" : "334 ");
		return;
	}
	smtp_auth_decode(s, strcmp(ir, "=") == 0 ? "" : ir);
}
