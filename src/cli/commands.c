/* The serve, migrate and config subcommands. */
#include <stdio.h>
#include <string.h>

#include "rollcall/api.h"
#include "rollcall/cli.h"
#include "rollcall/config.h"
#include "rollcall/cpu.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/jobs.h"
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

static int
migrate_now(const struct rc_config *cfg)
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
	return migrate_now(cfg);
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

/* Templates of an older method than this build's are never compared: a
 * reindex job recomputes them (the jobs worker of this or any daemon). */
static void
queue_reindex_if_stale(const struct rc_config *cfg)
{
	char err[512];
	PGconn *pg;
	long stale;
	int queued;

	if ((pg = rc_db_connect_blocking(cfg->db_url, err, sizeof(err))) == NULL) {
		rc_log(RC_LOG_WARN, "face: cannot look for templates to "
		    "reindex: %.*s", (int)strcspn(err, "\n"), err);
		return;
	}
	if (rc_jobs_queue_face_reindex(pg, NULL, 0, &stale, &queued, err,
	    sizeof(err)) != RC_OK)
		rc_log(RC_LOG_WARN, "face: %s", err);
	else if (stale > 0)
		rc_log(RC_LOG_INFO, "face: %ld template(s) of an older method "
		    "than %s v%u; %s", stale, rc_face_method(NULL),
		    rc_face_version(NULL), queued ? "reindex queued" :
		    "a reindex is already queued");
	PQfinish(pg);
}

static const struct rc_config *serve_cfg;

/* SIGHUP: key rotation (`rollcall keys rotate`) takes effect. */
static void
reload_keys_cb(void *arg)
{
	(void)arg;
	rc_api_reload_keys(serve_cfg);
}

int
rc_cli_serve(const struct rc_config *cfg, int argc, char **argv)
{
	struct rc_router *router;
	struct rc_server *server;
	char err[512];
	int rv = 1;

	(void)argv;
	if (argc != 1) {
		fprintf(stderr, "usage: rollcall serve\n");
		return 2;
	}
	if (rc_cli_require_db_url(cfg))
		return 1;
	if (cfg->db_migrate_on_start && migrate_now(cfg) != 0)
		return 1;
	if (rc_api_start(cfg, err, sizeof(err)) != RC_OK) {
		fprintf(stderr, "rollcall: %s\n", err);
		return 1;
	}
	queue_reindex_if_stale(cfg);
	rc_jobs_use_face_engine(rc_api_face_engine());
	router = rc_router_new();
	rc_api_routes(router);
	if (rc_cpu_start(cfg->server_cpu_threads) != RC_OK) {
		fprintf(stderr, "rollcall: cannot start the CPU pool\n");
		rc_router_free(router);
		rc_api_stop();
		return 1;
	}
	if ((server = rc_server_new(cfg, router, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rollcall: %s\n", err);
	} else {
		serve_cfg = cfg;
		rc_server_on_reload(server, reload_keys_cb, NULL);
		/* Scripts read the port from here when server.port is 0. */
		printf("listening on %s:%d\n", cfg->server_host,
		    rc_server_port(server));
		fflush(stdout);
		if (cfg->jobs_enabled && rc_jobs_start(cfg) != RC_OK)
			fprintf(stderr, "rollcall: cannot start the outbox worker\n");
		else
			rv = rc_server_run(server) == RC_OK ? 0 : 1;
		rc_jobs_stop();
		rc_jobs_use_face_engine(NULL);
		rc_server_free(server);
	}
	rc_cpu_stop();
	rc_router_free(router);
	rc_api_stop();
	return rv;
}
