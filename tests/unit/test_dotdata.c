/*
 * test_dotdata: the DATA and BDAT readers. Each case is a byte string as
 * the client sends it; it is read whole, then split at every position,
 * and must give the same end, error and message every time.
 */
#include <stdlib.h>

#include "unit.h"
#include "smtp/dotdata.h"
#include "util/buf.h"

#define RAW(s) s, sizeof(s) - 1
#define BIG ((size_t)1 << 20)

struct dd_result {
	int end;
	size_t used; /* bytes consumed, up to the final dot's line */
	enum dot_error error;
	char out[512];
	size_t out_len;
};

/* DATA, in chunks: cut[] gives where each chunk ends (ncut of them). */
static void
dd_scan(const char *p, size_t n, const size_t *cut, int ncut, size_t line_max,
    size_t size_max, struct dd_result *res)
{
	struct dot_reader r;
	struct buf b;
	size_t off = 0;
	int k;

	buf_init(&b, BIG);
	dot_init(&r, &b, line_max, size_max);
	res->end = 0;
	for (k = 0; k <= ncut && !res->end; k++) {
		size_t stop = k < ncut ? cut[k] : n;
		off += dot_scan(&r, p + off, stop - off, &res->end);
	}
	res->used = off;
	res->error = r.error;
	res->out_len = b.len < sizeof(res->out) ? b.len : sizeof(res->out);
	if (res->out_len)
		memcpy(res->out, b.data, res->out_len);
	buf_free(&b);
}

/* BDAT: the chunks as dot_raw calls, then LAST. */
static void
dd_raw(const char *p, size_t n, const size_t *cut, int ncut, size_t line_max,
    size_t size_max, struct dd_result *res)
{
	struct dot_reader r;
	struct buf b;
	size_t off = 0;
	int k;

	buf_init(&b, BIG);
	dot_init(&r, &b, line_max, size_max);
	for (k = 0; k <= ncut; k++) {
		size_t stop = k < ncut ? cut[k] : n;
		dot_raw(&r, p + off, stop - off);
		off = stop;
	}
	dot_raw_end(&r);
	res->end = 1;
	res->used = n;
	res->error = r.error;
	res->out_len = b.len < sizeof(res->out) ? b.len : sizeof(res->out);
	if (res->out_len)
		memcpy(res->out, b.data, res->out_len);
	buf_free(&b);
}

static int
dd_same(const struct dd_result *a, const struct dd_result *b)
{
	if (a->end != b->end || a->used != b->used || a->error != b->error)
		return 0;
	return a->error != DOT_OK ||
	       (a->out_len == b->out_len &&
		   memcmp(a->out, b->out, a->out_len) == 0);
}

static const char *const dot_error_names[] = { "DOT_OK", "DOT_TOO_BIG",
	"DOT_BARE_NL", "DOT_LONG_LINE", "DOT_NUL" };

static const struct {
	const char *label;
	const char *in;
	size_t len;
	size_t used; /* 0: no end */
	enum dot_error error;
	const char *want; /* the message when error is DOT_OK */
} data_cases[] = {
	{ "a message", RAW("Subject: a\r\n\r\nhello\r\n.\r\n"), 24, DOT_OK,
	    "Subject: a\r\n\r\nhello\r\n" },
	{ "the empty message", RAW(".\r\n"), 3, DOT_OK, "" },
	{ "stuffed dots", RAW("..\r\n..x\r\n...\r\n.\r\n"), 17, DOT_OK,
	    ".\r\n.x\r\n..\r\n" },
	{ "a dot inside a line", RAW("a.b\r\n.\r\n"), 8, DOT_OK, "a.b\r\n" },
	{ "the next command is not read", RAW("a\r\n.\r\nQUIT\r\n"), 6, DOT_OK,
	    "a\r\n" },
	{ "an empty line before the end", RAW("a\r\n\r\n.\r\n"), 8, DOT_OK,
	    "a\r\n\r\n" },
	{ "not ended yet", RAW("a\r\n.\r"), 0, DOT_OK, NULL },
	{ "not ended without the dot", RAW("a\r\n\r\n"), 0, DOT_OK, NULL },
	{ "smuggling with \\n.\\n",
	    RAW("a\n.\nMAIL FROM:<m@evil.example>\r\n.\r\n"), 35, DOT_BARE_NL,
	    NULL },
	{ "smuggling with \\r.\\r",
	    RAW("a\r.\rMAIL FROM:<m@evil.example>\r\n.\r\n"), 35, DOT_BARE_NL,
	    NULL },
	{ "smuggling with \\n.\\r\\n",
	    RAW("a\n.\r\nMAIL FROM:<m@evil.example>\r\n.\r\n"), 36, DOT_BARE_NL,
	    NULL },
	{ "smuggling with \\r\\n.\\n",
	    RAW("a\r\n.\nMAIL FROM:<m@evil.example>\r\n.\r\n"), 36, DOT_BARE_NL,
	    NULL },
	{ "smuggling with \\r\\n.\\r and a byte",
	    RAW("a\r\n.\rxMAIL FROM:<m@evil.example>\r\n.\r\n"), 37,
	    DOT_BARE_NL, NULL },
	{ "a bare CR before the end", RAW("a\r\r\n.\r\n"), 7, DOT_BARE_NL,
	    NULL },
	{ "a bare LF then .CRLF does not end", RAW("\n.\r\n"), 0, DOT_BARE_NL,
	    NULL },
	{ "a NUL", RAW("a\0b\r\n.\r\n"), 8, DOT_NUL, NULL },
	{ "the first error stays", RAW("a\nb\0c\r\n.\r\n"), 10, DOT_BARE_NL,
	    NULL },
};

UNIT_TEST(test_data_ends_only_at_crlf_dot_crlf_however_it_is_split)
{
	size_t i, k;

	for (i = 0; i < sizeof(data_cases) / sizeof(data_cases[0]); i++) {
		struct dd_result whole, split;
		const char *in = data_cases[i].in;
		size_t len = data_cases[i].len;

		dd_scan(in, len, NULL, 0, 1000, BIG, &whole);
		if (whole.end != (data_cases[i].used != 0) ||
		    (whole.end && whole.used != data_cases[i].used) ||
		    whole.error != data_cases[i].error) {
			printf("  case \"%s\": end %d after %zu bytes, %s\n",
			    data_cases[i].label, whole.end, whole.used,
			    dot_error_names[whole.error]);
			unit_failed_now = 1;
			continue;
		}
		if (whole.end && data_cases[i].want != NULL &&
		    (whole.out_len != strlen(data_cases[i].want) ||
			memcmp(whole.out, data_cases[i].want, whole.out_len))) {
			printf("  case \"%s\": message \"%.*s\"\n",
			    data_cases[i].label, (int)whole.out_len, whole.out);
			unit_failed_now = 1;
		}
		/* every single cut, then one byte at a time */
		for (k = 0; k <= len; k++) {
			dd_scan(in, len, &k, 1, 1000, BIG, &split);
			if (!dd_same(&whole, &split)) {
				printf("  case \"%s\" split at %zu: end %d "
				       "after %zu bytes, %s\n",
				    data_cases[i].label, k, split.end,
				    split.used, dot_error_names[split.error]);
				unit_failed_now = 1;
			}
		}
		{
			size_t cuts[64];
			for (k = 0; k < len && k < 64; k++)
				cuts[k] = k + 1;
			dd_scan(in, len, cuts, (int)k, 1000, BIG, &split);
			CHECK(dd_same(&whole, &split));
		}
	}
}

UNIT_TEST(test_a_stuffed_dot_is_removed_once)
{
	struct dd_result res;

	dd_scan(RAW("..\r\n.\r\n"), NULL, 0, 1000, BIG, &res);
	CHECK(res.end && res.error == DOT_OK);
	CHECK(res.out_len == 3 && memcmp(res.out, ".\r\n", 3) == 0);
	dd_scan(RAW(".x\r\n.\r\n"), NULL, 0, 1000, BIG, &res);
	CHECK(res.end && res.error == DOT_OK);
	CHECK(res.out_len == 3 && memcmp(res.out, "x\r\n", 3) == 0);
}

UNIT_TEST(test_the_end_split_across_chunks_at_every_position_is_found)
{
	static const char in[] = "line\r\n..dot\r\n.\r\nRSET\r\n";
	size_t len = sizeof(in) - 1, a, b;
	struct dd_result res;

	for (a = 0; a <= len; a++)
		for (b = a; b <= len; b++) {
			size_t cut[2] = { a, b };
			dd_scan(in, len, cut, 2, 1000, BIG, &res);
			if (!res.end || res.used != 16 || res.error != DOT_OK ||
			    res.out_len != 12 ||
			    memcmp(res.out, "line\r\n.dot\r\n", 12) != 0) {
				printf("  cut at %zu and %zu: end %d after "
				       "%zu, %s\n",
				    a, b, res.end, res.used,
				    dot_error_names[res.error]);
				unit_failed_now = 1;
			}
		}
}

/*
 * line_length is "the longest line with CRLF" (src/util/conf.c, RFC
 * 5321 4.5.3.1.6: 1000 octets including CRLF). A stuffed dot is part of
 * the line as sent.
 */
static char *
line_of(size_t octets_with_crlf, size_t *len)
{
	char *p = malloc(octets_with_crlf + 3);

	memset(p, 'x', octets_with_crlf - 2);
	memcpy(p + octets_with_crlf - 2, "\r\n.\r\n", 5);
	*len = octets_with_crlf + 3;
	return p;
}

UNIT_TEST(test_a_line_of_line_max_octets_with_crlf_is_accepted)
{
	struct dd_result res;
	size_t len;
	char *p = line_of(100, &len);

	dd_scan(p, len, NULL, 0, 100, BIG, &res);
	CHECK(res.end && res.error == DOT_OK);
	dd_raw(p, len - 3, NULL, 0, 100, BIG, &res);
	CHECK(res.error == DOT_OK);
	free(p);
}

UNIT_TEST(test_a_line_of_line_max_plus_one_octets_with_crlf_is_refused)
{
	struct dd_result res;
	size_t len;
	char *p = line_of(101, &len);

	dd_scan(p, len, NULL, 0, 100, BIG, &res);
	CHECK(res.end);
	if (res.error != DOT_LONG_LINE)
		printf("  DATA: a 101-octet line under line_max 100: %s\n",
		    dot_error_names[res.error]);
	CHECK(res.error == DOT_LONG_LINE);
	dd_raw(p, len - 3, NULL, 0, 100, BIG, &res);
	if (res.error != DOT_LONG_LINE)
		printf("  BDAT: a 101-octet line under line_max 100: %s\n",
		    dot_error_names[res.error]);
	CHECK(res.error == DOT_LONG_LINE);
	free(p);
	/* two octets over is refused either way */
	p = line_of(102, &len);
	dd_scan(p, len, NULL, 0, 100, BIG, &res);
	CHECK(res.end && res.error == DOT_LONG_LINE);
	free(p);
}

UNIT_TEST(test_a_message_over_the_size_limit_is_refused_and_still_read)
{
	struct dd_result res;

	/* the message without the final dot: 10 bytes */
	dd_scan(RAW("12345678\r\n.\r\n"), NULL, 0, 1000, 10, &res);
	CHECK(res.end && res.used == 13 && res.error == DOT_OK);
	dd_scan(RAW("123456789\r\n.\r\nQUIT\r\n"), NULL, 0, 1000, 10, &res);
	CHECK(res.end && res.used == 14 && res.error == DOT_TOO_BIG);
	/* stuffing does not count: the message is what is kept */
	dd_scan(RAW("..345678\r\n.\r\n"), NULL, 0, 1000, 9, &res);
	CHECK(res.end && res.error == DOT_OK);
	dd_raw(RAW("123456789\r\n"), NULL, 0, 1000, 10, &res);
	CHECK(res.error == DOT_TOO_BIG);
}

UNIT_TEST(test_the_error_does_not_depend_on_how_the_bytes_are_split)
{
	/* over the size limit at byte 17, and a bare LF at byte 18 */
	static const char in[] = "0123456789abcdefg\nx\r\n.\r\n";
	size_t len = sizeof(in) - 1, cut = 17;
	struct dd_result whole, split;

	dd_scan(in, len, NULL, 0, 1000, 16, &whole);
	dd_scan(in, len, &cut, 1, 1000, 16, &split);
	CHECK(whole.end && split.end && whole.used == split.used);
	if (whole.error != split.error)
		printf("  DATA read whole: %s; split after byte 17: %s\n",
		    dot_error_names[whole.error], dot_error_names[split.error]);
	CHECK(whole.error == split.error);
	dd_raw(in, len, NULL, 0, 1000, 16, &whole);
	dd_raw(in, len, &cut, 1, 1000, 16, &split);
	if (whole.error != split.error)
		printf("  BDAT read whole: %s; split after byte 17: %s\n",
		    dot_error_names[whole.error], dot_error_names[split.error]);
	CHECK(whole.error == split.error);
}

UNIT_TEST(test_bdat_keeps_bytes_as_they_are_with_crlf_across_chunks)
{
	static const char in[] = "Subject: a\r\n\r\n..x\r\n.\r\n";
	size_t len = sizeof(in) - 1, k;
	struct dd_result res;

	for (k = 0; k <= len; k++) {
		dd_raw(in, len, &k, 1, 1000, BIG, &res);
		if (res.error != DOT_OK || res.out_len != len ||
		    memcmp(res.out, in, len) != 0) {
			printf("  BDAT split at %zu: %s\n", k,
			    dot_error_names[res.error]);
			unit_failed_now = 1;
		}
	}
}

static const struct {
	const char *label;
	const char *in;
	size_t len;
	size_t cut;
	enum dot_error error;
} bdat_cases[] = {
	{ "CRLF across chunks", RAW("a\r\nb\r\n"), 2, DOT_OK },
	{ "a bare CR across chunks", RAW("a\rb\r\n"), 2, DOT_BARE_NL },
	{ "a bare LF", RAW("a\nb\r\n"), 1, DOT_BARE_NL },
	{ "a CR at the very end", RAW("a\r\nb\r"), 5, DOT_BARE_NL },
	{ "a CR ending the first chunk only", RAW("a\r"), 2, DOT_BARE_NL },
	{ "a NUL", RAW("a\0b\r\n"), 3, DOT_NUL },
	{ "no line end at all", RAW("abc"), 1, DOT_OK },
};

UNIT_TEST(test_bdat_holds_chunks_to_crlf_line_ends)
{
	struct dd_result res;
	size_t i;

	for (i = 0; i < sizeof(bdat_cases) / sizeof(bdat_cases[0]); i++) {
		dd_raw(bdat_cases[i].in, bdat_cases[i].len, &bdat_cases[i].cut,
		    1, 1000, BIG, &res);
		if (res.error != bdat_cases[i].error) {
			printf("  case \"%s\": %s\n", bdat_cases[i].label,
			    dot_error_names[res.error]);
			unit_failed_now = 1;
		}
	}
}
