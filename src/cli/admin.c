/*
 * cli/admin: the table that turns command words and flags into an admin
 * operation's JSON arguments, and its result into text (or JSON with
 * --json). Exit status: 0 done, 1 refused (the message says why), 2 bad
 * usage.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "cli.h"
#include "../admin/admin.h"
#include "../auth/secret.h"
#include "../forward/srs.h"
#include "../store/store.h"
#include "../util/conf.h"
#include "../util/str.h"

#define STDIN_MAX 4096
#define FILE_MAX (256 * 1024)

/*
 * args: positional names in order ("?" suffix: optional; "<" prefix:
 * the argument is a file whose content becomes the value).
 * opts: "--flag" sets key true, "--name=key" takes a value, "--name<key"
 * reads the value from standard input (secrets never go on argv).
 */
struct cli_cmd {
	const char *words;
	const char *op;
	const char *args;
	const char *opts;
	const char *help;
};

static void cli_print_zone(json_t *);
static void cli_print_check(json_t *);
static void cli_print_auth_log(json_t *);
static void cli_print_queue(json_t *);
static void cli_print_message(json_t *);
static void cli_print_queue_done(json_t *);
static void cli_print_tlsrpt_send(json_t *);
static void cli_print_tlsrpt_show(json_t *);

/* Operations whose text form is their own. */
static const struct {
	const char *op;
	void (*print)(json_t *);
} cli_texts[] = {
	{ "domain.dns", cli_print_zone },
	{ "domain.check", cli_print_check },
	{ "log.auth", cli_print_auth_log },
	{ "queue.list", cli_print_queue },
	{ "queue.show", cli_print_message },
	{ "queue.hold", cli_print_queue_done },
	{ "queue.release", cli_print_queue_done },
	{ "queue.delete", cli_print_queue_done },
	{ "queue.flush", cli_print_queue_done },
	{ "tlsrpt.send", cli_print_tlsrpt_send },
	{ "tlsrpt.show", cli_print_tlsrpt_show },
};

#define QUOTA_OPTS                                                             \
	"--messages-per-hour=messages_per_hour "                               \
	"--messages-per-day=messages_per_day "                                 \
	"--recipients-per-day=recipients_per_day "                             \
	"--recipients-per-message=recipients_per_message --mailbox=mailbox "   \
	"--clear"

static const struct cli_cmd cli_cmds[] = {
	{ "domain add", "domain.add", "domain", "--dkim=dkim",
	    "DOMAIN [--dkim rsa|ed25519|dual]" },
	{ "domain list", "domain.list", "", "", "" },
	{ "domain remove", "domain.remove", "domain", "--force",
	    "DOMAIN [--force]" },
	{ "domain alias add", "domain.alias.add", "alias domain", "",
	    "ALIAS DOMAIN" },
	{ "domain alias remove", "domain.alias.remove", "alias domain", "",
	    "ALIAS DOMAIN" },
	{ "domain dns", "domain.dns", "domain", "", "DOMAIN" },
	{ "domain check", "domain.check", "domain", "", "DOMAIN" },
	{ "domain dkim rotate", "domain.dkim.rotate", "domain", "", "DOMAIN" },
	{ "user add", "user.add", "address", "--password-stdin<password",
	    "ADDRESS [--password-stdin]" },
	{ "user list", "user.list", "domain?", "", "[DOMAIN]" },
	{ "user show", "user.show", "address", "", "ADDRESS" },
	{ "user remove", "user.remove", "address", "", "ADDRESS" },
	{ "user alias add", "user.alias.add", "address local", "",
	    "ADDRESS LOCALPART" },
	{ "user alias remove", "user.alias.remove", "address local", "",
	    "ADDRESS LOCALPART" },
	{ "user password", "user.password", "address",
	    "--stdin<password --password-stdin<password",
	    "ADDRESS --stdin   (the login password, read from stdin)" },
	{ "user block", "user.block", "address", "--reason=reason",
	    "ADDRESS --reason TEXT" },
	{ "user unblock", "user.unblock", "address", "", "ADDRESS" },
	{ "user quota", "user.quota", "address", QUOTA_OPTS,
	    "ADDRESS [--messages-per-hour N] [--messages-per-day N] "
	    "[--recipients-per-day N] [--recipients-per-message N] "
	    "[--mailbox SIZE] [--clear]  (N: 0 unlimited, or inherit; SIZE: "
	    "512k, 35M, 2G, none, or inherit)" },
	{ "domain quota", "domain.quota", "domain", QUOTA_OPTS " --self",
	    "DOMAIN [--self] [--messages-per-hour N] ... [--mailbox SIZE] "
	    "[--clear]  (defaults for its users; --self: its domain login "
	    "and relay networks)" },
	{ "log auth", "log.auth", "login?",
	    "--since=since --failed --limit=limit",
	    "[ADDRESS|DOMAIN] [--since 1h|2024-10-01] [--failed] [--limit N]" },
	{ "user totp off", "user.totp.off", "address", "", "ADDRESS" },
	{ "user forward add", "user.forward.add", "address target", "",
	    "ADDRESS TARGET   (mails TARGET a link to confirm)" },
	{ "user forward remove", "user.forward.remove", "address target", "",
	    "ADDRESS TARGET" },
	{ "user forward list", "user.forward.list", "address", "", "ADDRESS" },
	{ "user forward mode", "user.forward.mode", "address mode", "",
	    "ADDRESS keep|only   (keep a copy in the mailbox, or not)" },
	{ "smtp-password show", "smtp-password.show", "login", "",
	    "ADDRESS|DOMAIN" },
	{ "smtp-password generate", "smtp-password.generate", "login", "",
	    "ADDRESS|DOMAIN" },
	{ "app-password add", "app-password.add", "address", "--label=label",
	    "ADDRESS --label NAME" },
	{ "app-password list", "app-password.list", "address", "", "ADDRESS" },
	{ "app-password revoke", "app-password.revoke", "address label", "",
	    "ADDRESS NAME" },
	{ "token issue", "token.issue", "address", "--ttl=ttl --scope=scope",
	    "ADDRESS [--ttl 1h] [--scope smtp]" },
	{ "token revoke", "token.revoke", "id", "", "TOKEN-ID" },
	{ "tos set", "tos.set", "<text", "", "FILE" },
	{ "tos show", "tos.show", "", "", "" },
	{ "tos accept", "tos.accept", "address", "", "ADDRESS" },
	{ "relay-net add", "relay-net.add", "domain cidr", "", "DOMAIN CIDR" },
	{ "relay-net list", "relay-net.list", "domain?", "", "[DOMAIN]" },
	{ "relay-net remove", "relay-net.remove", "domain cidr", "",
	    "DOMAIN CIDR" },
	{ "queue list", "queue.list", "", "", "" },
	{ "queue show", "queue.show", "id", "", "ID" },
	{ "queue hold", "queue.hold", "id", "", "ID" },
	{ "queue release", "queue.release", "id", "", "ID" },
	{ "queue delete", "queue.delete", "id", "", "ID" },
	{ "queue flush", "queue.flush", "", "", "" },
	{ "tlsrpt send", "tlsrpt.send", "", "--day=day --today",
	    "[--day YYYY-MM-DD | --today]   (TLS reports now: the finished "
	    "days, that day, or today so far)" },
	{ "tlsrpt show", "tlsrpt.show", "", "", "" },
	{ "api-key add", "api-key.add", "name", "",
	    "NAME   (prints the key once)" },
	{ "api-key list", "api-key.list", "", "", "" },
	{ "api-key revoke", "api-key.revoke", "name", "", "NAME" },
	{ NULL, NULL, NULL, NULL, NULL },
};

void
cli_usage(void)
{
	const struct cli_cmd *c;

	fprintf(stderr,
	    "usage: postern [-c FILE] [--json] COMMAND ...\n\n"
	    "  init --dir DIR --hostname HOST [--cert FILE --key FILE]\n"
	    "  serve [-v]\n"
	    "  dovecot-config [--base-dir DIR] [--mail-dir DIR] [--mail-user "
	    "USER] [--listen ADDRS]\n"
	    "                 [--imap-port N] [--imaps-port N] "
	    "[--auth-as-root] [--userdb-file /PATH] [--userdb]\n"
	    "  dovecot-auth PROGRAM  (run by Dovecot: its checkpassword)\n"
	    "  store migrate  (the schema to this version, by hand)\n"
	    "  store copy --to CONNINFO|-  (SQLite into an empty "
	    "PostgreSQL)\n");
	for (c = cli_cmds; c->words; c++)
		fprintf(stderr, "  %s %s\n", c->words, c->help);
	fprintf(stderr,
	    "\nThe config is -c FILE, else $POSTERN_CONFIG, else ./postern.conf,\n"
	    "else /etc/postern/postern.conf.\n");
}

/* Words of argv matching a command; the longest match wins. */
static const struct cli_cmd *
cli_match(int argc, char **argv, int *used)
{
	const struct cli_cmd *c, *best = NULL;
	int bestn = 0;

	for (c = cli_cmds; c->words; c++) {
		char w[64], *tok, *save = NULL;
		int n = 0, ok = 1;
		str_lcpy(w, c->words, sizeof(w));
		for (tok = strtok_r(w, " ", &save); tok;
		     tok = strtok_r(NULL, " ", &save), n++)
			if (n >= argc || strcmp(argv[n], tok) != 0) {
				ok = 0;
				break;
			}
		if (ok && n > bestn) {
			best = c;
			bestn = n;
		}
	}
	*used = bestn;
	return best;
}

/* Find "--name" in an option spec: its kind ('!', '=', '<') and key. */
static int
cli_opt(const char *spec, const char *name, char *key, size_t keylen)
{
	char s[512], *tok, *save = NULL;

	str_lcpy(s, spec, sizeof(s));
	for (tok = strtok_r(s, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		size_t n = strcspn(tok, "=<");
		if (strlen(name) == n && strncmp(tok, name, n) == 0) {
			if (tok[n] == '\0') {
				str_lcpy(key, tok + 2, keylen);
				return '!';
			}
			str_lcpy(key, tok + n + 1, keylen);
			return tok[n];
		}
	}
	return 0;
}

/* Set a string argument; JSON holds only UTF-8, so say so. */
static int
cli_set(json_t *args, const char *key, const char *v)
{
	json_t *j = json_string(v);

	if (j == NULL) {
		fprintf(stderr, "postern: the %s given is not valid UTF-8\n",
		    key);
		return -2; /* a bad value, not bad usage */
	}
	json_object_set_new(args, key, j);
	return 0;
}

static int
cli_parse(const struct cli_cmd *c, int argc, char **argv, json_t *args)
{
	char names[128], *pos[8], *tok, *save = NULL, key[64];
	int npos = 0, i, got = 0, need = 0;

	str_lcpy(names, c->args, sizeof(names));
	for (tok = strtok_r(names, " ", &save); tok && npos < 8;
	     tok = strtok_r(NULL, " ", &save))
		pos[npos++] = tok;
	for (i = 0; i < npos; i++)
		if (pos[i][strlen(pos[i]) - 1] != '?')
			need++;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strncmp(a, "--", 2) == 0 && a[2] != '\0') {
			char name[64], *eq;
			int kind;
			str_lcpy(name, a, sizeof(name));
			if ((eq = strchr(name, '=')) != NULL)
				*eq = '\0';
			kind = cli_opt(c->opts, name, key, sizeof(key));
			if (kind == 0) {
				fprintf(stderr, "postern: unknown option %s\n",
				    name);
				return -1;
			}
			if (kind == '!') {
				json_object_set_new(args, key, json_true());
			} else if (kind == '=') {
				const char *v =
				    eq ? a + (eq - name) + 1
				       : (i + 1 < argc ? argv[++i] : NULL);
				if (v == NULL) {
					fprintf(stderr,
					    "postern: %s needs a value\n",
					    name);
					return -1;
				}
				if (cli_set(args, key, v) == -2)
					return -2;
			} else {
				char *v = str_read_stdin(STDIN_MAX);
				int bad;
				if (v == NULL) {
					fprintf(stderr,
					    "postern: cannot read %s from standard input\n",
					    key);
					return -1;
				}
				bad = cli_set(args, key, v);
				sodium_memzero(v, strlen(v));
				free(v);
				if (bad == -2)
					return -2;
			}
			continue;
		}
		if (got >= npos) {
			fprintf(stderr, "postern: unexpected argument \"%s\"\n",
			    a);
			return -1;
		}
		str_lcpy(key, pos[got], sizeof(key));
		if (key[strlen(key) - 1] == '?')
			key[strlen(key) - 1] = '\0';
		if (key[0] == '<') {
			size_t len;
			char *text = str_read_file(a, FILE_MAX, &len);
			if (text == NULL) {
				fprintf(stderr, "postern: cannot read %s\n", a);
				return -1;
			}
			if (cli_set(args, key + 1, text) == -2) {
				free(text);
				return -2;
			}
			free(text);
		} else if (cli_set(args, key, a) == -2) {
			return -2;
		}
		got++;
	}
	if (got < need) {
		fprintf(stderr,
		    "postern: missing argument(s)\nusage: postern %s %s\n",
		    c->words, c->help);
		return -1;
	}
	return 0;
}

static int
cli_is_time(const char *key)
{
	static const char *const keys[] = { "created", "last_used", "expires",
		"accepted", "revoked", "time", "resets", "confirmed", NULL };
	int i;

	for (i = 0; keys[i]; i++)
		if (strcmp(key, keys[i]) == 0)
			return 1;
	return 0;
}

static void
cli_print_value(const char *key, json_t *v)
{
	char buf[64];

	if (json_is_string(v)) {
		fputs(json_string_value(v), stdout);
	} else if (json_is_integer(v) && cli_is_time(key)) {
		time_t t = (time_t)json_integer_value(v);
		struct tm tm;
		gmtime_r(&t, &tm);
		strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%SZ", &tm);
		fputs(buf, stdout);
	} else if (json_is_null(v)) {
		fputs("-", stdout);
	} else if (json_is_array(v)) {
		size_t i;
		json_t *e;
		json_array_foreach (v, i, e) {
			if (i)
				fputs(", ", stdout);
			if (json_is_object(e) && json_object_size(e) == 1)
				e = json_object_iter_value(json_object_iter(e));
			cli_print_value(key, e);
		}
	} else {
		char *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);
		fputs(s ? s : "?", stdout);
		free(s);
	}
}

/* An object of objects (a user's quotas) as indented lines; a quota
 * reads "used of limit". */
static void
cli_print_quota(const char *key, json_t *v)
{
	const char *k, *f;
	json_t *o, *x;

	printf("%s:\n", key);
	json_object_foreach (v, k, o) {
		json_t *lim = json_object_get(o, "limit");
		printf("  %s: ", k);
		if (!json_is_object(o)) {
			cli_print_value(k, o);
			printf("\n");
			continue;
		}
		if (json_is_integer(lim) && json_integer_value(lim) == 0 &&
		    json_is_integer(json_object_get(o, "used")))
			printf("%lld of unlimited",
			    (long long)json_integer_value(
				json_object_get(o, "used")));
		else if (json_is_integer(lim) && json_integer_value(lim) == 0)
			printf("unlimited");
		else if (json_is_integer(lim) &&
			 json_is_integer(json_object_get(o, "used")))
			printf("%lld of %lld",
			    (long long)json_integer_value(
				json_object_get(o, "used")),
			    (long long)json_integer_value(lim));
		else if (json_is_integer(lim))
			printf("%lld", (long long)json_integer_value(lim));
		json_object_foreach (o, f, x) {
			if (strcmp(f, "limit") == 0 || strcmp(f, "used") == 0)
				continue;
			printf("  %s=", f);
			cli_print_value(f, x);
		}
		printf("\n");
	}
}

/* Objects as "key: value" lines; a list of objects as a table. */
static void
cli_print(json_t *out)
{
	const char *key;
	json_t *v;

	json_object_foreach (out, key, v) {
		json_t *row;
		size_t i;
		if (json_is_array(v) && json_array_size(v) > 0 &&
		    json_is_object(json_array_get(v, 0)) &&
		    json_object_size(json_array_get(v, 0)) > 1) {
			const char *k;
			json_t *f;
			printf("%s:\n", key);
			json_array_foreach (v, i, row) {
				int first = 1;
				printf("  ");
				json_object_foreach (row, k, f) {
					printf("%s%s=", first ? "" : "  ", k);
					cli_print_value(k, f);
					first = 0;
				}
				printf("\n");
			}
			continue;
		}
		if (json_is_object(v) && json_object_size(v) > 0) {
			cli_print_quota(key, v);
			continue;
		}
		printf("%s: ", key);
		cli_print_value(key, v);
		printf("\n");
	}
}

/* What a client typed, with control bytes as \xNN: it goes to a
 * terminal. */
static void
cli_print_safe(const char *t)
{
	for (; *t; t++) {
		unsigned char ch = (unsigned char)*t;
		if (ch < 0x20 || ch == 0x7f || ch == '\\')
			printf("\\x%02x", ch);
		else
			putchar(ch);
	}
}

/* `log auth`: one attempt a line, newest first. */
static void
cli_print_auth_log(json_t *out)
{
	static const char *const cols[] = { "login", "ip", "mech", "kind",
		"outcome", "reason" };
	json_t *e, *v;
	size_t i, c;

	json_array_foreach (json_object_get(out, "events"), i, e) {
		cli_print_value("time", json_object_get(e, "time"));
		for (c = 0; c < sizeof(cols) / sizeof(cols[0]); c++) {
			v = json_object_get(e, cols[c]);
			fputs("  ", stdout);
			if (json_is_string(v) && json_string_length(v) > 0)
				cli_print_safe(json_string_value(v));
			else
				fputs("-", stdout);
		}
		printf("\n");
	}
	printf("%zu event(s)\n",
	    json_array_size(json_object_get(out, "events")));
}

/* `domain dns`: zone file lines, ready to paste. */
static void
cli_print_zone(json_t *out)
{
	json_t *recs = json_object_get(out, "records"), *r, *str;
	size_t i, j;

	printf("; DNS records for %s: paste into its zone\n",
	    json_string_value(json_object_get(out, "domain")));
	json_array_foreach (recs, i, r) {
		json_t *until = json_object_get(r, "until");
		printf("\n; %s", json_string_value(json_object_get(r, "why")));
		if (json_is_integer(until)) {
			char d[32];
			time_t t = (time_t)json_integer_value(until);
			struct tm tm;
			gmtime_r(&t, &tm);
			strftime(d, sizeof(d), "%Y-%m-%d", &tm);
			printf(" (%s)", d);
		}
		printf("\n%s.\tIN\t%s\t",
		    json_string_value(json_object_get(r, "name")),
		    json_string_value(json_object_get(r, "type")));
		if (strcmp(json_string_value(json_object_get(r, "type")),
			"TXT") != 0)
			printf("%s",
			    json_string_value(json_object_get(r, "value")));
		else
			json_array_foreach (json_object_get(r, "strings"), j,
			    str)
				printf("%s\"%s\"", j ? " " : "",
				    json_string_value(str));
		printf("\n");
	}
}

/* `domain check`: record by record, what is right and what is not. */
static void
cli_print_check(json_t *out)
{
	json_t *r, *f;
	size_t i, j;

	json_array_foreach (json_object_get(out, "checks"), i, r) {
		printf("%-9s %s TXT (%s)\n",
		    json_string_value(json_object_get(r, "status")),
		    json_string_value(json_object_get(r, "name")),
		    json_string_value(json_object_get(r, "why")));
		if (strcmp(json_string_value(json_object_get(r, "status")),
			"ok") == 0)
			continue;
		printf("          want:  %s\n",
		    json_string_value(json_object_get(r, "want")));
		json_array_foreach (json_object_get(r, "found"), j, f)
			printf("          found: %s\n", json_string_value(f));
	}
	printf("%s\n", json_string_value(json_object_get(out, "summary")));
}

/* `queue list`: one line a message, then the count. */
static void
cli_print_queue(json_t *out)
{
	json_t *q = json_object_get(out, "queue"), *m, *r, *mb;
	const char *d;
	size_t i, j;

	json_array_foreach (q, i, m) {
		printf("%s%s  %8lld  <%s>",
		    json_string_value(json_object_get(m, "id")),
		    json_is_true(json_object_get(m, "held")) ? " (held)" : "",
		    (long long)json_integer_value(json_object_get(m, "size")),
		    json_string_value(json_object_get(m, "from")));
		if (json_is_string(json_object_get(m, "forwarded_by")))
			printf(" (forwarded for %s)",
			    json_string_value(
				json_object_get(m, "forwarded_by")));
		if (json_is_true(json_object_get(m, "mailbox_only")))
			printf(" (kept copy)");
		json_array_foreach (json_object_get(m, "rcpts"), j, r) {
			printf(" %s", json_string_value(r));
			/* a user's mailbox: which one, and where it goes; or
			 * where a bounce to an SRS address is relayed */
			mb = json_array_get(json_object_get(m, "mailboxes"), j);
			d = json_string_value(
			    json_array_get(json_object_get(m, "dests"), j));
			if (json_is_string(mb) && d != NULL &&
			    strcmp(d, "forward") == 0)
				printf(" (mailbox %s: forwarded)",
				    json_string_value(mb));
			else if (json_is_string(mb))
				printf(" (%s %s via %s)",
				    d != NULL && strncmp(d, "lmtp:", 5) == 0
					? "mailbox"
					: "bounce to",
				    json_string_value(mb), d ? d : "?");
		}
		printf("\n");
	}
	printf("%zu message(s)\n", json_array_size(q));
}

/* `queue show`: the envelope as lines, then the message. */
static void
cli_print_message(json_t *out)
{
	const char *k;
	json_t *v;

	json_object_foreach (out, k, v) {
		if (strcmp(k, "message") == 0)
			continue;
		if (json_is_string(v))
			printf("%s: %s\n", k, json_string_value(v));
		else if (json_is_integer(v))
			printf("%s: %lld\n", k,
			    (long long)json_integer_value(v));
		else {
			char *t = json_dumps(v, JSON_COMPACT);
			printf("%s: %s\n", k, t ? t : "?");
			free(t);
		}
	}
	printf("\n%s", json_string_value(json_object_get(out, "message")));
}

static void
cli_print_queue_done(json_t *out)
{
	const char *verb = json_string_value(json_object_get(out, "done"));
	const char *id = json_string_value(json_object_get(out, "id"));

	if (!json_is_true(json_object_get(out, "running")) &&
	    strcmp(verb, "flush") == 0)
		printf("postern is not running: the queue is tried at start\n");
	else
		printf("%s%s%s: done\n", verb, id ? " " : "", id ? id : "");
}

static void
cli_print_tlsrpt_send(json_t *out)
{
	if (!json_is_true(json_object_get(out, "running")))
		printf("postern is not running: the reports are sent after "
		       "its start\n");
	else
		printf("tlsrpt send %s: asked; the server sends within "
		       "seconds (see its log: tlsrpt.sent)\n",
		    json_string_value(json_object_get(out, "day")));
}

/* PERIOD-BEGIN DOMAIN TYPE ok=N failed=N, then each failure detail */
static void
cli_print_tlsrpt_show(json_t *out)
{
	json_t *d, *p, *t;
	size_t i, j, k;
	char when[32];

	if (json_array_size(json_object_get(out, "domains")) == 0)
		printf("no TLS sessions counted since the last report\n");
	json_array_foreach (json_object_get(out, "domains"), i, d) {
		time_t b =
		    (time_t)json_integer_value(json_object_get(d, "begin"));
		struct tm tm;

		gmtime_r(&b, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_array_foreach (json_object_get(d, "policies"), j, p) {
			printf("%s  %s  %s  ok=%lld failed=%lld\n", when,
			    json_string_value(json_object_get(d, "domain")),
			    json_string_value(json_object_get(p, "type")),
			    (long long)json_integer_value(
				json_object_get(p, "ok")),
			    (long long)json_integer_value(
				json_object_get(p, "failed")));
			json_array_foreach (json_object_get(p, "details"), k,
			    t) {
				printf("    %s mx=%s ip=%s x%lld\n",
				    json_string_value(
					json_object_get(t, "result")),
				    json_string_value(json_object_get(t, "mx"))
					?: "-",
				    json_string_value(
					json_object_get(t, "receiving_ip"))
					?: "-",
				    (long long)json_integer_value(
					json_object_get(t, "count")));
			}
		}
	}
}

int
cli_admin(struct cli_global *g, int argc, char **argv)
{
	const struct cli_cmd *c;
	const struct admin_op *op;
	struct conf conf;
	struct secret_keys keys;
	static struct srs_key srs; /* set as the process's: static */
	struct admin_ctx ctx;
	struct admin_err err = { 0, "" };
	json_t *args, *out = NULL;
	char msg[512];
	int used, rc = 1;

	if ((c = cli_match(argc, argv, &used)) == NULL) {
		fprintf(stderr, "postern: unknown command \"%s%s%s\"\n",
		    argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		cli_usage();
		return 2;
	}
	args = json_object();
	if ((rc = cli_parse(c, argc - used, argv + used, args)) < 0) {
		json_decref(args);
		return rc == -2 ? 1 : 2;
	}
	rc = 1;
	if (cli_load_conf(g, &conf) == -1) {
		json_decref(args);
		return 1;
	}
	memset(&ctx, 0, sizeof(ctx));
	if (secret_master_load(conf.master_key, &keys, msg, sizeof(msg)) ==
	    -1) {
		fprintf(stderr, "postern: %s\n", msg);
		json_decref(args);
		return 1;
	}
	/* `queue list` decodes SRS recipients as the server does; an SRS
	 * secret not made yet (no start since) leaves them undecoded */
	if (srs_key_load(conf.srs_secret, &srs, msg, sizeof(msg)) == 0)
		srs_key_set(&srs);
	ctx.store = store_open(conf.store_driver,
	    strcmp(conf.store_driver, "sqlite") == 0 ? conf.store_path
						     : conf.store_conninfo,
	    msg, sizeof(msg));
	if (ctx.store == NULL) {
		fprintf(stderr, "postern: %s\n", msg);
		json_decref(args);
		sodium_memzero(&keys, sizeof(keys));
		return 1;
	}
	ctx.keys = &keys;
	ctx.conf = &conf;
	ctx.actor = "cli";
	op = admin_op_find(c->op);
	if (op->fn(&ctx, args, &out, &err) == 0) {
		if (g->json) {
			json_dumpf(out, stdout,
			    JSON_INDENT(2) | JSON_SORT_KEYS);
			fputc('\n', stdout);
		} else {
			void (*print)(json_t *) = cli_print;
			size_t i;
			for (i = 0;
			     i < sizeof(cli_texts) / sizeof(cli_texts[0]); i++)
				if (strcmp(cli_texts[i].op, c->op) == 0)
					print = cli_texts[i].print;
			print(out);
		}
		rc = 0;
	} else if (g->json) {
		json_t *e = json_pack("{s:s,s:i}", "error", err.msg, "status",
		    err.status);
		json_dumpf(e, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
		json_decref(e);
		fprintf(stderr, "postern: %s\n", err.msg);
	} else {
		fprintf(stderr, "postern: %s\n", err.msg);
	}
	fflush(stdout);
	json_decref(out);
	json_decref(args);
	store_close(ctx.store);
	sodium_memzero(&keys, sizeof(keys));
	return rc;
}
