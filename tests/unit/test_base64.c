/* test_base64: RFC 4648 vectors, and the strictness SASL relies on. */
#include "unit.h"
#include "util/base64.h"

static const struct {
	const char *label, *plain, *b64;
} vectors[] = {
	{ "empty", "", "" },
	{ "one byte, two pads", "f", "Zg==" },
	{ "two bytes, one pad", "fo", "Zm8=" },
	{ "three bytes, no pad", "foo", "Zm9v" },
	{ "four bytes", "foob", "Zm9vYg==" },
	{ "five bytes", "fooba", "Zm9vYmE=" },
	{ "six bytes", "foobar", "Zm9vYmFy" },
	{ "the last two symbols", "\xfb\xff\xbf", "+/+/" },
};

UNIT_TEST(test_rfc_4648_vectors_encode_and_decode)
{
	char enc[64];
	unsigned char dec[64];
	size_t i;

	for (i = 0; i < sizeof(vectors) / sizeof(vectors[0]); i++) {
		size_t len = strlen(vectors[i].plain);
		long n;

		CHECK(
		    base64_encode(enc, (const unsigned char *)vectors[i].plain,
			len) == strlen(vectors[i].b64));
		CHECK_STR(enc, vectors[i].b64);
		n = base64_decode(dec, sizeof(dec), vectors[i].b64,
		    strlen(vectors[i].b64));
		if (n != (long)len || memcmp(dec, vectors[i].plain, len) != 0) {
			printf("  case \"%s\": decoded %ld bytes\n",
			    vectors[i].label, n);
			unit_failed_now = 1;
		}
	}
}

static const struct {
	const char *label, *b64;
} refused[] = {
	{ "length not a multiple of 4", "Zg=" },
	{ "padding missing", "Zg" },
	{ "padding in the middle", "Zg==Zg==" },
	{ "a symbol after padding", "Zg=a" },
	{ "three pads", "Z===" },
	{ "only pads", "====" },
	{ "non-canonical bits before two pads", "Zh==" },
	{ "non-canonical bits before one pad", "Zm9=" },
	{ "a space", "Zm 9v" },
	{ "a line break", "Zm9v\r\n" },
	{ "the URL alphabet", "Zm9-" },
	{ "the other URL symbol", "Zm9_" },
	{ "8-bit byte", "Zm9\xc3" },
};

UNIT_TEST(test_anything_but_canonical_base64_is_refused)
{
	unsigned char dec[64];
	size_t i;

	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		long n = base64_decode(dec, sizeof(dec), refused[i].b64,
		    strlen(refused[i].b64));
		if (n != -1) {
			printf("  case \"%s\" accepted\n", refused[i].label);
			unit_failed_now = 1;
		}
	}
}

UNIT_TEST(test_a_nul_inside_the_input_is_refused)
{
	unsigned char dec[16];

	CHECK(base64_decode(dec, sizeof(dec), "Zm\0v", 4) == -1);
	CHECK(base64_decode(dec, sizeof(dec), "Zg=\0", 4) == -1);
}

UNIT_TEST(test_decoding_never_writes_past_outmax)
{
	unsigned char dec[8];

	memset(dec, 0x5a, sizeof(dec));
	CHECK(base64_decode(dec, 5, "Zm9vYmFy", 8) == -1);
	CHECK(dec[5] == 0x5a && dec[6] == 0x5a);
	memset(dec, 0x5a, sizeof(dec));
	CHECK(base64_decode(dec, 6, "Zm9vYmFy", 8) == 6);
	CHECK(memcmp(dec, "foobar", 6) == 0 && dec[6] == 0x5a);
	memset(dec, 0x5a, sizeof(dec));
	CHECK(base64_decode(dec, 4, "Zm9vYmE=", 8) == -1);
	CHECK(dec[4] == 0x5a);
	CHECK(base64_decode(dec, 5, "Zm9vYmE=", 8) == 5);
	CHECK(base64_decode(dec, 0, "", 0) == 0);
	CHECK(base64_decode(dec, 0, "Zg==", 4) == -1);
}

UNIT_TEST(test_every_byte_value_survives_a_round_trip)
{
	unsigned char all[256], dec[256];
	char enc[BASE64_ENCODED_LEN(256)];
	size_t len;
	int i;

	for (i = 0; i < 256; i++)
		all[i] = (unsigned char)i;
	for (len = 0; len <= sizeof(all); len += 1 + len / 4) {
		size_t e = base64_encode(enc, all, len);
		CHECK(e == BASE64_ENCODED_LEN(len) - 1);
		CHECK(base64_decode(dec, sizeof(dec), enc, e) == (long)len);
		CHECK(memcmp(dec, all, len) == 0);
	}
}
