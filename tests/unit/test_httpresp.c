/*
 * test_httpresp: the reader of HTTP responses. Each case is the bytes a
 * server sends; it is read whole, then split at every position, and
 * must give the same status, body and error every time.
 */
#include <stdlib.h>

#include "unit.h"
#include "util/httpresp.h"

#define RAW(s) s, sizeof(s) - 1

struct hr_case {
	const char *label;
	const char *in;
	size_t len;
	size_t max_body;
	int eof;	   /* the connection ends after the bytes */
	int rc;		   /* 1 complete, 0 more needed, -1 refused */
	int status;	   /* rc 1 */
	const char *body;  /* rc 1 */
	const char *ctype; /* rc 1 */
	const char *error; /* rc -1 */
};

static const struct hr_case hr_cases[] = {
	{ "a body by Content-Length is read",
	    RAW("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
		"Content-Length: 5\r\n\r\nhello"),
	    100, 0, 1, 200, "hello", "text/plain", NULL },
	{ "bytes after the Content-Length are ignored",
	    RAW("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiEXTRA"), 100, 0,
	    1, 200, "hi", "", NULL },
	{ "a chunked body is joined",
	    RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5\r\nhello\r\n7;ext=1\r\n, world\r\n0\r\nX-T: 1\r\n\r\n"),
	    100, 0, 1, 200, "hello, world", "", NULL },
	{ "a body to the end of the connection is read at the end",
	    RAW("HTTP/1.0 200 OK\nContent-Type: application/json\n\n{}"), 100,
	    1, 1, 200, "{}", "application/json", NULL },
	{ "a body to the end is not complete before the end",
	    RAW("HTTP/1.0 200 OK\r\n\r\n{}"), 100, 0, 0, 0, NULL, NULL, NULL },
	{ "a 204 has no body", RAW("HTTP/1.1 204 No Content\r\n\r\n"), 100, 0,
	    1, 204, "", "", NULL },
	{ "a 100 Continue is skipped",
	    RAW("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 404 Not Found\r\n"
		"Content-Length: 0\r\n\r\n"),
	    100, 0, 1, 404, "", "", NULL },
	{ "a redirect is a status like any other",
	    RAW("HTTP/1.1 301 Moved\r\nLocation: http://evil/\r\n"
		"Content-Length: 0\r\n\r\n"),
	    100, 0, 1, 301, "", "", NULL },
	{ "a status line without a reason is accepted",
	    RAW("HTTP/1.1 200\r\nContent-Length: 0\r\n\r\n"), 100, 0, 1, 200,
	    "", "", NULL },
	{ "a body longer than max_body by Content-Length is refused",
	    RAW("HTTP/1.1 200 OK\r\nContent-Length: 11\r\n\r\n"), 10, 0, -1, 0,
	    NULL, NULL, "body too long" },
	{ "a body longer than max_body to the end is refused",
	    RAW("HTTP/1.1 200 OK\r\n\r\n0123456789A"), 10, 0, -1, 0, NULL, NULL,
	    "body too long" },
	{ "a chunked body longer than max_body is refused",
	    RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"6\r\n012345\r\n5\r\n"),
	    10, 0, -1, 0, NULL, NULL, "body too long" },
	{ "a huge chunk size is refused",
	    RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"fffffffffffffffffff\r\n"),
	    10, 0, -1, 0, NULL, NULL, "bad chunk size" },
	{ "a chunk without its CRLF is refused",
	    RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"2\r\nabc\r\n"),
	    10, 0, -1, 0, NULL, NULL, "no CRLF after a chunk" },
	{ "a cut chunked body is refused at the end",
	    RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
		"5\r\nhel"),
	    10, 1, -1, 0, NULL, NULL,
	    "connection closed before the response ended" },
	{ "a cut Content-Length body is refused at the end",
	    RAW("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhel"), 10, 1, -1,
	    0, NULL, NULL, "connection closed before the response ended" },
	{ "not HTTP is refused", RAW("SSH-2.0-OpenSSH\r\n"), 10, 0, -1, 0, NULL,
	    NULL, "not an HTTP/1 status line" },
	{ "a status of two digits is refused", RAW("HTTP/1.1 20 OK\r\n"), 10, 0,
	    -1, 0, NULL, NULL, "bad status code" },
	{ "two different Content-Lengths are refused",
	    RAW("HTTP/1.1 200 OK\r\nContent-Length: 1\r\n"
		"Content-Length: 2\r\n\r\n"),
	    10, 0, -1, 0, NULL, NULL, "two Content-Lengths" },
	{ "a negative Content-Length is refused",
	    RAW("HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n"), 10, 0, -1, 0,
	    NULL, NULL, "bad Content-Length" },
	{ "a transfer coding other than chunked is refused",
	    RAW("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n"), 10,
	    0, -1, 0, NULL, NULL, "unsupported Transfer-Encoding" },
	{ "a folded header line is refused",
	    RAW("HTTP/1.1 200 OK\r\nX-A: 1\r\n 2\r\n"), 10, 0, -1, 0, NULL,
	    NULL, "folded header field" },
	{ "a header without a colon is refused",
	    RAW("HTTP/1.1 200 OK\r\nnocolon\r\n"), 10, 0, -1, 0, NULL, NULL,
	    "bad header field" },
	{ "a space before the colon is refused",
	    RAW("HTTP/1.1 200 OK\r\nContent-Length : 1\r\n"), 10, 0, -1, 0,
	    NULL, NULL, "bad header field name" },
	{ "a NUL in a header is refused", RAW("HTTP/1.1 200 OK\r\nX: a\0b\r\n"),
	    10, 0, -1, 0, NULL, NULL, "NUL in a line" },
	{ "a bare CR is refused", RAW("HTTP/1.1 200 OK\rX: 1\r\n"), 10, 0, -1,
	    0, NULL, NULL, "bare CR in a line" },
	{ "a cut header section is refused at the end",
	    RAW("HTTP/1.1 200 OK\r\nContent-Le"), 10, 1, -1, 0, NULL, NULL,
	    "connection closed before the response ended" },
};

struct hr_result {
	int rc, status;
	char body[256];
	char ctype[HTTPRESP_CTYPE_MAX];
	const char *error;
};

/* Feed p in pieces ending at cut (0: whole), then the end if eof. */
static void
hr_run(const struct hr_case *c, size_t cut, struct hr_result *res)
{
	struct httpresp r;

	memset(res, 0, sizeof(*res));
	httpresp_init(&r, c->max_body);
	if (cut > 0)
		res->rc = httpresp_feed(&r, c->in, cut);
	if (res->rc == 0)
		res->rc = httpresp_feed(&r, c->in + cut, c->len - cut);
	if (res->rc == 0 && c->eof)
		res->rc = httpresp_eof(&r);
	res->status = r.status;
	res->error = r.error;
	if (res->rc == 1) {
		snprintf(res->body, sizeof(res->body), "%s", r.body.data);
		snprintf(res->ctype, sizeof(res->ctype), "%s", r.content_type);
	}
	httpresp_free(&r);
}

UNIT_TEST(test_http_responses_read_the_same_however_they_are_split)
{
	size_t i, cut;

	for (i = 0; i < sizeof(hr_cases) / sizeof(hr_cases[0]); i++) {
		const struct hr_case *c = &hr_cases[i];

		for (cut = 0; cut < c->len; cut++) {
			struct hr_result res;

			unit_failed_now = 0;
			hr_run(c, cut, &res);
			CHECK(res.rc == c->rc);
			if (c->rc == 1) {
				CHECK(res.status == c->status);
				CHECK_STR(res.body, c->body);
				CHECK_STR(res.ctype, c->ctype);
			}
			if (c->rc == -1)
				CHECK_STR(res.error, c->error);
			if (unit_failed_now) {
				printf("  case: %s (cut %zu)\n", c->label, cut);
				return;
			}
		}
	}
}

UNIT_TEST(test_a_header_line_past_the_limit_is_refused)
{
	struct httpresp r;
	char *big = malloc(HTTPRESP_LINE_MAX + 64);
	size_t n;

	memcpy(big, "HTTP/1.1 200 OK\r\nX: ", 20);
	memset(big + 20, 'a', HTTPRESP_LINE_MAX);
	n = 20 + HTTPRESP_LINE_MAX;
	httpresp_init(&r, 10);
	CHECK(httpresp_feed(&r, big, n) == -1);
	CHECK_STR(r.error, "line too long");
	httpresp_free(&r);
	free(big);
}

UNIT_TEST(test_too_many_header_fields_are_refused)
{
	struct httpresp r;
	int i, rc = 0;

	httpresp_init(&r, 10);
	rc = httpresp_feed(&r, RAW("HTTP/1.1 200 OK\r\n"));
	for (i = 0; i <= HTTPRESP_HEADERS_MAX && rc == 0; i++)
		rc = httpresp_feed(&r, RAW("X-A: 1\r\n"));
	CHECK(rc == -1);
	CHECK_STR(r.error, "too many header fields");
	httpresp_free(&r);
}

UNIT_TEST(test_an_empty_body_is_an_empty_string)
{
	struct httpresp r;

	httpresp_init(&r, 0);
	CHECK(httpresp_feed(&r,
		  RAW("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")) == 1);
	CHECK(r.body.data != NULL && r.body.len == 0 && r.body.data[0] == 0);
	httpresp_free(&r);
}
