/* The migrate and config subcommands. */
#include <stdio.h>
#include <string.h>

#include "rollcall/cli.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/log.h"

int
rc_cli_require_db_url(const struct rc_config *cfg)
{
	if (cfg->db_url[0] != '\0')
		return 0;
	fprintf(stderr, "rollcall: db.url is not set (set it in the config "
	    "file or ROLLCALL_DB_URL; `make run` uses scripts/pg.sh)\n");
	return 1;
}

int
rc_cli_migrate_now(const struct rc_config *cfg)
{
	char err[1024];
	PGconn *pg;
	int applied;

	if ((pg = rc_db_connect_blocking(cfg->db_url, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rollcall: %s\n", err);
		return 1;
	}
	if (rc_db_migrate(pg, cfg->db_migrations_dir, &applied, err,
	    sizeof(err)) != RC_OK) {
		fprintf(stderr, "rollcall: migrate: %s\n", err);
		PQfinish(pg);
		return 1;
	}
	rc_log(RC_LOG_INFO, "migrate: %d migration(s) applied, schema is "
	    "current", applied);
	PQfinish(pg);
	return 0;
}

int
rc_cli_migrate(const struct rc_config *cfg, int argc, char **argv)
{
	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: rollcall migrate\n");
		return 2;
	}
	if (rc_cli_require_db_url(cfg))
		return 1;
	return rc_cli_migrate_now(cfg);
}

int
rc_cli_config(const struct rc_config *cfg, int argc, char **argv)
{
	if (argc != 2 || strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "usage: rollcall config check\n");
		return 2;
	}
	rc_config_print(cfg, stdout);
	return 0;
}
