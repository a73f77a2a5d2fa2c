/*
 * test_admin: how the admin layer takes its arguments from a JSON body
 * or a query string: typed fields, named in every refusal.
 */
#include <jansson.h>

#include "unit.h"
#include "admin/admin.h"

#define QUOTA_PARAMS "address messages_per_hour:n clear:b"

static const struct {
	const char *label;
	const char *params;
	const char *body;
	int status;	   /* 0: accepted */
	const char *field; /* named in the refusal */
} args_cases[] = {
	{ "text as a string is taken", "address password",
	    "{\"address\": \"a@b.test\", \"password\": \"pw\"}", 0, NULL },
	{ "a number for text is refused", "address password",
	    "{\"address\": \"a@b.test\", \"password\": 123}", 400, "password" },
	{ "null for text is refused", "address reason", "{\"reason\": null}",
	    400, "reason" },
	{ "an integer for a number is taken", QUOTA_PARAMS,
	    "{\"messages_per_hour\": 1}", 0, NULL },
	{ "a word for a number is left to the operation", QUOTA_PARAMS,
	    "{\"messages_per_hour\": \"inherit\"}", 0, NULL },
	{ "a fraction for a number is refused", QUOTA_PARAMS,
	    "{\"messages_per_hour\": 1.5}", 400, "messages_per_hour" },
	{ "a list for a number is refused", QUOTA_PARAMS,
	    "{\"messages_per_hour\": [1]}", 400, "messages_per_hour" },
	{ "true for yes/no is taken", QUOTA_PARAMS, "{\"clear\": true}", 0,
	    NULL },
	{ "a query's 1 for yes/no is taken", QUOTA_PARAMS, "{\"clear\": \"1\"}",
	    0, NULL },
	{ "another word for yes/no is refused", QUOTA_PARAMS,
	    "{\"clear\": \"maybe\"}", 400, "clear" },
	{ "a number for yes/no is refused", QUOTA_PARAMS, "{\"clear\": 1}", 400,
	    "clear" },
	{ "an unknown field is refused", QUOTA_PARAMS,
	    "{\"messages_per_hours\": 1}", 400, "messages_per_hours" },
	{ "an unknown field with a strange name is not echoed", "address",
	    "{\"a\\r\\nb\": \"x\"}", 400, "unusual name" },
	{ "no params: any name, text or yes/no", NULL,
	    "{\"code\": \"123456\", \"x\": true}", 0, NULL },
	{ "no params: a number is refused", NULL, "{\"code\": 123456}", 400,
	    "code" },
};

UNIT_TEST(test_admin_args_are_typed_and_a_refusal_names_the_field)
{
	size_t i;

	for (i = 0; i < sizeof(args_cases) / sizeof(args_cases[0]); i++) {
		json_t *args = json_loads(args_cases[i].body, 0, NULL);
		struct admin_err err = { 0, "" };
		int rc = admin_args_check(args_cases[i].params, args, &err);

		if ((rc == 0) != (args_cases[i].status == 0) ||
		    (rc != 0 && err.status != args_cases[i].status) ||
		    (args_cases[i].field &&
			strstr(err.msg, args_cases[i].field) == NULL)) {
			printf("  case \"%s\": rc %d status %d \"%s\"\n",
			    args_cases[i].label, rc, err.status, err.msg);
			CHECK(0);
		}
		json_decref(args);
	}
}

UNIT_TEST(test_admin_an_integer_becomes_the_string_the_operation_reads)
{
	json_t *args = json_loads("{\"messages_per_hour\": 25}", 0, NULL);
	struct admin_err err = { 0, "" };

	CHECK(admin_args_check(QUOTA_PARAMS, args, &err) == 0);
	CHECK_STR(admin_arg(args, "messages_per_hour"), "25");
	json_decref(args);
}

static const struct {
	const char *label;
	const char *text;
	int multiline;
	int ok;
} text_cases[] = {
	{ "a plain reason", "spam run", 0, 1 },
	{ "UTF-8 letters", "Sp\xc3\xa4m \xe2\x82\xac", 0, 1 },
	{ "quotes and equals signs are text", "a\" key=forged", 0, 1 },
	{ "CR LF ends an SMTP reply", "x\r\n250 ok", 0, 0 },
	{ "a bare LF", "x\n250 ok", 0, 0 },
	{ "a tab", "a\tb", 0, 0 },
	{ "DEL", "a\x7f", 0, 0 },
	{ "a C1 control (NEL)", "a\xc2\x85z", 0, 0 },
	{ "the line separator", "a\xe2\x80\xa8z", 0, 0 },
	{ "not UTF-8", "a\xff", 0, 0 },
	{ "a truncated sequence", "a\xc3", 0, 0 },
	{ "an overlong slash", "a\xc0\xaf", 0, 0 },
	{ "empty", "", 0, 0 },
	{ "longer than the maximum", "0123456789abcdefg", 0, 0 },
	{ "terms may have lines and tabs", "Be nice.\r\n\tOk.\n", 1, 1 },
	{ "but no other control", "Be nice.\x1b[2J", 1, 0 },
};

UNIT_TEST(test_admin_free_text_with_a_control_character_is_refused)
{
	size_t i;

	for (i = 0; i < sizeof(text_cases) / sizeof(text_cases[0]); i++) {
		struct admin_err err = { 0, "" };
		int rc = admin_text_check("reason", text_cases[i].text, 16,
		    text_cases[i].multiline, &err);

		if ((rc == 0) != text_cases[i].ok ||
		    (rc != 0 && (err.status != 400 ||
				    strstr(err.msg, "reason") == NULL))) {
			printf("  case \"%s\": rc %d \"%s\"\n",
			    text_cases[i].label, rc, err.msg);
			CHECK(0);
		}
	}
}
