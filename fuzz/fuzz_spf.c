/*
 * fuzz_spf: the SPF record parser, the macro expander and check_host()
 * on arbitrary bytes. The input is a record, then after the first '\n' a
 * macro-string. Properties:
 *  - a parsed record has at most SPF_MAX_TERMS terms, CIDR lengths in
 *    range, and every domain-spec in it expands to a lower-case name of at
 *    most SPF_DOMAIN_MAX bytes with no trailing dot, or is refused;
 *  - the macro-string expands within its buffer, as a domain-spec and as
 *    an explanation;
 *  - check_host() over a DNS that answers the record for every TXT
 *    question ends with one call back, within the lookup limits.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inbound/spf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const struct spf_macro_env env = { "strong-bad@email.example.com",
	"strong-bad", "email.example.com", "email.example.com", "192.0.2.3",
	"192.0.2.3", 0, "mx.example.org", "mx.example.net", 1000000000 };

static void
check_name(const char *spec)
{
	char out[SPF_DOMAIN_MAX + 1];
	size_t len, i;

	if (spf_macro_expand(spec, &env, 0, out, sizeof(out)) == -1)
		return;
	len = strlen(out);
	if (len == 0 || len > SPF_DOMAIN_MAX || out[len - 1] == '.')
		abort();
	for (i = 0; i < len; i++)
		if (out[i] >= 'A' && out[i] <= 'Z')
			abort();
}

/* A DNS whose answers wait in a queue, as c-ares' wait for the loop. */
#define FQ_MAX 512
struct fq {
	uint64_t id;
	enum dnsq_type type;
	dnsq_cb cb;
	void *arg;
	int cancelled;
};
static struct fq fqs[FQ_MAX];
static int fq_n, fq_next;
static uint64_t fq_ids;
static const char *fq_txt;

static uint64_t
fq_ask(struct dnsq *d, const char *name, enum dnsq_type type, dnsq_cb cb,
    void *arg)
{
	if (fq_n == FQ_MAX || name == NULL || strlen(name) > 253)
		abort(); /* the limits keep a check far below this */
	fqs[fq_n] = (struct fq){ ++fq_ids, type, cb, arg, 0 };
	return fqs[fq_n++].id;
}

static void
fq_cancel(struct dnsq *d, uint64_t h)
{
	int i;

	for (i = fq_next; i < fq_n; i++)
		if (fqs[i].id == h)
			fqs[i].cancelled = 1;
}

static void
done_cb(struct spf_check *c, void *arg)
{
	(*(int *)arg)++;
}

static void
run_check(const char *record, const char *ip)
{
	static const char *const rr[] = { "", "192.0.2.3", "2001:db8::3",
		"mx.email.example.com", "email.example.com" };
	struct dnsq d = { fq_ask, fq_cancel, NULL };
	struct dnsq_answer a;
	struct spf_check *c;
	int calls = 0;

	fq_n = fq_next = 0;
	fq_txt = record;
	c = spf_check_start(&d, ip, "mx.example.org",
	    "strong-bad@email.example.com", done_cb, &calls);
	if (c == NULL)
		abort();
	while (fq_next < fq_n) {
		struct fq q = fqs[fq_next++];

		if (q.cancelled)
			continue;
		memset(&a, 0, sizeof(a));
		a.status = DNSQ_OK;
		a.n = 1;
		a.rr[0] = q.type == DNSQ_TXT ? fq_txt : rr[q.type];
		q.cb(&a, q.arg);
	}
	if (spf_check_finished(c) != 1 || calls > 1 ||
	    spf_check_lookups(c) > 11 || spf_check_voids(c) > 3)
		abort();
	spf_check_free(c);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spf_record r;
	char *buf, *nl, out[512], err[128];
	int i;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	if ((nl = strchr(buf, '\n')) != NULL)
		*nl++ = '\0';
	if (spf_record_parse(buf, &r, err, sizeof(err)) == 0) {
		if (r.nterms > SPF_MAX_TERMS)
			abort();
		for (i = 0; i < r.nterms; i++) {
			if (r.terms[i].cidr4 < 0 || r.terms[i].cidr4 > 32 ||
			    r.terms[i].cidr6 < 0 || r.terms[i].cidr6 > 128)
				abort();
			if (r.terms[i].spec != NULL)
				check_name(r.terms[i].spec);
		}
		if (r.redirect != NULL)
			check_name(r.redirect);
		if (r.exp != NULL)
			check_name(r.exp);
		run_check(buf, "192.0.2.3");
		run_check(buf, "2001:db8::3");
	}
	if (nl != NULL) {
		check_name(nl);
		if (spf_macro_expand(nl, &env, 1, out, sizeof(out)) == 0 &&
		    strlen(out) >= sizeof(out))
			abort();
	}
	free(buf);
	return 0;
}
