/*
 * fuzz_authsock: the question Dovecot's checkpassword program asks the
 * auth socket, from arbitrary bytes. A question read has its fields
 * bounded, NUL-terminated and free of NULs.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dovecot/authsock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct authsock_question q;
	char *line;

	if (size > AUTHSOCK_LINE_MAX || (line = malloc(size + 1)) == NULL)
		return 0;
	memcpy(line, data, size);
	line[size] = '\0';
	if (authsock_question_parse(line, 64, &q) == 0 &&
	    (q.service[0] == '\0' || q.login[0] == '\0' ||
		q.password[0] == '\0' || q.ip[0] == '\0' ||
		strlen(q.login) >= sizeof(q.login) ||
		strlen(q.password) >= sizeof(q.password)))
		abort();
	free(line);
	return 0;
}
