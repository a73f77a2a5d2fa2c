/*
 * sender: who may send as whom. An identity is what a login proved: a
 * user (their local parts, at every name of their domain) or a domain
 * (any local part at every name of the domain: a domain login, or a
 * relay network, whose identity the session builds from the domain).
 * The same rule applies to MAIL FROM and to every address in From:,
 * Sender:, Resent-From: and Resent-Sender:.
 */
#ifndef POSTERN_SENDER_H
#define POSTERN_SENDER_H

#include <stddef.h>
#include <stdint.h>

#include "../mail/addr.h"

#define SENDER_NAMES_MAX 256 /* local parts per user, names per domain */

struct sender_identity {
	int64_t user_id; /* 0 for a domain login or a relay network */
	int64_t domain_id;
	char login[ADDR_MAX + 1];
	int nlocals, ndomains;
	char *locals;  /* folded local parts, NUL-separated */
	char *domains; /* canonical domain names, NUL-separated */
	/* both lists live in the same allocation, after the struct */
};

/* One allocation holding the lists; free() frees it. */
struct sender_identity *sender_identity_new(int64_t user_id, int64_t domain_id,
    const char *login, const char *const *locals, int nlocals,
    const char *const *domains, int ndomains);

/*
 * 1 if the identity may use this address as a sender. The address is
 * as the client wrote it ("Alice@Example.ORG", U-labels allowed); the
 * null sender and anything unparseable are refused.
 */
int sender_is_allowed(const struct sender_identity *, const char *address);

#endif
