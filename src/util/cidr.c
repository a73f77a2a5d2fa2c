/*
 * cidr: parse, print and match networks, with inet_pton doing the
 * address syntax. v4-mapped IPv6 client addresses match IPv4 networks.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cidr.h"
#include "str.h"

static int
cidr_addr(const char *text, int *family, unsigned char *addr)
{
	if (inet_pton(AF_INET, text, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, text, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -1;
}

int
cidr_parse(const char *text, struct cidr *c, char *err, size_t errlen)
{
	char buf[CIDR_TEXT_MAX], *slash, fixed[CIDR_TEXT_MAX];
	int max, i;

	memset(c, 0, sizeof(*c));
	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "not a network (192.0.2.0/24)");
		return -1;
	}
	str_lcpy(buf, text, sizeof(buf));
	if ((slash = strchr(buf, '/')) != NULL)
		*slash++ = '\0';
	if (cidr_addr(buf, &c->family, c->addr) == -1) {
		snprintf(err, errlen,
		    "not an IP network (192.0.2.0/24 or 2001:db8::/48)");
		return -1;
	}
	max = c->family == AF_INET ? 32 : 128;
	c->prefix = max;
	if (slash) {
		char *end;
		long p = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || p < 0 || p > max ||
		    (slash[0] == '0' && slash[1] != '\0')) {
			snprintf(err, errlen, "prefix length must be 0..%d",
			    max);
			return -1;
		}
		c->prefix = (int)p;
	}
	for (i = c->prefix; i < max; i++)
		if (c->addr[i / 8] & (0x80 >> (i % 8))) {
			struct cidr m = *c;
			for (; i < max; i++)
				m.addr[i / 8] &=
				    (unsigned char)~(0x80 >> (i % 8));
			cidr_format(&m, fixed, sizeof(fixed));
			snprintf(err, errlen,
			    "host bits are set: did you mean %s?", fixed);
			return -1;
		}
	return 0;
}

void
cidr_format(const struct cidr *c, char *out, size_t len)
{
	char a[INET6_ADDRSTRLEN];

	inet_ntop(c->family, c->addr, a, sizeof(a));
	snprintf(out, len, "%s/%d", a, c->prefix);
}

int
cidr_contains(const struct cidr *c, const char *ip)
{
	unsigned char addr[16];
	int family, i;

	if (cidr_addr(ip, &family, addr) == -1)
		return 0;
	if (family == AF_INET6 && c->family == AF_INET &&
	    memcmp(addr, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0) {
		memmove(addr, addr + 12, 4);
		family = AF_INET;
	}
	if (family != c->family)
		return 0;
	for (i = 0; i < c->prefix / 8; i++)
		if (addr[i] != c->addr[i])
			return 0;
	if (c->prefix % 8) {
		unsigned char mask =
		    (unsigned char)(0xff << (8 - c->prefix % 8));
		if ((addr[i] & mask) != (c->addr[i] & mask))
			return 0;
	}
	return 1;
}
