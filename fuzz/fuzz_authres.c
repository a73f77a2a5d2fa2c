/*
 * fuzz_authres: removing forged Authentication-Results fields from an
 * arbitrary message. The result is never longer, and what is left of the
 * header section claims the id no more.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inbound/authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *m = malloc(size + 1);
	size_t len = size, len2;

	if (m == NULL)
		return 0;
	memcpy(m, data, size);
	m[size] = '\0';
	authres_strip(m, &len, "mx.example.org");
	if (len > size)
		abort();
	len2 = len;
	if (authres_strip(m, &len2, "mx.example.org") != 0 || len2 != len)
		abort(); /* stripping is complete in one pass */
	free(m);
	return 0;
}
