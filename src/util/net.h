/*
 * net: where a socket address becomes text and text a socket, for every
 * listener of `postern serve` (SMTP, HTTP, and the services to come).
 */
#ifndef POSTERN_NET_H
#define POSTERN_NET_H

#include <stddef.h>
#include <sys/socket.h>

#define NET_IP_MAX 46
#define NET_IPKEY_MAX (NET_IP_MAX + 4) /* "/NN" */

/* "ADDR:PORT" or "[V6]:PORT" into a sockaddr; -1 if not one. */
int net_addr_parse(const char *text, struct sockaddr_storage *, socklen_t *);
/* A bare address, IPv4 or IPv6 (a client's, as another program saw it),
 * into a sockaddr with port 0; -1 if not one. */
int net_ip_parse(const char *text, struct sockaddr_storage *, socklen_t *);
/* A listening socket (SO_REUSEPORT) on "ADDR:PORT"; -1 logged. */
int net_listen_socket(const char *text);
/*
 * The edge where a client address becomes text, once per connection:
 * ip is the address (IPv4-mapped IPv6 written as the IPv4 address it
 * is); key is ip for IPv4, and for IPv6 its network of v6_prefix bits,
 * "2001:db8:1:2::/64" (a /128 is the bare address), since one
 * subscriber holds a whole /64; a 6to4 address never finer than its
 * /48. Every per-address limit and counter uses key. 0, or -1 if sa is
 * neither family.
 */
int net_client_addr(const struct sockaddr *sa, int v6_prefix, char *ip,
    size_t iplen, char *key, size_t keylen);

#endif
