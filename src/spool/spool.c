/*
 * spool: the durable queue. The order of operations is the promise:
 * write tmp/ID, fsync it, rename to queue/ID, fsync queue/ (shared by
 * every rename done before the fsync began), and only then the caller
 * may answer 250. A crash before the rename leaves garbage in tmp/,
 * cleaned at start; after it, a complete message.
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
static int spool_queue_fd = -1;

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

int
spool_init(const char *data_dir)
{
	char base[PATH_MAX];
	DIR *d;
	struct dirent *de;

	snprintf(base, sizeof(base), "%s/spool", data_dir);
	snprintf(spool_tmp, sizeof(spool_tmp), "%s/tmp", base);
	snprintf(spool_queue, sizeof(spool_queue), "%s/queue", base);
	if (spool_mkdir(base) == -1 || spool_mkdir(spool_tmp) == -1 ||
	    spool_mkdir(spool_queue) == -1)
		return -1;
	/* unacknowledged leftovers of a crash */
	if ((d = opendir(spool_tmp)) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				unlinkat(dirfd(d), de->d_name, 0);
		closedir(d);
	}
	if (spool_queue_fd != -1)
		close(spool_queue_fd);
	spool_queue_fd = open(spool_queue, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return spool_queue_fd == -1 ? -1 : 0;
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
spool_env_text(const struct spool_env *e, size_t msglen, char *buf,
    size_t len)
{
	size_t o = 0;
	int i, n;

#define ADD(...)                                                            \
	do {                                                                \
		n = snprintf(buf + o, len - o, __VA_ARGS__);                \
		if (n < 0 || (size_t)n >= len - o)                          \
			return -1;                                          \
		o += (size_t)n;                                             \
	} while (0)
	ADD("POSTERN-SPOOL 1\nid %s\ntime %lld\nfrom <%s>\nauth %s\nip %s\n"
	    "body %s\nsmtputf8 %d\n",
	    e->id, (long long)e->time, e->from, e->auth[0] ? e->auth : "-",
	    e->ip, e->body[0] ? e->body : "7BIT", e->smtputf8);
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

int
spool_write(const struct spool_env *e, const struct iovec *iov, int iovcnt)
{
	char tmp[PATH_MAX + 64], dst[PATH_MAX + 64], *env;
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
	snprintf(tmp, sizeof(tmp), "%s/%s", spool_tmp, e->id);
	snprintf(dst, sizeof(dst), "%s/%s", spool_queue, e->id);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) ==
	    -1) {
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

int
spool_remove(const char *id)
{
	char path[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/%s", spool_queue, id);
	return unlink(path);
}

/* Parse one spool file's envelope into JSON; NULL if not a spool file. */
static json_t *
spool_read(const char *path, int with_body)
{
	char *text, *p, *nl;
	size_t len;
	json_t *o, *rcpts;

	if ((text = str_read_file(path, (size_t)1 << 31, &len)) == NULL)
		return NULL;
	if (strncmp(text, "POSTERN-SPOOL 1\n", 16) != 0) {
		free(text);
		return NULL;
	}
	o = json_object();
	rcpts = json_array();
	for (p = text + 16; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
		char *sp;
		*nl = '\0';
		if (*p == '\0') {
			p = nl + 1;
			break;
		}
		if ((sp = strchr(p, ' ')) == NULL)
			continue;
		*sp++ = '\0';
		if (strcmp(p, "rcpt") == 0) {
			char *e = strchr(sp, '>');
			if (e)
				*e = '\0';
			json_array_append_new(rcpts, json_string(sp + 1));
		} else if (strcmp(p, "time") == 0 || strcmp(p, "size") == 0 ||
		    strcmp(p, "smtputf8") == 0) {
			json_object_set_new(o, p, json_integer(atoll(sp)));
		} else if (strcmp(p, "from") == 0) {
			sp[strlen(sp) - 1] = '\0';
			json_object_set_new(o, "from", json_string(sp + 1));
		} else {
			json_object_set_new(o, p, json_string(sp));
		}
	}
	json_object_set_new(o, "rcpts", rcpts);
	if (with_body)
		json_object_set_new(o, "message",
		    json_stringn(p, len - (size_t)(p - text)));
	free(text);
	return o;
}

json_t *
spool_list(const char *data_dir)
{
	char dir[PATH_MAX], path[PATH_MAX + 300];
	struct dirent *de;
	json_t *list = json_array(), *o;
	DIR *d;

	snprintf(dir, sizeof(dir), "%s/spool/queue", data_dir);
	if ((d = opendir(dir)) == NULL)
		return list;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if ((o = spool_read(path, 0)) != NULL)
			json_array_append_new(list, o);
	}
	closedir(d);
	return list;
}

json_t *
spool_show(const char *data_dir, const char *id, int with_body)
{
	char path[PATH_MAX + 64];

	if (strlen(id) != SPOOL_ID_LEN ||
	    strspn(id, "0123456789abcdef") != SPOOL_ID_LEN)
		return NULL;
	snprintf(path, sizeof(path), "%s/spool/queue/%s", data_dir, id);
	return spool_read(path, with_body);
}
