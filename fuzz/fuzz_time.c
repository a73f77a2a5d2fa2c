/*
 * fuzz_time: str_time(), the `--since` parser (also reached from the
 * JSON API), on arbitrary bytes. Properties: it answers -1 or a time
 * not after now; a full UTC date-time it accepts prints back the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/str.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW ((int64_t)1727778000)

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[128], out[64];
	int64_t t;
	time_t tt;
	struct tm tm;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	t = str_time(in, NOW);
	if (t < -1)
		abort();
	/* "YYYY-MM-DDTHH:MM:SSZ": exactly one way to write each second */
	if (t >= 0 && size == 20 && in[10] == 'T' && in[19] == 'Z' &&
	    strspn(in, "0123456789-:TZ") == 20) {
		tt = (time_t)t;
		if (gmtime_r(&tt, &tm) == NULL)
			abort();
		strftime(out, sizeof(out), "%Y-%m-%dT%H:%M:%SZ", &tm);
		if (strcmp(out, in) != 0)
			abort();
	}
	return 0;
}
