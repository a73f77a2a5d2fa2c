/*
 * secret: libsodium does the cryptography; this file fixes the choices
 * (alphabet, lengths, key derivation contexts, argon2id costs).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "secret.h"
#include "../util/str.h"

/* No 0/O, 1/l/I: people copy these from a screen. */
static const char secret_alphabet[] =
    "23456789abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ";

int
secret_init(void)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
secret_master_create(const char *path)
{
	unsigned char key[SECRET_KEY_LEN];
	int fd, rc = -1;

	randombytes_buf(key, sizeof(key));
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return -1;
	if (fchmod(fd, 0600) == 0 &&
	    write(fd, key, sizeof(key)) == (ssize_t)sizeof(key) &&
	    fsync(fd) == 0)
		rc = 0;
	close(fd);
	sodium_memzero(key, sizeof(key));
	return rc;
}

int
secret_master_load(const char *path, struct secret_keys *k, char *err,
    size_t errlen)
{
	unsigned char master[SECRET_KEY_LEN + 1];
	struct stat st;
	ssize_t n;
	int fd;

	if ((fd = open(path, O_RDONLY)) == -1) {
		snprintf(err, errlen, "master key %s: %s", path,
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == 0 && (st.st_mode & 077) != 0) {
		close(fd);
		snprintf(err, errlen,
		    "master key %s is readable by others: chmod 600 it", path);
		return -1;
	}
	n = read(fd, master, sizeof(master));
	close(fd);
	if (n != SECRET_KEY_LEN) {
		snprintf(err, errlen, "master key %s: not a %d-byte key", path,
		    SECRET_KEY_LEN);
		return -1;
	}
	crypto_kdf_derive_from_key(k->hash_key, sizeof(k->hash_key), 1,
	    "pstnhash", master);
	crypto_kdf_derive_from_key(k->seal_key, sizeof(k->seal_key), 2,
	    "pstnseal", master);
	sodium_memzero(master, sizeof(master));
	return 0;
}

void
secret_generate(char *out, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		out[i] = secret_alphabet[randombytes_uniform(
		    sizeof(secret_alphabet) - 1)];
	out[n] = '\0';
}

void
secret_hash(const struct secret_keys *k, const char *secret, size_t len,
    char out[SECRET_HASH_HEX])
{
	unsigned char h[32];

	crypto_generichash(h, sizeof(h), (const unsigned char *)secret, len,
	    k->hash_key, sizeof(k->hash_key));
	str_hex(out, h, sizeof(h));
}

int
secret_hash_verify(const struct secret_keys *k, const char *secret, size_t len,
    const char *stored_hex)
{
	unsigned char h[32], s[32];

	if (str_unhex(s, sizeof(s), stored_hex) == -1)
		return 0;
	crypto_generichash(h, sizeof(h), (const unsigned char *)secret, len,
	    k->hash_key, sizeof(k->hash_key));
	return sodium_memcmp(h, s, sizeof(h)) == 0;
}

int
secret_seal(const struct secret_keys *k, const char *secret, char *out,
    size_t outlen)
{
	unsigned char buf[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
			  SECRET_MAX +
			  crypto_aead_xchacha20poly1305_ietf_ABYTES];
	size_t len = strlen(secret);
	unsigned long long clen;

	if (len > SECRET_MAX ||
	    outlen < 2 * (crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + len +
			     crypto_aead_xchacha20poly1305_ietf_ABYTES) +
			 1)
		return -1;
	randombytes_buf(buf, crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    buf + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &clen,
	    (const unsigned char *)secret, len, NULL, 0, NULL, buf,
	    k->seal_key);
	str_hex(out, buf,
	    crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + (size_t)clen);
	return 0;
}

int
secret_open(const struct secret_keys *k, const char *sealed, char *out,
    size_t outlen)
{
	unsigned char buf[crypto_aead_xchacha20poly1305_ietf_NPUBBYTES +
			  SECRET_MAX +
			  crypto_aead_xchacha20poly1305_ietf_ABYTES];
	size_t hexlen = strlen(sealed), len = hexlen / 2;
	unsigned long long plen;
	const size_t nb = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;

	if (hexlen % 2 || len > sizeof(buf) ||
	    len < nb + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
	    str_unhex(buf, len, sealed) == -1)
		return -1;
	if (outlen < len - nb - crypto_aead_xchacha20poly1305_ietf_ABYTES + 1)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((unsigned char *)out,
		&plen, NULL, buf + nb, len - nb, NULL, 0, buf,
		k->seal_key) != 0)
		return -1;
	out[plen] = '\0';
	return 0;
}

int
secret_pwhash(const char *password, char *out, size_t outlen)
{
	if (outlen < crypto_pwhash_STRBYTES)
		return -1;
	return crypto_pwhash_str(out, password, strlen(password),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE);
}

int
secret_pwhash_verify(const char *stored, const char *password)
{
	return crypto_pwhash_str_verify(stored, password, strlen(password)) ==
	       0;
}

/* An argon2id string of a random password, made once. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void
secret_dummy_init(void)
{
	char pw[SECRET_PW_LEN + 1];

	secret_generate(pw, SECRET_PW_LEN);
	if (secret_pwhash(pw, dummy_hash, sizeof(dummy_hash)) == -1)
		dummy_hash[0] = '\0';
	sodium_memzero(pw, sizeof(pw));
}

void
secret_pwhash_dummy(const char *password)
{
	pthread_once(&dummy_once, secret_dummy_init);
	if (dummy_hash[0])
		(void)secret_pwhash_verify(dummy_hash, password);
}

const char *
secret_password_weakness(const char *password)
{
	size_t len = strlen(password), i;
	int classes = 0, lower = 0, upper = 0, digit = 0, other = 0;

	if (len < 10)
		return "a password needs at least 10 characters";
	if (len > 256)
		return "a password has at most 256 characters";
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)password[i];
		if (c < 0x20 || c == 0x7f)
			return "a password may not hold control characters";
		if (c >= 'a' && c <= 'z')
			lower = 1;
		else if (c >= 'A' && c <= 'Z')
			upper = 1;
		else if (c >= '0' && c <= '9')
			digit = 1;
		else
			other = 1;
	}
	classes = lower + upper + digit + other;
	if (classes < 2 && len < 16)
		return "use at least 16 characters, or mix letters, digits and symbols";
	return NULL;
}

int
secret_equal(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la; i++)
		d |= (unsigned char)(a[i] ^ b[i < lb ? i : 0]);
	return d == 0;
}

static const struct secret_keys *keys_loaded;

void
secret_keys_set(const struct secret_keys *k)
{
	keys_loaded = k;
}

const struct secret_keys *
secret_keys_current(void)
{
	return keys_loaded;
}
