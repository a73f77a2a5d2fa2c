/* test_util: config parsing, durations, sizes and networks. */
#include <stdio.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "unit.h"
#include "util/cidr.h"
#include "util/conf.h"
#include "util/log.h"
#include "util/pidfile.h"
#include "util/str.h"

static int
conf_try(const char *text, struct conf *c, char *err, size_t len)
{
	FILE *f = fopen("/tmp/postern-unit.conf", "w");

	fputs(text, f);
	fclose(f);
	return conf_load(c, "/tmp/postern-unit.conf", err, len);
}

UNIT_TEST(test_config_defaults_and_relative_paths)
{
	struct conf c;
	char err[512];

	CHECK(conf_try("[server]\nhostname = mx.example.org\n[limits]\n"
		       "message_size = 10M\ncommand_timeout = 2m\n",
		  &c, err, sizeof(err)) == 0);
	CHECK_STR(c.hostname, "mx.example.org");
	CHECK(c.message_size == 10 * 1048576);
	CHECK(c.command_timeout == 120);
	CHECK(c.recipients_per_message == 100);
	CHECK_STR(c.store_path, "/tmp/data/postern.db");
	CHECK(c.delivery_mode == CONF_DELIVERY_MX);
}

UNIT_TEST(test_config_errors_name_file_line_and_key)
{
	struct conf c;
	char err[512];

	CHECK(conf_try("[server]\n\nbogus = 1\n", &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "postern-unit.conf:3") && strstr(err, "bogus"));
	CHECK(conf_try("[limits]\nmessage_size = lots\n", &c, err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, ":2:") && strstr(err, "message_size"));
	CHECK(conf_try("[delivery]\nremote_port = 99999\n", &c, err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, "remote_port") && strstr(err, "range"));
	CHECK(conf_try("[delivery]\nmode = carrier-pigeon\n", &c, err,
		  sizeof(err)) == -1);
	CHECK(strstr(err, "mx|smarthost|capture") != NULL);
	CHECK(conf_try("[nosuch]\n", &c, err, sizeof(err)) == -1);
	CHECK(conf_try("[server]\nhostname\n", &c, err, sizeof(err)) == -1);
	unlink("/tmp/postern-unit.conf");
}

UNIT_TEST(test_durations_and_sizes_parse_with_units)
{
	CHECK(str_duration("90") == 90);
	CHECK(str_duration("5m") == 300);
	CHECK(str_duration("5d") == 432000);
	CHECK(str_duration("5x") == -1);
	CHECK(str_duration("") == -1);
	CHECK(str_duration("-5") == -1);
	CHECK(str_size("35M") == 35 * 1048576);
	CHECK(str_size("99999999999999999999") == -1);
	CHECK(str_uint("12a") == -1);
}

UNIT_TEST(test_times_for_filters_parse_dates_durations_and_seconds)
{
	const int64_t now = 1727778000; /* 2024-10-01 10:20:00 UTC */
	static const struct {
		const char *in;
		int64_t want;
	} cases[] = {
		{ "1727778000", 1727778000 },
		{ "1h", 1727778000 - 3600 },
		{ "7d", 1727778000 - 7 * 86400 },
		{ "2024-10-01", 1727740800 },
		{ "2024-10-01T10:20", 1727778000 },
		{ "2024-10-01T10:20:00Z", 1727778000 },
		{ "2024-10-01 10:20:05", 1727778005 },
		{ "2024-02-29", 1709164800 },
		{ "2023-02-29", -1 },
		{ "2024-13-01", -1 },
		{ "2024-10-32", -1 },
		{ "2024-10-01T24:00", -1 },
		{ "2024-10-01T10", -1 },
		{ "2024-10-01Zx", -1 },
		{ " 2024-10-01", -1 },
		{ "yesterday", -1 },
		{ "", -1 },
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (str_time(cases[i].in, now) != cases[i].want) {
			printf("  str_time(\"%s\") = %lld\n", cases[i].in,
			    (long long)str_time(cases[i].in, now));
			CHECK(0);
		}
}

UNIT_TEST(test_networks_match_their_addresses_only)
{
	struct cidr c;
	char err[128], out[CIDR_TEXT_MAX];

	CHECK(cidr_parse("192.0.2.0/24", &c, err, sizeof(err)) == 0);
	CHECK(cidr_contains(&c, "192.0.2.200"));
	CHECK(cidr_contains(&c, "::ffff:192.0.2.9"));
	CHECK(!cidr_contains(&c, "192.0.3.1"));
	CHECK(!cidr_contains(&c, "2001:db8::1"));
	CHECK(cidr_parse("192.0.2.7/24", &c, err, sizeof(err)) == -1);
	CHECK(strstr(err, "192.0.2.0/24") != NULL);
	CHECK(cidr_parse("2001:DB8::/32", &c, err, sizeof(err)) == 0);
	cidr_format(&c, out, sizeof(out));
	CHECK_STR(out, "2001:db8::/32");
	CHECK(cidr_contains(&c, "2001:db8:ffff::1"));
	CHECK(cidr_parse("10.0.0.1", &c, err, sizeof(err)) == 0);
	CHECK(c.prefix == 32);
	CHECK(cidr_parse("10.0.0.0/33", &c, err, sizeof(err)) == -1);
	CHECK(cidr_parse("10.0.0.0/08", &c, err, sizeof(err)) == -1);
	CHECK(cidr_parse("example.org/8", &c, err, sizeof(err)) == -1);
	CHECK(cidr_parse("10.16.0.0/11", &c, err, sizeof(err)) == -1);
	CHECK(cidr_parse("0.0.0.0/0", &c, err, sizeof(err)) == 0);
	CHECK(cidr_contains(&c, "203.0.113.5"));
}

UNIT_TEST(test_log_value_is_one_quoted_field_whatever_the_text)
{
	char q[LOG_VALUE_MAX], small[12];

	CHECK_STR(log_value(q, sizeof(q), "phone"), "\"phone\"");
	CHECK_STR(log_value(q, sizeof(q), "a\" key=\"forged"),
	    "\"a\\x22 key=\\x22forged\"");
	CHECK_STR(log_value(q, sizeof(q), "x\r\ny=1"), "\"x\\x0d\\x0ay=1\"");
	CHECK_STR(log_value(q, sizeof(q), "a\\b"), "\"a\\x5cb\"");
	CHECK_STR(log_value(q, sizeof(q), NULL), "\"-\"");
	/* cut to fit, the closing quote kept */
	CHECK_STR(log_value(small, sizeof(small), "abcdefghijklmnop"),
	    "\"abcde\"");
	CHECK_STR(log_value(small, sizeof(small), "\"\"\"\""),
	    "\"\\x22\\x22\"");
}

UNIT_TEST(test_log_addr_keeps_an_address_one_field)
{
	char a[LOG_ADDR_MAX], big[400];

	CHECK_STR(log_addr(a, sizeof(a), "SRS0=ab=cd@x.test"),
	    "SRS0=ab=cd@x.test");
	/* a quoted local part's blank would start a field of its own */
	CHECK_STR(log_addr(a, sizeof(a), "\"a x=1\"@b.test"),
	    "\\x22a\\x20x=1\\x22@b.test");
	CHECK_STR(log_addr(a, sizeof(a), NULL), "");
	/* the longest address fits whole, every byte escaped */
	memset(big, '"', 320);
	big[320] = '\0';
	CHECK(strlen(log_addr(a, sizeof(a), big)) == 320 * 4);
}

UNIT_TEST(test_pidfile_names_the_lock_holder_never_the_files_text)
{
	char path[64], c;
	int p[2], fd;
	pid_t child, owner;
	FILE *f;

	snprintf(path, sizeof(path), "/tmp/postern-unit-%ld.pid",
	    (long)getpid());
	unlink(path);
	CHECK(pidfile_owner(path) == 0); /* no file */
	/* a stale file, as a crash leaves it, names nobody */
	f = fopen(path, "w");
	fputs("1\n", f);
	fclose(f);
	CHECK(pidfile_owner(path) == 0);
	CHECK(pipe(p) == 0);
	if ((child = fork()) == 0) {
		fd = pidfile_acquire(path, &owner);
		c = fd == -1 ? 'n' : 'y';
		if (write(p[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	CHECK(read(p[0], &c, 1) == 1 && c == 'y');
	CHECK(pidfile_owner(path) == child);
	/* whatever the file says now */
	f = fopen(path, "w");
	fputs("1\n", f);
	fclose(f);
	CHECK(pidfile_owner(path) == child);
	/* a second holder is refused, told the first */
	CHECK(pidfile_acquire(path, &owner) == -1 && owner == child);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	CHECK(pidfile_owner(path) == 0);
	fd = pidfile_acquire(path, &owner);
	CHECK(fd != -1);
	pidfile_release(path, fd);
	CHECK(access(path, F_OK) == -1);
	close(p[0]);
	close(p[1]);
}
