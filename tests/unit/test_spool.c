/* test_spool: durable writes, reading back, and recycled files. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"
#include "spool/spool.h"

static int
spool_dir_count(const char *path)
{
	DIR *d = opendir(path);
	struct dirent *de;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int
spool_put(const char *id, const char *msg)
{
	struct spool_rcpt r = { .addr = "bob@example.net" };
	struct spool_env e = { .time = 1700000000,
		.from = "alice@example.org",
		.auth = "alice@example.org",
		.ip = "127.0.0.1",
		.nrcpt = 1,
		.rcpts = &r };
	struct iovec v = { (void *)msg, strlen(msg) };

	snprintf(e.id, sizeof(e.id), "%s", id);
	return spool_write(&e, &v, 1);
}

static int
spool_get(const char *id, char **msg, size_t *len)
{
	struct spool_env e;
	unsigned char *done = NULL;
	int rc = spool_load(id, &e, msg, len, &done);

	if (rc == 0) {
		free(e.rcpts);
		free(done);
	}
	return rc;
}

UNIT_TEST(test_spool_recycles_files_without_stale_bytes)
{
	char dir[] = "/tmp/postern-unit-spoolXXXXXX", path[512], *msg = NULL;
	char big[8192];
	struct stat st;
	ino_t ino;
	size_t len = 0;

	if (mkdtemp(dir) == NULL) {
		CHECK(0);
		return;
	}
	CHECK(spool_init(dir) == 0);
	memset(big, 'x', sizeof(big) - 3);
	memcpy(big + sizeof(big) - 3, "\r\n", 3);
	CHECK(spool_put("00000001aaaaaaaaaaaa", big) == 0);
	snprintf(path, sizeof(path), "%s/spool/queue/00000001aaaaaaaaaaaa",
	    dir);
	CHECK(stat(path, &st) == 0);
	ino = st.st_ino;

	/* a finished message's file waits in free/ for the next one */
	CHECK(spool_remove("00000001aaaaaaaaaaaa") == 0);
	CHECK(stat(path, &st) == -1);
	snprintf(path, sizeof(path), "%s/spool/free", dir);
	CHECK(spool_dir_count(path) == 1);

	/* the next, shorter message reuses the inode and nothing of the old */
	CHECK(spool_put("00000002bbbbbbbbbbbb",
		  "Subject: short\r\n\r\nhi\r\n") == 0);
	CHECK(spool_dir_count(path) == 0);
	snprintf(path, sizeof(path), "%s/spool/queue/00000002bbbbbbbbbbbb",
	    dir);
	CHECK(stat(path, &st) == 0 && st.st_ino == ino);
	CHECK(spool_get("00000002bbbbbbbbbbbb", &msg, &len) == 0);
	CHECK(msg != NULL && len == 22 &&
	      memcmp(msg, "Subject: short\r\n\r\nhi\r\n", 22) == 0);
	free(msg);
	msg = NULL;
	CHECK(st.st_size < 1024); /* truncated: no tail of the 8 KiB one */

	/* a restart drops the recycled files: they were never acknowledged */
	CHECK(spool_remove("00000002bbbbbbbbbbbb") == 0);
	CHECK(spool_init(dir) == 0);
	snprintf(path, sizeof(path), "%s/spool/free", dir);
	CHECK(spool_dir_count(path) == 0);
	CHECK(spool_put("00000003cccccccccccc", "a\r\n") == 0);
	CHECK(spool_get("00000003cccccccccccc", &msg, &len) == 0);
	CHECK(len == 3);
	free(msg);
	CHECK(spool_remove("00000003cccccccccccc") == 0);

	snprintf(path, sizeof(path), "rm -rf '%s'", dir);
	CHECK(system(path) == 0);
}

static int
spool_count_id(const char *id, void *arg)
{
	(void)id;
	(*(int *)arg)++;
	return 0;
}

static int
spool_list_one(const struct spool_info *m, void *arg)
{
	struct spool_info *out = arg;

	*out = *m;
	out->env.rcpts = NULL; /* freed by spool_list */
	out->env.nrcpt = m->env.nrcpt;
	return 0;
}

UNIT_TEST(test_the_queue_is_listed_and_shown_from_the_same_parser)
{
	char dir[] = "/tmp/postern-unit-spoolXXXXXX", cmd[512], *msg = NULL;
	struct spool_info info, listed;
	size_t len = 0;
	int idx = 0, n = 0;

	CHECK(mkdtemp(dir) != NULL);
	CHECK(spool_init(dir) == 0);
	CHECK(spool_open(dir) == 0); /* the same folder: kept open */
	CHECK(spool_put("6b0000010000000000aa", "Subject: x\r\n\r\nbody\r\n") ==
	      0);
	CHECK(spool_mark_done("6b0000010000000000aa", &idx, 1) == 0);
	CHECK(spool_mark_done("6b0000010000000000aa", &idx, 1) == 0);
	CHECK(spool_set_held("6b0000010000000000aa", 1) == 0);
	CHECK(spool_each_id(spool_count_id, &n) == 1 && n == 1);

	memset(&listed, 0, sizeof(listed));
	CHECK(spool_list(spool_list_one, &listed) == 0);
	CHECK_STR(listed.env.id, "6b0000010000000000aa");
	CHECK_STR(listed.env.from, "alice@example.org");
	CHECK(listed.held == 1 && listed.rcpts_done == 1 &&
	      listed.env.nrcpt == 1 && listed.size == 20);

	CHECK(spool_show("6b0000010000000000aa", &info, &msg, &len) == 0);
	CHECK(info.env.nrcpt == 1 &&
	      strcmp(info.env.rcpts[0].addr, "bob@example.net") == 0);
	CHECK(len == 20 && msg && memcmp(msg, "Subject: x\r\n", 12) == 0);
	spool_env_free(&info.env);
	free(msg);
	CHECK(spool_show("6b0000010000000000ab", &info, NULL, NULL) == -1);
	CHECK(spool_show("../../etc/passwd", &info, NULL, NULL) == -1);
	CHECK(spool_id_time("6b0000010000000000aa") == 0x6b000001);

	CHECK(spool_delete("6b0000010000000000aa") == 0);
	n = 0;
	CHECK(spool_each_id(spool_count_id, &n) == 0 && n == 0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	CHECK(system(cmd) == 0);
}
