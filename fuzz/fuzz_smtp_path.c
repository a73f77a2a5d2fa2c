/*
 * fuzz_smtp_path: MAIL FROM / RCPT TO arguments. The input is tried as
 * the whole argument and after each prefix ("FROM:", "TO:"), with and
 * without SMTPUTF8, in a buffer of its exact size; an accepted path is
 * then given to smtp_parse_rcpt. Properties: the address fits its
 * buffer and never holds a control character (CR, LF, NUL...), an
 * 8-bit byte without SMTPUTF8, a '<', or a '>' outside quotes; the
 * parameters start inside the argument. The input is also an EHLO name
 * in the Received: clause: printable ASCII only, parentheses balanced
 * (quoted pairs aside), within its buffer.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/addr.h"
#include "smtp/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_address(const char *out, size_t outlen, int utf8)
{
	const char *nul = memchr(out, '\0', outlen);
	int quoted = 0;
	size_t i, n;

	if (nul == NULL)
		abort();
	n = (size_t)(nul - out);
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20 || c == 0x7f || c == '<' || (c >= 0x80 && !utf8))
			abort();
		if (quoted && c == '\\' && i + 1 < n) {
			i++;
			continue;
		}
		if (c == '"')
			quoted = !quoted;
		else if (c == '>' && !quoted)
			abort();
	}
}

static void
try_path(const char *arg, size_t len, const char *prefix, int utf8,
    size_t outlen)
{
	char *copy = malloc(len + 1), *out = malloc(outlen), *rest = NULL;
	char why[160];

	if (copy == NULL || out == NULL)
		abort();
	memcpy(copy, arg, len);
	copy[len] = '\0';
	if (smtp_parse_path(copy, prefix, out, outlen, &rest, utf8) == 0) {
		check_address(out, outlen, utf8);
		if (rest < copy || rest > copy + strlen(copy) || *rest == ' ')
			abort();
		memset(why, 0x5a, sizeof(why));
		if (smtp_parse_rcpt(out, why, sizeof(why)) == -1 &&
		    memchr(why, '\0', sizeof(why)) == NULL)
			abort();
	}
	free(copy);
	free(out);
}

static void
try_helo(const char *helo)
{
	char out[2 * 255 + 128];
	int depth = 0;
	size_t i, n;

	memset(out, 0x5a, sizeof(out));
	smtp_trace_from(helo, "2001:db8::1", out, sizeof(out));
	if ((n = strnlen(out, sizeof(out))) == sizeof(out))
		abort();
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)out[i];
		if (c < 0x20 || c >= 0x7f)
			abort();
		if (c == '\\') {
			if (++i == n)
				abort();
			continue;
		}
		depth += c == '(' ? 1 : c == ')' ? -1 : 0;
		if (depth < 0)
			abort();
	}
	if (depth != 0)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const prefixes[] = { "FROM:", "TO:" };
	size_t outlen, i;
	char *arg;
	int utf8;

	if (size < 1 || memchr(data, '\0', size) != NULL)
		return 0; /* the session's lines are C strings */
	/* the first byte: a short output buffer sometimes */
	outlen = data[0] < 16 ? 1 + data[0] : ADDR_MAX + 1;
	data++;
	size--;
	if ((arg = malloc(size + 8)) == NULL)
		return 0;
	for (i = 0; i < 2; i++)
		for (utf8 = 0; utf8 <= 1; utf8++) {
			size_t plen = strlen(prefixes[i]);
			try_path((const char *)data, size, prefixes[i], utf8,
			    outlen);
			memcpy(arg, prefixes[i], plen);
			memcpy(arg + plen, data, size);
			try_path(arg, plen + size, prefixes[i], utf8, outlen);
		}
	if (size <= 255) {
		memcpy(arg, data, size);
		arg[size] = '\0';
		try_helo(arg);
	}
	free(arg);
	return 0;
}
