/*
 * checkpw: `postern dovecot-auth`, the checkpassword program Dovecot runs
 * for each login (passdb { driver = checkpassword }). Dovecot writes
 * "login\0password\0..." on descriptor 3 and names the client in
 * TCPREMOTEIP and the protocol in SERVICE; this asks the running postern
 * (dovecot/authsock.c) and, when the answer is yes, runs the program
 * Dovecot gave as the last argument with USER set to the user's own
 * address (the canonical spelling, whatever was typed). Exit 1: refused;
 * 111: try again later (postern down, a store failure). The password
 * only ever passes through memory: never an argument, never a log line.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "authsock.h"
#include "checkpw.h"
#include "../cli/cli.h"
#include "../mail/addr.h"
#include "../util/base64.h"
#include "../util/conf.h"
#include "../util/str.h"

#define CHECKPW_IN_MAX 2048 /* what Dovecot writes on fd 3 */
#define CHECKPW_EXIT_REFUSED 1
#define CHECKPW_EXIT_TEMP 111

/* Read all of fd 3 (bounded): 0, or -1. */
static int
checkpw_read(char *buf, size_t max, size_t *len)
{
	ssize_t n;

	*len = 0;
	while (*len < max) {
		n = read(3, buf + *len, max - *len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0)
			return 0;
		*len += (size_t)n;
	}
	return -1; /* more than a login and a password */
}

/* One question to the server; its answer line (NUL-terminated) in ans. */
static int
checkpw_ask(const char *path, const char *q, char *ans, size_t anslen)
{
	struct sockaddr_un sun;
	size_t off = 0, qlen = strlen(q);
	ssize_t n;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path) ||
	    (fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	str_lcpy(sun.sun_path, path, sizeof(sun.sun_path));
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1)
		goto fail;
	while (off < qlen) {
		if ((n = write(fd, q + off, qlen - off)) == -1) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += (size_t)n;
	}
	off = 0;
	while (off + 1 < anslen) {
		n = read(fd, ans + off, anslen - 1 - off);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		off += (size_t)n;
		if (memchr(ans, '\n', off))
			break;
	}
	close(fd);
	ans[off] = '\0';
	return memchr(ans, '\n', off) ? 0 : -1;
fail:
	close(fd);
	return -1;
}

int
checkpw_main(struct cli_global *g, int argc, char **argv)
{
	static struct conf conf;
	char in[CHECKPW_IN_MAX + 1], ans[1024], user[ADDR_MAX + 1];
	char q[AUTHSOCK_LINE_MAX + 2];
	char lb[BASE64_ENCODED_LEN(CHECKPW_IN_MAX)];
	char pb[BASE64_ENCODED_LEN(CHECKPW_IN_MAX)];
	const char *login, *password, *ip, *service;
	size_t len, llen, plen;
	long n;
	int rc;

	if (argc < 1) {
		fprintf(stderr, "postern dovecot-auth: run by Dovecot as its "
				"checkpassword program, with the program to "
				"run on success as the last argument\n");
		return 2;
	}
	if (cli_load_conf(g, &conf) == -1)
		return CHECKPW_EXIT_TEMP;
	if (conf.mailbox_auth_socket[0] == '\0') {
		fprintf(stderr, "postern dovecot-auth: [mailbox] auth_socket "
				"is not set\n");
		return CHECKPW_EXIT_TEMP;
	}
	if (checkpw_read(in, CHECKPW_IN_MAX, &len) == -1)
		return CHECKPW_EXIT_REFUSED;
	in[len] = '\0';
	/* "login\0password\0": both there, both not empty */
	login = in;
	llen = strnlen(in, len);
	if (llen == 0 || llen + 1 >= len)
		return CHECKPW_EXIT_REFUSED;
	password = in + llen + 1;
	plen = strnlen(password, len - llen - 1);
	if (plen == 0 || llen + 1 + plen >= len)
		return CHECKPW_EXIT_REFUSED;
	/* a userdb look-up (AUTHORIZED=1) is not ours to answer */
	if (getenv("AUTHORIZED") && strcmp(getenv("AUTHORIZED"), "1") == 0)
		return CHECKPW_EXIT_REFUSED;
	ip = getenv("TCPREMOTEIP");
	service = getenv("SERVICE");
	if (ip == NULL || *ip == '\0')
		ip = "127.0.0.1"; /* Dovecot did not say: a local client */
	if (service == NULL || *service == '\0')
		service = "imap";
	base64_encode(lb, (const unsigned char *)login, llen);
	base64_encode(pb, (const unsigned char *)password, plen);
	sodium_memzero(in, sizeof(in));
	rc = snprintf(q, sizeof(q), "AUTH %s %s %s %s\n", service, ip, lb, pb);
	sodium_memzero(pb, sizeof(pb));
	if (rc < 0 || (size_t)rc >= sizeof(q)) {
		sodium_memzero(q, sizeof(q));
		return CHECKPW_EXIT_REFUSED;
	}
	rc = checkpw_ask(conf.mailbox_auth_socket, q, ans, sizeof(ans));
	sodium_memzero(q, sizeof(q));
	if (rc == -1 || strncmp(ans, "TEMP", 4) == 0)
		return CHECKPW_EXIT_TEMP;
	if (strncmp(ans, "OK ", 3) != 0)
		return CHECKPW_EXIT_REFUSED;
	ans[strcspn(ans, "\n")] = '\0';
	n = base64_decode((unsigned char *)user, sizeof(user) - 1, ans + 3,
	    strlen(ans + 3));
	if (n < 1 || memchr(user, '\0', (size_t)n))
		return CHECKPW_EXIT_TEMP;
	user[n] = '\0';
	/* the mailbox's name, as LMTP names it too (auth_username_format
	 * = %Lu in dovecot-config): one Maildir whatever the spelling */
	str_ascii_lower(user);
	/* Dovecot's checkpassword-reply reads USER (AUTHORIZED=2 is for
	 * look-ups without a password: Dovecot fails a login that sets it) */
	if (setenv("USER", user, 1) == -1)
		return CHECKPW_EXIT_TEMP;
	execv(argv[argc - 1], &argv[argc - 1]);
	fprintf(stderr, "postern dovecot-auth: cannot run %s: %s\n",
	    argv[argc - 1], strerror(errno));
	return CHECKPW_EXIT_TEMP;
}
