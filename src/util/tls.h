/*
 * tls: the server side's TLS context (certificate, key, protocol floor),
 * one for every listener of the process. A reload builds a new one and
 * publishes it; the old one stays allocated (whoever publishes keeps it
 * until exit), since another thread may be inside SSL_new() with it.
 */
#ifndef POSTERN_TLS_H
#define POSTERN_TLS_H

#include <stddef.h>

#include <openssl/ssl.h>

/* A context for cert (chain) and key; NULL with a message in err. */
SSL_CTX *tls_server_new(const char *cert, const char *key, char *err,
    size_t errlen);
/* The context in force, for SSL_new() on any thread. */
SSL_CTX *tls_server_current(void);
/* Put ctx in force; the previous one (or NULL) back to the caller. */
SSL_CTX *tls_server_publish(SSL_CTX *ctx);

#endif
