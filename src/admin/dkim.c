/*
 * admin/dkim: a domain's DKIM keys and the DNS records to publish. Every
 * name of a domain (the domain and each alias) has its own keys, so the
 * signature's d= can always be the From: domain (DMARC alignment).
 * Keys live in DATA_DIR/dkim/NAME/SELECTOR.pem, mode 0600.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <sodium.h>

#include "admin.h"
#include "../delivery/resolve.h"
#include "../dkim/dkim.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/str.h"

#define DKIM_ROTATE_OVERLAP (7 * 86400) /* old keys stay published */

int
admin_dkim_mode_ok(const char *mode)
{
	return strcmp(mode, "rsa") == 0 || strcmp(mode, "ed25519") == 0 ||
	       strcmp(mode, "dual") == 0;
}

/* New keys for one name, as the domain's mode says. */
int
admin_dkim_make(struct admin_ctx *ctx, const char *name, const char *mode,
    json_t *made, struct admin_err *err)
{
	char dir[CONF_PATH_MAX + 300], path[CONF_PATH_MAX + 400];
	char selector[32];
	unsigned char r[2];
	int i;
	static const struct {
		const char *name;
		enum dkim_alg alg;
		char letter;
	} algs[] = { { "rsa", DKIM_RSA, 'r' },
		{ "ed25519", DKIM_ED25519, 'e' } };

	snprintf(dir, sizeof(dir), "%s/dkim", ctx->conf->data_dir);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return admin_fail(err, 500, "%s: %s", dir, strerror(errno));
	snprintf(dir, sizeof(dir), "%s/dkim/%s", ctx->conf->data_dir, name);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return admin_fail(err, 500, "%s: %s", dir, strerror(errno));
	randombytes_buf(r, sizeof(r));
	for (i = 0; i < 2; i++) {
		if (strcmp(mode, "dual") != 0 &&
		    strcmp(mode, algs[i].name) != 0)
			continue;
		/* the time orders selectors; two random bytes keep two
		 * rotations in one second apart */
		snprintf(selector, sizeof(selector), "p%llx%02x%02x%c",
		    (unsigned long long)time(NULL), r[0], r[1], algs[i].letter);
		snprintf(path, sizeof(path), "%s/%s.pem", dir, selector);
		if (dkim_key_generate(path, algs[i].alg) == -1)
			return admin_fail(err, 500,
			    "cannot make a DKIM key at %s", path);
		if (store_dkim_add(ctx->store, name, selector, algs[i].name,
			path, (int64_t)time(NULL)) != 0) {
			remove(path);
			return admin_store_fail(ctx, err);
		}
		if (made)
			json_array_append_new(made,
			    json_pack("{s:s,s:s,s:s}", "name", name, "selector",
				selector, "alg", algs[i].name));
	}
	return 0;
}

/* The TXT value as a zone file wants it: strings of at most 255. */
static json_t *
admin_txt_strings(const char *v)
{
	json_t *a = json_array();
	size_t n = strlen(v), i;

	for (i = 0; i < n; i += 255)
		json_array_append_new(a,
		    json_stringn(v + i, n - i > 255 ? 255 : n - i));
	return a;
}

static void
admin_record(json_t *list, const char *name, const char *type,
    const char *value, const char *why)
{
	json_array_append_new(list,
	    json_pack("{s:s,s:s,s:s,s:o,s:s}", "name", name, "type", type,
		"value", value, "strings", admin_txt_strings(value), "why",
		why));
}

/* Is this server among name's MX hosts? Each host found into seen. */
static const char *
admin_mx_status(struct admin_ctx *ctx, const char *name, json_t *seen)
{
	struct resolve_result *res = calloc(1, sizeof(*res));
	const char *status = "missing";
	char line[300];
	int i;

	if (res == NULL)
		return "dns error";
	if (resolve_mx_sync(ctx->conf->dns_servers, name, res) == -1 ||
	    res->status == RESOLVE_TEMPFAIL) {
		free(res);
		return "dns error";
	}
	for (i = 0; res->status == RESOLVE_OK && i < res->nhosts; i++) {
		snprintf(line, sizeof(line), "%d %s.", res->hosts[i].pref,
		    res->hosts[i].name);
		json_array_append_new(seen, json_string(line));
		if (strcasecmp(res->hosts[i].name, ctx->conf->hostname) == 0)
			status = "ok";
		else if (strcmp(status, "ok") != 0)
			status = "different";
	}
	free(res);
	return status;
}

/* Every record a domain needs; shared by `dns` and `check`. */
static json_t *
admin_dns_records(struct admin_ctx *ctx, const struct store_domain *d,
    struct admin_err *err)
{
	struct store_dkim_rows keys;
	struct store_name_rows names;
	json_t *recs;
	char fqdn[600], txt[DKIM_TXT_MAX], val[600];
	size_t i;

	if (store_dkim_published(ctx->store, d->id, (int64_t)time(NULL),
		&keys) != 0) {
		admin_store_fail(ctx, err);
		return NULL;
	}
	if (store_domain_names(ctx->store, d->id, &names) != 0) {
		store_dkim_rows_free(&keys);
		admin_store_fail(ctx, err);
		return NULL;
	}
	recs = json_array();
	for (i = 0; i < keys.n; i++) {
		const struct store_dkim_row *k = &keys.v[i];
		snprintf(fqdn, sizeof(fqdn), "%s._domainkey.%s", k->selector,
		    k->name);
		if (dkim_dns_txt(k->path,
			strcmp(k->alg, "rsa") == 0 ? DKIM_RSA : DKIM_ED25519,
			txt, sizeof(txt)) == -1)
			continue;
		admin_record(recs, fqdn, "TXT", txt,
		    k->retired == 0
			? "DKIM key that signs now"
			: "DKIM key retired by rotation: keep it until the date below");
		if (k->publish_until != 0)
			json_object_set_new(
			    json_array_get(recs, json_array_size(recs) - 1),
			    "until", json_integer(k->publish_until));
	}
	for (i = 0; i < names.n; i++) {
		const char *name = names.v[i].name;
		snprintf(val, sizeof(val), "v=spf1 a:%s -all",
		    ctx->conf->hostname);
		admin_record(recs, name, "TXT", val,
		    "SPF: this server sends for the domain");
		snprintf(fqdn, sizeof(fqdn), "_dmarc.%s", name);
		snprintf(val, sizeof(val),
		    "v=DMARC1; p=quarantine; adkim=r; aspf=r; rua=mailto:postmaster@%s",
		    name);
		admin_record(recs, fqdn, "TXT", val,
		    "DMARC: receivers check SPF and DKIM alignment");
		/* with mailboxes here, this server is the domain's MX */
		if (ctx->conf->mailbox_lmtp[0] != '\0') {
			snprintf(val, sizeof(val), "10 %s.",
			    ctx->conf->hostname);
			admin_record(recs, name, "MX", val,
			    "MX: this server receives the domain's mail");
		}
	}
	store_dkim_rows_free(&keys);
	store_name_rows_free(&names);
	return recs;
}

int
admin_domain_dns(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *name = admin_need(args, "domain", err);
	struct store_domain d;
	json_t *recs;

	if (name == NULL || admin_find_domain(ctx, name, &d, err) == -1)
		return -1;
	if ((recs = admin_dns_records(ctx, &d, err)) == NULL)
		return -1;
	*out = json_pack("{s:s,s:o}", "domain", d.name, "records", recs);
	return 0;
}

int
admin_domain_dkim_rotate(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *name = admin_need(args, "domain", err);
	char mode[16] = "rsa";
	struct store_domain d;
	struct store_name_rows names;
	json_t *made;
	int64_t now = (int64_t)time(NULL), until = now + DKIM_ROTATE_OVERLAP;
	size_t i;

	if (name == NULL || admin_find_domain(ctx, name, &d, err) == -1)
		return -1;
	if (store_domain_dkim_mode(ctx->store, d.id, mode, sizeof(mode)) != 0 ||
	    store_domain_names(ctx->store, d.id, &names) != 0)
		return admin_store_fail(ctx, err);
	made = json_array();
	for (i = 0; i < names.n; i++) {
		const char *nm = names.v[i].name;
		if (store_dkim_retire(ctx->store, nm, now, until) != 0 ||
		    admin_dkim_make(ctx, nm, mode, made, err) == -1) {
			store_name_rows_free(&names);
			json_decref(made);
			return err->status ? -1 : admin_store_fail(ctx, err);
		}
	}
	store_name_rows_free(&names);
	*out = json_pack("{s:s,s:o,s:I,s:s}", "domain", d.name, "new_keys",
	    made, "old_published_until", (json_int_t)until, "next",
	    "publish the new records (postern domain dns), keep the old ones until the date above");
	return 0;
}

/* Compare TXT values ignoring spaces around ';' and case of tags. */
static int
admin_txt_same(const char *a, const char *b)
{
	for (;;) {
		while (*a == ' ' || *a == '\t')
			a++;
		while (*b == ' ' || *b == '\t')
			b++;
		if (*a == '\0' || *b == '\0')
			return *a == *b;
		if (*a != *b)
			return 0;
		a++;
		b++;
	}
}

int
admin_domain_check(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *name = admin_need(args, "domain", err);
	struct store_domain d;
	json_t *recs, *r, *res = json_array();
	char found[8][1024];
	size_t i;
	int bad = 0;

	if (name == NULL || admin_find_domain(ctx, name, &d, err) == -1 ||
	    (recs = admin_dns_records(ctx, &d, err)) == NULL) {
		json_decref(res);
		return -1;
	}
	json_array_foreach (recs, i, r) {
		const char *rn = json_string_value(json_object_get(r, "name"));
		const char *want =
		    json_string_value(json_object_get(r, "value"));
		const char *type =
		    json_string_value(json_object_get(r, "type"));
		const char *status = "missing", *kind;
		json_t *seen = json_array();
		int n, j;

		if (type != NULL && strcmp(type, "MX") == 0) {
			status = admin_mx_status(ctx, rn, seen);
			if (strcmp(status, "ok") != 0)
				bad++;
			json_array_append_new(res,
			    json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", rn,
				"status", status, "want", want, "why",
				json_string_value(json_object_get(r, "why")),
				"found", seen));
			continue;
		}
		/* the kind of record: the part of the value that must match */
		kind = strncmp(want, "v=spf1", 6) == 0	   ? "v=spf1"
		       : strncmp(want, "v=DMARC1", 8) == 0 ? "v=DMARC1"
							   : "v=DKIM1";
		n = resolve_txt_sync(ctx->conf->dns_servers, rn, found, 8);
		if (n < 0)
			status = "dns error";
		for (j = 0; j < n; j++) {
			if (strncmp(found[j], kind, strlen(kind)) != 0)
				continue;
			json_array_append_new(seen, json_string(found[j]));
			if (admin_txt_same(found[j], want))
				status = "ok";
			else if (strcmp(status, "ok") != 0)
				status = "different";
		}
		if (strcmp(status, "ok") != 0)
			bad++;
		json_array_append_new(res,
		    json_pack("{s:s,s:s,s:s,s:s,s:o}", "name", rn, "status",
			status, "want", want, "why",
			json_string_value(json_object_get(r, "why")), "found",
			seen));
	}
	json_decref(recs);
	*out = json_pack("{s:s,s:o,s:s}", "domain", d.name, "checks", res,
	    "summary",
	    bad ? "some records are missing or different: publish what `postern domain dns` prints"
		: "every record is published");
	return 0;
}
