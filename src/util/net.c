/*
 * net: listening sockets and client addresses as text (see net.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "log.h"
#include "net.h"
#include "str.h"

int
net_addr_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[128];
	const char *colon;
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
	long port;
	char *end;

	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *rb = strchr(text, ']');
		if (rb == NULL || rb[1] != ':' ||
		    (size_t)(rb - text - 1) >= sizeof(host))
			return -1;
		memcpy(host, text + 1, (size_t)(rb - text - 1));
		host[rb - text - 1] = '\0';
		colon = rb + 1;
	} else {
		if ((colon = strrchr(text, ':')) == NULL ||
		    (size_t)(colon - text) >= sizeof(host))
			return -1;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
	}
	port = strtol(colon + 1, &end, 10);
	if (*end != '\0' || port < 1 || port > 65535)
		return -1;
	if (inet_pton(AF_INET, host[0] ? host : "0.0.0.0", &in4->sin_addr) ==
	    1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

int
net_ip_parse(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, text, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		*len = sizeof(*in4);
		return 0;
	}
	if (inet_pton(AF_INET6, text, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		*len = sizeof(*in6);
		return 0;
	}
	return -1;
}

int
net_listen_socket(const char *text)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int fd, one = 1;

	if (net_addr_parse(text, &ss, &len) == -1) {
		log_warnx("net.listen address=\"%s\" error=\"not ADDR:PORT\"",
		    text);
		return -1;
	}
	if ((fd = socket(ss.ss_family,
		 SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* each loop has its own socket; the kernel spreads connections */
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) == -1 ||
	    listen(fd, 4096) == -1) {
		log_warnx("net.listen address=%s error=\"%s\"", text,
		    strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

int
net_client_addr(const struct sockaddr *sa, int v6_prefix, char *ip,
    size_t iplen, char *key, size_t keylen)
{
	const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
	struct in6_addr net;
	char text[INET6_ADDRSTRLEN];
	int i;

	if (sa->sa_family == AF_INET) {
		if (inet_ntop(AF_INET,
			&((const struct sockaddr_in *)sa)->sin_addr, text,
			sizeof(text)) == NULL)
			return -1;
		str_lcpy(ip, text, iplen);
		str_lcpy(key, text, keylen);
		return 0;
	}
	if (sa->sa_family != AF_INET6)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr)) {
		/* ::ffff:a.b.c.d is a.b.c.d, for limits and relay networks */
		if (inet_ntop(AF_INET, &in6->sin6_addr.s6_addr[12], text,
			sizeof(text)) == NULL)
			return -1;
		str_lcpy(ip, text, iplen);
		str_lcpy(key, text, keylen);
		return 0;
	}
	if (inet_ntop(AF_INET6, &in6->sin6_addr, text, sizeof(text)) == NULL)
		return -1;
	str_lcpy(ip, text, iplen);
	if (v6_prefix < 0 || v6_prefix >= 128) {
		str_lcpy(key, text, keylen);
		return 0;
	}
	/* 6to4 (RFC 3056): 2002:V4ADDR::/48 belongs to whoever holds one
	 * IPv4 address, 65536 /64s; never counted finer than that /48 */
	if (in6->sin6_addr.s6_addr[0] == 0x20 &&
	    in6->sin6_addr.s6_addr[1] == 0x02 && v6_prefix > 48)
		v6_prefix = 48;
	net = in6->sin6_addr;
	for (i = 0; i < 16; i++) {
		int bits = v6_prefix - i * 8;
		if (bits <= 0)
			net.s6_addr[i] = 0;
		else if (bits < 8)
			net.s6_addr[i] &= (unsigned char)(0xff << (8 - bits));
	}
	if (inet_ntop(AF_INET6, &net, text, sizeof(text)) == NULL)
		return -1;
	snprintf(key, keylen, "%s/%d", text, v6_prefix);
	return 0;
}
