/*
 * cli/init: `postern init --dir DIR --hostname HOST`: a new setup in one
 * step: DIR/postern.conf, DIR/data (0700) with the store, the master key
 * and the SRS secret (0600) and, unless --cert/--key are given, a
 * self-signed ECDSA P-256 certificate for HOST. It never overwrites: an
 * existing setup is left exactly as it was.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "cli.h"
#include "../auth/secret.h"
#include "../forward/srs.h"
#include "../mail/addr.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/str.h"

static int
init_add_ext(X509 *crt, int nid, const char *value)
{
	X509V3_CTX v3;
	X509_EXTENSION *ext;
	int rc;

	X509V3_set_ctx_nodb(&v3);
	X509V3_set_ctx(&v3, crt, crt, NULL, NULL, 0);
	if ((ext = X509V3_EXT_conf_nid(NULL, &v3, nid, value)) == NULL)
		return -1;
	rc = X509_add_ext(crt, ext, -1) ? 0 : -1;
	X509_EXTENSION_free(ext);
	return rc;
}

/* A self-signed certificate so TLS works from the first start. */
static int
init_cert(const char *host, const char *certpath, const char *keypath)
{
	EVP_PKEY *pkey = NULL;
	X509 *crt = NULL;
	X509_NAME *name;
	FILE *f = NULL;
	char san[300];
	int rc = -1;
	mode_t old;

	if ((pkey = EVP_EC_gen("P-256")) == NULL || (crt = X509_new()) == NULL)
		goto out;
	X509_set_version(crt, 2);
	{
		unsigned char serial[16];
		BIGNUM *bn;
		if (RAND_bytes(serial, sizeof(serial)) != 1)
			goto out;
		serial[0] &= 0x7f;
		bn = BN_bin2bn(serial, sizeof(serial), NULL);
		BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(crt));
		BN_free(bn);
	}
	X509_gmtime_adj(X509_getm_notBefore(crt), -3600);
	X509_gmtime_adj(X509_getm_notAfter(crt), 3650L * 86400);
	X509_set_pubkey(crt, pkey);
	name = X509_get_subject_name(crt);
	X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
	    (const unsigned char *)host, -1, -1, 0);
	X509_set_issuer_name(crt, name);
	snprintf(san, sizeof(san), "DNS:%s", host);
	if (init_add_ext(crt, NID_subject_alt_name, san) == -1 ||
	    init_add_ext(crt, NID_basic_constraints, "critical,CA:FALSE") ==
		-1 ||
	    init_add_ext(crt, NID_ext_key_usage, "serverAuth") == -1)
		goto out;
	if (!X509_sign(crt, pkey, EVP_sha256()))
		goto out;
	old = umask(077);
	f = fopen(keypath, "wx");
	umask(old);
	if (f == NULL ||
	    !PEM_write_PrivateKey(f, pkey, NULL, NULL, 0, NULL, NULL))
		goto out;
	if (fclose(f) != 0) {
		f = NULL;
		goto out;
	}
	if ((f = fopen(certpath, "wx")) == NULL || !PEM_write_X509(f, crt))
		goto out;
	rc = fclose(f) == 0 ? 0 : -1;
	f = NULL;
out:
	if (f)
		fclose(f);
	X509_free(crt);
	EVP_PKEY_free(pkey);
	return rc;
}

static int
init_mkdir(const char *path, mode_t mode)
{
	if (mkdir(path, mode) == -1 && errno != EEXIST)
		return -1;
	return 0;
}

int
cli_init(struct cli_global *g, int argc, char **argv)
{
	const char *dir = NULL, *host = NULL, *cert = NULL, *key = NULL;
	char confpath[PATH_MAX + 16], absdir[PATH_MAX], path[PATH_MAX + 16];
	char canon[ADDR_DOMAIN_MAX + 1], why[256];
	struct conf c;
	struct store *st;
	int i;

	(void)g;
	for (i = 0; i < argc; i++) {
		const char **dst = NULL;
		if (strcmp(argv[i], "--dir") == 0)
			dst = &dir;
		else if (strcmp(argv[i], "--hostname") == 0)
			dst = &host;
		else if (strcmp(argv[i], "--cert") == 0)
			dst = &cert;
		else if (strcmp(argv[i], "--key") == 0)
			dst = &key;
		if (dst == NULL || i + 1 >= argc) {
			fprintf(stderr,
			    "usage: postern init --dir DIR --hostname HOST [--cert FILE --key FILE]\n");
			return 2;
		}
		*dst = argv[++i];
	}
	if (dir == NULL || host == NULL || (cert == NULL) != (key == NULL)) {
		fprintf(stderr,
		    "usage: postern init --dir DIR --hostname HOST [--cert FILE --key FILE]\n");
		return 2;
	}
	if (addr_host_canon(host, canon, sizeof(canon), why, sizeof(why)) ==
	    -1) {
		fprintf(stderr, "postern: hostname %s: %s\n", host, why);
		return 1;
	}
	if (init_mkdir(dir, 0755) == -1 || realpath(dir, absdir) == NULL) {
		fprintf(stderr, "postern: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(confpath, sizeof(confpath), "%s/postern.conf", absdir);
	conf_defaults(&c, absdir);
	if (access(confpath, F_OK) == 0 || access(c.store_path, F_OK) == 0 ||
	    access(c.master_key, F_OK) == 0 ||
	    access(c.srs_secret, F_OK) == 0) {
		fprintf(stderr,
		    "postern: %s already holds a postern setup: nothing was changed\n",
		    absdir);
		return 1;
	}
	str_lcpy(c.hostname, canon, sizeof(c.hostname));
	if (cert) {
		if (realpath(cert, path) == NULL || access(path, R_OK) == -1) {
			fprintf(stderr, "postern: %s: %s\n", cert,
			    strerror(errno));
			return 1;
		}
		str_lcpy(c.tls_cert, path, sizeof(c.tls_cert));
		if (realpath(key, path) == NULL) {
			fprintf(stderr, "postern: %s: %s\n", key,
			    strerror(errno));
			return 1;
		}
		str_lcpy(c.tls_key, path, sizeof(c.tls_key));
	}
	if (cert == NULL &&
	    (access(c.tls_cert, F_OK) == 0 || access(c.tls_key, F_OK) == 0)) {
		fprintf(stderr,
		    "postern: %s or %s already exists: move it away, or pass it with --cert and --key\n",
		    c.tls_cert, c.tls_key);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/tls", c.data_dir);
	/* the data folder holds the store and keys: private, even if it
	 * was there before */
	if (init_mkdir(c.data_dir, 0700) == -1 ||
	    chmod(c.data_dir, 0700) == -1 ||
	    (cert == NULL && init_mkdir(path, 0700) == -1)) {
		fprintf(stderr, "postern: %s: %s\n", c.data_dir,
		    strerror(errno));
		return 1;
	}
	if (secret_master_create(c.master_key) == -1) {
		fprintf(stderr, "postern: %s: %s\n", c.master_key,
		    strerror(errno));
		return 1;
	}
	if (srs_key_generate(c.srs_secret) == -1) {
		fprintf(stderr, "postern: %s: %s\n", c.srs_secret,
		    strerror(errno));
		goto undo;
	}
	if ((st = store_open(c.store_driver, c.store_path, why, sizeof(why))) ==
	    NULL) {
		fprintf(stderr, "postern: %s\n", why);
		goto undo;
	}
	store_close(st);
	if (cert == NULL && init_cert(canon, c.tls_cert, c.tls_key) == -1) {
		fprintf(stderr,
		    "postern: cannot write a TLS certificate in %s\n", path);
		goto undo;
	}
	/* the config last: its presence means the setup is complete */
	if (conf_write_default(&c, confpath) == -1) {
		fprintf(stderr, "postern: %s: %s\n", confpath, strerror(errno));
		goto undo;
	}
	printf("postern: new setup in %s\n"
	       "  config:      %s\n"
	       "  store:       %s\n"
	       "  master key:  %s (keep a copy: it seals the SMTP passwords)\n"
	       "  certificate: %s%s\n"
	       "next: postern -c %s domain add example.org\n",
	    absdir, confpath, c.store_path, c.master_key, c.tls_cert,
	    cert ? "" : " (self-signed)", confpath);
	return 0;
undo:
	/* no half setup: the next init must find the folder empty */
	unlink(c.master_key);
	unlink(c.srs_secret);
	unlink(c.store_path);
	snprintf(path, sizeof(path), "%s-wal", c.store_path);
	unlink(path);
	snprintf(path, sizeof(path), "%s-shm", c.store_path);
	unlink(path);
	if (cert == NULL) {
		unlink(c.tls_key);
		unlink(c.tls_cert);
	}
	unlink(confpath);
	return 1;
}
