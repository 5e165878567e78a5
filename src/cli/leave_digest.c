/* `rollcall leave digest [--org SLUG]`: the daily mail to each org's admins
 * listing the leave requests that still wait for a decision (run by
 * systemd/rollcall-leave-digest.timer). The mails go through the outbox,
 * all queued by one statement. Blocking libpq: command line only. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/cli.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/log.h"

#define USAGE	"usage: rollcall leave digest [--org SLUG]\n"

/* $1 org slug (NULL: every org), $2 public URL. One row: orgs looked at,
 * mails queued, orgs with pending requests. An org with nothing pending
 * gets no mail. */
static const char SQL_DIGEST[] =
	"WITH o AS (SELECT id, name, timezone FROM orgs WHERE $1::text IS NULL"
	"  OR slug = $1::text),"
	" p AS (SELECT l.org_id, count(*) AS n, string_agg(format("
	"  '  - %s: %s, %s to %s (%s day(s)), asked on %s', u.name, t.name,"
	"  l.start_date, l.end_date, l.days, to_char(l.created_at AT TIME ZONE"
	"  o.timezone, 'YYYY-MM-DD')), E'\\n' ORDER BY l.start_date,"
	"  l.created_at) AS lines FROM leave_requests l JOIN o ON o.id ="
	"  l.org_id JOIN users u ON u.id = l.user_id JOIN leave_types t ON"
	"  t.id = l.type_id WHERE l.status = 'pending' GROUP BY l.org_id),"
	" j AS (INSERT INTO jobs (kind, payload, org_id) SELECT 'mail',"
	"  jsonb_build_object('to', jsonb_build_array(a.email), 'subject',"
	"  format('%s: %s leave request(s) waiting', o.name, p.n), 'text',"
	"  format(E'Hello %s,\\n\\nThese leave requests of %s wait for a"
	" decision:\\n\\n%s\\n\\nReview them at %s\\n', a.name, o.name,"
	"  p.lines, rtrim($2, '/') || '/leave/requests?status=pending')),"
	"  p.org_id FROM p JOIN o ON o.id = p.org_id JOIN users a ON"
	"  a.org_id = p.org_id AND a.role = 'admin' AND a.status = 'active'"
	"  RETURNING org_id)"
	" SELECT (SELECT count(*) FROM o), (SELECT count(*) FROM j),"
	" (SELECT count(*) FROM p)";

static int
digest(PGconn *pg, const char *slug, const char *url)
{
	const char *params[2] = { slug, url };
	PGresult *res;
	int rv = 1;

	res = PQexecParams(pg, SQL_DIGEST, 2, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "rollcall: leave digest: %s", PQerrorMessage(pg));
	} else if (slug != NULL && strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
		fprintf(stderr, "rollcall: no organisation with slug \"%s\"\n",
		    slug);
	} else {
		printf("leave digest: %s mail(s) queued for %s organisation(s) "
		    "with pending requests\n", PQgetvalue(res, 0, 1),
		    PQgetvalue(res, 0, 2));
		rc_log(RC_LOG_INFO, "leave digest: %s mail(s) queued",
		    PQgetvalue(res, 0, 1));
		rv = 0;
	}
	PQclear(res);
	return rv;
}

static int
leave_digest(const struct rc_config *cfg, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "org", required_argument, NULL, 'o' },
		{ NULL, 0, NULL, 0 },
	};
	const char *slug = NULL;
	char err[1024];
	int c, applied, rv = 1;
	PGconn *pg;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'o') {
			fputs(USAGE, stderr);
			return 2;
		}
		slug = optarg;
	}
	if (optind != argc) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (cfg->db_url[0] == '\0') {
		fprintf(stderr, "rollcall: db.url is not set\n");
		return 1;
	}
	if ((pg = rc_db_connect_blocking(cfg->db_url, err, sizeof(err))) == NULL) {
		fprintf(stderr, "rollcall: %s\n", err);
		return 1;
	}
	if (cfg->db_migrate_on_start && rc_db_migrate(pg,
	    cfg->db_migrations_dir, &applied, err, sizeof(err)) != RC_OK)
		fprintf(stderr, "rollcall: migrate: %s\n", err);
	else
		rv = digest(pg, slug, cfg->server_public_url);
	PQfinish(pg);
	return rv;
}

int
rc_cli_leave(const struct rc_config *cfg, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "digest") == 0)
		return leave_digest(cfg, argc - 1, argv + 1);
	fputs(USAGE, stderr);
	return 2;
}
