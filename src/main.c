/*
 * postern: an authenticated mail relay. `postern <command> ...`: the
 * global flags, then a table of commands.
 */
#include <stdio.h>
#include <string.h>

#include "auth/secret.h"
#include "cli/cli.h"
#include "dovecot/checkpw.h"
#include "dovecot/config.h"
#include "util/log.h"

int
main(int argc, char **argv)
{
	struct cli_global g = { NULL, 0 };
	int i = 1;

	log_init("postern", 0);
	if (secret_init() == -1)
		fatal("main.init libsodium failed");
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc)
			g.config = argv[++i];
		else if (strcmp(argv[i], "--json") == 0)
			g.json = 1;
		else if (strcmp(argv[i], "-h") == 0 ||
			 strcmp(argv[i], "--help") == 0) {
			cli_usage();
			return 0;
		} else {
			fprintf(stderr, "postern: unknown option %s\n",
			    argv[i]);
			cli_usage();
			return 2;
		}
	}
	if (i >= argc) {
		cli_usage();
		return 2;
	}
	/* --json may also follow the command */
	for (int j = i; j < argc; j++)
		if (strcmp(argv[j], "--json") == 0) {
			g.json = 1;
			memmove(&argv[j], &argv[j + 1],
			    (size_t)(argc - j) * sizeof(*argv));
			argc--;
			j--;
		}
	if (strcmp(argv[i], "init") == 0)
		return cli_init(&g, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "serve") == 0)
		return cli_serve(&g, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "store") == 0)
		return cli_store(&g, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "dovecot-config") == 0)
		return dovecot_config_main(&g, argc - i - 1, argv + i + 1);
	if (strcmp(argv[i], "dovecot-auth") == 0)
		return checkpw_main(&g, argc - i - 1, argv + i + 1);
	return cli_admin(&g, argc - i, argv + i);
}
