/*
 * admin/forward: forwarding addresses (the operations are in admin.h's
 * table) and the public confirmation of a target by its mailed link.
 */
#ifndef POSTERN_ADMIN_FORWARD_H
#define POSTERN_ADMIN_FORWARD_H

#include <jansson.h>

#include "admin.h"

#define FORWARD_TARGETS_MAX 10	 /* forwarding addresses per user */
#define FORWARD_LINKS_PER_DAY 20 /* confirmations mailed per user a day */

/* What a live link confirms: {address, target}; 410 if it is not. */
int forward_confirm_show(struct admin_ctx *, const char *token, json_t **out,
    struct admin_err *);
/* Confirm it (once): {address, target, status}; 410 if not live. */
int forward_confirm(struct admin_ctx *, const char *token, json_t **out,
    struct admin_err *);

#endif
