/* Internals shared by the reports module's files: what the sheet's
 * statement (queries.c) and its reader (sheet.c) agree a row is. */
#ifndef ROLLCALL_REPORTS_INT_H
#define ROLLCALL_REPORTS_INT_H

/* Column 0 of a row of rc_reports_sql_sheet: what the row is. */
#define RC_REPORTS_ROW_ORG	0	/* the org and the month, one row */
#define RC_REPORTS_ROW_DATE	1	/* a date's calendar */
#define RC_REPORTS_ROW_PERSON	2	/* an active person */
#define RC_REPORTS_ROW_STORED	3	/* a stored row of the rollup */
#define RC_REPORTS_ROW_HALF	4	/* an approved half day */

/* The kinds above as SQL literals. */
#define RC_REPORTS_SQL_INT_(n)	#n
#define RC_REPORTS_SQL_INT(n)	RC_REPORTS_SQL_INT_(n)

/* Its columns; each kind fills some (the others are NULL):
 *   ORG:    DAY the number of dates, ID, T1 name, T2 slug, T3 timezone,
 *           T4 month, N today's index (days after the first, negative
 *           before it), DATE the first date;
 *   DATE:   DAY its index, HOLIDAY, WEEKEND;
 *   PERSON: IX their index in the monthly report's order, ID, T1 name,
 *           T2 email, T3 role;
 *   STORED: IX, DAY, T1 status (NULL: absent, with minutes), N worked
 *           minutes;
 *   HALF:   IX, DAY. */
enum rc_reports_sheet_col {
	RC_REPORTS_COL_KIND, RC_REPORTS_COL_IX, RC_REPORTS_COL_DAY,
	RC_REPORTS_COL_ID, RC_REPORTS_COL_T1, RC_REPORTS_COL_T2,
	RC_REPORTS_COL_T3, RC_REPORTS_COL_T4, RC_REPORTS_COL_N,
	RC_REPORTS_COL_HOLIDAY, RC_REPORTS_COL_WEEKEND, RC_REPORTS_COL_DATE,
};

#endif
