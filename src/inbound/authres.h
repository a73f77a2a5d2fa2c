/*
 * authres: the Authentication-Results header field (RFC 8601) that
 * carries the inbound checks' results to the mailbox, and the removal of
 * any such field a sender wrote in our name before it arrived (RFC 8601
 * 5: a field claiming our authserv-id that we did not write is forged).
 */
#ifndef POSTERN_AUTHRES_H
#define POSTERN_AUTHRES_H

#include <stddef.h>

#include "../util/buf.h"

#define AUTHRES_ITEMS_MAX 16
#define AUTHRES_PROPS_MAX 4

/* One result: "method=result (reason) ptype.property=value ...". */
struct authres_item {
	const char *method; /* spf, dkim, dmarc, ... */
	const char *result; /* pass, fail, none, ... */
	const char *reason; /* a comment, or NULL */
	struct {
		const char *name;  /* "smtp.mailfrom", "header.d", ... */
		const char *value; /* quoted when it is not a token */
	} props[AUTHRES_PROPS_MAX];
	int nprops;
};

/*
 * Remove every Authentication-Results field of msg's header section whose
 * authserv-id is authserv_id (compared without case), in place; *len is
 * the new length. Returns the number of fields removed.
 */
int authres_strip(char *msg, size_t *len, const char *authserv_id);

/*
 * Append "Authentication-Results: id; item; item\r\n" to out, one item per
 * folded line; "none" alone when n is 0. Control bytes in reasons and
 * values never reach the field. -1 if out is full.
 */
int authres_format(struct buf *out, const char *authserv_id,
    const struct authres_item *items, int n);

#endif
