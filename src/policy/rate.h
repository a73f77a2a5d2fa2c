/*
 * rate: how often one client address does something, per minute: the
 * MX's connections and messages (Postfix's anvil rates). In memory,
 * shared by every loop, bounded (RATE_SLOTS entries, 8-way probing, the
 * stalest replaced); keyed by the address's key (util/net.h: an IPv6
 * client's /64), never by its spelling.
 */
#ifndef POSTERN_RATE_H
#define POSTERN_RATE_H

#include <stdint.h>

enum rate_kind { RATE_CONN, RATE_MSG, RATE_KINDS };

#define RATE_SLOTS 16384

/* Count one event of kind for key at now (seconds). 1 when that makes
 * more than limit in the last minute (then it is not counted: a refused
 * attempt does not extend the wait), else 0. limit 0: off, nothing
 * counted. */
int rate_hit(enum rate_kind, const char *key, int64_t limit, int64_t now);

#endif
