/* The monthly attendance sheet made in C: the typed rows of
 * rc_reports_sql_sheet (what is stored) read into a people x days matrix
 * by attendance_days_rollup()'s and the monthly report's rules, and its
 * JSON. The CSV is written from the same matrix (format.c). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/db.h"
#include "rollcall/json.h"
#include "rollcall/reports.h"

#include "reports-int.h"

/* A cell without a stored status yet: the calendar's (a plain day). */
#define DAY_PLAIN	0xff

static const char *const day_names[] = {
	[RC_REPORTS_DAY_PRESENT] = "present", [RC_REPORTS_DAY_LATE] = "late",
	[RC_REPORTS_DAY_ABSENT] = "absent",
	[RC_REPORTS_DAY_ON_LEAVE] = "on_leave",
	[RC_REPORTS_DAY_HALF_DAY] = "half_day",
	[RC_REPORTS_DAY_HOLIDAY] = "holiday",
	[RC_REPORTS_DAY_WEEKEND] = "weekend",
};

const char *
rc_reports_day_name(enum rc_reports_day d)
{
	return (size_t)d < RC_NELEM(day_names) ? day_names[d] : NULL;
}

/* A stored status; NULL (none: absent with minutes) stays plain. */
static unsigned char
day_of_name(const PGresult *res, int row, int col)
{
	const char *s = PQgetvalue(res, row, col);
	size_t i;

	if (PQgetisnull(res, row, col))
		return DAY_PLAIN;
	for (i = 1; i < RC_NELEM(day_names); i++)
		if (strcmp(s, day_names[i]) == 0)
			return (unsigned char)i;
	return DAY_PLAIN;
}

/* An int column; -1 for NULL (no index or count here is negative). */
static int64_t
int_at(const PGresult *res, int row, enum rc_reports_sheet_col col)
{
	return PQgetisnull(res, row, col) ? -1 : rc_db_bin_int(res, row, col);
}

static const char *
text_at(const PGresult *res, int row, enum rc_reports_sheet_col col)
{
	return PQgetvalue(res, row, col);
}

/* What reading needs besides the sheet: the calendar's plain status of
 * each date, today's index and which cells are approved half days. */
struct reader {
	struct rc_reports_sheet	*s;
	const PGresult		*res;
	int			 today;
	unsigned char		*plain;		/* [day] */
	unsigned char		*half;		/* [person][day] */
};

/* The cell of row's person and day into *c; false when it is outside
 * the sheet. */
static int
cell_at(const struct reader *rd, int row, size_t *c)
{
	int64_t ix = int_at(rd->res, row, RC_REPORTS_COL_IX);
	int64_t day = int_at(rd->res, row, RC_REPORTS_COL_DAY);

	if (ix < 0 || (size_t)ix >= rd->s->npeople || day < 0 ||
	    day >= rd->s->ndays)
		return 0;
	*c = (size_t)ix * (size_t)rd->s->ndays + (size_t)day;
	return 1;
}

/* The org row (RC_ERR when there is none), and the number of people. */
static rc_status
read_org(struct reader *rd)
{
	struct rc_reports_sheet *s = rd->s;
	const PGresult *res = rd->res;
	int i, org = -1;

	for (i = 0; i < PQntuples(res); i++) {
		if (int_at(res, i, RC_REPORTS_COL_KIND) == RC_REPORTS_ROW_ORG)
			org = i;
		else if (int_at(res, i, RC_REPORTS_COL_KIND) ==
		    RC_REPORTS_ROW_PERSON)
			s->npeople++;
	}
	if (org < 0 || PQgetisnull(res, org, RC_REPORTS_COL_DATE))
		return RC_ERR;
	s->ndays = (int)int_at(res, org, RC_REPORTS_COL_DAY);
	s->org_id = rc_db_bin_uuid(res, org, RC_REPORTS_COL_ID);
	s->org_name = text_at(res, org, RC_REPORTS_COL_T1);
	s->org_slug = text_at(res, org, RC_REPORTS_COL_T2);
	s->timezone = text_at(res, org, RC_REPORTS_COL_T3);
	s->month = text_at(res, org, RC_REPORTS_COL_T4);
	rd->today = (int)rc_db_bin_int(res, org, RC_REPORTS_COL_N);
	s->first = rc_db_bin_date(res, org, RC_REPORTS_COL_DATE);
	assert(s->ndays >= 28 && s->ndays <= 31);	/* a month's dates */
	return RC_OK;
}

/* A date without a stored row: holiday, weekend, else absent up to
 * today (attendance_days_rollup()'s order); null after today anyway. */
static void
read_date(struct reader *rd, int row)
{
	int64_t day = int_at(rd->res, row, RC_REPORTS_COL_DAY);

	if (day < 0 || day >= rd->s->ndays)
		return;
	if (rc_db_bin_bool(rd->res, row, RC_REPORTS_COL_HOLIDAY))
		rd->plain[day] = RC_REPORTS_DAY_HOLIDAY;
	else if (rc_db_bin_bool(rd->res, row, RC_REPORTS_COL_WEEKEND))
		rd->plain[day] = RC_REPORTS_DAY_WEEKEND;
	else
		rd->plain[day] = RC_REPORTS_DAY_ABSENT;
}

static void
read_person(struct reader *rd, int row)
{
	int64_t ix = int_at(rd->res, row, RC_REPORTS_COL_IX);
	struct rc_reports_sheet_person *p;

	if (ix < 0 || (size_t)ix >= rd->s->npeople)
		return;
	p = &rd->s->people[ix];
	p->id = rc_db_bin_uuid(rd->res, row, RC_REPORTS_COL_ID);
	p->name = text_at(rd->res, row, RC_REPORTS_COL_T1);
	p->email = text_at(rd->res, row, RC_REPORTS_COL_T2);
	p->role = text_at(rd->res, row, RC_REPORTS_COL_T3);
}

static void
read_row(struct reader *rd, int row)
{
	size_t c;

	switch (int_at(rd->res, row, RC_REPORTS_COL_KIND)) {
	case RC_REPORTS_ROW_DATE:
		read_date(rd, row);
		break;
	case RC_REPORTS_ROW_PERSON:
		read_person(rd, row);
		break;
	case RC_REPORTS_ROW_STORED:
		if (!cell_at(rd, row, &c))
			break;
		rd->s->status[c] = day_of_name(rd->res, row, RC_REPORTS_COL_T1);
		rd->s->minutes[c] = (int32_t)int_at(rd->res, row,
		    RC_REPORTS_COL_N);
		break;
	case RC_REPORTS_ROW_HALF:
		if (cell_at(rd, row, &c))
			rd->half[c] = 1;
		break;
	}
}

/* Totals' indexes in rc_reports_sheet_totals' order. */
enum { T_PRESENT, T_LATE, T_ABSENT, T_ON_LEAVE, T_HALF_DAY, T_HOLIDAY,
    T_WEEKEND };

/* A person's days made final and counted: the plain ones from the
 * calendar, half_day over on_leave/present/late (as the monthly report's
 * 0.5 of leave), nothing after today. Totals as the monthly report's:
 * present/late/on_leave/half_day and minutes from the stored rows up to
 * today; absent = the working days up to today less those; holidays and
 * weekend days up to today from the calendar alone. */
static void
finish_person(struct reader *rd, size_t ix)
{
	struct rc_reports_sheet *s = rd->s;
	int64_t *t = s->people[ix].totals.count, working = 0;
	size_t c = ix * (size_t)s->ndays;
	unsigned char *st;
	int d;

	for (d = 0; d < s->ndays; d++, c++) {
		st = &s->status[c];
		if (d > rd->today) {
			*st = RC_REPORTS_DAY_NONE;
			s->minutes[c] = -1;
			continue;
		}
		working += rd->plain[d] == RC_REPORTS_DAY_ABSENT;
		t[T_HOLIDAY] += rd->plain[d] == RC_REPORTS_DAY_HOLIDAY;
		t[T_WEEKEND] += rd->plain[d] == RC_REPORTS_DAY_WEEKEND;
		if (*st == DAY_PLAIN)
			*st = rd->plain[d];
		if (rd->half[c] && (*st == RC_REPORTS_DAY_ON_LEAVE ||
		    *st == RC_REPORTS_DAY_PRESENT || *st == RC_REPORTS_DAY_LATE))
			*st = RC_REPORTS_DAY_HALF_DAY;
		t[T_PRESENT] += *st == RC_REPORTS_DAY_PRESENT;
		t[T_LATE] += *st == RC_REPORTS_DAY_LATE;
		t[T_ON_LEAVE] += *st == RC_REPORTS_DAY_ON_LEAVE;
		t[T_HALF_DAY] += *st == RC_REPORTS_DAY_HALF_DAY;
		s->people[ix].totals.worked_minutes += s->minutes[c];
	}
	t[T_ABSENT] = working - t[T_PRESENT] - t[T_LATE] - t[T_ON_LEAVE] -
	    t[T_HALF_DAY];
}

rc_status
rc_reports_sheet_read(struct rc_reports_sheet *s, const PGresult *res)
{
	struct reader rd = { s, res, 0, NULL, NULL };
	size_t cells, i;
	int row;

	memset(s, 0, sizeof(*s));
	if (read_org(&rd) != RC_OK) {
		memset(s, 0, sizeof(*s));
		return RC_ERR;
	}
	cells = s->npeople * (size_t)s->ndays;
	s->people = rc_calloc(s->npeople + 1, sizeof(*s->people));
	s->status = rc_malloc(cells + 1);
	memset(s->status, DAY_PLAIN, cells);
	s->minutes = rc_calloc(cells + 1, sizeof(*s->minutes));
	rd.plain = rc_calloc((size_t)s->ndays, 1);
	rd.half = rc_calloc(cells + 1, 1);
	for (row = 0; row < PQntuples(res); row++)
		read_row(&rd, row);
	for (i = 0; i < s->npeople; i++)
		finish_person(&rd, i);
	free(rd.half);
	free(rd.plain);
	return RC_OK;
}

void
rc_reports_sheet_cleanup(struct rc_reports_sheet *s)
{
	free(s->people);
	free(s->status);
	free(s->minutes);
	memset(s, 0, sizeof(*s));
}

/* ---- JSON ------------------------------------------------------------ */

/* Members of one line each: "key": "text" | uuid. */
static void
put_text(struct rc_json *w, const char *key, const char *text)
{
	rc_json_key(w, key);
	rc_json_cstring(w, text);
}

static void
put_uuid(struct rc_json *w, const char *key, const unsigned char *id)
{
	rc_json_key(w, key);
	rc_json_uuid(w, id);
}

static void
person_days_json(const struct rc_reports_sheet *s, size_t ix,
    struct rc_json *w)
{
	size_t c = ix * (size_t)s->ndays;
	int d;

	rc_json_key(w, "statuses");
	rc_json_array_begin(w);
	for (d = 0; d < s->ndays; d++) {
		if (s->status[c + d] == RC_REPORTS_DAY_NONE)
			rc_json_null(w);
		else
			rc_json_cstring(w, rc_reports_day_name(
			    s->status[c + d]));
	}
	rc_json_array_end(w);
	rc_json_key(w, "worked_minutes");
	rc_json_array_begin(w);
	for (d = 0; d < s->ndays; d++) {
		if (s->minutes[c + d] < 0)
			rc_json_null(w);
		else
			rc_json_int(w, s->minutes[c + d]);
	}
	rc_json_array_end(w);
}

static void
person_json(const struct rc_reports_sheet *s, size_t ix, struct rc_json *w)
{
	const struct rc_reports_sheet_person *p = &s->people[ix];
	size_t i;

	rc_json_object_begin(w);
	put_uuid(w, "user_id", p->id);
	put_text(w, "name", p->name);
	put_text(w, "email", p->email);
	put_text(w, "role", p->role);
	person_days_json(s, ix, w);
	rc_json_key(w, "totals");
	rc_json_object_begin(w);
	for (i = 0; rc_reports_sheet_totals[i] != NULL; i++) {
		rc_json_key(w, rc_reports_sheet_totals[i]);
		rc_json_int(w, p->totals.count[i]);
	}
	rc_json_key(w, "worked_minutes");
	rc_json_int(w, p->totals.worked_minutes);
	rc_json_object_end(w);
	rc_json_object_end(w);
}

void
rc_reports_sheet_json(const struct rc_reports_sheet *s, struct rc_json *w)
{
	size_t i;
	int d;

	rc_json_object_begin(w);
	put_text(w, "month", s->month);
	put_text(w, "timezone", s->timezone);
	rc_json_key(w, "org");
	rc_json_object_begin(w);
	put_uuid(w, "id", s->org_id);
	put_text(w, "name", s->org_name);
	put_text(w, "slug", s->org_slug);
	rc_json_object_end(w);
	rc_json_key(w, "days");
	rc_json_array_begin(w);
	for (d = 0; d < s->ndays; d++)
		rc_json_date(w, s->first + d);
	rc_json_array_end(w);
	rc_json_key(w, "rows");
	rc_json_array_begin(w);
	for (i = 0; i < s->npeople; i++)
		person_json(s, i, w);
	rc_json_array_end(w);
	rc_json_object_end(w);
}
