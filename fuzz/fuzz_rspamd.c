/*
 * fuzz_rspamd: arbitrary bytes as the JSON of rspamd's reply (its HTTP
 * is httpc's: fuzz_httpresp), and as a message whose Subject: a verdict
 * rewrites. What a verdict carries into a header or a reply has no
 * control byte; a rewrite leaves one Subject: and rewriting again
 * changes nothing.
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
	struct rspamd_verdict v;
	char why[128];
	const char *p = (const char *)data;
	int rc;

	rc = rspamd_reply_parse(p, size, &v, why, sizeof(why));
	if (rc != 0 && rc != -1)
		abort();
	if (rc == 0) {
		clean(v.action_name, 1);
		clean(v.subject, 0);
		clean(v.text, 1);
		if (v.action_name[0] == '\0')
			abort();
	} else if (why[0] == '\0') {
		abort();
	}
	rewrite_twice(p, size, "*** SPAM *** fuzz \xc3\xa9");
	rewrite_twice(p, size, NULL);
	return 0;
}
