/* The JSON writer of include/rollcall/json.h: one growing buffer, no tree.
 * Calendar arithmetic is Howard Hinnant's days-from-civil inverse
 * ("chrono-Compatible Low-Level Date Algorithms"), exact for the
 * proleptic Gregorian calendar PostgreSQL uses. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/json.h"
#include "rollcall/util.h"

#define USEC_PER_SEC	INT64_C(1000000)
#define USEC_PER_DAY	(INT64_C(86400) * USEC_PER_SEC)

void
rc_json_init(struct rc_json *w)
{
	memset(w, 0, sizeof(*w));
}

void
rc_json_cleanup(struct rc_json *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

/* Room for n more bytes. */
static char *
reserve(struct rc_json *w, size_t n)
{
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 8192;	/* a page of 20 events: ~7 KB */

		while (cap < w->len + n)
			cap *= 2;
		w->buf = rc_realloc(w->buf, cap);
		w->cap = cap;
	}
	return w->buf + w->len;
}

static void
put(struct rc_json *w, const char *s, size_t n)
{
	memcpy(reserve(w, n), s, n);
	w->len += n;
}

static void
put_char(struct rc_json *w, char c)
{
	*reserve(w, 1) = c;
	w->len++;
}

/* Before a value or a key: the comma the previous one asked for. */
static void
separate(struct rc_json *w)
{
	if (w->comma)
		put_char(w, ',');
}

void
rc_json_object_begin(struct rc_json *w)
{
	separate(w);
	put_char(w, '{');
	w->comma = 0;
}

void
rc_json_object_end(struct rc_json *w)
{
	put_char(w, '}');
	w->comma = 1;
}

void
rc_json_array_begin(struct rc_json *w)
{
	separate(w);
	put_char(w, '[');
	w->comma = 0;
}

void
rc_json_array_end(struct rc_json *w)
{
	put_char(w, ']');
	w->comma = 1;
}

/* The string's escaped body, PostgreSQL's escape_json: the two JSON
 * must-escapes, the five short forms, every other control character as
 * \u00xx; the rest (including / and non-ASCII) as is. */
static void
put_escaped(struct rc_json *w, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, run = 0;

	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		char esc[6];
		size_t n = 2;

		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		put(w, s + run, i - run);
		run = i + 1;
		esc[0] = '\\';
		switch (c) {
		case '"': esc[1] = '"'; break;
		case '\\': esc[1] = '\\'; break;
		case '\b': esc[1] = 'b'; break;
		case '\f': esc[1] = 'f'; break;
		case '\n': esc[1] = 'n'; break;
		case '\r': esc[1] = 'r'; break;
		case '\t': esc[1] = 't'; break;
		default:
			memcpy(esc + 1, "u00", 3);
			esc[4] = hex[c >> 4];
			esc[5] = hex[c & 0xf];
			n = 6;
		}
		put(w, esc, n);
	}
	put(w, s + run, len - run);
}

void
rc_json_key(struct rc_json *w, const char *key)
{
	separate(w);
	put_char(w, '"');
	put_escaped(w, key, strlen(key));
	put(w, "\":", 2);
	w->comma = 0;
}

void
rc_json_null(struct rc_json *w)
{
	separate(w);
	put(w, "null", 4);
	w->comma = 1;
}

void
rc_json_bool(struct rc_json *w, int v)
{
	separate(w);
	if (v)
		put(w, "true", 4);
	else
		put(w, "false", 5);
	w->comma = 1;
}

void
rc_json_int(struct rc_json *w, int64_t v)
{
	char buf[24];
	int n = snprintf(buf, sizeof(buf), "%lld", (long long)v);

	separate(w);
	put(w, buf, (size_t)n);
	w->comma = 1;
}

void
rc_json_string(struct rc_json *w, const char *s, size_t len)
{
	separate(w);
	put_char(w, '"');
	put_escaped(w, s, len);
	put_char(w, '"');
	w->comma = 1;
}

void
rc_json_cstring(struct rc_json *w, const char *s)
{
	rc_json_string(w, s, strlen(s));
}

void
rc_json_format_uuid(char *out, const unsigned char b[16])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			*out++ = '-';
		*out++ = hex[b[i] >> 4];
		*out++ = hex[b[i] & 0xf];
	}
	*out = '\0';
}

void
rc_json_uuid(struct rc_json *w, const unsigned char b[16])
{
	char *p;

	separate(w);
	p = reserve(w, RC_JSON_UUID_MAX + 1);
	*p = '"';
	rc_json_format_uuid(p + 1, b);
	p[RC_JSON_UUID_MAX] = '"';
	w->len += RC_JSON_UUID_MAX + 1;
	w->comma = 1;
}

/* Days since 1970-01-01 → year, month 1..12, day 1..31. */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

/* Floor division: instants before 1970 fall on the day they are in. */
static int64_t
floor_div(int64_t a, int64_t b)
{
	return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* v as exactly n decimal digits (v < 10^n) at p; returns p + n. The
 * instants of a page are most of its bytes: no printf per field. */
static char *
digits(char *p, unsigned v, int n)
{
	int i;

	for (i = n - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + n;
}

/* "YYYY-MM-DD" at p for years 0..9999; returns the end. */
static char *
ymd(char *p, int y, int m, int d)
{
	p = digits(p, (unsigned)y, 4);
	*p++ = '-';
	p = digits(p, (unsigned)m, 2);
	*p++ = '-';
	return digits(p, (unsigned)d, 2);
}

size_t
rc_json_format_date(char *out, int32_t days)
{
	int64_t y;
	int m, d;

	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		/* PostgreSQL's dates end in year 5874897: seven digits fit. */
		return (size_t)snprintf(out, RC_JSON_DATE_MAX, "%04d-%02d-%02d",
		    (int)y, m, d);
	*ymd(out, (int)y, m, d) = '\0';
	return 10;
}

size_t
rc_json_format_time(char *out, int64_t usec, int micro)
{
	int64_t days, rem, y;
	int m, d;
	char *p;

	out[0] = '\0';
	if (usec == RC_JSON_TIME_INFINITY || usec == RC_JSON_TIME_NEG_INFINITY)
		return 0;
	days = floor_div(usec, USEC_PER_DAY);
	rem = usec - days * USEC_PER_DAY;
	civil_from_days(days, &y, &m, &d);
	if (y < 0 || y > 9999)
		return 0;
	p = ymd(out, (int)y, m, d);
	*p++ = 'T';
	p = digits(p, (unsigned)(rem / (3600 * USEC_PER_SEC)), 2);
	*p++ = ':';
	p = digits(p, (unsigned)(rem / (60 * USEC_PER_SEC) % 60), 2);
	*p++ = ':';
	p = digits(p, (unsigned)(rem / USEC_PER_SEC % 60), 2);
	if (micro) {
		*p++ = '.';
		p = digits(p, (unsigned)(rem % USEC_PER_SEC), 6);
	}
	*p++ = 'Z';
	*p = '\0';
	return (size_t)(p - out);
}

void
rc_json_time(struct rc_json *w, int64_t usec)
{
	char buf[RC_JSON_TIME_MAX];
	size_t n = rc_json_format_time(buf, usec, 0);

	if (n == 0) {
		rc_json_null(w);
		return;
	}
	separate(w);
	put_char(w, '"');
	put(w, buf, n);
	put_char(w, '"');
	w->comma = 1;
}

void
rc_json_date(struct rc_json *w, int32_t days)
{
	char buf[RC_JSON_DATE_MAX];
	size_t n = rc_json_format_date(buf, days);

	separate(w);
	put_char(w, '"');
	put(w, buf, n);
	put_char(w, '"');
	w->comma = 1;
}
