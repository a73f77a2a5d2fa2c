/*
 * fuzz_dmarc: the DMARC record parser on arbitrary bytes (a TXT value is
 * NUL-terminated: the input is cut at its first NUL). Checks that what
 * it accepts is in range, and that the policy domains it finds in From:
 * are canonical.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inbound/dmarc.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dmarc_record r;
	char *txt, dom[256];
	size_t i;

	if ((txt = malloc(size + 1)) == NULL)
		return 0;
	memcpy(txt, data, size);
	txt[size] = '\0';
	if (dmarc_record_parse(txt, &r) == 0) {
		if (r.p > DMARC_POLICY_REJECT || r.sp > DMARC_POLICY_REJECT ||
		    r.pct < 0 || r.pct > 100 || strlen(r.rua) > DMARC_URI_MAX ||
		    strlen(r.ruf) > DMARC_URI_MAX ||
		    strlen(r.fo) >= sizeof(r.fo) || (r.p_assumed && !r.has_rua))
			abort();
	}
	/* The same bytes as a header section. */
	if (dmarc_from_domain((const char *)data, size, dom, sizeof(dom)) ==
	    DMARC_FROM_OK) {
		for (i = 0; dom[i] != '\0'; i++)
			if (dom[i] >= 'A' && dom[i] <= 'Z')
				abort();
		if (i == 0)
			abort();
	}
	free(txt);
	return 0;
}
