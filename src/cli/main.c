/* rollcall's entry point: global options, configuration, and dispatch to
 * the subcommands. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "rollcall/auth.h"
#include "rollcall/backup.h"
#include "rollcall/cli.h"
#include "rollcall/config.h"
#include "rollcall/face.h"
#include "rollcall/jobs.h"
#include "rollcall/log.h"
#include "rollcall/reports.h"
#include "rollcall/store.h"

struct command {
	const char	*name;
	int		(*fn)(const struct rc_config *, int, char **);
	const char	*help;
};

static int
face_eval(const struct rc_config *cfg, int argc, char **argv)
{
	struct rc_face_config fc;

	rc_cli_face_config(cfg, &fc);
	return rc_face_eval_main(&fc, argc, argv);
}

static const struct command commands[] = {
	{ "serve", rc_cli_serve, "run the HTTP server" },
	{ "migrate", rc_cli_migrate, "apply the SQL migrations in db.migrations_dir" },
	{ "config", rc_cli_config, "config check: print the effective configuration" },
	{ "face-eval", face_eval, "face-eval DIR [--enroll N] [--json]: accuracy and speed of the face matcher" },
	{ "user", rc_cli_user, "user add --email E --name N --role R [--org SLUG]" },
	{ "face", rc_cli_face, "face reindex [--org SLUG]: recompute face templates of an older method from their pictures" },
	{ "keys", rc_cli_keys, "keys rotate | prune [--grace SECONDS]: signing key rotation" },
	{ "jobs", rc_cli_jobs, "jobs list|retry ID|retry-dead: the mail/webhook outbox" },
	{ "export", rc_cli_export, "export --org SLUG [--month YYYY-MM] [--format csv|json] [--out FILE] [--mail]: the monthly report" },
	{ "store", rc_cli_store, "store gc [--dry-run] [--grace SECONDS]: delete blobs no picture names" },
	{ "backup", rc_cli_backup, "backup [--out FILE] [--no-keys] | verify FILE | prune [--dir D] [--keep-daily N] [--keep-monthly N]" },
	{ "restore", rc_cli_restore, "restore --in FILE [--force]: verify, then restore into an empty database, store and keys dir" },
	{ "leave", rc_cli_leave, "leave digest [--org SLUG]: mail each org's admins its pending leave requests" },
};

static void
usage(FILE *out)
{
	size_t i;

	fprintf(out, "usage: rollcall [--config FILE] COMMAND [ARGS]\n\n"
	    "commands:\n");
	for (i = 0; i < RC_NELEM(commands); i++)
		fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].help);
	fprintf(out, "\nEvery config key can be overridden by "
	    "ROLLCALL_<SECTION>_<KEY>.\n");
}

/* The config file: --config, else $ROLLCALL_CONFIG, else conf/rollcall.conf
 * or /etc/rollcall/rollcall.conf, the first that exists (defaults and
 * environment otherwise). */
static const char *
config_path(const char *given)
{
	const char *env = getenv("ROLLCALL_CONFIG");

	if (given != NULL)
		return given;
	if (env != NULL && *env != '\0')
		return env;
	if (access(RC_CONFIG_DEFAULT_PATH, F_OK) == 0)
		return RC_CONFIG_DEFAULT_PATH;
	/* An installed rollcall run from anywhere (`rollcall user add` in a
	 * root shell) finds its config. */
	if (access(RC_CONFIG_SYSTEM_PATH, F_OK) == 0)
		return RC_CONFIG_SYSTEM_PATH;
	return NULL;
}

int
main(int argc, char **argv)
{
	struct rc_config cfg;
	const char *given = NULL;
	enum rc_log_level level;
	enum rc_log_format format;
	char err[512];
	size_t i;
	int argi = 1, rv;

	while (argi < argc && argv[argi][0] == '-') {
		if (strcmp(argv[argi], "--config") == 0 && argi + 1 < argc) {
			given = argv[argi + 1];
			argi += 2;
		} else if (strcmp(argv[argi], "--help") == 0 ||
		    strcmp(argv[argi], "-h") == 0) {
			usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "rollcall: unknown option %s\n", argv[argi]);
			usage(stderr);
			return 2;
		}
	}
	if (argi >= argc) {
		usage(stderr);
		return 2;
	}
	if (sodium_init() < 0)
		rc_fatal("libsodium cannot start");
	if (rc_config_load(&cfg, config_path(given), err, sizeof(err)) != RC_OK) {
		fprintf(stderr, "rollcall: configuration: %s\n", err);
		return 1;
	}
	rc_log_parse_level(cfg.log_level, &level);
	rc_log_parse_format(cfg.log_format, &format);
	if (rc_log_open(cfg.log_file, level, format) != RC_OK) {
		fprintf(stderr, "rollcall: log.file %s: %s\n", cfg.log_file,
		    strerror(errno));
		rc_config_cleanup(&cfg);
		return 1;
	}
	for (i = 0; i < RC_NELEM(commands); i++)
		if (strcmp(argv[argi], commands[i].name) == 0)
			break;
	if (i == RC_NELEM(commands)) {
		fprintf(stderr, "rollcall: unknown command %s\n", argv[argi]);
		usage(stderr);
		rv = 2;
	} else {
		rv = commands[i].fn(&cfg, argc - argi, argv + argi);
	}
	rc_config_cleanup(&cfg);
	return rv;
}
