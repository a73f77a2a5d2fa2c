/*
 * psl: the Public Suffix List, for DMARC's organizational domain (RFC
 * 7489 3.2). Loaded once at start from Debian's publicsuffix package
 * (PSL_PATH), read-only afterwards, so any thread may ask. Without a
 * list, the organizational domain is the last two labels (logged once).
 */
#ifndef POSTERN_PSL_H
#define POSTERN_PSL_H

#include <stddef.h>

#define PSL_PATH "/usr/share/publicsuffix/public_suffix_list.dat"
#define PSL_FILE_MAX (16 * 1024 * 1024) /* bytes of list read */
#define PSL_RULES_MAX 200000		/* rules kept */

/*
 * Load the list at path (the ICANN and private sections, "*." wildcard
 * and "!" exception rules; U-labels become A-labels), replacing any list
 * loaded before. Not to be called while other threads ask. 0, or -1 with
 * the list unchanged and the fallback logged.
 */
int psl_load(const char *path);
void psl_free(void);

/*
 * The organizational domain of a domain name (lower case, A-labels, no
 * trailing dot): its public suffix and one label more; the name itself
 * when it is a public suffix. 0, or -1 when the name is empty or out
 * (outlen bytes) is too small.
 */
int psl_org_domain(const char *domain, char *out, size_t outlen);

#endif
