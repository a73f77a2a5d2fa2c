/*
 * tls: the server's TLS context (see tls.h).
 */
#include <stdatomic.h>
#include <stdio.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tls.h"

/* TLS 1.2 suites: ECDHE or DHE, AES-GCM or ChaCha20-Poly1305 */
#define TLS_SERVER12_CIPHERS                                                   \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"           \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"           \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305:"           \
	"DHE-RSA-AES128-GCM-SHA256:DHE-RSA-AES256-GCM-SHA384:"                 \
	"DHE-RSA-CHACHA20-POLY1305"

static SSL_CTX *_Atomic tls_now;

SSL_CTX *
tls_server_new(const char *cert, const char *key, char *err, size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());

	if (ctx == NULL)
		goto fail;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* Mozilla's "intermediate": TLS 1.2 only with forward secrecy and
	 * AEAD (no CBC, no SHA-1 MAC); TLS 1.3's suites are all AEAD. Every
	 * suite is strong, so the client picks (phones prefer ChaCha20). */
	if (SSL_CTX_set_cipher_list(ctx, TLS_SERVER12_CIPHERS) != 1)
		goto fail;
	if (SSL_CTX_set_dh_auto(ctx, 1) != 1)
		goto fail;
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
	/* idle sessions hand their TLS buffers back (memory per session) */
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	/* TLS 1.3: one resumption ticket, not OpenSSL's two (a mail client
	 * resumes one session at a time); each costs a sealed ticket and a
	 * record of its own in every handshake */
	if (SSL_CTX_set_num_tickets(ctx, 1) != 1)
		goto fail;
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		snprintf(err, errlen, "tls.cert %.900s: %.80s", cert,
		    ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1) {
		snprintf(err, errlen, "tls.key %.900s: %.80s", key,
		    ERR_reason_error_string(ERR_get_error()));
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
fail:
	snprintf(err, errlen, "tls: %s",
	    ERR_reason_error_string(ERR_get_error()));
	SSL_CTX_free(ctx);
	return NULL;
}

SSL_CTX *
tls_server_current(void)
{
	return atomic_load(&tls_now);
}

SSL_CTX *
tls_server_publish(SSL_CTX *ctx)
{
	return atomic_exchange(&tls_now, ctx);
}
