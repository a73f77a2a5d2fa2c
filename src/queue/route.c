/*
 * route: where a recipient goes. With [mailbox] lmtp set, a recipient
 * at a hosted domain (a domain or domain alias in the store) goes to
 * its user's mailbox over LMTP, addressed to the user's own address; a
 * hosted domain with no such user (the user was removed after the mail
 * was queued) is a permanent failure. Anything else goes the usual way
 * (its domain's MX hosts, or the smarthost). Runs on a worker (the
 * store) for the queue, and in the CLI for `queue list`.
 */
#include <stdio.h>
#include <string.h>

#include "qmgr.h"
#include "../mail/addr.h"
#include "../store/store.h"
#include "../util/str.h"

int
queue_route_folder(char *mailbox, size_t len, const char *folder)
{
	char *at = strrchr(mailbox, '@');
	size_t n = strlen(mailbox), f = strlen(folder);

	if (at == NULL || n + f + 2 > len)
		return -1;
	memmove(at + f + 1, at, strlen(at) + 1);
	at[0] = '+';
	memcpy(at + 1, folder, f);
	return 0;
}

int
queue_route(struct store *st, const char *rcpt, char *mailbox, size_t len)
{
	struct store_domain d;
	struct store_user u;
	struct addr a;
	char err[160];
	int rc;

	mailbox[0] = '\0';
	/* not an address a hosted domain could have: the usual way, which
	 * answers for it */
	if (addr_parse(rcpt, &a, err, sizeof(err)) == -1)
		return QUEUE_ROUTE_REMOTE;
	if ((rc = store_domain_get(st, a.domain, &d)) == STORE_NOTFOUND)
		return QUEUE_ROUTE_REMOTE;
	if (rc != 0)
		return QUEUE_ROUTE_ERROR;
	if ((rc = store_mailbox_user(st, &a, &u)) == STORE_NOTFOUND)
		return QUEUE_ROUTE_NOUSER;
	if (rc != 0)
		return QUEUE_ROUTE_ERROR;
	/* the login's spelling: local part folded, the primary name */
	str_ascii_lower(u.local);
	if ((size_t)snprintf(mailbox, len, "%s@%s", u.local, u.domain) >= len) {
		mailbox[0] = '\0';
		return QUEUE_ROUTE_ERROR;
	}
	return QUEUE_ROUTE_MAILBOX;
}
