/*
 * pidfile: DATA_DIR/postern.pid, the running server's pid under a lock
 * the server holds for as long as it runs. Who runs is what the kernel
 * says holds the lock (F_GETLK), never the file's text: a file left by
 * a crash names nobody, and one rewritten by the server's user cannot
 * point a root `postern queue flush` at another process.
 */
#ifndef POSTERN_PIDFILE_H
#define POSTERN_PIDFILE_H

#include <sys/types.h>

/*
 * Create or open path, lock it and write our pid; the descriptor, kept
 * open (the lock lives with it) until pidfile_release(). -1 with errno
 * set, EAGAIN: another process holds it (*owner: its pid).
 * A process must never open and close path elsewhere while it holds the
 * lock: POSIX drops a process's lock on any close of the file.
 */
int pidfile_acquire(const char *path, pid_t *owner);
/* Remove path and drop the lock. */
void pidfile_release(const char *path, int fd);
/* The pid of the process holding the lock on path; 0 if none (no file,
 * or nobody holds it), -1 on an error. Never call it from the process
 * that holds the lock (see above). */
pid_t pidfile_owner(const char *path);

#endif
