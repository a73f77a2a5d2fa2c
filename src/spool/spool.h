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

#include "../mail/addr.h"

#define SPOOL_ID_LEN 20
#define SPOOL_ENV_MAX 65536 /* envelope text, before the message */

struct spool_rcpt {
	char addr[ADDR_MAX + 1];
	char notify[64];	   /* DSN NOTIFY=, "" if none */
	char orcpt[ADDR_MAX + 16]; /* DSN ORCPT=, "" if none */
};

struct spool_env {
	char id[SPOOL_ID_LEN + 1];
	int64_t time;
	char from[ADDR_MAX + 1]; /* "" is the null sender */
	char auth[ADDR_MAX + 1]; /* login, or "" for a relay network */
	/* the domain the client was allowed to send for (the login's, or
	 * the relay network's): DKIM signs for no other. "" in postern's
	 * own messages and in files written before it was recorded */
	char domain[ADDR_DOMAIN_MAX + 1];
	char ip[64];
	/* 1: received at the MX from anyone, for mailboxes here; never
	 * DKIM-signed, whatever its From: says */
	int inbound;
	/* 1: DMARC quarantine; its mailbox copies go to the Junk folder */
	int junk;
	/* a forwarded copy (queue/forward.c): the user whose forwarding
	 * made it; "" in any other message */
	char forwarded_by[ADDR_MAX + 1];
	/* 1: the mailbox copy of a user who forwards and keeps a copy:
	 * into the mailbox only, never forwarded again */
	int mailbox_only;
	char body[16]; /* 7BIT, 8BITMIME, BINARYMIME */
	int smtputf8;
	/* RFC 8689: delivered only over verified TLS, else bounced */
	int requiretls;
	char ret[8];	 /* DSN RET=, "" if none */
	char envid[128]; /* DSN ENVID=, "" if none */
	int nrcpt;
	struct spool_rcpt *rcpts;
};

/* One message as `postern queue list|show` sees it. */
struct spool_info {
	struct spool_env env; /* rcpts allocated: spool_env_free() */
	size_t size;	      /* of the message, without the envelope */
	int held;
	int rcpts_done; /* recipients delivered or bounced */
};

/*
 * One set of folders per process: the server's start makes them and
 * drops spool/tmp leftovers (spool_init); any other caller only finds
 * them (spool_open: a no-op when already open on the same data_dir).
 * Every other function works in them.
 */
int spool_init(const char *data_dir);
int spool_open(const char *data_dir);
/* A fresh queue id (time + randomness, sortable by arrival). */
void spool_new_id(char id[SPOOL_ID_LEN + 1]);
/* The arrival time an id carries (its first 8 hex digits). */
int64_t spool_id_time(const char *id);
/*
 * Write the envelope and the message (iov: the parts in order) durably.
 * Runs on a worker; blocks in fsync. 0, or -1 with errno.
 */
int spool_write(const struct spool_env *, const struct iovec *, int iovcnt);
/*
 * A written message is the queue's now: spool_announce() tells whoever
 * spool_on_queued() set (the queue, in the server; nobody in the CLI), so
 * what writes one (a session, a notice, a password link) needs to know
 * nothing of the queue. Separate from spool_write because a session's
 * message is the queue's only once the client heard 250: one whose
 * client left first is removed instead. Any thread.
 */
void spool_on_queued(void (*fn)(const char *id));
void spool_announce(const char *id);
/* Remove a finished message (and its state file); its file is recycled. */
int spool_remove(const char *id);
/* The operator's removal: never recycled (a worker may be reading it). */
int spool_delete(const char *id);
/*
 * Read a queued message: its envelope (rcpts allocated: free them) and
 * the message bytes (malloc'd, *msglen long). done[i] is set for each
 * recipient already delivered or bounced (from ID.state). 0 or -1.
 */
int spool_load(const char *id, struct spool_env *, char **msg, size_t *msglen,
    unsigned char **done);
void spool_env_free(struct spool_env *);
/* Record recipients as finished (delivered or bounced), durably. */
int spool_mark_done(const char *id, const int *idx, int n);
/*
 * The last attempt's outcome of some recipients, for `queue show`:
 * lines "note IDX TEXT\n" (TEXT: one line, no NUL) appended to the
 * state file as they are, without an fsync (a lost note loses nothing).
 * 0 or -1.
 */
int spool_note(const char *id, const char *lines, size_t len);
/* The last note of each recipient (notes[i] "" if none), at most
 * SPOOL_NOTE_MAX - 1 bytes each. 0, or -1 if unreadable. */
#define SPOOL_NOTE_MAX 512
int spool_notes(const char *id, char (*notes)[SPOOL_NOTE_MAX], int nrcpt);
/* Call fn for every queued id (directory order) until it returns -1;
 * the number of ids seen, or -1 if the queue cannot be read. */
int spool_each_id(int (*fn)(const char *id, void *arg), void *arg);
/* Held messages are skipped by delivery: ID.hold beside the message. */
int spool_is_held(const char *id);
int spool_set_held(const char *id, int held);
/* Every message, for `postern queue list` (fn returns 0 to go on);
 * 0, -1 if the queue cannot be read, or fn's -1. */
int spool_list(int (*fn)(const struct spool_info *, void *), void *arg);
/* One message (and its text if msg): 0, or -1 (errno ENOENT: none). */
int spool_show(const char *id, struct spool_info *, char **msg, size_t *len);

#endif
