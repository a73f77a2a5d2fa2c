/*
 * cli/serve: `postern serve` runs the server in the foreground; `postern
 * queue list|show ID` read the spool, also while the server runs.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "../http/server.h"
#include "../smtp/server.h"
#include "../spool/spool.h"
#include "../util/conf.h"
#include "../util/log.h"
#include "../util/str.h"

/* The JSON API and the panel run inside the server (src/http/). */
static const struct server_addon http = { http_bind, http_start, http_stop,
	http_join, http_free };

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
	return server_run(&conf, &http);
}

/* Tell a running server to look at the queue again (SIGUSR1). */
static int
cli_queue_signal(const struct conf *conf)
{
	char path[CONF_PATH_MAX + 32], *text;
	long pid;

	snprintf(path, sizeof(path), "%s/postern.pid", conf->data_dir);
	if ((text = str_read_file(path, 64, NULL)) == NULL)
		return -1; /* not running: it will look at start */
	pid = strtol(text, NULL, 10);
	free(text);
	if (pid <= 1 || kill((pid_t)pid, SIGUSR1) == -1)
		return -1;
	return 0;
}

static int
cli_queue_change(const struct conf *conf, const char *verb, const char *id)
{
	json_t *m = NULL;
	int rc = 0;

	if (spool_paths(conf->data_dir) == -1) {
		fprintf(stderr, "postern: no spool in %s\n", conf->data_dir);
		return 1;
	}
	if (id && (m = spool_show(conf->data_dir, id, 0)) == NULL) {
		fprintf(stderr, "postern: no message %s in the queue\n", id);
		return 1;
	}
	json_decref(m);
	if (strcmp(verb, "hold") == 0)
		rc = spool_set_held(conf->data_dir, id, 1);
	else if (strcmp(verb, "release") == 0)
		rc = spool_set_held(conf->data_dir, id, 0);
	else if (strcmp(verb, "delete") == 0)
		rc = spool_remove(id);
	else if (strcmp(verb, "flush") != 0) {
		fprintf(stderr, "postern: unknown queue command %s\n", verb);
		return 2;
	}
	if (rc == -1) {
		fprintf(stderr, "postern: queue %s %s: %s\n", verb, id,
		    strerror(errno));
		return 1;
	}
	if (cli_queue_signal(conf) == -1 && strcmp(verb, "flush") == 0)
		printf("postern is not running: the queue is tried at start\n");
	else
		printf("%s%s%s: done\n", verb, id ? " " : "", id ? id : "");
	return 0;
}

int
cli_queue(struct cli_global *g, int argc, char **argv)
{
	struct conf conf;
	json_t *out;
	size_t i;

	if (argc < 1 || (strcmp(argv[0], "list") == 0 && argc != 1) ||
	    (strcmp(argv[0], "flush") == 0 && argc != 1) ||
	    (strcmp(argv[0], "list") != 0 && strcmp(argv[0], "flush") != 0 &&
		argc != 2)) {
		fprintf(stderr, "usage: postern queue list | flush | "
				"show|hold|release|delete ID\n");
		return 2;
	}
	if (cli_load_conf(g, &conf) == -1)
		return 1;
	if (strcmp(argv[0], "show") != 0 && strcmp(argv[0], "list") != 0)
		return cli_queue_change(&conf, argv[0],
		    argc > 1 ? argv[1] : NULL);
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
		json_array_foreach (out, i, m) {
			json_t *r;
			size_t j;
			printf("%s%s  %8lld  <%s>",
			    json_string_value(json_object_get(m, "id")),
			    json_is_true(json_object_get(m, "held")) ? " (held)"
								     : "",
			    (long long)json_integer_value(
				json_object_get(m, "size")),
			    json_string_value(json_object_get(m, "from")));
			json_array_foreach (json_object_get(m, "rcpts"), j, r)
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
		json_object_foreach (out, k, v) {
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
		printf("\n%s",
		    json_string_value(json_object_get(out, "message")));
	}
	json_decref(out);
	return 0;
}
