/* Reading values of results in PostgreSQL's binary format (the type's
 * send function: network byte order; timestamptz and date counted from
 * 2000-01-01, PostgreSQL's epoch). */
#include <string.h>

#include "rollcall/db.h"

/* 2000-01-01 minus 1970-01-01. */
#define PG_EPOCH_DAYS	10957
#define PG_EPOCH_USEC	((int64_t)PG_EPOCH_DAYS * 86400 * 1000000)

static uint64_t
be(const PGresult *res, int row, int col, int size)
{
	const unsigned char *p;
	uint64_t v = 0;
	int i;

	if (PQgetlength(res, row, col) != size)
		return 0;
	p = (const unsigned char *)PQgetvalue(res, row, col);
	for (i = 0; i < size; i++)
		v = v << 8 | p[i];
	return v;
}

int
rc_db_bin_bool(const PGresult *res, int row, int col)
{
	return be(res, row, col, 1) != 0;
}

int64_t
rc_db_bin_int(const PGresult *res, int row, int col)
{
	switch (PQgetlength(res, row, col)) {
	case 2:
		return (int16_t)be(res, row, col, 2);
	case 4:
		return (int32_t)be(res, row, col, 4);
	default:
		return (int64_t)be(res, row, col, 8);
	}
}

double
rc_db_bin_float(const PGresult *res, int row, int col)
{
	uint64_t v8;
	uint32_t v4;
	double d;
	float f;

	if (PQgetlength(res, row, col) == 4) {
		v4 = (uint32_t)be(res, row, col, 4);
		memcpy(&f, &v4, sizeof(f));
		return f;
	}
	v8 = be(res, row, col, 8);
	memcpy(&d, &v8, sizeof(d));
	return d;
}

int64_t
rc_db_bin_time(const PGresult *res, int row, int col)
{
	int64_t t = (int64_t)be(res, row, col, 8);

	if (t == INT64_MAX || t == INT64_MIN)
		return t;
	return t + PG_EPOCH_USEC;
}

int32_t
rc_db_bin_date(const PGresult *res, int row, int col)
{
	int32_t d = (int32_t)be(res, row, col, 4);

	/* 'infinity' dates are INT32_MAX/MIN: kept, they never reach here
	 * from a calendar the API accepts. */
	if (d == INT32_MAX || d == INT32_MIN)
		return d;
	return d + PG_EPOCH_DAYS;
}

const unsigned char *
rc_db_bin_uuid(const PGresult *res, int row, int col)
{
	if (PQgetlength(res, row, col) != 16)
		return NULL;
	return (const unsigned char *)PQgetvalue(res, row, col);
}
