/*
 * static: serves the embedded www/ files. A path is looked up in the
 * table built at compile time, never on the disk, so no request can
 * reach a file outside it.
 */
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "server.h"
#include "static.h"

static const struct {
	const char *ext, *type;
} http_types[] = {
	{ ".html", "text/html; charset=utf-8" },
	{ ".css", "text/css; charset=utf-8" },
	{ ".js", "text/javascript; charset=utf-8" },
	{ ".json", "application/json" },
	{ ".svg", "image/svg+xml" },
	{ ".png", "image/png" },
	{ ".ico", "image/x-icon" },
	{ ".txt", "text/plain; charset=utf-8" },
	{ ".xml", "application/xml" },
};

const struct http_static_file *
http_static_find(const char *path)
{
	const struct http_static_file *f;

	if (strcmp(path, "/") == 0)
		path = "/index.html";
	for (f = http_static_files; f->path; f++)
		if (strcmp(f->path, path) == 0)
			return f;
	return NULL;
}

static const char *
http_static_type(const char *path)
{
	size_t i, n = strlen(path);

	for (i = 0; i < sizeof(http_types) / sizeof(http_types[0]); i++) {
		size_t e = strlen(http_types[i].ext);
		if (n >= e && strcmp(path + n - e, http_types[i].ext) == 0)
			return http_types[i].type;
	}
	return "application/octet-stream";
}

int
http_static_serve(struct evhttp_request *req, const char *path, int tls)
{
	const struct http_static_file *f = http_static_find(path);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	struct evbuffer *b;

	if (f == NULL)
		return -1;
	if ((b = evbuffer_new()) == NULL)
		return -1;
	http_security_headers(req, tls);
	evhttp_add_header(h, "Content-Type", http_static_type(f->path));
	evhttp_add_header(h, "Cache-Control", "no-cache");
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD)
		evbuffer_add_reference(b, f->data, f->len, NULL, NULL);
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
	return 0;
}
