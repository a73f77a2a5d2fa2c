/*
 * serve: the runtime of `postern serve`, the floor above every service.
 * It owns the process (descriptor limit, master key, store migrations,
 * spool folders, the server's TLS context, root dropped, the pid file),
 * the worker pool and each worker's store handle, the signals (stop,
 * reload, queue wake-up), the reload (a new config and TLS context
 * published with one atomic store each), and the start and stop of the
 * services (util/service.h) in order.
 */
#ifndef POSTERN_SERVE_H
#define POSTERN_SERVE_H

struct conf;

/* Run until SIGTERM/SIGINT; the exit status. conf stays the caller's. */
int serve_run(struct conf *);

#endif
