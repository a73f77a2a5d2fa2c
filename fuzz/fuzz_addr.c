/*
 * fuzz_addr: the address and domain parser on arbitrary bytes. Checks
 * that an accepted address re-parses to itself (canonical is a fixed
 * point) and never overflows its fields; and that a login's canonical
 * spelling is its own canonical spelling, and fits where it is kept.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mail/addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[ADDR_LOGIN_IN_MAX + 1], err[256], again[ADDR_MAX + 2];
	char canon[ADDR_MAX + 1], twice[ADDR_MAX + 1];
	struct addr a, b;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (addr_parse(in, &a, err, sizeof(err)) == 0) {
		if (strlen(a.local) > ADDR_LOCAL_MAX || strlen(a.domain) > 253)
			abort();
		strcpy(again, a.local);
		strcat(again, "@");
		strcat(again, a.domain);
		if (addr_parse(again, &b, err, sizeof(err)) != 0 ||
		    strcmp(a.domain, b.domain) != 0 ||
		    strcmp(a.local_key, b.local_key) != 0)
			abort();
	}
	if (addr_login_canon(in, canon, sizeof(canon), err, sizeof(err)) == 0) {
		if (strlen(canon) > ADDR_MAX ||
		    addr_login_canon(canon, twice, sizeof(twice), err,
			sizeof(err)) != 0 ||
		    strcmp(canon, twice) != 0)
			abort();
	}
	return 0;
}
