/* config: `postern dovecot-config`, Dovecot's configuration for postern. */
#ifndef POSTERN_DOVECOT_CONFIG_H
#define POSTERN_DOVECOT_CONFIG_H

struct cli_global;

int dovecot_config_main(struct cli_global *, int argc, char **argv);

#endif
