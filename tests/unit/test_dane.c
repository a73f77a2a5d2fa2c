/*
 * test_dane: the TLSA reader and the DANE check. Parse cases on bytes
 * written here; then real TLS handshakes on a socketpair between an
 * OpenSSL server with certificates made in the test (a CA and a leaf for
 * mx.example.test) and a client set up by dane_setup().
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "unit.h"
#include "tlspolicy/dane.h"

static int
t_parse(const unsigned char *p, size_t len, struct dane_tlsa *t)
{
	return dane_tlsa_parse(p, len, t);
}

UNIT_TEST(dane_parse)
{
	static struct dane_tlsa t;
	unsigned char b[3 + DANE_TLSA_MAX_DATA + 1];

	memset(b, 0xab, sizeof(b));
	/* 3 1 1: 32 bytes */
	b[0] = 3, b[1] = 1, b[2] = 1;
	CHECK(t_parse(b, 3 + 32, &t) == 0);
	CHECK(t.usage == 3 && t.selector == 1 && t.mtype == 1);
	CHECK(t.len == 32 && t.usable == 1 && t.data[31] == 0xab);
	CHECK(t_parse(b, 3 + 31, &t) == -1);
	CHECK(t_parse(b, 3 + 33, &t) == -1);
	/* 2 0 1 */
	b[0] = 2, b[1] = 0, b[2] = 1;
	CHECK(t_parse(b, 3 + 32, &t) == 0);
	CHECK(t.usage == 2 && t.selector == 0 && t.usable == 1);
	/* 3 1 2: exactly 64 */
	b[0] = 3, b[1] = 1, b[2] = 2;
	CHECK(t_parse(b, 3 + 64, &t) == 0 && t.len == 64 && t.usable);
	CHECK(t_parse(b, 3 + 32, &t) == -1);
	CHECK(t_parse(b, 3 + 65, &t) == -1);
	/* 3 0 0: full data, 1 to 4096 bytes */
	b[2] = 0;
	CHECK(t_parse(b, 3 + 1, &t) == 0 && t.len == 1 && t.usable);
	CHECK(t_parse(b, 3 + DANE_TLSA_MAX_DATA, &t) == 0);
	CHECK(t.len == DANE_TLSA_MAX_DATA);
	CHECK(t_parse(b, 3 + DANE_TLSA_MAX_DATA + 1, &t) == -1);
	/* truncated */
	CHECK(t_parse(b, 3, &t) == -1);
	CHECK(t_parse(b, 2, &t) == -1);
	CHECK(t_parse(b, 0, &t) == -1);
	CHECK(t_parse(NULL, 35, &t) == -1);
	/* unknown matching type: kept, unusable (RFC 7672 2.2) */
	b[0] = 3, b[1] = 1, b[2] = 7;
	CHECK(t_parse(b, 3 + 20, &t) == 0 && t.mtype == 7 && !t.usable);
	/* unknown selector, unknown usage */
	b[0] = 3, b[1] = 2, b[2] = 1;
	CHECK(t_parse(b, 3 + 32, &t) == 0 && !t.usable);
	b[0] = 4, b[1] = 1, b[2] = 1;
	CHECK(t_parse(b, 3 + 32, &t) == 0 && !t.usable);
	/* PKIX-TA, PKIX-EE: unusable for SMTP (RFC 7672 3.1.3) */
	b[0] = 0, b[1] = 0, b[2] = 1;
	CHECK(t_parse(b, 3 + 32, &t) == 0 && t.usage == 0 && !t.usable);
	b[0] = 1, b[1] = 1, b[2] = 1;
	CHECK(t_parse(b, 3 + 32, &t) == 0 && t.usage == 1 && !t.usable);
}

UNIT_TEST(dane_name)
{
	char out[300];

	CHECK(dane_tlsa_name("MX1.Example.COM.", 25, out, sizeof(out)) == 0);
	CHECK_STR(out, "_25._tcp.mx1.example.com");
	CHECK(dane_tlsa_name("mx.example", 587, out, sizeof(out)) == 0);
	CHECK_STR(out, "_587._tcp.mx.example");
	CHECK(dane_tlsa_name("", 25, out, sizeof(out)) == -1);
	CHECK(dane_tlsa_name(".", 25, out, sizeof(out)) == -1);
	CHECK(dane_tlsa_name("a..b", 25, out, sizeof(out)) == -1);
	CHECK(dane_tlsa_name("a b", 25, out, sizeof(out)) == -1);
	CHECK(dane_tlsa_name("mx.example", 0, out, sizeof(out)) == -1);
	CHECK(dane_tlsa_name("mx.example", 70000, out, sizeof(out)) == -1);
	/* exactly fits, one byte short */
	CHECK(dane_tlsa_name("mx.example", 25, out, 20) == 0);
	CHECK_STR(out, "_25._tcp.mx.example");
	CHECK(dane_tlsa_name("mx.example", 25, out, 19) == -1);
}

/* A key, and a certificate for it signed by issuer (NULL: self). */
static EVP_PKEY *
t_key(void)
{
	return EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
}

static X509 *
t_cert(EVP_PKEY *key, const char *cn, int ca, X509 *issuer,
    EVP_PKEY *issuer_key)
{
	X509 *x = X509_new();
	X509_NAME *name = X509_NAME_new();
	X509_EXTENSION *ext;
	X509V3_CTX v3;
	char san[128];
	static long serial = 1;

	if (x == NULL || name == NULL)
		goto fail;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_subject_name(x, name);
	X509_set_issuer_name(x,
	    issuer != NULL ? X509_get_subject_name(issuer) : name);
	X509_set_pubkey(x, key);
	X509V3_set_ctx(&v3, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	if (ca) {
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_basic_constraints,
		    "critical,CA:TRUE");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_key_usage,
		    "critical,keyCertSign,cRLSign");
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	} else {
		snprintf(san, sizeof(san), "DNS:%s", cn);
		ext = X509V3_EXT_conf_nid(NULL, &v3, NID_subject_alt_name, san);
		X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
	}
	if (X509_sign(x, issuer_key != NULL ? issuer_key : key, EVP_sha256()) <=
	    0)
		goto fail;
	X509_NAME_free(name);
	return x;
fail:
	X509_NAME_free(name);
	X509_free(x);
	return NULL;
}

/* A TLSA record: usage, selector, SHA-256 of the cert or its key. */
static void
t_tlsa(struct dane_tlsa *t, int usage, int selector, X509 *x)
{
	unsigned char *der = NULL, rdata[3 + 32];
	unsigned int mdlen = 0;
	int len;

	len = selector == 1 ? i2d_PUBKEY(X509_get0_pubkey(x), &der)
			    : i2d_X509(x, &der);
	rdata[0] = (unsigned char)usage;
	rdata[1] = (unsigned char)selector;
	rdata[2] = 1;
	CHECK(len > 0);
	CHECK(EVP_Digest(der, (size_t)len, rdata + 3, &mdlen, EVP_sha256(),
		  NULL) == 1);
	OPENSSL_free(der);
	CHECK(dane_tlsa_parse(rdata, sizeof(rdata), t) == 0);
}

struct pki {
	EVP_PKEY *cakey, *key, *other;
	X509 *ca, *leaf, *othercert;
	SSL_CTX *sctx;
};

static int
t_pki(struct pki *p)
{
	memset(p, 0, sizeof(*p));
	p->cakey = t_key();
	p->key = t_key();
	p->other = t_key();
	if (p->cakey == NULL || p->key == NULL || p->other == NULL)
		return -1;
	p->ca = t_cert(p->cakey, "Test CA", 1, NULL, NULL);
	p->leaf = t_cert(p->key, "mx.example.test", 0, p->ca, p->cakey);
	p->othercert = t_cert(p->other, "mx.example.test", 0, NULL, NULL);
	if (p->ca == NULL || p->leaf == NULL || p->othercert == NULL)
		return -1;
	if ((p->sctx = SSL_CTX_new(TLS_server_method())) == NULL ||
	    SSL_CTX_use_certificate(p->sctx, p->leaf) != 1 ||
	    SSL_CTX_use_PrivateKey(p->sctx, p->key) != 1 ||
	    SSL_CTX_add1_chain_cert(p->sctx, p->ca) != 1)
		return -1;
	return 0;
}

static void
t_pki_free(struct pki *p)
{
	SSL_CTX_free(p->sctx);
	X509_free(p->ca);
	X509_free(p->leaf);
	X509_free(p->othercert);
	EVP_PKEY_free(p->cakey);
	EVP_PKEY_free(p->key);
	EVP_PKEY_free(p->other);
}

/* One handshake with recs: 1 if it completed, 0 if it failed; the
 * client's dane_setup() and dane_result() answers in *added, *verified
 * and why. */
static int
t_handshake(struct pki *p, const char *mx, const char *base,
    const struct dane_tlsa *recs, int n, int *added, int *verified, char *why,
    size_t whylen)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *c = NULL, *s = NULL;
	int sv[2] = { -1, -1 }, cdone = 0, sdone = 0, r, err, i, ok = 0;

	*added = -1;
	*verified = 0;
	if (cctx == NULL || socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == -1)
		goto out;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	fcntl(sv[1], F_SETFL, O_NONBLOCK);
	if ((c = SSL_new(cctx)) == NULL || (s = SSL_new(p->sctx)) == NULL)
		goto out;
	SSL_set_fd(c, sv[0]);
	SSL_set_fd(s, sv[1]);
	SSL_set_connect_state(c);
	SSL_set_accept_state(s);
	*added = dane_setup(cctx, c, mx, base, recs, n);
	for (i = 0; i < 100 && !(cdone && sdone); i++) {
		if (!cdone) {
			r = SSL_do_handshake(c);
			err = SSL_get_error(c, r);
			if (r == 1)
				cdone = 1;
			else if (err != SSL_ERROR_WANT_READ &&
				 err != SSL_ERROR_WANT_WRITE)
				goto out;
		}
		if (!sdone) {
			r = SSL_do_handshake(s);
			err = SSL_get_error(s, r);
			if (r == 1)
				sdone = 1;
			else if (err != SSL_ERROR_WANT_READ &&
				 err != SSL_ERROR_WANT_WRITE)
				goto out;
		}
	}
	ok = cdone && sdone;
out:
	if (c != NULL)
		*verified = dane_result(c, why, whylen);
	ERR_clear_error();
	SSL_free(c);
	SSL_free(s);
	SSL_CTX_free(cctx);
	if (sv[0] != -1)
		close(sv[0]);
	if (sv[1] != -1)
		close(sv[1]);
	return ok;
}

UNIT_TEST(dane_handshake)
{
	struct pki p;
	struct dane_tlsa *recs = calloc(3, sizeof(*recs));
	char why[256];
	int added, verified;

	CHECK(recs != NULL);
	if (recs == NULL)
		return;
	CHECK(t_pki(&p) == 0);

	/* 3 1 1 of the server's key: verified, whatever the name */
	t_tlsa(&recs[0], 3, 1, p.leaf);
	CHECK(t_handshake(&p, "other.example", "other.example", recs, 1, &added,
		  &verified, why, sizeof(why)) == 1);
	CHECK(added == 1 && verified == 1);
	CHECK_STR(why, "DANE-EE 3 1 1 matched at depth 0");

	/* 3 1 1 of another key: the handshake fails verification */
	t_tlsa(&recs[0], 3, 1, p.othercert);
	CHECK(t_handshake(&p, "mx.example.test", "mx.example.test", recs, 1,
		  &added, &verified, why, sizeof(why)) == 0);
	CHECK(added == 1 && verified == 0);
	CHECK(strncmp(why, "DANE: not verified", 18) == 0);

	/* ... but one of two records matching is enough */
	t_tlsa(&recs[1], 3, 1, p.leaf);
	CHECK(t_handshake(&p, "mx.example.test", "mx.example.test", recs, 2,
		  &added, &verified, why, sizeof(why)) == 1);
	CHECK(added == 2 && verified == 1);

	/* 2 0 1 of the CA, the right name: verified */
	t_tlsa(&recs[0], 2, 0, p.ca);
	CHECK(t_handshake(&p, "mx.example.test", "mx.example.test", recs, 1,
		  &added, &verified, why, sizeof(why)) == 1);
	CHECK(added == 1 && verified == 1);
	CHECK_STR(why,
	    "DANE-TA 2 0 1 matched at depth 1 (peer mx.example.test)");

	/* the MX host as the second reference identifier (a CNAME'd base
	 * domain) */
	CHECK(t_handshake(&p, "mx.example.test", "cname.example.test", recs, 1,
		  &added, &verified, why, sizeof(why)) == 1);
	CHECK(added == 1 && verified == 1);

	/* 2 0 1 of the CA, a wrong name: fails */
	CHECK(t_handshake(&p, "mx.other.test", "mx.other.test", recs, 1, &added,
		  &verified, why, sizeof(why)) == 0);
	CHECK(added == 1 && verified == 0);
	CHECK(strstr(why, "mismatch") != NULL);

	/* 2 1 1 of the CA's key: verified too */
	t_tlsa(&recs[0], 2, 1, p.ca);
	CHECK(t_handshake(&p, "mx.example.test", "mx.example.test", recs, 1,
		  &added, &verified, why, sizeof(why)) == 1);
	CHECK(added == 1 && verified == 1);

	/* 3 0 0: the server's whole certificate */
	{
		unsigned char *der = NULL, *rd;
		int len = i2d_X509(p.leaf, &der);

		CHECK(len > 0 && len <= DANE_TLSA_MAX_DATA);
		rd = malloc((size_t)len + 3);
		CHECK(rd != NULL);
		if (rd != NULL && der != NULL) {
			rd[0] = 3, rd[1] = 0, rd[2] = 0;
			memcpy(rd + 3, der, (size_t)len);
			CHECK(dane_tlsa_parse(rd, (size_t)len + 3, &recs[0]) ==
			      0);
			CHECK(t_handshake(&p, "x.test", "x.test", recs, 1,
				  &added, &verified, why, sizeof(why)) == 1);
			CHECK(added == 1 && verified == 1);
			CHECK_STR(why, "DANE-EE 3 0 0 matched at depth 0");
		}
		free(rd);
		OPENSSL_free(der);
	}

	/* only unusable records (PKIX-EE): nothing set up, the handshake
	 * completes unauthenticated, and dane_result says so */
	t_tlsa(&recs[0], 1, 1, p.leaf);
	t_tlsa(&recs[1], 0, 0, p.ca);
	CHECK(!recs[0].usable && !recs[1].usable);
	CHECK(t_handshake(&p, "mx.example.test", "mx.example.test", recs, 2,
		  &added, &verified, why, sizeof(why)) == 1);
	CHECK(added == 0 && verified == 0);

	/* bad arguments */
	CHECK(dane_setup(NULL, NULL, NULL, "x", recs, 1) == -1);

	t_pki_free(&p);
	free(recs);
}
