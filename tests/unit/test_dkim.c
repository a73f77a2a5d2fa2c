/*
 * test_dkim: relaxed canonicalisation (RFC 6376 3.4.5), field selection,
 * the published RFC 8463 signatures reproduced byte for byte, and round
 * trips verified by dkimpy (python3-dkim) through /usr/bin/python3.
 */
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "unit.h"
#include "dkim/canon.h"
#include "dkim/dkim.h"
#include "util/base64.h"

#define T_DIR "/tmp/postern-unit-dkim-"

/* The whole header section, field by field, canonicalised. */
static int
canon_section(const char *hdr, struct buf *out)
{
	struct dkim_field f;
	size_t pos = 0, hlen, boff;

	dkim_split(hdr, strlen(hdr), &hlen, &boff);
	while (dkim_field_next(hdr, hlen, &pos, &f))
		if (dkim_canon_header_relaxed(f.p, f.len, out) == -1)
			return -1;
	return buf_append(out, "", 1);
}

static int
canon_body(const char *body, size_t len, struct buf *out)
{
	if (dkim_canon_body_relaxed(body, len, dkim_sink_buf, out) == -1)
		return -1;
	return buf_append(out, "", 1);
}

UNIT_TEST(test_relaxed_header_canonicalisation_matches_rfc_6376_example)
{
	static const struct {
		const char *label, *in, *want;
	} cases[] = {
		{ "RFC 6376 3.4.5", "A: X\r\nB : Y\t\r\n\tZ  \r\n",
		    "a:X\r\nb:Y Z\r\n" },
		{ "name lower-cased, value kept", "SUBJECT: Hello World\r\n",
		    "subject:Hello World\r\n" },
		{ "long folding",
		    "To: a@example.org,\r\n  b@example.org,\r\n"
		    "\t \tc@example.org\r\n",
		    "to:a@example.org, b@example.org, c@example.org\r\n" },
		{ "empty value", "Subject:\r\n", "subject:\r\n" },
		{ "only WSP in value", "Subject: \t \r\n\t\r\n",
		    "subject:\r\n" },
		{ "last field without CRLF", "From: a\r\nX:  y ",
		    "from:a\r\nx:y\r\n" },
		{ "colon in the value", "Date: 12:00 : 01\r\n",
		    "date:12:00 : 01\r\n" },
		{ "8-bit bytes kept",
		    "Subject: caf\xc3\xa9 \xc3\x89t\xc3\xa9\r\n",
		    "subject:caf\xc3\xa9 \xc3\x89t\xc3\xa9\r\n" },
	};
	struct buf b;
	size_t i;

	buf_init(&b, 4096);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		CHECK(canon_section(cases[i].in, &b) == 0);
		if (b.len == 0 || strcmp(b.data, cases[i].want) != 0)
			printf("  case: %s\n", cases[i].label);
		CHECK_STR(b.data, cases[i].want);
	}
	buf_reset(&b);
	CHECK(dkim_canon_header_relaxed("no colon here", 13, &b) == -1);
	CHECK(b.len == 0);
	buf_free(&b);
}

UNIT_TEST(test_relaxed_body_canonicalisation_matches_rfc_6376_example)
{
	static const struct {
		const char *label, *in, *want;
	} cases[] = {
		{ "RFC 6376 3.4.5", " C \r\nD \t E\r\n\r\n\r\n",
		    " C\r\nD E\r\n" },
		{ "empty body stays empty", "", "" },
		{ "a lone CRLF is empty", "\r\n", "" },
		{ "trailing empty lines dropped", "a\r\n\r\n\r\n\r\n",
		    "a\r\n" },
		{ "trailing WSP-only lines dropped", "a\r\n \r\n\t\r\n",
		    "a\r\n" },
		{ "inner empty lines kept", "a\r\n\r\n \r\nb\r\n",
		    "a\r\n\r\n\r\nb\r\n" },
		{ "CRLF added at the end", "abc", "abc\r\n" },
		{ "WSP at the very end", "abc \t", "abc\r\n" },
		{ "bare LF is text", "a\nb \r\n", "a\nb\r\n" },
		{ "bare CR is text", "a \rb\r", "a \rb\r\r\n" },
		{ "leading WSP kept as one SP", "\t\t x\r\n", " x\r\n" },
	};
	struct buf b;
	size_t i;

	buf_init(&b, 4096);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		CHECK(canon_body(cases[i].in, strlen(cases[i].in), &b) == 0);
		if (b.len == 0 || strcmp(b.data, cases[i].want) != 0)
			printf("  case: %s\n", cases[i].label);
		CHECK_STR(b.data, cases[i].want);
	}
	buf_free(&b);
}

UNIT_TEST(test_body_canonicalisation_is_unchanged_by_a_second_pass)
{
	struct buf a, b;
	char *big;
	size_t i, n = 3 * 1024 * 1024;

	/* Over many staging blocks: lines of text, WSP runs, empty lines. */
	big = malloc(n);
	CHECK(big != NULL);
	if (big == NULL)
		return;
	for (i = 0; i < n; i++)
		big[i] = "ab  c\t\r\n\r\n x \r\n"[i % 16];
	buf_init(&a, n + 2);
	buf_init(&b, n + 2);
	CHECK(dkim_canon_body_relaxed(big, n, dkim_sink_buf, &a) == 0);
	CHECK(a.len > 0 && a.len < n);
	CHECK(dkim_canon_body_relaxed(a.data, a.len, dkim_sink_buf, &b) == 0);
	CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
	/* A bounded sink that fills up fails the whole canonicalisation. */
	buf_free(&b);
	buf_init(&b, 1000);
	CHECK(dkim_canon_body_relaxed(big, n, dkim_sink_buf, &b) == -1);
	free(big);
	buf_free(&a);
	buf_free(&b);
}

UNIT_TEST(test_header_section_ends_at_the_first_empty_line)
{
	static const struct {
		const char *label, *msg;
		size_t hlen, boff;
	} cases[] = {
		{ "normal", "A: 1\r\n\r\nbody\r\n", 6, 8 },
		{ "no header", "\r\nbody", 0, 2 },
		{ "no empty line", "A: 1\r\nB: 2\r\n", 12, 12 },
		{ "no CRLF at all", "A: 1\nB: 2", 9, 9 },
		{ "WSP-only continuation is not empty", "A: 1\r\n \r\n\r\nx", 9,
		    11 },
		{ "empty", "", 0, 0 },
	};
	size_t i, hlen, boff;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dkim_split(cases[i].msg, strlen(cases[i].msg), &hlen, &boff);
		if (hlen != cases[i].hlen || boff != cases[i].boff)
			printf("  case: %s (%zu %zu)\n", cases[i].label, hlen,
			    boff);
		CHECK(hlen == cases[i].hlen && boff == cases[i].boff);
	}
}

UNIT_TEST(test_signed_header_list_oversigns_from_and_counts_the_rest)
{
	static const struct {
		const char *label, *hdr, *want;
	} cases[] = {
		{ "typical",
		    "Received: x\r\nFrom: a\r\nTo: b\r\nSubject: s\r\nDate: d\r\n"
		    "Message-ID: <m>\r\nMIME-Version: 1.0\r\n"
		    "Content-Type: text/plain\r\nX-Mailer: y\r\n",
		    "from:from:to:subject:date:message-id:mime-version:"
		    "content-type" },
		{ "no From: still signs its absence", "Subject: s\r\n",
		    "from:subject" },
		{ "any case, repeated",
		    "TO: a\r\nfrom: x\r\nto: b\r\nCc : c\r\n",
		    "from:from:to:to:cc" },
		{ "folded and the rest",
		    "From: a\r\nReferences: <a>\r\n <b>\r\n"
		    "In-Reply-To: <b>\r\nReply-To: r\r\n"
		    "Content-Transfer-Encoding: 8bit\r\n",
		    "from:from:reply-to:content-transfer-encoding:in-reply-to:"
		    "references" },
		{ "a lookalike name is not signed", "From-X: a\r\nXFrom: b\r\n",
		    "from" },
	};
	char h[1024], many[1024];
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		CHECK(dkim_header_list(cases[i].hdr, strlen(cases[i].hdr), h,
			  sizeof(h)) == 0);
		if (strcmp(h, cases[i].want) != 0)
			printf("  case: %s\n", cases[i].label);
		CHECK_STR(h, cases[i].want);
	}
	/* More instances than DKIM_REPEAT_MAX: not signed at all. */
	many[0] = '\0';
	for (i = 0; i <= DKIM_REPEAT_MAX; i++)
		strcat(many, "To: x\r\n");
	CHECK(dkim_header_list(many, strlen(many), h, sizeof(h)) == -1);
	CHECK(dkim_header_list("From: a\r\n", 9, h, 8) == -1); /* too small */
}

UNIT_TEST(test_selection_takes_instances_bottom_up)
{
	static const struct {
		const char *label, *h, *want;
	} cases[] = {
		{ "bottom-most first", "x", "x:3\r\n" },
		{ "then upwards", "x:x:x", "x:3\r\nx:2\r\nx:1\r\n" },
		{ "one too many signs nothing", "from:from", "from:a\r\n" },
		{ "h= order, FWS and case", " X :\r\n from: x ",
		    "x:3\r\nfrom:a\r\nx:2\r\n" },
		{ "absent name", "subject:x", "x:3\r\n" },
	};
	static const char hdr[] = "X: 1\r\nFrom: a\r\nX: 2\r\nx:  3\r\n";
	static const char *bad[] = { "", ":", "a::b", "a;b", "a b",
		"x:", "\xc3\xa9" };
	struct buf b;
	size_t i;

	buf_init(&b, 4096);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		buf_reset(&b);
		CHECK(
		    dkim_canon_selected(hdr, strlen(hdr), cases[i].h, &b) == 0);
		CHECK(buf_append(&b, "", 1) == 0);
		if (strcmp(b.data, cases[i].want) != 0)
			printf("  case: %s\n", cases[i].label);
		CHECK_STR(b.data, cases[i].want);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		buf_reset(&b);
		CHECK(dkim_canon_selected(hdr, strlen(hdr), bad[i], &b) == -1);
	}
	buf_free(&b);
}

/* --- keys and signatures --- */

static int
write_file(const char *path, const char *data, size_t len)
{
	FILE *fp;
	int ok;

	unlink(path);
	if ((fp = fopen(path, "w")) == NULL)
		return -1;
	ok = fwrite(data, 1, len, fp) == len;
	return fclose(fp) == 0 && ok ? 0 : -1;
}

/*
 * The value of tag (e.g. "b") in a DKIM-Signature field, folding and
 * spaces taken out.
 */
static int
tag_value(const char *field, const char *tag, char *out, size_t outlen)
{
	char flat[4096], key[16];
	const char *p, *e;
	size_t n = 0;

	for (p = field; *p != '\0' && n + 1 < sizeof(flat); p++)
		if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
			flat[n++] = *p;
	flat[n] = '\0';
	snprintf(key, sizeof(key), ";%s=", tag);
	if ((p = strstr(flat, key)) == NULL)
		return -1;
	p += strlen(key);
	e = strchr(p, ';');
	n = e ? (size_t)(e - p) : strlen(p);
	if (n >= outlen)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* Every line of the signature fields is shorter than 78 columns. */
static int
lines_are_short(const char *s, size_t len)
{
	size_t col = 0, i;

	for (i = 0; i < len; i++) {
		if (s[i] == '\r' && i + 1 < len && s[i + 1] == '\n') {
			col = 0;
			i++;
			continue;
		}
		col += s[i] == '\t' ? 8 : 1;
		if (col >= 78)
			return 0;
	}
	return 1;
}

static const char rfc8463_msg[] =
    "From: Joe SixPack <joe@football.example.com>\r\n"
    "To: Suzie Q <suzie@shopping.example.net>\r\n"
    "Subject: Is dinner ready?\r\n"
    "Date: Fri, 11 Jul 2003 21:00:37 -0700 (PDT)\r\n"
    "Message-ID: <20030712040037.46341.5F8J@football.example.com>\r\n"
    "\r\n"
    "Hi.\r\n"
    "\r\n"
    "We lost the game.  Are you hungry yet?\r\n"
    "\r\n"
    "Joe.\r\n";

/* RFC 8463 A.1: the RSA key of its example (also RFC 6376's). */
static const char rfc8463_rsa_pem[] =
    "-----BEGIN RSA PRIVATE KEY-----\n"
    "MIICXQIBAAKBgQDkHlOQoBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQi\n"
    "Y/J16JYi0Qvx/byYzCNb3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqM\n"
    "KrM3rG4hstT5QjvHO9PzoxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB\n"
    "AoGAH0cxOhFZDgzXWhDhnAJDw5s4roOXN4OhjiXa8W7Y3rhX3FJqmJSPuC8N9vQm\n"
    "6SVbaLAE4SG5mLMueHlh4KXffEpuLEiNp9Ss3O4YfLiQpbRqE7Tm5SxKjvvQoZZe\n"
    "zHorimOaChRL2it47iuWxzxSiRMv4c+j70GiWdxXnxe4UoECQQDzJB/0U58W7RZy\n"
    "6enGVj2kWF732CoWFZWzi1FicudrBFoy63QwcowpoCazKtvZGMNlPWnC7x/6o8Gc\n"
    "uSe0ga2xAkEA8C7PipPm1/1fTRQvj1o/dDmZp243044ZNyxjg+/OPN0oWCbXIGxy\n"
    "WvmZbXriOWoSALJTjExEgraHEgnXssuk7QJBALl5ICsYMu6hMxO73gnfNayNgPxd\n"
    "WFV6Z7ULnKyV7HSVYF0hgYOHjeYe9gaMtiJYoo0zGN+L3AAtNP9huqkWlzECQE1a\n"
    "licIeVlo1e+qJ6Mgqr0Q7Aa7falZ448ccbSFYEPD6oFxiOl9Y9se9iYHZKKfIcst\n"
    "o7DUw1/hz2Ck4N5JrgUCQQCyKveNvjzkkd8HjYs0SwM0fPjK16//5qDZ2UiDGnOe\n"
    "uEzxBDAr518Z8VFbR41in3W4Y3yCDgQlLlcETrS+zYcL\n"
    "-----END RSA PRIVATE KEY-----\n";

/* RFC 8463 A.1 gives the Ed25519 key as its 32-byte seed: as PKCS#8 it
 * is the seed after a fixed 16-byte prefix. */
static int
write_ed25519_seed_pem(const char *path, const char *seed_b64)
{
	static const unsigned char prefix[16] = { 0x30, 0x2e, 0x02, 0x01, 0x00,
		0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04,
		0x20 };
	unsigned char der[48];
	char b64[BASE64_ENCODED_LEN(48)], pem[256];
	int n;

	memcpy(der, prefix, sizeof(prefix));
	if (base64_decode(der + 16, 32, seed_b64, strlen(seed_b64)) != 32)
		return -1;
	base64_encode(b64, der, sizeof(der));
	n = snprintf(pem, sizeof(pem),
	    "-----BEGIN PRIVATE KEY-----\n%s\n-----END PRIVATE KEY-----\n",
	    b64);
	return write_file(path, pem, (size_t)n);
}

UNIT_TEST(test_rfc_8463_example_signatures_are_reproduced_exactly)
{
	static const struct dkim_sig_opts rfc = {
		.h = "from : to : subject : date : message-id : from : subject "
		     ": date",
		.i = "@football.example.com",
		.q = 1,
	};
	struct dkim_key *ed, *rsa, *keys[2];
	struct buf out;
	char txt[DKIM_TXT_MAX], v[1024], *second;

	CHECK(write_ed25519_seed_pem(T_DIR "rfc-ed.pem",
		  "nWGxne/9WmC6hEr0kuwsxERJxWl7MmkZcDusAxyuf2A=") == 0);
	CHECK(write_file(T_DIR "rfc-rsa.pem", rfc8463_rsa_pem,
		  strlen(rfc8463_rsa_pem)) == 0);
	/* A.2: the published DNS records. */
	CHECK(dkim_dns_txt(T_DIR "rfc-ed.pem", DKIM_ED25519, txt,
		  sizeof(txt)) == 0);
	CHECK_STR(txt,
	    "v=DKIM1; k=ed25519; p=11qYAYKxCrfVS/7TyWQHOg7hcvPapiMlrwIaaPcHURo=");
	CHECK(
	    dkim_dns_txt(T_DIR "rfc-rsa.pem", DKIM_RSA, txt, sizeof(txt)) == 0);
	CHECK_STR(txt,
	    "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDkHlOQ"
	    "oBTzWRiGs5V6NpP3idY6Wk08a5qhdR6wy5bdOKb2jLQiY/J16JYi0Qvx/byYzCNb"
	    "3W91y3FutACDfzwQ/BC/e/8uBsCR+yz1Lxj+PL6lHvqMKrM3rG4hstT5QjvHO9Pz"
	    "oxZyVYLzBfO2EeC3Ip3G+2kryOTIKT+l/K4w3QIDAQAB");

	ed = dkim_key_load(T_DIR "rfc-ed.pem", DKIM_ED25519,
	    "football.example.com", "brisbane");
	rsa = dkim_key_load(T_DIR "rfc-rsa.pem", DKIM_RSA,
	    "football.example.com", "test");
	CHECK(ed != NULL && rsa != NULL);
	if (ed == NULL || rsa == NULL)
		goto out;
	keys[0] = ed;
	keys[1] = rsa;
	/* A.3: both signatures, in the RFC's order. */
	buf_init(&out, 65536);
	CHECK(dkim_sign_opts(keys, 2, rfc8463_msg, strlen(rfc8463_msg),
		  1528637909, &rfc, &out) == 0);
	CHECK(buf_append(&out, "", 1) == 0);
	second = strstr(out.data + 1, "DKIM-Signature:");
	CHECK(strncmp(out.data, "DKIM-Signature:", 15) == 0 && second != NULL);
	if (second == NULL)
		goto out2;
	second[-1] = '\0'; /* cut between the two fields (at the LF) */

	CHECK(tag_value(out.data, "a", v, sizeof(v)) == 0);
	CHECK_STR(v, "ed25519-sha256");
	CHECK(tag_value(out.data, "bh", v, sizeof(v)) == 0);
	CHECK_STR(v, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	CHECK(tag_value(out.data, "b", v, sizeof(v)) == 0);
	CHECK_STR(v, "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQUdt9OdqQehSwhEIug4D11Bus"
		     "Fa3bT3FY5OsU7ZbnKELq+eXdp1Q1Dw==");

	CHECK(tag_value(second, "a", v, sizeof(v)) == 0);
	CHECK_STR(v, "rsa-sha256");
	CHECK(tag_value(second, "bh", v, sizeof(v)) == 0);
	CHECK_STR(v, "2jUSOH9NhtVGCQWNr9BrIAPreKQjO6Sn7XIkfJVOzv8=");
	CHECK(tag_value(second, "b", v, sizeof(v)) == 0);
	CHECK_STR(v,
	    "F45dVWDfMbQDGHJFlXUNB2HKfbCeLRyhDXgFpEL8GwpsRe0IeIixNTe3"
	    "DhCVlUrSjV4BwcVcOF6+FF3Zo9Rpo1tFOeS9mPYQTnGdaSGsgeefOsk2Jz"
	    "dA+L10TeYt9BgDfQNZtKdN1WO//KgIqXP7OdEFE4LjFYNcUxZQ4FADY+8=");
	CHECK(tag_value(second, "h", v, sizeof(v)) == 0);
	CHECK_STR(v, "from:to:subject:date:message-id:from:subject:date");
	CHECK(lines_are_short(out.data, strlen(out.data)));
out2:
	buf_free(&out);
out:
	dkim_key_free(ed);
	dkim_key_free(rsa);
	unlink(T_DIR "rfc-ed.pem");
	unlink(T_DIR "rfc-rsa.pem");
}

UNIT_TEST(test_key_generation_refuses_to_overwrite_and_is_private)
{
	static const char *path[2] = { T_DIR "gen-rsa.pem",
		T_DIR "gen-ed.pem" };
	static const enum dkim_alg alg[2] = { DKIM_RSA, DKIM_ED25519 };
	struct dkim_key *k;
	struct stat st;
	char txt[DKIM_TXT_MAX];
	int i;

	for (i = 0; i < 2; i++) {
		unlink(path[i]);
		CHECK(dkim_key_generate(path[i], alg[i]) == 0);
		CHECK(stat(path[i], &st) == 0 && (st.st_mode & 0777) == 0600);
		CHECK(dkim_key_generate(path[i], alg[i]) == -1);
		CHECK(dkim_dns_txt(path[i], alg[i], txt, sizeof(txt)) == 0);
		CHECK(strncmp(txt,
			  i == 0 ? "v=DKIM1; k=rsa; p=MIIBIjAN"
				 : "v=DKIM1; k=ed25519; p=",
			  i == 0 ? 26 : 22) == 0);
		CHECK(i == 0 || strlen(txt) == 22 + 44);
		CHECK(dkim_dns_txt(path[i], alg[i], txt, 40) == -1);
		/* the other algorithm's key is refused */
		CHECK(
		    dkim_dns_txt(path[i], alg[1 - i], txt, sizeof(txt)) == -1);
		CHECK(dkim_key_load(path[i], alg[1 - i], "example.org", "s") ==
		      NULL);
		/* d= and s= go into the field: nothing but a DNS name */
		CHECK(dkim_key_load(path[i], alg[i], "example.org", "a;b") ==
		      NULL);
		CHECK(dkim_key_load(path[i], alg[i], "example..org", "s") ==
		      NULL);
		CHECK(dkim_key_load(path[i], alg[i], "example.org\r\nX: y",
			  "s") == NULL);
		k = dkim_key_load(path[i], alg[i], "example.org", "s2024.a_b");
		CHECK(k != NULL);
		dkim_key_free(k);
		unlink(path[i]);
	}
	CHECK(dkim_key_load(T_DIR "missing.pem", DKIM_RSA, "example.org",
		  "s") == NULL);
}

/* --- round trips through dkimpy --- */

static const char verify_py[] =
    "import sys, dkim\n"
    "msg = open(sys.argv[1], 'rb').read()\n"
    "keys = {}\n"
    "for a in sys.argv[3:]:\n"
    "    sel, path = a.split('=', 1)\n"
    "    keys[sel.encode()] = open(path, 'rb').read().strip()\n"
    "def dns(name, timeout=5):\n"
    "    return keys.get(name.split(b'.')[0])\n"
    "try:\n"
    "    d = dkim.DKIM(msg)\n"
    "    n = sum(1 for h in d.headers if h[0].lower() == b'dkim-signature')\n"
    "    if n != int(sys.argv[2]):\n"
    "        raise Exception('%d signatures' % n)\n"
    "    for i in range(n):\n"
    "        if not d.verify(idx=i, dnsfunc=dns):\n"
    "            raise Exception('signature %d does not verify' % i)\n"
    "    print(True)\n"
    "except Exception as e:\n"
    "    print('False:', str(e).replace('\\n', ' '))\n";

/*
 * 1 when dkimpy finds nsig signatures on sig + msg and verifies each;
 * its answer (True, or False and why) in py_said.
 */
static char py_said[512];

static int
py_verify(const struct buf *sig, const char *msg, int nsig)
{
	char cmd[512];
	struct buf all;
	FILE *p;

	snprintf(py_said, sizeof(py_said), "(not run)\n");
	buf_init(&all, 1 << 20);
	if (sig->len == 0 || buf_append(&all, sig->data, sig->len) == -1 ||
	    buf_append(&all, msg, strlen(msg)) == -1 ||
	    write_file(T_DIR "msg.eml", all.data, all.len) == -1 ||
	    write_file(T_DIR "verify.py", verify_py, strlen(verify_py)) == -1) {
		buf_free(&all);
		return 0;
	}
	buf_free(&all);
	snprintf(cmd, sizeof(cmd),
	    "/usr/bin/python3 " T_DIR "verify.py " T_DIR "msg.eml %d "
	    "rsa=" T_DIR "rsa.txt ed=" T_DIR "ed.txt",
	    nsig);
	if ((p = popen(cmd, "r")) == NULL)
		return 0;
	if (fgets(py_said, sizeof(py_said), p) == NULL)
		snprintf(py_said, sizeof(py_said), "(no answer)\n");
	pclose(p);
	return strcmp(py_said, "True\n") == 0;
}

#define CHECK_VERIFIES(sig, msg, nsig)                                         \
	do {                                                                   \
		int ok_ = py_verify(sig, msg, nsig);                           \
		if (!ok_)                                                      \
			printf("  dkimpy: %s", py_said);                       \
		CHECK(ok_);                                                    \
	} while (0)

struct rt_keys {
	struct dkim_key *rsa, *ed;
};

static int
rt_setup(struct rt_keys *k)
{
	char txt[DKIM_TXT_MAX];

	unlink(T_DIR "rsa.pem");
	unlink(T_DIR "ed.pem");
	if (dkim_key_generate(T_DIR "rsa.pem", DKIM_RSA) == -1 ||
	    dkim_key_generate(T_DIR "ed.pem", DKIM_ED25519) == -1 ||
	    dkim_dns_txt(T_DIR "rsa.pem", DKIM_RSA, txt, sizeof(txt)) == -1 ||
	    write_file(T_DIR "rsa.txt", txt, strlen(txt)) == -1 ||
	    dkim_dns_txt(T_DIR "ed.pem", DKIM_ED25519, txt, sizeof(txt)) ==
		-1 ||
	    write_file(T_DIR "ed.txt", txt, strlen(txt)) == -1)
		return -1;
	k->rsa = dkim_key_load(T_DIR "rsa.pem", DKIM_RSA, "example.org", "rsa");
	k->ed =
	    dkim_key_load(T_DIR "ed.pem", DKIM_ED25519, "example.org", "ed");
	return k->rsa && k->ed ? 0 : -1;
}

static void
rt_teardown(struct rt_keys *k)
{
	static const char *files[] = { "rsa.pem", "ed.pem", "rsa.txt", "ed.txt",
		"msg.eml", "verify.py" };
	char path[128];
	size_t i;

	dkim_key_free(k->rsa);
	dkim_key_free(k->ed);
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), T_DIR "%s", files[i]);
		unlink(path);
	}
}

static const char rt_msg[] =
    "Received: from [192.0.2.7] by mail.example.org\r\n"
    "From: Alice <alice@example.org>\r\n"
    "To: Bob <bob@example.net>,\r\n"
    "  Carol <carol@example.net>\r\n"
    "Subject: Lunch on Friday\r\n"
    "Date: Tue, 3 Jun 2025 10:00:00 +0000\r\n"
    "Message-ID: <20250603.1@example.org>\r\n"
    "MIME-Version: 1.0\r\n"
    "Content-Type: text/plain; charset=utf-8\r\n"
    "\r\n"
    "Hello Bob,\r\n"
    "\r\n"
    "see you at noon.\r\n";

UNIT_TEST(test_rsa_ed25519_and_dual_signatures_verify_with_dkimpy)
{
	struct rt_keys k = { NULL, NULL };
	struct dkim_key *keys[2];
	struct buf sig;
	char v[1024];
	time_t now = time(NULL);

	buf_init(&sig, 65536);
	CHECK(rt_setup(&k) == 0);
	if (k.rsa == NULL || k.ed == NULL)
		goto out;

	keys[0] = k.rsa;
	CHECK(dkim_sign(keys, 1, rt_msg, strlen(rt_msg), now, &sig) == 0);
	CHECK_VERIFIES(&sig, rt_msg, 1);
	CHECK(lines_are_short(sig.data, sig.len));

	buf_reset(&sig);
	keys[0] = k.ed;
	CHECK(dkim_sign(keys, 1, rt_msg, strlen(rt_msg), now, &sig) == 0);
	CHECK_VERIFIES(&sig, rt_msg, 1);

	buf_reset(&sig);
	keys[0] = k.rsa;
	keys[1] = k.ed;
	CHECK(dkim_sign(keys, 2, rt_msg, strlen(rt_msg), now, &sig) == 0);
	CHECK_VERIFIES(&sig, rt_msg, 2);
	CHECK(lines_are_short(sig.data, sig.len));
	CHECK(buf_append(&sig, "", 1) == 0);
	CHECK(tag_value(sig.data, "h", v, sizeof(v)) == 0);
	CHECK_STR(v, "from:from:to:subject:date:message-id:mime-version:"
		     "content-type");
	CHECK(tag_value(sig.data, "c", v, sizeof(v)) == 0);
	CHECK_STR(v, "relaxed/relaxed");
	CHECK(tag_value(sig.data, "d", v, sizeof(v)) == 0);
	CHECK_STR(v, "example.org");
	CHECK(tag_value(sig.data, "s", v, sizeof(v)) == 0);
	CHECK_STR(v, "rsa");
	sig.len--;

	/* A header section without an empty line is signed as all header. */
	buf_reset(&sig);
	CHECK(dkim_sign(keys, 2, "From: a@example.org\r\nSubject: s\r\n", 33,
		  now, &sig) == 0);
	CHECK_VERIFIES(&sig, "From: a@example.org\r\nSubject: s\r\n", 2);
out:
	buf_free(&sig);
	rt_teardown(&k);
}

UNIT_TEST(test_signatures_survive_relaxed_changes_in_transit)
{
	/* What relaxed/relaxed forgives: header name case, WSP runs,
	 * refolding, WSP at line ends and empty lines at the end, and
	 * fields that are not signed. */
	static const char changed[] =
	    "X-Spam-Score: 0.1\r\n"
	    "Received: from [192.0.2.7] by mail.example.org\r\n"
	    "FROM:Alice   <alice@example.org>  \r\n"
	    "to: Bob <bob@example.net>, Carol <carol@example.net>\r\n"
	    "SUBJECT:\tLunch\r\n on   Friday\r\n"
	    "Date: Tue, 3 Jun 2025 10:00:00 +0000\r\n"
	    "Message-Id: <20250603.1@example.org>\r\n"
	    "Mime-Version:  1.0\r\n"
	    "Content-type: text/plain;\r\n\tcharset=utf-8\r\n"
	    "\r\n"
	    "Hello   Bob,  \r\n"
	    " \r\n"
	    "see you\tat noon.\r\n"
	    "\r\n"
	    "\r\n";
	struct rt_keys k = { NULL, NULL };
	struct dkim_key *keys[2];
	struct buf sig;

	buf_init(&sig, 65536);
	CHECK(rt_setup(&k) == 0);
	if (k.rsa == NULL || k.ed == NULL)
		goto out;
	keys[0] = k.rsa;
	keys[1] = k.ed;
	CHECK(
	    dkim_sign(keys, 2, rt_msg, strlen(rt_msg), time(NULL), &sig) == 0);
	CHECK_VERIFIES(&sig, rt_msg, 2);
	CHECK_VERIFIES(&sig, changed, 2);
out:
	buf_free(&sig);
	rt_teardown(&k);
}

UNIT_TEST(test_an_added_from_or_a_changed_word_breaks_the_signature)
{
	static const char *label[] = { "a From: added above (oversigned)",
		"a From: added below (oversigned)", "a word of the subject",
		"a word of the body" };
	static const char mallory[] = "From: Mallory <m@example.com>\r\n";
	struct rt_keys k = { NULL, NULL };
	struct dkim_key *keys[2];
	struct buf sig, m;
	size_t i, hlen = strstr(rt_msg, "\r\n\r\n") + 2 - rt_msg;

	buf_init(&sig, 65536);
	buf_init(&m, 65536);
	CHECK(rt_setup(&k) == 0);
	if (k.rsa == NULL || k.ed == NULL)
		goto out;
	keys[0] = k.rsa;
	keys[1] = k.ed;
	CHECK(
	    dkim_sign(keys, 2, rt_msg, strlen(rt_msg), time(NULL), &sig) == 0);
	for (i = 0; i < sizeof(label) / sizeof(label[0]); i++) {
		buf_reset(&m);
		if (i == 0)
			buf_append(&m, mallory, strlen(mallory));
		buf_append(&m, rt_msg, hlen);
		if (i == 1)
			buf_append(&m, mallory, strlen(mallory));
		buf_append(&m, rt_msg + hlen, strlen(rt_msg + hlen) + 1);
		if (i == 2)
			memcpy(strstr(m.data, "Friday"), "Monday", 6);
		if (i == 3)
			memcpy(strstr(m.data, "noon"), "nine", 4);
		if (py_verify(&sig, m.data, 2))
			printf("  case: %s still verifies\n", label[i]);
		CHECK(strncmp(py_said, "False: ", 7) == 0);
	}
out:
	buf_free(&sig);
	buf_free(&m);
	rt_teardown(&k);
}

UNIT_TEST(test_empty_body_hash_and_refused_messages)
{
	static const char *empty[] = { "From: a@example.org\r\n\r\n",
		"From: a@example.org\r\n\r\n\r\n \r\n",
		"From: a@example.org\r\n" };
	static const char *refused[] = { "From: a\nTo: b\r\n\r\nx\r\n",
		"From: a\rTo: b\r\n\r\nx\r\n", "From: a\r\nTo: b\r" };
	struct rt_keys k = { NULL, NULL };
	struct dkim_key *keys[1];
	struct buf sig;
	char v[128];
	size_t i;

	buf_init(&sig, 65536);
	CHECK(rt_setup(&k) == 0);
	if (k.ed == NULL)
		goto out;
	keys[0] = k.ed;
	/* Relaxed: an empty body is empty (RFC 6376 3.4.4), SHA-256 of "". */
	for (i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		buf_reset(&sig);
		CHECK(dkim_sign(keys, 1, empty[i], strlen(empty[i]), time(NULL),
			  &sig) == 0);
		CHECK(buf_append(&sig, "", 1) == 0);
		CHECK(tag_value(sig.data, "bh", v, sizeof(v)) == 0);
		CHECK_STR(v, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
		sig.len--;
		CHECK_VERIFIES(&sig, empty[i], 1);
	}
	/* Bare CR or LF in the header section, and a NUL: not signed. */
	for (i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		buf_reset(&sig);
		CHECK(dkim_sign(keys, 1, refused[i], strlen(refused[i]),
			  time(NULL), &sig) == -1);
		CHECK(sig.len == 0);
	}
	CHECK(dkim_sign(keys, 1, "From: a\0b\r\n\r\n", 13, time(NULL), &sig) ==
	      -1);
	CHECK(
	    dkim_sign(keys, 0, "From: a\r\n\r\n", 11, time(NULL), &sig) == -1);
	/* A full output buffer leaves it as it was. */
	buf_free(&sig);
	buf_init(&sig, 100);
	CHECK(buf_append(&sig, "keep", 4) == 0);
	CHECK(
	    dkim_sign(keys, 1, rt_msg, strlen(rt_msg), time(NULL), &sig) == -1);
	CHECK(sig.len == 4);
out:
	buf_free(&sig);
	rt_teardown(&k);
}
