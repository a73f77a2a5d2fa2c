/*
 * fuzz_base64: the strict decoder on arbitrary bytes, and the encoder on
 * arbitrary data. Properties: a decoded string is canonical, so encoding
 * the result gives back the input exactly; encoding then decoding any
 * bytes gives them back; the decoder never writes past outmax, which is
 * also tried smaller than needed (the first byte chooses how much).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util/base64.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* The input as a string to decode: a canonical decode re-encodes to it. */
static void
check_decode(const char *in, size_t len, size_t outmax)
{
	unsigned char *out = malloc(outmax ? outmax : 1);
	char *again;
	long n;

	if (out == NULL)
		return;
	n = base64_decode(out, outmax, in, len);
	if (n < -1 || (n >= 0 && (size_t)n > outmax))
		abort();
	if (n >= 0) {
		if (len % 4 != 0 || (size_t)n > len / 4 * 3 ||
		    (size_t)n + 2 < len / 4 * 3)
			abort();
		again = malloc(BASE64_ENCODED_LEN((size_t)n));
		if (again == NULL)
			abort();
		if (base64_encode(again, out, (size_t)n) != len ||
		    memcmp(again, in, len) != 0)
			abort();
		free(again);
	}
	free(out);
}

/* The input as data to encode: decoding the encoding gives it back. */
static void
check_round_trip(const unsigned char *in, size_t len)
{
	char *enc = malloc(BASE64_ENCODED_LEN(len));
	unsigned char *dec = malloc(len ? len : 1);
	size_t elen, i;
	long n;

	if (enc == NULL || dec == NULL)
		abort();
	elen = base64_encode(enc, in, len);
	if (elen != BASE64_ENCODED_LEN(len) - 1 || enc[elen] != '\0')
		abort();
	for (i = 0; i < elen; i++)
		if (strchr(alphabet, enc[i]) == NULL &&
		    !(enc[i] == '=' && i + 2 >= elen))
			abort();
	n = base64_decode(dec, len, enc, elen);
	if (n < 0 || (size_t)n != len || memcmp(dec, in, len) != 0)
		abort();
	/* one byte short of room must be refused, not overrun */
	if (len > 0 && base64_decode(dec, len - 1, enc, elen) != -1)
		abort();
	free(enc);
	free(dec);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *in;
	size_t full;

	if ((in = malloc(size ? size : 1)) == NULL)
		return 0;
	if (size > 0)
		memcpy(in, data, size);
	full = size / 4 * 3;
	check_decode(in, size, full);
	if (size > 0)
		check_decode(in, size, (size_t)data[0] % (full + 1));
	free(in);
	check_round_trip(data, size);
	return 0;
}
