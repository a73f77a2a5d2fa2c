/*
 * fuzz_tlsa: dane_tlsa_parse(), the TLSA RDATA reader, on arbitrary
 * bytes. Properties: it answers 0 or -1; what it accepts holds the
 * input's fields and data exactly, within bounds, digests at their
 * lengths; usable only for DANE-TA/DANE-EE with known selector and type.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tlspolicy/dane.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct dane_tlsa t;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int r = dane_tlsa_parse(data, size, &t);

	if (r != 0 && r != -1)
		abort();
	if (r == -1)
		return 0;
	if (size < 4 || t.len != size - 3 || t.len > DANE_TLSA_MAX_DATA)
		abort();
	if (t.usage != data[0] || t.selector != data[1] || t.mtype != data[2])
		abort();
	if (memcmp(t.data, data + 3, t.len) != 0)
		abort();
	if ((t.mtype == DANE_MTYPE_SHA256 && t.len != 32) ||
	    (t.mtype == DANE_MTYPE_SHA512 && t.len != 64))
		abort();
	if (t.usable !=
	    ((t.usage == 2 || t.usage == 3) && t.selector <= 1 && t.mtype <= 2))
		abort();
	return 0;
}
