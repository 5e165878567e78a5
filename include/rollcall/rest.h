/* The handler toolkit every REST resource (src/api/) uses: validation of
 * JSON bodies, queries that reply on failure, replies from result columns,
 * paging, audit rows, image uploads — and the services `rollcall serve`
 * built for the handlers. */
#ifndef ROLLCALL_REST_H
#define ROLLCALL_REST_H

#include <stddef.h>

#include <libpq-fe.h>

#include "rollcall/face.h"
#include "rollcall/store.h"
#include "rollcall/util.h"

struct rc_auth_keys;
struct rc_auth_passwords;
struct rc_db_result;
struct rc_db_stmt;
struct rc_req;

/* ---- Services (src/rest/services.c) --------------------------------- *
 * What `rollcall serve` builds before the loops start (src/cli/serve.c)
 * and hands to the handlers: set once before the loops start and cleared
 * after they end; read-only while serving, except the keys, which a
 * SIGHUP replaces whole (rc_rest_keys_set). NULL members: not built. */
struct rc_rest_services {
	const struct rc_auth_keys	*keys;
	const struct rc_auth_passwords	*passwords;
	struct rc_store			*store;
	struct rc_face_engine		*face_engine;
};

/* Copies s (NULL: clears every service). Main thread, loops not running. */
void	rc_rest_services_set(const struct rc_rest_services *s);
/* Replaces the signing/verifying keys while the loops run (key rotation):
 * readers see the old set or the new one, whole; the old set must stay
 * alive, since a loop thread may still be using it. */
void	rc_rest_keys_set(const struct rc_auth_keys *keys);

const struct rc_auth_keys	*rc_rest_keys(void);
const struct rc_auth_passwords	*rc_rest_passwords(void);
struct rc_store			*rc_rest_store(void);
struct rc_face_engine		*rc_rest_face_engine(void);
/* The installation's threshold (face.threshold) as text, for a SQL
 * COALESCE(orgs.face_threshold, $n::real). */
const char *rc_rest_face_threshold(const struct rc_req *req);

/* ---- Request state (src/rest/state.c) ------------------------------- */
/* A handler's state: size bytes, zeroed, in the request's memory
 * (rc_req_alloc) and req->data until the next one; earlier states (an
 * upload's) stay valid until the request is freed. */
void	*rc_rest_state_new(struct rc_req *req, size_t size);
/* The same; cleanup(state) runs first when the request is freed. */
void	*rc_rest_state_new_cleanup(struct rc_req *req, size_t size,
	    void (*cleanup)(void *state));
/* The state the last rc_rest_state_new (or rc_rest_identify) made. */
void	*rc_rest_state(struct rc_req *req);

/* ---- Validation of JSON bodies (src/rest/validate.c) ------------------ *
 * Each reads one member of req->body (the object the router parsed for a
 * route declaring RC_BODY_JSON; any other route has no members). On bad input it replies 422
 * {code:"validation_failed", errors:[{field, message}]} itself and returns
 * RC_ERR: the handler just returns. On RC_OK *out holds the value; for a
 * member that is absent or null and not required, *out is NULL (strings)
 * or left as it was (numbers: preset the default), and RC_OK.
 * Strings point into req->body: valid until the request ends. */

/* True when the body has the member (even null): PATCH semantics. */
int	rc_rest_has(struct rc_req *req, const char *field);
/* A string of min..max characters (code points), without NUL. */
rc_status rc_rest_string(struct rc_req *req, const char *field, int required,
	    size_t min, size_t max, const char **out);
/* The same, on one line: no control characters at all (names, titles);
 * with min > 0, not only spaces either. */
rc_status rc_rest_line(struct rc_req *req, const char *field, int required,
	    size_t min, size_t max, const char **out);
/* An e-mail address (addr-spec, ASCII, at most 254 bytes, a domain of
 * dot-separated labels). */
rc_status rc_rest_email(struct rc_req *req, const char *field, int required,
	    const char **out);
/* true/false; def when absent or null and not required. */
rc_status rc_rest_bool(struct rc_req *req, const char *field, int required,
	    int def, int *out);
/* A JSON integer in lo..hi (1.0 and "1" are refused). */
rc_status rc_rest_int(struct rc_req *req, const char *field, int required,
	    long lo, long hi, long *out);
/* One of allowed (a NULL-terminated list). */
rc_status rc_rest_enum(struct rc_req *req, const char *field, int required,
	    const char *const *allowed, const char **out);
/* A UUID string in a body member (manager_id, org_id). */
rc_status rc_rest_uuid(struct rc_req *req, const char *field, int required,
	    const char **out);
/* A UUID path parameter {name}: replies 404 "not_found" when it is not
 * one (an id that cannot exist is a resource that does not). */
rc_status rc_rest_uuid_param(struct rc_req *req, const char *name,
	    const char **out);

/* Replies for a failed rc_db_query callback: RC_DB_UNAVAILABLE → 503,
 * unique violation (23505) → 409 "conflict", foreign key (23503) → 422
 * naming fk_field when it is not NULL (else 409), anything else → 500.
 * Always replies. */
void	rc_rest_db_failed(struct rc_req *req, const struct rc_db_result *r,
	    const char *fk_field);

/* Audit rows go in the same statement as the change they record: add a
 * CTE "a AS (" RC_REST_AUDIT_INSERT " SELECT org, actor, 'action', target,
 * jsonb_build_object(...), $client, $request_id FROM ...)" with
 * rc_http_client(req) and req->id as the last two parameters. */
#define RC_REST_AUDIT_INSERT \
	"INSERT INTO audit_log (org_id, actor_id, action, target_id, detail," \
	" client, request_id)"

/* Records one audit row on its own (no reply waits for it; failures are
 * logged). For events with no other write: org_id, actor_id, target_id
 * may be NULL; detail is a JSON object text or NULL ("{}"). Does not keep
 * req past the call. */
void	rc_rest_audit(struct rc_req *req, const char *org_id,
	    const char *actor_id, const char *action, const char *target_id,
	    const char *detail);

/* ---- Queries and replies (src/rest/common.c) ------------------------ */

typedef void (*rc_rest_db_cb)(const struct rc_db_result *r, void *arg);

/* Sends stmt with req as the callback's argument; replies 503 itself when
 * the database cannot take it. Do not touch req afterwards. */
void	rc_rest_query(struct rc_req *req, const struct rc_db_stmt *stmt,
	    const char *const *params, rc_rest_db_cb cb);
/* In a query callback: true when it worked; otherwise replies (see
 * rc_rest_db_failed) and returns false. */
int	rc_rest_db_ok(struct rc_req *req, const struct rc_db_result *r,
	    const char *fk_field);
/* The same, and true only with exactly one row; with none, replies 404
 * "not_found" with missing as the detail ("no such kiosk"). */
int	rc_rest_db_row(struct rc_req *req, const struct rc_db_result *r,
	    const char *missing);
/* Replies status with column col of the first row: the JSON text a
 * statement built. */
void	rc_rest_reply_cell(struct rc_req *req, int status, const PGresult *res,
	    int col);
/* True when column col of the first row is boolean true (NULL is not). */
int	rc_rest_true(const PGresult *res, int col);
/* In a query callback: 200 with column col when column found_col is
 * true, else 404 "not_found" with missing as the detail; replies (see
 * rc_rest_db_ok) when the query failed. For reads that say in one row
 * whether their parent exists and what it holds. */
void	rc_rest_reply_found(struct rc_req *req, const struct rc_db_result *r,
	    int found_col, int col, const char *missing);
/* The org a caller's queries are scoped to: their own, or NULL (any) for a
 * superadmin. */
const char *rc_rest_scope_org(const struct rc_req *req);
/* "true" when the caller is an org admin, else "false": a text parameter
 * for statements that widen what an admin may see. */
const char *rc_rest_admin_text(const struct rc_req *req);

/* An instant column as RFC 3339 UTC text, in SQL. */
#define RC_REST_INSTANT(col) \
	"to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* ?limit= (default 50, 1..500) and ?cursor= of a list, as text
 * parameters: after_at/after_id are NULL on the first page. */
struct rc_rest_page {
	char		 limit[12];
	const char	*after_at;
	const char	*after_id;
	char		 buf[96];
};
/* Replies 422 (field limit or cursor) and returns RC_ERR on bad input. */
rc_status rc_rest_page_parse(struct rc_req *req, struct rc_rest_page *page);
/* The same for lists whose ids are not UUIDs: id_ok checks the cursor's. */
rc_status rc_rest_page_parse_ids(struct rc_req *req, struct rc_rest_page *page,
	    int (*id_ok)(const char *id));

/* A page of the caller's org's rows: stmt takes ($1 org id, $2 after_at,
 * $3 after_id, $4 limit) and selects RC_REST_PAGE_SELECT; replies 200 with
 * it (or 422 for a bad ?limit=/?cursor=). */
void	rc_rest_list_org(struct rc_req *req, const struct rc_db_stmt *stmt);

/* The reply of a list: given a CTE named cte with columns created_at, id
 * and j (the item's JSON), holding up to lim + 1 rows in (created_at, id)
 * order, selects {"items": [...], "next_cursor": ...} as one JSON text.
 * The cursor is base64url("<created_at>|<id>") of the last item. */
#define RC_REST_PAGE_SELECT(cte, lim) \
	"SELECT json_build_object('items', COALESCE((SELECT json_agg(p.j" \
	" ORDER BY p.created_at, p.id) FROM (SELECT * FROM " cte " ORDER BY" \
	" created_at, id LIMIT " lim "::int) p), '[]'::json), 'next_cursor'," \
	" CASE WHEN (SELECT count(*) FROM " cte ") > " lim "::int THEN" \
	" (SELECT rtrim(translate(encode(convert_to(to_char(p.created_at AT" \
	" TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"') || '|' ||" \
	" p.id, 'UTF8'), 'base64'), E'+/\\n', '-_'), '=') FROM (SELECT *" \
	" FROM " cte " ORDER BY created_at, id LIMIT " lim "::int) p ORDER BY" \
	" p.created_at DESC, p.id DESC LIMIT 1) END)::text"

/* ---- Image uploads (src/rest/upload.c) ------------------------------ */

/* rc_rest_upload flags. */
#define RC_REST_UPLOAD_STORE		0x1	/* write JPEG + thumbnail to the store */
#define RC_REST_UPLOAD_FACE		0x2	/* find the largest face, make a template */
#define RC_REST_UPLOAD_FACE_STRICT	0x4	/* ...and refuse two comparable faces */

/* An image upload, as prepared on the CPU pool. */
struct rc_rest_upload {
	unsigned		 flags;
	struct rc_image		 img;		/* upright JPEG, thumb, pixels */
	char			 sha256[RC_STORE_KEY_LEN + 1];
	char			 thumb_sha256[RC_STORE_KEY_LEN + 1];
	/* With RC_REST_UPLOAD_FACE: */
	enum rc_face_status	 face_status;
	struct rc_face_template	*face;		/* on RC_FACE_OK; owned here */
	struct rc_face_info	 face_info;
};

typedef void (*rc_rest_upload_cb)(struct rc_req *req, struct rc_rest_upload *up);

/* Takes the request's image (req->image, which the router found for a
 * route declaring RC_BODY_IMAGE or RC_BODY_JSON_OR_IMAGE), checks it (type
 * from the bytes, pixel limit), prepares it on the CPU pool
 * (rc_face_image_prepare), and as flags ask stores it and extracts the
 * face there too; then calls done(req, up) on the request's loop thread.
 * up lives in the request's memory. On bad input (413, 415, 422 corrupt)
 * or a failure (500, 503 store) it replies itself and done is not called.
 * A face status other than RC_FACE_OK is left for done to judge. */
void	rc_rest_upload(struct rc_req *req, unsigned flags, rc_rest_upload_cb done);
/* Replies 422 {code: "no_face" | "multiple_faces" | "poor_quality"} (or
 * 500) for a face status other than RC_FACE_OK, with info->reason. */
void	rc_rest_fail_face(struct rc_req *req, enum rc_face_status st,
	    const struct rc_face_info *info);

/* Queues a blob_delete job for the blobs up stored (nothing when it
 * stored none), then replies rc_http_fail(status, code, detail). */
void	rc_rest_upload_fail(struct rc_req *req, const struct rc_rest_upload *up,
	    const char *org_id, int status, const char *code,
	    const char *detail);
/* The same with rc_rest_fail_face's reply for up->face_status. */
void	rc_rest_upload_fail_face(struct rc_req *req,
	    const struct rc_rest_upload *up, const char *org_id);

/* ---- 1:N identification of an upload (src/rest/identify.c) ---------- */

/* Matches identify answers with, at most. */
#define RC_REST_MATCHES_MAX	5

/* One person an identification found. */
struct rc_rest_match {
	char	 user_id[40];
	double	 similarity;
};

/* Called on req's loop with the people (at most RC_REST_MATCHES_MAX, best
 * first, one entry each: their best template) whose similarity reaches the
 * org's threshold. */
typedef void (*rc_rest_identify_cb)(struct rc_req *req,
	    const struct rc_rest_upload *up, const struct rc_rest_match *m,
	    size_t n, double threshold);

/* Searches org_id's gallery for up->face (RC_FACE_OK) on the CPU pool,
 * then calls cb. Sets req->data (as rc_rest_state_new does). On
 * failure it replies itself (404 no org, 503) and cb is not called. */
void	rc_rest_identify(struct rc_req *req, const struct rc_rest_upload *up,
	    const char *org_id, rc_rest_identify_cb cb);


/* Replies 200 with csv as a download named filename (a name that needs no
 * quoting: rc_reports_filename makes one). Copies csv. */
void	rc_rest_reply_csv(struct rc_req *req, const char *csv, size_t len,
	    const char *filename);

/* ---- Typed rows (src/rest/rows.c) ------------------------------------ *
 * For reads whose JSON is cheaper written here than built by PostgreSQL:
 * the statement selects typed columns, the callback writes them. */
struct rc_json;
/* rc_rest_query with the results in binary format (rc_db_bin_*). */
void	rc_rest_query_typed(struct rc_req *req, const struct rc_db_stmt *stmt,
	    const char *const *params, rc_rest_db_cb cb);
/* Replies status with what w holds (application/json), then cleans w. */
void	rc_rest_reply_json(struct rc_req *req, int status, struct rc_json *w);
/* Member key with the value of column col of a binary result, of the
 * column's type (text, uuid, timestamptz as RC_REST_INSTANT, date,
 * int2/4/8, bool); null when it is NULL. */
void	rc_rest_put_text(struct rc_json *w, const char *key,
	    const PGresult *res, int row, int col);
void	rc_rest_put_uuid(struct rc_json *w, const char *key,
	    const PGresult *res, int row, int col);
void	rc_rest_put_time(struct rc_json *w, const char *key,
	    const PGresult *res, int row, int col);
void	rc_rest_put_date(struct rc_json *w, const char *key,
	    const PGresult *res, int row, int col);
void	rc_rest_put_int(struct rc_json *w, const char *key,
	    const PGresult *res, int row, int col);
void	rc_rest_put_bool(struct rc_json *w, const char *key,
	    const PGresult *res, int row, int col);

/* Writes row of res as one item of a list. */
typedef void (*rc_rest_item_fn)(struct rc_json *w, const PGresult *res,
	    int row);
/* {"items": [...], "next_cursor": ...} from the typed rows of a page:
 * up to limit + 1 rows in (at, id) order (rows whose id_col is NULL, as a
 * LEFT JOIN makes for none, are not items); items are the first limit,
 * the cursor is RC_REST_PAGE_SELECT's, of the last item, when there are
 * more. at_col is a timestamptz, id_col a uuid. */
void	rc_rest_put_page(struct rc_json *w, const PGresult *res, int limit,
	    int at_col, int id_col, rc_rest_item_fn item);

#endif
