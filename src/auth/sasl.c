/*
 * sasl: decoders, each refusing NUL where the format has none, overlong
 * fields and bad base64, so a login or secret that reaches cred.c is a
 * plain C string of bounded length.
 */
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "sasl.h"
#include "../util/base64.h"

static const char *const sasl_names[] = { "PLAIN", "LOGIN", "XOAUTH2",
	"OAUTHBEARER" };

enum sasl_mech
sasl_mech_by_name(const char *name)
{
	int i;

	for (i = 0; i < SASL_NONE; i++)
		if (strcasecmp(name, sasl_names[i]) == 0)
			return (enum sasl_mech)i;
	return SASL_NONE;
}

const char *
sasl_mech_name(enum sasl_mech m)
{
	return m < SASL_NONE ? sasl_names[m] : "none";
}

static long
sasl_decode(const char *b64, unsigned char *buf, size_t max, const char **why)
{
	size_t len = strlen(b64);
	long n;

	if (len > SASL_B64_MAX || (n = base64_decode(buf, max, b64, len)) < 0) {
		*why = "invalid base64";
		return -1;
	}
	return n;
}

int
sasl_is_base64(const char *b64)
{
	unsigned char buf[SASL_B64_MAX];
	const char *why;
	int ok = sasl_decode(b64, buf, sizeof(buf), &why) >= 0;

	sodium_memzero(buf, sizeof(buf));
	return ok;
}

static int
sasl_copy(char *dst, size_t dstlen, const unsigned char *src, size_t len,
    const char **why)
{
	if (len >= dstlen || memchr(src, '\0', len) != NULL) {
		*why = "field too long or holds NUL";
		return -1;
	}
	memcpy(dst, src, len);
	dst[len] = '\0';
	return 0;
}

int
sasl_plain(const char *b64, struct sasl_creds *c, const char **why)
{
	unsigned char buf[SASL_B64_MAX];
	unsigned char *authz, *authc, *pw, *end;
	long n;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if ((n = sasl_decode(b64, buf, sizeof(buf), why)) < 0)
		return -1;
	end = buf + n;
	authz = buf;
	if ((authc = memchr(authz, '\0', (size_t)(end - authz))) == NULL ||
	    (pw = memchr(authc + 1, '\0', (size_t)(end - authc - 1))) == NULL) {
		*why = "PLAIN needs authzid NUL authcid NUL password";
		goto out;
	}
	authc++;
	pw++;
	if (sasl_copy(c->login, sizeof(c->login), authc,
		(size_t)(pw - 1 - authc), why) == -1 ||
	    sasl_copy(c->secret, sizeof(c->secret), pw, (size_t)(end - pw),
		why) == -1)
		goto out;
	/* acting as another identity is not offered */
	if (authc - 1 > authz &&
	    ((size_t)(authc - 1 - authz) != strlen(c->login) ||
		memcmp(authz, c->login, strlen(c->login)) != 0)) {
		*why = "authorization identity differs from login";
		goto out;
	}
	if (c->login[0] == '\0' || c->secret[0] == '\0') {
		*why = "empty login or password";
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int
sasl_login_field(const char *b64, char *out, size_t outlen, const char **why)
{
	unsigned char buf[SASL_B64_MAX];
	long n;
	int rc;

	if ((n = sasl_decode(b64, buf, sizeof(buf), why)) < 0)
		return -1;
	rc = sasl_copy(out, outlen, buf, (size_t)n, why);
	if (rc == 0 && out[0] == '\0') {
		*why = "empty field";
		rc = -1;
	}
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

/* "key=value" pairs separated by \x01, ending with \x01\x01. */
static int
sasl_kv(unsigned char *p, unsigned char *end, struct sasl_creds *c,
    const char *userkey, const char **why)
{
	int have_user = userkey == NULL, have_auth = 0;

	while (p < end && *p != 0x01) {
		unsigned char *e = memchr(p, 0x01, (size_t)(end - p));
		size_t len;
		if (e == NULL) {
			*why = "unterminated field";
			return -1;
		}
		len = (size_t)(e - p);
		if (userkey && len > strlen(userkey) &&
		    memcmp(p, userkey, strlen(userkey)) == 0) {
			if (sasl_copy(c->login, sizeof(c->login),
				p + strlen(userkey), len - strlen(userkey),
				why) == -1)
				return -1;
			have_user = 1;
		} else if (len > 12 &&
			   strncasecmp((char *)p, "auth=Bearer ", 12) == 0) {
			if (sasl_copy(c->secret, sizeof(c->secret), p + 12,
				len - 12, why) == -1)
				return -1;
			have_auth = 1;
		}
		p = e + 1;
	}
	if (p + 1 != end || *p != 0x01) {
		*why = "missing final \\x01";
		return -1;
	}
	if (!have_user || !have_auth || c->login[0] == '\0' ||
	    c->secret[0] == '\0') {
		*why = "missing user or bearer token";
		return -1;
	}
	c->bearer = 1;
	return 0;
}

int
sasl_xoauth2(const char *b64, struct sasl_creds *c, const char **why)
{
	unsigned char buf[SASL_B64_MAX];
	long n;
	int rc;

	memset(c, 0, sizeof(*c));
	if ((n = sasl_decode(b64, buf, sizeof(buf), why)) < 0)
		return -1;
	rc = sasl_kv(buf, buf + n, c, "user=", why);
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int
sasl_oauthbearer(const char *b64, struct sasl_creds *c, const char **why)
{
	unsigned char buf[SASL_B64_MAX], *p, *comma, *end;
	long n;
	int rc = -1;

	memset(c, 0, sizeof(*c));
	if ((n = sasl_decode(b64, buf, sizeof(buf), why)) < 0)
		return -1;
	end = buf + n;
	/* gs2 header: "n,a=user," or "y,a=user," then \x01 */
	if (n < 3 || (buf[0] != 'n' && buf[0] != 'y') || buf[1] != ',') {
		*why = "bad GS2 header";
		goto out;
	}
	p = buf + 2;
	if ((comma = memchr(p, ',', (size_t)(end - p))) == NULL) {
		*why = "bad GS2 header";
		goto out;
	}
	if (comma - p > 2 && p[0] == 'a' && p[1] == '=') {
		if (sasl_copy(c->login, sizeof(c->login), p + 2,
			(size_t)(comma - p - 2), why) == -1)
			goto out;
		/* RFC 5801 saslname escapes ',' and '=' */
		if (strchr(c->login, '=') != NULL) {
			*why = "escaped characters in login are not supported";
			goto out;
		}
	} else if (comma != p) {
		*why = "bad GS2 header";
		goto out;
	}
	if (comma + 1 >= end || comma[1] != 0x01) {
		*why = "bad GS2 header";
		goto out;
	}
	rc = sasl_kv(comma + 2, end, c, NULL, why);
	if (rc == 0 && c->login[0] == '\0') {
		*why = "OAUTHBEARER needs a=LOGIN in the GS2 header";
		rc = -1;
	}
out:
	sodium_memzero(buf, sizeof(buf));
	return rc;
}
