/* dictproto: see dictproto.h. Every field is bounded by the line, which
 * the caller bounds (DICTP_LINE_MAX); numbers are plain decimals. */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "dictproto.h"

/* Undo Dovecot's str_tabescape() in place; -1 on a NUL or a bad escape. */
static int
dictp_unescape(char *s)
{
	char *r = s, *w = s;

	while (*r) {
		if (*r != '\001') {
			*w++ = *r++;
			continue;
		}
		switch (r[1]) {
		case '1':
			*w++ = '\001';
			break;
		case 't':
			*w++ = '\t';
			break;
		case 'r':
			*w++ = '\r';
			break;
		case 'n':
			*w++ = '\n';
			break;
		default: /* \0010 is a NUL: never in a key or a name */
			return -1;
		}
		r += 2;
	}
	*w = '\0';
	return 0;
}

/* An unsigned decimal of at most 10 digits within max: 0 or -1. */
static int
dictp_uint(const char *s, unsigned int max, unsigned int *out)
{
	uint64_t n = 0;
	size_t i, len = strlen(s);

	if (len == 0 || len > 10)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (uint64_t)(s[i] - '0');
	}
	if (n > max)
		return -1;
	*out = (unsigned int)n;
	return 0;
}

int
dictp_number(const char *s, int64_t *out)
{
	int neg = *s == '-';
	int64_t n = 0;
	size_t i, len;

	s += neg;
	len = strlen(s);
	if (len == 0 || len > 18)
		return -1;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	*out = neg ? -n : n;
	return 0;
}

/* fields after the command letter, and how many each command takes */
static const struct {
	int cmd;
	size_t min, max;
} dictp_arity[] = {
	{ DICTP_HELLO, 5, 5 },
	{ DICTP_LOOKUP, 1, 2 },
	{ DICTP_ITERATE, 3, 4 },
	{ DICTP_BEGIN, 1, 2 },
	{ DICTP_COMMIT, 1, 1 },
	{ DICTP_COMMIT_ASYNC, 1, 1 },
	{ DICTP_ROLLBACK, 1, 1 },
	{ DICTP_SET, 3, 3 },
	{ DICTP_UNSET, 2, 2 },
	{ DICTP_INC, 3, 3 },
	{ DICTP_TIMESTAMP, 3, 3 },
};

int
dictp_parse(char *line, size_t len, struct dictp_req *r)
{
	char *f[DICTP_FIELDS_MAX], *p;
	size_t nf = 0, i;
	unsigned int vt;

	memset(r, 0, sizeof(*r));
	r->user = "";
	if (len == 0 || len > DICTP_LINE_MAX || strlen(line) != len)
		return -1;
	for (i = 0; i < sizeof(dictp_arity) / sizeof(dictp_arity[0]); i++)
		if (dictp_arity[i].cmd == line[0])
			break;
	if (i == sizeof(dictp_arity) / sizeof(dictp_arity[0]))
		return -1;
	r->cmd = line[0];
	for (p = line + 1;;) {
		char *tab = strchr(p, '\t');
		if (nf == DICTP_FIELDS_MAX)
			return -1;
		f[nf++] = p;
		if (tab == NULL)
			break;
		*tab = '\0';
		p = tab + 1;
	}
	if (nf < dictp_arity[i].min || nf > dictp_arity[i].max)
		return -1;
	for (i = 0; i < nf; i++)
		if (dictp_unescape(f[i]) == -1)
			return -1;
	switch (r->cmd) {
	case DICTP_HELLO:
		if (dictp_uint(f[0], 1000, &r->major) == -1 || r->major != 3 ||
		    dictp_uint(f[1], 1000, &r->minor) == -1 ||
		    dictp_uint(f[2], 1000, &vt) == -1)
			return -1;
		r->user = f[3];
		r->name = f[4];
		return 0;
	case DICTP_LOOKUP:
		r->key = f[0];
		if (nf > 1)
			r->user = f[1];
		return 0;
	case DICTP_ITERATE:
		r->key = f[2];
		if (nf > 3)
			r->user = f[3];
		return 0;
	}
	/* the rest name a transaction first */
	if (dictp_uint(f[0], UINT_MAX, &r->id) == -1)
		return -1;
	switch (r->cmd) {
	case DICTP_BEGIN:
		if (nf > 1)
			r->user = f[1];
		break;
	case DICTP_SET:
		r->key = f[1];
		r->value = f[2];
		break;
	case DICTP_UNSET:
		r->key = f[1];
		break;
	case DICTP_INC:
		r->key = f[1];
		if (dictp_number(f[2], &r->diff) == -1)
			return -1;
		break;
	case DICTP_TIMESTAMP:
		if (dictp_number(f[1], &r->diff) == -1 ||
		    dictp_uint(f[2], 999999999, &vt) == -1)
			return -1;
		r->diff = 0;
		break;
	}
	return 0;
}

long
dictp_escape(char *dst, size_t dstlen, const char *src)
{
	size_t n = 0;

	for (; *src; src++) {
		char e = *src == '\001' ? '1'
			 : *src == '\t' ? 't'
			 : *src == '\r' ? 'r'
			 : *src == '\n' ? 'n'
					: 0;
		if (n + (e ? 2 : 1) >= dstlen)
			return -1;
		if (e) {
			dst[n++] = '\001';
			dst[n++] = e;
		} else {
			dst[n++] = *src;
		}
	}
	if (n >= dstlen)
		return -1;
	dst[n] = '\0';
	return (long)n;
}

enum dictp_key
dictp_key(const char *key, const char **user)
{
	static const char userdb[] = "shared/userdb/";

	if (strncmp(key, userdb, sizeof(userdb) - 1) == 0 &&
	    key[sizeof(userdb) - 1] != '\0') {
		*user = key + sizeof(userdb) - 1;
		return DICTP_KEY_USERDB;
	}
	if (strcmp(key, "priv/quota/storage") == 0)
		return DICTP_KEY_QUOTA_BYTES;
	if (strcmp(key, "priv/quota/messages") == 0)
		return DICTP_KEY_QUOTA_MESSAGES;
	return DICTP_KEY_OTHER;
}
