/*
 * httpresp: the reader of an HTTP/1.1 response as httpc receives it, a
 * pure incremental function of the bytes: status line, header fields
 * (a bounded count of bounded lines), then a body by Content-Length, by
 * chunks, or to the end of the connection, never past max_body. Interim
 * 1xx responses are skipped. Every byte here comes from the network.
 */
#ifndef POSTERN_HTTPRESP_H
#define POSTERN_HTTPRESP_H

#include <stddef.h>

#include "buf.h"

#define HTTPRESP_LINE_MAX 8192	 /* a status, header or chunk-size line */
#define HTTPRESP_HEADERS_MAX 100 /* header and trailer fields, in all */
#define HTTPRESP_CTYPE_MAX 256

enum httpresp_state {
	HR_STATUS,
	HR_HEADER,
	HR_BODY_LEN,
	HR_BODY_EOF,
	HR_CHUNK_SIZE,
	HR_CHUNK_DATA,
	HR_CHUNK_END,
	HR_TRAILER,
	HR_DONE,
	HR_ERROR
};

struct httpresp {
	enum httpresp_state state;
	int status;
	const char *error; /* HR_ERROR: why, a constant string */
	char content_type[HTTPRESP_CTYPE_MAX];
	int chunked;
	long long content_length; /* -1: none */
	unsigned long long left;  /* of this chunk or of Content-Length */
	int nheaders, interim;
	size_t max_body;
	char line[HTTPRESP_LINE_MAX + 1];
	size_t linelen;
	struct buf body; /* NUL-terminated when done (not counted in len) */
};

void httpresp_init(struct httpresp *, size_t max_body);
/* Feed bytes as they come: 1 the response is complete (bytes after it
 * are ignored), 0 more is needed, -1 refused (error says why; sticky). */
int httpresp_feed(struct httpresp *, const char *data, size_t len);
/* The connection ended: 1 complete (a body read to the end is complete
 * now), -1 the response was cut short. */
int httpresp_eof(struct httpresp *);
void httpresp_free(struct httpresp *);

#endif
