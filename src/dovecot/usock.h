/*
 * usock: a UNIX socket Dovecot talks to, served on a thread and loop of
 * its own: bound as root for one group (mode 0660), a worker-pool end so
 * its questions go to workers, stopped through an eventfd. authsock
 * (logins) and dict (quotas) are each one of these.
 */
#ifndef POSTERN_USOCK_H
#define POSTERN_USOCK_H

#include <pthread.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "../util/conf.h"
#include "../util/workers.h"

struct usock {
	const char *name; /* for logs and the thread: "dovecot-auth" */
	struct event_base *base;
	struct evconnlistener *lev;
	struct workers_loop *wl;
	struct event *ctl;
	int ctlfd, fd, running;
	pthread_t thread;
	char path[CONF_PATH_MAX];
};

/* Before use: name, no socket. */
void usock_init(struct usock *, const char *name);
/* As root: the socket at path ("": none, 0), group may use it. 0 or -1
 * (logged). */
int usock_bind(struct usock *, const char *path, const char *group);
/* The loop and its thread; cb takes each connection. 0 (also with no
 * socket) or -1. */
int usock_start(struct usock *, evconnlistener_cb cb, void *arg);
void usock_stop(struct usock *);
void usock_join(struct usock *);
/* After the workers stopped (no job comes back): the rest, the socket
 * file too. The caller frees its connections first. */
void usock_free(struct usock *);

#endif
