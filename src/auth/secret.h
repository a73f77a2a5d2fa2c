/*
 * secret: how postern makes, hashes and seals secrets.
 *  - login passwords (chosen by people): argon2id strings;
 *  - generated secrets (SMTP and app passwords, tokens; >= 100 bits):
 *    keyed BLAKE2b to verify in microseconds, and for SMTP passwords a
 *    copy sealed with XChaCha20-Poly1305 so the panel can reveal it.
 * Both keys are derived from the master key file, kept out of the store.
 */
#ifndef POSTERN_SECRET_H
#define POSTERN_SECRET_H

#include <stddef.h>

#define SECRET_KEY_LEN 32
#define SECRET_HASH_HEX 65 /* 32 bytes as hex + NUL */
#define SECRET_PW_LEN 20   /* 20 of 54 symbols: 115 bits */
#define SECRET_MAX 512	   /* longest secret a client may present */
#define SECRET_SEALED_MAX 1024

struct secret_keys {
	unsigned char hash_key[SECRET_KEY_LEN];
	unsigned char seal_key[SECRET_KEY_LEN];
};

int secret_init(void);
/* Create a new master key file (mode 0600, refuses to overwrite). */
int secret_master_create(const char *path);
/* Load the master key and derive the hash and seal keys. */
int secret_master_load(const char *path, struct secret_keys *, char *err,
    size_t errlen);
/* A new password of n symbols from an alphabet without look-alikes. */
void secret_generate(char *out, size_t n);
/* Keyed BLAKE2b of a generated secret, as hex. */
void secret_hash(const struct secret_keys *, const char *secret, size_t len,
    char out[SECRET_HASH_HEX]);
/* Constant-time: does secret match the stored hex hash? 1 or 0. */
int secret_hash_verify(const struct secret_keys *, const char *secret,
    size_t len, const char *stored_hex);
/* Seal / open a secret (hex of nonce || ciphertext). */
int secret_seal(const struct secret_keys *, const char *secret, char *out,
    size_t outlen);
int secret_open(const struct secret_keys *, const char *sealed, char *out,
    size_t outlen);
/* argon2id string for a login password; -1 if out of memory. */
int secret_pwhash(const char *password, char *out, size_t outlen);
/* 1 if password matches the argon2id string, else 0. */
int secret_pwhash_verify(const char *stored, const char *password);
/* What a check of password costs, with nothing to check it against (an
 * unknown login, a login without that kind of password): a wrong login
 * and a wrong password then cost the same. */
void secret_pwhash_dummy(const char *password);
/* A login password good enough to keep: NULL, or why it is refused. */
const char *secret_password_weakness(const char *password);
/* Constant-time string equality (lengths may differ). */
int secret_equal(const char *a, const char *b);

/* The server's keys, loaded once at start before any thread runs. */
void secret_keys_set(const struct secret_keys *);
const struct secret_keys *secret_keys_current(void);

#endif
