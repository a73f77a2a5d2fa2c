/*
 * fuzz_arc: ARC on hostile messages: the chain validation (structure,
 * the ARC-Message-Signature and ARC-Seal parsers, the hashes; keys asked
 * of a DNS that never answers, then cancelled), the parsers of both ARC
 * signature fields on their own, arc_cv_of() and arc_authres_of(), and,
 * for one input in sixteen, sealing the message (the chain read as a
 * sealer reads it).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dkim/arc.h"
#include "dkim/dkim.h"
#include "dkim/verify.h"
#include "util/buf.h"
#include "util/dnsq.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static uint64_t asked;

static uint64_t
silent_ask(struct dnsq *d, const char *name, enum dnsq_type t, dnsq_cb cb,
    void *arg)
{
	(void)d;
	(void)name;
	(void)t;
	(void)cb;
	(void)arg;
	return ++asked;
}

static void
silent_cancel(struct dnsq *d, uint64_t h)
{
	(void)d;
	(void)h;
}

static struct dnsq silent = { silent_ask, silent_cancel, NULL };

static void
never(struct arc_verify *v, void *arg)
{
	(void)v;
	(void)arg;
	abort(); /* nobody answers */
}

static struct dkim_key *
fuzz_key(void)
{
	static struct dkim_key *k;
	char path[64];

	if (k != NULL)
		return k;
	snprintf(path, sizeof(path), "/tmp/postern-fuzz-arc-%ld.pem",
	    (long)getpid());
	unlink(path);
	if (dkim_key_generate(path, DKIM_RSA) == 0)
		k = dkim_key_load(path, DKIM_RSA, "fwd.example", "arc");
	unlink(path);
	return k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct arc_verify *v;
	struct dkim_sig_tags *s;
	struct buf out;
	const char *why;
	char *m;
	int seal;

	if ((m = malloc(size + 1)) == NULL)
		return 0;
	memcpy(m, data, size);
	m[size] = '\0';
	if ((v = arc_verify_start(&silent, m, size, never, NULL)) != NULL) {
		enum arc_res r = arc_verify_result(v, &why);
		if (why == NULL || (arc_verify_is_done(v) &&
				       r != ARC_RES_NONE && r != ARC_RES_FAIL))
			abort(); /* pass only ever comes from keys */
		arc_verify_free(v);
	}
	if ((s = malloc(sizeof(*s))) != NULL) {
		for (seal = 0; seal < 2; seal++)
			if (dkim_arc_parse(m, size, seal, s, &why) == 0 &&
			    (s->b_start > s->b_end || s->b_end > size ||
				s->blen == 0 || s->instance < 1 ||
				s->instance > 50 || s->alg != DKIM_RSA ||
				(seal && s->h[0] != '\0')))
				abort();
		free(s);
	}
	(void)arc_cv_of(m);
	{
		char ar[512];
		if (arc_authres_of(m, size, "fuzz.example", ar, sizeof(ar)) ==
			0 &&
		    strlen(ar) >= sizeof(ar))
			abort();
	}
	if (size > 0 && data[0] % 16 == 0 && fuzz_key() != NULL) {
		buf_init(&out, 1 << 20);
		if (arc_sign(fuzz_key(), m, size, "fuzz.example; none",
			ARC_CV_PASS, 1700000000, &out) == 0 &&
		    strncmp(out.data, "ARC-Seal: i=", 12) != 0)
			abort();
		buf_free(&out);
	}
	free(m);
	return 0;
}
