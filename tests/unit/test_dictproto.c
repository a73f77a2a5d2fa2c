/*
 * test_dictproto: Dovecot's dict protocol lines as its proxy client
 * writes them (2.3), read into requests; what is not a well-formed line
 * of a known command is refused whole.
 */
#include <stdint.h>
#include <stdlib.h>

#include "unit.h"
#include "dovecot/dictproto.h"

static const struct {
	const char *label, *line;
	int ok, cmd;
	unsigned int id;
	const char *key, *value, *user;
	int64_t diff;
} dictp_cases[] = {
	{ "the 2.3 client's hello is read", "H3\t2\t0\t\tuserdb", 1,
	    DICTP_HELLO, 0, NULL, NULL, "", 0 },
	{ "a hello of protocol 2 is refused", "H2\t1\t0\t\tuserdb", 0, 0, 0,
	    NULL, NULL, NULL, 0 },
	{ "a hello without the dict name is refused", "H3\t2\t0\t", 0, 0, 0,
	    NULL, NULL, NULL, 0 },
	{ "a userdb look-up names the key and the user",
	    "Lshared/userdb/alice@example.org\talice@example.org", 1,
	    DICTP_LOOKUP, 0, "shared/userdb/alice@example.org", NULL,
	    "alice@example.org", 0 },
	{ "a look-up without a user has an empty one", "Lpriv/quota/storage", 1,
	    DICTP_LOOKUP, 0, "priv/quota/storage", NULL, "", 0 },
	{ "escaped tabs and newlines are unescaped",
	    "Lshared/a\001tb\001nc\0011\tu", 1, DICTP_LOOKUP, 0,
	    "shared/a\tb\nc\001", NULL, "u", 0 },
	{ "an escaped NUL is refused", "Lshared/a\0010b\tu", 0, 0, 0, NULL,
	    NULL, NULL, 0 },
	{ "an unknown escape is refused", "Lshared/a\001xb", 0, 0, 0, NULL,
	    NULL, NULL, 0 },
	{ "a begin names the transaction and the user", "B7\tbob@example.org",
	    1, DICTP_BEGIN, 7, NULL, NULL, "bob@example.org", 0 },
	{ "an atomic increment reads a negative diff",
	    "A7\tpriv/quota/storage\t-1234", 1, DICTP_INC, 7,
	    "priv/quota/storage", NULL, "", -1234 },
	{ "an increment that is not a number is refused",
	    "A7\tpriv/quota/storage\t12x", 0, 0, 0, NULL, NULL, NULL, 0 },
	{ "an increment of 19 digits is refused",
	    "A7\tpriv/quota/storage\t1234567890123456789", 0, 0, 0, NULL, NULL,
	    NULL, 0 },
	{ "a set carries its value", "S7\tpriv/quota/messages\t42", 1,
	    DICTP_SET, 7, "priv/quota/messages", "42", "", 0 },
	{ "a set without a value is refused", "S7\tpriv/quota/messages", 0, 0,
	    0, NULL, NULL, NULL, 0 },
	{ "an unset names its key", "U7\tpriv/quota/storage", 1, DICTP_UNSET, 7,
	    "priv/quota/storage", NULL, "", 0 },
	{ "a commit names its transaction", "C4294967295", 1, DICTP_COMMIT,
	    4294967295u, NULL, NULL, "", 0 },
	{ "a transaction id past 32 bits is refused", "C4294967296", 0, 0, 0,
	    NULL, NULL, NULL, 0 },
	{ "a commit with an extra field is refused", "C1\tx", 0, 0, 0, NULL,
	    NULL, NULL, 0 },
	{ "a timestamp is read", "T7\t1700000000\t5", 1, DICTP_TIMESTAMP, 7,
	    NULL, NULL, "", 0 },
	{ "a rollback is read", "R3", 1, DICTP_ROLLBACK, 3, NULL, NULL, "", 0 },
	{ "an empty id is refused", "R", 0, 0, 0, NULL, NULL, NULL, 0 },
	{ "an unknown command is refused", "Xfoo", 0, 0, 0, NULL, NULL, NULL,
	    0 },
	{ "too many fields are refused", "L\ta\tb\tc\td\te\tf", 0, 0, 0, NULL,
	    NULL, NULL, 0 },
	{ "an empty line is refused", "", 0, 0, 0, NULL, NULL, NULL, 0 },
};

UNIT_TEST(test_dict_lines_from_dovecot_are_read_or_refused_whole)
{
	struct dictp_req r;
	char line[256];
	size_t i, n;

	for (i = 0; i < sizeof(dictp_cases) / sizeof(dictp_cases[0]); i++) {
		n = strlen(dictp_cases[i].line);
		memcpy(line, dictp_cases[i].line, n + 1);
		if ((dictp_parse(line, n, &r) == 0) != dictp_cases[i].ok) {
			printf("  FAIL %s\n", dictp_cases[i].label);
			unit_failed_now = 1;
			continue;
		}
		if (!dictp_cases[i].ok)
			continue;
		CHECK(r.cmd == dictp_cases[i].cmd);
		CHECK(r.id == dictp_cases[i].id);
		CHECK(r.diff == dictp_cases[i].diff);
		CHECK_STR(r.user, dictp_cases[i].user);
		if (dictp_cases[i].key)
			CHECK_STR(r.key, dictp_cases[i].key);
		if (dictp_cases[i].value)
			CHECK_STR(r.value, dictp_cases[i].value);
	}
}

UNIT_TEST(test_a_line_with_a_nul_inside_is_refused)
{
	struct dictp_req r;
	char line[] = "Lshared/a\0b";

	CHECK(dictp_parse(line, sizeof(line) - 1, &r) == -1);
}

UNIT_TEST(test_a_line_longer_than_the_limit_is_refused)
{
	struct dictp_req r;
	char *line = malloc(DICTP_LINE_MAX + 2);

	CHECK(line != NULL);
	memset(line, 'a', DICTP_LINE_MAX + 1);
	line[0] = 'L';
	line[DICTP_LINE_MAX + 1] = '\0';
	CHECK(dictp_parse(line, DICTP_LINE_MAX + 1, &r) == -1);
	line[DICTP_LINE_MAX] = '\0';
	CHECK(dictp_parse(line, DICTP_LINE_MAX, &r) == 0);
	free(line);
}

UNIT_TEST(test_values_are_escaped_as_dovecot_unescapes_them)
{
	char out[32], small[4];

	CHECK(dictp_escape(out, sizeof(out), "{\"a\":\"b\tc\"}") == 12);
	CHECK_STR(out, "{\"a\":\"b\001tc\"}");
	CHECK(dictp_escape(out, sizeof(out), "\001\r\n") == 6);
	CHECK_STR(out, "\0011\001r\001n");
	CHECK(dictp_escape(small, sizeof(small), "abcd") == -1);
	CHECK(dictp_escape(small, sizeof(small), "ab\t") == -1);
	CHECK(dictp_escape(small, sizeof(small), "abc") == 3);
}

UNIT_TEST(test_the_keys_postern_answers_are_told_apart)
{
	const char *user = NULL;

	CHECK(dictp_key("shared/userdb/bob@example.org", &user) ==
	      DICTP_KEY_USERDB);
	CHECK_STR(user, "bob@example.org");
	CHECK(dictp_key("shared/userdb/", &user) == DICTP_KEY_OTHER);
	CHECK(dictp_key("priv/quota/storage", &user) == DICTP_KEY_QUOTA_BYTES);
	CHECK(dictp_key("priv/quota/messages", &user) ==
	      DICTP_KEY_QUOTA_MESSAGES);
	CHECK(dictp_key("priv/quota/storage2", &user) == DICTP_KEY_OTHER);
	CHECK(dictp_key("shared/passdb/bob", &user) == DICTP_KEY_OTHER);
}
