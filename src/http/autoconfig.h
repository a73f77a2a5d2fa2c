/*
 * autoconfig: what a mail program needs to set itself up, in the formats
 * the programs ask for: Thunderbird's clientConfig (config-v1.1.xml),
 * Outlook's autodiscover (POX, the 2006 schemas) and Apple's
 * configuration profile (.mobileconfig, in profile.c). Generators only:
 * the routes decide who may ask.
 */
#ifndef POSTERN_AUTOCONFIG_H
#define POSTERN_AUTOCONFIG_H

#include <stddef.h>

#include "../util/buf.h"

#define AUTOCONFIG_BODY_MAX 8192 /* an autodiscover request */
#define AUTOCONFIG_OUT_MAX 65536

/* One account's servers; every string already canonical. */
struct mail_settings {
	const char *address;	  /* the login, user@domain */
	const char *domain;	  /* its domain */
	const char *host;	  /* the server name (conf hostname) */
	const char *display_name; /* what the programs show ("Example Mail") */
	int submissions_port;	  /* implicit TLS (465), 0 if not offered */
	int submission_port;	  /* STARTTLS (587), 0 if not offered */
	const char *imap_host;	  /* the IMAP server's name */
	int imap_port;		  /* IMAP over TLS (993) */
	int imap_starttls_port;	  /* IMAP with STARTTLS (143), 0 if not */
};

/* Thunderbird: clientConfig version 1.1 for domain. */
int autoconfig_thunderbird(struct buf *, const struct mail_settings *);
/* Outlook: the autodiscover response for the account. */
int autoconfig_autodiscover(struct buf *, const struct mail_settings *);
/*
 * Read the EMailAddress of an Outlook autodiscover request (any
 * namespace prefix; the five predefined entities decoded). Refuses a
 * body over AUTOCONFIG_BODY_MAX, a NUL, comments or CDATA around it, and
 * an address longer than outlen - 1. 0 or -1.
 */
int autoconfig_parse_request(const char *body, size_t len, char *out,
    size_t outlen);
/*
 * Apple: a configuration profile with one com.apple.mail.managed
 * payload (IMAP in, SMTP out) whose outgoing password is password (an
 * app password made for the device).
 */
int profile_mobileconfig(struct buf *, const struct mail_settings *,
    const char *password);

#endif
