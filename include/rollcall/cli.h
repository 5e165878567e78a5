/* Subcommands of the one rollcall executable. Each takes the argument
 * vector after the global options (argv[0] is the subcommand's name) and
 * returns the process exit status. */
#ifndef ROLLCALL_CLI_H
#define ROLLCALL_CLI_H

#include <stddef.h>

struct rc_auth_passwords;
struct rc_config;
struct rc_face_config;

int	rc_cli_serve(const struct rc_config *cfg, int argc, char **argv);
int	rc_cli_migrate(const struct rc_config *cfg, int argc, char **argv);
int	rc_cli_config(const struct rc_config *cfg, int argc, char **argv);

/* `rollcall leave digest [--org SLUG]` (src/cli/leave_digest.c): queues
 * one mail per active admin of each org (or of SLUG's) listing its
 * pending leave requests. Exit 0 done, 1 failed, 2 bad usage. */
int	rc_cli_leave(const struct rc_config *cfg, int argc, char **argv);

/* Shared by subcommands: 0 when db.url is set, else prints why not and
 * returns 1. */
int	rc_cli_require_db_url(const struct rc_config *cfg);
/* Connects and applies the migrations (blocking); 0 done, 1 failed (and
 * printed why). */
int	rc_cli_migrate_now(const struct rc_config *cfg);

/* The matcher's configuration from face.* (the strings point into cfg). */
void	rc_cli_face_config(const struct rc_config *cfg,
	    struct rc_face_config *out);

/* The demo organisation and admin for `make run` (src/cli/seed.c):
 * created when the database has no organisation yet; prints the admin's
 * generated password once on stdout. Blocking: start-up only. */
int	rc_cli_seed_demo(const struct rc_config *cfg,
	    const struct rc_auth_passwords *pw, char *err, size_t errlen);

#endif
