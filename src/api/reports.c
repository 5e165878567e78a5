/* Reports (the old CompanyRequestHandler): the monthly report per person as
 * JSON or CSV, the monthly attendance sheet (a status per person and
 * date), the daily "who is in" list, and the old system's URL for
 * clients that still call it. PostgreSQL builds the JSON of the monthly
 * report and the daily list (the statements are shared with `rollcall
 * export`, src/reports/), CSV is made from it; the sheet is made in C from
 * typed rows, JSON and CSV alike. An admin only sees their own org:
 * another org's slug answers 404. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/json.h"
#include "rollcall/reports.h"
#include "rollcall/rest.h"

#define SLUG_MAX	200

static void report_cb(const struct rc_db_result *r, void *arg);
static void sheet_cb(const struct rc_db_result *r, void *arg);

/* A report of a month: its statement, whether its results are typed
 * (binary), its callback, CSV writer (of the JSON) and file name. */
struct month_report {
	const struct rc_db_stmt	*stmt;
	int			 typed;
	rc_rest_db_cb		 cb;
	char			*(*csv)(const json_t *report, size_t *len);
	const char		*file_prefix;
};

static const struct month_report monthly_report = {
	&rc_reports_sql_monthly, 0, report_cb, rc_reports_monthly_csv,
	"rollcall",
};
static const struct month_report sheet_report = {
	&rc_reports_sql_sheet, 1, sheet_cb, NULL, "sheet",
};

/* What the callback needs to know of the query string. */
struct report_op {
	const struct month_report *kind;
	int	 csv;
};

/* ?org= (or the compat param3): optional for org members (who may only
 * name their own), required for a superadmin. RC_ERR after a reply. */
static rc_status
org_param(struct rc_req *req, const char *field, const char **slug)
{
	const char *s = rc_http_query(req, field);

	*slug = s;
	if (s == NULL && req->who->role_bit == RC_ROLE_SUPERADMIN) {
		rc_http_fail_field(req, field, "is required for a superadmin "
		    "(the organisation's slug)");
		return RC_ERR;
	}
	if (s != NULL && (*s == '\0' || strlen(s) > SLUG_MAX)) {
		rc_http_fail_field(req, field, "is not an organisation's slug");
		return RC_ERR;
	}
	return RC_OK;
}

/* Replies csv (takes it) as the download "<prefix>-<slug>-<month>.csv". */
static void
reply_csv_named(struct rc_req *req, const char *prefix, const char *slug,
    const char *month, char *csv, size_t len)
{
	char *name = rc_reports_filename(prefix, slug ? slug : "org",
	    month ? month : "month", "csv");

	rc_rest_reply_csv(req, csv, len, name);
	free(name);
	free(csv);
}

/* The report's JSON turned into a CSV download. */
static void
reply_csv(struct rc_req *req, const struct month_report *kind,
    const char *text)
{
	json_t *report = json_loads(text, 0, NULL);
	char *csv = NULL;
	size_t len;

	if (report != NULL)
		csv = kind->csv(report, &len);
	if (csv == NULL) {
		json_decref(report);
		rc_http_fail(req, 500, "internal", "the report is malformed");
		return;
	}
	reply_csv_named(req, kind->file_prefix, json_string_value(
	    json_object_get(json_object_get(report, "org"), "slug")),
	    json_string_value(json_object_get(report, "month")), csv, len);
	json_decref(report);
}

static void
report_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct report_op *op = req->data;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1 || PQgetisnull(r->res, 0, 0)) {
		rc_http_fail(req, 404, "not_found", "no such organisation");
		return;
	}
	if (op != NULL && op->csv) {
		reply_csv(req, op->kind, PQgetvalue(r->res, 0, 0));
		return;
	}
	rc_rest_reply_cell(req, 200, r->res, 0);
}

/* The sheet's typed rows made into its JSON or CSV, from one matrix. */
static void
sheet_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct report_op *op = req->data;
	struct rc_reports_sheet s;
	struct rc_json w;
	size_t len;
	char *csv;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (rc_reports_sheet_read(&s, r->res) != RC_OK) {
		rc_http_fail(req, 404, "not_found", "no such organisation");
		return;
	}
	if (op->csv) {
		csv = rc_reports_sheet_csv(&s, &len);
		reply_csv_named(req, op->kind->file_prefix, s.org_slug,
		    s.month, csv, len);
	} else {
		rc_json_init(&w);
		rc_reports_sheet_json(&s, &w);
		rc_rest_reply_json(req, 200, &w);
	}
	rc_reports_sheet_cleanup(&s);
}

/* Runs a report of slug (or the caller's org) for month. */
static void
month_query(struct rc_req *req, const struct month_report *kind,
    const char *slug, const char *month, int csv)
{
	struct report_op *op = rc_req_alloc(req, sizeof(*op), NULL);
	const char *p[3] = { rc_rest_scope_org(req), slug, month };

	op->kind = kind;
	op->csv = csv;
	req->data = op;
	if (kind->typed)
		rc_rest_query_typed(req, kind->stmt, p, kind->cb);
	else
		rc_rest_query(req, kind->stmt, p, kind->cb);
}

/* ---- GET /api/v1/reports/monthly | sheet ----------------------------- */

/* ?month= (required), ?format=json|csv, ?org=; then the query. */
static void
month_report_run(struct rc_req *req, const struct month_report *kind)
{
	const char *month = rc_http_query(req, "month");
	const char *format = rc_http_query(req, "format");
	const char *slug;

	if (month == NULL) {
		rc_http_fail_field(req, "month", "is required (YYYY-MM)");
		return;
	}
	if (!rc_reports_month_valid(month)) {
		rc_http_fail_field(req, "month", "must be a month YYYY-MM");
		return;
	}
	if (format != NULL && strcmp(format, "json") != 0 &&
	    strcmp(format, "csv") != 0) {
		rc_http_fail_field(req, "format", "must be json or csv");
		return;
	}
	if (org_param(req, "org", &slug) != RC_OK)
		return;
	month_query(req, kind, slug, month, format != NULL &&
	    strcmp(format, "csv") == 0);
}

/* GET /api/v1/reports/monthly?month=YYYY-MM[&org=slug][&format=json|csv] */
void
rc_api_reports_monthly(struct rc_req *req)
{
	month_report_run(req, &monthly_report);
}

/* GET /api/v1/reports/sheet?month=YYYY-MM[&org=slug][&format=json|csv] —
 * the month's attendance sheet: a status per person and date, totals. */
void
rc_api_reports_sheet(struct rc_req *req)
{
	month_report_run(req, &sheet_report);
}

/* ---- GET /prod/companyrequesthandler (compat) ------------------------ */

/* GET /prod/companyrequesthandler?param1=Monthly&param2=October%202018
 * &param3=<slug> — the URL clients of the old AWS system call: the same
 * monthly report (JSON) as /api/v1/reports/monthly, same rules. */
void
rc_api_reports_compat(struct rc_req *req)
{
	const char *kind = rc_http_query(req, "param1");
	const char *words = rc_http_query(req, "param2");
	const char *slug;
	char month[RC_REPORTS_MONTH_LEN];

	if (kind == NULL || strcasecmp(kind, "Monthly") != 0) {
		rc_http_fail_field(req, "param1", "must be Monthly (the only "
		    "report this route answers)");
		return;
	}
	if (rc_reports_month_from_words(words, month) != RC_OK) {
		rc_http_fail_field(req, "param2", "must be a month and year, "
		    "like \"October 2018\"");
		return;
	}
	if (org_param(req, "param3", &slug) != RC_OK)
		return;
	month_query(req, &monthly_report, slug, month, 0);
}

/* ---- GET /api/v1/reports/daily --------------------------------------- */

/* GET /api/v1/reports/daily[?date=YYYY-MM-DD][&org=slug] — who is in,
 * late, absent, on leave on that date (default: today in the org's zone). */
void
rc_api_reports_daily(struct rc_req *req)
{
	const char *date = rc_http_query(req, "date");
	const char *slug, *p[4];

	if (date != NULL && !rc_util_date_valid(date)) {
		rc_http_fail_field(req, "date", "must be a date YYYY-MM-DD");
		return;
	}
	if (org_param(req, "org", &slug) != RC_OK)
		return;
	p[0] = rc_rest_scope_org(req);
	p[1] = slug;
	p[2] = date;
	/* A manager sees the people who report to them, nobody else. */
	p[3] = req->who->role_bit == RC_ROLE_MANAGER ? req->who->user_id :
	    NULL;
	rc_rest_query(req, &rc_reports_sql_daily, p, report_cb);
}

