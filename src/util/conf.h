/*
 * conf: postern.conf, one small file of [sections] and key = value lines.
 * Every setting has a default; an unknown key or a bad value is an error
 * that names the file, the line and the key. Relative paths are taken
 * from the folder of the config file.
 */
#ifndef POSTERN_CONF_H
#define POSTERN_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_PATH_MAX 1024
#define CONF_STR_MAX 256

/* [delivery] mode, in the order of its choices in conf.c's table */
enum conf_delivery {
	CONF_DELIVERY_MX,
	CONF_DELIVERY_SMARTHOST,
	CONF_DELIVERY_CAPTURE
};

struct conf {
	char path[CONF_PATH_MAX]; /* the file read */
	char dir[CONF_PATH_MAX];  /* its folder */

	/* [server] */
	char hostname[CONF_STR_MAX];
	char user[CONF_STR_MAX]; /* drop root to this user */
	char data_dir[CONF_PATH_MAX];
	char master_key[CONF_PATH_MAX];
	int64_t workers;	      /* 0: one per core */
	char node_name[CONF_STR_MAX]; /* "": conf_node_name() asks the host */

	/* [listen]: "ADDR:PORT[, ADDR:PORT]", empty = off */
	char listen_smtp[CONF_STR_MAX];
	char listen_submission[CONF_STR_MAX];
	char listen_submissions[CONF_STR_MAX];
	char listen_http[CONF_STR_MAX];

	/* [http] */
	char http_tls[16];	      /* on, off (loopback only), auto */
	int64_t http_max_body;	      /* bytes of a request body */
	int64_t http_timeout;	      /* seconds a connection may idle */
	int64_t session_idle;	      /* a panel session ends after this */
	int64_t login_failures;	      /* per login, then 429 */
	int64_t login_failures_ip;    /* per client address, then 429 */
	int64_t login_window;	      /* seconds failures are remembered */
	int64_t http_conns_ip;	      /* open connections per client address */
	int64_t http_request_timeout; /* seconds for a whole request */

	/* [tls] */
	char tls_cert[CONF_PATH_MAX];
	char tls_key[CONF_PATH_MAX];

	/* [store] */
	char store_driver[32];		/* sqlite or postgresql */
	char store_path[CONF_PATH_MAX]; /* sqlite file */
	char store_conninfo[1024]; /* libpq keywords or URI: paths of certs */
	int64_t store_stale_after; /* seconds without the store: refuse */
	int64_t store_timeout;	   /* seconds one query may wait */

	/* [delivery] */
	enum conf_delivery delivery_mode; /* mx, smarthost, capture */
	char dns_servers[CONF_STR_MAX];	  /* "ip[:port], ..." empty = system */
	int64_t remote_port;
	char smarthost[CONF_STR_MAX];
	char smarthost_user[CONF_STR_MAX];
	char smarthost_password_file[CONF_PATH_MAX];
	char smarthost_tls[16];		     /* verify, none */
	char smarthost_ca[CONF_PATH_MAX];    /* "" = the system's CAs */
	char delivery_dane[8];		     /* auto, on, off */
	char delivery_mta_sts[8];	     /* on, off */
	char delivery_tls_ca[CONF_PATH_MAX]; /* "" = the system's CAs */
	int64_t mta_sts_port;
	char capture_dir[CONF_PATH_MAX];
	int64_t retry_first; /* seconds */
	int64_t retry_max_interval;
	int64_t queue_max_age;
	int64_t delivery_conns;
	int64_t delivery_conns_per_dest;
	/* [mailbox] */
	char mailbox_auth_socket[CONF_PATH_MAX];
	char mailbox_dmarc_reject[16]; /* reject, junk, none */
	char mailbox_doveadm[CONF_STR_MAX];
	char mailbox_auth_group[64];
	char mailbox_dict_socket[CONF_PATH_MAX];

	/* [mailbox] */
	char mailbox_lmtp[CONF_PATH_MAX]; /* "": off; unix:PATH or HOST:PORT */

	/* [forward] */
	char srs_secret[CONF_PATH_MAX]; /* the SRS secret file */
	int64_t srs_max_age; /* seconds an SRS0 address is honoured */

	/* [filter] */
	char filter_rspamd[CONF_STR_MAX]; /* "": off; IP:PORT, localhost:PORT */
	int64_t filter_rspamd_timeout;	  /* seconds for the whole round trip */
	char filter_rspamd_fail[16];	  /* tempfail, open */

	/* [limits] */
	int64_t message_size;
	int64_t recipients_per_message;
	int64_t mx_connections_per_minute, mx_messages_per_minute;
	int64_t line_length;
	int64_t command_timeout;
	int64_t data_timeout;
	int64_t connections;
	int64_t connections_per_ip;
	int64_t errors_per_session;
	int64_t auth_failures_per_session;
	int64_t tls_handshake_timeout; /* seconds for a TLS handshake */
	int64_t session_timeout;       /* seconds a session may last */
	int64_t greet_wait_ms;	       /* smtp listener: before the 220 */
	int64_t ipv6_prefix; /* IPv6 clients count per network this long */

	/* [auth] */
	int64_t auth_fail_delay_ms; /* same delay, known or unknown login */
	int64_t token_ttl_default;
	int64_t auth_log_retention;
	/* [auth] brute-force defence (counters in memory) */
	int64_t auth_fail_window;     /* seconds a failure is remembered */
	int64_t auth_ip_slow_after;   /* failures from an address: slowed */
	int64_t auth_ip_refuse_after; /* ... then 454 for refuse_time */
	int64_t auth_refuse_time;
	int64_t auth_login_slow_after; /* failures of a login: its failing
					  addresses are slowed */
	int64_t auth_slow_delay_ms;    /* first extra delay, doubled */
	int64_t auth_slow_max_ms;

	/* [quota]: defaults, 0 = unlimited */
	int64_t quota_msgs_hour;
	int64_t quota_msgs_day;
	int64_t quota_rcpts_day;
	int64_t quota_rcpts_msg;
	int64_t quota_node_batch; /* unshared messages per sender per node */

	/* [abuse]: automatic blocks, 0 = off */
	int64_t abuse_excess_blocks;
	int64_t abuse_ips_per_hour;
	int64_t abuse_rejected_share; /* percent */
	int64_t abuse_rejected_min;
	char abuse_notify[CONF_STR_MAX]; /* operator address */

	/* [forward] */
	int64_t forward_domain_hour; /* copies per target domain an hour */
	int64_t forward_confirm_ttl; /* seconds a confirmation link works */

	/* [tlsrpt] */
	char tlsrpt_enabled[8];		   /* on, off */
	char tlsrpt_org[CONF_STR_MAX];	   /* "" = HOSTNAME */
	char tlsrpt_contact[CONF_STR_MAX]; /* "" = postmaster@HOSTNAME */
	char tlsrpt_from[CONF_STR_MAX];	   /* "" = noreply-smtp-tls-...@ */

	/* [panel] */
	char panel_url[CONF_STR_MAX];	  /* "" = https://HOSTNAME/ */
	char panel_name[CONF_STR_MAX];	  /* "" = HOSTNAME */
	char panel_contact[CONF_STR_MAX]; /* "" = postmaster@HOSTNAME */
	char imap_host[CONF_STR_MAX];	  /* "" = HOSTNAME */
	int64_t imap_port;		  /* implicit TLS */
	int64_t imap_starttls_port;	  /* 0: not named */
	int64_t link_ttl;		  /* seconds */
	int64_t link_window;
	int64_t links_per_account;
	int64_t links_per_client;
};

/* Fill with defaults; paths relative to dir. */
void conf_defaults(struct conf *, const char *dir);
/* 0, or -1 with a message "FILE:LINE: ..." in err. */
int conf_load(struct conf *, const char *path, char *err, size_t errlen);
/* Find the config: -c value, $POSTERN_CONFIG, ./postern.conf, /etc/... */
const char *conf_locate(const char *opt);
/* Write a documented config file with these values (postern init). */
int conf_write_default(const struct conf *, const char *path);

/*
 * The running server's config, read one way by every thread. A reload
 * publishes a new one with one atomic store; the old one is never freed
 * while threads run (whoever publishes keeps it until exit), so a reader
 * may hold the pointer for the length of one piece of work.
 */
const struct conf *conf_current(void);
/* The node's name: [server] node_name, else the machine's host name
 * (never empty; "" config gives the host name, read once). */
const char *conf_node_name(const struct conf *);
void conf_publish(const struct conf *);

#endif
