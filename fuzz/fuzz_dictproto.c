/*
 * fuzz_dictproto: Dovecot's dict protocol lines (dovecot/dictproto.c) on
 * arbitrary bytes, as dict.c hands them over: one line without its LF,
 * NUL-terminated. What it accepts has its fields inside the line, and
 * escaping a field again gives a line that reads the same.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dovecot/dictproto.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dictp_req r, r2;
	char *line, esc[2 * DICTP_LINE_MAX + 2], again[2 * DICTP_LINE_MAX + 4];
	const char *user;
	long n;

	if (size > DICTP_LINE_MAX + 1 || (line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (dictp_parse(line, size, &r) == 0) {
		if (r.user == NULL || strchr("HLIBCDRSUAT", r.cmd) == NULL)
			abort();
		if (r.key) {
			(void)dictp_key(r.key, &user);
			/* a lookup of the escaped key reads the same key */
			n = dictp_escape(esc, sizeof(esc), r.key);
			if (n < 0)
				abort();
			again[0] = 'L';
			memcpy(again + 1, esc, (size_t)n + 1);
			if (dictp_parse(again, (size_t)n + 1, &r2) == 0 &&
			    strcmp(r2.key, r.key) != 0)
				abort();
		}
	}
	free(line);
	return 0;
}
