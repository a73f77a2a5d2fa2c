/*
 * resolve: where mail for a domain goes, asked of DNS with c-ares on a
 * libevent loop (no threads, nothing blocks). MX records by preference,
 * each host's AAAA then A addresses; the implicit MX of RFC 5321 5.1 and
 * the null MX of RFC 7505. The queue asks, the outbound client connects.
 */
#ifndef POSTERN_RESOLVE_H
#define POSTERN_RESOLVE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include <event2/event.h>

struct resolver;

/*
 * servers: "" for /etc/resolv.conf, else "IP[:PORT], IP[:PORT]" (IPv6 as
 * "[::1]:5353" when a port is given, at most RESOLVE_MAX_SERVERS); this is
 * how tests point postern at a DNS server on loopback. Queries are tried
 * twice per server, 2 s the first time, 4 s the second (c-ares doubles the
 * timeout on each round). NULL and a message in err on error.
 */
#define RESOLVE_MAX_SERVERS 8
struct resolver *resolver_new(struct event_base *, const char *servers,
    char *err, size_t errlen);
/* 1 if every server the resolver asks is on loopback: a local
 * validating resolver, whose AD bit can be believed (RFC 7672 2.1, as
 * Postfix's smtp_dns_support_level = dnssec expects). */
int resolver_is_local(struct resolver *);
/* Frees the resolver; pending queries end without their callbacks. */
void resolver_free(struct resolver *);

#define RESOLVE_MAX_HOSTS 16
#define RESOLVE_MAX_ADDRS 16

struct resolve_host {
	char name[256]; /* no trailing dot */
	int pref;
	/* 1: each address answer that had records came DNSSEC-validated
	 * (the AD bit); see resolve_result.secure */
	int secure;
	int naddrs; /* 1 or more in a result */
	struct sockaddr_storage addrs[RESOLVE_MAX_ADDRS]; /* port 0 */
	socklen_t addrlens[RESOLVE_MAX_ADDRS];
};

enum resolve_status {
	RESOLVE_OK,
	RESOLVE_NULL_MX,  /* RFC 7505: the domain takes no mail, bounce */
	RESOLVE_NXDOMAIN, /* permanent: the domain does not exist, or no
			     mail host of it has an address */
	RESOLVE_TEMPFAIL  /* SERVFAIL, timeout, refused: retry later */
};

struct resolve_result {
	enum resolve_status status;
	char why[256]; /* for logs and DSNs when not RESOLVE_OK */
	/* 1: the MX answer (or its NODATA) came with the AD bit: DNSSEC-
	 * validated by the resolver, if the resolver is one to trust
	 * (resolver_is_local) */
	int secure;
	int nhosts; /* 1 or more with RESOLVE_OK, else 0 */
	struct resolve_host hosts[RESOLVE_MAX_HOSTS];
};

/*
 * Resolve the mail hosts of a domain (A-labels, trailing dot allowed): MX
 * records sorted by preference (equal preferences in random order, the 16
 * best kept), each host's AAAA and A addresses (IPv6 first, then IPv4, at
 * most 16, each family keeping at least half when both have more); no MX
 * at all -> the domain itself as an implicit MX (RFC 5321 5.1) with its
 * A/AAAA; a single MX "." of preference 0 -> RESOLVE_NULL_MX; NXDOMAIN ->
 * RESOLVE_NXDOMAIN; a host with no addresses is skipped (when none is
 * left: RESOLVE_TEMPFAIL if a look-up failed temporarily, else
 * RESOLVE_NXDOMAIN); a malformed domain -> RESOLVE_NXDOMAIN. The port is
 * not part of this. cb runs once, on the loop, never inside resolve_mx();
 * the result is only valid during cb. *handle (if not NULL) is set to a
 * non-zero id. Returns 0, or -1 if the query could not start (no cb).
 */
int resolve_mx(struct resolver *, const char *domain,
    void (*cb)(struct resolve_result *, void *), void *arg, uint64_t *handle);
/* Cancel a pending query: its cb is not called. Unknown handles: no-op. */
void resolver_cancel(struct resolver *, uint64_t handle);

/*
 * The DNS questions of the inbound checks (util/dnsq.h: TXT, A, AAAA,
 * MX, PTR) on this resolver's channel and loop, answered from the loop,
 * never inside ask; cancel makes a question silent. The same struct for
 * the resolver's life; resolver_free() ends pending questions without
 * their callbacks. (dnsq_ares.c)
 */
struct dnsq;
struct dnsq *resolver_dnsq(struct resolver *);

/* Text of a status for logs: "ok", "null-mx", "nxdomain", "tempfail". */
const char *resolve_status_name(enum resolve_status);

/*
 * Blocking TXT lookup for `postern domain check` (a CLI, not the server):
 * every TXT record of name, its strings joined, one per out[] (at most max,
 * each cut at 1023 bytes, NUL-terminated). Returns the number of records
 * (0: none, or the name does not exist), -1 on error (SERVFAIL, timeout).
 */
int resolve_txt_sync(const char *servers, const char *name, char out[][1024],
    int max);
/* Blocking MX lookup for `postern domain check`, same result as resolve_mx.
 * Returns 0 (see res->status), -1 if the resolver could not start. */
int resolve_mx_sync(const char *servers, const char *domain,
    struct resolve_result *res);

#endif
