/* question: the one line Dovecot's checkpassword program asks authsock. */
#include <string.h>
#include <sys/socket.h>

#include "authsock.h"
#include "../util/base64.h"
#include "../util/str.h"

/* base64 of a NUL-free, non-empty string into out[max]: 0 or -1. */
static int
question_b64(const char *in, char *out, size_t max)
{
	long n = base64_decode((unsigned char *)out, max - 1, in, strlen(in));

	if (n < 1 || memchr(out, '\0', (size_t)n) != NULL)
		return -1;
	out[n] = '\0';
	return 0;
}

int
authsock_question_parse(char *line, int v6_prefix, struct authsock_question *q)
{
	char *f[5], *save = NULL;
	struct sockaddr_storage ss;
	socklen_t sl;
	int i;

	memset(q, 0, sizeof(*q));
	for (i = 0; i < 5; i++)
		if ((f[i] = strtok_r(i ? NULL : line, " ", &save)) == NULL)
			return -1;
	if (strtok_r(NULL, " ", &save) != NULL || strcmp(f[0], "AUTH") != 0 ||
	    strlen(f[1]) >= sizeof(q->service) ||
	    strspn(f[1], "abcdefghijklmnopqrstuvwxyz0123456789-") !=
		strlen(f[1]))
		return -1;
	str_lcpy(q->service, f[1], sizeof(q->service));
	/* the client's address as Dovecot saw it: the counters' key */
	if (net_ip_parse(f[2], &ss, &sl) == -1 ||
	    net_client_addr((struct sockaddr *)&ss, v6_prefix, q->ip,
		sizeof(q->ip), q->ipkey, sizeof(q->ipkey)) == -1)
		return -1;
	if (question_b64(f[3], q->login, sizeof(q->login)) == -1 ||
	    question_b64(f[4], q->password, sizeof(q->password)) == -1)
		return -1;
	return 0;
}
