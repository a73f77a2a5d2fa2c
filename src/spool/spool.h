/*
 * spool: one file per message, envelope first, then the message, in
 * DATA_DIR/spool/queue/ID. A file is written in spool/tmp, fsynced,
 * renamed into queue/, and the queue directory is fsynced before the
 * client hears 250: a file in queue/ is a whole, acknowledged message.
 * Several messages share one directory fsync (group commit); none is
 * acknowledged before its own data and name are on disk.
 */
#ifndef POSTERN_SPOOL_H
#define POSTERN_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include <jansson.h>

#include "../mail/addr.h"

#define SPOOL_ID_LEN 20
#define SPOOL_ENV_MAX 65536	/* envelope text, before the message */

struct spool_rcpt {
	char addr[ADDR_MAX + 1];
	char notify[64];	/* DSN NOTIFY=, "" if none */
	char orcpt[ADDR_MAX + 16];	/* DSN ORCPT=, "" if none */
};

struct spool_env {
	char id[SPOOL_ID_LEN + 1];
	int64_t time;
	char from[ADDR_MAX + 1];	/* "" is the null sender */
	char auth[ADDR_MAX + 1];	/* login, or "" for a relay network */
	char ip[64];
	char body[16];		/* 7BIT, 8BITMIME, BINARYMIME */
	int smtputf8;
	char ret[8];		/* DSN RET=, "" if none */
	char envid[128];	/* DSN ENVID=, "" if none */
	int nrcpt;
	struct spool_rcpt *rcpts;
};

int spool_init(const char *data_dir);
/* A fresh queue id (time + randomness, sortable by arrival). */
void spool_new_id(char id[SPOOL_ID_LEN + 1]);
/*
 * Write the envelope and the message (iov: the parts in order) durably.
 * Runs on a worker; blocks in fsync. 0, or -1 with errno.
 */
int spool_write(const struct spool_env *, const struct iovec *, int iovcnt);
/* Remove a message from the queue (delivered, or never acknowledged). */
int spool_remove(const char *id);
/* The queue, for `postern queue list`: [{id, time, from, rcpts, size}]. */
json_t *spool_list(const char *data_dir);
/* One message's envelope and, if with_body, its text. NULL if none. */
json_t *spool_show(const char *data_dir, const char *id, int with_body);

#endif
