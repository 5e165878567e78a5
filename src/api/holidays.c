/* An org's holidays: dates (in the org's time zone) nobody is expected at
 * work, which attendance_days() and leave counting skip. Everyone in the
 * org may read them (people plan leave around them); its admins add and
 * remove them; a superadmin may do both for any org. Another org's id is
 * an org that does not exist here: 404. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/rest.h"
#include "rollcall/sqlstate.h"

#define HOLIDAY_NAME_MAX	200

/* $1 org, $2 year or NULL. One row: whether the org exists, the list. */
static const struct rc_db_stmt SQL_LIST = {
	"holidays_list",
	"SELECT EXISTS (SELECT 1 FROM orgs WHERE id = $1::uuid),"
	" json_build_object('items', COALESCE((SELECT json_agg("
	" json_build_object('date', h.date, 'name', h.name) ORDER BY h.date)"
	" FROM holidays h WHERE h.org_id = $1::uuid AND ($2::int IS NULL"
	" OR extract(year FROM h.date) = $2::int)), '[]'),"
	" 'next_cursor', NULL)::text",
	2,
};

/* $1 org, $2 date, $3 name, $4 actor, $5 client, $6 request id. No row
 * when the org does not exist; a second holiday on a date is 23505. */
static const struct rc_db_stmt SQL_CREATE = {
	"holidays_create",
	"WITH h AS (INSERT INTO holidays (org_id, date, name)"
	"  SELECT id, $2::date, $3 FROM orgs WHERE id = $1::uuid RETURNING *),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT h.org_id, $4::uuid,"
	"  'holiday_created', NULL, jsonb_build_object('date', h.date,"
	"  'name', h.name), $5, $6 FROM h)"
	" SELECT json_build_object('date', h.date, 'name', h.name)::text"
	" FROM h",
	6,
};

/* $1 org, $2 date, $3 actor, $4 client, $5 request id. */
static const struct rc_db_stmt SQL_DELETE = {
	"holidays_delete",
	"WITH h AS (DELETE FROM holidays WHERE org_id = $1::uuid"
	"  AND date = $2::date RETURNING *),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT h.org_id, $3::uuid,"
	"  'holiday_deleted', NULL, jsonb_build_object('date', h.date,"
	"  'name', h.name), $4, $5 FROM h)"
	" SELECT 1 FROM h",
	5,
};

/* The {id} of the path if the caller may act in that org; replies 404 and
 * returns NULL otherwise. */
static const char *
org_param(struct rc_req *req)
{
	const char *id;

	if (rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return NULL;
	if (req->who->role_bit != RC_ROLE_SUPERADMIN &&
	    strcmp(id, req->who->org_id) != 0) {
		rc_http_fail(req, 404, "not_found", "no such organisation");
		return NULL;
	}
	return id;
}

/* ---- GET /api/v1/orgs/{id}/holidays ---------------------------------- */

static void
list_cb(const struct rc_db_result *r, void *arg)
{
	rc_rest_reply_found(arg, r, 0, 1, "no such organisation");
}

/* GET /api/v1/orgs/{id}/holidays?year= — by date. */
void
rc_api_holidays_list(struct rc_req *req)
{
	const char *p[2], *year = rc_http_query(req, "year");

	if ((p[0] = org_param(req)) == NULL)
		return;
	if (year != NULL && (strlen(year) != 4 || strspn(year, "0123456789")
	    != 4 || strcmp(year, "1900") < 0 || strcmp(year, "2999") > 0)) {
		rc_http_fail_field(req, "year", "must be a year 1900..2999");
		return;
	}
	p[1] = year;
	rc_rest_query(req, &SQL_LIST, p, list_cb);
}

/* ---- POST /api/v1/orgs/{id}/holidays --------------------------------- */

static void
create_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_db_sqlstate_is(r, RC_SQLSTATE_UNIQUE)) {
		rc_http_fail(req, 409, "conflict",
		    "the organisation has a holiday on that date already");
		return;
	}
	if (!rc_rest_db_row(req, r, "no such organisation"))
		return;
	rc_rest_reply_cell(req, 201, r->res, 0);
}

/* POST /api/v1/orgs/{id}/holidays {date, name} */
void
rc_api_holidays_create(struct rc_req *req)
{
	const char *p[6];

	if ((p[0] = org_param(req)) == NULL)
		return;
	if (rc_rest_string(req, "date", 1, 1, 10, &p[1]) != RC_OK)
		return;
	if (!rc_util_date_valid(p[1])) {
		rc_http_fail_field(req, "date",
		    "must be a real date written YYYY-MM-DD");
		return;
	}
	if (rc_rest_line(req, "name", 1, 1, HOLIDAY_NAME_MAX, &p[2]) != RC_OK)
		return;
	p[3] = req->who->user_id;
	p[4] = rc_http_client(req);
	p[5] = req->id;
	rc_rest_query(req, &SQL_CREATE, p, create_cb);
}

/* ---- DELETE /api/v1/orgs/{id}/holidays/{date} ------------------------ */

static void
delete_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_row(req, r, "no such holiday"))
		return;
	rc_http_reply(req, 204, NULL, NULL, 0);
}

/* DELETE /api/v1/orgs/{id}/holidays/{date} */
void
rc_api_holidays_delete(struct rc_req *req)
{
	const char *p[5];

	if ((p[0] = org_param(req)) == NULL)
		return;
	/* Like an id that cannot exist, a date that cannot is no holiday. */
	p[1] = rc_http_param(req, "date");
	if (p[1] == NULL || !rc_util_date_valid(p[1])) {
		rc_http_fail(req, 404, "not_found", "no such holiday");
		return;
	}
	p[2] = req->who->user_id;
	p[3] = rc_http_client(req);
	p[4] = req->id;
	rc_rest_query(req, &SQL_DELETE, p, delete_cb);
}

