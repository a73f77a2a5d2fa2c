/* test_srs: SRS addresses as libsrs2/postsrsd write them (vectors from
 * postsrsd's own tests and from Python's hmac), decoding, case changes,
 * forgeries, age, re-forwarding, lengths, and the secret's file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "forward/srs.h"

#define T2020 1577836860 /* 2020-01-01 00:01:00 UTC, postsrsd's test */
#define DAY 86400

static struct srs_key
key(const char *s)
{
	struct srs_key k;

	if (srs_key_from_string(&k, s) == -1)
		abort();
	return k;
}

struct fwd_case {
	const char *label, *secret, *sender, *fwd;
	time_t now;
	const char *want; /* NULL: refused */
};

static const struct fwd_case fwd_cases[] = {
	{ "postsrsd's vector", "tops3cr3t", "test@otherdomain.com",
	    "example.com", T2020,
	    "SRS0=vmyz=2W=otherdomain.com=test@example.com" },
	{ "the forwarder given as an address", "tops3cr3t",
	    "test@otherdomain.com", "alias@example.com", T2020,
	    "SRS0=vmyz=2W=otherdomain.com=test@example.com" },
	{ "case is kept in the address, folded in the hash (Python hmac)",
	    "tops3cr3t", "Alice.Smith@Example.ORG", "fwd.example", T2020,
	    "SRS0=2xyD=2W=Example.ORG=Alice.Smith@fwd.example" },
	{ "another secret and day (Python hmac)", "other-secret",
	    "user+tag@sub.example.net", "members.example", 1700000000,
	    "SRS0=rMyS=G3=sub.example.net=user+tag@members.example" },
	{ "a sender at the forwarder's own domain is kept", "tops3cr3t",
	    "test@Example.COM", "example.com", T2020, "test@Example.COM" },
	{ "an SRS0 sender becomes SRS1 naming its forwarder (Python hmac)",
	    "tops3cr3t", "SRS0=abcd=2W=orig.example=bob@first.example",
	    "acm.org", T2020,
	    "SRS1=NSWV=first.example==abcd=2W=orig.example=bob@acm.org" },
	{ "an SRS1 sender keeps its first forwarder, with our hash", "k2",
	    "SRS1=NSWV=first.example==abcd=2W=orig.example=bob@acm.org",
	    "second.example", T2020,
	    "SRS1=80E8=first.example==abcd=2W=orig.example=bob@second.example" },
	{ "no at sign is refused", "k", "postmaster", "example.com", T2020,
	    NULL },
	{ "a quoted local part is refused", "k", "\"john doe\"@example.net",
	    "example.com", T2020, NULL },
	{ "an empty local part is refused", "k", "@example.net", "example.com",
	    T2020, NULL },
	{ "a domain with = is refused", "k", "a@ex=ample.net", "example.com",
	    T2020, NULL },
	{ "an address literal is refused", "k", "a@[192.0.2.1]", "example.com",
	    T2020, NULL },
	{ "a local part of 64 bytes is made", "k",
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmno@d.example", "f.example",
	    T2020, "" },
	{ "a local part of 65 bytes is refused", "k",
	    "abcdefghijklmnopqrstuvwxyzabcdefghijklmnop@d.example", "f.example",
	    T2020, NULL },
};

UNIT_TEST(srs_forward_writes_what_libsrs2_writes)
{
	char out[512];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(fwd_cases) / sizeof(fwd_cases[0]); i++) {
		const struct fwd_case *c = &fwd_cases[i];
		struct srs_key k = key(c->secret);

		rc = srs_forward(&k, c->sender, c->fwd, c->now, out,
		    sizeof(out));
		if (c->want == NULL
			? rc != -1
			: rc != 0 || (c->want[0] != '\0' &&
					 strcmp(out, c->want) != 0)) {
			printf("  case \"%s\": rc=%d out=%s\n", c->label, rc,
			    out);
			unit_failed_now = 1;
		}
		if (c->want != NULL && c->want[0] == '\0' &&
		    strchr(out, '@') - out != 64) {
			printf("  case \"%s\": %s\n", c->label, out);
			unit_failed_now = 1;
		}
	}
}

UNIT_TEST(srs_forward_refuses_what_does_not_fit_out)
{
	struct srs_key k = key("tops3cr3t");
	char out[46];

	/* the vector is 45 bytes */
	CHECK(srs_forward(&k, "test@otherdomain.com", "example.com", T2020, out,
		  sizeof(out)) == 0);
	CHECK(srs_forward(&k, "test@otherdomain.com", "example.com", T2020, out,
		  sizeof(out) - 1) == -1);
	CHECK(out[0] == '\0');
}

struct rev_case {
	const char *label, *addr;
	time_t now;
	int rc;
	const char *want;
};

static const struct rev_case rev_cases[] = {
	{ "postsrsd's vector decodes to the sender",
	    "SRS0=vmyz=2W=otherdomain.com=test@example.com", T2020, 0,
	    "test@otherdomain.com" },
	{ "any domain of ours: only the local part counts",
	    "SRS0=vmyz=2W=otherdomain.com=test@other.example", T2020, 0,
	    "test@otherdomain.com" },
	{ "a bare local part decodes too", "SRS0=vmyz=2W=otherdomain.com=test",
	    T2020, 0, "test@otherdomain.com" },
	{ "all upper case (a mail system changed it) decodes",
	    "SRS0=VMYZ=2W=OTHERDOMAIN.COM=TEST@EXAMPLE.COM", T2020, 0,
	    "TEST@OTHERDOMAIN.COM" },
	{ "all lower case decodes",
	    "srs0=vmyz=2w=otherdomain.com=test@example.com", T2020, 0,
	    "test@otherdomain.com" },
	{ "+ after SRS0 decodes, as in libsrs2",
	    "SRS0+vmyz=2W=otherdomain.com=test@example.com", T2020, 0,
	    "test@otherdomain.com" },
	{ "- after SRS0 decodes, as in libsrs2",
	    "SRS0-vmyz=2W=otherdomain.com=test@example.com", T2020, 0,
	    "test@otherdomain.com" },
	{ "21 days later it still decodes",
	    "SRS0=vmyz=2W=otherdomain.com=test@example.com", T2020 + 21 * DAY,
	    0, "test@otherdomain.com" },
	{ "22 days later it has expired",
	    "SRS0=vmyz=2W=otherdomain.com=test@example.com", T2020 + 22 * DAY,
	    SRS_EXPIRED, NULL },
	{ "a stamp from tomorrow has expired (it wrapped)",
	    "SRS0=vmyz=2W=otherdomain.com=test@example.com", T2020 - DAY,
	    SRS_EXPIRED, NULL },
	{ "one hash character changed is forged",
	    "SRS0=vmyy=2W=otherdomain.com=test@example.com", T2020, SRS_BAD,
	    NULL },
	{ "another local part under the hash is forged",
	    "SRS0=vmyz=2W=otherdomain.com=tesT2@example.com", T2020, SRS_BAD,
	    NULL },
	{ "another domain under the hash is forged",
	    "SRS0=vmyz=2W=victim.example=test@example.com", T2020, SRS_BAD,
	    NULL },
	{ "a forged hash is told as forged even when old",
	    "SRS0=zzzz=2W=otherdomain.com=test@example.com", T2020 + 99 * DAY,
	    SRS_BAD, NULL },
	{ "a hash of 3 characters is malformed",
	    "SRS0=vmy=2W=otherdomain.com=test@example.com", T2020, SRS_BAD,
	    NULL },
	{ "a hash of 5 characters is malformed",
	    "SRS0=vmyzz=2W=otherdomain.com=test@example.com", T2020, SRS_BAD,
	    NULL },
	{ "a stamp of a non-base32 character is malformed",
	    "SRS0=vmyz=2!=otherdomain.com=test@example.com", T2020, SRS_BAD,
	    NULL },
	{ "no user is malformed", "SRS0=vmyz=2W=otherdomain.com@example.com",
	    T2020, SRS_BAD, NULL },
	{ "an empty user is malformed",
	    "SRS0=vmyz=2W=otherdomain.com=@example.com", T2020, SRS_BAD, NULL },
	{ "an empty domain is malformed", "SRS0=vmyz=2W==test@example.com",
	    T2020, SRS_BAD, NULL },
	{ "nothing after the tag is malformed", "SRS0=@example.com", T2020,
	    SRS_BAD, NULL },
	{ "two at signs are malformed",
	    "SRS0=vmyz=2W=otherdomain.com=te@st@example.com", T2020, SRS_BAD,
	    NULL },
	{ "SRS1 decodes to the first forwarder's SRS0",
	    "SRS1=NSWV=first.example==abcd=2W=orig.example=bob@acm.org", T2020,
	    0, "SRS0=abcd=2W=orig.example=bob@first.example" },
	{ "SRS1 upper-cased decodes",
	    "SRS1=NSWV=FIRST.EXAMPLE==ABCD=2W=ORIG.EXAMPLE=BOB@ACM.ORG", T2020,
	    0, "SRS0=ABCD=2W=ORIG.EXAMPLE=BOB@FIRST.EXAMPLE" },
	{ "SRS1 has no stamp: it never expires here",
	    "SRS1=NSWV=first.example==abcd=2W=orig.example=bob@acm.org",
	    T2020 + 400 * DAY, 0,
	    "SRS0=abcd=2W=orig.example=bob@first.example" },
	{ "SRS1 with another first forwarder is forged",
	    "SRS1=NSWV=evil.example==abcd=2W=orig.example=bob@acm.org", T2020,
	    SRS_BAD, NULL },
	{ "SRS1 without its rest is malformed",
	    "SRS1=NSWV=first.example@acm.org", T2020, SRS_BAD, NULL },
	{ "a plain address is not SRS", "test@example.com", T2020, SRS_NOT,
	    NULL },
	{ "SRS2 is not SRS", "SRS2=vmyz=2W=otherdomain.com=test@example.com",
	    T2020, SRS_NOT, NULL },
	{ "SRS0 without a separator is not SRS", "SRS0vmyz@example.com", T2020,
	    SRS_NOT, NULL },
	{ "a short local part is not SRS", "SRS@example.com", T2020, SRS_NOT,
	    NULL },
	{ "empty is not SRS", "", T2020, SRS_NOT, NULL },
};

UNIT_TEST(srs_reverse_decodes_checks_and_refuses)
{
	struct srs_key k = key("tops3cr3t");
	char out[512];
	size_t i;
	int rc;

	for (i = 0; i < sizeof(rev_cases) / sizeof(rev_cases[0]); i++) {
		const struct rev_case *c = &rev_cases[i];

		rc = srs_reverse(&k, c->addr, c->now, SRS_MAX_AGE_DEFAULT, out,
		    sizeof(out));
		if (rc != c->rc ||
		    (c->want != NULL && strcmp(out, c->want) != 0)) {
			printf("  case \"%s\": rc=%d out=%s\n", c->label, rc,
			    out);
			unit_failed_now = 1;
		}
	}
}

UNIT_TEST(srs_reverse_takes_max_age_from_the_caller)
{
	struct srs_key k = key("tops3cr3t");
	const char *a = "SRS0=vmyz=2W=otherdomain.com=test@example.com";
	char out[128];

	CHECK(srs_reverse(&k, a, T2020 + 3 * DAY, 3, out, sizeof(out)) == 0);
	CHECK(srs_reverse(&k, a, T2020 + 4 * DAY, 3, out, sizeof(out)) ==
	      SRS_EXPIRED);
	CHECK(srs_reverse(&k, a, T2020, 0, out, sizeof(out)) == 0);
}

UNIT_TEST(srs_reverse_refuses_a_short_out_and_a_long_address)
{
	struct srs_key k = key("tops3cr3t");
	const char *a = "SRS0=vmyz=2W=otherdomain.com=test@example.com";
	char out[SRS_ADDR_MAX + 64], big[SRS_ADDR_MAX + 32];

	CHECK(srs_reverse(&k, a, T2020, 21, out, strlen(a)) == SRS_BAD);
	CHECK(srs_reverse(&k, a, T2020, 21, out, strlen(a) + 1) == 0);
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big, "SRS0=", 5);
	CHECK(srs_reverse(&k, big, T2020, 21, out, sizeof(out)) == SRS_BAD);
}

UNIT_TEST(srs_round_trips_through_one_and_two_forwarders)
{
	struct srs_key k1 = key("first-forwarder"), k2 = key("second");
	static const char *const senders[] = { "alice@example.org",
		"Bob.O'Neil+list@Sub.Example.NET", "x@y.z",
		"=equals=in=local@example.org", "üser@exämple.org" };
	char a1[256], a2[256], back[256], back2[256];
	size_t i;

	for (i = 0; i < sizeof(senders) / sizeof(senders[0]); i++) {
		CHECK(srs_forward(&k1, senders[i], "one.example", 1700000000,
			  a1, sizeof(a1)) == 0);
		CHECK(strncmp(a1, "SRS0=", 5) == 0);
		CHECK(srs_reverse(&k1, a1, 1700000000 + 5 * DAY, 21, back,
			  sizeof(back)) == 0);
		CHECK_STR(back, senders[i]);
		/* the second forwarder: SRS1, back to the first's SRS0 */
		CHECK(srs_forward(&k2, a1, "two.example", 1700000000, a2,
			  sizeof(a2)) == 0);
		CHECK(strncmp(a2, "SRS1=", 5) == 0);
		CHECK(srs_reverse(&k2, a2, 1700000000 + 900 * DAY, 21, back2,
			  sizeof(back2)) == 0);
		CHECK_STR(back2, a1);
		/* the first forwarder's key does not make the second's */
		CHECK(srs_reverse(&k1, a2, 1700000000, 21, back2,
			  sizeof(back2)) == SRS_BAD);
	}
}

UNIT_TEST(srs_a_second_secret_still_decodes_after_rotation)
{
	struct srs_key old = key("old-secret"), both;
	char a[256], b[256], out[256];

	CHECK(srs_forward(&old, "a@example.org", "f.example", T2020, a,
		  sizeof(a)) == 0);
	memset(&both, 0, sizeof(both));
	both.n = 2;
	strcpy(both.secret[0], "new-secret");
	both.len[0] = strlen("new-secret");
	strcpy(both.secret[1], "old-secret");
	both.len[1] = strlen("old-secret");
	CHECK(srs_reverse(&both, a, T2020, 21, out, sizeof(out)) == 0);
	CHECK_STR(out, "a@example.org");
	/* the first secret signs */
	CHECK(srs_forward(&both, "a@example.org", "f.example", T2020, b,
		  sizeof(b)) == 0);
	CHECK(strcmp(a, b) != 0);
	CHECK(srs_reverse(&old, b, T2020, 21, out, sizeof(out)) == SRS_BAD);
}

UNIT_TEST(srs_secret_file_is_made_private_and_read_back)
{
	char dir[] = "/tmp/postern-srs-XXXXXX", path[128], err[256];
	struct srs_key k, k2;
	struct stat st;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/srs.key", dir);
	CHECK(srs_key_load(path, &k, err, sizeof(err)) == -1);
	CHECK(srs_key_ensure(path, &k, err, sizeof(err)) == 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600);
	CHECK(k.n == 1 && k.len[0] == 32);
	/* again: the same secret, not a new one */
	CHECK(srs_key_ensure(path, &k2, err, sizeof(err)) == 0);
	CHECK(k2.len[0] == 32 && memcmp(k.secret[0], k2.secret[0], 32) == 0);
	CHECK(srs_key_generate(path) == -1); /* never overwritten */
	/* readable by others: refused, and the message holds no secret */
	chmod(path, 0644);
	CHECK(srs_key_load(path, &k2, err, sizeof(err)) == -1);
	CHECK(strstr(err, "chmod 600") != NULL);
	CHECK(strstr(err, k.secret[0]) == NULL);
	unlink(path);

	/* postsrsd's file: a secret per line, CRLF and blanks dropped */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	CHECK(fd != -1);
	CHECK(write(fd, "tops3cr3t \r\n\nold\n", 17) == 17);
	close(fd);
	CHECK(srs_key_load(path, &k, err, sizeof(err)) == 0);
	CHECK(k.n == 2 && k.len[0] == 9 && k.len[1] == 3);
	CHECK(memcmp(k.secret[0], "tops3cr3t", 9) == 0);
	unlink(path);

	/* empty: refused */
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	close(fd);
	CHECK(srs_key_load(path, &k, err, sizeof(err)) == -1);
	unlink(path);
	rmdir(dir);
}

UNIT_TEST(srs_is_srs_reads_the_tag_in_any_case)
{
	CHECK(srs_is_srs("SRS0=x"));
	CHECK(srs_is_srs("srs1+x"));
	CHECK(srs_is_srs("sRs0-x"));
	CHECK(!srs_is_srs("SRS0"));
	CHECK(!srs_is_srs("SRS3=x"));
	CHECK(!srs_is_srs("xSRS0=x"));
}
