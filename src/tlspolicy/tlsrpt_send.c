/*
 * tlsrpt_send: the life of the counts on the queue's loop. Every
 * TR_TICK seconds the domains counted since are written, each to
 * DATA_DIR/tlsrpt/<period>/<domain>.json (temp, fsync, rename, fsync of
 * the folder, on a worker; one batch at a time, so writes and removals
 * reach the disk in order): a crash loses at most a tick of counts. The
 * stop writes the rest. A start reads the folder back.
 *
 * Once a day, some random minutes after 00:00 UTC (RFC 8460 4.1), and
 * soon after a start, each domain of a finished period is reported: its
 * _smtp._tls TXT record asked (none: nothing is sent), the report made
 * (JSON, gzip) and sent to each rua: mailto as a message in postern's
 * own spool (delivered, DKIM-signed and retried as any), https by POST.
 * A failure is tried again later that day, TR_TRIES times in all. A
 * period whose domains are all done is removed, from memory and disk.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/ssl.h>
#include <sodium.h>
#include <zlib.h>

#include "mtasts.h"
#include "tlsrpt_int.h"
#include "../mail/addr.h"
#include "../spool/spool.h"
#include "../util/base64.h"
#include "../util/conf.h"
#include "../util/dnsq.h"
#include "../util/httpc.h"
#include "../util/log.h"
#include "../util/str.h"
#include "../util/workers.h"

#define TR_TICK 2	       /* seconds between looks at the counts */
#define TR_TRIES 4	       /* sends of one report, in all */
#define TR_RETRY (30 * 60)     /* seconds before the next, times tries */
#define TR_START_DELAY 60      /* after a start, plus up to as much again */
#define TR_DAY_DELAY (15 * 60) /* after 00:00 UTC: up to this, random */
#define TR_SENDS_MAX 16	       /* domains being reported at once */
#define TR_FILE_MAX (4 << 20)  /* a counts file read back */
#define TR_HTTP_TIMEOUT 60
#define TR_MSG_MAX (16 << 20)
#define TR_ROOT_MAX (CONF_PATH_MAX + 16) /* DATA_DIR/tlsrpt */
#define TR_DIR_MAX (TR_ROOT_MAX + 40)	 /* .../<period> */
#define TR_FPATH_MAX (TR_DIR_MAX + 300)	 /* .../<domain>.json */

struct tr_job {
	struct tr_period *p;
	struct tr_domain *d;
	uint64_t dns;
	struct httpc *http[TLSRPT_RUA_MAX];
	struct tlsrpt_txt txt;
	int waiting, failed;
	unsigned char *gz;
	size_t gzlen;
	struct tr_job *next;
};

static struct {
	struct event_base *base;
	struct dnsq *dns;
	struct workers_loop *wl;
	struct event *tick;
	SSL_CTX *https;
	char root[TR_ROOT_MAX];
	int64_t next_report;
	int writing; /* a batch on a worker */
	int nsends;
	struct tr_job *sends;
	int started;
} rt;

static int64_t
tr_now(void)
{
	return (int64_t)time(NULL);
}

/* gzip */

int
tr_gzip(const void *in, size_t len, unsigned char **out, size_t *outlen)
{
	z_stream z;
	size_t cap = len + len / 1000 + 64;
	int rc;

	memset(&z, 0, sizeof(z));
	if ((*out = malloc(cap)) == NULL)
		return -1;
	/* 15 + 16: a gzip wrapper, not zlib's */
	if (deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
		Z_DEFAULT_STRATEGY) != Z_OK) {
		free(*out);
		return -1;
	}
	z.next_in = (unsigned char *)(uintptr_t)in;
	z.avail_in = (uInt)len;
	z.next_out = *out;
	z.avail_out = (uInt)cap;
	rc = deflate(&z, Z_FINISH);
	*outlen = z.total_out;
	deflateEnd(&z);
	if (rc != Z_STREAM_END) {
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

/* the message (RFC 8460 5.3) */

int
tr_mail_build(const struct tr_mail *m, struct buf *out)
{
	char date[64], start[32], end[32], boundary[80], *b64;
	time_t t = (time_t)m->now;
	struct tm tm;
	size_t n, i;
	int rc = 0;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	tr_datetime(m->begin, start);
	tr_datetime(m->end, end);
	snprintf(boundary, sizeof(boundary), "tlsrpt-%s", m->unique);
	if ((b64 = malloc(BASE64_ENCODED_LEN(m->gzlen))) == NULL)
		return -1;
	n = base64_encode(b64, m->gz, m->gzlen);
	rc |= buf_printf(out, "From: <%s>\r\nTo: <%s>\r\n", m->from, m->to);
	rc |= buf_printf(out,
	    "Subject: Report Domain: %s Submitter: %s Report-ID: <%s>\r\n",
	    m->domain, m->submitter, m->report_id);
	rc |= buf_printf(out, "Date: %s\r\nMessage-ID: <%s>\r\n", date,
	    m->report_id);
	rc |= buf_printf(out,
	    "TLS-Report-Domain: %s\r\nTLS-Report-Submitter: %s\r\n", m->domain,
	    m->submitter);
	rc |= buf_printf(out, "Auto-Submitted: auto-generated\r\n");
	rc |= buf_printf(out,
	    "MIME-Version: 1.0\r\nContent-Type: multipart/report; "
	    "report-type=\"tlsrpt\";\r\n\tboundary=\"%s\"\r\n\r\n",
	    boundary);
	rc |= buf_printf(out, "This is a MIME-encapsulated message.\r\n\r\n");
	rc |= buf_printf(out,
	    "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "This is an aggregate TLS report (RFC 8460) from %s\r\n"
	    "for mail sent to %s from %s to %s.\r\n\r\n",
	    boundary, m->submitter, m->domain, start, end);
	rc |= buf_printf(out,
	    "--%s\r\nContent-Type: application/tlsrpt+gzip\r\n"
	    "Content-Transfer-Encoding: base64\r\n"
	    "Content-Disposition: attachment;\r\n"
	    "\tfilename=\"%s!%s!%lld!%lld!%s.json.gz\"\r\n\r\n",
	    boundary, m->submitter, m->domain, (long long)m->begin,
	    (long long)m->end, m->unique);
	for (i = 0; rc == 0 && i < n; i += 76) {
		rc |= buf_append(out, b64 + i, n - i < 76 ? n - i : 76);
		rc |= buf_append(out, "\r\n", 2);
	}
	rc |= buf_printf(out, "\r\n--%s--\r\n", boundary);
	free(b64);
	return rc == 0 ? 0 : -1;
}

/* files */

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
	char dir[TR_DIR_MAX], tmp[TR_FPATH_MAX], path[TR_FPATH_MAX];
	size_t len = strlen(f->text), off = 0;
	ssize_t w;
	int fd, rc = -1;

	snprintf(dir, sizeof(dir), "%s/%s", root, f->dir);
	snprintf(tmp, sizeof(tmp), "%s/.%s.tmp", dir, f->name);
	snprintf(path, sizeof(path), "%s/%s.json", dir, f->name);
	if (mkdir(dir, 0700) == -1 && errno != EEXIST)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1)
		return -1;
	while (off < len && (w = write(fd, f->text + off, len - off)) > 0)
		off += (size_t)w;
	if (off == len && fsync(fd) == 0)
		rc = 0;
	close(fd);
	if (rc == 0 && rename(tmp, path) == -1)
		rc = -1;
	if (rc == -1)
		unlink(tmp);
	return rc;
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
	rt.writing = 0;
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
	str_lcpy(b->root, rt.root, sizeof(b->root));
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

static void
tr_save(void)
{
	struct tr_batch *b;

	if (rt.writing || (b = tr_batch_make()) == NULL)
		return;
	b->base.run = tr_batch_run;
	b->base.done = tr_batch_done;
	rt.writing = 1;
	workers_submit(rt.wl, &b->base);
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
			if (f->d_name[0] == '.' && n > 4 &&
			    strcmp(f->d_name + n - 4, ".tmp") == 0)
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

static void tr_report_soon(int64_t now);

static void
tr_take_request(int64_t now)
{
	char path[TR_ROOT_MAX + 8], day[16] = "", today[16];
	time_t t = (time_t)now;
	struct tm tm;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/send", rt.root);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return;
	n = read(fd, day, sizeof(day) - 1);
	close(fd);
	unlink(path);
	day[n > 0 ? n : 0] = '\0';
	gmtime_r(&t, &tm);
	strftime(today, sizeof(today), "%Y-%m-%d", &tm);
	log_info("tlsrpt.request day=%s", day[0] ? day : "finished");
	if (strcmp(day, "today") == 0 || strcmp(day, today) == 0)
		tr_period_cut(now);
	tr_report_soon(now);
}

/* sending */

static void
tr_report_soon(int64_t now)
{
	rt.next_report = now;
}

/* The next report time: some minutes after the next 00:00 UTC. */
static void
tr_report_tomorrow(int64_t now)
{
	rt.next_report = tr_day_start(now) + 86400 +
			 (int64_t)randombytes_uniform(TR_DAY_DELAY) + 60;
}

static void
tr_send_free(struct tr_job *s)
{
	struct tr_job **pp;
	int i;

	for (pp = &rt.sends; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	if (s->dns && rt.dns)
		rt.dns->cancel(rt.dns, s->dns);
	for (i = 0; i < TLSRPT_RUA_MAX; i++)
		httpc_cancel(s->http[i]);
	free(s->gz);
	free(s);
	rt.nsends--;
}

/* The domain's report is done with for now: sent, or to be tried again
 * later, or given up. */
static void
tr_send_end(struct tr_job *s, int temporary, const char *why)
{
	struct tr_domain *d = s->d;
	int64_t now = tr_now();

	if (temporary && ++d->tries < TR_TRIES) {
		d->send = TR_PENDING;
		d->next_try = now + (int64_t)TR_RETRY * d->tries;
		log_info("tlsrpt.retry domain=%s period=%s tries=%d "
			 "error=\"%s\"",
		    d->name, s->p->dir, d->tries, why);
	} else {
		d->send = TR_DONE;
		if (temporary)
			log_warnx("tlsrpt.failed domain=%s period=%s "
				  "error=\"%s: given up\"",
			    d->name, s->p->dir, why);
	}
	tr_send_free(s);
}

static void
tr_rua_done(struct tr_job *s, int i, int ok, const char *what)
{
	char v[LOG_VALUE_MAX];

	if (ok) {
		s->d->rua_done |= 1u << i;
		log_info("tlsrpt.sent domain=%s period=%s rua=%s %s",
		    s->d->name, s->p->dir,
		    log_value(v, sizeof(v), s->txt.rua[i]), what);
	} else {
		s->failed++;
		log_warnx("tlsrpt.send domain=%s period=%s rua=%s error=\"%s\"",
		    s->d->name, s->p->dir,
		    log_value(v, sizeof(v), s->txt.rua[i]), what);
	}
	if (--s->waiting == 0)
		tr_send_end(s, s->failed > 0, "a rua failed");
}

/* mailto: the message is written to the spool on a worker */
struct tr_spool_job {
	struct worker_job base;
	struct tr_job *s; /* NULL: the stop let it go */
	int rua;
	struct buf msg;
	char from[ADDR_MAX + 1], to[ADDR_MAX + 1];
	char domain[ADDR_DOMAIN_MAX + 1];
	char id[SPOOL_ID_LEN + 1];
	int rc;
};

static void
tr_spool_run(struct worker_job *j, void *ctx)
{
	struct tr_spool_job *sj = (struct tr_spool_job *)j;
	struct spool_env e;
	struct spool_rcpt r;
	struct iovec iov;

	(void)ctx;
	memset(&e, 0, sizeof(e));
	memset(&r, 0, sizeof(r));
	spool_new_id(e.id);
	e.time = tr_now();
	str_lcpy(e.from, sj->from, sizeof(e.from));
	/* DKIM signs for the From: domain, ours */
	str_lcpy(e.domain, sj->domain, sizeof(e.domain));
	str_lcpy(e.ip, "127.0.0.1", sizeof(e.ip));
	str_lcpy(e.body, "7BIT", sizeof(e.body));
	str_lcpy(r.addr, sj->to, sizeof(r.addr));
	e.nrcpt = 1;
	e.rcpts = &r;
	iov.iov_base = sj->msg.data;
	iov.iov_len = sj->msg.len;
	sj->rc = spool_write(&e, &iov, 1);
	if (sj->rc == 0) {
		str_lcpy(sj->id, e.id, sizeof(sj->id));
		spool_announce(e.id);
	}
}

static void
tr_spool_done(struct worker_job *j)
{
	struct tr_spool_job *sj = (struct tr_spool_job *)j;
	char what[64];

	if (sj->s != NULL) {
		snprintf(what, sizeof(what), "queue=%s", sj->id);
		tr_rua_done(sj->s, sj->rua, sj->rc == 0,
		    sj->rc == 0 ? what : "cannot write to the spool");
	}
	buf_free(&sj->msg);
	free(sj);
}

/* "mailto:addr[?...]" into addr (RFC 6068, no %-escapes taken). */
static int
tr_mailto(const char *uri, char *out, size_t outlen, char *domain, size_t dlen)
{
	char err[160], tmp[TLSRPT_URI_MAX + 1];
	struct addr a;

	str_lcpy(tmp, uri + 7, sizeof(tmp));
	tmp[strcspn(tmp, "?")] = '\0';
	if (strchr(tmp, '%') != NULL || addr_parse(tmp, &a, err, sizeof(err)))
		return -1;
	snprintf(out, outlen, "%s@%s", a.local, a.domain);
	str_lcpy(domain, a.domain, dlen);
	return 0;
}

static int
tr_send_mail(struct tr_job *s, int i, const char *unique, const char *report_id,
    const char *submitter, const char *from, int64_t now)
{
	struct tr_spool_job *sj = calloc(1, sizeof(*sj));
	char fromdom[ADDR_DOMAIN_MAX + 1];
	struct tr_mail m;
	struct addr a;
	char err[160];

	if (sj == NULL)
		return -1;
	if (tr_mailto(s->txt.rua[i], sj->to, sizeof(sj->to), fromdom,
		sizeof(fromdom)) == -1 ||
	    addr_parse(from, &a, err, sizeof(err)) == -1) {
		free(sj);
		return -1;
	}
	str_lcpy(sj->from, from, sizeof(sj->from));
	str_lcpy(sj->domain, a.domain, sizeof(sj->domain));
	memset(&m, 0, sizeof(m));
	m.from = from;
	m.to = sj->to;
	m.submitter = submitter;
	m.domain = s->d->name;
	m.report_id = report_id;
	m.unique = unique;
	m.begin = s->p->begin;
	m.end = tr_report_end(s->p);
	m.now = now;
	m.gz = s->gz;
	m.gzlen = s->gzlen;
	buf_init(&sj->msg, TR_MSG_MAX);
	if (tr_mail_build(&m, &sj->msg) == -1) {
		buf_free(&sj->msg);
		free(sj);
		return -1;
	}
	sj->s = s;
	sj->rua = i;
	sj->base.run = tr_spool_run;
	sj->base.done = tr_spool_done;
	s->waiting++;
	workers_submit(rt.wl, &sj->base);
	return 0;
}

/* The index of the request travels in a small struct per request. */
struct tr_post {
	struct tr_job *s;
	int i;
};

static struct tr_post tr_posts[TR_SENDS_MAX * TLSRPT_RUA_MAX];

static void
tr_post_cb(const struct httpc_resp *r, void *arg)
{
	struct tr_post *pp = arg;
	struct tr_job *s = pp->s;
	int i = pp->i;
	char what[300];

	s->http[i] = NULL;
	pp->s = NULL;
	if (r->status >= 200 && r->status < 300) {
		snprintf(what, sizeof(what), "status=%d", r->status);
		tr_rua_done(s, i, 1, what);
	} else {
		if (r->status)
			snprintf(what, sizeof(what), "HTTP status %d",
			    r->status);
		else
			snprintf(what, sizeof(what), "%s", r->error);
		tr_rua_done(s, i, 0, what);
	}
}

/* "https://host[:port][/path]" */
static int
tr_https(const char *uri, char *host, size_t hostlen, int *port, char *path,
    size_t pathlen)
{
	const char *h = uri + 8, *end, *colon;
	char *e;
	long pn = 443;

	end = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(end - h)) != NULL || end == h)
		return -1;
	if (*h == '[') {
		const char *rb = memchr(h, ']', (size_t)(end - h));

		if (rb == NULL || (size_t)(rb - h - 1) >= hostlen)
			return -1;
		memcpy(host, h + 1, (size_t)(rb - h - 1));
		host[rb - h - 1] = '\0';
		colon = rb + 1 < end && rb[1] == ':' ? rb + 1 : NULL;
		if (rb + 1 != end && colon == NULL)
			return -1;
	} else {
		colon = memchr(h, ':', (size_t)(end - h));
		if ((size_t)((colon ? colon : end) - h) >= hostlen)
			return -1;
		memcpy(host, h, (size_t)((colon ? colon : end) - h));
		host[(colon ? colon : end) - h] = '\0';
	}
	if (colon) {
		pn = strtol(colon + 1, &e, 10);
		if (e != end || pn < 1 || pn > 65535)
			return -1;
	}
	*port = (int)pn;
	if (*end != '/')
		str_lcpy(path, "/", pathlen);
	else if (strlen(end) >= pathlen)
		return -1;
	else
		str_lcpy(path, end, pathlen);
	path[strcspn(path, "#")] = '\0';
	return 0;
}

static int
tr_send_post(struct tr_job *s, int i)
{
	char host[256], path[TLSRPT_URI_MAX + 1];
	struct httpc_req rq;
	struct tr_post *pp = NULL;
	int port, k;

	if (rt.https == NULL || tr_https(s->txt.rua[i], host, sizeof(host),
				    &port, path, sizeof(path)) == -1)
		return -1;
	for (k = 0; k < (int)(sizeof(tr_posts) / sizeof(*tr_posts)); k++)
		if (tr_posts[k].s == NULL) {
			pp = &tr_posts[k];
			break;
		}
	if (pp == NULL)
		return -1;
	memset(&rq, 0, sizeof(rq));
	rq.method = "POST";
	rq.host = host;
	rq.port = port;
	rq.path = path;
	rq.content_type = "application/tlsrpt+gzip";
	rq.body = s->gz;
	rq.bodylen = s->gzlen;
	rq.tls = rt.https;
	rq.dns = rt.dns;
	rq.max_body = 4096;
	rq.timeout_s = TR_HTTP_TIMEOUT;
	pp->s = s;
	pp->i = i;
	if ((s->http[i] = httpc_start(rt.base, &rq, tr_post_cb, pp)) == NULL) {
		pp->s = NULL;
		return -1;
	}
	s->waiting++;
	return 0;
}

/* The record is there: make the report, send it to each rua not done. */
static void
tr_send_report(struct tr_job *s)
{
	const struct conf *cf = conf_current();
	char unique[33], report_id[300], org[CONF_STR_MAX];
	char contact[CONF_STR_MAX], from[CONF_STR_MAX + 40];
	unsigned char rnd[16];
	struct tr_meta meta;
	char *text;
	json_t *r;
	int i, bad = 0;
	int64_t now = tr_now();

	randombytes_buf(rnd, sizeof(rnd));
	str_hex(unique, rnd, sizeof(rnd));
	snprintf(report_id, sizeof(report_id), "%s@%s", unique, cf->hostname);
	snprintf(org, sizeof(org), "%s",
	    cf->tlsrpt_org[0] ? cf->tlsrpt_org : cf->hostname);
	if (cf->tlsrpt_contact[0])
		snprintf(contact, sizeof(contact), "%s", cf->tlsrpt_contact);
	else
		snprintf(contact, sizeof(contact), "postmaster@%.200s",
		    cf->hostname);
	if (cf->tlsrpt_from[0])
		snprintf(from, sizeof(from), "%s", cf->tlsrpt_from);
	else
		snprintf(from, sizeof(from), "noreply-smtp-tls-reporting@%s",
		    cf->hostname);
	meta.org = org;
	meta.contact = contact;
	meta.report_id = report_id;
	if ((r = tr_report_json(s->p, s->d, &meta)) == NULL ||
	    (text = json_dumps(r, JSON_COMPACT)) == NULL) {
		json_decref(r);
		tr_send_end(s, 1, "out of memory");
		return;
	}
	json_decref(r);
	i = tr_gzip(text, strlen(text), &s->gz, &s->gzlen);
	free(text);
	if (i == -1) {
		tr_send_end(s, 1, "gzip failed");
		return;
	}
	s->waiting = 1; /* held until every rua has started */
	for (i = 0; i < s->txt.nrua; i++) {
		char v[LOG_VALUE_MAX];
		int rc;

		if (s->d->rua_done & (1u << i))
			continue;
		if (strncasecmp(s->txt.rua[i], "mailto:", 7) == 0)
			rc = tr_send_mail(s, i, unique, report_id, cf->hostname,
			    from, now);
		else
			rc = tr_send_post(s, i);
		if (rc == -1) {
			/* a rua we cannot use now will not do better later */
			log_warnx("tlsrpt.send domain=%s rua=%s "
				  "error=\"unusable\"",
			    s->d->name, log_value(v, sizeof(v), s->txt.rua[i]));
			s->d->rua_done |= 1u << i;
			bad++;
		}
	}
	(void)bad;
	if (--s->waiting == 0)
		tr_send_end(s, s->failed > 0, "a rua failed");
}

static void
tr_txt_cb(const struct dnsq_answer *a, void *arg)
{
	struct tr_job *s = arg;
	int i, n = 0, which = -1;

	s->dns = 0;
	if (a->status == DNSQ_TEMPFAIL) {
		tr_send_end(s, 1, "DNS: temporary failure");
		return;
	}
	/* RFC 8460 3: of the records, those starting v=TLSRPTv1; exactly
	 * one, or the domain does not take reports */
	for (i = 0; a->status == DNSQ_OK && i < a->n; i++)
		if (strncmp(a->rr[i], "v=TLSRPTv1", 10) == 0) {
			n++;
			which = i;
		}
	if (n != 1 || tlsrpt_txt_parse(a->rr[which], &s->txt) == -1) {
		log_info("tlsrpt.none domain=%s period=%s records=%d",
		    s->d->name, s->p->dir, n);
		tr_send_end(s, 0, NULL);
		return;
	}
	tr_send_report(s);
}

static void
tr_send_start(struct tr_period *p, struct tr_domain *d)
{
	char name[TLSRPT_DOMAIN_MAX + 16];
	struct tr_job *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return;
	s->p = p;
	s->d = d;
	d->send = TR_BUSY;
	s->next = rt.sends;
	rt.sends = s;
	rt.nsends++;
	snprintf(name, sizeof(name), "_smtp._tls.%s", d->name);
	if ((s->dns = rt.dns->ask(rt.dns, name, DNSQ_TXT, tr_txt_cb, s)) == 0)
		tr_send_end(s, 1, "DNS: cannot ask");
}

/* The finished periods' domains that are due. */
static void
tr_report(int64_t now)
{
	struct tr_period *p;
	struct tr_domain *d;
	int left = 0;

	for (p = tr_periods; p; p = p->next) {
		int open = 0;

		if (p->gone || p->end > now)
			continue;
		for (d = p->domains; d; d = d->next) {
			if (d->send == TR_DONE)
				continue;
			open++;
			if (d->send == TR_PENDING && d->next_try <= now &&
			    rt.nsends < TR_SENDS_MAX)
				tr_send_start(p, d);
		}
		if (open == 0)
			p->gone = 1;
		else
			left++;
	}
	if (left == 0)
		tr_report_tomorrow(now);
}

static void
tr_tick(evutil_socket_t fd, short what, void *arg)
{
	const struct conf *cf = conf_current();
	int64_t now = tr_now();

	(void)fd;
	(void)what;
	(void)arg;
	tr_take_request(now);
	if (strcmp(cf->tlsrpt_enabled, "on") == 0 && now >= rt.next_report)
		tr_report(now);
	tr_save();
}

static SSL_CTX *
tr_https_ctx(const struct conf *cf)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (cf->delivery_tls_ca[0]
		? SSL_CTX_load_verify_locations(ctx, cf->delivery_tls_ca,
		      NULL) != 1
		: SSL_CTX_set_default_verify_paths(ctx) != 1) {
		log_warnx("tlsrpt.start ca=\"%s\" error=\"cannot load the CA "
			  "certificates\"",
		    cf->delivery_tls_ca);
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

int
tlsrpt_start(struct event_base *base, struct dnsq *dns, struct workers_loop *wl)
{
	const struct conf *cf = conf_current();
	struct timeval tv = { TR_TICK, 0 };
	int64_t now = tr_now();

	memset(&rt, 0, sizeof(rt));
	rt.base = base;
	rt.dns = dns;
	rt.wl = wl;
	snprintf(rt.root, sizeof(rt.root), "%s/tlsrpt", cf->data_dir);
	if (mkdir(rt.root, 0700) == -1 && errno != EEXIST) {
		log_warnx("tlsrpt.start dir=%s error=\"%s\"", rt.root,
		    strerror(errno));
		return -1;
	}
	tr_each_file(rt.root, tr_load_file);
	/* without a CA to check with, https reports wait for a restart;
	 * mailto ones still go */
	rt.https = tr_https_ctx(cf);
	rt.next_report =
	    now + TR_START_DELAY + (int64_t)randombytes_uniform(TR_START_DELAY);
	if ((rt.tick = event_new(base, -1, EV_PERSIST, tr_tick, NULL)) ==
		NULL ||
	    event_add(rt.tick, &tv) == -1)
		return -1;
	rt.started = 1;
	return 0;
}

/* On the stop, nobody waits: the workers are stopped (no done() runs),
 * the loop is no more. What is dirty is written here, in order. */
void
tlsrpt_stop(void)
{
	struct tr_batch *b;
	int i;

	if (!rt.started)
		return;
	while (rt.sends)
		tr_send_free(rt.sends);
	for (i = 0; i < (int)(sizeof(tr_posts) / sizeof(*tr_posts)); i++)
		tr_posts[i].s = NULL;
	if ((b = tr_batch_make()) != NULL) {
		tr_batch_run(&b->base, NULL);
		tr_batch_free(b);
	}
	tr_reset();
	event_free(rt.tick);
	SSL_CTX_free(rt.https);
	memset(&rt, 0, sizeof(rt));
}
