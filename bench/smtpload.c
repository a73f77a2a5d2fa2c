/*
 * bench/smtpload.c: the team's neutral SMTP load generator, copied
 * verbatim from the shared benchmark kit (shared/bench/smtpload.c), unchanged
 * below this comment; sha256 of the original file:
 * 9c92663df83781e8f6b4a58bfc99b80b9a9c1ec8441c4ec04aa598e3291281a1
 * It is the same program that measures the Postfix baseline
 * (shared/bench/postfix-baseline.sh), so postern and Postfix are judged by
 * one yardstick. Do not edit it here: change the shared copy and copy it
 * again. scripts/bench.sh (make bench) builds it into build/bench/.
 */
/*
 * smtpload.c - neutral SMTP load generator (one thread per session, blocking I/O).
 *
 * Speaks plain SMTP, STARTTLS or implicit TLS, optional AUTH PLAIN, sends
 * MAIL/RCPT/DATA with dot-stuffing, verifies every reply code, counts failures,
 * and prints one summary line:
 *   ok failed unfinished secs msgs/s p50/p99 (MAIL..250-after-DATA) sessions/s tls_hs/s ...
 *
 * Build: cc -O2 -o smtpload smtpload.c -lssl -lcrypto -lpthread
 * Safety: refuses non-loopback targets unless --allow-remote is given.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum { TLS_NONE, TLS_STARTTLS, TLS_IMPLICIT };
static const char *tls_names[] = { "none", "starttls", "implicit" };

static struct {
	const char *host, *port, *from, *to, *auth, *ehlo;
	int conns, size, rcpts, per_conn, tls, timeout, idle, allow_remote, verbose;
	long msgs;
} o = { "127.0.0.1", "25", "load@smtpload.test", "rcpt%d@sink.test", NULL, "smtpload.test",
	1, 1024, 1, 1, TLS_NONE, 60, 0, 0, 0, 1000 };

static atomic_long next_msg, n_ok, n_fail, n_sess, n_sess_fail, n_hs, n_quit_bad, n_idle_open;
static atomic_int stop, n_errs_printed;
static float *lat_us;            /* per message slot: latency in us, -1 if not ok */
static char *body;               /* dot-stuffed body incl. final CRLF.CRLF */
static size_t body_len;
static char auth_cmd[1024];      /* "AUTH PLAIN <b64>\r\n" */
static char date_hdr[64];
static SSL_CTX *ctx;
static struct addrinfo *ai;
static int io_timeout;

struct conn {
	int fd;
	SSL *ssl;
	size_t r, w;             /* read/write offsets in buf */
	char buf[8192];
	char last[256];          /* last reply line, for error messages */
};

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void err(struct conn *c, const char *what)
{
	if (atomic_fetch_add(&n_errs_printed, 1) < 10 || o.verbose)
		fprintf(stderr, "smtpload: %s failed%s%s%s\n", what, c ? " (last reply: " : "",
			c ? c->last : "", c ? ")" : "");
}

static int c_write(struct conn *c, const char *p, size_t n)
{
	while (n) {
		ssize_t k = c->ssl ? SSL_write(c->ssl, p, (int)n) : send(c->fd, p, n, MSG_NOSIGNAL);
		if (k <= 0) {
			if (!c->ssl && k < 0 && errno == EINTR)
				continue;
			snprintf(c->last, sizeof c->last, "write error");
			return -1;
		}
		p += k, n -= (size_t)k;
	}
	return 0;
}

static int c_fill(struct conn *c)
{
	if (c->r > 0) {          /* compact */
		memmove(c->buf, c->buf + c->r, c->w - c->r);
		c->w -= c->r, c->r = 0;
	}
	if (c->w == sizeof c->buf)
		return -1;       /* reply line too long */
	ssize_t k = c->ssl ? SSL_read(c->ssl, c->buf + c->w, (int)(sizeof c->buf - c->w))
			   : recv(c->fd, c->buf + c->w, sizeof c->buf - c->w, 0);
	if (k <= 0) {
		snprintf(c->last, sizeof c->last, k == 0 ? "connection closed" : "read error/timeout");
		return -1;
	}
	c->w += (size_t)k;
	return 0;
}

/* Read a whole (possibly multi-line) reply; return its code, or -1. */
static int reply(struct conn *c)
{
	for (;;) {
		char *nl;
		while (!(nl = memchr(c->buf + c->r, '\n', c->w - c->r)))
			if (c_fill(c))
				return -1;
		char *line = c->buf + c->r;
		size_t len = (size_t)(nl - line) + 1;
		c->r += len;
		size_t cp = len < sizeof c->last ? len : sizeof c->last - 1;
		memcpy(c->last, line, cp);
		c->last[cp] = 0;
		c->last[strcspn(c->last, "\r\n")] = 0;
		if (len < 4 || !isdigit((unsigned char)line[0]) || !isdigit((unsigned char)line[1]) ||
		    !isdigit((unsigned char)line[2]))
			return -1;
		if (line[3] == '-')
			continue;
		if (line[3] != ' ' && line[3] != '\r' && line[3] != '\n')
			return -1;
		return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	}
}

/* Send a command (printf-style, CRLF added) and check the reply class (2 or 3). */
static int cmd(struct conn *c, int want_class, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(line, sizeof line - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= (int)sizeof line - 2)
		return -1;
	memcpy(line + n, "\r\n", 2);
	if (c_write(c, line, (size_t)n + 2))
		return -1;
	int code = reply(c);
	return code / 100 == want_class ? 0 : -1;
}

static int tls_start(struct conn *c)
{
	c->ssl = SSL_new(ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd))
		return -1;
	SSL_set_tlsext_host_name(c->ssl, o.host);
	if (SSL_connect(c->ssl) != 1) {
		unsigned long e = ERR_get_error();
		snprintf(c->last, sizeof c->last, "TLS handshake: %s",
			 e ? ERR_reason_error_string(e) : "connection closed");
		return -1;
	}
	atomic_fetch_add(&n_hs, 1);
	return 0;
}

static void close_conn(struct conn *c, int quit)
{
	if (quit) {
		if (cmd(c, 2, "QUIT"))
			atomic_fetch_add(&n_quit_bad, 1);
	}
	if (c->ssl) {
		if (quit)
			SSL_shutdown(c->ssl);
		SSL_free(c->ssl);
	}
	close(c->fd);
	free(c);
}

/* connect, greeting, EHLO, [STARTTLS, EHLO], [AUTH PLAIN] */
static struct conn *open_session(void)
{
	struct conn *c = calloc(1, sizeof *c);
	struct timeval tv = { io_timeout, 0 };
	const char *step = "connect";
	int one = 1;
	c->fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		goto fail;
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (connect(c->fd, ai->ai_addr, ai->ai_addrlen)) {
		snprintf(c->last, sizeof c->last, "%s", strerror(errno));
		goto fail;
	}
	step = "TLS (implicit)";
	if (o.tls == TLS_IMPLICIT && tls_start(c))
		goto fail;
	step = "greeting";
	if (reply(c) / 100 != 2)
		goto fail;
	step = "EHLO";
	if (cmd(c, 2, "EHLO %s", o.ehlo))
		goto fail;
	if (o.tls == TLS_STARTTLS) {
		step = "STARTTLS";
		if (cmd(c, 2, "STARTTLS") || c->r != c->w)   /* no data may follow 220 */
			goto fail;
		if (tls_start(c))
			goto fail;
		step = "EHLO after STARTTLS";
		if (cmd(c, 2, "EHLO %s", o.ehlo))
			goto fail;
	}
	step = "AUTH PLAIN";
	if (o.auth) {
		if (c_write(c, auth_cmd, strlen(auth_cmd)) || reply(c) != 235)
			goto fail;
	}
	atomic_fetch_add(&n_sess, 1);
	return c;
fail:
	err(c, step);
	atomic_fetch_add(&n_sess_fail, 1);
	if (c->fd >= 0)
		close_conn(c, 0);
	else
		free(c);
	return NULL;
}

static void fmt_rcpt(char *out, size_t n, long counter)
{
	const char *p = strstr(o.to, "%d");
	if (p)
		snprintf(out, n, "%.*s%ld%s", (int)(p - o.to), o.to, counter, p + 2);
	else
		snprintf(out, n, "%s", o.to);
}

/* One transaction; returns 0 if the final 250 arrived. */
static int send_msg(struct conn *c, long id)
{
	char rcpt[512], hdr[1024];
	double t = now();
	if (cmd(c, 2, "MAIL FROM:<%s>", o.from))
		return err(c, "MAIL"), -1;
	for (int j = 0; j < o.rcpts; j++) {
		fmt_rcpt(rcpt, sizeof rcpt, id * o.rcpts + j);
		if (cmd(c, 2, "RCPT TO:<%s>", rcpt))
			return err(c, "RCPT"), -1;
	}
	if (cmd(c, 3, "DATA"))
		return err(c, "DATA"), -1;
	fmt_rcpt(rcpt, sizeof rcpt, id * o.rcpts);
	int n = snprintf(hdr, sizeof hdr,
			 "From: <%s>\r\nTo: <%s>\r\nSubject: smtpload message %ld\r\n"
			 "Date: %s\r\nMessage-ID: <%ld.%ld@smtpload.test>\r\n\r\n",
			 o.from, rcpt, id, date_hdr, id, (long)getpid());
	if (c_write(c, hdr, (size_t)n) || c_write(c, body, body_len))
		return err(c, "DATA write"), -1;
	if (reply(c) / 100 != 2)
		return err(c, "end of DATA"), -1;
	lat_us[id] = (float)((now() - t) * 1e6);
	return 0;
}

static void *worker(void *arg)
{
	struct conn *c = NULL;
	int on_conn = 0;
	(void)arg;
	if (o.idle) {            /* hold one idle session open for o.idle seconds */
		if ((c = open_session())) {
			atomic_fetch_add(&n_idle_open, 1);
			double end = now() + o.idle;
			while (!stop && now() < end)
				usleep(100000);
			close_conn(c, 1);
		}
		return NULL;
	}
	while (!stop) {
		long id = atomic_fetch_add(&next_msg, 1);
		if (id >= o.msgs)
			break;
		if (!c && !(c = open_session())) {
			atomic_fetch_add(&n_fail, 1);
			continue;
		}
		if (send_msg(c, id)) {
			atomic_fetch_add(&n_fail, 1);
			close_conn(c, 0);
			c = NULL, on_conn = 0;
			continue;
		}
		atomic_fetch_add(&n_ok, 1);
		if (o.per_conn && ++on_conn >= o.per_conn) {
			close_conn(c, 1);
			c = NULL, on_conn = 0;
		}
	}
	if (c)
		close_conn(c, 1);
	return NULL;
}

/* Body of `size` bytes in 80-byte CRLF lines; every 8th line starts with '.', dot-stuffed. */
static void make_body(void)
{
	body = malloc((size_t)o.size * 2 + 16);
	size_t w = 0;
	int line = 0;
	for (long left = o.size; left > 0; line++) {
		long len = left < 80 ? left : 80;        /* incl. CRLF when len >= 3 */
		long text = len >= 2 ? len - 2 : 0;
		for (long i = 0; i < text; i++) {
			char ch = (char)('a' + (line + i) % 26);
			if (i == 0 && line % 8 == 7)
				ch = '.';
			if (i == 0 && ch == '.')
				body[w++] = '.';         /* dot-stuffing */
			body[w++] = ch;
		}
		body[w++] = '\r', body[w++] = '\n';
		left -= len;
	}
	memcpy(body + w, ".\r\n", 3);
	body_len = w + 3;
	if (w == 0) {                            /* empty body: just the terminator */
		memcpy(body, ".\r\n", 3);
		body_len = 3;
	}
}

static int cmpf(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

static void usage(void)
{
	fprintf(stderr,
		"usage: smtpload [--host H] [--port P] [--conns N] [--msgs M] [--size BYTES]\n"
		"  [--rcpts K] [--tls none|starttls|implicit] [--auth user:pass] [--from ADDR]\n"
		"  [--to ADDR(%%d=counter)] [--per-conn K (0=unlimited)] [--timeout SECS]\n"
		"  [--ehlo NAME] [--idle SECS (open --conns sessions, hold them idle)]\n"
		"  [--allow-remote] [--verbose]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "host", 1, 0, 'h' }, { "port", 1, 0, 'p' }, { "conns", 1, 0, 'c' },
		{ "msgs", 1, 0, 'm' }, { "size", 1, 0, 's' }, { "rcpts", 1, 0, 'r' },
		{ "tls", 1, 0, 'T' }, { "auth", 1, 0, 'a' }, { "from", 1, 0, 'f' },
		{ "to", 1, 0, 't' }, { "per-conn", 1, 0, 'k' }, { "timeout", 1, 0, 'x' },
		{ "ehlo", 1, 0, 'e' }, { "idle", 1, 0, 'i' }, { "allow-remote", 0, 0, 'R' },
		{ "verbose", 0, 0, 'v' }, { 0, 0, 0, 0 } };
	int ch;
	while ((ch = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (ch) {
		case 'h': o.host = optarg; break;
		case 'p': o.port = optarg; break;
		case 'c': o.conns = atoi(optarg); break;
		case 'm': o.msgs = atol(optarg); break;
		case 's': o.size = atoi(optarg); break;
		case 'r': o.rcpts = atoi(optarg); break;
		case 'a': o.auth = optarg; break;
		case 'f': o.from = optarg; break;
		case 't': o.to = optarg; break;
		case 'k': o.per_conn = atoi(optarg); break;
		case 'x': o.timeout = atoi(optarg); break;
		case 'e': o.ehlo = optarg; break;
		case 'i': o.idle = atoi(optarg); break;
		case 'R': o.allow_remote = 1; break;
		case 'v': o.verbose = 1; break;
		case 'T':
			if (!strcmp(optarg, "none")) o.tls = TLS_NONE;
			else if (!strcmp(optarg, "starttls")) o.tls = TLS_STARTTLS;
			else if (!strcmp(optarg, "implicit")) o.tls = TLS_IMPLICIT;
			else usage();
			break;
		default: usage();
		}
	}
	if (optind != argc || o.conns < 1 || o.msgs < 0 || o.size < 0 || o.rcpts < 1 ||
	    o.per_conn < 0 || o.timeout < 1 || (o.auth && !strchr(o.auth, ':')))
		usage();
	signal(SIGPIPE, SIG_IGN);
	io_timeout = o.timeout < 30 ? o.timeout : 30;

	struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV };
	int gai = getaddrinfo(o.host, o.port, &hints, &ai);
	if (gai) {
		fprintf(stderr, "smtpload: %s: %s\n", o.host, gai_strerror(gai));
		return 2;
	}
	int loop = (ai->ai_family == AF_INET &&
		    (ntohl(((struct sockaddr_in *)ai->ai_addr)->sin_addr.s_addr) >> 24) == 127) ||
		   (ai->ai_family == AF_INET6 &&
		    IN6_IS_ADDR_LOOPBACK(&((struct sockaddr_in6 *)ai->ai_addr)->sin6_addr));
	if (!loop && !o.allow_remote) {
		fprintf(stderr, "smtpload: %s is not a loopback address (use --allow-remote)\n", o.host);
		return 2;
	}

	if (o.tls != TLS_NONE) {
		ctx = SSL_CTX_new(TLS_client_method());
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);   /* test certs are self-signed */
		SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF); /* full handshake each time */
	}
	if (o.auth) {            /* AUTH PLAIN base64("\0user\0pass") */
		unsigned char raw[512];
		const char *colon = strchr(o.auth, ':');
		size_t ul = (size_t)(colon - o.auth), pl = strlen(colon + 1);
		if (ul + pl + 2 > sizeof raw)
			usage();
		raw[0] = 0;
		memcpy(raw + 1, o.auth, ul);
		raw[1 + ul] = 0;
		memcpy(raw + 2 + ul, colon + 1, pl);
		char b64[800];
		EVP_EncodeBlock((unsigned char *)b64, raw, (int)(ul + pl + 2));
		snprintf(auth_cmd, sizeof auth_cmd, "AUTH PLAIN %s\r\n", b64);
	}
	time_t tnow = time(NULL);
	strftime(date_hdr, sizeof date_hdr, "%a, %d %b %Y %H:%M:%S +0000", gmtime(&tnow));
	make_body();
	lat_us = malloc(sizeof *lat_us * (size_t)(o.msgs ? o.msgs : 1));
	for (long i = 0; i < o.msgs; i++)
		lat_us[i] = -1;

	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	pthread_t *th = calloc((size_t)o.conns, sizeof *th);
	double t0 = now();
	for (int i = 0; i < o.conns; i++)
		if (pthread_create(&th[i], &attr, worker, NULL)) {
			fprintf(stderr, "smtpload: pthread_create failed\n");
			return 1;
		}
	/* Join with a hard deadline; past it, set stop and give threads 2 s to notice. */
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += o.timeout;
	int timed_out = 0;
	for (int i = 0; i < o.conns; i++) {
		if (pthread_timedjoin_np(th[i], NULL, &dl) == ETIMEDOUT) {
			timed_out = 1;
			stop = 1;
			dl.tv_sec += 2;
			if (pthread_timedjoin_np(th[i], NULL, &dl) == ETIMEDOUT)
				break;  /* stragglers are abandoned; exit() below ends them */
		}
	}
	double secs = now() - t0;

	if (o.idle) {
		printf("smtpload idle: sessions_opened=%ld session_fail=%ld held_secs=%d secs=%.2f\n",
		       (long)n_idle_open, (long)n_sess_fail, o.idle, secs);
		fflush(stdout);
		_exit(n_sess_fail ? 1 : 0);
	}
	long nok = n_ok, nfail = n_fail, claimed = next_msg < o.msgs ? next_msg : o.msgs;
	float *v = malloc(sizeof *v * (size_t)(claimed ? claimed : 1));
	long nv = 0;
	for (long i = 0; i < claimed; i++)
		if (lat_us[i] >= 0)
			v[nv++] = lat_us[i];
	qsort(v, (size_t)nv, sizeof *v, cmpf);
	double p50 = nv ? v[(size_t)((nv - 1) * 0.50)] / 1000.0 : 0;
	double p99 = nv ? v[(size_t)((nv - 1) * 0.99)] / 1000.0 : 0;
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
		     ru.ru_stime.tv_usec / 1e6;
	printf("smtpload: ok=%ld failed=%ld unfinished=%ld secs=%.3f msgs/s=%.1f p50_ms=%.2f "
	       "p99_ms=%.2f sessions=%ld sessions/s=%.1f tls_hs=%ld hs/s=%.1f session_fail=%ld "
	       "quit_bad=%ld client_cpu_s=%.2f%s | tls=%s auth=%s conns=%d size=%d rcpts=%d "
	       "per_conn=%d\n",
	       nok, nfail, o.msgs - nok - nfail, secs, nok / secs, p50, p99, (long)n_sess,
	       n_sess / secs, (long)n_hs, n_hs / secs, (long)n_sess_fail, (long)n_quit_bad, cpu,
	       timed_out ? " TIMEOUT" : "", tls_names[o.tls], o.auth ? "plain" : "no", o.conns,
	       o.size, o.rcpts, o.per_conn);
	fflush(stdout);
	_exit(nfail || timed_out || nok != o.msgs ? 1 : 0);
}
