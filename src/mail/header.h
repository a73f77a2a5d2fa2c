/*
 * header: what postern reads in a message's header section: whether it
 * has Date: and Message-ID: (RFC 6409 adds them when missing), and the
 * originator fields (From:, Sender:, Resent-From:, Resent-Sender:), whose
 * addresses the sender rule checks, or DMARC and mail programs would
 * show an address the sender may not use.
 */
#ifndef POSTERN_HEADER_H
#define POSTERN_HEADER_H

#include <stddef.h>

#include "addr.h"

#define HEADER_FROM_MAX 32 /* addresses in one From: */
#define HEADER_ORIG_MAX 16 /* originator fields kept by the scan */

enum header_orig {
	HEADER_FROM,
	HEADER_SENDER,
	HEADER_RESENT_FROM,
	HEADER_RESENT_SENDER,
};

struct header_field {
	enum header_orig kind;
	const char *val; /* after the colon, folded, up to the line end */
	size_t len;
};

struct header_info {
	size_t header_len; /* bytes up to and including the blank line */
	int from_count;	   /* From: fields seen */
	int sender_count;  /* Sender: fields seen */
	int has_date, has_msgid;
	const char *from; /* the (first) From: value, folded */
	size_t from_len;
	int norig; /* originator fields seen, may exceed HEADER_ORIG_MAX */
	/* names like one once blanks, control and non-ASCII bytes are
	 * dropped (" From", "From<NBSP>"), and lines that begin with a
	 * control or non-ASCII byte (folding to a lenient reader) */
	int lookalike;
	struct header_field orig[HEADER_ORIG_MAX]; /* the first ones */
};

/* Scan the header section of a CRLF message (no limits exceeded: the
 * caller bounded len). Never fails: a message without a blank line is
 * all header. */
void header_scan(const char *msg, size_t len, struct header_info *);

/* The grammar a field's value is read by (RFC 5322 3.4, 3.6.2). */
enum header_grammar {
	HEADER_MAILBOX_LIST, /* From:, Resent-From: */
	HEADER_MAILBOX,	     /* Sender:, Resent-Sender: exactly one */
	HEADER_ADDRESS_LIST, /* To:, Cc:, Reply-To: groups allowed */
};

/* The grammar of an originator field, and its name ("From:"). */
enum header_grammar header_orig_grammar(enum header_orig);
const char *header_orig_name(enum header_orig);

/*
 * The addr-specs of a field's value, by the strict RFC 5322 grammar, so
 * that postern reads the addresses every mail program reads: display
 * names are words (an @ must be quoted), a group ends with ";" (and is
 * only allowed in an address-list), the value is UTF-8, comments and
 * folding go anywhere CFWS may, a comment flat (none inside another,
 * no backslash: simple tokenizers end it at its first ")" and read the
 * rest as addresses). Refused besides: the obs- forms (routes,
 * empty list elements, CFWS inside a dot-atom; a "." inside a display
 * name is kept: "John Q. Public"), address literals, and encoded-words
 * in an address (RFC 2047 5). A quoted local part that needs no quotes
 * is given without them. 0 and *n addresses, or -1 when the value is
 * not of the grammar or has more than max addresses, with a sentence in
 * *why (static) if why is not NULL.
 */
int header_addresses(const char *val, size_t len, enum header_grammar,
    char (*out)[ADDR_MAX + 1], int max, int *n, const char **why);

#endif
