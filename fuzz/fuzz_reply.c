/*
 * fuzz_reply: the parser of remote servers' replies, fed line by line
 * from arbitrary bytes. The kept text must stay printable and bounded.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "delivery/reply.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size;
	struct reply r;
	size_t i;

	reply_init(&r);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		int rc = reply_line(&r, p, n);
		if (r.textlen >= sizeof(r.text) || strlen(r.text) != r.textlen)
			abort();
		for (i = 0; i < r.textlen; i++)
			if ((unsigned char)r.text[i] < 0x20 ||
			    (unsigned char)r.text[i] > 0x7e)
				abort();
		if (rc != 0)
			reply_init(&r);
		p += n + (nl ? 1 : 0);
	}
	return 0;
}
