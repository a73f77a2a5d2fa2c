/* test_http_route: paths, route patterns, query strings and cookies. */
#include <jansson.h>

#include "unit.h"
#include "http/route.h"

static const struct {
	const char *label, *raw;
	int ok, n;
	const char *last; /* the last decoded segment */
} path_cases[] = {
	{ "root", "/", 1, 0, NULL },
	{ "two segments", "/api/v1", 1, 2, "v1" },
	{ "escaped at sign", "/api/v1/users/alice%40example.org", 1, 4,
	    "alice@example.org" },
	{ "escaped slash stays inside", "/n/10.0.0.0%2F8", 1, 2, "10.0.0.0/8" },
	{ "plus is not a space in a path", "/a+b", 1, 1, "a+b" },
	{ "trailing slash is an empty segment", "/api/", 1, 2, "" },
	{ "relative", "api/v1", 0, 0, NULL },
	{ "dot dot", "/api/../etc", 0, 0, NULL },
	{ "escaped dot dot", "/api/%2e%2E/etc", 0, 0, NULL },
	{ "escaped NUL", "/a%00b", 0, 0, NULL },
	{ "escaped newline", "/a%0Ab", 0, 0, NULL },
	{ "bad escape", "/a%zz", 0, 0, NULL },
	{ "cut escape", "/a%4", 0, 0, NULL },
	{ "too many segments", "/1/2/3/4/5/6/7/8/9/10/11/12/13", 0, 0, NULL },
};

UNIT_TEST(http_paths_are_split_and_decoded_per_segment)
{
	size_t i;

	for (i = 0; i < sizeof(path_cases) / sizeof(path_cases[0]); i++) {
		struct http_path p;
		int rc = http_path_split(path_cases[i].raw, &p);
		if ((rc == 0) != path_cases[i].ok) {
			printf("  FAIL %s: rc %d\n", path_cases[i].label, rc);
			unit_failed_now = 1;
			continue;
		}
		if (rc == 0) {
			CHECK(p.n == path_cases[i].n);
			if (path_cases[i].last)
				CHECK_STR(p.seg[p.n - 1], path_cases[i].last);
		}
	}
}

UNIT_TEST(http_routes_match_literals_and_capture_names)
{
	struct http_path p;
	json_t *args = json_object();

	CHECK(http_path_split("/api/v1/users/a%40b.org/aliases/x", &p) == 0);
	CHECK(http_route_match("/api/v1/users/:address/aliases/:local", &p,
		  args) == 1);
	CHECK_STR(json_string_value(json_object_get(args, "address")),
	    "a@b.org");
	CHECK_STR(json_string_value(json_object_get(args, "local")), "x");
	CHECK(http_route_match("/api/v1/users/:address", &p, NULL) == 0);
	CHECK(http_route_match("/api/v1/users/:address/aliases/:local/more", &p,
		  NULL) == 0);
	CHECK(http_path_split("/api/v1/users//aliases/x", &p) == 0);
	CHECK(http_route_match("/api/v1/users/:address/aliases/:local", &p,
		  NULL) == 0); /* an empty capture never matches */
	json_decref(args);
}

UNIT_TEST(http_query_strings_are_decoded_and_bounded)
{
	json_t *a = json_object();

	CHECK(
	    http_query_parse("domain=example.org&force=true&x=a+b%21", a) == 0);
	CHECK_STR(json_string_value(json_object_get(a, "domain")),
	    "example.org");
	CHECK(json_is_true(json_object_get(a, "force")));
	CHECK_STR(json_string_value(json_object_get(a, "x")), "a b!");
	json_decref(a);
	a = json_object();
	CHECK(http_query_parse("a=1&a=2", a) == -1); /* repeated */
	json_decref(a);
	a = json_object();
	CHECK(http_query_parse("a=%00", a) == -1);
	json_decref(a);
	a = json_object();
	CHECK(http_query_parse("=1", a) == -1);
	json_decref(a);
}

UNIT_TEST(http_cookie_values_are_found_and_checked)
{
	char v[16];

	CHECK(http_cookie_get("a=1; postern_session=xyz; b=2",
		  "postern_session", v, sizeof(v)) == 1);
	CHECK_STR(v, "xyz");
	CHECK(http_cookie_get("a=1;postern_session=q", "postern_session", v,
		  sizeof(v)) == 1);
	CHECK_STR(v, "q");
	CHECK(http_cookie_get("xpostern_session=1", "postern_session", v,
		  sizeof(v)) == 0);
	CHECK(http_cookie_get("postern_session=\"quoted\"", "postern_session",
		  v, sizeof(v)) == -1);
	CHECK(http_cookie_get("postern_session=0123456789abcdef0",
		  "postern_session", v, sizeof(v)) == -1); /* too long */
	CHECK(http_cookie_get("", "postern_session", v, sizeof(v)) == 0);
}
