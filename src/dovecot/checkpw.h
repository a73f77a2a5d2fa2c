/* checkpw: `postern dovecot-auth`, Dovecot's checkpassword program. */
#ifndef POSTERN_CHECKPW_H
#define POSTERN_CHECKPW_H

struct cli_global;

/* argv: what follows the command; its last word is the program to run on
 * success. Returns an exit code (when it does not exec). */
int checkpw_main(struct cli_global *, int argc, char **argv);

#endif
