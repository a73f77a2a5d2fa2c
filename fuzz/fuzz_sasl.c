/*
 * fuzz_sasl: the four AUTH decoders on arbitrary text. The first byte
 * says whether the rest is given as it is (the decoders' base64 check)
 * or base64-encoded first (so the mechanisms' own parsing sees any
 * bytes). Properties: every output is NUL-terminated inside its field,
 * no login or secret is longer than its field, a success has a
 * non-empty login and secret without NUL, a value read from XOAUTH2's
 * or OAUTHBEARER's key=value fields holds no \x01 (their separator),
 * and PLAIN's result encodes back to a response that decodes to the
 * same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/sasl.h"
#include "util/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_field(const char *f, size_t fieldlen, size_t max)
{
	const char *nul = memchr(f, '\0', fieldlen);

	if (nul == NULL || (size_t)(nul - f) > max)
		abort();
}

/* kv: 0 for PLAIN, 1 for XOAUTH2 (login and secret from key=value
 * fields), 2 for OAUTHBEARER (the login from the GS2 header, where RFC
 * 5801 allows \x01) */
static void
check_creds(const struct sasl_creds *c, int rc, const char *why, int kv)
{
	check_field(c->login, sizeof(c->login), SASL_LOGIN_MAX);
	check_field(c->secret, sizeof(c->secret), SECRET_MAX);
	if (rc != 0 && rc != -1)
		abort();
	if (rc == -1 && why == NULL)
		abort();
	if (rc == 0) {
		if (c->login[0] == '\0' || c->secret[0] == '\0')
			abort();
		if (c->bearer != (kv != 0))
			abort();
		/* a key=value field ends at \x01: none inside a value */
		if (kv && strchr(c->secret, 0x01) != NULL)
			abort();
		if (kv == 1 && strchr(c->login, 0x01) != NULL)
			abort();
	}
}

static void
check_plain_again(const struct sasl_creds *c)
{
	unsigned char raw[SASL_LOGIN_MAX + SECRET_MAX + 3];
	char b64[BASE64_ENCODED_LEN(sizeof(raw))];
	size_t ll = strlen(c->login), sl = strlen(c->secret), n = 0;
	struct sasl_creds again;
	const char *why = NULL;

	raw[n++] = '\0';
	memcpy(raw + n, c->login, ll);
	n += ll;
	raw[n++] = '\0';
	memcpy(raw + n, c->secret, sl);
	n += sl;
	base64_encode(b64, raw, n);
	if (sasl_plain(b64, &again, &why) != 0 ||
	    strcmp(again.login, c->login) != 0 ||
	    strcmp(again.secret, c->secret) != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sasl_creds *c;
	char *text, small[8];
	const char *why;
	size_t len;
	int rc;

	if (size < 1)
		return 0;
	if (data[0] & 1) {
		len = BASE64_ENCODED_LEN(size - 1);
		if ((text = malloc(len)) == NULL)
			return 0;
		base64_encode(text, data + 1, size - 1);
	} else {
		if ((text = malloc(size)) == NULL)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
	}
	if ((c = malloc(sizeof(*c))) == NULL) {
		free(text);
		return 0;
	}

	why = NULL;
	memset(c, 0xa5, sizeof(*c)); /* the decoder must clear it */
	rc = sasl_plain(text, c, &why);
	check_creds(c, rc, why, 0);
	if (rc == 0)
		check_plain_again(c);

	why = NULL;
	memset(c, 0xa5, sizeof(*c));
	rc = sasl_xoauth2(text, c, &why);
	check_creds(c, rc, why, 1);

	why = NULL;
	memset(c, 0xa5, sizeof(*c));
	rc = sasl_oauthbearer(text, c, &why);
	check_creds(c, rc, why, 2);
	if (rc == 0 && strchr(c->login, '=') != NULL)
		abort();

	/* LOGIN: into the real fields and into one too small */
	why = NULL;
	memset(c, 0xa5, sizeof(*c));
	c->login[sizeof(c->login) - 1] = '\0';
	rc = sasl_login_field(text, c->login, sizeof(c->login), &why);
	if (rc == 0) {
		check_field(c->login, sizeof(c->login), SASL_LOGIN_MAX);
		if (c->login[0] == '\0')
			abort();
	} else if (rc != -1 || why == NULL) {
		abort();
	}
	why = NULL;
	rc = sasl_login_field(text, c->secret, sizeof(c->secret), &why);
	if (rc == 0)
		check_field(c->secret, sizeof(c->secret), SECRET_MAX);
	else if (why == NULL)
		abort();
	rc = sasl_login_field(text, small, sizeof(small), &why);
	if (rc == 0 && memchr(small, '\0', sizeof(small)) == NULL)
		abort();

	free(c);
	free(text);
	return 0;
}
