/*
 * fuzz_trace: the header readers forwarding uses, on arbitrary bytes:
 * never a read past the input, counts within the line limit, and our
 * Authentication-Results value always a string that fits and holds no
 * line break.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mail/trace.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *m, out[512];

	/* an exact allocation: ASan sees a read one past the end */
	if ((m = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(m, data, size);
	(void)trace_delivered_to(m, size, "alice@example.org");
	if (trace_count(m, size, "ARC-Seal") > TRACE_LINES_MAX)
		abort();
	if (trace_authres(m, size, "mail.example.test", out, sizeof(out)) ==
	    0) {
		if (strlen(out) >= sizeof(out) || strchr(out, '\n') ||
		    strncasecmp(out, "mail.example.test", 17) != 0)
			abort();
	}
	free(m);
	return 0;
}
