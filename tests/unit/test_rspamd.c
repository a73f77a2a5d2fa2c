/*
 * test_rspamd: rspamd's HTTP replies as they come off the wire, read
 * whole, then at every length short of whole (which must ask for more,
 * or fail as cut short once the connection has ended); the Subject:
 * rewrite; the fields put on top of a delivered message; the settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "inbound/rspamd.h"
#include "util/buf.h"
#include "util/conf.h"

#define OK_HEAD "HTTP/1.1 200 OK\r\nConnection: close\r\nServer: rspamd/3.4\r\n"

struct reply_case {
	const char *name;
	const char *reply;
	int rc; /* whole, with the connection ended */
	enum rspamd_action action;
	double score, required;
	const char *subject, *text, *why;
};

static const struct reply_case reply_cases[] = {
	{ "rspamd 3.4's reject, GTUBE",
	    OK_HEAD
	    "Content-Length: 226\r\nContent-Type: application/json\r\n"
	    "\r\n"
	    "{\"is_skipped\":true,\"score\":15.0,\"required_score\":15.0,"
	    "\"action\":\"reject\",\"symbols\":{\"GTUBE\":{\"name\":"
	    "\"GTUBE\",\"score\":0.0,\"metric_score\":0.0}},\"messages\":"
	    "{\"smtp_message\":\"Gtube pattern\"},\"message-id\":\"undef\","
	    "\"time_real\":0.056274}",
	    1, RSPAMD_REJECT, 15.0, 15.0, "", "Gtube pattern", "" },
	{ "rewrite subject with rspamd's subject",
	    OK_HEAD "Content-Length: 92\r\n\r\n"
		    "{\"score\":8,\"required_score\":15,\"action\":\"rewrite "
		    "subject\",\"subject\":\"*** SPAM *** hi there\"}",
	    1, RSPAMD_REWRITE_SUBJECT, 8.0, 15.0, "*** SPAM *** hi there", "",
	    "" },
	{ "no action, ended by the connection (no Content-Length)",
	    "HTTP/1.0 200 OK\r\n\r\n{\"score\":-1.5,\"action\":\"no action\"}",
	    1, RSPAMD_NO_ACTION, -1.5, 0, "", "", "" },
	{ "every known action name",
	    OK_HEAD "\r\n{\"score\":1,\"action\":\"greylist\"}", 1,
	    RSPAMD_GREYLIST, 1, 0, "", "", "" },
	{ "soft reject", OK_HEAD "\r\n{\"score\":1,\"action\":\"soft reject\"}",
	    1, RSPAMD_SOFT_REJECT, 1, 0, "", "", "" },
	{ "add header", OK_HEAD "\r\n{\"score\":6,\"action\":\"add header\"}",
	    1, RSPAMD_ADD_HEADER, 6, 0, "", "", "" },
	{ "an action postern does not know is kept as spam",
	    OK_HEAD "\r\n{\"score\":1,\"action\":\"quarantine\"}", 1,
	    RSPAMD_OTHER, 1, 0, "", "", "" },
	{ "control bytes in the texts become blanks, non-ASCII '?' in a reply",
	    OK_HEAD "\r\n{\"score\":8,\"action\":\"rewrite subject\","
		    "\"subject\":\"a\\r\\nBcc: x\\t\\u00e9\","
		    "\"messages\":{\"smtp_message\":\"no\\r\\n250 \\u00e9\"}}",
	    1, RSPAMD_REWRITE_SUBJECT, 8, 0, "a  Bcc: x \xc3\xa9", "no  250 ??",
	    "" },
	{ "a body after Content-Length is not read",
	    OK_HEAD "Content-Length: 32\r\n\r\n"
		    "{\"score\":0,\"action\":\"no action\"}garbage",
	    1, RSPAMD_NO_ACTION, 0, 0, "", "", "" },
	{ "an HTTP error",
	    "HTTP/1.1 400 Bad Request\r\nContent-Length: 2\r\n\r\n{}", -1, 0, 0,
	    0, "", "", "HTTP status 400" },
	{ "not HTTP", "SPAMD/1.1 0 EX_OK\r\n\r\n", -1, 0, 0, 0, "", "",
	    "not an HTTP reply" },
	{ "not JSON", OK_HEAD "\r\n<html>", -1, 0, 0, 0, "", "",
	    "reply is not JSON" },
	{ "no action", OK_HEAD "\r\n{\"score\":1}", -1, 0, 0, 0, "", "",
	    "reply without an action and a score" },
	{ "no score", OK_HEAD "\r\n{\"action\":\"reject\"}", -1, 0, 0, 0, "",
	    "", "reply without an action and a score" },
	{ "a score that is text",
	    OK_HEAD "\r\n{\"score\":\"9\",\"action\":\"reject\"}", -1, 0, 0, 0,
	    "", "", "reply without an action and a score" },
	{ "a score past any rspamd's",
	    OK_HEAD "\r\n{\"score\":1e300,\"action\":\"reject\"}", -1, 0, 0, 0,
	    "", "", "bad score in the reply" },
	{ "an action with a control byte",
	    OK_HEAD "\r\n{\"score\":1,\"action\":\"re\\nject\"}", -1, 0, 0, 0,
	    "", "", "bad action in the reply" },
	{ "an empty action", OK_HEAD "\r\n{\"score\":1,\"action\":\"\"}", -1, 0,
	    0, 0, "", "", "bad action in the reply" },
	{ "duplicate keys are refused, not guessed at",
	    OK_HEAD "\r\n{\"score\":1,\"action\":\"no action\","
		    "\"action\":\"reject\"}",
	    -1, 0, 0, 0, "", "", "reply is not JSON" },
	{ "a chunked body", OK_HEAD "Transfer-Encoding: chunked\r\n\r\n5\r\n{}",
	    -1, 0, 0, 0, "", "", "encoded reply body" },
	{ "a compressed body", OK_HEAD "Content-Encoding: zstd\r\n\r\nxx", -1,
	    0, 0, 0, "", "", "encoded reply body" },
	{ "two Content-Lengths that differ",
	    OK_HEAD "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{} ", -1, 0,
	    0, 0, "", "", "bad Content-Length" },
	{ "a Content-Length past the limit",
	    OK_HEAD "Content-Length: 99999999999999999999\r\n\r\n", -1, 0, 0, 0,
	    "", "", "bad Content-Length" },
	{ "a bare LF in the header", "HTTP/1.1 200 OK\nX: y\r\n\r\n{}", -1, 0,
	    0, 0, "", "", "bad line in the reply header" },
	{ "a folded header line", OK_HEAD " folded\r\n\r\n{}", -1, 0, 0, 0, "",
	    "", "folded line in the reply header" },
	{ "a body shorter than its Content-Length",
	    OK_HEAD "Content-Length: 50\r\n\r\n{\"score\":0}", -1, 0, 0, 0, "",
	    "", "reply cut short" },
	{ "nothing at all", "", -1, 0, 0, 0, "", "",
	    "connection closed without a reply" },
};

UNIT_TEST(test_rspamd_replies_are_read_whole_or_refused_with_a_reason)
{
	size_t i;

	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];
		struct rspamd_verdict v;
		char why[128];
		int rc;

		rc = rspamd_reply_parse(c->reply, strlen(c->reply), 1, &v, why,
		    sizeof(why));
		if (rc != c->rc)
			printf("  case \"%s\": rc %d, why \"%s\"\n", c->name,
			    rc, why);
		CHECK(rc == c->rc);
		if (rc == 1) {
			CHECK(v.action == c->action);
			CHECK(v.score == c->score);
			CHECK(v.required == c->required);
			CHECK_STR(v.subject, c->subject);
			CHECK_STR(v.text, c->text);
		} else {
			CHECK_STR(why, c->why);
		}
	}
}

UNIT_TEST(test_an_rspamd_reply_cut_anywhere_asks_for_more_until_the_end)
{
	size_t i, k;

	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];
		size_t n = strlen(c->reply);
		struct rspamd_verdict v;
		char why[128];
		int whole = -2;

		if (c->rc != 1)
			continue;
		for (k = 0; k <= n; k++) {
			char *p = malloc(k + 1);
			int rc;

			memcpy(p, c->reply, k);
			rc = rspamd_reply_parse(p, k, 0, &v, why, sizeof(why));
			/* once whole (Content-Length), whole for good */
			if (rc == 1 && whole == -2)
				whole = (int)k;
			if (k < n && whole == -2) {
				CHECK(rc == 0);
				CHECK(rspamd_reply_parse(p, k, 1, &v, why,
					  sizeof(why)) == -1);
			}
			if (whole != -2)
				CHECK(rc == 1 && v.action == c->action);
			free(p);
		}
		/* without a Content-Length only the end makes it whole */
		CHECK(
		    whole != -2 || strstr(c->reply, "Content-Length") == NULL);
	}
}

UNIT_TEST(test_an_rspamd_reply_past_its_limits_is_refused)
{
	size_t n = RSPAMD_REPLY_MAX + 1;
	char *big = malloc(n);
	struct rspamd_verdict v;
	char why[128];

	memset(big, 'a', n);
	memcpy(big, OK_HEAD, strlen(OK_HEAD));
	/* a header that never ends */
	CHECK(rspamd_reply_parse(big, RSPAMD_HEAD_MAX, 0, &v, why,
		  sizeof(why)) == -1);
	CHECK_STR(why, "reply header too long");
	CHECK(rspamd_reply_parse(big, RSPAMD_HEAD_MAX - 1, 0, &v, why,
		  sizeof(why)) == 0);
	CHECK(rspamd_reply_parse(big, n, 0, &v, why, sizeof(why)) == -1);
	CHECK_STR(why, "reply too long");
	free(big);
}

struct subject_case {
	const char *name, *msg, *subject, *want;
};

static const struct subject_case subject_cases[] = {
	{ "rspamd's subject replaces the old one where it is",
	    "From: a@b.test\r\nSubject: hi\r\nTo: c@d.test\r\n\r\nSubject: "
	    "body\r\n",
	    "*** SPAM *** hi",
	    "From: a@b.test\r\nSubject: *** SPAM *** hi\r\nTo: c@d.test\r\n\r\n"
	    "Subject: body\r\n" },
	{ "without rspamd's, the old value is tagged as it was written",
	    "subject :  =?utf-8?q?caf=C3=A9?=\r\n\tmore  \r\nX: y\r\n\r\nb\r\n",
	    NULL,
	    "Subject: *** SPAM *** =?utf-8?q?caf=C3=A9?=\r\n\tmore\r\nX: "
	    "y\r\n\r\nb\r\n" },
	{ "a second Subject: is dropped",
	    "Subject: one\r\nSubject: two\r\n folded\r\nX: y\r\n\r\nb\r\n",
	    "new", "Subject: new\r\nX: y\r\n\r\nb\r\n" },
	{ "no Subject: gets one at the end of the header",
	    "From: a@b.test\r\n\r\nb\r\n", NULL,
	    "From: a@b.test\r\nSubject: *** SPAM ***\r\n\r\nb\r\n" },
	{ "... where a stray continuation line cannot take it over",
	    "\tstray\r\nX: y\r\n\r\n", "s",
	    "\tstray\r\nX: y\r\nSubject: s\r\n\r\n" },
	{ "... and a header without its last CRLF gets one", "X: y", "s",
	    "X: y\r\nSubject: s\r\n" },
	{ "a bare LF ends no line (fuzz: rewriting twice added two)",
	    "r\x18(\x18\n", "s", "r\x18(\x18\n\r\nSubject: s\r\n" },
	{ "a message with no header at all", "\r\nbody\r\n", "s",
	    "Subject: s\r\n\r\nbody\r\n" },
	{ "a Subject-like name is not Subject",
	    "Subjects: x\r\nX-Subject: y\r\n\r\n", "s",
	    "Subjects: x\r\nX-Subject: y\r\nSubject: s\r\n\r\n" },
	{ "a subject that is not ASCII is encoded (RFC 2047)",
	    "Subject: x\r\n\r\n", "*** SPAM *** caf\xc3\xa9",
	    "Subject: =?UTF-8?B?KioqIFNQQU0gKioqIGNhZsOp?=\r\n\r\n" },
	{ "a long one in several encoded-words, characters whole",
	    "Subject: x\r\n\r\n",
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
	    "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9",
	    "Subject: =?UTF-8?B?w6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOpw6nDqcOp"
	    "w6nDqcOpw6k=?=\r\n =?UTF-8?B?w6k=?=\r\n\r\n" },
};

UNIT_TEST(test_rspamd_rewrite_subject_replaces_the_subject_field_only)
{
	size_t i;

	for (i = 0; i < sizeof(subject_cases) / sizeof(subject_cases[0]); i++) {
		const struct subject_case *c = &subject_cases[i];
		struct buf out;

		buf_init(&out, 1 << 20);
		CHECK(rspamd_subject_rewrite(c->msg, strlen(c->msg), c->subject,
			  &out) == 0);
		CHECK(buf_append(&out, "", 1) == 0);
		if (strcmp(out.data, c->want) != 0)
			printf("  case \"%s\"\n", c->name);
		CHECK_STR(out.data, c->want);
		buf_free(&out);
	}
}

UNIT_TEST(test_rspamd_rewrite_subject_keeps_a_long_old_subject_whole)
{
	struct buf msg, out;
	size_t vlen;
	int i;

	/* 5,000 bytes of folded Subject: more than a printf buffer */
	buf_init(&msg, 1 << 20);
	buf_init(&out, 1 << 20);
	CHECK(buf_append(&msg, "Subject: s", 10) == 0);
	for (i = 0; i < 80; i++)
		CHECK(buf_printf(&msg, "\r\n\t%060d", i) == 0);
	vlen = msg.len - 9;
	CHECK(buf_append(&msg, "\r\n\r\nbody\r\n", 10) == 0);
	CHECK(rspamd_subject_rewrite(msg.data, msg.len, NULL, &out) == 0);
	CHECK(out.len == msg.len + 13);
	CHECK(memcmp(out.data, "Subject: *** SPAM *** s\r\n\t000", 29) == 0);
	CHECK(memcmp(out.data + 22, msg.data + 9, vlen) == 0);
	buf_free(&msg);
	buf_free(&out);
}

UNIT_TEST(test_the_fields_on_top_say_what_rspamd_said_or_why_not)
{
	struct rspamd_verdict v;
	struct buf b;

	memset(&v, 0, sizeof(v));
	buf_init(&b, 4096);
	v.action = RSPAMD_ADD_HEADER;
	strcpy(v.action_name, "add header");
	v.score = 6.5;
	v.required = 15;
	CHECK(rspamd_fields(&b, RSPAMD_DONE, &v) == 0);
	CHECK(buf_append(&b, "", 1) == 0);
	CHECK_STR(b.data, "X-Spam: Yes\r\nX-Spam-Status: Yes, score=6.50 "
			  "required=15.00 action=\"add header\"\r\n");
	buf_reset(&b);
	v.action = RSPAMD_NO_ACTION;
	v.score = -0.25;
	CHECK(rspamd_fields(&b, RSPAMD_DONE, &v) == 0);
	CHECK(buf_append(&b, "", 1) == 0);
	CHECK_STR(b.data, "X-Spam-Status: No, score=-0.25 required=15.00\r\n");
	buf_reset(&b);
	CHECK(rspamd_fields(&b, RSPAMD_TIMEOUT, &v) == 0);
	CHECK(buf_append(&b, "", 1) == 0);
	CHECK_STR(b.data, "X-Spam-Status: skipped (rspamd timed out)\r\n");
	CHECK(rspamd_action_is_spam(RSPAMD_REWRITE_SUBJECT));
	CHECK(rspamd_action_is_spam(RSPAMD_OTHER));
	CHECK(!rspamd_action_is_spam(RSPAMD_NO_ACTION));
	CHECK(!rspamd_action_is_spam(RSPAMD_GREYLIST));
	buf_free(&b);
}

static int
rspamd_conf_try(const char *text, struct conf *c, char *err, size_t len)
{
	char path[64];
	FILE *f;
	int rc;

	snprintf(path, sizeof(path), "/tmp/postern-unit-rspamd-%d.conf",
	    (int)getpid());
	if ((f = fopen(path, "w")) == NULL)
		return -2;
	fputs(text, f);
	fclose(f);
	rc = conf_load(c, path, err, len);
	unlink(path);
	return rc;
}

UNIT_TEST(test_rspamd_settings_take_an_address_never_a_name_to_resolve)
{
	static const struct {
		const char *value;
		int ok;
	} cases[] = {
		{ "127.0.0.1:11333", 1 },
		{ "localhost:11333", 1 },
		{ "[::1]:11333", 1 },
		{ "", 1 },
		{ "rspamd.example.org:11333", 0 },
		{ "127.0.0.1", 0 },
		{ "127.0.0.1:0", 0 },
		{ "127.0.0.1:65536", 0 },
		{ "::1:11333", 0 },
		{ "[::1:11333", 0 },
		{ ":11333", 0 },
	};
	struct conf c;
	char text[256], err[512];
	size_t i;

	CHECK(rspamd_conf_try("[server]\n", &c, err, sizeof(err)) == 0);
	CHECK_STR(c.filter_rspamd, "");
	CHECK(c.filter_rspamd_timeout == 10);
	CHECK_STR(c.filter_rspamd_fail, "tempfail");
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[filter]\nrspamd = %s\n",
		    cases[i].value);
		CHECK((rspamd_conf_try(text, &c, err, sizeof(err)) == 0) ==
		      cases[i].ok);
		if (!cases[i].ok)
			CHECK(strstr(err, ":2:") && strstr(err, "rspamd"));
	}
	CHECK(rspamd_conf_try("[filter]\nrspamd_fail = open\n"
			      "rspamd_timeout = 2s\n",
		  &c, err, sizeof(err)) == 0);
	CHECK_STR(c.filter_rspamd_fail, "open");
	CHECK(c.filter_rspamd_timeout == 2);
	CHECK(rspamd_conf_try("[filter]\nrspamd_fail = accept\n", &c, err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, "tempfail|open") != NULL);
	CHECK(rspamd_conf_try("[filter]\nrspamd_timeout = 0\n", &c, err,
		  sizeof(err)) == -1);
}
