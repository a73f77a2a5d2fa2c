/*
 * addr: mail addresses and domain names as postern stores and compares
 * them. Domains are kept in one canonical form, lower-case ASCII with
 * internationalised labels as A-labels (IDNA2008, xn--...); local parts
 * are kept as given and compared case-insensitively (ASCII folding).
 */
#ifndef POSTERN_ADDR_H
#define POSTERN_ADDR_H

#include <stddef.h>

#define ADDR_LOCAL_MAX 64   /* RFC 5321 4.5.3.1.1 */
#define ADDR_DOMAIN_MAX 255 /* RFC 5321 4.5.3.1.2, with room */
#define ADDR_MAX (ADDR_LOCAL_MAX + 1 + ADDR_DOMAIN_MAX)

struct addr {
	char local[ADDR_LOCAL_MAX + 1];	    /* as given */
	char local_key[ADDR_LOCAL_MAX + 1]; /* ASCII lower-cased */
	char domain[ADDR_DOMAIN_MAX + 1];   /* canonical */
};

/*
 * Canonical form of a domain name (U-label or A-label, any case) into
 * out. Refuses empty labels, labels over 63 octets, names over 253,
 * characters outside LDH after IDNA, an address literal. 0 or -1 with
 * a reason in err.
 */
int addr_domain_canon(const char *in, char *out, size_t outlen, char *err,
    size_t errlen);
/* The same for a host name, which may be a single label (localhost). */
int addr_host_canon(const char *in, char *out, size_t outlen, char *err,
    size_t errlen);
/*
 * A local part a user or alias may have: dot-atom (RFC 5322 atext, and
 * UTF-8 per RFC 6531), 1..64 octets, no leading, trailing or double dot.
 */
int addr_local_is_valid(const char *local);
/* "local@domain" into its parts, with both checks above. */
int addr_parse(const char *in, struct addr *out, char *err, size_t errlen);
/* Fold a local part for comparison: ASCII lower-case. */
void addr_local_key(const char *local, char *key, size_t keylen);
/*
 * The one spelling of a login (an address, or a bare domain for a
 * domain's SMTP password) that every failure counter and log entry is
 * keyed on, whoever asks: SMTP AUTH, panel sign-in, two-step codes, the
 * API and the CLI. Spellings that find the same account become one:
 * invisible characters (soft hyphen, zero-width, BOM, variation
 * selectors) are dropped, full-width forms folded to ASCII, the
 * ideographic and full-width full stops read as '.', the local part
 * folded (ASCII) and the domain put in its canonical form (IDNA2008 with
 * UTS #46 mapping, one trailing dot dropped). Refuses control
 * characters, bad UTF-8, more than ADDR_LOGIN_IN_MAX octets, and what
 * addr_parse()/addr_domain_canon() refuse. 0, or -1 with a reason.
 */
#define ADDR_LOGIN_IN_MAX 1024
int addr_login_canon(const char *in, char *out, size_t outlen, char *err,
    size_t errlen);
/* Is this a valid UTF-8 byte string (no overlongs, no surrogates)? */
int addr_utf8_is_valid(const unsigned char *s, size_t len);

#endif
