/*
 * fuzz_header: header_scan on an arbitrary message (a buffer of its
 * exact size, not NUL-terminated), then header_addresses on each
 * originator field with its grammar and on the whole input by every
 * grammar. Properties: nothing is read outside the message; header_len
 * and the field values lie inside it; at most max addresses, each
 * NUL-terminated inside its slot (so at most ADDR_MAX bytes) and not
 * empty; a refusal says why; and each address read, given alone as a
 * mailbox, is read back as itself (what postern checks is what it
 * would read again at the next step, the signer).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_addresses(const char *val, size_t len, enum header_grammar g, int max)
{
	char(*out)[ADDR_MAX + 1] = malloc((size_t)max * sizeof(*out));
	char again[1][ADDR_MAX + 1];
	const char *why = NULL;
	int n = -1, rc, i, m;

	if (out == NULL)
		abort();
	rc = header_addresses(val, len, g, out, max, &n, &why);
	if (rc != 0 && rc != -1)
		abort();
	if (rc == -1 && (why == NULL || n != 0))
		abort();
	if (rc == 0) {
		if (n < 0 || n > max || (g != HEADER_ADDRESS_LIST && n < 1) ||
		    (g == HEADER_MAILBOX && n != 1))
			abort();
		for (i = 0; i < n; i++) {
			const char *nul = memchr(out[i], '\0', ADDR_MAX + 1);
			size_t l;
			if (nul == NULL || nul == out[i])
				abort();
			l = (size_t)(nul - out[i]);
			if (header_addresses(out[i], l, HEADER_MAILBOX, again,
				1, &m, NULL) != 0 ||
			    m != 1 || strcmp(again[0], out[i]) != 0)
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
	int i;

	if (msg == NULL)
		return 0;
	if (size > 0)
		memcpy(msg, data, size);
	header_scan(msg, size, &hi);
	if (hi.header_len > size || hi.from_count < 0 ||
	    (hi.from_count > 0) != (hi.from != NULL) || hi.sender_count < 0 ||
	    hi.lookalike < 0 || hi.norig < hi.from_count + hi.sender_count)
		abort();
	if (hi.from != NULL && (hi.from < msg || hi.from_len > size ||
				   hi.from + hi.from_len > msg + hi.header_len))
		abort();
	for (i = 0; i < hi.norig && i < HEADER_ORIG_MAX; i++) {
		const struct header_field *f = &hi.orig[i];
		if (f->val < msg || f->len > size ||
		    f->val + f->len > msg + hi.header_len)
			abort();
		check_addresses(f->val, f->len, header_orig_grammar(f->kind),
		    HEADER_FROM_MAX);
		check_addresses(f->val, f->len, header_orig_grammar(f->kind),
		    1);
	}
	check_addresses(msg, size, HEADER_MAILBOX_LIST, HEADER_FROM_MAX);
	check_addresses(msg, size, HEADER_MAILBOX, 1);
	check_addresses(msg, size, HEADER_ADDRESS_LIST, HEADER_FROM_MAX);
	free(msg);
	return 0;
}
