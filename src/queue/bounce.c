/*
 * bounce: builds the DSN text. Remote replies were already made
 * printable by the reply parser; addresses come from the spool, where
 * the session checked them.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "bounce.h"
#include "../mail/header.h"

#define BOUNCE_FULL_MAX (256 * 1024) /* RET=FULL returns at most this */

int
bounce_wanted(const struct spool_rcpt *r)
{
	/* no NOTIFY: failures only (RFC 3461 4.1) */
	return r->notify[0] == '\0' || strcasestr(r->notify, "FAILURE") != NULL;
}

/* The DSN status code from a reply: its enhanced code if it has one. */
static void
bounce_status(const struct bounce_rcpt *r, char *out, size_t len)
{
	const char *t = r->diag;
	int a, b, c;

	if (strlen(t) > 4 && sscanf(t + 4, "%d.%d.%d", &a, &b, &c) == 3 &&
	    a == 5 && b >= 0 && b < 1000 && c >= 0 && c < 1000) {
		snprintf(out, len, "%d.%d.%d", a, b, c);
		return;
	}
	snprintf(out, len, "5.0.0");
}

int
bounce_build(const struct spool_env *orig, const char *msg, size_t len,
    const struct bounce_rcpt *failed, int n, const char *hostname, int64_t now,
    struct buf *out)
{
	char date[64], arrival[64], boundary[96], status[16];
	struct header_info hi;
	time_t t = (time_t)now, a = (time_t)orig->time;
	struct tm tm;
	int i, full = strcmp(orig->ret, "FULL") == 0 && len <= BOUNCE_FULL_MAX;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	gmtime_r(&a, &tm);
	strftime(arrival, sizeof(arrival), "%a, %d %b %Y %H:%M:%S +0000", &tm);
	snprintf(boundary, sizeof(boundary), "%s/%s", orig->id, hostname);
	header_scan(msg, len, &hi);

	buf_printf(out, "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n",
	    hostname);
	buf_printf(out, "To: <%s>\r\n", orig->from);
	buf_printf(out, "Subject: Undelivered Mail Returned to Sender\r\n");
	buf_printf(out, "Date: %s\r\n", date);
	buf_printf(out, "Message-ID: <%s.dsn@%s>\r\n", orig->id, hostname);
	buf_printf(out, "Auto-Submitted: auto-replied\r\n");
	buf_printf(out, "MIME-Version: 1.0\r\n");
	buf_printf(out,
	    "Content-Type: multipart/report; "
	    "report-type=delivery-status;\r\n\tboundary=\"%s\"\r\n",
	    boundary);
	buf_printf(out, "\r\nThis is a MIME-encapsulated message.\r\n\r\n");

	buf_printf(out,
	    "--%s\r\nContent-Type: text/plain; charset=us-ascii\r\n"
	    "\r\nThis is the mail system at host %s.\r\n\r\n"
	    "Your message could not be delivered to one or more "
	    "recipients.\r\nThe reasons are below.\r\n\r\n",
	    boundary, hostname);
	for (i = 0; i < n; i++) {
		if (failed[i].remote[0])
			buf_printf(out, "<%s>: host %s said: %s\r\n",
			    failed[i].addr, failed[i].remote, failed[i].diag);
		else
			buf_printf(out, "<%s>: %s\r\n", failed[i].addr,
			    failed[i].diag);
	}

	buf_printf(out,
	    "\r\n--%s\r\nContent-Type: message/delivery-status\r\n"
	    "\r\nReporting-MTA: dns; %s\r\n"
	    "X-Postern-Queue-ID: %s\r\nArrival-Date: %s\r\n",
	    boundary, hostname, orig->id, arrival);
	if (orig->envid[0])
		buf_printf(out, "Original-Envelope-Id: %s\r\n", orig->envid);
	for (i = 0; i < n; i++) {
		bounce_status(&failed[i], status, sizeof(status));
		buf_printf(out, "\r\nFinal-Recipient: rfc822; %s\r\n",
		    failed[i].addr);
		if (failed[i].orcpt[0])
			buf_printf(out, "Original-Recipient: %s\r\n",
			    failed[i].orcpt);
		buf_printf(out, "Action: failed\r\nStatus: %s\r\n", status);
		if (failed[i].remote[0])
			buf_printf(out, "Remote-MTA: dns; %s\r\n",
			    failed[i].remote);
		if (failed[i].code)
			buf_printf(out, "Diagnostic-Code: smtp; %s\r\n",
			    failed[i].diag);
	}

	buf_printf(out, "\r\n--%s\r\nContent-Type: %s\r\n\r\n", boundary,
	    full ? "message/rfc822" : "text/rfc822-headers");
	if (buf_append(out, msg, full ? len : hi.header_len) == -1)
		return -1;
	if (buf_printf(out, "\r\n--%s--\r\n", boundary) == -1)
		return -1;
	return 0;
}
