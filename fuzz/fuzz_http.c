/*
 * fuzz_http: what the HTTP server decodes from the network before any
 * handler runs: the request path (split and percent-decoded), the route
 * match against the real table, the query string and the Cookie header.
 * The input's first byte picks the method; the rest is split at the
 * first '\n' into path[?query] and cookie header. Properties: decoded
 * segments hold no NUL, control byte, "." or ".."; a cookie value found
 * holds only cookie-octets and fits its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "http/route.h"
#include "http/server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_segments(const struct http_path *p)
{
	int i;
	size_t j, n;

	if (p->n < 0 || p->n > HTTP_SEG_MAX)
		abort();
	for (i = 0; i < p->n; i++) {
		n = strnlen(p->seg[i], HTTP_SEG_LEN);
		if (n == HTTP_SEG_LEN)
			abort();
		for (j = 0; j < n; j++) {
			unsigned char c = (unsigned char)p->seg[i][j];
			if (c < 0x20 || c == 0x7f)
				abort();
		}
		if (strcmp(p->seg[i], ".") == 0 || strcmp(p->seg[i], "..") == 0)
			abort();
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const int methods[] = { HTTP_GET, HTTP_POST, HTTP_PUT,
		HTTP_DELETE, HTTP_HEAD };
	struct http_path *p;
	char *text, *nl, *q, cookie[HTTP_SID_LEN + 1];
	json_t *args;
	int known, allowed, method, rc;
	const struct http_route *r;
	size_t i;

	if (size < 1)
		return 0;
	method = methods[data[0] % 5];
	if ((text = malloc(size)) == NULL)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	nl = strchr(text, '\n');
	if (nl)
		*nl++ = '\0';
	if ((q = strchr(text, '?')) != NULL)
		*q++ = '\0';
	p = malloc(sizeof(*p));
	args = json_object();
	if (p && args && http_path_split(text, p) == 0) {
		check_segments(p);
		r = http_route_find(http_api_routes, method, p, args, &known,
		    &allowed);
		if (r && !known)
			abort();
		if (r == NULL)
			r = http_route_find(http_session_routes, method, p,
			    args, &known, &allowed);
	}
	if (args && q) {
		json_t *qa = json_object();
		(void)http_query_parse(q, qa);
		json_decref(qa);
	}
	if (nl) {
		rc = http_cookie_get(nl, HTTP_COOKIE, cookie, sizeof(cookie));
		if (rc == 1) {
			size_t n = strnlen(cookie, sizeof(cookie));
			if (n == sizeof(cookie))
				abort();
			for (i = 0; i < n; i++)
				if ((unsigned char)cookie[i] <= 0x20 ||
				    (unsigned char)cookie[i] >= 0x7f ||
				    cookie[i] == ';')
					abort();
		}
	}
	json_decref(args);
	free(p);
	free(text);
	return 0;
}
