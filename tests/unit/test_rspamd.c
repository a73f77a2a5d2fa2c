/*
 * test_rspamd: rspamd's replies (the JSON of a 200: the HTTP is httpc's,
 * tested in test_httpc.c), the Subject: rewrite, the fields put on top of
 * a delivered message, the settings.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "unit.h"
#include "inbound/rspamd.h"
#include "util/buf.h"
#include "util/conf.h"

struct reply_case {
	const char *name;
	const char *body;
	int rc;
	enum rspamd_action action;
	double score, required;
	const char *subject, *text, *why;
};

static const struct reply_case reply_cases[] = {
	{ "rspamd 3.4's reject, GTUBE",
	    "{\"is_skipped\":true,\"score\":15.0,\"required_score\":15.0,"
	    "\"action\":\"reject\",\"symbols\":{\"GTUBE\":{\"name\":"
	    "\"GTUBE\",\"score\":0.0,\"metric_score\":0.0}},\"messages\":"
	    "{\"smtp_message\":\"Gtube pattern\"},\"message-id\":\"undef\","
	    "\"time_real\":0.056274}",
	    0, RSPAMD_REJECT, 15.0, 15.0, "", "Gtube pattern", "" },
	{ "rewrite subject with rspamd's subject",
	    "{\"score\":8,\"required_score\":15,\"action\":\"rewrite "
	    "subject\",\"subject\":\"*** SPAM *** hi there\"}",
	    0, RSPAMD_REWRITE_SUBJECT, 8.0, 15.0, "*** SPAM *** hi there", "",
	    "" },
	{ "no action, no required score",
	    "{\"score\":-1.5,\"action\":\"no action\"}", 0, RSPAMD_NO_ACTION,
	    -1.5, 0, "", "", "" },
	{ "greylist", "{\"score\":1,\"action\":\"greylist\"}", 0,
	    RSPAMD_GREYLIST, 1, 0, "", "", "" },
	{ "soft reject", "{\"score\":1,\"action\":\"soft reject\"}", 0,
	    RSPAMD_SOFT_REJECT, 1, 0, "", "", "" },
	{ "add header", "{\"score\":6,\"action\":\"add header\"}", 0,
	    RSPAMD_ADD_HEADER, 6, 0, "", "", "" },
	{ "an action postern does not know is kept as spam",
	    "{\"score\":1,\"action\":\"quarantine\"}", 0, RSPAMD_OTHER, 1, 0,
	    "", "", "" },
	{ "control bytes in the texts become blanks, non-ASCII '?' in a reply",
	    "{\"score\":8,\"action\":\"rewrite subject\","
	    "\"subject\":\"a\\r\\nBcc: x\\t\\u00e9\","
	    "\"messages\":{\"smtp_message\":\"no\\r\\n250 \\u00e9\"}}",
	    0, RSPAMD_REWRITE_SUBJECT, 8, 0, "a  Bcc: x \xc3\xa9", "no  250 ??",
	    "" },
	{ "texts that are not strings are left out",
	    "{\"score\":8,\"action\":\"rewrite subject\",\"subject\":1,"
	    "\"messages\":[\"x\"]}",
	    0, RSPAMD_REWRITE_SUBJECT, 8, 0, "", "", "" },
	{ "not JSON", "<html>", -1, 0, 0, 0, "", "", "reply is not JSON" },
	{ "nothing", "", -1, 0, 0, 0, "", "", "reply is not JSON" },
	{ "not an object", "[1]", -1, 0, 0, 0, "", "",
	    "reply without an action and a score" },
	{ "no action", "{\"score\":1}", -1, 0, 0, 0, "", "",
	    "reply without an action and a score" },
	{ "no score", "{\"action\":\"reject\"}", -1, 0, 0, 0, "", "",
	    "reply without an action and a score" },
	{ "a score that is text", "{\"score\":\"9\",\"action\":\"reject\"}", -1,
	    0, 0, 0, "", "", "reply without an action and a score" },
	{ "a score past any rspamd's",
	    "{\"score\":1e300,\"action\":\"reject\"}", -1, 0, 0, 0, "", "",
	    "bad score in the reply" },
	{ "an action with a control byte",
	    "{\"score\":1,\"action\":\"re\\nject\"}", -1, 0, 0, 0, "", "",
	    "bad action in the reply" },
	{ "an action past 31 bytes",
	    "{\"score\":1,\"action\":\"0123456789012345678901234567890123\"}",
	    -1, 0, 0, 0, "", "", "bad action in the reply" },
	{ "an empty action", "{\"score\":1,\"action\":\"\"}", -1, 0, 0, 0, "",
	    "", "bad action in the reply" },
	{ "duplicate keys are refused, not guessed at",
	    "{\"score\":1,\"action\":\"no action\",\"action\":\"reject\"}", -1,
	    0, 0, 0, "", "", "reply is not JSON" },
	{ "a NUL in a string is refused",
	    "{\"score\":1,\"action\":\"no\\u0000action\"}", -1, 0, 0, 0, "", "",
	    "reply is not JSON" },
};

UNIT_TEST(test_rspamd_replies_give_a_verdict_or_a_reason)
{
	size_t i;

	for (i = 0; i < sizeof(reply_cases) / sizeof(reply_cases[0]); i++) {
		const struct reply_case *c = &reply_cases[i];
		struct rspamd_verdict v;
		char why[128];
		int rc;

		rc = rspamd_reply_parse(c->body, strlen(c->body), &v, why,
		    sizeof(why));
		if (rc != c->rc)
			printf("  case \"%s\": rc %d, why \"%s\"\n", c->name,
			    rc, why);
		CHECK(rc == c->rc);
		if (rc == 0) {
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

UNIT_TEST(test_an_rspamd_reply_past_its_limit_is_refused)
{
	size_t n = RSPAMD_REPLY_MAX + 1;
	char *big = malloc(n);
	struct rspamd_verdict v;
	static const char v1[] = "{\"score\":1,\"action\":\"reject\"}";
	char why[128];

	memset(big, ' ', n);
	memcpy(big, v1, sizeof(v1) - 1);
	CHECK(rspamd_reply_parse(big, n - 1, &v, why, sizeof(why)) == 0);
	CHECK(rspamd_reply_parse(big, n, &v, why, sizeof(why)) == -1);
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
