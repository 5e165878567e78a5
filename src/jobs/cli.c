/* `rollcall jobs`: look at the outbox and send dead jobs again; `rollcall
 * face reindex` queues a face_reindex job. Blocking
 * libpq (CLI only). Prints ids, states and errors; never payloads, whose
 * vars may hold a temporary password. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "rollcall/cli.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/face.h"
#include "rollcall/jobs.h"

#define LIST_DEFAULT_LIMIT	50
#define LIST_MAX_LIMIT		100000

static const char SQL_LIST[] =
    "SELECT id, kind, state, attempts,"
    " to_char(run_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
    " coalesce(last_error, '')"
    " FROM jobs WHERE $1::text IS NULL OR state = $1"
    " ORDER BY created_at DESC, id LIMIT $2::int";
/* A fresh start: the attempts count restarts so max_attempts applies
 * again. last_error stays as a clue until the next attempt. */
static const char SQL_RETRY_ONE[] =
    "UPDATE jobs SET state = 'pending', attempts = 0, run_at = now(),"
    " updated_at = now() WHERE id = $1 AND state IN ('pending', 'dead')";
static const char SQL_STATE_OF[] =
    "SELECT state FROM jobs WHERE id = $1";
static const char SQL_RETRY_DEAD[] =
    "UPDATE jobs SET state = 'pending', attempts = 0, run_at = now(),"
    " updated_at = now() WHERE state = 'dead'";

static int
usage(void)
{
	fprintf(stderr, "usage: rollcall jobs list [--state pending|done|dead] "
	    "[--limit N]\n"
	    "       rollcall jobs retry ID\n"
	    "       rollcall jobs retry-dead\n");
	return 2;
}

static int
face_usage(void)
{
	fprintf(stderr, "usage: rollcall face reindex [--org SLUG]\n");
	return 2;
}

static PGconn *
connect_or_say(const struct rc_config *cfg)
{
	char err[512];
	PGconn *pg;

	if (rc_cli_require_db_url(cfg))
		return NULL;
	if ((pg = rc_db_connect_blocking(cfg->db_url, err, sizeof(err))) == NULL)
		fprintf(stderr, "rollcall: %s", err);
	return pg;
}

/* Returns res when it succeeded; otherwise prints why, clears it and
 * returns NULL. */
static PGresult *
checked(PGresult *res, const char *what)
{
	ExecStatusType st = PQresultStatus(res);
	const char *msg;

	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return res;
	msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	fprintf(stderr, "rollcall: jobs %s: %s\n", what,
	    msg ? msg : "database error");
	PQclear(res);
	return NULL;
}

/* Errors come from SMTP servers: keep the terminal safe from their bytes. */
static void
print_clean(const char *s)
{
	for (; *s != '\0'; s++)
		putchar((unsigned char)*s < 0x20 || *s == 0x7f ? '?' : *s);
}

static int
parse_list_args(int argc, char **argv, const char **state, char *limit,
    size_t limitlen)
{
	char *end;
	long n = LIST_DEFAULT_LIMIT;
	int i;

	*state = NULL;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--state") == 0 && i + 1 < argc) {
			*state = argv[++i];
			if (strcmp(*state, "pending") != 0 &&
			    strcmp(*state, "done") != 0 &&
			    strcmp(*state, "dead") != 0) {
				fprintf(stderr, "rollcall: jobs list: --state is "
				    "pending, done or dead\n");
				return -1;
			}
		} else if (strcmp(argv[i], "--limit") == 0 && i + 1 < argc) {
			n = strtol(argv[++i], &end, 10);
			if (*argv[i] == '\0' || *end != '\0' || n < 1 ||
			    n > LIST_MAX_LIMIT) {
				fprintf(stderr, "rollcall: jobs list: --limit is "
				    "a number from 1 to %d\n", LIST_MAX_LIMIT);
				return -1;
			}
		} else {
			return -1;
		}
	}
	snprintf(limit, limitlen, "%ld", n);
	return 0;
}

static int
jobs_list(const struct rc_config *cfg, int argc, char **argv)
{
	const char *params[2];
	char limit[24];
	PGresult *res;
	PGconn *pg;
	int i;

	if (parse_list_args(argc, argv, &params[0], limit, sizeof(limit)) != 0)
		return usage();
	params[1] = limit;
	if ((pg = connect_or_say(cfg)) == NULL)
		return 1;
	res = checked(PQexecParams(pg, SQL_LIST, 2, NULL, params, NULL, NULL,
	    0), "list");
	if (res == NULL) {
		PQfinish(pg);
		return 1;
	}
	printf("%-36s  %-7s  %-7s  %8s  %-20s  %s\n", "ID", "KIND", "STATE",
	    "ATTEMPTS", "RUN AT (UTC)", "LAST ERROR");
	for (i = 0; i < PQntuples(res); i++) {
		printf("%-36s  %-7s  %-7s  %8s  %-20s  ", PQgetvalue(res, i, 0),
		    PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
		    PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
		print_clean(PQgetvalue(res, i, 5));
		putchar('\n');
	}
	PQclear(res);
	PQfinish(pg);
	return 0;
}

/* Runs sql (one parameter or none) and, when it changed rows, a NOTIFY in
 * the same transaction so running workers pick the jobs up at once.
 * Returns the number of rows changed, or -1 (already reported). */
static long
update_and_notify(PGconn *pg, const char *sql, const char *param)
{
	const char *params[1] = { param };
	PGresult *res;
	long n;

	if ((res = checked(PQexec(pg, "BEGIN"), "begin")) == NULL)
		return -1;
	PQclear(res);
	if ((res = checked(PQexecParams(pg, sql, param ? 1 : 0, NULL,
	    param ? params : NULL, NULL, NULL, 0), "retry")) == NULL)
		return -1;
	n = strtol(PQcmdTuples(res), NULL, 10);
	PQclear(res);
	if (n > 0 && (res = checked(PQexec(pg, "NOTIFY jobs"), "notify")) == NULL)
		return -1;
	if (n > 0)
		PQclear(res);
	if ((res = checked(PQexec(pg, "COMMIT"), "commit")) == NULL)
		return -1;
	PQclear(res);
	return n;
}

/* Nothing was retried: say whether the job is done or does not exist. */
static void
explain_not_retried(PGconn *pg, const char *id)
{
	const char *params[1] = { id };
	PGresult *res;

	res = checked(PQexecParams(pg, SQL_STATE_OF, 1, NULL, params, NULL,
	    NULL, 0), "retry");
	if (res == NULL)
		return;
	if (PQntuples(res) == 0)
		fprintf(stderr, "rollcall: jobs retry: no job %s\n", id);
	else
		fprintf(stderr, "rollcall: jobs retry: job %s is %s; only "
		    "pending and dead jobs can be retried\n", id,
		    PQgetvalue(res, 0, 0));
	PQclear(res);
}

static int
jobs_retry(const struct rc_config *cfg, int argc, char **argv)
{
	PGconn *pg;
	long n;

	if (argc != 2)
		return usage();
	if (!rc_util_uuid_valid(argv[1])) {
		fprintf(stderr, "rollcall: jobs retry: \"%s\" is not a job id "
		    "(a UUID such as 3f2b9c1e-8d4a-4e6f-9b7c-2a1d0e5f6c7b; "
		    "`rollcall jobs list` shows them)\n", argv[1]);
		return 2;
	}
	if ((pg = connect_or_say(cfg)) == NULL)
		return 1;
	n = update_and_notify(pg, SQL_RETRY_ONE, argv[1]);
	if (n == 0)
		explain_not_retried(pg, argv[1]);
	else if (n > 0)
		printf("job %s is pending again\n", argv[1]);
	PQfinish(pg);
	return n > 0 ? 0 : 1;
}

static int
jobs_retry_dead(const struct rc_config *cfg, int argc)
{
	PGconn *pg;
	long n;

	if (argc != 1)
		return usage();
	if ((pg = connect_or_say(cfg)) == NULL)
		return 1;
	n = update_and_notify(pg, SQL_RETRY_DEAD, NULL);
	if (n >= 0)
		printf("%ld dead job(s) pending again\n", n);
	PQfinish(pg);
	return n >= 0 ? 0 : 1;
}

int
rc_cli_jobs(const struct rc_config *cfg, int argc, char **argv)
{
	if (argc < 2)
		return usage();
	if (strcmp(argv[1], "list") == 0)
		return jobs_list(cfg, argc - 1, argv + 1);
	if (strcmp(argv[1], "retry") == 0)
		return jobs_retry(cfg, argc - 1, argv + 1);
	if (strcmp(argv[1], "retry-dead") == 0)
		return jobs_retry_dead(cfg, argc - 1);
	return usage();
}

/* `rollcall face reindex [--org SLUG]`: queues the job; the running
 * `rollcall serve` recomputes the templates (its log shows the progress).
 * Templates an earlier reindex could not recompute are tried again. */
static int
face_reindex(const struct rc_config *cfg, int argc, char **argv)
{
	const char *slug = NULL;
	char err[512];
	PGconn *pg;
	long stale;
	int queued, rv = 1;

	if (argc == 3 && strcmp(argv[1], "--org") == 0)
		slug = argv[2];
	else if (argc != 1)
		return face_usage();
	if ((pg = connect_or_say(cfg)) == NULL)
		return 1;
	if (rc_jobs_queue_face_reindex(pg, slug, 1, &stale, &queued, err,
	    sizeof(err)) != RC_OK) {
		fprintf(stderr, "rollcall: face reindex: %s\n", err);
	} else {
		rv = 0;
		if (stale == 0)
			printf("every face template%s%s is already %s v%u: "
			    "nothing to reindex\n", slug ? " of " : "",
			    slug ? slug : "", rc_face_method(NULL),
			    rc_face_version(NULL));
		else
			printf("%ld face template(s) to recompute as %s v%u; %s "
			    "(the running `rollcall serve` does it, progress in "
			    "its log)\n", stale, rc_face_method(NULL),
			    rc_face_version(NULL), queued ? "reindex queued" :
			    "a reindex is already queued");
	}
	PQfinish(pg);
	return rv;
}

int
rc_cli_face(const struct rc_config *cfg, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "reindex") == 0)
		return face_reindex(cfg, argc - 1, argv + 1);
	return face_usage();
}
