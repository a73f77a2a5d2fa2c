/*
 * fuzz_header: header_scan on an arbitrary message (a buffer of its
 * exact size, not NUL-terminated), then header_addresses on its From:
 * value and on the whole input as an address list. Properties: nothing
 * is read outside the message; header_len and the From: value lie
 * inside it; at most max addresses, each NUL-terminated inside its
 * field (so at most ADDR_MAX bytes) and not empty unless the value held
 * a NUL (which the DATA reader refuses before header_scan runs).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_addresses(const char *val, size_t len, int max)
{
	char(*out)[ADDR_MAX + 1] = malloc((size_t)max * sizeof(*out));
	int n = -1, rc, i, has_nul = memchr(val, '\0', len) != NULL;

	if (out == NULL)
		abort();
	rc = header_addresses(val, len, out, max, &n);
	if (rc != 0 && rc != -1)
		abort();
	if (rc == 0) {
		if (n < 0 || n > max)
			abort();
		for (i = 0; i < n; i++) {
			const char *nul = memchr(out[i], '\0', ADDR_MAX + 1);
			if (nul == NULL || (nul == out[i] && !has_nul))
				abort();
		}
	}
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct header_info hi;
	char *msg = malloc(size ? size : 1);

	if (msg == NULL)
		return 0;
	if (size > 0)
		memcpy(msg, data, size);
	header_scan(msg, size, &hi);
	if (hi.header_len > size || hi.from_count < 0 ||
	    (hi.from_count > 0) != (hi.from != NULL))
		abort();
	if (hi.from != NULL) {
		if (hi.from < msg || hi.from_len > size ||
		    hi.from + hi.from_len > msg + hi.header_len)
			abort();
		check_addresses(hi.from, hi.from_len, HEADER_FROM_MAX);
		check_addresses(hi.from, hi.from_len, 1);
	}
	check_addresses(msg, size, HEADER_FROM_MAX);
	free(msg);
	return 0;
}
