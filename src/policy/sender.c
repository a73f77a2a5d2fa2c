/*
 * sender: the sender rule, pure and table-tested: no store access here,
 * the identity was loaded at AUTH and is kept by the session, compactly
 * (an idle authenticated session should cost little memory).
 */
#include <stdlib.h>
#include <string.h>

#include "sender.h"
#include "../util/str.h"

struct sender_identity *
sender_identity_new(int64_t user_id, int64_t domain_id, const char *login,
    const char *const *locals, int nlocals, const char *const *domains,
    int ndomains)
{
	struct sender_identity *id;
	size_t ll = 0, dl = 0;
	char *p;
	int i;

	for (i = 0; i < nlocals; i++)
		ll += strlen(locals[i]) + 1;
	for (i = 0; i < ndomains; i++)
		dl += strlen(domains[i]) + 1;
	if ((id = calloc(1, sizeof(*id) + ll + dl + 2)) == NULL)
		return NULL;
	id->user_id = user_id;
	id->domain_id = domain_id;
	str_lcpy(id->login, login, sizeof(id->login));
	id->nlocals = nlocals;
	id->ndomains = ndomains;
	p = id->locals = (char *)(id + 1);
	for (i = 0; i < nlocals; i++)
		p = stpcpy(p, locals[i]) + 1;
	p = id->domains = p + 1;
	for (i = 0; i < ndomains; i++)
		p = stpcpy(p, domains[i]) + 1;
	return id;
}

static int
sender_in(const char *list, int n, const char *name)
{
	int i;

	for (i = 0; i < n; i++, list += strlen(list) + 1)
		if (strcmp(list, name) == 0)
			return 1;
	return 0;
}

int
sender_is_allowed(const struct sender_identity *id, const char *address)
{
	struct addr a;
	char err[160];

	if (address[0] == '\0' ||
	    addr_parse(address, &a, err, sizeof(err)) == -1)
		return 0;
	if (!sender_in(id->domains, id->ndomains, a.domain))
		return 0;
	if (id->user_id == 0)
		return 1; /* a domain login: any local part */
	return sender_in(id->locals, id->nlocals, a.local_key);
}
