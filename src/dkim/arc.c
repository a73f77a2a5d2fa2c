/*
 * arc: see arc.h. One pass over the header section finds the ARC fields
 * already there and their instances; the new set is then made in the
 * order RFC 8617 5.1.1 gives: the ARC-Authentication-Results, the
 * ARC-Message-Signature over the message (as a DKIM signature), and the
 * ARC-Seal over the sets 1..i in order (AAR, AMS, AS each), its own b=
 * empty and last. Only the fields are made here; the message is never
 * changed, so its DKIM signatures stay valid.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arc.h"
#include "canon.h"
#include "dkim.h"
#include "dkim_int.h"
#include "../util/base64.h"
#include "../util/str.h"

#define IS_FWS(c) ((c) == ' ' || (c) == '\t' || (c) == '\r' || (c) == '\n')
#define IS_WORD(c)                                                             \
	(((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') ||           \
	    ((c) >= '0' && (c) <= '9') || (c) == '-' || (c) == '_')

static const struct {
	const char *name;
	size_t len;
} arc_names[ARC_NKINDS] = {
	{ "ARC-Authentication-Results", 26 },
	{ "ARC-Message-Signature", 21 },
	{ "ARC-Seal", 8 },
};

static int
arc_kind(const struct dkim_field *f)
{
	int k;

	for (k = 0; k < ARC_NKINDS; k++)
		if (f->name_len == arc_names[k].len &&
		    str_ascii_ieq(f->name, arc_names[k].name, f->name_len))
			return k;
	return -1; /* not ARC's (another ARC-* field is no part of it) */
}

/*
 * The value of tag name in a relaxed field value v ("i=1; a=b"): its
 * bytes in *val, *vlen. For the AAR only the first tag is looked at (the
 * rest are results, not tags). 0 found, -1 not.
 */
static int
arc_tag(const char *v, const char *name, int first_only, const char **val,
    size_t *vlen)
{
	size_t nl = strlen(name), n;
	const char *e;

	for (;;) {
		while (*v == ' ')
			v++;
		e = strchr(v, ';');
		n = e != NULL ? (size_t)(e - v) : strlen(v);
		if (n > nl && str_ascii_ieq(v, name, nl) &&
		    (v[nl] == '=' || v[nl] == ' ')) {
			v += nl;
			n -= nl;
			while (n > 0 && *v == ' ')
				v++, n--;
			if (n > 0 && *v == '=') {
				v++, n--;
				while (n > 0 && *v == ' ')
					v++, n--;
				while (n > 0 && v[n - 1] == ' ')
					n--;
				*val = v;
				*vlen = n;
				return 0;
			}
		}
		if (e == NULL || first_only)
			return -1;
		v = e + 1;
	}
}

/* i= as 1..ARC_MAX_SETS; 0 if it is not that. */
static int
arc_instance(const char *v, int kind)
{
	const char *p;
	size_t n, j;
	int i = 0;

	if (arc_tag(v, "i", kind == ARC_AAR, &p, &n) == -1 || n == 0 || n > 2)
		return 0;
	for (j = 0; j < n; j++) {
		if (p[j] < '0' || p[j] > '9')
			return 0;
		i = i * 10 + (p[j] - '0');
	}
	return i >= 1 && i <= ARC_MAX_SETS ? i : 0;
}

/* One ARC field into the chain, or the chain marked broken. */
static void
arc_chain_add(struct arc_chain *c, const struct dkim_field *f, int kind)
{
	struct buf rel;
	const char *cv, *v;
	size_t cvlen;
	int i;

	if (f->len > ARC_FIELD_MAX) {
		c->broken = 1;
		return;
	}
	buf_init(&rel, ARC_FIELD_MAX + 64);
	if (dkim_canon_header_relaxed(f->p, f->len, &rel) == -1 ||
	    buf_append(&rel, "", 1) == -1) {
		c->broken = 1;
		goto out;
	}
	v = strchr(rel.data, ':') + 1;
	if ((i = arc_instance(v, kind)) == 0 || c->f[i][kind].p != NULL) {
		c->broken = 1; /* no instance, or two fields for one */
		goto out;
	}
	c->f[i][kind] = *f;
	if (i > c->max)
		c->max = i;
	if (kind == ARC_AS) {
		if (arc_tag(v, "cv", 0, &cv, &cvlen) == -1)
			c->broken = 1;
		else if (cvlen == 4 && str_ascii_ieq(cv, "fail", 4))
			c->failed = 1;
		else if (!(i == 1 && cvlen == 4 &&
			     str_ascii_ieq(cv, "none", 4)) &&
			 !(i > 1 && cvlen == 4 && str_ascii_ieq(cv, "pass", 4)))
			c->broken = 1;
	}
out:
	buf_free(&rel);
}

void
arc_chain_read(const char *hdr, size_t hlen, struct arc_chain *c)
{
	struct dkim_field f;
	size_t pos = 0;
	int kind, i, k;

	memset(c, 0, sizeof(*c));
	while (dkim_field_next(hdr, hlen, &pos, &f))
		if ((kind = arc_kind(&f)) != -1)
			arc_chain_add(c, &f, kind);
	for (i = 1; i <= c->max; i++)
		for (k = 0; k < ARC_NKINDS; k++)
			if (c->f[i][k].p == NULL)
				c->broken = 1;
}

/*
 * authres without blanks around it or a final CRLF: -1 when empty, too
 * long, or not a field value (NUL, a CR or LF outside a fold, a line
 * longer than ARC_AUTHRES_LINE_MAX).
 */
static int
arc_authres(const char *a, const char **start, size_t *len)
{
	size_t n, i, line = 0;

	while (*a == ' ' || *a == '\t')
		a++;
	n = strlen(a);
	while (n > 0 && (a[n - 1] == ' ' || a[n - 1] == '\t' ||
			    a[n - 1] == '\r' || a[n - 1] == '\n'))
		n--;
	if (n == 0 || n > ARC_AUTHRES_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		if (a[i] == '\r') {
			if (i + 2 >= n || a[i + 1] != '\n' ||
			    (a[i + 2] != ' ' && a[i + 2] != '\t'))
				return -1;
			i++;
			line = 0;
			continue;
		}
		if (a[i] == '\n' || a[i] == '\0' ||
		    ++line > ARC_AUTHRES_LINE_MAX)
			return -1;
	}
	*start = a;
	*len = n;
	return 0;
}

/* The h= list: what DKIM signs, then each DKIM-Signature present. */
static int
arc_h(const char *hdr, size_t hlen, char *h, size_t hmax)
{
	struct dkim_field f;
	size_t pos = 0, n;
	int count = 0;

	if (dkim_header_list(hdr, hlen, h, hmax) == -1)
		return -1;
	while (dkim_field_next(hdr, hlen, &pos, &f))
		if (f.name_len == 14 &&
		    str_ascii_ieq(f.name, "DKIM-Signature", 14) &&
		    ++count > DKIM_REPEAT_MAX)
			return -1;
	for (; count > 0; count--) {
		n = strlen(h);
		if (n + 16 > hmax)
			return -1;
		memcpy(h + n, ":dkim-signature", 16);
	}
	return 0;
}

/* "i=N;", "a=...;", "d=...;", "s=...;", "t=...;" words of a new field
 * named name (with its colon). */
static void
arc_field_start(struct dkim_fold *f, const char *name, int inst,
    const struct dkim_key *k)
{
	char w[32];

	dkim_fold_put(f, name, strlen(name));
	f->col = strlen(name);
	snprintf(w, sizeof(w), "i=%d;", inst);
	dkim_fold_word(f, 1, w, strlen(w));
	dkim_fold_tag(f, "a=%s;", dkim_key_alg_name(k));
}

static int
arc_ams(struct dkim_key *k, const char *msg, size_t len, size_t hlen,
    size_t boff, int inst, time_t now, struct buf *ams)
{
	struct buf hd, fb;
	struct dkim_fold f;
	unsigned char d[32];
	char bh[BASE64_ENCODED_LEN(32)], h[3072], ts[32];
	int rc = -1;

	if (arc_h(msg, hlen, h, sizeof(h)) == -1 ||
	    dkim_body_hash(msg + boff, len - boff, 0, -1, d, NULL) == -1)
		return -1;
	base64_encode(bh, d, sizeof(d));
	buf_init(&hd, hlen + 2 + DKIM_FIELD_MAX);
	buf_init(&fb, DKIM_FIELD_MAX);
	if (dkim_canon_selected(msg, hlen, h, &hd) == -1)
		goto out;
	f.b = &fb;
	f.err = 0;
	arc_field_start(&f, "ARC-Message-Signature:", inst, k);
	dkim_fold_word(&f, 1, "c=relaxed/relaxed;", 18);
	dkim_fold_tag(&f, "d=%s;", dkim_key_domain(k));
	dkim_fold_tag(&f, "s=%s;", dkim_key_selector(k));
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	dkim_fold_tag(&f, "t=%s;", ts);
	dkim_fold_h(&f, h);
	dkim_fold_tag(&f, "bh=%s;", bh);
	rc = dkim_field_seal(k, &f, &hd, 0, ams);
out:
	buf_free(&fb);
	buf_free(&hd);
	return rc;
}

/*
 * The ARC-Seal: the sets before ours in instance order (none when the
 * chain failed), then our AAR and AMS, then the seal itself, all
 * relaxed (RFC 8617 5.1.1).
 */
static int
arc_as(struct dkim_key *k, const struct arc_chain *c, int inst,
    const char *cvname, const struct buf *aar, const struct buf *ams,
    time_t now, struct buf *as)
{
	struct buf hd, fb;
	struct dkim_fold f;
	char ts[32];
	int i, kind, rc = -1;

	buf_init(&hd, (size_t)(ARC_MAX_SETS + 1) * 3 * (ARC_FIELD_MAX + 2));
	buf_init(&fb, DKIM_FIELD_MAX);
	for (i = 1; i < inst && strcmp(cvname, "fail") != 0; i++)
		for (kind = 0; kind < ARC_NKINDS; kind++)
			if (dkim_canon_header_relaxed(c->f[i][kind].p,
				c->f[i][kind].len, &hd) == -1)
				goto out;
	if (dkim_canon_header_relaxed(aar->data, aar->len, &hd) == -1 ||
	    dkim_canon_header_relaxed(ams->data, ams->len, &hd) == -1)
		goto out;
	f.b = &fb;
	f.err = 0;
	arc_field_start(&f, "ARC-Seal:", inst, k);
	snprintf(ts, sizeof(ts), "%lld", (long long)now);
	dkim_fold_tag(&f, "t=%s;", ts);
	dkim_fold_tag(&f, "cv=%s;", cvname);
	dkim_fold_tag(&f, "d=%s;", dkim_key_domain(k));
	dkim_fold_tag(&f, "s=%s;", dkim_key_selector(k));
	rc = dkim_field_seal(k, &f, &hd, 0, as);
out:
	buf_free(&fb);
	buf_free(&hd);
	return rc;
}

int
arc_sign(struct dkim_key *key, const char *msg, size_t len, const char *authres,
    int cv, time_t now, struct buf *out)
{
	struct arc_chain *c;
	struct buf aar, ams, as;
	const char *ar, *cvname;
	size_t hlen, boff, arlen, out0 = out->len;
	int inst, rc = -1;

	/* RFC 8617 defines rsa-sha256 alone; verifiers know no other */
	if (key == NULL || strcmp(dkim_key_alg_name(key), "rsa-sha256") != 0 ||
	    now < 0 || arc_authres(authres, &ar, &arlen) == -1)
		return -1;
	dkim_split(msg, len, &hlen, &boff);
	if (!dkim_header_clean(msg, hlen))
		return -1;
	if ((c = malloc(sizeof(*c))) == NULL)
		return -1;
	arc_chain_read(msg, hlen, c);
	if ((inst = c->max + 1) > ARC_MAX_SETS) {
		free(c);
		return -1;
	}
	if (c->max == 0 && !c->broken)
		cvname = "none";
	else if (c->broken || c->failed || cv != ARC_CV_PASS)
		cvname = "fail";
	else
		cvname = "pass";
	buf_init(&aar, ARC_AUTHRES_MAX + 64);
	buf_init(&ams, DKIM_FIELD_MAX);
	buf_init(&as, DKIM_FIELD_MAX);
	if (buf_printf(&aar, "ARC-Authentication-Results: i=%d; ", inst) ==
		-1 ||
	    buf_append(&aar, ar, arlen) == -1 ||
	    buf_append(&aar, "\r\n", 2) == -1 ||
	    arc_ams(key, msg, len, hlen, boff, inst, now, &ams) == -1 ||
	    arc_as(key, c, inst, cvname, &aar, &ams, now, &as) == -1)
		goto out;
	if (buf_append(out, as.data, as.len) == -1 ||
	    buf_append(out, ams.data, ams.len) == -1 ||
	    buf_append(out, aar.data, aar.len) == -1)
		goto out;
	rc = 0;
out:
	if (rc == -1)
		out->len = out0;
	buf_free(&aar);
	buf_free(&ams);
	buf_free(&as);
	free(c);
	return rc;
}

int
arc_cv_of(const char *a)
{
	const char *p;
	size_t i;

	for (i = 0; a[i] != '\0'; i++) {
		if (!str_ascii_ieq(a + i, "arc", 3) ||
		    (i > 0 && a[i - 1] != ';' && a[i - 1] != ' ' &&
			a[i - 1] != '\t' && a[i - 1] != '\n'))
			continue;
		for (p = a + i + 3; *p == ' ' || *p == '\t'; p++)
			;
		if (*p++ != '=')
			continue;
		while (*p == ' ' || *p == '\t')
			p++;
		if (str_ascii_ieq(p, "pass", 4) && !IS_WORD(p[4]))
			return ARC_CV_PASS;
		if (str_ascii_ieq(p, "fail", 4) && !IS_WORD(p[4]))
			return ARC_CV_FAIL;
		return ARC_CV_NONE;
	}
	return ARC_CV_NONE;
}

int
arc_authres_of(const char *msg, size_t len, const char *authserv_id, char *out,
    size_t outlen)
{
	struct dkim_field f;
	const char *colon;
	size_t hlen, boff, pos = 0, idl = strlen(authserv_id), a, z, e;

	dkim_split(msg, len, &hlen, &boff);
	while (dkim_field_next(msg, hlen, &pos, &f)) {
		if (f.name_len != 22 ||
		    !str_ascii_ieq(f.name, "Authentication-Results", 22) ||
		    (colon = memchr(f.p, ':', f.len)) == NULL)
			continue;
		a = (size_t)(colon - f.p) + 1;
		while (a < f.len && IS_FWS(f.p[a]))
			a++;
		/* the authserv-id: up to ';' or a blank */
		for (e = a; e < f.len && f.p[e] != ';' && !IS_FWS(f.p[e]); e++)
			;
		if (e > a && f.p[e - 1] == '.')
			e--;
		if (e - a != idl || !str_ascii_ieq(f.p + a, authserv_id, idl))
			continue;
		for (z = f.len; z > a && IS_FWS(f.p[z - 1]); z--)
			;
		if (z - a + 1 > outlen)
			return -1;
		memcpy(out, f.p + a, z - a);
		out[z - a] = '\0';
		return 0;
	}
	return -1;
}
