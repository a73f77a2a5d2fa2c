/*
 * fuzz_dkim_verify: DKIM's parsers of hostile text: the DKIM-Signature
 * field (tags, base64, lists, numbers) and the key record (a TXT value,
 * cut at the first NUL). Checks that what they accept is within bounds,
 * and that b= lies inside the field.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dkim/dkim.h"
#include "dkim/verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dkim_sig_tags *s;
	struct dkim_key_rec k;
	const char *why;
	char *txt;

	if ((s = malloc(sizeof(*s))) == NULL)
		return 0;
	if (dkim_sig_parse((const char *)data, size, s, &why) == 0) {
		if (s->b_start > s->b_end || s->b_end > size || s->blen == 0 ||
		    s->blen > sizeof(s->b) ||
		    (s->alg != DKIM_RSA && s->alg != DKIM_ED25519) ||
		    s->d[0] == '\0' || s->s[0] == '\0' || strlen(s->b8) > 8 ||
		    strlen(s->h) > DKIM_VERIFY_H_MAX ||
		    (s->has_t && s->has_x && s->x < s->t))
			abort();
	} else if (why == NULL) {
		abort();
	}
	free(s);

	if ((txt = malloc(size + 1)) == NULL)
		return 0;
	memcpy(txt, data, size);
	txt[size] = '\0';
	if (dkim_key_parse(txt, &k, &why) == 0) {
		if (k.plen > sizeof(k.p) || k.revoked != (k.plen == 0) ||
		    (k.alg != DKIM_RSA && k.alg != DKIM_ED25519))
			abort();
	}
	free(txt);
	return 0;
}
