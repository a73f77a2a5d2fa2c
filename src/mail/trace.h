/*
 * trace: what forwarding reads in a message's header section, by pure
 * functions over bounded bytes: whether a Delivered-To: field names an
 * address (the loop check, as Postfix's), how many ARC-Seal fields there
 * are, and the value of our own Authentication-Results field. Only the
 * header section is looked at (up to the first empty line), and at most
 * TRACE_LINES_MAX lines of it.
 */
#ifndef POSTERN_TRACE_H
#define POSTERN_TRACE_H

#include <stddef.h>

#define TRACE_LINES_MAX 1024

/* 1 if a Delivered-To: field's value is addr (any case, in <> or not,
 * blanks around it), else 0. */
int trace_delivered_to(const char *msg, size_t len, const char *addr);
/* How many fields named name (any case, without the colon) there are. */
int trace_count(const char *msg, size_t len, const char *name);
/* The value of the first Authentication-Results field whose authserv-id
 * is authserv (any case), unfolded (CRLFs dropped, the continuation
 * lines' blanks kept), without the blanks that start it, into out: 0,
 * or -1 if there is none or it does not fit. */
int trace_authres(const char *msg, size_t len, const char *authserv, char *out,
    size_t outlen);

#endif
