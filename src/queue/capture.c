/*
 * capture: delivery_mode = capture writes each message, signed, with
 * its envelope as X-Postern-Envelope-* headers, to capture_dir/ID.eml
 * (on a worker) instead of sending it: for tests and staging. Only what
 * would leave: the hosted mailboxes' recipients still get theirs over
 * LMTP when [mailbox] lmtp is set (the demo's INBOX).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "qmgr_int.h"
#include "../util/buf.h"
#include "../util/str.h"

struct capture_job {
	struct worker_job base;
	struct qmsg *m;
	char dir[CONF_PATH_MAX];
	int rc;
	char err[128];
};

static void
capture_job_run(struct worker_job *j, void *ctx)
{
	struct capture_job *cj = (struct capture_job *)j;
	struct qmsg *m = cj->m;
	struct qload *ld = m->ld;
	char path[CONF_PATH_MAX + 64];
	struct buf b;
	int i;

	(void)ctx;
	cj->rc = -1;
	/* the envelope as headers a reader can check, then the message */
	buf_init(&b, ld->len + 65536);
	if (buf_printf(&b, "X-Postern-Envelope-From: <%s>\r\n", ld->env.from) ==
	    -1)
		goto nomem;
	for (i = 0; i < ld->env.nrcpt; i++)
		if (ld->r[i].captured &&
		    buf_printf(&b, "X-Postern-Envelope-To: <%s>\r\n",
			qload_rcpt_addr(ld, i)) == -1)
			goto nomem;
	if (buf_append(&b, ld->data, ld->len) == -1)
		goto nomem;
	if (mkdir(cj->dir, 0700) == -1 && errno != EEXIST) {
		snprintf(cj->err, sizeof(cj->err), "%s", strerror(errno));
		goto out;
	}
	snprintf(path, sizeof(path), "%s/%s.eml", cj->dir, m->node.id);
	if ((cj->rc = str_write_file(path, b.data, b.len, 0600)) == -1)
		snprintf(cj->err, sizeof(cj->err), "%s", strerror(errno));
	goto out;
nomem:
	snprintf(cj->err, sizeof(cj->err), "message too large");
out:
	buf_free(&b);
}

static void
capture_job_done(struct worker_job *j)
{
	struct capture_job *cj = (struct capture_job *)j;
	struct qmsg *m = cj->m;
	struct qload *ld = m->ld;
	int i;

	if (q.stopping) {
		free(cj);
		return;
	}
	for (i = 0; i < ld->env.nrcpt; i++) {
		struct qrcpt *r = &ld->r[i];
		if (!r->captured)
			continue;
		r->captured = 0;
		r->state = cj->rc == 0 ? R_SENT : R_DEFERRED;
		r->code = cj->rc == 0 ? 250 : 451;
		snprintf(r->text, sizeof(r->text), "%s",
		    cj->rc == 0 ? "250 captured" : cj->err);
		str_lcpy(r->host, "capture", sizeof(r->host));
		str_lcpy(r->tls, "none", sizeof(r->tls));
	}
	free(cj);
	if (--m->groups == 0)
		qmgr_attempt_end(m);
}

/* m's recipients marked captured into the capture folder (one of its
 * groups: its end ends the attempt when it is the last). */
void
capture_submit(struct qmsg *m)
{
	struct capture_job *cj = calloc(1, sizeof(*cj));
	struct qload *ld = m->ld;
	int i;

	if (cj == NULL) {
		for (i = 0; i < ld->env.nrcpt; i++)
			if (ld->r[i].captured) {
				ld->r[i].captured = 0;
				ld->r[i].state = R_DEFERRED;
				ld->r[i].code = 451;
				str_lcpy(ld->r[i].text, "out of memory",
				    sizeof(ld->r[i].text));
			}
		if (--m->groups == 0)
			qmgr_attempt_end(m);
		return;
	}
	cj->m = m;
	str_lcpy(cj->dir, qmgr_conf()->capture_dir, sizeof(cj->dir));
	cj->base.run = capture_job_run;
	cj->base.done = capture_job_done;
	cj->base.owner = m;
	workers_submit(q.wl, &cj->base);
}
