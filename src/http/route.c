/*
 * route: paths, query strings and cookies from the network into decoded
 * strings with hard limits, and the route table's matcher. Nothing here
 * allocates for the caller except the JSON strings it adds to args.
 */
#include <string.h>

#include "route.h"
#include "../util/str.h"

int
http_decode(const char *src, size_t len, int plus, char *dst, size_t dstlen)
{
	size_t i, o = 0;

	for (i = 0; i < len; i++) {
		int c = (unsigned char)src[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= len)
				return -1;
			hi = str_hexval((unsigned char)src[i + 1]);
			lo = str_hexval((unsigned char)src[i + 2]);
			if (hi < 0 || lo < 0)
				return -1;
			c = hi * 16 + lo;
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		/* no NUL (it would cut the string) and no control bytes */
		if (c < 0x20 || c == 0x7f)
			return -1;
		if (o + 1 >= dstlen)
			return -1;
		dst[o++] = (char)c;
	}
	if (o >= dstlen)
		return -1;
	dst[o] = '\0';
	return 0;
}

int
http_path_split(const char *raw, struct http_path *p)
{
	const char *s, *e;
	size_t len = strlen(raw);

	p->n = 0;
	if (len == 0 || len > HTTP_PATH_MAX || raw[0] != '/')
		return -1;
	if (len == 1)
		return 0; /* "/": no segment */
	for (s = raw + 1;; s = e + 1) {
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		if (p->n >= HTTP_SEG_MAX)
			return -1;
		if (http_decode(s, (size_t)(e - s), 0, p->seg[p->n],
			sizeof(p->seg[p->n])) == -1)
			return -1;
		/* dot segments would let a path climb: never meant here */
		if (strcmp(p->seg[p->n], ".") == 0 ||
		    strcmp(p->seg[p->n], "..") == 0)
			return -1;
		p->n++;
		if (*e == '\0')
			break;
	}
	return 0;
}

int
http_route_match(const char *pattern, const struct http_path *p, json_t *args)
{
	const char *s = pattern, *e;
	int i = 0, ncap = 0;
	const char *capname[HTTP_PARAM_MAX];
	size_t caplen[HTTP_PARAM_MAX];
	int capseg[HTTP_PARAM_MAX];

	if (*s != '/')
		return 0;
	if (s[1] == '\0')
		return p->n == 0;
	for (s++;; s = e + 1) {
		size_t n;
		e = strchr(s, '/');
		if (e == NULL)
			e = s + strlen(s);
		n = (size_t)(e - s);
		if (i >= p->n)
			return 0;
		if (*s == ':') {
			/* a capture is never empty */
			if (p->seg[i][0] == '\0' || ncap >= HTTP_PARAM_MAX)
				return 0;
			capname[ncap] = s + 1;
			caplen[ncap] = n - 1;
			capseg[ncap++] = i;
		} else if (strlen(p->seg[i]) != n ||
			   memcmp(p->seg[i], s, n) != 0)
			return 0;
		i++;
		if (*e == '\0')
			break;
	}
	if (i != p->n)
		return 0;
	if (args)
		for (i = 0; i < ncap; i++) {
			char name[32];
			if (caplen[i] >= sizeof(name))
				return 0;
			memcpy(name, capname[i], caplen[i]);
			name[caplen[i]] = '\0';
			json_t *v = json_string(p->seg[capseg[i]]);
			if (v == NULL) /* not UTF-8 */
				return 0;
			json_object_set_new(args, name, v);
		}
	return 1;
}

const struct http_route *
http_route_find(const struct http_route *table, int method,
    const struct http_path *p, json_t *args, int *path_known, int *allowed)
{
	const struct http_route *r;

	*path_known = 0;
	*allowed = 0;
	for (r = table; r->pattern; r++) {
		if (!http_route_match(r->pattern, p, NULL))
			continue;
		*path_known = 1;
		*allowed |= r->method;
		/* HEAD is answered like GET, without the body */
		if (r->method == method ||
		    (method == HTTP_HEAD && r->method == HTTP_GET)) {
			if (!http_route_match(r->pattern, p, args))
				return NULL; /* a capture that is not UTF-8 */
			return r;
		}
	}
	return NULL;
}

int
http_query_parse(const char *q, json_t *args)
{
	const char *s, *e;
	int n = 0;

	if (q == NULL || *q == '\0')
		return 0;
	if (strlen(q) > HTTP_PATH_MAX)
		return -1;
	for (s = q;; s = e + 1) {
		char name[64], val[HTTP_SEG_LEN];
		const char *eq;
		json_t *v;

		e = strchr(s, '&');
		if (e == NULL)
			e = s + strlen(s);
		if (e == s)
			goto next; /* "a=1&&b=2" */
		if (++n > HTTP_QUERY_MAX)
			return -1;
		eq = memchr(s, '=', (size_t)(e - s));
		if (http_decode(s, (size_t)((eq ? eq : e) - s), 1, name,
			sizeof(name)) == -1 ||
		    name[0] == '\0')
			return -1;
		if (eq == NULL)
			val[0] = '\0';
		else if (http_decode(eq + 1, (size_t)(e - eq - 1), 1, val,
			     sizeof(val)) == -1)
			return -1;
		if (json_object_get(args, name) != NULL)
			return -1;
		/* ?force=true: the same as "force": true in a body */
		if (strcmp(val, "true") == 0)
			v = json_true();
		else if (strcmp(val, "false") == 0)
			v = json_false();
		else if ((v = json_string(val)) == NULL)
			return -1;
		json_object_set_new(args, name, v);
next:
		if (*e == '\0')
			break;
	}
	return 0;
}

int
http_cookie_get(const char *h, const char *name, char *out, size_t outlen)
{
	size_t nlen = strlen(name);
	const char *s = h;

	/* cookie-string = cookie-pair *( ";" SP cookie-pair ) (RFC 6265);
	 * lenient about spaces, strict about the value's bytes */
	while (*s) {
		const char *e, *eq;
		while (*s == ' ' || *s == '\t' || *s == ';')
			s++;
		if (*s == '\0')
			break;
		e = strchr(s, ';');
		if (e == NULL)
			e = s + strlen(s);
		eq = memchr(s, '=', (size_t)(e - s));
		if (eq && (size_t)(eq - s) == nlen &&
		    memcmp(s, name, nlen) == 0) {
			const char *v = eq + 1, *ve = e;
			size_t i, n;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			n = (size_t)(ve - v);
			if (n >= outlen)
				return -1;
			for (i = 0; i < n; i++) {
				unsigned char c = (unsigned char)v[i];
				if (c <= 0x20 || c >= 0x7f || c == '"' ||
				    c == ',' || c == ';' || c == '\\')
					return -1;
			}
			memcpy(out, v, n);
			out[n] = '\0';
			return 1;
		}
		s = e;
	}
	return 0;
}
