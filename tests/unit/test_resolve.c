/*
 * test_resolve: MX resolution against tests/dns/dnsserver.py on loopback,
 * driven by a real event_base. The server starts at the first test that
 * needs it and is stopped at exit (and dies with this process).
 */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "unit.h"
#include "delivery/resolve.h"
#include "util/dnsq.h"

#define DNS_SCRIPT "tests/dns/dnsserver.py"
#define DNS_ZONE "/tmp/postern-unit-dns.zone"
#define L63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define LONG_HOST                                                              \
	L63 "." L63 "." L63 "."                                                \
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcd"

static const char dns_zone[] =
    "# several MX hosts: by preference, ties in random order\n"
    "multi.test. MX 20 mx20.multi.test.\n"
    "multi.test. MX 10 mx10a.multi.test.\n"
    "multi.test. MX 10 mx10b.multi.test.\n"
    "multi.test. MX 5 mx5.multi.test.\n"
    "multi.test. MX 30 noaddr.multi.test.\n"
    "multi.test. MX 40 gone.multi.test.\n"
    "multi.test. MX 50 mx5.multi.test.\n"
    "mx5.multi.test. A 127.0.0.5\n"
    "mx10a.multi.test. A 127.0.0.10\n"
    "mx10b.multi.test. A 127.0.0.11\n"
    "mx20.multi.test. A 127.0.0.20\n"
    "mx20.multi.test. AAAA 2001:db8::20\n"
    "mx20.multi.test. A 127.0.0.21\n"
    "mx20.multi.test. AAAA 2001:db8::21\n"
    "noaddr.multi.test. TXT \"a host without addresses\"\n"
    "# no MX: the domain itself\n"
    "implicit.test. A 127.0.0.7\n"
    "implicit.test. AAAA 2001:db8::7\n"
    "nomail.test. TXT \"neither MX nor address\"\n"
    "nullmx.test. MX 0 .\n"
    "servfail.test. SERVFAIL\n"
    "silent.test. DROP\n"
    "# a CNAME'd MX host\n"
    "cname.test. MX 10 alias.cname.test.\n"
    "alias.cname.test. CNAME real.cname.test.\n"
    "real.cname.test. A 127.0.0.8\n"
    "real.cname.test. AAAA 2001:db8::8\n"
    "# one family fails for a while, the other answers\n"
    "half.test. MX 10 mx.half.test.\n"
    "mx.half.test. SERVFAIL AAAA\n"
    "mx.half.test. A 127.0.0.9\n"
    "broken.test. MX 10 mx.broken.test.\n"
    "mx.broken.test. SERVFAIL\n"
    "noaddrs.test. MX 10 a.noaddrs.test.\n"
    "noaddrs.test. MX 20 b.noaddrs.test.\n"
    "a.noaddrs.test. TXT \"x\"\n"
    "# hostile or broken answers\n"
    "corrupt.test. CORRUPT\n"
    "corrupt.test. MX 10 mx5.multi.test.\n"
    "corrupt2.test. MX 10 mx.corrupt2.test.\n"
    "mx.corrupt2.test. CORRUPT A\n"
    "mx.corrupt2.test. A 127.0.0.12\n"
    "mx.corrupt2.test. AAAA 2001:db8::12\n"
    "aliased.test. CNAME multi.test.\n"
    "txt.test. TXT \"v=spf1 \" \"-all\"\n"
    "txt.test. TXT \"second record\"\n"
    "# the inbound checks' questions (resolver_dnsq)\n"
    "spf.test. TXT \"v=spf1 \" \"ip4:192.0.2.0/24 \" \"-all\"\n"
    "spf.test. TXT \"other\"\n"
    "spf.test. A 192.0.2.1\n"
    "spf.test. AAAA 2001:db8::1\n"
    "spf.test. MX 20 MX2.Spf.Test.\n"
    "spf.test. MX 10 mx1.spf.test.\n"
    "spf.test. MX 30 mx3.spf.test.\n"
    "5.2.0.192.in-addr.arpa. PTR Mail.Spf.Test.\n"
    "5.2.0.192.in-addr.arpa. PTR other.spf.test.\n"
    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. "
    "PTR v6.spf.test.\n"
    "# DANE: a signed domain (the AD bit) with TLSA records, and another not\n"
    "dane.test. MX 10 mx.dane.test.\n"
    "dane.test. SECURE\n"
    "mx.dane.test. A 127.0.0.13\n"
    "mx.dane.test. SECURE\n"
    "_25._tcp.mx.dane.test. TLSA 3 1 1 "
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n"
    "_25._tcp.mx.dane.test. TLSA 2 0 1 "
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100\n"
    "_25._tcp.mx.dane.test. SECURE\n"
    "_25._tcp.mx.unsigned.test. TLSA 3 1 1 "
    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n";

static pid_t dns_pid;
static char dns_servers[64];

static void
dns_stop(void)
{
	int i, status;

	if (dns_pid <= 0)
		return;
	kill(dns_pid, SIGTERM);
	for (i = 0; i < 300; i++) { /* 3 s, then SIGKILL */
		if (waitpid(dns_pid, &status, WNOHANG) == dns_pid)
			break;
		usleep(10000);
	}
	if (i == 300) {
		kill(dns_pid, SIGKILL);
		waitpid(dns_pid, &status, 0);
	}
	dns_pid = 0;
	unlink(DNS_ZONE);
}

/* The zone above, then five MX hosts over 512 bytes (answered over TCP)
 * and a host with more addresses than a result holds. */
static int
dns_write_zone(void)
{
	FILE *f = fopen(DNS_ZONE, "w");
	int i;

	if (f == NULL)
		return -1;
	fputs(dns_zone, f);
	for (i = 1; i <= 20; i++) {
		fprintf(f,
		    "big.test. MX %d mail-exchanger-number-%02d.big.test.\n",
		    21 - i, i);
		fprintf(f,
		    "mail-exchanger-number-%02d.big.test. A 127.0.1.%d\n", i,
		    i);
	}
	/* a host name of 253 characters, the most DNS carries */
	fprintf(f, "longname.test. MX 10 %s.test.\n", LONG_HOST);
	fprintf(f, "%s.test. A 127.0.0.13\n", LONG_HOST);
	fputs("many.test. MX 10 mx.many.test.\n", f);
	for (i = 1; i <= 20; i++)
		fprintf(f, "mx.many.test. AAAA 2001:db8::1:%d\n", i);
	for (i = 1; i <= 3; i++)
		fprintf(f, "mx.many.test. A 127.0.2.%d\n", i);
	/* more records than a dnsq answer keeps, a TXT longer than one */
	for (i = 1; i <= 40; i++)
		fprintf(f, "forty.test. A 127.0.3.%d\n", i);
	fputs("longtxt.test. TXT \"v=spf1", f);
	for (i = 0; i < 600; i++)
		fputs(" -all", f);
	fputs("\"\n", f);
	return fclose(f);
}

/* "127.0.0.1:PORT" of the test DNS server, started on first use. */
static const char *
dns_server(void)
{
	struct pollfd pfd;
	char line[64];
	size_t len = 0;
	int p[2], port;

	if (dns_pid > 0)
		return dns_servers;
	if (access(DNS_SCRIPT, R_OK) == -1) {
		printf("  %s not found: run from the top of the tree\n",
		    DNS_SCRIPT);
		return NULL;
	}
	if (dns_write_zone() == -1 || pipe(p) == -1)
		return NULL;
	if ((dns_pid = fork()) == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		execl("/usr/bin/python3", "python3", DNS_SCRIPT, "--zone",
		    DNS_ZONE, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	atexit(dns_stop);
	/* "ready PORT\n", within 10 s */
	pfd.fd = p[0];
	pfd.events = POLLIN;
	while (len < sizeof(line) - 1 && memchr(line, '\n', len) == NULL) {
		ssize_t n;

		if (poll(&pfd, 1, 10000) != 1 ||
		    (n = read(p[0], line + len, sizeof(line) - 1 - len)) <= 0)
			break;
		len += (size_t)n;
	}
	close(p[0]);
	line[len] = '\0';
	if (sscanf(line, "ready %d", &port) != 1) {
		printf("  dnsserver.py did not start: \"%s\"\n", line);
		dns_stop();
		return NULL;
	}
	snprintf(dns_servers, sizeof(dns_servers), "127.0.0.1:%d", port);
	return dns_servers;
}

/* A loopback UDP port with nothing behind it. */
static int
dead_port(void)
{
	struct sockaddr_in sin;
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
	    getsockname(fd, (struct sockaddr *)&sin, &len) == -1)
		len = 0;
	close(fd);
	return len ? ntohs(sin.sin_port) : 0;
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

struct got {
	int calls;
	struct resolve_result res;
};

static void
got_cb(struct resolve_result *res, void *arg)
{
	struct got *g = arg;

	g->calls++;
	memcpy(&g->res, res, sizeof(*res));
}

static void
expire_cb(evutil_socket_t fd, short what, void *arg)
{
	*(int *)arg = 1;
}

/* Run the loop until *done (or every g[i].calls) or 20 s have passed. */
static void
run_until(struct event_base *base, struct got *g, int n)
{
	struct timeval tv = { 20, 0 };
	int expired = 0, i, left;
	struct event *t = evtimer_new(base, expire_cb, &expired);

	evtimer_add(t, &tv);
	while (!expired) {
		for (i = 0, left = 0; i < n; i++)
			left += g[i].calls == 0;
		if (left == 0)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(t);
}

/* One resolve_mx() on a fresh loop and resolver; g->calls says if cb ran. */
static struct got *
mx(const char *servers, const char *domain, double *secs)
{
	struct event_base *base = event_base_new();
	struct got *g = calloc(1, sizeof(*g));
	struct resolver *r;
	char err[256];
	double t0 = now();

	r = resolver_new(base, servers, err, sizeof(err));
	CHECK(r != NULL);
	if (r != NULL && resolve_mx(r, domain, got_cb, g, NULL) == 0) {
		CHECK(g->calls == 0); /* never from inside resolve_mx() */
		run_until(base, g, 1);
	}
	if (secs)
		*secs = now() - t0;
	resolver_free(r);
	event_base_free(base);
	CHECK(g->calls == 1);
	return g;
}

static const char *
addr(const struct resolve_host *h, int i)
{
	static char buf[INET6_ADDRSTRLEN];
	const struct sockaddr_storage *ss = &h->addrs[i];

	if (i >= h->naddrs)
		return "(none)";
	if (ss->ss_family == AF_INET6) {
		CHECK(h->addrlens[i] == sizeof(struct sockaddr_in6));
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)ss)->sin6_addr,
		    buf, sizeof(buf));
	} else {
		CHECK(h->addrlens[i] == sizeof(struct sockaddr_in));
		inet_ntop(AF_INET, &((struct sockaddr_in *)ss)->sin_addr, buf,
		    sizeof(buf));
	}
	return buf;
}

UNIT_TEST(test_mx_hosts_come_by_preference_and_unusable_hosts_are_skipped)
{
	const char *dns = dns_server();
	struct got *g;

	CHECK(dns != NULL);
	if (dns == NULL)
		return;
	g = mx(dns, "Multi.Test.", NULL);
	CHECK(g->res.status == RESOLVE_OK);
	/* mx5 twice (kept at 5), noaddr and gone have no address */
	CHECK(g->res.nhosts == 4);
	CHECK_STR(g->res.hosts[0].name, "mx5.multi.test");
	CHECK(g->res.hosts[0].pref == 5);
	CHECK(g->res.hosts[1].pref == 10 && g->res.hosts[2].pref == 10);
	CHECK_STR(g->res.hosts[3].name, "mx20.multi.test");
	CHECK(g->res.hosts[3].pref == 20);
	CHECK(g->res.hosts[0].naddrs == 1);
	CHECK_STR(addr(&g->res.hosts[0], 0), "127.0.0.5");
	free(g);
}

UNIT_TEST(test_equal_preferences_come_in_random_order)
{
	const char *dns = dns_server();
	struct event_base *base;
	struct resolver *r;
	struct got *g;
	char err[256];
	int i, a_first = 0;

	if (dns == NULL)
		return;
	base = event_base_new();
	g = calloc(24, sizeof(*g));
	r = resolver_new(base, dns, err, sizeof(err));
	CHECK(r != NULL);
	/* 24 queries at once on one resolver, each answered once */
	for (i = 0; r && i < 24; i++)
		CHECK(resolve_mx(r, "multi.test", got_cb, &g[i], NULL) == 0);
	run_until(base, g, 24);
	for (i = 0; i < 24; i++) {
		CHECK(g[i].calls == 1 && g[i].res.status == RESOLVE_OK &&
		      g[i].res.nhosts == 4);
		a_first +=
		    strcmp(g[i].res.hosts[1].name, "mx10a.multi.test") == 0;
	}
	/* both orders show up (odds of failing: 2^-23) */
	CHECK(a_first > 0 && a_first < 24);
	resolver_free(r);
	event_base_free(base);
	free(g);
}

UNIT_TEST(test_ipv6_addresses_come_before_ipv4)
{
	const char *dns = dns_server();
	struct resolve_host *h;
	struct got *g;

	if (dns == NULL)
		return;
	g = mx(dns, "multi.test", NULL);
	h = &g->res.hosts[3];
	CHECK_STR(h->name, "mx20.multi.test");
	CHECK(h->naddrs == 4);
	CHECK(h->addrs[0].ss_family == AF_INET6);
	CHECK(h->addrs[1].ss_family == AF_INET6);
	CHECK_STR(addr(h, 0), "2001:db8::20");
	CHECK_STR(addr(h, 1), "2001:db8::21");
	CHECK_STR(addr(h, 2), "127.0.0.20");
	CHECK_STR(addr(h, 3), "127.0.0.21");
	CHECK(((struct sockaddr_in *)&h->addrs[2])->sin_port == 0);
	free(g);
}

UNIT_TEST(test_a_domain_without_mx_is_its_own_mail_host)
{
	const char *dns = dns_server();
	struct got *g;

	if (dns == NULL)
		return;
	g = mx(dns, "implicit.test", NULL);
	CHECK(g->res.status == RESOLVE_OK && g->res.nhosts == 1);
	CHECK_STR(g->res.hosts[0].name, "implicit.test");
	CHECK(g->res.hosts[0].pref == 0);
	CHECK(g->res.hosts[0].naddrs == 2);
	CHECK_STR(addr(&g->res.hosts[0], 0), "2001:db8::7");
	CHECK_STR(addr(&g->res.hosts[0], 1), "127.0.0.7");
	free(g);

	/* neither MX nor address: permanent */
	g = mx(dns, "nomail.test", NULL);
	CHECK(g->res.status == RESOLVE_NXDOMAIN && g->res.nhosts == 0);
	CHECK(strstr(g->res.why, "nomail.test") != NULL);
	free(g);
}

UNIT_TEST(test_null_mx_nxdomain_and_servfail_are_told_apart)
{
	static const struct {
		const char *domain;
		enum resolve_status status;
		const char *why;
	} cases[] = {
		{ "nullmx.test", RESOLVE_NULL_MX, "null MX" },
		{ "nosuch.test", RESOLVE_NXDOMAIN, "no such domain" },
		{ "servfail.test", RESOLVE_TEMPFAIL, "servfail.test type=MX" },
		{ "noaddrs.test", RESOLVE_NXDOMAIN, "no address" },
		{ "broken.test", RESOLVE_TEMPFAIL, "mx.broken.test" },
		{ "bad..name", RESOLVE_NXDOMAIN, "invalid domain" },
		{ "a b.test", RESOLVE_NXDOMAIN, "invalid domain" },
		{ "", RESOLVE_NXDOMAIN, "invalid domain" },
	};
	const char *dns = dns_server();
	struct got *g;
	size_t i;

	if (dns == NULL)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		g = mx(dns, cases[i].domain, NULL);
		if (g->res.status != cases[i].status ||
		    strstr(g->res.why, cases[i].why) == NULL) {
			printf("  %s: %s \"%s\"\n", cases[i].domain,
			    resolve_status_name(g->res.status), g->res.why);
			CHECK(g->res.status == cases[i].status);
		}
		CHECK(g->res.nhosts == 0);
		free(g);
	}
}

UNIT_TEST(test_a_family_that_fails_does_not_hide_the_other)
{
	const char *dns = dns_server();
	struct got *g;

	if (dns == NULL)
		return;
	g = mx(dns, "half.test", NULL);
	CHECK(g->res.status == RESOLVE_OK && g->res.nhosts == 1);
	CHECK(g->res.hosts[0].naddrs == 1);
	CHECK_STR(addr(&g->res.hosts[0], 0), "127.0.0.9");
	free(g);
}

UNIT_TEST(test_a_cnamed_mx_host_is_followed)
{
	const char *dns = dns_server();
	struct got *g;

	if (dns == NULL)
		return;
	g = mx(dns, "cname.test", NULL);
	CHECK(g->res.status == RESOLVE_OK && g->res.nhosts == 1);
	CHECK_STR(g->res.hosts[0].name, "alias.cname.test");
	CHECK(g->res.hosts[0].naddrs == 2);
	CHECK_STR(addr(&g->res.hosts[0], 0), "2001:db8::8");
	CHECK_STR(addr(&g->res.hosts[0], 1), "127.0.0.8");
	free(g);
}

UNIT_TEST(test_long_answers_come_over_tcp_and_are_cut_to_the_limits)
{
	const char *dns = dns_server();
	struct resolve_host *h;
	struct got *g;
	int i, v6 = 0;

	if (dns == NULL)
		return;
	/* 20 MX: the 16 best preferences */
	g = mx(dns, "big.test", NULL);
	CHECK(g->res.status == RESOLVE_OK);
	CHECK(g->res.nhosts == RESOLVE_MAX_HOSTS);
	CHECK_STR(g->res.hosts[0].name, "mail-exchanger-number-20.big.test");
	CHECK(g->res.hosts[0].pref == 1);
	CHECK(g->res.hosts[15].pref == 16);
	CHECK_STR(addr(&g->res.hosts[15], 0), "127.0.1.5");
	free(g);

	/* 20 AAAA and 3 A: the IPv4 ones are kept */
	g = mx(dns, "many.test", NULL);
	CHECK(g->res.status == RESOLVE_OK && g->res.nhosts == 1);
	h = &g->res.hosts[0];
	CHECK(h->naddrs == RESOLVE_MAX_ADDRS);
	for (i = 0; i < h->naddrs; i++)
		v6 += h->addrs[i].ss_family == AF_INET6;
	CHECK(v6 == 13);
	CHECK_STR(addr(h, 13), "127.0.2.1");
	CHECK_STR(addr(h, 15), "127.0.2.3");
	free(g);
}

UNIT_TEST(test_broken_answers_and_long_names_stay_in_bounds)
{
	const char *dns = dns_server();
	struct got *g;

	if (dns == NULL)
		return;
	/* an MX answer cut short: try again later */
	g = mx(dns, "corrupt.test", NULL);
	CHECK(g->res.status == RESOLVE_TEMPFAIL && g->res.nhosts == 0);
	CHECK(strstr(g->res.why, "type=MX") != NULL);
	free(g);
	/* an A answer cut short: the AAAA ones still count */
	g = mx(dns, "corrupt2.test", NULL);
	CHECK(g->res.status == RESOLVE_OK && g->res.nhosts == 1);
	CHECK(g->res.hosts[0].naddrs == 1);
	CHECK_STR(addr(&g->res.hosts[0], 0), "2001:db8::12");
	free(g);
	g = mx(dns, "longname.test", NULL);
	CHECK(g->res.status == RESOLVE_OK && g->res.nhosts == 1);
	CHECK(strlen(g->res.hosts[0].name) == 253);
	CHECK_STR(g->res.hosts[0].name, LONG_HOST ".test");
	free(g);
	/* a domain that is a CNAME of another: the other's MX */
	g = mx(dns, "aliased.test", NULL);
	CHECK(g->res.status == RESOLVE_OK && g->res.nhosts == 4);
	CHECK_STR(g->res.hosts[0].name, "mx5.multi.test");
	free(g);
}

UNIT_TEST(test_an_unreachable_dns_server_is_a_temporary_failure)
{
	char servers[64];
	struct got *g;
	double secs;

	snprintf(servers, sizeof(servers), "127.0.0.1:%d", dead_port());
	g = mx(servers, "example.test", &secs);
	CHECK(g->res.status == RESOLVE_TEMPFAIL && g->res.nhosts == 0);
	CHECK(strstr(g->res.why, "example.test") != NULL);
	CHECK(secs < 7.0); /* 2 tries: 2 s + 4 s at most */
	free(g);
}

UNIT_TEST(test_a_dns_server_that_never_answers_times_out)
{
	const char *dns = dns_server();
	struct got *g;
	double secs;

	if (dns == NULL)
		return;
	g = mx(dns, "silent.test", &secs);
	CHECK(g->res.status == RESOLVE_TEMPFAIL);
	CHECK(strstr(g->res.why, "Timeout") != NULL);
	CHECK(secs > 5.0 && secs < 8.0);
	free(g);
}

UNIT_TEST(test_a_cancelled_query_never_calls_back)
{
	const char *dns = dns_server();
	struct event_base *base;
	struct resolver *r;
	struct got *g;
	uint64_t h[4];
	char err[256];

	if (dns == NULL)
		return;
	base = event_base_new();
	g = calloc(4, sizeof(*g));
	r = resolver_new(base, dns, err, sizeof(err));
	CHECK(r != NULL);
	CHECK(resolve_mx(r, "silent.test", got_cb, &g[0], &h[0]) == 0);
	CHECK(resolve_mx(r, "multi.test", got_cb, &g[1], &h[1]) == 0);
	CHECK(resolve_mx(r, "bad..name", got_cb, &g[2], &h[2]) == 0);
	CHECK(resolve_mx(r, "cname.test", got_cb, &g[3], &h[3]) == 0);
	CHECK(h[0] != 0 && h[0] != h[1] && h[1] != h[2]);
	resolver_cancel(r, h[0]);  /* waiting for an answer */
	resolver_cancel(r, h[2]);  /* already decided, not yet told */
	resolver_cancel(r, 12345); /* unknown: nothing */
	run_until(base, &g[1], 1);
	run_until(base, &g[3], 1);
	CHECK(g[0].calls == 0 && g[1].calls == 1);
	CHECK(g[2].calls == 0 && g[3].calls == 1);
	resolver_cancel(r, h[1]); /* already told: nothing */
	/* freed with the cancelled query still pending: no call, no leak */
	CHECK(resolve_mx(r, "implicit.test", got_cb, &g[1], NULL) == 0);
	resolver_free(r);
	CHECK(g[0].calls == 0 && g[1].calls == 1);
	event_base_free(base);
	free(g);
}

UNIT_TEST(test_dns_server_lists_are_checked)
{
	static const struct {
		const char *servers;
		int ok;
	} cases[] = {
		{ "", 1 },
		{ "127.0.0.1", 1 },
		{ "127.0.0.1:5353, 127.0.0.2", 1 },
		{ " 127.0.0.1:53 ,\t[::1]:5353 ", 1 },
		{ "::1", 1 },
		{ "bogus", 0 },
		{ "127.0.0.1:99999", 0 },
		{ "127.0.0.1:", 0 },
		{ "127.0.0.1:0", 0 },
		{ "127.0.0.1,,127.0.0.2", 0 },
		{ "[::1", 0 },
		{ "[::1]x", 0 },
		{ "1,2,3,4,5,6,7,8,9", 0 },
	};
	struct event_base *base = event_base_new();
	struct resolver *r;
	char err[256];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		r = resolver_new(base, cases[i].servers, err, sizeof(err));
		if ((r != NULL) != cases[i].ok) {
			printf("  \"%s\": %s\n", cases[i].servers,
			    r ? "accepted" : err);
			CHECK((r != NULL) == cases[i].ok);
		}
		CHECK(r != NULL || strstr(err, "dns servers") != NULL);
		resolver_free(r);
	}
	event_base_free(base);
}

UNIT_TEST(test_sync_txt_joins_the_strings_of_each_record)
{
	const char *dns = dns_server();
	char out[4][1024];
	int n;

	if (dns == NULL)
		return;
	n = resolve_txt_sync(dns, "txt.test", out, 4);
	CHECK(n == 2);
	if (n == 2) {
		CHECK_STR(out[0], "v=spf1 -all");
		CHECK_STR(out[1], "second record");
	}
	CHECK(resolve_txt_sync(dns, "txt.test.", out, 1) == 1);
	CHECK(resolve_txt_sync(dns, "nosuch.test", out, 4) == 0);
	CHECK(resolve_txt_sync(dns, "implicit.test", out, 4) == 0);
	CHECK(resolve_txt_sync(dns, "servfail.test", out, 4) == -1);
	CHECK(resolve_txt_sync("bogus", "txt.test", out, 4) == -1);
}

UNIT_TEST(test_sync_mx_gives_the_same_result)
{
	const char *dns = dns_server();
	struct resolve_result *res;

	if (dns == NULL)
		return;
	res = calloc(1, sizeof(*res));
	CHECK(resolve_mx_sync(dns, "cname.test", res) == 0);
	CHECK(res->status == RESOLVE_OK && res->nhosts == 1);
	CHECK_STR(res->hosts[0].name, "alias.cname.test");
	CHECK(res->secure == 0 && res->hosts[0].secure == 0);
	CHECK(resolve_mx_sync(dns, "nullmx.test", res) == 0);
	CHECK(res->status == RESOLVE_NULL_MX);
	CHECK(resolve_mx_sync("bogus", "cname.test", res) == -1);
	/* a signed domain: MX and host addresses validated (AD) */
	CHECK(resolve_mx_sync(dns, "dane.test", res) == 0);
	CHECK(res->status == RESOLVE_OK && res->nhosts == 1);
	CHECK(res->secure == 1 && res->hosts[0].secure == 1);
	free(res);
}

/* resolver_dnsq(): the inbound checks' questions on the same channel. */

struct dgot {
	int calls;
	enum dnsq_status status;
	int n, ad;
	char rr[DNSQ_MAX_RR][DNSQ_RR_LEN];
};

static void
dgot_cb(const struct dnsq_answer *a, void *arg)
{
	struct dgot *g = arg;
	int i;

	g->calls++;
	g->status = a->status;
	g->n = a->n;
	g->ad = a->ad;
	CHECK(a->n >= 0 && a->n <= DNSQ_MAX_RR);
	CHECK(a->status == DNSQ_OK ? a->n > 0 : a->n == 0);
	for (i = 0; i < a->n && i < DNSQ_MAX_RR; i++) {
		CHECK(strlen(a->rr[i]) < DNSQ_RR_LEN);
		snprintf(g->rr[i], sizeof(g->rr[i]), "%s", a->rr[i]);
	}
}

static void
dloop(struct event_base *base, struct dgot *g, int n)
{
	struct timeval tv = { 20, 0 };
	int expired = 0, i, left;
	struct event *t = evtimer_new(base, expire_cb, &expired);

	evtimer_add(t, &tv);
	while (!expired) {
		for (i = 0, left = 0; i < n; i++)
			left += g[i].calls == 0;
		if (left == 0)
			break;
		event_base_loop(base, EVLOOP_ONCE);
	}
	event_free(t);
}

/* One question on a fresh loop and resolver; g->calls says if cb ran. */
static struct dgot *
dask(const char *servers, const char *name, enum dnsq_type type, double *secs)
{
	struct event_base *base = event_base_new();
	struct dgot *g = calloc(1, sizeof(*g));
	struct resolver *r;
	struct dnsq *d;
	char err[256];
	double t0 = now();

	r = resolver_new(base, servers, err, sizeof(err));
	CHECK(r != NULL);
	if (r != NULL) {
		d = resolver_dnsq(r);
		CHECK(d->ask(d, name, type, dgot_cb, g) != 0);
		CHECK(g->calls == 0); /* never from inside ask */
		dloop(base, g, 1);
	}
	if (secs)
		*secs = now() - t0;
	resolver_free(r);
	event_base_free(base);
	CHECK(g->calls == 1);
	return g;
}

UNIT_TEST(test_dnsq_txt_joins_each_records_strings)
{
	const char *dns = dns_server();
	struct dgot *g;

	if (dns == NULL)
		return;
	g = dask(dns, "SPF.test.", DNSQ_TXT, NULL);
	CHECK(g->status == DNSQ_OK && g->n == 2);
	CHECK_STR(g->rr[0], "v=spf1 ip4:192.0.2.0/24 -all");
	CHECK_STR(g->rr[1], "other");
	free(g);
	/* 3006 bytes in 12 strings, over TCP */
	g = dask(dns, "longtxt.test", DNSQ_TXT, NULL);
	CHECK(g->status == DNSQ_OK && g->n == 1);
	CHECK(strlen(g->rr[0]) == 6 + 600 * 5);
	CHECK(strncmp(g->rr[0], "v=spf1 -all -all", 16) == 0);
	free(g);
}

UNIT_TEST(test_dnsq_addresses_mx_and_ptr_come_as_text)
{
	const char *dns = dns_server();
	struct dgot *g;

	if (dns == NULL)
		return;
	g = dask(dns, "spf.test", DNSQ_A, NULL);
	CHECK(g->status == DNSQ_OK && g->n == 1);
	CHECK_STR(g->rr[0], "192.0.2.1");
	free(g);
	g = dask(dns, "spf.test", DNSQ_AAAA, NULL);
	CHECK(g->status == DNSQ_OK && g->n == 1);
	CHECK_STR(g->rr[0], "2001:db8::1");
	free(g);
	/* by preference, lower case, no trailing dot */
	g = dask(dns, "spf.test", DNSQ_MX, NULL);
	CHECK(g->status == DNSQ_OK && g->n == 3);
	CHECK_STR(g->rr[0], "mx1.spf.test");
	CHECK_STR(g->rr[1], "mx2.spf.test");
	CHECK_STR(g->rr[2], "mx3.spf.test");
	free(g);
	g = dask(dns, "5.2.0.192.in-addr.arpa", DNSQ_PTR, NULL);
	CHECK(g->status == DNSQ_OK && g->n == 2);
	CHECK_STR(g->rr[0], "mail.spf.test");
	CHECK_STR(g->rr[1], "other.spf.test");
	free(g);
	g = dask(dns,
	    "1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2"
	    ".ip6.arpa",
	    DNSQ_PTR, NULL);
	CHECK(g->status == DNSQ_OK && g->n == 1);
	CHECK_STR(g->rr[0], "v6.spf.test");
	free(g);
	/* 40 A records: the first DNSQ_MAX_RR */
	g = dask(dns, "forty.test", DNSQ_A, NULL);
	CHECK(g->status == DNSQ_OK && g->n == DNSQ_MAX_RR);
	free(g);
	/* a CNAME is followed */
	g = dask(dns, "alias.cname.test", DNSQ_A, NULL);
	CHECK(g->status == DNSQ_OK && g->n == 1);
	CHECK_STR(g->rr[0], "127.0.0.8");
	free(g);
}

/* TLSA records come as the RDATA in hex, with the AD bit of the answer:
 * what DANE (tlspolicy/dane.c) needs to believe them. */
UNIT_TEST(test_dnsq_tlsa_records_and_the_ad_bit)
{
	const char *dns = dns_server();
	struct dgot *g;

	if (dns == NULL)
		return;
	g = dask(dns, "_25._tcp.mx.dane.test", DNSQ_TLSA, NULL);
	CHECK(g->status == DNSQ_OK && g->n == 2 && g->ad == 1);
	CHECK_STR(g->rr[0], "030101"
			    "00112233445566778899aabbccddeeff"
			    "00112233445566778899aabbccddeeff");
	CHECK_STR(g->rr[1], "020001"
			    "ffeeddccbbaa99887766554433221100"
			    "ffeeddccbbaa99887766554433221100");
	free(g);
	g = dask(dns, "_25._tcp.mx.unsigned.test", DNSQ_TLSA, NULL);
	CHECK(g->status == DNSQ_OK && g->n == 1 && g->ad == 0);
	free(g);
	g = dask(dns, "_25._tcp.mx.multi.test", DNSQ_TLSA, NULL);
	CHECK(g->status == DNSQ_NXDOMAIN && g->n == 0 && g->ad == 0);
	free(g);
	/* a secure name without TLSA records: NODATA, still with AD */
	g = dask(dns, "dane.test", DNSQ_TLSA, NULL);
	CHECK(g->status == DNSQ_NODATA && g->ad == 1);
	free(g);
}

UNIT_TEST(test_dnsq_failures_are_told_apart)
{
	static const struct {
		const char *name;
		enum dnsq_type type;
		enum dnsq_status status;
	} cases[] = {
		{ "nosuch.test", DNSQ_TXT, DNSQ_NXDOMAIN },
		{ "nosuch.test", DNSQ_PTR, DNSQ_NXDOMAIN },
		{ "implicit.test", DNSQ_TXT, DNSQ_NODATA },
		{ "implicit.test", DNSQ_MX, DNSQ_NODATA },
		{ "spf.test", DNSQ_PTR, DNSQ_NODATA },
		{ "multi.test", DNSQ_AAAA, DNSQ_NODATA },
		{ "servfail.test", DNSQ_TXT, DNSQ_TEMPFAIL },
		{ "mx.half.test", DNSQ_AAAA, DNSQ_TEMPFAIL },
		{ "mx.half.test", DNSQ_A, DNSQ_OK },
		{ "corrupt.test", DNSQ_MX, DNSQ_PERMFAIL },
		{ "bad..name", DNSQ_A, DNSQ_PERMFAIL },
		{ "a b.test", DNSQ_TXT, DNSQ_PERMFAIL },
		{ "", DNSQ_TXT, DNSQ_PERMFAIL },
		{ "back\\slash.test", DNSQ_TXT, DNSQ_PERMFAIL },
	};
	const char *dns = dns_server();
	struct dgot *g;
	size_t i;

	if (dns == NULL)
		return;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		g = dask(dns, cases[i].name, cases[i].type, NULL);
		if (g->status != cases[i].status) {
			printf("  %s type %d: status %d\n", cases[i].name,
			    (int)cases[i].type, (int)g->status);
			CHECK(g->status == cases[i].status);
		}
		free(g);
	}
}

UNIT_TEST(test_dnsq_a_silent_server_is_a_temporary_failure)
{
	const char *dns = dns_server();
	struct dgot *g;
	double secs;

	if (dns == NULL)
		return;
	g = dask(dns, "silent.test", DNSQ_TXT, &secs);
	CHECK(g->status == DNSQ_TEMPFAIL && g->n == 0);
	CHECK(secs > 5.0 && secs < 8.0);
	free(g);
}

UNIT_TEST(test_dnsq_a_cancelled_question_never_calls_back)
{
	const char *dns = dns_server();
	struct event_base *base;
	struct resolver *r;
	struct dnsq *d;
	struct dgot *g;
	struct got mg = { 0 };
	uint64_t h[4];
	char err[256];

	if (dns == NULL)
		return;
	base = event_base_new();
	g = calloc(5, sizeof(*g));
	r = resolver_new(base, dns, err, sizeof(err));
	CHECK(r != NULL);
	if (r == NULL)
		goto out;
	d = resolver_dnsq(r);
	h[0] = d->ask(d, "silent.test", DNSQ_TXT, dgot_cb, &g[0]);
	h[1] = d->ask(d, "spf.test", DNSQ_TXT, dgot_cb, &g[1]);
	h[2] = d->ask(d, "bad..name", DNSQ_A, dgot_cb, &g[2]);
	h[3] = d->ask(d, "spf.test", DNSQ_MX, dgot_cb, &g[3]);
	CHECK(h[0] != 0 && h[1] != h[0] && h[2] != h[1] && h[3] != h[2]);
	d->cancel(d, h[0]); /* waiting for an answer */
	d->cancel(d, h[2]); /* decided, not yet told */
	d->cancel(d, 12345);
	dloop(base, &g[1], 1);
	dloop(base, &g[3], 1);
	CHECK(g[0].calls == 0 && g[1].calls == 1);
	CHECK(g[2].calls == 0 && g[3].calls == 1);
	d->cancel(d, h[1]); /* already told: nothing */
	/* MX look-ups and questions side by side on one channel */
	CHECK(resolve_mx(r, "multi.test", got_cb, &mg, NULL) == 0);
	CHECK(d->ask(d, "spf.test", DNSQ_AAAA, dgot_cb, &g[4]) != 0);
	run_until(base, &mg, 1);
	dloop(base, &g[4], 1);
	CHECK(mg.calls == 1 && mg.res.status == RESOLVE_OK);
	CHECK(g[4].calls == 1 && g[4].status == DNSQ_OK);
	/* freed with questions pending: no call, no leak */
	CHECK(d->ask(d, "spf.test", DNSQ_A, dgot_cb, &g[1]) != 0);
	resolver_free(r);
	CHECK(g[0].calls == 0 && g[1].calls == 1);
out:
	event_base_free(base);
	free(g);
}
