/* Face routes (what Rekognition did): enrol a person's face from a photo,
 * list and delete their templates, verify a photo against one person (1:1)
 * and identify it among an org's people (1:N, through the in-memory
 * gallery). Templates go into PostgreSQL as bytea and never come back out
 * of the API. Also the helpers the kiosk and check-in routes share. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/config.h"
#include "rollcall/cpu.h"
#include "rollcall/db.h"
#include "rollcall/face.h"
#include "rollcall/http.h"
#include "rollcall/jobs.h"
#include "rollcall/log.h"
#include "rollcall/rest.h"


/* The public face object, from a face_templates row named f. */
#define FACE_JSON \
	"json_build_object('id', f.id, 'quality', f.quality, 'method'," \
	" f.method, 'reindex_error', f.reindex_error, 'picture_id'," \
	" f.picture_id, 'created_at', " \
	RC_REST_INSTANT("f.created_at") ")"

/* Who may act on person $1: $2 the org scope (NULL: any), $3 the caller,
 * $4 whether the caller is an admin (else only themselves). */
#define PERSON \
	"u AS (SELECT id, org_id FROM users WHERE id = $1::uuid" \
	"  AND org_id IS NOT NULL AND ($2::uuid IS NULL OR org_id = $2::uuid)" \
	"  AND ($4::bool OR id = $3::uuid))"

/* PERSON's $1..$4, $5 sha256, $6 thumb, $7 width, $8 height, $9 bytes,
 * $10 method, $11 version, $12 template (hex), $13 quality, $14 client,
 * $15 request id. One row: the face (NULL when not enrolled), whether the
 * person exists, their org. Not enrolled → the blobs go (job). */
static const struct rc_db_stmt SQL_ENROL = {
	"faces_enrol",
	"WITH " PERSON ","
	" n AS (SELECT count(*) AS c FROM face_templates"
	"  WHERE user_id = (SELECT id FROM u)),"
	" p AS (INSERT INTO pictures (org_id, owner_id, purpose, sha256,"
	"  thumb_sha256, width, height, bytes) SELECT u.org_id, u.id, 'face',"
	"  $5, $6, $7::int, $8::int, $9::bigint FROM u, n"
	"  WHERE n.c < " RC_FACE_PER_USER_MAX_TEXT " RETURNING id, org_id,"
	"  owner_id),"
	" f AS (INSERT INTO face_templates (org_id, user_id, picture_id,"
	"  method, version, template, quality) SELECT p.org_id, p.owner_id,"
	"  p.id, $10, $11::int, decode($12, 'hex'), $13::real FROM p"
	"  RETURNING *),"
	" j AS (" RC_JOBS_BLOB_DELETE("jsonb_build_array($5::text,"
	"  $6::text)", "(SELECT org_id FROM u)")
	"  WHERE NOT EXISTS (SELECT 1 FROM f)),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT f.org_id, $3::uuid,"
	"  'face_enrolled', f.user_id, jsonb_build_object('face_id', f.id),"
	"  $14, $15 FROM f)"
	" SELECT (SELECT json_build_object('id', f.id, 'quality', f.quality,"
	" 'picture_id', f.picture_id, 'created_at', "
	RC_REST_INSTANT("f.created_at") ")::text FROM f),"
	" EXISTS (SELECT 1 FROM u), (SELECT org_id FROM u)",
	15,
};

/* PERSON's $1..$4, $5/$6 cursor, $7 limit. One row: whether the person
 * exists, the page. */
static const struct rc_db_stmt SQL_LIST = {
	"faces_list",
	"WITH " PERSON ","
	" page AS (SELECT f.created_at, f.id, " FACE_JSON " AS j"
	"  FROM face_templates f, u WHERE f.user_id = u.id"
	"  AND ($5::timestamptz IS NULL OR (f.created_at, f.id) >"
	"   ($5::timestamptz, $6::uuid))"
	"  ORDER BY f.created_at, f.id LIMIT $7::int + 1)"
	" SELECT EXISTS (SELECT 1 FROM u), (" RC_REST_PAGE_SELECT("page", "$7")
	")",
	7,
};

/* PERSON's $1..$4, $5 face, $6 client, $7 request id. The template, its
 * source picture and (through the outbox) the picture's blobs. */
static const struct rc_db_stmt SQL_DELETE = {
	"faces_delete",
	"WITH " PERSON ","
	" f AS (DELETE FROM face_templates x USING u WHERE x.id = $5::uuid"
	"  AND x.user_id = u.id RETURNING x.id, x.org_id, x.user_id,"
	"  x.picture_id),"
	" p AS (DELETE FROM pictures WHERE id IN (SELECT picture_id FROM f)"
	"  RETURNING sha256, thumb_sha256, org_id),"
	" j AS (" RC_JOBS_BLOB_DELETE("jsonb_build_array(p.sha256,"
	"  p.thumb_sha256)", "p.org_id") " FROM p),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT f.org_id, $3::uuid,"
	"  'face_deleted', f.user_id, jsonb_build_object('face_id', f.id),"
	"  $6, $7 FROM f)"
	" SELECT org_id FROM f",
	7,
};

/* $1 person, $2 org scope (NULL: any), $3 default threshold. One row per
 * template (one with NULLs when there is none; no row: no such person):
 * threshold, method, version, template. */
static const struct rc_db_stmt SQL_TEMPLATES = {
	"faces_templates",
	"SELECT COALESCE(o.face_threshold, $3::real)::text, f.method,"
	" f.version, f.template FROM users u JOIN orgs o ON o.id = u.org_id"
	" LEFT JOIN face_templates f ON f.user_id = u.id"
	" WHERE u.id = $1::uuid AND ($2::uuid IS NULL OR u.org_id = $2::uuid)"
	" LIMIT " RC_FACE_PER_USER_MAX_TEXT,
	3,
};

static int
is_admin(const struct rc_req *req)
{
	return (req->who->role_bit & (RC_ROLE_ADMIN | RC_ROLE_SUPERADMIN)) != 0;
}

/* {id} if the caller may act on that person (an admin, or themselves);
 * replies 404 and returns NULL otherwise. */
static const char *
person_param(struct rc_req *req)
{
	const char *id;

	if (rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return NULL;
	if (!is_admin(req) && strcasecmp(id, req->who->user_id) != 0) {
		rc_http_fail(req, 404, "not_found", "no such user");
		return NULL;
	}
	return id;
}

static void
person_params(struct rc_req *req, const char *id, const char **p)
{
	p[0] = id;
	p[1] = rc_rest_scope_org(req);
	p[2] = req->who->user_id;
	p[3] = is_admin(req) ? "true" : "false";
}

/* ---- POST /api/v1/users/{id}/faces ----------------------------------- */

static void
enrol_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQgetvalue(r->res, 0, 1)[0] != 't') {
		rc_http_fail(req, 404, "not_found", "no such user");
		return;
	}
	if (PQgetisnull(r->res, 0, 0)) {
		rc_http_fail(req, 409, "too_many_faces", "a person enrols at "
		    "most " RC_FACE_PER_USER_MAX_TEXT " faces: delete one first");
		return;
	}
	rc_face_gallery_invalidate(PQgetvalue(r->res, 0, 2));
	rc_rest_reply_cell(req, 201, r->res, 0);
}

static void
enrol_uploaded(struct rc_req *req, struct rc_rest_upload *up)
{
	const char *p[15];
	char w[16], h[16], bytes[24], version[12], quality[16], *hex;
	unsigned char *tpl;
	size_t len;

	if (up->face_status != RC_FACE_OK) {
		rc_rest_upload_fail_face(req, up, rc_rest_scope_org(req));
		return;
	}
	tpl = rc_face_template_serialize(up->face, &len);
	hex = rc_malloc(2 * len + 1);
	rc_hex_encode(tpl, len, hex);
	free(tpl);
	snprintf(w, sizeof(w), "%d", up->img.width);
	snprintf(h, sizeof(h), "%d", up->img.height);
	snprintf(bytes, sizeof(bytes), "%zu", up->img.jpeg_len);
	rc_face_version_text(rc_face_template_version(up->face), version);
	snprintf(quality, sizeof(quality), "%.4f",
	    fmin(1.0, fmax(0.0, up->face_info.quality)));
	person_params(req, rc_http_param(req, "id"), p);
	p[4] = up->sha256;
	p[5] = up->thumb_sha256;
	p[6] = w;
	p[7] = h;
	p[8] = bytes;
	p[9] = rc_face_template_method(up->face);
	p[10] = version;
	p[11] = hex;
	p[12] = quality;
	p[13] = rc_http_client(req);
	p[14] = req->id;
	rc_rest_query(req, &SQL_ENROL, p, enrol_cb);	/* copies the params */
	free(hex);
}

/* POST /api/v1/users/{id}/faces (image) — one face, clearly alone. */
void
rc_api_faces_enrol(struct rc_req *req)
{
	if (person_param(req) == NULL)
		return;
	rc_rest_upload(req, RC_REST_UPLOAD_STORE | RC_REST_UPLOAD_FACE |
	    RC_REST_UPLOAD_FACE_STRICT, enrol_uploaded);
}

/* ---- GET /api/v1/users/{id}/faces ------------------------------------ */

static void
list_cb(const struct rc_db_result *r, void *arg)
{
	rc_rest_reply_found(arg, r, 0, 1, "no such user");
}

/* GET /api/v1/users/{id}/faces?limit=&cursor= — never the templates. */
void
rc_api_faces_list(struct rc_req *req)
{
	struct rc_rest_page page;
	const char *id, *p[7];

	if ((id = person_param(req)) == NULL ||
	    rc_rest_page_parse(req, &page) != RC_OK)
		return;
	person_params(req, id, p);
	p[4] = page.after_at;
	p[5] = page.after_id;
	p[6] = page.limit;
	rc_rest_query(req, &SQL_LIST, p, list_cb);
}

/* ---- DELETE /api/v1/users/{id}/faces/{face_id} ---------------------- */

static void
delete_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_row(req, r, "no such face"))
		return;
	rc_face_gallery_invalidate(PQgetvalue(r->res, 0, 0));
	rc_http_reply(req, 204, NULL, NULL, 0);
}

/* DELETE /api/v1/users/{id}/faces/{face_id} — the template, its source
 * picture and the picture's files. */
void
rc_api_faces_delete(struct rc_req *req)
{
	const char *id, *face, *p[7];

	if ((id = person_param(req)) == NULL ||
	    rc_rest_uuid_param(req, "face_id", &face) != RC_OK)
		return;
	person_params(req, id, p);
	p[4] = face;
	p[5] = rc_http_client(req);
	p[6] = req->id;
	rc_rest_query(req, &SQL_DELETE, p, delete_cb);
}

/* ---- POST /api/v1/faces/verify?user_id= ------------------------------ */

/* The org a kiosk or an admin works in (NULL: a superadmin, any). */
static const char *
caller_org(const struct rc_req *req)
{
	return req->who->kiosk_id != NULL ? req->who->org_id : rc_rest_scope_org(req);
}

static void
verify_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	const struct rc_rest_upload *up =
	    *(struct rc_rest_upload **)rc_rest_state(req);
	double best, threshold;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) == 0) {
		rc_http_fail(req, 404, "not_found", "no such user");
		return;
	}
	threshold = strtod(PQgetvalue(r->res, 0, 0), NULL);
	if (PQgetisnull(r->res, 0, 3)) {
		rc_http_fail(req, 422, "no_templates",
		    "this person has enrolled no face");
		return;
	}
	best = rc_face_best_similarity(up->face, r->res, 1);
	if (best < 0) {
		rc_http_fail(req, 422, "no_templates", "this person has no "
		    "face enrolled with the current face matcher yet (a reindex "
		    "recomputes older ones: rollcall face reindex)");
		return;
	}
	rc_http_reply_json(req, 200, json_pack("{s:b, s:f, s:f}", "match",
	    best >= threshold, "similarity", best, "threshold", threshold));
}

static void
verify_uploaded(struct rc_req *req, struct rc_rest_upload *up)
{
	struct rc_rest_upload **st;
	const char *p[3];

	if (up->face_status != RC_FACE_OK) {
		rc_rest_fail_face(req, up->face_status, &up->face_info);
		return;
	}
	st = rc_rest_state_new(req, sizeof(*st));
	*st = up;
	p[0] = rc_http_query(req, "user_id");
	p[1] = caller_org(req);
	p[2] = rc_rest_face_threshold(req);
	rc_rest_query(req, &SQL_TEMPLATES, p, verify_cb);
}

/* POST /api/v1/faces/verify?user_id= (image) — is this that person? */
void
rc_api_faces_verify(struct rc_req *req)
{
	const char *user = rc_http_query(req, "user_id");

	if (user == NULL || !rc_util_uuid_valid(user)) {
		rc_http_fail_field(req, "user_id", user == NULL ?
		    "is required" : "is not an id");
		return;
	}
	rc_rest_upload(req, RC_REST_UPLOAD_FACE, verify_uploaded);
}

/* ---- POST /api/v1/faces/identify ------------------------------------- */

static void
identified(struct rc_req *req, const struct rc_rest_upload *up,
    const struct rc_rest_match *m, size_t n, double threshold)
{
	json_t *items = json_array();
	size_t i;

	(void)up;
	for (i = 0; i < n; i++)
		json_array_append_new(items, json_pack("{s:s, s:f}", "user_id",
		    m[i].user_id, "similarity", m[i].similarity));
	rc_http_reply_json(req, 200, json_pack("{s:o, s:f}", "matches", items,
	    "threshold", threshold));
}

static void
identify_uploaded(struct rc_req *req, struct rc_rest_upload *up)
{
	if (up->face_status != RC_FACE_OK) {
		rc_rest_fail_face(req, up->face_status, &up->face_info);
		return;
	}
	rc_rest_identify(req, up, req->who->org_id, identified);
}

/* POST /api/v1/faces/identify (image) — who of the caller's org is this? */
void
rc_api_faces_identify(struct rc_req *req)
{
	rc_rest_upload(req, RC_REST_UPLOAD_FACE, identify_uploaded);
}

