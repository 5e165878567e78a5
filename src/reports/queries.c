/* The report statements, shared by the /reports routes (async pool) and
 * `rollcall export` (blocking libpq), so both give the same numbers. The
 * monthly report is aggregated in one statement from attendance_days()'
 * rollup (the table attendance_rollup, sql/010_attendance_rollup.sql),
 * the daily list (one date) from the function itself; the sheet's
 * statement sends the rollup's stored rows and the calendar, and C makes
 * the days from them (sheet.c) by the same rules. */
#include <stddef.h>

#include "rollcall/db.h"
#include "rollcall/reports.h"

#include "reports-int.h"

/* The org named by $1 (id) and/or $2 (slug); none when neither is given. */
#define REPORT_ORG \
	"o AS (SELECT id, name, slug::text AS slug, timezone, weekend_days" \
	"  FROM orgs WHERE ($1::uuid IS NOT NULL OR $2::text IS NOT NULL)" \
	"  AND ($1::uuid IS NULL OR id = $1::uuid)" \
	"  AND ($2::text IS NULL OR slug = $2::citext))"

#define REPORT_ORG_JSON \
	"json_build_object('id', o.id, 'name', o.name, 'slug', o.slug," \
	" 'timezone', o.timezone)"

/* mo, m: the month ($3, or the one before now in the org's zone) and its
 * first and last dates. */
#define REPORT_MONTH \
	"mo AS (SELECT COALESCE($3::text, to_char(date_trunc('month'," \
	"  now() AT TIME ZONE o.timezone) - interval '1 month', 'YYYY-MM'))" \
	"  AS month FROM o)," \
	" m AS (SELECT mo.month, (mo.month || '-01')::date AS first," \
	"  ((mo.month || '-01')::date + interval '1 month' - interval '1 day')" \
	"  ::date AS last FROM mo)"

/* hd: approved half days of the month (a half day is one date). */
#define REPORT_HALF_DAYS \
	"hd AS (SELECT DISTINCT r.user_id, r.start_date AS date" \
	"  FROM leave_requests r, o, m WHERE r.org_id = o.id" \
	"  AND r.status = 'approved' AND r.half_day" \
	"  AND r.start_date BETWEEN m.first AND m.last)"

/* t: today in the org's zone. */
#define REPORT_TODAY \
	"t AS (SELECT (now() AT TIME ZONE o.timezone)::date AS today FROM o)"

/* cal: the calendar of the month's dates up to last, counted once (a day
 * without a stored row in the rollup is plain: its status is the
 * calendar's, the same for everyone): holidays, other weekend days,
 * working days, and working days up to today. */
#define REPORT_CALENDAR(last) \
	"cal AS (SELECT count(*) FILTER (WHERE c.holiday) AS holiday," \
	"  count(*) FILTER (WHERE c.weekend AND NOT c.holiday) AS weekend," \
	"  count(*) FILTER (WHERE NOT c.weekend AND NOT c.holiday) AS working," \
	"  count(*) FILTER (WHERE NOT c.weekend AND NOT c.holiday" \
	"   AND c.date <= c.today) AS to_date" \
	"  FROM (SELECT g AS date, t.today," \
	"   extract(isodow FROM g)::int = ANY (o.weekend_days) AS weekend," \
	"   EXISTS (SELECT 1 FROM holidays h WHERE h.org_id = o.id" \
	"   AND h.date = g) AS holiday" \
	"   FROM o, m, t, attendance_dates(m.first, " last ") g) c)"

#define NOW_INSTANT \
	"to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define INSTANT(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

const char *const rc_reports_monthly_columns[] = {
	"user_id", "name", "email", "role", "present", "late", "absent",
	"leave", "holiday", "weekend", "worked_minutes", "worked_hours", NULL,
};

/* The monthly report reads the month's stored rows of the rollup
 * (sql/010_attendance_rollup.sql) and no person x date product: a day
 * without a stored row is a plain day, whose status is the calendar's
 * alone and the same for everyone, so each person's figures are what
 * their stored rows say plus the calendar's counts (cal):
 *   holiday, weekend: every holiday, every other weekend day, whatever
 *     was done on it (attendance_days() puts those statuses first);
 *   absent: the working days up to today, less the ones with a stored
 *     present, late or on_leave (a stored row without a status is absent
 *     too: worked minutes from a pair carried over, no check-in);
 *   present, late, leave, worked minutes: from the stored rows.
 * tests/api/test_rollup.py holds it equal to the same report made from
 * attendance_days() day by day. A half day is worth 0.5 of leave whether
 * the person stayed away (on_leave) or came in for the other half. */
const struct rc_db_stmt rc_reports_sql_monthly = {
	"reports_monthly",
	"WITH " REPORT_ORG ","
	" " REPORT_MONTH ","
	" " REPORT_HALF_DAYS ","
	" " REPORT_TODAY ","
	" " REPORT_CALENDAR("m.last") ","
	" st AS (SELECT r.user_id,"
	"  count(*) FILTER (WHERE r.status = 'present') AS present,"
	"  count(*) FILTER (WHERE r.status = 'late') AS late,"
	"  count(*) FILTER (WHERE r.status IN ('present', 'late', 'on_leave')"
	"   AND r.date <= t.today) AS not_absent,"
	"  sum(CASE WHEN hd.user_id IS NOT NULL AND r.status IN"
	"   ('on_leave', 'present', 'late') THEN 0.5 WHEN r.status ="
	"   'on_leave' THEN 1 END) AS leave,"
	"  sum(r.worked_minutes) AS worked_minutes"
	"  FROM o CROSS JOIN m CROSS JOIN t JOIN attendance_rollup r"
	"  ON r.org_id = o.id AND r.date BETWEEN m.first AND m.last"
	"  LEFT JOIN hd ON hd.user_id = r.user_id AND hd.date = r.date"
	"  GROUP BY r.user_id),"
	" per AS (SELECT u.id, u.name, u.email, u.role,"
	"  COALESCE(st.present, 0) AS present, COALESCE(st.late, 0) AS late,"
	"  cal.to_date - COALESCE(st.not_absent, 0) AS absent,"
	"  COALESCE(st.leave, 0) AS leave, cal.holiday, cal.weekend,"
	"  COALESCE(st.worked_minutes, 0)::int AS worked_minutes"
	"  FROM o JOIN users u ON u.org_id = o.id AND u.status = 'active'"
	"  CROSS JOIN cal LEFT JOIN st ON st.user_id = u.id)"
	" SELECT json_build_object('org', " REPORT_ORG_JSON ","
	" 'month', m.month, 'from', m.first, 'to', m.last,"
	" 'working_days', cal.working, 'generated_at', " NOW_INSTANT ","
	" 'rows', COALESCE((SELECT json_agg(json_build_object("
	"  'user_id', p.id, 'name', p.name, 'email', p.email, 'role', p.role,"
	"  'present', p.present, 'late', p.late, 'absent', p.absent,"
	"  'leave', p.leave, 'holiday', p.holiday, 'weekend', p.weekend,"
	"  'worked_minutes', p.worked_minutes,"
	"  'worked_hours', round(p.worked_minutes / 60.0, 2))"
	"  ORDER BY p.name, p.email, p.id) FROM per p), '[]'))::text"
	" FROM o, m, cal",
	3,
};

/* t: the day ($3, or today in the org's zone); in_now only means "here
 * now" for today: an open pair on a past day is a missed check-out. */
const struct rc_db_stmt rc_reports_sql_daily = {
	"reports_daily",
	"WITH " REPORT_ORG ","
	" t AS (SELECT COALESCE($3::date, (now() AT TIME ZONE o.timezone)"
	"  ::date) AS day, (now() AT TIME ZONE o.timezone)::date AS today"
	"  FROM o),"
	" d AS (SELECT a.*, u.name, u.email, u.role,"
	"  a.open_pair AND t.day = t.today AS in_now"
	"  FROM o CROSS JOIN t CROSS JOIN LATERAL"
	"  attendance_days(o.id, t.day, t.day) a"
	"  JOIN users u ON u.id = a.user_id"
	"  WHERE $4::uuid IS NULL OR u.manager_id = $4::uuid)"
	" SELECT json_build_object('org', " REPORT_ORG_JSON ", 'date', t.day,"
	" 'summary', (SELECT json_build_object("
	"  'present', count(*) FILTER (WHERE status = 'present'),"
	"  'late', count(*) FILTER (WHERE status = 'late'),"
	"  'absent', count(*) FILTER (WHERE status = 'absent'),"
	"  'on_leave', count(*) FILTER (WHERE status = 'on_leave'),"
	"  'holiday', count(*) FILTER (WHERE status = 'holiday'),"
	"  'weekend', count(*) FILTER (WHERE status = 'weekend'),"
	"  'in_now', count(*) FILTER (WHERE in_now)) FROM d),"
	" 'people', COALESCE((SELECT json_agg(json_build_object("
	"  'user_id', d.user_id, 'name', d.name, 'email', d.email,"
	"  'role', d.role, 'status', d.status,"
	"  'first_in', " INSTANT("d.first_in") ","
	"  'last_out', " INSTANT("d.last_out") ","
	"  'worked_minutes', d.worked_minutes, 'in_now', d.in_now)"
	"  ORDER BY d.name, d.email, d.user_id) FROM d), '[]'))::text"
	" FROM o, t",
	4,
};

#define KIND(k)	RC_REPORTS_SQL_INT(RC_REPORTS_ROW_##k)

/* The sheet's stored facts as typed rows (src/reports/reports-int.h
 * names the kinds and columns), the matrix made in C (sheet.c): building
 * the person x date product here, sorting it and json_agg'ing it per
 * person was ~120 ms of ~125 for 1,000 people. p numbers the active
 * people in the monthly report's order, so that the stored rows and half
 * days name a person by index; no ORDER BY (each row says where it goes).
 * The calendar is attendance_dates()' (its ROWS 31 keeps the plan small). */
const struct rc_db_stmt rc_reports_sql_sheet = {
	"reports_sheet",
	"WITH " REPORT_ORG ", " REPORT_MONTH ", " REPORT_HALF_DAYS ","
	" " REPORT_TODAY ","
	" p AS (SELECT u.id, u.name, u.email::text AS email, u.role,"
	"  (row_number() OVER (ORDER BY u.name, u.email, u.id) - 1)::int AS ix"
	"  FROM o JOIN users u ON u.org_id = o.id AND u.status = 'active')"
	" SELECT " KIND(ORG) "::int, NULL::int, m.last - m.first + 1, o.id,"
	"  o.name, o.slug, o.timezone::text, m.month, t.today - m.first,"
	"  NULL::bool, NULL::bool, m.first FROM o, m, t"
	" UNION ALL SELECT " KIND(DATE) ", NULL, g - m.first, NULL, NULL, NULL,"
	"  NULL, NULL, NULL, EXISTS (SELECT 1 FROM holidays h"
	"  WHERE h.org_id = o.id AND h.date = g),"
	"  extract(isodow FROM g)::int = ANY (o.weekend_days), NULL"
	"  FROM o, m, attendance_dates(m.first, m.last) g"
	" UNION ALL SELECT " KIND(PERSON) ", p.ix, NULL, p.id, p.name, p.email,"
	"  p.role, NULL, NULL, NULL, NULL, NULL FROM p"
	" UNION ALL SELECT " KIND(STORED) ", p.ix, r.date - m.first, NULL,"
	"  r.status, NULL, NULL, NULL, r.worked_minutes, NULL, NULL, NULL"
	"  FROM o CROSS JOIN m JOIN attendance_rollup r ON r.org_id = o.id"
	"  AND r.date BETWEEN m.first AND m.last JOIN p ON p.id = r.user_id"
	" UNION ALL SELECT " KIND(HALF) ", p.ix, hd.date - m.first, NULL, NULL,"
	"  NULL, NULL, NULL, NULL, NULL, NULL, NULL"
	"  FROM m CROSS JOIN hd JOIN p ON p.id = hd.user_id",
	3,
};
