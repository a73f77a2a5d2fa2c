/*
 * fuzz_rspamd: arbitrary bytes as rspamd's HTTP reply, and as a message
 * whose Subject: a verdict rewrites. A reply whole before the end is
 * whole after it, with the same verdict; what the verdict carries into a
 * header or a reply has no control byte; a rewrite leaves one Subject:
 * and rewriting again changes nothing.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "inbound/rspamd.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
clean(const char *s, int ascii)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f ||
		    (ascii && (unsigned char)*s >= 0x80))
			abort();
}

static void
rewrite_twice(const char *m, size_t len, const char *subject)
{
	struct buf a, b;

	buf_init(&a, 1 << 22);
	buf_init(&b, 1 << 22);
	if (rspamd_subject_rewrite(m, len, subject, &a) == -1)
		abort();
	if (rspamd_subject_rewrite(a.data ? a.data : "", a.len, subject, &b) ==
	    -1)
		abort();
	if (subject != NULL &&
	    (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)))
		abort();
	buf_free(&a);
	buf_free(&b);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct rspamd_verdict v0, v1;
	char why[128];
	const char *p = (const char *)data;
	int r0, r1;

	r0 = rspamd_reply_parse(p, size, 0, &v0, why, sizeof(why));
	r1 = rspamd_reply_parse(p, size, 1, &v1, why, sizeof(why));
	if (r0 < -1 || r0 > 1 || (r1 != -1 && r1 != 1))
		abort();
	if (r0 == 1 && (r1 != 1 || v0.action != v1.action ||
			   strcmp(v0.subject, v1.subject) != 0 ||
			   strcmp(v0.text, v1.text) != 0))
		abort();
	if (r1 == 1) {
		clean(v1.action_name, 1);
		clean(v1.subject, 0);
		clean(v1.text, 1);
		if (v1.action_name[0] == '\0')
			abort();
	}
	rewrite_twice(p, size, "*** SPAM *** fuzz \xc3\xa9");
	rewrite_twice(p, size, NULL);
	return 0;
}
