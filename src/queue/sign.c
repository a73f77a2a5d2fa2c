/*
 * sign: which keys sign a message. The signing domain is the domain of
 * the From: header (DMARC alignment); every live key of that name signs
 * (RSA, Ed25519, or both). A From: domain with no key of ours goes out
 * unsigned, as a relayed customer's mail may.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "qmgr.h"
#include "../dkim/dkim.h"
#include "../mail/addr.h"
#include "../mail/header.h"
#include "../store/store.h"
#include "../util/buf.h"
#include "../util/log.h"

/* Parsed keys, per worker thread: a PEM parse per message is wasted. */
#define SIGN_CACHE 16
static __thread struct {
	char path[1024];
	struct dkim_key *key;
} sign_cache[SIGN_CACHE];
static __thread int sign_cache_next;

static struct dkim_key *
sign_key(const char *path, enum dkim_alg alg, const char *domain,
    const char *selector)
{
	struct dkim_key *k;
	int i;

	for (i = 0; i < SIGN_CACHE; i++)
		if (sign_cache[i].key && strcmp(sign_cache[i].path, path) == 0)
			return sign_cache[i].key;
	if ((k = dkim_key_load(path, alg, domain, selector)) == NULL)
		return NULL;
	i = sign_cache_next++ % SIGN_CACHE;
	dkim_key_free(sign_cache[i].key);
	snprintf(sign_cache[i].path, sizeof(sign_cache[i].path), "%s", path);
	sign_cache[i].key = k;
	return k;
}

void
queue_sign_thread_end(void)
{
	int i;

	for (i = 0; i < SIGN_CACHE; i++) {
		dkim_key_free(sign_cache[i].key);
		sign_cache[i].key = NULL;
	}
}

int
queue_sign(struct store *st, const char *data_dir, char **msg, size_t *len)
{
	char addrs[HEADER_FROM_MAX][ADDR_MAX + 1], err[160];
	struct dkim_key *keys[DKIM_MAX_KEYS];
	struct header_info hi;
	struct addr a;
	struct buf out;
	json_t *rows, *r;
	size_t i;
	int n = 0, nk = 0, rc = 0;

	(void)data_dir;
	header_scan(*msg, *len, &hi);
	if (hi.from_count != 1 ||
	    header_addresses(hi.from, hi.from_len, addrs, HEADER_FROM_MAX,
		&n) == -1 ||
	    n < 1 || addr_parse(addrs[0], &a, err, sizeof(err)) == -1)
		return 0;
	if ((rows = store_dkim_signing(st, a.domain)) == NULL)
		return -1;
	json_array_foreach (rows, i, r) {
		const char *alg = json_string_value(json_object_get(r, "alg"));
		struct dkim_key *k;
		if (nk >= DKIM_MAX_KEYS)
			break;
		k = sign_key(json_string_value(json_object_get(r, "path")),
		    strcmp(alg, "rsa") == 0 ? DKIM_RSA : DKIM_ED25519, a.domain,
		    json_string_value(json_object_get(r, "selector")));
		if (k == NULL) {
			log_warnx(
			    "dkim.key domain=%s selector=%s error=\"cannot "
			    "load\"",
			    a.domain,
			    json_string_value(json_object_get(r, "selector")));
			continue;
		}
		keys[nk++] = k;
	}
	json_decref(rows);
	if (nk == 0)
		return 0;
	buf_init(&out, *len + (size_t)nk * DKIM_FIELD_MAX);
	if (dkim_sign(keys, nk, *msg, *len, time(NULL), &out) == -1 ||
	    buf_append(&out, *msg, *len) == -1) {
		buf_free(&out);
		rc = -1;
	} else {
		free(*msg);
		*msg = out.data;
		*len = out.len;
	}
	return rc;
}
