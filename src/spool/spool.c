/*
 * spool: the durable queue. The order of operations is the promise:
 * write tmp/ID, fsync it, rename to queue/ID, fsync queue/ (shared by
 * every rename done before the fsync began), and only then the caller
 * may answer 250. A crash before the rename leaves garbage in tmp/,
 * cleaned at start; after it, a complete message.
 *
 * Files are recycled: a finished message's file is renamed into free/
 * and the next message is written over it, because creating an inode is
 * the dearest step of the whole write on ext4 (without a journal it
 * scans for recently deleted inodes: a quarter of the server's CPU under
 * load). free/ is emptied at start, so a crash that left a name in both
 * queue/ and free/ can never let a queued message be overwritten.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "spool.h"
#include "../util/str.h"

static char spool_tmp[PATH_MAX + 16], spool_queue[PATH_MAX + 16];
static char spool_free[PATH_MAX + 16];
static int spool_queue_fd = -1;

/* Recycled files: names in free/, only in the server (after spool_init). */
#define SPOOL_FREE_MAX 1024
#define SPOOL_FREE_SIZE_MAX (1024 * 1024) /* bigger ones are unlinked */
static struct {
	pthread_mutex_t mu;
	char (*names)[SPOOL_ID_LEN + 1];
	int n, on;
} pool = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0 };

/* group commit of the queue directory */
static struct {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t ticket, synced;
	int syncing, error;
} gc = { PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, 0, 0, 0, 0 };

static int
spool_mkdir(const char *p)
{
	return mkdir(p, 0700) == -1 && errno != EEXIST ? -1 : 0;
}

static char spool_dir[PATH_MAX];

/* The folders under data_dir; a second call for the same folder keeps
 * the open directory (a writer may be fsyncing it right now). */
static int
spool_set_paths(const char *data_dir, int reopen)
{
	if (!reopen && spool_queue_fd != -1 && strcmp(spool_dir, data_dir) == 0)
		return 0;
	str_lcpy(spool_dir, data_dir, sizeof(spool_dir));
	snprintf(spool_tmp, sizeof(spool_tmp), "%s/spool/tmp", data_dir);
	snprintf(spool_queue, sizeof(spool_queue), "%s/spool/queue", data_dir);
	snprintf(spool_free, sizeof(spool_free), "%s/spool/free", data_dir);
	if (spool_queue_fd != -1)
		close(spool_queue_fd);
	spool_queue_fd = open(spool_queue, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return spool_queue_fd == -1 ? -1 : 0;
}

int
spool_open(const char *data_dir)
{
	return spool_set_paths(data_dir, 0);
}

static void
spool_empty_dir(const char *path)
{
	DIR *d;
	struct dirent *de;

	if ((d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
}

int
spool_init(const char *data_dir)
{
	char base[PATH_MAX];

	snprintf(base, sizeof(base), "%s/spool", data_dir);
	if (spool_mkdir(base) == -1 || spool_set_paths(data_dir, 1) == -1) {
		if (errno != ENOENT)
			return -1;
	}
	if (spool_mkdir(spool_tmp) == -1 || spool_mkdir(spool_queue) == -1 ||
	    spool_mkdir(spool_free) == -1)
		return -1;
	/* unacknowledged leftovers of a crash, and the recycled files */
	spool_empty_dir(spool_tmp);
	spool_empty_dir(spool_free);
	pthread_mutex_lock(&pool.mu);
	if (pool.names == NULL)
		pool.names = calloc(SPOOL_FREE_MAX, sizeof(*pool.names));
	pool.n = 0;
	pool.on = pool.names != NULL;
	pthread_mutex_unlock(&pool.mu);
	return spool_set_paths(data_dir, 1);
}

/* A recycled file's name into name, or 0 if the pool is empty. */
static int
spool_pool_take(char name[SPOOL_ID_LEN + 1])
{
	int got = 0;

	pthread_mutex_lock(&pool.mu);
	if (pool.on && pool.n > 0) {
		memcpy(name, pool.names[--pool.n], SPOOL_ID_LEN + 1);
		got = 1;
	}
	pthread_mutex_unlock(&pool.mu);
	return got;
}

/* Move queue/ID to free/ID instead of unlinking it; 0 if done. */
static int
spool_pool_give(const char *id, const char *path)
{
	char dst[PATH_MAX + 64];
	struct stat st;
	int rc = -1;

	if (strlen(id) != SPOOL_ID_LEN || stat(path, &st) == -1 ||
	    st.st_size > SPOOL_FREE_SIZE_MAX)
		return -1;
	snprintf(dst, sizeof(dst), "%s/%s", spool_free, id);
	pthread_mutex_lock(&pool.mu);
	if (pool.on && pool.n < SPOOL_FREE_MAX && rename(path, dst) == 0) {
		memcpy(pool.names[pool.n++], id, SPOOL_ID_LEN + 1);
		rc = 0;
	}
	pthread_mutex_unlock(&pool.mu);
	return rc;
}

void
spool_new_id(char id[SPOOL_ID_LEN + 1])
{
	unsigned char r[6];
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	randombytes_buf(r, sizeof(r));
	snprintf(id, SPOOL_ID_LEN + 1, "%08llx%02x%02x%02x%02x%02x%02x",
	    (unsigned long long)ts.tv_sec & 0xffffffffULL, r[0], r[1], r[2],
	    r[3], r[4], r[5]);
}

int64_t
spool_id_time(const char *id)
{
	char hex[9];

	memcpy(hex, id, 8);
	hex[8] = '\0';
	return (int64_t)strtoll(hex, NULL, 16);
}

/* Wait until an fsync of queue/ that began after our rename is done. */
static int
spool_sync_dir(void)
{
	uint64_t mine, target;
	int rc;

	pthread_mutex_lock(&gc.mu);
	mine = ++gc.ticket;
	while (gc.synced < mine) {
		if (!gc.syncing) {
			gc.syncing = 1;
			target = gc.ticket;
			pthread_mutex_unlock(&gc.mu);
			rc = fsync(spool_queue_fd);
			pthread_mutex_lock(&gc.mu);
			gc.syncing = 0;
			if (rc == 0)
				gc.synced = target;
			else
				gc.error = errno;
			pthread_cond_broadcast(&gc.cv);
			if (rc != 0) {
				pthread_mutex_unlock(&gc.mu);
				return -1;
			}
		} else {
			pthread_cond_wait(&gc.cv, &gc.mu);
		}
	}
	pthread_mutex_unlock(&gc.mu);
	return 0;
}

/* Envelope text. Addresses were checked by the session: no CR/LF. */
static int
spool_env_text(const struct spool_env *e, size_t msglen, char *buf, size_t len)
{
	size_t o = 0;
	int i, n;

#define ADD(...)                                                               \
	do {                                                                   \
		n = snprintf(buf + o, len - o, __VA_ARGS__);                   \
		if (n < 0 || (size_t)n >= len - o)                             \
			return -1;                                             \
		o += (size_t)n;                                                \
	} while (0)
	ADD("POSTERN-SPOOL 1\nid %s\ntime %lld\nfrom <%s>\nauth %s\nip %s\n"
	    "body %s\nsmtputf8 %d\n",
	    e->id, (long long)e->time, e->from, e->auth[0] ? e->auth : "-",
	    e->ip, e->body[0] ? e->body : "7BIT", e->smtputf8);
	if (e->domain[0])
		ADD("domain %s\n", e->domain);
	if (e->inbound)
		ADD("inbound 1\n");
	if (e->junk)
		ADD("junk 1\n");
	if (e->forwarded_by[0])
		ADD("forwarded-by <%s>\n", e->forwarded_by);
	if (e->mailbox_only)
		ADD("mailbox-only 1\n");
	if (e->requiretls)
		ADD("requiretls 1\n");
	if (e->ret[0])
		ADD("ret %s\n", e->ret);
	if (e->envid[0])
		ADD("envid %s\n", e->envid);
	for (i = 0; i < e->nrcpt; i++)
		ADD("rcpt <%s> notify=%s orcpt=%s\n", e->rcpts[i].addr,
		    e->rcpts[i].notify[0] ? e->rcpts[i].notify : "-",
		    e->rcpts[i].orcpt[0] ? e->rcpts[i].orcpt : "-");
	ADD("size %zu\n\n", msglen);
#undef ADD
	return (int)o;
}

/* who hears of each message written (the queue, in the server) */
static void (*spool_queued_fn)(const char *);

int
spool_write(const struct spool_env *e, const struct iovec *iov, int iovcnt)
{
	char tmp[PATH_MAX + 64], dst[PATH_MAX + 64], *env;
	char name[SPOOL_ID_LEN + 1];
	int recycled;
	struct iovec v[16];
	size_t msglen = 0, total;
	ssize_t w;
	int fd, i, n, rc = -1, saved;

	if (iovcnt > 15 || (env = malloc(SPOOL_ENV_MAX)) == NULL) {
		errno = EINVAL;
		return -1;
	}
	for (i = 0; i < iovcnt; i++)
		msglen += iov[i].iov_len;
	if ((n = spool_env_text(e, msglen, env, SPOOL_ENV_MAX)) < 0) {
		free(env);
		errno = E2BIG;
		return -1;
	}
	v[0].iov_base = env;
	v[0].iov_len = (size_t)n;
	memcpy(v + 1, iov, sizeof(*iov) * (size_t)iovcnt);
	total = (size_t)n + msglen;
	snprintf(dst, sizeof(dst), "%s/%s", spool_queue, e->id);
	fd = -1;
	if ((recycled = spool_pool_take(name))) {
		snprintf(tmp, sizeof(tmp), "%s/%s", spool_free, name);
		if ((fd = open(tmp, O_WRONLY | O_CLOEXEC)) == -1)
			unlink(tmp);
	}
	if (fd == -1) {
		recycled = 0;
		snprintf(tmp, sizeof(tmp), "%s/%s", spool_tmp, e->id);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	}
	if (fd == -1) {
		free(env);
		return -1;
	}
	/* one writev in the common case; loop for short writes */
	{
		struct iovec *p = v;
		int cnt = iovcnt + 1;
		size_t left = total;
		while (left > 0) {
			if ((w = writev(fd, p, cnt > IOV_MAX ? IOV_MAX : cnt)) <
			    0) {
				if (errno == EINTR)
					continue;
				goto out;
			}
			left -= (size_t)w;
			while (cnt > 0 && (size_t)w >= p->iov_len) {
				w -= (ssize_t)p->iov_len;
				p++;
				cnt--;
			}
			if (cnt > 0) {
				p->iov_base = (char *)p->iov_base + w;
				p->iov_len -= (size_t)w;
			}
		}
	}
	/* a recycled file may be longer than this message */
	if (recycled && ftruncate(fd, (off_t)total) == -1)
		goto out;
	/* The client hears 250 only after this fsync and the directory's. */
	if (fsync(fd) == -1)
		goto out;
	if (close(fd) == -1) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (rename(tmp, dst) == -1)
		goto out;
	if (spool_sync_dir() == -1) {
		/* not known durable: it must not become a message later */
		saved = errno;
		unlink(dst);
		errno = saved;
		free(env);
		return -1;
	}
	rc = 0;
out:
	saved = errno;
	if (fd != -1)
		close(fd);
	if (rc == -1)
		unlink(tmp);
	free(env);
	errno = saved;
	return rc;
}

void
spool_on_queued(void (*fn)(const char *id))
{
	spool_queued_fn = fn;
}

void
spool_announce(const char *id)
{
	if (spool_queued_fn)
		spool_queued_fn(id);
}

static int
spool_unlink_all(const char *queue, const char *id, int recycle)
{
	char path[PATH_MAX + 64];
	int rc;

	snprintf(path, sizeof(path), "%s/%s", queue, id);
	rc = recycle && spool_pool_give(id, path) == 0 ? 0 : unlink(path);
	snprintf(path, sizeof(path), "%s/%s.state", queue, id);
	unlink(path);
	snprintf(path, sizeof(path), "%s/%s.hold", queue, id);
	unlink(path);
	return rc;
}

static int spool_id_ok(const char *id);

int
spool_remove(const char *id)
{
	return spool_unlink_all(spool_queue, id, 1);
}

int
spool_delete(const char *id)
{
	if (!spool_id_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	/* not recycled: the queue manager may be reading it right now */
	return spool_unlink_all(spool_queue, id, 0);
}

static int
spool_id_ok(const char *id)
{
	return strlen(id) == SPOOL_ID_LEN &&
	       strspn(id, "0123456789abcdef") == SPOOL_ID_LEN;
}

/* "<addr>" into dst; -1 unless the brackets are there. */
static int
spool_angle(const char *v, char *dst, size_t len)
{
	size_t n = strlen(v);

	if (n < 2 || v[0] != '<' || v[n - 1] != '>' || n - 2 >= len)
		return -1;
	memcpy(dst, v + 1, n - 2);
	dst[n - 2] = '\0';
	return 0;
}

/*
 * The one parser of a spool file: the envelope lines of text (len bytes,
 * changed in place) into e (rcpts allocated), *body the offset of the
 * message. Refuses a file without the magic line, without recipients,
 * or whose size line does not match (a torn file).
 */
static int
spool_parse(char *text, size_t len, struct spool_env *e, size_t *body)
{
	char *p, *nl;
	size_t size = 0;
	int cap = 0;

	memset(e, 0, sizeof(*e));
	if (len < 16 || strncmp(text, "POSTERN-SPOOL 1\n", 16) != 0)
		goto bad;
	for (p = text + 16;; p = nl + 1) {
		char *sp;
		if ((nl = memchr(p, '\n', len - (size_t)(p - text))) == NULL)
			goto bad;
		*nl = '\0';
		if (*p == '\0') {
			p = nl + 1;
			break;
		}
		if ((sp = strchr(p, ' ')) == NULL)
			goto bad;
		*sp++ = '\0';
		if (strcmp(p, "id") == 0)
			str_lcpy(e->id, sp, sizeof(e->id));
		else if (strcmp(p, "time") == 0)
			e->time = atoll(sp);
		else if (strcmp(p, "from") == 0) {
			if (spool_angle(sp, e->from, sizeof(e->from)) == -1)
				goto bad;
		} else if (strcmp(p, "auth") == 0)
			str_lcpy(e->auth, strcmp(sp, "-") ? sp : "",
			    sizeof(e->auth));
		else if (strcmp(p, "domain") == 0)
			str_lcpy(e->domain, sp, sizeof(e->domain));
		else if (strcmp(p, "ip") == 0)
			str_lcpy(e->ip, sp, sizeof(e->ip));
		else if (strcmp(p, "body") == 0)
			str_lcpy(e->body, sp, sizeof(e->body));
		else if (strcmp(p, "smtputf8") == 0)
			e->smtputf8 = atoi(sp);
		else if (strcmp(p, "inbound") == 0)
			e->inbound = atoi(sp) == 1;
		else if (strcmp(p, "junk") == 0)
			e->junk = atoi(sp) == 1;
		else if (strcmp(p, "forwarded-by") == 0) {
			if (spool_angle(sp, e->forwarded_by,
				sizeof(e->forwarded_by)) == -1)
				goto bad;
		} else if (strcmp(p, "mailbox-only") == 0)
			e->mailbox_only = atoi(sp) == 1;
		else if (strcmp(p, "requiretls") == 0)
			e->requiretls = atoi(sp) == 1;
		else if (strcmp(p, "ret") == 0)
			str_lcpy(e->ret, sp, sizeof(e->ret));
		else if (strcmp(p, "envid") == 0)
			str_lcpy(e->envid, sp, sizeof(e->envid));
		else if (strcmp(p, "size") == 0)
			size = (size_t)strtoull(sp, NULL, 10);
		else if (strcmp(p, "rcpt") == 0) {
			struct spool_rcpt *r;
			char *n1 = strstr(sp, "> notify="), *o;
			if (n1 == NULL || (o = strstr(n1, " orcpt=")) == NULL)
				goto bad;
			n1[1] = '\0';
			*o = '\0';
			if (e->nrcpt == cap) {
				cap = cap ? cap * 2 : 4;
				r = realloc(e->rcpts, sizeof(*r) * (size_t)cap);
				if (r == NULL)
					goto bad;
				e->rcpts = r;
			}
			r = &e->rcpts[e->nrcpt];
			memset(r, 0, sizeof(*r));
			if (spool_angle(sp, r->addr, sizeof(r->addr)) == -1)
				goto bad;
			if (strcmp(n1 + 9, "-") != 0)
				str_lcpy(r->notify, n1 + 9, sizeof(r->notify));
			if (strcmp(o + 7, "-") != 0)
				str_lcpy(r->orcpt, o + 7, sizeof(r->orcpt));
			e->nrcpt++;
		}
	}
	/* the size line guards against a torn file */
	if (e->nrcpt == 0 || size != len - (size_t)(p - text))
		goto bad;
	*body = (size_t)(p - text);
	return 0;
bad:
	free(e->rcpts);
	e->rcpts = NULL;
	e->nrcpt = 0;
	errno = EINVAL; /* not a spool file, or a torn one */
	return -1;
}

/* done[i] = 1 for each recipient ID.state lists; the count of them. */
static int
spool_read_state(const char *id, unsigned char *done, int nrcpt)
{
	char path[PATH_MAX + 64], *st, *q, *e2;
	int i, n = 0;

	snprintf(path, sizeof(path), "%s/%s.state", spool_queue, id);
	if ((st = str_read_file(path, 1 << 24, NULL)) == NULL)
		return 0;
	for (q = st; (e2 = strchr(q, '\n')) != NULL; q = e2 + 1) {
		*e2 = '\0';
		if (strncmp(q, "done ", 5) == 0 && (i = atoi(q + 5)) >= 0 &&
		    i < nrcpt && !done[i]) {
			done[i] = 1;
			n++;
		}
	}
	free(st);
	return n;
}

/* Read and parse queue/ID: the envelope, the message (if msgp), which
 * recipients are done (if donep) and how many. 0 or -1 with errno. */
static int
spool_read(const char *id, struct spool_env *e, char **msgp, size_t *msglenp,
    unsigned char **donep, int *ndone)
{
	char path[PATH_MAX + 64], *text;
	size_t len, off;
	unsigned char *done;
	int n;

	memset(e, 0, sizeof(*e));
	if (!spool_id_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s", spool_queue, id);
	if ((text = str_read_file(path, (size_t)1 << 31, &len)) == NULL)
		return -1;
	if (spool_parse(text, len, e, &off) == -1) {
		free(text);
		errno = EINVAL;
		return -1;
	}
	if ((done = calloc((size_t)e->nrcpt, 1)) == NULL) {
		free(text);
		spool_env_free(e);
		errno = ENOMEM;
		return -1;
	}
	n = spool_read_state(id, done, e->nrcpt);
	if (ndone)
		*ndone = n;
	if (donep)
		*donep = done;
	else
		free(done);
	if (msgp) {
		memmove(text, text + off, len - off);
		*msgp = text;
		*msglenp = len - off;
	} else {
		if (msglenp)
			*msglenp = len - off;
		free(text);
	}
	return 0;
}

int
spool_load(const char *id, struct spool_env *e, char **msgp, size_t *msglenp,
    unsigned char **donep)
{
	return spool_read(id, e, msgp, msglenp, donep, NULL);
}

void
spool_env_free(struct spool_env *e)
{
	free(e->rcpts);
	e->rcpts = NULL;
	e->nrcpt = 0;
}

int
spool_mark_done(const char *id, const int *idx, int n)
{
	char path[PATH_MAX + 64], line[32];
	int fd, i, rc = 0;

	snprintf(path, sizeof(path), "%s/%s.state", spool_queue, id);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		 0600)) == -1)
		return -1;
	for (i = 0; i < n && rc == 0; i++) {
		int l = snprintf(line, sizeof(line), "done %d\n", idx[i]);
		if (write(fd, line, (size_t)l) != l)
			rc = -1;
	}
	/* a recipient is finished only once this is on disk */
	if (rc == 0 && fsync(fd) == -1)
		rc = -1;
	close(fd);
	return rc;
}

int
spool_note(const char *id, const char *lines, size_t len)
{
	char path[PATH_MAX + 64];
	ssize_t w;
	int fd;

	if (!spool_id_ok(id))
		return -1;
	snprintf(path, sizeof(path), "%s/%s.state", spool_queue, id);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
		 0600)) == -1)
		return -1;
	w = write(fd, lines, len);
	close(fd);
	return w == (ssize_t)len ? 0 : -1;
}

int
spool_notes(const char *id, char (*notes)[SPOOL_NOTE_MAX], int nrcpt)
{
	char path[PATH_MAX + 64], *st, *q, *e2, *sp;
	int i;

	for (i = 0; i < nrcpt; i++)
		notes[i][0] = '\0';
	if (!spool_id_ok(id))
		return -1;
	snprintf(path, sizeof(path), "%s/%s.state", spool_queue, id);
	if ((st = str_read_file(path, 1 << 24, NULL)) == NULL)
		return errno == ENOENT ? 0 : -1;
	for (q = st; (e2 = strchr(q, '\n')) != NULL; q = e2 + 1) {
		*e2 = '\0';
		if (strncmp(q, "note ", 5) != 0 ||
		    (sp = strchr(q + 5, ' ')) == NULL)
			continue;
		i = atoi(q + 5);
		if (i >= 0 && i < nrcpt)
			str_lcpy(notes[i], sp + 1, SPOOL_NOTE_MAX);
	}
	free(st);
	return 0;
}

int
spool_each_id(int (*fn)(const char *id, void *arg), void *arg)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	if ((d = opendir(spool_queue)) == NULL)
		return -1;
	/* readdir order, no sorting: a million names cost no more memory */
	while ((de = readdir(d)) != NULL)
		if (spool_id_ok(de->d_name)) {
			n++;
			if (fn(de->d_name, arg) == -1)
				break;
		}
	closedir(d);
	return n;
}

int
spool_is_held(const char *id)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s.hold", spool_queue, id);
	return access(path, F_OK) == 0;
}

int
spool_set_held(const char *id, int held)
{
	char path[PATH_MAX + 64];
	int fd;

	if (!spool_id_ok(id)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(path, sizeof(path), "%s/%s.hold", spool_queue, id);
	if (!held)
		return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) == -1)
		return -1;
	close(fd);
	return 0;
}

/* One message's envelope and status; the message too if msgp. */
static int
spool_info_read(const char *id, struct spool_info *info, char **msgp,
    size_t *lenp)
{
	size_t len;

	memset(info, 0, sizeof(*info));
	if (spool_read(id, &info->env, msgp, &len, NULL, &info->rcpts_done) ==
	    -1)
		return -1;
	info->size = len;
	if (lenp)
		*lenp = len;
	info->held = spool_is_held(id);
	return 0;
}

int
spool_list(int (*fn)(const struct spool_info *, void *), void *arg)
{
	struct spool_info info;
	struct dirent *de;
	DIR *d;
	int rc = 0;

	if ((d = opendir(spool_queue)) == NULL)
		return -1;
	while (rc == 0 && (de = readdir(d)) != NULL) {
		/* gone since readdir, or not a message: not listed */
		if (!spool_id_ok(de->d_name) ||
		    spool_info_read(de->d_name, &info, NULL, NULL) == -1)
			continue;
		rc = fn(&info, arg);
		spool_env_free(&info.env);
	}
	closedir(d);
	return rc;
}

int
spool_show(const char *id, struct spool_info *info, char **msgp, size_t *lenp)
{
	return spool_info_read(id, info, msgp, lenp);
}
