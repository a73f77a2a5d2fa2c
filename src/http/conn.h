/*
 * http/conn: the open HTTP connections as the server counts them: at
 * most [http] connections_per_ip from one client address, and a whole
 * request within [http] request_timeout of the connection's accept (or
 * of the answer before it), however slowly its bytes drip. All on the
 * http loop's thread.
 */
#ifndef POSTERN_HTTP_CONN_H
#define POSTERN_HTTP_CONN_H

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>

#define HTTP_CONN_MAX 4096 /* open connections in all */

int http_conn_init(struct event_base *);
/* From evhttp's bufferevent callback: a new connection's bufferevent
 * (returned as it is). */
struct bufferevent *http_conn_track(struct bufferevent *);
/* A request has come in whole: its deadline stops until it is answered. */
void http_conn_request(struct evhttp_request *);
/* After evhttp_free(): what is left. */
void http_conn_free(void);

#endif
