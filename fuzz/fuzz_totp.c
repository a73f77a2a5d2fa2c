/*
 * fuzz_totp: what people type into the two-step sign-in, as a
 * NUL-terminated string: totp_verify (codes), totp_recovery_norm
 * (recovery codes) and totp_b32_decode (keys). Properties: a code is
 * accepted only as six digits (spaces aside); a normalised recovery code
 * is always "xxxxx-xxxxx"; decoded keys fit their buffer and are never
 * longer than 5/8 of the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/totp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char key[] = "12345678901234567890";
	char *s = malloc(size + 1), rc[TOTP_RECOVERY_LEN + 1];
	unsigned char out[TOTP_KEY_MAX];
	int64_t step = -7;
	size_t n = 0, i, digits = 0;

	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	if (totp_verify(key, 20, s, 1111111111, -1, &step) == 1) {
		for (i = 0; s[i]; i++) {
			if (s[i] >= '0' && s[i] <= '9')
				digits++;
			else if (s[i] != ' ')
				abort();
		}
		if (digits != TOTP_DIGITS || step < 1111111111 / 30 - 1 ||
		    step > 1111111111 / 30 + 1)
			abort();
	}
	if (totp_recovery_norm(s, rc) == 0 &&
	    (strlen(rc) != TOTP_RECOVERY_LEN || rc[5] != '-'))
		abort();
	if (totp_b32_decode(s, out, sizeof(out), &n) == 0 &&
	    (n > sizeof(out) || n > strlen(s) * 5 / 8))
		abort();
	free(s);
	return 0;
}
