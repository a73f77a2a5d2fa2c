/* route: see route.h. */
#include <stdio.h>
#include <string.h>

#include "route.h"
#include "../forward/srs.h"
#include "../mail/addr.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/str.h"

int
route_folder(char *mailbox, size_t len, const char *folder)
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

/* An SRS local part at a hosted domain: decoded, checked, and where
 * the bounce goes into mailbox. */
static int
route_srs(const struct addr *a, time_t when, char *mailbox, size_t len)
{
	const struct srs_key *k = srs_key_current();
	int64_t max = conf_current() ? conf_current()->srs_max_age
				     : SRS_MAX_AGE_DEFAULT * 86400;

	if (k == NULL) /* no key loaded: nothing of ours to decode */
		return ROUTE_SRS_BAD;
	switch (
	    srs_reverse(k, a->local, when, (int)(max / 86400), mailbox, len)) {
	case 0:
		return ROUTE_SRS;
	case SRS_EXPIRED:
		return ROUTE_SRS_EXPIRED;
	default:
		mailbox[0] = '\0';
		return ROUTE_SRS_BAD;
	}
}

int
route_rcpt(struct store *st, const char *rcpt, char *mailbox, size_t len)
{
	return route_rcpt_at(st, rcpt, time(NULL), mailbox, len);
}

int
route_rcpt_at(struct store *st, const char *rcpt, time_t when, char *mailbox,
    size_t len)
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
		return ROUTE_REMOTE;
	if ((rc = store_domain_get(st, a.domain, &d)) == STORE_NOTFOUND)
		return ROUTE_REMOTE;
	if (rc != 0)
		return ROUTE_ERROR;
	/* before the users: an SRS local part is never a mailbox's */
	if (srs_is_srs(a.local))
		return route_srs(&a, when, mailbox, len);
	if ((rc = store_mailbox_user(st, &a, &u)) == STORE_NOTFOUND)
		return ROUTE_NOUSER;
	if (rc != 0)
		return ROUTE_ERROR;
	/* the login's spelling: local part folded, the primary name */
	str_ascii_lower(u.local);
	if ((size_t)snprintf(mailbox, len, "%s@%s", u.local, u.domain) >= len) {
		mailbox[0] = '\0';
		return ROUTE_ERROR;
	}
	return ROUTE_MAILBOX;
}
