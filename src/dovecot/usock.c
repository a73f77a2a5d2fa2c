/* usock: see usock.h. */
#include <errno.h>
#include <grp.h>
#include <stdint.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "usock.h"
#include "../util/log.h"
#include "../util/str.h"

void
usock_init(struct usock *u, const char *name)
{
	memset(u, 0, sizeof(*u));
	u->name = name;
	u->ctlfd = u->fd = -1;
}

int
usock_bind(struct usock *u, const char *path, const char *group)
{
	struct sockaddr_un sun;
	struct group *g;

	if (path[0] == '\0')
		return 0;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		log_warnx("%s path=%s error=\"path too long\"", u->name, path);
		return -1;
	}
	str_lcpy(sun.sun_path, path, sizeof(sun.sun_path));
	str_lcpy(u->path, path, sizeof(u->path));
	(void)unlink(u->path); /* a socket left by a crash */
	if ((u->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		 0)) == -1 ||
	    bind(u->fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    chmod(u->path, 0660) == -1 || listen(u->fd, 128) == -1) {
		log_warnx("%s path=%s error=\"%s\"", u->name, u->path,
		    strerror(errno));
		return -1;
	}
	/* Dovecot's processes run as its users, in its group */
	if (group[0] && ((g = getgrnam(group)) == NULL ||
			    chown(u->path, (uid_t)-1, g->gr_gid) == -1))
		log_warnx("%s path=%s error=\"cannot give the socket to group "
			  "%s\"",
		    u->name, u->path, group);
	return 0;
}

static void
usock_ctl_cb(evutil_socket_t fd, short what, void *arg)
{
	struct usock *u = arg;
	uint64_t v;

	(void)what;
	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warnx("%s error=\"%s\"", u->name, strerror(errno));
	event_base_loopbreak(u->base);
}

static void *
usock_main(void *arg)
{
	struct usock *u = arg;

	event_base_dispatch(u->base);
	return NULL;
}

int
usock_start(struct usock *u, evconnlistener_cb cb, void *arg)
{
	if (u->fd == -1)
		return 0;
	if ((u->base = event_base_new()) == NULL ||
	    (u->wl = workers_loop_new(u->base)) == NULL ||
	    (u->ctlfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) == -1 ||
	    (u->ctl = event_new(u->base, u->ctlfd, EV_READ | EV_PERSIST,
		 usock_ctl_cb, u)) == NULL ||
	    event_add(u->ctl, NULL) == -1 ||
	    (u->lev = evconnlistener_new(u->base, cb, arg,
		 LEV_OPT_CLOSE_ON_FREE, -1, u->fd)) == NULL) {
		log_warnx("%s error=\"cannot make the event loop\"", u->name);
		return -1;
	}
	u->fd = -1; /* the listener's now */
	if (pthread_create(&u->thread, NULL, usock_main, u) != 0)
		return -1;
	(void)pthread_setname_np(u->thread, u->name);
	u->running = 1;
	log_info("%s socket=%s", u->name, u->path);
	return 0;
}

void
usock_stop(struct usock *u)
{
	uint64_t one = 1;

	if (u->ctlfd != -1 && write(u->ctlfd, &one, sizeof(one)) < 0)
		log_warnx("%s error=\"%s\"", u->name, strerror(errno));
}

void
usock_join(struct usock *u)
{
	if (u->running)
		pthread_join(u->thread, NULL);
	u->running = 0;
}

void
usock_free(struct usock *u)
{
	const char *name = u->name;

	if (u->lev)
		evconnlistener_free(u->lev);
	if (u->fd != -1)
		close(u->fd);
	if (u->path[0])
		(void)unlink(u->path);
	if (u->ctl)
		event_free(u->ctl);
	if (u->ctlfd != -1)
		close(u->ctlfd);
	workers_loop_free(u->wl);
	if (u->base)
		event_base_free(u->base);
	usock_init(u, name);
}
