/* What the report route and the export share besides SQL: the checks of
 * months, the old system's "October 2018", file names and the
 * RFC 4180 CSV writer. */
#include <ctype.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "rollcall/json.h"
#include "rollcall/reports.h"

/* Parses exactly n digits at s; -1 when they are not digits. */
static int
digits(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

int
rc_reports_month_valid(const char *s)
{
	int y, m;

	if (s == NULL || strlen(s) != 7 || s[4] != '-')
		return 0;
	y = digits(s, 4);
	m = digits(s + 5, 2);
	return y >= 1900 && m >= 1 && m <= 12;
}

rc_status
rc_reports_month_from_words(const char *s, char out[RC_REPORTS_MONTH_LEN])
{
	static const char *const names[] = { "january", "february", "march",
	    "april", "may", "june", "july", "august", "september", "october",
	    "november", "december" };
	size_t len, i;
	const char *sp;
	int y;

	if (s == NULL || (sp = strchr(s, ' ')) == NULL)
		return RC_ERR;
	len = (size_t)(sp - s);
	while (*sp == ' ')
		sp++;
	if (strlen(sp) != 4 || (y = digits(sp, 4)) < 1900)
		return RC_ERR;
	for (i = 0; i < RC_NELEM(names); i++) {
		if ((len == strlen(names[i]) || len == 3) &&
		    strncasecmp(s, names[i], len) == 0)
			break;
	}
	if (i == RC_NELEM(names))
		return RC_ERR;
	memcpy(out, sp, 4);
	out[4] = '-';
	out[5] = (char)('0' + (i + 1) / 10);
	out[6] = (char)('0' + (i + 1) % 10);
	out[7] = '\0';
	return RC_OK;
}

char *
rc_reports_filename(const char *prefix, const char *slug, const char *month,
    const char *ext)
{
	char *name = rc_asprintf("%s-%s-%s.%s", prefix, slug, month, ext);
	char *p = name + strlen(prefix) + 1;

	for (; *slug != '\0'; slug++, p++)
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_')
			*p = '_';
	return name;
}

/* A growing output buffer. */
struct out {
	char	*buf;
	size_t	 len, cap;
};

static void
out_add(struct out *o, const char *s, size_t n)
{
	if (o->len + n + 1 > o->cap) {
		o->cap = (o->len + n + 1) * 2;
		o->buf = rc_realloc(o->buf, o->cap);
	}
	memcpy(o->buf + o->len, s, n);
	o->len += n;
	o->buf[o->len] = '\0';
}

/* One field; RFC 4180 2.6 and 2.7: quoted when it holds a comma, quote,
 * CR or LF, with each quote doubled. A text that a spreadsheet would run
 * as a formula (OWASP "CSV injection": a leading = + - @ tab or CR, as in
 * a name "=HYPERLINK(...)") is quoted with a ' in front, which shows it
 * as text. */
static void
out_field(struct out *o, const char *s)
{
	int formula = strchr("=+-@\t\r", *s) != NULL && *s != '\0';

	if (!formula && strpbrk(s, ",\"\r\n") == NULL) {
		out_add(o, s, strlen(s));
		return;
	}
	out_add(o, formula ? "\"'" : "\"", formula ? 2 : 1);
	for (; *s != '\0'; s++) {
		out_add(o, s, 1);
		if (*s == '"')
			out_add(o, "\"", 1);
	}
	out_add(o, "\"", 1);
}

/* A JSON value as CSV text: strings as they are, numbers in their
 * shortest exact form (151.25, not 151.250000), null as empty. */
static void
out_value(struct out *o, const json_t *v)
{
	char num[64];

	if (json_is_string(v))
		out_field(o, json_string_value(v));
	else if (json_is_integer(v))
		snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_real(v))
		snprintf(num, sizeof(num), "%.15g", json_real_value(v));
	else if (json_is_true(v) || json_is_false(v))
		snprintf(num, sizeof(num), "%s", json_is_true(v) ? "true" :
		    "false");
	else
		num[0] = '\0';
	if (!json_is_string(v))
		out_add(o, num, strlen(num));
}

char *
rc_reports_rows_csv(const json_t *rows, const char *const *columns,
    size_t *len)
{
	struct out o = { NULL, 0, 0 };
	const json_t *row;
	size_t i, c;

	if (!json_is_array(rows))
		return NULL;
	out_add(&o, "", 0);
	for (c = 0; columns[c] != NULL; c++) {
		if (c > 0)
			out_add(&o, ",", 1);
		out_field(&o, columns[c]);
	}
	out_add(&o, "\r\n", 2);
	json_array_foreach(rows, i, row) {
		for (c = 0; columns[c] != NULL; c++) {
			if (c > 0)
				out_add(&o, ",", 1);
			out_value(&o, json_object_get(row, columns[c]));
		}
		out_add(&o, "\r\n", 2);
	}
	*len = o.len;
	return o.buf;
}

char *
rc_reports_monthly_csv(const json_t *report, size_t *len)
{
	return rc_reports_rows_csv(json_object_get(report, "rows"),
	    rc_reports_monthly_columns, len);
}

const char *const rc_reports_sheet_totals[] = {
	"present", "late", "absent", "on_leave", "half_day", "holiday",
	"weekend", NULL,
};

/* The sheet's header: name, email, each date, the totals, worked_hours. */
static void
sheet_header(struct out *o, const struct rc_reports_sheet *s)
{
	char date[RC_JSON_DATE_MAX];
	size_t i;
	int d;

	out_field(o, "name");
	out_add(o, ",", 1);
	out_field(o, "email");
	for (d = 0; d < s->ndays; d++) {
		out_add(o, ",", 1);
		out_add(o, date, rc_json_format_date(date, s->first + d));
	}
	for (i = 0; rc_reports_sheet_totals[i] != NULL; i++) {
		out_add(o, ",", 1);
		out_field(o, rc_reports_sheet_totals[i]);
	}
	out_add(o, ",worked_hours\r\n", 15);
}

/* ",n" */
static void
out_int(struct out *o, int64_t v)
{
	char num[24];

	out_add(o, num, (size_t)snprintf(num, sizeof(num), ",%" PRId64, v));
}

static void
sheet_row(struct out *o, const struct rc_reports_sheet *s, size_t ix)
{
	const struct rc_reports_sheet_person *p = &s->people[ix];
	const unsigned char *st = s->status + ix * (size_t)s->ndays;
	const char *name;
	char num[64];
	size_t i;
	int d;

	out_field(o, p->name);
	out_add(o, ",", 1);
	out_field(o, p->email);
	for (d = 0; d < s->ndays; d++) {
		out_add(o, ",", 1);
		if ((name = rc_reports_day_name(st[d])) != NULL)
			out_add(o, name, strlen(name));	/* null: "" */
	}
	for (i = 0; rc_reports_sheet_totals[i] != NULL; i++)
		out_int(o, p->totals.count[i]);
	/* Hours to 2 decimals, as the monthly report's worked_hours, in
	 * out_value's form of a real. */
	snprintf(num, sizeof(num), ",%.15g", (double)llround(
	    (double)p->totals.worked_minutes * 100.0 / 60.0) / 100.0);
	out_add(o, num, strlen(num));
	out_add(o, "\r\n", 2);
}

char *
rc_reports_sheet_csv(const struct rc_reports_sheet *s, size_t *len)
{
	struct out o = { NULL, 0, 0 };
	size_t i;

	sheet_header(&o, s);
	for (i = 0; i < s->npeople; i++)
		sheet_row(&o, s, i);
	*len = o.len;
	return o.buf;
}
