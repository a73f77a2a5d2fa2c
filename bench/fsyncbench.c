/*
 * bench/fsyncbench.c: the team's neutral disk durability benchmark, copied
 * verbatim from the shared benchmark kit (shared/bench/fsyncbench.c), unchanged
 * below this comment; sha256 of the original file:
 * 26f6c766db8e3d9fb6edd43d641ffdc910b129fa71e055f400f72afc5b6c6649
 * It is the same program that measures the Postfix baseline
 * (shared/bench/postfix-baseline.sh), so postern and Postfix are judged by
 * one yardstick. Do not edit it here: change the shared copy and copy it
 * again. scripts/bench.sh (make bench) builds it into build/bench/.
 */
/*
 * fsyncbench.c - physical limit of durable queueing on this disk.
 *
 * usage: fsyncbench DIR MODE [SECONDS=5] [THREADS=1] [BYTES=4096]
 *   MODE append : one file per thread; write BYTES at the end + fdatasync(), repeat
 *   MODE msg    : per message, as an MTA queue does:
 *                 open(tmp,O_CREAT|O_EXCL) write BYTES fsync close rename(tmp,final) fsync(dir)
 *                 (files are unlinked after the timed loop; unlink is not timed)
 * Prints ops/s (all threads) and per-op latency p50/p99.
 * Build: cc -O2 -o fsyncbench fsyncbench.c -lpthread
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *dir, *mode;
static int secs = 5, nthreads = 1, bytes = 4096;
static double t_end;

struct res { long ops; long nlat; float *lat; };

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what) { perror(what); exit(1); }

static void *worker(void *arg)
{
	struct res *r = arg;
	long id = r->ops;        /* thread index passed in ops */
	char *buf = malloc((size_t)bytes), path[4096], tmp[4096];
	memset(buf, 'q', (size_t)bytes);
	r->ops = 0;
	long cap = 1 << 16;
	r->lat = malloc(sizeof(float) * (size_t)cap);
	int dfd = open(dir, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		die("open dir");
	int fd = -1;
	if (!strcmp(mode, "append")) {
		snprintf(path, sizeof path, "%s/append.%ld", dir, id);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
		if (fd < 0)
			die("open");
		fsync(fd), fsync(dfd);
	}
	while (now() < t_end) {
		double t = now();
		if (fd >= 0) {
			if (write(fd, buf, (size_t)bytes) != bytes || fdatasync(fd))
				die("append write/fdatasync");
		} else {
			snprintf(tmp, sizeof tmp, "%s/tmp.%ld.%ld", dir, id, r->ops);
			snprintf(path, sizeof path, "%s/msg.%ld.%ld", dir, id, r->ops);
			int f = open(tmp, O_WRONLY | O_CREAT | O_EXCL, 0600);
			if (f < 0 || write(f, buf, (size_t)bytes) != bytes || fsync(f) || close(f))
				die("msg create/write/fsync");
			if (rename(tmp, path) || fsync(dfd))
				die("rename/fsync dir");
		}
		if (r->nlat < cap)
			r->lat[r->nlat++] = (float)((now() - t) * 1e6);
		r->ops++;
	}
	if (fd >= 0) {
		close(fd);
		unlink(path);
	} else {
		for (long i = 0; i < r->ops; i++) {
			snprintf(path, sizeof path, "%s/msg.%ld.%ld", dir, id, i);
			unlink(path);
		}
	}
	close(dfd);
	free(buf);
	return NULL;
}

static int cmpf(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	if (argc < 3 || (strcmp(argv[2], "append") && strcmp(argv[2], "msg"))) {
		fprintf(stderr, "usage: fsyncbench DIR append|msg [SECONDS] [THREADS] [BYTES]\n");
		return 2;
	}
	dir = argv[1], mode = argv[2];
	if (argc > 3) secs = atoi(argv[3]);
	if (argc > 4) nthreads = atoi(argv[4]);
	if (argc > 5) bytes = atoi(argv[5]);
	if (secs < 1 || secs > 120 || nthreads < 1 || nthreads > 256 || bytes < 1)
		return fprintf(stderr, "bad arguments\n"), 2;
	struct res *r = calloc((size_t)nthreads, sizeof *r);
	pthread_t *th = calloc((size_t)nthreads, sizeof *th);
	double t0 = now();
	t_end = t0 + secs;
	for (int i = 0; i < nthreads; i++) {
		r[i].ops = i;
		pthread_create(&th[i], NULL, worker, &r[i]);
	}
	long ops = 0, n = 0;
	for (int i = 0; i < nthreads; i++) {
		pthread_join(th[i], NULL);
		ops += r[i].ops;
		n += r[i].nlat;
	}
	double el = secs;        /* timed loop length; cleanup is excluded */
	float *all = malloc(sizeof(float) * (size_t)(n ? n : 1));
	long k = 0;
	for (int i = 0; i < nthreads; i++)
		for (long j = 0; j < r[i].nlat; j++)
			all[k++] = r[i].lat[j];
	qsort(all, (size_t)n, sizeof *all, cmpf);
	printf("fsyncbench: mode=%s threads=%d bytes=%d secs=%d ops=%ld ops/s=%.0f "
	       "p50_ms=%.3f p99_ms=%.3f dir=%s\n",
	       mode, nthreads, bytes, secs, ops, ops / el, n ? all[(n - 1) / 2] / 1000 : 0,
	       n ? all[(size_t)((n - 1) * 0.99)] / 1000 : 0, dir);
	return 0;
}
