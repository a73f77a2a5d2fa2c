/*
 * admin/tlsrpt: TLS reports (RFC 8460) for the operator, the CLI and
 * the API alike. `tlsrpt send` leaves a request in DATA_DIR/tlsrpt/send
 * that the running server takes within seconds; `tlsrpt show` reads the
 * counts the server keeps on disk (a few seconds behind).
 */
#include <stdio.h>
#include <string.h>
#include <sys/types.h>

#include "admin.h"
#include "../tlspolicy/tlsrpt.h"
#include "../util/conf.h"
#include "../util/pidfile.h"

static int
admin_tlsrpt_running(struct admin_ctx *ctx)
{
	char path[CONF_PATH_MAX + 32];

	if (ctx->in_server)
		return 1;
	snprintf(path, sizeof(path), "%s/postern.pid", ctx->conf->data_dir);
	return pidfile_owner(path) > 1;
}

int
admin_tlsrpt_send(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	const char *day = admin_arg(args, "day");
	char why[CONF_PATH_MAX + 64];

	if (admin_flag(args, "today")) {
		if (day && *day)
			return admin_fail(err, 400,
			    "--day and --today: one or the other");
		day = "today";
	}
	if (day && *day == '\0')
		day = NULL;
	if (tlsrpt_request(ctx->conf->data_dir, day, why, sizeof(why)) == -1)
		return admin_fail(err, 400, "%s", why);
	*out = json_pack("{s:s,s:s,s:b}", "done", "send", "day",
	    day ? day : "finished", "running", admin_tlsrpt_running(ctx));
	return 0;
}

int
admin_tlsrpt_show(struct admin_ctx *ctx, json_t *args, json_t **out,
    struct admin_err *err)
{
	(void)args;
	if ((*out = tlsrpt_show(ctx->conf->data_dir)) == NULL)
		return admin_fail(err, 500, "out of memory");
	return 0;
}
