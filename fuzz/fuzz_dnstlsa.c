/*
 * fuzz_dnstlsa: dnsq_tlsa_walk(), the walk over a DNS answer's records
 * that finds the TLSA ones (c-ares has no TLSA parser), on arbitrary
 * bytes. Properties: it answers success or a malformed answer, and each
 * record it hands over lies wholly inside the input.
 */
#include <stdint.h>
#include <stdlib.h>

#include <ares.h>

#include "delivery/resolve_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct span {
	const uint8_t *buf;
	size_t size;
	int n;
};

static int
keep(void *arg, const unsigned char *rd, size_t len)
{
	struct span *s = arg;

	if (rd < s->buf || rd + len > s->buf + s->size)
		abort();
	s->n++;
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct span s = { data, size, 0 };
	int r;

	if (size > 65535)
		return 0;
	r = dnsq_tlsa_walk(data, (int)size, keep, &s);
	if (r != ARES_SUCCESS && r != ARES_EBADRESP)
		abort();
	return 0;
}
