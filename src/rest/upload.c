/* Image uploads shared by the picture, face, kiosk and check-in routes: the
 * bytes come from a raw body or a multipart/form-data part, are judged on
 * the loop from their header alone (type and pixel count, so junk and
 * decompression bombs never reach the CPU pool), then decoded, re-encoded,
 * stored and matched on the CPU pool. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>

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

/* RFC 2046 5.1.1: a boundary is 1 to 70 characters. */
#define BOUNDARY_MAX		70
/* Bounds on the envelope, so a crafted body costs little to refuse. */
#define MULTIPART_MAX_PARTS	16
#define PART_HEADERS_MAX	8192

/* The request's upload state: req->data while the request lives. */
struct upload {
	struct rc_rest_upload	 up;		/* what done receives */
	struct rc_req		*req;
	rc_rest_upload_cb	 done;
	const unsigned char	*data;		/* in the request's input buffer */
	size_t			 len;
	struct rc_image_limits	 limits;
	enum rc_image_status	 img_status;
	int			 store_failed;
	/* What the caller had in req->data, freed with the upload. */
	void			*prev_data;
	void			(*prev_free)(void *);
};

/* The image bytes of a request, as found in its body. */
struct image_bytes {
	const unsigned char	*data;
	size_t			 len;
};

static void
upload_free(void *arg)
{
	struct upload *u = arg;

	rc_face_template_free(u->up.face);
	rc_face_image_cleanup(&u->up.img);
	if (u->prev_free != NULL)
		u->prev_free(u->prev_data);
	free(u);
}

/* ---- multipart/form-data (RFC 7578 over RFC 2046) ------------------- */

static int
is_bchar(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z') || strchr("'()+_,-./:=? ", c) != NULL;
}

/* Reads the parameter name of a "; name=value" list at *p: copies the
 * value (a token or a quoted string without escapes) into val. Returns 1
 * with *p past it, 0 at the end of the list, -1 when malformed. */
static int
next_param(const char **p, const char *end, char *name, size_t namelen,
    char *val, size_t vallen)
{
	const char *s = *p, *n0, *v0;
	size_t n, v;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end)
		return 0;
	if (*s++ != ';')
		return -1;
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	for (n0 = s; s < end && *s != '=' && *s != ';' && *s != ' '; s++)
		;
	if ((n = (size_t)(s - n0)) == 0 || n >= namelen || s == end ||
	    *s++ != '=')
		return -1;
	if (s < end && *s == '"') {
		for (v0 = ++s; s < end && *s != '"' && *s != '\\'; s++)
			;
		if (s == end || *s != '"')
			return -1;
		v = (size_t)(s++ - v0);
	} else {
		for (v0 = s; s < end && *s != ';' && *s != ' ' && *s != '\t' &&
		    *s != '"'; s++)
			;
		if ((v = (size_t)(s - v0)) == 0)
			return -1;
	}
	if (v >= vallen)
		return -1;
	memcpy(name, n0, n);
	name[n] = '\0';
	memcpy(val, v0, v);
	val[v] = '\0';
	*p = s;
	return 1;
}

/* The boundary of a "multipart/form-data; boundary=..." Content-Type.
 * RC_ERR when it has none or an invalid one. */
static rc_status
multipart_boundary(const char *ctype, char out[BOUNDARY_MAX + 1])
{
	const char *p = ctype + strlen("multipart/form-data");
	const char *end = ctype + strlen(ctype);
	char name[32], val[BOUNDARY_MAX + 1];
	size_t i, n;
	int r;

	out[0] = '\0';
	while ((r = next_param(&p, end, name, sizeof(name), val,
	    sizeof(val))) == 1) {
		if (strcasecmp(name, "boundary") != 0)
			continue;
		n = strlen(val);
		for (i = 0; i < n; i++)
			if (!is_bchar(val[i]))
				return RC_ERR;
		if (n == 0 || val[n - 1] == ' ' || out[0] != '\0')
			return RC_ERR;
		memcpy(out, val, n + 1);
	}
	return r == 0 && out[0] != '\0' ? RC_OK : RC_ERR;
}

/* 1 when the part's headers say Content-Disposition: form-data;
 * name="file", 0 for another name, -1 when they are malformed (no
 * Content-Disposition, or not form-data). */
static int
part_is_file(const char *h, size_t len)
{
	static const char cd[] = "content-disposition:";
	const char *end = h + len, *line, *eol, *p;
	char name[32], val[1024];
	int found = 0, r;

	for (line = h; line < end; line = eol + 2) {
		if ((eol = memmem(line, (size_t)(end - line), "\r\n", 2)) == NULL)
			eol = end;
		if ((size_t)(eol - line) < sizeof(cd) - 1 ||
		    strncasecmp(line, cd, sizeof(cd) - 1) != 0)
			continue;
		if (found++)
			return -1;
		for (p = line + sizeof(cd) - 1; p < eol && (*p == ' ' ||
		    *p == '\t'); p++)
			;
		if ((size_t)(eol - p) < 9 || strncasecmp(p, "form-data", 9) != 0)
			return -1;
		p += 9;
		while ((r = next_param(&p, eol, name, sizeof(name), val,
		    sizeof(val))) == 1)
			if (strcasecmp(name, "name") == 0 && found == 1)
				found = strcmp(val, "file") == 0 ? 2 : 3;
		if (r < 0)
			return -1;
	}
	return found == 0 ? -1 : found == 2;
}

/* Skips transport padding (RFC 2046: LWSP after a delimiter) and the CRLF
 * that ends the delimiter line. NULL when the line is malformed. */
static const unsigned char *
after_delimiter(const unsigned char *p, const unsigned char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p < 2 || p[0] != '\r' || p[1] != '\n')
		return NULL;
	return p + 2;
}

/* Finds the part named "file" in body. Returns RC_OK with *out set,
 * RC_AGAIN when the envelope is sound but has no such part (or two), and
 * RC_ERR when the envelope is malformed. */
static rc_status
multipart_find_file(const unsigned char *body, size_t len,
    const char *boundary, struct image_bytes *out)
{
	const unsigned char *end = body + len, *p, *hend, *next;
	char delim[BOUNDARY_MAX + 5];
	size_t dlen;
	int parts = 0, files = 0, is_file;

	if (body == NULL)
		return RC_ERR;
	dlen = (size_t)snprintf(delim, sizeof(delim), "\r\n--%s", boundary);
	/* The first delimiter may open the body (no CRLF before it). */
	if (len >= dlen - 2 && memcmp(body, delim + 2, dlen - 2) == 0)
		p = body + dlen - 2;
	else if ((p = memmem(body, len, delim, dlen)) != NULL)
		p += dlen;
	else
		return RC_ERR;
	for (;;) {
		if (end - p >= 2 && p[0] == '-' && p[1] == '-')
			break;	/* close-delimiter */
		if ((p = after_delimiter(p, end)) == NULL ||
		    ++parts > MULTIPART_MAX_PARTS)
			return RC_ERR;
		/* RFC 7578 4.2: every part has a Content-Disposition. */
		if (end - p >= 2 && p[0] == '\r' && p[1] == '\n')
			return RC_ERR;
		hend = memmem(p, (size_t)(end - p) < PART_HEADERS_MAX ?
		    (size_t)(end - p) : PART_HEADERS_MAX, "\r\n\r\n", 4);
		if (hend == NULL)
			return RC_ERR;
		if ((is_file = part_is_file((const char *)p,
		    (size_t)(hend - p))) < 0)
			return RC_ERR;
		if ((next = memmem(hend + 4, (size_t)(end - hend - 4), delim,
		    dlen)) == NULL)
			return RC_ERR;
		if (is_file && files++ == 0)
			*out = (struct image_bytes){ hend + 4,
			    (size_t)(next - hend - 4) };
		p = next + dlen;
	}
	return files == 1 ? RC_OK : RC_AGAIN;
}

/* ---- finding the image in the request ------------------------------ */

static int
ctype_is(const char *ctype, const char *type)
{
	size_t n = strlen(type);

	return strncasecmp(ctype, type, n) == 0 && (ctype[n] == '\0' ||
	    ctype[n] == ';' || ctype[n] == ' ' || ctype[n] == '\t');
}

/* The multipart part named "file"; replies 400/422 itself on RC_ERR. */
static rc_status
find_multipart(struct rc_req *req, const char *ctype,
    const unsigned char *body, size_t len, struct image_bytes *out)
{
	char boundary[BOUNDARY_MAX + 1];
	rc_status rv;

	if (multipart_boundary(ctype, boundary) != RC_OK) {
		rc_http_fail(req, 400, "malformed_multipart", "the Content-Type "
		    "needs a valid boundary parameter (RFC 2046 5.1.1)");
		return RC_ERR;
	}
	rv = multipart_find_file(body, len, boundary, out);
	if (rv == RC_ERR) {
		rc_http_fail(req, 400, "malformed_multipart", "the multipart "
		    "body is malformed or cut short");
		return RC_ERR;
	}
	if (rv == RC_AGAIN) {
		rc_http_fail_field(req, "file", "send exactly one part named "
		    "\"file\" holding the image");
		return RC_ERR;
	}
	return RC_OK;
}

/* The image bytes of req: the raw body or the "file" part. Replies
 * 400/413/415/422 itself on RC_ERR. The bytes stay in the request's input
 * buffer, which nothing touches until the request is freed. */
static rc_status
find_image(struct rc_req *req, struct image_bytes *out)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);
	const char *ctype = rc_http_header(req, "Content-Type");
	size_t len = evbuffer_get_length(in), max;
	const unsigned char *body;

	max = (size_t)rc_server_config(req->loop->server)->limits_max_upload_bytes;
	body = len > 0 ? evbuffer_pullup(in, -1) : NULL;
	if (ctype != NULL && ctype_is(ctype, "multipart/form-data")) {
		if (find_multipart(req, ctype, body, len, out) != RC_OK)
			return RC_ERR;
	} else if (ctype == NULL || strncasecmp(ctype, "image/", 6) == 0 ||
	    ctype_is(ctype, "application/octet-stream")) {
		*out = (struct image_bytes){ body, len };
	} else {
		rc_http_fail(req, 415, "unsupported_media_type", "send the image "
		    "as the body (image/*) or as the multipart/form-data part "
		    "\"file\"");
		return RC_ERR;
	}
	if (out->len == 0) {
		rc_http_fail_field(req, "file", "the image is empty");
		return RC_ERR;
	}
	if (out->len > max) {
		rc_http_fail(req, 413, "too_large", "the image exceeds "
		    "limits.max_upload_bytes");
		return RC_ERR;
	}
	return RC_OK;
}

/* The type and size from the header alone: a cheap refusal on the loop
 * for anything the CPU pool should not decode. */
static rc_status
sniff_image(struct rc_req *req, const struct image_bytes *b,
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

	rc_log_set_request_id(req->id);
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
	struct image_bytes b = { NULL, 0 };
	struct upload *u;

	if (find_image(req, &b) != RC_OK ||
	    sniff_image(req, &b, (size_t)cfg->limits_max_image_pixels) != RC_OK)
		return;
	u = rc_calloc(1, sizeof(*u));
	u->up.flags = flags;
	u->up.face_status = RC_FACE_OK;
	u->req = req;
	u->done = done;
	u->data = b.data;
	u->len = b.len;
	u->limits.max_pixels = (size_t)cfg->limits_max_image_pixels;
	u->prev_data = req->data;
	u->prev_free = req->data_free;
	req->data = u;
	req->data_free = upload_free;
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

/* A reply that waits for the blob_delete job. */
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
	free(d);
}

static void
discard_cb(const struct rc_db_result *r, void *arg)
{
	struct discard *d = arg;

	rc_log_set_request_id(d->req->id);
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
	struct discard *d = rc_calloc(1, sizeof(*d));

	d->status = status;
	snprintf(d->code, sizeof(d->code), "%s", code);
	snprintf(d->detail, sizeof(d->detail), "%s", detail ? detail : "");
	discard_send(req, up, org_id, d);
}

void
rc_rest_upload_fail_face(struct rc_req *req, const struct rc_rest_upload *up,
    const char *org_id)
{
	struct discard *d = rc_calloc(1, sizeof(*d));

	d->face = 1;
	d->st = up->face_status;
	d->info = up->face_info;
	discard_send(req, up, org_id, d);
}
