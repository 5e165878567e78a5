/* The identity routes (what Cognito did): login with brute-force locks,
 * rotating refresh tokens, logout, sign-up by e-mail domain, /me and the
 * JWKS (the password routes are in password.c). Hashing and JWT signing
 * run on the CPU pool; everything else on the loop with asynchronous
 * queries. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

#include "rollcall/api.h"
#include "rollcall/auth.h"
#include "rollcall/config.h"
#include "rollcall/cpu.h"
#include "rollcall/db.h"
#include "rollcall/http.h"
#include "rollcall/log.h"
#include "rollcall/rest.h"

#define EMAIL_MAX		254
#define NAME_MAX_CHARS		200
#define SLUG_MAX		100

/* A users row as replies show it. */
struct user {
	char	*id, *email, *name, *role, *org_id, *manager_id, *status;
	int	 must_change;
	int64_t	 tv;
};

/* A request's state across queries and CPU work, freed with the request
 * (req->data). Strings from the body point into req->body. */
struct flow {
	struct rc_req		*req;
	const struct rc_config	*cfg;
	const char		*email, *password, *new_password;
	const char		*name, *org, *code;
	char			 email_key[EMAIL_MAX + 8];
	char			 ip_key[80];
	char			 pair_key[EMAIL_MAX + 96];	/* e-mail + source */
	char			 device_hash[RC_AUTH_TOKEN_HASH_LEN + 1];	/* "" none */
	int			 trusted;	/* holds a live refresh token */
	char			 domain[EMAIL_MAX + 1];
	int			 have_user;
	struct user		 u;
	char			 hash[RC_AUTH_PWHASH_LEN];	/* stored */
	char			 new_hash[RC_AUTH_PWHASH_LEN];	/* "" none */
	int			 ok;
	char			*access;
	char			 refresh[RC_AUTH_RANDOM_TOKEN_LEN + 1];
	char			 refresh_hash[RC_AUTH_TOKEN_HASH_LEN + 1];
	char			 old_hash[RC_AUTH_TOKEN_HASH_LEN + 1];
	char			 family[40];	/* the refresh family: the
						   access token's sid */
	int			 cookie;	/* the refresh token goes in
						   an HttpOnly cookie */
};

/* The brute-force defence (README: "Brute-force defence"). Failures are
 * counted per e-mail + source (the client address, or the refresh family
 * of a trusted device), per e-mail and per address. The pair is locked
 * after auth.login_max_failures; the e-mail alone and the address alone
 * after SHARED_FAILURE_FACTOR times that, and their locks stop only pairs
 * that have been failing, so neither an office behind one NAT nor someone
 * guessing a chosen account from elsewhere can lock a person out. */
#define SHARED_FAILURE_FACTOR	4
#define FAILURE_MEMORY_SECONDS	RC_AUTH_FAILURE_MEMORY_SECONDS

/* The browser keeps its refresh token where scripts cannot read it: an
 * HttpOnly cookie sent to the auth routes only. SameSite=Strict keeps
 * other sites' pages from sending it; so does the JSON body these routes
 * demand (a cross-site request with one needs a CORS preflight, which this
 * server never grants). */
#define REFRESH_COOKIE		"rollcall_refresh"
#define REFRESH_COOKIE_PATH	"/api/v1/auth"
#define REFRESH_TOKEN_MAX	256

/* The user object of replies, in this order in every statement. */
#define USER_COLS "id, email, name, role, org_id, manager_id, status," \
	" must_change_password, token_version"
#define U_USER_COLS "u.id, u.email, u.name, u.role, u.org_id, u.manager_id," \
	" u.status, u.must_change_password, u.token_version"

static void
user_cleanup(struct user *u)
{
	free(u->id);
	free(u->email);
	free(u->name);
	free(u->role);
	free(u->org_id);
	free(u->manager_id);
	free(u->status);
	memset(u, 0, sizeof(*u));
}

static void
flow_cleanup(void *arg)
{
	struct flow *f = arg;

	user_cleanup(&f->u);
	if (f->access != NULL) {
		sodium_memzero(f->access, strlen(f->access));
		free(f->access);
	}
	sodium_memzero(f, sizeof(*f));
}

/* A new flow in req's memory (req->data), wiped with it. */
static struct flow *
auth_flow_new(struct rc_req *req)
{
	struct flow *f = rc_req_alloc(req, sizeof(*f), flow_cleanup);

	f->req = req;
	f->cfg = rc_server_config(req->loop->server);
	req->data = f;
	return f;
}

static char *
col_dup(const PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL :
	    rc_strdup(PQgetvalue(res, row, col));
}

/* Reads USER_COLS starting at column col0 of row 0. */
static void
user_read(struct user *u, const PGresult *res, int col0)
{
	user_cleanup(u);
	u->id = col_dup(res, 0, col0);
	u->email = col_dup(res, 0, col0 + 1);
	u->name = col_dup(res, 0, col0 + 2);
	u->role = col_dup(res, 0, col0 + 3);
	u->org_id = col_dup(res, 0, col0 + 4);
	u->manager_id = col_dup(res, 0, col0 + 5);
	u->status = col_dup(res, 0, col0 + 6);
	u->must_change = PQgetvalue(res, 0, col0 + 7)[0] == 't';
	u->tv = strtoll(PQgetvalue(res, 0, col0 + 8), NULL, 10);
}

static json_t *
user_json(const struct user *u)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s?, s:s?, s:s, s:b}",
	    "id", u->id, "email", u->email, "name", u->name, "role", u->role,
	    "org_id", u->org_id, "manager_id", u->manager_id,
	    "status", u->status, "must_change_password", u->must_change);
}

static void
ascii_lower(char *s)
{
	for (; *s != '\0'; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* Signs an access token for f->u (CPU pool: libjwt takes ~1 ms). */
static void
sign_access(struct flow *f)
{
	struct rc_auth_claims c;
	int64_t now = (int64_t)time(NULL);

	rc_auth_claims_init(&c);
	c.sub = f->u.id;
	c.org = f->u.org_id;
	c.role = f->u.role;
	c.tv = f->u.tv;
	c.sid = f->family[0] != '\0' ? f->family : NULL;
	c.iat = now;
	c.exp = now + f->cfg->auth_access_ttl;
	if (rc_auth_token_sign(rc_rest_keys(), f->cfg->auth_issuer, &c,
	    &f->access) != RC_OK)
		f->access = NULL;
}

/* A new refresh family id (a random UUID, RFC 9562 5.4): made here rather
 * than by the INSERT, since login signs the access token, whose sid names
 * the family, before the row is written. */
static void
new_family(struct flow *f)
{
	unsigned char b[16];

	randombytes_buf(b, sizeof(b));
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(f->family, sizeof(f->family), "%02x%02x%02x%02x-%02x%02x-"
	    "%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2],
	    b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12],
	    b[13], b[14], b[15]);
}

static void
new_refresh(struct flow *f)
{
	rc_auth_token_random(f->refresh);
	rc_auth_token_hash(f->refresh, f->refresh_hash);
}

/* Set-Cookie for the refresh token (value NULL: clears it), Secure when
 * the server is reached over https. */
static void
set_refresh_cookie(struct rc_req *req, const struct rc_config *cfg,
    const char *value)
{
	char *c;

	c = rc_asprintf(REFRESH_COOKIE "=%s; HttpOnly; SameSite=Strict; "
	    "Path=" REFRESH_COOKIE_PATH "; Max-Age=%ld%s", value ? value : "",
	    value ? (long)cfg->auth_refresh_ttl_days * 86400L : 0L,
	    strncasecmp(cfg->server_public_url, "https://", 8) == 0 ?
	    "; Secure" : "");
	rc_http_set_header(req, "Set-Cookie", c);
	sodium_memzero(c, strlen(c));
	free(c);
}

/* The refresh token of /auth/refresh and /auth/logout: the body's, else
 * the cookie's (then *from_cookie is set and the reply uses the cookie
 * too). Replies 422 as before when there is neither; 415 when the cookie
 * comes without a JSON Content-Type (an empty cross-site form). Returns a
 * new string (caller wipes and frees) or NULL after a reply. */
static char *
refresh_token_param(struct rc_req *req, int *from_cookie)
{
	const char *tok, *ctype;
	char *c;

	*from_cookie = 0;
	if (rc_rest_string(req, "refresh_token", 0, 1, REFRESH_TOKEN_MAX,
	    &tok) != RC_OK)
		return NULL;
	if (tok != NULL)
		return rc_strdup(tok);
	if ((c = rc_http_cookie(req, REFRESH_COOKIE)) == NULL) {
		(void)rc_rest_string(req, "refresh_token", 1, 1,
		    REFRESH_TOKEN_MAX, &tok);	/* the 422 it always gave */
		return NULL;
	}
	ctype = rc_http_header(req, "Content-Type");
	if (ctype == NULL || strncasecmp(ctype, "application/json", 16) != 0 ||
	    strlen(c) > REFRESH_TOKEN_MAX) {
		sodium_memzero(c, strlen(c));
		free(c);
		rc_http_fail(req, 415, "unsupported_media_type", "send the "
		    "refresh cookie with a JSON body (Content-Type: "
		    "application/json)");
		return NULL;
	}
	*from_cookie = 1;
	return c;
}

static void
free_token(char *tok)
{
	if (tok != NULL) {
		sodium_memzero(tok, strlen(tok));
		free(tok);
	}
}

static void
token_reply(struct rc_req *req, struct flow *f)
{
	json_t *o;

	if (f->access == NULL) {
		rc_http_fail(req, 500, "internal", "cannot sign a token");
		return;
	}
	o = json_pack("{s:s, s:s, s:i, s:o}", "access_token", f->access,
	    "token_type", "Bearer", "expires_in", f->cfg->auth_access_ttl,
	    "user", user_json(&f->u));
	if (f->cookie)
		set_refresh_cookie(req, f->cfg, f->refresh);
	else
		json_object_set_new(o, "refresh_token", json_string(f->refresh));
	rc_http_set_header(req, "Cache-Control", "no-store");	/* RFC 6749 5.1 */
	rc_http_reply_json(req, 200, o);
}

static void
invalid_credentials(struct rc_req *req)
{
	rc_http_fail(req, 401, "invalid_credentials",
	    "the e-mail or the password is wrong");
}

/* 429 with the seconds the lock still holds (not the server's generic
 * Retry-After). */
static void
locked_reply(struct rc_req *req, const char *wait)
{
	json_t *p = rc_http_problem(429, "login_locked", "too many failed "
	    "sign-ins; try again later", NULL);
	char *s = json_dumps(p, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(p);
	rc_http_set_header(req, "Retry-After", wait);
	rc_http_reply(req, 429, "application/problem+json", s ? s : "{}",
	    s ? strlen(s) : 2);
	free(s);
}

/* ---- POST /auth/login ------------------------------------------------ */

/* The locks that stop this attempt, before the password is checked: the
 * pair's own, or (for a source that is not a trusted device and has been
 * failing for this e-mail) the e-mail's or the address's. A trusted
 * device is one sending a live refresh token of this very user. */
static const struct rc_db_stmt SQL_LOGIN_LOOKUP = {
	"auth_login_lookup",
	"WITH d AS (SELECT t.family FROM refresh_tokens t JOIN users u"
	" ON u.id = t.user_id WHERE t.token_hash = $4 AND u.email = $1"
	" AND t.used_at IS NULL AND t.revoked_at IS NULL"
	" AND t.expires_at > now() LIMIT 1),"
	" k AS (SELECT $2 || '|' || coalesce('dev:' || (SELECT family::text"
	" FROM d), $3) AS pair, EXISTS (SELECT 1 FROM d) AS trusted),"
	" l AS (SELECT k.pair, k.trusted,"
	" (SELECT ceil(extract(epoch FROM locked_until - now()))::int"
	" FROM login_failures WHERE key = k.pair AND locked_until > now())"
	" AS pair_wait,"
	" EXISTS (SELECT 1 FROM login_failures WHERE key = k.pair"
	" AND updated_at > now() - make_interval(secs => $5::int)) AS failing,"
	" (SELECT max(ceil(extract(epoch FROM locked_until - now())))::int"
	" FROM login_failures WHERE key IN ($2, $3) AND locked_until > now())"
	" AS shared_wait FROM k)"
	" SELECT CASE WHEN l.pair_wait IS NOT NULL THEN l.pair_wait"
	" WHEN NOT l.trusted AND l.failing THEN l.shared_wait END,"
	" l.pair, l.trusted, u.password_hash, " U_USER_COLS
	" FROM l LEFT JOIN users u ON u.email = $1",
	5,
};

/* Counts a failure for the pair, the e-mail and the address. A key that
 * reaches its limit is locked for login_delay_seconds, doubled with each
 * further failure up to login_lock_seconds; counts are forgotten after
 * FAILURE_MEMORY_SECONDS without a failure. Audits the failure and each
 * lock. Returns the seconds to wait when a lock now stops this source
 * (as SQL_LOGIN_LOOKUP would decide next time), else NULL. */
#define FAILURES_NEXT \
	"(CASE WHEN lf.updated_at < now() - make_interval(secs => $6::int)" \
	" THEN 1 ELSE lf.failures + 1 END)"
#define FAILURES_LIMIT(t) \
	"(CASE WHEN strpos(" t ".key, '|') > 0 THEN $4::int ELSE $5::int END)"
#define FAILURES_LOCK(n, lim) \
	"now() + make_interval(secs => least($8::int, $7::int *" \
	" power(2, least(" n " - " lim ", 20)))::int)"
static const struct rc_db_stmt SQL_LOGIN_FAILED = {
	"auth_login_failed",
	"WITH f AS (INSERT INTO login_failures AS lf (key, failures,"
	" locked_until)"
	" SELECT k.key, 1, CASE WHEN k.lim <= 1 THEN " FAILURES_LOCK("1", "k.lim")
	" END FROM (VALUES ($1::text, $4::int), ($2::text, $5::int),"
	" ($3::text, $5::int)) AS k(key, lim)"
	" ON CONFLICT (key) DO UPDATE SET failures = " FAILURES_NEXT ","
	" locked_until = CASE WHEN " FAILURES_NEXT " >= " FAILURES_LIMIT("lf")
	" THEN " FAILURES_LOCK(FAILURES_NEXT, FAILURES_LIMIT("lf")) " END,"
	" updated_at = now()"
	" RETURNING key, failures, locked_until),"
	" a AS (" RC_REST_AUDIT_INSERT " VALUES ($9::uuid, NULL, 'login_failed',"
	" $10::uuid, jsonb_build_object('email', $11::text), $12, $13)),"
	" b AS (" RC_REST_AUDIT_INSERT " SELECT $9::uuid, NULL, 'login_locked',"
	" $10::uuid, jsonb_build_object('key', f.key, 'until', f.locked_until),"
	" $12, $13 FROM f WHERE f.locked_until IS NOT NULL)"
	" SELECT max(ceil(extract(epoch FROM locked_until - now())))::int"
	" FROM f WHERE locked_until > now() AND (key = $1 OR NOT $14::bool)",
	14,
};

static const struct rc_db_stmt SQL_LOGIN_OK = {
	"auth_login_ok",
	"WITH u AS (UPDATE users SET last_login_at = now(),"
	" password_hash = CASE WHEN $3::text IS NOT NULL AND password_hash = $4"
	" THEN $3 ELSE password_hash END"
	" WHERE id = $1 AND status = 'active' AND token_version = $2"
	" RETURNING " USER_COLS "),"
	" r AS (INSERT INTO refresh_tokens (user_id, family, token_hash,"
	" expires_at) SELECT id, $10::uuid, $5,"
	" now() + make_interval(days => $6::int) FROM u),"
	" d AS (DELETE FROM login_failures WHERE key = $7"
	" AND EXISTS (SELECT 1 FROM u)),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT org_id, id, 'login_ok', id,"
	" '{}', $8, $9 FROM u)"
	" SELECT " USER_COLS " FROM u",
	10,
};

static void
login_ok_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct flow *f = req->data;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1) {	/* disabled or changed meanwhile */
		invalid_credentials(req);
		return;
	}
	user_read(&f->u, r->res, 0);
	token_reply(req, f);
}

static void
login_failed_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) == 1 && !PQgetisnull(r->res, 0, 0))
		locked_reply(req, PQgetvalue(r->res, 0, 0));
	else
		invalid_credentials(req);
}

/* CPU pool: the hash check (against the dummy when the e-mail is unknown,
 * so that both take as long), then a rehash and the token when it holds. */
static void
login_work(void *arg)
{
	struct flow *f = arg;
	const struct rc_auth_passwords *pw = rc_rest_passwords();

	if (!f->have_user) {
		rc_auth_password_dummy_verify(pw, f->password);
		return;
	}
	f->ok = rc_auth_password_verify(pw, f->hash, f->password) == RC_OK &&
	    strcmp(f->u.status, "active") == 0;
	if (!f->ok)
		return;
	if (rc_auth_password_needs_rehash(pw, f->hash) &&
	    rc_auth_password_hash(pw, f->password, f->new_hash) != RC_OK)
		f->new_hash[0] = '\0';
	new_family(f);
	sign_access(f);
	new_refresh(f);
}

static void
login_done(void *arg)
{
	struct flow *f = arg;
	struct rc_req *req = f->req;
	char tv[24], days[16], pmax[16], smax[16], mem[16], delay[16], lock[16];

	if (f->ok) {
		const char *p[10] = { f->u.id, tv, f->new_hash[0] ?
		    f->new_hash : NULL, f->hash, f->refresh_hash, days,
		    f->pair_key, rc_http_client(req), req->id, f->family };

		snprintf(tv, sizeof(tv), "%lld", (long long)f->u.tv);
		snprintf(days, sizeof(days), "%d", f->cfg->auth_refresh_ttl_days);
		rc_rest_query(req, &SQL_LOGIN_OK, p, login_ok_cb);
		return;
	}
	snprintf(pmax, sizeof(pmax), "%d", f->cfg->auth_login_max_failures);
	snprintf(smax, sizeof(smax), "%d", f->cfg->auth_login_max_failures *
	    SHARED_FAILURE_FACTOR);
	snprintf(mem, sizeof(mem), "%d", FAILURE_MEMORY_SECONDS);
	snprintf(delay, sizeof(delay), "%d", f->cfg->auth_login_delay_seconds);
	snprintf(lock, sizeof(lock), "%d", f->cfg->auth_login_lock_seconds);
	{
		const char *p[14] = { f->pair_key, f->email_key, f->ip_key,
		    pmax, smax, mem, delay, lock, f->u.org_id, f->u.id,
		    f->email, rc_http_client(req), req->id,
		    f->trusted ? "true" : "false" };

		rc_rest_query(req, &SQL_LOGIN_FAILED, p, login_failed_cb);
	}
}

static void
login_lookup_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct flow *f = req->data;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (!PQgetisnull(r->res, 0, 0)) {
		locked_reply(req, PQgetvalue(r->res, 0, 0));
		return;
	}
	snprintf(f->pair_key, sizeof(f->pair_key), "%s",
	    PQgetvalue(r->res, 0, 1));
	f->trusted = PQgetvalue(r->res, 0, 2)[0] == 't';
	if (!PQgetisnull(r->res, 0, 4)) {
		f->have_user = 1;
		snprintf(f->hash, sizeof(f->hash), "%s", PQgetvalue(r->res, 0, 3));
		user_read(&f->u, r->res, 4);
	}
	rc_cpu_submit(req->loop, login_work, login_done, f);
}

/* The hash of the refresh cookie the browser sends, if any: a device that
 * holds a live refresh token of the user signing in is trusted (its own
 * lock, not the address's or the e-mail's). */
static void
device_of(struct rc_req *req, struct flow *f)
{
	char *c = rc_http_cookie(req, REFRESH_COOKIE);

	f->device_hash[0] = '\0';
	if (c == NULL)
		return;
	if (strlen(c) <= REFRESH_TOKEN_MAX)
		rc_auth_token_hash(c, f->device_hash);
	free_token(c);
}

/* POST /api/v1/auth/login {email, password, cookie?} */
void
rc_api_auth_login(struct rc_req *req)
{
	const char *email, *password;
	struct flow *f;
	int cookie;

	if (rc_rest_email(req, "email", 1, &email) != RC_OK ||
	    rc_rest_string(req, "password", 1, 1, RC_AUTH_PASSWORD_MAX,
	    &password) != RC_OK ||
	    rc_rest_bool(req, "cookie", 0, 0, &cookie) != RC_OK)
		return;
	f = auth_flow_new(req);
	f->cookie = cookie;
	f->email = email;
	f->password = password;
	snprintf(f->email_key, sizeof(f->email_key), "email:%s", email);
	ascii_lower(f->email_key);
	snprintf(f->ip_key, sizeof(f->ip_key), "ip:%s", rc_http_client(req));
	device_of(req, f);
	{
		char mem[16];
		const char *p[5] = { email, f->email_key, f->ip_key,
		    f->device_hash[0] ? f->device_hash : NULL, mem };

		snprintf(mem, sizeof(mem), "%d", FAILURE_MEMORY_SECONDS);

		rc_rest_query(req, &SQL_LOGIN_LOOKUP, p, login_lookup_cb);
	}
}

/* ---- POST /auth/refresh, /auth/logout -------------------------------- */

/* Rotates a live token (the old one marked used, its successor in the same
 * family); a used or revoked one coming back revokes its whole family. The
 * row lock makes two refreshes with one token take turns: the second sees
 * it used. */
static const struct rc_db_stmt SQL_REFRESH = {
	"auth_refresh",
	"WITH t AS (SELECT id, user_id, family,"
	" (used_at IS NULL AND revoked_at IS NULL) AS live,"
	" expires_at > now() AS fresh FROM refresh_tokens"
	" WHERE token_hash = $1 FOR UPDATE),"
	" u AS (SELECT " U_USER_COLS " FROM users u JOIN t ON u.id = t.user_id"
	" WHERE t.live AND t.fresh AND u.status = 'active'),"
	" used AS (UPDATE refresh_tokens r SET used_at = now() FROM t, u"
	" WHERE r.id = t.id),"
	" nxt AS (INSERT INTO refresh_tokens (user_id, family, token_hash,"
	" expires_at) SELECT u.id, t.family, $2,"
	" now() + make_interval(days => $3::int) FROM t, u),"
	" burn AS (UPDATE refresh_tokens r SET revoked_at = now() FROM t"
	" WHERE r.family = t.family AND NOT t.live AND r.revoked_at IS NULL"
	" RETURNING r.id),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT us.org_id, us.id,"
	" 'refresh_reused', us.id, jsonb_build_object('family', t.family),"
	" $4, $5 FROM t JOIN users us ON us.id = t.user_id"
	" WHERE NOT t.live AND EXISTS (SELECT 1 FROM burn))"
	" SELECT " USER_COLS ", (SELECT family FROM t) FROM u",
	5,
};

static void
refresh_done(void *arg)
{
	struct flow *f = arg;

	token_reply(f->req, f);
}

static void
sign_work(void *arg)
{
	sign_access(arg);
}

static void
refresh_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct flow *f = req->data;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1) {
		rc_http_fail(req, 401, "invalid_refresh_token",
		    "the refresh token is not valid; sign in again");
		return;
	}
	user_read(&f->u, r->res, 0);
	snprintf(f->family, sizeof(f->family), "%s", PQgetvalue(r->res, 0, 9));
	rc_cpu_submit(req->loop, sign_work, refresh_done, f);
}

/* POST /api/v1/auth/refresh {refresh_token | cookie?} — a token from
 * the cookie is answered with the cookie whatever the body says: its
 * successor must replace it, or the next refresh would look like reuse. */
void
rc_api_auth_refresh(struct rc_req *req)
{
	char days[16], *tok;
	int cookie, from_cookie;
	struct flow *f;

	if (rc_rest_bool(req, "cookie", 0, 0, &cookie) != RC_OK ||
	    (tok = refresh_token_param(req, &from_cookie)) == NULL)
		return;
	f = auth_flow_new(req);
	f->cookie = cookie || from_cookie;
	rc_auth_token_hash(tok, f->old_hash);
	free_token(tok);
	new_refresh(f);
	snprintf(days, sizeof(days), "%d", f->cfg->auth_refresh_ttl_days);
	{
		const char *p[5] = { f->old_hash, f->refresh_hash, days,
		    rc_http_client(req), req->id };

		rc_rest_query(req, &SQL_REFRESH, p, refresh_cb);
	}
}

static const struct rc_db_stmt SQL_LOGOUT = {
	"auth_logout",
	"WITH t AS (SELECT user_id, family FROM refresh_tokens"
	" WHERE token_hash = $1),"
	" r AS (UPDATE refresh_tokens SET revoked_at = now()"
	" WHERE family IN (SELECT family FROM t) AND revoked_at IS NULL),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT u.org_id, u.id, 'logout', u.id,"
	" '{}', $2, $3 FROM t JOIN users u ON u.id = t.user_id)"
	" SELECT user_id FROM t",
	3,
};

/* The family's access tokens end with it: on this daemon at once, on the
 * others by NOTIFY (sql/009). */
static void
logout_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) == 1)
		rc_auth_pcache_forget(PQgetvalue(r->res, 0, 0));
	rc_http_reply(req, 204, NULL, NULL, 0);
}

/* POST /api/v1/auth/logout {refresh_token | cookie?} — 204 even for an
 * unknown token: there is nothing to tell. A browser's cookie is cleared
 * (Max-Age=0). */
void
rc_api_auth_logout(struct rc_req *req)
{
	char hash[RC_AUTH_TOKEN_HASH_LEN + 1], *tok;
	int cookie, from_cookie;

	if (rc_rest_bool(req, "cookie", 0, 0, &cookie) != RC_OK ||
	    (tok = refresh_token_param(req, &from_cookie)) == NULL)
		return;
	rc_auth_token_hash(tok, hash);
	free_token(tok);
	if (cookie || from_cookie)
		set_refresh_cookie(req, rc_server_config(req->loop->server),
		    NULL);
	{
		const char *p[3] = { hash, rc_http_client(req), req->id };

		rc_rest_query(req, &SQL_LOGOUT, p, logout_cb);
	}
}

/* ---- POST /auth/signup ----------------------------------------------- */

#define SIGNUP_ORG "SELECT id FROM orgs WHERE slug = $1 AND $2 = ANY" \
	" (SELECT lower(d) FROM unnest(signup_domains) AS d)"

static const struct rc_db_stmt SQL_SIGNUP_CHECK = {
	"auth_signup_check", SIGNUP_ORG, 2,
};

static const struct rc_db_stmt SQL_SIGNUP = {
	"auth_signup",
	"WITH o AS (" SIGNUP_ORG "),"
	" u AS (INSERT INTO users (org_id, email, name, role, password_hash)"
	" SELECT o.id, $3, $4, 'employee', $5 FROM o RETURNING " USER_COLS "),"
	" a AS (" RC_REST_AUDIT_INSERT " SELECT org_id, id, 'signup', id,"
	" '{}', $6, $7 FROM u)"
	" SELECT " USER_COLS " FROM u",
	7,
};

static void
signup_not_allowed(struct rc_req *req)
{
	rc_http_fail(req, 403, "signup_not_allowed", "this organisation does "
	    "not take sign-ups from this e-mail address");
}

static void
signup_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct flow *f = req->data;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1) {
		signup_not_allowed(req);
		return;
	}
	user_read(&f->u, r->res, 0);
	rc_http_reply_json(req, 201, user_json(&f->u));
}

/* CPU pool: hashes f->new_password into f->new_hash; f->ok says if it
 * worked. */
static void
auth_hash_work(void *arg)
{
	struct flow *f = arg;

	f->ok = rc_auth_password_hash(rc_rest_passwords(), f->new_password,
	    f->new_hash) == RC_OK;
}

static void
signup_hashed(void *arg)
{
	struct flow *f = arg;
	struct rc_req *req = f->req;
	const char *p[7] = { f->org, f->domain, f->email, f->name, f->new_hash,
	    rc_http_client(req), req->id };

	if (!f->ok) {
		rc_http_fail(req, 500, "internal", "cannot hash the password");
		return;
	}
	rc_rest_query(req, &SQL_SIGNUP, p, signup_cb);
}

static void
signup_check_cb(const struct rc_db_result *r, void *arg)
{
	struct rc_req *req = arg;
	struct flow *f = req->data;

	if (!rc_rest_db_ok(req, r, NULL))
		return;
	if (PQntuples(r->res) != 1) {
		signup_not_allowed(req);
		return;
	}
	rc_cpu_submit(req->loop, auth_hash_work, signup_hashed, f);
}

/* POST /api/v1/auth/signup {email, password, name, org} — the old
 * pre-sign-up trigger: only for an org that lists the e-mail's domain. */
void
rc_api_auth_signup(struct rc_req *req)
{
	const char *email, *password, *name, *org, *why;
	struct flow *f;

	if (rc_rest_email(req, "email", 1, &email) != RC_OK ||
	    rc_rest_string(req, "password", 1, 1, RC_AUTH_PASSWORD_MAX,
	    &password) != RC_OK ||
	    rc_rest_line(req, "name", 1, 1, NAME_MAX_CHARS, &name) != RC_OK ||
	    rc_rest_line(req, "org", 1, 1, SLUG_MAX, &org) != RC_OK)
		return;
	if (rc_auth_password_policy(rc_rest_passwords(), password, email,
	    &why) != RC_OK) {
		rc_http_fail_field(req, "password", why);
		return;
	}
	f = auth_flow_new(req);
	f->email = email;
	f->new_password = password;
	f->name = name;
	f->org = org;
	snprintf(f->domain, sizeof(f->domain), "%s", strrchr(email, '@') + 1);
	ascii_lower(f->domain);
	{
		const char *p[2] = { org, f->domain };

		rc_rest_query(req, &SQL_SIGNUP_CHECK, p, signup_check_cb);
	}
}

/* ---- GET /me, GET /.well-known/jwks.json ----------------------------- */

/* GET /api/v1/me — the caller's own user object. */
void
rc_api_auth_me(struct rc_req *req)
{
	const struct rc_principal *w = req->who;

	rc_http_reply_json(req, 200, json_pack("{s:s, s:s, s:s, s:s, s:s?,"
	    " s:s?, s:s, s:b}", "id", w->user_id, "email", w->email,
	    "name", w->name, "role", w->role, "org_id", w->org_id,
	    "manager_id", w->manager_id, "status", "active",
	    "must_change_password", w->must_change_password));
}

/* GET /.well-known/jwks.json — the public keys (RFC 7517). */
void
rc_api_auth_jwks(struct rc_req *req)
{
	char *s = rc_auth_jwks_string(rc_rest_keys());

	rc_http_set_header(req, "Cache-Control", "public, max-age=300");
	rc_http_reply(req, 200, "application/jwk-set+json", s, strlen(s));
	free(s);
}

/* ---- Test-only routes (server.test_routes) --------------------------- */

static int
test_routes_on(struct rc_req *req)
{
	if (rc_server_config(req->loop->server)->server_test_routes)
		return 1;
	rc_http_fail(req, 404, "not_found", "no such resource");
	return 0;
}

/* GET /api/v1/test/admin — proves the route table's role check. */
void
rc_api_auth_test_admin(struct rc_req *req)
{
	if (test_routes_on(req))
		rc_http_reply_json(req, 200, json_pack("{s:s, s:s}", "user_id",
		    req->who->user_id, "role", req->who->role));
}

/* POST /api/v1/test/validate — proves the validation helpers. */
void
rc_api_auth_test_validate(struct rc_req *req)
{
	static const char *const roles[] = { "admin", "employee", NULL };
	const char *email, *name, *role, *manager;
	long count = 7;
	int flag;

	if (!test_routes_on(req))
		return;
	if (rc_rest_email(req, "email", 1, &email) != RC_OK ||
	    rc_rest_line(req, "name", 1, 1, NAME_MAX_CHARS, &name) != RC_OK ||
	    rc_rest_int(req, "count", 0, 0, 10, &count) != RC_OK ||
	    rc_rest_bool(req, "flag", 0, 1, &flag) != RC_OK ||
	    rc_rest_enum(req, "role", 0, roles, &role) != RC_OK ||
	    rc_rest_uuid(req, "manager_id", 0, &manager) != RC_OK)
		return;
	rc_http_reply_json(req, 200, json_pack("{s:s, s:s, s:I, s:b, s:s?,"
	    " s:s?, s:b}", "email", email, "name", name, "count",
	    (json_int_t)count, "flag", flag, "role", role, "manager_id",
	    manager, "has_count", rc_rest_has(req, "count")));
}

/* GET /api/v1/test/uuid/{id} — proves rc_rest_uuid_param. */
void
rc_api_auth_test_uuid(struct rc_req *req)
{
	const char *id;

	if (test_routes_on(req) && rc_rest_uuid_param(req, "id", &id) == RC_OK)
		rc_http_reply_json(req, 200, json_pack("{s:s}", "id", id));
}

