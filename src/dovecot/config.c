/*
 * config: `postern dovecot-config`, a Dovecot 2.3 configuration that works
 * with this postern as it stands: IMAP with STARTTLS (143) and TLS (993)
 * on postern's certificate, logins checked by postern (checkpassword:
 * `postern dovecot-auth`, see authsock.c), mail delivered by postern's
 * queue over LMTP on the socket `[mailbox] lmtp` names, a Maildir per user
 * under one folder, each user's home and mailbox quota from postern
 * (a dict userdb and the quota plugin's dict, both on `[mailbox]
 * dict_socket`: see dict.h; without it, a static userdb, no quotas). `--userdb`
 * prints the dict userdb's own file instead (Dovecot reads it from the path
 * --userdb-file names). Options move what a test or the demo must move (a
 * folder of its own, other ports); the output is meant to be read.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "../cli/cli.h"
#include "../util/conf.h"

struct dc_opts {
	const char *base_dir;	   /* Dovecot's run folder ("": its default) */
	const char *mail_dir;	   /* Maildirs: MAIL_DIR/DOMAIN/USER */
	const char *mail_user;	   /* the owner of the Maildirs */
	const char *listen;	   /* IMAP's addresses */
	int imap_port, imaps_port; /* 0: that listener off */
	int auth_as_root;	   /* the checkpassword program runs as root */
	const char *userdb_file;   /* the dict userdb's settings */
	int userdb;		   /* print that file, not dovecot.conf */
};

/* The dict userdb's file: each user's fields from postern (a quota_rule
 * when they have a mailbox quota; no such user: not found), the home
 * under the Maildirs' folder. */
static void
dc_print_userdb(const struct dc_opts *o, const struct conf *conf)
{
	printf("# Dovecot's userdb for postern: written by `postern "
	       "dovecot-config --userdb`.\n"
	       "# postern answers userdb/USER over its dict socket with the\n"
	       "# user's fields (their mailbox quota as a quota_rule).\n"
	       "uri = proxy:%s:userdb\n"
	       "iterate_disable = yes\n"
	       "key userdb {\n"
	       "  key = userdb/%%u\n"
	       "  format = json\n"
	       "}\n"
	       "userdb_objects = userdb\n"
	       "userdb_fields {\n"
	       "  uid = %s\n"
	       "  gid = %s\n"
	       "  home = %s/%%d/%%n\n"
	       "}\n",
	    conf->mailbox_dict_socket, o->mail_user, o->mail_user, o->mail_dir);
}

static int
dc_port(const char *v, int *out)
{
	char *end;
	long n = strtol(v, &end, 10);

	if (*v == '\0' || *end != '\0' || n < 0 || n > 65535)
		return -1;
	*out = (int)n;
	return 0;
}

int
dovecot_config_main(struct cli_global *g, int argc, char **argv)
{
	static struct conf conf;
	struct dc_opts o = { "", "/var/mail/vhosts", "vmail", "*", 143, 993, 0,
		"/etc/dovecot/postern-userdb.conf.ext", 0 };
	char self[PATH_MAX], cfg[PATH_MAX];
	const char *lmtp;
	ssize_t n;
	int i, dict;

	for (i = 0; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (strcmp(argv[i], "--base-dir") == 0 && v)
			o.base_dir = argv[++i];
		else if (strcmp(argv[i], "--mail-dir") == 0 && v)
			o.mail_dir = argv[++i];
		else if (strcmp(argv[i], "--mail-user") == 0 && v)
			o.mail_user = argv[++i];
		else if (strcmp(argv[i], "--listen") == 0 && v)
			o.listen = argv[++i];
		else if (strcmp(argv[i], "--imap-port") == 0 && v &&
			 dc_port(argv[i + 1], &o.imap_port) == 0)
			i++;
		else if (strcmp(argv[i], "--imaps-port") == 0 && v &&
			 dc_port(argv[i + 1], &o.imaps_port) == 0)
			i++;
		else if (strcmp(argv[i], "--auth-as-root") == 0)
			o.auth_as_root = 1;
		else if (strcmp(argv[i], "--userdb-file") == 0 && v &&
			 v[0] == '/')
			o.userdb_file = argv[++i];
		else if (strcmp(argv[i], "--userdb") == 0)
			o.userdb = 1;
		else {
			fprintf(stderr,
			    "usage: postern dovecot-config [--base-dir DIR] "
			    "[--mail-dir DIR] [--mail-user USER] [--listen "
			    "ADDRS] [--imap-port N] [--imaps-port N] "
			    "[--auth-as-root] [--userdb-file /PATH] "
			    "[--userdb]\n");
			return 2;
		}
	}
	if (cli_load_conf(g, &conf) == -1)
		return 1;
	lmtp = strncmp(conf.mailbox_lmtp, "unix:", 5) == 0
		   ? conf.mailbox_lmtp + 5
		   : NULL;
	dict = conf.mailbox_dict_socket[0] != '\0';
	if (conf.mailbox_auth_socket[0] == '\0' ||
	    conf.mailbox_lmtp[0] == '\0') {
		fprintf(stderr,
		    "postern dovecot-config: set [mailbox] lmtp (unix:/PATH) "
		    "and auth_socket in postern's config first\n");
		return 1;
	}
	if (o.userdb && !dict) {
		fprintf(stderr, "postern dovecot-config: --userdb: set "
				"[mailbox] dict_socket first\n");
		return 1;
	}
	/* the dict client splits its URI at the first ':' */
	if (strchr(conf.mailbox_dict_socket, ':') != NULL) {
		fprintf(stderr, "postern dovecot-config: [mailbox] dict_socket "
				"may not contain ':' (Dovecot's dict URI)\n");
		return 1;
	}
	if (o.userdb) {
		dc_print_userdb(&o, &conf);
		return 0;
	}
	if ((n = readlink("/proc/self/exe", self, sizeof(self) - 1)) < 1)
		return 1;
	self[n] = '\0';
	if (realpath(conf.path, cfg) == NULL)
		snprintf(cfg, sizeof(cfg), "%s", conf.path);
	printf("# Dovecot for postern: written by `postern dovecot-config`.\n"
	       "# postern receives mail (the MX), checks it and hands it to\n"
	       "# Dovecot over LMTP; Dovecot keeps the mailboxes and serves\n"
	       "# IMAP; logins are checked by postern (the login password or\n"
	       "# an app password, never the SMTP password).\n");
	if (o.base_dir[0])
		printf("base_dir = %s/run\nstate_dir = %s/state\n"
		       "log_path = %s/dovecot.log\n",
		    o.base_dir, o.base_dir, o.base_dir);
	printf(
	    "protocols = imap lmtp\n"
	    "listen = %s\n"
	    "ssl = required\n"
	    "ssl_cert = <%s\n"
	    "ssl_key = <%s\n"
	    "ssl_min_protocol = TLSv1.2\n"
	    "disable_plaintext_auth = yes\n"
	    "auth_mechanisms = plain login\n"
	    "# postern answers with the user's own address, whatever the\n"
	    "# spelling typed: Maildirs are keyed by it\n"
	    "auth_username_format = %%Lu\n"
	    "mail_uid = %s\n"
	    "mail_gid = %s\n"
	    "first_valid_uid = 1\n"
	    "mail_location = maildir:%s/%%d/%%n\n"
	    "mail_plugins = quota\n"
	    "lmtp_rcpt_check_quota = yes\n"
	    "# quarantined mail comes for user+Junk@domain: its Junk folder\n"
	    "recipient_delimiter = +\n"
	    "lmtp_save_to_detail_mailbox = yes\n"
	    "lda_mailbox_autocreate = yes\n"
	    "passdb {\n"
	    "  driver = checkpassword\n"
	    "  args = %s -c %s dovecot-auth\n"
	    "}\n",
	    o.listen, conf.tls_cert, conf.tls_key, o.mail_user, o.mail_user,
	    o.mail_dir, self, cfg);
	if (dict)
		printf(
		    "# each user's home and mailbox quota, from postern (its "
		    "dict\n# socket); write the file with `postern "
		    "dovecot-config --userdb`\n"
		    "userdb {\n  driver = dict\n  args = %s\n}\n",
		    o.userdb_file);
	else
		printf("# no mailbox quotas: set [mailbox] dict_socket in "
		       "postern\n"
		       "userdb {\n  driver = static\n"
		       "  args = uid=%s gid=%s home=%s/%%d/%%n "
		       "allow_all_users=yes\n}\n",
		    o.mail_user, o.mail_user, o.mail_dir);
	/* the mail processes (LMTP, IMAP) report usage on the dict socket,
	 * which only this group may use */
	if (dict && conf.mailbox_auth_group[0])
		printf("mail_access_groups = %s\n", conf.mailbox_auth_group);
	/* (no address-space limit either: the program may be a sanitizer
	 * build, as in the tests) */
	if (o.auth_as_root)
		printf("service auth {\n  user = root\n  vsz_limit = 0\n}\n");
	printf("service imap-login {\n"
	       "  inet_listener imap {\n    port = %d\n  }\n"
	       "  inet_listener imaps {\n    port = %d\n    ssl = yes\n  }\n"
	       "}\n",
	    o.imap_port, o.imaps_port);
	/* only postern writes into the mailboxes */
	if (lmtp)
		printf("service lmtp {\n"
		       "  unix_listener %s {\n    mode = 0600\n"
		       "    user = %s\n  }\n"
		       "}\n",
		    lmtp, conf.user[0] ? conf.user : "root");
	/* usage kept by postern, so its panel and API show it */
	if (dict)
		printf("plugin {\n  quota = dict:User quota::proxy:%s:quota\n"
		       "}\n",
		    conf.mailbox_dict_socket);
	else
		printf("plugin {\n  quota = maildir:User quota\n}\n");
	return 0;
}
