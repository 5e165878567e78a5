/* Leave (the old EmployeeRequest): the org's leave types, requests checked
 * against dates, overlaps, working days and the yearly balance, decisions by
 * the requester's manager or an admin, cancellation, balances. Each change
 * is one statement that also writes its audit row and its mail job. A
 * request is visible to its requester, their manager and the org's admins;
 * to anyone else it does not exist (404). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/config.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/rest.h"
#include "rollcall/rules.h"
#include "rollcall/sqlstate.h"

/* Leave belongs to an org's people; a superadmin has no org, no leave. */
#define LEAVE_ROLES	(RC_ROLE_ANY & ~RC_ROLE_SUPERADMIN)
#define TYPE_NAME_MAX	100
#define REASON_MAX	1000
#define COMMENT_MAX	1000
#define RANGE_MAX_DAYS	366	/* "not more than a year", leap years too */
#define DAYS_PER_YEAR_MAX 366

/* The public leave type, from a leave_types row named t. */
#define TYPE_JSON \
	"json_build_object('id', t.id, 'name', t.name, 'days_per_year'," \
	" t.days_per_year, 'paid', t.paid)"

/* Who sees request l (requester u): org org, caller me, admin? admin. */
#define VISIBLE(org, me, admin) \
	"(l.org_id = " org "::uuid AND (" admin "::bool OR l.user_id = " me \
	"::uuid OR u.manager_id = " me "::uuid))"

/* $1 org, $2 cursor instant, $3 cursor id, $4 limit. */
static const struct rc_db_stmt SQL_TYPES_LIST = {
	"leave_types_list",
	"WITH page AS (SELECT t.created_at, t.id, " TYPE_JSON " AS j"
	"  FROM leave_types t WHERE t.org_id = $1::uuid"
	"  AND ($2::timestamptz IS NULL OR (t.created_at, t.id) >"
	"   ($2::timestamptz, $3::uuid))"
	"  ORDER BY t.created_at, t.id LIMIT $4::int + 1)"
	" " RC_REST_PAGE_SELECT("page", "$4"),
	4,
};

/* $1 org, $2 name, $3 days per year, $4 paid, $5 actor, $6 client,
 * $7 request id. */
static const struct rc_db_stmt SQL_TYPES_CREATE = {
	"leave_types_create",
	"WITH t AS (INSERT INTO leave_types (org_id, name, days_per_year, paid)"
	"  VALUES ($1::uuid, $2, $3::numeric, $4::bool) RETURNING *),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT t.org_id, $5::uuid,"
	"  'leave_type_created', t.id, jsonb_build_object('name', t.name,"
	"  'days_per_year', t.days_per_year, 'paid', t.paid), $6, $7 FROM t)"
	" SELECT " TYPE_JSON "::text FROM t",
	7,
};

/* $1 id, $2 org, $3 caller, $4 caller is admin. */
static const struct rc_db_stmt SQL_GET = {
	"leave_get",
	"SELECT " RC_RULES_LEAVE_JSON "::text FROM leave_requests l"
	RC_RULES_LEAVE_FROM("l")
	" WHERE l.id = $1::uuid AND " VISIBLE("$2", "$3", "$4"),
	4,
};

/* $1 org, $2 caller, $3 admin?, $4 status, $5 user, $6/$7 cursor,
 * $8 limit. One row: the page, whether the caller may see $5's requests. */
static const struct rc_db_stmt SQL_LIST = {
	"leave_list",
	"WITH v AS (SELECT $5::uuid IS NULL OR EXISTS (SELECT 1 FROM users x"
	"  WHERE x.id = $5::uuid AND x.org_id = $1::uuid AND ($3::bool OR"
	"  x.id = $2::uuid OR x.manager_id = $2::uuid)) AS ok),"
	" page AS (SELECT l.created_at, l.id, " RC_RULES_LEAVE_JSON " AS j"
	"  FROM v, leave_requests l" RC_RULES_LEAVE_FROM("l")
	"  WHERE v.ok AND " VISIBLE("$1", "$2", "$3")
	"  AND ($4::text IS NULL OR l.status = $4)"
	"  AND ($5::uuid IS NULL OR l.user_id = $5::uuid)"
	"  AND ($6::timestamptz IS NULL OR (l.created_at, l.id) >"
	"   ($6::timestamptz, $7::uuid))"
	"  ORDER BY l.created_at, l.id LIMIT $8::int + 1)"
	" SELECT (" RC_REST_PAGE_SELECT("page", "$8") "), (SELECT ok FROM v)",
	8,
};

/* $1 id, $2 org, $3 caller, $4 admin?, $5 'approved'|'rejected',
 * $6 comment, $7 client, $8 request id. One row: the request (NULL when
 * not decided), whether the caller sees it, may decide it, its status.
 * The lock and the "still pending" condition let one decision win. */
static const struct rc_db_stmt SQL_DECIDE = {
	"leave_decide",
	"WITH old AS (SELECT l.id, l.status, l.user_id <> $3::uuid AND"
	"  ($4::bool OR u.manager_id = $3::uuid) AS may FROM leave_requests l"
	"  JOIN users u ON u.id = l.user_id WHERE l.id = $1::uuid AND "
	VISIBLE("$2", "$3", "$4") " FOR UPDATE OF l),"
	" d AS (SELECT name FROM users WHERE id = $3::uuid),"
	" r AS (UPDATE leave_requests x SET status = $5, decided_by = $3::uuid,"
	"  decided_at = now(), comment = $6 FROM old WHERE x.id = old.id AND"
	"  old.may AND x.status = 'pending' RETURNING x.*),"
	" j AS (INSERT INTO jobs (kind, payload, org_id) SELECT 'mail',"
	"  jsonb_build_object('to', jsonb_build_array(u.email), 'template',"
	"  'leave_decided', 'vars', jsonb_build_object('name', u.name,"
	"  'decision', r.status, 'leave_type', t.name, 'start_date',"
	"  r.start_date::text, 'end_date', r.end_date::text, 'decided_by',"
	"  d.name, 'comment', COALESCE(r.comment, ''))), r.org_id FROM d, r"
	  RC_RULES_LEAVE_FROM("r") "),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT r.org_id, $3::uuid, 'leave_' ||"
	"  $5, r.id, jsonb_build_object('user_id', r.user_id, 'comment',"
	"  r.comment), $7, $8 FROM r)"
	" SELECT (SELECT " RC_RULES_LEAVE_JSON "::text FROM r l"
	RC_RULES_LEAVE_FROM("l") "),"
	" EXISTS (SELECT 1 FROM old), (SELECT may FROM old),"
	" (SELECT status FROM old)",
	8,
};

/* $1 id, $2 org, $3 caller, $4 admin?, $5 client, $6 request id. Only the
 * requester cancels: a pending request, or an approved one that has not
 * started yet (today in the org's time zone). */
static const struct rc_db_stmt SQL_CANCEL = {
	"leave_cancel",
	"WITH old AS (SELECT l.id, l.status, l.user_id = $3::uuid AS mine,"
	"  l.status = 'pending' OR (l.status = 'approved' AND l.start_date >"
	"  (now() AT TIME ZONE o.timezone)::date) AS open"
	"  FROM leave_requests l JOIN users u ON u.id = l.user_id"
	"  JOIN orgs o ON o.id = l.org_id WHERE l.id = $1::uuid AND "
	VISIBLE("$2", "$3", "$4") " FOR UPDATE OF l),"
	" r AS (UPDATE leave_requests x SET status = 'cancelled' FROM old"
	"  WHERE x.id = old.id AND old.mine AND old.open RETURNING x.*),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT r.org_id, $3::uuid,"
	"  'leave_cancelled', r.id, jsonb_build_object('from', old.status),"
	"  $5, $6 FROM r, old)"
	" SELECT (SELECT " RC_RULES_LEAVE_JSON "::text FROM r l"
	RC_RULES_LEAVE_FROM("l") "),"
	" EXISTS (SELECT 1 FROM old), (SELECT mine FROM old),"
	" (SELECT status FROM old)",
	6,
};

/* $1 org, $2 caller, $3 admin?, $4 user, $5 year (NULL: this year in the
 * org's time zone). NULL when the caller may not see $4. A request counts
 * in the year of its start date; left = allowed - taken - pending (what
 * may still be asked for). */
static const struct rc_db_stmt SQL_BALANCES = {
	"leave_balances",
	"WITH x AS (SELECT u.id FROM users u WHERE u.id = $4::uuid AND"
	"  u.org_id = $1::uuid AND ($3::bool OR u.id = $2::uuid OR"
	"  u.manager_id = $2::uuid)),"
	" y AS (SELECT COALESCE($5::int, extract(year FROM now() AT TIME ZONE"
	"  o.timezone)::int) AS year FROM orgs o WHERE o.id = $1::uuid)"
	" SELECT json_build_object('user_id', x.id, 'year', y.year, 'items',"
	"  COALESCE((SELECT json_agg(json_build_object('type_id', t.id, 'name',"
	"  t.name, 'paid', t.paid, 'allowed', t.days_per_year, 'taken',"
	"  s.taken, 'pending', s.pending, 'left', t.days_per_year - s.taken -"
	"  s.pending) ORDER BY t.name) FROM leave_types t CROSS JOIN LATERAL"
	"  (SELECT COALESCE(sum(l.days) FILTER (WHERE l.status = 'approved'),"
	"  0) AS taken, COALESCE(sum(l.days) FILTER (WHERE l.status ="
	"  'pending'), 0) AS pending FROM leave_requests l WHERE l.user_id ="
	"  x.id AND l.type_id = t.id AND date_part('year', l.start_date) ="
	"  y.year) s WHERE t.org_id = $1::uuid), '[]'::json))::text"
	" FROM x, y",
	5,
};

static const char *const statuses[] = {
	"pending", "approved", "rejected", "cancelled", NULL,
};

/* A one-row JSON reply, or 404 when the row is missing or NULL. */
static void
json_or_404_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1 || PQgetisnull(r->res, 0, 0)) {
		rc_http_fail(req, 404, "not_found", "no such leave request");
		return;
	}
	rc_rest_reply_cell(req, 200, r->res, 0);
}

/* ---- Dates ----------------------------------------------------------- */

/* Reads a required date member; replies 422 naming it when it is bad. */
static rc_status
date_member(struct rc_req *req, const char *field, const char **out,
    long *days)
{
	if (rc_rest_line(req, field, 1, 1, 32, out) != RC_OK)
		return RC_ERR;
	if (!rc_util_date_days(*out, days)) {
		rc_http_fail_field(req, field,
		    "must be a real date written YYYY-MM-DD");
		return RC_ERR;
	}
	return RC_OK;
}

/* ---- GET/POST /api/v1/leave/types ------------------------------------ */

/* GET /api/v1/leave/types — the caller's org's types, in creation order. */
void
rc_api_leave_types_list(struct rc_req *req)
{
	rc_rest_list_org(req, &SQL_TYPES_LIST);
}

static void
types_create_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_db_sqlstate_is(r, RC_SQLSTATE_UNIQUE)) {
		rc_http_fail(req, 409, "conflict",
		    "a leave type with this name exists");
		return;
	}
	if (!rc_rest_db_ok(req, r, NULL))
		return;
	rc_rest_reply_cell(req, 201, r->res, 0);
}

/* days_per_year: a JSON number 0..366 in steps of half a day, written
 * with one decimal into buf. */
static rc_status
days_per_year_member(struct rc_req *req, char *buf, size_t len)
{
	json_t *v = json_object_get(req->body, "days_per_year");
	double x, twice;

	if (v == NULL || json_is_null(v)) {
		rc_http_fail_field(req, "days_per_year", "is required");
		return RC_ERR;
	}
	x = json_number_value(v);
	twice = x * 2;
	if (!json_is_number(v) || x < 0 || x > DAYS_PER_YEAR_MAX ||
	    twice != (double)(long)twice) {
		rc_http_fail_field(req, "days_per_year",
		    "must be a number of days from 0 to 366, in halves");
		return RC_ERR;
	}
	snprintf(buf, len, "%.1f", x);
	return RC_OK;
}

/* POST /api/v1/leave/types {name, days_per_year, paid?} — admins only. */
void
rc_api_leave_types_create(struct rc_req *req)
{
	const char *name, *p[7];
	char days[16];
	int paid;

	if (rc_rest_line(req, "name", 1, 1, TYPE_NAME_MAX, &name) != RC_OK ||
	    days_per_year_member(req, days, sizeof(days)) != RC_OK ||
	    rc_rest_bool(req, "paid", 0, 1, &paid) != RC_OK)
		return;
	p[0] = req->who->org_id;
	p[1] = name;
	p[2] = days;
	p[3] = paid ? "true" : "false";
	p[4] = req->who->user_id;
	p[5] = rc_http_client(req);
	p[6] = req->id;
	rc_rest_query(req, &SQL_TYPES_CREATE, p, types_create_cb);
}

/* ---- POST /api/v1/leave/requests ------------------------------------- */

static void
create_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	const PGresult *res = r->res;

	/* Another pending/approved request of the same person covers one of
	 * these dates, even one made a moment ago by a concurrent request. */
	if (rc_db_sqlstate_is(r, RC_SQLSTATE_EXCLUSION)) {
		rc_http_fail(req, 409, "leave_overlap", "you already have a "
		    "pending or approved request covering some of these dates");
		return;
	}
	/* The trigger's message says how many days are asked and left. */
	if (rc_db_sqlstate_is(r, RC_SQLSTATE_LEAVE_BALANCE)) {
		rc_http_fail(req, 422, "leave_balance_exceeded", r->message);
		return;
	}
	if (!rc_rest_db_ok(req, r, "type_id"))
		return;
	if (!PQgetisnull(res, 0, 0)) {
		rc_rest_reply_cell(req, 201, res, 0);
		return;
	}
	if (!rc_rest_true(res, 1)) {
		rc_http_fail_field(req, "type_id",
		    "is not a leave type of your organisation");
		return;
	}
	rc_http_fail_field(req, "start_date", "the dates hold no working day "
	    "(only weekends and holidays)");
}

/* The checks that need no database: dates real, ordered, at most a year
 * apart; a half day is one day. */
static rc_status
create_parse(struct rc_req *req, const char **p)
{
	const char *reason;
	long from, to;
	int half;

	if (rc_rest_uuid(req, "type_id", 1, &p[2]) != RC_OK ||
	    date_member(req, "start_date", &p[3], &from) != RC_OK ||
	    date_member(req, "end_date", &p[4], &to) != RC_OK ||
	    rc_rest_bool(req, "half_day", 0, 0, &half) != RC_OK ||
	    rc_rest_string(req, "reason", 0, 0, REASON_MAX, &reason) != RC_OK)
		return RC_ERR;
	if (to < from) {
		rc_http_fail_field(req, "end_date",
		    "must not be before start_date");
		return RC_ERR;
	}
	if (to - from + 1 > RANGE_MAX_DAYS) {
		rc_http_fail_field(req, "end_date",
		    "a request covers at most a year (366 days)");
		return RC_ERR;
	}
	if (half && to != from) {
		rc_http_fail_field(req, "half_day",
		    "only a single day (start_date = end_date) can be a half day");
		return RC_ERR;
	}
	p[5] = half ? "true" : "false";
	p[6] = reason;
	return RC_OK;
}

/* POST /api/v1/leave/requests {type_id, start_date, end_date, half_day?,
 * reason?} — the caller asks for leave; their approver is mailed. */
void
rc_api_leave_create(struct rc_req *req)
{
	const char *p[10];

	if (create_parse(req, p) != RC_OK)
		return;
	p[0] = req->who->org_id;
	p[1] = req->who->user_id;
	p[7] = rc_server_config(req->loop->server)->server_public_url;
	p[8] = rc_http_client(req);
	p[9] = req->id;
	rc_rest_query(req, &rc_rules_leave_create, p, create_cb);
}

/* ---- GET /api/v1/leave/requests[/{id}] ------------------------------- */

static void
list_cb(const struct rc_db_result *r, void *arg)
{
	rc_rest_reply_found(arg, r, 1, 0, "no such user");
}

/* GET /api/v1/leave/requests?status=&user_id=&limit=&cursor= — what the
 * caller may see: their own, their reports', or (admin) the org's. */
void
rc_api_leave_list(struct rc_req *req)
{
	const char *status = rc_http_query(req, "status");
	const char *user = rc_http_query(req, "user_id");
	struct rc_rest_page page;
	const char *p[8];
	size_t i;

	if (status != NULL) {
		for (i = 0; statuses[i] != NULL; i++)
			if (strcmp(status, statuses[i]) == 0)
				break;
		if (statuses[i] == NULL) {
			rc_http_fail_field(req, "status", "must be pending, "
			    "approved, rejected or cancelled");
			return;
		}
	}
	if (user != NULL && !rc_util_uuid_valid(user)) {
		rc_http_fail_field(req, "user_id", "is not an id");
		return;
	}
	if (rc_rest_page_parse(req, &page) != RC_OK)
		return;
	p[0] = req->who->org_id;
	p[1] = req->who->user_id;
	p[2] = rc_rest_admin_text(req);
	p[3] = status;
	p[4] = user;
	p[5] = page.after_at;
	p[6] = page.after_id;
	p[7] = page.limit;
	rc_rest_query(req, &SQL_LIST, p, list_cb);
}

/* GET /api/v1/leave/requests/{id} */
void
rc_api_leave_get(struct rc_req *req)
{
	const char *p[4];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK)
		return;
	p[1] = req->who->org_id;
	p[2] = req->who->user_id;
	p[3] = rc_rest_admin_text(req);
	rc_rest_query(req, &SQL_GET, p, json_or_404_cb);
}

/* ---- approve / reject / cancel --------------------------------------- */

/* Columns 1..3 of SQL_DECIDE and SQL_CANCEL: found, allowed, status;
 * forbidden says why an allowed=false caller is refused. */
static void
change_done(struct rc_req *req, const struct rc_db_result *r,
    const char *forbidden)
{
	const PGresult *res = r->res;
	char detail[96];

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (!PQgetisnull(res, 0, 0)) {
		rc_rest_reply_cell(req, 200, res, 0);
		return;
	}
	if (!rc_rest_true(res, 1)) {
		rc_http_fail(req, 404, "not_found", "no such leave request");
		return;
	}
	if (!rc_rest_true(res, 2)) {
		rc_http_fail(req, 403, "forbidden", forbidden);
		return;
	}
	snprintf(detail, sizeof(detail), "the request is %s%s",
	    PQgetvalue(res, 0, 3), strcmp(PQgetvalue(res, 0, 3), "approved") ==
	    0 ? " and has started" : "");
	rc_http_fail(req, 409, "conflict", detail);
}

static void
decide_cb(const struct rc_db_result *r, void *arg)
{
	change_done(arg, r, "a request is decided by the requester's manager "
	    "or an admin, never by the requester");
}

static void
cancel_cb(const struct rc_db_result *r, void *arg)
{
	change_done(arg, r, "only the requester cancels a request");
}

static void
decide(struct rc_req *req, const char *status)
{
	const char *comment, *p[8];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK ||
	    rc_rest_string(req, "comment", 0, 0, COMMENT_MAX, &comment) !=
	    RC_OK)
		return;
	p[1] = req->who->org_id;
	p[2] = req->who->user_id;
	p[3] = rc_rest_admin_text(req);
	p[4] = status;
	p[5] = comment;
	p[6] = rc_http_client(req);
	p[7] = req->id;
	rc_rest_query(req, &SQL_DECIDE, p, decide_cb);
}

/* POST /api/v1/leave/requests/{id}/approve {comment?} — the requester's
 * manager or an admin; the requester is mailed. */
void
rc_api_leave_approve(struct rc_req *req)
{
	decide(req, "approved");
}

/* POST /api/v1/leave/requests/{id}/reject {comment?} */
void
rc_api_leave_reject(struct rc_req *req)
{
	decide(req, "rejected");
}

/* POST /api/v1/leave/requests/{id}/cancel — the requester, while it is
 * pending or approved and not started. */
void
rc_api_leave_cancel(struct rc_req *req)
{
	const char *p[6];

	if (rc_rest_uuid_param(req, "id", &p[0]) != RC_OK)
		return;
	p[1] = req->who->org_id;
	p[2] = req->who->user_id;
	p[3] = rc_rest_admin_text(req);
	p[4] = rc_http_client(req);
	p[5] = req->id;
	rc_rest_query(req, &SQL_CANCEL, p, cancel_cb);
}

/* ---- GET /api/v1/leave/balances -------------------------------------- */

static void
balances_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1 || PQgetisnull(r->res, 0, 0)) {
		rc_http_fail(req, 404, "not_found", "no such user");
		return;
	}
	rc_rest_reply_cell(req, 200, r->res, 0);
}

/* GET /api/v1/leave/balances?user_id=&year= — per type: allowed, taken
 * (approved), pending, left. */
void
rc_api_leave_balances(struct rc_req *req)
{
	const char *user = rc_http_query(req, "user_id");
	const char *year = rc_http_query(req, "year");
	const char *p[5];
	char *end;
	long y;

	if (user != NULL && !rc_util_uuid_valid(user)) {
		rc_http_fail_field(req, "user_id", "is not an id");
		return;
	}
	if (year != NULL) {
		y = strtol(year, &end, 10);
		if (*year < '0' || *year > '9' || *end != '\0' || y < 1900 ||
		    y > 2999) {
			rc_http_fail_field(req, "year",
			    "must be a year from 1900 to 2999");
			return;
		}
	}
	p[0] = req->who->org_id;
	p[1] = req->who->user_id;
	p[2] = rc_rest_admin_text(req);
	p[3] = user != NULL ? user : req->who->user_id;
	p[4] = year;
	rc_rest_query(req, &SQL_BALANCES, p, balances_cb);
}
