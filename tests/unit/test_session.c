/*
 * test_session: a real SMTP session on an event_base of the test's own,
 * its client the other end of a socketpair, and dialogs written as
 * data: what the client sends, and the replies it must get, by prefix.
 * The runtime is the test's (struct smtp_runtime): no listener, and a
 * worker pool with a SQLite store only for the relay-network dialog;
 * AUTH checks (keys, hashed credentials) and DATA to the spool are left
 * to the e2e suites.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "unit.h"
#include "policy/quota.h"
#include "smtp/session_int.h"
#include "store/store.h"
#include "store/thread.h"
#include "util/conf.h"
#include "util/workers.h"

/* One step: the client sends send (NULL: nothing), then gets one reply
 * per '|'-separated prefix of expect; "CLOSED" is the end of the
 * connection. */
struct step {
	const char *send;
	const char *expect;
};

struct tsession {
	struct event_base *base;
	struct smtp_session *s;
	struct workers_loop *wl; /* only with workers (a store) */
	int client;
	int stopping, attached, detached;
	char in[16384]; /* what the client has read, not yet matched */
	size_t inlen;
	int eof;
};

static struct conf tconf;

static SSL_CTX *
t_tls(void *arg)
{
	(void)arg;
	return NULL; /* no TLS here: STARTTLS answers 454 */
}

static uint64_t
t_next_id(void *arg)
{
	static uint64_t id = 1;

	(void)arg;
	return id++;
}

static int
t_stopping(void *arg)
{
	return ((struct tsession *)arg)->stopping;
}

static void
t_attach(void *arg, struct smtp_session *s)
{
	(void)s;
	((struct tsession *)arg)->attached++;
}

static void
t_detach(void *arg, struct smtp_session *s, const char *ipkey)
{
	struct tsession *t = arg;

	(void)ipkey;
	if (s != NULL)
		t->detached++;
	t->s = NULL;
}

static const struct conf *
t_conf(void)
{
	conf_defaults(&tconf, "/nonexistent");
	snprintf(tconf.hostname, sizeof(tconf.hostname), "mx.test");
	tconf.errors_per_session = 5;
	tconf.greet_wait_ms = 0;
	return &tconf;
}

/* per process: engineers' runs share /tmp */
static char t_db[64];

static void *
t_worker_init(int i)
{

	(void)i;
	/* as the server's workers: the thread's own store */
	store_thread_set(unit_store_reopen(t_db));
	return store_thread();
}

static void
t_worker_fini(void *ctx)
{
	store_thread_set(NULL);
	store_close(ctx);
}

/* A session of kind on a socketpair; pre is sent before it starts;
 * with_workers: its jobs go to the pool (started by the caller). */
static int
t_start_with(struct tsession *t, enum listen_kind kind, const char *pre,
    int with_workers)
{
	struct smtp_runtime rt;
	int sv[2];

	memset(t, 0, sizeof(*t));
	if ((t->base = event_base_new()) == NULL ||
	    socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		return -1;
	evutil_make_socket_nonblocking(sv[0]);
	evutil_make_socket_nonblocking(sv[1]);
	t->client = sv[1];
	if (pre && write(t->client, pre, strlen(pre)) != (ssize_t)strlen(pre))
		return -1;
	memset(&rt, 0, sizeof(rt));
	rt.base = t->base;
	if (with_workers) {
		if ((t->wl = workers_loop_new(t->base)) == NULL)
			return -1;
		rt.wl = t->wl;
	}
	rt.tls = t_tls;
	rt.next_id = t_next_id;
	rt.stopping = t_stopping;
	rt.attach = t_attach;
	rt.detach = t_detach;
	rt.arg = t;
	t->s = smtp_session_start(&rt, sv[0], "192.0.2.7", "192.0.2.7", kind);
	return t->s ? 0 : -1;
}

static int
t_start(struct tsession *t, enum listen_kind kind, const char *pre)
{
	return t_start_with(t, kind, pre, 0);
}

/* Run the loop and read until a whole reply is there, or 2 s. */
static void
t_pump(struct tsession *t, int (*enough)(struct tsession *))
{
	struct timespec t0, now;
	ssize_t n;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		event_base_loop(t->base, EVLOOP_NONBLOCK);
		n = read(t->client, t->in + t->inlen,
		    sizeof(t->in) - 1 - t->inlen);
		if (n > 0)
			t->inlen += (size_t)n;
		else if (n == 0)
			t->eof = 1;
		t->in[t->inlen] = '\0';
		if (t->eof || enough(t))
			return;
		clock_gettime(CLOCK_MONOTONIC, &now);
		if ((now.tv_sec - t0.tv_sec) * 1000 +
			(now.tv_nsec - t0.tv_nsec) / 1000000 >
		    2000)
			return;
		usleep(1000);
	}
}

/* Length of the first whole reply in t->in (its last line "NNN "), or
 * 0 if there is none yet. */
static size_t
t_reply_len(const struct tsession *t)
{
	const char *p = t->in, *nl;

	while ((nl = strstr(p, "\r\n")) != NULL) {
		if (nl - p >= 4 && p[3] == ' ')
			return (size_t)(nl + 2 - t->in);
		if (nl - p < 4 || p[3] != '-')
			return (size_t)(nl + 2 - t->in); /* malformed: one */
		p = nl + 2;
	}
	return 0;
}

static int
t_has_reply(struct tsession *t)
{
	return t_reply_len(t) > 0;
}

/* The next reply, matched against prefix; 0 if it matched. */
static int
t_expect(struct tsession *t, const char *prefix, size_t plen, const char *name,
    int step)
{
	size_t n;

	if (plen == 6 && strncmp(prefix, "CLOSED", 6) == 0) {
		if (t->inlen == 0)
			t_pump(t, t_has_reply);
		if (t->inlen == 0 && t->eof && t->s == NULL)
			return 0;
		printf("  %s step %d: wanted the end, got \"%.60s\"%s\n", name,
		    step, t->in, t->s ? " (session alive)" : "");
		return -1;
	}
	if (!t_has_reply(t))
		t_pump(t, t_has_reply);
	if ((n = t_reply_len(t)) == 0 || strncmp(t->in, prefix, plen) != 0) {
		printf("  %s step %d: wanted \"%.*s\", got \"%.60s\"\n", name,
		    step, (int)plen, prefix, t->in);
		return -1;
	}
	memmove(t->in, t->in + n, t->inlen - n + 1);
	t->inlen -= n;
	return 0;
}

#define T_EXPECT(t, prefix, name, step)                                        \
	t_expect((t), (prefix), strlen(prefix), (name), (step))

static int
t_dialog(struct tsession *t, const char *name, const struct step *steps)
{
	const struct step *st;
	const char *p, *bar;
	int i;

	for (st = steps, i = 0; st->send || st->expect; st++, i++) {
		if (st->send &&
		    send(t->client, st->send, strlen(st->send), MSG_NOSIGNAL) !=
			(ssize_t)strlen(st->send)) {
			printf("  %s step %d: write: %s\n", name, i,
			    strerror(errno));
			return -1;
		}
		for (p = st->expect; p && *p; p = bar ? bar + 1 : NULL) {
			bar = strchr(p, '|');
			if (t_expect(t, p, bar ? (size_t)(bar - p) : strlen(p),
				name, i) == -1)
				return -1;
			if (bar == NULL)
				break;
		}
	}
	return 0;
}

static void
t_end(struct tsession *t)
{
	if (t->s != NULL)
		smtp_session_free(t->s);
	event_base_loop(t->base, EVLOOP_NONBLOCK);
	close(t->client);
	if (t->wl)
		workers_loop_free(t->wl);
	event_base_free(t->base);
}

/* A dialog on a fresh session of kind; 0 if every reply matched. */
static int
t_run(const char *name, enum listen_kind kind, const struct step *steps)
{
	const struct conf *old = conf_current();
	struct tsession t;
	int rc = -1;

	conf_publish(t_conf());
	if (t_start(&t, kind, NULL) == 0)
		rc = t_dialog(&t, name, steps);
	if (t.attached != 1)
		rc = -1;
	t_end(&t);
	if (t.detached != 1) /* freed once, whatever ended it */
		rc = -1;
	conf_publish(old);
	return rc;
}

#define GREETING "220 mx.test ESMTP postern"

UNIT_TEST(test_session_before_ehlo)
{
	static const struct step d[] = {
		{ NULL, GREETING },
		{ "MAIL FROM:<>\r\n", "503 5.5.1 Send EHLO first" },
		{ "STARTTLS\r\n", "503 5.5.1 Send EHLO first" },
		{ "AUTH PLAIN\r\n", "503 5.5.1 Send EHLO first" },
		{ "RCPT TO:<a@example.org>\r\n", "503 5.5.1 Send MAIL first" },
		{ "NOOP\r\n", "250 2.0.0 Ok" },
		{ "QUIT\r\n", "221 2.0.0 Bye|CLOSED" },
		{ NULL, NULL },
	};

	CHECK(t_run("before_ehlo", LISTEN_SMTP, d) == 0);
}

UNIT_TEST(test_session_basic_commands)
{
	static const struct step d[] = {
		{ NULL, GREETING },
		{ "NOOP\r\n", "250 2.0.0 Ok" },
		{ "HELP\r\n", "214-2.0.0 Commands: EHLO HELO STARTTLS AUTH" },
		{ "VRFY postmaster\r\n", "252 2.5.2 Cannot VRFY user" },
		{ "FOO bar\r\n", "500 5.5.2 Command unrecognized" },
		{ "EHLO\r\n", "501 5.5.4 Syntax: EHLO hostname" },
		{ "EHLO client.test\r\n",
		    "250-mx.test\r\n250-PIPELINING\r\n250-SIZE " },
		{ "HELO client.test\r\n", "250 mx.test" },
		{ "rset\r\n", "250 2.0.0 Ok" },
		{ "QUIT\r\n", "221 2.0.0 Bye|CLOSED" },
		{ NULL, NULL },
	};

	CHECK(t_run("basic", LISTEN_SMTP, d) == 0);
}

UNIT_TEST(test_session_transaction_rules)
{
	static const struct step d[] = {
		{ NULL, GREETING },
		{ "EHLO client.test\r\n", "250-mx.test" },
		{ "MAIL FROM:<> SIZE=10\r\n", "250 2.1.0 Ok" },
		{ "MAIL FROM:<>\r\n",
		    "503 5.5.1 Not allowed inside a transaction" },
		/* the smtp listener without a relay network relays nothing */
		{ "RCPT TO:<b@example.org>\r\n",
		    "554 5.7.1 <b@example.org>: Relay access denied" },
		{ "DATA\r\n", "554 5.5.1 No valid recipients" },
		{ "RSET\r\n", "250 2.0.0 Ok" },
		{ "RCPT TO:<b@example.org>\r\n", "503 5.5.1 Send MAIL first" },
		{ NULL, NULL },
	};

	CHECK(t_run("transaction", LISTEN_SMTP, d) == 0);
}

UNIT_TEST(test_session_pipelining)
{
	/* one write, every reply in order */
	static const struct step d[] = {
		{ NULL, GREETING },
		{ "EHLO client.test\r\nMAIL FROM:<>\r\nNOOP\r\nRSET\r\n"
		  "RCPT TO:<b@example.org>\r\nQUIT\r\n",
		    "250-mx.test|250 2.1.0 Ok|250 2.0.0 Ok|250 2.0.0 Ok|"
		    "503 5.5.1 Send MAIL first|221 2.0.0 Bye|CLOSED" },
		{ NULL, NULL },
	};

	CHECK(t_run("pipelining", LISTEN_SMTP, d) == 0);
}

UNIT_TEST(test_session_too_many_errors)
{
	static const struct step d[] = {
		{ NULL, GREETING },
		{ "X1\r\nX2\r\nX3\r\nX4\r\nX5\r\nNOOP\r\n",
		    "500 5.5.2|500 5.5.2|500 5.5.2|500 5.5.2|500 5.5.2 Command "
		    "unrecognized|421 4.7.0 mx.test Too many errors, "
		    "closing|CLOSED" },
		{ NULL, NULL },
	};

	CHECK(t_run("errors", LISTEN_SMTP, d) == 0);
}

UNIT_TEST(test_session_long_lines)
{
	static char longline[3000], withnul[] = "NOOP x\0y\r\n";
	static struct step d[] = {
		{ NULL, GREETING },
		{ longline, "500 5.5.2 Line too long or holds NUL" },
		{ "NOOP\r\n", "250 2.0.0 Ok" }, /* still in step */
		{ NULL, NULL },
	};
	const struct conf *old = conf_current();
	struct tsession t;

	memset(longline, 'x', sizeof(longline) - 3);
	memcpy(longline, "NOOP ", 5);
	memcpy(longline + sizeof(longline) - 3, "\r\n", 3);
	CHECK(t_run("long", LISTEN_SMTP, d) == 0);

	/* a NUL inside a line: written by hand, strlen() stops at it */
	conf_publish(t_conf());
	CHECK(t_start(&t, LISTEN_SMTP, NULL) == 0);
	CHECK(T_EXPECT(&t, GREETING, "nul", 0) == 0);
	CHECK(write(t.client, withnul, sizeof(withnul) - 1) ==
	      (ssize_t)sizeof(withnul) - 1);
	CHECK(T_EXPECT(&t, "500 5.5.2 Line too long or holds NUL", "nul", 1) ==
	      0);
	t_end(&t);
	conf_publish(old);
}

UNIT_TEST(test_session_bdat_without_transaction)
{
	/* the refused chunk is read and dropped, never taken as commands */
	static const struct step d[] = {
		{ NULL, GREETING },
		{ "EHLO client.test\r\n", "250-mx.test" },
		{ "BDAT 6\r\nNOOP\r\nNOOP\r\n",
		    "503 5.5.1 Send MAIL first|250 2.0.0 Ok" },
		{ "BDAT x\r\n", "503 5.5.1 Send MAIL first" },
		/* no recipient: counted, not kept, then refused */
		{ "MAIL FROM:<>\r\nBDAT 3 LAST\r\nabc",
		    "250 2.1.0 Ok|554 5.5.1 No valid recipients" },
		{ "NOOP\r\n", "250 2.0.0 Ok" },
		{ NULL, NULL },
	};

	CHECK(t_run("bdat", LISTEN_SMTP, d) == 0);
}

UNIT_TEST(test_session_submission_rules)
{
	static const struct step d[] = {
		{ NULL, GREETING },
		{ "MAIL FROM:<a@example.org>\r\n",
		    "530 5.7.0 Must issue a STARTTLS command first" },
		{ "EHLO client.test\r\n", "250-mx.test" },
		{ "AUTH PLAIN\r\n", "538 5.7.11 Encryption required" },
		{ "STARTTLS\r\n", "454 4.7.0 TLS not available" },
		{ "NOOP\r\n", "250 2.0.0 Ok" },
		{ NULL, NULL },
	};
	static const struct step smtp[] = {
		{ NULL, GREETING },
		{ "EHLO client.test\r\n", "250-mx.test" },
		{ "AUTH PLAIN\r\n",
		    "503 5.5.1 AUTH is not offered on this port" },
		{ NULL, NULL },
	};

	CHECK(t_run("submission", LISTEN_SUBMISSION, d) == 0);
	CHECK(t_run("auth_on_smtp", LISTEN_SMTP, smtp) == 0);
}

UNIT_TEST(test_session_mail_needs_auth)
{
	/* submission after TLS (the flag set by hand: the test has no
	 * certificate): MAIL needs a login, AUTH's exchanges that need
	 * no worker */
	static const struct step d[] = {
		{ "EHLO client.test\r\n", "250-mx.test" },
		{ "MAIL FROM:<a@example.org>\r\n",
		    "530 5.7.0 Authentication required" },
		{ "AUTH CRAM-MD5\r\n",
		    "504 5.5.4 Unrecognized authentication type" },
		{ "AUTH PLAIN\r\n", "334 " },
		{ "*\r\n", "501 5.7.0 Authentication cancelled" },
		{ "AUTH PLAIN !!!!\r\n",
		    "501 5.5.2 Cannot decode the response: it is not base64" },
		{ "AUTH LOGIN\r\n", "334 VXNlcm5hbWU6" },
		{ "*\r\n", "501 5.7.0 Authentication cancelled" },
		{ "NOOP\r\n", "250 2.0.0 Ok" },
		{ NULL, NULL },
	};
	const struct conf *old = conf_current();
	struct tsession t;
	int sawauth;

	conf_publish(t_conf());
	CHECK(t_start(&t, LISTEN_SUBMISSION, NULL) == 0);
	CHECK(T_EXPECT(&t, GREETING, "auth", 0) == 0);
	t.s->flags |= SF_TLS;
	CHECK(t_dialog(&t, "auth", d) == 0);
	t_end(&t);

	/* EHLO offers AUTH there, and no STARTTLS */
	CHECK(t_start(&t, LISTEN_SUBMISSION, NULL) == 0);
	CHECK(T_EXPECT(&t, GREETING, "ehlo", 0) == 0);
	t.s->flags |= SF_TLS;
	CHECK(write(t.client, "EHLO c.test\r\n", 13) == 13);
	t_pump(&t, t_has_reply);
	sawauth = strstr(t.in, "250-AUTH PLAIN LOGIN") != NULL;
	CHECK(sawauth);
	CHECK(strstr(t.in, "STARTTLS") == NULL);
	t_end(&t);
	conf_publish(old);
}

UNIT_TEST(test_session_talked_first)
{
	const struct conf *old = conf_current();
	struct tsession t;

	conf_publish(t_conf());
	CHECK(t_start(&t, LISTEN_SMTP, "EHLO early.test\r\n") == 0);
	CHECK(
	    T_EXPECT(&t, "554 5.5.1 mx.test Protocol error", "early", 0) == 0);
	CHECK(T_EXPECT(&t, "CLOSED", "early", 1) == 0);
	t_end(&t);
	CHECK(t.detached == 1);
	conf_publish(old);
}

UNIT_TEST(test_session_shutdown)
{
	static const struct step d[] = {
		{ NULL, GREETING },
		{ "EHLO client.test\r\n", "250-mx.test" },
		{ NULL, NULL },
	};
	static const struct step stopping[] = {
		{ "NOOP\r\n",
		    "421 4.3.2 mx.test Service shutting down|CLOSED" },
		{ NULL, NULL },
	};
	static const struct step quit[] = {
		{ "QUIT\r\n", "221 2.0.0 Bye|CLOSED" },
		{ NULL, NULL },
	};
	const struct conf *old = conf_current();
	struct tsession t;

	conf_publish(t_conf());
	/* the loop stops: any command but QUIT is answered 421 */
	CHECK(t_start(&t, LISTEN_SMTP, NULL) == 0);
	CHECK(t_dialog(&t, "stopping", d) == 0);
	t.stopping = 1;
	CHECK(t_dialog(&t, "stopping", stopping) == 0);
	t_end(&t);

	CHECK(t_start(&t, LISTEN_SMTP, NULL) == 0);
	CHECK(t_dialog(&t, "quit", d) == 0);
	t.stopping = 1;
	CHECK(t_dialog(&t, "quit", quit) == 0);
	t_end(&t);

	/* an idle session told to shut down: 421 at once */
	CHECK(t_start(&t, LISTEN_SMTP, NULL) == 0);
	CHECK(t_dialog(&t, "idle", d) == 0);
	smtp_session_shutdown(t.s);
	CHECK(T_EXPECT(&t, "421 4.3.2 mx.test Service shutting down", "idle",
		  1) == 0);
	CHECK(T_EXPECT(&t, "CLOSED", "idle", 2) == 0);
	t_end(&t);
	conf_publish(old);
}

UNIT_TEST(test_session_mail_params)
{
	/* a refused MAIL leaves no transaction behind */
	static const struct step d[] = {
		{ NULL, GREETING },
		{ "EHLO client.test\r\n", "250-mx.test" },
		{ "MAIL FROM:<> FOO=bar\r\n",
		    "555 5.5.4 Unsupported or bad MAIL parameter FOO" },
		{ "MAIL FROM:<> SIZE=999999999999\r\n",
		    "552 5.3.4 Message size exceeds fixed limit of" },
		{ "MAIL FROM:nobody\r\n",
		    "501 5.5.4 Syntax: MAIL FROM:<address>" },
		{ "MAIL FROM:<> BODY=8BITMIME RET=HDRS ENVID=x1\r\n",
		    "250 2.1.0 Ok" },
		{ "RCPT TO:<>\r\n", "501 5.5.4 Syntax: RCPT TO:<address>" },
		{ "BDAT\r\n",
		    "501 5.5.4 Syntax: BDAT size [LAST]|421 4.7.0 mx.test "
		    "Too many errors|CLOSED" },
		{ NULL, NULL },
	};

	CHECK(t_run("params", LISTEN_SMTP, d) == 0);
}

UNIT_TEST(test_session_relay_network_on_a_worker)
{
	/* MAIL on the smtp listener asks the store, on a worker, whether
	 * the client is in a relay network of the sender's domain */
	static const struct step d[] = {
		{ NULL, GREETING },
		{ "EHLO client.test\r\n", "250-mx.test" },
		{ "MAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@remote.test>\r\n",
		    "250 2.1.0 Ok|250 2.1.5 Ok" },
		{ "RSET\r\n", "250 2.0.0 Ok" },
		/* not a user of the domain: the network does not help */
		{ "MAIL FROM:<mallory@example.org>\r\n"
		  "RCPT TO:<bob@remote.test>\r\n",
		    "250 2.1.0 Ok|554 5.7.1 <bob@remote.test>: Relay access "
		    "denied" },
		{ "QUIT\r\n", "221 2.0.0 Bye|CLOSED" },
		{ NULL, NULL },
	};
	const struct conf *old = conf_current();
	struct store_domain dom;
	struct store *st;
	struct tsession t;
	char path[80];
	int64_t uid;

	snprintf(t_db, sizeof(t_db), "/tmp/postern-unit-session-%ld.db",
	    (long)getpid());
	st = unit_store_fresh(t_db);
	CHECK(st != NULL);
	if (st == NULL)
		return;
	CHECK(store_domain_add(st, "example.org") == 0);
	CHECK(store_domain_get(st, "example.org", &dom) == 0);
	CHECK(store_user_add(st, dom.id, "alice", "alice", &uid) == 0);
	CHECK(store_relay_add(st, dom.id, "192.0.2.0/24", 0) == 0);
	store_close(st);

	conf_publish(t_conf());
	quota_init();
	CHECK(workers_start(1, t_worker_init, t_worker_fini) == 0);
	CHECK(t_start_with(&t, LISTEN_SMTP, NULL, 1) == 0);
	CHECK(t_dialog(&t, "relay", d) == 0);
	workers_stop(); /* as the server does: then the loop's end */
	t_end(&t);
	CHECK(t.detached == 1);
	quota_free();
	conf_publish(old);
	unlink(t_db);
	snprintf(path, sizeof(path), "%s-wal", t_db);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", t_db);
	unlink(path);
}
