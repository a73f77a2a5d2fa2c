/* test_autoconfig: the set-up files mail programs read, the QR code. */
#include <stdlib.h>

#include "unit.h"
#include "http/autoconfig.h"
#include "http/qr.h"
#include "http/xml.h"
#include "mail/addr.h"

static const struct mail_settings settings = {
	.address = "alice@example.org",
	.domain = "example.org",
	.host = "smtp.example.org",
	.display_name = "Example Mail",
	.submissions_port = 465,
	.submission_port = 587,
	.imap_host = "smtp.example.org",
	.imap_port = 993,
	.imap_starttls_port = 143,
};

static char *
str_of(struct buf *b)
{
	if (buf_append(b, "", 1) == -1)
		return NULL;
	return b->data;
}

UNIT_TEST(test_xml_values_are_escaped_and_control_characters_refused)
{
	struct buf b;

	buf_init(&b, 1024);
	CHECK(xml_text(&b, "a&b<c>\"d'e") == 0);
	CHECK_STR(str_of(&b), "a&amp;b&lt;c&gt;&quot;d&apos;e");
	buf_reset(&b);
	CHECK(xml_text(&b, "bad\001") == -1);
	buf_reset(&b);
	CHECK(xml_elem(&b, 1, "x", "1<2") == 0);
	CHECK_STR(str_of(&b), "\t<x>1&lt;2</x>\n");
	buf_free(&b);
}

UNIT_TEST(test_thunderbird_config_has_the_documented_elements)
{
	struct buf b;
	const char *s;

	buf_init(&b, AUTOCONFIG_OUT_MAX);
	CHECK(autoconfig_thunderbird(&b, &settings) == 0);
	s = str_of(&b);
	CHECK(strstr(s, "<clientConfig version=\"1.1\">") != NULL);
	CHECK(strstr(s, "<emailProvider id=\"example.org\">") != NULL);
	CHECK(strstr(s, "<domain>example.org</domain>") != NULL);
	CHECK(strstr(s, "<incomingServer type=\"imap\">") != NULL);
	CHECK(
	    strstr(s,
		"<outgoingServer type=\"smtp\">\n\t\t\t<hostname>smtp.example.org</hostname>\n\t\t\t<port>465</port>\n\t\t\t<socketType>SSL</socketType>") !=
	    NULL);
	CHECK(
	    strstr(s,
		"<port>587</port>\n\t\t\t<socketType>STARTTLS</socketType>") !=
	    NULL);
	CHECK(
	    strstr(s, "<authentication>password-cleartext</authentication>") !=
	    NULL);
	CHECK(strstr(s, "<username>%EMAILADDRESS%</username>") != NULL);
	buf_free(&b);
}

UNIT_TEST(test_the_imap_server_is_its_own_host_and_ports)
{
	struct mail_settings m = settings;
	struct buf b;
	const char *s;

	m.imap_host = "imap.example.org";
	m.imap_port = 2993;
	m.imap_starttls_port = 2143;
	buf_init(&b, AUTOCONFIG_OUT_MAX);
	CHECK(autoconfig_thunderbird(&b, &m) == 0);
	s = str_of(&b);
	/* implicit TLS first: the one Thunderbird picks */
	CHECK(strstr(s, "<incomingServer type=\"imap\">\n\t\t\t<hostname>"
			"imap.example.org</hostname>\n\t\t\t<port>2993</port>"
			"\n\t\t\t<socketType>SSL</socketType>") != NULL);
	CHECK(strstr(s, "<port>2143</port>\n\t\t\t<socketType>STARTTLS"
			"</socketType>") != NULL);
	CHECK(strstr(s, "<port>2993</port>") < strstr(s, "<port>2143</port>"));
	CHECK(strstr(s, "<outgoingServer type=\"smtp\">\n\t\t\t<hostname>"
			"smtp.example.org</hostname>") != NULL);
	buf_reset(&b);
	CHECK(autoconfig_autodiscover(&b, &m) == 0);
	CHECK(strstr(str_of(&b), "<Type>IMAP</Type>\n\t\t\t\t<Server>"
				 "imap.example.org</Server>\n\t\t\t\t<Port>"
				 "2993</Port>") != NULL);
	buf_reset(&b);
	CHECK(profile_mobileconfig(&b, &m, "pw") == 0);
	s = str_of(&b);
	CHECK(strstr(s, "<key>IncomingMailServerHostName</key>\n\t\t\t<string>"
			"imap.example.org</string>") != NULL);
	CHECK(strstr(s, "<key>IncomingMailServerPortNumber</key>\n\t\t\t"
			"<integer>2993</integer>") != NULL);
	/* no STARTTLS port: one incomingServer */
	m.imap_starttls_port = 0;
	buf_reset(&b);
	CHECK(autoconfig_thunderbird(&b, &m) == 0);
	s = str_of(&b);
	CHECK(strstr(s, "STARTTLS") == NULL || strstr(s, "<port>2143") == NULL);
	buf_free(&b);
}

UNIT_TEST(test_generated_files_escape_every_value)
{
	struct mail_settings m = settings;
	struct buf b;
	const char *s;

	m.display_name = "Mail & <Co>";
	m.address = "o'hara@example.org";
	buf_init(&b, AUTOCONFIG_OUT_MAX);
	CHECK(autoconfig_thunderbird(&b, &m) == 0);
	s = str_of(&b);
	CHECK(strstr(s, "Mail &amp; &lt;Co&gt;") != NULL);
	CHECK(strstr(s, "<Co>") == NULL);
	buf_reset(&b);
	CHECK(autoconfig_autodiscover(&b, &m) == 0);
	CHECK(strstr(str_of(&b),
		  "<LoginName>o&apos;hara@example.org</LoginName>") != NULL);
	buf_reset(&b);
	CHECK(profile_mobileconfig(&b, &m, "pw<&>") == 0);
	s = str_of(&b);
	CHECK(strstr(s, "<string>pw&lt;&amp;&gt;</string>") != NULL);
	CHECK(strstr(s, "<string>Mail &amp; &lt;Co&gt;</string>") != NULL);
	buf_reset(&b);
	m.host = "bad\nhost\001";
	CHECK(autoconfig_thunderbird(&b, &m) == -1);
	buf_free(&b);
}

UNIT_TEST(test_autodiscover_answers_with_imap_and_smtp_settings)
{
	struct mail_settings m = settings;
	struct buf b;
	const char *s;

	buf_init(&b, AUTOCONFIG_OUT_MAX);
	CHECK(autoconfig_autodiscover(&b, &m) == 0);
	s = str_of(&b);
	CHECK(strstr(s, "responseschema/2006a\">") != NULL);
	CHECK(
	    strstr(s,
		"<Type>IMAP</Type>\n\t\t\t\t<Server>smtp.example.org</Server>\n\t\t\t\t<Port>993</Port>") !=
	    NULL);
	CHECK(
	    strstr(s,
		"<Type>SMTP</Type>\n\t\t\t\t<Server>smtp.example.org</Server>\n\t\t\t\t<Port>465</Port>") !=
	    NULL);
	CHECK(strstr(s, "<Action>settings</Action>") != NULL);
	/* only STARTTLS offered: port 587, Encryption TLS */
	m.submissions_port = 0;
	buf_reset(&b);
	CHECK(autoconfig_autodiscover(&b, &m) == 0);
	s = str_of(&b);
	CHECK(strstr(s, "<Port>587</Port>") != NULL);
	CHECK(strstr(s, "<Encryption>TLS</Encryption>") != NULL);
	buf_free(&b);
}

UNIT_TEST(test_autodiscover_request_gives_the_address_and_refuses_junk)
{
	static const struct {
		const char *body, *want; /* want NULL: refused */
	} v[] = {
		{ "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n"
		  "<Autodiscover xmlns=\"http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006\">"
		  "<Request><EMailAddress>alice@example.org</EMailAddress>"
		  "<AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema>"
		  "</Request></Autodiscover>",
		    "alice@example.org" },
		{ "<a:Autodiscover xmlns:a=\"x\"><a:Request><a:EMailAddress>\n"
		  "  bob@example.org \n</a:EMailAddress></a:Request></a:Autodiscover>",
		    "bob@example.org" },
		{ "<!-- <EMailAddress>x@y</EMailAddress> --><EMailAddress>o&apos;hara@example.org</EMailAddress>",
		    "o'hara@example.org" },
		{ "<EMailAddress>a&bogus;b@example.org</EMailAddress>", NULL },
		{ "<EMailAddress>a&lt;b@example.org</EMailAddress>", NULL },
		{ "<EMailAddress>a@b</EMailAddresses>", NULL },
		{ "<EMailAddress/>", NULL },
		{ "<EMailAddress></EMailAddress>", NULL },
		{ "<EMailAddress>a<b>@c</b></EMailAddress>", NULL },
		{ "<EMailAddress>a@b", NULL },
		{ "<Request></Request>", NULL },
		{ "<!-- unterminated <EMailAddress>a@b</EMailAddress>", NULL },
		{ "", NULL },
	};
	char out[ADDR_MAX + 1];
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		int rc = autoconfig_parse_request(v[i].body, strlen(v[i].body),
		    out, sizeof(out));
		if (v[i].want == NULL) {
			if (rc != -1)
				printf("  case %zu accepted \"%s\"\n", i, out);
			CHECK(rc == -1);
		} else {
			CHECK(rc == 0);
			CHECK_STR(rc == 0 ? out : "", v[i].want);
		}
	}
	/* an address longer than the room for it */
	CHECK(autoconfig_parse_request("<EMailAddress>abcdef@x</EMailAddress>",
		  37, out, 5) == -1);
}

UNIT_TEST(test_mobileconfig_is_a_mail_payload_with_the_device_password)
{
	struct buf b;
	const char *s;

	buf_init(&b, AUTOCONFIG_OUT_MAX);
	CHECK(profile_mobileconfig(&b, &settings, "Secret234") == 0);
	s = str_of(&b);
	CHECK(strncmp(s,
		  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!DOCTYPE plist",
		  52) == 0);
	CHECK(
	    strstr(s,
		"<key>PayloadType</key>\n\t\t\t<string>com.apple.mail.managed</string>") !=
	    NULL);
	CHECK(
	    strstr(s,
		"<key>OutgoingMailServerHostName</key>\n\t\t\t<string>smtp.example.org</string>") !=
	    NULL);
	CHECK(
	    strstr(s,
		"<key>OutgoingMailServerPortNumber</key>\n\t\t\t<integer>465</integer>") !=
	    NULL);
	CHECK(
	    strstr(s,
		"<key>OutgoingMailServerUsername</key>\n\t\t\t<string>alice@example.org</string>") !=
	    NULL);
	CHECK(
	    strstr(s,
		"<key>OutgoingPassword</key>\n\t\t\t<string>Secret234</string>") !=
	    NULL);
	CHECK(strstr(s,
		  "<string>org.example.smtp.mail.alice@example.org</string>") !=
	      NULL);
	CHECK(strstr(s,
		  "<key>PayloadType</key>\n\t<string>Configuration</string>") !=
	      NULL);
	buf_free(&b);
}

/* The SVG path back into modules: "M<x> <y>h1v1h-1z" each. */
static int
qr_modules(const char *svg, unsigned char grid[200][200], int *size)
{
	const char *p = strstr(svg, "viewBox=\"0 0 ");
	int x, y, n;

	if (p == NULL || sscanf(p, "viewBox=\"0 0 %d", size) != 1 ||
	    *size > 200)
		return -1;
	memset(grid, 0, 200 * 200);
	if ((p = strstr(svg, " d=\"")) == NULL)
		return -1;
	p += 4;
	while (sscanf(p, "M%d %dh1v1h-1z%n", &x, &y, &n) == 2) {
		if (x < 0 || y < 0 || x >= *size || y >= *size)
			return -1;
		grid[y][x] = 1;
		p += n;
	}
	return *p == '"' ? 0 : -1;
}

UNIT_TEST(test_qr_svg_has_finder_patterns_and_a_quiet_zone)
{
	static unsigned char g[200][200];
	struct buf b;
	int size = 0, x, y, corner, ok = 1;
	const char *s;

	buf_init(&b, 1 << 20);
	CHECK(
	    qr_svg(&b,
		"otpauth://totp/Example:alice@example.org?secret=JBSWY3DPEHPK3PXP&issuer=Example") ==
	    0);
	s = str_of(&b);
	CHECK(strstr(s, "<script") == NULL && strstr(s, "style") == NULL);
	CHECK(qr_modules(s, g, &size) == 0);
	CHECK(size >= 21 + 8 && (size - 8 - 21) % 4 == 0); /* a QR version */
	/* finder pattern: 7x7 dark ring, light ring, 3x3 dark centre, at
	 * three corners, inside the 4-module quiet zone */
	for (corner = 0; corner < 3; corner++) {
		int ox = corner == 1 ? size - 4 - 7 : 4;
		int oy = corner == 2 ? size - 4 - 7 : 4;
		for (y = 0; y < 7; y++)
			for (x = 0; x < 7; x++) {
				int ring = x == 0 || y == 0 || x == 6 || y == 6;
				int core = x >= 2 && x <= 4 && y >= 2 && y <= 4;
				if (g[oy + y][ox + x] != (ring || core))
					ok = 0;
			}
	}
	CHECK(ok);
	for (x = 0; x < size; x++)
		for (y = 0; y < 4; y++)
			CHECK(!g[y][x] && !g[size - 1 - y][x] && !g[x][y]);
	buf_reset(&b);
	{
		char big[QR_TEXT_MAX + 2];
		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		CHECK(qr_svg(&b, big) == -1);
	}
	buf_free(&b);
}
