/* Kiosk devices: an admin registers one and gets its token once; the
 * kiosk then punches people in and out by face (POST /kiosk/punch). Only
 * the token's SHA-256 is stored: the token is 256 random bits, so a slow
 * hash would add nothing, and a leaked table gives no usable token. A
 * kiosk token (src/auth/kiosk.c) is accepted by the routes whose who says
 * RC_WHO_KIOSK and nowhere else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/jobs.h"
#include "rollcall/log.h"
#include "rollcall/rest.h"
#include "rollcall/sqlstate.h"


#define KIOSK_NAME_MAX		100

#define KIOSK_JSON \
	"json_build_object('id', k.id, 'name', k.name, 'created_at', " \
	RC_REST_INSTANT("k.created_at") ", 'last_used_at', " \
	RC_REST_INSTANT("k.last_used_at") ")"

/* $1 org, $2 name, $3 token hash (hex), $4 actor, $5 client, $6 request
 * id. */
static const struct rc_db_stmt SQL_CREATE = {
	"kiosks_create",
	"WITH k AS (INSERT INTO kiosks (org_id, name, token_hash, created_by)"
	"  VALUES ($1::uuid, $2, decode($3, 'hex'), $4::uuid) RETURNING *),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT k.org_id, $4::uuid,"
	"  'kiosk_created', k.id, jsonb_build_object('name', k.name), $5, $6"
	"  FROM k)"
	" SELECT " KIOSK_JSON "::text FROM k",
	6,
};

/* $1 org, $2/$3 cursor, $4 limit. */
static const struct rc_db_stmt SQL_LIST = {
	"kiosks_list",
	"WITH page AS (SELECT k.created_at, k.id, " KIOSK_JSON " AS j"
	"  FROM kiosks k WHERE k.org_id = $1::uuid"
	"  AND ($2::timestamptz IS NULL OR (k.created_at, k.id) >"
	"   ($2::timestamptz, $3::uuid))"
	"  ORDER BY k.created_at, k.id LIMIT $4::int + 1)"
	" " RC_REST_PAGE_SELECT("page", "$4"),
	4,
};

/* $1 id, $2 org, $3 actor, $4 client, $5 request id. */
static const struct rc_db_stmt SQL_DELETE = {
	"kiosks_delete",
	"WITH k AS (DELETE FROM kiosks WHERE id = $1::uuid AND org_id ="
	"  $2::uuid RETURNING *),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT k.org_id, $3::uuid,"
	"  'kiosk_deleted', k.id, jsonb_build_object('name', k.name), $4, $5"
	"  FROM k)"
	" SELECT id FROM k",
	5,
};

/* $1 kiosk, $2 org, $3 person, $4 similarity, $5 sha256, $6 thumb,
 * $7 width, $8 height, $9 bytes. Toggles the person: in when their last
 * event is an out (or none), else out; the state rule's trigger settles
 * races (RC_SQLSTATE_*). No row: the person or the kiosk is gone, and the
 * blobs go with a job. */
static const struct rc_db_stmt SQL_PUNCH = {
	"kiosks_punch",
	"WITH u AS (SELECT id, org_id, name FROM users WHERE id = $3::uuid"
	"  AND org_id = $2::uuid AND status = 'active'),"
	" k AS (UPDATE kiosks SET last_used_at = now() WHERE id = $1::uuid"
	"  AND org_id = $2::uuid RETURNING id),"
	" last AS (SELECT e.kind FROM attendance_events e, u"
	"  WHERE e.user_id = u.id ORDER BY e.at DESC LIMIT 1),"
	" p AS (INSERT INTO pictures (org_id, owner_id, purpose, sha256,"
	"  thumb_sha256, width, height, bytes) SELECT u.org_id, u.id,"
	"  'check_in', $5, $6, $7::int, $8::int, $9::bigint FROM u, k"
	"  RETURNING id, org_id, owner_id),"
	" e AS (INSERT INTO attendance_events (org_id, user_id, kind, at,"
	"  source, picture_id, similarity, kiosk_id) SELECT p.org_id,"
	"  p.owner_id, CASE WHEN (SELECT kind FROM last) = 'in' THEN 'out'"
	"  ELSE 'in' END, now(), 'kiosk', p.id, $4::real, $1::uuid FROM p"
	"  RETURNING id, user_id, kind, at, similarity),"
	" j AS (" RC_JOBS_BLOB_DELETE("jsonb_build_array($5::text,"
	"  $6::text)", "$2::uuid") " WHERE NOT EXISTS (SELECT 1 FROM e))"
	" SELECT json_build_object('user_id', e.user_id, 'kind', e.kind,"
	" 'at', " RC_REST_INSTANT("e.at") ", 'similarity', e.similarity,"
	" 'event_id', e.id, 'name', u.name)::text FROM e, u",
	9,
};

/* $1 kiosk id. What the kiosk screen shows besides the camera. */
static const struct rc_db_stmt SQL_ME = {
	"kiosks_me",
	"SELECT json_build_object('id', k.id, 'name', k.name, 'org',"
	" json_build_object('name', o.name, 'timezone', o.timezone))::text"
	" FROM kiosks k JOIN orgs o ON o.id = k.org_id WHERE k.id = $1::uuid",
	1,
};

/* ---- POST /api/v1/kiosks --------------------------------------------- */

static void
create_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	char *token = req->data;
	json_t *body;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	/* The token is shown this once. */
	body = json_loads(PQgetvalue(r->res, 0, 0), 0, NULL);
	json_object_set_new(body, "token", json_string(token));
	rc_http_reply_json(req, 201, body);
}

static void
token_wipe(void *arg)
{
	sodium_memzero(arg, RC_AUTH_KIOSK_TOKEN_LEN + 1);
}

/* POST /api/v1/kiosks {name} — the token is in this reply only. */
void
rc_api_kiosks_create(struct rc_req *req)
{
	char hash[RC_AUTH_TOKEN_HASH_LEN + 1];
	const char *name, *p[6];
	char *token;

	if (rc_rest_line(req, "name", 1, 1, KIOSK_NAME_MAX, &name) != RC_OK)
		return;
	token = rc_req_alloc(req, RC_AUTH_KIOSK_TOKEN_LEN + 1, token_wipe);
	rc_auth_kiosk_token_new(token);
	req->data = token;
	rc_auth_token_hash(token, hash);
	p[0] = req->who->org_id;
	p[1] = name;
	p[2] = hash;
	p[3] = req->who->user_id;
	p[4] = rc_http_client(req);
	p[5] = req->id;
	rc_rest_query(req, &SQL_CREATE, p, create_cb);
}

/* ---- GET /api/v1/kiosks ---------------------------------------------- */

/* GET /api/v1/kiosks?limit=&cursor= — the org's kiosks, no tokens. */
void
rc_api_kiosks_list(struct rc_req *req)
{
	rc_rest_list_org(req, &SQL_LIST);
}

/* ---- DELETE /api/v1/kiosks/{id} -------------------------------------- */

static void
delete_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_row(req, r, "no such kiosk"))
		return;
	rc_http_reply(req, 204, NULL, NULL, 0);
}

/* DELETE /api/v1/kiosks/{id} — its token stops working at once. */
void
rc_api_kiosks_delete(struct rc_req *req)
{
	const char *id, *p[5];

	if (rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return;
	p[0] = id;
	p[1] = req->who->org_id;
	p[2] = req->who->user_id;
	p[3] = rc_http_client(req);
	p[4] = req->id;
	rc_rest_query(req, &SQL_DELETE, p, delete_cb);
}

/* ---- POST /api/v1/kiosk/punch ---------------------------------------- */

/* The state rule's SQLSTATEs (sql/005_attendance.sql) and a duplicate
 * instant: a concurrent punch of the same person won. */
static int
punch_raced(const struct rc_db_result *r)
{
	return rc_db_sqlstate_is(r, RC_SQLSTATE_ALREADY_CHECKED_IN) ||
	    rc_db_sqlstate_is(r, RC_SQLSTATE_NOT_CHECKED_IN) ||
	    rc_db_sqlstate_is(r, RC_SQLSTATE_SEQUENCE_BROKEN) ||
	    rc_db_sqlstate_is(r, RC_SQLSTATE_UNIQUE);
}

static void
punch_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	const struct rc_rest_upload *up = *(struct rc_rest_upload **)
	    rc_rest_state(req);

	if (punch_raced(r)) {
		rc_rest_upload_fail(req, up, req->who->org_id, 409, "conflict",
		    "another punch of this person came at the same time");
		return;
	}
	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1) {
		rc_http_fail(req, 404, "unknown_face",
		    "nobody active in this organisation matches the face");
		return;
	}
	rc_rest_reply_cell(req, 201, r->res, 0);
}

static void
punch_identified(struct rc_req *req, const struct rc_rest_upload *up,
    const struct rc_rest_match *m, size_t n, double threshold)
{
	const struct rc_rest_upload **st;
	char sim[24], w[16], h[16], bytes[24];
	const char *p[9];

	(void)threshold;
	if (n == 0) {
		rc_rest_upload_fail(req, up, req->who->org_id, 404,
		    "unknown_face", "nobody in this organisation matches the "
		    "face");
		return;
	}
	st = rc_rest_state_new(req, sizeof(*st));
	*st = up;
	snprintf(sim, sizeof(sim), "%.6f", m[0].similarity);
	snprintf(w, sizeof(w), "%d", up->img.width);
	snprintf(h, sizeof(h), "%d", up->img.height);
	snprintf(bytes, sizeof(bytes), "%zu", up->img.jpeg_len);
	p[0] = req->who->kiosk_id;
	p[1] = req->who->org_id;
	p[2] = m[0].user_id;
	p[3] = sim;
	p[4] = up->sha256;
	p[5] = up->thumb_sha256;
	p[6] = w;
	p[7] = h;
	p[8] = bytes;
	rc_rest_query(req, &SQL_PUNCH, p, punch_cb);
}

static void
punch_uploaded(struct rc_req *req, struct rc_rest_upload *up)
{
	if (up->face_status != RC_FACE_OK) {
		rc_rest_upload_fail_face(req, up, req->who->org_id);
		return;
	}
	rc_rest_identify(req, up, req->who->org_id, punch_identified);
}

/* POST /api/v1/kiosk/punch (image) — the largest face in front of the
 * kiosk, checked in or out. */
void
rc_api_kiosks_punch(struct rc_req *req)
{
	rc_rest_upload(req, RC_REST_UPLOAD_STORE | RC_REST_UPLOAD_FACE, punch_uploaded);
}

/* ---- GET /api/v1/kiosk/me -------------------------------------------- */

static void
me_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_rest_db_row(req, r, "no such kiosk"))
		rc_rest_reply_cell(req, 200, r->res, 0);
}

/* GET /api/v1/kiosk/me — the kiosk itself and its org's name and zone
 * (the screen's title and clock). */
void
rc_api_kiosks_me(struct rc_req *req)
{
	const char *p[1] = { req->who->kiosk_id };

	rc_rest_query(req, &SQL_ME, p, me_cb);
}

