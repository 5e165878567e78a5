/* The audit trail, read back: GET /audit lists an org's audit rows of a
 * time range, newest first. An admin sees their own org only; a superadmin
 * sees every row, or one org's with ?org_id=. The rows themselves are
 * written by the statements that make the changes (RC_REST_AUDIT_INSERT). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/rest.h"

#define WHEN_MAX	40	/* longer than any RFC 3339 instant we take */
#define FRACTION_MAX	9	/* nanoseconds; PostgreSQL rounds to micro */
#define ID_DIGITS_MAX	19	/* a bigint */
#define RANGE_MAX_DAYS	"366"

/* One audit row as the reply shows it, from audit_log l. */
#define AUDIT_JSON \
	"json_build_object('id', l.id, 'org_id', l.org_id, 'at', " \
	RC_REST_INSTANT("l.at") ", 'action', l.action, 'actor_id', l.actor_id," \
	" 'target_id', l.target_id, 'detail', l.detail, 'client', l.client," \
	" 'request_id', l.request_id)"

/* base64url("<at to the microsecond>|<id>") of the row p. */
#define AUDIT_CURSOR \
	"rtrim(translate(encode(convert_to(to_char(p.at AT TIME ZONE 'UTC'," \
	" 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '|' || p.id, 'UTF8')," \
	" 'base64'), E'+/\\n', '-_'), '=')"

/* $1 org (NULL: every org; its zone reads dates), $2/$3 from as an instant
 * or a date, $4/$5 to likewise, $6/$7 cursor, $8 limit. A date is a whole
 * day in the org's zone (UTC without one): from its first instant, to
 * after its last; an instant to is exclusive. Without to: now (or from, if
 * that is later: an empty range); without from: 30 days before to. One
 * row: an error ("order", "range") or the page as JSON text. The filter
 * is spelt out per statement so that each plan can use its index. */
#define AUDIT_SQL(filter) \
	"WITH z AS (SELECT COALESCE((SELECT timezone FROM orgs WHERE id =" \
	"  $1::uuid), 'UTC') AS tz)," \
	" f AS (SELECT COALESCE($2::timestamptz, $3::date::timestamp AT TIME" \
	"  ZONE z.tz) AS lo FROM z)," \
	" h AS (SELECT COALESCE($4::timestamptz, ($5::date + 1)::timestamp" \
	"  AT TIME ZONE z.tz, greatest(now(), f.lo)) AS hi FROM z, f)," \
	" r AS (SELECT COALESCE(f.lo, h.hi - interval '30 days') AS lo, h.hi" \
	"  FROM f, h)," \
	/* An hour of slack: a year of local days may hold one DST shift. */ \
	" e AS (SELECT CASE WHEN r.hi < r.lo OR $5::date < $3::date THEN" \
	"  'order' WHEN extract(epoch FROM r.hi - r.lo) > " RANGE_MAX_DAYS \
	" * 86400 + 3600 THEN 'range' END AS err FROM r)," \
	" page AS (SELECT l.at, l.id, " AUDIT_JSON " AS j FROM audit_log l, r" \
	"  WHERE " filter " AND l.at >= r.lo AND l.at < r.hi" \
	"  AND ($6::timestamptz IS NULL OR (l.at, l.id) < ($6::timestamptz," \
	"  $7::bigint)) ORDER BY l.at DESC, l.id DESC LIMIT $8::int + 1)," \
	" shown AS (SELECT * FROM page ORDER BY at DESC, id DESC" \
	"  LIMIT $8::int)" \
	" SELECT e.err, CASE WHEN e.err IS NULL THEN json_build_object('items'," \
	"  COALESCE((SELECT json_agg(p.j ORDER BY p.at DESC, p.id DESC) FROM" \
	"  shown p), '[]'::json), 'next_cursor', CASE WHEN (SELECT count(*)" \
	"  FROM page) > $8::int THEN (SELECT " AUDIT_CURSOR " FROM shown p" \
	"  ORDER BY p.at, p.id LIMIT 1) END)::text END FROM e"

static const struct rc_db_stmt SQL_LIST_ORG = {
	"audit_list_org", AUDIT_SQL("l.org_id = $1::uuid"), 8,
};

static const struct rc_db_stmt SQL_LIST_ALL = {
	"audit_list_all", AUDIT_SQL("$1::uuid IS NULL"), 8,
};

enum when_kind {
	WHEN_BAD,
	WHEN_DATE,	/* YYYY-MM-DD */
	WHEN_INSTANT,	/* RFC 3339 date-time */
};

/* The parsed query of a GET /audit, freed with the request. */
struct audit_query {
	const char	*org;
	const char	*from_at, *from_date, *to_at, *to_date;
	char		 from[WHEN_MAX + 1], to[WHEN_MAX + 1];
	struct rc_rest_page page;
};

static int
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* n digits at s as a number; -1 when they are not all digits. */
static int
number(const char *s, int n)
{
	int v = 0, i;

	for (i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

static int
days_in_month(int y, int m)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31,
	    30, 31 };

	if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		return 29;
	return days[m - 1];
}

/* YYYY-MM-DD (RFC 3339 full-date), a real day of years 1..9999. */
static int
date_ok(const char *s)
{
	int y = number(s, 4), m = number(s + 5, 2), d = number(s + 8, 2);

	return s[4] == '-' && s[7] == '-' && y >= 1 && m >= 1 && m <= 12 &&
	    d >= 1 && d <= days_in_month(y, m);
}

/* HH:MM:SS[.frac] then Z or ±HH:MM (RFC 3339 5.6); the offset's "+" may
 * arrive as a space when a client did not escape it in the query. */
static int
time_ok(char *s)
{
	int h, mi, sec, n = 0;
	char *p = s + 8;

	if (strlen(s) < 9)	/* HH:MM:SSZ */
		return 0;
	h = number(s, 2);
	mi = number(s + 3, 2);
	sec = number(s + 6, 2);
	if (s[2] != ':' || s[5] != ':' || h < 0 || h > 23 || mi < 0 ||
	    mi > 59 || sec < 0 || sec > 60)
		return 0;
	if (*p == '.') {
		while (is_digit(p[n + 1]))
			n++;
		if (n == 0 || n > FRACTION_MAX)
			return 0;
		p += n + 1;
	}
	if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
		*p = 'Z';
		return 1;
	}
	if (*p == ' ')
		*p = '+';
	if ((*p != '+' && *p != '-') || strlen(p) != 6 || p[3] != ':')
		return 0;
	h = number(p + 1, 2);
	mi = number(p + 4, 2);
	return h >= 0 && h <= 23 && mi >= 0 && mi <= 59;
}

/* Checks raw as a date or an instant and copies it, normalised, to out. */
static enum when_kind
when_parse(const char *raw, char out[WHEN_MAX + 1])
{
	size_t n = strlen(raw);

	if (n < 10 || n > WHEN_MAX)
		return WHEN_BAD;
	memcpy(out, raw, n + 1);
	if (!date_ok(out))
		return WHEN_BAD;
	if (n == 10)
		return WHEN_DATE;
	if (out[10] != 'T' && out[10] != 't')
		return WHEN_BAD;
	out[10] = 'T';
	return time_ok(out + 11) ? WHEN_INSTANT : WHEN_BAD;
}

/* ?from= or ?to=: sets *at or *date (or neither when absent). */
static rc_status
when_param(struct rc_req *req, const char *name, char buf[WHEN_MAX + 1],
    const char **at, const char **date)
{
	const char *raw = rc_http_query(req, name);

	*at = *date = NULL;
	if (raw == NULL)
		return RC_OK;
	switch (when_parse(raw, buf)) {
	case WHEN_DATE:
		*date = buf;
		return RC_OK;
	case WHEN_INSTANT:
		*at = buf;
		return RC_OK;
	default:
		rc_http_fail_field(req, name, "must be a date (YYYY-MM-DD) or "
		    "an RFC 3339 instant (2026-11-26T09:03:00Z)");
		return RC_ERR;
	}
}

/* Audit rows are numbered by a bigserial, not a UUID. */
static int
bigint_id_ok(const char *s)
{
	size_t n = 0;

	while (is_digit(s[n]))
		n++;
	return n > 0 && n <= ID_DIGITS_MAX && s[n] == '\0';
}

static void
list_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct audit_query *q = req->data;
	const char *err;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQgetisnull(r->res, 0, 0)) {
		rc_rest_reply_cell(req, 200, r->res, 1);
		return;
	}
	err = PQgetvalue(r->res, 0, 0);
	if (strcmp(err, "order") == 0)
		rc_http_fail_field(req, "to", "must not be before from");
	else
		/* Name what the client gave: to when it did, else from. */
		rc_http_fail_field(req, q->to_at || q->to_date ? "to" : "from",
		    "the range from..to must not exceed " RANGE_MAX_DAYS " days");
}

/* GET /api/v1/audit?from=&to=&limit=&cursor=[&org_id=] */
void
rc_api_audit_list(struct rc_req *req)
{
	struct audit_query *q = rc_req_alloc(req, sizeof(*q), NULL);
	const char *org_id;

	req->data = q;
	/* The tenant comes from the token; only a superadmin names one. */
	q->org = req->who->org_id;
	if (req->who->role_bit == RC_ROLE_SUPERADMIN &&
	    (org_id = rc_http_query(req, "org_id")) != NULL) {
		if (!rc_util_uuid_valid(org_id)) {
			rc_http_fail_field(req, "org_id", "must be an id (UUID)");
			return;
		}
		q->org = org_id;
	}
	if (when_param(req, "from", q->from, &q->from_at, &q->from_date) !=
	    RC_OK || when_param(req, "to", q->to, &q->to_at, &q->to_date) !=
	    RC_OK || rc_rest_page_parse_ids(req, &q->page, bigint_id_ok) != RC_OK)
		return;
	{
		const char *p[8] = { q->org, q->from_at, q->from_date, q->to_at,
		    q->to_date, q->page.after_at, q->page.after_id, q->page.limit };

		rc_rest_query(req, q->org ? &SQL_LIST_ORG : &SQL_LIST_ALL, p,
		    list_cb);
	}
}

