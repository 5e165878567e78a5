/* Checks of the text forms that requests and commands carry: UUIDs,
 * calendar dates and instants. One place, so that every route and command
 * accepts exactly the same spellings. */
#include <string.h>

#include "rollcall/util.h"

int
rc_util_uuid_valid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	size_t i;

	if (s == NULL || strlen(s) != sizeof(shape) - 1)
		return 0;
	for (i = 0; shape[i] != '\0'; i++) {
		char c = s[i];

		if (shape[i] == '-') {
			if (c != '-')
				return 0;
		} else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
		    (c >= 'A' && c <= 'F'))) {
			return 0;
		}
	}
	return 1;
}

static int
digits(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return 0;
	return 1;
}

static int
two(const char *s)
{
	return (s[0] - '0') * 10 + (s[1] - '0');
}

/* "YYYY-MM-DD" at the start of s, a real date of the years 1900..2999. */
static int
date_prefix_valid(const char *s)
{
	static const int mdays[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };
	int y, m, d, leap;

	if (!digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) ||
	    s[7] != '-' || !digits(s + 8, 2))
		return 0;
	y = two(s) * 100 + two(s + 2);
	m = two(s + 5);
	d = two(s + 8);
	leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return y >= 1900 && y <= 2999 && m >= 1 && m <= 12 && d >= 1 &&
	    d <= mdays[m - 1] + (m == 2 && leap);
}

int
rc_util_date_valid(const char *s)
{
	return s != NULL && strlen(s) == 10 && date_prefix_valid(s);
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil). */
static long
days_from_civil(long y, long m, long d)
{
	long era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

int
rc_util_date_days(const char *s, long *days)
{
	if (!rc_util_date_valid(s))
		return 0;
	*days = days_from_civil(two(s) * 100 + two(s + 2), two(s + 5),
	    two(s + 8));
	return 1;
}

/* RFC 3339 5.6 date-time: full-date "T" HH:MM:SS[.frac] ("Z" | ±HH:MM);
 * "t" and "z" are allowed too (5.6, note). Seconds may be 60 (a leap
 * second; PostgreSQL carries it into the next minute). */
int
rc_util_instant_valid(const char *s)
{
	size_t n, i = 19;

	if (s == NULL)
		return 0;
	n = strlen(s);
	if (n < 20 || !date_prefix_valid(s) || (s[10] != 'T' && s[10] != 't') ||
	    !digits(s + 11, 2) || s[13] != ':' || !digits(s + 14, 2) ||
	    s[16] != ':' || !digits(s + 17, 2) || two(s + 11) > 23 ||
	    two(s + 14) > 59 || two(s + 17) > 60)
		return 0;
	if (s[i] == '.') {
		for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
			;
		if (i == 20 || i > 26)	/* 1..6 digits: microseconds */
			return 0;
	}
	if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z'))
		return 1;
	return i + 6 == n && (s[i] == '+' || s[i] == '-') &&
	    digits(s + i + 1, 2) && s[i + 3] == ':' && digits(s + i + 4, 2) &&
	    two(s + i + 1) <= 23 && two(s + i + 4) <= 59;
}
