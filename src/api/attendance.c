/* Attendance: check-in and check-out (the event log), the events and the
 * per-date figures of a person, and an admin's corrections. The state rule
 * (in, out, in, out...) is the database's: sql/005_attendance.sql refuses a
 * second in or an out without an in with SQLSTATE RC001..RC003, even for
 * concurrent requests, and the handlers turn those into 409s. Who may see
 * whom is decided in the same statement that reads: yourself; an admin
 * their org; a manager their direct reports; a superadmin anyone. Anyone
 * else is a person who does not exist for the caller: 404. A check-in may
 * carry a photo instead of JSON (required when the org says face_required):
 * it must match the caller's enrolled faces, and is kept with the event. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "rollcall/api.h"
#include "rollcall/rest.h"
#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/json.h"
#include "rollcall/log.h"
#include "rollcall/rules.h"
#include "rollcall/sqlstate.h"

#define NOTE_MAX_CHARS	500

/* The state rule's SQLSTATEs (sql/005_attendance.sql). */

/* The public event object, from an attendance_events row named e. */
#define EVENT_JSON \
	"json_build_object('id', e.id, 'user_id', e.user_id, 'kind', e.kind," \
	" 'at', " RC_REST_INSTANT("e.at") ", 'source', e.source," \
	" 'note', e.note, 'picture_id', e.picture_id," \
	" 'created_at', " RC_REST_INSTANT("e.created_at") "," \
	" 'corrected_at', " RC_REST_INSTANT("e.corrected_at") "," \
	" 'corrected_by', e.corrected_by)"

/* The person asked about ($4, or the caller $1 when NULL) if the caller
 * may see them: $2 the caller's role, $3 the caller's org. Only people of
 * an org have attendance. */
#define VISIBLE_TARGET \
	"t AS (SELECT u.id, u.org_id, o.timezone AS tz," \
	"  (now() AT TIME ZONE o.timezone)::date AS today" \
	"  FROM users u JOIN orgs o ON o.id = u.org_id" \
	"  WHERE u.id = COALESCE($4::uuid, $1::uuid) AND (u.id = $1::uuid" \
	"  OR $2 = 'superadmin' OR ($2 = 'admin' AND u.org_id = $3::uuid)" \
	"  OR ($2 = 'manager' AND u.org_id = $3::uuid" \
	"  AND u.manager_id = $1::uuid)))"

/* The longest range a read may cover. */
#define RANGE_MAX_DAYS	"366"

/* $1 user, $2 default threshold. One row per template of the caller (one
 * with NULLs when none; no row: no such person): threshold, method,
 * version, template. */
static const struct rc_db_stmt SQL_MY_TEMPLATES = {
	"attendance_my_templates",
	"SELECT COALESCE(o.face_threshold, $2::real)::text, f.method,"
	" f.version, f.template FROM users u JOIN orgs o ON o.id = u.org_id"
	" LEFT JOIN face_templates f ON f.user_id = u.id"
	" WHERE u.id = $1::uuid LIMIT " RC_FACE_PER_USER_MAX_TEXT,
	2,
};

/* $1 user, $2 similarity, $3 sha256, $4 thumb, $5 width, $6 height,
 * $7 bytes. The photo (purpose check_in, purged after
 * face.photo_retention_days) and the event naming it. */
static const struct rc_db_stmt SQL_FACE_CHECK_IN = {
	"attendance_face_check_in",
	"WITH u AS (SELECT id, org_id FROM users WHERE id = $1::uuid),"
	" p AS (INSERT INTO pictures (org_id, owner_id, purpose, sha256,"
	"  thumb_sha256, width, height, bytes) SELECT u.org_id, u.id,"
	"  'check_in', $3, $4, $5::int, $6::int, $7::bigint FROM u"
	"  RETURNING id, org_id, owner_id),"
	" e AS (INSERT INTO attendance_events (org_id, user_id, kind, at,"
	"  source, picture_id, similarity) SELECT p.org_id, p.owner_id, 'in',"
	"  now(), 'web', p.id, $2::real FROM p"
	"  RETURNING id, kind, at, similarity)"
	" SELECT json_build_object('id', e.id, 'kind', e.kind, 'at', "
	RC_REST_INSTANT("e.at") ", 'face', json_build_object('similarity',"
	" e.similarity))::text FROM e",
	7,
};

/* The columns of an event (e an attendance_events row) that EVENT_JSON
 * names, in its order: what event_put writes from a typed row. */
#define EVENT_COLUMNS \
	"e.id, e.user_id, e.kind, e.at, e.source, e.note, e.picture_id," \
	" e.created_at, e.corrected_at, e.corrected_by"

/* $1..$4 as VISIBLE_TARGET, $5/$6 from as a date or an instant, $7/$8 to
 * likewise (all NULL-able), $9/$10 cursor, $11 limit. A date from is its
 * local midnight; a date to is the end of that local day; an instant to is
 * exclusive. Defaults: to = the end of today, from = 30 days before today
 * (local midnight). Typed rows (binary): visible?, reversed?, too long?,
 * the limit, then EVENT_COLUMNS of up to limit + 1 events in (at, id)
 * order; one row with NULL events when there are none. The JSON is
 * written in C (events_cb): PostgreSQL building it (json_build_object,
 * to_char, json_agg) was most of the statement's time, and initialising
 * the CTE scans and sorts of the old form most of the rest. So: one
 * person row (t, inlined), its range, and the person's events by the
 * (user_id, at) index in index order. That order is (at, id): at is
 * unique per person (attendance_events_user_at). The lateral join keeps
 * it, being a nested loop over at most one outer row. */
static const struct rc_db_stmt SQL_EVENTS = {
	"attendance_events",
	"WITH " VISIBLE_TARGET
	" SELECT v.id IS NOT NULL, COALESCE(v.reversed, false),"
	" COALESCE(v.too_long, false), $11::int, e.*"
	" FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT t.id, r.lo, r.hi,"
	"  r.lo > r.hi OR COALESCE($5::date > $7::date, false) AS reversed,"
	"  r.hi - r.lo > interval '" RANGE_MAX_DAYS " days 1 hour' AS too_long"
	"  FROM t CROSS JOIN LATERAL (SELECT COALESCE($6::timestamptz,"
	"  $5::date::timestamp AT TIME ZONE t.tz, (t.today - 30)::timestamp"
	"  AT TIME ZONE t.tz) AS lo, COALESCE($8::timestamptz, ($7::date + 1)"
	"  ::timestamp AT TIME ZONE t.tz, (t.today + 1)::timestamp AT TIME"
	"  ZONE t.tz) AS hi) r) v ON true"
	" LEFT JOIN LATERAL (SELECT " EVENT_COLUMNS
	"  FROM attendance_events e WHERE e.user_id = v.id"
	"  AND NOT v.reversed AND NOT v.too_long"
	"  AND e.at >= v.lo AND e.at < v.hi"
	"  AND ($9::timestamptz IS NULL OR (e.at, e.id) >"
	"   ($9::timestamptz, $10::uuid))"
	"  ORDER BY e.at LIMIT $11::int + 1) e ON true",
	11,
};

/* $1..$4 as VISIBLE_TARGET, $5 from, $6 to (dates, NULL-able; defaults:
 * to = today, from = the first of to's month). One row: visible?,
 * reversed?, too long?, {user_id, from, to, items: [...]}. */
static const struct rc_db_stmt SQL_DAYS = {
	"attendance_days",
	"WITH " VISIBLE_TARGET ","
	" r0 AS (SELECT COALESCE($6::date, t.today) AS hi FROM t),"
	" r AS (SELECT COALESCE($5::date, date_trunc('month', r0.hi)::date)"
	"  AS lo, r0.hi FROM r0),"
	" ok AS (SELECT r.lo, r.hi, r.lo > r.hi AS reversed,"
	"  r.hi - r.lo >= " RANGE_MAX_DAYS " AS too_long FROM r)"
	" SELECT EXISTS (SELECT 1 FROM t), COALESCE((SELECT reversed FROM ok),"
	" false), COALESCE((SELECT too_long FROM ok), false),"
	" (SELECT json_build_object('user_id', t.id, 'from', ok.lo,"
	"  'to', ok.hi, 'items', COALESCE((SELECT json_agg(json_build_object("
	"  'date', a.date, 'first_in', " RC_REST_INSTANT("a.first_in") ","
	"  'last_out', " RC_REST_INSTANT("a.last_out") ","
	"  'worked_minutes', a.worked_minutes, 'open_pair', a.open_pair,"
	"  'status', a.status) ORDER BY a.date)"
	"  FROM attendance_person_days(t.org_id, ok.lo, ok.hi, t.id) a),"
	"  '[]'))"
	"  FROM t, ok WHERE NOT ok.reversed AND NOT ok.too_long)::text",
	6,
};

/* $1 the caller. One row (none: no such person): the caller's today in
 * their org's zone. state: "in" while the last event is an in (even one
 * from an earlier day: a check-out is what the server takes next), "out"
 * when today has events and the last is an out, else "none"; since is
 * that last event's instant. worked_minutes is attendance_days' (closed
 * pairs) plus the open pair's time since today's midnight. */
static const struct rc_db_stmt SQL_TODAY = {
	"attendance_today",
	"WITH t AS (SELECT u.id, u.org_id, o.timezone AS tz, o.face_required,"
	"  (now() AT TIME ZONE o.timezone)::date AS today FROM users u"
	"  JOIN orgs o ON o.id = u.org_id WHERE u.id = $1::uuid),"
	" b AS (SELECT t.*, t.today::timestamp AT TIME ZONE t.tz AS lo,"
	"  (t.today + 1)::timestamp AT TIME ZONE t.tz AS hi FROM t),"
	" l AS (SELECT e.kind, e.at FROM attendance_events e, t"
	"  WHERE e.user_id = t.id ORDER BY e.at DESC LIMIT 1),"
	" ev AS (SELECT e.id, e.kind, e.at, e.source FROM attendance_events e,"
	"  b WHERE e.user_id = b.id AND e.at >= b.lo AND e.at < b.hi),"
	" a AS (SELECT a.* FROM t, attendance_person_days(t.org_id, t.today,"
	"  t.today, t.id) a),"
	" s AS (SELECT CASE WHEN l.kind = 'in' THEN 'in' WHEN EXISTS (SELECT"
	"  1 FROM ev) THEN 'out' ELSE 'none' END AS state, l.kind, l.at"
	"  FROM (SELECT 1) one LEFT JOIN l ON true)"
	" SELECT json_build_object('date', b.today, 'timezone', b.tz,"
	" 'state', s.state,"
	" 'since', CASE WHEN s.state <> 'none' THEN " RC_REST_INSTANT("s.at")
	" END,"
	" 'first_in', " RC_REST_INSTANT("a.first_in") ","
	" 'last_out', " RC_REST_INSTANT("a.last_out") ","
	" 'worked_minutes', COALESCE(a.worked_minutes, 0) + CASE WHEN s.state"
	"  = 'in' THEN floor(extract(epoch FROM now() - greatest(s.at, b.lo))"
	"  / 60)::int ELSE 0 END,"
	" 'status', a.status, 'face_required', b.face_required,"
	" 'events', COALESCE((SELECT json_agg(json_build_object('id', ev.id,"
	"  'kind', ev.kind, 'at', " RC_REST_INSTANT("ev.at") ", 'source',"
	"  ev.source) ORDER BY ev.at) FROM ev), '[]'))::text"
	" FROM b CROSS JOIN s LEFT JOIN a ON true",
	1,
};

/* An event's changeable fields for the audit log, the instant to the
 * microsecond in UTC whatever the session's TimeZone. */
#define AUDIT_EVENT(row) \
	"jsonb_build_object('at', to_char(" row ".at AT TIME ZONE 'UTC'," \
	" 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"'), 'kind', " row ".kind," \
	" 'note', " row ".note, 'source', " row ".source)"

/* $1 id, $2 org filter (NULL: any), $3 at, $4 kind, $5 note given?,
 * $6 note, $7 actor, $8 client, $9 request id. The audit row keeps the
 * event before and after, so the original survives every correction. One row: the
 * event (NULL when not changed), whether it exists, whether at is in the
 * future. */
static const struct rc_db_stmt SQL_PATCH = {
	"attendance_patch",
	"WITH old AS (SELECT * FROM attendance_events WHERE id = $1::uuid"
	"  AND ($2::uuid IS NULL OR org_id = $2::uuid) FOR UPDATE),"
	" future AS (SELECT COALESCE($3::timestamptz > now(), false) AS f),"
	" e AS (UPDATE attendance_events x SET"
	"  at = COALESCE($3::timestamptz, x.at), kind = COALESCE($4, x.kind),"
	"  note = CASE WHEN $5::bool THEN $6 ELSE x.note END,"
	"  corrected_at = now(), corrected_by = $7::uuid"
	"  FROM old, future WHERE x.id = old.id AND NOT future.f"
	"  RETURNING x.*),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT e.org_id, $7::uuid,"
	"  'attendance_corrected', e.id, jsonb_build_object('user_id',"
	"  e.user_id, 'before', " AUDIT_EVENT("old") ", 'after', "
	AUDIT_EVENT("e") "), $8, $9 FROM e, old)"
	" SELECT (SELECT " EVENT_JSON "::text FROM e), EXISTS (SELECT 1 FROM"
	" old), (SELECT f FROM future)",
	9,
};

static const char *const sources[] = { "web", "api", NULL };
static const char *const kinds[] = { "in", "out", NULL };

/* ?name= as a date or an instant: exactly one of *date and *at is set, or
 * neither when absent. Replies 422 and returns RC_ERR when it is neither
 * (or an instant where only dates are allowed). */
static rc_status
range_param(struct rc_req *req, const char *name, int instants,
    const char **date, const char **at)
{
	const char *v = rc_http_query(req, name);

	*date = *at = NULL;
	if (v == NULL)
		return RC_OK;
	if (rc_util_date_valid(v)) {
		*date = v;
		return RC_OK;
	}
	if (instants && rc_util_instant_valid(v)) {
		*at = v;
		return RC_OK;
	}
	rc_http_fail_field(req, name, instants ? "must be a real date "
	    "YYYY-MM-DD or an RFC 3339 instant" : "must be a real date "
	    "YYYY-MM-DD");
	return RC_ERR;
}

/* ?user_id=, or NULL (the caller). */
static rc_status
user_param(struct rc_req *req, const char **out)
{
	*out = rc_http_query(req, "user_id");
	if (*out != NULL && !rc_util_uuid_valid(*out)) {
		rc_http_fail_field(req, "user_id", "is not an id");
		return RC_ERR;
	}
	return RC_OK;
}

/* ---- POST /api/v1/attendance/check-in | check-out -------------------- */

/* The state rule's SQLSTATEs (sql/005_attendance.sql). */
static int
sequence_broken(const struct rc_db_result *r)
{
	return rc_db_sqlstate_is(r, RC_SQLSTATE_ALREADY_CHECKED_IN) ||
	    rc_db_sqlstate_is(r, RC_SQLSTATE_NOT_CHECKED_IN) ||
	    rc_db_sqlstate_is(r, RC_SQLSTATE_SEQUENCE_BROKEN);
}

/* Any break of the state rule by a check-in means an in is already open
 * (a concurrent one may sort after ours: RC003); by a check-out, that none
 * is. The same instant twice is a concurrent duplicate too. */
static int
punch_refused(const struct rc_db_result *r)
{
	return sequence_broken(r) ||
	    rc_db_sqlstate_is(r, RC_SQLSTATE_UNIQUE);
}

static void
punch_fail_sequence(struct rc_req *req, int in)
{
	if (in)
		rc_http_fail(req, 409, "already_checked_in",
		    "you are checked in already: check out first");
	else
		rc_http_fail(req, 409, "not_checked_in",
		    "you are not checked in");
}

static void
punch_reply(struct rc_req *req, const struct rc_db_result *r, int in)
{
	if (punch_refused(r)) {
		punch_fail_sequence(req, in);
		return;
	}
	if (!rc_rest_db_row(req, r, "no such person"))
		return;
	if (PQgetvalue(r->res, 0, 1)[0] == 't') {
		rc_http_fail(req, 403, "face_required", "your organisation "
		    "checks faces: send a photo of yours (image/* or "
		    "multipart/form-data part \"file\")");
		return;
	}
	rc_rest_reply_cell(req, 201, r->res, 0);
}

static void
check_in_cb(const struct rc_db_result *r, void *arg)
{
	punch_reply(arg, r, 1);
}

static void
check_out_cb(const struct rc_db_result *r, void *arg)
{
	punch_reply(arg, r, 0);
}

static void
punch(struct rc_req *req, const char *kind, rc_rest_db_cb cb)
{
	const char *note, *source, *p[5];

	if (rc_rest_string(req, "note", 0, 0, NOTE_MAX_CHARS, &note) != RC_OK ||
	    rc_rest_enum(req, "source", 0, sources, &source) != RC_OK)
		return;
	p[0] = req->who->user_id;
	p[1] = kind;
	p[2] = source != NULL ? source : "web";
	p[3] = note;
	p[4] = strcmp(kind, "in") == 0 ? "true" : "false";
	rc_rest_query(req, &rc_rules_punch, p, cb);
}

/* POST /api/v1/attendance/check-out {note?, source?} */
void
rc_api_attendance_check_out(struct rc_req *req)
{
	punch(req, "out", check_out_cb);
}

/* ---- Face-gated check-in: a photo instead of JSON --------------------- */

/* The upload, across the queries that follow it. */
static const struct rc_rest_upload *
face_upload(struct rc_req *req)
{
	return *(const struct rc_rest_upload **)rc_rest_state(req);
}

static void
face_check_in_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	const struct rc_rest_upload *up = face_upload(req);

	if (punch_refused(r)) {
		rc_rest_upload_fail(req, up, req->who->org_id, 409,
		    "already_checked_in", "you are checked in already: check "
		    "out first");
		return;
	}
	if (!rc_rest_db_row(req, r, "no such person"))
		return;
	rc_rest_reply_cell(req, 201, r->res, 0);
}

/* Records the check-in with its photo. */
static void
face_check_in_record(struct rc_req *req, const struct rc_rest_upload *up,
    double similarity)
{
	char sim[24], w[16], h[16], bytes[24];
	const char *p[7];

	snprintf(sim, sizeof(sim), "%.6f", similarity);
	snprintf(w, sizeof(w), "%d", up->img.width);
	snprintf(h, sizeof(h), "%d", up->img.height);
	snprintf(bytes, sizeof(bytes), "%zu", up->img.jpeg_len);
	p[0] = req->who->user_id;
	p[1] = sim;
	p[2] = up->sha256;
	p[3] = up->thumb_sha256;
	p[4] = w;
	p[5] = h;
	p[6] = bytes;
	rc_rest_query(req, &SQL_FACE_CHECK_IN, p, face_check_in_cb);
}

static void
my_templates_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	const struct rc_rest_upload *up = face_upload(req);
	double best, threshold;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) == 0) {
		rc_rest_upload_fail(req, up, NULL, 404, "not_found",
		    "no such person");
		return;
	}
	threshold = strtod(PQgetvalue(r->res, 0, 0), NULL);
	best = rc_face_best_similarity(up->face, r->res, 1);
	if (best < 0) {
		rc_rest_upload_fail(req, up, req->who->org_id, 422,
		    "no_templates", "you have enrolled no face (with the "
		    "current face matcher): enrol one first");
		return;
	}
	if (best < threshold) {
		rc_log(RC_LOG_INFO, "attendance: face check-in refused, "
		    "similarity %.3f < %.3f", best, threshold);
		rc_rest_upload_fail(req, up, req->who->org_id, 403,
		    "face_mismatch", "the face does not match yours");
		return;
	}
	face_check_in_record(req, up, best);
}

static void
check_in_uploaded(struct rc_req *req, struct rc_rest_upload *up)
{
	const struct rc_rest_upload **st;
	const char *p[2];

	if (up->face_status != RC_FACE_OK) {
		rc_rest_upload_fail_face(req, up, req->who->org_id);
		return;
	}
	st = rc_rest_state_new(req, sizeof(*st));
	*st = up;
	p[0] = req->who->user_id;
	p[1] = rc_rest_face_threshold(req);
	rc_rest_query(req, &SQL_MY_TEMPLATES, p, my_templates_cb);
}

/* POST /api/v1/attendance/check-in {note?, source?: "web"|"api"}, or a
 * photo of the caller (an image body or multipart part "file"): the route
 * takes JSON or an image, and the router parsed whichever came. */
void
rc_api_attendance_check_in(struct rc_req *req)
{
	if (req->image.len > 0)
		rc_rest_upload(req, RC_REST_UPLOAD_STORE | RC_REST_UPLOAD_FACE,
		    check_in_uploaded);
	else
		punch(req, "in", check_in_cb);
}

/* ---- GET /api/v1/attendance/events | days ----------------------------- */

/* Flag column col of the first row, of a text or a binary result. */
static int
range_flag(const PGresult *res, int col)
{
	if (PQfformat(res, col) == 1)
		return rc_db_bin_bool(res, 0, col);
	return PQgetvalue(res, 0, col)[0] == 't';
}

/* The common checks of the two reads (columns 0..2: visible?, reversed?,
 * too long?): 404, or 422 on the range (replied), or true: the rest may
 * be written. */
static int
range_read_ok(struct rc_req *req, const struct rc_db_result *r)
{
	const char *field = rc_http_query(req, "to") != NULL ? "to" : "from";

	if (!rc_rest_db_ok(req, r, NULL))
		return 0;
	if (PQntuples(r->res) < 1 || !range_flag(r->res, 0)) {
		rc_http_fail(req, 404, "not_found", "no such person");
		return 0;
	}
	if (range_flag(r->res, 1)) {
		rc_http_fail_field(req, field, "the range ends before it starts");
		return 0;
	}
	if (range_flag(r->res, 2)) {
		rc_http_fail_field(req, field, "the range is longer than "
		    RANGE_MAX_DAYS " days");
		return 0;
	}
	return 1;
}

/* SQL_EVENTS' row, from column 4: the object EVENT_JSON builds. */
static void
event_put(struct rc_json *w, const PGresult *res, int row)
{
	rc_json_object_begin(w);
	rc_rest_put_uuid(w, "id", res, row, 4);
	rc_rest_put_uuid(w, "user_id", res, row, 5);
	rc_rest_put_text(w, "kind", res, row, 6);
	rc_rest_put_time(w, "at", res, row, 7);
	rc_rest_put_text(w, "source", res, row, 8);
	rc_rest_put_text(w, "note", res, row, 9);
	rc_rest_put_uuid(w, "picture_id", res, row, 10);
	rc_rest_put_time(w, "created_at", res, row, 11);
	rc_rest_put_time(w, "corrected_at", res, row, 12);
	rc_rest_put_uuid(w, "corrected_by", res, row, 13);
	rc_json_object_end(w);
}

static void
events_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct rc_json w;

	if (!range_read_ok(req, r))
		return;
	rc_json_init(&w);
	rc_rest_put_page(&w, r->res, (int)rc_db_bin_int(r->res, 0, 3), 7, 4,
	    event_put);
	rc_rest_reply_json(req, 200, &w);
}

/* The reply of the days read: 404, 422 on the range, or column 3. Its
 * JSON stays PostgreSQL's: attendance_days() is ~95% of that statement
 * (planned on every call, ~1.4 ms for a person's month), writing the
 * JSON in C saved nothing measurable. */
static void
range_read_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (range_read_ok(req, r))
		rc_rest_reply_cell(req, 200, r->res, 3);
}

/* The caller's half of VISIBLE_TARGET's parameters. */
static void
caller_params(struct rc_req *req, const char **p)
{
	p[0] = req->who->user_id;
	p[1] = req->who->role;
	p[2] = req->who->org_id;
}

/* GET /api/v1/attendance/events?user_id=&from=&to=&limit=&cursor= —
 * in order of time, paginated. */
void
rc_api_attendance_events(struct rc_req *req)
{
	struct rc_rest_page page;
	const char *p[11];

	if (user_param(req, &p[3]) != RC_OK ||
	    range_param(req, "from", 1, &p[4], &p[5]) != RC_OK ||
	    range_param(req, "to", 1, &p[6], &p[7]) != RC_OK ||
	    rc_rest_page_parse(req, &page) != RC_OK)
		return;
	caller_params(req, p);
	p[8] = page.after_at;
	p[9] = page.after_id;
	p[10] = page.limit;
	/* The page struct lives on this stack: the pool copies parameters. */
	rc_rest_query_typed(req, &SQL_EVENTS, p, events_cb);
}

/* GET /api/v1/attendance/days?user_id=&from=&to= — per local date, from
 * attendance_days() (sql/005_attendance.sql). */
void
rc_api_attendance_days(struct rc_req *req)
{
	const char *p[6], *unused;

	if (user_param(req, &p[3]) != RC_OK ||
	    range_param(req, "from", 0, &p[4], &unused) != RC_OK ||
	    range_param(req, "to", 0, &p[5], &unused) != RC_OK)
		return;
	caller_params(req, p);
	rc_rest_query(req, &SQL_DAYS, p, range_read_cb);
}

/* ---- GET /api/v1/attendance/today ------------------------------------ */

static void
today_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_rest_db_row(req, r, "no such person"))
		rc_rest_reply_cell(req, 200, r->res, 0);
}

/* GET /api/v1/attendance/today — the caller's day so far, for the app's
 * home: state, the day's figures and events, whether a face is needed. */
void
rc_api_attendance_today(struct rc_req *req)
{
	const char *p[1] = { req->who->user_id };

	rc_rest_query(req, &SQL_TODAY, p, today_cb);
}

/* ---- PATCH /api/v1/attendance/events/{id} ---------------------------- */

static void
patch_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (sequence_broken(r)) {
		rc_http_fail(req, 409, "invalid_sequence", "after this change "
		    "the person's events would not alternate in, out, in...");
		return;
	}
	if (rc_db_sqlstate_is(r, RC_SQLSTATE_UNIQUE)) {
		rc_http_fail(req, 409, "conflict",
		    "the person has another event at that instant");
		return;
	}
	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQgetvalue(r->res, 0, 1)[0] != 't') {
		rc_http_fail(req, 404, "not_found", "no such event");
		return;
	}
	if (PQgetvalue(r->res, 0, 2)[0] == 't') {
		rc_http_fail_field(req, "at", "is in the future");
		return;
	}
	rc_rest_reply_cell(req, 200, r->res, 0);
}

/* PATCH /api/v1/attendance/events/{id} {at?, kind?, note?} — an admin's
 * correction; the audit log keeps the row as it was. */
void
rc_api_attendance_patch(struct rc_req *req)
{
	const char *id, *at, *kind, *note, *p[9];

	if (rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return;
	if (rc_rest_string(req, "at", 0, 1, 40, &at) != RC_OK ||
	    rc_rest_enum(req, "kind", 0, kinds, &kind) != RC_OK ||
	    rc_rest_string(req, "note", 0, 0, NOTE_MAX_CHARS, &note) != RC_OK)
		return;
	if (at != NULL && !rc_util_instant_valid(at)) {
		rc_http_fail_field(req, "at", "must be an RFC 3339 instant");
		return;
	}
	if (at == NULL && kind == NULL && !rc_rest_has(req, "note")) {
		rc_http_fail_field(req, "at", "give at, kind or note to change");
		return;
	}
	p[0] = id;
	p[1] = req->who->role_bit == RC_ROLE_SUPERADMIN ? NULL :
	    req->who->org_id;
	p[2] = at;
	p[3] = kind;
	p[4] = rc_rest_has(req, "note") ? "true" : "false";
	p[5] = note;
	p[6] = req->who->user_id;
	p[7] = rc_http_client(req);
	p[8] = req->id;
	rc_rest_query(req, &SQL_PATCH, p, patch_cb);
}
