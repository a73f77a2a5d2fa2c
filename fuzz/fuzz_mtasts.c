/*
 * fuzz_mtasts: the MTA-STS policy parser, the _mta-sts and _smtp._tls
 * TXT parsers and MX matching on arbitrary bytes. The whole input is a
 * policy body, and as a string (to its first NUL) a TXT value of each
 * kind; its first line is an MX host matched against a parsed policy.
 * Properties:
 *  - a parsed policy has a known mode, max_age within a year, at most
 *    MTASTS_MX_MAX patterns, each lower-case, with no trailing dot, "*."
 *    only first, within MTASTS_NAME_MAX; mx present unless mode none;
 *  - each exact pattern matches itself and itself with a trailing dot;
 *    "*.d" matches "x.d" and never "d" or "x.y.d";
 *  - a parsed _mta-sts id is 1-32 alphanumerics;
 *  - a parsed _smtp._tls record keeps 1-4 mailto:/https: URIs, each
 *    within TLSRPT_URI_MAX.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "tlspolicy/mtasts.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* One pattern alone in a policy, and the names it must and must not
 * match. */
static void
check_pattern(const char *m)
{
	static struct mtasts_policy one;
	char name[MTASTS_NAME_MAX + 8];
	const char *d = m[0] == '*' ? m + 2 : m;
	int fits = strlen(d) + 4 <= 253;

	memset(&one, 0, sizeof(one));
	one.nmx = 1;
	one.mode = MTASTS_MODE_ENFORCE;
	memcpy(one.mx[0], m, strlen(m) + 1);
	if (m[0] == '*') {
		if (mtasts_mx_matches(&one, d))
			abort();
		snprintf(name, sizeof(name), "x.%s", d);
		if (fits && !mtasts_mx_matches(&one, name))
			abort();
		snprintf(name, sizeof(name), "X.%s.", d);
		if (fits && !mtasts_mx_matches(&one, name))
			abort();
		snprintf(name, sizeof(name), "x.y.%s", d);
		if (mtasts_mx_matches(&one, name))
			abort();
	} else {
		if (!mtasts_mx_matches(&one, m))
			abort();
		snprintf(name, sizeof(name), "%s.", m);
		if (!mtasts_mx_matches(&one, name))
			abort();
		snprintf(name, sizeof(name), "x.%s", m);
		if (mtasts_mx_matches(&one, name))
			abort();
	}
}

static void
check_policy(const struct mtasts_policy *p)
{
	size_t len, i;
	int k;

	if (p->mode != MTASTS_MODE_NONE && p->mode != MTASTS_MODE_TESTING &&
	    p->mode != MTASTS_MODE_ENFORCE)
		abort();
	if (p->max_age < 0 || p->max_age > MTASTS_MAX_AGE_MAX)
		abort();
	if (p->nmx < 0 || p->nmx > MTASTS_MX_MAX || p->mx_dropped < 0 ||
	    (p->mx_dropped > 0 && p->nmx != MTASTS_MX_MAX))
		abort();
	if (p->nmx == 0 && p->mode != MTASTS_MODE_NONE)
		abort();
	for (k = 0; k < p->nmx; k++) {
		const char *m = p->mx[k];

		len = strnlen(m, MTASTS_NAME_MAX + 1);
		if (len == 0 || len > MTASTS_NAME_MAX || m[len - 1] == '.')
			abort();
		for (i = 0; i < len; i++)
			if (isupper((unsigned char)m[i]) ||
			    (m[i] == '*' && i != 0))
				abort();
		if (m[0] == '*' && (m[1] != '.' || len < 3))
			abort();
		if (m[0] != '*' && !mtasts_mx_matches(p, m))
			abort();
		check_pattern(m);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mtasts_policy *p;
	struct mtasts_txt t;
	struct tlsrpt_txt r;
	char *buf, *nl;
	size_t i, len;
	int k;

	if ((buf = malloc(size + 1)) == NULL)
		return 0;
	if ((p = malloc(sizeof(*p))) == NULL) {
		free(buf);
		return 0;
	}
	memcpy(buf, data, size);
	buf[size] = '\0';

	if (mtasts_policy_parse(buf, size, p) == 0) {
		check_policy(p);
		if ((nl = strchr(buf, '\n')) != NULL)
			*nl = '\0';
		(void)mtasts_mx_matches(p, buf);
		if (nl != NULL)
			*nl = '\n';
	}

	if (mtasts_txt_parse(buf, &t) == 0) {
		len = strnlen(t.id, sizeof(t.id));
		if (len == 0 || len > MTASTS_ID_MAX)
			abort();
		for (i = 0; i < len; i++)
			if (!isalnum((unsigned char)t.id[i]))
				abort();
	}

	if (tlsrpt_txt_parse(buf, &r) == 0) {
		if (r.nrua < 1 || r.nrua > TLSRPT_RUA_MAX)
			abort();
		for (k = 0; k < r.nrua; k++) {
			len = strnlen(r.rua[k], TLSRPT_URI_MAX + 1);
			if (len > TLSRPT_URI_MAX)
				abort();
			if (strncasecmp(r.rua[k], "mailto:", 7) != 0 &&
			    strncasecmp(r.rua[k], "https://", 8) != 0)
				abort();
		}
	}
	free(p);
	free(buf);
	return 0;
}
