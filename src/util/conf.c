/*
 * conf: the table of settings (name, type, default, bounds) drives
 * parsing, defaults and the file that `postern init` writes, so a setting
 * is declared in one place.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "conf.h"
#include "str.h"

/* T_ENUM: the text is kept; T_CHOICE: its index among the choices, in
 * an enum field (an int) */
enum conf_type { T_STR, T_PATH, T_INT, T_DURATION, T_SIZE, T_ENUM, T_CHOICE };

struct conf_key {
	const char *section, *key;
	enum conf_type type;
	size_t off, len;
	const char *def;
	int64_t min, max;
	const char *choices; /* T_ENUM: "a|b|c" */
	const char *doc;
};

static int conf_check_lmtp(const char *, char *, size_t);
static int conf_check_rspamd(const char *, char *, size_t);

#define S(f) offsetof(struct conf, f), sizeof(((struct conf *)0)->f)
#define I(f) offsetof(struct conf, f), 0

_Static_assert(sizeof(enum conf_delivery) == sizeof(int),
    "T_CHOICE fields are stored as int");

static const struct conf_key conf_keys[] = {
	{ "server", "hostname", T_STR, S(hostname), "localhost", 0, 0, NULL,
	    "name in the greeting, EHLO and Received: headers" },
	{ "server", "user", T_STR, S(user), "", 0, 0, NULL,
	    "drop root to this user after binding (empty: stay)" },
	{ "server", "data_dir", T_PATH, S(data_dir), "data", 0, 0, NULL,
	    "spool, keys and the SQLite store live here" },
	{ "server", "master_key", T_PATH, S(master_key), "data/master.key", 0,
	    0, NULL, "32 random bytes, mode 0600; seals SMTP passwords" },
	{ "server", "workers", T_INT, I(workers), "0", 0, 64, NULL,
	    "worker threads for hashing, store and fsync (0: one per core)" },
	{ "server", "node_name", T_STR, S(node_name), "", 0, 0, NULL,
	    "this node's name in the authentication log and the queue list of "
	    "several nodes on one store (empty: the machine's host name)" },

	{ "listen", "smtp", T_STR, S(listen_smtp), "127.0.0.1:2525", 0, 0, NULL,
	    "port 25 style: relay networks, no AUTH" },
	{ "listen", "submission", T_STR, S(listen_submission), "127.0.0.1:2587",
	    0, 0, NULL, "port 587 style: STARTTLS, AUTH" },
	{ "listen", "submissions", T_STR, S(listen_submissions),
	    "127.0.0.1:2465", 0, 0, NULL,
	    "port 465 style: implicit TLS, AUTH" },
	{ "listen", "http", T_STR, S(listen_http), "127.0.0.1:8080", 0, 0, NULL,
	    "JSON API and control panel" },

	{ "http", "tls", T_ENUM, S(http_tls), "on", 0, 0, "on|off|auto",
	    "on: HTTPS with the [tls] certificate; off: plain HTTP, only on "
	    "loopback; auto: plain on loopback, HTTPS elsewhere" },
	{ "http", "max_body", T_SIZE, I(http_max_body), "1M", 1024, 64 << 20,
	    NULL, "largest request body (413 above)" },
	{ "http", "timeout", T_DURATION, I(http_timeout), "30s", 1, 3600, NULL,
	    "idle time allowed on an HTTP connection" },
	{ "http", "session_idle", T_DURATION, I(session_idle), "30m", 1,
	    30 * 86400, NULL, "a panel session ends after this long unused" },
	{ "http", "login_failures", T_INT, I(login_failures), "10", 1, 10000,
	    NULL, "failed panel sign-ins for one login before 429" },
	{ "http", "login_failures_per_ip", T_INT, I(login_failures_ip), "100",
	    1, 100000, NULL,
	    "failed panel sign-ins from one client address before 429" },
	{ "http", "login_window", T_DURATION, I(login_window), "15m", 1, 86400,
	    NULL, "how long failed panel logins are counted" },
	{ "http", "connections_per_ip", T_INT, I(http_conns_ip), "50", 1, 4096,
	    NULL, "open connections from one client address; more are closed" },
	{ "http", "request_timeout", T_DURATION, I(http_request_timeout), "20s",
	    1, 3600, NULL,
	    "time for a whole request from the connection (or the answer "
	    "before); a slower client is closed" },

	{ "tls", "cert", T_PATH, S(tls_cert), "data/tls/cert.pem", 0, 0, NULL,
	    "certificate chain, PEM" },
	{ "tls", "key", T_PATH, S(tls_key), "data/tls/key.pem", 0, 0, NULL,
	    "private key, PEM" },

	{ "store", "driver", T_ENUM, S(store_driver), "sqlite", 0, 0,
	    "sqlite|postgresql",
	    "sqlite (embedded, one machine) or postgresql (several nodes)" },
	{ "store", "path", T_PATH, S(store_path), "data/postern.db", 0, 0, NULL,
	    "the SQLite database file" },
	{ "store", "conninfo", T_STR, S(store_conninfo), "", 0, 0, NULL,
	    "PostgreSQL connection string (driver = postgresql); a password "
	    "goes in a passfile (~/.pgpass), not here" },
	{ "store", "timeout", T_DURATION, I(store_timeout), "10s", 1, 600, NULL,
	    "how long a query waits for a locked SQLite file before the server "
	    "answers 451 (PostgreSQL: connect_timeout and statement_timeout in "
	    "the conninfo)" },
	{ "store", "stale_after", T_DURATION, I(store_stale_after), "60s", 2,
	    86400, NULL,
	    "without the store this long, refuse (451) all new mail: blocks "
	    "set meanwhile on other nodes cannot be known" },

	{ "delivery", "mode", T_CHOICE, S(delivery_mode), "mx", 0, 0,
	    "mx|smarthost|capture",
	    "mx: to each recipient's MX; smarthost; capture: to a folder" },
	{ "delivery", "dns_servers", T_STR, S(dns_servers), "", 0, 0, NULL,
	    "resolvers \"IP[:PORT], ...\" (empty: /etc/resolv.conf)" },
	{ "delivery", "remote_port", T_INT, I(remote_port), "25", 1, 65535,
	    NULL, "port of the recipients' MX hosts" },
	{ "delivery", "smarthost", T_STR, S(smarthost), "", 0, 0, NULL,
	    "HOST:PORT of the upstream server (mode = smarthost)" },
	{ "delivery", "smarthost_user", T_STR, S(smarthost_user), "", 0, 0,
	    NULL, "login at the smarthost (AUTH PLAIN, only over TLS)" },
	{ "delivery", "smarthost_password_file", T_PATH,
	    S(smarthost_password_file), "", 0, 0, NULL,
	    "file holding its password (keep it mode 0600)" },
	{ "delivery", "smarthost_tls", T_ENUM, S(smarthost_tls), "verify", 0, 0,
	    "verify|none",
	    "verify: STARTTLS required and the smarthost's certificate (chain "
	    "and name) checked, else its mail waits; none: TLS when offered, "
	    "unchecked, and no smarthost_user" },
	{ "delivery", "smarthost_ca", T_PATH, S(smarthost_ca), "", 0, 0, NULL,
	    "CA certificates (PEM) for the smarthost's (empty: the system's)" },
	{ "delivery", "dane", T_ENUM, S(delivery_dane), "auto", 0, 0,
	    "auto|on|off",
	    "DANE (RFC 7672): TLS required and checked against DNSSEC-signed "
	    "TLSA records; auto: when every resolver is on loopback (a local "
	    "validating resolver, whose AD bit is believed); on: believe any "
	    "resolver's; off: no DANE" },
	{ "delivery", "mta_sts", T_ENUM, S(delivery_mta_sts), "on", 0, 0,
	    "on|off",
	    "MTA-STS (RFC 8461): fetch receivers' policies and deliver as they "
	    "say (enforce: only over verified TLS to the MX hosts they name)" },
	{ "delivery", "tls_ca", T_PATH, S(delivery_tls_ca), "", 0, 0, NULL,
	    "CA certificates (PEM) for MX certificates under MTA-STS and for "
	    "HTTPS fetches (empty: the system's)" },
	{ "delivery", "mta_sts_port", T_INT, I(mta_sts_port), "443", 1, 65535,
	    NULL, "port of the mta-sts.DOMAIN policy servers" },
	{ "delivery", "capture_dir", T_PATH, S(capture_dir), "data/capture", 0,
	    0, NULL, "where mode = capture writes messages" },
	{ "delivery", "retry_first", T_DURATION, I(retry_first), "5m", 1, 86400,
	    NULL, "first retry after a temporary failure" },
	{ "delivery", "retry_max_interval", T_DURATION, I(retry_max_interval),
	    "4h", 1, 7 * 86400, NULL, "longest wait between retries" },
	{ "delivery", "max_age", T_DURATION, I(queue_max_age), "5d", 60,
	    60 * 86400, NULL, "bounce what is still undelivered after this" },
	{ "delivery", "connections", T_INT, I(delivery_conns), "200", 1, 10000,
	    NULL, "outbound SMTP connections open at once, in all" },
	{ "delivery", "connections_per_destination", T_INT,
	    I(delivery_conns_per_dest), "10", 1, 1000, NULL,
	    "outbound connections at once to one destination (a domain's MX"
	    " hosts, or the smarthost)" },

	{ "mailbox", "lmtp", T_STR, S(mailbox_lmtp), "", 0, 0, NULL,
	    "Dovecot's LMTP service: unix:/PATH (a socket) or HOST:PORT; "
	    "mail for the hosted domains' users goes there (empty: off, "
	    "hosted domains are delivered like any other, and the smtp "
	    "listener takes no mail for them)" },
	{ "mailbox", "dmarc_reject", T_ENUM, S(mailbox_dmarc_reject), "reject",
	    0, 0, "reject|junk|none",
	    "mail that fails DMARC under its sender's p=reject: refused at the "
	    "end of DATA (550 5.7.1), put in the Junk folder, or delivered "
	    "(p=quarantine always goes to Junk)" },
	{ "mailbox", "doveadm", T_STR, S(mailbox_doveadm), "", 0, 0, NULL,
	    "how to run doveadm (e.g. /usr/bin/doveadm -c "
	    "/etc/dovecot/dovecot.conf): a removed user's or domain's open "
	    "IMAP sessions are kicked with it (empty: they end at their next "
	    "login)" },
	{ "mailbox", "auth_socket", T_PATH, S(mailbox_auth_socket), "", 0, 0,
	    NULL,
	    "UNIX socket where Dovecot asks who may log in (its checkpassword "
	    "program: postern dovecot-auth); empty: off" },
	{ "mailbox", "auth_group", T_STR, S(mailbox_auth_group), "dovecot", 0,
	    0, NULL,
	    "the group that may use auth_socket and dict_socket (Dovecot's)" },
	{ "mailbox", "dict_socket", T_PATH, S(mailbox_dict_socket), "", 0, 0,
	    NULL,
	    "UNIX socket where Dovecot's userdb and quota plugin learn each "
	    "mailbox's quota and report its usage (its proxy dict); empty: "
	    "off" },

	{ "forward", "srs_secret", T_PATH, S(srs_secret), "data/srs.key", 0, 0,
	    NULL,
	    "the SRS secret (mode 0600, made at init or first start): one "
	    "secret per line, the first signs, any decodes (postsrsd's file "
	    "works)" },
	{ "forward", "srs_max_age", T_DURATION, I(srs_max_age), "21d", 86400,
	    365 * 86400, NULL,
	    "a bounce to an SRS address older than this gets 550 5.1.1 (whole "
	    "days)" },

	{ "filter", "rspamd", T_STR, S(filter_rspamd), "", 0, 0, NULL,
	    "rspamd's normal worker, IP:PORT ([IPv6]:PORT, localhost:PORT; "
	    "Debian's listens on localhost:11333): mail received on the smtp "
	    "listener for the mailboxes here is checked before the end of "
	    "DATA is answered (empty: off)" },
	{ "filter", "rspamd_timeout", T_DURATION, I(filter_rspamd_timeout),
	    "10s", 1, 300, NULL,
	    "time for rspamd's whole answer, connection included" },
	{ "filter", "rspamd_fail", T_ENUM, S(filter_rspamd_fail), "tempfail", 0,
	    0, "tempfail|open",
	    "rspamd unreachable, too slow or its answer unusable: tempfail "
	    "(451 4.7.1, the sender retries) or open (delivered, with "
	    "X-Spam-Status: skipped)" },

	{ "limits", "message_size", T_SIZE, I(message_size), "35M", 1024,
	    (int64_t)1 << 32, NULL, "largest message accepted (SIZE)" },
	{ "limits", "mx_connections_per_minute", T_INT,
	    I(mx_connections_per_minute), "3000", 0, 1000000, NULL,
	    "smtp listener: new connections from one client address (an IPv6 "
	    "client's network) in a minute, then 421 (0: no limit)" },
	{ "limits", "mx_messages_per_minute", T_INT, I(mx_messages_per_minute),
	    "3000", 0, 1000000, NULL,
	    "smtp listener: messages from one client address in a minute, "
	    "then 450 at MAIL (0: no limit; relay networks and logins are "
	    "not counted)" },
	{ "limits", "recipients_per_message", T_INT, I(recipients_per_message),
	    "100", 1, 100000, NULL, "RCPT TO per transaction" },
	{ "limits", "line_length", T_INT, I(line_length), "1000", 512, 65536,
	    NULL, "longest line with CRLF (RFC 5321: 1000)" },
	{ "limits", "command_timeout", T_DURATION, I(command_timeout), "5m", 1,
	    3600, NULL, "idle time allowed between commands" },
	{ "limits", "data_timeout", T_DURATION, I(data_timeout), "10m", 1, 3600,
	    NULL, "idle time allowed inside DATA" },
	{ "limits", "connections", T_INT, I(connections), "20000", 1, 1000000,
	    NULL, "concurrent sessions in all" },
	{ "limits", "connections_per_ip", T_INT, I(connections_per_ip), "100",
	    1, 1000000, NULL,
	    "concurrent sessions per client address (IPv6: per network of "
	    "ipv6_prefix)" },
	{ "limits", "ipv6_prefix", T_INT, I(ipv6_prefix), "64", 32, 128, NULL,
	    "an IPv6 client counts as its network of this prefix length in "
	    "every per-address limit and counter (one subscriber has a /64)" },
	{ "limits", "errors_per_session", T_INT, I(errors_per_session), "10", 1,
	    1000, NULL, "bad commands before the session is closed" },
	{ "limits", "auth_failures_per_session", T_INT,
	    I(auth_failures_per_session), "3", 1, 100, NULL,
	    "failed AUTH before the session is closed" },
	{ "limits", "tls_handshake_timeout", T_DURATION,
	    I(tls_handshake_timeout), "10s", 1, 300, NULL,
	    "time allowed for a TLS handshake (465 and STARTTLS), however "
	    "slowly the client keeps sending" },
	{ "limits", "session_timeout", T_DURATION, I(session_timeout), "1h", 1,
	    86400, NULL,
	    "longest SMTP session, busy or not: then 421 and the connection "
	    "is closed" },
	{ "limits", "greet_wait", T_INT, I(greet_wait_ms), "0", 0, 30000, NULL,
	    "milliseconds the smtp listener waits before its greeting: a "
	    "client that talks first is refused (554). Every listener refuses "
	    "one whose commands are there when the greeting goes out" },

	{ "auth", "fail_delay", T_INT, I(auth_fail_delay_ms), "1000", 0, 60000,
	    NULL, "milliseconds before a 535 (the same for every failure)" },
	{ "auth", "token_ttl", T_DURATION, I(token_ttl_default), "1h", 60,
	    366 * 86400, NULL, "lifetime of an OAuth token by default" },
	{ "auth", "log_retention", T_DURATION, I(auth_log_retention), "90d",
	    86400, 3660 * 86400, NULL, "authentication events kept this long" },
	{ "auth", "fail_window", T_DURATION, I(auth_fail_window), "1h", 1,
	    7 * 86400, NULL,
	    "how long a failed AUTH counts against its address and login" },
	{ "auth", "ip_slow_after", T_INT, I(auth_ip_slow_after), "5", 1, 100000,
	    NULL, "failures from one address before its AUTH is slowed" },
	{ "auth", "ip_refuse_after", T_INT, I(auth_ip_refuse_after), "20", 1,
	    100000, NULL,
	    "failures from one address before it gets 454 for refuse_time" },
	{ "auth", "refuse_time", T_DURATION, I(auth_refuse_time), "15m", 1,
	    86400, NULL, "how long such an address is refused" },
	{ "auth", "login_slow_after", T_INT, I(auth_login_slow_after), "10", 1,
	    100000, NULL,
	    "failures of one login (any address) before the addresses that failed it are slowed" },
	{ "auth", "slow_delay", T_INT, I(auth_slow_delay_ms), "1000", 0, 60000,
	    NULL,
	    "milliseconds of the first extra delay, doubled per further failure" },
	{ "auth", "slow_max", T_INT, I(auth_slow_max_ms), "16000", 0, 120000,
	    NULL, "longest extra delay, milliseconds" },

	{ "quota", "messages_per_hour", T_INT, I(quota_msgs_hour), "0", 0,
	    1000000000, NULL,
	    "messages a user may send per clock hour (0: unlimited)" },
	{ "quota", "messages_per_day", T_INT, I(quota_msgs_day), "0", 0,
	    1000000000, NULL, "messages per UTC day (0: unlimited)" },
	{ "quota", "recipients_per_day", T_INT, I(quota_rcpts_day), "0", 0,
	    1000000000, NULL,
	    "recipients of accepted messages per UTC day (0: unlimited)" },
	{ "quota", "recipients_per_message", T_INT, I(quota_rcpts_msg), "0", 0,
	    100000, NULL, "recipients in one message (0: only [limits])" },
	{ "quota", "node_batch", T_INT, I(quota_node_batch), "5", 1, 10000,
	    NULL,
	    "messages of one sender a node accepts before it adds them to the "
	    "counters the nodes share (with N nodes a quota may be passed by "
	    "at most (N-1) x this)" },

	{ "abuse", "quota_excess_blocks", T_INT, I(abuse_excess_blocks), "20",
	    0, 1000000, NULL,
	    "refusals over quota in a UTC day that block the user (0: never)" },
	{ "abuse", "distinct_ips_per_hour", T_INT, I(abuse_ips_per_hour), "20",
	    0, 1000, NULL,
	    "logins from more addresses than this in a clock hour block the user (0: never)" },
	{ "abuse", "rejected_recipient_share", T_INT, I(abuse_rejected_share),
	    "50", 0, 100, NULL,
	    "percent of a day's recipients refused at RCPT or bounced that blocks the user (0: never)" },
	{ "abuse", "rejected_recipient_min", T_INT, I(abuse_rejected_min), "20",
	    1, 1000000, NULL, "... once at least this many were refused" },
	{ "abuse", "notify", T_STR, S(abuse_notify), "", 0, 0, NULL,
	    "the operator's address for block notices (empty: the user only)" },

	{ "forward", "max_per_domain_per_hour", T_INT, I(forward_domain_hour),
	    "1000", 1, 100000000, NULL,
	    "forwarded copies handed to one target domain in a clock hour; "
	    "more wait in the queue (deferred, retried), never dropped" },
	{ "forward", "confirm_ttl", T_DURATION, I(forward_confirm_ttl), "7d",
	    3600, 30 * 86400, NULL,
	    "a forwarding target's confirmation link works this long, once" },

	{ "tlsrpt", "enabled", T_ENUM, S(tlsrpt_enabled), "on", 0, 0, "on|off",
	    "send daily TLS reports (RFC 8460) to the domains that ask for them "
	    "in a _smtp._tls TXT record (off: counted, not sent)" },
	{ "tlsrpt", "organization", T_STR, S(tlsrpt_org), "", 0, 0, NULL,
	    "organization-name in the reports (empty: HOSTNAME)" },
	{ "tlsrpt", "contact", T_STR, S(tlsrpt_contact), "", 0, 0, NULL,
	    "contact-info in the reports (empty: postmaster@HOSTNAME)" },
	{ "tlsrpt", "from", T_STR, S(tlsrpt_from), "", 0, 0, NULL,
	    "sender of the reports by mail (empty: "
	    "noreply-smtp-tls-reporting@HOSTNAME)" },

	{ "panel", "url", T_STR, S(panel_url), "", 0, 0, NULL,
	    "the panel's address in e-mailed links (empty: https://HOSTNAME/)" },
	{ "panel", "name", T_STR, S(panel_name), "", 0, 0, NULL,
	    "the service's name in the panel and set-up files (empty: HOSTNAME)" },
	{ "panel", "contact", T_STR, S(panel_contact), "", 0, 0, NULL,
	    "whom a blocked user should write to (empty: postmaster@HOSTNAME)" },
	{ "panel", "imap_host", T_STR, S(imap_host), "", 0, 0, NULL,
	    "the IMAP server named in the set-up page and files (empty: "
	    "HOSTNAME)" },
	{ "panel", "imap_port", T_INT, I(imap_port), "993", 1, 65535, NULL,
	    "IMAP over TLS port named in set-up files" },
	{ "panel", "imap_starttls_port", T_INT, I(imap_starttls_port), "143", 0,
	    65535, NULL,
	    "IMAP with STARTTLS port named there too (0: not named)" },
	{ "panel", "link_ttl", T_DURATION, I(link_ttl), "1h", 60, 7 * 86400,
	    NULL, "a password link works this long, once" },
	{ "panel", "link_window", T_DURATION, I(link_window), "1h", 60, 86400,
	    NULL, "password links asked for are counted over this time" },
	{ "panel", "links_per_account", T_INT, I(links_per_account), "3", 1,
	    1000, NULL, "password links sent to one account per window" },
	{ "panel", "links_per_client", T_INT, I(links_per_client), "10", 1,
	    100000, NULL,
	    "password links one client address may ask per window" },
};

#define NKEYS (sizeof(conf_keys) / sizeof(conf_keys[0]))

/* unix:/ABSOLUTE/PATH (short enough for a socket address), or
 * HOST:PORT ([v6]:PORT); "" is off. */
static int
conf_check_lmtp(const char *val, char *why, size_t whylen)
{
	const char *colon;
	char *end;
	long port;

	if (val[0] == '\0')
		return 0;
	if (strncmp(val, "unix:", 5) == 0) {
		if (val[5] != '/' || strlen(val + 5) >= 108) {
			snprintf(why, whylen,
			    "unix: needs an absolute socket path (at most 107 "
			    "bytes)");
			return -1;
		}
		return 0;
	}
	if ((colon = strrchr(val, ':')) == NULL || colon == val ||
	    (val[0] == '[' && colon[-1] != ']')) {
		snprintf(why, whylen, "not unix:/PATH or HOST:PORT");
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end != '\0' || colon[1] == '\0' || port < 1 ||
	    port > 65535) {
		snprintf(why, whylen,
		    "not unix:/PATH or HOST:PORT (a port "
		    "1..65535)");
		return -1;
	}
	return 0;
}

/* IPv4:PORT, [IPv6]:PORT or localhost:PORT: an address, so that no
 * session ever waits for a name to resolve; "" is off. */
static int
conf_check_rspamd(const char *val, char *why, size_t whylen)
{
	char host[INET6_ADDRSTRLEN + 2], *end;
	const char *colon;
	unsigned char a[16];
	size_t n;
	long port;

	if (val[0] == '\0')
		return 0;
	colon = strrchr(val, ':');
	n = colon ? (size_t)(colon - val) : 0;
	if (colon == NULL || n == 0 || n >= sizeof(host))
		goto bad;
	memcpy(host, val, n);
	host[n] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end != '\0' || colon[1] == '\0' || port < 1 ||
	    port > 65535)
		goto bad;
	if (strcmp(host, "localhost") == 0 || inet_pton(AF_INET, host, a) == 1)
		return 0;
	if (n > 2 && host[0] == '[' && host[n - 1] == ']') {
		host[n - 1] = '\0';
		if (inet_pton(AF_INET6, host + 1, a) == 1)
			return 0;
	}
bad:
	snprintf(why, whylen,
	    "not IP:PORT, [IPv6]:PORT or localhost:PORT (a port 1..65535)");
	return -1;
}

static void
conf_path_join(char *dst, size_t len, const char *dir, const char *val)
{
	if (val[0] == '/' || val[0] == '\0' || dir[0] == '\0')
		str_lcpy(dst, val, len);
	else
		snprintf(dst, len, "%s/%s", dir, val);
}

static int
conf_set(struct conf *c, const struct conf_key *k, const char *val, char *why,
    size_t whylen)
{
	char *dst = (char *)c + k->off;
	int64_t v;

	switch (k->type) {
	case T_STR:
		if (strlen(val) >= k->len) {
			snprintf(why, whylen, "value too long");
			return -1;
		}
		if (k->off == offsetof(struct conf, mailbox_lmtp) &&
		    conf_check_lmtp(val, why, whylen) == -1)
			return -1;
		if (k->off == offsetof(struct conf, filter_rspamd) &&
		    conf_check_rspamd(val, why, whylen) == -1)
			return -1;
		str_lcpy(dst, val, k->len);
		return 0;
	case T_PATH:
		if (strlen(val) + strlen(c->dir) + 2 > k->len) {
			snprintf(why, whylen, "path too long");
			return -1;
		}
		conf_path_join(dst, k->len, c->dir, val);
		return 0;
	case T_ENUM:
	case T_CHOICE: {
		const char *p = k->choices;
		size_t n = strlen(val);
		int idx = 0;
		while (p) {
			const char *e = strchr(p, '|');
			size_t l = e ? (size_t)(e - p) : strlen(p);
			if (l == n && strncmp(p, val, n) == 0) {
				if (k->type == T_CHOICE)
					*(int *)(void *)dst = idx;
				else
					str_lcpy(dst, val, k->len);
				return 0;
			}
			p = e ? e + 1 : NULL;
			idx++;
		}
		snprintf(why, whylen, "must be one of %s", k->choices);
		return -1;
	}
	case T_INT:
		v = str_uint(val);
		break;
	case T_DURATION:
		v = str_duration(val);
		break;
	case T_SIZE:
		v = str_size(val);
		break;
	default:
		return -1;
	}
	if (v < 0) {
		snprintf(why, whylen, "%s",
		    k->type == T_DURATION ? "not a duration (30s, 5m, 1h, 5d)"
		    : k->type == T_SIZE	  ? "not a size (1024, 512k, 35M)"
					  : "not a number");
		return -1;
	}
	if (v < k->min || v > k->max) {
		snprintf(why, whylen, "out of range %lld..%lld",
		    (long long)k->min, (long long)k->max);
		return -1;
	}
	*(int64_t *)(void *)dst = v;
	return 0;
}

void
conf_defaults(struct conf *c, const char *dir)
{
	char why[128];
	size_t i;

	memset(c, 0, sizeof(*c));
	str_lcpy(c->dir, dir, sizeof(c->dir));
	for (i = 0; i < NKEYS; i++)
		if (conf_set(c, &conf_keys[i], conf_keys[i].def, why,
			sizeof(why)) == -1)
			abort(); /* a default that fails its own bounds */
}

static char *
conf_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

int
conf_load(struct conf *c, const char *path, char *err, size_t errlen)
{
	char dir[CONF_PATH_MAX], real[PATH_MAX], section[64] = "";
	char line[2048], why[160];
	FILE *f;
	int lineno = 0, rc = -1;
	size_t i;

	if (realpath(path, real) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	str_lcpy(dir, real, sizeof(dir));
	if (strrchr(dir, '/') != NULL)
		*strrchr(dir, '/') = '\0';
	conf_defaults(c, dir[0] ? dir : "/");
	str_lcpy(c->path, real, sizeof(c->path));
	if ((f = fopen(real, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		char *s, *eq, *key, *val;
		const struct conf_key *k = NULL;

		lineno++;
		if (strchr(line, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line too long", path,
			    lineno);
			goto out;
		}
		s = conf_trim(line);
		if (*s == '\0' || *s == '#' || *s == ';')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (e == NULL || e[1] != '\0' ||
			    (size_t)(e - s) >= sizeof(section)) {
				snprintf(err, errlen,
				    "%s:%d: bad section header", path, lineno);
				goto out;
			}
			*e = '\0';
			str_lcpy(section, conf_trim(s + 1), sizeof(section));
			for (i = 0; i < NKEYS; i++)
				if (strcmp(conf_keys[i].section, section) == 0)
					break;
			if (i == NKEYS) {
				snprintf(err, errlen,
				    "%s:%d: unknown section [%s]", path, lineno,
				    section);
				goto out;
			}
			continue;
		}
		if ((eq = strchr(s, '=')) == NULL) {
			snprintf(err, errlen, "%s:%d: expected \"key = value\"",
			    path, lineno);
			goto out;
		}
		*eq = '\0';
		key = conf_trim(s);
		val = conf_trim(eq + 1);
		if (strlen(val) >= 2 && val[0] == '"' &&
		    val[strlen(val) - 1] == '"') {
			val[strlen(val) - 1] = '\0';
			val++;
		}
		for (i = 0; i < NKEYS; i++)
			if (strcmp(conf_keys[i].section, section) == 0 &&
			    strcmp(conf_keys[i].key, key) == 0)
				k = &conf_keys[i];
		if (k == NULL) {
			snprintf(err, errlen, "%s:%d: unknown key '%s'%s%s%s",
			    path, lineno, key, section[0] ? " in [" : "",
			    section, section[0] ? "]" : "");
			goto out;
		}
		if (conf_set(c, k, val, why, sizeof(why)) == -1) {
			snprintf(err, errlen, "%s:%d: %s.%s: %s", path, lineno,
			    section, key, why);
			goto out;
		}
	}
	rc = 0;
out:
	fclose(f);
	return rc;
}

static char conf_host[256];

static void
conf_host_read(void)
{
	if (gethostname(conf_host, sizeof(conf_host) - 1) == -1 ||
	    conf_host[0] == '\0')
		str_lcpy(conf_host, "localhost", sizeof(conf_host));
}

const char *
conf_node_name(const struct conf *c)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;

	if (c != NULL && c->node_name[0] != '\0')
		return c->node_name;
	pthread_once(&once, conf_host_read);
	return conf_host;
}

const char *
conf_locate(const char *opt)
{
	const char *env;

	if (opt != NULL)
		return opt;
	if ((env = getenv("POSTERN_CONFIG")) != NULL && *env)
		return env;
	if (access("postern.conf", F_OK) == 0)
		return "postern.conf";
	return "/etc/postern/postern.conf";
}

static void
conf_format(const struct conf *c, const struct conf_key *k, char *out,
    size_t len)
{
	const char *p = (const char *)c + k->off;
	size_t dl = strlen(c->dir);

	switch (k->type) {
	case T_STR:
	case T_ENUM:
		str_lcpy(out, p, len);
		break;
	case T_CHOICE: {
		const char *c0 = k->choices, *e;
		int i;
		for (i = *(const int *)(const void *)p; i > 0 && c0; i--)
			c0 = (e = strchr(c0, '|')) ? e + 1 : NULL;
		str_lcpy(out, c0 ? c0 : "", len);
		if ((e = strchr(out, '|')) != NULL)
			*(char *)e = '\0';
		break;
	}
	case T_PATH:
		/* written relative to the config's folder when inside it */
		if (dl > 0 && strncmp(p, c->dir, dl) == 0 && p[dl] == '/')
			p += dl + 1;
		str_lcpy(out, p, len);
		break;
	default:
		snprintf(out, len, "%lld",
		    (long long)*(const int64_t *)(const void *)p);
	}
}

int
conf_write_default(const struct conf *c, const char *path)
{
	FILE *f;
	const char *section = "";
	char val[CONF_PATH_MAX];
	size_t i;
	int rc;

	if ((f = fopen(path, "wx")) == NULL)
		return -1;
	fprintf(f, "# postern.conf: written by `postern init`.\n"
		   "# Relative paths are taken from this file's folder.\n"
		   "# Durations: 30s, 5m, 1h, 5d. Sizes: 512k, 35M.\n");
	for (i = 0; i < NKEYS; i++) {
		const struct conf_key *k = &conf_keys[i];
		if (strcmp(section, k->section) != 0) {
			section = k->section;
			fprintf(f, "\n[%s]\n", section);
		}
		conf_format(c, k, val, sizeof(val));
		fprintf(f, "# %s\n%s = %s\n", k->doc, k->key, val);
	}
	rc = fflush(f) == 0 && fsync(fileno(f)) == 0 ? 0 : -1;
	if (fclose(f) != 0)
		rc = -1;
	return rc;
}

static _Atomic(const struct conf *) conf_now;

const struct conf *
conf_current(void)
{
	return atomic_load_explicit(&conf_now, memory_order_acquire);
}

void
conf_publish(const struct conf *c)
{
	atomic_store_explicit(&conf_now, c, memory_order_release);
}
