/* libFuzzer driver: the report CSV writer (src/reports/format.c) round
 * trip. Outside text (names, e-mails, statuses: whatever people typed)
 * goes into a monthly report and a sheet; the CSV that comes out is read
 * back with a strict RFC 4180 reader of its own, and every field must be
 * the value that went in (a formula-looking text with its ' in front).
 * Input: values separated by NUL; a value's first byte says its type:
 * 'i' integer, 'r' real, 'n' null, 'b' true, anything else a string (the
 * rest of the value). */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rollcall/reports.h"
#include "rollcall/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_FIELDS	4096

struct csv {
	char	*field[MAX_FIELDS];
	size_t	 n;
	size_t	 row_end[MAX_FIELDS];	/* field count at each row's end */
	size_t	 nrows;
};

static void
csv_free(struct csv *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->field[i]);
}

/* RFC 4180: records end in CRLF (the last one too); a field is quoted
 * (quotes doubled inside) or holds no quote, comma, CR or LF. Aborts on
 * anything else: the writer must never produce it. */
static void
csv_read(struct csv *c, const char *s, size_t len)
{
	const char *end = s + len;
	char *f;
	size_t n;

	memset(c, 0, sizeof(*c));
	while (s < end) {
		if (c->n == MAX_FIELDS)
			abort();
		f = rc_malloc((size_t)(end - s) + 1);
		n = 0;
		if (*s == '"') {
			for (s++;; s++) {
				if (s == end)
					abort();	/* unterminated */
				if (*s == '"') {
					if (s + 1 < end && s[1] == '"')
						s++;
					else
						break;
				}
				f[n++] = *s;
			}
			s++;
		} else {
			for (; s < end && *s != ',' && *s != '\r'; s++) {
				if (*s == '"' || *s == '\n')
					abort();
				f[n++] = *s;
			}
		}
		f[n] = '\0';
		c->field[c->n++] = f;
		if (s < end && *s == ',') {
			s++;
			continue;
		}
		if (end - s < 2 || s[0] != '\r' || s[1] != '\n')
			abort();	/* a field must end in , or CRLF */
		s += 2;
		c->row_end[c->nrows++] = c->n;
	}
}

/* What the CSV must hold for v. */
static char *
expected(const json_t *v)
{
	char buf[64];
	const char *s;

	if (json_is_string(v)) {
		s = json_string_value(v);
		if (*s != '\0' && strchr("=+-@\t\r", *s) != NULL) {
			char *q = rc_malloc(strlen(s) + 2);

			q[0] = '\'';
			strcpy(q + 1, s);
			return q;
		}
		return rc_strdup(s);
	}
	if (json_is_integer(v))
		snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sizeof(buf), "%.15g", json_real_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, sizeof(buf), "%s", json_is_true(v) ? "true" :
		    "false");
	else
		buf[0] = '\0';
	return rc_strdup(buf);
}

static void
check_field(const struct csv *c, size_t i, const json_t *v)
{
	char *want = expected(v);

	if (i >= c->n || strcmp(c->field[i], want) != 0)
		abort();
	free(want);
}

/* One input value as JSON (a new reference). */
static json_t *
value_of(const char *s, size_t n)
{
	char *text = rc_strndup(s + (n > 0), n > 0 ? n - 1 : 0);
	json_t *v;
	double d;

	switch (n > 0 ? *s : 0) {
	case 'i':
		v = json_integer(strtoll(text, NULL, 10));
		break;
	case 'r':
		d = strtod(text, NULL);
		v = isfinite(d) ? json_real(d) : json_null();
		break;
	case 'n':
		v = json_null();
		break;
	case 'b':
		v = json_true();
		break;
	default:
		/* PostgreSQL text is UTF-8 without NUL; other bytes never
		 * reach the writer. */
		v = json_stringn(text, strlen(text));
		if (v == NULL)
			v = json_string("?");
		break;
	}
	free(text);
	return v;
}

static json_t *
values_of(const uint8_t *data, size_t size)
{
	json_t *a = json_array();
	const char *p = (const char *)data, *end = p + size, *nul;

	while (p <= end && json_array_size(a) < 512) {
		nul = memchr(p, '\0', (size_t)(end - p));
		if (nul == NULL)
			nul = end;
		json_array_append_new(a, value_of(p, (size_t)(nul - p)));
		p = nul + 1;
	}
	return a;
}

static void
monthly(const json_t *vals)
{
	json_t *report = json_object(), *rows = json_array(), *row = NULL;
	size_t i, ncol = 0, len, r, c;
	struct csv csv;
	char *out;

	while (rc_reports_monthly_columns[ncol] != NULL)
		ncol++;
	for (i = 0; i < json_array_size(vals); i++) {
		if (i % ncol == 0) {
			row = json_object();
			json_array_append_new(rows, row);
		}
		json_object_set(row, rc_reports_monthly_columns[i % ncol],
		    json_array_get(vals, i));
	}
	json_object_set_new(report, "rows", rows);
	out = rc_reports_monthly_csv(report, &len);
	if (out == NULL || strlen(out) != len)
		abort();
	csv_read(&csv, out, len);
	if (csv.nrows != json_array_size(rows) + 1 ||
	    csv.n != ncol * csv.nrows)
		abort();
	for (c = 0; c < ncol; c++)
		if (strcmp(csv.field[c], rc_reports_monthly_columns[c]) != 0)
			abort();
	json_array_foreach(rows, r, row)
		for (c = 0; c < ncol; c++)
			check_field(&csv, (r + 1) * ncol + c, json_object_get(
			    row, rc_reports_monthly_columns[c]));
	csv_free(&csv);
	free(out);
	json_decref(report);
}

/* A value as a person's text: strings as they are, anything else "". */
static const char *
text_of(const json_t *v)
{
	return json_is_string(v) ? json_string_value(v) : "";
}

static void
check_text(const struct csv *c, size_t i, const char *s)
{
	json_t *v = json_string(s);

	check_field(c, i, v);
	json_decref(v);
}

/* The sheet: the values as names and e-mails (two a person, as many as
 * csv_read holds), the dates of November 2026 with every status in turn,
 * 90 minutes each. */
static void
sheet(const json_t *vals)
{
	struct rc_reports_sheet s = { .month = "2026-11", .first = 20758,
	    .ndays = 30, .npeople = json_array_size(vals) / 2 };
	size_t i, d, len, width = 2 + 30 + 7 + 1;
	const char *name;
	struct csv csv;
	char *out;

	if (s.npeople > MAX_FIELDS / width - 1)
		s.npeople = MAX_FIELDS / width - 1;
	s.people = rc_calloc(s.npeople + 1, sizeof(*s.people));
	s.status = rc_calloc(s.npeople * 30 + 1, 1);
	for (i = 0; i < s.npeople; i++) {
		s.people[i].name = text_of(json_array_get(vals, 2 * i));
		s.people[i].email = text_of(json_array_get(vals, 2 * i + 1));
		s.people[i].totals.worked_minutes = 90;
	}
	for (i = 0; i < s.npeople * 30; i++)
		s.status[i] = (unsigned char)(i % (RC_REPORTS_DAY_WEEKEND + 1));
	out = rc_reports_sheet_csv(&s, &len);
	if (out == NULL || strlen(out) != len)
		abort();
	csv_read(&csv, out, len);
	if (csv.nrows != s.npeople + 1 || csv.n != csv.nrows * width)
		abort();
	for (i = 0; i < s.npeople; i++) {
		check_text(&csv, (i + 1) * width, s.people[i].name);
		check_text(&csv, (i + 1) * width + 1, s.people[i].email);
		for (d = 0; d < 30; d++) {
			name = rc_reports_day_name(s.status[i * 30 + d]);
			check_text(&csv, (i + 1) * width + 2 + d,
			    name != NULL ? name : "");
		}
		if (strcmp(csv.field[(i + 2) * width - 1], "1.5") != 0)
			abort();
	}
	csv_free(&csv);
	free(out);
	free(s.status);
	free(s.people);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *vals = values_of(data, size);

	monthly(vals);
	if (json_array_size(vals) >= 2)
		sheet(vals);
	json_decref(vals);
	return 0;
}
