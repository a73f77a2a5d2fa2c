/*
 * autoconfig: Thunderbird's clientConfig and Outlook's autodiscover.
 * Element names are the documented ones (Mozilla's "Autoconfiguration
 * file format" page; Microsoft's [MS-OXDSCLI] POX response schema).
 * The request parser reads one element of an untrusted body; it is
 * fuzzed (fuzz/fuzz_autodiscover.c).
 */
#include <string.h>

#include "autoconfig.h"
#include "xml.h"

static int
autoconfig_smtp_tb(struct buf *b, const struct mail_settings *m, int port,
    const char *socket)
{
	if (buf_printf(b, "\t\t<outgoingServer type=\"smtp\">\n") == -1 ||
	    xml_elem(b, 3, "hostname", m->host) == -1 ||
	    xml_elem_int(b, 3, "port", port) == -1 ||
	    xml_elem(b, 3, "socketType", socket) == -1 ||
	    xml_elem(b, 3, "authentication", "password-cleartext") == -1 ||
	    xml_elem(b, 3, "username", "%EMAILADDRESS%") == -1 ||
	    buf_printf(b, "\t\t</outgoingServer>\n") == -1)
		return -1;
	return 0;
}

static int
autoconfig_imap_tb(struct buf *b, const struct mail_settings *m, int port,
    const char *socket)
{
	if (buf_printf(b, "\t\t<incomingServer type=\"imap\">\n") == -1 ||
	    xml_elem(b, 3, "hostname", m->imap_host) == -1 ||
	    xml_elem_int(b, 3, "port", port) == -1 ||
	    xml_elem(b, 3, "socketType", socket) == -1 ||
	    xml_elem(b, 3, "authentication", "password-cleartext") == -1 ||
	    xml_elem(b, 3, "username", "%EMAILADDRESS%") == -1 ||
	    buf_printf(b, "\t\t</incomingServer>\n") == -1)
		return -1;
	return 0;
}

int
autoconfig_thunderbird(struct buf *b, const struct mail_settings *m)
{
	if (buf_printf(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			  "<clientConfig version=\"1.1\">\n"
			  "\t<emailProvider id=\"") == -1 ||
	    xml_text(b, m->domain) == -1 || buf_printf(b, "\">\n") == -1 ||
	    xml_elem(b, 2, "domain", m->domain) == -1 ||
	    xml_elem(b, 2, "displayName", m->display_name) == -1 ||
	    xml_elem(b, 2, "displayShortName", m->display_name) == -1)
		return -1;
	/* the first incomingServer is the one Thunderbird picks */
	if (m->imap_port > 0 &&
	    autoconfig_imap_tb(b, m, m->imap_port, "SSL") == -1)
		return -1;
	if (m->imap_starttls_port > 0 &&
	    autoconfig_imap_tb(b, m, m->imap_starttls_port, "STARTTLS") == -1)
		return -1;
	/* The first outgoingServer is the one Thunderbird picks. */
	if (m->submissions_port > 0 &&
	    autoconfig_smtp_tb(b, m, m->submissions_port, "SSL") == -1)
		return -1;
	if (m->submission_port > 0 &&
	    autoconfig_smtp_tb(b, m, m->submission_port, "STARTTLS") == -1)
		return -1;
	return buf_printf(b, "\t</emailProvider>\n</clientConfig>\n");
}

static int
autoconfig_proto(struct buf *b, const struct mail_settings *m, const char *type,
    const char *host, int port, const char *encryption)
{
	if (buf_printf(b, "\t\t\t<Protocol>\n") == -1 ||
	    xml_elem(b, 4, "Type", type) == -1 ||
	    xml_elem(b, 4, "Server", host) == -1 ||
	    xml_elem_int(b, 4, "Port", port) == -1 ||
	    xml_elem(b, 4, "LoginName", m->address) == -1 ||
	    xml_elem(b, 4, "DomainRequired", "off") == -1 ||
	    xml_elem(b, 4, "SPA", "off") == -1 ||
	    xml_elem(b, 4, "SSL", "on") == -1 ||
	    xml_elem(b, 4, "Encryption", encryption) == -1 ||
	    xml_elem(b, 4, "AuthRequired", "on") == -1 ||
	    buf_printf(b, "\t\t\t</Protocol>\n") == -1)
		return -1;
	return 0;
}

int
autoconfig_autodiscover(struct buf *b, const struct mail_settings *m)
{
	if (buf_printf(b,
		"<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		"<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006\">\n"
		"\t<Response xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a\">\n"
		"\t\t<User>\n") == -1 ||
	    xml_elem(b, 3, "DisplayName", m->address) == -1 ||
	    xml_elem(b, 3, "AutoDiscoverSMTPAddress", m->address) == -1 ||
	    buf_printf(b, "\t\t</User>\n\t\t<Account>\n") == -1 ||
	    xml_elem(b, 3, "AccountType", "email") == -1 ||
	    xml_elem(b, 3, "Action", "settings") == -1)
		return -1;
	if (m->imap_port > 0 && autoconfig_proto(b, m, "IMAP", m->imap_host,
				    m->imap_port, "SSL") == -1)
		return -1;
	/* Encryption overrides SSL: "SSL" is implicit TLS, "TLS" STARTTLS */
	if (m->submissions_port > 0) {
		if (autoconfig_proto(b, m, "SMTP", m->host, m->submissions_port,
			"SSL") == -1)
			return -1;
	} else if (m->submission_port > 0 &&
		   autoconfig_proto(b, m, "SMTP", m->host, m->submission_port,
		       "TLS") == -1)
		return -1;
	return buf_printf(b,
	    "\t\t</Account>\n\t</Response>\n</Autodiscover>\n");
}

/* Is c a character of an XML name (ASCII subset)? */
static int
autoconfig_namec(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.' ||
	       c == ':';
}

/* The local name of the tag whose name starts at p (after '<' or '</'),
 * its length in *n; *end past the name. */
static const char *
autoconfig_local(const char *p, const char *end, size_t *n, const char **after)
{
	const char *s = p, *local = p;

	while (p < end && autoconfig_namec(*p)) {
		if (*p == ':')
			local = p + 1;
		p++;
	}
	*n = (size_t)(p - local);
	*after = p;
	return p == s ? NULL : local;
}

static int
autoconfig_is(const char *local, size_t n, const char *want)
{
	return n == strlen(want) && memcmp(local, want, n) == 0;
}

/* Decode text (entities) into out; -1 on '<' or '>' (even as an
 * entity), '&' not an entity, a control character, or length. */
static int
autoconfig_text(const char *p, const char *e, char *out, size_t outlen)
{
	static const struct {
		const char *ent;
		char c;
	} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
		{ "&quot;", '"' }, { "&apos;", '\'' } };
	size_t o = 0, i;

	/* surrounding white space is layout, not part of the address */
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			    e[-1] == '\n'))
		e--;
	while (p < e) {
		char c = *p;
		if (c == '&') {
			for (i = 0; i < sizeof(ents) / sizeof(ents[0]); i++) {
				size_t l = strlen(ents[i].ent);
				if ((size_t)(e - p) >= l &&
				    memcmp(p, ents[i].ent, l) == 0)
					break;
			}
			if (i == sizeof(ents) / sizeof(ents[0]))
				return -1;
			c = ents[i].c;
			p += strlen(ents[i].ent);
		} else {
			p++;
		}
		/* no address holds these (addr refuses them even quoted) */
		if ((unsigned char)c < 0x20 || c == '<' || c == '>' ||
		    o + 1 >= outlen)
			return -1;
		out[o++] = c;
	}
	if (o == 0)
		return -1;
	out[o] = '\0';
	return 0;
}

int
autoconfig_parse_request(const char *body, size_t len, char *out, size_t outlen)
{
	const char *p = body, *end = body + len, *name, *after, *text;
	size_t n;

	if (len > AUTOCONFIG_BODY_MAX || outlen == 0 ||
	    memchr(body, '\0', len) != NULL)
		return -1;
	while ((p = memchr(p, '<', (size_t)(end - p))) != NULL) {
		p++;
		if (p < end && (*p == '!' || *p == '?' || *p == '/')) {
			/* declarations, comments, closing tags: skipped,
			 * but a comment may hold '>' only at its end */
			if (end - p >= 3 && memcmp(p, "!--", 3) == 0) {
				const char *c = p + 3;
				while (c + 2 < end && memcmp(c, "-->", 3) != 0)
					c++;
				if (c + 2 >= end)
					return -1;
				p = c + 3;
			}
			continue;
		}
		if ((name = autoconfig_local(p, end, &n, &after)) == NULL)
			return -1;
		if (!autoconfig_is(name, n, "EMailAddress"))
			continue;
		/* attributes (xmlns) may follow; no self-closing tag */
		if ((text = memchr(after, '>', (size_t)(end - after))) ==
			NULL ||
		    text[-1] == '/')
			return -1;
		text++;
		if ((p = memchr(text, '<', (size_t)(end - text))) == NULL ||
		    end - p < 2 || p[1] != '/')
			return -1;
		name = autoconfig_local(p + 2, end, &n, &after);
		if (name == NULL || !autoconfig_is(name, n, "EMailAddress") ||
		    after >= end || *after != '>')
			return -1;
		return autoconfig_text(text, p, out, outlen);
	}
	return -1;
}
