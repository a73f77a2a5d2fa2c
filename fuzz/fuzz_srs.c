/*
 * fuzz_srs: the SRS decoder on arbitrary addresses (bounded, never an
 * out of bounds read or write, an answer of 0 only with a decoded
 * address shorter than the input), and the encoder's round trip: any
 * sender it rewrites decodes back to itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "forward/srs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW 1700000000

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct srs_key k;
	char *a, out[SRS_ADDR_MAX + 1], fwd[600], back[600];
	int rc;

	if (srs_key_from_string(&k, "fuzz-secret") == -1 ||
	    (a = malloc(size + 1)) == NULL)
		return 0;
	memcpy(a, data, size);
	a[size] = '\0';
	rc = srs_reverse(&k, a, NOW, 21, out, sizeof(out));
	if (rc == 0 && strlen(out) >= strlen(a) + 1)
		abort();
	if (rc != 0 && out[0] != '\0')
		abort();
	if (rc == SRS_NOT && srs_is_srs(a))
		abort();
	if (srs_forward(&k, a, "fwd.example", NOW, fwd, sizeof(fwd)) == 0 &&
	    strcmp(fwd, a) != 0) {
		rc = srs_reverse(&k, fwd, NOW, 21, back, sizeof(back));
		/* SRS0 made here decodes to the sender; SRS1 to the SRS0
		 * address of the first forwarder, which the sender was */
		if (rc != 0)
			abort();
		if (strncmp(fwd, "SRS0", 4) == 0 && strcmp(back, a) != 0)
			abort();
		if (strncmp(fwd, "SRS1", 4) == 0 && a[3] == '0' &&
		    strcmp(back + 4, a + 4) != 0) /* the tag: SRS0 */
			abort();
	}
	free(a);
	return 0;
}
