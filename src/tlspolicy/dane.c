/*
 * dane: TLSA records and the DANE check of an SMTP peer (RFC 7672), on
 * OpenSSL's DANE support; see dane.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "dane.h"

int
dane_tlsa_parse(const unsigned char *rdata, size_t len, struct dane_tlsa *out)
{
	size_t dlen;

	if (rdata == NULL || out == NULL || len < 4)
		return -1;
	dlen = len - 3;
	if (dlen > DANE_TLSA_MAX_DATA)
		return -1;
	switch (rdata[2]) {
	case DANE_MTYPE_SHA256:
		if (dlen != 32)
			return -1;
		break;
	case DANE_MTYPE_SHA512:
		if (dlen != 64)
			return -1;
		break;
	default: /* full data, or unknown: bounded above, and not empty */
		break;
	}
	memset(out, 0, sizeof(*out));
	out->usage = rdata[0];
	out->selector = rdata[1];
	out->mtype = rdata[2];
	out->len = dlen;
	memcpy(out->data, rdata + 3, dlen);
	out->usable = (out->usage == DANE_USAGE_DANE_TA ||
			  out->usage == DANE_USAGE_DANE_EE) &&
		      out->selector <= DANE_SELECTOR_SPKI &&
		      out->mtype <= DANE_MTYPE_SHA512;
	return 0;
}

struct tlsa_set *
tlsa_set_new(int n)
{
	struct tlsa_set *s;

	if (n < 0 || n > 64)
		return NULL;
	if ((s = calloc(1, sizeof(*s) + (size_t)n * sizeof(s->recs[0]))) ==
	    NULL)
		return NULL;
	s->refs = 1;
	s->n = n;
	return s;
}

struct tlsa_set *
tlsa_set_ref(struct tlsa_set *s)
{
	if (s != NULL)
		s->refs++;
	return s;
}

void
tlsa_set_unref(struct tlsa_set *s)
{
	if (s != NULL && --s->refs == 0)
		free(s);
}

void
dane_tlsa_text(const struct dane_tlsa *t, char *out, size_t outlen)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t i, o;
	int n;

	n = snprintf(out, outlen, "%u %u %u ", t->usage, t->selector, t->mtype);
	if (n < 0 || (size_t)n >= outlen)
		return;
	o = (size_t)n;
	for (i = 0; i < t->len && o + 2 < outlen; i++) {
		out[o++] = hex[t->data[i] >> 4];
		out[o++] = hex[t->data[i] & 15];
	}
	out[o] = '\0';
}

int
dane_tlsa_name(const char *mx_host, int port, char *out, size_t outlen)
{
	size_t hlen, i, label = 0;
	int n;
	char c;

	if (mx_host == NULL || out == NULL || port < 1 || port > 65535)
		return -1;
	hlen = strlen(mx_host);
	if (hlen > 0 && mx_host[hlen - 1] == '.')
		hlen--;
	if (hlen == 0 || hlen > 253)
		return -1;
	/* letters, digits, '-', '_' in labels of 1 to 63 */
	for (i = 0; i < hlen; i++) {
		c = mx_host[i];
		if (c == '.') {
			if (label == 0)
				return -1;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -1;
		if (++label > 63)
			return -1;
	}
	n = snprintf(out, outlen, "_%d._tcp.", port);
	if (n < 0 || (size_t)n + hlen + 1 > outlen)
		return -1;
	for (i = 0; i < hlen; i++) {
		c = mx_host[i];
		out[n + i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	out[n + hlen] = '\0';
	return 0;
}

int
dane_setup(SSL_CTX *ctx, SSL *ssl, const char *mx_host, const char *base_domain,
    const struct dane_tlsa *recs, int n)
{
	int i, usable = 0, added = 0, r;

	if (ctx == NULL || ssl == NULL || base_domain == NULL ||
	    *base_domain == '\0' || n < 0 || (n > 0 && recs == NULL))
		return -1;
	for (i = 0; i < n; i++)
		if (recs[i].usable)
			usable++;
	if (usable == 0)
		return 0; /* nothing changed on ssl: see dane.h */
	if (SSL_CTX_dane_enable(ctx) <= 0 ||
	    SSL_dane_enable(ssl, base_domain) <= 0)
		return -1;
	/* RFC 7672 3.1.1: DANE-EE(3) names nothing; 3.2.3: for DANE-TA(2),
	 * the base domain and the MX host name, wildcards only as a whole
	 * leftmost label */
	SSL_dane_set_flags(ssl, DANE_FLAG_NO_DANE_EE_NAMECHECKS);
	SSL_set_hostflags(ssl, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
	if (mx_host != NULL && *mx_host != '\0' &&
	    strcasecmp(mx_host, base_domain) != 0 &&
	    SSL_add1_host(ssl, mx_host) != 1)
		return -1;
	for (i = 0; i < n; i++) {
		if (!recs[i].usable)
			continue;
		r = SSL_dane_tlsa_add(ssl, recs[i].usage, recs[i].selector,
		    recs[i].mtype, recs[i].data, recs[i].len);
		if (r < 0)
			return -1;
		if (r > 0)
			added++;
	}
	if (added > 0)
		SSL_set_verify(ssl, SSL_VERIFY_PEER, NULL);
	return added;
}

int
dane_result(SSL *ssl, char *why, size_t whylen)
{
	uint8_t usage = 0, selector = 0, mtype = 0;
	const unsigned char *data = NULL;
	size_t dlen = 0;
	const char *peer;
	long vr;
	int depth;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (ssl == NULL)
		return 0;
	vr = SSL_get_verify_result(ssl);
	depth =
	    SSL_get0_dane_tlsa(ssl, &usage, &selector, &mtype, &data, &dlen);
	if (vr != X509_V_OK || depth < 0) {
		if (why != NULL && whylen > 0) {
			if (vr != X509_V_OK)
				snprintf(why, whylen, "DANE: not verified: %s",
				    X509_verify_cert_error_string(vr));
			else
				snprintf(why, whylen,
				    "DANE: no TLSA record matched");
		}
		return 0;
	}
	peer = SSL_get0_peername(ssl);
	if (why != NULL && whylen > 0) {
		if (usage == DANE_USAGE_DANE_TA && peer != NULL)
			snprintf(why, whylen,
			    "DANE-TA %u %u %u matched at depth %d (peer %s)",
			    (unsigned)usage, (unsigned)selector,
			    (unsigned)mtype, depth, peer);
		else
			snprintf(why, whylen, "%s %u %u %u matched at depth %d",
			    usage == DANE_USAGE_DANE_EE	  ? "DANE-EE"
			    : usage == DANE_USAGE_DANE_TA ? "DANE-TA"
							  : "TLSA",
			    (unsigned)usage, (unsigned)selector,
			    (unsigned)mtype, depth);
	}
	return 1;
}
