/* trace: see trace.h. Lines end at LF; a CR before it is not content. */
#include <string.h>
#include <strings.h>

#include "trace.h"

/* The next line [*p, *eol) of the header section; 0 at its end. */
static int
trace_line(const char **p, const char *end, const char **eol, int *lines)
{
	const char *e;

	if (*p >= end || (*lines)++ >= TRACE_LINES_MAX)
		return 0;
	if ((e = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		e = end;
	if (e - *p == 0 || (e - *p == 1 && **p == '\r'))
		return 0; /* the empty line: the body */
	*eol = e;
	return 1;
}

/* Does [p, eol) start field name? Its value in *v. */
static int
trace_is(const char *p, const char *eol, const char *name, const char **v)
{
	size_t n = strlen(name);

	if ((size_t)(eol - p) <= n || strncasecmp(p, name, n) != 0 ||
	    p[n] != ':')
		return 0;
	*v = p + n + 1;
	return 1;
}

int
trace_delivered_to(const char *msg, size_t len, const char *addr)
{
	const char *p = msg, *end = msg + len, *eol, *v, *e;
	size_t n = strlen(addr);
	int lines = 0;

	for (; trace_line(&p, end, &eol, &lines); p = eol + 1) {
		if (!trace_is(p, eol, "Delivered-To", &v))
			continue;
		e = eol;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		while (
		    e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (e - v >= 2 && *v == '<' && e[-1] == '>') {
			v++;
			e--;
		}
		if ((size_t)(e - v) == n && n > 0 &&
		    strncasecmp(v, addr, n) == 0)
			return 1;
	}
	return 0;
}

int
trace_count(const char *msg, size_t len, const char *name)
{
	const char *p = msg, *end = msg + len, *eol, *v;
	int lines = 0, n = 0;

	for (; trace_line(&p, end, &eol, &lines); p = eol + 1)
		n += trace_is(p, eol, name, &v);
	return n;
}

int
trace_authres(const char *msg, size_t len, const char *authserv, char *out,
    size_t outlen)
{
	const char *p = msg, *end = msg + len, *eol, *v;
	size_t hl = strlen(authserv), o = 0, k;
	int lines = 0;

	for (; trace_line(&p, end, &eol, &lines); p = eol + 1) {
		if (!trace_is(p, eol, "Authentication-Results", &v))
			continue;
		while (v < eol && (*v == ' ' || *v == '\t'))
			v++;
		/* the authserv-id, then ";", a blank or a version */
		if (hl == 0 || (size_t)(eol - v) <= hl ||
		    strncasecmp(v, authserv, hl) != 0 ||
		    !memchr("; \t", v[hl], 3))
			continue;
		/* the field and its continuation lines */
		for (;;) {
			k = (size_t)(eol - v);
			if (k > 0 && v[k - 1] == '\r')
				k--;
			if (o + k + 1 > outlen)
				return -1;
			memcpy(out + o, v, k);
			o += k;
			p = eol + 1;
			if (p >= end || (*p != ' ' && *p != '\t') ||
			    !trace_line(&p, end, &eol, &lines))
				break;
			v = p;
		}
		out[o] = '\0';
		return 0;
	}
	return -1;
}
