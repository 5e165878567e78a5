/* Pictures (what UploadPicture and S3 did): anyone in an org uploads an
 * image, which is stored upright as a JPEG without metadata next to a
 * thumbnail; its owner and the org's admins read and delete it. Another
 * person's or another org's picture is one that does not exist: 404. The
 * bytes live in the blob store; reading them is file I/O, so it runs on
 * the CPU pool, and deleting them is left to the jobs worker. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/cpu.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/log.h"
#include "rollcall/rest.h"
#include "rollcall/store.h"

#define PICTURE_PATH	"/api/v1/pictures/"

/* $1 org, $2 owner, $3 sha256, $4 thumb_sha256, $5 width, $6 height,
 * $7 bytes, $8 thumb width, $9 thumb height. Row: id, the reply. */
static const struct rc_db_stmt SQL_CREATE = {
	"pictures_create",
	"WITH p AS (INSERT INTO pictures (org_id, owner_id, purpose, sha256,"
	"  thumb_sha256, width, height, bytes) VALUES ($1::uuid, $2::uuid,"
	"  'upload', $3, $4, $5::int, $6::int, $7::bigint) RETURNING *)"
	" SELECT p.id, json_build_object('id', p.id, 'content_type',"
	" p.content_type, 'width', p.width, 'height', p.height, 'bytes',"
	" p.bytes, 'sha256', p.sha256, 'thumb', json_build_object('width',"
	" $8::int, 'height', $9::int), 'created_at', "
	RC_REST_INSTANT("p.created_at") ")::text FROM p",
	9,
};

/* $1 id, $2 org, $3 caller, $4 caller is an admin. */
static const struct rc_db_stmt SQL_FIND = {
	"pictures_find",
	"SELECT sha256, thumb_sha256 FROM pictures WHERE id = $1::uuid"
	" AND org_id = $2::uuid AND (owner_id = $3::uuid OR $4::bool)",
	4,
};

/* $1 id, $2 org, $3 caller, $4 caller is an admin, $5 client, $6 request
 * id. Check-in and face pictures are evidence and enrolment sources: only
 * an admin deletes them here. The row and the job that unlinks its blobs
 * commit together (the worker keeps blobs another row still names).
 * Row: pictures seen, pictures deleted. */
static const struct rc_db_stmt SQL_DELETE = {
	"pictures_delete",
	"WITH p AS (SELECT id, purpose FROM pictures WHERE id = $1::uuid"
	"  AND org_id = $2::uuid AND (owner_id = $3::uuid OR $4::bool)),"
	" d AS (DELETE FROM pictures x USING p WHERE x.id = p.id"
	"  AND (p.purpose = 'upload' OR $4::bool) RETURNING x.id, x.org_id,"
	"  x.owner_id, x.purpose, x.sha256, x.thumb_sha256),"
	" j AS (INSERT INTO jobs (kind, payload, org_id) SELECT 'blob_delete',"
	"  jsonb_build_object('keys', jsonb_build_array(d.sha256,"
	"  d.thumb_sha256)), d.org_id FROM d),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT d.org_id, $3::uuid,"
	"  'picture_deleted', d.id, jsonb_build_object('owner_id', d.owner_id,"
	"  'purpose', d.purpose), $5, $6 FROM d)"
	" SELECT (SELECT count(*) FROM p), (SELECT count(*) FROM d)",
	6,
};

/* A blob read on the CPU pool for GET. */
struct blob_read {
	struct rc_req	*req;
	char		 key[RC_STORE_KEY_LEN + 1];
	char		 etag[RC_STORE_KEY_LEN + 3];
	unsigned char	*data;
	size_t		 len;
	rc_status	 rv;
};

static void
blob_read_cleanup(void *arg)
{
	struct blob_read *b = arg;

	free(b->data);
}

/* Superadmins belong to no org and so own no pictures. Replies 403 and
 * returns 0 for them. */
static int
in_an_org(struct rc_req *req)
{
	if (req->who->org_id != NULL)
		return 1;
	rc_http_fail(req, 403, "forbidden", "pictures belong to an "
	    "organisation's people; a superadmin has none");
	return 0;
}

/* ---- POST /api/v1/pictures ------------------------------------------ */

static void
create_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	char location[sizeof(PICTURE_PATH) + 40];

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	snprintf(location, sizeof(location), PICTURE_PATH "%s",
	    PQgetvalue(r->res, 0, 0));
	rc_http_set_header(req, "Location", location);
	rc_rest_reply_cell(req, 201, r->res, 1);
}

/* The image is stored: record it. A failed insert leaves two blobs no
 * row names, which `rollcall store gc` collects. */
static void
create_stored(struct rc_req *req, struct rc_rest_upload *up)
{
	char w[16], h[16], bytes[24], tw[16], th[16];
	const char *p[9] = { req->who->org_id, req->who->user_id, up->sha256,
	    up->thumb_sha256, w, h, bytes, tw, th };

	snprintf(w, sizeof(w), "%d", up->img.width);
	snprintf(h, sizeof(h), "%d", up->img.height);
	snprintf(bytes, sizeof(bytes), "%zu", up->img.jpeg_len);
	snprintf(tw, sizeof(tw), "%d", up->img.thumb_w);
	snprintf(th, sizeof(th), "%d", up->img.thumb_h);
	rc_rest_query(req, &SQL_CREATE, p, create_cb);
}

/* POST /api/v1/pictures — an image body or multipart part "file". */
void
rc_api_pictures_create(struct rc_req *req)
{
	if (!in_an_org(req))
		return;
	rc_rest_upload(req, RC_REST_UPLOAD_STORE, create_stored);
}

/* ---- GET /api/v1/pictures/{id}[?size=thumb] -------------------------- */

static void
read_work(void *arg)
{
	struct blob_read *b = arg;

	b->rv = rc_store_get(rc_rest_store(), b->key, &b->data, &b->len);
}

/* The bytes under an id never change: their key is the ETag. */
static void
cache_headers(struct rc_req *req, const struct blob_read *b)
{
	rc_http_set_header(req, "ETag", b->etag);
	rc_http_set_header(req, "Cache-Control", "private");
}

static void
read_done(void *arg)
{
	struct blob_read *b = arg;
	struct rc_req *req = b->req;

	if (b->rv == RC_AGAIN) {
		/* The row went (and its blob with it) after we read it. */
		rc_log(RC_LOG_WARN, "pictures: blob %s is missing", b->key);
		rc_http_fail(req, 404, "not_found", "no such picture");
		return;
	}
	if (b->rv != RC_OK) {
		rc_http_fail(req, 503, "store_unavailable",
		    "the picture store cannot be read now");
		return;
	}
	cache_headers(req, b);
	rc_http_reply(req, 200, "image/jpeg", b->data, b->len);
}

/* RFC 9110 13.1.2: a list of entity tags, or "*". */
static int
etag_matches(const char *inm, const char *etag)
{
	const char *p;
	size_t n = strlen(etag);

	if (inm == NULL)
		return 0;
	if (strcmp(inm, "*") == 0)
		return 1;
	for (p = strstr(inm, etag); p != NULL; p = strstr(p + 1, etag))
		if ((p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
		    (p[n] == '\0' || p[n] == ',' || p[n] == ' '))
			return 1;
	return 0;
}

static void
find_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	const char *size = rc_http_query(req, "size");
	int thumb = size != NULL && strcmp(size, "thumb") == 0;
	struct blob_read *b;

	if (!rc_rest_db_row(req, r, "no such picture"))
		return;
	b = rc_req_alloc(req, sizeof(*b), blob_read_cleanup);
	b->req = req;
	snprintf(b->key, sizeof(b->key), "%s", PQgetvalue(r->res, 0, thumb));
	snprintf(b->etag, sizeof(b->etag), "\"%s\"", b->key);
	if (etag_matches(rc_http_header(req, "If-None-Match"), b->etag)) {
		cache_headers(req, b);
		rc_http_reply(req, 304, NULL, NULL, 0);
		return;
	}
	rc_cpu_submit(req->loop, read_work, read_done, b);
}

/* GET /api/v1/pictures/{id} — the JPEG, or its thumbnail. */
void
rc_api_pictures_get(struct rc_req *req)
{
	const char *id, *size = rc_http_query(req, "size");

	if (!in_an_org(req) || rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return;
	if (size != NULL && strcmp(size, "thumb") != 0 &&
	    strcmp(size, "full") != 0) {
		rc_http_fail_field(req, "size", "must be thumb or full");
		return;
	}
	{
		const char *p[4] = { id, req->who->org_id, req->who->user_id,
		    rc_rest_admin_text(req) };

		rc_rest_query(req, &SQL_FIND, p, find_cb);
	}
}

/* ---- DELETE /api/v1/pictures/{id} ----------------------------------- */

static void
delete_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (strcmp(PQgetvalue(r->res, 0, 0), "0") == 0) {
		rc_http_fail(req, 404, "not_found", "no such picture");
		return;
	}
	if (strcmp(PQgetvalue(r->res, 0, 1), "0") == 0) {
		rc_http_fail(req, 403, "forbidden", "check-in photos and face "
		    "pictures are deleted by an admin (or with the face)");
		return;
	}
	rc_http_reply(req, 204, NULL, NULL, 0);
}

/* DELETE /api/v1/pictures/{id} — the row now, the blobs by the worker. */
void
rc_api_pictures_delete(struct rc_req *req)
{
	const char *id;

	if (!in_an_org(req) || rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return;
	{
		const char *p[6] = { id, req->who->org_id, req->who->user_id,
		    rc_rest_admin_text(req), rc_http_client(req), req->id };

		rc_rest_query(req, &SQL_DELETE, p, delete_cb);
	}
}

