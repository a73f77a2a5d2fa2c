/*
 * str: small string helpers that know nothing of mail.
 */
#ifndef POSTERN_STR_H
#define POSTERN_STR_H

#include <stddef.h>
#include <stdint.h>

size_t str_lcpy(char *dst, const char *src, size_t size);
void str_ascii_lower(char *s);
/* 1 if the first n bytes of a and b are equal, ASCII letters in any
 * case (no locale, NUL a byte like any other). */
int str_ascii_ieq(const char *a, const char *b, size_t n);
/* FNV-1a of a string, for the in-memory tables keyed by text (client
 * address keys, queue ids, destinations); not for secrets. */
uint64_t str_hash(const char *s);
/* src as printable ASCII for a protocol reply: any other byte is '?' */
const char *str_printable(char *dst, size_t size, const char *src);
/* Parse a duration "90", "30s", "15m", "1h", "5d": seconds, or -1. */
int64_t str_duration(const char *s);
/* Parse a size "1024", "10k", "25M", "1G": bytes, or -1. */
int64_t str_size(const char *s);
/* Parse a non-negative decimal integer; -1 on anything else. */
int64_t str_uint(const char *s);
/*
 * A point in time for a filter: unix seconds, a duration back from now
 * ("30m", "7d"), or a UTC date "2024-10-01" with an optional time
 * "T10:00" or "T10:00:00" (a space for the T, a final Z allowed). -1 if
 * none of these.
 */
int64_t str_time(const char *s, int64_t now);
void str_hex(char *dst, const unsigned char *src, size_t len);
/* The value of one hex digit, either case; -1 if it is none. */
int str_hexval(int c);
int str_unhex(unsigned char *dst, size_t dstlen, const char *src);
/* Read a whole file (NUL-terminated, at most max bytes); NULL on error. */
char *str_read_file(const char *path, size_t max, size_t *len);
/* Read stdin up to max bytes, strip one trailing newline. */
char *str_read_stdin(size_t max);
/* Write a file via temp+rename; mode applies to the new file. */
int str_write_file(const char *path, const void *data, size_t len, int mode);

#endif
