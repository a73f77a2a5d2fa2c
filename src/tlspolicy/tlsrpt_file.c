/*
 * tlsrpt_file: the counts on disk. Every tick the domains counted since
 * are written, each to DATA_DIR/tlsrpt/<period>/<domain>.json (a temp
 * file, fsync, rename, then an fsync of the folder; on a worker), so a
 * crash loses a few seconds of counts at most. One batch at a time: the
 * writes and the removals of reported periods reach the disk in the
 * order they were made. A start reads the files back; the stop writes
 * what is left. `postern tlsrpt send` leaves its request here too.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tlsrpt_int.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/str.h"
#include "../util/workers.h"

#define TR_FILE_MAX (4 << 20)		 /* a counts file read back */
#define TR_ROOT_MAX (CONF_PATH_MAX + 16) /* DATA_DIR/tlsrpt */
#define TR_DIR_MAX (TR_ROOT_MAX + 40)	 /* .../<period> */
#define TR_FPATH_MAX (TR_DIR_MAX + 300)	 /* .../<domain>.json */

static struct {
	char root[TR_ROOT_MAX];
	struct workers_loop *wl;
	int writing; /* a batch on a worker */
} tf;

struct tr_file {
	char dir[32];
	char name[TLSRPT_DOMAIN_MAX + 1];
	int64_t begin;
	char *text;
	int failed;
};

struct tr_batch {
	struct worker_job base;
	char root[TR_ROOT_MAX];
	struct tr_file *files;
	int nfiles;
	char (*rm)[32];
	int nrm;
};

static int
tr_fsync_dir(const char *path)
{
	int fd = open(path, O_RDONLY | O_DIRECTORY), rc;

	if (fd == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/* temp, fsync, rename: a file is its old counts or its new ones */
static int
tr_write_file(const char *root, const struct tr_file *f)
{
	char dir[TR_DIR_MAX], path[TR_FPATH_MAX];
	size_t len = strlen(f->text);

	snprintf(dir, sizeof(dir), "%s/%s", root, f->dir);
	/* a file name has 255 bytes, the temporary one ".json.tmpPID": a
	 * longer domain is named by its hash (the domain is in the file) */
	if (strlen(f->name) > 220)
		snprintf(path, sizeof(path), "%s/h-%016llx.json", dir,
		    (unsigned long long)str_hash(f->name));
	else
		snprintf(path, sizeof(path), "%s/%s.json", dir, f->name);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	/* temp file, fsync, rename */
	return str_write_file(path, f->text, len, 0600);
}

static void
tr_remove_dir(const char *root, const char *name)
{
	char dir[TR_DIR_MAX], path[TR_FPATH_MAX];
	struct dirent *e;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/%s", root, name);
	if ((dp = opendir(dir)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		unlink(path);
	}
	closedir(dp);
	rmdir(dir);
}

static void
tr_batch_run(struct worker_job *j, void *ctx)
{
	struct tr_batch *b = (struct tr_batch *)j;
	const char *last = NULL;
	int i;

	(void)ctx;
	if (mkdir(b->root, 0700) == -1 && errno != EEXIST) {
		for (i = 0; i < b->nfiles; i++)
			b->files[i].failed = 1;
		return;
	}
	for (i = 0; i < b->nfiles; i++) {
		b->files[i].failed = tr_write_file(b->root, &b->files[i]) == -1;
		/* the renames of a folder reach the disk with its fsync */
		if (last && strcmp(last, b->files[i].dir) != 0) {
			char dir[TR_DIR_MAX];

			snprintf(dir, sizeof(dir), "%s/%s", b->root, last);
			tr_fsync_dir(dir);
		}
		last = b->files[i].dir;
	}
	if (last) {
		char dir[TR_DIR_MAX];

		snprintf(dir, sizeof(dir), "%s/%s", b->root, last);
		tr_fsync_dir(dir);
	}
	for (i = 0; i < b->nrm; i++)
		tr_remove_dir(b->root, b->rm[i]);
	tr_fsync_dir(b->root);
}

static void
tr_batch_free(struct tr_batch *b)
{
	int i;

	for (i = 0; i < b->nfiles; i++)
		free(b->files[i].text);
	free(b->files);
	free(b->rm);
	free(b);
}

static struct tr_domain *
tr_find(int64_t begin, const char *name)
{
	struct tr_period *p;
	struct tr_domain *d;

	for (p = tr_periods; p; p = p->next)
		if (p->begin == begin && !p->gone)
			for (d = p->domains; d; d = d->next)
				if (strcmp(d->name, name) == 0)
					return d;
	return NULL;
}

static void
tr_batch_done(struct worker_job *j)
{
	struct tr_batch *b = (struct tr_batch *)j;
	struct tr_domain *d;
	int i, failed = 0;

	for (i = 0; i < b->nfiles; i++)
		if (b->files[i].failed) {
			failed++;
			/* written again at the next tick */
			if ((d = tr_find(b->files[i].begin, b->files[i].name)))
				d->dirty = 1;
		}
	if (failed)
		log_warnx("tlsrpt.write dir=%s files=%d error=\"%s\"", b->root,
		    failed, "cannot write the counts");
	tf.writing = 0;
	tr_batch_free(b);
}

/* What changed since the last batch: the dirty domains' files and the
 * folders of reported periods. NULL when nothing did. */
static struct tr_batch *
tr_batch_make(void)
{
	struct tr_period *p, *pn;
	struct tr_domain *d;
	struct tr_batch *b;
	int nfiles = 0, nrm = 0;

	for (p = tr_periods; p; p = p->next) {
		if (p->gone) {
			nrm++;
			continue;
		}
		for (d = p->domains; d; d = d->next)
			nfiles += d->dirty;
	}
	if (nfiles == 0 && nrm == 0)
		return NULL;
	if ((b = calloc(1, sizeof(*b))) == NULL ||
	    (b->files = calloc((size_t)nfiles + 1, sizeof(*b->files))) ==
		NULL ||
	    (b->rm = calloc((size_t)nrm + 1, sizeof(*b->rm))) == NULL) {
		if (b)
			free(b->files);
		free(b);
		return NULL;
	}
	str_lcpy(b->root, tf.root, sizeof(b->root));
	for (p = tr_periods; p; p = pn) {
		pn = p->next;
		if (p->gone) {
			str_lcpy(b->rm[b->nrm++], p->dir, sizeof(*b->rm));
			tr_period_free(p);
			continue;
		}
		for (d = p->domains; d; d = d->next) {
			struct tr_file *f = &b->files[b->nfiles];
			json_t *o;

			if (!d->dirty)
				continue;
			if ((o = tr_domain_to_json(p, d)) == NULL)
				continue;
			f->text = json_dumps(o, JSON_COMPACT);
			json_decref(o);
			if (f->text == NULL)
				continue;
			str_lcpy(f->dir, p->dir, sizeof(f->dir));
			str_lcpy(f->name, d->name, sizeof(f->name));
			f->begin = p->begin;
			d->dirty = 0;
			b->nfiles++;
		}
	}
	return b;
}

void
tr_file_save(void)
{
	struct tr_batch *b;

	if (tf.writing || (b = tr_batch_make()) == NULL)
		return;
	b->base.run = tr_batch_run;
	b->base.done = tr_batch_done;
	tf.writing = 1;
	workers_submit(tf.wl, &b->base);
}

/* One file of counts back into memory. */
static void
tr_load_file(const char *path)
{
	json_error_t jerr;
	struct stat st;
	json_t *o;

	if (stat(path, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > TR_FILE_MAX) {
		log_warnx("tlsrpt.load file=%s error=\"not a counts file\"",
		    path);
		return;
	}
	if ((o = json_load_file(path, 0, &jerr)) == NULL ||
	    tr_domain_from_json(o) == -1)
		log_warnx("tlsrpt.load file=%s error=\"malformed, skipped\"",
		    path);
	json_decref(o);
}

/* Every DATA_DIR/tlsrpt/<period>/<domain>.json: into fn. */
static void
tr_each_file(const char *root, void (*fn)(const char *path))
{
	char dir[TR_DIR_MAX], path[TR_FPATH_MAX];
	struct dirent *e, *f;
	DIR *dp, *fp;
	size_t n;

	if ((dp = opendir(root)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] == '.' || strcmp(e->d_name, "send") == 0)
			continue;
		snprintf(dir, sizeof(dir), "%s/%s", root, e->d_name);
		if ((fp = opendir(dir)) == NULL)
			continue;
		while ((f = readdir(fp)) != NULL) {
			n = strlen(f->d_name);
			snprintf(path, sizeof(path), "%s/%s", dir, f->d_name);
			if (strstr(f->d_name, ".json.tmp") != NULL)
				unlink(path); /* a write a crash cut short */
			else if (f->d_name[0] != '.' && n > 5 &&
				 strcmp(f->d_name + n - 5, ".json") == 0)
				fn(path);
		}
		closedir(fp);
	}
	closedir(dp);
}

static json_t *tr_show_out;

static void
tr_show_file(const char *path)
{
	json_error_t jerr;
	struct stat st;
	json_t *o;

	if (stat(path, &st) == -1 || st.st_size > TR_FILE_MAX ||
	    (o = json_load_file(path, 0, &jerr)) == NULL)
		return;
	json_array_append_new(tr_show_out, o);
}

struct json_t *
tlsrpt_show(const char *data_dir)
{
	char root[TR_ROOT_MAX];
	json_t *out = json_object();

	snprintf(root, sizeof(root), "%s/tlsrpt", data_dir);
	if (out == NULL || (tr_show_out = json_array()) == NULL) {
		json_decref(out);
		return NULL;
	}
	tr_each_file(root, tr_show_file);
	json_object_set_new(out, "domains", tr_show_out);
	tr_show_out = NULL;
	return out;
}

/* requests from the CLI */

int
tlsrpt_request(const char *data_dir, const char *day, char *err, size_t errlen)
{
	char root[TR_ROOT_MAX], path[TR_ROOT_MAX + 8];
	struct tm tm;

	if (day != NULL && strcmp(day, "today") != 0) {
		memset(&tm, 0, sizeof(tm));
		if (strlen(day) != 10 ||
		    strptime(day, "%Y-%m-%d", &tm) == NULL) {
			snprintf(err, errlen, "%s: not a day (YYYY-MM-DD)",
			    day);
			return -1;
		}
	}
	snprintf(root, sizeof(root), "%s/tlsrpt", data_dir);
	snprintf(path, sizeof(path), "%s/send", root);
	if ((mkdir(root, 0700) == -1 && errno != EEXIST) ||
	    str_write_file(path, day ? day : "", day ? strlen(day) : 0, 0600) ==
		-1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* The request `postern tlsrpt send` left, taken: 1 with its day in
 * day ("" for the finished days), 0 if there is none. */
int
tr_file_request(char *day, size_t len)
{
	char path[TR_ROOT_MAX + 8];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/send", tf.root);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return 0;
	n = read(fd, day, len - 1);
	close(fd);
	unlink(path);
	day[n > 0 ? n : 0] = '\0';
	/* only what tlsrpt_request() writes */
	if (strcmp(day, "today") != 0 &&
	    (strlen(day) != 10 || strspn(day, "0123456789-") != 10))
		day[0] = '\0';
	return 1;
}

int
tr_file_start(const char *data_dir, struct workers_loop *wl)
{
	snprintf(tf.root, sizeof(tf.root), "%s/tlsrpt", data_dir);
	tf.wl = wl;
	tf.writing = 0;
	if (mkdir(tf.root, 0700) == -1 && errno != EEXIST) {
		log_warnx("tlsrpt.start dir=%s error=\"%s\"", tf.root,
		    strerror(errno));
		return -1;
	}
	tr_each_file(tf.root, tr_load_file);
	return 0;
}

/* On the stop, nobody waits: the workers are stopped (a batch still on
 * one ran, its done() does not), so what is dirty is written here, after
 * it, in order. */
void
tr_file_stop(void)
{
	struct tr_batch *b;

	if ((b = tr_batch_make()) != NULL) {
		tr_batch_run(&b->base, NULL);
		tr_batch_free(b);
	}
}
