/* People of an organisation (the old admin pre-sign-up flow): admins create
 * interns and employees, who are mailed a temporary password through the
 * outbox in the same statement; list, read, update, disable, re-send
 * credentials. An admin only ever sees their own org: another org's id
 * answers 404. Replies are built as JSON by PostgreSQL and passed through. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rollcall/api.h"
#include "rollcall/rest.h"
#include "rollcall/auth.h"
#include "rollcall/config.h"
#include "rollcall/cpu.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/slack.h"

#define NAME_MAX_CHARS	200

/* The public user object, from a users row named u. */
#define USER_JSON \
	"json_build_object('id', u.id, 'email', u.email, 'name', u.name," \
	" 'role', u.role, 'org_id', u.org_id, 'manager_id', u.manager_id," \
	" 'status', u.status, 'must_change_password', u.must_change_password," \
	" 'slack_user_id', u.slack_user_id," \
	" 'created_at', " RC_REST_INSTANT("u.created_at") "," \
	" 'last_login_at', " RC_REST_INSTANT("u.last_login_at") ")"

/* Mails the credentials template for the rows of u; $mail says whether. */
#define CREDENTIALS_JOB(pw, url, mail) \
	"INSERT INTO jobs (kind, payload, org_id) SELECT 'mail'," \
	" jsonb_build_object('to', jsonb_build_array(u.email), 'template'," \
	" 'credentials', 'vars', jsonb_build_object('name', u.name, 'email'," \
	" u.email, 'temporary_password', " pw "::text, 'sign_in_url', " url \
	"::text)), u.org_id FROM u WHERE " mail "::bool"

/* $1 org (NULL for a superadmin), $2 email, $3 name, $4 role, $5 manager,
 * $6 hash, $7 mail?, $8 temporary password, $9 sign-in URL, $10 actor,
 * $11 client, $12 request id. One row always: the user (NULL when not
 * created), whether the org exists, whether the manager qualifies. */
static const struct rc_db_stmt SQL_CREATE = {
	"users_create",
	"WITH o AS (SELECT id FROM orgs WHERE id = $1::uuid),"
	" m AS (SELECT id FROM users WHERE id = $5::uuid AND org_id = $1::uuid"
	"  AND status = 'active'),"
	" u AS (INSERT INTO users (org_id, email, name, role, manager_id,"
	"  password_hash, must_change_password)"
	"  SELECT $1::uuid, $2, $3, $4, $5::uuid, $6, true"
	"  WHERE ($4 = 'superadmin' OR EXISTS (SELECT 1 FROM o))"
	"  AND ($5 IS NULL OR EXISTS (SELECT 1 FROM m)) RETURNING *),"
	" j AS (" CREDENTIALS_JOB("$8", "$9", "$7") "),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT u.org_id, $10::uuid,"
	"  'user_created', u.id, jsonb_build_object('role', u.role,"
	"  'credentials_mailed', $7::bool), $11, $12 FROM u)"
	" SELECT (SELECT " USER_JSON " FROM u), EXISTS (SELECT 1 FROM o),"
	" $5 IS NULL OR EXISTS (SELECT 1 FROM m)",
	12,
};

/* $1 org filter (NULL: all), $2 role, $3 search pattern, $4/$5 cursor,
 * $6 limit. */
static const struct rc_db_stmt SQL_LIST = {
	"users_list",
	"WITH page AS (SELECT u.created_at, u.id, " USER_JSON " AS j"
	"  FROM users u WHERE ($1::uuid IS NULL OR u.org_id = $1::uuid)"
	"  AND ($2::text IS NULL OR u.role = $2)"
	"  AND ($3::text IS NULL OR u.email ILIKE $3 OR u.name ILIKE $3)"
	"  AND ($4::timestamptz IS NULL OR (u.created_at, u.id) >"
	"   ($4::timestamptz, $5::uuid))"
	"  ORDER BY u.created_at, u.id LIMIT $6::int + 1)"
	" " RC_REST_PAGE_SELECT("page", "$6"),
	6,
};

/* $1 id, $2 org filter (NULL: any). */
static const struct rc_db_stmt SQL_GET = {
	"users_get",
	"SELECT " USER_JSON " FROM users u WHERE u.id = $1::uuid"
	" AND ($2::uuid IS NULL OR u.org_id = $2::uuid)",
	2,
};

/* $1 id, $2 org filter, $3 the changes (jsonb, validated), $4 actor,
 * $5 client, $6 request id. One row: the user (NULL when not changed),
 * whether it exists, whether the manager qualifies. */
static const struct rc_db_stmt SQL_PATCH = {
	"users_patch",
	"WITH old AS (SELECT * FROM users WHERE id = $1::uuid"
	"  AND ($2::uuid IS NULL OR org_id = $2::uuid) FOR UPDATE),"
	" ok_m AS (SELECT NOT ($3::jsonb ? 'manager_id')"
	"  OR $3::jsonb->>'manager_id' IS NULL OR EXISTS (SELECT 1 FROM users m,"
	"  old WHERE m.id = ($3::jsonb->>'manager_id')::uuid AND m.org_id ="
	"  old.org_id AND m.id <> old.id AND m.status = 'active') AS ok),"
	" u AS (UPDATE users x SET"
	"  name = COALESCE($3::jsonb->>'name', x.name),"
	"  role = COALESCE($3::jsonb->>'role', x.role),"
	"  status = COALESCE($3::jsonb->>'status', x.status),"
	"  manager_id = CASE WHEN $3::jsonb ? 'manager_id' THEN"
	"   ($3::jsonb->>'manager_id')::uuid ELSE x.manager_id END,"
	"  slack_user_id = CASE WHEN $3::jsonb ? 'slack_user_id' THEN"
	"   $3::jsonb->>'slack_user_id' ELSE x.slack_user_id END,"
	"  token_version = x.token_version + CASE WHEN $3::jsonb->>'status' ="
	"   'disabled' AND x.status = 'active' THEN 1 ELSE 0 END"
	"  FROM old, ok_m WHERE x.id = old.id AND ok_m.ok RETURNING x.*),"
	" r AS (UPDATE refresh_tokens SET revoked_at = now() WHERE user_id IN"
	"  (SELECT id FROM u WHERE status = 'disabled') AND revoked_at IS NULL),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT u.org_id, $4::uuid, act.action,"
	"  u.id, act.detail, $5, $6 FROM u, old, LATERAL (VALUES"
	"  ('role_changed', jsonb_build_object('from', old.role, 'to', u.role),"
	"   old.role <> u.role),"
	"  ('user_disabled', '{}'::jsonb, old.status = 'active' AND"
	"   u.status = 'disabled'),"
	"  ('user_enabled', '{}'::jsonb, old.status = 'disabled' AND"
	"   u.status = 'active'),"
	"  ('user_updated', $3::jsonb, true)) act(action, detail, applies)"
	"  WHERE act.applies)"
	" SELECT (SELECT " USER_JSON " FROM u), EXISTS (SELECT 1 FROM old),"
	" (SELECT ok FROM ok_m)",
	6,
};

/* $1 id, $2 org filter, $3 actor, $4 client, $5 request id. Disables the
 * account, ends its sessions, and erases what identifies its face: the
 * templates, every picture of the person (rows now, files through one
 * blob_delete job of the outbox). */
static const struct rc_db_stmt SQL_DISABLE = {
	"users_disable",
	"WITH u AS (UPDATE users SET status = 'disabled', token_version ="
	"  token_version + CASE WHEN status = 'active' THEN 1 ELSE 0 END"
	"  WHERE id = $1::uuid AND ($2::uuid IS NULL OR org_id = $2::uuid)"
	"  RETURNING id, org_id),"
	" r AS (UPDATE refresh_tokens SET revoked_at = now() WHERE user_id IN"
	"  (SELECT id FROM u) AND revoked_at IS NULL),"
	" f AS (DELETE FROM face_templates WHERE user_id IN (SELECT id FROM u)"
	"  RETURNING id),"
	" p AS (DELETE FROM pictures WHERE owner_id IN (SELECT id FROM u)"
	"  RETURNING sha256, thumb_sha256),"
	" j AS (INSERT INTO jobs (kind, payload, org_id) SELECT 'blob_delete',"
	"  jsonb_build_object('keys', jsonb_agg(DISTINCT k.key)),"
	"  (SELECT org_id FROM u) FROM (SELECT sha256 AS key FROM p UNION ALL"
	"  SELECT thumb_sha256 FROM p) k HAVING count(*) > 0),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT u.org_id, $3::uuid,"
	"  'user_disabled', u.id, jsonb_build_object('faces_erased',"
	"  (SELECT count(*) FROM f), 'pictures_erased', (SELECT count(*)"
	"  FROM p)), $4, $5 FROM u)"
	" SELECT id FROM u",
	5,
};

/* $1 id, $2 org filter, $3 hash, $4 temporary password, $5 sign-in URL,
 * $6 actor, $7 client, $8 request id. */
static const struct rc_db_stmt SQL_CREDENTIALS = {
	"users_credentials",
	"WITH u AS (UPDATE users SET password_hash = $3,"
	"  must_change_password = true, token_version = token_version + 1"
	"  WHERE id = $1::uuid AND ($2::uuid IS NULL OR org_id = $2::uuid)"
	"  AND status = 'active' RETURNING *),"
	" r AS (UPDATE refresh_tokens SET revoked_at = now() WHERE user_id IN"
	"  (SELECT id FROM u) AND revoked_at IS NULL),"
	" j AS (" CREDENTIALS_JOB("$4", "$5", "true") "),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT u.org_id, $6::uuid,"
	"  'credentials_sent', u.id, '{}', $7, $8 FROM u)"
	" SELECT u.id FROM u",
	8,
};

static const char *const creatable_roles[] = {
	"superadmin", "admin", "manager", "employee", "intern", NULL,
};
static const char *const statuses[] = { "active", "disabled", NULL };

/* What a handler carries across the CPU pool and the database. */
struct user_op {
	const char	*org;		/* where the user lives / may be seen */
	const char	*email, *name, *role, *manager, *id;
	int		 mail;
	char		 password[RC_AUTH_TEMP_PASSWORD_LEN + 1];
	char		 hash[RC_AUTH_PWHASH_LEN];
	char		*url;
	int		 ok;
};

static void
user_op_cleanup(void *arg)
{
	struct user_op *op = arg;

	free(op->url);
	sodium_memzero(op, sizeof(*op));
}

static struct user_op *
user_op_new(struct rc_req *req)
{
	struct user_op *op = rc_req_alloc(req, sizeof(*op), user_op_cleanup);

	op->url = rc_asprintf("%s/", rc_server_config(
	    req->loop->server)->server_public_url);
	req->data = op;
	return op;
}

/* CPU pool: a temporary password and its argon2id hash. */
static void
temp_password_work(void *arg)
{
	struct user_op *op = ((struct rc_req *)arg)->data;

	rc_auth_password_temp(op->password);
	op->ok = rc_auth_password_hash(rc_rest_passwords(), op->password,
	    op->hash) == RC_OK;
}

/* ---- POST /api/v1/users ---------------------------------------------- */

static void
create_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct user_op *op = req->data;
	json_t *body;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQgetvalue(r->res, 0, 1)[0] != 't' && strcmp(op->role,
	    "superadmin") != 0) {
		rc_http_fail(req, 404, "not_found", "no such organisation");
		return;
	}
	if (PQgetvalue(r->res, 0, 2)[0] != 't') {
		rc_http_fail_field(req, "manager_id",
		    "is not an active user of this organisation");
		return;
	}
	if (op->mail) {
		rc_rest_reply_cell(req, 201, r->res, 0);
		return;
	}
	/* No mail: the caller hands the password over, shown this once. */
	body = json_loads(PQgetvalue(r->res, 0, 0), 0, NULL);
	json_object_set_new(body, "temporary_password",
	    json_string(op->password));
	rc_http_reply_json(req, 201, body);
}

static void
create_hashed(void *arg)
{
	struct rc_req *req = arg;
	struct user_op *op = req->data;
	const char *p[12] = { op->org, op->email, op->name, op->role,
	    op->manager, op->hash, op->mail ? "true" : "false", op->password,
	    op->url, req->who->user_id, rc_http_client(req), req->id };

	if (!op->ok) {
		rc_http_fail(req, 500, "internal", "cannot hash the password");
		return;
	}
	rc_rest_query(req, &SQL_CREATE, p, create_cb);
}

static rc_status
create_parse(struct rc_req *req, struct user_op *op)
{
	const char *org_id;

	if (rc_rest_email(req, "email", 1, &op->email) != RC_OK ||
	    rc_rest_line(req, "name", 1, 1, NAME_MAX_CHARS, &op->name) != RC_OK ||
	    rc_rest_enum(req, "role", 1, creatable_roles, &op->role) != RC_OK ||
	    rc_rest_uuid(req, "org_id", 0, &org_id) != RC_OK ||
	    rc_rest_uuid(req, "manager_id", 0, &op->manager) != RC_OK ||
	    rc_rest_bool(req, "send_credentials", 0, 1, &op->mail) != RC_OK)
		return RC_ERR;
	if (req->who->role_bit == RC_ROLE_SUPERADMIN) {
		op->org = strcmp(op->role, "superadmin") == 0 ? NULL : org_id;
		if (op->org == NULL && strcmp(op->role, "superadmin") != 0) {
			rc_http_fail_field(req, "org_id", "is required");
			return RC_ERR;
		}
		if (op->org == NULL && op->manager != NULL) {
			rc_http_fail_field(req, "manager_id",
			    "a superadmin has no manager");
			return RC_ERR;
		}
		return RC_OK;
	}
	if (strcmp(op->role, "superadmin") == 0) {
		rc_http_fail(req, 403, "forbidden",
		    "only a superadmin creates superadmins");
		return RC_ERR;
	}
	/* Another tenant's org is a resource that does not exist here. */
	if (org_id != NULL && strcmp(org_id, req->who->org_id) != 0) {
		rc_http_fail(req, 404, "not_found", "no such organisation");
		return RC_ERR;
	}
	op->org = req->who->org_id;
	return RC_OK;
}

/* POST /api/v1/users — an admin adds someone to their org. */
void
rc_api_users_create(struct rc_req *req)
{
	struct user_op *op = user_op_new(req);

	if (create_parse(req, op) != RC_OK)
		return;
	rc_cpu_submit(req->loop, temp_password_work, create_hashed, req);
}

/* ---- GET /api/v1/users ----------------------------------------------- */

static void
json_row_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1 || PQgetisnull(r->res, 0, 0)) {
		rc_http_fail(req, 404, "not_found", "no such user");
		return;
	}
	rc_rest_reply_cell(req, 200, r->res, 0);
}

/* "%q%" for ILIKE with the pattern characters of q escaped, in the
 * request's memory. */
static char *
like_pattern(struct rc_req *req, const char *q)
{
	char *out = rc_req_alloc(req, 2 * strlen(q) + 3, NULL), *p = out;

	*p++ = '%';
	for (; *q != '\0'; q++) {
		if (*q == '%' || *q == '_' || *q == '\\')
			*p++ = '\\';
		*p++ = *q;
	}
	*p++ = '%';
	*p = '\0';
	return out;
}

/* GET /api/v1/users?role=&q=&limit=&cursor= — the org's people. */
void
rc_api_users_list(struct rc_req *req)
{
	const char *role = rc_http_query(req, "role");
	const char *q = rc_http_query(req, "q");
	const char *org = rc_rest_scope_org(req);
	struct rc_rest_page page;
	char *pattern = NULL;
	size_t i;

	if (role != NULL) {
		for (i = 0; creatable_roles[i] != NULL; i++)
			if (strcmp(role, creatable_roles[i]) == 0)
				break;
		if (creatable_roles[i] == NULL) {
			rc_http_fail_field(req, "role", "is not a role");
			return;
		}
	}
	if (q != NULL && (strlen(q) == 0 || strlen(q) > 200)) {
		rc_http_fail_field(req, "q", "must be 1 to 200 characters");
		return;
	}
	if (org == NULL && rc_http_query(req, "org_id") != NULL) {
		org = rc_http_query(req, "org_id");
		if (!rc_util_uuid_valid(org)) {
			rc_http_fail_field(req, "org_id", "is not an id");
			return;
		}
	}
	if (rc_rest_page_parse(req, &page) != RC_OK)
		return;
	if (q != NULL) {
		pattern = like_pattern(req, q);
	}
	{
		const char *p[6] = { org, role, pattern, page.after_at,
		    page.after_id, page.limit };

		rc_rest_query(req, &SQL_LIST, p, json_row_cb);
	}
}

/* ---- GET /api/v1/users/{id} ------------------------------------------ */

void
rc_api_users_get(struct rc_req *req)
{
	const char *id, *p[2];

	if (rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return;
	/* Everyone may read themselves; admins their org; superadmins all. */
	if (!(req->who->role_bit & (RC_ROLE_SUPERADMIN | RC_ROLE_ADMIN)) &&
	    strcmp(id, req->who->user_id) != 0) {
		rc_http_fail(req, 404, "not_found", "no such user");
		return;
	}
	p[0] = id;
	p[1] = rc_rest_scope_org(req);
	rc_rest_query(req, &SQL_GET, p, json_row_cb);
}

/* ---- PATCH /api/v1/users/{id} ---------------------------------------- */

static void
patch_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQgetvalue(r->res, 0, 1)[0] != 't') {
		rc_http_fail(req, 404, "not_found", "no such user");
		return;
	}
	if (PQgetvalue(r->res, 0, 2)[0] != 't') {
		rc_http_fail_field(req, "manager_id",
		    "is not another active user of this organisation");
		return;
	}
	/* This daemon's next request sees the change at once; the others
	 * by NOTIFY (sql/009). */
	rc_auth_pcache_forget(rc_http_param(req, "id"));
	rc_rest_reply_cell(req, 200, r->res, 0);
}

/* Builds the validated changes as a JSON object; NULL after a reply. */
static json_t *
patch_changes(struct rc_req *req, const char *id)
{
	const char *name, *role, *status, *manager;
	int self = strcmp(id, req->who->user_id) == 0;
	json_t *c;

	if (rc_rest_line(req, "name", 0, 1, NAME_MAX_CHARS, &name) != RC_OK ||
	    rc_rest_enum(req, "role", 0, creatable_roles, &role) != RC_OK ||
	    rc_rest_enum(req, "status", 0, statuses, &status) != RC_OK ||
	    rc_rest_uuid(req, "manager_id", 0, &manager) != RC_OK)
		return NULL;
	if (role != NULL && strcmp(role, "superadmin") == 0) {
		rc_http_fail(req, 403, "forbidden", "nobody becomes a superadmin "
		    "this way: use `rollcall user add`");
		return NULL;
	}
	/* An admin locking themselves out is always a mistake. */
	if (self && ((role != NULL && strcmp(role, req->who->role) != 0) ||
	    (status != NULL && strcmp(status, "disabled") == 0))) {
		rc_http_fail(req, 409, "conflict",
		    "you cannot change your own role or disable yourself");
		return NULL;
	}
	c = json_object();
	if (name != NULL)
		json_object_set_new(c, "name", json_string(name));
	if (role != NULL)
		json_object_set_new(c, "role", json_string(role));
	if (status != NULL)
		json_object_set_new(c, "status", json_string(status));
	if (rc_rest_has(req, "manager_id"))
		json_object_set_new(c, "manager_id",
		    manager ? json_string(manager) : json_null());
	if (rc_slack_user_change(req, c) != RC_OK) {
		json_decref(c);
		return NULL;
	}
	return c;
}

/* PATCH /api/v1/users/{id} {name?, role?, manager_id?, status?} */
void
rc_api_users_patch(struct rc_req *req)
{
	const char *id, *p[6];
	json_t *changes;
	char *dumped, *text;

	if (rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return;
	if ((changes = patch_changes(req, id)) == NULL)
		return;
	dumped = json_dumps(changes, JSON_COMPACT);
	json_decref(changes);
	text = rc_req_strdup(req, dumped);
	free(dumped);
	p[0] = id;
	p[1] = rc_rest_scope_org(req);
	p[2] = text;
	p[3] = req->who->user_id;
	p[4] = rc_http_client(req);
	p[5] = req->id;
	rc_rest_query(req, &SQL_PATCH, p, patch_cb);
}

/* ---- DELETE /api/v1/users/{id} --------------------------------------- */

static void
disable_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_row(req, r, "no such user"))
		return;
	rc_auth_pcache_forget(PQgetvalue(r->res, 0, 0));
	rc_http_reply(req, 204, NULL, NULL, 0);
}

/* DELETE /api/v1/users/{id} — disables the account, ends its sessions and
 * erases its face templates and pictures (the row stays: attendance
 * history refers to it). */
void
rc_api_users_disable(struct rc_req *req)
{
	const char *id, *p[5];

	if (rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return;
	if (strcmp(id, req->who->user_id) == 0) {
		rc_http_fail(req, 409, "conflict", "you cannot disable yourself");
		return;
	}
	p[0] = id;
	p[1] = rc_rest_scope_org(req);
	p[2] = req->who->user_id;
	p[3] = rc_http_client(req);
	p[4] = req->id;
	rc_rest_query(req, &SQL_DISABLE, p, disable_cb);
}

/* ---- POST /api/v1/users/{id}/credentials ----------------------------- */

static void
credentials_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_row(req, r, "no such active user"))
		return;
	rc_auth_pcache_forget(PQgetvalue(r->res, 0, 0));
	rc_http_reply_json(req, 202, json_pack("{s:s}", "status", "queued"));
}

static void
credentials_hashed(void *arg)
{
	struct rc_req *req = arg;
	struct user_op *op = req->data;
	const char *p[8] = { op->id, op->org, op->hash, op->password, op->url,
	    req->who->user_id, rc_http_client(req), req->id };

	if (!op->ok) {
		rc_http_fail(req, 500, "internal", "cannot hash the password");
		return;
	}
	rc_rest_query(req, &SQL_CREDENTIALS, p, credentials_cb);
}

/* POST /api/v1/users/{id}/credentials — a new temporary password, mailed;
 * the old password and every session stop working. */
void
rc_api_users_credentials(struct rc_req *req)
{
	struct user_op *op;
	const char *id;

	if (rc_rest_uuid_param(req, "id", &id) != RC_OK)
		return;
	op = user_op_new(req);
	op->id = id;
	op->org = rc_rest_scope_org(req);
	rc_cpu_submit(req->loop, temp_password_work, credentials_hashed, req);
}

