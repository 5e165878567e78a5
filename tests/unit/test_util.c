/* Tests of the text checks every route and command shares (src/util/text.c):
 * UUIDs, calendar dates and RFC 3339 instants. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rollcall/util.h"

static void
test_uuid_valid(void **state)
{
	(void)state;
	assert_true(rc_util_uuid_valid("0b6a1c3e-8f2d-4a51-9c7e-2d4f6a8b0c1e"));
	assert_true(rc_util_uuid_valid("0B6A1C3E-8F2D-4A51-9C7E-2D4F6A8B0C1E"));
	assert_false(rc_util_uuid_valid("0b6a1c3e-8f2d-4a51-9c7e-2d4f6a8b0c1"));
	assert_false(rc_util_uuid_valid("0b6a1c3e-8f2d-4a51-9c7e-2d4f6a8b0c1e0"));
	assert_false(rc_util_uuid_valid("0b6a1c3e8f2d-4a51-9c7e-2d4f6a8b0c1e-"));
	assert_false(rc_util_uuid_valid("0b6a1c3g-8f2d-4a51-9c7e-2d4f6a8b0c1e"));
	assert_false(rc_util_uuid_valid("{b6a1c3e-8f2d-4a51-9c7e-2d4f6a8b0c1e"));
	assert_false(rc_util_uuid_valid(""));
	assert_false(rc_util_uuid_valid(NULL));
}

static void
test_date_valid(void **state)
{
	(void)state;
	assert_true(rc_util_date_valid("2026-10-31"));
	assert_true(rc_util_date_valid("2028-02-29"));
	assert_true(rc_util_date_valid("2000-02-29"));
	assert_false(rc_util_date_valid("1900-02-29"));
	assert_false(rc_util_date_valid("2026-02-29"));
	assert_false(rc_util_date_valid("2026-02-30"));
	assert_false(rc_util_date_valid("2026-04-31"));
	assert_false(rc_util_date_valid("2026-13-01"));
	assert_false(rc_util_date_valid("2026-10-00"));
	assert_false(rc_util_date_valid("2026-10-5"));
	assert_false(rc_util_date_valid("2026-10-05x"));
	assert_false(rc_util_date_valid("2026+10-05"));
	assert_true(rc_util_date_valid("2999-12-31"));
	assert_false(rc_util_date_valid("3000-01-01"));
	assert_false(rc_util_date_valid("1899-12-31"));
	assert_false(rc_util_date_valid(NULL));
}

static void
test_date_days(void **state)
{
	long d = 42;

	(void)state;
	assert_true(rc_util_date_days("1970-01-01", &d));
	assert_int_equal(d, 0);
	assert_true(rc_util_date_days("2026-12-02", &d));
	assert_int_equal(d, 20789);
	assert_true(rc_util_date_days("1900-03-01", &d));
	assert_int_equal(d, -25508);
	d = 42;
	assert_false(rc_util_date_days("2026-02-29", &d));
	assert_false(rc_util_date_days("3000-01-01", &d));
	assert_int_equal(d, 42);
}

static void
test_instant_valid(void **state)
{
	(void)state;
	assert_true(rc_util_instant_valid("2026-11-26T09:03:00Z"));
	assert_true(rc_util_instant_valid("2026-11-26t09:03:00z"));
	assert_true(rc_util_instant_valid("2026-11-26T09:03:00.123456+01:00"));
	assert_true(rc_util_instant_valid("2026-12-31T23:59:60Z"));
	assert_false(rc_util_instant_valid("2026-11-26T09:03:00.1234567Z"));
	assert_false(rc_util_instant_valid("2026-11-26T09:03:00.Z"));
	assert_false(rc_util_instant_valid("2026-11-26T24:00:00Z"));
	assert_false(rc_util_instant_valid("2026-11-26T09:03:00"));
	assert_false(rc_util_instant_valid("2026-11-26 09:03:00Z"));
	assert_false(rc_util_instant_valid("2026-02-30T09:03:00Z"));
	assert_false(rc_util_instant_valid("2026-11-26T09:03:00+0100"));
	assert_false(rc_util_instant_valid(NULL));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uuid_valid),
		cmocka_unit_test(test_date_valid),
		cmocka_unit_test(test_date_days),
		cmocka_unit_test(test_instant_valid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
