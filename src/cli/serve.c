/*
 * cli/serve: `postern serve` runs the server in the foreground; `postern
 * queue list|show ID` read the spool, also while the server runs.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "../smtp/server.h"
#include "../spool/spool.h"
#include "../util/conf.h"
#include "../util/log.h"

int
cli_serve(struct cli_global *g, int argc, char **argv)
{
	static struct conf conf;

	if (argc > 0 && (strcmp(argv[0], "--help") == 0 ||
			    strcmp(argv[0], "-h") == 0)) {
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
	return server_run(&conf);
}

int
cli_queue(struct cli_global *g, int argc, char **argv)
{
	struct conf conf;
	json_t *out;
	size_t i;

	if (argc < 1 || (strcmp(argv[0], "list") == 0 && argc != 1) ||
	    (strcmp(argv[0], "show") == 0 && argc != 2) ||
	    (strcmp(argv[0], "list") != 0 && strcmp(argv[0], "show") != 0)) {
		fprintf(stderr, "usage: postern queue list | show ID\n");
		return 2;
	}
	if (cli_load_conf(g, &conf) == -1)
		return 1;
	if (strcmp(argv[0], "list") == 0) {
		out = spool_list(conf.data_dir);
		if (g->json) {
			json_t *o = json_pack("{s:o}", "queue", out);
			json_dumpf(o, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
			fputc('\n', stdout);
			json_decref(o);
			return 0;
		}
		json_t *m;
		json_array_foreach(out, i, m)
		{
			json_t *r;
			size_t j;
			printf("%s  %8lld  <%s>",
			    json_string_value(json_object_get(m, "id")),
			    (long long)json_integer_value(
				json_object_get(m, "size")),
			    json_string_value(json_object_get(m, "from")));
			json_array_foreach(json_object_get(m, "rcpts"), j, r)
			    printf(" %s", json_string_value(r));
			printf("\n");
		}
		printf("%zu message(s)\n", json_array_size(out));
		json_decref(out);
		return 0;
	}
	if ((out = spool_show(conf.data_dir, argv[1], 1)) == NULL) {
		fprintf(stderr, "postern: no message %s in the queue\n",
		    argv[1]);
		return 1;
	}
	if (g->json) {
		json_dumpf(out, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
		fputc('\n', stdout);
	} else {
		const char *k;
		json_t *v;
		json_object_foreach(out, k, v)
		{
			if (strcmp(k, "message") == 0)
				continue;
			if (json_is_string(v))
				printf("%s: %s\n", k, json_string_value(v));
			else if (json_is_integer(v))
				printf("%s: %lld\n", k,
				    (long long)json_integer_value(v));
			else {
				char *t = json_dumps(v, JSON_COMPACT);
				printf("%s: %s\n", k, t);
				free(t);
			}
		}
		printf("\n%s", json_string_value(json_object_get(out, "message")));
	}
	json_decref(out);
	return 0;
}
