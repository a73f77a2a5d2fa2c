/* dnsq_fake: a DNS table for the unit tests of the inbound checks. */
#ifndef POSTERN_DNSQ_FAKE_H
#define POSTERN_DNSQ_FAKE_H

#include "util/dnsq.h"

struct dnsq_fake;

struct dnsq_fake *dnsq_fake_new(void);
void dnsq_fake_free(struct dnsq_fake *);
/* The struct dnsq to hand to the code under test. */
struct dnsq *dnsq_fake_dnsq(struct dnsq_fake *);
/* Add a record (name as asked, any case, no trailing dot). A name with
 * records of some type answers DNSQ_NODATA for the others, an unknown name
 * DNSQ_NXDOMAIN. */
void dnsq_fake_add(struct dnsq_fake *, const char *name, enum dnsq_type,
    const char *rr);
/* Make every question for name (any type) answer status (TEMPFAIL ...). */
void dnsq_fake_fail(struct dnsq_fake *, const char *name, enum dnsq_status);
/* Answer every pending question, and those asked meanwhile; returns the
 * number answered. */
int dnsq_fake_run(struct dnsq_fake *);
/* Questions asked so far (cancelled ones too). */
int dnsq_fake_asked(const struct dnsq_fake *);

#endif
