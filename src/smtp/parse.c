/*
 * parse: the pieces of SMTP command arguments that are parsed the same
 * way everywhere (paths, recipient addresses, xtext), apart from the
 * session so they can be fuzzed and unit-tested alone.
 */
#include <arpa/inet.h>
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

#define HELO_MAX 255

int
smtp_helo_is_acceptable(const char *helo)
{
	size_t i, n = strlen(helo);

	if (n == 0 || n > HELO_MAX)
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)helo[i] <= 0x20 ||
		    (unsigned char)helo[i] >= 0x7f)
			return 0;
	return 1;
}

static int
helo_is_domain(const char *s)
{
	size_t label = 0, n = strlen(s), i;

	if (n == 0 || n > HELO_MAX)
		return 0;
	for (i = 0; i <= n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '.' || c == '\0') {
			/* a label: not empty, no '-' at either end */
			if (label == 0 || label > 63 || s[i - 1] == '-' ||
			    s[i - label] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-'))
			return 0;
		label++;
	}
	return 1;
}

static int
helo_is_literal(const char *s)
{
	char addr[INET6_ADDRSTRLEN + 1];
	unsigned char bin[16];
	size_t n = strlen(s);
	int v6;

	if (n < 3 || s[0] != '[' || s[n - 1] != ']')
		return 0;
	v6 = strncasecmp(s + 1, "IPv6:", 5) == 0;
	s += v6 ? 6 : 1;
	n -= v6 ? 7 : 2;
	if (n == 0 || n >= sizeof(addr))
		return 0;
	memcpy(addr, s, n);
	addr[n] = '\0';
	return inet_pton(v6 ? AF_INET6 : AF_INET, addr, bin) == 1;
}

int
smtp_helo_is_name(const char *helo)
{
	return helo_is_domain(helo) || helo_is_literal(helo);
}

void
smtp_trace_from(const char *helo, const char *ip, char *out, size_t len)
{
	const char *v6 = strchr(ip, ':') ? "IPv6:" : "";
	size_t o;

	if (len == 0)
		return;
	if (helo != NULL && smtp_helo_is_name(helo)) {
		snprintf(out, len, "%s ([%s%s])", helo, v6, ip);
		return;
	}
	snprintf(out, len, "[%s%s]", v6, ip);
	if (helo == NULL)
		return;
	o = strlen(out);
	/* room for " (helo=", two bytes per character, ")" and the NUL */
	if (o + 8 + 2 * strlen(helo) + 2 > len)
		return;
	o += (size_t)snprintf(out + o, len - o, " (helo=");
	for (; *helo; helo++) {
		unsigned char c = (unsigned char)*helo;
		if (c == '(' || c == ')' || c == '\\')
			out[o++] = '\\';
		out[o++] = c > 0x20 && c < 0x7f ? (char)c : '?';
	}
	out[o++] = ')';
	out[o] = '\0';
}
