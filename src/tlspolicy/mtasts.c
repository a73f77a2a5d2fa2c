/*
 * mtasts: MTA-STS (RFC 8461) TXT record, policy file and MX matching;
 * TLS-RPT (RFC 8460) TXT record. Every input is bounded before it is
 * read; nothing is allocated.
 */
#include <stddef.h>
#include <string.h>

#include "mtasts.h"

#define DOMAIN_MAX 253

static int
is_wsp(int c)
{
	return c == ' ' || c == '\t';
}

static int
is_alnum(int c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

static int
lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* ext-name: (ALPHA / DIGIT) *31(ALPHA / DIGIT / "_" / "-" / ".") */
static int
ext_name_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 32 || !is_alnum((unsigned char)s[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!is_alnum((unsigned char)s[i]) && s[i] != '_' &&
		    s[i] != '-' && s[i] != '.')
			return 0;
	return 1;
}

/* ext-value: 1*(%x21-3A / %x3C / %x3E-7E) */
static int
ext_value_ok(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c < 0x21 || c > 0x7e || c == ';' || c == '=')
			return 0;
	}
	return 1;
}

/*
 * The fields of a TXT record after its version: field-delim is
 * *WSP ";" *WSP, each field name "=" value, an optional final ";". The
 * callback gets each name and its value up to the next ';' with trailing
 * spaces cut; it returns -1 to refuse the record. p points just after
 * the version.
 */
typedef int (*field_cb)(const char *name, size_t nlen, const char *val,
    size_t vlen, void *arg);

static int
txt_fields(const char *p, field_cb cb, void *arg)
{
	const char *name, *eq, *end, *v;
	size_t vlen;

	for (;;) {
		while (is_wsp((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 0;
		if (*p != ';')
			return -1;
		p++;
		while (is_wsp((unsigned char)*p))
			p++;
		if (*p == '\0')
			return 0; /* a final ";" */
		name = p;
		if ((end = strchr(p, ';')) == NULL)
			end = p + strlen(p);
		if ((eq = memchr(name, '=', (size_t)(end - name))) == NULL)
			return -1;
		if (!ext_name_ok(name, (size_t)(eq - name)))
			return -1;
		v = eq + 1;
		vlen = (size_t)(end - v);
		while (vlen > 0 && is_wsp((unsigned char)v[vlen - 1]))
			vlen--;
		if (vlen == 0)
			return -1;
		if (cb(name, (size_t)(eq - name), v, vlen, arg) == -1)
			return -1;
		p = end;
	}
}

static int
name_is(const char *name, size_t nlen, const char *want)
{
	return strlen(want) == nlen && memcmp(name, want, nlen) == 0;
}

/* The version, case-sensitive (%s in the ABNF), ended by WSP, ';', NUL. */
static const char *
txt_version(const char *txt, const char *version)
{
	size_t n = strlen(version);

	if (strncmp(txt, version, n) != 0)
		return NULL;
	if (txt[n] != '\0' && txt[n] != ';' && !is_wsp((unsigned char)txt[n]))
		return NULL;
	return txt + n;
}

struct sts_state {
	struct mtasts_txt *out;
	int have_id;
};

static int
sts_field(const char *name, size_t nlen, const char *val, size_t vlen,
    void *arg)
{
	struct sts_state *st = arg;
	size_t i;

	if (name_is(name, nlen, "id")) {
		if (st->have_id || vlen > MTASTS_ID_MAX)
			return -1;
		for (i = 0; i < vlen; i++)
			if (!is_alnum((unsigned char)val[i]))
				return -1;
		memcpy(st->out->id, val, vlen);
		st->out->id[vlen] = '\0';
		st->have_id = 1;
		return 0;
	}
	return ext_value_ok(val, vlen) ? 0 : -1;
}

int
mtasts_txt_parse(const char *txt, struct mtasts_txt *out)
{
	struct sts_state st = { out, 0 };
	const char *p;

	memset(out, 0, sizeof(*out));
	if (txt == NULL || strnlen(txt, MTASTS_TXT_MAX + 1) > MTASTS_TXT_MAX)
		return -1;
	if ((p = txt_version(txt, "v=STSv1")) == NULL)
		return -1;
	if (txt_fields(p, sts_field, &st) == -1 || !st.have_id) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}

/*
 * A domain as RFC 5321 spells it, lower-cased into out (at least
 * DOMAIN_MAX + 1 bytes), one trailing dot removed: labels of 1-63
 * letters, digits and hyphens, no hyphen first or last. 0 or -1.
 */
static int
domain_norm(const char *s, size_t n, char *out)
{
	size_t i, label = 0;

	if (n > 0 && s[n - 1] == '.')
		n--;
	if (n == 0 || n > DOMAIN_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		int c = lower((unsigned char)s[i]);

		if (c == '.') {
			if (label == 0 || s[i - 1] == '-')
				return -1;
			label = 0;
		} else if (is_alnum(c) || c == '-') {
			if (c == '-' && label == 0)
				return -1;
			if (++label > 63)
				return -1;
		} else
			return -1;
		out[i] = (char)c;
	}
	if (label == 0 || s[n - 1] == '-')
		return -1;
	out[n] = '\0';
	return 0;
}

/* An mx value: ["*."] domain, normalised into out (NAME_MAX + 1). */
static int
mx_pattern(const char *v, size_t n, char *out)
{
	if (n >= 2 && v[0] == '*' && v[1] == '.') {
		out[0] = '*';
		out[1] = '.';
		return domain_norm(v + 2, n - 2, out + 2);
	}
	return domain_norm(v, n, out);
}

/* max_age: 1*10 DIGIT, at most one year. */
static int
max_age(const char *v, size_t n, long *out)
{
	long x = 0;
	size_t i;

	if (n == 0 || n > 10)
		return -1;
	for (i = 0; i < n; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		x = x * 10 + (v[i] - '0');
		if (x > MTASTS_MAX_AGE_MAX)
			return -1;
	}
	*out = x;
	return 0;
}

struct policy_state {
	struct mtasts_policy *out;
	int have_version, have_mode, have_max_age;
};

static int
policy_line(struct policy_state *st, const char *line, size_t n)
{
	struct mtasts_policy *pol = st->out;
	char pat[MTASTS_NAME_MAX + 1];
	const char *colon, *v;
	size_t klen, vlen;

	while (n > 0 && is_wsp((unsigned char)line[n - 1]))
		n--;
	if (n == 0)
		return 0; /* an empty line */
	if ((colon = memchr(line, ':', n)) == NULL)
		return -1;
	klen = (size_t)(colon - line);
	if (!ext_name_ok(line, klen))
		return -1;
	v = colon + 1;
	vlen = n - klen - 1;
	while (vlen > 0 && is_wsp((unsigned char)*v)) {
		v++;
		vlen--;
	}
	if (name_is(line, klen, "version")) {
		if (st->have_version)
			return 0; /* the first occurrence is used */
		if (!name_is(v, vlen, "STSv1"))
			return -1;
		st->have_version = 1;
	} else if (name_is(line, klen, "mode")) {
		if (st->have_mode)
			return 0;
		if (name_is(v, vlen, "enforce"))
			pol->mode = MTASTS_MODE_ENFORCE;
		else if (name_is(v, vlen, "testing"))
			pol->mode = MTASTS_MODE_TESTING;
		else if (name_is(v, vlen, "none"))
			pol->mode = MTASTS_MODE_NONE;
		else
			return -1;
		st->have_mode = 1;
	} else if (name_is(line, klen, "max_age")) {
		if (st->have_max_age)
			return 0;
		if (max_age(v, vlen, &pol->max_age) == -1)
			return -1;
		st->have_max_age = 1;
	} else if (name_is(line, klen, "mx")) {
		if (mx_pattern(v, vlen, pat) == -1)
			return -1;
		if (pol->nmx < MTASTS_MX_MAX)
			memcpy(pol->mx[pol->nmx++], pat, strlen(pat) + 1);
		else
			pol->mx_dropped++;
	}
	/* other keys: extensions, ignored */
	return 0;
}

int
mtasts_policy_parse(const char *body, size_t len, struct mtasts_policy *out)
{
	struct policy_state st = { out, 0, 0, 0 };
	const char *p, *end, *nl;
	size_t n;
	int lines = 0;

	memset(out, 0, sizeof(*out));
	if (body == NULL || len > MTASTS_BODY_MAX ||
	    memchr(body, '\0', len) != NULL)
		goto bad;
	for (p = body, end = body + len; p < end; p = nl + 1) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			nl = end;
		n = (size_t)(nl - p);
		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (n > MTASTS_LINE_MAX || ++lines > MTASTS_LINES_MAX)
			goto bad;
		if (memchr(p, '\r', n) != NULL || policy_line(&st, p, n) == -1)
			goto bad;
	}
	if (!st.have_version || !st.have_mode || !st.have_max_age)
		goto bad;
	if (out->nmx == 0 && out->mode != MTASTS_MODE_NONE)
		goto bad;
	return 0;
bad:
	memset(out, 0, sizeof(*out));
	return -1;
}

int
mtasts_mx_matches(const struct mtasts_policy *pol, const char *mx_host)
{
	char host[DOMAIN_MAX + 1];
	const char *dot;
	int i;

	if (pol == NULL || mx_host == NULL ||
	    domain_norm(mx_host, strnlen(mx_host, DOMAIN_MAX + 2), host) == -1)
		return 0;
	dot = strchr(host, '.');
	for (i = 0; i < pol->nmx && i < MTASTS_MX_MAX; i++) {
		const char *pat = pol->mx[i];

		if (pat[0] == '*' && pat[1] == '.') {
			if (dot != NULL && strcmp(dot + 1, pat + 2) == 0)
				return 1;
		} else if (strcmp(host, pat) == 0)
			return 1;
	}
	return 0;
}

static int
scheme_is(const char *u, size_t n, const char *scheme)
{
	size_t i, sl = strlen(scheme);

	if (n < sl)
		return 0;
	for (i = 0; i < sl; i++)
		if (lower((unsigned char)u[i]) != scheme[i])
			return 0;
	return 1;
}

/* One URI of rua=: 0 kept or skipped, -1 malformed. */
static int
rua_uri(struct tlsrpt_txt *out, const char *u, size_t n)
{
	size_t i;

	if (n == 0)
		return -1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)u[i];

		if (c < 0x21 || c > 0x7e || c == ',' || c == ';')
			return -1;
	}
	if (n > TLSRPT_URI_MAX || out->nrua == TLSRPT_RUA_MAX)
		return 0;
	if (scheme_is(u, n, "mailto:")) {
		const char *at = memchr(u + 7, '@', n - 7);

		if (at == NULL || at == u + 7 || at == u + n - 1)
			return 0;
	} else if (scheme_is(u, n, "https://")) {
		if (n == 8 || u[8] == '/' || u[8] == '?' || u[8] == '#')
			return 0;
	} else
		return 0; /* a scheme RFC 8460 does not define */
	memcpy(out->rua[out->nrua], u, n);
	out->rua[out->nrua][n] = '\0';
	out->nrua++;
	return 0;
}

struct rpt_state {
	struct tlsrpt_txt *out;
	int have_rua;
};

static int
rpt_field(const char *name, size_t nlen, const char *val, size_t vlen,
    void *arg)
{
	struct rpt_state *st = arg;
	const char *p = val, *end = val + vlen, *c;
	size_t n;

	if (!name_is(name, nlen, "rua"))
		return ext_value_ok(val, vlen) ? 0 : -1;
	if (st->have_rua)
		return -1;
	st->have_rua = 1;
	for (;;) {
		if ((c = memchr(p, ',', (size_t)(end - p))) == NULL)
			c = end;
		n = (size_t)(c - p);
		while (n > 0 && is_wsp((unsigned char)*p)) {
			p++;
			n--;
		}
		while (n > 0 && is_wsp((unsigned char)p[n - 1]))
			n--;
		if (rua_uri(st->out, p, n) == -1)
			return -1;
		if (c == end)
			return 0;
		p = c + 1;
	}
}

int
tlsrpt_txt_parse(const char *txt, struct tlsrpt_txt *out)
{
	struct rpt_state st = { out, 0 };
	const char *p;

	memset(out, 0, sizeof(*out));
	if (txt == NULL || strnlen(txt, MTASTS_TXT_MAX + 1) > MTASTS_TXT_MAX)
		return -1;
	if ((p = txt_version(txt, "v=TLSRPTv1")) == NULL)
		return -1;
	if (txt_fields(p, rpt_field, &st) == -1 || !st.have_rua ||
	    out->nrua == 0) {
		memset(out, 0, sizeof(*out));
		return -1;
	}
	return 0;
}
