/* Tests of what the report route and `rollcall export` share: month and
 * checks, the old system's "October 2018", file names, and the
 * RFC 4180 CSV writer. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "rollcall/reports.h"

static void
test_month_valid(void **state)
{
	(void)state;
	assert_true(rc_reports_month_valid("2026-10"));
	assert_true(rc_reports_month_valid("2026-01"));
	assert_true(rc_reports_month_valid("2026-12"));
	assert_false(rc_reports_month_valid("2026-13"));
	assert_false(rc_reports_month_valid("2026-00"));
	assert_false(rc_reports_month_valid("2026-1"));
	assert_false(rc_reports_month_valid("2026-1x"));
	assert_false(rc_reports_month_valid("2026/10"));
	assert_false(rc_reports_month_valid("1899-12"));
	assert_false(rc_reports_month_valid("12026-10"));
	assert_false(rc_reports_month_valid("2026-10-01"));
	assert_false(rc_reports_month_valid(""));
	assert_false(rc_reports_month_valid(NULL));
}

static void
test_month_from_words(void **state)
{
	char out[RC_REPORTS_MONTH_LEN];

	(void)state;
	assert_int_equal(rc_reports_month_from_words("October 2018", out), RC_OK);
	assert_string_equal(out, "2018-10");
	assert_int_equal(rc_reports_month_from_words("jan  2026", out), RC_OK);
	assert_string_equal(out, "2026-01");
	assert_int_equal(rc_reports_month_from_words("MAY 2026", out), RC_OK);
	assert_string_equal(out, "2026-05");
	assert_int_equal(rc_reports_month_from_words("december 1999", out),
	    RC_OK);
	assert_string_equal(out, "1999-12");
	assert_int_equal(rc_reports_month_from_words("Octo 2018", out), RC_ERR);
	assert_int_equal(rc_reports_month_from_words("Octember 2018", out),
	    RC_ERR);
	assert_int_equal(rc_reports_month_from_words("October", out), RC_ERR);
	assert_int_equal(rc_reports_month_from_words("October 18", out), RC_ERR);
	assert_int_equal(rc_reports_month_from_words("October 2018 ", out),
	    RC_ERR);
	assert_int_equal(rc_reports_month_from_words(" October 2018", out),
	    RC_ERR);
	assert_int_equal(rc_reports_month_from_words("2018-10", out), RC_ERR);
	assert_int_equal(rc_reports_month_from_words(NULL, out), RC_ERR);
}

static void
test_filename(void **state)
{
	char *n;

	(void)state;
	n = rc_reports_filename("rollcall", "acme", "2026-10", "csv");
	assert_string_equal(n, "rollcall-acme-2026-10.csv");
	free(n);
	n = rc_reports_filename("rollcall", "a\"b/c d", "2026-10", "json");
	assert_string_equal(n, "rollcall-a_b_c_d-2026-10.json");
	free(n);
}

static void
test_csv(void **state)
{
	json_t *rep = json_pack("{s:[{s:s, s:s, s:s, s:s, s:i, s:i, s:i, s:f,"
	    " s:i, s:i, s:i, s:f}, {s:s, s:s, s:s}]}", "rows",
	    "user_id", "u1", "name", "A \"Al\", Jr.\r\nX", "email", "a@x.test",
	    "role", "employee", "present", 17, "late", 1, "absent", 0,
	    "leave", 2.5, "holiday", 2, "weekend", 8, "worked_minutes", 8370,
	    "worked_hours", 139.5,
	    "user_id", "u2", "name", "Bjørn", "email", "b@x.test");
	const char *want =
	    "user_id,name,email,role,present,late,absent,leave,holiday,"
	    "weekend,worked_minutes,worked_hours\r\n"
	    "u1,\"A \"\"Al\"\", Jr.\r\nX\",a@x.test,employee,17,1,0,2.5,2,8,"
	    "8370,139.5\r\n"
	    "u2,Bjørn,b@x.test,,,,,,,,,\r\n";
	size_t len;
	char *csv;

	(void)state;
	assert_non_null(rep);
	csv = rc_reports_monthly_csv(rep, &len);
	assert_non_null(csv);
	assert_string_equal(csv, want);
	assert_int_equal(len, strlen(want));
	free(csv);
	json_decref(rep);
	rep = json_object();
	assert_null(rc_reports_monthly_csv(rep, &len));
	json_decref(rep);
}

/* Any rows by named columns (the question results): absent and null are
 * empty, booleans written out, a formula quoted; rows that are no array
 * are refused. */
static void
test_rows_csv(void **state)
{
	static const char *const cols[] = { "name", "best_score",
	    "pending_review", "last_submitted_at", NULL };
	json_t *rows = json_pack("[{s:s, s:i, s:b, s:s}, {s:s, s:n}]",
	    "name", "=1+1", "best_score", 7, "pending_review", 1,
	    "last_submitted_at", "2026-12-01T09:00:00Z",
	    "name", "Zoë, B", "best_score");
	const char *want = "name,best_score,pending_review,last_submitted_at\r\n"
	    "\"'=1+1\",7,true,2026-12-01T09:00:00Z\r\n"
	    "\"Zoë, B\",,,\r\n";
	size_t len;
	char *csv;

	(void)state;
	assert_non_null(rows);
	csv = rc_reports_rows_csv(rows, cols, &len);
	assert_non_null(csv);
	assert_string_equal(csv, want);
	assert_int_equal(len, strlen(want));
	free(csv);
	json_decref(rows);
	rows = json_object();
	assert_null(rc_reports_rows_csv(rows, cols, &len));
	json_decref(rows);
}

/* The sheet: a status per date (empty for null), totals, hours; and no
 * text a spreadsheet would run as a formula. */
static void
test_sheet_csv(void **state)
{
	struct rc_reports_sheet_person people[2] = {
		{ NULL, "=HYPERLINK(\"x\")", "+a@x.test", "employee",
		    { { 0, 0, 0, 0, 1, 0, 1 }, 245 } },
		{ NULL, "-1", "@b", "intern", { { 0 }, 0 } },
	};
	unsigned char status[6] = { RC_REPORTS_DAY_WEEKEND,
	    RC_REPORTS_DAY_HALF_DAY, RC_REPORTS_DAY_NONE, RC_REPORTS_DAY_NONE,
	    RC_REPORTS_DAY_NONE, RC_REPORTS_DAY_NONE };
	struct rc_reports_sheet sheet = {
		.month = "2026-11", .first = 20758, .ndays = 3, .npeople = 2,
		.people = people, .status = status,
	};
	const char *want =
	    "name,email,2026-11-01,2026-11-02,2026-11-03,present,late,absent,"
	    "on_leave,half_day,holiday,weekend,worked_hours\r\n"
	    "\"'=HYPERLINK(\"\"x\"\")\",\"'+a@x.test\",weekend,half_day,,0,0,0,"
	    "0,1,0,1,4.08\r\n"
	    "\"'-1\",\"'@b\",,,,0,0,0,0,0,0,0,0\r\n";
	size_t len;
	char *csv;

	(void)state;
	csv = rc_reports_sheet_csv(&sheet, &len);
	assert_non_null(csv);
	assert_string_equal(csv, want);
	assert_int_equal(len, strlen(want));
	free(csv);
	sheet.npeople = 0;
	csv = rc_reports_sheet_csv(&sheet, &len);
	assert_string_equal(csv, "name,email,2026-11-01,2026-11-02,"
	    "2026-11-03,present,late,absent,on_leave,half_day,holiday,weekend,"
	    "worked_hours\r\n");
	free(csv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_month_valid),
		cmocka_unit_test(test_month_from_words),
		cmocka_unit_test(test_filename),
		cmocka_unit_test(test_csv),
		cmocka_unit_test(test_rows_csv),
		cmocka_unit_test(test_sheet_csv),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
