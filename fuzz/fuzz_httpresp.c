/*
 * fuzz_httpresp: the reader of HTTP responses over arbitrary bytes. The
 * first byte picks where the input is split and the body limit; the
 * answer must not depend on the split, and a body never passes its
 * limit.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/httpresp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run(const char *p, size_t n, size_t cut, size_t max, struct httpresp *r)
{
	int rc = 0;

	httpresp_init(r, max);
	if (cut > 0)
		rc = httpresp_feed(r, p, cut);
	if (rc == 0)
		rc = httpresp_feed(r, p + cut, n - cut);
	if (rc == 0)
		rc = httpresp_eof(r);
	return rc;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct httpresp a, b;
	size_t max, cut, n;
	const char *p;
	int ra, rb;

	if (size < 1)
		return 0;
	max = (size_t)(data[0] & 0x0f) * 64;
	p = (const char *)data + 1;
	n = size - 1;
	cut = n ? (size_t)data[0] * 7919 % (n + 1) : 0;
	ra = run(p, n, 0, max, &a);
	rb = run(p, n, cut, max, &b);
	if (ra != rb || a.status != b.status)
		abort();
	if (ra == 1) {
		if (a.body.len > max || a.body.len != b.body.len ||
		    memcmp(a.body.data, b.body.data, a.body.len) != 0 ||
		    a.body.data[a.body.len] != '\0' ||
		    strcmp(a.content_type, b.content_type) != 0)
			abort();
	} else if (a.error == NULL || strcmp(a.error, b.error) != 0)
		abort();
	httpresp_free(&a);
	httpresp_free(&b);
	return 0;
}
