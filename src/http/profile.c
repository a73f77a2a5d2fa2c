/*
 * profile: Apple configuration profiles (.mobileconfig) for Mail on
 * macOS and iOS. An XML property list with one com.apple.mail.managed
 * payload (Apple's "Mail" payload reference): IMAP in, SMTP out with the
 * device's own app password. Unsigned: the device shows it as such.
 * The identifier is stable per account, so installing a newer profile
 * replaces the older one instead of adding a second account.
 */
#include <string.h>

#include "autoconfig.h"
#include "xml.h"

static int
profile_key(struct buf *b, int ind, const char *key, const char *s)
{
	if (xml_elem(b, ind, "key", key) == -1 ||
	    xml_elem(b, ind, "string", s) == -1)
		return -1;
	return 0;
}

static int
profile_int(struct buf *b, int ind, const char *key, long v)
{
	if (xml_elem(b, ind, "key", key) == -1 ||
	    xml_elem_int(b, ind, "integer", v) == -1)
		return -1;
	return 0;
}

static int
profile_bool(struct buf *b, int ind, const char *key, int v)
{
	if (xml_elem(b, ind, "key", key) == -1 ||
	    buf_printf(b, "%.*s<%s/>\n", ind, "\t\t\t\t",
		v ? "true" : "false") == -1)
		return -1;
	return 0;
}

/* "smtp.example.org" -> "org.example.smtp" */
static int
profile_reverse(char *out, size_t outlen, const char *host)
{
	size_t n = strlen(host), o = 0;
	const char *end = host + n, *dot;

	if (n + 1 > outlen)
		return -1;
	while (end > host) {
		dot = end;
		while (dot > host && dot[-1] != '.')
			dot--;
		if (o > 0)
			out[o++] = '.';
		memcpy(out + o, dot, (size_t)(end - dot));
		o += (size_t)(end - dot);
		end = dot > host ? dot - 1 : host;
	}
	out[o] = '\0';
	return 0;
}

int
profile_mobileconfig(struct buf *b, const struct mail_settings *m,
    const char *password)
{
	char rev[300], id[700], outer[37], inner[37];
	int port =
	    m->submissions_port ? m->submissions_port : m->submission_port;

	if (port == 0 || profile_reverse(rev, sizeof(rev), m->host) == -1)
		return -1;
	xml_uuid(outer);
	xml_uuid(inner);
	if (buf_printf(b,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<!DOCTYPE plist PUBLIC \"-//Apple//DTD PLIST 1.0//EN\" \"http://www.apple.com/DTDs/PropertyList-1.0.dtd\">\n"
		"<plist version=\"1.0\">\n<dict>\n"
		"\t<key>PayloadContent</key>\n\t<array>\n\t\t<dict>\n") == -1)
		return -1;
	if (strlen(rev) + strlen(m->address) + 16 > sizeof(id))
		return -1;
	strcpy(id, rev);
	strcat(id, ".mail.");
	strcat(id, m->address);
	/* Apple's UseSSL means TLS from the start on 465 and STARTTLS on
	 * 587: Mail chooses by port. */
	if (profile_key(b, 3, "EmailAccountDescription", m->address) == -1 ||
	    profile_key(b, 3, "EmailAccountName", m->address) == -1 ||
	    profile_key(b, 3, "EmailAccountType", "EmailTypeIMAP") == -1 ||
	    profile_key(b, 3, "EmailAddress", m->address) == -1 ||
	    profile_key(b, 3, "IncomingMailServerAuthentication",
		"EmailAuthPassword") == -1 ||
	    profile_key(b, 3, "IncomingMailServerHostName", m->imap_host) ==
		-1 ||
	    profile_int(b, 3, "IncomingMailServerPortNumber", m->imap_port) ==
		-1 ||
	    profile_bool(b, 3, "IncomingMailServerUseSSL", 1) == -1 ||
	    profile_key(b, 3, "IncomingMailServerUsername", m->address) == -1 ||
	    profile_key(b, 3, "OutgoingMailServerAuthentication",
		"EmailAuthPassword") == -1 ||
	    profile_key(b, 3, "OutgoingMailServerHostName", m->host) == -1 ||
	    profile_int(b, 3, "OutgoingMailServerPortNumber", port) == -1 ||
	    profile_bool(b, 3, "OutgoingMailServerUseSSL", 1) == -1 ||
	    profile_key(b, 3, "OutgoingMailServerUsername", m->address) == -1 ||
	    profile_key(b, 3, "OutgoingPassword", password) == -1 ||
	    profile_bool(b, 3, "OutgoingPasswordSameAsIncomingPassword", 0) ==
		-1 ||
	    profile_key(b, 3, "PayloadDescription", "Mail account settings") ==
		-1 ||
	    profile_key(b, 3, "PayloadDisplayName", m->address) == -1 ||
	    profile_key(b, 3, "PayloadIdentifier", id) == -1 ||
	    profile_key(b, 3, "PayloadType", "com.apple.mail.managed") == -1 ||
	    profile_key(b, 3, "PayloadUUID", inner) == -1 ||
	    profile_int(b, 3, "PayloadVersion", 1) == -1 ||
	    profile_bool(b, 3, "PreventAppSheet", 0) == -1 ||
	    profile_bool(b, 3, "PreventMove", 0) == -1 ||
	    profile_bool(b, 3, "SMIMEEnabled", 0) == -1)
		return -1;
	if (strlen(id) + 8 >= sizeof(id))
		return -1;
	strcat(id, ".profile");
	if (buf_printf(b, "\t\t</dict>\n\t</array>\n") == -1 ||
	    profile_key(b, 1, "PayloadDescription",
		"Sets up Mail to send through this server.") == -1 ||
	    profile_key(b, 1, "PayloadDisplayName", m->display_name) == -1 ||
	    profile_key(b, 1, "PayloadIdentifier", id) == -1 ||
	    profile_key(b, 1, "PayloadOrganization", m->display_name) == -1 ||
	    profile_bool(b, 1, "PayloadRemovalDisallowed", 0) == -1 ||
	    profile_key(b, 1, "PayloadType", "Configuration") == -1 ||
	    profile_key(b, 1, "PayloadUUID", outer) == -1 ||
	    profile_int(b, 1, "PayloadVersion", 1) == -1 ||
	    buf_printf(b, "</dict>\n</plist>\n") == -1)
		return -1;
	return 0;
}
