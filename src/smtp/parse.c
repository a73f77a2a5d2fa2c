/*
 * parse: the pieces of SMTP command arguments that are parsed the same
 * way everywhere (paths, recipient addresses, xtext), apart from the
 * session so they can be fuzzed and unit-tested alone.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "parse.h"
#include "../mail/addr.h"

/*
 * A path "<...>" (a source route "@a,@b:" is dropped, RFC 5321 C).
 * Returns the address (may be "") and sets *rest to the parameters.
 */
int
smtp_parse_path(char *arg, const char *prefix, char *out, size_t outlen,
    char **rest, int utf8)
{
	size_t plen = strlen(prefix), n;
	char *p, *e;

	if (strncasecmp(arg, prefix, plen) != 0)
		return -1;
	p = arg + plen;
	while (*p == ' ') /* "MAIL FROM: <a@b>" is common enough */
		p++;
	if (*p != '<')
		return -1;
	p++;
	if (*p == '@') { /* source route: "@a,@b:" up to the colon */
		char *colon = p + strcspn(p, ":>");
		if (*colon != ':')
			return -1;
		p = colon + 1;
	}
	/* the closing '>' outside a quoted local part; spaces only quoted */
	for (e = p; *e && *e != '>'; e++) {
		unsigned char c = (unsigned char)*e;
		if (c == '"') {
			for (e++; *e && *e != '"'; e++) {
				c = (unsigned char)*e;
				/* no angle brackets even quoted: the spool
				 * writes addresses between them */
				if (c < 0x20 || c == 0x7f || c == '<' ||
				    c == '>' || (c >= 0x80 && !utf8))
					return -1;
				if (c == '\\' && e[1])
					e++;
			}
			if (*e == '\0')
				return -1; /* an unterminated quote */
			continue;
		}
		if (c <= 0x20 || c == 0x7f || (c >= 0x80 && !utf8) || c == '<')
			return -1;
	}
	if (*e != '>')
		return -1;
	n = (size_t)(e - p);
	if (n >= outlen)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	*rest = e + 1;
	while (**rest == ' ')
		(*rest)++;
	return 0;
}

/* An address a recipient may have: local@domain, local possibly
 * quoted, domain a valid name (no address literals). */
int
smtp_parse_rcpt(const char *a, char *why, size_t whylen)
{
	const char *at = strrchr(a, '@');
	char canon[ADDR_DOMAIN_MAX + 1];

	if (at == NULL || at == a) {
		snprintf(why, whylen, "an address is local@domain");
		return -1;
	}
	if ((size_t)(at - a) > 2 * ADDR_LOCAL_MAX) {
		snprintf(why, whylen, "local part too long");
		return -1;
	}
	if (at[1] == '[') {
		snprintf(why, whylen, "address literals are not accepted");
		return -1;
	}
	return addr_domain_canon(at + 1, canon, sizeof(canon), why, whylen);
}

int
smtp_parse_xtext_ok(const char *v, size_t max)
{
	size_t n = strlen(v), i;

	if (n == 0 || n > max)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)v[i] < 0x21 || (unsigned char)v[i] > 0x7e ||
		    v[i] == '=')
			return 0;
	return 1;
}
