/*
 * service: what `postern serve` runs (SMTP, the queue, HTTP, and the
 * services to come), as the runtime (src/serve/) sees it. The runtime
 * owns the process: it binds every service before root is dropped,
 * starts the workers, then starts the services in order; a signal asks
 * each to stop (in reverse order), the main thread joins them (reverse
 * order), stops the workers, and frees them (reverse order). Any hook
 * may be NULL.
 */
#ifndef POSTERN_SERVICE_H
#define POSTERN_SERVICE_H

#include <stdint.h>

struct conf;

struct service {
	const char *name;
	int (*bind)(void);  /* listeners, as root; -1 logged */
	int (*start)(void); /* workers run; -1 logged */
	void (*stop)(void); /* from the main thread's signal handler */
	void (*join)(void); /* wait until its threads ended */
	void (*free)(void); /* after the workers stopped */
	/* SIGHUP: take the new config (already published); -1 refuses */
	int (*reload)(const struct conf *);
	void (*wake)(void);	   /* SIGUSR1: `postern queue` changed it */
	void (*tick)(int64_t now); /* once a second, on the main thread */
};

#endif
