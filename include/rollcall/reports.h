/* Attendance reports (what CompanyRequestHandler did): the monthly report
 * per person and the daily "who is in" list, both aggregated by PostgreSQL
 * from attendance_days(). The statements live here so that the HTTP route
 * (async pool) and `rollcall export` (blocking libpq) run the very same SQL;
 * the CSV writer and the input checks are shared the same way. */
#ifndef ROLLCALL_REPORTS_H
#define ROLLCALL_REPORTS_H

#include <stddef.h>

#include <jansson.h>

#include "rollcall/util.h"

struct rc_config;
struct rc_db_stmt;

/* "YYYY-MM" and a NUL. */
#define RC_REPORTS_MONTH_LEN	8

/* The monthly report. Parameters (text):
 *   $1 org id (uuid) or NULL, $2 org slug or NULL — the org must match
 *      both when both are given (an admin's own id + a slug: another org's
 *      slug finds nothing);
 *   $3 month "YYYY-MM", or NULL for the month before the current one in
 *      the org's time zone (the export's default).
 * One row, one column: the report as JSON text, or no row when no org
 * matches:
 *   {"org": {id, name, slug, timezone}, "month", "from", "to",
 *    "working_days" (neither weekend nor holiday), "generated_at",
 *    "rows": [{user_id, name, email, role, present, late, absent, leave,
 *              holiday, weekend, worked_minutes, worked_hours}]}
 * one row per active person (attendance_days' people), by name then email.
 * present/late/absent/holiday/weekend count dates of that status; leave
 * counts leave days taken: 1 per on_leave date, 0.5 for a half day of
 * approved leave (whether or not the person also came in); dates after
 * today count in nothing. worked_hours = worked_minutes / 60, 2 decimals. */
extern const struct rc_db_stmt rc_reports_sql_monthly;

/* The daily list. $1 org id or NULL, $2 slug or NULL (as above), $3 date
 * "YYYY-MM-DD" or NULL for today in the org's time zone, $4 a manager's
 * user id or NULL: only the people whose manager_id it is. One row, one
 * column, or none when no org matches:
 *   {"org": {...}, "date", "summary": {present, late, absent, on_leave,
 *    holiday, weekend, in_now}, "people": [{user_id, name, email, role,
 *    status, first_in, last_out, worked_minutes, in_now}]}
 * in_now: checked in and not out yet (the day's open pair). */
extern const struct rc_db_stmt rc_reports_sql_daily;

/* The monthly attendance sheet. $1 org id or NULL, $2 slug or NULL (as
 * above), $3 month "YYYY-MM" (required). One row, one column, or none:
 *   {"month", "timezone", "org": {id, name, slug}, "days": [dates],
 *    "rows": [{user_id, name, email, role, "statuses": [...],
 *              "worked_minutes": [...], "totals": {present, late, absent,
 *              on_leave, half_day, holiday, weekend, worked_minutes}}]}
 * the arrays aligned with days; a status is attendance_days' except
 * "half_day" for a date of approved half-day leave (whether the person came
 * for the other half or not), and null (worked minutes too) for the dates
 * after today in the org's zone. Totals count the dates of each status.
 * The same people, order and half-day rule as the monthly report. */
extern const struct rc_db_stmt rc_reports_sql_sheet;
/* The sheet's total columns, in CSV order (NULL-terminated). */
extern const char *const rc_reports_sheet_totals[];

/* The columns of a monthly report row, in CSV order (NULL-terminated). */
extern const char *const rc_reports_monthly_columns[];

/* True when s is "YYYY-MM" with a month 01..12 and a year 1900..9999. */
int	rc_reports_month_valid(const char *s);
/* The old system's month, "October 2018" (an English month name or its
 * three-letter abbreviation, any case, one or more spaces, a year), into
 * out as "2018-10". RC_ERR when it is not one. */
rc_status rc_reports_month_from_words(const char *s,
	    char out[RC_REPORTS_MONTH_LEN]);

/* The rows of a monthly report (the JSON above, parsed) as CSV per
 * RFC 4180: a header row, CRLF line ends, fields holding a comma, quote,
 * CR or LF quoted with their quotes doubled, UTF-8 as stored; a text
 * starting with = + - @ tab or CR (a formula to a spreadsheet) is quoted
 * and prefixed with '. Returns a new
 * string (caller frees) and its length in *len, or NULL when report has no
 * "rows" array. */
char	*rc_reports_monthly_csv(const json_t *report, size_t *len);

/* Any rows (a JSON array of objects) as CSV, written the same way: a
 * header of the column names, then each row's members of those names in
 * that order (absent or null: empty). NULL when rows is not an array. */
char	*rc_reports_rows_csv(const json_t *rows, const char *const *columns,
	    size_t *len);

/* The sheet as CSV, written the same way: a header "name,email,<each
 * date>,present,late,absent,on_leave,half_day,holiday,weekend,
 * worked_hours", then one row per person with a status per date (empty
 * for null). NULL when sheet has no "rows" or "days" array. */
char	*rc_reports_sheet_csv(const json_t *sheet, size_t *len);

/* A file name for the report: "<prefix>-<slug>-<month>.<ext>", with any
 * character of the slug outside [A-Za-z0-9_-] replaced by '_' (it goes
 * into a Content-Disposition header and a path). Returns a new string. */
char	*rc_reports_filename(const char *prefix, const char *slug,
	    const char *month, const char *ext);

/* `rollcall export --org SLUG [--month YYYY-MM] [--format csv|json]
 * [--out FILE|DIR/] [--mail]`: runs the monthly report, writes it to FILE
 * (or DIR/<rc_reports_filename>, or stdout without --out) atomically
 * (temporary file, fsync, rename, 0640), and with --mail enqueues one
 * "report" mail per active admin of the org with the file attached.
 * Exit 0 done, 1 failed, 2 bad usage. Blocking (libpq, disk): command line
 * only. */
int	rc_cli_export(const struct rc_config *cfg, int argc, char **argv);

#endif
