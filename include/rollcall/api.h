/* The REST API's resources: each src/api/<resource>.c registers its routes
 * here, and rc_api_start/stop set up and tear down what they share (keys,
 * password policy) around `rollcall serve`. */
#ifndef ROLLCALL_API_H
#define ROLLCALL_API_H

#include <stddef.h>

#include <libpq-fe.h>

#include "rollcall/util.h"

struct rc_auth_keys;
struct rc_auth_passwords;
struct rc_config;
struct rc_db_result;
struct rc_req;
struct rc_router;

/* Loads what the handlers need (blocking: before the loops start). */
rc_status rc_api_start(const struct rc_config *cfg, char *err, size_t errlen);
void	rc_api_stop(void);
/* SIGHUP (main thread): loads auth.keys_dir again into a new key set that
 * signs and verifies from then on (key rotation); on failure logs and
 * keeps the current one. */
void	rc_api_reload_keys(const struct rc_config *cfg);
/* Registers every API route (and the core ones). */
void	rc_api_routes(struct rc_router *r);

/* What rc_api_start set up, for the handlers (read-only once serving). */
const struct rc_auth_keys	*rc_api_keys(void);
const struct rc_auth_passwords	*rc_api_passwords(void);

/* ---- Validation of JSON bodies (src/api/validate.c) ------------------ *
 * Each reads one member of req->body (the object RC_ROUTE_JSON parsed; a
 * route without it has no members). On bad input it replies 422
 * {code:"validation_failed", errors:[{field, message}]} itself and returns
 * RC_ERR: the handler just returns. On RC_OK *out holds the value; for a
 * member that is absent or null and not required, *out is NULL (strings)
 * or left as it was (numbers: preset the default), and RC_OK.
 * Strings point into req->body: valid until the request ends. */

/* True when the body has the member (even null): PATCH semantics. */
int	rc_api_has(struct rc_req *req, const char *field);
/* A string of min..max characters (code points), without NUL. */
rc_status rc_api_string(struct rc_req *req, const char *field, int required,
	    size_t min, size_t max, const char **out);
/* The same, on one line: no control characters at all (names, titles);
 * with min > 0, not only spaces either. */
rc_status rc_api_line(struct rc_req *req, const char *field, int required,
	    size_t min, size_t max, const char **out);
/* An e-mail address (addr-spec, ASCII, at most 254 bytes, a domain of
 * dot-separated labels). */
rc_status rc_api_email(struct rc_req *req, const char *field, int required,
	    const char **out);
/* true/false; def when absent or null and not required. */
rc_status rc_api_bool(struct rc_req *req, const char *field, int required,
	    int def, int *out);
/* A JSON integer in lo..hi (1.0 and "1" are refused). */
rc_status rc_api_int(struct rc_req *req, const char *field, int required,
	    long lo, long hi, long *out);
/* One of allowed (a NULL-terminated list). */
rc_status rc_api_enum(struct rc_req *req, const char *field, int required,
	    const char *const *allowed, const char **out);
/* A UUID string in a body member (manager_id, org_id). */
rc_status rc_api_uuid(struct rc_req *req, const char *field, int required,
	    const char **out);
/* A UUID path parameter {name}: replies 404 "not_found" when it is not
 * one (an id that cannot exist is a resource that does not). */
rc_status rc_api_uuid_param(struct rc_req *req, const char *name,
	    const char **out);
/* True when s is a UUID in its textual form. */
int	rc_api_is_uuid(const char *s);

/* Replies for a failed rc_db_query callback: RC_DB_UNAVAILABLE → 503,
 * unique violation (23505) → 409 "conflict", foreign key (23503) → 422
 * naming fk_field when it is not NULL (else 409), anything else → 500.
 * Always replies. */
void	rc_api_db_failed(struct rc_req *req, const struct rc_db_result *r,
	    const char *fk_field);

/* Audit rows go in the same statement as the change they record: add a
 * CTE "a AS (" RC_API_AUDIT_INSERT " SELECT org, actor, 'action', target,
 * jsonb_build_object(...), $client, $request_id FROM ...)" with
 * rc_http_client(req) and req->id as the last two parameters. */
#define RC_API_AUDIT_INSERT \
	"INSERT INTO audit_log (org_id, actor_id, action, target_id, detail," \
	" client, request_id)"

/* Records one audit row on its own (no reply waits for it; failures are
 * logged). For events with no other write: org_id, actor_id, target_id
 * may be NULL; detail is a JSON object text or NULL ("{}"). Does not keep
 * req past the call. */
void	rc_api_audit(struct rc_req *req, const char *org_id,
	    const char *actor_id, const char *action, const char *target_id,
	    const char *detail);

/* ---- Identity routes (src/api/auth.c) -------------------------------- */
void	rc_api_auth_routes(struct rc_router *r);

/* The demo organisation and admin for `make run` (src/api/seed.c):
 * created when the database has no organisation yet; prints the admin's
 * generated password once on stdout. Blocking: start-up only. */
rc_status rc_api_seed_demo(const struct rc_config *cfg,
	    const struct rc_auth_passwords *pw, char *err, size_t errlen);


/* ---- Shared by the resource handlers (src/api/common.c) -------------- */

struct rc_db_stmt;
typedef void (*rc_api_db_cb)(const struct rc_db_result *r, void *arg);

/* Sends stmt with req as the callback's argument; replies 503 itself when
 * the database cannot take it. Do not touch req afterwards. */
void	rc_api_query(struct rc_req *req, const struct rc_db_stmt *stmt,
	    const char *const *params, rc_api_db_cb cb);
/* In a query callback: true when it worked; otherwise replies (see
 * rc_api_db_failed) and returns false. */
int	rc_api_db_ok(struct rc_req *req, const struct rc_db_result *r,
	    const char *fk_field);
/* The same, and true only with exactly one row; with none, replies 404
 * "not_found" with missing as the detail ("no such kiosk"). */
int	rc_api_db_row(struct rc_req *req, const struct rc_db_result *r,
	    const char *missing);
/* Replies status with column col of the first row: the JSON text a
 * statement built. */
void	rc_api_reply_cell(struct rc_req *req, int status, const PGresult *res,
	    int col);
/* Replies 200 with csv as a download named filename (a name that needs no
 * quoting: rc_reports_filename makes one). Copies csv. */
void	rc_api_reply_csv(struct rc_req *req, const char *csv, size_t len,
	    const char *filename);
/* The org a caller's queries are scoped to: their own, or NULL (any) for a
 * superadmin. */
const char *rc_api_scope_org(const struct rc_req *req);
/* "true" when the caller is an org admin, else "false": a text parameter
 * for statements that widen what an admin may see. */
const char *rc_api_admin_text(const struct rc_req *req);

/* An instant column as RFC 3339 UTC text, in SQL. */
#define RC_API_INSTANT(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* ?limit= (default 50, 1..500) and ?cursor= of a list, as text
 * parameters: after_at/after_id are NULL on the first page. */
struct rc_api_page {
	char		 limit[12];
	const char	*after_at;
	const char	*after_id;
	char		 buf[96];
};
/* Replies 422 (field limit or cursor) and returns RC_ERR on bad input. */
rc_status rc_api_page_parse(struct rc_req *req, struct rc_api_page *page);
/* The same for lists whose ids are not UUIDs: id_ok checks the cursor's. */
rc_status rc_api_page_parse_ids(struct rc_req *req, struct rc_api_page *page,
	    int (*id_ok)(const char *id));

/* A page of the caller's org's rows: stmt takes ($1 org id, $2 after_at,
 * $3 after_id, $4 limit) and selects RC_API_PAGE_SELECT; replies 200 with
 * it (or 422 for a bad ?limit=/?cursor=). */
void	rc_api_list_org(struct rc_req *req, const struct rc_db_stmt *stmt);

/* The reply of a list: given a CTE named cte with columns created_at, id
 * and j (the item's JSON), holding up to lim + 1 rows in (created_at, id)
 * order, selects {"items": [...], "next_cursor": ...} as one JSON text.
 * The cursor is base64url("<created_at>|<id>") of the last item. */
#define RC_API_PAGE_SELECT(cte, lim) \
	"SELECT json_build_object('items', COALESCE((SELECT json_agg(p.j" \
	" ORDER BY p.created_at, p.id) FROM (SELECT * FROM " cte " ORDER BY" \
	" created_at, id LIMIT " lim "::int) p), '[]'::json), 'next_cursor'," \
	" CASE WHEN (SELECT count(*) FROM " cte ") > " lim "::int THEN" \
	" (SELECT rtrim(translate(encode(convert_to(to_char(p.created_at AT" \
	" TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '|' ||" \
	" p.id, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=') FROM (SELECT *" \
	" FROM " cte " ORDER BY created_at, id LIMIT " lim "::int) p ORDER BY" \
	" p.created_at DESC, p.id DESC LIMIT 1) END)::text"

/* ---- People (src/api/users.c) ---------------------------------------- */
void	rc_api_users_routes(struct rc_router *r);

/* ---- Organisations and the audit trail (src/api/orgs.c, audit.c) ---- */
void	rc_api_orgs_routes(struct rc_router *r);
void	rc_api_audit_routes(struct rc_router *r);

/* ---- Reports (src/api/reports.c) ----------------------------------- */
void	rc_api_reports_routes(struct rc_router *r);

/* ---- Leave (src/api/leave.c, src/api/leave_digest.c) ---------------- */
void	rc_api_leave_routes(struct rc_router *r);
/* `rollcall leave digest [--org SLUG]`: queues one mail per active admin
 * of each org (or of SLUG's) listing its pending leave requests. Exit 0
 * done, 1 failed, 2 bad usage. Blocking (libpq): command line only. */
int	rc_cli_leave(const struct rc_config *cfg, int argc, char **argv);

/* ---- Attendance and holidays (src/api/attendance.c, holidays.c) ----- */
void	rc_api_attendance_routes(struct rc_router *r);
void	rc_api_holidays_routes(struct rc_router *r);
/* True when s is a real calendar date written exactly "YYYY-MM-DD", years
 * 1900..2999 (2026-02-30 and 2026-13-01 are not). */
int	rc_api_date_valid(const char *s);
/* True when s is an RFC 3339 date-time with "Z" or a ±HH:MM offset and at
 * most 6 fractional digits ("2026-11-26T09:03:00Z"). */
int	rc_api_instant_valid(const char *s);

/* ---- Question sets, submissions, results (src/api/questions.c) ------ */
void	rc_api_questions_routes(struct rc_router *r);

/* ---- Pictures, faces, kiosks (src/api/upload.c, pictures.c, faces.c,
 * kiosks.c) ----------------------------------------------------------- */
#include "rollcall/face.h"
#include "rollcall/store.h"

void	rc_api_pictures_routes(struct rc_router *r);
void	rc_api_faces_routes(struct rc_router *r);
void	rc_api_kiosks_routes(struct rc_router *r);

/* What rc_api_start opened (NULL before it). */
struct rc_store		*rc_api_store(void);
struct rc_face_engine	*rc_api_face_engine(void);
/* The matcher's configuration from face.* (the strings point into cfg). */
void			 rc_api_face_config(const struct rc_config *cfg,
			    struct rc_face_config *out);

/* rc_api_upload flags. */
#define RC_UPLOAD_STORE		0x1	/* write JPEG + thumbnail to the store */
#define RC_UPLOAD_FACE		0x2	/* find the largest face, make a template */
#define RC_UPLOAD_FACE_STRICT	0x4	/* ...and refuse two comparable faces */

/* An image upload, as prepared on the CPU pool. */
struct rc_api_upload {
	unsigned		 flags;
	struct rc_image		 img;		/* upright JPEG, thumb, pixels */
	char			 sha256[RC_STORE_KEY_LEN + 1];
	char			 thumb_sha256[RC_STORE_KEY_LEN + 1];
	/* With RC_UPLOAD_FACE: */
	enum rc_face_status	 face_status;
	struct rc_face_template	*face;		/* on RC_FACE_OK; owned here */
	struct rc_face_info	 face_info;
};

typedef void (*rc_api_upload_cb)(struct rc_req *req, struct rc_api_upload *up);

/* Reads the request's image (a raw image body, or the part named "file"
 * of a multipart/form-data body), checks it (type from the bytes, size
 * and pixel limits), prepares it on the CPU pool (rc_face_image_prepare),
 * and as flags ask stores it and extracts the face there too; then calls
 * done(req, up) on the request's loop thread. up belongs to req (freed
 * with it). On bad input (400 no file part, 413, 415, 422 corrupt) or a
 * failure (500, 503 store) it replies itself and done is not called. A
 * face status other than RC_FACE_OK is left for done to judge. */
void	rc_api_upload(struct rc_req *req, unsigned flags, rc_api_upload_cb done);
/* Replies 422 {code: "no_face" | "multiple_faces" | "poor_quality"} (or
 * 500) for a face status other than RC_FACE_OK, with info->reason. */
void	rc_api_fail_face(struct rc_req *req, enum rc_face_status st,
	    const struct rc_face_info *info);

#endif
