/*
 * test_mtasts: the MTA-STS TXT record and policy (RFC 8461), MX pattern
 * matching (4.1), and the TLS-RPT TXT record (RFC 8460): the RFCs'
 * examples, refusals, bounds, CRLF and LF, repeated keys.
 */
#include <stdlib.h>

#include "unit.h"
#include "tlspolicy/mtasts.h"

UNIT_TEST(test_mtasts_txt_records_are_parsed_or_refused)
{
	static const struct {
		const char *txt;
		const char *id; /* NULL: refused */
	} cases[] = {
		{ "v=STSv1; id=20160831085700Z;", "20160831085700Z" },
		{ "v=STSv1; id=20160831085700Z", "20160831085700Z" },
		{ "v=STSv1;id=abc", "abc" },
		{ "v=STSv1 ; id=abc ;", "abc" },
		{ "v=STSv1;\tid=abc;\t", "abc" },
		{ "v=STSv1; id=abc; ext=foo", "abc" },
		{ "v=STSv1; ext.1-x_y=v:a/b; id=abc", "abc" },
		{ "v=STSv1; id=12345678901234567890123456789012",
		    "12345678901234567890123456789012" },
		{ "v=STSv1; id=123456789012345678901234567890123", NULL },
		{ "v=STSv1; id=", NULL },
		{ "v=STSv1; id=ab-c", NULL },
		{ "v=STSv1; id=ab c", NULL },
		{ "v=STSv1; id=a; id=b", NULL },
		{ "v=STSv1", NULL },
		{ "v=STSv1;", NULL },
		{ "v=STSv2; id=abc", NULL },
		{ "v=stsv1; id=abc", NULL },
		{ "v=STSv10; id=abc", NULL },
		{ " v=STSv1; id=abc", NULL },
		{ "id=abc; v=STSv1", NULL },
		{ "v=STSv1; id=abc;;", NULL },
		{ "v=STSv1; id=abc; ext", NULL },
		{ "v=STSv1; id=abc; ext=", NULL },
		{ "v=STSv1; id=abc; _ext=x", NULL },
		{ "v=STSv1; id=abc; ext=a=b", NULL },
		{ "v=STSv1 id=abc", NULL },
		{ "v=spf1 -all", NULL },
		{ "", NULL },
	};
	struct mtasts_txt t;
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int rc = mtasts_txt_parse(cases[i].txt, &t);

		if (cases[i].id == NULL) {
			if (rc != -1)
				printf("  case %zu: %s\n", i, cases[i].txt);
			CHECK(rc == -1);
			CHECK(t.id[0] == '\0');
		} else {
			if (rc != 0)
				printf("  case %zu: %s\n", i, cases[i].txt);
			CHECK(rc == 0);
			CHECK_STR(t.id, cases[i].id);
		}
	}
	CHECK(mtasts_txt_parse(NULL, &t) == -1);
}

UNIT_TEST(test_mtasts_txt_oversize_is_refused)
{
	struct mtasts_txt t;
	char *big = malloc(MTASTS_TXT_MAX + 2);
	size_t n;

	CHECK(big != NULL);
	if (big == NULL)
		return;
	strcpy(big, "v=STSv1; id=abc; x=");
	n = strlen(big);
	memset(big + n, 'y', MTASTS_TXT_MAX - n);
	big[MTASTS_TXT_MAX] = '\0';
	CHECK(mtasts_txt_parse(big, &t) == 0);
	big[MTASTS_TXT_MAX] = 'y';
	big[MTASTS_TXT_MAX + 1] = '\0';
	CHECK(mtasts_txt_parse(big, &t) == -1);
	free(big);
}

static int
parse(const char *s, struct mtasts_policy *p)
{
	return mtasts_policy_parse(s, strlen(s), p);
}

UNIT_TEST(test_mtasts_policy_rfc_example)
{
	/* RFC 8461 3.2, the example, with CRLF as it says */
	static const char crlf[] = "version: STSv1\r\n"
				   "mode: enforce\r\n"
				   "mx: mail.example.com\r\n"
				   "mx: *.example.net\r\n"
				   "mx: backupmx.example.com\r\n"
				   "max_age: 604800\r\n";
	struct mtasts_policy p, q;
	char *lf;
	size_t i, j;

	CHECK(parse(crlf, &p) == 0);
	CHECK(p.mode == MTASTS_MODE_ENFORCE);
	CHECK(p.max_age == 604800);
	CHECK(p.nmx == 3);
	CHECK_STR(p.mx[0], "mail.example.com");
	CHECK_STR(p.mx[1], "*.example.net");
	CHECK_STR(p.mx[2], "backupmx.example.com");
	CHECK(p.mx_dropped == 0);

	/* the same with LF only, and with no final line end */
	lf = malloc(sizeof(crlf));
	CHECK(lf != NULL);
	if (lf == NULL)
		return;
	for (i = j = 0; crlf[i] != '\0'; i++)
		if (crlf[i] != '\r')
			lf[j++] = crlf[i];
	lf[j] = '\0';
	CHECK(parse(lf, &q) == 0);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	lf[j - 1] = '\0';
	CHECK(parse(lf, &q) == 0);
	CHECK(memcmp(&p, &q, sizeof(p)) == 0);
	free(lf);
}

UNIT_TEST(test_mtasts_policy_values)
{
	struct mtasts_policy p;

	CHECK(parse("version: STSv1\nmode: testing\nmx: MX.Example.COM.\n"
		    "max_age: 0\n",
		  &p) == 0);
	CHECK(p.mode == MTASTS_MODE_TESTING);
	CHECK(p.max_age == 0);
	CHECK_STR(p.mx[0], "mx.example.com");

	/* mode none needs no mx */
	CHECK(parse("version: STSv1\nmode: none\nmax_age: 86400\n", &p) == 0);
	CHECK(p.mode == MTASTS_MODE_NONE);
	CHECK(p.nmx == 0);

	/* spaces: none after ':', several, tabs, trailing; empty lines;
	 * unknown keys ignored, whatever their value */
	CHECK(parse("version:STSv1\n\nmode:\t enforce  \nfoo: bar baz\n"
		    "x-ext.1:\nmx:  mx.example.com \t\r\nmax_age: 31557600\n",
		  &p) == 0);
	CHECK(p.mode == MTASTS_MODE_ENFORCE);
	CHECK(p.max_age == 31557600);
	CHECK_STR(p.mx[0], "mx.example.com");

	/* the first of a repeated key is used (RFC 8461 3.2), later ones
	 * are not read */
	CHECK(parse("version: STSv1\nmode: testing\nmode: enforce\n"
		    "mx: a.example\nmax_age: 60\nmax_age: 99\nmax_age: bad\n"
		    "version: STSv2\nmode: bogus\n",
		  &p) == 0);
	CHECK(p.mode == MTASTS_MODE_TESTING);
	CHECK(p.max_age == 60);
	CHECK(p.nmx == 1);
}

UNIT_TEST(test_mtasts_policy_refusals)
{
	static const char *const bad[] = {
		/* required keys missing */
		"mode: enforce\nmx: a.example\nmax_age: 60\n",
		"version: STSv1\nmx: a.example\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: a.example\n",
		"version: STSv1\nmode: enforce\nmax_age: 60\n",
		"version: STSv1\nmode: testing\nmax_age: 60\n",
		"",
		/* bad versions */
		"version: STSv2\nmode: enforce\nmx: a.example\nmax_age: 60\n",
		"version: stsv1\nmode: enforce\nmx: a.example\nmax_age: 60\n",
		"version: STSv1x\nmode: enforce\nmx: a.example\nmax_age: 60\n",
		"version:\nmode: enforce\nmx: a.example\nmax_age: 60\n",
		/* keys are case-sensitive: VERSION is an extension */
		"VERSION: STSv1\nmode: enforce\nmx: a.example\nmax_age: 60\n",
		/* bad values */
		"version: STSv1\nmode: Enforce\nmx: a.example\nmax_age: 60\n",
		"version: STSv1\nmode: strict\nmx: a.example\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: -1\n",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 1e5\n",
		"version: STSv1\nmode: enforce\nmx: a.example\n"
		"max_age: 31557601\n",
		"version: STSv1\nmode: enforce\nmx: a.example\n"
		"max_age: 00000000001\n",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 6 0\n",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age:\n",
		/* bad mx patterns */
		"version: STSv1\nmode: enforce\nmx: *\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: *.\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: a.*.example\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: **.example\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: a..example\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: .example\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: -a.example\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: a-.example\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: a_b.example\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx: a b.example\nmax_age: 60\n",
		"version: STSv1\nmode: enforce\nmx:\nmax_age: 60\n",
		/* malformed lines */
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 60\n"
		"garbage\n",
		"version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 60\n"
		": x\n",
		" version: STSv1\nmode: enforce\nmx: a.example\nmax_age: 60\n",
		"version : STSv1\nmode: enforce\nmx: a.example\nmax_age: 60\n",
		"version: STSv1\rmode: enforce\nmx: a.example\nmax_age: 60\n",
	};
	struct mtasts_policy p;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int rc = parse(bad[i], &p);

		if (rc != -1)
			printf("  case %zu: %s\n", i, bad[i]);
		CHECK(rc == -1);
		CHECK(p.nmx == 0);
	}
	/* a NUL byte inside */
	CHECK(mtasts_policy_parse("version: STSv1\nmode: none\0\nmax_age: 1\n",
		  38, &p) == -1);
	CHECK(mtasts_policy_parse(NULL, 0, &p) == -1);
}

UNIT_TEST(test_mtasts_policy_bounds)
{
	static const char head[] = "version: STSv1\nmode: enforce\n"
				   "max_age: 60\n";
	struct mtasts_policy p;
	char *b, label[70];
	size_t n, len;
	int i;

	b = malloc(MTASTS_BODY_MAX + 2048);
	CHECK(b != NULL);
	if (b == NULL)
		return;

	/* 100 mx lines: the first 64 kept, the rest counted */
	n = (size_t)snprintf(b, 64, "%s", head);
	for (i = 0; i < 100; i++)
		n += (size_t)sprintf(b + n, "mx: mx%d.example.com\n", i);
	CHECK(mtasts_policy_parse(b, n, &p) == 0);
	CHECK(p.nmx == MTASTS_MX_MAX);
	CHECK(p.mx_dropped == 100 - MTASTS_MX_MAX);
	CHECK_STR(p.mx[63], "mx63.example.com");
	CHECK(mtasts_mx_matches(&p, "mx0.example.com") == 1);
	CHECK(mtasts_mx_matches(&p, "mx64.example.com") == 0);

	/* a body of exactly 64 KiB is read, one byte more is not */
	n = (size_t)snprintf(b, 128, "%smx: a.example\n", head);
	while (n < MTASTS_BODY_MAX - 100)
		n += (size_t)sprintf(b + n, "x-pad: %080d\n", 0);
	while (n < MTASTS_BODY_MAX - 1)
		b[n++] = ' ';
	b[n++] = '\n';
	CHECK(n == MTASTS_BODY_MAX);
	CHECK(mtasts_policy_parse(b, n, &p) == 0);
	b[n++] = '\n';
	CHECK(mtasts_policy_parse(b, n, &p) == -1);

	/* line length: MTASTS_LINE_MAX bytes before CRLF, and one more */
	len = (size_t)snprintf(b, 128, "%smx: a.example\nx-pad: ", head);
	n = len;
	while (n - (len - 7) < MTASTS_LINE_MAX)
		b[n++] = 'z';
	b[n++] = '\r';
	b[n++] = '\n';
	CHECK(mtasts_policy_parse(b, n, &p) == 0);
	n -= 2;
	b[n++] = 'z';
	b[n++] = '\r';
	b[n++] = '\n';
	CHECK(mtasts_policy_parse(b, n, &p) == -1);

	/* count of lines: empty lines count too */
	n = (size_t)snprintf(b, 128, "%smx: a.example\n", head);
	for (i = 4; i < MTASTS_LINES_MAX; i++)
		b[n++] = '\n';
	CHECK(mtasts_policy_parse(b, n, &p) == 0);
	b[n++] = '\n';
	CHECK(mtasts_policy_parse(b, n, &p) == -1);

	/* labels of 63 are kept, 64 refused; names to 253 bytes */
	memset(label, 'a', 63);
	label[63] = '\0';
	n = (size_t)snprintf(b, 256, "%smx: *.%s.example\n", head, label);
	CHECK(mtasts_policy_parse(b, n, &p) == 0);
	n = (size_t)snprintf(b, 256, "%smx: *.%sa.example\n", head, label);
	CHECK(mtasts_policy_parse(b, n, &p) == -1);
	n = (size_t)snprintf(b, 512, "%smx: *.%s.%s.%s.%s\n", head, label,
	    label, label,
	    "abcdefghijklmnopqrstuvwxyz12345678901234567890123456789012345");
	CHECK(mtasts_policy_parse(b, n, &p) == 0); /* 253 after "*." */
	CHECK(strlen(p.mx[0]) == 255);
	n = (size_t)snprintf(b, 512, "%smx: *.%s.%s.%s.%s\n", head, label,
	    label, label,
	    "abcdefghijklmnopqrstuvwxyz123456789012345678901234567890123456");
	CHECK(mtasts_policy_parse(b, n, &p) == -1);
	free(b);
}

UNIT_TEST(test_mtasts_mx_matching)
{
	struct mtasts_policy p;

	CHECK(parse("version: STSv1\nmode: enforce\nmx: *.example.com\n"
		    "mx: mail.Example.NET.\nmax_age: 60\n",
		  &p) == 0);
	/* RFC 8461 4.1: one label more, not the name itself, not two */
	CHECK(mtasts_mx_matches(&p, "mx.example.com") == 1);
	CHECK(mtasts_mx_matches(&p, "MX.EXAMPLE.COM") == 1);
	CHECK(mtasts_mx_matches(&p, "mx.example.com.") == 1);
	CHECK(mtasts_mx_matches(&p, "example.com") == 0);
	CHECK(mtasts_mx_matches(&p, "a.b.example.com") == 0);
	CHECK(mtasts_mx_matches(&p, "mx.example.com.evil") == 0);
	CHECK(mtasts_mx_matches(&p, "mxexample.com") == 0);
	CHECK(mtasts_mx_matches(&p, ".example.com") == 0);
	CHECK(mtasts_mx_matches(&p, "*.example.com") == 0);
	/* exact names */
	CHECK(mtasts_mx_matches(&p, "mail.example.net") == 1);
	CHECK(mtasts_mx_matches(&p, "MAIL.example.net.") == 1);
	CHECK(mtasts_mx_matches(&p, "x.mail.example.net") == 0);
	CHECK(mtasts_mx_matches(&p, "example.net") == 0);
	CHECK(mtasts_mx_matches(&p, "mail.example.net..") == 0);
	CHECK(mtasts_mx_matches(&p, "") == 0);
	CHECK(mtasts_mx_matches(&p, ".") == 0);
	CHECK(mtasts_mx_matches(&p, NULL) == 0);
	CHECK(mtasts_mx_matches(NULL, "mail.example.net") == 0);
}

UNIT_TEST(test_tlsrpt_txt_records)
{
	struct tlsrpt_txt t;

	/* RFC 8460 3, the examples */
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1;rua=mailto:reports@example.com",
		  &t) == 0);
	CHECK(t.nrua == 1);
	CHECK_STR(t.rua[0], "mailto:reports@example.com");
	CHECK(tlsrpt_txt_parse(
		  "v=TLSRPTv1; rua=https://reporting.example.com/v1/tlsrpt",
		  &t) == 0);
	CHECK(t.nrua == 1);
	CHECK_STR(t.rua[0], "https://reporting.example.com/v1/tlsrpt");
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1; rua=mailto:reports@example.com,"
			       "https://reporting.example.com/v1/tlsrpt",
		  &t) == 0);
	CHECK(t.nrua == 2);

	/* spaces around ',', a final ';', extensions, scheme case, query */
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1 ; ext=1; rua=MAILTO:a@x.org , "
			       "HTTPS://r.x.org/p?a=b ;",
		  &t) == 0);
	CHECK(t.nrua == 2);
	CHECK_STR(t.rua[0], "MAILTO:a@x.org");
	CHECK_STR(t.rua[1], "HTTPS://r.x.org/p?a=b");

	/* other schemes and unusable URIs skipped; four kept */
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1; rua=http://x.org/,mailto:noat,"
			       "ftp://x.org,mailto:@x.org,https:///p,"
			       "mailto:1@x.org,mailto:2@x.org,mailto:3@x.org,"
			       "https://4.x.org,mailto:5@x.org",
		  &t) == 0);
	CHECK(t.nrua == TLSRPT_RUA_MAX);
	CHECK_STR(t.rua[0], "mailto:1@x.org");
	CHECK_STR(t.rua[3], "https://4.x.org");

	/* refused */
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1", &t) == -1);
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1;", &t) == -1);
	CHECK(tlsrpt_txt_parse("v=TLSRPTv2; rua=mailto:a@x.org", &t) == -1);
	CHECK(tlsrpt_txt_parse("v=tlsrptv1; rua=mailto:a@x.org", &t) == -1);
	CHECK(tlsrpt_txt_parse("rua=mailto:a@x.org; v=TLSRPTv1", &t) == -1);
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1; ext=1", &t) == -1);
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1; rua=", &t) == -1);
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1; rua=mailto:a@x.org,", &t) == -1);
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1; rua=mailto:a@x.org,,mailto:b@x.org",
		  &t) == -1);
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1; rua=mailto:a@x.org; "
			       "rua=mailto:b@x.org",
		  &t) == -1);
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1; rua=mailto:a @x.org", &t) == -1);
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1; rua=http://x.org/", &t) == -1);
	CHECK(t.nrua == 0);
	CHECK(tlsrpt_txt_parse("v=TLSRPTv1 rua=mailto:a@x.org", &t) == -1);
	CHECK(tlsrpt_txt_parse(NULL, &t) == -1);
}

UNIT_TEST(test_tlsrpt_uri_bounds)
{
	struct tlsrpt_txt t;
	char buf[1200];
	size_t n;

	/* a URI of TLSRPT_URI_MAX bytes is kept, longer skipped */
	n = (size_t)snprintf(buf, 64, "v=TLSRPTv1; rua=https://");
	memset(buf + n, 'a', TLSRPT_URI_MAX - 8);
	n += TLSRPT_URI_MAX - 8;
	buf[n] = '\0';
	CHECK(tlsrpt_txt_parse(buf, &t) == 0);
	CHECK(t.nrua == 1 && strlen(t.rua[0]) == TLSRPT_URI_MAX);
	strcpy(buf + n, "a,mailto:a@x.org");
	CHECK(tlsrpt_txt_parse(buf, &t) == 0);
	CHECK(t.nrua == 1);
	CHECK_STR(t.rua[0], "mailto:a@x.org");
	/* a whole record beyond MTASTS_TXT_MAX is refused */
	n = strlen(buf);
	buf[n++] = ',';
	while (n < MTASTS_TXT_MAX + 10)
		buf[n++] = 'b';
	buf[n] = '\0';
	CHECK(tlsrpt_txt_parse(buf, &t) == -1);
}
