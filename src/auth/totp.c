/*
 * totp: RFC 6238 time-based one-time passwords. OpenSSL computes the
 * HMAC-SHA-1; libsodium gives the randomness and the constant-time
 * comparison. Nothing here touches the store.
 */
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include "totp.h"

static const char totp_b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
/* Recovery codes are typed from paper: lower case, no 0/o, 1/l/i. */
static const char totp_rc_alpha[] = "23456789abcdefghjkmnpqrstuvwxyz";

int
totp_b32_encode(const unsigned char *in, size_t len, char *out, size_t outlen)
{
	size_t i, o = 0;
	unsigned int acc = 0;
	int bits = 0;

	if (outlen < (len * 8 + 4) / 5 + 1)
		return -1;
	for (i = 0; i < len; i++) {
		acc = (acc << 8) | in[i];
		bits += 8;
		while (bits >= 5) {
			out[o++] = totp_b32[(acc >> (bits - 5)) & 31];
			bits -= 5;
		}
	}
	if (bits > 0)
		out[o++] = totp_b32[(acc << (5 - bits)) & 31];
	out[o] = '\0';
	return 0;
}

int
totp_b32_decode(const char *in, unsigned char *out, size_t outlen, size_t *len)
{
	unsigned int acc = 0;
	size_t o = 0;
	int bits = 0, v;

	for (; *in; in++) {
		char c = *in;
		if (c == ' ' || c == '=' || c == '-')
			continue;
		if (c >= 'a' && c <= 'z')
			c = (char)(c - 'a' + 'A');
		if (c >= 'A' && c <= 'Z')
			v = c - 'A';
		else if (c >= '2' && c <= '7')
			v = c - '2' + 26;
		else
			return -1;
		acc = ((acc << 5) | (unsigned int)v) & 0xfff;
		bits += 5;
		if (bits >= 8) {
			if (o >= outlen)
				return -1;
			out[o++] = (unsigned char)(acc >> (bits - 8));
			bits -= 8;
		}
	}
	*len = o;
	return 0;
}

int
totp_hotp(const unsigned char *key, size_t keylen, uint64_t counter, int digits,
    char out[9])
{
	unsigned char msg[8], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0, off;
	uint32_t bin;
	int i;

	if (digits < 6 || digits > 8 || keylen == 0 || keylen > TOTP_KEY_MAX)
		return -1;
	for (i = 7; i >= 0; i--) {
		msg[i] = (unsigned char)(counter & 0xff);
		counter >>= 8;
	}
	if (HMAC(EVP_sha1(), key, (int)keylen, msg, sizeof(msg), md, &mdlen) ==
		NULL ||
	    mdlen != 20)
		return -1;
	/* RFC 4226 5.3: dynamic truncation */
	off = md[19] & 0x0f;
	bin = ((uint32_t)(md[off] & 0x7f) << 24) |
	      ((uint32_t)md[off + 1] << 16) | ((uint32_t)md[off + 2] << 8) |
	      (uint32_t)md[off + 3];
	for (i = digits - 1; i >= 0; i--) {
		out[i] = (char)('0' + bin % 10);
		bin /= 10;
	}
	out[digits] = '\0';
	sodium_memzero(md, sizeof(md));
	return 0;
}

int
totp_code(const unsigned char *key, size_t keylen, int64_t t, char out[9])
{
	if (t < 0)
		return -1;
	return totp_hotp(key, keylen, (uint64_t)(t / TOTP_STEP), TOTP_DIGITS,
	    out);
}

int
totp_verify(const unsigned char *key, size_t keylen, const char *code,
    int64_t now, int64_t last_step, int64_t *step)
{
	char want[TOTP_DIGITS + 1], got[9];
	int64_t s, cur = now / TOTP_STEP;
	size_t n = 0;
	int found = 0;

	for (; *code && n <= TOTP_DIGITS; code++) {
		if (*code == ' ')
			continue;
		if (*code < '0' || *code > '9')
			return 0;
		want[n++] = *code;
	}
	if (n != TOTP_DIGITS || *code != '\0' || now < TOTP_STEP)
		return 0;
	want[n] = '\0';
	/* Each candidate step is checked, matched or not, so the time
	 * taken does not say which step (if any) matched. */
	for (s = cur - 1; s <= cur + 1; s++) {
		if (totp_hotp(key, keylen, (uint64_t)s, TOTP_DIGITS, got) == -1)
			return 0;
		if (sodium_memcmp(got, want, TOTP_DIGITS) == 0 &&
		    s > last_step && !found) {
			found = 1;
			*step = s;
		}
	}
	sodium_memzero(got, sizeof(got));
	return found;
}

void
totp_new_key(unsigned char key[TOTP_KEY_LEN])
{
	randombytes_buf(key, TOTP_KEY_LEN);
}

/* RFC 3986 unreserved characters stay; everything else is %XX. */
static int
totp_pct(char *out, size_t outlen, size_t *o, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int plain = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			    (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			    c == '_' || c == '~' || c == '@';
		if (*o + (plain ? 1 : 3) >= outlen)
			return -1;
		if (plain) {
			out[(*o)++] = (char)c;
		} else {
			out[(*o)++] = '%';
			out[(*o)++] = hex[c >> 4];
			out[(*o)++] = hex[c & 15];
		}
	}
	out[*o] = '\0';
	return 0;
}

static int
totp_lit(char *out, size_t outlen, size_t *o, const char *s)
{
	size_t n = strlen(s);

	if (*o + n >= outlen)
		return -1;
	memcpy(out + *o, s, n + 1);
	*o += n;
	return 0;
}

int
totp_uri(char *out, size_t outlen, const char *issuer, const char *account,
    const char *b32)
{
	size_t o = 0;

	/* Key URI Format: the label is "issuer:account", and issuer= is
	 * repeated as a parameter for the apps that read only that. */
	if (outlen == 0 || totp_lit(out, outlen, &o, "otpauth://totp/") ||
	    totp_pct(out, outlen, &o, issuer) ||
	    totp_lit(out, outlen, &o, ":") ||
	    totp_pct(out, outlen, &o, account) ||
	    totp_lit(out, outlen, &o, "?secret=") ||
	    totp_pct(out, outlen, &o, b32) ||
	    totp_lit(out, outlen, &o, "&issuer=") ||
	    totp_pct(out, outlen, &o, issuer) ||
	    totp_lit(out, outlen, &o, "&algorithm=SHA1&digits=6&period=30"))
		return -1;
	return 0;
}

void
totp_recovery_new(char out[TOTP_RECOVERY_LEN + 1])
{
	int i, o = 0;

	for (i = 0; i < 10; i++) {
		if (i == 5)
			out[o++] = '-';
		out[o++] = totp_rc_alpha[randombytes_uniform(
		    sizeof(totp_rc_alpha) - 1)];
	}
	out[o] = '\0';
}

int
totp_recovery_norm(const char *in, char out[TOTP_RECOVERY_LEN + 1])
{
	int n = 0, o = 0;

	for (; *in; in++) {
		char c = *in;
		if (c == ' ' || c == '-')
			continue;
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (n == 10 || strchr(totp_rc_alpha, c) == NULL || c == '\0')
			return -1;
		if (n == 5)
			out[o++] = '-';
		out[o++] = c;
		n++;
	}
	out[o] = '\0';
	return n == 10 ? 0 : -1;
}
