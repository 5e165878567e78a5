/* The password routes: forgot (a mailed one-time code), reset with it, and
 * change by the signed-in user. A new password ends every session. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/config.h"
#include "rollcall/cpu.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/log.h"
#include "rollcall/rest.h"

#define RESET_CODE_MINUTES	"15"
#define RESET_CODE_ATTEMPTS	"5"
/* Codes mailed per user and hour: with 5 tries each, a guesser needs
 * ~100,000 codes for even odds; this keeps that out of reach. */
#define RESET_CODES_PER_HOUR	"5"

/* A password route's state across its query, the hashing on the CPU pool
 * and the write; wiped and freed with the request. Strings from the body
 * point into req->body. */
struct flow {
	struct rc_req	*req;
	const char	*email, *password, *new_password;
	char		 user_id[40];
	int64_t		 tv;				/* token_version */
	char		 hash[RC_AUTH_PWHASH_LEN];	/* stored */
	char		 new_hash[RC_AUTH_PWHASH_LEN];
	char		 code_hash[RC_AUTH_TOKEN_HASH_LEN + 1];
	int		 ok;
};

static void
flow_wipe(void *state)
{
	sodium_memzero(state, sizeof(struct flow));
}

static struct flow *
flow_new(struct rc_req *req)
{
	struct flow *f = rc_rest_state_new_cleanup(req, sizeof(*f), flow_wipe);

	f->req = req;
	return f;
}

/* CPU pool: hashes f->new_password into f->new_hash; f->ok says if it
 * worked. */
static void
hash_work(void *arg)
{
	struct flow *f = arg;

	f->ok = rc_auth_password_hash(rc_rest_passwords(), f->new_password,
	    f->new_hash) == RC_OK;
}

/* ---- POST /auth/password/forgot, /auth/password/reset ---------------- */

/* A new code (older live ones die), its mail in the outbox, one audit row
 * — all in one statement, and nothing at all for an unknown or disabled
 * user, or one who asked too often this hour. */
static const struct rc_db_stmt SQL_FORGOT = {
	"auth_forgot",
	"WITH u AS (SELECT id, org_id, email, name FROM users"
	" WHERE email = $1 AND status = 'active' AND (SELECT count(*)"
	" FROM one_time_codes c WHERE c.user_id = users.id"
	" AND c.purpose = 'password_reset'"
	" AND c.created_at > now() - interval '1 hour') < "
	RESET_CODES_PER_HOUR "),"
	" dead AS (UPDATE one_time_codes SET used_at = now()"
	" WHERE user_id IN (SELECT id FROM u) AND purpose = 'password_reset'"
	" AND used_at IS NULL),"
	" c AS (INSERT INTO one_time_codes (user_id, purpose, code_hash,"
	" expires_at) SELECT id, 'password_reset', $2,"
	" now() + interval '" RESET_CODE_MINUTES " minutes' FROM u),"
	" j AS (INSERT INTO jobs (kind, payload, org_id) SELECT 'mail',"
	" jsonb_build_object('to', jsonb_build_array(u.email::text),"
	" 'template', 'reset_code', 'vars', jsonb_build_object('name', u.name,"
	" 'code', $3::text, 'minutes', " RESET_CODE_MINUTES ")), u.org_id"
	" FROM u),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT org_id, id,"
	" 'password_reset_requested', id, '{}', $4, $5 FROM u)"
	" SELECT count(*) FROM u",
	5,
};

static void
accepted_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (rc_rest_db_ok(req, r, NULL))
		rc_http_reply(req, 202, NULL, NULL, 0);
}

/* POST /api/v1/auth/password/forgot {email} — always 202. */
void
rc_api_password_forgot(struct rc_req *req)
{
	char code[7], hash[RC_AUTH_TOKEN_HASH_LEN + 1];
	const char *email;

	if (rc_rest_email(req, "email", 1, &email) != RC_OK)
		return;
	rc_auth_code6(code);
	rc_auth_token_hash(code, hash);
	{
		const char *p[5] = { email, hash, code, rc_http_client(req),
		    req->id };

		rc_rest_query(req, &SQL_FORGOT, p, accepted_cb);
	}
	sodium_memzero(code, sizeof(code));
}

/* Takes the user's newest live code when it matches; counts a miss
 * otherwise. After RESET_CODE_ATTEMPTS misses the code is dead. */
static const struct rc_db_stmt SQL_RESET_CODE = {
	"auth_reset_code",
	"WITH u AS (SELECT id FROM users WHERE email = $1"
	" AND status = 'active'),"
	" c AS (SELECT oc.id, oc.code_hash = $2 AS ok FROM one_time_codes oc"
	" JOIN u ON oc.user_id = u.id WHERE oc.purpose = 'password_reset'"
	" AND oc.used_at IS NULL AND oc.expires_at > now()"
	" AND oc.attempts < " RESET_CODE_ATTEMPTS
	" ORDER BY oc.created_at DESC LIMIT 1 FOR UPDATE OF oc),"
	" miss AS (UPDATE one_time_codes SET attempts = attempts + 1"
	" WHERE id IN (SELECT id FROM c WHERE NOT ok)),"
	" take AS (UPDATE one_time_codes SET used_at = now()"
	" WHERE id IN (SELECT id FROM c WHERE ok) RETURNING user_id)"
	" SELECT user_id FROM take",
	2,
};

/* A new password ends every session: token_version + 1 kills the access
 * tokens, the refresh tokens are revoked. */
#define SET_PASSWORD \
	"UPDATE users SET password_hash = $2, token_version = token_version" \
	" + 1, must_change_password = false WHERE id = $1"
#define REVOKE_ALL \
	"r AS (UPDATE refresh_tokens SET revoked_at = now() WHERE user_id IN" \
	" (SELECT id FROM u) AND revoked_at IS NULL)"

static const struct rc_db_stmt SQL_RESET = {
	"auth_reset",
	"WITH u AS (" SET_PASSWORD " AND status = 'active'"
	" RETURNING id, org_id), " REVOKE_ALL ","
	" a AS (" RC_REST_AUDIT_INSERT " SELECT org_id, id, 'password_reset',"
	" id, '{}', $3, $4 FROM u)"
	" SELECT id FROM u",
	4,
};

static void
invalid_code(struct rc_req *req)
{
	rc_http_fail(req, 400, "invalid_code",
	    "the code is wrong or no longer valid; ask for a new one");
}

static void
reset_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1) {
		invalid_code(req);
		return;
	}
	/* This daemon's next request sees the change at once; the others
	 * by NOTIFY (sql/009). */
	rc_auth_pcache_forget(PQgetvalue(r->res, 0, 0));
	rc_http_reply(req, 204, NULL, NULL, 0);
}

static void
reset_hashed(void *arg)
{
	struct flow *f = arg;
	struct rc_req *req = f->req;
	const char *p[4] = { f->user_id, f->new_hash, rc_http_client(req),
	    req->id };

	if (!f->ok) {
		rc_http_fail(req, 500, "internal", "cannot hash the password");
		return;
	}
	rc_rest_query(req, &SQL_RESET, p, reset_cb);
}

static void
reset_code_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct flow *f = rc_rest_state(req);

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1) {
		invalid_code(req);
		return;
	}
	snprintf(f->user_id, sizeof(f->user_id), "%s",
	    PQgetvalue(r->res, 0, 0));
	rc_cpu_submit(req->loop, hash_work, reset_hashed, f);
}

/* POST /api/v1/auth/password/reset {email, code, new_password} */
void
rc_api_password_reset(struct rc_req *req)
{
	const char *email, *code, *password, *why;
	struct flow *f;
	size_t i;

	if (rc_rest_email(req, "email", 1, &email) != RC_OK ||
	    rc_rest_string(req, "code", 1, 6, 6, &code) != RC_OK ||
	    rc_rest_string(req, "new_password", 1, 1, RC_AUTH_PASSWORD_MAX,
	    &password) != RC_OK)
		return;
	for (i = 0; i < 6; i++) {
		if (code[i] < '0' || code[i] > '9') {
			rc_http_fail_field(req, "code", "must be 6 digits");
			return;
		}
	}
	if (rc_auth_password_policy(rc_rest_passwords(), password, email,
	    &why) != RC_OK) {
		rc_http_fail_field(req, "new_password", why);
		return;
	}
	f = flow_new(req);
	f->email = email;
	f->new_password = password;
	rc_auth_token_hash(code, f->code_hash);
	{
		const char *p[2] = { email, f->code_hash };

		rc_rest_query(req, &SQL_RESET_CODE, p, reset_code_cb);
	}
}

/* ---- POST /auth/password/change -------------------------------------- */

static const struct rc_db_stmt SQL_CHANGE_LOOKUP = {
	"auth_change_lookup",
	"SELECT password_hash, token_version FROM users WHERE id = $1",
	1,
};

static const struct rc_db_stmt SQL_CHANGE = {
	"auth_change",
	"WITH u AS (" SET_PASSWORD " AND token_version = $3"
	" RETURNING id, org_id), " REVOKE_ALL ","
	" a AS (" RC_REST_AUDIT_INSERT " SELECT org_id, id, 'password_changed',"
	" id, '{}', $4, $5 FROM u)"
	" SELECT id FROM u",
	5,
};

static void
change_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1) {	/* the password changed meanwhile */
		rc_http_fail(req, 409, "conflict",
		    "the password was changed meanwhile; sign in again");
		return;
	}
	rc_auth_pcache_forget(PQgetvalue(r->res, 0, 0));
	rc_http_reply(req, 204, NULL, NULL, 0);
}

static void
change_work(void *arg)
{
	struct flow *f = arg;
	const struct rc_auth_passwords *pw = rc_rest_passwords();

	f->ok = rc_auth_password_verify(pw, f->hash, f->password) == RC_OK;
	if (f->ok && rc_auth_password_hash(pw, f->new_password, f->new_hash) !=
	    RC_OK)
		f->ok = -1;
}

static void
change_done(void *arg)
{
	struct flow *f = arg;
	struct rc_req *req = f->req;
	char tv[24];
	const char *p[5] = { req->who->user_id, f->new_hash, tv,
	    rc_http_client(req), req->id };

	if (f->ok == 0) {
		rc_http_fail_field(req, "current_password",
		    "is not your current password");
		return;
	}
	if (f->ok < 0) {
		rc_http_fail(req, 500, "internal", "cannot hash the password");
		return;
	}
	snprintf(tv, sizeof(tv), "%lld", (long long)f->tv);
	rc_rest_query(req, &SQL_CHANGE, p, change_cb);
}

static void
change_lookup_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct flow *f = rc_rest_state(req);

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1) {
		rc_http_fail(req, 401, "unauthorized", NULL);
		return;
	}
	snprintf(f->hash, sizeof(f->hash), "%s", PQgetvalue(r->res, 0, 0));
	f->tv = strtoll(PQgetvalue(r->res, 0, 1), NULL, 10);
	rc_cpu_submit(req->loop, change_work, change_done, f);
}

/* POST /api/v1/auth/password/change {current_password, new_password} */
void
rc_api_password_change(struct rc_req *req)
{
	const char *current, *password, *why;
	struct flow *f;

	if (rc_rest_string(req, "current_password", 1, 1, RC_AUTH_PASSWORD_MAX,
	    &current) != RC_OK ||
	    rc_rest_string(req, "new_password", 1, 1, RC_AUTH_PASSWORD_MAX,
	    &password) != RC_OK)
		return;
	if (rc_auth_password_policy(rc_rest_passwords(), password,
	    req->who->email, &why) != RC_OK) {
		rc_http_fail_field(req, "new_password", why);
		return;
	}
	if (strcmp(current, password) == 0) {
		rc_http_fail_field(req, "new_password",
		    "must differ from the current password");
		return;
	}
	f = flow_new(req);
	f->password = current;
	f->new_password = password;
	{
		const char *p[1] = { req->who->user_id };

		rc_rest_query(req, &SQL_CHANGE_LOOKUP, p, change_lookup_cb);
	}
}

