/* Image uploads shared by the picture, face, kiosk and check-in routes: the
 * bytes (req->image: the router found them in a raw body or a multipart
 * part, for routes declaring RC_BODY_IMAGE) are judged on the loop from
 * their header alone (type and pixel count, so junk and
 * decompression bombs never reach the CPU pool), then decoded, re-encoded,
 * stored and matched on the CPU pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollcall/api.h"
#include "rollcall/config.h"
#include "rollcall/cpu.h"
#include "rollcall/db.h"
#include "rollcall/face.h"
#include "rollcall/http.h"
#include "rollcall/jobs.h"
#include "rollcall/log.h"
#include "rollcall/rest.h"
#include "rollcall/store.h"

/* The request's upload state, in the request's memory. */
struct upload {
	struct rc_rest_upload	 up;		/* what done receives */
	struct rc_req		*req;
	rc_rest_upload_cb	 done;
	const unsigned char	*data;		/* in the request's input buffer */
	size_t			 len;
	struct rc_image_limits	 limits;
	enum rc_image_status	 img_status;
	int			 store_failed;
};

static void
upload_cleanup(void *arg)
{
	struct upload *u = arg;

	rc_face_template_free(u->up.face);
	rc_face_image_cleanup(&u->up.img);
}

/* The type and size from the header alone: a cheap refusal on the loop
 * for anything the CPU pool should not decode. */
static rc_status
sniff_image(struct rc_req *req, const struct rc_http_bytes *b,
    size_t max_pixels)
{
	enum rc_image_type type;
	int w = 0, h = 0;
	char msg[160];

	switch (rc_face_image_sniff(b->data, b->len, &type, &w, &h)) {
	case RC_IMAGE_OK:
		break;
	case RC_IMAGE_NOT_IMAGE:
		rc_http_fail(req, 415, "not_an_image", "the bytes are not a "
		    "JPEG, PNG, WebP or BMP image");
		return RC_ERR;
	case RC_IMAGE_CORRUPT:
		rc_http_fail(req, 422, "corrupt_image", "the image header is "
		    "cut short or impossible");
		return RC_ERR;
	default:
		rc_http_fail(req, 500, "internal", "cannot read the image");
		return RC_ERR;
	}
	if ((size_t)w * (size_t)h > max_pixels) {
		snprintf(msg, sizeof(msg), "the image is %d x %d pixels; the "
		    "limit is %zu pixels", w, h, max_pixels);
		rc_http_fail(req, 413, "too_many_pixels", msg);
		return RC_ERR;
	}
	return RC_OK;
}

/* ---- the CPU pool and back ----------------------------------------- */

static void
extract_face(struct upload *u)
{
	struct rc_face_engine *eng = rc_rest_face_engine();
	struct rc_image *img = &u->up.img;

	if (eng == NULL) {
		u->up.face_status = RC_FACE_ERROR;
		snprintf(u->up.face_info.reason, sizeof(u->up.face_info.reason),
		    "the face matcher is not running");
		return;
	}
	u->up.face_status = rc_face_extract_pixels(eng, img->bgr, img->width,
	    img->height, img->stride, 3, (u->up.flags & RC_REST_UPLOAD_FACE_STRICT) != 0,
	    &u->up.face, &u->up.face_info);
}

/* CPU pool: decode, re-encode, store, match. Touches only u. */
static void
upload_work(void *arg)
{
	struct upload *u = arg;
	struct rc_image *img = &u->up.img;
	struct rc_store *store = rc_rest_store();

	u->img_status = rc_face_image_prepare(u->data, u->len, &u->limits, img);
	if (u->img_status != RC_IMAGE_OK)
		return;
	if (u->up.flags & RC_REST_UPLOAD_STORE) {
		if (store == NULL ||
		    rc_store_put(store, img->jpeg, img->jpeg_len,
		    u->up.sha256) != RC_OK ||
		    rc_store_put(store, img->thumb, img->thumb_len,
		    u->up.thumb_sha256) != RC_OK) {
			u->store_failed = 1;
			return;
		}
	} else {
		rc_store_key_of(img->jpeg, img->jpeg_len, u->up.sha256);
		rc_store_key_of(img->thumb, img->thumb_len, u->up.thumb_sha256);
	}
	if (u->up.flags & RC_REST_UPLOAD_FACE)
		extract_face(u);
}

static void
fail_image(struct rc_req *req, enum rc_image_status st, const char *reason)
{
	const char *detail = reason[0] != '\0' ? reason : NULL;

	switch (st) {
	case RC_IMAGE_NOT_IMAGE:
		rc_http_fail(req, 415, "not_an_image", detail);
		break;
	case RC_IMAGE_CORRUPT:
		rc_http_fail(req, 422, "corrupt_image", detail);
		break;
	case RC_IMAGE_TOO_LARGE:
		rc_http_fail(req, 413, "too_many_pixels", detail);
		break;
	default:
		rc_log(RC_LOG_ERROR, "upload: cannot prepare the image: %s",
		    reason);
		rc_http_fail(req, 500, "internal", "cannot prepare the image");
		break;
	}
}

/* Back on the loop: the request is still ours (it lives until its reply)
 * even when the client has gone. */
static void
upload_done(void *arg)
{
	struct upload *u = arg;
	struct rc_req *req = u->req;

	if (u->img_status != RC_IMAGE_OK) {
		fail_image(req, u->img_status, u->up.img.reason);
		return;
	}
	if (u->store_failed) {
		rc_log(RC_LOG_ERROR, "upload: the blob store refused a put");
		rc_http_fail(req, 503, "store_unavailable", "the picture store "
		    "cannot take the image now");
		return;
	}
	/* Nobody is waiting for the reply: spare the database the rows. */
	if (rc_http_client_gone(req)) {
		rc_http_fail(req, 499, "client_closed", NULL);
		return;
	}
	u->done(req, &u->up);
}

void
rc_rest_upload(struct rc_req *req, unsigned flags, rc_rest_upload_cb done)
{
	const struct rc_config *cfg = rc_server_config(req->loop->server);
	struct upload *u;

	if (req->image.len == 0) {	/* the route declares no image body */
		rc_http_fail(req, 500, "internal", "no image to upload");
		return;
	}
	if (sniff_image(req, &req->image,
	    (size_t)cfg->limits_max_image_pixels) != RC_OK)
		return;
	u = rc_req_alloc(req, sizeof(*u), upload_cleanup);
	u->up.flags = flags;
	u->up.face_status = RC_FACE_OK;
	u->req = req;
	u->done = done;
	u->data = req->image.data;
	u->len = req->image.len;
	u->limits.max_pixels = (size_t)cfg->limits_max_image_pixels;
	rc_cpu_submit(req->loop, upload_work, upload_done, u);
}

void
rc_rest_fail_face(struct rc_req *req, enum rc_face_status st,
    const struct rc_face_info *info)
{
	const char *detail = info != NULL && info->reason[0] != '\0' ?
	    info->reason : NULL;

	switch (st) {
	case RC_FACE_NO_FACE:
		rc_http_fail(req, 422, "no_face", detail ? detail :
		    "no face was found in the image");
		break;
	case RC_FACE_MULTIPLE:
		rc_http_fail(req, 422, "multiple_faces", detail ? detail :
		    "the image shows more than one face");
		break;
	case RC_FACE_POOR_QUALITY:
		rc_http_fail(req, 422, "poor_quality", detail ? detail :
		    "the face is too small, blurred, dark or bright");
		break;
	case RC_FACE_NOT_IMAGE:
		rc_http_fail(req, 422, "corrupt_image", detail);
		break;
	default:
		rc_log(RC_LOG_ERROR, "face: %s", detail ? detail : "failed");
		rc_http_fail(req, 500, "internal", "the face matcher failed");
		break;
	}
}

/* ---- Failing after the store: the blobs go too ---------------------- */

/* $1 sha256, $2 thumb, $3 org (NULL-able). */
static const struct rc_db_stmt SQL_DISCARD = {
	"upload_discard",
	RC_JOBS_BLOB_DELETE("jsonb_build_array($1::text, $2::text)",
	"$3::uuid"),
	3,
};

/* A reply that waits for the blob_delete job; in the request's memory
 * (the reply copies what it says before the request goes). */
struct discard {
	struct rc_req		*req;
	int			 status;
	int			 face;		/* reply as rc_rest_fail_face */
	enum rc_face_status	 st;
	struct rc_face_info	 info;
	char			 code[40];
	char			 detail[200];
};

static void
discard_reply(struct discard *d)
{
	if (d->face)
		rc_rest_fail_face(d->req, d->st, &d->info);
	else
		rc_http_fail(d->req, d->status, d->code, d->detail[0] != '\0' ?
		    d->detail : NULL);
}

static void
discard_cb(const struct rc_db_result *r, void *arg)
{
	struct discard *d = arg;

	if (r->err != RC_DB_OK)
		rc_log(RC_LOG_ERROR, "upload: cannot queue the blob deletion "
		    "(store gc will collect them): %s", r->message ?
		    r->message : "database unavailable");
	discard_reply(d);
}

static void
discard_send(struct rc_req *req, const struct rc_rest_upload *up,
    const char *org_id, struct discard *d)
{
	const char *p[3] = { up->sha256, up->thumb_sha256, org_id };

	d->req = req;
	if ((up->flags & RC_REST_UPLOAD_STORE) == 0 ||
	    rc_db_query(req->loop->db, &SQL_DISCARD, p, discard_cb, d) !=
	    RC_AGAIN)
		discard_reply(d);
}

void
rc_rest_upload_fail(struct rc_req *req, const struct rc_rest_upload *up,
    const char *org_id, int status, const char *code, const char *detail)
{
	struct discard *d = rc_req_alloc(req, sizeof(*d), NULL);

	d->status = status;
	snprintf(d->code, sizeof(d->code), "%s", code);
	snprintf(d->detail, sizeof(d->detail), "%s", detail ? detail : "");
	discard_send(req, up, org_id, d);
}

void
rc_rest_upload_fail_face(struct rc_req *req, const struct rc_rest_upload *up,
    const char *org_id)
{
	struct discard *d = rc_req_alloc(req, sizeof(*d), NULL);

	d->face = 1;
	d->st = up->face_status;
	d->info = up->face_info;
	discard_send(req, up, org_id, d);
}
