/*
 * header: what postern reads in a message's header section: whether it
 * has Date: and Message-ID: (RFC 6409 adds them when missing), and the
 * addresses of From: (the sender rule applies to each, or DMARC fails).
 */
#ifndef POSTERN_HEADER_H
#define POSTERN_HEADER_H

#include <stddef.h>

#include "addr.h"

#define HEADER_FROM_MAX 32 /* addresses in one From: */

struct header_info {
	size_t header_len; /* bytes up to and including the blank line */
	int from_count;	   /* From: fields seen */
	int has_date, has_msgid;
	const char *from; /* the (first) From: value, folded */
	size_t from_len;
};

/* Scan the header section of a CRLF message (no limits exceeded: the
 * caller bounded len). Never fails: a message without a blank line is
 * all header. */
void header_scan(const char *msg, size_t len, struct header_info *);

/*
 * The addr-specs of an address-list (display names, comments, quoted
 * strings, groups and folding handled). 0 and *n addresses, or -1 when
 * the list is malformed or has more than max.
 */
int header_addresses(const char *val, size_t len, char (*out)[ADDR_MAX + 1],
    int max, int *n);

#endif
