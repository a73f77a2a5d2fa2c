/*
 * srs: see srs.h. The encoding is libsrs2's, byte for byte (postsrsd 2
 * carries a copy of it), so an operator can move a postsrsd secret here
 * and bounces to addresses it made still come home:
 *  - the hash is HMAC-SHA1 under the secret (its bytes as text) of the
 *    lower-cased fields joined without separators (SRS0: stamp, domain,
 *    local; SRS1: first forwarder, the rest), its first 3 bytes as 4
 *    characters of base64 with '-' and '_'; compared case-insensitively
 *    and with '+' '/' read as '-' '_' (older libsrs2 wrote those);
 *  - the stamp is the day number mod 1024 in 2 characters of base32.
 * Refused where libsrs2 is lax: a hash other than 4 characters, an empty
 * field, an output local part over 64 bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "srs.h"
#include "../util/base64.h"

#define SRS_HASH_LEN 4
#define SRS_STAMP_LEN 2
#define SRS_DAY 86400
#define SRS_STAMP_SLOTS 1024 /* 2 base32 characters */
#define SRS_FILE_MAX (SRS_SECRETS_MAX * (SRS_SECRET_MAX + 2) + 64)

static const char srs_b32[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char srs_b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
			      "abcdefghijklmnopqrstuvwxyz"
			      "0123456789-_";

static const struct srs_key *srs_current;

void
srs_key_set(const struct srs_key *k)
{
	srs_current = k;
}

const struct srs_key *
srs_key_current(void)
{
	return srs_current;
}

static int
srs_lower(int c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int
srs_is_sep(int c)
{
	return c == '=' || c == '+' || c == '-';
}

int
srs_is_srs(const char *addr)
{
	return (addr[0] == 'S' || addr[0] == 's') &&
	       (addr[1] == 'R' || addr[1] == 'r') &&
	       (addr[2] == 'S' || addr[2] == 's') &&
	       (addr[3] == '0' || addr[3] == '1') && srs_is_sep(addr[4]);
}

/*
 * The hash of the fields, lower-cased and joined, under secret i, as
 * SRS_HASH_LEN characters. -1 when they do not fit (they always do for
 * addresses of SRS_ADDR_MAX) or HMAC fails.
 */
static int
srs_hash(const struct srs_key *k, int i, const char *const *fields, int nf,
    char out[SRS_HASH_LEN])
{
	unsigned char data[2 * SRS_ADDR_MAX], md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	const char *p;
	size_t n = 0;
	int f;

	for (f = 0; f < nf; f++)
		for (p = fields[f]; *p != '\0'; p++) {
			if (n == sizeof(data))
				return -1;
			data[n++] = (unsigned char)srs_lower((unsigned char)*p);
		}
	if (HMAC(EVP_sha1(), k->secret[i], (int)k->len[i], data, n, md,
		&mdlen) == NULL ||
	    mdlen < 3)
		return -1;
	out[0] = srs_b64[md[0] >> 2];
	out[1] = srs_b64[((md[0] & 0x03) << 4) | (md[1] >> 4)];
	out[2] = srs_b64[((md[1] & 0x0f) << 2) | (md[2] >> 6)];
	out[3] = srs_b64[md[2] & 0x3f];
	OPENSSL_cleanse(md, sizeof(md));
	return 0;
}

/* A hash character as libsrs2 compares it: case folded, '+' as '-',
 * '/' as '_'; 0 for any other byte (never equal). */
static unsigned char
srs_hash_class(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return (unsigned char)(c - 'A' + 'a');
	if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
		return c;
	if (c == '+' || c == '-')
		return '-';
	if (c == '/' || c == '_')
		return '_';
	return 0;
}

/* 1 when some secret makes hash (SRS_HASH_LEN characters) from the
 * fields; every secret is tried and every character compared. */
static int
srs_hash_ok(const struct srs_key *k, const char *hash,
    const char *const *fields, int nf)
{
	char want[SRS_HASH_LEN];
	unsigned char a, b, diff;
	int i, j, ok = 0;

	for (i = 0; i < k->n; i++) {
		if (srs_hash(k, i, fields, nf, want) == -1)
			continue;
		diff = 0;
		for (j = 0; j < SRS_HASH_LEN; j++) {
			a = srs_hash_class((unsigned char)hash[j]);
			b = srs_hash_class((unsigned char)want[j]);
			diff |= (unsigned char)((a ^ b) | (a == 0));
		}
		ok |= diff == 0;
	}
	return ok;
}

/* An atom's characters (RFC 5322 atext, dots, and UTF-8 bytes): what a
 * local part may hold to be copied into an SRS local part. */
static int
srs_local_ok(const char *s, size_t n)
{
	static const char special[] = "!#$%&'*+-/=?^_`{|}~.";
	unsigned char c;
	size_t i;

	if (n == 0)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c >= 0x80 ||
			(c != '\0' && strchr(special, c) != NULL)))
			return 0;
	}
	return 1;
}

/* A domain's characters: letters, digits, '-', '.', '_' and UTF-8
 * bytes; nothing that separates SRS fields or ends an address. */
static int
srs_domain_ok(const char *s, size_t n)
{
	unsigned char c;
	size_t i;

	if (n == 0 || n > 255)
		return 0;
	for (i = 0; i < n; i++) {
		c = (unsigned char)s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c >= 0x80 || c == '-' ||
			c == '.' || c == '_'))
			return 0;
	}
	return 1;
}

static int
srs_ascii_caseeq(const char *a, const char *b)
{
	for (; *a != '\0' && *b != '\0'; a++, b++)
		if (srs_lower((unsigned char)*a) !=
		    srs_lower((unsigned char)*b))
			return 0;
	return *a == *b;
}

int
srs_forward(const struct srs_key *k, const char *sender, const char *fwd_domain,
    time_t now, char *out, size_t outlen)
{
	char local[SRS_ADDR_MAX], stamp[SRS_STAMP_LEN + 1];
	char hash[SRS_HASH_LEN + 1], *host1, *rest;
	const char *at, *domain, *fields[3];
	size_t llen;
	long long days;
	int n;

	if (k == NULL || k->n < 1 || outlen == 0)
		return -1;
	out[0] = '\0';
	/* "This is allowed to be a plain domain", or an address */
	if ((at = strrchr(fwd_domain, '@')) != NULL)
		fwd_domain = at + 1;
	if ((at = strrchr(sender, '@')) == NULL)
		return -1;
	domain = at + 1;
	llen = (size_t)(at - sender);
	if (llen >= sizeof(local) || !srs_local_ok(sender, llen) ||
	    !srs_domain_ok(domain, strlen(domain)) ||
	    !srs_domain_ok(fwd_domain, strlen(fwd_domain)))
		return -1;
	if (srs_ascii_caseeq(domain, fwd_domain)) {
		n = snprintf(out, outlen, "%s", sender);
		goto done;
	}
	memcpy(local, sender, llen);
	local[llen] = '\0';
	hash[SRS_HASH_LEN] = '\0';
	if (srs_is_srs(local) && local[3] == '1') {
		/* SRS1 again: the first forwarder and its part stay, our
		 * hash replaces the last forwarder's */
		if ((host1 = strchr(local + 5, '=')) == NULL)
			return -1;
		host1++;
		if ((rest = strchr(host1, '=')) == NULL || rest == host1 ||
		    rest[1] == '\0')
			return -1;
		*rest++ = '\0';
		if (!srs_domain_ok(host1, strlen(host1)))
			return -1;
		fields[0] = host1;
		fields[1] = rest;
		if (srs_hash(k, 0, fields, 2, hash) == -1)
			return -1;
		n = snprintf(out, outlen, "SRS1=%s=%s=%s@%s", hash, host1, rest,
		    fwd_domain);
	} else if (srs_is_srs(local)) {
		/* SRS0 of another forwarder: SRS1 naming it, its local part
		 * from the separator on */
		fields[0] = domain;
		fields[1] = local + 4;
		if (srs_hash(k, 0, fields, 2, hash) == -1)
			return -1;
		n = snprintf(out, outlen, "SRS1=%s=%s=%s@%s", hash, domain,
		    local + 4, fwd_domain);
	} else {
		days = (long long)(now < 0 ? 0 : now) / SRS_DAY;
		stamp[0] = srs_b32[(days >> 5) & 31];
		stamp[1] = srs_b32[days & 31];
		stamp[2] = '\0';
		fields[0] = stamp;
		fields[1] = domain;
		fields[2] = local;
		if (srs_hash(k, 0, fields, 3, hash) == -1)
			return -1;
		n = snprintf(out, outlen, "SRS0=%s=%s=%s=%s@%s", hash, stamp,
		    domain, local, fwd_domain);
	}
	/* the local part of what we made: up to its last '@' */
	if (n > 0 && (size_t)n < outlen &&
	    (size_t)(strrchr(out, '@') - out) > SRS_LOCAL_MAX)
		n = -1;
done:
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return -1;
	}
	return 0;
}

/* The value of a stamp character, either case; -1 if none. */
static int
srs_b32_val(int c)
{
	c = c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c;
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= '2' && c <= '7')
		return c - '2' + 26;
	return -1;
}

/* libsrs2's check: the stamp's day, taken as the latest one not after
 * today with those 10 bits, is at most max_age days ago. */
static int
srs_stamp_fresh(const char *stamp, time_t now, int max_age)
{
	long long today, then;
	int hi = srs_b32_val((unsigned char)stamp[0]);
	int lo = srs_b32_val((unsigned char)stamp[1]);

	then = (long long)hi << 5 | lo;
	today = (long long)(now < 0 ? 0 : now) / SRS_DAY % SRS_STAMP_SLOTS;
	while (today < then)
		today += SRS_STAMP_SLOTS;
	return today <= then + max_age;
}

/* Splits s at its next '=': the field before it ends there. NULL when
 * there is none, or the field is empty. */
static char *
srs_cut(char *s)
{
	char *e;

	if ((e = strchr(s, '=')) == NULL || e == s)
		return NULL;
	*e = '\0';
	return e + 1;
}

int
srs_reverse(const struct srs_key *k, const char *addr, time_t now,
    int max_age_days, char *out, size_t outlen)
{
	char local[SRS_ADDR_MAX + 1], *hash, *stamp, *host, *user;
	const char *fields[3], *at;
	size_t llen, alen;
	int n;

	if (outlen > 0)
		out[0] = '\0';
	if (!srs_is_srs(addr))
		return SRS_NOT;
	if (k == NULL || k->n < 1 || max_age_days < 0)
		return SRS_BAD;
	alen = strlen(addr);
	if (alen > SRS_ADDR_MAX || outlen < alen + 1)
		return SRS_BAD;
	/* the domain is ours, whichever: only the local part counts */
	at = strrchr(addr, '@');
	llen = at != NULL ? (size_t)(at - addr) : alen;
	memcpy(local, addr, llen);
	local[llen] = '\0';
	if (memchr(local, '@', llen) != NULL)
		return SRS_BAD;
	hash = local + 5;
	if (local[3] == '1') {
		/* SRS1=HHHH=first-forwarder=REST: REST is the first
		 * forwarder's local part after "SRS0" */
		if ((host = srs_cut(hash)) == NULL ||
		    (user = srs_cut(host)) == NULL || *user == '\0' ||
		    strlen(hash) != SRS_HASH_LEN ||
		    !srs_domain_ok(host, strlen(host)))
			return SRS_BAD;
		fields[0] = host;
		fields[1] = user;
		if (!srs_hash_ok(k, hash, fields, 2))
			return SRS_BAD;
		n = snprintf(out, outlen, "SRS0%s@%s", user, host);
	} else {
		if ((stamp = srs_cut(hash)) == NULL ||
		    (host = srs_cut(stamp)) == NULL ||
		    (user = srs_cut(host)) == NULL || *user == '\0' ||
		    strlen(hash) != SRS_HASH_LEN ||
		    strlen(stamp) != SRS_STAMP_LEN ||
		    srs_b32_val((unsigned char)stamp[0]) == -1 ||
		    srs_b32_val((unsigned char)stamp[1]) == -1 ||
		    !srs_domain_ok(host, strlen(host)))
			return SRS_BAD;
		fields[0] = stamp;
		fields[1] = host;
		fields[2] = user;
		/* the hash first: a forgery is told as one, whatever its
		 * stamp says */
		if (!srs_hash_ok(k, hash, fields, 3))
			return SRS_BAD;
		if (!srs_stamp_fresh(stamp, now, max_age_days))
			return SRS_EXPIRED;
		n = snprintf(out, outlen, "%s@%s", user, host);
	}
	if (n < 0 || (size_t)n >= outlen) {
		out[0] = '\0';
		return SRS_BAD;
	}
	return 0;
}

int
srs_key_from_string(struct srs_key *k, const char *secret)
{
	size_t n = strlen(secret);

	memset(k, 0, sizeof(*k));
	if (n == 0 || n > SRS_SECRET_MAX)
		return -1;
	memcpy(k->secret[0], secret, n);
	k->len[0] = n;
	k->n = 1;
	return 0;
}

/* The file's lines into k; -1 with why in err. */
static int
srs_key_parse(struct srs_key *k, const char *buf, size_t len, char *err,
    size_t errlen)
{
	size_t a = 0, z, e;

	memset(k, 0, sizeof(*k));
	while (a < len) {
		for (z = a; z < len && buf[z] != '\n'; z++)
			;
		e = z;
		while (e > a && (buf[e - 1] == '\r' || buf[e - 1] == ' ' ||
				    buf[e - 1] == '\t'))
			e--;
		if (e > a) {
			if (memchr(buf + a, '\0', e - a) != NULL) {
				snprintf(err, errlen, "a NUL byte in a line");
				return -1;
			}
			if (e - a > SRS_SECRET_MAX || k->n == SRS_SECRETS_MAX) {
				snprintf(err, errlen,
				    "more than %d secrets, or one of more than %d bytes",
				    SRS_SECRETS_MAX, SRS_SECRET_MAX);
				return -1;
			}
			memcpy(k->secret[k->n], buf + a, e - a);
			k->len[k->n++] = e - a;
		}
		a = z + 1;
	}
	if (k->n == 0) {
		snprintf(err, errlen, "no secret in it");
		return -1;
	}
	return 0;
}

int
srs_key_load(const char *path, struct srs_key *k, char *err, size_t errlen)
{
	char buf[SRS_FILE_MAX + 1];
	struct stat st;
	ssize_t n;
	size_t len = 0;
	int fd, rc = -1;

	memset(k, 0, sizeof(*k));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		snprintf(err, errlen, "SRS secret %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "SRS secret %s: not a file", path);
		goto out;
	}
	if ((st.st_mode & 077) != 0) {
		snprintf(err, errlen,
		    "SRS secret %s is readable by others: chmod 600 it", path);
		goto out;
	}
	while (len < sizeof(buf) &&
	       (n = read(fd, buf + len, sizeof(buf) - len)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "SRS secret %s: %s", path,
			    strerror(errno));
			goto out;
		}
		len += (size_t)n;
	}
	if (len > SRS_FILE_MAX) {
		snprintf(err, errlen, "SRS secret %s: longer than %d bytes",
		    path, SRS_FILE_MAX);
		goto out;
	}
	if (srs_key_parse(k, buf, len, err, errlen) == -1) {
		char why[128];

		snprintf(why, sizeof(why), "%s", err);
		snprintf(err, errlen, "SRS secret %s: %s", path, why);
		memset(k, 0, sizeof(*k));
		goto out;
	}
	rc = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	close(fd);
	return rc;
}

int
srs_key_generate(const char *path)
{
	unsigned char raw[24];
	char text[BASE64_ENCODED_LEN(sizeof(raw)) + 1], dir[4096];
	size_t n;
	int fd, dfd, rc = -1, saved;

	if (RAND_bytes(raw, sizeof(raw)) != 1) {
		errno = EIO;
		return -1;
	}
	n = base64_encode(text, raw, sizeof(raw));
	text[n++] = '\n';
	if ((fd = open(path,
		 O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600)) ==
	    -1)
		goto out;
	if (fchmod(fd, 0600) == 0 && write(fd, text, n) == (ssize_t)n &&
	    fsync(fd) == 0)
		rc = 0;
	saved = errno;
	close(fd);
	if (rc == -1) {
		unlink(path);
		errno = saved;
	} else if (snprintf(dir, sizeof(dir), "%s", path) < (int)sizeof(dir) &&
		   (dfd = open(dirname(dir),
			O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		/* the name, too, survives a crash */
		fsync(dfd);
		close(dfd);
	}
out:
	OPENSSL_cleanse(raw, sizeof(raw));
	OPENSSL_cleanse(text, sizeof(text));
	return rc;
}

int
srs_key_ensure(const char *path, struct srs_key *k, char *err, size_t errlen)
{
	struct stat st;

	if (lstat(path, &st) == -1 && errno == ENOENT &&
	    srs_key_generate(path) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "SRS secret %s: cannot create: %s", path,
		    strerror(errno));
		return -1;
	}
	return srs_key_load(path, k, err, errlen);
}
