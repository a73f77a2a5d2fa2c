/*
 * addr: address and domain validation and canonical forms, used by the
 * CLI and API to store names and by SMTP to compare envelope addresses
 * with what is stored. IDNA through libidn2.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "addr.h"
#include "../util/str.h"

int
addr_utf8_is_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned c = s[i], n, cp, k;
		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3, cp = c & 0x07;
		else
			return 0;
		if (len - i <= n)
			return 0;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

static int
addr_ldh_check(const char *d, int one_label_ok, char *err, size_t errlen)
{
	const char *p = d, *label = d;
	size_t total = strlen(d);

	if (total == 0 || total > 253) {
		snprintf(err, errlen, "a domain name has 1 to 253 characters");
		return -1;
	}
	for (;; p++) {
		if (*p == '.' || *p == '\0') {
			size_t l = (size_t)(p - label);
			if (l == 0) {
				snprintf(err, errlen, "empty label in domain");
				return -1;
			}
			if (l > 63) {
				snprintf(err, errlen,
				    "a domain label has at most 63 characters");
				return -1;
			}
			if (label[0] == '-' || p[-1] == '-') {
				snprintf(err, errlen,
				    "a domain label may not begin or end with '-'");
				return -1;
			}
			if (*p == '\0')
				break;
			label = p + 1;
			continue;
		}
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
			*p == '-')) {
			snprintf(err, errlen,
			    "invalid character in domain name");
			return -1;
		}
	}
	if (strchr(d, '.') == NULL && !one_label_ok) {
		snprintf(err, errlen,
		    "a domain name needs at least two labels (example.org)");
		return -1;
	}
	/* the top-level label of a host name is never all digits */
	label = strrchr(d, '.') ? strrchr(d, '.') + 1 : d;
	if (strspn(label, "0123456789") == strlen(label)) {
		snprintf(err, errlen, "an IP address is not a domain name");
		return -1;
	}
	return 0;
}

static int
addr_name_canon(const char *in, int one_label_ok, char *out, size_t outlen,
    char *err, size_t errlen)
{
	char tmp[ADDR_DOMAIN_MAX + 2];
	char *ascii = NULL;
	size_t len = strlen(in);
	int ascii_only = 1, rc;
	size_t i;

	if (len == 0 || len > ADDR_DOMAIN_MAX) {
		snprintf(err, errlen, "a domain name has 1 to 253 characters");
		return -1;
	}
	if (!addr_utf8_is_valid((const unsigned char *)in, len)) {
		snprintf(err, errlen, "domain name is not valid UTF-8");
		return -1;
	}
	str_lcpy(tmp, in, sizeof(tmp));
	/* one trailing dot is the root, not part of the name */
	if (len > 1 && tmp[len - 1] == '.')
		tmp[--len] = '\0';
	for (i = 0; i < len; i++)
		if ((unsigned char)tmp[i] >= 0x80)
			ascii_only = 0;
	if (ascii_only) {
		str_ascii_lower(tmp);
		if (addr_ldh_check(tmp, one_label_ok, err, errlen) == -1)
			return -1;
		/* an A-label must decode: xn--garbage is refused */
		if (strstr(tmp, "xn--") != NULL) {
			char *u = NULL;
			rc = idn2_to_unicode_8z8z(tmp, &u, 0);
			free(u);
			if (rc != IDN2_OK) {
				snprintf(err, errlen, "invalid A-label: %s",
				    idn2_strerror(rc));
				return -1;
			}
		}
		if (strlen(tmp) >= outlen)
			return -1;
		str_lcpy(out, tmp, outlen);
		return 0;
	}
	rc = idn2_to_ascii_8z(tmp, &ascii,
	    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL);
	if (rc != IDN2_OK) {
		snprintf(err, errlen, "invalid internationalised domain: %s",
		    idn2_strerror(rc));
		return -1;
	}
	str_ascii_lower(ascii);
	if (addr_ldh_check(ascii, one_label_ok, err, errlen) == -1 ||
	    strlen(ascii) >= outlen) {
		free(ascii);
		return -1;
	}
	str_lcpy(out, ascii, outlen);
	free(ascii);
	return 0;
}

int
addr_domain_canon(const char *in, char *out, size_t outlen, char *err,
    size_t errlen)
{
	return addr_name_canon(in, 0, out, outlen, err, errlen);
}

int
addr_host_canon(const char *in, char *out, size_t outlen, char *err,
    size_t errlen)
{
	return addr_name_canon(in, 1, out, outlen, err, errlen);
}

static int
addr_is_atext(unsigned char c)
{
	if (c >= 0x80)
		return 1; /* UTF-8, checked as a whole */
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != 0 && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

int
addr_local_is_valid(const char *local)
{
	size_t len = strlen(local), i;

	if (len == 0 || len > ADDR_LOCAL_MAX)
		return 0;
	if (local[0] == '.' || local[len - 1] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		if (local[i] == '.') {
			if (local[i + 1] == '.')
				return 0;
			continue;
		}
		if (!addr_is_atext((unsigned char)local[i]))
			return 0;
	}
	return addr_utf8_is_valid((const unsigned char *)local, len);
}

void
addr_local_key(const char *local, char *key, size_t keylen)
{
	str_lcpy(key, local, keylen);
	str_ascii_lower(key);
}

int
addr_parse(const char *in, struct addr *out, char *err, size_t errlen)
{
	const char *at = strrchr(in, '@');
	size_t llen;

	memset(out, 0, sizeof(*out));
	if (at == NULL) {
		snprintf(err, errlen, "an address is local@domain");
		return -1;
	}
	llen = (size_t)(at - in);
	if (llen == 0 || llen > ADDR_LOCAL_MAX) {
		snprintf(err, errlen, "the local part has 1 to 64 characters");
		return -1;
	}
	memcpy(out->local, in, llen);
	out->local[llen] = '\0';
	if (!addr_local_is_valid(out->local)) {
		snprintf(err, errlen,
		    "invalid local part (letters, digits, . and !#$%%&'*+-/=?^_`{|}~)");
		return -1;
	}
	addr_local_key(out->local, out->local_key, sizeof(out->local_key));
	return addr_domain_canon(at + 1, out->domain, sizeof(out->domain), err,
	    errlen);
}

/* Default_Ignorable_Code_Point (Unicode 15): invisible, so a spelling
 * with one looks like the login without it. */
static int
addr_is_ignorable(unsigned cp)
{
	static const unsigned r[][2] = { { 0x00ad, 0x00ad }, { 0x034f, 0x034f },
		{ 0x061c, 0x061c }, { 0x115f, 0x1160 }, { 0x17b4, 0x17b5 },
		{ 0x180b, 0x180f }, { 0x200b, 0x200f }, { 0x202a, 0x202e },
		{ 0x2060, 0x206f }, { 0x3164, 0x3164 }, { 0xfe00, 0xfe0f },
		{ 0xfeff, 0xfeff }, { 0xffa0, 0xffa0 }, { 0xfff0, 0xfff8 },
		{ 0x1bca0, 0x1bca3 }, { 0x1d173, 0x1d17a },
		{ 0xe0000, 0xe0fff } };
	size_t i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		if (cp >= r[i][0] && cp <= r[i][1])
			return 1;
	return 0;
}

/* One code point of valid UTF-8 at s: its length, *cp its value. */
static size_t
addr_utf8_next(const unsigned char *s, unsigned *cp)
{
	size_t n, k;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	n = s[0] >= 0xf0 ? 3 : s[0] >= 0xe0 ? 2 : 1;
	*cp = s[0] & (0x3f >> n);
	for (k = 1; k <= n; k++)
		*cp = *cp << 6 | (s[k] & 0x3f);
	return n + 1;
}

int
addr_login_canon(const char *in, char *out, size_t outlen, char *err,
    size_t errlen)
{
	char tmp[ADDR_LOGIN_IN_MAX + 1], dom[ADDR_DOMAIN_MAX + 1];
	const unsigned char *p = (const unsigned char *)in;
	size_t len = strlen(in), o = 0, n;
	unsigned cp;
	struct addr a;
	char *at;

	if (len == 0 || len > ADDR_LOGIN_IN_MAX ||
	    !addr_utf8_is_valid(p, len)) {
		snprintf(err, errlen, "a login is 1 to %d octets of UTF-8",
		    ADDR_LOGIN_IN_MAX);
		return -1;
	}
	while (*p) {
		n = addr_utf8_next(p, &cp);
		p += n;
		if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) {
			snprintf(err, errlen, "control character in login");
			return -1;
		}
		if (addr_is_ignorable(cp))
			continue;
		if (cp >= 0xff01 && cp <= 0xff5e) /* full-width ASCII */
			cp -= 0xfee0;
		else if (cp == 0x3002 || cp == 0xff61) /* full stops */
			cp = '.';
		if (cp < 0x80) {
			tmp[o++] = (char)cp; /* never longer than the input */
		} else {
			memcpy(tmp + o, p - n, n);
			o += n;
		}
	}
	tmp[o] = '\0';
	if ((at = strrchr(tmp, '@')) == NULL) {
		if (addr_domain_canon(tmp, dom, sizeof(dom), err, errlen) == -1)
			return -1;
		if (strlen(dom) >= outlen) {
			snprintf(err, errlen, "login too long");
			return -1;
		}
		str_lcpy(out, dom, outlen);
		return 0;
	}
	if (addr_parse(tmp, &a, err, errlen) == -1)
		return -1;
	if ((size_t)snprintf(out, outlen, "%s@%s", a.local_key, a.domain) >=
	    outlen) {
		snprintf(err, errlen, "login too long");
		return -1;
	}
	return 0;
}
