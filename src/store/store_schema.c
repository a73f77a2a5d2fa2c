/*
 * store_schema: the schema as numbered migrations, applied in order at
 * open, each in its own transaction, the version kept in the store. A
 * migration is never edited once released: add the next one.
 *
 * Names: domain_name and user_name hold every name (primary and alias)
 * in one table each, so "an alias may not shadow an existing address" is
 * a unique key the database enforces, even between two writers.
 */
#include <stdio.h>
#include <string.h>

#include "store.h"
#include "store_impl.h"

static const char *const store_migrations[] = {
	/* 1: accounts and credentials */
	"CREATE TABLE domain ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL UNIQUE,"
	" created INTEGER NOT NULL,"
	" q_msgs_hour INTEGER, q_msgs_day INTEGER,"
	" q_rcpts_day INTEGER, q_rcpts_msg INTEGER);"
	"CREATE TABLE domain_name ("
	" name TEXT PRIMARY KEY,"
	" domain_id INTEGER NOT NULL REFERENCES domain(id) ON DELETE CASCADE,"
	" is_alias INTEGER NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE INDEX domain_name_domain ON domain_name(domain_id);"
	"CREATE TABLE account ("
	" id INTEGER PRIMARY KEY,"
	" domain_id INTEGER NOT NULL REFERENCES domain(id) ON DELETE CASCADE,"
	" local TEXT NOT NULL,"
	" local_key TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" blocked_reason TEXT, blocked_at INTEGER,"
	" q_msgs_hour INTEGER, q_msgs_day INTEGER,"
	" q_rcpts_day INTEGER, q_rcpts_msg INTEGER,"
	" UNIQUE (domain_id, local_key));"
	"CREATE TABLE user_name ("
	" domain_id INTEGER NOT NULL REFERENCES domain(id) ON DELETE CASCADE,"
	" local_key TEXT NOT NULL,"
	" local TEXT NOT NULL,"
	" user_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" is_alias INTEGER NOT NULL,"
	" PRIMARY KEY (domain_id, local_key));"
	"CREATE INDEX user_name_user ON user_name(user_id);"
	"CREATE TABLE login_password ("
	" user_id INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,"
	" hash TEXT NOT NULL,"
	" updated INTEGER NOT NULL);"
	"CREATE TABLE smtp_credential ("
	" id INTEGER PRIMARY KEY,"
	" user_id INTEGER UNIQUE REFERENCES account(id) ON DELETE CASCADE,"
	" domain_id INTEGER UNIQUE REFERENCES domain(id) ON DELETE CASCADE,"
	" hash TEXT NOT NULL,"
	" sealed TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" CHECK ((user_id IS NULL) <> (domain_id IS NULL)));"
	"CREATE TABLE app_password ("
	" id INTEGER PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" label TEXT NOT NULL,"
	" hash TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" last_used INTEGER,"
	" revoked INTEGER);"
	"CREATE UNIQUE INDEX app_password_live ON app_password(user_id, label)"
	" WHERE revoked IS NULL;"
	"CREATE TABLE oauth_token ("
	" id TEXT PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" hash TEXT NOT NULL,"
	" scope TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL,"
	" revoked INTEGER);"
	"CREATE INDEX oauth_token_user ON oauth_token(user_id);"
	"CREATE TABLE tos_version ("
	" version INTEGER PRIMARY KEY,"
	" body TEXT NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE tos_acceptance ("
	" user_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" version INTEGER NOT NULL REFERENCES tos_version(version),"
	" accepted INTEGER NOT NULL,"
	" ip TEXT,"
	" PRIMARY KEY (user_id, version));"
	"CREATE TABLE relay_net ("
	" id INTEGER PRIMARY KEY,"
	" domain_id INTEGER NOT NULL REFERENCES domain(id) ON DELETE CASCADE,"
	" cidr TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" UNIQUE (domain_id, cidr));"
	"CREATE TABLE auth_event ("
	" id INTEGER PRIMARY KEY,"
	" time INTEGER NOT NULL,"
	" login TEXT NOT NULL,"
	" ip TEXT NOT NULL,"
	" mech TEXT NOT NULL,"
	" kind TEXT,"
	" outcome TEXT NOT NULL,"
	" reason TEXT);"
	"CREATE INDEX auth_event_login ON auth_event(login, time);"
	"CREATE INDEX auth_event_time ON auth_event(time);",
	/* 2: DKIM keys, one or more per domain name (primary or alias) */
	"ALTER TABLE domain ADD COLUMN dkim TEXT NOT NULL DEFAULT 'rsa';"
	"CREATE TABLE dkim_key ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL REFERENCES domain_name(name) ON DELETE CASCADE,"
	" selector TEXT NOT NULL,"
	" alg TEXT NOT NULL,"
	" path TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" retired INTEGER,"
	" publish_until INTEGER,"
	" UNIQUE (name, selector));"
	"CREATE INDEX dkim_key_name ON dkim_key(name);",
	/* 3: abuse control. A domain's own quota (its domain login and
	 * relay networks: qs_*), and quota usage per owner (a user or a
	 * domain's own sending) and counter, for its current window */
	"ALTER TABLE domain ADD COLUMN qs_msgs_hour INTEGER;"
	"ALTER TABLE domain ADD COLUMN qs_msgs_day INTEGER;"
	"ALTER TABLE domain ADD COLUMN qs_rcpts_day INTEGER;"
	"ALTER TABLE domain ADD COLUMN qs_rcpts_msg INTEGER;"
	"CREATE TABLE quota_usage ("
	" user_id INTEGER REFERENCES account(id) ON DELETE CASCADE,"
	" domain_id INTEGER REFERENCES domain(id) ON DELETE CASCADE,"
	" counter TEXT NOT NULL,"
	" \"window\" INTEGER NOT NULL,"
	" n INTEGER NOT NULL,"
	" CHECK ((user_id IS NULL) <> (domain_id IS NULL)));"
	"CREATE UNIQUE INDEX quota_usage_user ON quota_usage(user_id, counter)"
	" WHERE user_id IS NOT NULL;"
	"CREATE UNIQUE INDEX quota_usage_domain ON quota_usage(domain_id, counter)"
	" WHERE domain_id IS NOT NULL;",
	/* 4: the JSON API's callers: operator keys and panel sessions, both
	 * kept as keyed hashes of the secret the caller holds */
	"CREATE TABLE api_key ("
	" id INTEGER PRIMARY KEY,"
	" name TEXT NOT NULL,"
	" hash TEXT NOT NULL UNIQUE,"
	" created INTEGER NOT NULL,"
	" last_used INTEGER,"
	" revoked INTEGER);"
	"CREATE UNIQUE INDEX api_key_live ON api_key(name)"
	" WHERE revoked IS NULL;"
	"CREATE TABLE panel_session ("
	" id INTEGER PRIMARY KEY,"
	" hash TEXT NOT NULL UNIQUE,"
	" user_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" created INTEGER NOT NULL,"
	" last_seen INTEGER NOT NULL,"
	" ip TEXT NOT NULL);"
	"CREATE INDEX panel_session_user ON panel_session(user_id);",
	/* 5: the panel's second factor (TOTP key sealed, recovery codes as
	 * keyed hashes), sign-in tickets between password and code, and
	 * password links (token as keyed hash; asks counted for limits) */
	"CREATE TABLE totp ("
	" user_id INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,"
	" sealed TEXT NOT NULL,"
	" enabled INTEGER,"
	" last_step INTEGER NOT NULL,"
	" created INTEGER NOT NULL);"
	"CREATE TABLE totp_recovery ("
	" id INTEGER PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" hash TEXT NOT NULL,"
	" used INTEGER);"
	"CREATE INDEX totp_recovery_user ON totp_recovery(user_id);"
	"CREATE TABLE login_ticket ("
	" hash TEXT PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" ip TEXT NOT NULL,"
	" expires INTEGER NOT NULL,"
	" tries INTEGER NOT NULL);"
	"CREATE TABLE password_link ("
	" hash TEXT PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" purpose TEXT NOT NULL,"
	" ip TEXT NOT NULL,"
	" created INTEGER NOT NULL,"
	" expires INTEGER NOT NULL,"
	" used INTEGER);"
	"CREATE INDEX password_link_user ON password_link(user_id);"
	"CREATE TABLE password_ask ("
	" id INTEGER PRIMARY KEY,"
	" ip TEXT NOT NULL,"
	" user_id INTEGER REFERENCES account(id) ON DELETE CASCADE,"
	" time INTEGER NOT NULL);"
	"CREATE INDEX password_ask_ip ON password_ask(ip, time);"
	"CREATE INDEX password_ask_user ON password_ask(user_id, time);",
	/* 6: mailbox quotas, enforced by Dovecot's quota plugin, which asks
	 * postern (dovecot/dict.c). account.mailbox_quota: bytes, 0 none,
	 * NULL the domain's default; domain.mailbox_quota: that default
	 * (NULL or 0: none). mailbox_usage: what Dovecot counted, kept here
	 * so the panel and the API show it without asking Dovecot */
	"ALTER TABLE account ADD COLUMN mailbox_quota INTEGER;"
	"ALTER TABLE domain ADD COLUMN mailbox_quota INTEGER;"
	"CREATE TABLE mailbox_usage ("
	" user_id INTEGER PRIMARY KEY REFERENCES account(id) ON DELETE CASCADE,"
	" bytes INTEGER NOT NULL,"
	" messages INTEGER NOT NULL,"
	" updated INTEGER NOT NULL);",
	/* 7: forwarding (issue 14). A user's targets: the address as
	 * given, its folded key (one row per target and user), the keyed
	 * hash of the confirmation token (NULL once confirmed) and its
	 * expiry; nothing is forwarded to a target before `confirmed`.
	 * account.forward_only: 1, the mailbox keeps no copy;
	 * forward_link: each confirmation mailed, for a daily bound, since a
	 * stranger's mailbox is what it fills */
	"ALTER TABLE account ADD COLUMN forward_only INTEGER NOT NULL"
	" DEFAULT 0;"
	"CREATE TABLE forward_target ("
	" id INTEGER PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" address TEXT NOT NULL,"
	" address_key TEXT NOT NULL,"
	" token_hash TEXT UNIQUE,"
	" token_expires INTEGER,"
	" confirmed INTEGER,"
	" created INTEGER NOT NULL,"
	" UNIQUE (user_id, address_key));"
	"CREATE TABLE forward_link ("
	" id INTEGER PRIMARY KEY,"
	" user_id INTEGER NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" time INTEGER NOT NULL);"
	"CREATE INDEX forward_link_user ON forward_link(user_id, time);",
	/* 8: several nodes on one store. sync_seq numbers the changes the
	 * nodes poll for (blocks, quota usage, failed logins): a writer
	 * takes the next number under the row's lock, so numbers commit in
	 * order and "everything after n" misses nothing. bf_count: failed
	 * logins per address and per login (hash: BLAKE2b-128 of the name),
	 * added to by every node. node_status: each node's queue, as it
	 * publishes it. auth_event.node: the node that logged the attempt */
	"CREATE TABLE sync_seq (name TEXT PRIMARY KEY, n BIGINT NOT NULL);"
	"INSERT INTO sync_seq (name, n) VALUES ('block', 0);"
	"INSERT INTO sync_seq (name, n) VALUES ('usage', 0);"
	"INSERT INTO sync_seq (name, n) VALUES ('bf', 0);"
	"ALTER TABLE account ADD COLUMN block_seq BIGINT NOT NULL DEFAULT 0;"
	"CREATE INDEX account_block_seq ON account(block_seq);"
	"ALTER TABLE quota_usage ADD COLUMN seq BIGINT NOT NULL DEFAULT 0;"
	"CREATE INDEX quota_usage_seq ON quota_usage(seq);"
	"CREATE TABLE bf_count ("
	" tab BIGINT NOT NULL,"
	" kind BIGINT NOT NULL,"
	" hash TEXT NOT NULL,"
	" fails BIGINT NOT NULL,"
	" last_fail BIGINT NOT NULL,"
	" refused_until BIGINT NOT NULL,"
	" link TEXT,"
	" seq BIGINT NOT NULL,"
	" PRIMARY KEY (tab, kind, hash));"
	"CREATE INDEX bf_count_seq ON bf_count(seq);"
	"CREATE INDEX bf_count_last ON bf_count(last_fail);"
	"ALTER TABLE auth_event ADD COLUMN node TEXT;"
	"CREATE TABLE node_status ("
	" node TEXT PRIMARY KEY,"
	" started BIGINT NOT NULL,"
	" updated BIGINT NOT NULL,"
	" queued BIGINT NOT NULL,"
	" inflight BIGINT NOT NULL,"
	" store_ok BIGINT NOT NULL);"
	"CREATE TABLE login_ip ("
	" user_id BIGINT NOT NULL REFERENCES account(id) ON DELETE CASCADE,"
	" hour BIGINT NOT NULL,"
	" ip TEXT NOT NULL,"
	" PRIMARY KEY (user_id, hour, ip));",
};

#define NMIGRATIONS (sizeof(store_migrations) / sizeof(store_migrations[0]))

/*
 * A migration's statement as this backend's DDL, into out. Written once
 * for both (docs/ARCHITECTURE.md, "Migrations"): an integer column is
 * INTEGER (64 bits on PostgreSQL: BIGINT), a generated key is spelled
 * "id INTEGER PRIMARY KEY" (SQLite's rowid; an identity on PostgreSQL),
 * TEXT compares bytes on both (COLLATE "C" on PostgreSQL).
 * -1 if out is too small.
 */
static int
ddl_is_name_char(char c)
{
	return c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9');
}

/* Does the whole word w (several words allowed) start at p? */
static int
ddl_word(const char *in, const char *p, const char *w)
{
	size_t n = strlen(w);

	return (p == in || !ddl_is_name_char(p[-1])) && strncmp(p, w, n) == 0 &&
	       !ddl_is_name_char(p[n]);
}

static int
store_schema_ddl(const struct db_backend *be, const char *in, char *out,
    size_t outlen)
{
	const char *p = in, *rep, *w;
	size_t o = 0, n;

	while (*p) {
		if (be->ddl_id && ddl_word(in, p, w = "id INTEGER PRIMARY KEY"))
			rep = be->ddl_id;
		else if (be->ddl_integer && ddl_word(in, p, w = "INTEGER"))
			rep = be->ddl_integer;
		else if (be->ddl_text && ddl_word(in, p, w = "TEXT"))
			rep = be->ddl_text;
		else {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = *p++;
			continue;
		}
		n = strlen(rep);
		if (o + n >= outlen)
			return -1;
		memcpy(out + o, rep, n);
		o += n;
		p += strlen(w);
	}
	out[o] = '\0';
	return 0;
}

/* Run migration i (several statements split at ';'), inside the caller's
 * transaction. */
static int
store_schema_run(struct store *s, size_t i, char *err, size_t errlen)
{
	const struct db_backend *be = db_backend(s->db);
	const char *p = store_migrations[i];
	char stmt[4096], ddl[8192];

	while (*p) {
		const char *e = strchr(p, ';');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n >= sizeof(stmt)) {
			snprintf(err, errlen, "migration %zu too long", i + 1);
			return -1;
		}
		memcpy(stmt, p, n);
		stmt[n] = '\0';
		if (store_schema_ddl(be, stmt, ddl, sizeof(ddl)) == -1) {
			snprintf(err, errlen, "migration %zu too long", i + 1);
			return -1;
		}
		/* not cached: each text is run once */
		if (n > 0 && db_exec_once(s->db, ddl) != DB_DONE) {
			snprintf(err, errlen, "store schema: migration %zu: %s",
			    i + 1, db_errmsg(s->db));
			return -1;
		}
		p = e ? e + 1 : p + n;
	}
	return 0;
}

/*
 * Bring the schema to this postern's version, in one transaction: on
 * PostgreSQL under an advisory lock, so of several nodes starting at
 * once one migrates and the others wait, then find it done.
 */
int
store_schema_migrate(struct store *s, char *err, size_t errlen)
{
	const struct db_backend *be = db_backend(s->db);
	int64_t v;
	size_t i;

	if (db_begin(s->db) == -1)
		goto fail;
	if (be->migrate_lock_sql &&
	    db_exec(s->db, be->migrate_lock_sql, NULL) != DB_DONE)
		goto fail_tx;
	if (db_exec(s->db,
		"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
		NULL) != DB_DONE)
		goto fail_tx;
	v = db_scalar(s->db, "SELECT max(version) FROM schema_version", NULL);
	if (v < 0)
		v = 0;
	if ((size_t)v > NMIGRATIONS) {
		db_rollback(s->db);
		snprintf(err, errlen,
		    "store schema version %lld is newer than this postern (%zu): upgrade postern",
		    (long long)v, NMIGRATIONS);
		return -1;
	}
	for (i = (size_t)v; i < NMIGRATIONS; i++) {
		if (store_schema_run(s, i, err, errlen) == -1) {
			db_rollback(s->db);
			return -1;
		}
		if (db_exec(s->db,
			"INSERT INTO schema_version (version) VALUES (?)", "i",
			(int64_t)(i + 1)) != DB_DONE)
			goto fail_tx;
	}
	if (db_commit(s->db) == -1)
		goto fail_tx;
	return 0;
fail_tx:
	snprintf(err, errlen, "store schema: %s", db_errmsg(s->db));
	db_rollback(s->db);
	return -1;
fail:
	snprintf(err, errlen, "store schema: %s", db_errmsg(s->db));
	return -1;
}

int
store_schema_latest(void)
{
	return (int)NMIGRATIONS;
}
