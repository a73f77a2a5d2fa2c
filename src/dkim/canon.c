/*
 * canon: the "relaxed" canonical forms and the field selection of RFC
 * 6376 over a message in memory. Every scan is bounded by the length it
 * is given: the header section may be hostile bytes (no empty line, bare
 * CR or LF, NULs, megabytes of folding), and only CRLF ends a line.
 */
#include <string.h>

#include "canon.h"
#include "../util/str.h"

#define IS_WSP(c) ((c) == ' ' || (c) == '\t')

/* Signed when present; "from" is listed once more than it occurs. */
static const struct {
	const char *name;
	size_t len;
	int over;
} canon_signed[] = {
	{ "from", 4, 1 },
	{ "to", 2, 0 },
	{ "cc", 2, 0 },
	{ "subject", 7, 0 },
	{ "date", 4, 0 },
	{ "message-id", 10, 0 },
	{ "reply-to", 8, 0 },
	{ "mime-version", 12, 0 },
	{ "content-type", 12, 0 },
	{ "content-transfer-encoding", 25, 0 },
	{ "in-reply-to", 11, 0 },
	{ "references", 10, 0 },
};
#define CANON_NSIGNED (sizeof(canon_signed) / sizeof(canon_signed[0]))

void
dkim_split(const char *msg, size_t len, size_t *hlen, size_t *boff)
{
	const char *p;

	if (len >= 2 && msg[0] == '\r' && msg[1] == '\n') {
		*hlen = 0;
		*boff = 2;
		return;
	}
	if ((p = memmem(msg, len, "\r\n\r\n", 4)) != NULL) {
		*hlen = (size_t)(p - msg) + 2;
		*boff = (size_t)(p - msg) + 4;
		return;
	}
	*hlen = *boff = len;
}

int
dkim_field_next(const char *hdr, size_t hlen, size_t *pos, struct dkim_field *f)
{
	size_t i = *pos, end, next, n;
	const char *cr, *colon;

	if (*pos >= hlen)
		return 0;
	for (;;) {
		if ((cr = memchr(hdr + i, '\r', hlen - i)) == NULL) {
			end = next = hlen;
			break;
		}
		i = (size_t)(cr - hdr);
		if (i + 1 < hlen && hdr[i + 1] == '\n') {
			if (i + 2 < hlen && IS_WSP(hdr[i + 2])) {
				i += 2; /* folded: the field goes on */
				continue;
			}
			end = i;
			next = i + 2;
			break;
		}
		i++; /* a bare CR is part of the field */
	}
	f->p = hdr + *pos;
	f->len = end - *pos;
	f->name = f->p;
	f->name_len = 0;
	if ((colon = memchr(f->p, ':', f->len)) != NULL) {
		n = (size_t)(colon - f->p);
		while (n > 0 && IS_WSP(f->p[n - 1]))
			n--;
		f->name_len = n;
	}
	*pos = next;
	return 1;
}

/*
 * Append p[0..n) unfolded (CRLF pairs dropped), WSP runs as one SP, no WSP
 * at the end; at the start one SP unless trim_lead. Lower-cased if asked.
 */
static int
canon_run(const char *p, size_t n, int lower, int trim_lead, struct buf *out)
{
	char tmp[1024];
	size_t i, t = 0;
	int sp = 0, any = 0;
	unsigned char c;

	for (i = 0; i < n; i++) {
		c = (unsigned char)p[i];
		if (c == '\r' && i + 1 < n && p[i + 1] == '\n') {
			i++;
			continue;
		}
		if (IS_WSP(c)) {
			sp = 1;
			continue;
		}
		if (t + 2 > sizeof(tmp)) {
			if (buf_append(out, tmp, t) == -1)
				return -1;
			t = 0;
		}
		if (sp && (any || !trim_lead))
			tmp[t++] = ' ';
		sp = 0;
		if (lower && c >= 'A' && c <= 'Z')
			c += 'a' - 'A';
		tmp[t++] = (char)c;
		any = 1;
	}
	return t > 0 ? buf_append(out, tmp, t) : 0;
}

int
dkim_canon_header_relaxed(const char *field, size_t len, struct buf *out)
{
	const char *colon;
	size_t start = out->len, nlen;

	if ((colon = memchr(field, ':', len)) == NULL)
		return -1;
	nlen = (size_t)(colon - field);
	if (canon_run(field, nlen, 1, 0, out) == -1 ||
	    buf_append(out, ":", 1) == -1 ||
	    canon_run(colon + 1, len - nlen - 1, 0, 1, out) == -1 ||
	    buf_append(out, "\r\n", 2) == -1) {
		out->len = start;
		return -1;
	}
	return 0;
}

/* Small writes to the sink are gathered here. */
struct canon_stage {
	char b[8192];
	size_t n;
	int (*sink)(void *, const void *, size_t);
	void *arg;
	int err;
};

static void
stage_flush(struct canon_stage *s)
{
	if (s->n > 0 && !s->err && s->sink(s->arg, s->b, s->n) == -1)
		s->err = 1;
	s->n = 0;
}

static void
stage_put(struct canon_stage *s, const char *p, size_t n)
{
	if (n > sizeof(s->b) - s->n)
		stage_flush(s);
	if (n >= sizeof(s->b)) {
		if (!s->err && s->sink(s->arg, p, n) == -1)
			s->err = 1;
		return;
	}
	memcpy(s->b + s->n, p, n);
	s->n += n;
}

int
dkim_canon_body_relaxed(const char *body, size_t len,
    int (*sink)(void *, const void *, size_t), void *arg)
{
	struct canon_stage s;
	size_t i = 0, j, nl = 0;
	int sp = 0, any = 0;

	s.n = 0;
	s.sink = sink;
	s.arg = arg;
	s.err = 0;
	while (i < len && !s.err) {
		if (body[i] == '\r' && i + 1 < len && body[i + 1] == '\n') {
			sp = 0; /* WSP at the end of a line is dropped */
			nl++;	/* line ends wait until more text follows */
			i += 2;
			continue;
		}
		if (IS_WSP(body[i])) {
			sp = 1;
			i++;
			continue;
		}
		/* Text up to the next WSP or CR (a bare CR is text too). */
		for (j = i + 1; j < len && !IS_WSP(body[j]) && body[j] != '\r';
		     j++)
			;
		for (; nl > 0; nl--)
			stage_put(&s, "\r\n", 2);
		if (sp)
			stage_put(&s, " ", 1);
		stage_put(&s, body + i, j - i);
		sp = 0;
		any = 1;
		i = j;
	}
	if (any)
		stage_put(&s, "\r\n", 2);
	stage_flush(&s);
	return s.err ? -1 : 0;
}

int
dkim_canon_body_simple(const char *body, size_t len,
    int (*sink)(void *, const void *, size_t), void *arg)
{
	/* Drop the CRLFs of empty lines at the end, keep the last line's. */
	while (len >= 4 && memcmp(body + len - 4, "\r\n\r\n", 4) == 0)
		len -= 2;
	if (len == 2 && memcmp(body, "\r\n", 2) == 0)
		len = 0;
	if (len > 0 && sink(arg, body, len) == -1)
		return -1;
	if (len >= 2 && memcmp(body + len - 2, "\r\n", 2) == 0)
		return 0;
	return sink(arg, "\r\n", 2);
}

int
dkim_sink_buf(void *arg, const void *p, size_t n)
{
	/* buf_append() would memcpy to a NULL buffer, even for nothing. */
	return n > 0 ? buf_append(arg, p, n) : 0;
}

int
dkim_header_list(const char *hdr, size_t hlen, char *out, size_t outlen)
{
	struct dkim_field f;
	size_t pos = 0, o = 0, k;
	int count[CANON_NSIGNED] = { 0 }, n;

	while (dkim_field_next(hdr, hlen, &pos, &f)) {
		for (k = 0; k < CANON_NSIGNED; k++) {
			if (f.name_len == canon_signed[k].len &&
			    str_ascii_ieq(f.name, canon_signed[k].name,
				f.name_len)) {
				/* Refused: beyond this it is not a message
				 * anyone means to send. */
				if (++count[k] > DKIM_REPEAT_MAX)
					return -1;
				break;
			}
		}
	}
	for (k = 0; k < CANON_NSIGNED; k++) {
		for (n = count[k] + canon_signed[k].over; n > 0; n--) {
			if (o + canon_signed[k].len + 2 > outlen)
				return -1;
			if (o > 0)
				out[o++] = ':';
			memcpy(out + o, canon_signed[k].name,
			    canon_signed[k].len);
			o += canon_signed[k].len;
		}
	}
	if (outlen == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

/* A name of an h= list (RFC 5322 ftext, without ';' that ends a tag). */
static int
canon_is_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':' && c != ';';
}

#define IS_FWS(c) (IS_WSP(c) || (c) == '\r' || (c) == '\n')

/* A field of the selection, in the form asked for. */
static int
canon_put(const char *p, size_t len, int simple, struct buf *out)
{
	if (!simple)
		return dkim_canon_header_relaxed(p, len, out);
	if (buf_append(out, p, len) == -1 || buf_append(out, "\r\n", 2) == -1)
		return -1;
	return 0;
}

static int
canon_selected(const char *hdr, size_t hlen, const char *h, int simple,
    struct buf *out)
{
	int e[DKIM_H_MAX]; /* h's names, as indices into d */
	struct {
		const char *name;
		size_t len;
		size_t seen; /* instances in the header */
		size_t want; /* times in h */
		size_t used; /* times taken so far */
		size_t base; /* its first slot in ring */
	} d[DKIM_H_MAX];
	struct {
		const char *p;
		size_t len;
	} ring[DKIM_H_MAX];
	struct dkim_field f;
	size_t pos = 0, start = out->len, n, j, base = 0;
	int ne = 0, nd = 0, i, k;

	for (;;) {
		while (IS_FWS(*h))
			h++;
		for (n = 0; canon_is_ftext((unsigned char)h[n]); n++)
			if (n == DKIM_H_NAME_MAX)
				return -1;
		if (n == 0 || ne == DKIM_H_MAX)
			return -1;
		for (i = 0; i < nd; i++)
			if (d[i].len == n && str_ascii_ieq(d[i].name, h, n))
				break;
		if (i == nd) {
			d[nd].name = h;
			d[nd].len = n;
			d[nd].want = d[nd].seen = d[nd].used = 0;
			nd++;
		}
		d[i].want++;
		e[ne++] = i;
		h += n;
		while (IS_FWS(*h))
			h++;
		if (*h == '\0')
			break;
		if (*h++ != ':')
			return -1;
	}
	for (i = 0; i < nd; i++) {
		d[i].base = base;
		base += d[i].want;
	}

	/* One pass: each name keeps its last `want` instances, the only
	 * ones a bottom-up selection can reach. */
	while (dkim_field_next(hdr, hlen, &pos, &f)) {
		if (f.name_len == 0)
			continue;
		for (i = 0; i < nd; i++) {
			if (d[i].len != f.name_len ||
			    !str_ascii_ieq(d[i].name, f.name, f.name_len))
				continue;
			j = d[i].base + d[i].seen++ % d[i].want;
			ring[j].p = f.p;
			ring[j].len = f.len;
			break;
		}
	}

	for (i = 0; i < ne; i++) {
		k = e[i];
		j = d[k].used++;
		if (j >= d[k].seen)
			continue;      /* no instance left: signs its absence */
		j = d[k].seen - 1 - j; /* the j-th instance from the top */
		j = d[k].base + j % d[k].want;
		if (canon_put(ring[j].p, ring[j].len, simple, out) == -1) {
			out->len = start;
			return -1;
		}
	}
	return 0;
}

int
dkim_canon_selected(const char *hdr, size_t hlen, const char *h,
    struct buf *out)
{
	return canon_selected(hdr, hlen, h, 0, out);
}

int
dkim_canon_selected_simple(const char *hdr, size_t hlen, const char *h,
    struct buf *out)
{
	return canon_selected(hdr, hlen, h, 1, out);
}
