/*
 * dkim: keys and signatures. OpenSSL does the cryptography: RSA is
 * PKCS#1 v1.5 over SHA-256 of the header data, Ed25519 is PureEd25519 over
 * that SHA-256 digest (RFC 8463 3). The field is signed exactly as it is
 * written out, folds included, so what a verifier canonicalises is what
 * was signed.
 */
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "canon.h"
#include "dkim.h"
#include "dkim_int.h"
#include "../util/base64.h"
#include "../util/log.h"

#define IS_WSP(c) ((c) == ' ' || (c) == '\t')

#define DKIM_SIG_MAX 1024 /* signature bytes: RSA up to 8192 bits */

struct dkim_key {
	EVP_PKEY *pkey;
	enum dkim_alg alg;
	char domain[254];
	char selector[254];
};

/* Refuses to prompt for a passphrase: keys are stored unencrypted. */
static int
dkim_no_passphrase(char *buf, int size, int rwflag, void *u)
{
	return -1;
}

static EVP_PKEY *
dkim_pem_load(const char *path, enum dkim_alg alg)
{
	EVP_PKEY *pk;
	FILE *fp;
	int bits;

	if ((fp = fopen(path, "re")) == NULL) {
		log_warnx("dkim.key path=%s error=\"cannot open\"", path);
		return NULL;
	}
	pk = PEM_read_PrivateKey(fp, NULL, dkim_no_passphrase, NULL);
	fclose(fp);
	ERR_clear_error();
	if (pk == NULL) {
		log_warnx("dkim.key path=%s error=\"not a PEM private key\"",
		    path);
		return NULL;
	}
	if (!EVP_PKEY_is_a(pk, alg == DKIM_RSA ? "RSA" : "ED25519")) {
		log_warnx("dkim.key path=%s error=\"not an %s key\"", path,
		    alg == DKIM_RSA ? "RSA" : "Ed25519");
		EVP_PKEY_free(pk);
		return NULL;
	}
	/* RFC 8301: verifiers refuse RSA keys under 1024 bits. */
	bits = EVP_PKEY_get_bits(pk);
	if (alg == DKIM_RSA && (bits < 1024 || bits > 4096)) {
		log_warnx("dkim.key path=%s error=\"RSA key of %d bits\"", path,
		    bits);
		EVP_PKEY_free(pk);
		return NULL;
	}
	return pk;
}

int
dkim_key_generate(const char *path, enum dkim_alg alg)
{
	EVP_PKEY *pk;
	FILE *fp = NULL;
	char dir[4096];
	int fd, dfd, rc = -1;

	if (alg == DKIM_RSA)
		pk =
		    EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)DKIM_RSA_BITS);
	else
		pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pk == NULL) {
		ERR_clear_error();
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	    0600);
	if (fd == -1) {
		EVP_PKEY_free(pk);
		return -1;
	}
	if (fchmod(fd, 0600) == -1 || (fp = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto out;
	}
	if (PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL, NULL) != 1 ||
	    fflush(fp) != 0 || fsync(fileno(fp)) == -1)
		goto out;
	rc = 0;
out:
	if (fp != NULL && fclose(fp) != 0)
		rc = -1;
	if (rc == -1)
		unlink(path);
	else if (snprintf(dir, sizeof(dir), "%s", path) < (int)sizeof(dir) &&
		 (dfd = open(dirname(dir),
		      O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		/* The name, too, survives a crash. */
		fsync(dfd);
		close(dfd);
	}
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return rc;
}

int
dkim_dns_txt(const char *path, enum dkim_alg alg, char *out, size_t outlen)
{
	EVP_PKEY *pk;
	unsigned char *der = NULL, *p;
	char *b64 = NULL;
	size_t n = 0;
	int len, rc = -1;

	if ((pk = dkim_pem_load(path, alg)) == NULL)
		return -1;
	if (alg == DKIM_RSA) {
		if ((len = i2d_PUBKEY(pk, NULL)) <= 0 ||
		    (der = malloc((size_t)len)) == NULL)
			goto out;
		p = der;
		if (i2d_PUBKEY(pk, &p) != len)
			goto out;
		n = (size_t)len;
	} else {
		n = 32;
		if ((der = malloc(n)) == NULL ||
		    EVP_PKEY_get_raw_public_key(pk, der, &n) != 1 || n != 32)
			goto out;
	}
	if ((b64 = malloc(BASE64_ENCODED_LEN(n))) == NULL)
		goto out;
	base64_encode(b64, der, n);
	len = snprintf(out, outlen, "v=DKIM1; k=%s; p=%s",
	    alg == DKIM_RSA ? "rsa" : "ed25519", b64);
	if (len > 0 && (size_t)len < outlen)
		rc = 0;
out:
	free(b64);
	free(der);
	EVP_PKEY_free(pk);
	ERR_clear_error();
	return rc;
}

/* A DNS name for d= or s=: letters, digits, '-', '_' in dot-separated
 * labels of 1 to 63 bytes. Nothing that could end a tag or a line. */
static int
dkim_name_ok(const char *s)
{
	size_t label = 0, i;

	for (i = 0; s[i] != '\0'; i++) {
		if (s[i] == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
			(s[i] >= 'A' && s[i] <= 'Z') ||
			(s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
			s[i] == '_') ||
		    ++label > 63)
			return 0;
	}
	return i > 0 && label > 0;
}

struct dkim_key *
dkim_key_load(const char *path, enum dkim_alg alg, const char *domain,
    const char *selector)
{
	struct dkim_key *k;

	/* selector._domainkey.domain is one DNS name of at most 253. */
	if (!dkim_name_ok(domain) || !dkim_name_ok(selector) ||
	    strlen(selector) + strlen("._domainkey.") + strlen(domain) > 253) {
		log_warnx("dkim.key path=%s error=\"bad domain or selector\"",
		    path);
		return NULL;
	}
	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	if ((k->pkey = dkim_pem_load(path, alg)) == NULL) {
		free(k);
		return NULL;
	}
	k->alg = alg;
	snprintf(k->domain, sizeof(k->domain), "%s", domain);
	snprintf(k->selector, sizeof(k->selector), "%s", selector);
	return k;
}

void
dkim_key_free(struct dkim_key *k)
{
	if (k == NULL)
		return;
	EVP_PKEY_free(k->pkey);
	free(k);
}

/*
 * Folding: words go on a line while it stays within DKIM_FOLD_COL; a word
 * that does not fit starts a new line with CRLF TAB. A fold replaces a
 * space between tags, or is inserted where the grammar allows FWS (around
 * the colons of h=, inside b=): either way the relaxed form of the field
 * is what was signed.
 */
void
dkim_fold_put(struct dkim_fold *f, const char *s, size_t n)
{
	if (buf_append(f->b, s, n) == -1)
		f->err = 1;
}

/* Start a new line (before b= when its value would not start here). */
void
dkim_fold_break(struct dkim_fold *f)
{
	dkim_fold_put(f, "\r\n\t", 3);
	f->col = 8;
}

void
dkim_fold_word(struct dkim_fold *f, int space, const char *w, size_t n)
{
	if (f->col > 8 && f->col + (space ? 1 : 0) + n > DKIM_FOLD_COL) {
		dkim_fold_break(f);
	} else if (space) {
		dkim_fold_put(f, " ", 1);
		f->col++;
	}
	dkim_fold_put(f, w, n);
	f->col += n;
}

void
dkim_fold_tag(struct dkim_fold *f, const char *fmt, const char *v)
{
	char w[300];
	int n;

	n = snprintf(w, sizeof(w), fmt, v);
	if (n < 0 || (size_t)n >= sizeof(w)) {
		f->err = 1;
		return;
	}
	dkim_fold_word(f, 1, w, (size_t)n);
}

/* "h=NAMES;": a word per run without WSP, cut after each colon. */
void
dkim_fold_h(struct dkim_fold *f, const char *h)
{
	char w[DKIM_H_NAME_MAX + 8];
	size_t a = 0, z = strlen(h), n = 2, i;
	int space = 1;
	char c;

	while (a < z && IS_WSP(h[a]))
		a++;
	while (z > a && IS_WSP(h[z - 1]))
		z--;
	memcpy(w, "h=", 2);
	for (i = a; i <= z; i++) {
		c = i == z ? '\0' : h[i];
		if (c == '\0' || c == ':' || IS_WSP(c)) {
			if (c == ':')
				w[n++] = ':';
			else if (c == '\0')
				w[n++] = ';';
			if (n > 0) {
				dkim_fold_word(f, space, w, n);
				n = 0;
				space = c != ':';
			} else if (IS_WSP(c)) {
				space = 1;
			}
			continue;
		}
		if (n >= sizeof(w) - 2) {
			f->err = 1;
			return;
		}
		w[n++] = c;
	}
}

/* The signature field's value may hold nothing that ends a tag or line. */
static int
dkim_tag_ok(const char *s, int wsp)
{
	for (; *s != '\0'; s++)
		if (*s == ';' || (unsigned char)*s > 126 ||
		    ((unsigned char)*s < 33 &&
			!(wsp && (*s == ' ' || *s == '\t'))))
			return 0;
	return 1;
}

/* Header data are hashed before the signature for Ed25519 (RFC 8463). */
int
dkim_sig(const struct dkim_key *k, const char *data, size_t n,
    unsigned char *sig, size_t *siglen)
{
	EVP_MD_CTX *c;
	unsigned char h[32];
	unsigned int hlen;
	int ok;

	if ((c = EVP_MD_CTX_new()) == NULL)
		return -1;
	if (k->alg == DKIM_RSA)
		ok = EVP_DigestSignInit(c, NULL, EVP_sha256(), NULL, k->pkey) ==
			 1 &&
		     EVP_DigestSign(c, sig, siglen, (const unsigned char *)data,
			 n) == 1;
	else
		ok = EVP_Digest(data, n, h, &hlen, EVP_sha256(), NULL) == 1 &&
		     EVP_DigestSignInit(c, NULL, NULL, NULL, k->pkey) == 1 &&
		     EVP_DigestSign(c, sig, siglen, h, hlen) == 1;
	EVP_MD_CTX_free(c);
	ERR_clear_error();
	return ok ? 0 : -1;
}

/* Hashes what canonicalisation gives, up to l bytes when l >= 0. */
struct dkim_md_sink {
	EVP_MD_CTX *c;
	long long l;
	unsigned long long n; /* canonical bytes seen, hashed or not */
};

static int
dkim_sink_md(void *arg, const void *p, size_t n)
{
	struct dkim_md_sink *s = arg;
	size_t take = n;

	if (s->l >= 0 && s->n + n > (unsigned long long)s->l)
		take = s->n >= (unsigned long long)s->l
			   ? 0
			   : (size_t)((unsigned long long)s->l - s->n);
	s->n += n;
	if (take == 0)
		return 0;
	return EVP_DigestUpdate(s->c, p, take) == 1 ? 0 : -1;
}

int
dkim_body_hash(const char *body, size_t len, int simple, long long l,
    unsigned char out[32], unsigned long long *clen)
{
	struct dkim_md_sink s;
	unsigned int n;
	int ok;

	if ((s.c = EVP_MD_CTX_new()) == NULL)
		return -1;
	s.l = l;
	s.n = 0;
	ok = EVP_DigestInit_ex(s.c, EVP_sha256(), NULL) == 1 &&
	     (simple ? dkim_canon_body_simple(body, len, dkim_sink_md, &s)
		     : dkim_canon_body_relaxed(body, len, dkim_sink_md, &s)) ==
		 0 &&
	     EVP_DigestFinal_ex(s.c, out, &n) == 1 && n == 32;
	EVP_MD_CTX_free(s.c);
	ERR_clear_error();
	if (clen != NULL)
		*clen = s.n;
	return ok ? 0 : -1;
}

const char *
dkim_key_alg_name(const struct dkim_key *k)
{
	return k->alg == DKIM_RSA ? "rsa-sha256" : "ed25519-sha256";
}

const char *
dkim_key_domain(const struct dkim_key *k)
{
	return k->domain;
}

const char *
dkim_key_selector(const struct dkim_key *k)
{
	return k->selector;
}

int
dkim_field_seal(const struct dkim_key *k, struct dkim_fold *f, struct buf *hd,
    int simple_header, struct buf *out)
{
	unsigned char sig[DKIM_SIG_MAX];
	char b64[BASE64_ENCODED_LEN(DKIM_SIG_MAX)];
	size_t hd0 = hd->len, siglen = sizeof(sig), n, i, room;
	int rc = -1;

	/* b= keeps a few characters of its value on its line. */
	if (f->col + 1 + 2 + 8 > DKIM_FOLD_COL)
		dkim_fold_break(f);
	dkim_fold_word(f, 1, "b=", 2);
	if (f->err)
		goto out;
	if (simple_header) {
		if (buf_append(hd, f->b->data, f->b->len) == -1)
			goto out;
	} else {
		if (dkim_canon_header_relaxed(f->b->data, f->b->len, hd) == -1)
			goto out;
		hd->len -= 2; /* without its CRLF (RFC 6376 3.7) */
	}
	if (dkim_sig(k, hd->data, hd->len, sig, &siglen) == -1)
		goto out;
	n = base64_encode(b64, sig, siglen);
	for (i = 0; i < n; i += room) {
		if (f->col >= DKIM_FOLD_COL)
			dkim_fold_break(f);
		room = DKIM_FOLD_COL - f->col;
		if (room > n - i)
			room = n - i;
		dkim_fold_put(f, b64 + i, room);
		f->col += room;
	}
	dkim_fold_put(f, "\r\n", 2);
	if (f->err || buf_append(out, f->b->data, f->b->len) == -1)
		goto out;
	rc = 0;
out:
	hd->len = hd0;
	return rc;
}

/*
 * One DKIM-Signature field for key k, appended to out. hd holds the
 * canonical selected fields; the field itself (b= empty) goes after them
 * for the signature and is taken off again.
 */
static int
dkim_field(const struct dkim_key *k, struct buf *hd, const char *bh, time_t t,
    const struct dkim_sig_opts *o, struct buf *out)
{
	struct buf fb;
	struct dkim_fold f;
	char ts[32];
	int rc;

	buf_init(&fb, DKIM_FIELD_MAX);
	f.b = &fb;
	f.err = 0;
	dkim_fold_put(&f, "DKIM-Signature:", 15);
	f.col = 15;
	dkim_fold_word(&f, 1, "v=1;", 4);
	dkim_fold_tag(&f, "a=%s;", dkim_key_alg_name(k));
	snprintf(ts, sizeof(ts), "c=%s/%s;",
	    o->simple_header ? "simple" : "relaxed",
	    o->simple_body ? "simple" : "relaxed");
	dkim_fold_word(&f, 1, ts, strlen(ts));
	dkim_fold_tag(&f, "d=%s;", k->domain);
	if (o->i != NULL)
		dkim_fold_tag(&f, "i=%s;", o->i);
	if (o->q)
		dkim_fold_word(&f, 1, "q=dns/txt;", 10);
	dkim_fold_tag(&f, "s=%s;", k->selector);
	snprintf(ts, sizeof(ts), "%lld", (long long)t);
	dkim_fold_tag(&f, "t=%s;", ts);
	if (o->x != 0) {
		snprintf(ts, sizeof(ts), "%lld", (long long)o->x);
		dkim_fold_tag(&f, "x=%s;", ts);
	}
	if (o->l_set) {
		snprintf(ts, sizeof(ts), "%lld", o->l);
		dkim_fold_tag(&f, "l=%s;", ts);
	}
	dkim_fold_h(&f, o->h);
	dkim_fold_tag(&f, "bh=%s;", bh);
	rc = dkim_field_seal(k, &f, hd, o->simple_header, out);
	buf_free(&fb);
	return rc;
}

/*
 * 1 when the header section has no NUL and no CR or LF outside a CRLF.
 * The spool holds none (the DATA reader refuses them); a section that
 * does is not what verifiers would read, so it is not signed.
 */
int
dkim_header_clean(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (p[i] == '\0' || p[i] == '\n')
			return 0;
		if (p[i] == '\r') {
			if (i + 1 == n || p[i + 1] != '\n')
				return 0;
			i++;
		}
	}
	return 1;
}

int
dkim_sign_opts(struct dkim_key *const *keys, int nkeys, const char *msg,
    size_t len, time_t t, const struct dkim_sig_opts *o, struct buf *out)
{
	struct buf hd;
	char bh[BASE64_ENCODED_LEN(32)];
	unsigned char d[32];
	size_t hlen, boff, out0 = out->len;
	int i, rc = -1;

	if (nkeys < 1 || nkeys > DKIM_MAX_KEYS || t < 0 || o->h == NULL ||
	    (o->l_set && o->l < 0) || !dkim_tag_ok(o->h, 1) ||
	    (o->i != NULL && !dkim_tag_ok(o->i, 0)))
		return -1;
	dkim_split(msg, len, &hlen, &boff);
	if (!dkim_header_clean(msg, hlen))
		return -1;
	if (dkim_body_hash(msg + boff, len - boff, o->simple_body,
		o->l_set ? o->l : -1, d, NULL) == -1)
		return -1;
	base64_encode(bh, d, sizeof(d));
	/* Canonical fields are no longer than the section, plus a CRLF
	 * for a last field without one, plus the signature field. */
	buf_init(&hd, hlen + 2 + DKIM_FIELD_MAX);
	if ((o->simple_header
		    ? dkim_canon_selected_simple(msg, hlen, o->h, &hd)
		    : dkim_canon_selected(msg, hlen, o->h, &hd)) == -1)
		goto out;
	for (i = 0; i < nkeys; i++)
		if (dkim_field(keys[i], &hd, bh, t, o, out) == -1)
			goto out;
	rc = 0;
out:
	if (rc == -1)
		out->len = out0;
	buf_free(&hd);
	return rc;
}

int
dkim_sign(struct dkim_key *const *keys, int nkeys, const char *msg, size_t len,
    time_t now, struct buf *out)
{
	struct dkim_sig_opts o = { NULL, NULL, 0, 0, 0, 0, 0, 0 };
	char h[1024];
	size_t hlen, boff;

	dkim_split(msg, len, &hlen, &boff);
	if (dkim_header_list(msg, hlen, h, sizeof(h)) == -1)
		return -1;
	o.h = h;
	return dkim_sign_opts(keys, nkeys, msg, len, now, &o, out);
}
