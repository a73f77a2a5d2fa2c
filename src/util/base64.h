/*
 * base64: strict RFC 4648 encoding and decoding (no whitespace, padding
 * required), for SASL exchanges where a sloppy decoder is an attack
 * surface.
 */
#ifndef POSTERN_BASE64_H
#define POSTERN_BASE64_H

#include <stddef.h>

#define BASE64_ENCODED_LEN(n) ((((n) + 2) / 3) * 4 + 1)

/* Encode len bytes; out holds BASE64_ENCODED_LEN(len). Returns length. */
size_t base64_encode(char *out, const unsigned char *in, size_t len);
/* Decode a NUL-free string of inlen chars into out (at most outmax
 * bytes). Returns the decoded length, or -1 on any bad input. */
long base64_decode(unsigned char *out, size_t outmax, const char *in,
    size_t inlen);

#endif
