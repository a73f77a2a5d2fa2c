/*
 * cli: `postern <noun> <verb> ...`. Each provisioning command is a row
 * of a table: its words, its arguments, and the admin operation it runs.
 */
#ifndef POSTERN_CLI_H
#define POSTERN_CLI_H

struct conf;

struct cli_global {
	const char *config; /* -c FILE */
	int json;	    /* --json */
};

int cli_admin(struct cli_global *, int argc, char **argv);
int cli_serve(struct cli_global *, int argc, char **argv);
int cli_init(struct cli_global *, int argc, char **argv);
/* `postern store migrate | copy --to CONNINFO` (store.c) */
int cli_store(struct cli_global *, int argc, char **argv);
void cli_usage(void);
/* Load the config named by -c, $POSTERN_CONFIG, ./ or /etc/. */
int cli_load_conf(struct cli_global *, struct conf *);

#endif
