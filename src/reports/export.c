/* `rollcall export`: the monthly report of one org written to a file (what
 * a cron job or systemd timer runs), optionally mailed to the org's admins
 * through the outbox. Same statement as GET /api/v1/reports/monthly, so the
 * numbers agree. Blocking libpq and disk: command line only. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>
#include <sodium.h>

#include "rollcall/cli.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/reports.h"

#define USAGE "usage: rollcall export --org SLUG [--month YYYY-MM] " \
	"[--format csv|json] [--out FILE|DIR/] [--mail]\n" \
	"  --month defaults to the previous month in the org's time zone;\n" \
	"  without --out the report goes to stdout (nowhere with --mail).\n"

#define FILE_MODE	0640	/* readable by the service's group, not all */

struct export_args {
	const char	*org, *month, *format, *out;
	int		 mail;
};

/* One "report" mail per active admin of the org ($1), each with the file
 * attached; an audit row says it happened. Returns the number of mails. */
static const char SQL_MAIL[] =
	"WITH o AS (SELECT id, name FROM orgs WHERE id = $1::uuid),"
	" j AS (INSERT INTO jobs (kind, payload, org_id) SELECT 'mail',"
	"  jsonb_build_object('to', jsonb_build_array(u.email::text),"
	"  'template', 'report', 'vars', jsonb_build_object('name', u.name,"
	"  'org_name', o.name, 'month', $2::text), 'attachments',"
	"  jsonb_build_array(jsonb_build_object('filename', $3::text,"
	"  'content_type', $4::text, 'data_base64', $5::text))), o.id"
	"  FROM o JOIN users u ON u.org_id = o.id AND u.role = 'admin'"
	"  AND u.status = 'active' RETURNING id),"
	" a AS (INSERT INTO audit_log (org_id, actor_id, action, target_id,"
	"  detail) SELECT o.id, NULL, 'report_exported', NULL,"
	"  jsonb_build_object('via', 'cli', 'month', $2::text, 'file', $3::text,"
	"  'mails', (SELECT count(*) FROM j)) FROM o)"
	" SELECT count(*) FROM j";

static int
parse_args(int argc, char **argv, struct export_args *a)
{
	static const struct option opts[] = {
		{ "org", required_argument, NULL, 'o' },
		{ "month", required_argument, NULL, 'm' },
		{ "format", required_argument, NULL, 'f' },
		{ "out", required_argument, NULL, 'O' },
		{ "mail", no_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	memset(a, 0, sizeof(*a));
	a->format = "csv";
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': a->org = optarg; break;
		case 'm': a->month = optarg; break;
		case 'f': a->format = optarg; break;
		case 'O': a->out = optarg; break;
		case 'M': a->mail = 1; break;
		default: return -1;
		}
	}
	if (optind != argc || a->org == NULL || *a->org == '\0' ||
	    (a->out != NULL && *a->out == '\0'))
		return -1;
	if (a->month != NULL && !rc_reports_month_valid(a->month)) {
		fprintf(stderr, "rollcall: --month must be YYYY-MM\n");
		return -1;
	}
	if (strcmp(a->format, "csv") != 0 && strcmp(a->format, "json") != 0) {
		fprintf(stderr, "rollcall: --format must be csv or json\n");
		return -1;
	}
	return 0;
}

/* Runs the monthly report; returns its JSON text (new string) and the
 * parsed report in *report, or NULL with a message printed (no such org,
 * database error). */
static char *
run_report(PGconn *pg, const struct export_args *a, json_t **report)
{
	const char *p[3] = { NULL, a->org, a->month };
	PGresult *res;
	char *text = NULL;

	*report = NULL;
	res = PQexecParams(pg, rc_reports_sql_monthly.sql, 3, NULL, p, NULL,
	    NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		fprintf(stderr, "rollcall: export: %s", PQerrorMessage(pg));
	else if (PQntuples(res) != 1)
		fprintf(stderr, "rollcall: export: no organisation with slug "
		    "%s\n", a->org);
	else if ((*report = json_loads(PQgetvalue(res, 0, 0), 0, NULL)) == NULL)
		fprintf(stderr, "rollcall: export: the report is malformed\n");
	else
		text = rc_asprintf("%s\n", PQgetvalue(res, 0, 0));
	PQclear(res);
	return text;
}

static rc_status
write_all(int fd, const char *data, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = write(fd, data, len)) < 0) {
			if (errno == EINTR)
				continue;
			return RC_ERR;
		}
		data += n;
		len -= (size_t)n;
	}
	return RC_OK;
}

/* Makes path appear with data or not at all: a temporary file in the same
 * folder, fsync'd, renamed over path, then the folder fsync'd so that the
 * rename itself survives a crash. */
static rc_status
write_atomic(const char *path, const char *data, size_t len)
{
	char *tmp = rc_asprintf("%s.tmpXXXXXX", path), *dcopy = NULL;
	int fd, dfd, saved;

	if ((fd = mkstemp(tmp)) < 0)
		goto fail;
	if (fchmod(fd, FILE_MODE) != 0 || write_all(fd, data, len) != RC_OK ||
	    fsync(fd) != 0) {
		saved = errno;
		close(fd);
		unlink(tmp);
		errno = saved;
		goto fail;
	}
	if (close(fd) != 0 || rename(tmp, path) != 0) {
		saved = errno;
		unlink(tmp);
		errno = saved;
		goto fail;
	}
	dcopy = rc_strdup(path);
	if ((dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY)) >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	free(dcopy);
	free(tmp);
	return RC_OK;
fail:
	fprintf(stderr, "rollcall: export: %s: %s\n", path, strerror(errno));
	free(tmp);
	return RC_ERR;
}

/* --out as given, or DIR/<name> when it names a folder. New string. */
static char *
out_path(const char *out, const char *name)
{
	struct stat st;
	size_t n = strlen(out);

	if ((n > 0 && out[n - 1] == '/') || (stat(out, &st) == 0 &&
	    S_ISDIR(st.st_mode)))
		return rc_asprintf("%s%s%s", out, out[n - 1] == '/' ? "" : "/",
		    name);
	return rc_strdup(out);
}

/* Enqueues the mails; prints how many. */
static rc_status
enqueue_mail(PGconn *pg, const json_t *report, const char *month,
    const char *name, const char *ctype, const char *data, size_t len)
{
	size_t b64len = sodium_base64_encoded_len(len,
	    sodium_base64_VARIANT_ORIGINAL);
	char *b64 = rc_malloc(b64len);
	const char *p[5];
	PGresult *res;
	rc_status rv = RC_ERR;

	sodium_bin2base64(b64, b64len, (const unsigned char *)data, len,
	    sodium_base64_VARIANT_ORIGINAL);
	p[0] = json_string_value(json_object_get(json_object_get(report,
	    "org"), "id"));
	p[1] = month;
	p[2] = name;
	p[3] = ctype;
	p[4] = b64;
	res = PQexecParams(pg, SQL_MAIL, 5, NULL, p, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		fprintf(stderr, "rollcall: export --mail: %s", PQerrorMessage(pg));
	} else if (strcmp(PQgetvalue(res, 0, 0), "0") == 0) {
		fprintf(stderr, "rollcall: export --mail: the organisation has "
		    "no active admin to mail\n");
	} else {
		fprintf(stderr, "rollcall: export: %s mail(s) queued\n",
		    PQgetvalue(res, 0, 0));
		rv = RC_OK;
	}
	PQclear(res);
	free(b64);
	return rv;
}

/* Writes and mails what the arguments ask for. */
static int
deliver(PGconn *pg, const struct export_args *a, const json_t *report,
    const char *text)
{
	int csv = strcmp(a->format, "csv") == 0;
	const char *month = json_string_value(json_object_get(report, "month"));
	const char *slug = json_string_value(json_object_get(json_object_get(
	    report, "org"), "slug"));
	char *data, *name, *path = NULL;
	size_t len = 0;
	int rv = 1;

	/* JSON goes out as PostgreSQL made it: the API's very bytes. */
	data = csv ? rc_reports_monthly_csv(report, &len) : rc_strdup(text);
	if (!csv)
		len = strlen(data);
	if (data == NULL || month == NULL || slug == NULL) {
		fprintf(stderr, "rollcall: export: the report is malformed\n");
		free(data);
		return 1;
	}
	name = rc_reports_filename("rollcall", slug, month, a->format);
	if (a->out != NULL) {
		path = out_path(a->out, name);
		if (write_atomic(path, data, len) != RC_OK)
			goto out;
		fprintf(stderr, "rollcall: export: wrote %s\n", path);
	} else if (!a->mail && fwrite(data, 1, len, stdout) != len) {
		fprintf(stderr, "rollcall: export: cannot write to stdout\n");
		goto out;
	}
	if (a->mail && enqueue_mail(pg, report, month, name, csv ?
	    "text/csv; charset=UTF-8" : "application/json; charset=UTF-8",
	    data, len) != RC_OK)
		goto out;
	rv = 0;
out:
	free(path);
	free(name);
	free(data);
	return rv;
}

int
rc_cli_export(const struct rc_config *cfg, int argc, char **argv)
{
	struct export_args a;
	char err[512];
	json_t *report;
	PGconn *pg;
	char *text;
	int rv;

	if (parse_args(argc, argv, &a) != 0) {
		fputs(USAGE, stderr);
		return 2;
	}
	if (rc_cli_require_db_url(cfg))
		return 1;
	if ((pg = rc_db_connect_blocking(cfg->db_url, err, sizeof(err))) ==
	    NULL) {
		fprintf(stderr, "rollcall: %s\n", err);
		return 1;
	}
	if ((text = run_report(pg, &a, &report)) == NULL) {
		json_decref(report);
		PQfinish(pg);
		return 1;
	}
	rv = deliver(pg, &a, report, text);
	free(text);
	json_decref(report);
	PQfinish(pg);
	return rv;
}
