/*
 * spf_record: the SPF record grammar (RFC 7208 4.6, 5, 6, 12) and its
 * macro language (7). A record comes from DNS, so from anyone: it is
 * copied into a fixed buffer, cut into at most SPF_MAX_TERMS terms, and
 * every term is checked before any is evaluated (a syntax error anywhere
 * is a permerror). Expansions are bounded by their output buffer.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "spf.h"

#define SPF_VALUE_MAX 800 /* a value in bytes: s, 511 + 1 + 253 at most */
#define SPF_MAX_PARTS (SPF_VALUE_MAX + 1)
#define SPF_WINDOW 1024 /* a domain-spec's tail kept while expanding */

static const char *const spf_names[] = { "none", "neutral", "pass", "fail",
	"softfail", "temperror", "permerror" };

const char *
spf_result_name(enum spf_result r)
{
	if ((unsigned)r < sizeof(spf_names) / sizeof(spf_names[0]))
		return spf_names[r];
	return "permerror";
}

int
spf_is_record(const char *txt)
{
	return strncasecmp(txt, "v=spf1", 6) == 0 &&
	       (txt[6] == ' ' || txt[6] == '\0');
}

static int spf_err(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static int
spf_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (errlen > 0) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

/* Where an expansion goes: explanations are cut on the right, domain-specs
 * keep their right end (RFC 7208 7.3 cuts them from the left). */
struct mout {
	char *buf;
	size_t len, cap;
	int explain;
	int cut;
};

static void
mput(struct mout *o, char ch)
{
	size_t keep;

	if (o->buf == NULL)
		return;
	if (o->len + 1 >= o->cap) {
		o->cut = 1;
		if (o->explain)
			return;
		keep = o->cap / 2;
		memmove(o->buf, o->buf + o->len - keep, keep);
		o->len = keep;
	}
	o->buf[o->len++] = ch;
}

static int
spf_is_delim(int ch)
{
	return ch != '\0' && strchr(".-+,/_=", ch) != NULL;
}

/* RFC 3986 unreserved bytes stay, the rest become %XX (7.3). */
static void
mput_escaped(struct mout *o, unsigned char ch)
{
	static const char hex[] = "0123456789ABCDEF";

	if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~') {
		mput(o, (char)ch);
		return;
	}
	mput(o, '%');
	mput(o, hex[ch >> 4]);
	mput(o, hex[ch & 15]);
}

/* One macro's value, split at delims, maybe reversed, its rightmost n
 * parts (0: all) joined with dots. */
static void
spf_put_value(struct mout *o, const char *v, int n, int rev, const char *delims,
    int escape)
{
	const char *start[SPF_MAX_PARTS];
	size_t len[SPF_MAX_PARTS], vlen, i;
	int np = 0, first, last, k, step;

	if (v == NULL)
		v = "";
	vlen = strnlen(v, SPF_VALUE_MAX);
	start[0] = v;
	for (i = 0; i <= vlen && np < SPF_MAX_PARTS; i++) {
		if (i == vlen || strchr(delims, v[i]) != NULL) {
			len[np] = (size_t)(v + i - start[np]);
			if (++np < SPF_MAX_PARTS)
				start[np] = v + i + 1;
		}
	}
	/* Parts in order, reversed if asked; then keep the last n. */
	first = rev ? np - 1 : 0;
	step = rev ? -1 : 1;
	k = (n > 0 && n < np) ? np - n : 0;
	for (last = 0; k < np; k++, last = 1) {
		int idx = first + step * k;

		if (last)
			mput(o, '.');
		for (i = 0; i < len[idx]; i++) {
			if (escape)
				mput_escaped(o, (unsigned char)start[idx][i]);
			else
				mput(o, start[idx][i]);
		}
	}
}

static const char *
spf_macro_value(const struct spf_macro_env *env, int letter, char *tmp,
    size_t tmplen)
{
	switch (letter) {
	case 's':
		return env->sender;
	case 'l':
		return env->local;
	case 'o':
		return env->sender_dom;
	case 'd':
		return env->domain;
	case 'i':
		return env->ip_dots;
	case 'p':
		return "unknown";
	case 'v':
		return env->v6 ? "ip6" : "in-addr";
	case 'h':
		return env->helo;
	case 'c':
		return env->ip;
	case 'r':
		return env->receiver ? env->receiver : "unknown";
	case 't':
		snprintf(tmp, tmplen, "%lld", env->now);
		return tmp;
	}
	return "";
}

/*
 * One "%{" letter *DIGIT ["r"] *delimiter "}" at p (past the "%{"): put
 * its value (env NULL: check only). Returns the byte after the "}", or
 * NULL on bad syntax.
 */
static const char *
spf_macro_one(const char *q, const struct spf_macro_env *env, int crt,
    struct mout *o)
{
	char delims[8], tmp[32];
	int letter, upper, n = 0, rev = 0, nd = 0;

	letter = tolower((unsigned char)*q);
	upper = isupper((unsigned char)*q);
	if (*q == '\0' || strchr("slodiphcrtv", letter) == NULL)
		return NULL;
	if (!crt && strchr("crt", letter) != NULL)
		return NULL;
	q++;
	if (isdigit((unsigned char)*q)) {
		/* More parts than any value has means all of them. */
		for (; isdigit((unsigned char)*q); q++)
			if (n < 1000)
				n = n * 10 + (*q - '0');
		if (n == 0)
			return NULL; /* RFC 7208 7.3: nonzero */
	}
	if (*q == 'r' || *q == 'R') {
		rev = 1;
		q++;
	}
	for (; spf_is_delim(*q); q++)
		if (memchr(delims, *q, (size_t)nd) == NULL)
			delims[nd++] = *q; /* 7 kinds at most */
	if (*q != '}')
		return NULL;
	if (nd == 0)
		delims[nd++] = '.';
	delims[nd] = '\0';
	if (env != NULL)
		spf_put_value(o, spf_macro_value(env, letter, tmp, sizeof(tmp)),
		    n, rev, delims, upper);
	return q + 1;
}

/*
 * Walk a macro-string: check it (env NULL) or expand it into o. crt: are
 * c, r and t allowed (explanations only); space: is SP a literal
 * (explanations only). *tail is set to where the literal text after the
 * last macro-expand starts. Returns 0 or -1.
 */
static int
spf_macro_walk(const char *s, const struct spf_macro_env *env, int crt,
    int space, struct mout *o, size_t *tail)
{
	const char *p = s;

	*tail = 0;
	while (*p != '\0') {
		unsigned char ch = (unsigned char)*p;

		if (ch != '%') {
			if (!((ch >= 0x21 && ch <= 0x7e) ||
				(space && ch == ' ')))
				return -1;
			mput(o, (char)ch);
			p++;
			continue;
		}
		switch (p[1]) {
		case '%':
			mput(o, '%');
			p += 2;
			break;
		case '_':
			mput(o, ' ');
			p += 2;
			break;
		case '-':
			mput(o, '%');
			mput(o, '2');
			mput(o, '0');
			p += 2;
			break;
		case '{':
			if ((p = spf_macro_one(p + 2, env, crt, o)) == NULL)
				return -1;
			break;
		default:
			return -1;
		}
		*tail = (size_t)(p - s);
	}
	return 0;
}

/* toplabel = ( *alphanum ALPHA *alphanum ) /
 *            ( 1*alphanum "-" *( alphanum / "-" ) alphanum ) */
static int
spf_is_toplabel(const char *s, size_t len)
{
	size_t i;
	int alpha = 0, dash = 0;

	if (len == 0 || !isalnum((unsigned char)s[0]) ||
	    !isalnum((unsigned char)s[len - 1]))
		return 0;
	for (i = 0; i < len; i++) {
		if (isalpha((unsigned char)s[i]))
			alpha = 1;
		else if (s[i] == '-')
			dash = 1;
		else if (!isdigit((unsigned char)s[i]))
			return 0;
	}
	return alpha || dash;
}

/* domain-spec = macro-string domain-end;
 * domain-end = ( "." toplabel [ "." ] ) / macro-expand */
static int
spf_domain_spec_ok(const char *spec)
{
	struct mout none = { NULL, 0, 0, 0, 0 };
	const char *t, *dot;
	size_t tail, len;

	if (*spec == '\0' || spf_macro_walk(spec, NULL, 0, 0, &none, &tail))
		return 0;
	t = spec + tail;
	len = strlen(t);
	if (len == 0)
		return tail > 0; /* ends with a macro-expand */
	if (t[len - 1] == '.')
		len--;
	for (dot = NULL; len > 0; len--) {
		if (t[len - 1] == '.') {
			dot = t + len - 1;
			break;
		}
	}
	if (dot == NULL)
		return 0;
	len = strlen(dot + 1);
	if (len > 0 && dot[len] == '.')
		len--;
	return spf_is_toplabel(dot + 1, len);
}

/* A CIDR length: "0" or no leading zero, at most max. */
static int
spf_cidr_num(const char *s, size_t len, int max)
{
	int v = 0;
	size_t i;

	if (len == 0 || len > 3 || (len > 1 && s[0] == '0'))
		return -1;
	for (i = 0; i < len; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v <= max ? v : -1;
}

/* Trailing digits of [s, *end) after one slash (two if dbl): their value
 * (the slash(es) become the new *end), -2 if none, -1 if bad. */
static int
spf_cidr_tail(char *s, char **end, int dbl, int max)
{
	char *d = *end;
	int v;

	while (d > s && isdigit((unsigned char)d[-1]))
		d--;
	if (d == *end || d == s || d[-1] != '/')
		return -2;
	if (dbl && (d - 1 == s || d[-2] != '/'))
		return -2;
	if (!dbl && d - 1 > s && d[-2] == '/')
		return -2;
	if ((v = spf_cidr_num(d, (size_t)(*end - d), max)) == -1)
		return -1;
	*end = d - (dbl ? 2 : 1);
	return v;
}

static const struct {
	const char *name;
	enum spf_mech mech;
} spf_mechs[] = {
	{ "all", SPF_ALL },
	{ "include", SPF_INCLUDE },
	{ "a", SPF_A },
	{ "mx", SPF_MX },
	{ "ptr", SPF_PTR },
	{ "ip4", SPF_IP4 },
	{ "ip6", SPF_IP6 },
	{ "exists", SPF_EXISTS },
};

/* What follows the mechanism's name: ":domain-spec", dual-cidr, an
 * address, or nothing, as the mechanism allows. */
static int
spf_mech_args(struct spf_term *t, char *rest, char *err, size_t errlen,
    const char *term)
{
	char *end = rest + strlen(rest), *slash;
	int v;

	switch (t->mech) {
	case SPF_ALL:
		if (*rest != '\0')
			goto bad;
		return 0;
	case SPF_IP4:
	case SPF_IP6:
		if (*rest != ':')
			goto bad;
		rest++;
		if ((slash = strchr(rest, '/')) != NULL) {
			v = spf_cidr_num(slash + 1, strlen(slash + 1),
			    t->mech == SPF_IP4 ? 32 : 128);
			if (v == -1)
				goto bad;
			*slash = '\0';
			if (t->mech == SPF_IP4)
				t->cidr4 = v;
			else
				t->cidr6 = v;
		}
		if (inet_pton(t->mech == SPF_IP4 ? AF_INET : AF_INET6, rest,
			t->addr) != 1)
			goto bad;
		return 0;
	case SPF_A:
	case SPF_MX:
		if ((v = spf_cidr_tail(rest, &end, 1, 128)) == -1)
			goto bad;
		if (v >= 0)
			t->cidr6 = v;
		if ((v = spf_cidr_tail(rest, &end, 0, 32)) == -1)
			goto bad;
		if (v >= 0)
			t->cidr4 = v;
		*end = '\0';
		/* FALLTHROUGH */
	case SPF_PTR:
		if (*rest == '\0')
			return 0;
		/* FALLTHROUGH */
	case SPF_INCLUDE:
	case SPF_EXISTS:
		if (*rest != ':' || !spf_domain_spec_ok(rest + 1))
			goto bad;
		t->spec = rest + 1;
		return 0;
	}
bad:
	return spf_err(err, errlen, "bad term \"%.64s\"", term);
}

static int
spf_modifier(struct spf_record *r, char *term, size_t namelen, char *err,
    size_t errlen)
{
	char *value = term + namelen + 1;
	const char **slot = NULL;
	struct mout none = { NULL, 0, 0, 0, 0 };
	size_t tail;

	if (namelen == 8 && strncasecmp(term, "redirect", 8) == 0)
		slot = &r->redirect;
	else if (namelen == 3 && strncasecmp(term, "exp", 3) == 0)
		slot = &r->exp;
	if (slot == NULL) {
		/* Unknown: ignored, but its macro-string must be one. */
		if (spf_macro_walk(value, NULL, 1, 0, &none, &tail) == -1)
			return spf_err(err, errlen, "bad modifier \"%.64s\"",
			    term);
		return 0;
	}
	if (*slot != NULL)
		return spf_err(err, errlen, "%.*s= given twice", (int)namelen,
		    term);
	if (!spf_domain_spec_ok(value))
		return spf_err(err, errlen, "bad term \"%.64s\"", term);
	*slot = value;
	return 0;
}

static int
spf_term(struct spf_record *r, char *term, char *err, size_t errlen)
{
	struct spf_term *t;
	char *p = term, qual = '+';
	size_t n, i;

	/* name = ALPHA *( ALPHA / DIGIT / "-" / "_" / "." ), then "=" */
	if (isalpha((unsigned char)*p)) {
		n = 1;
		while (isalnum((unsigned char)p[n]) || p[n] == '-' ||
		       p[n] == '_' || p[n] == '.')
			n++;
		if (p[n] == '=')
			return spf_modifier(r, term, n, err, errlen);
	}
	if (r->nterms == SPF_MAX_TERMS)
		return spf_err(err, errlen, "more than %d mechanisms",
		    SPF_MAX_TERMS);
	if (strchr("+-~?", *p) != NULL) /* *p is not NUL here */
		qual = *p++;
	n = strcspn(p, ":/");
	for (i = 0; i < sizeof(spf_mechs) / sizeof(spf_mechs[0]); i++)
		if (strlen(spf_mechs[i].name) == n &&
		    strncasecmp(p, spf_mechs[i].name, n) == 0)
			break;
	if (i == sizeof(spf_mechs) / sizeof(spf_mechs[0]))
		return spf_err(err, errlen, "unknown mechanism \"%.64s\"",
		    term);
	t = &r->terms[r->nterms];
	memset(t, 0, sizeof(*t));
	t->mech = spf_mechs[i].mech;
	t->qual = qual;
	t->cidr4 = 32;
	t->cidr6 = 128;
	if (spf_mech_args(t, p + n, err, errlen, term) == -1)
		return -1;
	r->nterms++;
	return 0;
}

int
spf_record_parse(const char *txt, struct spf_record *r, char *err,
    size_t errlen)
{
	size_t len = strnlen(txt, SPF_RECORD_MAX);
	char *p, *term;

	r->nterms = 0;
	r->redirect = r->exp = NULL;
	r->buf[0] = '\0';
	if (len == SPF_RECORD_MAX)
		return spf_err(err, errlen, "record longer than %d bytes",
		    SPF_RECORD_MAX - 1);
	if (!spf_is_record(txt))
		return spf_err(err, errlen, "not an SPF record");
	memcpy(r->buf, txt, len + 1);
	p = r->buf + 6;
	for (;;) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		term = p;
		p += strcspn(p, " ");
		if (*p != '\0')
			*p++ = '\0';
		if (spf_term(r, term, err, errlen) == -1)
			return -1;
	}
	return 0;
}

/* Cut from the left by whole labels to SPF_DOMAIN_MAX (RFC 7208 7.3),
 * drop the trailing dot, lower the letters, and check the labels. */
static int
spf_domain_finish(struct mout *m, char *out, size_t outlen)
{
	size_t len = m->len, start = 0, label = 0, i;

	if (len > 0 && m->buf[len - 1] == '.')
		len--;
	if (len > SPF_DOMAIN_MAX || m->cut) {
		for (start = len - SPF_DOMAIN_MAX; start < len; start++)
			if (start > 0 && m->buf[start - 1] == '.')
				break;
	}
	if (len - start == 0 || len - start >= outlen)
		return -1;
	for (i = start; i < len; i++) {
		unsigned char ch = (unsigned char)m->buf[i];

		if (ch == '.') {
			if (label == 0)
				return -1;
			label = 0;
		} else if (ch < 0x21 || ch > 0x7e || ch == '\\' ||
			   ++label > 63) {
			return -1;
		}
		out[i - start] = (char)tolower(ch);
	}
	if (label == 0)
		return -1;
	out[len - start] = '\0';
	return 0;
}

int
spf_macro_expand(const char *spec, const struct spf_macro_env *env, int explain,
    char *out, size_t outlen)
{
	char win[SPF_WINDOW];
	struct mout m;
	size_t tail;

	if (outlen == 0)
		return -1;
	out[0] = '\0';
	if (explain) {
		m = (struct mout){ out, 0, outlen, 1, 0 };
		if (spf_macro_walk(spec, env, 1, 1, &m, &tail) == -1)
			return -1;
		out[m.len] = '\0';
		return 0;
	}
	m = (struct mout){ win, 0, sizeof(win), 0, 0 };
	if (spf_macro_walk(spec, env, 0, 0, &m, &tail) == -1)
		return -1;
	return spf_domain_finish(&m, out, outlen);
}
