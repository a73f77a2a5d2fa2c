/*
 * test_client: the outbound client in LMTP mode (RFC 2033) against a
 * scripted server on a UNIX socket, run by a thread of the test: LHLO,
 * ORCPT when DSN is offered, the copy's header lines before the message,
 * and one reply per accepted recipient after the final dot.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <event2/event.h>

#include "unit.h"
#include "delivery/client.h"

/* What the server answers: a reply (CRLF lines) to each line it reads
 * that starts with want, in order; after the data's final dot, the
 * entry whose want is "." */
struct script_step {
	const char *want, *reply;
};

struct fake {
	int lfd;
	char path[108];
	const struct script_step *steps;
	int nsteps;
	char got[8192]; /* every line the client sent, joined by \n */
	size_t gotlen;
	int ok; /* each line matched its step */
	pthread_t th;
};

static void
fake_send(int fd, const char *s)
{
	size_t n = strlen(s), off = 0;
	ssize_t w;

	while (off < n && (w = write(fd, s + off, n - off)) > 0)
		off += (size_t)w;
}

static void *
fake_run(void *arg)
{
	struct fake *f = arg;
	char buf[4096], line[2048];
	size_t len = 0, ll = 0;
	int fd, step = 0, in_data = 0;
	ssize_t r;

	if ((fd = accept(f->lfd, NULL, NULL)) == -1)
		return NULL;
	fake_send(fd, "220 fake LMTP\r\n");
	f->ok = 1;
	while (step < f->nsteps && (r = read(fd, buf, sizeof(buf))) > 0) {
		size_t i;
		for (i = 0; i < (size_t)r && step < f->nsteps; i++) {
			if (buf[i] != '\n') {
				if (ll < sizeof(line) - 1)
					line[ll++] = buf[i];
				continue;
			}
			if (ll > 0 && line[ll - 1] == '\r')
				ll--;
			line[ll] = '\0';
			if (f->gotlen + ll + 2 < sizeof(f->got)) {
				memcpy(f->got + f->gotlen, line, ll);
				f->gotlen += ll;
				f->got[f->gotlen++] = '\n';
				f->got[f->gotlen] = '\0';
			}
			ll = 0;
			if (in_data && strcmp(line, ".") != 0)
				continue;
			if (strncmp(line, f->steps[step].want,
				strlen(f->steps[step].want)) != 0)
				f->ok = 0;
			in_data =
			    strcmp(f->steps[step].reply, "354 go\r\n") == 0;
			fake_send(fd, f->steps[step].reply);
			step++;
		}
	}
	(void)len;
	/* wait for QUIT or the close */
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	close(fd);
	return NULL;
}

static int
fake_start(struct fake *f, const struct script_step *steps, int n)
{
	struct sockaddr_un sun;

	memset(f, 0, sizeof(*f));
	f->steps = steps;
	f->nsteps = n;
	snprintf(f->path, sizeof(f->path), "/tmp/postern-unit-lmtp-%d",
	    (int)getpid());
	unlink(f->path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	if ((f->lfd = socket(AF_UNIX, SOCK_STREAM, 0)) == -1 ||
	    bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(f->lfd, 1) == -1)
		return -1;
	return pthread_create(&f->th, NULL, fake_run, f) == 0 ? 0 : -1;
}

static void
fake_end(struct fake *f)
{
	pthread_join(f->th, NULL);
	close(f->lfd);
	unlink(f->path);
}

struct run {
	struct event_base *base;
	struct dclient_txn *txn;
	int ready, done, failed, sessions;
	char error[256];
};

static void
run_cb(struct dclient *c, enum dclient_event ev, void *arg)
{
	struct run *r = arg;

	switch (ev) {
	case DC_READY:
		r->ready++;
		if (r->ready == 1)
			dclient_send(c, r->txn);
		break;
	case DC_TXN_DONE:
		r->done = 1;
		event_base_loopbreak(r->base);
		break;
	case DC_FAILED:
		r->failed = 1;
		snprintf(r->error, sizeof(r->error), "%s", dclient_error(c));
		event_base_loopbreak(r->base);
		break;
	case DC_SESSION:
		r->sessions++;
		break;
	}
}

/* One transaction over LMTP to the fake server; fills r. */
static void
run_txn(struct fake *f, struct dclient_txn *t, struct run *r)
{
	struct dclient_target tg;
	struct sockaddr_un *sun = (struct sockaddr_un *)&tg.addrs[0];
	struct dclient *c;
	struct timeval limit = { 10, 0 };

	memset(&tg, 0, sizeof(tg));
	memset(r, 0, sizeof(*r));
	sun->sun_family = AF_UNIX;
	snprintf(sun->sun_path, sizeof(sun->sun_path), "%s", f->path);
	tg.lens[0] = sizeof(*sun);
	snprintf(tg.hosts[0], sizeof(tg.hosts[0]), "unix:%s", f->path);
	tg.naddrs = 1;
	tg.lmtp = 1;
	r->base = event_base_new();
	r->txn = t;
	c = dclient_new(r->base, NULL, "mail.example.test", &tg, 0, run_cb, r);
	event_base_loopexit(r->base, &limit);
	event_base_dispatch(r->base);
	dclient_close(c);
	event_base_free(r->base);
}

UNIT_TEST(test_lmtp_reads_one_reply_per_accepted_recipient_after_the_dot)
{
	static const struct script_step steps[] = {
		{ "LHLO mail.example.test",
		    "250-fake\r\n250-PIPELINING\r\n250-DSN\r\n250 8BITMIME\r\n" },
		{ "MAIL FROM:<alice@example.org>", "250 2.1.0 OK\r\n" },
		{ "RCPT TO:<bob@example.org> ORCPT=rfc822;robert+2Bx@example.net",
		    "250 2.1.5 OK\r\n" },
		{ "RCPT TO:<nobody@example.org>",
		    "550 5.1.1 <nobody@example.org> User doesn't exist\r\n" },
		{ "RCPT TO:<carol@example.org>", "250 2.1.5 OK\r\n" },
		{ "DATA", "354 go\r\n" },
		{ ".", "250 2.0.0 <bob@example.org> Saved\r\n"
		       "552-5.2.2 <carol@example.org> Quota\r\n552 5.2.2 "
		       "exceeded\r\n" },
	};
	const char *rcpts[] = { "bob@example.org", "nobody@example.org",
		"carol@example.org" };
	const char *orcpts[] = { "robert+x@example.net", NULL, NULL };
	int codes[3];
	char texts[3][REPLY_TEXT_MAX];
	struct dclient_txn t;
	struct fake f;
	struct run r;

	CHECK(fake_start(&f, steps, 7) == 0);
	memset(&t, 0, sizeof(t));
	t.from = "alice@example.org";
	t.nrcpt = 3;
	t.rcpts = rcpts;
	t.orcpts = orcpts;
	t.prefix = "X-Original-To: robert+x@example.net\r\n";
	t.prefixlen = strlen(t.prefix);
	t.data = "Subject: hi\r\n\r\n.leading dot\r\n";
	t.len = strlen(t.data);
	t.rcpt_code = codes;
	t.rcpt_text = texts;
	run_txn(&f, &t, &r);
	fake_end(&f);
	CHECK(r.done == 1 && r.failed == 0);
	CHECK(f.ok == 1);
	CHECK(codes[0] == 250 && codes[1] == 550 && codes[2] == 552);
	CHECK(strstr(texts[0], "Saved") != NULL);
	CHECK(strstr(texts[1], "5.1.1") != NULL);
	CHECK_STR(texts[2], "552 5.2.2 <carol@example.org> Quota 552 5.2.2 "
			    "exceeded");
	/* the copy's own header first, the message dot-stuffed */
	CHECK(
	    strstr(f.got, "DATA\nX-Original-To: robert+x@example.net\nSubject: "
			  "hi\n\n..leading dot\n.\n") != NULL);
}

UNIT_TEST(test_lmtp_without_dsn_sends_no_orcpt_and_data_refused_is_shared)
{
	static const struct script_step steps[] = {
		{ "LHLO", "250-fake\r\n250 PIPELINING\r\n" },
		{ "MAIL FROM:<>", "250 OK\r\n" },
		{ "RCPT TO:<bob@example.org>", "250 OK\r\n" },
		{ "DATA", "451 4.3.0 not now\r\n" },
		{ "RSET", "250 OK\r\n" },
	};
	const char *rcpts[] = { "bob@example.org" };
	const char *orcpts[] = { "robert@example.net" };
	int codes[1];
	char texts[1][REPLY_TEXT_MAX];
	struct dclient_txn t;
	struct fake f;
	struct run r;

	CHECK(fake_start(&f, steps, 5) == 0);
	memset(&t, 0, sizeof(t));
	t.from = "";
	t.nrcpt = 1;
	t.rcpts = rcpts;
	t.orcpts = orcpts;
	t.data = "Subject: x\r\n\r\nbody\r\n";
	t.len = strlen(t.data);
	t.rcpt_code = codes;
	t.rcpt_text = texts;
	run_txn(&f, &t, &r);
	fake_end(&f);
	CHECK(r.done == 1);
	CHECK(codes[0] == 451);
	/* no ORCPT: the server did not offer DSN */
	CHECK(strstr(f.got, "RCPT TO:<bob@example.org>\nDATA") != NULL);
}

UNIT_TEST(test_lmtp_354_without_recipients_fails_the_connection)
{
	static const struct script_step steps[] = {
		{ "LHLO", "250-fake\r\n250 PIPELINING\r\n" },
		{ "MAIL", "250 OK\r\n" },
		{ "RCPT", "550 5.1.1 no\r\n" },
		/* RFC 2033 4.2 says 503 here: the count of replies after a
		 * dot would be unknown, so the client gives up */
		{ "DATA", "354 go\r\n" },
	};
	const char *rcpts[] = { "bob@example.org" };
	int codes[1];
	char texts[1][REPLY_TEXT_MAX];
	struct dclient_txn t;
	struct fake f;
	struct run r;

	CHECK(fake_start(&f, steps, 4) == 0);
	memset(&t, 0, sizeof(t));
	t.from = "alice@example.org";
	t.nrcpt = 1;
	t.rcpts = rcpts;
	t.data = "Subject: x\r\n\r\nbody\r\n";
	t.len = strlen(t.data);
	t.rcpt_code = codes;
	t.rcpt_text = texts;
	run_txn(&f, &t, &r);
	/* the fake waits for a close: the client is gone */
	fake_end(&f);
	CHECK(r.failed == 1 && r.done == 0);
	CHECK(strstr(r.error, "354 to DATA without recipients") != NULL);
	CHECK(codes[0] == 550);
}
