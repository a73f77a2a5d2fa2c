/*
 * test_client_addr: the key every per-address limit counts a client
 * under (net_client_addr): IPv4 as it is, IPv4-mapped IPv6 as the
 * IPv4 address, IPv6 as its network of ipv6_prefix bits.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "unit.h"
#include "util/net.h"

static void
sa_of(const char *text, struct sockaddr_storage *ss)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		return;
	}
	if (inet_pton(AF_INET6, text, &in6->sin6_addr) != 1)
		abort();
	in6->sin6_family = AF_INET6;
}

UNIT_TEST(test_a_client_counts_as_its_ipv4_address_or_its_ipv6_network)
{
	static const struct {
		const char *label, *addr;
		int prefix;
		const char *ip, *key;
	} cases[] = {
		{ "IPv4 as it is", "192.0.2.7", 64, "192.0.2.7", "192.0.2.7" },
		{ "IPv4-mapped IPv6 is the IPv4 address", "::ffff:192.0.2.7",
		    64, "192.0.2.7", "192.0.2.7" },
		{ "IPv4-mapped with a /128 too", "::ffff:10.1.2.3", 128,
		    "10.1.2.3", "10.1.2.3" },
		{ "IPv6 counts per /64", "2001:db8:1:2:a:b:c:d", 64,
		    "2001:db8:1:2:a:b:c:d", "2001:db8:1:2::/64" },
		{ "another address of the same /64", "2001:db8:1:2::ffff", 64,
		    "2001:db8:1:2::ffff", "2001:db8:1:2::/64" },
		{ "the next /64 is another key", "2001:db8:1:3::1", 64,
		    "2001:db8:1:3::1", "2001:db8:1:3::/64" },
		{ "a /56", "2001:db8:1:2ff:1::1", 56, "2001:db8:1:2ff:1::1",
		    "2001:db8:1:200::/56" },
		{ "a prefix inside a byte (/60)", "2001:db8:1:2ff::1", 60,
		    "2001:db8:1:2ff::1", "2001:db8:1:2f0::/60" },
		{ "/128 is the address", "2001:db8::1", 128, "2001:db8::1",
		    "2001:db8::1" },
		{ "loopback", "::1", 64, "::1", "::/64" },
		{ "6to4: the /48 of one IPv4 address", "2002:c000:201:1::a", 64,
		    "2002:c000:201:1::a", "2002:c000:201::/48" },
		{ "6to4: another /64 of it is the same client",
		    "2002:c000:201:ffff::1", 64, "2002:c000:201:ffff::1",
		    "2002:c000:201::/48" },
		{ "6to4: a shorter prefix stays", "2002:c000:201:1::a", 32,
		    "2002:c000:201:1::a", "2002:c000::/32" },
		{ "6to4 with /128 is the address", "2002:c000:201:1::a", 128,
		    "2002:c000:201:1::a", "2002:c000:201:1::a" },
	};
	struct sockaddr_storage ss;
	char ip[NET_IP_MAX], key[NET_IPKEY_MAX];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sa_of(cases[i].addr, &ss);
		if (net_client_addr((struct sockaddr *)&ss, cases[i].prefix, ip,
			sizeof(ip), key, sizeof(key)) != 0 ||
		    strcmp(ip, cases[i].ip) != 0 ||
		    strcmp(key, cases[i].key) != 0) {
			printf("  FAIL %s: ip=%s key=%s\n", cases[i].label, ip,
			    key);
			unit_failed_now = 1;
		}
	}
	/* the longest address fits both buffers */
	sa_of("ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &ss);
	CHECK(net_client_addr((struct sockaddr *)&ss, 127, ip, sizeof(ip), key,
		  sizeof(key)) == 0);
	CHECK_STR(key, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe/127");
	ss.ss_family = AF_UNIX;
	CHECK(net_client_addr((struct sockaddr *)&ss, 64, ip, sizeof(ip), key,
		  sizeof(key)) == -1);
}
