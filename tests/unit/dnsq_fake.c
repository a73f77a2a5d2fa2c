/* dnsq_fake: see dnsq_fake.h. Answers wait until dnsq_fake_run(), as c-ares
 * answers wait for the loop. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "dnsq_fake.h"

#define FAKE_MAX 256

struct fake_rr {
	char *name, *rr;
	enum dnsq_type type;
	int fail; /* 0, or a dnsq_status for every type */
};

struct fake_q {
	uint64_t id;
	char *name;
	enum dnsq_type type;
	dnsq_cb cb;
	void *arg;
	int cancelled;
};

struct dnsq_fake {
	struct dnsq d;
	struct fake_rr rrs[FAKE_MAX];
	int nrr;
	struct fake_q qs[FAKE_MAX];
	int nq, next, asked;
	uint64_t ids;
};

static uint64_t
fake_ask(struct dnsq *d, const char *name, enum dnsq_type type, dnsq_cb cb,
    void *arg)
{
	struct dnsq_fake *f = d->impl;
	struct fake_q *q;

	if (f->nq == FAKE_MAX || name == NULL)
		return 0;
	q = &f->qs[f->nq++];
	q->id = ++f->ids;
	q->name = strdup(name);
	q->type = type;
	q->cb = cb;
	q->arg = arg;
	q->cancelled = 0;
	f->asked++;
	return q->id;
}

static void
fake_cancel(struct dnsq *d, uint64_t handle)
{
	struct dnsq_fake *f = d->impl;
	int i;

	for (i = f->next; i < f->nq; i++)
		if (f->qs[i].id == handle)
			f->qs[i].cancelled = 1;
}

struct dnsq_fake *
dnsq_fake_new(void)
{
	struct dnsq_fake *f = calloc(1, sizeof(*f));

	if (f == NULL)
		abort();
	f->d.ask = fake_ask;
	f->d.cancel = fake_cancel;
	f->d.impl = f;
	return f;
}

void
dnsq_fake_free(struct dnsq_fake *f)
{
	int i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nrr; i++) {
		free(f->rrs[i].name);
		free(f->rrs[i].rr);
	}
	for (i = f->next; i < f->nq; i++)
		free(f->qs[i].name);
	free(f);
}

struct dnsq *
dnsq_fake_dnsq(struct dnsq_fake *f)
{
	return &f->d;
}

void
dnsq_fake_add(struct dnsq_fake *f, const char *name, enum dnsq_type type,
    const char *rr)
{
	if (f->nrr == FAKE_MAX)
		abort();
	f->rrs[f->nrr].name = strdup(name);
	f->rrs[f->nrr].rr = strdup(rr);
	f->rrs[f->nrr].type = type;
	f->rrs[f->nrr].fail = 0;
	f->nrr++;
}

void
dnsq_fake_fail(struct dnsq_fake *f, const char *name, enum dnsq_status st)
{
	dnsq_fake_add(f, name, DNSQ_TXT, "");
	f->rrs[f->nrr - 1].fail = (int)st;
}

static void
fake_answer(struct dnsq_fake *f, const struct fake_q *q)
{
	struct dnsq_answer a;
	int i, known = 0;

	memset(&a, 0, sizeof(a));
	for (i = 0; i < f->nrr; i++) {
		if (strcasecmp(f->rrs[i].name, q->name) != 0)
			continue;
		known = 1;
		if (f->rrs[i].fail) {
			a.status = (enum dnsq_status)f->rrs[i].fail;
			a.n = 0;
			q->cb(&a, q->arg);
			return;
		}
		if (f->rrs[i].type == q->type && a.n < DNSQ_MAX_RR)
			a.rr[a.n++] = f->rrs[i].rr;
	}
	a.status = a.n ? DNSQ_OK : known ? DNSQ_NODATA : DNSQ_NXDOMAIN;
	q->cb(&a, q->arg);
}

int
dnsq_fake_run(struct dnsq_fake *f)
{
	int n = 0;

	while (f->next < f->nq) {
		struct fake_q q = f->qs[f->next++];

		if (!q.cancelled) {
			fake_answer(f, &q);
			n++;
		}
		free(q.name);
	}
	f->nq = f->next = 0;
	return n;
}

int
dnsq_fake_asked(const struct dnsq_fake *f)
{
	return f->asked;
}
