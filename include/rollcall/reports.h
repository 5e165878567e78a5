/* Attendance reports (what CompanyRequestHandler did): the monthly report
 * per person and the daily "who is in" list, both aggregated by PostgreSQL
 * from attendance_days(). The statements live here so that the HTTP route
 * (async pool) and `rollcall export` (blocking libpq) run the very same SQL;
 * the CSV writer and the input checks are shared the same way. */
#ifndef ROLLCALL_REPORTS_H
#define ROLLCALL_REPORTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <libpq-fe.h>

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

/* The monthly attendance sheet's stored facts, as typed rows (binary
 * results) for rc_reports_sheet_read. $1 org id or NULL, $2 slug or NULL
 * (as above), $3 month "YYYY-MM" (required). No row when no org matches;
 * else column 0 says what a row is (src/reports/reports-int.h): the org and
 * month, each date's calendar, each active person (numbered in the
 * monthly report's order), their stored rows of the rollup and their
 * approved half days in the month. */
extern const struct rc_db_stmt rc_reports_sql_sheet;
/* The sheet's total columns, in CSV order (NULL-terminated). */
extern const char *const rc_reports_sheet_totals[];

/* A day's status on the sheet; RC_REPORTS_DAY_NONE is null (a date after
 * today). */
enum rc_reports_day {
	RC_REPORTS_DAY_NONE, RC_REPORTS_DAY_PRESENT, RC_REPORTS_DAY_LATE,
	RC_REPORTS_DAY_ABSENT, RC_REPORTS_DAY_ON_LEAVE,
	RC_REPORTS_DAY_HALF_DAY, RC_REPORTS_DAY_HOLIDAY,
	RC_REPORTS_DAY_WEEKEND,
};
/* Its name in the JSON and CSV ("present", ...); NULL for NONE. */
const char *rc_reports_day_name(enum rc_reports_day d);

/* A person's totals, in rc_reports_sheet_totals' order. */
struct rc_reports_sheet_totals {
	int64_t	 count[7];
	int64_t	 worked_minutes;
};

struct rc_reports_sheet_person {
	const unsigned char	*id;		/* 16 bytes */
	const char		*name, *email, *role;
	struct rc_reports_sheet_totals totals;
};

/* The sheet as a matrix: people x days. The strings and ids point into
 * the result it was read from (valid while it is). */
struct rc_reports_sheet {
	const char	*month, *timezone;
	const unsigned char *org_id;
	const char	*org_name, *org_slug;
	int32_t		 first;		/* days since 1970-01-01 */
	int		 ndays;
	size_t		 npeople;
	struct rc_reports_sheet_person *people;
	unsigned char	*status;	/* enum rc_reports_day [person][day] */
	int32_t		*minutes;	/* [person][day]; -1 is null */
};

/* Fills s from the binary result of rc_reports_sql_sheet (res must
 * outlive s): each person's dates plain from the calendar (holiday,
 * weekend, else absent up to today, null after it), the stored rows over
 * them, half_day over on_leave/present/late, and the totals as the
 * monthly report counts them. RC_ERR when no org matched (s is then
 * empty). Clean up with rc_reports_sheet_cleanup. */
rc_status rc_reports_sheet_read(struct rc_reports_sheet *s,
	    const PGresult *res);
/* Frees what s holds; safe twice. */
void	rc_reports_sheet_cleanup(struct rc_reports_sheet *s);

struct rc_json;
/* The sheet's JSON:
 *   {"month", "timezone", "org": {id, name, slug}, "days": [dates],
 *    "rows": [{user_id, name, email, role, "statuses": [...],
 *              "worked_minutes": [...], "totals": {present, late, absent,
 *              on_leave, half_day, holiday, weekend, worked_minutes}}]} */
void	rc_reports_sheet_json(const struct rc_reports_sheet *s,
	    struct rc_json *w);

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
 * for null). Returns a new string (caller frees) and its length. */
char	*rc_reports_sheet_csv(const struct rc_reports_sheet *s, size_t *len);

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
