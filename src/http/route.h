/*
 * route: what a request asks for. The raw path is split into segments
 * and each is percent-decoded on its own (so "%2F" stays inside its
 * segment), then matched against the route table: method and a pattern
 * of literal and ":name" segments. Also the query string and the Cookie
 * header. Pure functions over hostile bytes: fuzzed (fuzz/fuzz_http.c).
 */
#ifndef POSTERN_HTTP_ROUTE_H
#define POSTERN_HTTP_ROUTE_H

#include <stddef.h>

#include <jansson.h>

#define HTTP_PATH_MAX 2048 /* a longer raw path is refused (414) */
#define HTTP_SEG_MAX 12	   /* segments in a path */
#define HTTP_SEG_LEN 512   /* bytes of one decoded segment, with NUL */
#define HTTP_QUERY_MAX 32  /* parameters in a query string */
#define HTTP_PARAM_MAX 4   /* ":name" captures of a pattern */

/* methods, as bits (the same values as libevent's evhttp_cmd_type) */
#define HTTP_GET (1 << 0)
#define HTTP_POST (1 << 1)
#define HTTP_HEAD (1 << 2)
#define HTTP_PUT (1 << 3)
#define HTTP_DELETE (1 << 4)

/* who may call a route */
#define HTTP_PUBLIC 0x01    /* anyone: no credential needed */
#define HTTP_OPERATOR 0x02  /* an API key */
#define HTTP_USER 0x04	    /* a panel session (its own account only) */
#define HTTP_SECRET 0x10    /* reveals or replaces a secret: logged */
#define HTTP_CREATED 0x20   /* 201 on success */
#define HTTP_RAW_BODY 0x40  /* the body is not JSON: kept as bytes */
#define HTTP_LOGIN 0x80	    /* a sign-in: failures counted and slowed */
#define HTTP_NEED_TOS 0x100 /* a user must have accepted the terms */

struct http_call;
struct admin_err;

/* A handler run on a worker thread (store access allowed): fill *out or
 * the call's raw reply, or fail with err's status and sentence. */
typedef int (*http_fn)(struct http_call *, json_t *args, json_t **out,
    struct admin_err *);

struct http_route {
	int method;
	const char *pattern; /* "/api/v1/users/:address" */
	unsigned flags;
	const char *op;	      /* an admin operation by name, or NULL */
	http_fn fn;	      /* or a handler of its own */
	const char *self_arg; /* HTTP_USER: the argument set to the
				 session's own address */
};

struct http_path {
	int n;
	char seg[HTTP_SEG_MAX][HTTP_SEG_LEN];
};

/* Split and decode a raw path ("/a/b%40c"). -1: not absolute, too long,
 * too many segments, a bad or NUL escape, a control byte, "." or "..". */
int http_path_split(const char *raw, struct http_path *);
/* Percent-decode into dst (NUL-terminated); plus: '+' is a space (query
 * strings). -1 on a bad escape, %00, a control byte or no room. */
int http_decode(const char *src, size_t len, int plus, char *dst,
    size_t dstlen);
/* Does the path match the pattern? 1 and the captures set in args
 * (decoded strings), or 0. */
int http_route_match(const char *pattern, const struct http_path *,
    json_t *args);
/* Find the route for method and path: the route, or NULL with
 * *path_known set when another method would match (405). */
const struct http_route *http_route_find(const struct http_route *table,
    int method, const struct http_path *, json_t *args, int *path_known,
    int *allowed);
/* Decoded query parameters into args (strings; "true" and "false" are
 * booleans); -1 if malformed, too many, or a name repeated. */
int http_query_parse(const char *query, json_t *args);
/* The value of cookie name in a Cookie header into out; 1 found, 0
 * not, -1 malformed or longer than outlen-1. */
int http_cookie_get(const char *header, const char *name, char *out,
    size_t outlen);

#endif
