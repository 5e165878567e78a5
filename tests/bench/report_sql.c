/* Prints one report statement of src/reports/queries.c, so that
 * tests/bench/reports.sh can EXPLAIN ANALYZE exactly what the route runs. */
#include <stdio.h>
#include <string.h>

#include "rollcall/db.h"
#include "rollcall/reports.h"

int
main(int argc, char **argv)
{
	const struct rc_db_stmt *s = NULL;

	if (argc == 2 && strcmp(argv[1], "monthly") == 0)
		s = &rc_reports_sql_monthly;
	else if (argc == 2 && strcmp(argv[1], "sheet") == 0)
		s = &rc_reports_sql_sheet;
	else if (argc == 2 && strcmp(argv[1], "daily") == 0)
		s = &rc_reports_sql_daily;
	if (s == NULL) {
		fprintf(stderr, "usage: report_sql monthly|sheet|daily\n");
		return 2;
	}
	puts(s->sql);
	return 0;
}
