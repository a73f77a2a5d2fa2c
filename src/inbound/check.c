/*
 * check: see check.h. SPF, DKIM and ARC run side by side; DMARC starts
 * when SPF and DKIM are in. A check that ends without DNS (spf_check_finished,
 * dkim_verify_is_done, dmarc_eval_is_done at start) is taken as done at
 * once, but done itself always runs from an event of the loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "authres.h"
#include "check.h"
#include "dmarc.h"
#include "../util/dnsq.h"
#include "spf.h"
#include "../dkim/arc.h"
#include "../dkim/verify.h"
#include "../util/str.h"

struct inbound_check {
	struct dnsq *dq;
	struct spf_check *spf;
	struct dkim_verify *dkim;
	struct dmarc_eval *dmarc;
	struct arc_verify *arc;
	int spf_done, dkim_done, dmarc_done, arc_done;
	int helo_spf; /* SPF checked the HELO name (null sender) */
	char from_domain[256];
	enum dmarc_from from_state;
	enum inbound_reject_mode reject_mode;
	char authserv_id[256];
	struct event *finish; /* done, from the loop */
	void (*done)(struct inbound_check *, void *);
	void *arg;
	struct buf ar;
	enum inbound_action action;
	char why[400];
};

static void check_next(struct inbound_check *);

static void
check_spf_cb(struct spf_check *s, void *arg)
{
	struct inbound_check *c = arg;

	(void)s;
	c->spf_done = 1;
	check_next(c);
}

static void
check_arc_cb(struct arc_verify *a, void *arg)
{
	struct inbound_check *c = arg;

	(void)a;
	c->arc_done = 1;
	check_next(c);
}

static void
check_dkim_cb(struct dkim_verify *d, void *arg)
{
	struct inbound_check *c = arg;

	(void)d;
	c->dkim_done = 1;
	check_next(c);
}

static void
check_dmarc_cb(struct dmarc_eval *d, void *arg)
{
	struct inbound_check *c = arg;

	(void)d;
	c->dmarc_done = 1;
	check_next(c);
}

static void
check_finish_cb(evutil_socket_t fd, short what, void *arg)
{
	struct inbound_check *c = arg;

	(void)fd;
	(void)what;
	c->done(c, c->arg);
}

/* The Authentication-Results field and the action, from the results. */
static void
check_conclude(struct inbound_check *c)
{
	struct authres_item it[AUTHRES_ITEMS_MAX];
	const struct dmarc_outcome *o =
	    c->dmarc ? dmarc_eval_outcome(c->dmarc) : NULL;
	int n = 0, i, nd = dkim_verify_count(c->dkim);
	const char *arc_why;

	memset(it, 0, sizeof(it));
	it[n].method = "spf";
	it[n].result = spf_result_name(spf_check_result(c->spf));
	it[n].reason = spf_check_reason(c->spf);
	it[n].props[0].name = c->helo_spf ? "smtp.helo" : "smtp.mailfrom";
	it[n].props[0].value =
	    c->helo_spf ? spf_check_domain(c->spf) : spf_check_sender(c->spf);
	it[n].nprops = 1;
	n++;
	if (nd == 0) {
		it[n].method = "dkim";
		it[n].result = "none";
		n++;
	}
	/* room left for dmarc and arc */
	for (i = 0; i < nd && n < AUTHRES_ITEMS_MAX - 2; i++) {
		const struct dkim_verify_sig *r =
		    dkim_verify_result(c->dkim, i);
		it[n].method = "dkim";
		it[n].result = dkim_res_name(r->res);
		it[n].reason = r->reason[0] ? r->reason : NULL;
		it[n].props[0].name = "header.d";
		it[n].props[0].value = r->d[0] ? r->d : NULL;
		it[n].props[1].name = "header.s";
		it[n].props[1].value = r->s[0] ? r->s : NULL;
		it[n].props[2].name = "header.b";
		it[n].props[2].value = r->b[0] ? r->b : NULL;
		it[n].nprops = 3;
		n++;
	}
	it[n].method = "dmarc";
	if (o != NULL) {
		it[n].result = dmarc_res_name(o->res);
		it[n].reason = o->reason[0] ? o->reason : NULL;
		it[n].props[0].name = "header.from";
		it[n].props[0].value =
		    c->from_domain[0] ? c->from_domain : NULL;
		it[n].nprops = 1;
	} else {
		it[n].result = "permerror";
		it[n].reason = "not exactly one From: address with a domain";
	}
	n++;
	/* the chain the message came with (RFC 8617 5.2), for a forwarder
	 * sealing it again (arc_cv_of) */
	it[n].method = "arc";
	it[n].result = arc_res_name(arc_verify_result(c->arc, &arc_why));
	it[n].reason = arc_verify_result(c->arc, &arc_why) == ARC_RES_NONE
			   ? NULL
			   : arc_why;
	n++;
	buf_reset(&c->ar);
	if (authres_format(&c->ar, c->authserv_id, it, n) == -1)
		buf_reset(&c->ar);
	c->action = INBOUND_DELIVER;
	if (o != NULL && o->res == DMARC_RES_FAIL) {
		snprintf(c->why, sizeof(c->why),
		    "DMARC policy of %s: %s (neither SPF nor DKIM aligned "
		    "with From: passed)",
		    o->domain, dmarc_policy_name(o->policy));
		if (o->policy == DMARC_POLICY_QUARANTINE)
			c->action = INBOUND_JUNK;
		else if (o->policy == DMARC_POLICY_REJECT)
			c->action = c->reject_mode == INBOUND_REJECT_REJECT
					? INBOUND_REJECT
				    : c->reject_mode == INBOUND_REJECT_JUNK
					? INBOUND_JUNK
					: INBOUND_DELIVER;
	}
}

static void
check_next(struct inbound_check *c)
{
	if (!c->spf_done || !c->dkim_done || !c->arc_done)
		return;
	if (c->dmarc == NULL && c->from_state == DMARC_FROM_OK) {
		const char *passes[8];
		struct dmarc_input in;
		int i, n = 0, nd = dkim_verify_count(c->dkim);

		for (i = 0; i < nd && n < 8; i++) {
			const struct dkim_verify_sig *r =
			    dkim_verify_result(c->dkim, i);
			/* a key in testing (t=y) counts as no signature
			 * (RFC 6376 3.6.1) */
			if (r->res == DKIM_RES_PASS && r->d[0] && !r->testing)
				passes[n++] = r->d;
		}
		memset(&in, 0, sizeof(in));
		in.from_domain = c->from_domain;
		/* alignment counts only SPF of MAIL FROM (RFC 7489 3.1.2) */
		in.spf_pass =
		    !c->helo_spf && spf_check_result(c->spf) == SPF_PASS;
		in.spf_domain = spf_check_domain(c->spf);
		in.dkim_domains = passes;
		in.ndkim = n;
		if ((c->dmarc = dmarc_eval_start(c->dq, &in, check_dmarc_cb,
			 c)) == NULL ||
		    dmarc_eval_is_done(c->dmarc))
			c->dmarc_done = 1;
	} else if (c->from_state != DMARC_FROM_OK) {
		c->dmarc_done = 1;
	}
	if (!c->dmarc_done)
		return;
	check_conclude(c);
	event_active(c->finish, EV_TIMEOUT, 0);
}

struct inbound_check *
inbound_check_start(struct dnsq *dq, const struct inbound_input *in,
    void (*done)(struct inbound_check *, void *), void *arg)
{
	struct inbound_check *c = calloc(1, sizeof(*c));

	if (c == NULL)
		return NULL;
	c->dq = dq;
	c->done = done;
	c->arg = arg;
	c->reject_mode = in->reject_mode;
	str_lcpy(c->authserv_id, in->authserv_id, sizeof(c->authserv_id));
	buf_init(&c->ar, 16384);
	if ((c->finish = event_new(in->base, -1, 0, check_finish_cb, c)) ==
	    NULL) {
		inbound_check_free(c);
		return NULL;
	}
	c->from_state = dmarc_from_domain(in->msg, in->len, c->from_domain,
	    sizeof(c->from_domain));
	/* the null sender: SPF of the HELO name (RFC 7208 2.4) */
	c->helo_spf = in->mail_from[0] == '\0';
	c->spf = c->helo_spf ? spf_check_start_helo(dq, in->client_ip, in->helo,
				   check_spf_cb, c)
			     : spf_check_start(dq, in->client_ip, in->helo,
				   in->mail_from, check_spf_cb, c);
	if (c->spf == NULL) {
		inbound_check_free(c);
		return NULL;
	}
	c->spf_done = spf_check_finished(c->spf);
	if ((c->dkim = dkim_verify_start(dq, in->msg, in->len, check_dkim_cb,
		 c)) == NULL) {
		inbound_check_free(c);
		return NULL;
	}
	c->dkim_done = dkim_verify_is_done(c->dkim);
	if ((c->arc = arc_verify_start(dq, in->msg, in->len, check_arc_cb,
		 c)) == NULL) {
		inbound_check_free(c);
		return NULL;
	}
	c->arc_done = arc_verify_is_done(c->arc);
	check_next(c);
	return c;
}

void
inbound_check_free(struct inbound_check *c)
{
	if (c == NULL)
		return;
	spf_check_free(c->spf);
	dkim_verify_free(c->dkim);
	arc_verify_free(c->arc);
	dmarc_eval_free(c->dmarc);
	if (c->finish)
		event_free(c->finish);
	buf_free(&c->ar);
	free(c);
}

const char *
inbound_check_authres(const struct inbound_check *c, size_t *len)
{
	*len = c->ar.len;
	return c->ar.data ? c->ar.data : "";
}

enum inbound_action
inbound_check_action(const struct inbound_check *c)
{
	return c->action;
}

const char *
inbound_check_why(const struct inbound_check *c)
{
	return c->why;
}
