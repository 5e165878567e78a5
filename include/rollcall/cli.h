/* Subcommands of the one rollcall executable. Each takes the argument
 * vector after the global options (argv[0] is the subcommand's name) and
 * returns the process exit status. */
#ifndef ROLLCALL_CLI_H
#define ROLLCALL_CLI_H

struct rc_config;

int	rc_cli_serve(const struct rc_config *cfg, int argc, char **argv);
int	rc_cli_migrate(const struct rc_config *cfg, int argc, char **argv);
int	rc_cli_config(const struct rc_config *cfg, int argc, char **argv);

/* Shared by subcommands: connects and migrates, or prints why not. */
int	rc_cli_require_db_url(const struct rc_config *cfg);

#endif
