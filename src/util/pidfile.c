/*
 * pidfile: the server's pid file and its lock (see pidfile.h). POSIX
 * record locks (fcntl) rather than flock(): F_GETLK names the process
 * that holds one, so the reader trusts the kernel, not the file.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pidfile.h"

static void
pidfile_whole(struct flock *l, short type)
{
	memset(l, 0, sizeof(*l));
	l->l_type = type;
	l->l_whence = SEEK_SET;
	l->l_start = 0;
	l->l_len = 0; /* to the end, however long */
}

/* The lock on the file now at path, or -1 (EAGAIN: held, *owner). */
static int
pidfile_lock(const char *path, pid_t *owner)
{
	struct stat a, b;
	struct flock l;
	int fd, e;

	if ((fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC,
		 0644)) == -1)
		return -1;
	pidfile_whole(&l, F_WRLCK);
	if (fcntl(fd, F_SETLK, &l) == -1) {
		e = errno;
		pidfile_whole(&l, F_WRLCK);
		if (fcntl(fd, F_GETLK, &l) == 0 && l.l_type != F_UNLCK)
			*owner = l.l_pid;
		close(fd);
		errno = e == EACCES ? EAGAIN : e;
		return -1;
	}
	/* a server stopping unlinks the file it held: a lock on that one
	 * would name nobody to a reader of path */
	if (fstat(fd, &a) == -1 || stat(path, &b) == -1 ||
	    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		close(fd);
		errno = ESTALE;
		return -1;
	}
	return fd;
}

int
pidfile_acquire(const char *path, pid_t *owner)
{
	char text[32];
	int fd, n, e, tries = 0;

	*owner = 0;
	while ((fd = pidfile_lock(path, owner)) == -1)
		if (errno != ESTALE || ++tries == 3)
			return -1;
	n = snprintf(text, sizeof(text), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) == -1 || pwrite(fd, text, (size_t)n, 0) != n) {
		e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

void
pidfile_release(const char *path, int fd)
{
	if (fd == -1)
		return;
	/* unlink first: a server starting now creates a new file */
	unlink(path);
	close(fd);
}

pid_t
pidfile_owner(const char *path)
{
	struct flock l;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) == -1)
		return errno == ENOENT ? 0 : -1;
	pidfile_whole(&l, F_WRLCK);
	if (fcntl(fd, F_GETLK, &l) == -1) {
		close(fd);
		return -1;
	}
	close(fd);
	return l.l_type == F_UNLCK ? 0 : l.l_pid;
}
