/*
 * cidr: IPv4 and IPv6 networks ("192.0.2.0/24", "2001:db8::/32"), as
 * relay networks are written, and the test of an address against one.
 */
#ifndef POSTERN_CIDR_H
#define POSTERN_CIDR_H

#include <stddef.h>

#define CIDR_TEXT_MAX 64

struct cidr {
	int family; /* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;
};

/* A network; a bare address is a /32 or /128. Refuses set host bits
 * (so "192.0.2.7/24" is an error naming 192.0.2.0/24). */
int cidr_parse(const char *text, struct cidr *, char *err, size_t errlen);
void cidr_format(const struct cidr *, char *out, size_t len);
/* Is the address (text form, v4, v6 or v4-mapped v6) inside? */
int cidr_contains(const struct cidr *, const char *ip);

#endif
