/*
 * str: string, number and small-file helpers shared by every floor.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "str.h"

size_t
str_lcpy(char *dst, const char *src, size_t size)
{
	size_t len = strlen(src);

	if (size > 0) {
		size_t n = len >= size ? size - 1 : len;
		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}

/*
 * Text stored by people (a block reason) may hold what a reply must not:
 * CR LF would start a reply line of its own, 8-bit bytes are not SMTP.
 */
const char *
str_printable(char *dst, size_t size, const char *src)
{
	size_t i;

	if (size == 0)
		return dst;
	for (i = 0; src != NULL && src[i] != '\0' && i + 1 < size; i++)
		dst[i] = (unsigned char)src[i] >= 0x20 &&
				 (unsigned char)src[i] < 0x7f
			     ? src[i]
			     : '?';
	dst[i] = '\0';
	return dst;
}

uint64_t
str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

void
str_ascii_lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

static int64_t
str_scaled(const char *s, const char *units, const int64_t *mult)
{
	int64_t v = 0;
	const char *p = s, *u;

	if (!isdigit((unsigned char)*p))
		return -1;
	for (; isdigit((unsigned char)*p); p++) {
		if (v > (INT64_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	if (*p == '\0')
		return v;
	if (p[1] != '\0' || (u = strchr(units, *p)) == NULL)
		return -1;
	if (v > INT64_MAX / mult[u - units])
		return -1;
	return v * mult[u - units];
}

int64_t
str_duration(const char *s)
{
	static const int64_t m[] = { 1, 60, 3600, 86400, 604800 };
	return str_scaled(s, "smhdw", m);
}

int64_t
str_size(const char *s)
{
	static const int64_t m[] = { 1024, 1024, 1048576, 1048576, 1073741824,
		1073741824 };
	return str_scaled(s, "kKmMgG", m);
}

int64_t
str_uint(const char *s)
{
	static const int64_t m[] = { 1 };
	return str_scaled(s, "", m);
}

/* n digits at *p, within lo..hi; -1 otherwise. */
static int
str_digits(const char **p, int n, int lo, int hi)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return v < lo || v > hi ? -1 : v;
}

int64_t
str_time(const char *s, int64_t now)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30,
		31 };
	const char *p = s;
	struct tm tm;
	int64_t d;

	if (strspn(s, "0123456789") == strlen(s))
		return str_uint(s);
	if ((d = str_duration(s)) >= 0)
		return d > now ? 0 : now - d;
	memset(&tm, 0, sizeof(tm));
	if ((tm.tm_year = str_digits(&p, 4, 1970, 9999)) < 0 || *p++ != '-' ||
	    (tm.tm_mon = str_digits(&p, 2, 1, 12)) < 0 || *p++ != '-' ||
	    (tm.tm_mday = str_digits(&p, 2, 1, mdays[tm.tm_mon - 1])) < 0)
		return -1;
	if (tm.tm_mon == 2 && tm.tm_mday == 29 &&
	    !(tm.tm_year % 4 == 0 &&
		(tm.tm_year % 100 != 0 || tm.tm_year % 400 == 0)))
		return -1; /* not a leap year */
	if (*p == 'T' || *p == ' ') {
		p++;
		if ((tm.tm_hour = str_digits(&p, 2, 0, 23)) < 0 ||
		    *p++ != ':' || (tm.tm_min = str_digits(&p, 2, 0, 59)) < 0)
			return -1;
		if (*p == ':') {
			p++;
			if ((tm.tm_sec = str_digits(&p, 2, 0, 59)) < 0)
				return -1;
		}
	}
	if (*p == 'Z')
		p++;
	if (*p != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (int64_t)timegm(&tm);
}

void
str_hex(char *dst, const unsigned char *src, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < len; i++) {
		dst[2 * i] = hex[src[i] >> 4];
		dst[2 * i + 1] = hex[src[i] & 15];
	}
	dst[2 * len] = '\0';
}

int
str_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
str_unhex(unsigned char *dst, size_t dstlen, const char *src)
{
	size_t i;

	if (strlen(src) != 2 * dstlen)
		return -1;
	for (i = 0; i < dstlen; i++) {
		int hi = str_hexval(src[2 * i]),
		    lo = str_hexval(src[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		dst[i] = (unsigned char)(hi << 4 | lo);
	}
	return 0;
}

char *
str_read_file(const char *path, size_t max, size_t *lenp)
{
	struct stat st;
	char *buf;
	size_t len = 0, cap;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return NULL;
	/* sized by the file, not by the limit: the limit may be large */
	if (fstat(fd, &st) == -1) {
		close(fd);
		return NULL;
	}
	if ((size_t)st.st_size > max) {
		close(fd);
		errno = EFBIG;
		return NULL;
	}
	cap = (size_t)st.st_size + 1;
	if ((buf = malloc(cap)) == NULL) {
		close(fd);
		return NULL;
	}
	for (;;) {
		if (len + 1 >= cap) { /* it grew since fstat */
			char *nb;
			if (cap > max) {
				free(buf);
				close(fd);
				errno = EFBIG;
				return NULL;
			}
			if ((nb = realloc(buf, cap * 2)) == NULL) {
				free(buf);
				close(fd);
				return NULL;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			free(buf);
			close(fd);
			return NULL;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	if (len > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[len] = '\0';
	if (lenp)
		*lenp = len;
	return buf;
}

char *
str_read_stdin(size_t max)
{
	char *buf = malloc(max + 1);
	size_t len = 0;
	ssize_t n;

	if (buf == NULL)
		return NULL;
	while (len <= max &&
	       (n = read(STDIN_FILENO, buf + len, max + 1 - len)) > 0)
		len += (size_t)n;
	if (len > max) {
		free(buf);
		errno = EFBIG;
		return NULL;
	}
	buf[len] = '\0';
	if (len > 0 && buf[len - 1] == '\n')
		buf[--len] = '\0';
	if (len > 0 && buf[len - 1] == '\r')
		buf[--len] = '\0';
	return buf;
}

int
str_ascii_ieq(const char *a, const char *b, size_t n)
{
	size_t i;
	unsigned char x, y;

	for (i = 0; i < n; i++) {
		x = (unsigned char)a[i];
		y = (unsigned char)b[i];
		if (x >= 'A' && x <= 'Z')
			x = (unsigned char)(x - 'A' + 'a');
		if (y >= 'A' && y <= 'Z')
			y = (unsigned char)(y - 'A' + 'a');
		if (x != y)
			return 0;
	}
	return 1;
}

int
str_write_file(const char *path, const void *data, size_t len, int mode)
{
	char tmp[4096];
	int fd, rc = -1;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmp%ld", path,
		(long)getpid()) >= sizeof(tmp))
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL, mode)) == -1)
		return -1;
	if (fchmod(fd, mode) == 0 && write(fd, data, len) == (ssize_t)len &&
	    fsync(fd) == 0)
		rc = 0;
	close(fd);
	if (rc == 0 && rename(tmp, path) == -1)
		rc = -1;
	if (rc == -1)
		unlink(tmp);
	return rc;
}
