/*
 * mailbox: what removing a user or a domain does to the mailboxes'
 * open IMAP sessions. New logins fail at once (Dovecot asks postern each
 * time); sessions already open are ended with `doveadm kick`, run as
 * `[mailbox] doveadm` says (a command line, split at blanks, never a
 * shell), when it is set.
 */
#include <errno.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "admin.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/str.h"

#define KICK_ARGS_MAX 16

extern char **environ;

void
admin_mailbox_kick(struct admin_ctx *ctx, const char *mask)
{
	char cmd[CONF_STR_MAX], who[ADMIN_KICK_MASK_MAX],
	    *argv[KICK_ARGS_MAX + 3];
	char *tok, *save = NULL;
	pid_t pid;
	int n = 0, status;

	if (ctx->conf->mailbox_doveadm[0] == '\0')
		return;
	str_lcpy(cmd, ctx->conf->mailbox_doveadm, sizeof(cmd));
	for (tok = strtok_r(cmd, " \t", &save); tok && n < KICK_ARGS_MAX;
	     tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	if (n == 0)
		return;
	/* the mailbox's name, as Dovecot knows it: lower case */
	str_lcpy(who, mask, sizeof(who));
	str_ascii_lower(who);
	argv[n++] = "kick";
	argv[n++] = who;
	argv[n] = NULL;
	if ((errno = posix_spawnp(&pid, argv[0], NULL, NULL, argv, environ)) !=
	    0) {
		log_warnx("mailbox.kick user=%s error=\"%s: %s\"", who, argv[0],
		    strerror(errno));
		return;
	}
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	/* doveadm kick exits 68 (no user) when nobody was logged in */
	if (!WIFEXITED(status) ||
	    (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 68))
		log_warnx("mailbox.kick user=%s error=\"doveadm exited %d\"",
		    who, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	else
		log_info("mailbox.kick user=%s", who);
}
