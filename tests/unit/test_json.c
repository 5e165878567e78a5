/* Tests of the JSON writer (src/json/writer.c): PostgreSQL's escaping,
 * instants and dates against libc's gmtime over 1900..2999 and at the
 * edges (before 1970, leap days, infinities), UUIDs, and where commas go. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "rollcall/json.h"

#define USEC	INT64_C(1000000)

/* The writer's text, NUL-terminated; cleans w. */
static char *
take(struct rc_json *w)
{
	char *s = malloc(w->len + 1);

	assert_non_null(s);
	memcpy(s, w->buf, w->len);
	s[w->len] = '\0';
	rc_json_cleanup(w);
	return s;
}

static void
assert_writes(struct rc_json *w, const char *want)
{
	char *got = take(w);

	assert_string_equal(got, want);
	free(got);
}

static void
test_escaping_is_postgres(void **state)
{
	/* What SELECT to_json(E'a\x01\x1f"\\/\b\f\n\r\t\x7fé€'::text)
	 * answers on PostgreSQL 15: / and DEL and UTF-8 as they are. */
	const char in[] = "a\x01\x1f\"\\/\b\f\n\r\t\x7f\xc3\xa9\xe2\x82\xac";
	struct rc_json w;

	(void)state;
	rc_json_init(&w);
	rc_json_string(&w, in, sizeof(in) - 1);
	assert_writes(&w, "\"a\\u0001\\u001f\\\"\\\\/\\b\\f\\n\\r\\t\x7f"
	    "\xc3\xa9\xe2\x82\xac\"");
	/* Embedded NUL cannot come from the database, but must not cut the
	 * value short either. */
	rc_json_init(&w);
	rc_json_string(&w, "a\0b", 3);
	assert_writes(&w, "\"a\\u0000b\"");
	rc_json_init(&w);
	rc_json_string(&w, "", 0);
	assert_writes(&w, "\"\"");
}

static void
test_structure_and_commas(void **state)
{
	static const unsigned char id[16] = { 0x0f, 0x95, 0x9a, 0x05, 0x2d,
	    0x95, 0x44, 0xcb, 0xb7, 0x6c, 0x46, 0x00, 0x44, 0x9f, 0x3f, 0xa8 };
	struct rc_json w;

	(void)state;
	rc_json_init(&w);
	rc_json_object_begin(&w);
	rc_json_key(&w, "items");
	rc_json_array_begin(&w);
	rc_json_object_begin(&w);
	rc_json_key(&w, "id");
	rc_json_uuid(&w, id);
	rc_json_key(&w, "n");
	rc_json_int(&w, INT64_MIN);
	rc_json_object_end(&w);
	rc_json_object_begin(&w);
	rc_json_object_end(&w);
	rc_json_array_begin(&w);
	rc_json_array_end(&w);
	rc_json_bool(&w, 1);
	rc_json_bool(&w, 0);
	rc_json_null(&w);
	rc_json_array_end(&w);
	rc_json_key(&w, "k\"\n");
	rc_json_cstring(&w, "v");
	rc_json_object_end(&w);
	assert_writes(&w, "{\"items\":[{\"id\":\"0f959a05-2d95-44cb-b76c-"
	    "4600449f3fa8\",\"n\":-9223372036854775808},{},[],true,false,"
	    "null],\"k\\\"\\n\":\"v\"}");
	/* Cleanup is safe twice, and on a writer that wrote nothing. */
	rc_json_cleanup(&w);
	rc_json_init(&w);
	rc_json_cleanup(&w);
}

static void
test_buffer_grows(void **state)
{
	struct rc_json w;
	char *s;
	int i;

	(void)state;
	rc_json_init(&w);
	rc_json_array_begin(&w);
	for (i = 0; i < 5000; i++)
		rc_json_int(&w, i);
	rc_json_array_end(&w);
	s = take(&w);
	assert_int_equal(strncmp(s, "[0,1,2,", 7), 0);
	assert_non_null(strstr(s, ",4998,4999]"));
	free(s);
}

static void
assert_time(int64_t usec, int micro, const char *want)
{
	char out[RC_JSON_TIME_MAX];

	assert_int_equal(rc_json_format_time(out, usec, micro), strlen(want));
	assert_string_equal(out, want);
}

static void
test_time_edges(void **state)
{
	struct rc_json w;

	(void)state;
	assert_time(0, 0, "1970-01-01T00:00:00Z");
	assert_time(0, 1, "1970-01-01T00:00:00.000000Z");
	/* The fraction is dropped, never rounded (to_char's HH24:MI:SS);
	 * before 1970 too: the instant's second, not the next one. */
	assert_time(999999, 0, "1970-01-01T00:00:00Z");
	assert_time(-1, 0, "1969-12-31T23:59:59Z");
	assert_time(-1, 1, "1969-12-31T23:59:59.999999Z");
	/* 2026-10-01T08:08:00.123456Z */
	assert_time(INT64_C(1790842080) * USEC + 123456, 1,
	    "2026-10-01T08:08:00.123456Z");
	/* Leap days: 2000 is one, 1900 and 2100 are not. */
	assert_time(INT64_C(951782400) * USEC, 0, "2000-02-29T00:00:00Z");
	assert_time(INT64_C(-2203891200) * USEC, 0, "1900-03-01T00:00:00Z");
	assert_time(INT64_C(4107542400) * USEC, 0, "2100-03-01T00:00:00Z");
	assert_time(INT64_C(253402300799) * USEC + 999999, 1,
	    "9999-12-31T23:59:59.999999Z");
	/* Infinities have no calendar: null, as to_char answers NULL. */
	assert_time(RC_JSON_TIME_INFINITY, 0, "");
	assert_time(RC_JSON_TIME_NEG_INFINITY, 1, "");
	rc_json_init(&w);
	rc_json_array_begin(&w);
	rc_json_time(&w, RC_JSON_TIME_INFINITY);
	rc_json_time(&w, 0);
	rc_json_array_end(&w);
	assert_writes(&w, "[null,\"1970-01-01T00:00:00Z\"]");
}

/* Every 7919th second... a spread of instants over 1900..2999 against
 * gmtime: a different algorithm, the same calendar. */
static void
test_time_matches_gmtime(void **state)
{
	const int64_t lo = INT64_C(-2208988800), hi = INT64_C(32503680000);
	char out[RC_JSON_TIME_MAX], want[64];
	int64_t t;
	struct tm tm;
	time_t tt;
	int n = 0;

	(void)state;
	for (t = lo; t < hi; t += INT64_C(86400) * 13 + 7919) {
		tt = (time_t)t;
		assert_non_null(gmtime_r(&tt, &tm));
		strftime(want, sizeof(want), "%Y-%m-%dT%H:%M:%SZ", &tm);
		rc_json_format_time(out, t * USEC + 250000, 0);
		assert_string_equal(out, want);
		n++;
	}
	assert_true(n > 30000);
}

static void
test_dates(void **state)
{
	char out[RC_JSON_DATE_MAX], want[32];
	struct rc_json w;
	struct tm tm;
	time_t tt;
	int32_t d;

	(void)state;
	assert_int_equal(rc_json_format_date(out, 0), 10);
	assert_string_equal(out, "1970-01-01");
	rc_json_format_date(out, -25567);
	assert_string_equal(out, "1900-01-01");
	rc_json_format_date(out, -1);
	assert_string_equal(out, "1969-12-31");
	rc_json_format_date(out, 2932896);
	assert_string_equal(out, "9999-12-31");
	for (d = -25567; d < 376200; d += 37) {
		tt = (time_t)d * 86400;
		assert_non_null(gmtime_r(&tt, &tm));
		strftime(want, sizeof(want), "%Y-%m-%d", &tm);
		rc_json_format_date(out, d);
		assert_string_equal(out, want);
	}
	rc_json_init(&w);
	rc_json_date(&w, 20727);
	assert_writes(&w, "\"2026-10-01\"");
}

static void
test_uuid_text(void **state)
{
	unsigned char b[16];
	char out[RC_JSON_UUID_MAX];
	int i;

	(void)state;
	for (i = 0; i < 16; i++)
		b[i] = (unsigned char)(0xf0 + i);
	rc_json_format_uuid(out, b);
	assert_string_equal(out, "f0f1f2f3-f4f5-f6f7-f8f9-fafbfcfdfeff");
	memset(b, 0, sizeof(b));
	rc_json_format_uuid(out, b);
	assert_string_equal(out, "00000000-0000-0000-0000-000000000000");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping_is_postgres),
		cmocka_unit_test(test_structure_and_commas),
		cmocka_unit_test(test_buffer_grows),
		cmocka_unit_test(test_time_edges),
		cmocka_unit_test(test_time_matches_gmtime),
		cmocka_unit_test(test_dates),
		cmocka_unit_test(test_uuid_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
