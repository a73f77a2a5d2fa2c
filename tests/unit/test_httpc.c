/*
 * test_httpc: the HTTP client against a server on loopback, run by a
 * thread of the test: it reads one request and answers with the bytes
 * given (or nothing, to see the deadline). Plain HTTP and HTTPS with a
 * certificate from a CA made here; names through the fake DNS.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "dnsq_fake.h"
#include "unit.h"
#include "util/httpc.h"

struct srv {
	int lfd, port;
	SSL_CTX *tls;	   /* NULL: plain */
	const char *reply; /* NULL: answer nothing, wait for the close */
	char got[4096];	   /* the request as it arrived */
	size_t gotlen;
	pthread_t th;
};

struct result {
	int done, calls, status, tls_failed, connected;
	long verify;
	char error[256], body[256], ctype[64];
	size_t len;
	struct httpc *self; /* cancelled from inside the callback */
};

static void
srv_write(int fd, SSL *ssl, const char *s, size_t n)
{
	size_t off = 0;
	ssize_t w;

	while (off < n) {
		w = ssl ? SSL_write(ssl, s + off, (int)(n - off))
			: write(fd, s + off, n - off);
		if (w <= 0)
			return;
		off += (size_t)w;
	}
}

/* The request is whole at its empty line plus its Content-Length. */
static int
srv_request_done(const struct srv *s)
{
	const char *end = memmem(s->got, s->gotlen, "\r\n\r\n", 4);
	const char *cl = strstr(s->got, "Content-Length: ");
	size_t want;

	if (end == NULL)
		return 0;
	want =
	    (size_t)(end + 4 - s->got) + (cl ? strtoul(cl + 16, NULL, 10) : 0);
	return s->gotlen >= want;
}

static void *
srv_run(void *arg)
{
	struct srv *s = arg;
	SSL *ssl = NULL;
	char tmp[512];
	int fd;
	ssize_t r;

	if ((fd = accept(s->lfd, NULL, NULL)) == -1)
		return NULL;
	if (s->tls) {
		ssl = SSL_new(s->tls);
		SSL_set_fd(ssl, fd);
		if (SSL_accept(ssl) != 1)
			goto out;
	}
	while (!srv_request_done(s) && s->gotlen < sizeof(s->got) - 1) {
		r = ssl ? SSL_read(ssl, s->got + s->gotlen,
			      (int)(sizeof(s->got) - 1 - s->gotlen))
			: read(fd, s->got + s->gotlen,
			      sizeof(s->got) - 1 - s->gotlen);
		if (r <= 0)
			goto out;
		s->gotlen += (size_t)r;
		s->got[s->gotlen] = '\0';
	}
	if (s->reply != NULL)
		srv_write(fd, ssl, s->reply, strlen(s->reply));
	else /* hang until the client gives up */
		while ((ssl ? SSL_read(ssl, tmp, sizeof(tmp))
			    : read(fd, tmp, sizeof(tmp))) > 0)
			;
	if (ssl)
		SSL_shutdown(ssl);
out:
	SSL_free(ssl);
	close(fd);
	return NULL;
}

static void
srv_start(struct srv *s, SSL_CTX *tls, const char *reply)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->tls = tls;
	s->reply = reply;
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lfd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind(s->lfd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	CHECK(listen(s->lfd, 4) == 0);
	getsockname(s->lfd, (struct sockaddr *)&sin, &sl);
	s->port = ntohs(sin.sin_port);
	pthread_create(&s->th, NULL, srv_run, s);
}

static void
srv_stop(struct srv *s)
{
	pthread_join(s->th, NULL);
	close(s->lfd);
}

static void
on_resp(const struct httpc_resp *r, void *arg)
{
	struct result *res = arg;

	res->calls++;
	res->done = 1;
	httpc_cancel(res->self);
	res->status = r->status;
	res->tls_failed = r->tls_failed;
	res->connected = r->connected;
	res->verify = r->verify_result;
	snprintf(res->error, sizeof(res->error), "%s",
	    r->error ? r->error : "");
	if (r->status) {
		snprintf(res->body, sizeof(res->body), "%.*s", (int)r->len,
		    r->body);
		snprintf(res->ctype, sizeof(res->ctype), "%s", r->content_type);
		res->len = r->len;
	}
}

/* Run the loop (and the fake DNS) until the callback, 10 s at most. */
static void
run_until(struct event_base *base, struct dnsq_fake *dns, struct result *res)
{
	int i;

	for (i = 0; i < 10000 && !res->done; i++) {
		if (dns)
			dnsq_fake_run(dns);
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (!res->done)
			usleep(1000);
	}
}

static struct httpc_req
req_get(const char *host, int port)
{
	struct httpc_req rq;

	memset(&rq, 0, sizeof(rq));
	rq.method = "GET";
	rq.host = host;
	rq.port = port;
	rq.path = "/.well-known/mta-sts.txt";
	rq.max_body = 64;
	rq.timeout_s = 5;
	return rq;
}

UNIT_TEST(test_httpc_gets_a_body_by_content_length_never_inside_start)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct result res;
	struct httpc_req rq;

	memset(&res, 0, sizeof(res));
	srv_start(&s, NULL,
	    "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 14\r\n\r\nversion: STSv1");
	rq = req_get("127.0.0.1", s.port);
	CHECK(httpc_start(base, &rq, on_resp, &res) != NULL);
	CHECK(res.calls == 0);
	run_until(base, NULL, &res);
	srv_stop(&s);
	CHECK(res.calls == 1);
	CHECK(res.status == 200);
	CHECK_STR(res.body, "version: STSv1");
	CHECK_STR(res.ctype, "text/plain");
	CHECK(strncmp(s.got, "GET /.well-known/mta-sts.txt HTTP/1.1\r\n", 39) ==
	      0);
	CHECK(strstr(s.got, "\r\nHost: 127.0.0.1:") != NULL);
	CHECK(strstr(s.got, "\r\nConnection: close\r\n") != NULL);
	event_base_free(base);
}

UNIT_TEST(test_httpc_posts_a_body_and_reads_a_chunked_answer)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct result res;
	struct httpc_req rq;
	const char *got;

	memset(&res, 0, sizeof(res));
	srv_start(&s, NULL,
	    "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n");
	rq = req_get("127.0.0.1", s.port);
	rq.method = "POST";
	rq.path = "/report";
	rq.content_type = "application/tlsrpt+gzip";
	rq.body = "\x1f\x8b\0binary";
	rq.bodylen = 9;
	CHECK(httpc_start(base, &rq, on_resp, &res) != NULL);
	run_until(base, NULL, &res);
	srv_stop(&s);
	CHECK(res.calls == 1 && res.status == 201);
	CHECK_STR(res.body, "abcde");
	CHECK(strstr(s.got, "\r\nContent-Type: application/tlsrpt+gzip\r\n") !=
	      NULL);
	CHECK(strstr(s.got, "\r\nContent-Length: 9\r\n") != NULL);
	got = memmem(s.got, s.gotlen, "\r\n\r\n", 4);
	CHECK(got != NULL && s.gotlen - (size_t)(got + 4 - s.got) == 9 &&
	      memcmp(got + 4, "\x1f\x8b\0binary", 9) == 0);
	event_base_free(base);
}

UNIT_TEST(test_httpc_posts_a_body_in_pieces_sent_as_they_are)
{
	struct event_base *base = event_base_new();
	static const char head[] = "Received: x\r\n", msg[] = "\r\nbody\r\n";
	struct iovec iov[3];
	struct srv s;
	struct result res;
	struct httpc_req rq;
	const char *got;

	memset(&res, 0, sizeof(res));
	srv_start(&s, NULL, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}");
	rq = req_get("127.0.0.1", s.port);
	rq.method = "POST";
	rq.path = "/checkv2";
	rq.headers = "IP: 192.0.2.1\r\n";
	rq.body = "A:";
	rq.bodylen = 2;
	iov[0].iov_base = (void *)head;
	iov[0].iov_len = sizeof(head) - 1;
	iov[1].iov_base = NULL; /* an empty piece is no piece */
	iov[1].iov_len = 0;
	iov[2].iov_base = (void *)msg;
	iov[2].iov_len = sizeof(msg) - 1;
	rq.bodyv = iov;
	rq.nbodyv = 3;
	CHECK(httpc_start(base, &rq, on_resp, &res) != NULL);
	run_until(base, NULL, &res);
	srv_stop(&s);
	CHECK(res.calls == 1 && res.status == 200 && res.connected);
	CHECK(strstr(s.got,
		  "\r\nContent-Length: 23\r\nIP: 192.0.2.1\r\n\r\n") != NULL);
	got = memmem(s.got, s.gotlen, "\r\n\r\n", 4);
	CHECK(got != NULL && s.gotlen - (size_t)(got + 4 - s.got) == 23 &&
	      memcmp(got + 4, "A:Received: x\r\n\r\nbody\r\n", 23) == 0);
	event_base_free(base);
}

UNIT_TEST(test_httpc_says_whether_the_request_reached_the_peer)
{
	struct event_base *base = event_base_new();
	struct sockaddr_in sin;
	socklen_t sl = sizeof(sin);
	struct result res;
	struct httpc_req rq;
	int fd;

	/* a port nobody listens on: refused, never connected */
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	CHECK(bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0);
	getsockname(fd, (struct sockaddr *)&sin, &sl);
	close(fd);
	memset(&res, 0, sizeof(res));
	rq = req_get("127.0.0.1", ntohs(sin.sin_port));
	CHECK(httpc_start(base, &rq, on_resp, &res) != NULL);
	run_until(base, NULL, &res);
	CHECK(res.calls == 1 && res.status == 0 && !res.connected);
	CHECK(res.error[0] != '\0');
	event_base_free(base);
}

UNIT_TEST(test_httpc_fails_a_body_longer_than_max_body)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct result res;
	struct httpc_req rq;

	memset(&res, 0, sizeof(res));
	srv_start(&s, NULL,
	    "HTTP/1.1 200 OK\r\n\r\n"
	    "0123456789012345678901234567890123456789012345678901234567890123"
	    "4");
	rq = req_get("127.0.0.1", s.port);
	CHECK(httpc_start(base, &rq, on_resp, &res) != NULL);
	run_until(base, NULL, &res);
	srv_stop(&s);
	CHECK(res.calls == 1 && res.status == 0);
	CHECK_STR(res.error, "body too long");
	event_base_free(base);
}

UNIT_TEST(test_httpc_gives_up_at_its_deadline)
{
	struct event_base *base = event_base_new();
	struct srv s;
	struct result res;
	struct httpc_req rq;

	memset(&res, 0, sizeof(res));
	srv_start(&s, NULL, NULL);
	rq = req_get("127.0.0.1", s.port);
	rq.timeout_s = 1;
	res.self = httpc_start(base, &rq, on_resp, &res);
	CHECK(res.self != NULL);
	run_until(base, NULL, &res);
	srv_stop(&s);
	CHECK(res.calls == 1 && res.status == 0 && res.connected);
	CHECK_STR(res.error, "timeout");
	event_base_free(base);
}

UNIT_TEST(test_httpc_cancelled_never_calls_back)
{
	struct event_base *base = event_base_new();
	struct result res;
	struct httpc_req rq;
	struct httpc *h;
	int i;

	memset(&res, 0, sizeof(res));
	rq = req_get("127.0.0.1", 9);
	h = httpc_start(base, &rq, on_resp, &res);
	CHECK(h != NULL);
	httpc_cancel(h);
	for (i = 0; i < 20; i++)
		event_base_loop(base, EVLOOP_NONBLOCK);
	CHECK(res.calls == 0);
	httpc_cancel(NULL);
	event_base_free(base);
}

UNIT_TEST(test_httpc_refuses_a_path_that_would_break_the_request)
{
	struct event_base *base = event_base_new();
	struct result res;
	struct httpc_req rq = req_get("127.0.0.1", 80);

	rq.path = "/a b\r\nX: y";
	CHECK(httpc_start(base, &rq, on_resp, &res) == NULL);
	rq.path = "/";
	rq.host = "evil\r\nhost";
	CHECK(httpc_start(base, &rq, on_resp, &res) == NULL);
	event_base_free(base);
}

UNIT_TEST(test_httpc_reports_a_name_without_address)
{
	struct event_base *base = event_base_new();
	struct dnsq_fake *dns = dnsq_fake_new();
	struct result res;
	struct httpc_req rq = req_get("nowhere.test", 80);

	memset(&res, 0, sizeof(res));
	rq.dns = dnsq_fake_dnsq(dns);
	CHECK(httpc_start(base, &rq, on_resp, &res) != NULL);
	run_until(base, dns, &res);
	CHECK(res.calls == 1 && res.status == 0);
	CHECK_STR(res.error, "DNS: no address");
	dnsq_fake_free(dns);
	event_base_free(base);
}

/* A CA, and a server certificate for name signed by it. */
struct pki {
	EVP_PKEY *cakey, *key;
	X509 *ca, *cert;
};

static X509 *
mk_cert(EVP_PKEY *key, const char *cn, X509 *issuer, EVP_PKEY *ikey)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	char san[128];

	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), issuer ? 2 : 1);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer ? issuer : x, x, NULL, NULL, 0);
	if (issuer == NULL)
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
		    "critical,CA:TRUE");
	else {
		snprintf(san, sizeof(san), "DNS:%s", cn);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
	}
	X509_add_ext(x, ext, -1);
	X509_EXTENSION_free(ext);
	X509_sign(x, ikey ? ikey : key, EVP_sha256());
	X509_NAME_free(name);
	return x;
}

static void
pki_make(struct pki *p, const char *name)
{
	p->cakey = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	p->ca = mk_cert(p->cakey, "Test CA", NULL, NULL);
	p->cert = mk_cert(p->key, name, p->ca, p->cakey);
}

static void
pki_free(struct pki *p)
{
	X509_free(p->ca);
	X509_free(p->cert);
	EVP_PKEY_free(p->cakey);
	EVP_PKEY_free(p->key);
}

/* HTTPS to name (resolved by the fake DNS to loopback), the server's
 * certificate made for certname. */
static void
https_get(const char *name, const char *certname, struct result *res)
{
	struct event_base *base = event_base_new();
	struct dnsq_fake *dns = dnsq_fake_new();
	SSL_CTX *sctx = SSL_CTX_new(TLS_server_method());
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	struct pki p;
	struct srv s;
	struct httpc_req rq;

	pki_make(&p, certname);
	SSL_CTX_use_certificate(sctx, p.cert);
	SSL_CTX_use_PrivateKey(sctx, p.key);
	X509_STORE_add_cert(SSL_CTX_get_cert_store(cctx), p.ca);
	dnsq_fake_add(dns, name, DNSQ_A, "127.0.0.1");
	memset(res, 0, sizeof(*res));
	srv_start(&s, sctx,
	    "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nsecret");
	rq = req_get(name, s.port);
	rq.tls = cctx;
	rq.dns = dnsq_fake_dnsq(dns);
	CHECK(httpc_start(base, &rq, on_resp, res) != NULL);
	run_until(base, dns, res);
	srv_stop(&s);
	if (res->status)
		CHECK(strstr(s.got, "\r\nHost: ") != NULL);
	else
		CHECK(s.gotlen == 0); /* nothing sent to a wrong peer */
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	pki_free(&p);
	dnsq_fake_free(dns);
	event_base_free(base);
}

UNIT_TEST(test_httpc_https_to_a_verified_name_gets_its_body)
{
	struct result res;

	https_get("mta-sts.example.test", "mta-sts.example.test", &res);
	CHECK(res.calls == 1 && res.status == 200);
	CHECK_STR(res.body, "secret");
	CHECK(res.tls_failed == 0);
}

UNIT_TEST(test_httpc_https_to_a_certificate_for_another_name_fails)
{
	struct result res;

	https_get("mta-sts.example.test", "other.example.test", &res);
	CHECK(res.calls == 1 && res.status == 0);
	CHECK(res.tls_failed == 1);
	CHECK(res.verify == X509_V_ERR_HOSTNAME_MISMATCH);
	CHECK_STR(res.error, "TLS handshake failed: certificate not verified "
			     "(hostname mismatch)");
}
