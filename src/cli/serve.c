/*
 * cli/serve: `postern serve` runs the server in the foreground, with the
 * HTTP server (JSON API, panel) inside it. The queue commands are admin
 * operations (src/admin/queue.c), shared with the API.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "../serve/serve.h"
#include "../util/conf.h"
#include "../util/log.h"

int
cli_serve(struct cli_global *g, int argc, char **argv)
{
	static struct conf conf;

	if (argc > 0 &&
	    (strcmp(argv[0], "--help") == 0 || strcmp(argv[0], "-h") == 0)) {
		printf("usage: postern [-c FILE] serve [-v]\n");
		return 0;
	}
	if (argc > 0 && strcmp(argv[0], "-v") == 0)
		log_init("postern", 1);
	else if (argc > 0) {
		fprintf(stderr, "usage: postern [-c FILE] serve [-v]\n");
		return 2;
	}
	if (cli_load_conf(g, &conf) == -1)
		return 1;
	return serve_run(&conf);
}
