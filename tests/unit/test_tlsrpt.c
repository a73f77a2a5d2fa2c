/*
 * test_tlsrpt: the counts of TLS reports (per day, domain, policy and
 * failure, within their caps), their files read back, the report's JSON
 * (RFC 8460 4) field by field, and the report as a message (5.3).
 */
#include <stdlib.h>
#include <zlib.h>

#include <jansson.h>

#include "unit.h"
#include "tlspolicy/tlsrpt_int.h"
#include "util/base64.h"
#include "util/buf.h"

#define DAY 1764806400 /* 2025-12-04T00:00:00Z */

static const struct tlsrpt_policy none = { TLSRPT_POLICY_NONE, "example.org", 0,
	NULL, 0, NULL };

static void
rec(const struct tlsrpt_policy *p, enum tlsrpt_result r, const char *mx,
    const char *ip, int64_t when)
{
	tr_counting = 1;
	struct tlsrpt_session s = { mx, ip, "192.0.2.1", r,
		r == TLSRPT_SUCCESS ? NULL : "no STARTTLS in EHLO" };

	tlsrpt_record(p, &s, when);
}

static struct tr_domain *
dom(const char *name)
{
	struct tr_period *p;
	struct tr_domain *d;

	for (p = tr_periods; p; p = p->next)
		for (d = p->domains; d; d = d->next)
			if (strcmp(d->name, name) == 0)
				return d;
	return NULL;
}

static int
nperiods(void)
{
	struct tr_period *p;
	int n = 0;

	for (p = tr_periods; p; p = p->next)
		n++;
	return n;
}

UNIT_TEST(test_sessions_are_counted_per_domain_policy_and_failure)
{
	struct tr_domain *d;

	tr_reset();
	rec(&none, TLSRPT_SUCCESS, "mx1.example.org", "198.51.100.1", DAY + 10);
	rec(&none, TLSRPT_SUCCESS, "mx1.example.org", "198.51.100.1", DAY + 20);
	rec(&none, TLSRPT_SUCCESS, "mx2.example.org", "198.51.100.2", DAY + 30);
	rec(&none, TLSRPT_STARTTLS_NOT_SUPPORTED, "mx2.example.org",
	    "198.51.100.2", DAY + 40);
	rec(&none, TLSRPT_STARTTLS_NOT_SUPPORTED, "mx2.example.org",
	    "198.51.100.2", DAY + 50);
	rec(&none, TLSRPT_STARTTLS_NOT_SUPPORTED, "mx3.example.org",
	    "198.51.100.3", DAY + 60);
	CHECK(nperiods() == 1);
	d = dom("example.org");
	CHECK(d != NULL);
	if (d == NULL)
		return;
	CHECK(d->npol == 1);
	CHECK(d->pol[0].ok == 3 && d->pol[0].failed == 3);
	CHECK(d->pol[0].ndetails == 2);
	CHECK(d->pol[0].details[0].count == 2);
	CHECK_STR(d->pol[0].details[0].mx, "mx2.example.org");
	CHECK_STR(d->pol[0].details[0].info, "no STARTTLS in EHLO");
	CHECK(d->pol[0].details[1].count == 1);
	tr_reset();
}

UNIT_TEST(test_a_domain_is_counted_in_lower_case_without_its_dot)
{
	struct tlsrpt_policy p = none;

	tr_reset();
	p.domain = "Example.ORG.";
	rec(&p, TLSRPT_SUCCESS, NULL, NULL, DAY);
	CHECK(dom("example.org") != NULL && dom("example.org")->pol[0].ok == 1);
	p.domain = "../etc";
	rec(&p, TLSRPT_SUCCESS, NULL, NULL, DAY);
	p.domain = "";
	rec(&p, TLSRPT_SUCCESS, NULL, NULL, DAY);
	p.domain = NULL;
	rec(&p, TLSRPT_SUCCESS, NULL, NULL, DAY);
	p.domain = "example.net";
	rec(&p, (enum tlsrpt_result)99, NULL, NULL, DAY);
	CHECK(tr_periods->ndomains == 1);
	tr_reset();
}

UNIT_TEST(test_each_utc_day_is_a_period_of_its_own)
{
	tr_reset();
	rec(&none, TLSRPT_SUCCESS, NULL, NULL, DAY + 86399);
	rec(&none, TLSRPT_SUCCESS, NULL, NULL, DAY + 86400);
	CHECK(nperiods() == 2);
	CHECK(tr_periods->begin == DAY && tr_periods->end == DAY + 86400);
	CHECK_STR(tr_periods->dir, "2025-12-04");
	CHECK(tr_periods->next->begin == DAY + 86400);
	CHECK(tr_report_end(tr_periods) == DAY + 86399);
	tr_reset();
}

UNIT_TEST(test_a_cut_ends_the_day_so_far_and_counts_start_afresh)
{
	struct tr_period *p;

	tr_reset();
	rec(&none, TLSRPT_SUCCESS, NULL, NULL, DAY + 100);
	tr_period_cut(DAY + 200);
	rec(&none, TLSRPT_SUCCESS, NULL, NULL, DAY + 300);
	rec(&none, TLSRPT_SUCCESS, NULL, NULL, DAY + 400);
	CHECK(nperiods() == 2);
	p = tr_periods;
	CHECK(p->cut && p->begin == DAY && p->end == DAY + 200);
	CHECK(tr_report_end(p) == DAY + 200);
	CHECK(p->domains->pol[0].ok == 1);
	p = p->next;
	CHECK(!p->cut && p->begin == DAY + 200 && p->end == DAY + 86400);
	CHECK_STR(p->dir, "2025-12-04T000320Z");
	CHECK(p->domains->pol[0].ok == 2);
	tr_reset();
}

UNIT_TEST(test_two_cuts_in_one_second_never_make_two_periods_of_one_begin)
{
	struct tr_period *p, *q;

	tr_reset();
	rec(&none, TLSRPT_SUCCESS, NULL, NULL, DAY + 100);
	tr_period_cut(DAY + 200);
	tr_period_cut(DAY + 200);
	rec(&none, TLSRPT_SUCCESS, NULL, NULL, DAY + 200);
	tr_period_cut(DAY + 200);
	rec(&none, TLSRPT_SUCCESS, NULL, NULL, DAY + 300);
	for (p = tr_periods; p; p = p->next)
		for (q = p->next; q; q = q->next) {
			CHECK(p->begin != q->begin);
			CHECK(strcmp(p->dir, q->dir) != 0);
			CHECK(p->end <= q->begin);
		}
	/* every session counted once, in the order of the periods */
	CHECK(tr_periods->domains->pol[0].ok == 1);
	tr_reset();
}

UNIT_TEST(test_failure_details_past_the_cap_count_in_the_summary_only)
{
	char mx[64];
	int i;
	struct tr_domain *d;

	tr_reset();
	for (i = 0; i < TLSRPT_DETAILS_MAX + 5; i++) {
		snprintf(mx, sizeof(mx), "mx%d.example.org", i);
		rec(&none, TLSRPT_STARTTLS_NOT_SUPPORTED, mx, "198.51.100.9",
		    DAY);
	}
	d = dom("example.org");
	CHECK(d->pol[0].ndetails == TLSRPT_DETAILS_MAX);
	CHECK(d->pol[0].failed == TLSRPT_DETAILS_MAX + 5);
	tr_reset();
}

UNIT_TEST(test_policies_past_the_cap_are_counted_as_dropped)
{
	char line[64];
	const char *strings[1] = { line };
	struct tlsrpt_policy p = { TLSRPT_POLICY_STS, "example.org", 1, strings,
		0, NULL };
	int i;

	tr_reset();
	for (i = 0; i < TLSRPT_POLICIES_MAX + 2; i++) {
		snprintf(line, sizeof(line), "max_age: %d", 1000 + i);
		rec(&p, TLSRPT_SUCCESS, NULL, NULL, DAY);
		rec(&p, TLSRPT_SUCCESS, NULL, NULL, DAY);
	}
	CHECK(dom("example.org")->npol == TLSRPT_POLICIES_MAX);
	CHECK(dom("example.org")->dropped == 4);
	tr_reset();
}

UNIT_TEST(test_domains_past_the_cap_of_a_day_are_not_counted)
{
	struct tlsrpt_policy p = none;
	char name[64];
	int i;

	tr_reset();
	for (i = 0; i < TLSRPT_DOMAINS_MAX + 3; i++) {
		snprintf(name, sizeof(name), "d%d.example", i);
		p.domain = name;
		rec(&p, TLSRPT_SUCCESS, NULL, NULL, DAY);
	}
	CHECK(tr_periods->ndomains == TLSRPT_DOMAINS_MAX);
	CHECK(tr_periods->dropped_domains == 3);
	/* a domain already counted still is */
	p.domain = "d0.example";
	rec(&p, TLSRPT_SUCCESS, NULL, NULL, DAY);
	CHECK(dom("d0.example")->pol[0].ok == 2);
	tr_reset();
}

static json_t *
report(const char *domain)
{
	struct tr_meta m = { "Example Sender", "postmaster@mail.test",
		"0123abcd@mail.test" };

	return tr_report_json(tr_periods, dom(domain), &m);
}

#define JS(o, k) json_string_value(json_object_get((o), (k)))
#define JI(o, k) json_integer_value(json_object_get((o), (k)))

UNIT_TEST(test_the_report_has_every_field_rfc_8460_defines)
{
	json_t *r, *pol, *po, *fd;

	tr_reset();
	rec(&none, TLSRPT_SUCCESS, "mx1.example.org", "198.51.100.1", DAY + 1);
	rec(&none, TLSRPT_STARTTLS_NOT_SUPPORTED, "mx2.example.org",
	    "198.51.100.2", DAY + 2);
	r = report("example.org");
	CHECK(r != NULL);
	CHECK_STR(JS(r, "organization-name"), "Example Sender");
	CHECK_STR(JS(json_object_get(r, "date-range"), "start-datetime"),
	    "2025-12-04T00:00:00Z");
	CHECK_STR(JS(json_object_get(r, "date-range"), "end-datetime"),
	    "2025-12-04T23:59:59Z");
	CHECK_STR(JS(r, "contact-info"), "postmaster@mail.test");
	CHECK_STR(JS(r, "report-id"), "0123abcd@mail.test");
	CHECK(json_array_size(json_object_get(r, "policies")) == 1);
	po = json_array_get(json_object_get(r, "policies"), 0);
	pol = json_object_get(po, "policy");
	CHECK_STR(JS(pol, "policy-type"), "no-policy-found");
	CHECK_STR(JS(pol, "policy-domain"), "example.org");
	CHECK(json_object_get(pol, "policy-string") == NULL);
	CHECK(json_object_get(pol, "mx-host") == NULL);
	CHECK(JI(json_object_get(po, "summary"),
		  "total-successful-session-count") == 1);
	CHECK(JI(json_object_get(po, "summary"),
		  "total-failure-session-count") == 1);
	CHECK(json_array_size(json_object_get(po, "failure-details")) == 1);
	fd = json_array_get(json_object_get(po, "failure-details"), 0);
	CHECK_STR(JS(fd, "result-type"), "starttls-not-supported");
	CHECK_STR(JS(fd, "sending-mta-ip"), "192.0.2.1");
	CHECK_STR(JS(fd, "receiving-mx-hostname"), "mx2.example.org");
	CHECK_STR(JS(fd, "receiving-ip"), "198.51.100.2");
	CHECK(JI(fd, "failed-session-count") == 1);
	CHECK_STR(JS(fd, "additional-information"), "no STARTTLS in EHLO");
	json_decref(r);
	tr_reset();
}

UNIT_TEST(test_an_sts_policy_is_reported_with_its_lines_and_mx_patterns)
{
	const char *lines[] = { "version: STSv1", "mode: enforce",
		"mx: *.example.org", "max_age: 86400" };
	const char *mx[] = { "*.example.org" };
	struct tlsrpt_policy p = { TLSRPT_POLICY_STS, "example.org", 4, lines,
		1, mx };
	json_t *r, *pol;

	tr_reset();
	rec(&p, TLSRPT_SUCCESS, NULL, NULL, DAY);
	r = report("example.org");
	pol = json_object_get(json_array_get(json_object_get(r, "policies"), 0),
	    "policy");
	CHECK_STR(JS(pol, "policy-type"), "sts");
	CHECK(json_array_size(json_object_get(pol, "policy-string")) == 4);
	CHECK_STR(json_string_value(
		      json_array_get(json_object_get(pol, "policy-string"), 1)),
	    "mode: enforce");
	CHECK_STR(json_string_value(
		      json_array_get(json_object_get(pol, "mx-host"), 0)),
	    "*.example.org");
	CHECK(json_object_get(json_array_get(json_object_get(r, "policies"), 0),
		  "failure-details") == NULL);
	json_decref(r);
	tr_reset();
}

UNIT_TEST(test_the_counts_read_back_from_their_file_are_the_same)
{
	char mx[64];
	json_t *o, *o2;
	char *a, *b;
	int i;

	tr_reset();
	rec(&none, TLSRPT_SUCCESS, "mx1.example.org", "198.51.100.1", DAY + 5);
	for (i = 0; i < TLSRPT_DETAILS_MAX + 2; i++) {
		snprintf(mx, sizeof(mx), "mx%d.example.org", i);
		rec(&none, TLSRPT_STARTTLS_NOT_SUPPORTED, mx, "198.51.100.9",
		    DAY + 6);
	}
	tr_period_cut(DAY + 7);
	o = tr_domain_to_json(tr_periods, dom("example.org"));
	a = json_dumps(o, JSON_SORT_KEYS);
	tr_reset();
	CHECK(tr_domain_from_json(o) == 0);
	CHECK(tr_periods != NULL && tr_periods->cut &&
	      tr_periods->end == DAY + 7);
	CHECK(dom("example.org")->pol[0].failed == TLSRPT_DETAILS_MAX + 2);
	CHECK(dom("example.org")->dirty == 0);
	o2 = tr_domain_to_json(tr_periods, dom("example.org"));
	b = json_dumps(o2, JSON_SORT_KEYS);
	CHECK_STR(a, b);
	free(a);
	free(b);
	json_decref(o);
	json_decref(o2);
	tr_reset();
}

UNIT_TEST(test_a_malformed_counts_file_is_refused)
{
	static const char *const bad[] = {
		"{\"domain\":\"../x\",\"begin\":0,\"end\":86400,\"policies\":[]}",
		"{\"domain\":\"a.example\",\"begin\":0,\"end\":0,"
		"\"policies\":[]}",
		"{\"domain\":\"a.example\",\"begin\":0,\"end\":86400,"
		"\"policies\":[{\"type\":\"sts\",\"ok\":-1,\"failed\":0}]}",
		"{\"domain\":\"a.example\",\"begin\":0,\"end\":86400,"
		"\"policies\":[{\"type\":\"x\",\"ok\":1,\"failed\":0}]}",
		"{\"domain\":\"a.example\",\"begin\":0,\"end\":86400,"
		"\"policies\":[{\"type\":\"sts\",\"ok\":1,\"failed\":1,"
		"\"details\":[{\"result\":\"dane-required\",\"count\":2}]}]}",
		"{\"domain\":\"a.example\",\"begin\":0,\"end\":86400,"
		"\"policies\":[{\"type\":\"sts\",\"ok\":1,\"failed\":1,"
		"\"details\":[{\"result\":\"success\",\"count\":1}]}]}",
	};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		json_t *o = json_loads(bad[i], 0, NULL);

		tr_reset();
		CHECK(o != NULL);
		if (tr_domain_from_json(o) != -1)
			printf("  accepted: %s\n", bad[i]);
		CHECK(tr_domain_from_json(o) == -1);
		json_decref(o);
	}
	tr_reset();
}

static size_t
gunzip(const unsigned char *in, size_t len, char *out, size_t max)
{
	z_stream z;
	size_t n;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 15 + 16) != Z_OK)
		return 0;
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = (unsigned char *)out;
	z.avail_out = (uInt)max;
	n = inflate(&z, Z_FINISH) == Z_STREAM_END ? z.total_out : 0;
	inflateEnd(&z);
	return n;
}

UNIT_TEST(test_the_report_mail_carries_the_gzip_as_rfc_8460_says)
{
	const char *json = "{\"organization-name\":\"x\"}";
	unsigned char *gz, dec[4096];
	char plain[256], *att, *end;
	size_t gzlen, n, k = 0;
	struct tr_mail m;
	struct buf b;
	long dl;

	CHECK(tr_gzip(json, strlen(json), &gz, &gzlen) == 0);
	CHECK(gz[0] == 0x1f && gz[1] == 0x8b);
	n = gunzip(gz, gzlen, plain, sizeof(plain));
	CHECK(n == strlen(json) && memcmp(plain, json, n) == 0);
	memset(&m, 0, sizeof(m));
	m.from = "noreply-smtp-tls-reporting@mail.test";
	m.to = "reports@example.org";
	m.submitter = "mail.test";
	m.domain = "example.org";
	m.report_id = "0123abcd@mail.test";
	m.unique = "0123abcd";
	m.begin = DAY;
	m.end = DAY + 86399;
	m.now = DAY + 86400 + 300;
	m.gz = gz;
	m.gzlen = gzlen;
	buf_init(&b, 1 << 20);
	CHECK(tr_mail_build(&m, &b) == 0);
	CHECK(buf_append(&b, "", 1) == 0);
	CHECK(strstr(b.data, "\r\nSubject: Report Domain: example.org "
			     "Submitter: mail.test Report-ID: "
			     "<0123abcd@mail.test>\r\n") != NULL);
	CHECK(strstr(b.data, "\r\nTLS-Report-Domain: example.org\r\n"));
	CHECK(strstr(b.data, "\r\nTLS-Report-Submitter: mail.test\r\n"));
	CHECK(strstr(b.data, "Content-Type: multipart/report; "
			     "report-type=\"tlsrpt\";"));
	CHECK(strstr(b.data, "Content-Type: application/tlsrpt+gzip\r\n"));
	CHECK(strstr(b.data, "filename=\"mail.test!example.org!1764806400!"
			     "1764892799!0123abcd.json.gz\"") != NULL);
	/* the attachment decodes to the gzip */
	att = strstr(b.data, "json.gz\"\r\n\r\n");
	CHECK(att != NULL);
	if (att != NULL) {
		att += 11;
		end = strstr(att, "\r\n\r\n--");
		for (; att < end; att++)
			if (*att != '\r' && *att != '\n')
				plain[k++] = *att;
		plain[k] = '\0';
		dl = base64_decode(dec, sizeof(dec), plain, k);
		CHECK(dl == (long)gzlen && memcmp(dec, gz, gzlen) == 0);
	}
	buf_free(&b);
	free(gz);
}

UNIT_TEST(test_the_counts_written_at_the_stop_are_read_back_at_the_start)
{
	char dir[] = "/tmp/postern-tlsrpt-XXXXXX", longname[256], cmd[128];
	struct tlsrpt_policy p = none;
	int i;

	CHECK(mkdtemp(dir) != NULL);
	tr_reset();
	CHECK(tr_file_start(dir, NULL) == 0);
	/* a name too long for a file name of its own (the 255 bytes) */
	for (i = 0; i < TLSRPT_DOMAIN_MAX; i++)
		longname[i] = (i % 50 == 40) ? '.' : 'a';
	longname[TLSRPT_DOMAIN_MAX] = '\0';
	rec(&none, TLSRPT_SUCCESS, NULL, NULL, DAY + 1);
	rec(&none, TLSRPT_STARTTLS_NOT_SUPPORTED, "mx.example.org",
	    "198.51.100.1", DAY + 2);
	p.domain = longname;
	rec(&p, TLSRPT_SUCCESS, NULL, NULL, DAY + 3);
	tr_file_stop();
	tr_reset();
	CHECK(tr_file_start(dir, NULL) == 0);
	CHECK(nperiods() == 1);
	CHECK(dom("example.org") != NULL &&
	      dom("example.org")->pol[0].ok == 1 &&
	      dom("example.org")->pol[0].failed == 1);
	CHECK(dom(longname) != NULL && dom(longname)->pol[0].ok == 1);
	tr_reset();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
}
