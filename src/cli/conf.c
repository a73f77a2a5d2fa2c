/*
 * cli/conf: finding and loading the config for a command.
 */
#include <stdio.h>

#include "cli.h"
#include "../util/conf.h"

int
cli_load_conf(struct cli_global *g, struct conf *c)
{
	const char *path = conf_locate(g->config);
	char err[1024];

	if (conf_load(c, path, err, sizeof(err)) == -1) {
		fprintf(stderr, "postern: %s\n", err);
		if (g->config == NULL)
			fprintf(stderr,
			    "postern: no config: pass -c FILE, set POSTERN_CONFIG, or run `postern init`\n");
		return -1;
	}
	return 0;
}
