/* Request bodies, parsed by the router before a handler runs, as its route
 * declares (rc_route.body): a JSON object, an image (raw, or the part
 * "file" of a multipart/form-data envelope), or a urlencoded form. Every
 * refusal is answered here, so handlers see only well-formed input. */
#include <sys/queue.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "rollcall/config.h"
#include "http-int.h"

/* RFC 2046 5.1.1: a boundary is 1 to 70 characters. */
#define BOUNDARY_MAX		70
/* Bounds on the envelope, so a crafted body costs little to refuse. */
#define MULTIPART_MAX_PARTS	16
#define PART_HEADERS_MAX	8192

/* What libevent may read of a body: the larger of the JSON and the upload
 * limits, plus room for a multipart envelope. Each body kind then checks
 * its own limit. */
long
rc_http_max_body(const struct rc_config *cfg)
{
	long n = cfg->limits_max_upload_bytes + 65536L;

	if (n < cfg->limits_max_body_bytes)
		n = cfg->limits_max_body_bytes;
	return n;
}

struct rc_http_bytes
rc_http_body_bytes(struct rc_req *req)
{
	struct evbuffer *in = evhttp_request_get_input_buffer(req->ev);
	size_t len = evbuffer_get_length(in);

	return (struct rc_http_bytes){ len > 0 ? evbuffer_pullup(in, -1) :
	    NULL, len };
}

/* True when ctype is type, alone or followed by parameters. */
static int
ctype_is(const char *ctype, const char *type)
{
	size_t n = strlen(type);

	return ctype != NULL && strncasecmp(ctype, type, n) == 0 &&
	    (ctype[n] == '\0' || ctype[n] == ';' || ctype[n] == ' ' ||
	    ctype[n] == '\t');
}

/* ---- JSON ------------------------------------------------------------ */

rc_status
rc_http_parse_json_body(struct rc_req *req)
{
	const char *ctype = rc_http_header(req, "Content-Type");
	struct rc_http_bytes b = rc_http_body_bytes(req);
	json_error_t jerr;
	char msg[256];

	if (b.len > 0 && (ctype == NULL ||
	    strncasecmp(ctype, "application/json", 16) != 0)) {
		rc_http_fail(req, 415, "unsupported_media_type",
		    "the body must be application/json");
		return RC_ERR;
	}
	if (b.len > (size_t)req->loop->server->cfg->limits_max_body_bytes) {
		rc_http_fail(req, 413, "body_too_large",
		    "the body exceeds limits.max_body_bytes");
		return RC_ERR;
	}
	if (b.len == 0) {
		req->body = json_object();
		return RC_OK;
	}
	req->body = json_loadb((const char *)b.data, b.len,
	    JSON_REJECT_DUPLICATES, &jerr);
	if (req->body == NULL) {
		snprintf(msg, sizeof(msg), "malformed JSON at line %d column "
		    "%d: %s", jerr.line, jerr.column, jerr.text);
		rc_http_fail(req, 400, "malformed_json", msg);
		return RC_ERR;
	}
	if (!json_is_object(req->body)) {
		rc_http_fail(req, 400, "malformed_json",
		    "the body must be a JSON object");
		return RC_ERR;
	}
	return RC_OK;
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

rc_status
rc_http_multipart_boundary(const char *ctype, char out[RC_HTTP_BOUNDARY_MAX + 1])
{
	const char *p = ctype + strlen("multipart/form-data");
	const char *end = ctype + strlen(ctype);
	char name[32], val[BOUNDARY_MAX + 1];
	size_t i, n;
	int r;

	out[0] = '\0';
	if (!ctype_is(ctype, "multipart/form-data"))
		return RC_ERR;
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

rc_status
rc_http_multipart_file(const unsigned char *body, size_t len,
    const char *boundary, struct rc_http_bytes *out)
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
			*out = (struct rc_http_bytes){ hend + 4,
			    (size_t)(next - hend - 4) };
		p = next + dlen;
	}
	return files == 1 ? RC_OK : RC_AGAIN;
}

/* ---- images ---------------------------------------------------------- */

/* The multipart part named "file"; replies 400/422 itself on RC_ERR. */
static rc_status
find_multipart(struct rc_req *req, const char *ctype,
    struct rc_http_bytes body, struct rc_http_bytes *out)
{
	char boundary[BOUNDARY_MAX + 1];
	rc_status rv;

	if (rc_http_multipart_boundary(ctype, boundary) != RC_OK) {
		rc_http_fail(req, 400, "malformed_multipart", "the Content-Type "
		    "needs a valid boundary parameter (RFC 2046 5.1.1)");
		return RC_ERR;
	}
	rv = rc_http_multipart_file(body.data, body.len, boundary, out);
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

/* The image bytes of req into req->image: the raw body or the "file"
 * part. Whether they are an image is the upload code's to judge (it knows
 * the formats); this finds them and bounds their size. */
static rc_status
parse_image(struct rc_req *req)
{
	const char *ctype = rc_http_header(req, "Content-Type");
	struct rc_http_bytes body = rc_http_body_bytes(req), *out = &req->image;
	size_t max = (size_t)req->loop->server->cfg->limits_max_upload_bytes;

	if (ctype_is(ctype, "multipart/form-data")) {
		if (find_multipart(req, ctype, body, out) != RC_OK)
			return RC_ERR;
	} else if (ctype == NULL || strncasecmp(ctype, "image/", 6) == 0 ||
	    ctype_is(ctype, "application/octet-stream")) {
		*out = body;
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

/* True when the body is a photo rather than JSON. */
static int
body_is_image(struct rc_req *req)
{
	const char *ctype = rc_http_header(req, "Content-Type");

	return ctype != NULL && (strncasecmp(ctype, "image/", 6) == 0 ||
	    strncasecmp(ctype, "multipart/form-data", 19) == 0);
}

/* ---- application/x-www-form-urlencoded ------------------------------- */

const char *
rc_http_form(struct rc_req *req, const char *name)
{
	return evhttp_find_header(&req->form, name);
}

static rc_status
parse_form(struct rc_req *req)
{
	const char *ctype = rc_http_header(req, "Content-Type");
	struct rc_http_bytes b = rc_http_body_bytes(req);
	struct evkeyval *kv;
	char *text;

	if (b.len > 0 && !ctype_is(ctype, "application/x-www-form-urlencoded")) {
		rc_http_fail(req, 415, "unsupported_media_type", "the body must "
		    "be application/x-www-form-urlencoded");
		return RC_ERR;
	}
	if (b.len > (size_t)req->loop->server->cfg->limits_max_body_bytes) {
		rc_http_fail(req, 413, "body_too_large",
		    "the body exceeds limits.max_body_bytes");
		return RC_ERR;
	}
	if (b.len == 0)
		return RC_OK;
	text = rc_req_alloc(req, b.len + 1, NULL);
	memcpy(text, b.data, b.len);
	if (memchr(text, '\0', b.len) != NULL ||
	    evhttp_parse_query_str(text, &req->form) != 0)
		goto bad;
	TAILQ_FOREACH(kv, &req->form, next)
		if (!rc_utf8_valid(kv->key, strlen(kv->key)) ||
		    !rc_utf8_valid(kv->value, strlen(kv->value)))
			goto bad;
	return RC_OK;
bad:
	rc_http_fail(req, 400, "malformed_form", "the form body is malformed "
	    "or not UTF-8");
	return RC_ERR;
}

rc_status
rc_http_parse_body(struct rc_req *req)
{
	switch (req->route->body) {
	case RC_BODY_NONE:
		return RC_OK;
	case RC_BODY_JSON:
		return rc_http_parse_json_body(req);
	case RC_BODY_IMAGE:
		return parse_image(req);
	case RC_BODY_JSON_OR_IMAGE:
		return body_is_image(req) ? parse_image(req) :
		    rc_http_parse_json_body(req);
	case RC_BODY_FORM:
		return parse_form(req);
	}
	rc_http_fail(req, 500, "internal", "the route declares no known body");
	return RC_ERR;
}
