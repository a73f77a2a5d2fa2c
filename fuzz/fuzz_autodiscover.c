/*
 * fuzz_autodiscover: autoconfig_parse_request on an arbitrary body.
 * Properties: nothing is read outside the body; on success the address
 * is NUL-terminated inside out, not empty, holds no '<' nor a control
 * character, and is no longer than the body.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http/autoconfig.h"
#include "mail/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[ADDR_MAX + 1], small[8];
	char *body = malloc(size ? size : 1);
	size_t n, i;

	if (body == NULL)
		return 0;
	if (size > 0)
		memcpy(body, data, size);
	if (autoconfig_parse_request(body, size, out, sizeof(out)) == 0) {
		const char *nul = memchr(out, '\0', sizeof(out));
		if (nul == NULL || nul == out ||
		    (n = (size_t)(nul - out)) > size)
			abort();
		for (i = 0; i < n; i++)
			if (out[i] == '<' || (unsigned char)out[i] < 0x20)
				abort();
	}
	if (autoconfig_parse_request(body, size, small, sizeof(small)) == 0 &&
	    memchr(small, '\0', sizeof(small)) == NULL)
		abort();
	free(body);
	return 0;
}
