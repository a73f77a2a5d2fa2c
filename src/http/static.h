/*
 * static: the panel's files (www/ in the source tree), embedded into the
 * binary at build time (scripts/embed.sh writes build/gen/www.c), so an
 * installed postern is one file and `make run` and the tests serve what
 * the clone holds.
 */
#ifndef POSTERN_HTTP_STATIC_H
#define POSTERN_HTTP_STATIC_H

#include <stddef.h>

struct evhttp_request;

struct http_static_file {
	const char *path; /* "/index.html" */
	const unsigned char *data;
	size_t len;
};

extern const struct http_static_file http_static_files[];

/* The file for a URL path ("/" is "/index.html"); NULL if none. */
const struct http_static_file *http_static_find(const char *path);
/* Serve it (GET or HEAD): 0, or -1 if there is no such file. */
int http_static_serve(struct evhttp_request *, const char *path, int tls);

#endif
